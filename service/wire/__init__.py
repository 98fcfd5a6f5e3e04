"""The wire: chat/1 in code, pure (no I/O, no threads, no database), so every rule of the
contract (docs/PROTOCOL.md) is tested without a socket. Bytes become frames and frames typed
requests here (codec.py, requests.py); events and errors are built here and nowhere else
(events.py, errors.py); the values chat/1 allows (names.py, rooms.py, dm_history.py,
search.py, paging.py, addresses.py, private.py) and its times (timeutil.py) live beside them.
Every other wing imports this one.
"""

from service.wire.codec import Decoded, FrameDecoder, FrameError, encode
from service.wire.errors import ErrorCode, RequestError, RequestId, error_reply, ok_reply
from service.wire.requests import REQUEST_TYPES, Request

__all__ = [
    "REQUEST_TYPES",
    "Decoded",
    "ErrorCode",
    "FrameDecoder",
    "FrameError",
    "Request",
    "RequestError",
    "RequestId",
    "encode",
    "error_reply",
    "ok_reply",
]
