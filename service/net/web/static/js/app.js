// The page's controller: the session's life (connect, sign in, reconnect, sign out) and the
// server's events, turned into changes of the conversations and the lists; what the user does
// in a conversation is in actions.js, the drawing in view/. The decisions it applies are in the
// pure modules (protocol.js, reconnect.js, conversations.js, idle.js).

import * as actions from "./actions.js";
import { BROADCASTS, Conversations, dmId } from "./conversations.js";
import { idleState, shouldSendActive } from "./idle.js";
import { loadOpenConversation } from "./landing.js";
import { Pager } from "./pager.js";
import { ChatLink, ConnectionLost, LinkState, Refused } from "./protocol.js";
import { After, afterEnd, delayMs } from "./reconnect.js";
import { Socket } from "./socket.js";
import { clearUnsent, pageStorage } from "./unsent.js";
import { Ui } from "./view/ui.js";
import { byeWords, loginRefusal } from "./words.js";

const SAVED_SIGNIN = "parley.signin"; // localStorage: {user, token, expires} ("stay signed in")
const ONLINE_PAGE = 200; // names per `whoelse` page in the sidebar

export class App {
  constructor() {
    this.store = new Conversations();
    this.link = new ChatLink({ newNonce, wake: () => this.socket.flushSoon() });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new Socket(`${scheme}//${location.host}/chat`, this.link, {
      events: (events) => this.events(events),
      closed: () => this.closed(),
    });
    this.features = new Set();
    this.hello = null;
    this.me = null; // the signed-in user, also while reconnecting
    this.auth = null; // how to sign in again: {user, password} or {user, token}, in memory
    this.signedInOnce = false; // this page was signed in (so a drop means reconnecting)
    this.signingIn = false;
    this.loggingOut = false;
    this.idleTimeoutS = null;
    this.online = new Set(); // users online now, as whoelse and presence say
    this.onlinePager = new Pager(ONLINE_PAGE);
    this.blocked = new Set(); // users this user blocks
    this.ui = new Ui(this);
    this._idleTimer = null;
  }

