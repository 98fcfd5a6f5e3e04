// After a session ends without its user asking: whether to sign in again, and when. Pure: the
// page's socket edge applies it with real timers and randomness. The same policy as
// chat-client's (cli/client/reconnect.py), in milliseconds, starting sooner: a page shows its
// state instead of printing lines.

export const FIRST_DELAY_MS = 500; // a restarting server is usually back within a second
export const MAX_DELAY_MS = 30_000; // however long it is away, it is tried at least this often
export const JITTER_FRACTION = 0.5; // each delay is drawn from [ceiling * (1 - this), ceiling]

export const After = Object.freeze({
  RECONNECT: "reconnect", // sign in again on its own, with backoff
  ASK: "ask", // show the sign-in screen with the reason; one click signs in again
  END: "end", // the user or an operator decided: the sign-in screen, with the reason
});

const AFTER_BYE = {
  shutdown: After.RECONNECT,
  slow_consumer: After.RECONNECT,
  timeout: After.ASK, // nobody may be at the screen: coming back would defeat the timeout
  logout: After.END,
  account_deleted: After.END,
  kicked: After.END,
  replaced: After.END,
  protocol_error: After.END,
};

/** What follows a session that ended with `byeReason` (null: the connection dropped without
 * a word); `loggedOut` when the user asked for the end. */
export function afterEnd(byeReason, loggedOut) {
  if (loggedOut) return After.END;
  if (byeReason === null || byeReason === undefined) return After.RECONNECT;
  return AFTER_BYE[byeReason] ?? After.ASK;
}

/** Milliseconds before attempt `attempt` (0 first), given `random` in [0, 1). */
export function delayMs(attempt, random) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 32));
  return Math.round(ceiling * (1 - JITTER_FRACTION * random));
}
