// The page's frame: which screen shows, the open conversation's header and composer, the
// keyboard, the tab title, desktop notifications and the live region; the parts (sidebar,
// thread, panel, switcher, banner, sign-in) each draw themselves.

import { join, leave, open, send, setBlocked, writeTo } from "../actions.js";
import { BROADCASTS } from "../conversations.js";
import { isUserName } from "../switcher.js";
import { lengthCounter, lengthProblem } from "../length.js";
import { Banner } from "./banner.js";
import { byId, el, name, show } from "./dom.js";
import { Panel, PRIVATE_NOTE } from "./panel.js";
import { Sidebar } from "./sidebar.js";
import { SigninView } from "./signin.js";
import { SwitcherDialog } from "./switcher.js";
import { ThreadView } from "./thread.js";

export class Ui {
  constructor(app) {
    this.app = app;
    this.showing = false; // the conversations are on screen (signed in)
    this.signin = new SigninView(app);
    this.banner = new Banner(app);
    this.sidebar = new Sidebar(app);
    this.thread = new ThreadView(app);
    this.panel = new Panel(app);
    this.switcher = new SwitcherDialog(app);
    this.root = byId("app");
    this.title = byId("conversation-title");
    this.detail = byId("conversation-detail");
    this.actions = byId("conversation-actions");
    this.note = byId("conversation-note");
    this.empty = byId("empty");
    this.composer = byId("composer");
    this.text = byId("composer-text");
    this.counter = byId("composer-count");
    this.composerNote = byId("composer-note");
    this.announcer = byId("announcer");
    this.notifyButton = byId("enable-notifications");
    this._notes = new Map(); // conversation id -> the last thing said about it (a refusal...)
    this._headerKey = null; // what the header shows now (see _header)
    this._frame = null;
    this._afterRender = [];
  }

