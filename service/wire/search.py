"""The rules of chat/1 search (feature `search`), pure: what a query's words are, its limits,
and how the words become a full-text query that cannot carry any syntax of its own.

chat/1: a message matches when every word of `query` appears in its text as a word, ignoring
case and diacritics, the last word also as a prefix. Words are runs of letters and digits.
The folding of case and diacritics is the database's (SQLite FTS5's `unicode61` tokenizer,
PostgreSQL's `unaccent` and `simple` configuration: service/store/search.py and migration
0007): here a query is only cut into words, and each word is quoted whole, so `AND`, `NEAR`,
`"`, `*`, `-` or `col:` in a query are words or separators, never operators.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

FEATURE = "search"  # the word `hello` lists in `features` for this part of chat/1

QUERY_MAX_CHARS = 200  # chat/1: `query` is 1 to 200 code points
LIMIT_DEFAULT = 20  # `search` without `limit`
LIMIT_MAX = 50  # `limit` range is 1..LIMIT_MAX; outside it bad_request

# What SQLite's FTS5 tokenizer is told (migration 0007 creates the tables with it): letters
# (L*) and digits (N*) make words, as in `words` below; combining marks (Mn) stay inside a word
# so a decomposed `café` (e + U+0301) is one word, and `remove_diacritics 2` folds them away.
# Everything else (`_`, `-`, `'`, `.`, spaces, symbols) separates words.
FTS5_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Mn'"


def is_valid_limit(limit: int) -> bool:
    return 1 <= limit <= LIMIT_MAX


def is_valid_query(query: str) -> bool:
    """1 to QUERY_MAX_CHARS code points (a query without words is judged later, by `words`)."""
    return 1 <= len(query) <= QUERY_MAX_CHARS


def _is_word_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LN"


def words(text: str) -> list[str]:
    """The words of `text` in order: runs of letters and digits (Unicode categories L* and
    N*), a combining mark (Mn) belonging to the word it follows. As the FTS5 tokenizer cuts
    text (FTS5_TOKENIZER), so a quoted word is one token there."""
    found: list[str] = []
    current: list[str] = []
    for char in text:
        if _is_word_char(char) or (current and unicodedata.category(char) == "Mn"):
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def fts5_string(word: str) -> str:
    """`word` as an FTS5 string: in double quotes, a double quote inside doubled. A quoted
    string is never an operator (`AND`, `NEAR`) nor a column name."""
    return '"' + word.replace('"', '""') + '"'


def fts5_match(
    query_words: Sequence[str], column: str, last_terms: Sequence[str] | None = None
) -> str:
    """The FTS5 expression for chat/1's rule, restricted to `column` (a name of ours, never
    the caller's): every word, the last one also as a prefix (`"sched"*`), or, given
    `last_terms` (every indexed term that begins with the last word: fts5_prefix_range), as
    those terms (`("sched" OR "schedule")`). Both match the same rows; FTS5 reads the second
    lazily, newest first, where it gathers the whole of the first before the LIMIT applies."""
    assert query_words, "a query without words is bad_request before it gets here"
    *head, last = query_words
    if last_terms:
        last_term = "(" + " OR ".join(fts5_string(t) for t in last_terms) + ")"
    else:
        last_term = fts5_string(last) + "*"
    terms = [fts5_string(w) for w in head] + [last_term]
    return f"{{{column}}} : (" + " AND ".join(terms) + ")"


SHORTEST_LISTED_PREFIX = 3  # shorter last words: FTS5's prefix indexes (1 and 2) answer them


def fts5_prefix_range(word: str) -> tuple[str, str] | None:
    """The range of indexed terms, [low, high), that begin with `word` and are longer than it,
    or None where the plain prefix query is the one to run: a word of one or two characters
    (the prefix indexes hold those), or one with any character outside ASCII (the tokenizer
    folds those, and this could not fold them as it does). ASCII letters and digits are
    folded to lower case only. No term holds U+0001, so `low` skips the word itself."""
    if len(word) < SHORTEST_LISTED_PREFIX or not word.isascii():
        return None
    folded = word.lower()
    return folded + "\x01", folded[:-1] + chr(ord(folded[-1]) + 1)


def fts5_any_of(values: Sequence[int], column: str) -> str:
    """An FTS5 expression matching rows whose `column` holds one of `values` (ids of ours,
    indexed as digits)."""
    assert values, "no ids: the caller asks nothing"
    return f"{{{column}}} : (" + " OR ".join(f'"{int(v):d}"' for v in values) + ")"
