// A placeholder for the web client: it opens the chat/1 WebSocket of the page's own server
// and shows the server's `hello`, as text (never as HTML). The next release replaces it.
const status = document.getElementById("status");
const hello = document.getElementById("hello");
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(`${scheme}//${location.host}/chat`);

socket.addEventListener("message", (event) => {
  let frame;
  try {
    frame = JSON.parse(event.data);
  } catch {
    return;
  }
  if (frame.ev === "hello") {
    status.textContent = "Connected: the server said hello.";
    hello.textContent = JSON.stringify(frame, null, 2);
    socket.close(1000, "only saying hello");
  }
});
socket.addEventListener("error", () => {
  status.textContent = "Could not reach the server's WebSocket.";
});
