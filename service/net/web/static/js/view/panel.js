// The side panel: a room's members, every room, people (who was on lately, whom you block),
// or search. Long lists come in pages (chat/1 precise point 18), asked as their end scrolls
// into sight.

import { join, open, setBlocked } from "../actions.js";
import { dmId } from "../conversations.js";
import { fullTime } from "../format.js";
import { Pager } from "../pager.js";
import { refusal } from "../words.js";
import { byId, el, fill, name, show } from "./dom.js";

const MEMBERS_PAGE = 100;
const SEARCH_LIMIT = 50; // chat/1: 1-50
const NARROW = "(max-width: 700px)"; // style.css: the panel takes the whole screen
const ROOMS_PAGE = 100;
const LATELY = [[15 * 60, "15 minutes"], [60 * 60, "hour"], [24 * 3600, "day"]];

export class Panel {
  constructor(app) {
    this.app = app;
    this.box = byId("panel");
    this.title = byId("panel-title");
    this.body = byId("panel-body");
    this.kind = null; // "members", "rooms", "people", "search" or null (closed)
    this.room = null;
    this.pager = null;
    this.lately = null; // whoelsesince's answer: {seconds, users}
  }

  bind() {
    byId("panel-close").addEventListener("click", () => this.close());
    this.body.addEventListener("scroll", () => this._maybeMore(), { passive: true });
  }

  get isOpen() {
    return this.kind !== null;
  }

  members(room) {
    this._open("members", `Members of ${room}`);
    this.room = room;
    this._reload();
  }

  rooms() {
    this._open("rooms", "Rooms");
    this._reload();
  }

  /** Signed in again after a reconnect: a list on screen (and who in it is online) may be
   * stale, so it is asked again, where it is, without taking the focus. */
  refresh() {
    if (this.kind === "members" || this.kind === "rooms") this._reload();
  }

  _reload() {
    this.pager = this.kind === "members"
      ? new Pager(MEMBERS_PAGE, (item) => item.user)
      : new Pager(ROOMS_PAGE, (item) => item.room);
    this.count = null;
    this._more();
  }

  /** Search (feature `search`): the newest messages of your rooms and direct conversations
   * with every word, the last also as a beginning; a hit opens its conversation. */
  search() {
    this._open("search", "Search");
    this.pager = null;
    this.found = null; // {query, results} or {query, problem}
    this.render();
    byId("search-input").focus();
  }

  _find(query) {
    if (!query.trim()) return;
    this.found = { query, results: null };
    this.render();
    this.app.link.request("search", { query, limit: SEARCH_LIMIT }).then((reply) => {
      if (this.kind !== "search" || this.found?.query !== query) return;
      this.found = { query, results: reply.results ?? [] };
      this.render();
    }, (error) => {
      if (this.kind !== "search" || this.found?.query !== query) return;
      const words = error.reply?.error === "bad_request"
        ? "Type a word to search for: letters or digits."
        : error.reply ? refusal(error.reply) : error.message;
      this.found = { query, problem: words };
      this.render();
    });
  }

  _renderSearch() {
    const input = el("input", { id: "search-input", type: "search", maxlength: 200,
      autocomplete: "off", spellcheck: "false", value: this.found?.query ?? "" });
    const form = el("form", { class: "inline-form", role: "search", on: { submit: (event) => {
      event.preventDefault();
      this._find(input.value);
    } } },
    el("label", { for: "search-input", class: "visually-hidden" }, "Words to search for"),
    input, el("button", { type: "submit", class: "small" }, "Search"));
    const found = this.found;
    let outcome = el("p", { class: "muted" },
      "Every word must appear; the last one may be the start of a word (lab sched finds "
      + "\u201cLab schedule\u201d).");
    if (found?.problem) outcome = el("p", { class: "note", role: "alert" }, found.problem);
    else if (found && found.results === null) outcome = el("p", { class: "muted" }, "Searching…");
    else if (found) {
      const results = found.results;
      outcome = el("div", {},
        el("p", { class: "muted", role: "status" }, results.length === 0 ? "Nothing found."
          : `${results.length === 1 ? "1 message" : `${results.length} messages`}, newest first`),
        el("ul", { class: "search-results" }, results.map((hit) => {
          const where = hit.room ?? dmId(hit.with);
          return el("li", {}, el("button", { type: "button", class: "search-hit",
            on: { click: () => this._openHit(where) } },
          el("span", { class: "search-place" }, hit.room ? el("bdi", {}, hit.room)
            : ["with ", name(hit.with)]),
          el("span", { class: "muted" }, " · ", name(hit.from), " · ",
            el("time", { datetime: hit.sent_at }, fullTime(hit.sent_at))),
          el("span", { class: "search-text", dir: "auto" }, hit.text)));
        })));
    }
    fill(this.body, form, outcome);
  }

