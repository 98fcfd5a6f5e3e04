// A message's length against chat/1's cap (service/net/web/static/js/length.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { codePoints, lengthCounter, lengthProblem, MAX_TEXT_CHARS }
  from "../../service/net/web/static/js/length.js";

test("the length is counted in code points, as chat/1 counts it", () => {
  assert.equal(codePoints("héllo"), 5);
  assert.equal(codePoints("😀".repeat(3)), 3); // six UTF-16 units
});

test("a message over the cap is refused in words, one at it is not", () => {
  assert.equal(lengthProblem("x".repeat(MAX_TEXT_CHARS)), null);
  assert.equal(lengthProblem("x".repeat(MAX_TEXT_CHARS + 1)),
    "A message may be at most 4,000 characters; this one has 4,001.");
  assert.equal(lengthProblem("😀".repeat(MAX_TEXT_CHARS)), null);
  assert.equal(lengthProblem("abc", 2), "A message may be at most 2 characters; this one has 3.");
});

test("the counter shows only near the cap", () => {
  assert.equal(lengthCounter("x".repeat(3599)), null);
  assert.equal(lengthCounter("x".repeat(3600)), "3,600 / 4,000");
  assert.equal(lengthCounter("x".repeat(4100)), "4,100 / 4,000");
});
