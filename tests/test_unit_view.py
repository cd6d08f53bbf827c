"""The view: the one fold of the chat-item stream into display blocks and turns."""

from __future__ import annotations

from parley.app.protocol import items as it
from parley.app.view import OUTPUT_CAP, View, format_ms, shows


def feed(view: View, *items: it.ChatItem) -> list[tuple[str, str, bool] | None]:
    out: list[tuple[str, str, bool] | None] = []
    for item in items:
        u = view.feed(item)
        out.append(None if u is None else (u.block.key, u.change, u.new))
    return out


def test_a_tool_call_is_one_block_with_its_progress_and_result() -> None:
    v = View()
    changes = feed(
        v,
        it.ToolCall(seq=3, call_id="c1", name="search", arguments='{"city": "Paris", "n": 2.0}'),
        it.ToolCall(seq=4, call_id="c1", name="search", progress="Searching rooms…\nmore"),
        it.AgentMessage(seq=5, text="One moment."),
        it.ToolCall(seq=6, call_id="c1", name="search", progress="Checking prices…"),
        it.ToolCall(
            seq=7,
            call_id="c1",
            name="search",
            status="done",
            output="3 rooms\nlist",
            duration_ms=12.5,
        ),  # fmt: skip
    )
    assert changes == [
        ("tool:c1", "started", True),
        ("tool:c1", "progress", False),
        ("seq:5", "shown", True),
        ("tool:c1", "progress", False),
        ("tool:c1", "finished", False),
    ]
    b = v.blocks["tool:c1"]
    assert (b.kind, b.seq, b.title, b.status, b.glyph) == ("tool", 3, "search", "done", "✓")
    assert b.args == "city=Paris n=2"
    assert b.progress == ("Searching rooms… …", "Checking prices…")
    assert (b.result, b.output, b.duration_ms) == ("3 rooms …", "3 rooms\nlist", 12.5)
    assert list(v.blocks) == ["tool:c1", "seq:5"]  # the tool stands where it started


def test_tool_results_glyphs_and_one_cap() -> None:
    v = View()
    long = v.feed(it.ToolCall(call_id="a", name="f", status="done", output="x" * 300))
    assert long is not None and long.block.result == "x" * (OUTPUT_CAP - 1) + "…"
    cases = {
        "b": (it.ToolCall(call_id="b", name="f", status="cancelled"), "✗", "cancelled"),
        "c": (it.ToolCall(call_id="c", name="f", status="error", output=""), "✗", "error"),
        "d": (
            it.ToolCall(call_id="d", name="f", status="done", is_error=True, output="boom"),
            "✗",
            "boom",
        ),  # fmt: skip
        "e": (it.ToolCall(call_id="e", name="f", status="done", output=""), "✓", ""),
        "r": (it.ToolCall(call_id="r", name="f"), "⋯", ""),
    }
    for call, glyph, result in cases.values():
        u = v.feed(call)
        assert u is not None and (u.block.glyph, u.block.result) == (glyph, result), call
    assert v.blocks["tool:d"].status == "error" and v.blocks["tool:d"].failed


def test_what_is_not_shown() -> None:
    v = View()
    assert (
        feed(
            v,
            it.AgentState(old_state="listening", new_state="thinking"),
            it.Usage(),
            it.ConfigUpdate(),
            it.AgentMessage(text="  "),
            it.AgentError(message="stt unreachable", background=True),
            it.TurnFinished(status="ok", turn_id="t1"),
        )
        == [None] * 6
    )
    assert not v.blocks


def test_a_failed_turn_joins_the_error_event_of_its_turn() -> None:
    v = View()
    changes = feed(
        v,
        it.AgentError(seq=2, turn_id="t1", message="model error: boom (HTTP 500)", detail="raw"),
        it.TurnFinished(seq=3, turn_id="t1", status="error", error="other text"),
    )
    assert changes == [("seq:2", "shown", True), ("seq:2", "turn_error", False)]
    assert v.blocks["seq:2"].messages == ("model error: boom (HTTP 500)", "raw", "other text")
    # the same message again adds nothing
    assert feed(
        v,
        it.AgentError(seq=4, turn_id="t2", message="model error: x"),
        it.TurnFinished(seq=5, turn_id="t2", status="error", error="model error: x"),
    ) == [("seq:4", "shown", True), None]
    # a failed turn with no error event is a block of its own
    u = v.feed(it.TurnFinished(seq=6, turn_id="t3", status="error"))
    assert u is not None and (u.block.kind, u.block.title) == ("error", "the turn failed")