  /** On a phone the panel covers the conversation: it closes to show it; beside it, it stays
   * for the next hit. */
  _openHit(where) {
    open(this.app, where);
    if (window.matchMedia(NARROW).matches) this.close();
  }

  people() {
    this._open("people", "People");
    this.pager = null;
    this.lately = null;
    this.render();
  }

  close() {
    this.kind = null;
    this.pager = null;
    show(this.box, false);
    document.body.classList.remove("panel-open");
  }

  /** Someone joined or left `room`: a members list of it on screen is asked again. */
  membersChanged(room) {
    if (this.kind === "members" && this.room === room) this.members(room);
  }

  render() {
    if (this.kind === "members") this._renderMembers();
    else if (this.kind === "rooms") this._renderRooms();
    else if (this.kind === "people") this._renderPeople();
    else if (this.kind === "search") this._renderSearch();
    this._maybeMore();
  }

  _open(kind, title) {
    this.kind = kind;
    this.title.textContent = title;
    fill(this.body, el("p", { class: "muted" }, "Loading…"));
    show(this.box, true);
    document.body.classList.add("panel-open");
    byId("panel-close").focus();
  }

  _more() {
    const pager = this.pager;
    const fields = pager?.next();
    if (!fields) return;
    const kind = this.kind;
    const request = kind === "members"
      ? this.app.link.request("members", { room: this.room, ...fields })
      : this.app.link.request("rooms", fields);
    request.then((reply) => {
      if (this.pager !== pager) return; // the panel moved on meanwhile
      if (kind === "members") {
        const online = new Set(reply.online ?? []);
        pager.accept((reply.users ?? []).map((user) => ({ user, online: online.has(user) })),
          reply.more);
        this.count = reply.count ?? null;
      } else {
        pager.accept(reply.rooms ?? [], reply.more);
      }
      this.render();
    }, (error) => {
      pager.failed();
      if (this.pager === pager) this._problem(error);
    });
  }

  _problem(error) {
    const text = error.reply ? refusal(error.reply) : error.message;
    fill(this.body, el("p", { class: "note", role: "alert" }, text));
  }

  _renderMembers() {
    const items = this.pager.items;
    const count = this.count ?? items.length;
    fill(this.body,
      el("p", { class: "muted" }, `${count} ${count === 1 ? "member" : "members"}`),
      el("ul", { class: "people-list" }, items.map(({ user, online }) => el("li", {},
        el("button", { type: "button", class: "person", disabled: user === this.app.me,
          on: { click: () => open(this.app, dmId(user)) } },
        el("span", { class: `dot${online ? " online" : ""}`,
          "aria-label": online ? "online" : "offline" }),
        name(user), user === this.app.me ? el("span", { class: "tag" }, "you") : null)))),
      this._sentinel());
  }

