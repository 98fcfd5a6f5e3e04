"""chat-admin's view of the database: accounts, lockouts, login history, blocks and rooms
as an operator manages them. The server never imports it; cli/admin.py renders it.
"""

from service.admin.accounts import AccountError

__all__ = [
    "AccountError",
]