  start() {
    const saved = loadSavedSignIn();
    if (saved !== null) this.auth = { user: saved.user, token: saved.token, remember: true };
    this.ui.signin.show({ status: "Connecting to the server…", user: saved?.user });
    this.ui.bind();
    for (const type of ["keydown", "pointerdown"]) {
      addEventListener(type, () => this.userActive(), { capture: true, passive: true });
    }
    addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => this.changed());
    this.socket.connect();
  }

  get ready() {
    return this.link.state === LinkState.READY;
  }

  // ---- the server's events ----------------------------------------------------------------------

  events(frames) {
    for (const frame of frames) {
      const handler = EVENTS[frame.ev];
      if (handler !== undefined) handler(this, frame);
    }
    this.changed();
  }

  greeted(hello) {
    this.hello = hello;
    this.features = new Set(Array.isArray(hello.features) ? hello.features : []);
    this.ui.signin.greeted(hello, this.features);
    if (this.auth !== null) this.signIn(this.auth);
    else this.ui.signin.status("Sign in to chat.");
  }

  // ---- signing in and out -----------------------------------------------------------------------

  /** Sign in with `auth`: {user, password | token, remember, register, replace}. */
  async signIn(auth) {
    if (this.signingIn) return;
    if (this.link.state !== LinkState.GREETED) {
      this.auth = auth; // sent when the hello comes
      if (!this.socket.open) this.reconnectNow();
      return;
    }
    this.signingIn = true;
    const fields = { user: auth.user };
    if (auth.token) fields.token = auth.token;
    else fields.password = auth.password;
    // With a token, remembering is implied (chat/1 "Staying signed in").
    if (auth.remember && !auth.token && this.features.has("tokens")) fields.remember = true;
    if (auth.replace) fields.replace = true;
    this.ui.signin.busy(true);
    try {
      const reply = await this.link.request(auth.register ? "register" : "login", fields);
      this.signedIn(reply, auth);
    } catch (error) {
      this.signInRefused(error, auth);
    } finally {
      this.signingIn = false;
      this.ui.signin.busy(false);
      this.changed();
    }
  }

  signInRefused(error, auth) {
    if (error instanceof ConnectionLost) return; // closed() takes it from here
    if (!(error instanceof Refused)) throw error;
    const reply = error.reply;
    if (this.signedInOnce && reply.error === "rate_limited") {
      this.socket.close(); // a busy server after a restart: try again in a while
      return;
    }
    this.auth = null;
    if (this.signedInOnce) this.dropSession(); // signing in again after a reconnect failed
    if (auth.token && reply.error === "bad_credentials") {
      forgetSavedSignIn(); // unknown, expired or revoked (a password change): ask for it
      this.ui.signin.show({ user: auth.user,
        note: "Your saved sign-in has expired or was revoked. Please enter your password." });
      return;
    }
    this.ui.signin.show({
      user: auth.user, note: loginRefusal(reply, auth.user),
      // The credentials just refused stay in memory for "sign in here" (and only for it).
      replaceWith: reply.error === "online_elsewhere" && this.features.has("sessions")
        ? auth : null,
      resume: auth.token ? auth.user : null, // the saved sign-in still holds (locked, busy...)
    });
  }

  signedIn(reply, auth) {
    const firstTime = this.me !== reply.user;
    this.me = reply.user;
    this.store.me = reply.user;
    this.auth = reply.token
      ? { user: reply.user, token: reply.token, remember: true }
      : { user: reply.user, password: auth.password, token: auth.token };
    if (reply.token) saveSignIn(reply.user, reply.token, reply.token_expires);
    else if (!auth.token) forgetSavedSignIn();
    this.signedInOnce = true;
    this.idleTimeoutS = Number.isInteger(reply.idle_timeout) ? reply.idle_timeout : null;
    this.link.signedIn();
    this.store.forgetReadSent();
    actions.markWaiting(this, "sending");
    const rooms = Array.isArray(reply.rooms) ? reply.rooms : [];
    const listed = new Set(rooms.map((r) => r.room));
    for (const conversation of this.store.rooms()) {
      if (!listed.has(conversation.id)) this.store.left(conversation.id);
    }
    for (const { room, unread } of rooms) {
      this.store.joined(room);
      this.store.setUnread(room, unread);
    }
    if (firstTime) this.store.ensure(BROADCASTS);
    this.ui.showApp();
    if (firstTime) actions.restoreUnsent(this);
    if (firstTime) this.landWhereItWas();
    this.loadLists();
    this.watchIdle();
  }

  /** After a reload, the conversation that was open (a room still joined, or a direct
   * one), ready to type in; otherwise the keyboard starts in the list of conversations. */
  landWhereItWas() {
    const id = loadOpenConversation(this.me);
    const room = id?.startsWith("#") ? this.store.get(id) : null;
    if (id === BROADCASTS || id?.startsWith("@") || room?.joined) actions.open(this, id);
    else this.ui.focusList();
  }

  /** What the sidebar lists besides the rooms: who is online, the direct conversations, the
   * blocked. Asked again after every sign-in (a restart may have changed any of it). */
  loadLists() {
    this.online = new Set();
    this.onlinePager = new Pager(ONLINE_PAGE);
    this.loadMoreOnline();
    this.ui.panel.refresh();
    if (this.features.has("dm_history")) {
      this.link.request("conversations").then((reply) => {
        for (const entry of reply.conversations ?? []) {
          const conversation = this.store.ensure(dmId(entry.with));
          conversation.lastActivity = Math.max(conversation.lastActivity,
            Date.parse(entry.last_at) || 0);
        }
        this.changed();
      }, ignoreLost);
    }
    this.link.request("blocklist").then((reply) => {
      this.blocked = new Set(reply.users ?? []);
      this.changed();
    }, ignoreLost);
  }

  loadMoreOnline() {
    const fields = this.onlinePager.next();
    if (fields === null) return;
    this.link.request("whoelse", fields).then((reply) => {
      this.onlinePager.accept(reply.users ?? [], reply.more);
      for (const user of reply.users ?? []) this.online.add(user);
      this.changed();
    }, (error) => {
      this.onlinePager.failed();
      ignoreLost(error);
    });
  }

  async signOut() {
    this.loggingOut = true;
    const forget = Boolean(this.auth?.token);
    forgetSavedSignIn();
    if (this.me !== null) clearUnsent(pageStorage(), this.me); // nothing typed stays behind
    this.auth = null;
    try {
      await this.link.request("logout", forget ? { forget: true } : {});
    } catch {
      // gone already: signing out is what the user wanted anyway
    }
    this.socket.close();
  }

  /** The socket closed: reconnect, or back to the sign-in screen with the reason. */
  closed() {
    const bye = this.link.bye;
    actions.markWaiting(this, "queued");
    const after = afterEnd(bye?.reason ?? null, this.loggingOut);
    if (after === After.RECONNECT) {
      this.socket.retryIn(delayMs(this.link.failedAttempts, Math.random()));
      if (this.me === null) this.ui.signin.status("The server is not answering; trying again…");
      this._linkTicker();
      this.changed();
      return;
    }
    this.endSession(bye);
  }

  /** Signed out, idle, kicked, replaced...: the sign-in screen says why; nothing of the session
   * stays on the page. */
  endSession(bye) {
    const words = this.loggingOut ? "You signed out." : byeWords(bye);
    const user = this.me ?? this.auth?.user;
    if (bye?.reason === "account_deleted" && user) clearUnsent(pageStorage(), user);
    this.auth = null;
    this.loggingOut = false;
    this.dropSession();
    this.ui.signin.show({ user, note: words, resume: loadSavedSignIn()?.user ?? null });
    this.socket.retryIn(0); // a fresh socket, greeted and ready for the next sign-in
  }

  /** Nothing of the session stays: its conversations, what waited to be sent, the screen. */
  dropSession() {
    this.link.abandon("Signed out.");
    this.me = null;
    this.signedInOnce = false;
    this.idleTimeoutS = null;
    this.watchIdle();
    this.store = new Conversations();
    this.ui.reset();
  }

  /** "Continue as alice": sign in with the saved token. */
  resume() {
    const saved = loadSavedSignIn();
    if (saved !== null) this.signIn({ user: saved.user, token: saved.token, remember: true });
  }

  reconnectNow() {
    if (!this.socket.open) this.socket.connect();
  }

  // ---- idle -------------------------------------------------------------------------------------

  /** Anything the user does in the page (chat/1 precise point 15: `active`, at most every
   * 10 s) keeps an idle session alive. */
  userActive() {
    if (this.ready && shouldSendActive(this.link.lastActivityMs, Date.now())) {
      this.link.notify("active");
      this.watchIdle();
    }
  }

  stayActive() {
    if (this.ready) this.link.notify("active");
    this.watchIdle();
  }

  watchIdle() {
    clearTimeout(this._idleTimer);
    if (this.idleTimeoutS === null || !this.ready) {
      this.ui.banner.idle(null);
      return;
    }
    const state = idleState(this.link.lastActivityMs, this.idleTimeoutS, Date.now());
    this.ui.banner.idle(state.warn ? state.secondsLeft : null);
    this._idleTimer = setTimeout(() => this.watchIdle(), state.checkInMs);
  }

  // ---- drawing ----------------------------------------------------------------------------------

  /** Something changed: draw it (once per frame), then tell the server what is now seen. */
  changed() {
    this.ui.scheduleRender(() => actions.markSeen(this));
  }

  _linkTicker() {
    // The banner counts down to the next attempt: redraw each second while one is waiting.
    if (this.socket.retryAt === null || this.ready) return;
    this.changed();
    setTimeout(() => this._linkTicker(), 1000);
  }
}