  bind() {
    for (const part of [this.signin, this.banner, this.sidebar, this.thread, this.panel,
      this.switcher]) part.bind();
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this._send();
    });
    this.text.addEventListener("keydown", (event) => this._composerKey(event));
    this.text.addEventListener("input", () => {
      this._fit();
      this._measure(false);
    });
    byId("back").addEventListener("click", () => open(this.app, null));
    byId("signout").addEventListener("click", () => this.app.signOut());
    byId("open-switcher").addEventListener("click", () => this.switcher.open());
    byId("browse-rooms").addEventListener("click", () => this.panel.rooms());
    byId("open-people").addEventListener("click", () => this.panel.people());
    byId("open-search").addEventListener("click", () => this.panel.search());
    this._inlineForm("join-form", "join-input", async (value) => join(this.app, value));
    this._inlineForm("dm-form", "dm-input", async (value) => {
      if (!isUserName(value)) return "A username is 1 to 32 letters, digits, _, . or -.";
      if (value === this.app.me) return "That is you.";
      return writeTo(this.app, value);
    });
    this.notifyButton.addEventListener("click", async () => {
      await Notification.requestPermission();
      this.scheduleRender();
    });
    addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        this.switcher.open();
      } else if (event.key === "Escape" && this.panel.isOpen && !this.switcher.dialog.open) {
        this.panel.close();
      }
    });
  }

  showApp() {
    this.signin.hide();
    show(this.root, true);
    show(byId("open-search"), this.app.features.has("search"));
    this.showing = true;
    byId("me").replaceChildren(el("span", { class: "me-words" }, "Signed in as "),
      name(this.app.me));
    this.scheduleRender();
  }

  /** Signed out: nothing of the session stays drawn. */
  reset() {
    this.showing = false;
    show(this.root, false);
    this.panel.close();
    this.switcher.close();
    this.thread.reset();
    this._notes.clear();
    this._headerKey = null;
    this.text.value = "";
    this._measure(false);
    this.root.classList.remove("conversation-open");
  }

  opened(id) {
    this.root.classList.toggle("conversation-open", id !== null);
    if (id !== null) this.focusComposer();
  }

  /** The keyboard in the list of conversations (after a sign-in with none open): the first
   * one, or the box to join a room when there is none. */
  focusList() {
    this.scheduleRender(() => {
      (this.sidebar.nav.querySelector(".conversation-item") ?? byId("join-input")).focus();
    });
  }

  /** Ready to type, once the conversation is drawn (its composer shows then). */
  focusComposer() {
    this.scheduleRender(() => {
      if (!this.composer.hidden) this.text.focus();
    });
  }

  /** Something said about conversation `id`: a refusal, or with `done` a confirmation (shown
   * as such, not in an error's red). */
  conversationNote(id, text, { done = false } = {}) {
    if (id !== null) this._notes.set(id, { text, done });
  }

  /** Draw once in the next frame (or at once in a hidden tab, which gets no frames: its title
   * must still count), then run `after`. */
  scheduleRender(after) {
    if (after) this._afterRender.push(after);
    if (this._frame !== null) return;
    const draw = () => {
      this._frame = null;
      this.render();
      const callbacks = this._afterRender;
      this._afterRender = [];
      for (const callback of callbacks) callback();
    };
    this._frame = document.hidden ? setTimeout(draw, 0) : requestAnimationFrame(draw);
  }

  render() {
    const { app } = this;
    const unread = app.store.totalUnread();
    document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
    if (!this.showing) return;
    this.banner.render();
    this.sidebar.render();
    const conversation = app.store.openId === null ? null : app.store.get(app.store.openId);
    this._header(conversation);
    this.thread.render(conversation);
    show(this.empty, conversation === null);
    show(this.thread.list, conversation !== null); // else it takes the room the hint centres in
    show(this.composer, conversation !== null && (conversation.kind !== "room" || conversation.joined));
    show(this.notifyButton, "Notification" in window && Notification.permission === "default");
  }

  /** A new message from someone else: said by the live region (the list itself is not live, so
   * a redraw or a page of history is not read out). */
  announce(id, message) {
    const where = id.startsWith("#") ? ` in ${id}` : "";
    this.announcer.textContent = `${message.from}${where}: ${message.text}`.slice(0, 300);
  }

  /** A desktop notification, when allowed and the user is not looking at the page. */
  notify(id, message) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return;
    const where = id === BROADCASTS ? " (broadcast)" : id.startsWith("#") ? ` in ${id}` : "";
    let note;
    try {
      note = new Notification(`${message.from}${where}`, { body: message.text, tag: id });
    } catch {
      return; // some browsers (Chrome on Android) allow notifications from service workers only
    }
    note.addEventListener("click", () => {
      window.focus();
      open(this.app, id);
    });
  }

  /** The open conversation's header, drawn anew only when what it shows changed (so an open
   * "Private chat" note or a focused button stays as it is while messages come in). */
  _header(conversation) {
    const { app } = this;
    const note = conversation === null ? null : this._notes.get(conversation.id) ?? null;
    this.note.textContent = note?.text ?? "";
    this.note.classList.toggle("done", note?.done === true);
    show(this.note, note !== null);
    const user = conversation?.kind === "dm" ? conversation.name : null;
    const key = JSON.stringify([conversation?.id ?? null, conversation?.joined, app.ready,
      user !== null && app.blocked.has(user), user !== null && app.online.has(user)]);
    if (key === this._headerKey) return;
    this._headerKey = key;
    if (conversation === null) {
      this.title.textContent = "Parley";
      this.detail.textContent = "";
      this.actions.replaceChildren();
      return;
    }
    this.title.replaceChildren(name(conversation.kind === "broadcast" ? "Broadcasts" : conversation.name));
    const label = conversation.kind === "room" ? `Message ${conversation.name}`
      : conversation.kind === "dm" ? `Message to ${conversation.name}` : "Broadcast to everyone online";
    byId("composer-label").textContent = label;
    if (conversation.kind === "room") {
      this.detail.textContent = conversation.joined ? "" : "You are not in this room.";
      this.actions.replaceChildren(
        el("button", { type: "button", class: "small", on: { click: () => this.panel.members(conversation.id) } }, "Members"),
        conversation.joined
          ? el("button", { type: "button", class: "small", on: { click: () => leave(app, conversation.id) } }, "Leave")
          : el("button", { type: "button", class: "small", on: { click: () => join(app, conversation.id) } }, "Join"));
    } else if (conversation.kind === "dm") {
      const user = conversation.name;
      const blocked = app.blocked.has(user);
      this.detail.textContent = blocked ? "blocked" : !app.ready ? ""
        : app.online.has(user) ? "online" : "offline";
      this.actions.replaceChildren(
        el("details", { class: "private-chat" }, el("summary", {}, "Private chat"),
          el("p", {}, PRIVATE_NOTE)),
        el("button", { type: "button", class: "small",
          on: { click: () => setBlocked(app, user, !blocked) } }, blocked ? "Unblock" : "Block"));
    } else {
      this.detail.textContent = "to everyone online now, not kept";
      this.actions.replaceChildren();
    }
  }

  _send() {
    const id = this.app.store.openId;
    const text = this.text.value;
    if (id === null || text.trim() === "") return;
    if (this._measure(true) !== null) return; // too long: it stays here, to be cut
    send(this.app, id, text);
    this.text.value = "";
    this._fit();
    this._measure(false);
  }

  /** The composer's length against chat/1's cap: a counter near it; the reason it cannot go
   * once a send was tried (and until it fits again). Returns that reason or null. */
  _measure(sending) {
    const text = this.text.value;
    const count = lengthCounter(text);
    this.counter.textContent = count ?? "";
    show(this.counter, count !== null);
    const problem = lengthProblem(text);
    if (sending || problem === null || !this.composerNote.hidden) this.composerSays(problem);
    return problem;
  }

  /** A sentence about what is in the composer (null: none). */
  composerSays(text) {
    this.composerNote.textContent = text ?? "";
    show(this.composerNote, text !== null);
  }

  /** A refused message's text back in the composer, to be changed and sent again. */
  editAgain(text, why) {
    const typed = this.text.value;
    this.text.value = typed.trim() === "" ? text : `${text}\n${typed}`;
    this._fit();
    this._measure(false);
    this.composerSays(why);
    this.text.focus();
  }

  /** Enter sends, Shift+Enter is a new line (and Enter while an input method composes is
   * the method's), Esc opens the switcher. */
  _composerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this._send();
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.switcher.open();
    }
  }

  _fit() {
    this.text.style.height = "auto"; // set from script, which the CSP allows (no inline style)
    this.text.style.height = `${Math.min(this.text.scrollHeight, 200)}px`;
  }

  _inlineForm(formId, inputId, act) {
    const form = byId(formId);
    const input = byId(inputId);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      const problem = await act(value);
      form.querySelector(".note")?.remove();
      if (problem === null) input.value = "";
      else form.append(el("p", { class: "note", role: "alert" }, problem));
    });
  }
}
