"""The lk.agent.session framing: 4-byte big-endian length + AgentSessionMessage."""

from __future__ import annotations

import asyncio
import struct

import pytest
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.protocol.limits import MAX_FRAME_BYTES
from parley.app.protocol.wire import FrameTooLarge, TruncatedFrame, encode_frame, read_frame


def run_input(text: str) -> pb.AgentSessionMessage:
    return pb.AgentSessionMessage(
        request=pb.SessionRequest(request_id="r1", run_input=pb.SessionRequest.RunInput(text=text))
    )


def reader_with(data: bytes) -> asyncio.StreamReader:
    r = asyncio.StreamReader()
    r.feed_data(data)
    r.feed_eof()
    return r


def test_encode_frame_is_length_prefixed_protobuf() -> None:
    msg = run_input("hello")
    frame = encode_frame(msg)
    (size,) = struct.unpack(">I", frame[:4])
    assert size == len(frame) - 4
    assert pb.AgentSessionMessage.FromString(frame[4:]) == msg


async def test_read_frames_back_to_back_then_clean_eof() -> None:
    a, b = run_input("one"), run_input("two")
    r = reader_with(encode_frame(a) + encode_frame(b))
    assert await read_frame(r) == a
    assert await read_frame(r) == b
    assert await read_frame(r) is None


async def test_empty_message_round_trips() -> None:
    r = reader_with(encode_frame(pb.AgentSessionMessage()))
    assert await read_frame(r) == pb.AgentSessionMessage()


def test_frame_at_the_limit_is_allowed_and_one_byte_more_is_refused() -> None:
    overhead = len(run_input("").SerializeToString())
    # the text's own length prefix grows by one byte past 127; find the exact fit
    text = "x" * (MAX_FRAME_BYTES - overhead - 4)
    while len(run_input(text).SerializeToString()) > MAX_FRAME_BYTES:
        text = text[:-1]
    assert len(run_input(text).SerializeToString()) == MAX_FRAME_BYTES
    assert len(encode_frame(run_input(text))) == MAX_FRAME_BYTES + 4
    with pytest.raises(FrameTooLarge) as e:
        encode_frame(run_input(text + "x"))
    assert e.value.size == MAX_FRAME_BYTES + 1


async def test_oversized_header_is_refused_before_reading_the_payload() -> None:
    r = reader_with(struct.pack(">I", MAX_FRAME_BYTES + 1) + b"\0" * 10)
    with pytest.raises(FrameTooLarge):
        await read_frame(r)


@pytest.mark.parametrize("cut", [1, 3])
async def test_truncated_header(cut: int) -> None:
    frame = encode_frame(run_input("hello"))
    with pytest.raises(TruncatedFrame, match=f"after {cut} of 4 header bytes"):
        await read_frame(reader_with(frame[:cut]))


async def test_truncated_payload() -> None:
    frame = encode_frame(run_input("hello"))
    with pytest.raises(TruncatedFrame, match="payload bytes"):
        await read_frame(reader_with(frame[:-2]))
