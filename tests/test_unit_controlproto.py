"""The control channel's input checks: bounded lines, JSON that cannot crash the
daemon, constant-time tokens of any type, every op's fields validated."""

from __future__ import annotations

import asyncio

import pytest

from parley.app.daemon.controlproto import (
    LineTooLong,
    RequestError,
    parse_line,
    read_line,
    token_ok,
    validate,
)


def _reader(data: bytes, limit: int = 16) -> asyncio.StreamReader:
    r = asyncio.StreamReader(limit=limit)
    r.feed_data(data)
    r.feed_eof()
    return r


async def test_read_line_reads_lines_longer_than_the_buffer_up_to_the_limit() -> None:
    r = _reader(b"x" * 100 + b"\nnext\n")
    assert await read_line(r, 200) == b"x" * 100 + b"\n"
    assert await read_line(r, 200) == b"next\n"
    assert await read_line(r, 200) == b""
    with pytest.raises(LineTooLong):
        await read_line(_reader(b"y" * 1000), 100)  # no newline: refused at the limit
    with pytest.raises(LineTooLong):
        await read_line(_reader(b"y" * 101 + b"\n"), 100)


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"since": Infinity}',
        b'{"since": NaN}',
        b"\xff\xfe",
        b"garbage",
        b"[1, 2]",
        b"null",
    ],
)
def test_parse_line_refuses_what_is_not_a_plain_object(line: bytes) -> None:
    with pytest.raises(RequestError):
        parse_line(line)


def test_token_of_any_type_is_compared_without_raising() -> None:
    assert token_ok("s3cret", "s3cret")
    for given in ("ü" * 6, "\ud800", None, 5, ["s3cret"], {"t": 1}, "s3cre", ""):
        assert not token_ok(given, "s3cret")


@pytest.mark.parametrize(
    ("req", "error"),
    [
        ({"op": "say", "text": None}, "`text` must be a string"),
        ({"op": "say", "text": ["a"]}, "`text` must be a string"),
        ({"op": "say"}, "`text` is missing"),
        ({"op": "say", "text": "hi", "wait": "no"}, "`wait` must be true or false"),
        ({"op": "events", "since": 1.5}, "`since` must be a whole number"),
        ({"op": "events", "since": -1}, "`since` must be a whole number"),
        ({"op": "events", "since": True}, "`since` must be a whole number"),
        ({"op": "events", "since": 10**30}, "`since` must be a whole number"),
        ({"op": "events", "follow": 1}, "`follow` must be true or false"),
        ({"op": "cancel", "turn_id": 3}, "`turn_id` must be a string or null"),
        ({"op": None}, "unknown op"),
        ({"op": ["say"]}, "unknown op"),
    ],
)
def test_each_field_is_checked(req: dict, error: str) -> None:
    with pytest.raises(RequestError, match=error):
        validate(req)


def test_defaults_are_filled_in() -> None:
    assert validate({"op": "events"}) == {"op": "events", "since": 0, "follow": False}
    assert validate({"op": "say", "text": "hi"}) == {
        "op": "say",
        "text": "hi",
        "wait": True,
        "logs": False,
    }
    assert validate({"op": "cancel"}) == {"op": "cancel", "turn_id": None}
