// When to warn that the idle timeout is near, pure. chat/1 ends a session that sends nothing
// but `ping` and `ack` for its timeout; the login reply says how long (`idle_timeout`, one of
// Parley's choices). The page warns a little before, and "I'm here" sends `active`.

export const ACTIVE_EVERY_MS = 10_000; // chat/1 precise point 15: `active` at most this often

/** Seconds before the end when the warning shows: a minute, less on a short timeout. */
export function warnBeforeS(timeoutS) {
  return Math.min(60, Math.max(1, Math.floor(timeoutS / 4)));
}

/** Where the session stands at `nowMs`, the last activity at `lastMs`: `warn` (show the
 * warning), `secondsLeft`, and `checkInMs` (when the answer next changes). */
export function idleState(lastMs, timeoutS, nowMs) {
  const endMs = lastMs + timeoutS * 1000;
  const warnAtMs = endMs - warnBeforeS(timeoutS) * 1000;
  const secondsLeft = Math.max(0, Math.ceil((endMs - nowMs) / 1000));
  if (nowMs < warnAtMs) {
    return { warn: false, secondsLeft, checkInMs: warnAtMs - nowMs };
  }
  return { warn: true, secondsLeft, checkInMs: 1000 };
}

/** Whether the user's doing something the server does not see is worth an `active` now. */
export function shouldSendActive(lastMs, nowMs) {
  return nowMs - lastMs >= ACTIVE_EVERY_MS;
}
