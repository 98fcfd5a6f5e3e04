// The page's text and time helpers (service/net/web/static/js/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, dayLabel, duration, linkify, safeHref } from "../../service/net/web/static/js/format.js";

test("plain text is one run, untouched, markup included", () => {
  const text = '<img src=x onerror="alert(1)"> & <b>bold</b>';
  assert.deepEqual(linkify(text), [{ text }]);
});

test("http, https and mailto links become links; the sentence keeps its punctuation", () => {
  assert.deepEqual(linkify("see https://example.org/a?b=1, then http://x.org."), [
    { text: "see " },
    { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" },
    { text: ", then " },
    { text: "http://x.org", href: "http://x.org/" },
    { text: "." },
  ]);
  assert.deepEqual(linkify("mail mailto:bob@example.org!"), [
    { text: "mail " },
    { text: "mailto:bob@example.org", href: "mailto:bob@example.org" },
    { text: "!" },
  ]);
});

test("a closing parenthesis is the link's only when it opened one", () => {
  assert.deepEqual(linkify("(see https://en.wikipedia.org/wiki/Foo_(bar))").map((r) => r.text), [
    "(see ", "https://en.wikipedia.org/wiki/Foo_(bar)", ")",
  ]);
});

test("no other scheme is ever a link", () => {
  for (const text of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x",
    "vbscript:x", "file:///etc/passwd", "xhttps://evil.org", "https://", "mailto:"]) {
    assert.ok(linkify(text).every((run) => run.href === undefined), text);
  }
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref("https://ok.example/"), "https://ok.example/");
});

test("a link whose text hides a quote or bracket ends there", () => {
  const runs = linkify('https://a.example/"onmouseover="x');
  assert.equal(runs[0].href, "https://a.example/");
  assert.equal(runs[1].text, '"onmouseover="x');
});

test("times show in the reader's zone: the time today, the weekday this week, the date before", () => {
  const now = new Date("2026-11-24T23:30:00Z");
  const tokyo = { locale: "en-GB", timeZone: "Asia/Tokyo" }; // already the 25th there
  assert.equal(clock("2026-11-24T23:12:25.123Z", now, { locale: "en-GB", timeZone: "UTC" }), "23:12");
  assert.equal(clock("2026-11-24T23:12:25.123Z", now, tokyo), "08:12");
  assert.equal(clock("2026-11-22T10:00:00Z", now, { locale: "en-GB", timeZone: "UTC" }), "Sun 10:00");
  assert.match(clock("2026-03-02T10:00:00Z", now, { locale: "en-GB", timeZone: "UTC" }), /^2 Mar,? 10:00$/);
  assert.match(clock("2025-03-02T10:00:00Z", now, { locale: "en-GB", timeZone: "UTC" }), /2025/);
  assert.equal(clock("not a time", now), "");
});

test("days are named from the reader's calendar", () => {
  const now = new Date("2026-11-24T23:30:00Z");
  const utc = { locale: "en-GB", timeZone: "UTC" };
  assert.equal(dayLabel("2026-11-24T01:00:00Z", now, utc), "Today");
  assert.equal(dayLabel("2026-11-23T23:59:00Z", now, utc), "Yesterday");
  assert.equal(dayLabel("2026-11-24T14:00:00Z", now, { locale: "en-GB", timeZone: "Asia/Tokyo" }), "Yesterday");
  assert.match(dayLabel("2026-11-01T10:00:00Z", now, utc), /Sunday,? 1 November 2026/);
});

test("waits read as people say them", () => {
  assert.equal(duration(1), "1 second");
  assert.equal(duration(0.2), "1 second");
  assert.equal(duration(45), "45 seconds");
  assert.equal(duration(600), "10 minutes");
});
