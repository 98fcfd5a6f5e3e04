// Refusals and goodbyes in words (service/net/web/static/js/words.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { byeWords, loginRefusal, refusal } from "../../service/net/web/static/js/words.js";

test("a wrong password says how many tries are left", () => {
  assert.equal(loginRefusal({ error: "bad_credentials", attempts_left: 1 }, "bob"),
    "Wrong username or password. 1 attempt left before the account locks.");
});

test("a lock and a rate limit say how long to wait", () => {
  assert.equal(loginRefusal({ error: "locked", retry_after: 60 }, "bob"),
    "bob is locked after too many wrong passwords. Try again in 60 seconds.");
  assert.equal(loginRefusal({ error: "rate_limited", retry_after: 300 }, "bob"),
    "Too many attempts from this address. Try again in 5 minutes.");
  assert.equal(refusal({ error: "rate_limited", retry_after: 2, text: "slow down" }),
    "Too many requests: try again in 2 seconds.");
});

test("online elsewhere and the rest: the server's own words where the page has none", () => {
  assert.match(loginRefusal({ error: "online_elsewhere", text: "x" }, "bob"), /somewhere else/);
  assert.equal(loginRefusal({ error: "user_exists", text: "That name is taken." }, "bob"),
    "That name is taken.");
  assert.equal(refusal({ error: "blocked", text: "bob has blocked you" }), "bob has blocked you");
});

test("every bye reason reads as a sentence", () => {
  for (const reason of ["logout", "timeout", "shutdown", "slow_consumer", "protocol_error",
    "account_deleted", "kicked", "replaced"]) {
    assert.match(byeWords({ reason }), /\.$/, reason);
  }
  assert.equal(byeWords({ reason: "new_reason", text: "Something new." }), "Something new.");
});
