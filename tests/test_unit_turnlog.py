"""A turn's agent-log lines (:mod:`parley.app.agent.turnlog`) and their rendering
(:mod:`parley.headless.agent_log`)."""

from __future__ import annotations

import json
from pathlib import Path

from parley.app.agent.turnlog import TurnLog
from parley.headless.agent_log import render_log_json, render_log_lines

BEFORE = (
    b"\r00:00:01 \x1b[31mERROR\x1b[0m x an earlier turn's error\n"
    b"Traceback (most recent call last):\nKeyError: 'old'\n"
)


def test_reads_from_the_turns_offset_and_finds_new_failures(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(BEFORE)
    tl = TurnLog(log)
    assert tl.read() == []  # not started: the turn is still queued
    tl.start(len(BEFORE))
    with open(log, "ab") as f:
        f.write(b"\r00:00:02 \x1b[32mINFO\x1b[0m x working\n\r00:00:03 ERROR x tool failed\n")
        f.write(b"Traceback (most recent call last):\nRuntimeError: boom\n\r00:00:04 INFO x par")
    assert tl.new_failures() == [
        "00:00:03 ERROR x tool failed",
        "Traceback (most recent call last):",
        "RuntimeError: boom",
    ]
    assert tl.new_failures() == []  # each failure once
    with open(log, "ab") as f:
        f.write(b"tial")
    assert tl.read(final=True) == ["00:00:04 INFO x partial"]


def test_render_text_and_json() -> None:
    lines = ["00:00:01 \x1b[31mERROR\x1b[0m x bell\x07", ""]
    assert render_log_lines(lines) == "  │ 00:00:01 ERROR x bell\\x07\n  │\n"
    coloured = render_log_lines(lines[:1], color=True)
    assert (
        coloured.startswith("  \x1b[2m│\x1b[0m 00:00:01 \x1b[31mERROR") and "\x07" not in coloured
    )
    obj = json.loads(render_log_json(lines[:1], "t3"))
    assert obj["type"] == "agent_log" and obj["turn_id"] == "t3" and obj["v"] == 1
    assert obj["line"] == "00:00:01 ERROR x bell\x07"
