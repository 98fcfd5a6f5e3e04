// Ctrl+K's choices (service/net/web/static/js/switcher.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { isUserName, roomName, switcherChoices } from "../../service/net/web/static/js/switcher.js";

const ENTRIES = [
  { id: "#lab", label: "#lab" }, { id: "@bob", label: "bob" }, { id: "#global", label: "#global" },
];

test("names starting with what was typed come first, then those holding it", () => {
  assert.deepEqual(switcherChoices("lab", ENTRIES).map((c) => c.id), ["#lab"]);
  assert.deepEqual(switcherChoices("b", ENTRIES).map((c) => c.id), ["@bob", "#lab", "#global", "@b"]);
  assert.deepEqual(switcherChoices("", ENTRIES).map((c) => c.id), ["#lab", "@bob", "#global"]);
});

test("a new room name offers to join it, a new user name to write to them", () => {
  assert.deepEqual(switcherChoices("#new", ENTRIES).at(-1), { id: "#new", label: "Join #new", action: "join" });
  assert.deepEqual(switcherChoices("carol", ENTRIES).at(-1), { id: "@carol", label: "Message carol", action: "message" });
  assert.equal(switcherChoices("#Bad Name!", ENTRIES).length, 0);
});

test("room names are lower-cased and get their #; user names are checked", () => {
  assert.equal(roomName("Lab"), "#lab");
  assert.equal(roomName("#cs101-lab"), "#cs101-lab");
  assert.equal(roomName("no spaces"), null);
  assert.equal(isUserName("bob.smith"), true);
  assert.equal(isUserName("bob smith"), false);
});
