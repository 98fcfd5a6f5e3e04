// chat/1 for the page, sans-IO: requests and their replies, the durable outbox, the link's
// state. The socket edge (socket.js) feeds it what the WebSocket says (`opened`, `received`,
// `closed`) and writes what `take()` hands back; nothing here touches a socket or a timer.
//
// - Every request with an `id` gets a Promise, settled by its reply (`Refused` for ok:false)
//   or rejected with `ConnectionLost` when the link drops first.
// - `message` and `say` are durable: each gets a nonce when the user sends it and waits in the
//   outbox until a session is signed in. One that was sent but not answered when the link
//   dropped goes out again, with the same nonce, after the next sign-in: the server stores it
//   once and answers with the original msg_id / seq (chat/1 precise point 11). Typed while
//   offline, it simply waits. So each goes out until answered, and is stored exactly once.

export const DURABLE_OPS = new Set(["message", "say"]);
const BEFORE_LOGIN = new Set(["login", "register", "ping"]); // chat/1 "Connection lifecycle"
const NOT_ACTIVITY = new Set(["ping", "ack"]); // chat/1: they do not count for the idle timeout

export const LinkState = Object.freeze({
  OFFLINE: "offline", // no socket (waiting to reconnect, or not started)
  CONNECTING: "connecting", // socket opening, no hello yet
  GREETED: "greeted", // hello came: a login may be sent
  READY: "ready", // signed in: everything may be sent
});

/** The link dropped before the reply came. */
export class ConnectionLost extends Error {
  constructor(message = "Not connected to the server.") {
    super(message);
    this.name = "ConnectionLost";
  }
}

/** The server answered ok:false; `reply` is the whole reply (error, text, retry_after...). */
export class Refused extends Error {
  constructor(reply) {
    super(typeof reply.text === "string" && reply.text ? reply.text : String(reply.error));
    this.name = "Refused";
    this.reply = reply;
    this.code = reply.error;
  }
}

export class ChatLink {
  /** `newNonce()`: a fresh random idempotency key; `now()`: milliseconds; `wake()`: called
   * when there is something to `take()`. */
  constructor({ newNonce, now = () => Date.now(), wake = () => {} }) {
    this.state = LinkState.OFFLINE;
    this.hello = null; // the server's hello on this socket
    this.bye = null; // its bye, if it said one before closing
    this.lastActivityMs = now(); // the last request that counts for the idle timeout
    this.failedAttempts = 0; // connections since the last sign-in that did not get there
    this._newNonce = newNonce;
    this._now = now;
    this._wake = wake;
    this._nextId = 1;
    this._pending = new Map(); // id -> {settle, fail, item}: requests awaiting their reply
    this._outbox = []; // durable items not yet sent on the current session, in send order
    this._outgoing = []; // frames (JSON text) for the socket edge to write
  }

  // ---- the socket edge -----------------------------------------------------------------------

  opened() {
    this.state = LinkState.CONNECTING;
    this.hello = null;
    this.bye = null;
  }

  /** One WebSocket message in; returns the events (frames with `ev`) for the page. A reply
   * settles its request and is not returned; what is not a JSON object is dropped. */
  received(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return [];
    }
    if (frame === null || typeof frame !== "object" || Array.isArray(frame)) return [];
    if ("re" in frame) {
      this._settle(frame);
      return [];
    }
    if (frame.ev === "hello" && this.state === LinkState.CONNECTING) {
      this.hello = frame;
      this.state = LinkState.GREETED;
    } else if (frame.ev === "bye") {
      this.bye = frame;
    }
    return typeof frame.ev === "string" ? [frame] : [];
  }

  /** The socket closed: requests in flight fail, durable ones go back to the outbox. */
  closed() {
    const wasReady = this.state === LinkState.READY;
    this.state = LinkState.OFFLINE;
    if (!wasReady) this.failedAttempts += 1;
    const resend = [];
    for (const [id, waiting] of this._pending) {
      if (waiting.item) resend.push([id, waiting.item]);
      else waiting.fail(new ConnectionLost("The connection was lost before the answer came."));
    }
    this._pending.clear();
    resend.sort((a, b) => a[0] - b[0]);
    for (const [, item] of resend) item.attempts += 1;
    this._outbox = [...resend.map(([, item]) => item), ...this._outbox];
    this._outgoing = [];
  }

  /** Frames to write now, in order. */
  take() {
    const frames = this._outgoing;
    this._outgoing = [];
    return frames;
  }

  // ---- the page -------------------------------------------------------------------------------

  /** The session is signed in: durable messages waiting go out, in the order they were sent. */
  signedIn() {
    this.state = LinkState.READY;
    this.failedAttempts = 0;
    this._flush();
  }

  /** A request with an id: a Promise of its ok reply. */
  request(op, fields = {}) {
    if (!this._maySend(op)) {
      return Promise.reject(new ConnectionLost());
    }
    return new Promise((settle, fail) => {
      const id = this._nextId++;
      this._pending.set(id, { settle, fail, item: null });
      this._write({ ...fields, op, id });
    });
  }

  /** A request without id (ack, read, active): sent now if it can be, else dropped
   * (returns false). */
  notify(op, fields = {}) {
    if (!this._maySend(op)) return false;
    this._write({ ...fields, op });
    return true;
  }

  /** `message` or `say`: kept until the server answers it, across reconnects. Returns the
   * nonce and a Promise of the reply; `resent` in the reply object tells it went out more
   * than once. `nonce`: the one it was first sent with (by an earlier page: unsent.js), so
   * the server stores it once; a new one by default. */
  sendDurable(op, fields, nonce = null) {
    if (!DURABLE_OPS.has(op)) throw new Error(`${op} is not a durable request`);
    const resent = nonce !== null;
    if (!resent) nonce = this._newNonce();
    let item;
    const promise = new Promise((settle, fail) => {
      item = { op, fields: { ...fields, nonce }, settle, fail, attempts: resent ? 1 : 0 };
    });
    this._outbox.push(item);
    if (this.state === LinkState.READY) this._flush();
    return { nonce, promise };
  }

  /** Durable messages not yet answered (waiting or in flight). */
  get unanswered() {
    let count = this._outbox.length;
    for (const waiting of this._pending.values()) if (waiting.item) count += 1;
    return count;
  }

  /** The user gives up on the session (signs out for good): everything waiting fails. */
  abandon(reason = "Signed out.") {
    for (const item of this._outbox) item.fail(new ConnectionLost(reason));
    this._outbox = [];
  }

  // ---- inside ----------------------------------------------------------------------------------

  _maySend(op) {
    if (this.state === LinkState.READY) return true;
    return this.state === LinkState.GREETED && BEFORE_LOGIN.has(op);
  }

  _flush() {
    const items = this._outbox;
    this._outbox = [];
    for (const item of items) {
      const id = this._nextId++;
      this._pending.set(id, {
        settle: (reply) => item.settle({ ...reply, resent: item.attempts > 0 }),
        fail: item.fail,
        item,
      });
      this._write({ ...item.fields, op: item.op, id });
    }
  }

  _settle(reply) {
    const waiting = this._pending.get(reply.re);
    if (waiting === undefined) return;
    this._pending.delete(reply.re);
    if (reply.ok === true) waiting.settle(reply);
    else waiting.fail(new Refused(reply));
  }

  _write(frame) {
    if (!NOT_ACTIVITY.has(frame.op)) this.lastActivityMs = this._now();
    this._outgoing.push(JSON.stringify(frame));
    this._wake();
  }
}
