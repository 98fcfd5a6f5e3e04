// Messages typed but not yet answered by the server, kept in this origin's localStorage so a
// reload, a crash or a closed tab loses none of them: at the next sign-in of the same user
// here they go out again with the nonce they were first sent with, and the server stores each
// once (chat/1 precise point 11). Nonces are remembered for at least 24 hours, so a message
// older than that is not resent on its own (it might be stored twice): it is shown as maybe
// not sent, for the user to check and send again, for up to a week; then it is dropped, so
// texts do not stay in a browser for good. Pure: the storage and the clock are passed in.
//
// An entry: { nonce, id (the conversation: "#room" or "@name"), text, at (ISO time typed) }.

export const RESEND_WITHIN_MS = 24 * 60 * 60 * 1000; // chat/1: nonces live at least 24 h
export const OFFER_WITHIN_MS = 7 * RESEND_WITHIN_MS; // then offered to send again, a week

const KEY_PREFIX = "parley.unsent.";
const NO_STORAGE = { getItem: () => null, setItem: () => {}, removeItem: () => {} };

/** This origin's localStorage, or a storage that keeps nothing where the browser refuses it
 * (blocked site data throws on the mere access): sending must not depend on it. */
export function pageStorage() {
  try {
    return globalThis.localStorage ?? NO_STORAGE;
  } catch {
    return NO_STORAGE;
  }
}

function key(user) {
  return KEY_PREFIX + user;
}

function read(storage, user) {
  try {
    const entries = JSON.parse(storage.getItem(key(user)) ?? "[]");
    return Array.isArray(entries) ? entries.filter(isEntry) : [];
  } catch {
    return []; // unreadable (edited by hand, or storage refused): nothing to resend
  }
}

function write(storage, user, entries) {
  try {
    if (entries.length === 0) storage.removeItem(key(user));
    else storage.setItem(key(user), JSON.stringify(entries));
  } catch {
    // full or disabled: the message still goes out from this page, it only will not survive it
  }
}

function isEntry(entry) {
  return entry !== null && typeof entry === "object" && typeof entry.nonce === "string" &&
    typeof entry.id === "string" && typeof entry.text === "string" &&
    typeof entry.at === "string" && !Number.isNaN(Date.parse(entry.at));
}

/** Keep `entry` until the server answers it. */
export function rememberUnsent(storage, user, entry) {
  const entries = read(storage, user).filter((e) => e.nonce !== entry.nonce);
  entries.push(entry);
  write(storage, user, entries);
}

/** The server answered the message with this nonce (stored it, or refused it). */
export function forgetUnsent(storage, user, nonce) {
  const entries = read(storage, user);
  const left = entries.filter((e) => e.nonce !== nonce);
  if (left.length !== entries.length) write(storage, user, left);
}

/** Everything `user` left unanswered here, oldest first: `resend` (with their nonces) and
 * `stale` (typed over RESEND_WITHIN_MS ago: to be offered to send again, and kept until it is
 * or OFFER_WITHIN_MS have passed). Older entries are dropped. */
export function takeUnsent(storage, user, nowMs) {
  const entries = read(storage, user);
  const age = (e) => nowMs - Date.parse(e.at);
  const kept = entries.filter((e) => age(e) < OFFER_WITHIN_MS);
  if (kept.length !== entries.length) write(storage, user, kept);
  return {
    resend: kept.filter((e) => age(e) < RESEND_WITHIN_MS),
    stale: kept.filter((e) => age(e) >= RESEND_WITHIN_MS),
  };
}

/** The user signed out (or the account is gone): nothing typed here stays behind. */
export function clearUnsent(storage, user) {
  write(storage, user, []);
}
