"""The network edge: the one thread that owns every socket (reactor.py), a chat/1 TCP
connection as an adapter over the session engine (connection.py), bounded output (outbox.py),
live events and the paced backlog at login (delivery.py), and TLS (tls.py). A WebSocket or IRC
adapter belongs here, beside connection.py, on the same engine.
"""

from service.net.connection import Connection, Runtime
from service.net.reactor import Reactor
from service.net.tls import server_context

__all__ = [
    "Connection",
    "Reactor",
    "Runtime",
    "server_context",
]
