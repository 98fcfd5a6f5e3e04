"""The web port: the web client's files over HTTP, and chat/1 over WebSocket on /chat.

site.py says what each request gets (pure); exchange.py carries HTTP/1.1 through h11 until an
upgrade; websocket.py is the second wire adapter on the session core, reading through wsproto
(plain_text.py reads the common case past it); frames.py and outbox.py frame what the server
sends. static/ holds the files served.
"""

from service.net.web.site import Site, load_assets
from service.net.web.websocket import WebSocketConnection

__all__ = ["Site", "WebSocketConnection", "load_assets"]
