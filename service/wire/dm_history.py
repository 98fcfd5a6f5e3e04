"""The rules of chat/1's direct-message history (feature `dm_history`), pure: its limits.

What the record holds lives in the store (service/store/dm_record.py); what `dm_history` and
`conversations` answer, in service/core/handlers/conversations.py.
"""

from __future__ import annotations

FEATURE = "dm_history"  # the word `hello` lists in `features` for this part of chat/1

DM_HISTORY_DEFAULT = 50  # `dm_history` without `limit`
DM_HISTORY_MAX = 100  # `dm_history` limit range is 1..DM_HISTORY_MAX; outside it bad_request
CONVERSATIONS_MAX = 200  # `conversations` lists at most this many partners, the newest


def is_valid_dm_history_limit(limit: int) -> bool:
    return 1 <= limit <= DM_HISTORY_MAX