def test_cancelled_turns_and_their_late_items() -> None:
    v = View()
    v.feed(it.UserMessage(seq=1, turn_id="t1", text="book a   room\nplease"))
    v.feed(it.ToolCall(seq=2, turn_id="t1", call_id="c", name="slow"))
    assert v.turns.open == {"t1"}
    end = v.feed(it.TurnFinished(seq=3, turn_id="t1", status="cancelled"))
    assert end is not None
    b = end.block
    assert (b.kind, b.title, b.glyph, b.quote) == (
        "turn_end",
        "turn cancelled",
        "✗",
        "“book a room please”",
    )
    assert b.late == ""  # the end of the turn is not one of its late items
    assert v.turns.open == set() and v.turns.cancelled == {"t1"}
    late = v.feed(it.ToolCall(seq=4, turn_id="t1", call_id="c", name="slow", status="done"))
    reply = v.feed(it.AgentMessage(seq=5, turn_id="t1", text="Booked."))
    note = "late, from the cancelled turn “book a room please”"
    assert late is not None and late.block.late == note
    assert reply is not None and reply.block.late == note
    other = v.feed(it.AgentMessage(seq=6, turn_id="t2", text="hi"))
    assert other is not None and other.block.late == ""
    timeout = v.feed(it.TurnFinished(seq=7, turn_id="t2", status="timeout"))
    assert timeout is not None and timeout.block.title == "turn timed out"


def test_turns_latency_metrics_and_tokens() -> None:
    v = View()
    usage = {"kind": "llm", "input_tokens": 10, "output_tokens": 5}
    feed(
        v,
        it.Handoff(from_agent=None, to_agent="a"),
        it.UserMessage(turn_id="t1", text="hi"),
        it.AgentMessage(turn_id="t1", text="x", metrics={"llm_node_ttft": 0.0009}),
        it.ToolCall(turn_id="t1", call_id="c", name="lookup", status="done", duration_ms=1.2),
        it.Usage(models=[usage]),
        it.TurnFinished(turn_id="t1", status="ok", duration_ms=42.0),
    )
    t = v.turns
    assert t.is_finished("t1") and t.latency_ms == 42.0
    assert t.metrics == "ttft 0.9 ms · lookup 1.2 ms"
    assert t.tokens.session == (10, 5)
    # a new agent process counts from zero: the old counts are banked
    feed(
        v,
        it.Handoff(from_agent=None, to_agent="a"),
        it.Usage(models=[{**usage, "input_tokens": 1}]),
    )
    assert t.tokens.session == (11, 10)


def test_the_end_of_a_call_is_not_an_error() -> None:
    v = View()
    msg = "the agent ended the call; `parley start` starts a new session"
    u = v.feed(it.AgentError(message=msg, kind="call_ended"))
    assert u is not None and (u.block.kind, u.block.title, u.block.glyph) == (
        "ended", "the agent ended the call", "☎")  # fmt: skip
    assert u.block.body == "`parley start` starts a new session"
    # an older recording: the end_call tool ran, then the agent went away
    v.feed(it.ToolCall(call_id="e", name="end_call", status="done"))
    gone = v.feed(it.AgentError(message="the agent closed the connection"))
    assert gone is not None and gone.block.kind == "ended"
    # after a new first agent, a disconnect is an error again
    v.feed(it.Handoff(from_agent=None, to_agent="a"))
    crash = v.feed(it.AgentError(message="the agent exited with code -9"))
    assert crash is not None and crash.block.kind == "error"


def test_handoffs_reloads_and_escaping() -> None:
    v = View()
    first = v.feed(it.Handoff(from_agent=None, to_agent="concierge"))
    then = v.feed(it.Handoff(from_agent="concierge", to_agent="booking\x1b[2J"))
    assert first is not None and first.block.title == "agent: concierge"
    assert then is not None and then.block.title == "handoff: concierge → booking\\x1b[2J"
    ok = v.feed(it.Reload(files=["a.py", "b.py", "c.py", "d.py"], agent_pid=7, duration_ms=12.4))
    assert ok is not None and ok.block.title == "agent reloaded: a.py, b.py, c.py and 1 more"
    assert ok.block.body == "agent pid 7, 12 ms"
    bad = v.feed(it.Reload(files=["a.py"], error="SyntaxError"))
    assert bad is not None and bad.block.status == "error" and bad.block.body == "SyntaxError"
    assert (ok.block.glyph, bad.block.glyph) == ("↻", "✗")
    assert bad.block.title == "reload failed (a.py); the previous agent keeps running"


def test_format_ms() -> None:
    assert [format_ms(x) for x in (None, 0.0, 0.8, 120.4, 3200)] == [
        "–", "<0.1 ms", "0.8 ms", "120 ms", "3.2 s"]  # fmt: skip


def test_shows_says_whether_an_item_says_something() -> None:
    said = [
        it.UserMessage(text="hi"),
        it.AgentMessage(text="hello"),
        it.ToolCall(call_id="c", name="f", status="done"),
        it.AgentError(message="boom"),
        it.TurnFinished(status="cancelled"),
        it.Handoff(from_agent=None, to_agent="a"),
    ]
    quiet = [
        it.AgentState(old_state="listening", new_state="speaking"),
        it.Usage(),
        it.ConfigUpdate(),
        it.AgentMessage(text=" "),
        it.AgentError(message="stt unreachable", background=True),
        it.TurnFinished(status="ok"),
        it.ToolCall(call_id="c", name="f"),
        it.ToolCall(call_id="c", name="f", progress="working…"),
    ]
    assert all(shows(i) for i in said) and not any(shows(i) for i in quiet)
