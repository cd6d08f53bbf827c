"""The framing of the ``lk.agent.session`` protocol over loopback TCP.

Each frame is a 4-byte big-endian unsigned length followed by that many bytes of a
serialized ``livekit.agent.AgentSessionMessage`` (package ``livekit-protocol``,
module ``livekit.protocol.agent_pb.agent_session``). This mirrors
``livekit.agents.voice.remote_session.TcpSessionTransport`` in livekit-agents 1.8.9.

The agent drops a frame over 1 MiB *silently and stops reading* (its
``_TCP_MAX_MESSAGE_SIZE``), so :func:`encode_frame` refuses to build one: losing the
whole session to one oversized message is worse than a clear error here.
"""

from __future__ import annotations

import asyncio
import struct

from livekit.protocol.agent_pb import agent_session as pb

from parley.app.protocol.limits import MAX_FRAME_BYTES

HEADER = struct.Struct(">I")


class FrameError(Exception):
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


async def read_frame(reader: asyncio.StreamReader) -> pb.AgentSessionMessage | None:
    """Read one message; ``None`` on a clean end of stream between frames.

    Raises :class:`TruncatedFrame` when the stream ends inside a frame and
    :class:`FrameTooLarge` for an oversized header.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise TruncatedFrame(f"stream ended after {len(e.partial)} of 4 header bytes") from None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise FrameTooLarge(size)
    try:
        data = await reader.readexactly(size)
    except asyncio.IncompleteReadError as e:
        raise TruncatedFrame(
            f"stream ended after {len(e.partial)} of {size} payload bytes"
        ) from None
    msg = pb.AgentSessionMessage()
    msg.ParseFromString(data)
    return msg
