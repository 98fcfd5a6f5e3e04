// Where a reload lands: the conversation that was open, kept in this tab's sessionStorage as
// {user, id} (another user signing in on the tab starts from the list). Nothing secret.

const OPEN_CONVERSATION = "parley.open";

export function saveOpenConversation(user, id) {
  try {
    sessionStorage.setItem(OPEN_CONVERSATION, JSON.stringify({ user, id }));
  } catch {
    // storage refused: a reload starts from the list
  }
}

/** The conversation id `user` had open in this tab, or null. */
export function loadOpenConversation(user) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(OPEN_CONVERSATION) ?? "null");
    if (saved?.user === user && typeof saved.id === "string") return saved.id;
  } catch {
    // unreadable: start from the list
  }
  return null;
}
