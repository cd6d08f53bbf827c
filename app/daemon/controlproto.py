"""The control channel's rules for what a connection may send, checked before any op runs.

The daemon's control port is loopback TCP, reachable by every local user; only a
client holding the token from the 0600 state file may do anything. A connection:

1. sends one line carrying ``{"token": ...}`` within :data:`AUTH_TIMEOUT` seconds and
   :data:`AUTH_LINE_LIMIT` bytes (an unauthenticated peer can hold neither time nor
   memory). That line may be the whole request (``{"token", "op", ...}``, as long as
   it fits) or the token alone, followed by
2. one request line ``{"op": ..., ...}`` of at most
   :data:`parley.app.protocol.limits.CONTROL_LINE_LIMIT` bytes (a turn's text, JSON-escaped).

Every op's fields are type- and range-checked by :func:`validate` (a JSON ``null``
where text is expected, ``since: Infinity``, 100,000 nested arrays: each a clear
error, never an exception in the daemon).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from parley.app.errors import ParleyError

#: seconds an unauthenticated connection has to send its token line
AUTH_TIMEOUT = 2.0
#: longest token line, bytes
AUTH_LINE_LIMIT = 4096
#: connections still waiting for their token line at once; beyond, the oldest is closed
MAX_PENDING = 128
#: connections served at once (authenticated followers included); beyond, new ones
#: are closed at once
MAX_CONNECTIONS = 512
#: bytes a connection's reader buffers before it pauses the socket (lines are read in
#: pieces, so this bounds memory per connection, not line length)
READ_BUFFER = 64 * 1024


class RequestError(ParleyError, ValueError):
    """A request that is not valid; the message says which field and why (the daemon
    answers it as an error of kind ``request``)."""

    bad_input = True


class LineTooLong(RequestError):
    """A line over its byte limit."""


async def read_line(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    """One ``\\n``-terminated line of at most ``max_bytes`` (newline included), read
    in pieces so no more than the reader's buffer is held beyond the line itself.
    ``b""`` at end of stream; an unterminated last line is returned as is.

    Raises :class:`LineTooLong`.
    """
    buf = bytearray()
    while True:
        try:
            buf += await reader.readuntil(b"\n")
            break
        except asyncio.LimitOverrunError as e:
            buf += await reader.readexactly(e.consumed)
        except asyncio.IncompleteReadError as e:
            buf += e.partial
            break
        if len(buf) > max_bytes:
            raise LineTooLong(f"line over {max_bytes} bytes")
    if len(buf) > max_bytes:
        raise LineTooLong(f"line over {max_bytes} bytes")
    return bytes(buf)


def _no_constants(name: str) -> Any:
    raise RequestError(f"{name} is not a JSON number parley accepts")


def parse_line(line: bytes) -> dict[str, Any]:
    """A JSON object from one line. Raises :class:`RequestError` for anything else
    (bad JSON, NaN/Infinity, nesting deeper than Python's recursion limit, a
    non-object)."""
    try:
        obj = json.loads(line, parse_constant=_no_constants)
    except RecursionError:
        raise RequestError("the request is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError(f"the request is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise RequestError("the request is not a JSON object")
    return obj


def token_ok(given: Any, expected: str) -> bool:
    """Constant-time comparison of a token of any JSON type (only a string matches;
    non-ASCII text is compared as UTF-8 bytes, never raises)."""
    if not isinstance(given, str):
        return False
    try:
        data = given.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON \\ud800 escape
        return False
    return hmac.compare_digest(data, expected.encode("utf-8"))


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _seq(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 63


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _seconds(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 86400


#: marks a field with no default
REQUIRED = object()

#: op -> field -> (check, what it must be, default when absent or REQUIRED). An op of
#: the daemon missing here reaches its handler unchecked: add it.
OPS: dict[str, dict[str, tuple[Callable[[Any], bool], str, Any]]] = {
    "status": {},
    "say": {
        "text": (_str, "a string", REQUIRED),
        "wait": (_bool, "true or false", True),
        # every agent-log line of the turn (say --logs)
        "logs": (_bool, "true or false", False),
    },
    "events": {
        "since": (_seq, "a whole number >= 0", 0),
        "follow": (_bool, "true or false", False),
    },
    "listen": {"quiet": (_seconds, "a number of seconds from 0 to 86400", 1.0)},
    "agent_history": {},
    "cancel": {"turn_id": (_opt_str, "a string or null", None)},
    "agent_info": {},
    "restart": {},
    "stop": {},
}


def validate(req: dict[str, Any]) -> dict[str, Any]:
    """``req`` with its op's fields checked against :data:`OPS` and defaults filled
    in (other keys are dropped; an op not in the table is returned as is). Raises
    :class:`RequestError` naming the op or field at fault."""
    op = req.get("op")
    if not isinstance(op, str):
        raise RequestError(f"unknown op {op!r:.40}")
    if op not in OPS:
        return req
    out: dict[str, Any] = {"op": op}
    for name, (check, what, default) in OPS[op].items():
        if name not in req:
            if default is REQUIRED:
                raise RequestError(f"{op}: `{name}` is missing")
            out[name] = default
            continue
        if not check(req[name]):
            raise RequestError(f"{op}: `{name}` must be {what}, not {req[name]!r:.40}")
        out[name] = req[name]
    return out


class RateLimitedLog:
    """Log a message at most once per ``interval`` seconds per key, with a count of
    the ones left out (accept errors under a connection flood must not fill the
    disk)."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def __call__(self, key: str, msg: str, *args: Any, exc_info: Any = None) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self.interval:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return
        dropped = self._dropped.pop(key, 0)
        self._last[key] = now
        if dropped:
            msg += f" ({dropped} more like it in the last {self.interval:g} s not logged)"
        self.logger.error(msg, *args, exc_info=exc_info)

    def loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An asyncio exception handler (``loop.set_exception_handler``) that
        rate-limits by message, e.g. ``socket.accept() out of system resource``."""
        message = str(context.get("message") or "unhandled exception in the event loop")
        exc = context.get("exception")
        self(f"loop:{message}", "%s: %r", message, exc)
