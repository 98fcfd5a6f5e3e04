"""Opening the connection to the server, and opening it again after it ended.

`Dialer.link()` connects (off the event loop: it may take CONNECT_TIMEOUT_S), waits for the
server's `hello`, and from then on hands the connection's events to a queue on the loop. It is
the client's one way to connect, for the login, a login after the server closed an idle
connection, and a reconnect; `Link.connect` is the one place a socket is opened.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from cli.client.link import Incoming, Link, LinkClosed

HELLO_TIMEOUT_S = 10.0  # a chat/1 server greets at once; silence means it is something else

T = TypeVar("T")


def on_loop(loop: asyncio.AbstractEventLoop, handler: Callable[[T], None]) -> Callable[[T], None]:
    """Wrap `handler` so that calling it from any thread runs it on `loop`."""

    def call(item: T) -> None:
        loop.call_soon_threadsafe(handler, item)

    return call


class Dialer:
    """The connection to the server: opened when first needed, and again once it has ended.
    `incoming` is the current connection's queue of events (then one LinkClosed)."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.signup = False
        self.features: frozenset[str] = frozenset()  # the optional parts of chat/1 it has
        self.incoming: asyncio.Queue[Incoming] = asyncio.Queue()
        self._link: Link | None = None

    async def link(self) -> Link:
        if self._link is not None and not self._link.closed:
            return self._link
        self.close()
        loop = asyncio.get_running_loop()
        incoming: asyncio.Queue[Incoming] = asyncio.Queue()
        where = f"{self.host} port {self.port}"
        try:  # off the loop: connecting may take CONNECT_TIMEOUT_S
            link = await asyncio.to_thread(
                Link.connect, self.host, self.port, on_loop(loop, incoming.put_nowait), self.tls
            )
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionError(_untrusted(self.host, where, exc)) from exc
        except ssl.SSLError as exc:
            raise ConnectionError(
                f"Could not talk TLS with {where} ({exc.reason or exc}); is it a TLS server?"
            ) from exc
        except OSError as exc:
            raise ConnectionError(f"Could not connect to {where}: {exc.strerror or exc}.") from exc
        hello = await _wait_hello(incoming)
        if hello is None:
            link.close()
            hint = "" if self.tls else " (if it uses TLS, add --tls)"
            raise ConnectionError(f"{where} is not answering as a chat/1 server{hint}.")
        self._link, self.incoming, self.signup = link, incoming, hello.get("signup") is True
        self.features = _features(hello.get("features"))
        return link

    @property
    def current(self) -> Link:
        """The connection the last login went over (it may have ended since)."""
        assert self._link is not None, "connected by the login"
        return self._link

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH: the certificate
# may be trusted, but it is for another name, which no --ca-file changes.
_NAME_MISMATCH_CODES = frozenset({62, 64})


def _untrusted(host: str, where: str, exc: ssl.SSLCertVerificationError) -> str:
    """Why the certificate was refused, and the remedy that fits that reason."""
    if exc.verify_code in _NAME_MISMATCH_CODES:
        return (
            f"{where}: the server's certificate is not for {host} ({exc.verify_message}). "
            f"Connect with a name the certificate is for, or the server needs a certificate "
            f"for {host}."
        )
    return (
        f"{where}: the server's certificate is not trusted ({exc.verify_message}); "
        "--ca-file FILE names a CA to trust."
    )


def _features(value: object) -> frozenset[str]:
    """hello's `features`: a list of words; absent (older servers) or malformed, none."""
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


async def _wait_hello(incoming: asyncio.Queue[Incoming]) -> dict[str, Any] | None:
    try:
        first = await asyncio.wait_for(incoming.get(), HELLO_TIMEOUT_S)
    except TimeoutError:
        return None
    if isinstance(first, LinkClosed) or first.get("ev") != "hello":
        return None
    return first
