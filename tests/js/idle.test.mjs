// The idle warning (service/net/web/static/js/idle.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { idleState, shouldSendActive, warnBeforeS } from "../../service/net/web/static/js/idle.js";

test("the warning shows a minute before a long timeout, a quarter before a short one", () => {
  assert.equal(warnBeforeS(300), 60);
  assert.equal(warnBeforeS(20), 5);
  assert.equal(warnBeforeS(2), 1);
});

test("before the warning: when to look again; during it: the seconds left", () => {
  assert.deepEqual(idleState(0, 300, 100_000), { warn: false, secondsLeft: 200, checkInMs: 140_000 });
  assert.deepEqual(idleState(0, 300, 250_500), { warn: true, secondsLeft: 50, checkInMs: 1000 });
  assert.equal(idleState(0, 300, 400_000).secondsLeft, 0);
});

test("active goes out at most every ten seconds", () => {
  assert.equal(shouldSendActive(0, 9_999), false);
  assert.equal(shouldSendActive(0, 10_000), true);
});
