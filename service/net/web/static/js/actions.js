// What happens in a conversation: messages coming in and going out, history, joining and
// leaving rooms, blocking; and telling the server what the user has seen (`ack`, `read`),
// only once it was drawn on a visible page. Functions of the App (app.js), which owns the
// state; the drawing is in view/.

import { BROADCASTS, dmId, kindOf, nameOf } from "./conversations.js";
import { saveOpenConversation } from "./landing.js";
import { ConnectionLost, Refused } from "./protocol.js";
import { roomName } from "./switcher.js";
import { forgetUnsent, pageStorage, rememberUnsent, takeUnsent } from "./unsent.js";
import { refusal } from "./words.js";

// Refusals that sending the same text to the same place again can only repeat: no "Send again".
const FINAL_REFUSALS = new Set(["too_long", "no_such_user", "self", "no_such_room"]);
const HISTORY_PAGE = 50; // messages per `history` / `dm_history` page (chat/1: 1-100)

/** A message from the server for conversation `id`. */
export function received(app, id, message, { counted = false } = {}) {
  const seen = isOnScreen(app, id);
  const isNew = app.store.receive(id, message, { seen, counted });
  if (!isNew || message.from === app.me) return;
  app.ui.announce(id, message);
  if (!seen) app.ui.notify(id, message);
}

/** The user sees conversation `id` now: the page is visible and it is the one open. */
export function isOnScreen(app, id) {
  return app.store.openId === id && document.visibilityState === "visible" && app.ui.showing;
}

/** After each drawing: what is on screen is seen; the server hears it (`ack` for each direct
 * message, `read` with a room's newest seq), so its counts and catch-up follow the user. */
export function markSeen(app) {
  const id = app.store.openId;
  if (id === null || !app.ready || !isOnScreen(app, id)) return;
  const { acks, readSeq } = app.store.seen(id);
  for (const msgId of acks) app.link.notify("ack", { msg_id: msgId });
  if (readSeq !== null) app.link.notify("read", { room: id, seq: readSeq });
  if (acks.length > 0 || readSeq !== null) app.ui.scheduleRender();
}

/** Our messages not yet answered show whether they wait for the link or are on their way. */
export function markWaiting(app, state) {
  const from = state === "sending" ? "queued" : "sending";
  for (const conversation of app.store.all()) {
    for (const message of conversation.messages) {
      if (message.localId !== null && message.state === from) message.state = state;
    }
  }
}

/** Another session of ours moved a room's marker (`room_read`). */
export function readElsewhere(app, room, seq) {
  const conversation = app.store.get(room);
  if (conversation === null || !Number.isInteger(seq)) return;
  const after = conversation.messages.filter((m) => m.key !== null && m.key > seq && !m.own);
  app.store.setUnread(room, Math.min(conversation.unread, after.length));
}

export function membersChanged(app, room) {
  app.ui.panel.membersChanged(room);
}

// ---- going somewhere --------------------------------------------------------------------------

/** Make `id` the open conversation; at the first visit its newest page of history comes,
 * which also fills what a catch-up leaves out (our own messages, those of the blocked). */
export function open(app, id) {
  const conversation = app.store.open(id);
  if (app.me !== null) saveOpenConversation(app.me, id);
  app.ui.opened(id);
  if (conversation !== null && conversation.more === null) loadOlder(app, id);
  app.changed();
}

/** Write to `user` (the sidebar's Write box, Ctrl+K's "Message X"): a conversation already
 * here opens; a new one has its history asked first, so that a name with no account is
 * refused in the server's words (`no_such_user`) and leaves no conversation behind. Returns
 * an error sentence or null. */
export async function writeTo(app, user) {
  const id = dmId(user);
  if (app.store.get(id) === null && app.ready && app.features.has("dm_history")) {
    let page;
    try {
      const reply = await app.link.request("dm_history", { with: user, limit: HISTORY_PAGE });
      page = historyPage(reply, (m) => m.msg_id);
    } catch (error) {
      return describe(error);
    }
    app.store.addOlder(id, page.messages, page.more);
  }
  open(app, id);
  return null;
}

