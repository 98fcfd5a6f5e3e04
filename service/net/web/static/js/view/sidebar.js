// The sidebar: rooms, direct conversations, broadcasts, and who is online (paged from
// `whoelse` as it scrolls), each with its unread count; the blocked marked as such.

import { open } from "../actions.js";
import { BROADCASTS, dmId } from "../conversations.js";
import { byId, el, keepingFocus, name } from "./dom.js";

export class Sidebar {
  constructor(app) {
    this.app = app;
    this.nav = byId("sidebar");
    this.rooms = byId("room-list");
    this.dms = byId("dm-list");
    this.broadcasts = byId("broadcast-list");
    this.online = byId("online-list");
    this.onlineMore = byId("online-more");
  }

  bind() {
    this.nav.addEventListener("scroll", () => this._maybeMoreOnline(), { passive: true });
  }

  render() {
    keepingFocus(this.nav, () => this._draw());
    this._maybeMoreOnline();
  }

  _draw() {
    const { store, blocked } = this.app;
    this.rooms.replaceChildren(...store.rooms().map((c) => this._item(c, c.name)));
    if (store.rooms().length === 0) {
      this.rooms.append(el("li", { class: "muted hint" }, "No rooms yet: join one below."));
    }
    // Disconnected, presence is unknown (nobody's going offline reaches the page): no one is
    // shown online until the sign-in after the reconnect asks again.
    const known = this.app.ready;
    const directs = store.directs();
    this.dms.replaceChildren(...directs.map((c) => this._item(c, c.name, {
      online: known ? this.app.online.has(c.name) : undefined, blocked: blocked.has(c.name) })));
    const broadcasts = store.get(BROADCASTS);
    this.broadcasts.replaceChildren(...(broadcasts === null ? []
      : [this._item(broadcasts, "Broadcasts")]));
    const people = known ? [...this.app.online].sort() : [];
    this.online.replaceChildren(...people.map((user) => el("li", {},
      el("button", { type: "button", class: "person", title: `Write to ${user}`,
        "data-focus": `online ${user}`,
        on: { click: () => open(this.app, dmId(user)) } },
      el("span", { class: "dot online", "aria-hidden": "true" }), name(user),
      blocked.has(user) ? el("span", { class: "tag" }, "blocked") : null))));
    if (people.length === 0) {
      this.online.append(el("li", { class: "muted hint" },
        known ? "Nobody else is online." : "Who is online shows again once connected."));
    }
  }

  _item(conversation, label, { online = null, blocked = false } = {}) {
    const current = this.app.store.openId === conversation.id;
    const unread = conversation.unread;
    const classes = ["conversation-item"];
    if (current) classes.push("current");
    if (unread > 0) classes.push("unread");
    // Its name for a screen reader, in words ("#lab, 2 unread"), not its parts run together.
    const said = [label, online === null ? null : dotWords(online), blocked ? "blocked" : null,
      unread > 0 ? `${unread} unread` : null].filter((part) => part !== null).join(", ");
    return el("li", {},
      el("button", { type: "button", class: classes.join(" "), "data-id": conversation.id,
        "data-focus": conversation.id, "aria-label": said,
        "aria-current": current ? "page" : undefined,
        on: { click: () => open(this.app, conversation.id) } },
      online === null ? null : this._dot(online),
      name(label),
      blocked ? el("span", { class: "tag" }, "blocked") : null,
      unread > 0 ? el("span", { class: "badge", "aria-hidden": "true" }, String(unread))
        : null));
  }

  /** Online, offline, or unknown (`undefined`: while disconnected). */
  _dot(online) {
    const state = online === undefined ? "unknown" : online ? "online" : "";
    return el("span", { class: `dot ${state}`.trim(), title: dotWords(online),
      "aria-hidden": "true" });
  }

  /** The end of the online list came into sight: the next page of `whoelse`. */
  _maybeMoreOnline() {
    if (!this.app.onlinePager.more || !this.app.ready) return;
    const end = this.onlineMore.getBoundingClientRect();
    const box = this.nav.getBoundingClientRect();
    if (end.top <= box.bottom + 200 && box.height > 0) this.app.loadMoreOnline();
  }
}

function dotWords(online) {
  return online === undefined ? "online or not, unknown while disconnected"
    : online ? "online" : "offline";
}
