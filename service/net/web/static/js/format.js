// Text and time for people, pure (no DOM): a message's text cut into plain runs and links,
// times in the reader's own zone, waits in words. The views turn these pieces into nodes,
// always as text: nothing here is ever parsed as HTML.

const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]); // anything else stays text
// A link starts with one of those schemes at a word's start; it ends at a space, or at a
// character no one types inside a link in a chat (quotes and angle brackets).
const LINK_CANDIDATE = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"\]]$/; // punctuation after a link belongs to the sentence

/** `text` as runs: `{text}` for plain text and `{text, href}` for a link to open. */
export function linkify(text) {
  const runs = [];
  let at = 0;
  for (const match of text.matchAll(LINK_CANDIDATE)) {
    const candidate = trimLink(match[0]);
    const href = safeHref(candidate);
    if (href === null) continue;
    if (match.index > at) runs.push({ text: text.slice(at, match.index) });
    runs.push({ text: candidate, href });
    at = match.index + candidate.length;
  }
  if (at < text.length) runs.push({ text: text.slice(at) });
  return runs;
}

function trimLink(candidate) {
  let link = candidate;
  for (;;) {
    if (TRAILING.test(link)) {
      link = link.slice(0, -1);
    } else if (link.endsWith(")") && count(link, "(") < count(link, ")")) {
      link = link.slice(0, -1); // "(see https://x.org/a)": the parenthesis is the sentence's
    } else {
      return link;
    }
  }
}

function count(text, char) {
  return text.split(char).length - 1;
}

/** The URL to put in an <a href>, or null when `candidate` is not a link we open. */
export function safeHref(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (!LINK_SCHEMES.has(url.protocol)) return null;
  if (url.protocol !== "mailto:" && !url.hostname) return null;
  if (url.protocol === "mailto:" && url.pathname.length === 0) return null;
  return url.href;
}

// ---- time -------------------------------------------------------------------------------------

/** A chat/1 time (RFC 3339, UTC) as a Date, or null when it is not one. */
export function parseTime(iso) {
  if (typeof iso !== "string") return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The reader's calendar day of `date`, "2026-11-24", in `timeZone` (undefined: the
 * browser's own). */
export function localDay(date, timeZone) {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit",
  }).format(date);
}

/** What a message shows as its time: "14:05" today, "Mon 14:05" this week, "3 Mar 14:05"
 * before, with the year when it is not this one. */
export function clock(iso, now, { locale, timeZone } = {}) {
  const date = parseTime(iso);
  if (date === null) return "";
  const time = { hour: "2-digit", minute: "2-digit", timeZone };
  const days = daysBetween(date, now, timeZone);
  let options = time;
  if (days >= 1 && days < 6) {
    options = { ...time, weekday: "short" };
  } else if (days !== 0) {
    const sameYear = localDay(date, timeZone).slice(0, 4) === localDay(now, timeZone).slice(0, 4);
    options = { ...time, day: "numeric", month: "short", year: sameYear ? undefined : "numeric" };
  }
  return new Intl.DateTimeFormat(locale, options).format(date);
}

/** The full local date and time, for a tooltip. */
export function fullTime(iso, { locale, timeZone } = {}) {
  const date = parseTime(iso);
  if (date === null) return "";
  return new Intl.DateTimeFormat(locale, {
    dateStyle: "full", timeStyle: "medium", timeZone,
  }).format(date);
}

/** "Today", "Yesterday" or the date, for the line between two days of a conversation. */
export function dayLabel(iso, now, { locale, timeZone } = {}) {
  const date = parseTime(iso);
  if (date === null) return "";
  const days = daysBetween(date, now, timeZone);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  return new Intl.DateTimeFormat(locale, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone,
  }).format(date);
}

/** Whole calendar days from `date` to `now` in `timeZone` (0: the same day). */
function daysBetween(date, now, timeZone) {
  const start = Date.parse(localDay(date, timeZone));
  const end = Date.parse(localDay(now, timeZone));
  return Math.round((end - start) / 86_400_000);
}

// ---- words ------------------------------------------------------------------------------------

export function plural(n, word) {
  return n === 1 ? `${n} ${word}` : `${n} ${word}s`;
}

/** A wait in words: "45 seconds", "3 minutes" (as the terminal client says it). */
export function duration(seconds) {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 90) return plural(whole, "second");
  return plural(Math.ceil(whole / 60), "minute");
}