/** The next page back in a conversation's history, if there is one and none is on its way. */
export function loadOlder(app, id) {
  const conversation = app.store.get(id);
  if (conversation === null || conversation.loading || conversation.more === false) return;
  if (!app.ready) return;
  const before = conversation.historyCursor ?? undefined;
  let request;
  if (conversation.kind === "room" && conversation.joined) {
    request = app.link.request("history", { room: id, before, limit: HISTORY_PAGE })
      .then((reply) => historyPage(reply, (m) => m.seq));
  } else if (conversation.kind === "dm" && app.features.has("dm_history")) {
    const fields = { with: conversation.name, before, limit: HISTORY_PAGE };
    request = app.link.request("dm_history", fields)
      .then((reply) => historyPage(reply, (m) => m.msg_id));
  } else {
    conversation.more = false;
    return;
  }
  conversation.loading = true;
  request.then(({ messages, more }) => {
    app.store.addOlder(id, messages, more);
    app.changed();
  }, (error) => {
    conversation.loading = false;
    conversation.version += 1; // its edge no longer says "Loading earlier messages…"
    if (error instanceof Refused) {
      conversation.more = false;
      app.ui.conversationNote(id, refusal(error.reply));
      app.changed();
    } else if (!(error instanceof ConnectionLost)) {
      throw error;
    }
  });
}

function historyPage(reply, keyOf) {
  const messages = (reply.messages ?? []).map((m) => ({
    key: keyOf(m), from: m.from, text: m.text, sentAt: m.sent_at,
  }));
  return { messages, more: reply.more === true };
}

// ---- sending ----------------------------------------------------------------------------------

/** What the user typed in conversation `id`. Direct messages and room messages are durable:
 * shown at once, sent when the link is up, resent with their nonce until answered. */
export function send(app, id, text) {
  const now = new Date().toISOString();
  if (kindOf(id) === "broadcast") broadcast(app, text, now);
  else sendDurable(app, id, text, now, null);
}

/** A direct or room message: shown, sent (with `nonce` if an earlier page sent it first),
 * and kept in localStorage until the server answers it (unsent.js), so a reload loses none. */
function sendDurable(app, id, text, at, nonce) {
  const kind = kindOf(id);
  const me = app.me;
  const waiting = app.ready ? "sending" : "queued";
  const localId = app.store.addOwn(id, text, waiting, at);
  const sent = kind === "room"
    ? app.link.sendDurable("say", { room: id, text }, nonce)
    : app.link.sendDurable("message", { to: nameOf(id), text }, nonce);
  if (me !== null) rememberUnsent(pageStorage(), me, { nonce: sent.nonce, id, text, at });
  sent.promise.then((reply) => {
    forgetUnsent(pageStorage(), me, sent.nonce);
    if (kind === "room") {
      app.store.confirmOwn(id, localId, reply.seq, "sent");
    } else {
      const state = reply.resent ? "sent" : reply.delivered ? "delivered" : "stored";
      app.store.confirmOwn(id, localId, reply.msg_id, state);
    }
    app.changed();
  }, (error) => {
    // Refused: answered, so not to be sent again by a later page. Lost with the session
    // (kicked, idle, replaced): kept, for this user's next sign-in here.
    if (error instanceof Refused) forgetUnsent(pageStorage(), me, sent.nonce);
    notSent(app, id, localId, text, describe(error), error);
  });
  app.changed();
}

/** After this page's first sign-in: what an earlier page (reloaded, crashed, closed) typed
 * and never had answered goes out again with its nonce; what is too old to be sent again
 * safely is shown as maybe not sent, with "Send again". */
