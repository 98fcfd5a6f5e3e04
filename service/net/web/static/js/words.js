// What the server's refusals and goodbyes mean, in sentences for the person at the page, pure.
// chat/1 says an error's `text` is meant to be shown as is; these add what the page knows
// better (the wait in words, what to do next).

import { duration, plural } from "./format.js";

/** A refused `login` or `register` as one sentence. */
export function loginRefusal(reply, user) {
  const error = reply?.error;
  if (error === "bad_credentials") {
    const left = reply.attempts_left;
    const tail = Number.isInteger(left)
      ? ` ${plural(left, "attempt")} left before the account locks.`
      : "";
    return `Wrong username or password.${tail}`;
  }
  if (error === "locked") {
    return `${user} is locked after too many wrong passwords. Try again in ${wait(reply)}.`;
  }
  if (error === "rate_limited") {
    return `Too many attempts from this address. Try again in ${wait(reply)}.`;
  }
  if (error === "online_elsewhere") {
    return `${user} is already signed in somewhere else.`;
  }
  return refusal(reply, "The server refused the sign-in.");
}

/** A refused request as a sentence: the server's own text, or a wait in words. */
export function refusal(reply, fallback = "The server refused.") {
  if (reply?.error === "rate_limited") {
    return `Too many requests: try again in ${wait(reply)}.`;
  }
  const text = typeof reply?.text === "string" ? reply.text : "";
  return text || reply?.error || fallback;
}

function wait(reply) {
  return duration(Number.isInteger(reply?.retry_after) ? reply.retry_after : 1);
}

// Why a session ended (the `bye` reasons of chat/1 and precise point 17), for the sign-in
// screen or the banner. Those without an entry show the server's text.
const BYE_WORDS = {
  logout: "You signed out.",
  timeout: "You were signed out after a while without activity.",
  shutdown: "The server is restarting.",
  slow_consumer: "The connection was too slow to keep up.",
  protocol_error: "The server ended the session after a message it could not read.",
  account_deleted: "Your account has been deleted.",
  kicked: "An operator ended your session (after a password change, sign in again).",
  replaced: "You signed in somewhere else, which ended this session.",
};

export function byeWords(bye) {
  return BYE_WORDS[bye?.reason] ?? bye?.text ?? "The connection ended.";
}

/** What a sent direct message's state shows, and the longer sentence for its tooltip. */
export const DM_STATES = {
  queued: ["waiting for the connection", "It goes out once the page is connected again."],
  sending: ["sending…", "The server has not confirmed it yet."],
  delivered: ["delivered", "They were online and got it."],
  stored: ["stored", "Kept for them until they sign in."],
  sent: ["sent", "The server has it."],
  failed: ["not sent", ""],
};