// What each event does (chat/1 "Events" and the features' tables); unknown events are ignored.
const EVENTS = {
  hello: (app, frame) => app.greeted(frame),
  message: (app, frame) => actions.received(app, dmId(frame.from), {
    key: frame.msg_id, from: frame.from, text: frame.text, sentAt: frame.sent_at,
    stored: frame.stored === true,
  }),
  message_sent: (app, frame) => actions.received(app, dmId(frame.to), {
    key: frame.msg_id, from: app.me, text: frame.text, sentAt: frame.sent_at,
  }),
  room_message: (app, frame) => actions.received(app, frame.room, {
    key: frame.seq, from: frame.from, text: frame.text, sentAt: frame.sent_at,
    stored: frame.stored === true,
  }, { counted: frame.stored === true }),
  room_read: (app, frame) => actions.readElsewhere(app, frame.room, frame.seq),
  room_join: (app, frame) => actions.membersChanged(app, frame.room),
  room_leave: (app, frame) => actions.membersChanged(app, frame.room),
  broadcast: (app, frame) => actions.received(app, BROADCASTS, {
    from: frame.from, text: frame.text, sentAt: frame.sent_at,
  }),
  presence: (app, frame) => {
    if (frame.state === "online") app.online.add(frame.user);
    else app.online.delete(frame.user);
  },
};

function ignoreLost(error) {
  if (!(error instanceof ConnectionLost) && !(error instanceof Refused)) throw error;
}

/** A nonce: 128 random bits in hex (crypto.getRandomValues works on plain http too, where
 * randomUUID does not). */
function newNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// "Stay signed in": the token is kept in this origin's localStorage, which only this page
// (and so only this server's page) can read; it never goes into a URL (chat/1 "Staying signed
// in"). Signing out forgets it here and on the server.
function loadSavedSignIn() {
  try {
    const saved = JSON.parse(localStorage.getItem(SAVED_SIGNIN) ?? "null");
    if (typeof saved?.user === "string" && typeof saved?.token === "string") return saved;
  } catch {
    // unreadable: as if nothing were saved
  }
  return null;
}

function saveSignIn(user, token, expires) {
  try {
    localStorage.setItem(SAVED_SIGNIN, JSON.stringify({ user, token, expires }));
  } catch {
    // storage refused (a private window): this tab still works, a reload asks again
  }
}

function forgetSavedSignIn() {
  try {
    localStorage.removeItem(SAVED_SIGNIN);
  } catch {
    // nothing to forget
  }
}
