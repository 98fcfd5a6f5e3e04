// The page's conversations, pure: what each holds, what is unread, where the "new messages"
// divider goes, how far back history is loaded, and what to tell the server once the user has
// seen it (`ack` for direct messages, `read` for rooms). The views draw from it; app.js feeds
// it what the server says and what the user does.
//
// A conversation's id: "@bob" (direct messages with bob), "#lab" (a room), "*" (broadcasts).
// Its messages are kept in the server's order: by `msg_id` in a direct conversation, by `seq`
// in a room (both only grow); messages of our own not yet confirmed come after them.

export const BROADCASTS = "*";

export function dmId(user) {
  return `@${user}`;
}

export function kindOf(id) {
  if (id === BROADCASTS) return "broadcast";
  return id.startsWith("#") ? "room" : "dm";
}

export function nameOf(id) {
  return id.startsWith("@") ? id.slice(1) : id;
}

/** One conversation; change it through `Conversations`, read it anywhere. */
export class Conversation {
  constructor(id) {
    this.id = id;
    this.kind = kindOf(id);
    this.name = nameOf(id);
    this.messages = []; // {key, localId, from, text, sentAt, own, state, error, stored}
    this.unread = 0; // messages from others the user has not seen
    this.dividerKey = null; // the first of them: the "new messages" line goes above it
    this.more = null; // older messages exist on the server (null: not asked yet)
    // Where the next page of history ends (its `before`): the oldest key history brought, so
    // pages run back without a hole from the newest, whatever came live or in a catch-up
    // (which skips our own messages and those of the blocked). null: start at the newest.
    this.historyCursor = null;
    this.loading = false; // a page of history is on its way
    this.lastActivity = 0; // for the sidebar's order: newest key or time seen
    this.joined = this.kind === "room"; // a room's membership (false once left)
    this.version = 0; // grows with every change a drawing shows
    this._keys = new Set();
    this._unacked = new Set(); // direct messages shown nowhere yet: ack them when seen
    this._readSent = 0; // a room's highest seq told to the server with `read`
  }

  get oldestKey() {
    for (const message of this.messages) if (message.key !== null) return message.key;
    return null;
  }

  get newestKey() {
    let newest = null;
    for (const message of this.messages) if (message.key !== null) newest = message.key;
    return newest;
  }

  has(key) {
    return this._keys.has(key);
  }
}

export class Conversations {
  constructor() {
    this.me = null;
    this.openId = null; // the conversation on screen
    this._all = new Map();
    this._localIds = 0;
    this._broadcastKeys = 0;
  }

  get(id) {
    return this._all.get(id) ?? null;
  }

  ensure(id) {
    let conversation = this._all.get(id);
    if (conversation === undefined) {
      conversation = new Conversation(id);
      this._all.set(id, conversation);
    }
    return conversation;
  }

  all() {
    return [...this._all.values()];
  }

