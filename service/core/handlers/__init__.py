"""What each serial request does, by domain: accounts.py (login to logout), people.py
(whoelse, broadcast), blocking.py, rooms.py, private.py; dispatch.py holds the table."""
