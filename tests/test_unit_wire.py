"""The lk.agent.session framing: 4-byte big-endian length + AgentSessionMessage."""

from __future__ import annotations

import asyncio
import struct

import pytest
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.protocol.limits import MAX_FRAME_BYTES
from parley.app.protocol.wire import (
    FrameTooLarge,
    SkippedFrame,
    TruncatedFrame,
    encode_frame,
    read_frame,
)


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


async def test_frames_from_the_agent_may_pass_the_limit_on_what_we_send() -> None:
    # the agent's 1 MiB limit is on what it reads; it sends any size (get_chat_history)
    big = pb.AgentSessionMessage(
        response=pb.SessionResponse(request_id="parley-7", error="x" * (2 * MAX_FRAME_BYTES))
    )
    data = big.SerializeToString()
    r = reader_with(struct.pack(">I", len(data)) + data + encode_frame(run_input("next")))
    assert await read_frame(r) == big
    assert await read_frame(r) == run_input("next")


async def test_an_oversized_frame_is_skipped_and_names_its_request() -> None:
    big = pb.AgentSessionMessage(
        response=pb.SessionResponse(request_id="parley-42", error="x" * 5000)
    ).SerializeToString()
    r = reader_with(struct.pack(">I", len(big)) + big + encode_frame(run_input("next")))
    skipped = await read_frame(r, max_size=1000)
    assert isinstance(skipped, SkippedFrame)
    assert skipped.request_id == "parley-42" and skipped.size == len(big)
    assert "over parley's limit of 1000 bytes" in skipped.reason
    assert await read_frame(r) == run_input("next")  # the stream is still in step


async def test_a_malformed_frame_is_skipped_and_the_stream_goes_on() -> None:
    good = pb.AgentSessionMessage(response=pb.SessionResponse(request_id="parley-3"))
    bad = good.SerializeToString() + b"\xff\xff\xff"  # a broken field after the id
    event = pb.AgentSessionMessage(event=pb.AgentSessionEvent())
    r = reader_with(struct.pack(">I", len(bad)) + bad + encode_frame(event))
    skipped = await read_frame(r)
    assert isinstance(skipped, SkippedFrame) and skipped.request_id == "parley-3"
    assert "malformed" in skipped.reason
    assert await read_frame(r) == event
    garbage = b"\x00\x01garbage"
    skipped = await read_frame(reader_with(struct.pack(">I", len(garbage)) + garbage))
    assert isinstance(skipped, SkippedFrame) and skipped.request_id is None


@pytest.mark.parametrize("cut", [1, 3])
async def test_truncated_header(cut: int) -> None:
    frame = encode_frame(run_input("hello"))
    with pytest.raises(TruncatedFrame, match=f"after {cut} of 4 header bytes"):
        await read_frame(reader_with(frame[:cut]))


async def test_truncated_payload() -> None:
    frame = encode_frame(run_input("hello"))
    with pytest.raises(TruncatedFrame, match="payload bytes"):
        await read_frame(reader_with(frame[:-2]))
