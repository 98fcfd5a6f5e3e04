// What a page keeps of the messages it has not had answered (service/net/web/static/js/unsent.js):
// per user, until answered; resent with their nonce at the next sign-in unless a day old.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  OFFER_WITHIN_MS, RESEND_WITHIN_MS, clearUnsent, forgetUnsent, pageStorage, rememberUnsent, takeUnsent,
} from "../../service/net/web/static/js/unsent.js";

/** localStorage's interface over a Map; `full` makes setItem throw as a full quota does. */
function storage() {
  const items = new Map();
  return {
    full: false,
    items,
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem(k, v) {
      if (this.full) throw new Error("QuotaExceededError");
      items.set(k, String(v));
    },
    removeItem: (k) => items.delete(k),
  };
}

const NOW = Date.parse("2026-12-07T12:00:00Z");
const at = (msAgo) => new Date(NOW - msAgo).toISOString();

test("kept per user until answered, then gone", () => {
  const s = storage();
  rememberUnsent(s, "alice", { nonce: "n1", id: "@bob", text: "hi", at: at(1000) });
  rememberUnsent(s, "alice", { nonce: "n2", id: "#lab", text: "moved", at: at(500) });
  rememberUnsent(s, "bob", { nonce: "n3", id: "@alice", text: "yo", at: at(500) });
  forgetUnsent(s, "alice", "n1");
  const { resend, stale } = takeUnsent(s, "alice", NOW);
  assert.deepEqual(resend.map((e) => e.nonce), ["n2"]);
  assert.deepEqual(stale, []);
  assert.deepEqual(takeUnsent(s, "bob", NOW).resend.map((e) => e.text), ["yo"]);
  forgetUnsent(s, "alice", "n2");
  assert.equal(s.items.has("parley.unsent.alice"), false); // nothing left: no key at all
});

test("taking does not forget: a message goes once answered, whichever page answers it", () => {
  const s = storage();
  rememberUnsent(s, "alice", { nonce: "n1", id: "@bob", text: "hi", at: at(0) });
  assert.equal(takeUnsent(s, "alice", NOW).resend.length, 1);
  assert.equal(takeUnsent(s, "alice", NOW).resend.length, 1);
  rememberUnsent(s, "alice", { nonce: "n1", id: "@bob", text: "hi", at: at(0) });
  assert.equal(takeUnsent(s, "alice", NOW).resend.length, 1); // the same nonce is one entry
});

test("a day old is not resent on its own: offered until sent again or a week old", () => {
  const s = storage();
  rememberUnsent(s, "alice", { nonce: "old", id: "@bob", text: "x", at: at(RESEND_WITHIN_MS) });
  rememberUnsent(s, "alice", { nonce: "new", id: "@bob", text: "y", at: at(RESEND_WITHIN_MS - 1) });
  rememberUnsent(s, "alice", { nonce: "gone", id: "@bob", text: "z", at: at(OFFER_WITHIN_MS) });
  rememberUnsent(s, "alice", { nonce: "bad", id: "@bob", text: "?", at: "not a time" });
  const { resend, stale } = takeUnsent(s, "alice", NOW);
  assert.deepEqual(resend.map((e) => e.nonce), ["new"]);
  assert.deepEqual(stale.map((e) => e.nonce), ["old"]);
  assert.deepEqual(takeUnsent(s, "alice", NOW).stale.map((e) => e.nonce), ["old"]); // a reload
  forgetUnsent(s, "alice", "old"); // sent again (with a new nonce)
  assert.deepEqual(takeUnsent(s, "alice", NOW).stale, []);
  assert.deepEqual(JSON.parse(s.getItem("parley.unsent.alice")).map((e) => e.nonce), ["new"]);
});

test("signing out leaves nothing; a full or garbled storage breaks nothing", () => {
  const s = storage();
  rememberUnsent(s, "alice", { nonce: "n1", id: "@bob", text: "hi", at: at(0) });
  clearUnsent(s, "alice");
  assert.equal(s.items.size, 0);
  s.full = true;
  rememberUnsent(s, "alice", { nonce: "n2", id: "@bob", text: "hi", at: at(0) }); // no throw
  s.full = false;
  s.items.set("parley.unsent.alice", "{not json");
  assert.deepEqual(takeUnsent(s, "alice", NOW), { resend: [], stale: [] });
  s.items.set("parley.unsent.alice", JSON.stringify([{ nonce: 1 }, null, { nonce: "n", id: "@b", text: "t", at: at(0) }]));
  assert.deepEqual(takeUnsent(s, "alice", NOW).resend.map((e) => e.nonce), ["n"]);
});

test("without a usable localStorage the page still works: nothing is kept", () => {
  const storage = pageStorage(); // node has none: the storage that keeps nothing
  rememberUnsent(storage, "alice", { nonce: "n1", id: "@bob", text: "hi", at: at(0) });
  assert.deepEqual(takeUnsent(storage, "alice", NOW), { resend: [], stale: [] });
});
