// Ctrl+K (or Esc in the composer): a box to type a conversation's name into, as in Slack.
// The choices come from switcher.js (pure); Up/Down pick, Enter goes, Esc closes.

import { join, open, writeTo } from "../actions.js";
import { nameOf } from "../conversations.js";
import { switcherChoices } from "../switcher.js";
import { byId, el, name, show } from "./dom.js";

export class SwitcherDialog {
  constructor(app) {
    this.app = app;
    this.dialog = byId("switcher");
    this.input = byId("switcher-input");
    this.list = byId("switcher-list");
    this.note = byId("switcher-note");
    this.choices = [];
    this.selected = 0;
  }

  bind() {
    this.input.addEventListener("input", () => {
      this.selected = 0;
      this._note(null);
      this.render();
    });
    this.input.addEventListener("keydown", (event) => this._key(event));
    byId("switcher-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this._choose(this.choices[this.selected]);
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close(); // a click outside the box
    });
  }

  open() {
    if (this.dialog.open || !this.app.ui.showing) return;
    this.input.value = "";
    this._note(null);
    this.selected = 0;
    this.render();
    this.dialog.showModal();
    this.input.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  render() {
    const entries = [
      ...this.app.store.rooms().map((c) => ({ id: c.id, label: c.name })),
      ...this.app.store.directs().map((c) => ({ id: c.id, label: c.name })),
    ];
    this.choices = switcherChoices(this.input.value, entries);
    this.list.replaceChildren(...this.choices.map((choice, index) => el("li", {
      id: `switcher-${index}`, role: "option", class: index === this.selected ? "selected" : "",
      "aria-selected": index === this.selected ? "true" : "false",
      on: { click: () => this._choose(choice) } }, name(choice.label))));
    this.input.setAttribute("aria-activedescendant",
      this.choices.length > 0 ? `switcher-${this.selected}` : "");
  }

  _note(text) {
    this.note.textContent = text ?? "";
    show(this.note, text !== null);
  }

  _key(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const count = Math.max(1, this.choices.length);
      this.selected = (this.selected + step + count) % count;
      this.render();
    }
  }

  async _choose(choice) {
    if (choice === undefined) return;
    if (choice.action === "message") {
      // A name typed here may be nobody's: the refusal is said here, and nothing opens.
      const problem = await writeTo(this.app, nameOf(choice.id));
      this._note(problem);
      if (problem !== null) return;
    }
    this.close();
    if (choice.action === "join") {
      const problem = await join(this.app, choice.id);
      if (problem !== null) this.app.ui.conversationNote(this.app.store.openId, problem);
    } else if (choice.action !== "message") {
      open(this.app, choice.id);
    }
    this.app.ui.focusComposer();
  }
}
