// Paged lists (service/net/web/static/js/pager.js): whoelse, members and rooms come in pages.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Pager } from "../../service/net/web/static/js/pager.js";

test("pages go on after the last name, one at a time, until the server says no more", () => {
  const pager = new Pager(2, (item) => item.room);
  assert.deepEqual(pager.next(), { limit: 2 });
  assert.equal(pager.next(), null); // one page at a time
  pager.accept([{ room: "#a" }, { room: "#b" }], true);
  assert.deepEqual(pager.next(), { limit: 2, after: "#b" });
  pager.accept([{ room: "#b" }, { room: "#c" }], false);
  assert.deepEqual(pager.items.map((i) => i.room), ["#a", "#b", "#c"]);
  assert.equal(pager.next(), null);
});

test("a page that failed may be asked again; an empty page ends the list", () => {
  const pager = new Pager(10);
  pager.next();
  pager.failed();
  assert.deepEqual(pager.next(), { limit: 10 });
  pager.accept([], true);
  assert.equal(pager.more, false);
});
