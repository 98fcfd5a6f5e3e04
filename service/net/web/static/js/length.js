// How long a message may be, pure. chat/1 caps text at 4,000 characters counted in code
// points (precise point 3); a server may lower it, never raise it. The page checks the cap
// before sending, so an over-long message stays in the composer to be cut, and shows a
// counter as it comes near.

export const MAX_TEXT_CHARS = 4000; // chat/1 "Transport and framing", in code points
const COUNTER_FROM = 0.9; // the counter shows from this share of the limit

/** The length chat/1 counts: code points, so an emoji is one, not two UTF-16 units. */
export function codePoints(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Why `text` cannot be sent (a sentence), or null when it fits. */
export function lengthProblem(text, limit = MAX_TEXT_CHARS) {
  const length = codePoints(text);
  if (length <= limit) return null;
  return `A message may be at most ${number(limit)} characters; this one has ${number(length)}.`;
}

/** "3,990 / 4,000" once `text` is near the limit or over it; null before. */
export function lengthCounter(text, limit = MAX_TEXT_CHARS) {
  const length = codePoints(text);
  return length >= limit * COUNTER_FROM ? `${number(length)} / ${number(limit)}` : null;
}

function number(n) {
  return n.toLocaleString("en-US");
}
