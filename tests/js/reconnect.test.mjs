// When the page signs in again on its own (service/net/web/static/js/reconnect.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { After, MAX_DELAY_MS, afterEnd, delayMs } from "../../service/net/web/static/js/reconnect.js";

test("a dropped connection, a restart or a slow moment: back on its own", () => {
  assert.equal(afterEnd(null, false), After.RECONNECT);
  assert.equal(afterEnd("shutdown", false), After.RECONNECT);
  assert.equal(afterEnd("slow_consumer", false), After.RECONNECT);
});

test("idle, signed out, kicked, replaced, deleted: never on its own", () => {
  assert.equal(afterEnd("timeout", false), After.ASK);
  assert.equal(afterEnd("something_new", false), After.ASK);
  for (const reason of ["logout", "kicked", "replaced", "account_deleted", "protocol_error"]) {
    assert.equal(afterEnd(reason, false), After.END, reason);
  }
  assert.equal(afterEnd(null, true), After.END);
});

test("waits double up to a ceiling, each shortened by up to half at random", () => {
  assert.equal(delayMs(0, 0), 500);
  assert.equal(delayMs(0, 0.999999), 250);
  assert.equal(delayMs(1, 0), 1000);
  assert.equal(delayMs(3, 0), 4000);
  assert.equal(delayMs(50, 0), MAX_DELAY_MS);
  assert.equal(delayMs(5000, 0.5), MAX_DELAY_MS * 0.75);
});
