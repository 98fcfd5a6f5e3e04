"""The network edge: the one thread that owns every socket (reactor.py), a session over some
wire (adapter.py, with its worker side in serial.py and its socket in socket_side.py), chat/1
over TCP as one adapter (connection.py) and over WebSocket as another (web/), bounded output
(outbox.py), live events and the paced backlog at login (delivery.py), and TLS (tls.py). An
IRC adapter would belong here too, on the same engine.
"""

from service.net.adapter import SessionAdapter
from service.net.connection import Connection
from service.net.reactor import Reactor
from service.net.runtime import Runtime
from service.net.tls import server_context

__all__ = [
    "Connection",
    "Reactor",
    "Runtime",
    "SessionAdapter",
    "server_context",
]