  /** Rooms the user is in, by name. */
  rooms() {
    return this.all().filter((c) => c.kind === "room" && c.joined)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Direct conversations, the most recent first. */
  directs() {
    return this.all().filter((c) => c.kind === "dm")
      .sort((a, b) => b.lastActivity - a.lastActivity || (a.name < b.name ? -1 : 1));
  }

  totalUnread() {
    let total = 0;
    for (const conversation of this._all.values()) total += conversation.unread;
    return total;
  }

  /** A message from the server (live, catch-up, or sent by another session of ours).
   * `seen`: the user has it on screen now; `counted`: it is already in `unread` (a room's
   * catch-up, counted by the login reply). Returns false for a message already here. */
  receive(id, message, { seen = false, counted = false } = {}) {
    const conversation = this.ensure(id);
    const key = message.key ?? (id === BROADCASTS ? ++this._broadcastKeys : null);
    if (key === null || conversation.has(key)) return false;
    const own = message.from === this.me;
    const entry = { state: null, error: null, stored: false, ...message, key, own, localId: null };
    this._insert(conversation, entry);
    conversation.version += 1;
    conversation.lastActivity = Math.max(conversation.lastActivity, Date.parse(entry.sentAt) || 0);
    if (own) return true;
    if (conversation.kind === "dm") conversation._unacked.add(key);
    if (!seen) {
      if (!counted) conversation.unread += 1;
      if (conversation.dividerKey === null) conversation.dividerKey = key;
    }
    return true;
  }

  /** A page of older messages (history): added where they belong, nothing counted. */
  addOlder(id, messages, more) {
    const conversation = this.ensure(id);
    for (const message of messages) {
      const cursor = conversation.historyCursor;
      if (message.key !== null && (cursor === null || message.key < cursor)) {
        conversation.historyCursor = message.key;
      }
      if (message.key === null || conversation.has(message.key)) continue;
      const own = message.from === this.me;
      this._insert(conversation, { state: null, error: null, stored: false, ...message, own,
        localId: null });
      conversation.lastActivity = Math.max(conversation.lastActivity,
        Date.parse(message.sentAt) || 0);
    }
    conversation.more = more;
    conversation.loading = false;
    conversation.version += 1;
  }

  /** What the user just sent: shown at once, confirmed later. Returns its local id. */
  addOwn(id, text, state, sentAt) {
    const conversation = this.ensure(id);
    const localId = ++this._localIds;
    conversation.messages.push({ key: null, localId, from: this.me, text, sentAt, own: true,
      state, error: null, stored: false });
    conversation.version += 1;
    conversation.lastActivity = Math.max(conversation.lastActivity, Date.parse(sentAt) || 0);
    return localId;
  }

  /** The server took our message: it now has its key (msg_id or seq) and a state. */
  confirmOwn(id, localId, key, state) {
    const conversation = this.ensure(id);
    const index = conversation.messages.findIndex((m) => m.localId === localId);
    if (index < 0) return;
    const [message] = conversation.messages.splice(index, 1);
    conversation.version += 1;
    if (key === null || key === undefined) {
      conversation.messages.splice(index, 0, { ...message, state });
      return;
    }
    if (conversation.has(key)) return; // another session's echo or history came first
    this._insert(conversation, { ...message, key, state, localId: null });
  }

  /** A change of a message of ours still waiting: its state, why it was refused (and whether
   * sending it again may help: `retry`), or a note (whom a broadcast reached). */
  updateOwn(id, localId, state, error = null, note = null, retry = true) {
    const conversation = this.get(id);
    const message = conversation?.messages.find((m) => m.localId === localId);
    if (message) {
      message.state = state;
      message.error = error;
      message.note = note;
      message.retry = retry;
      conversation.version += 1;
    }
  }

  /** Its text, to send again, and the message taken off the list. */
  takeOwn(id, localId) {
    const conversation = this.get(id);
    const index = conversation?.messages.findIndex((m) => m.localId === localId) ?? -1;
    if (index < 0) return null;
    conversation.version += 1;
    return conversation.messages.splice(index, 1)[0];
  }

  /** The server's count of unread messages (a login reply's `rooms`, `room_read` from
   * another session when the marker reached the end). */
  setUnread(id, unread) {
    const conversation = this.ensure(id);
    conversation.unread = unread;
    if (unread === 0 && conversation.dividerKey !== null && this.openId !== id) {
      conversation.dividerKey = null;
      conversation.version += 1;
    }
  }

  /** The user switches to conversation `id` (null: none): the divider of the one left goes. */
  open(id) {
    if (this.openId !== null && this.openId !== id) {
      const left = this.get(this.openId);
      if (left) {
        left.dividerKey = null;
        left.version += 1;
      }
    }
    this.openId = id;
    return id === null ? null : this.ensure(id);
  }

  /** The user has conversation `id` on screen: it is read. Returns what to tell the server:
   * `acks` (msg_ids of direct messages to acknowledge) and `readSeq` (a room's new marker,
   * or null when it did not move). */
  seen(id) {
    const conversation = this.get(id);
    if (conversation === null) return { acks: [], readSeq: null };
    conversation.unread = 0;
    const acks = [...conversation._unacked].sort((a, b) => a - b);
    conversation._unacked.clear();
    let readSeq = null;
    const newest = conversation.newestKey;
    if (conversation.kind === "room" && newest !== null && newest > conversation._readSent) {
      conversation._readSent = newest;
      readSeq = newest;
    }
    return { acks, readSeq };
  }

  /** After a new sign-in the server's marker is what counts: `read` may be sent again. */
  forgetReadSent() {
    for (const conversation of this._all.values()) conversation._readSent = 0;
  }

  /** A room the user left (or never had): kept for its history, out of the sidebar. */
  left(id) {
    const conversation = this.ensure(id);
    conversation.joined = false;
    conversation.unread = 0;
    conversation.dividerKey = null;
    conversation.version += 1;
  }

  joined(id) {
    const conversation = this.ensure(id);
    conversation.joined = true;
    return conversation;
  }

  _insert(conversation, entry) {
    conversation._keys.add(entry.key);
    const list = conversation.messages;
    let at = list.length;
    while (at > 0 && (list[at - 1].key === null || list[at - 1].key > entry.key)) at -= 1;
    list.splice(at, 0, entry);
  }
}
