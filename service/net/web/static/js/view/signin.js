// The sign-in screen: the form, the server's refusals in words, sign-up where the server allows
// it, "stay signed in" where it offers tokens, and "continue as" with a saved sign-in.

import { byId, show } from "./dom.js";

export class SigninView {
  constructor(app) {
    this.app = app;
    this.section = byId("signin");
    this.form = byId("signin-form");
    this.user = byId("signin-user");
    this.password = byId("signin-password");
    this.remember = byId("signin-remember");
    this.rememberRow = byId("signin-remember-row");
    this.submit = byId("signin-submit");
    this.register = byId("signin-register");
    this.replace = byId("signin-replace");
    this.resumeButton = byId("signin-resume");
    this.statusLine = byId("signin-status");
    this.note = byId("signin-note");
    this._replaceWith = null; // the refused sign-in "sign in here" retries (in memory only)
  }

  bind() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this._go({});
    });
    this.register.addEventListener("click", () => this._go({ register: true }));
    this.replace.addEventListener("click", () => this._takeOver());
    this.resumeButton.addEventListener("click", () => this.app.resume());
  }

  /** Show the screen; `note` is why it shows (a refusal, the end of a session). */
  show({ status, note, user, replaceWith = null, resume = null } = {}) {
    show(this.section, true);
    document.title = "Parley";
    if (status !== undefined) this.status(status);
    this.note.textContent = note ?? "";
    show(this.note, Boolean(note));
    if (user) this.user.value = user;
    this.password.value = "";
    this._replaceWith = replaceWith;
    show(this.replace, replaceWith !== null);
    show(this.resumeButton, resume !== null);
    if (resume !== null) this.resumeButton.textContent = `Continue as ${resume}`;
    (this.user.value ? this.password : this.user).focus();
  }

  hide() {
    show(this.section, false);
    this._replaceWith = null;
  }

  status(text) {
    this.statusLine.textContent = text;
  }

  /** The server said hello: what it offers decides what the form offers. */
  greeted(hello, features) {
    show(this.register, hello.signup === true);
    show(this.rememberRow, features.has("tokens"));
    const server = typeof hello.server === "string" ? ` (${hello.server})` : "";
    this.status(`Connected${server}.`);
  }

  busy(busy) {
    this.submit.disabled = busy;
    this.register.disabled = busy;
    this.replace.disabled = busy;
  }

  /** "Sign in here and end the other session": with the sign-in just refused, unless the
   * user typed another name or password since. */
  _takeOver() {
    const kept = this._replaceWith;
    const typedOther = this.password.value !== "" || this.user.value.trim() !== kept?.user;
    if (kept === null || typedOther) {
      this._go({ replace: true });
      return;
    }
    this._replaceWith = null;
    show(this.replace, false);
    this.app.signIn({ ...kept, register: false, replace: true });
  }

  _go({ register = false, replace = false }) {
    const user = this.user.value.trim();
    const password = this.password.value;
    if (!user || !password) {
      this.note.textContent = "Enter your username and password.";
      show(this.note, true);
      (user ? this.password : this.user).focus();
      return;
    }
    this.note.textContent = "";
    show(this.note, false);
    show(this.replace, false);
    this.app.signIn({ user, password, remember: this.remember.checked, register, replace });
  }
}
