// The page's conversations (service/net/web/static/js/conversations.js): unread counts, the
// divider, history pages, what to acknowledge and mark read once seen.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BROADCASTS, Conversations, dmId } from "../../service/net/web/static/js/conversations.js";

const AT = "2026-11-24T10:00:00.000Z";

function store() {
  const conversations = new Conversations();
  conversations.me = "alice";
  return conversations;
}

function msg(key, from = "bob", text = `m${key}`) {
  return { key, from, text, sentAt: AT };
}

test("messages from others not on screen are unread; the divider sits above the first", () => {
  const c = store();
  assert.equal(c.receive("#lab", msg(4)), true);
  c.receive("#lab", msg(5));
  c.receive("#lab", msg(6, "alice"));
  const lab = c.get("#lab");
  assert.equal(lab.unread, 2);
  assert.equal(lab.dividerKey, 4);
  assert.equal(c.totalUnread(), 2);
  assert.equal(c.receive("#lab", msg(5)), false); // a duplicate changes nothing
  assert.equal(lab.unread, 2);
});

test("seeing a room says where its marker goes, once; seeing a DM what to acknowledge", () => {
  const c = store();
  c.receive("#lab", msg(1));
  c.receive("#lab", msg(2));
  assert.deepEqual(c.seen("#lab"), { acks: [], readSeq: 2 });
  assert.deepEqual(c.seen("#lab"), { acks: [], readSeq: null });
  assert.equal(c.get("#lab").unread, 0);
  c.receive(dmId("bob"), msg(9));
  c.receive(dmId("bob"), msg(7));
  assert.deepEqual(c.seen("@bob"), { acks: [7, 9], readSeq: null });
  assert.deepEqual(c.seen("@bob").acks, []);
});

test("the divider stays while the conversation is open and goes when the user leaves it", () => {
  const c = store();
  c.receive("#lab", msg(3));
  c.open("#lab");
  c.seen("#lab");
  assert.equal(c.get("#lab").dividerKey, 3);
  c.receive("#lab", msg(4), { seen: true });
  assert.equal(c.get("#lab").unread, 0);
  c.open("@bob");
  assert.equal(c.get("#lab").dividerKey, null);
});

test("a login's catch-up is counted once: by the reply's unread, not again by its messages", () => {
  const c = store();
  c.setUnread("#lab", 3);
  for (const key of [8, 9, 10]) c.receive("#lab", msg(key), { counted: true });
  assert.equal(c.get("#lab").unread, 3);
  assert.equal(c.get("#lab").dividerKey, 8);
  c.setUnread("#lab", 0); // room_read from another session
  assert.equal(c.get("#lab").dividerKey, null);
});

test("history pages go before, in order, without duplicates, and say whether more exist", () => {
  const c = store();
  c.receive("#lab", msg(101));
  c.addOlder("#lab", [msg(51), msg(52), msg(101)], true);
  c.addOlder("#lab", [msg(1), msg(2)], false);
  const lab = c.get("#lab");
  assert.deepEqual(lab.messages.map((m) => m.key), [1, 2, 51, 52, 101]);
  assert.equal(lab.more, false);
  assert.equal(lab.oldestKey, 1);
  assert.equal(lab.unread, 1);
});

test("history runs back from the newest without holes, whatever a catch-up skipped", () => {
  const c = store();
  c.setUnread("#lab", 2);
  c.receive("#lab", msg(4), { counted: true }); // the catch-up skips our own 3
  c.receive("#lab", msg(5), { counted: true });
  assert.equal(c.get("#lab").historyCursor, null); // so the first page is the newest
  c.addOlder("#lab", [msg(2), msg(3, "alice"), msg(4), msg(5)], true);
  assert.equal(c.get("#lab").historyCursor, 2);
  assert.deepEqual(c.get("#lab").messages.map((m) => [m.key, m.own]),
    [[2, false], [3, true], [4, false], [5, false]]);
  c.addOlder("#lab", [msg(1)], false);
  assert.equal(c.get("#lab").historyCursor, 1);
});

test("our own message shows at once, then takes its place by the key the server gave", () => {
  const c = store();
  c.receive("@bob", msg(10));
  const local = c.addOwn("@bob", "hi", "sending", AT);
  c.receive("@bob", msg(12));
  let keys = c.get("@bob").messages.map((m) => m.key);
  assert.deepEqual(keys, [10, 12, null]); // the unconfirmed stay last
  c.confirmOwn("@bob", local, 11, "delivered");
  const messages = c.get("@bob").messages;
  keys = messages.map((m) => m.key);
  assert.deepEqual(keys, [10, 11, 12]);
  assert.equal(messages[1].state, "delivered");
  assert.equal(messages[1].own, true);
});

test("an echo that came first (another session, history) is not doubled by the confirmation", () => {
  const c = store();
  const local = c.addOwn("@bob", "hi", "sending", AT);
  c.addOlder("@bob", [{ ...msg(11, "alice"), text: "hi" }], false);
  c.confirmOwn("@bob", local, 11, "delivered");
  assert.equal(c.get("@bob").messages.length, 1);
});

test("a refused message keeps its text to send again", () => {
  const c = store();
  const local = c.addOwn("@bob", "hi", "sending", AT);
  c.updateOwn("@bob", local, "failed", "bob has blocked you");
  assert.equal(c.get("@bob").messages[0].error, "bob has blocked you");
  assert.equal(c.takeOwn("@bob", local).text, "hi");
  assert.equal(c.get("@bob").messages.length, 0);
});

test("broadcasts have no key from the server: each is its own", () => {
  const c = store();
  c.receive(BROADCASTS, { from: "bob", text: "hey", sentAt: AT });
  c.receive(BROADCASTS, { from: "bob", text: "hey", sentAt: AT });
  assert.equal(c.get(BROADCASTS).messages.length, 2);
  assert.equal(c.get(BROADCASTS).unread, 2);
});

test("the sidebar: rooms joined by name, direct conversations newest first", () => {
  const c = store();
  c.joined("#zoo");
  c.joined("#art");
  c.left("#zoo");
  c.receive("@bob", { ...msg(1), sentAt: "2026-11-24T10:00:00Z" });
  c.receive("@carol", { ...msg(2, "carol"), sentAt: "2026-11-24T11:00:00Z" });
  assert.deepEqual(c.rooms().map((r) => r.id), ["#art"]);
  assert.deepEqual(c.directs().map((r) => r.id), ["@carol", "@bob"]);
});
