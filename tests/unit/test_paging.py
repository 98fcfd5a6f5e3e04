"""The pure page-fitting of long lists (chat/1 precise point 18): service/wire/paging.py."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.wire import paging
from service.wire.codec import MAX_FRAME_BYTES, encode
from service.wire.errors import ok_reply

NAME = st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True)  # chat/1 usernames
LONGEST_ID = "i" * 900  # a client's id; its length is measured (paging.budget)
NAMES_BUDGET = paging.budget(LONGEST_ID, {"users": [], "online": [], "count": 1_000, "more": False})


def one(_: object) -> int:
    return 1


def test_a_page_holds_at_most_limit_and_says_more_when_entries_are_left() -> None:
    assert paging.fit(["a", "b", "c"], 2, 100, one) == paging.Page(["a", "b"], True)
    assert paging.fit(["a", "b"], 2, 100, one) == paging.Page(["a", "b"], False)
    assert paging.fit([], 2, 100, one) == paging.Page([], False)


def test_a_page_stops_before_the_entry_that_would_not_fit_and_says_more() -> None:
    sizes = {"a": 4, "b": 5, "c": 1}
    assert paging.fit(["a", "b", "c"], 10, 10, sizes.__getitem__) == paging.Page(
        ["a", "b", "c"], False
    )
    assert paging.fit(["a", "b", "c"], 10, 9, sizes.__getitem__) == paging.Page(["a", "b"], True)
    assert paging.fit(["a", "b", "c"], 10, 8, sizes.__getitem__) == paging.Page(["a"], True)


def test_fit_reads_one_entry_past_a_full_page_and_no_more() -> None:
    read: list[int] = []

    def entries() -> Any:
        for n in range(1_000_000):
            read.append(n)
            yield n

    assert paging.fit(entries(), 3, 100, one) == paging.Page([0, 1, 2], True)
    assert read == [0, 1, 2, 3]


def test_after_skips_names_up_to_and_including_the_cursor_bytewise() -> None:
    names = paging.by_name(["bob", "Zed", "alice", "_x", "carol"])
    assert names == ["Zed", "_x", "alice", "bob", "carol"]  # bytewise: Z < _ < a
    assert list(paging.after(names, None, paging.same)) == names
    assert list(paging.after(names, "alice", paging.same)) == ["bob", "carol"]
    assert list(paging.after(names, "b", paging.same)) == ["bob", "carol"]  # not a member
    assert list(paging.after(names, "zzz", paging.same)) == []


def test_name_bytes_is_what_the_name_adds_to_an_encoded_list() -> None:
    for names in (["a"], ["alice", "bob"], ["x" * 32] * 3, ['q"\\'], ["é€"]):
        listed = len(encode({"users": names})) - len(encode({"users": []}))
        assert listed == sum(paging.name_bytes(n) for n in names) - 1  # no comma after the last


def _names_reply(names: list[str], page: paging.Page[str], online: list[str]) -> bytes:
    fields = {"users": page.items, "online": online, "count": len(names), "more": page.more}
    return encode(ok_reply(LONGEST_ID, fields))


def test_a_thousand_longest_names_all_online_are_cut_to_fit_one_frame() -> None:
    """`members` with every name listed twice (`users` and `online`): 70 KB at limit 1,000."""
    names = paging.by_name(f"u{n:04d}{'x' * 27}" for n in range(1_000))

    def cost(name: str) -> int:
        return 2 * paging.name_bytes(name)

    page = paging.fit(names, 1_000, NAMES_BUDGET, cost)

    assert 800 < len(page.items) < 1_000 and page.more is True
    assert len(_names_reply(names, page, page.items)) <= MAX_FRAME_BYTES


@given(st.lists(NAME, unique=True, max_size=3_000), st.integers(1, 1_000), st.data())
def test_pages_of_any_names_fit_a_frame_and_together_list_every_name_once(
    raw: list[str], limit: int, data: st.DataObject
) -> None:
    names = paging.by_name(raw)
    online = set(
        data.draw(st.lists(st.sampled_from(names), max_size=3_000) if names else st.just([]))
    )

    def cost(name: str) -> int:
        return paging.name_bytes(name) * (2 if name in online else 1)

    listed: list[str] = []
    cursor: str | None = None
    while True:
        page = paging.fit(paging.after(names, cursor, paging.same), limit, NAMES_BUDGET, cost)
        shown = [n for n in page.items if n in online]
        assert len(_names_reply(names, page, shown)) <= MAX_FRAME_BYTES
        assert len(page.items) <= limit
        listed += page.items
        if not page.more:
            break
        assert page.items, "a page with more to come is never empty"
        cursor = page.items[-1]
    assert listed == names


def test_history_of_longest_multibyte_texts_keeps_the_newest_that_fit() -> None:
    lines = [
        {
            "seq": seq,
            "from": "x" * 32,
            "text": "\U0001f600" * 4_000,
            "sent_at": "2026-12-06T17:00:00.000Z",
        }
        for seq in range(100, 0, -1)
    ]  # newest first, 16 KB of text each

    budget = paging.budget(LONGEST_ID, {"messages": [], "more": False})
    page = paging.fit(lines, 100, budget, lambda e: len(encode(e)))

    assert [e["seq"] for e in page.items] == [100, 99, 98, 97] and page.more is True
    reply = ok_reply(LONGEST_ID, {"messages": page.items[::-1], "more": page.more})
    assert len(encode(reply)) <= MAX_FRAME_BYTES


def test_the_budget_is_the_frame_less_the_reply_with_the_clients_own_id() -> None:
    """`re` echoes the client's id, which may be most of a frame: it is measured."""
    huge = "\U0001f600" * 11_667 + "i" * 18_333  # 30,000 characters, 65,001 bytes of UTF-8
    names = [f"u{n:04d}{'x' * 27}" for n in range(1_000)]
    for request_id in (None, 7, LONGEST_ID, huge):
        budget = paging.budget(request_id, {"users": [], "more": False})
        page = paging.fit(names, 1_000, budget, paging.name_bytes)
        reply = encode(ok_reply(request_id, {"users": page.items, "more": page.more}))
        assert len(reply) <= MAX_FRAME_BYTES
        if page.more:  # cut by the frame, not by the limit: one more name would not fit
            assert MAX_FRAME_BYTES - len(reply) < paging.name_bytes(names[0]) + 2  # no waste
    assert 0 < len(paging.fit(names, 1_000, paging.budget(huge, {}), paging.name_bytes).items) < 20
    assert paging.budget("i" * MAX_FRAME_BYTES, {"users": [], "more": False}) < 0
    assert paging.fit(names, 1_000, -1, paging.name_bytes) == paging.Page([], True)
