"""The comparison behind `parley rerun` (app/session/compare.py): pure, on hand-made items and
on the recorded demo session."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from parley.app.protocol import items as it
from parley.app.session.compare import (
    DEFAULT_COMPARE,
    Verdicts,
    compare_turn,
    facts,
    normalize_error,
    parse_compare,
    split_turns,
)
from parley.app.session.eventlog import read_log

REC_DEMO = Path(__file__).resolve().parent.parent / "testdata/recordings/rec_demo.jsonl"
ALL = parse_compare("all")


def number(items: list[it.ChatItem]) -> list[it.ChatItem]:
    return [dataclasses.replace(x, seq=n + 1) for n, x in enumerate(items)]


def tool(turn: str | None, name: str, args: str, output: str, *, error: bool = False, cid="c1"):
    return [
        it.ToolCall(turn_id=turn, call_id=cid, name=name, arguments=args),
        it.ToolCall(
            turn_id=turn,
            call_id=cid,
            name=name,
            arguments=args,
            status="error" if error else "done",
            output=output,
            is_error=error,
        ),
    ]


def weather_turn(turn: str, output: str = "sunny", args: str = '{"location": "Paris"}'):
    return [
        it.UserMessage(turn_id=turn, text="weather in Paris"),
        it.AgentState(turn_id=turn, old_state="listening", new_state="thinking"),
        *tool(turn, "lookup_weather", args, output, cid=f"call-{turn}"),
        it.AgentMessage(turn_id=turn, text=f"It is {output}."),
        it.TurnFinished(turn_id=turn, status="ok"),
    ]


def one_turn(items: list[it.ChatItem]):
    conv = split_turns(number(items))
    assert len(conv.turns) == 1
    return conv.turns[0]


def test_parse_compare() -> None:
    assert parse_compare("tools, handoffs") == {"tools", "handoffs"}
    assert parse_compare("all") == {"tools", "handoffs", "errors", "text"}
    assert DEFAULT_COMPARE == {"tools", "handoffs", "errors"}
    with pytest.raises(ValueError, match="unknown --compare categories: speech"):
        parse_compare("tools,speech")
    with pytest.raises(ValueError):
        parse_compare(" , ")


def test_split_turns_boot_turns_and_unprompted_items() -> None:
    items = number(
        [
            it.Handoff(from_agent=None, to_agent="concierge"),
            it.AgentMessage(text="Hi!"),
            *weather_turn("t1"),
            it.AgentMessage(text="a late greeting"),  # between turns: goes to the next
            *weather_turn("t2"),
            it.AgentMessage(text="after the last turn"),
        ]
    )
    conv = split_turns(items)
    assert [type(x).__name__ for x in conv.boot.items] == ["Handoff", "AgentMessage"]
    assert [t.index for t in conv.turns] == [1, 2]
    assert [t.user_text for t in conv.turns] == ["weather in Paris"] * 2
    assert conv.turns[0].status == "ok" and conv.turns[0].finished is not None
    assert any(getattr(x, "text", "") == "a late greeting" for x in conv.turns[1].items)
    assert not any(getattr(x, "text", "") == "a late greeting" for x in conv.turns[0].items)
    assert [getattr(x, "text", "") for x in conv.trailing] == ["after the last turn"]


def test_unprompted_item_inside_a_running_turn_belongs_to_it() -> None:
    items = weather_turn("t1")
    items.insert(3, it.Handoff(from_agent="a", to_agent="b"))  # turn_id None, mid-turn
    turn = one_turn(items)
    assert any(isinstance(x, it.Handoff) for x in turn.items)


def test_a_turn_cut_short_is_unfinished() -> None:
    turn = one_turn(weather_turn("t1")[:-1])
    assert turn.status == "unfinished"


def test_facts_count_each_tool_call_once_with_its_final_state() -> None:
    turn = one_turn(weather_turn("t1"))
    fs = facts(turn, ALL)
    assert [(f.kind, f.key) for f in fs] == [("tool", "lookup_weather"), ("text", "")]
    assert dict(fs[0].fields)["output"] == ("text", "sunny")
    assert facts(turn, frozenset({"handoffs"})) == []


def test_same_turn_matches_and_arguments_are_json_equal() -> None:
    a = one_turn(weather_turn("t1", args='{"location": "Paris", "days": 2}'))
    b = one_turn(weather_turn("t7", args='{"days":2,"location":"Paris"}'))
    assert compare_turn(a, b, ALL) == []


def test_changed_output_names_the_tool_and_both_outputs() -> None:
    a = one_turn(weather_turn("t1", output="sunny"))
    b = one_turn(weather_turn("t1", output="rainy"))
    diffs = compare_turn(a, b, DEFAULT_COMPARE)
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.what, d.label, d.field, d.recorded, d.now) == (
        "changed",
        "tool lookup_weather",
        "output",
        "sunny",
        "rainy",
    )
    assert d.summary() == "tool lookup_weather: output differs"
    # with text compared, the reply differs too, after the tool
    diffs = compare_turn(a, b, ALL)
    assert [(d.label, d.field) for d in diffs] == [
        ("tool lookup_weather", "output"),
        ("agent text", "text"),
    ]


def test_changed_arguments_and_is_error() -> None:
    a = one_turn(weather_turn("t1", args='{"location": "Paris"}'))
    b = one_turn(weather_turn("t1", args='{"location": "Rome"}'))
    (d,) = compare_turn(a, b, DEFAULT_COMPARE)
    assert d.field == "arguments" and "Rome" in (d.now or "")
    ok = one_turn([it.UserMessage(turn_id="t1", text="x"), *tool("t1", "f", "{}", "boom")])
    bad = one_turn(
        [it.UserMessage(turn_id="t1", text="x"), *tool("t1", "f", "{}", "boom", error=True)]
    )
    (d,) = compare_turn(ok, bad, DEFAULT_COMPARE)
    assert (d.field, d.recorded, d.now) == ("is_error", "false", "true")


def test_json_outputs_compare_as_json() -> None:
    a = one_turn([it.UserMessage(turn_id="t1", text="x"), *tool("t1", "f", "{}", '{"a": 1}')])
    b = one_turn([it.UserMessage(turn_id="t1", text="x"), *tool("t1", "f", "{}", '{"a":1}')])
    assert compare_turn(a, b, ALL) == []


def test_another_tool_called_and_missing_or_extra_calls() -> None:
    a = one_turn([it.UserMessage(turn_id="t1", text="x"), *tool("t1", "f", "{}", "1")])
    b = one_turn([it.UserMessage(turn_id="t1", text="x"), *tool("t1", "g", "{}", "1")])
    (d,) = compare_turn(a, b, DEFAULT_COMPARE)
    assert (d.what, d.label, d.field) == ("changed", "tool call", "name")
    assert d.recorded == "f({}) → 1" and d.now == "g({}) → 1"
    none = one_turn([it.UserMessage(turn_id="t1", text="x")])
    (d,) = compare_turn(a, none, DEFAULT_COMPARE)
    assert (d.what, d.label, d.now) == ("missing", "tool f", None)
    (d,) = compare_turn(none, a, DEFAULT_COMPARE)
    assert (d.what, d.label, d.recorded) == ("extra", "tool f", None)


def test_handoffs_compare_from_and_to() -> None:
    def turn(to: str):
        return one_turn(
            [
                it.UserMessage(turn_id="t1", text="billing"),
                it.Handoff(turn_id="t1", from_agent="concierge", to_agent=to),
            ]
        )

    assert compare_turn(turn("billing"), turn("billing"), DEFAULT_COMPARE) == []
    (d,) = compare_turn(turn("billing"), turn("sales"), DEFAULT_COMPARE)
    assert (d.label, d.recorded, d.now) == ("handoff", "concierge → billing", "concierge → sales")
    assert compare_turn(turn("billing"), turn("sales"), frozenset({"tools"})) == []


def test_errors_mask_timestamps_and_turn_status_is_always_compared() -> None:
    def turn(ts: str, status: it.TurnStatus = "error", err: str = "model failed"):
        return one_turn(
            [
                it.UserMessage(turn_id="t1", text="explode"),
                it.AgentError(turn_id="t1", message=f"type='llm_error' timestamp={ts} x"),
                it.TurnFinished(turn_id="t1", status=status, error=err),
            ]
        )

    assert normalize_error("at timestamp=1795357217.810971 ok") == "at timestamp=<time> ok"
    assert compare_turn(turn("1795357217.81"), turn("1795357999.1"), ALL) == []
    (d,) = compare_turn(turn("1795357217.81"), turn("1795357217.81", err="other"), ALL)
    assert (d.label, d.field) == ("turn error", "error")
    (d,) = compare_turn(turn("1795357217.81"), turn("1795357217.81", "ok"), frozenset({"tools"}))
    assert (d.what, d.recorded, d.now) == ("status", "error", "ok")


def test_verdicts_mark_turns_after_a_divergence() -> None:
    recorded = split_turns(number([*weather_turn("t1"), *weather_turn("t2"), *weather_turn("t3")]))
    rerun = split_turns(
        number([*weather_turn("t1"), *weather_turn("t2", "rainy"), *weather_turn("t3")])
    )
    v = Verdicts(recorded, DEFAULT_COMPARE)
    v.judge(rerun.boot)
    outcomes = [v.judge(t) for t in rerun.turns]
    assert [(r.outcome, r.after_divergence) for r in outcomes] == [
        ("match", False),
        ("differ", False),
        ("match", True),
    ]
    assert not v.ok


def test_verdicts_failed_and_not_run() -> None:
    recorded = split_turns(number([*weather_turn("t1"), *weather_turn("t2")]))
    v = Verdicts(recorded, DEFAULT_COMPARE)
    timed_out = one_turn(
        weather_turn("t1")[:-1] + [it.TurnFinished(turn_id="t1", status="timeout")]
    )
    r = v.judge(timed_out)
    assert r.outcome == "failed"
    v.rest_not_run("stopped")
    assert [(r.index, r.outcome) for r in v.results] == [
        (0, "not_run"),
        (1, "failed"),
        (2, "not_run"),
    ]


def test_the_recorded_demo_session_matches_itself_and_catches_a_change() -> None:
    rec = read_log(REC_DEMO)
    conv = split_turns(rec.items)
    assert len(conv.turns) >= 6
    for t in conv.turns:
        assert compare_turn(t, t, ALL) == []
    # the same session, with the booking tool's output changed
    changed = [
        dataclasses.replace(x, output="three nights")
        if isinstance(x, it.ToolCall)
        and x.name == "lookup_booking"
        and x.finished
        and not x.is_error
        else x
        for x in rec.items
    ]
    conv2 = split_turns(changed)
    v = Verdicts(conv, DEFAULT_COMPARE)
    results = [v.judge(conv2.boot), *(v.judge(t) for t in conv2.turns)]
    differ = [r for r in results if r.outcome == "differ"]
    assert len(differ) == 1
    d = differ[0].differences[0]
    assert d.label == "tool lookup_booking" and d.field == "output"
    assert d.recorded and d.recorded.startswith("two nights") and d.now == "three nights"
