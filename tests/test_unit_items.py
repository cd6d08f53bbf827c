"""The chat-item JSON form and the event log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.app.protocol import items as it
from parley.app.session.eventlog import EventLog, LogFormatError, read_log

SAMPLES: list[it.ChatItem] = [
    it.UserMessage(seq=1, ts=1.5, turn_id="t1", text="hi [bold]there[/]"),
    it.AgentMessage(seq=2, ts=2.0, turn_id="t1", text="héllo", agent_id="a", metrics={"x": 1}),
    it.ToolCall(seq=3, turn_id="t1", call_id="c1", name="f", arguments='{"a": 1}'),
    it.ToolCall(seq=4, call_id="c1", name="f", status="error", output="no", is_error=True),
    it.Handoff(seq=5, from_agent=None, to_agent="a"),
    it.ConfigUpdate(seq=6, agent_id="a", tools_added=["f"]),
    it.AgentError(seq=7, message="boom"),
    it.AgentState(seq=8, old_state="listening", new_state="thinking"),
    it.Usage(seq=9, models=[{"kind": "llm", "input_tokens": 3, "output_tokens": 4}]),
    it.TurnFinished(seq=10, turn_id="t1", status="ok", duration_ms=5.0),
    it.Reload(seq=11, files=["agent.py"], agent_pid=4, duration_ms=300.0, warm=True),
]


@pytest.mark.parametrize("item", SAMPLES, ids=lambda i: i.type)
def test_every_item_round_trips_through_json(item: it.ChatItem) -> None:
    line = item.to_json()
    d = json.loads(line)
    assert d["v"] == it.SCHEMA_VERSION and d["type"] == item.type
    assert it.item_from_json(line) == item


def test_closed_set_of_types() -> None:
    assert set(it.ITEM_TYPES) == {s.type for s in SAMPLES}


def test_unknown_fields_are_ignored_and_unknown_types_refused() -> None:
    d = SAMPLES[0].to_dict() | {"new_field": 1}
    assert it.item_from_dict(d) == SAMPLES[0]
    with pytest.raises(it.ItemFormatError, match="unknown chat item type"):
        it.item_from_dict({"type": "nope"})
    with pytest.raises(it.ItemFormatError, match="newer"):
        it.item_from_dict(SAMPLES[0].to_dict() | {"v": 99})
    with pytest.raises(it.ItemFormatError, match="bad user_message"):
        it.item_from_dict({"type": "user_message"})


def test_usage_total_counts_llm_tokens_only() -> None:
    u = it.Usage(models=[{"kind": "llm", "input_tokens": 3, "output_tokens": 4}, {"kind": "tts"}])
    assert u.total_tokens == 7


def write_log(path: Path) -> None:
    log = EventLog(path, {"session_id": "s", "agent_id": "a"})
    for item in SAMPLES:
        log.append(item)
    log.close()


def test_event_log_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_log(path)
    assert path.stat().st_mode & 0o777 == 0o600
    rec = read_log(path)
    assert rec.header["type"] == "session" and rec.header["schema"] == it.SCHEMA_VERSION
    assert rec.header["agent_id"] == "a"
    assert rec.items == SAMPLES and not rec.truncated


def test_truncated_last_line_loads_everything_before_it(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_log(path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])  # crash in the middle of the last line
    rec = read_log(path)
    assert rec.truncated and rec.items == SAMPLES[:-1]


def test_last_line_without_newline_still_counts(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_log(path)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    rec = read_log(path)
    assert rec.items == SAMPLES and not rec.truncated


def test_newer_schema_and_garbage_fail_clearly(tmp_path: Path) -> None:
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({"type": "session", "schema": 99}) + "\n")
    with pytest.raises(LogFormatError, match="schema 99.*upgrade parley"):
        read_log(newer)
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("hello\n")
    with pytest.raises(LogFormatError, match="not a parley event log"):
        read_log(garbage)
    with pytest.raises(LogFormatError, match="no event log"):
        read_log(tmp_path / "missing.jsonl")
    middle = tmp_path / "middle.jsonl"
    write_log(middle)
    lines = middle.read_text().splitlines()
    lines[3] = "{broken"
    middle.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogFormatError, match="line 4"):
        read_log(middle)
