// The page's chat/1 state machine (service/net/web/static/js/protocol.js): ids and replies,
// the durable outbox, resending exactly once after a reconnect.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatLink, ConnectionLost, LinkState, Refused } from "../../service/net/web/static/js/protocol.js";

function link() {
  let nonces = 0;
  let clock = 1000;
  const chat = new ChatLink({ newNonce: () => `n${++nonces}`, now: () => clock });
  chat.advance = (ms) => { clock += ms; };
  return chat;
}

function greet(chat) {
  chat.opened();
  return chat.received('{"ev":"hello","proto":"chat/1","signup":false,"features":["rooms"]}');
}

function sent(chat) {
  return chat.take().map((text) => JSON.parse(text));
}

test("before the hello nothing may be sent; after it only a login (or register, ping)", async () => {
  const chat = link();
  chat.opened();
  await assert.rejects(chat.request("login", { user: "a", password: "p" }), ConnectionLost);
  const events = greet(chat);
  assert.equal(events[0].ev, "hello");
  assert.equal(chat.state, LinkState.GREETED);
  await assert.rejects(chat.request("whoelse"), ConnectionLost);
  assert.equal(chat.notify("ack", { msg_id: 1 }), false);
  const login = chat.request("login", { user: "a", password: "p" });
  assert.deepEqual(sent(chat), [{ user: "a", password: "p", op: "login", id: 1 }]);
  chat.received('{"re":1,"ok":true,"user":"a","pending":0}');
  assert.equal((await login).user, "a");
});

test("replies settle their own request, in any order; a refusal carries the reply", async () => {
  const chat = link();
  greet(chat);
  chat.signedIn();
  const who = chat.request("whoelse");
  const block = chat.request("block", { user: "bob" });
  assert.deepEqual(sent(chat).map((f) => f.id), [1, 2]);
  chat.received('{"re":2,"ok":false,"error":"no_such_user","text":"No user bob."}');
  chat.received('{"re":1,"ok":true,"users":["carol"]}');
  assert.deepEqual((await who).users, ["carol"]);
  await assert.rejects(block, (error) => error instanceof Refused && error.code === "no_such_user"
    && error.message === "No user bob.");
});

test("events come out, replies and junk do not", () => {
  const chat = link();
  greet(chat);
  assert.deepEqual(chat.received("not json"), []);
  assert.deepEqual(chat.received("[1,2]"), []);
  assert.deepEqual(chat.received('{"re":99,"ok":true}'), []);
  assert.deepEqual(chat.received('{"ev":"presence","user":"bob","state":"online"}'),
    [{ ev: "presence", user: "bob", state: "online" }]);
  chat.received('{"ev":"bye","reason":"shutdown","text":"bye"}');
  assert.equal(chat.bye.reason, "shutdown");
});

test("a message typed while offline waits for the sign-in, then goes out once", async () => {
  const chat = link();
  const { nonce, promise } = chat.sendDurable("message", { to: "bob", text: "hi" });
  assert.equal(nonce, "n1");
  assert.deepEqual(chat.take(), []);
  greet(chat);
  assert.deepEqual(chat.take(), []); // greeted is not signed in
  const login = chat.request("login", { user: "a", password: "p" });
  chat.take();
  chat.received('{"re":1,"ok":true,"user":"a","pending":0}');
  await login;
  chat.signedIn();
  assert.deepEqual(sent(chat), [{ to: "bob", text: "hi", nonce: "n1", op: "message", id: 2 }]);
  chat.received('{"re":2,"ok":true,"msg_id":7,"delivered":true}');
  const reply = await promise;
  assert.equal(reply.msg_id, 7);
  assert.equal(reply.resent, false);
  chat.closed();
  greet(chat);
  chat.signedIn();
  assert.deepEqual(chat.take(), []); // answered: never again
});

test("a message in flight when the link drops goes again with its nonce, in order", async () => {
  const chat = link();
  greet(chat);
  chat.signedIn();
  const first = chat.sendDurable("message", { to: "bob", text: "one" });
  const second = chat.sendDurable("say", { room: "#lab", text: "two" });
  const whoelse = chat.request("whoelse");
  assert.equal(sent(chat).length, 3);
  chat.closed();
  await assert.rejects(whoelse, ConnectionLost);
  const third = chat.sendDurable("message", { to: "bob", text: "three" });
  assert.equal(chat.unanswered, 3);
  greet(chat);
  chat.signedIn();
  const again = sent(chat);
  assert.deepEqual(again.map((f) => [f.op, f.nonce, f.text]),
    [["message", "n1", "one"], ["say", "n2", "two"], ["message", "n3", "three"]]);
  for (const frame of again) {
    chat.received(JSON.stringify({ re: frame.id, ok: true, msg_id: 5, seq: 5 }));
  }
  assert.equal((await first.promise).resent, true);
  assert.equal((await second.promise).resent, true);
  assert.equal((await third.promise).resent, false);
  assert.equal(chat.unanswered, 0);
});

test("a refused durable request is not sent again", async () => {
  const chat = link();
  greet(chat);
  chat.signedIn();
  const { promise } = chat.sendDurable("message", { to: "bob", text: "hi" });
  const [frame] = sent(chat);
  chat.received(JSON.stringify({ re: frame.id, ok: false, error: "blocked", text: "bob has blocked you" }));
  await assert.rejects(promise, Refused);
  chat.closed();
  greet(chat);
  chat.signedIn();
  assert.deepEqual(chat.take(), []);
});

test("signing out for good fails what waits", async () => {
  const chat = link();
  const { promise } = chat.sendDurable("message", { to: "bob", text: "hi" });
  chat.abandon();
  await assert.rejects(promise, ConnectionLost);
  assert.equal(chat.unanswered, 0);
});

test("activity for the idle timeout: every request but ping and ack", () => {
  const chat = link();
  greet(chat);
  chat.signedIn();
  const start = chat.lastActivityMs;
  chat.advance(5000);
  chat.notify("ack", { msg_id: 1 });
  chat.request("ping");
  assert.equal(chat.lastActivityMs, start);
  chat.notify("active");
  assert.equal(chat.lastActivityMs, start + 5000);
});

test("failed attempts count until a sign-in", () => {
  const chat = link();
  chat.closed();
  chat.closed();
  assert.equal(chat.failedAttempts, 2);
  greet(chat);
  chat.signedIn();
  assert.equal(chat.failedAttempts, 0);
  chat.closed();
  assert.equal(chat.failedAttempts, 0); // it was signed in: the next try is the first
});

test("a message an earlier page sent goes out with its own nonce, and its reply says resent", async () => {
  const chat = link();
  greet(chat);
  chat.signedIn();
  const { nonce, promise } = chat.sendDurable("message", { to: "b", text: "hi" }, "earlier");
  assert.equal(nonce, "earlier");
  const [frame] = sent(chat);
  assert.equal(frame.nonce, "earlier");
  chat.received(`{"re":${frame.id},"ok":true,"msg_id":7,"delivered":false}`);
  assert.equal((await promise).resent, true);
});