  _renderRooms() {
    const form = el("form", { class: "inline-form", on: { submit: (event) => {
      event.preventDefault();
      const input = form.querySelector("input");
      join(this.app, input.value).then((problem) => {
        if (problem === null) this.close();
        else this._formNote(form, problem);
      });
    } } },
    el("label", { for: "panel-join", class: "visually-hidden" }, "Join or create a room"),
    el("input", { id: "panel-join", placeholder: "#new-room", autocapitalize: "none",
      spellcheck: "false", maxlength: 33 }),
    el("button", { type: "submit", class: "small" }, "Join"));
    fill(this.body, form,
      el("ul", { class: "room-browser" }, this.pager.items.map((entry) => el("li", {},
        el("bdi", { class: "name" }, entry.room),
        el("span", { class: "muted" }, ` ${entry.members} ${entry.members === 1 ? "member" : "members"} `),
        entry.joined
          ? el("button", { type: "button", class: "small", on: { click: () => {
            open(this.app, entry.room);
            this.close();
          } } }, "Open")
          : el("button", { type: "button", class: "small", on: { click: () => {
            join(this.app, entry.room).then((problem) => {
              if (problem === null) this.close();
              else this._formNote(form, problem);
            });
          } } }, "Join")))),
      this._sentinel());
  }

  _renderPeople() {
    const { app } = this;
    const blocked = [...app.blocked].sort();
    const choose = el("select", { id: "lately-select", on: { change: () => this._lately(Number(choose.value)) } },
      el("option", { value: "" }, "choose…"),
      LATELY.map(([seconds, label]) => el("option", { value: seconds,
        selected: this.lately?.seconds === seconds }, `the last ${label}`)));
    const blockForm = el("form", { class: "inline-form", on: { submit: (event) => {
      event.preventDefault();
      const user = blockForm.querySelector("input").value.trim();
      if (user) setBlocked(app, user, true).then(() => this.render());
    } } },
    el("label", { for: "block-input", class: "visually-hidden" }, "Block a user"),
    el("input", { id: "block-input", placeholder: "username", autocapitalize: "none",
      spellcheck: "false", maxlength: 32 }),
    el("button", { type: "submit", class: "small" }, "Block"));
    fill(this.body,
      el("h3", {}, "Online lately"),
      el("label", { for: "lately-select" }, "Who was online in "), choose,
      this.lately === null ? null : el("ul", { class: "people-list" },
        this.lately.users.length === 0 ? el("li", { class: "muted" }, "Nobody else.") : null,
        this.lately.users.map((user) => el("li", {}, el("button", { type: "button",
          class: "person", on: { click: () => open(app, dmId(user)) } }, name(user))))),
      el("h3", {}, "Blocked"),
      el("p", { class: "muted" }, "People you block cannot message you or see you online."),
      el("ul", { class: "people-list" },
        blocked.length === 0 ? el("li", { class: "muted" }, "Nobody.") : null,
        blocked.map((user) => el("li", {}, name(user), " ",
          el("button", { type: "button", class: "small",
            on: { click: () => setBlocked(app, user, false).then(() => this.render()) } },
          "Unblock")))),
      blockForm,
      el("h3", {}, "Private chats"),
      el("p", { class: "muted" }, PRIVATE_NOTE));
  }

  _lately(seconds) {
    if (!seconds) return;
    this.app.link.request("whoelsesince", { seconds }).then((reply) => {
      this.lately = { seconds, users: reply.users ?? [] };
      if (this.kind === "people") this.render();
    }, (error) => this._problem(error));
  }

  _formNote(form, text) {
    form.querySelector(".note")?.remove();
    form.append(el("p", { class: "note", role: "alert" }, text));
  }

  _sentinel() {
    return this.pager.more ? el("p", { class: "muted sentinel" }, "Loading more…") : null;
  }

  _maybeMore() {
    if (!this.pager?.more) return;
    const end = this.body.querySelector(".sentinel");
    if (end === null) return;
    const box = this.body.getBoundingClientRect();
    if (end.getBoundingClientRect().top <= box.bottom + 200) this._more();
  }
}

export const PRIVATE_NOTE = "Private peer-to-peer chats (startprivate) need chat-client: a "
  + "browser page cannot accept the direct connection they use. Someone who asks you for one "
  + "while you are only signed in here is told so.";
