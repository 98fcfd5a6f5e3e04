// The line under the top bar that says how the link is (reconnecting, and when), and the idle
// warning with its "I'm here".

import { LinkState } from "../protocol.js";
import { byId, show } from "./dom.js";

export class Banner {
  constructor(app) {
    this.app = app;
    this.link = byId("link-status");
    this.linkText = byId("link-text");
    this.retry = byId("link-retry");
    this.idleBox = byId("idle-warning");
    this.idleText = byId("idle-text");
    this.stay = byId("idle-stay");
  }

  bind() {
    this.retry.addEventListener("click", () => this.app.reconnectNow());
    this.stay.addEventListener("click", () => this.app.stayActive());
  }

  render() {
    const { link, socket } = this.app;
    let text = "";
    let offerRetry = false;
    if (link.state === LinkState.OFFLINE && socket.retryAt !== null) {
      const seconds = Math.max(0, Math.ceil((socket.retryAt - Date.now()) / 1000));
      text = seconds > 0
        ? `Connection lost. Reconnecting in ${seconds} s…`
        : "Connection lost. Reconnecting…";
      offerRetry = seconds > 0;
    } else if (link.state !== LinkState.READY) {
      text = "Reconnecting…";
    }
    const waiting = link.unanswered;
    if (text && waiting > 0) {
      text += ` ${waiting === 1 ? "1 message waits" : `${waiting} messages wait`} to go out.`;
    }
    this.linkText.textContent = text;
    show(this.link, text !== "");
    show(this.retry, offerRetry);
    document.body.classList.toggle("offline", text !== "");
  }

  /** `secondsLeft`: show the warning; null: hide it. */
  idle(secondsLeft) {
    show(this.idleBox, secondsLeft !== null);
    if (secondsLeft !== null) {
      this.idleText.textContent =
        `You will be signed out in ${secondsLeft} s for inactivity.`;
    }
  }
}
