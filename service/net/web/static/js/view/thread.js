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
    this._drawn = { id: null, version: -1, minute: -1, oldest: null };
  }

  bind() {
    this.list.addEventListener("scroll", () => this._maybeLoadOlder(), { passive: true });
  }

  reset() {
    this.list.replaceChildren();
    this._drawn = { id: null, version: -1, minute: -1, oldest: null };
  }

  /** Draw the open conversation if it changed (or a minute passed: "today" moves). */
  render(conversation) {
    const minute = Math.floor(Date.now() / 60_000);
    const drawn = this._drawn;
    if (conversation === null) {
      if (drawn.id !== null) this.reset();
      return;
    }
    const same = drawn.id === conversation.id;
    if (same && drawn.version === conversation.version && drawn.minute === minute) {
      this._maybeLoadOlder();
      return;
    }
    const list = this.list;
    const fromBottom = list.scrollHeight - list.scrollTop;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_PX;
    list.replaceChildren(...this._items(conversation));
    if (!same) {
      const divider = list.querySelector(".divider");
      if (divider) divider.scrollIntoView({ block: "center" });
      else list.scrollTop = list.scrollHeight;
    } else if (drawn.oldest !== conversation.oldestKey && !atBottom) {
      list.scrollTop = list.scrollHeight - fromBottom; // older ones came in above: stay put
    } else if (atBottom) {
      list.scrollTop = list.scrollHeight;
    }
    this._drawn = { id: conversation.id, version: conversation.version, minute,
      oldest: conversation.oldestKey };
    this._maybeLoadOlder();
  }

  _items(conversation) {
    const now = new Date();
    const items = [this._edge(conversation)];
    let day = null;
    for (const message of conversation.messages) {
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
    return items;
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
        el("button", { type: "button", class: "small",
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

/** One run of a message's text: plain text, or a link that opens in a new tab and tells the
 * site nothing about this page. */
function run(piece) {
  if (piece.href === undefined) return piece.text;
  return el("a", { href: piece.href, target: "_blank", rel: "noopener noreferrer" }, piece.text);
}
