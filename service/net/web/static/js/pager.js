// A long list the server sends in pages (chat/1 precise point 18: `whoelse`, `members`,
// `rooms` take `after` and `limit` and answer `more`), pure: which page to ask for next, and
// the list so far. The view asks for the next page when its end scrolls into sight.

export class Pager {
  /** `keyOf(item)`: the name a page goes on `after`. */
  constructor(limit, keyOf = (item) => item) {
    this.limit = limit;
    this.items = [];
    this.more = true; // the server has more after the last item (true until a page says)
    this.loading = false;
    this._keyOf = keyOf;
    this._keys = new Set();
  }

  /** The fields of the next page's request, or null when nothing is to be asked (all of it
   * is here, or a page is on its way). Marks the page as on its way. */
  next() {
    if (!this.more || this.loading) return null;
    this.loading = true;
    const fields = { limit: this.limit };
    if (this.items.length > 0) fields.after = this._keyOf(this.items.at(-1));
    return fields;
  }

  /** The page came: its items (already sorted by the server) and its `more`. */
  accept(items, more) {
    for (const item of items) {
      const key = this._keyOf(item);
      if (this._keys.has(key)) continue;
      this._keys.add(key);
      this.items.push(item);
    }
    // A page with nothing new cannot move `after`: stop rather than ask for it forever.
    this.more = more === true && items.length > 0;
    this.loading = false;
  }

  /** The page did not come (refused, or the link dropped): it may be asked again. */
  failed() {
    this.loading = false;
  }
}
