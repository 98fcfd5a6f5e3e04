// Ctrl+K's list, pure: the conversations whose names hold what was typed (those starting with
// it first), and what else the words may mean: joining a room, writing to a user.

const ROOM_NAME = /^#[a-z0-9][a-z0-9_-]{0,31}$/; // chat/1 "Rooms"
const USER_NAME = /^[A-Za-z0-9_.-]{1,32}$/; // chat/1 "Transport and framing"

/** `entries`: [{id, label}] in the sidebar's order. Returns [{id, label, action}] with
 * action "open", "join" or "message", at most `max`. */
export function switcherChoices(query, entries, max = 8) {
  const typed = query.trim();
  const lower = typed.toLowerCase();
  const starts = [];
  const contains = [];
  for (const entry of entries) {
    const label = entry.label.toLowerCase();
    if (lower === "" || label.startsWith(lower) || label.slice(1).startsWith(lower)) {
      starts.push(entry);
    } else if (label.includes(lower)) {
      contains.push(entry);
    }
  }
  const choices = [...starts, ...contains].map((e) => ({ ...e, action: "open" }));
  const ids = new Set(entries.map((e) => e.id));
  const named = entries.some((e) => e.label.toLowerCase().replace(/^#/, "") === lower);
  const room = typed.startsWith("#") ? lower : null;
  if (room !== null && ROOM_NAME.test(room) && !ids.has(room)) {
    choices.push({ id: room, label: `Join ${room}`, action: "join" });
  } else if (room === null && USER_NAME.test(typed) && !named) {
    choices.push({ id: `@${typed}`, label: `Message ${typed}`, action: "message" });
  }
  return choices.slice(0, max);
}

/** A room name as a user may type it: "Lab" or "#Lab" is "#lab" (chat/1 lets a client
 * lower-case it), or null when it cannot be one. */
export function roomName(typed) {
  const name = typed.trim().toLowerCase();
  const withHash = name.startsWith("#") ? name : `#${name}`;
  return ROOM_NAME.test(withHash) ? withHash : null;
}

export function isUserName(typed) {
  return USER_NAME.test(typed);
}
