// The open conversation's messages: one list item each, a line between days, the "new
// messages" divider, the state of what we sent; older history when scrolled to the top. Text
// is always text (links are <a> built here, only for the schemes format.js allows), and every
// name and message is isolated for bidi so right-to-left overrides stay inside it.

import { clock, dayLabel, fullTime, linkify, localDay, parseTime } from "../format.js";
import { loadOlder, retry } from "../actions.js";
import { DM_STATES } from "../words.js";
import { byId, el, name } from "./dom.js";

const NEAR_TOP_PX = 120; // scrolled this close to the top: the previous page is asked for
const AT_BOTTOM_PX = 48; // this close to the bottom counts as reading the newest

export class ThreadView {
  constructor(app) {
    this.app = app;
    this.list = byId("messages");
    this._drawn = { id: null, version: -1, today: null, oldest: null, shape: null, day: null };
  }

  bind() {
    this.list.addEventListener("scroll", () => this._maybeLoadOlder(), { passive: true });
  }

  reset() {
    this.list.replaceChildren();
    this._drawn = { id: null, version: -1, today: null, oldest: null, shape: null, day: null };
  }

  /** Draw the open conversation if it changed, or the day did ("Today", "Mon 14:05" move on;
   * nothing else drawn depends on the clock, so a selection lasts past the minute). */
  render(conversation) {
    const today = localDay(new Date());
    const drawn = this._drawn;
    if (conversation === null) {
      if (drawn.id !== null) this.reset();
      return;
    }
    const same = drawn.id === conversation.id;
    if (same && drawn.version === conversation.version && drawn.today === today) {
      this._maybeLoadOlder();
      return;
    }
    const list = this.list;
    const fromBottom = list.scrollHeight - list.scrollTop;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_PX;
    const shape = shapeOf(conversation);
    const from = same && drawn.today === today ? appendedFrom(drawn.shape, shape) : null;
    let day;
    if (from !== null) {
      // Only new messages at the end: add them, so a selection or a focused button stays.
      const tail = this._items(conversation, from, drawn.day);
      list.append(...tail.items);
      day = tail.day;
    } else {
      const all = this._items(conversation, 0, null);
      list.replaceChildren(this._edge(conversation), ...all.items);
      day = all.day;
    }
    if (!same) {
      const divider = list.querySelector(".divider");
      if (divider) divider.scrollIntoView({ block: "center" });
      else list.scrollTop = list.scrollHeight;
    } else if (drawn.oldest !== conversation.oldestKey && !atBottom) {
      list.scrollTop = list.scrollHeight - fromBottom; // older ones came in above: stay put
    } else if (atBottom) {
      list.scrollTop = list.scrollHeight;
    }
    this._drawn = { id: conversation.id, version: conversation.version, today,
      oldest: conversation.oldestKey, shape, day };
    this._maybeLoadOlder();
  }

  /** The list items of messages `from` on, the day of the message before being `day`. */
  _items(conversation, from, day) {
    const now = new Date();
    const items = [];
    for (const message of conversation.messages.slice(from)) {
      const date = parseTime(message.sentAt);
      const thisDay = date === null ? day : localDay(date);
      if (thisDay !== day) {
        items.push(el("li", { class: "day", role: "separator" },
          el("span", {}, dayLabel(message.sentAt, now))));
        day = thisDay;
      }
      if (message.key !== null && message.key === conversation.dividerKey) {
        items.push(el("li", { class: "divider", role: "separator", "aria-label": "New messages" },
          el("span", {}, "New messages")));
      }
      items.push(this._message(conversation, message, now));
    }
    return { items, day };
  }

  _edge(conversation) {
    if (conversation.kind === "broadcast") {
      return el("li", { class: "edge" },
        "Broadcasts reach everyone online at that moment. They are not kept: a reload shows none.");
    }
    if (conversation.loading) return el("li", { class: "edge" }, "Loading earlier messages…");
    if (conversation.more === false) {
      return el("li", { class: "edge" }, "This is the beginning of the conversation.");
    }
    return el("li", { class: "edge" }, "");
  }

  _message(conversation, message, now) {
    const classes = ["message"];
    if (message.own) classes.push("own");
    if (message.state === "failed") classes.push("failed");
    const meta = el("div", { class: "meta" },
      name(message.from, "from"), " ",
      el("time", { datetime: message.sentAt, title: fullTime(message.sentAt) },
        clock(message.sentAt, now)),
      this._state(conversation, message));
    const text = el("p", { class: "text", dir: "auto" }, ...linkify(message.text).map(run));
    const item = el("li", { class: classes.join(" "), "data-key": message.key ?? undefined },
      meta, text);
    if (message.error) {
      item.append(el("p", { class: "error", role: "alert" }, message.error, " ",
        message.retry === false ? null : el("button", { type: "button", class: "small",
          on: { click: () => retry(this.app, conversation.id, message.localId) } }, "Send again")));
    }
    return item;
  }

  _state(conversation, message) {
    if (!message.own || message.state === null || message.state === "failed") return null;
    if (message.note) return el("span", { class: "state" }, ` · ${message.note}`);
    if (conversation.kind !== "dm" && !["sending", "queued"].includes(message.state)) return null;
    const [label, title] = DM_STATES[message.state] ?? [message.state, ""];
    return el("span", { class: `state state-${message.state}`, title }, ` · ${label}`);
  }

  _maybeLoadOlder() {
    const id = this._drawn.id;
    if (id === null) return;
    const list = this.list;
    if (list.scrollTop < NEAR_TOP_PX || list.scrollHeight <= list.clientHeight) {
      loadOlder(this.app, id);
    }
  }
}

/** What a drawing of `conversation` depends on: the edge's line, the divider, and each
 * message as drawn (its key or local id, state, error, note). */
function shapeOf(conversation) {
  const edge = `${conversation.kind}|${conversation.loading}|${conversation.more}`;
  const messages = conversation.messages.map((m) =>
    `${m.key ?? `local ${m.localId}`}|${m.state}|${m.error}|${m.note ?? ""}`);
  return { edge, divider: conversation.dividerKey, messages };
}

/** Where the new messages start when `now` is `before` with messages added at the end and
 * nothing else changed; null when the whole list must be drawn anew. */
function appendedFrom(before, now) {
  if (before === null || before.edge !== now.edge || before.divider !== now.divider) return null;
  if (now.messages.length <= before.messages.length) return null;
  for (let i = 0; i < before.messages.length; i += 1) {
    if (before.messages[i] !== now.messages[i]) return null;
  }
  return before.messages.length;
}

/** One run of a message's text: plain text, or a link that opens in a new tab and tells the
 * site nothing about this page. */
function run(piece) {
  if (piece.href === undefined) return piece.text;
  return el("a", { href: piece.href, target: "_blank", rel: "noopener noreferrer" }, piece.text);
}
