"""Size limits of the protocol and the input check both the CLI and the daemon apply.

Standard library only (on the ``parley say`` path).
"""

from __future__ import annotations

from parley.app.errors import ParleyError

#: largest frame payload the agent accepts, in bytes: livekit-agents'
#: ``_TCP_MAX_MESSAGE_SIZE``; a larger frame is dropped silently and the agent stops
#: reading
MAX_FRAME_BYTES = 1 << 20

#: longest turn text in UTF-8 bytes: the frame limit less room for the
#: ``SessionRequest`` envelope (request id, field tags)
MAX_TEXT_BYTES = MAX_FRAME_BYTES - 1024


class InputError(ParleyError, ValueError):
    """Text that cannot be sent as a turn (empty or oversized); nothing was sent."""

    bad_input = True


def check_text(text: str) -> None:
    """Raise :class:`InputError` for empty (all-whitespace), oversized or non-UTF-8
    text (an argument with bytes that are not UTF-8 reaches Python as lone surrogates,
    PEP 383)."""
    if not text.strip():
        raise InputError("nothing to say: the text is empty")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        bad = ord(text[e.start])
        byte = f"byte 0x{bad - 0xDC00:02x}" if 0xDC80 <= bad <= 0xDCFF else f"U+{bad:04X}"
        raise InputError(
            f"the text is not valid UTF-8 ({byte} at character {e.start}); nothing was sent"
        ) from None
    if size > MAX_TEXT_BYTES:
        raise InputError(
            f"the text is {size} bytes; the agent accepts at most {MAX_TEXT_BYTES} bytes "
            "in one message (livekit-agents drops larger frames)"
        )


#: longest control-channel line, bytes: a turn's text (at most 1 MiB) JSON-escaped
CONTROL_LINE_LIMIT = 4 * 1024 * 1024
