"""The framing of the ``lk.agent.session`` protocol over loopback TCP.

Each frame is a 4-byte big-endian unsigned length followed by that many bytes of a
serialized ``livekit.agent.AgentSessionMessage`` (package ``livekit-protocol``,
module ``livekit.protocol.agent_pb.agent_session``). This mirrors
``livekit.agents.voice.remote_session.TcpSessionTransport`` in livekit-agents 1.8.9.

The agent drops a frame over 1 MiB *silently and stops reading* (its
``_TCP_MAX_MESSAGE_SIZE``), so :func:`encode_frame` refuses to build one: losing the
whole session to one oversized message is worse than a clear error here. That limit
is the agent's, on what *we* send: the agent itself sends frames of any size (a
``get_chat_history`` response of a long conversation passes 1 MiB), and
:func:`read_frame` takes them up to :data:`MAX_INBOUND_FRAME_BYTES`, skipping (never
failing the stream on) a larger or malformed one.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.errors import ParleyError
from parley.app.protocol.limits import MAX_FRAME_BYTES

HEADER = struct.Struct(">I")


class FrameError(ParleyError):
    """A frame that cannot be sent or was received malformed."""


class FrameTooLarge(FrameError):
    """The payload is over :data:`MAX_FRAME_BYTES`; ``size`` is its length in bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"message of {size} bytes is over the agent's limit of {MAX_FRAME_BYTES} bytes"
        )
        self.size = size


class TruncatedFrame(FrameError):
    """The stream ended inside a frame (header or payload)."""


def encode_frame(msg: pb.AgentSessionMessage) -> bytes:
    """Serialize ``msg`` into one frame: header + payload.

    Raises :class:`FrameTooLarge` when the payload is over :data:`MAX_FRAME_BYTES`.
    """
    data = msg.SerializeToString()
    if len(data) > MAX_FRAME_BYTES:
        raise FrameTooLarge(len(data))
    return HEADER.pack(len(data)) + data


@dataclass(frozen=True)
class SkippedFrame:
    """A frame from the agent that was read past but not decoded: over
    ``max_size`` (``size`` bytes, discarded in pieces) or not a valid
    ``AgentSessionMessage`` (``reason`` says which). ``request_id`` is the
    ``SessionResponse.request_id`` it answers when its first bytes say so (protobuf
    writes fields in field-number order: the ``response`` tag, then ``request_id``,
    field 1), else ``None``. The stream stays in step: the next frame is readable."""

    size: int
    reason: str
    request_id: str | None = None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A protobuf varint at ``data[pos:]``: ``(value, next position)``; raises
    ``IndexError`` when ``data`` ends inside it."""
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


def peek_response_id(prefix: bytes) -> str | None:
    """The ``request_id`` of a serialized ``AgentSessionMessage{response{...}}``
    from its first bytes (``None`` when they are not a response or are too short)."""
    try:
        tag, pos = _varint(prefix, 0)
        if tag != (5 << 3 | 2):  # field 5 (response), length-delimited
            return None
        _, pos = _varint(prefix, pos)
        tag, pos = _varint(prefix, pos)
        if tag != (1 << 3 | 2):  # SessionResponse.request_id, field 1
            return None
        size, pos = _varint(prefix, pos)
        if pos + size > len(prefix):
            return None
        return prefix[pos : pos + size].decode("utf-8")
    except (IndexError, UnicodeDecodeError):
        return None


#: bytes of a frame's start kept to find its request id when the frame is skipped
PEEK_BYTES = 256
#: largest frame accepted from the agent, in bytes. The agent has no limit on what it
#: sends (``TcpSessionTransport.send_message``): a ``get_chat_history`` response grows
#: with the conversation. This only bounds parley's memory.
MAX_INBOUND_FRAME_BYTES = 256 << 20


async def read_frame(
    reader: asyncio.StreamReader, max_size: int = MAX_INBOUND_FRAME_BYTES
) -> pb.AgentSessionMessage | SkippedFrame | None:
    """Read one message from the agent; ``None`` on a clean end of stream between
    frames; a :class:`SkippedFrame` for a frame over ``max_size`` bytes or one that
    does not parse (the stream stays usable).

    Raises :class:`TruncatedFrame` when the stream ends inside a frame.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise TruncatedFrame(f"stream ended after {len(e.partial)} of 4 header bytes") from None
    (size,) = HEADER.unpack(header)
    try:
        if size > max_size:
            prefix = await reader.readexactly(min(size, PEEK_BYTES))
            left = size - len(prefix)
            while left:
                left -= len(await reader.readexactly(min(left, 1 << 16)))
            reason = f"a message of {size} bytes is over parley's limit of {max_size} bytes"
            return SkippedFrame(size, reason, peek_response_id(prefix))
        data = await reader.readexactly(size)
    except asyncio.IncompleteReadError as e:
        raise TruncatedFrame(
            f"stream ended after {len(e.partial)} of {size} payload bytes"
        ) from None
    msg = pb.AgentSessionMessage()
    try:
        msg.ParseFromString(data)
    except DecodeError as e:
        reason = f"a malformed message of {size} bytes ({e})"
        return SkippedFrame(size, reason, peek_response_id(data[:PEEK_BYTES]))
    return msg
