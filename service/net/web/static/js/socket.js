// The WebSocket edge: opens the page's own chat/1 endpoint, feeds ChatLink what arrives and
// writes what it hands back, and waits between attempts with a real timer. Everything that
// decides (what to send, when to try again) is in protocol.js and reconnect.js.

export class Socket {
  /** `handlers`: {events(list), closed()}. */
  constructor(url, link, handlers) {
    this.url = url;
    this.link = link;
    this.retryAt = null; // when the next attempt starts (ms), while one is waiting
    this._handlers = handlers;
    this._socket = null;
    this._timer = null;
    this._flushQueued = false;
  }

  get open() {
    return this._socket !== null;
  }

  connect() {
    this._cancelRetry();
    if (this._socket !== null) return;
    const socket = new WebSocket(this.url);
    this._socket = socket;
    socket.addEventListener("open", () => {
      this.link.opened();
      this.flush();
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      const events = this.link.received(event.data);
      if (events.length > 0) this._handlers.events(events);
      this.flush();
    });
    socket.addEventListener("close", () => {
      if (this._socket !== socket) return;
      this._socket = null;
      this.link.closed();
      this._handlers.closed();
    });
  }

  /** Write what the link has to send (soon: several requests made together go out together). */
  flushSoon() {
    if (this._flushQueued) return;
    this._flushQueued = true;
    queueMicrotask(() => {
      this._flushQueued = false;
      this.flush();
    });
  }

  flush() {
    const socket = this._socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    for (const frame of this.link.take()) socket.send(frame);
  }

  retryIn(ms) {
    this._cancelRetry();
    this.retryAt = Date.now() + ms;
    this._timer = setTimeout(() => this.connect(), ms);
  }

  close() {
    this._cancelRetry();
    this._socket?.close(1000);
  }

  _cancelRetry() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    this.retryAt = null;
  }
}
