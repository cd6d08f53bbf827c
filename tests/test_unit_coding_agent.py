"""Unit tests for the coding-agent rows: latency, cut notes, unseen items, durations."""

from __future__ import annotations

import json

import pytest
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.cli.common import parse_duration
from parley.app.cli.lifecycle import end_summary
from parley.app.daemon.seen import SeenItems, noteworthy
from parley.app.protocol import items as it
from parley.app.protocol.latency import format_duration, message_latency
from parley.app.view import format_ms
from parley.headless.render import TextRenderer, cut_size, mark_before_turn, render_json


def report(
    started: float | None = None,
    llm_node_ttft: float | None = None,
    tts_node_ttfb: float | None = None,
    e2e_latency: float | None = None,
) -> pb.MetricsReport:
    """A ``MetricsReport`` with the given latencies (seconds) and, when ``started`` is given,
    ``started_speaking_at`` at that many seconds since the epoch."""
    r = pb.MetricsReport(
        llm_node_ttft=llm_node_ttft, tts_node_ttfb=tts_node_ttfb, e2e_latency=e2e_latency
    )
    if started is not None:
        r.started_speaking_at.FromNanoseconds(int(started * 1e9))
    return r


def test_latency_from_the_metrics_report() -> None:
    assert message_latency(None, 100.0) is None
    assert message_latency(report(), None) is None
    # typed input: e2e is measured from sending run_input to started_speaking_at
    lat = message_latency(report(llm_node_ttft=0.25, started=100.75), 100.0)
    assert lat == {"llm_ttft": 0.25, "tts_ttfb": None, "e2e": pytest.approx(0.75)}
    # the framework's own e2e (spoken input) wins; tts first byte when it synthesised
    lat = message_latency(report(e2e_latency=1.5, tts_node_ttfb=0.1, started=200.0), 100.0)
    assert lat == {"llm_ttft": None, "tts_ttfb": 0.1, "e2e": 1.5}
    # no turn (a greeting): no e2e
    assert message_latency(report(started=5.0), None) is None


def test_format_ms_and_durations() -> None:
    assert format_ms(None) == "–"
    assert format_ms(212.3) == "212 ms"
    assert format_ms(1234) == "1.2 s"
    assert [format_duration(s) for s in (0.4, 45, 62, 3723)] == ["0s", "45s", "1m2s", "1h2m3s"]
    assert [parse_duration(t) for t in ("90", "90s", "30m", "1h", "1h30m", "0", "2.5")] == [
        90,
        90,
        1800,
        3600,
        5400,
        0,
        2.5,
    ]
    for bad in ("", "soon", "-1", "5d", "inf", "nan"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_metrics_lines_only_with_the_option() -> None:
    msg = it.AgentMessage(text="hi", latency={"llm_ttft": 0.2, "tts_ttfb": None, "e2e": 1.5})
    fin = it.TurnFinished(status="ok", duration_ms=1600.0)
    plain = TextRenderer()
    assert plain.render(msg) == "\n  ● Agent\n    hi\n" and plain.render(fin) == ""
    r = TextRenderer(metrics=True)
    assert r.render(msg) == "\n  ● Agent\n    hi\n    llm_ttft 200 ms · tts_ttfb – · e2e 1.5 s\n"
    assert r.render(it.AgentMessage(text="x")).endswith("llm_ttft – · tts_ttfb – · e2e –\n")
    assert r.render(fin) == "\n  turn 1.6 s\n"
    err = it.TurnFinished(status="error", error="boom", duration_ms=12.0)
    assert r.render(err) == "\n  ✗ boom\n\n  turn 12 ms\n"


def test_latency_is_left_out_of_json_when_unknown() -> None:
    # recordings written before the field existed read back and print unchanged
    assert "latency" not in it.AgentMessage(text="x").to_dict()
    d = it.AgentMessage(text="x", latency={"llm_ttft": 0.1, "tts_ttfb": None, "e2e": None})
    assert it.item_from_json(d.to_json()) == d


def done(output: str, status: it.ToolStatus = "done", is_error: bool = False) -> it.ToolCall:
    return it.ToolCall(call_id="c", name="read", status=status, output=output, is_error=is_error)


def test_cut_note_says_how_much_was_left_out() -> None:
    r = TextRenderer()
    assert cut_size("short") == (0, 0) and r.cut_note(done("short")) is None
    assert cut_size("a" * 300) == (0, 181)
    assert r.cut_note(done("a" * 300)) == (
        "    (output of read cut: 181 more characters; --full-output prints it all)\n"
    )
    two = "line one\nline two"
    assert cut_size(two) == (1, 9)
    assert r.cut_note(done(two, status="error", is_error=True)) == (
        "    (output of read cut: 9 more characters on 1 more line; --full-output prints it all)\n"
    )
    assert r.cut_note(it.ToolCall(call_id="c", name="read")) is None  # still running
    assert TextRenderer(full_output=True).cut_note(done("a" * 300)) is None


def test_full_output_prints_every_line_under_the_first() -> None:
    r = TextRenderer(full_output=True)
    out = r.render(done("first\nsecond [b]x[/b]\n\n  third"))
    assert out == (
        "\n  ● function_tool: read\n    ✓ first\n      second [b]x[/b]\n\n        third\n"
    )
    failed = r.render(done("Traceback\n  File x", status="error", is_error=True))
    assert failed.endswith("    ✗ Traceback\n        File x\n")
    assert r.render(done("a" * 300)).endswith("    ✓ " + "a" * 300 + "\n")


def test_before_turn_marks() -> None:
    text = TextRenderer().render(it.AgentMessage(text="late"))
    assert mark_before_turn(text) == "\n  ● Agent (before this turn)\n    late\n"
    assert mark_before_turn("") == ""
    line = render_json(it.AgentMessage(text="late", seq=3), before_turn=True)
    assert json.loads(line)["before_turn"] is True and line.endswith("\n")
    assert "before_turn" not in render_json(it.AgentMessage(text="x"))


def test_seen_items_watermark_and_gaps() -> None:
    items = [it.UserMessage(text=str(i), seq=i) for i in range(1, 7)]
    seen = SeenItems()
    assert seen.unseen(items) == items
    for seq in (1, 2, 4, 6):
        seen.mark(seq)
    assert seen.upto == 2
    assert [i.seq for i in seen.unseen(items)] == [3, 5]
    seen.mark(3)
    assert seen.upto == 4 and [i.seq for i in seen.unseen(items)] == [5]
    seen.mark_all(items)
    assert seen.upto == 6 and seen.unseen(items) == [] and seen.seen(5)


def test_only_noteworthy_items_count_as_unseen() -> None:
    items: list[it.ChatItem] = [
        it.AgentState(old_state="listening", new_state="speaking", seq=1),
        it.Usage(seq=2),
        it.ToolCall(call_id="c", name="f", seq=3),
        it.AgentMessage(text="late", seq=4),
        it.ToolCall(call_id="c", name="f", status="done", seq=5),
    ]
    assert [noteworthy(i) for i in items] == [False, False, False, True, True]
    assert SeenItems().unseen_count(items) == 2


def test_end_summary() -> None:
    assert end_summary({}) == "Session ended."
    assert end_summary(
        {
            "turns": 3,
            "seconds": 62.4,
            "agent_id": "billing",
            "agent_log": "/x/agent.log",
            "event_log": "/x/events.jsonl",
        }
    ) == (
        'Session ended. 3 turn(s) over 1m2s, ending with agent "billing". '
        "Agent log kept at: /x/agent.log. Recording: /x/events.jsonl"
    )