export function restoreUnsent(app) {
  const { resend, stale } = takeUnsent(pageStorage(), app.me, Date.now());
  for (const entry of resend) sendDurable(app, entry.id, entry.text, entry.at, entry.nonce);
  for (const entry of stale) {
    const localId = app.store.addOwn(entry.id, entry.text, "failed", entry.at);
    app.store.updateOwn(entry.id, localId, "failed", STALE_WORDS);
    const shown = app.store.get(entry.id).messages.find((m) => m.localId === localId);
    shown.keptNonce = entry.nonce; // forgotten when sent again (retry)
  }
  if (resend.length > 0 || stale.length > 0) app.changed();
}

const STALE_WORDS = "Maybe not sent: typed over a day ago on a page that closed before the " +
  "server answered. Check the conversation before you send it again.";

/** Our message `localId` was not sent, for `why`. Over a limit the server set lower than
 * chat/1's, it goes back to the composer to be cut; otherwise it stays, failed, with "Send
 * again" unless sending it again can only repeat the refusal. */
function notSent(app, id, localId, text, why, error) {
  const code = error instanceof Refused ? error.reply.error : null;
  if (code === "too_long" && app.store.openId === id) {
    app.store.takeOwn(id, localId);
    app.ui.editAgain(text, why);
  } else {
    app.store.updateOwn(id, localId, "failed", why, null, !FINAL_REFUSALS.has(code));
  }
  app.changed();
}

/** A refused (or maybe never sent) message, sent again as new with a new nonce; one kept from
 * an earlier page (restoreUnsent) is forgotten there now. */
export function retry(app, id, localId) {
  const message = app.store.takeOwn(id, localId);
  if (message === null) return;
  if (message.keptNonce) forgetUnsent(pageStorage(), app.me, message.keptNonce);
  send(app, id, message.text);
}

function broadcast(app, text, now) {
  const localId = app.store.addOwn(BROADCASTS, text, "sending", now);
  app.link.request("broadcast", { text }).then((reply) => {
    const blocked = reply.blocked_by ? `, ${reply.blocked_by} blocking you did not` : "";
    const people = reply.delivered_to === 1 ? "1 person" : `${reply.delivered_to} people`;
    app.store.updateOwn(BROADCASTS, localId, "sent", null, `to ${people} online${blocked}`);
    app.changed();
  }, (error) => {
    const why = error instanceof ConnectionLost
      ? "Not sent: broadcasts reach who is online now, and the page is not connected."
      : describe(error);
    notSent(app, BROADCASTS, localId, text, why, error);
  });
  app.changed();
}

function describe(error) {
  if (error instanceof Refused) return refusal(error.reply);
  if (error instanceof ConnectionLost) return error.message;
  throw error;
}

// ---- rooms and people -------------------------------------------------------------------------

/** Join (or create) a room from what the user typed; opens it. Returns an error sentence or
 * null. */
export async function join(app, typed) {
  const room = roomName(typed);
  if (room === null) {
    return "A room name is # and 1 to 32 lowercase letters, digits, _ or -.";
  }
  try {
    await app.link.request("join", { room });
  } catch (error) {
    return describe(error);
  }
  const conversation = app.store.joined(room);
  conversation.more = null;
  open(app, room);
  return null;
}

export async function leave(app, room) {
  try {
    await app.link.request("leave", { room });
  } catch (error) {
    app.ui.conversationNote(room, describe(error));
    app.changed();
    return;
  }
  app.store.left(room);
  if (app.store.openId === room) open(app, null);
  app.changed();
}

export async function setBlocked(app, user, block) {
  try {
    await app.link.request(block ? "block" : "unblock", { user });
  } catch (error) {
    app.ui.conversationNote(dmId(user), describe(error));
    app.changed();
    return;
  }
  if (block) app.blocked.add(user);
  else app.blocked.delete(user);
  app.ui.conversationNote(dmId(user), block
    ? `You blocked ${user}: they cannot message you or see you online.`
    : `You unblocked ${user}.`, { done: true });
  app.changed();
}
