"""End to end: every turn complete, in order, with nothing lost, on an agent built the way
LiveKit's published examples are (testdata/agents/workflows.py: ``GetEmailTask``,
``TaskGroup``, a custom ``AgentTask``, ``RunContext.update`` progress, a TTS that answers
0.2 s late, a session-level tool). The real CLI, daemon and livekit-agents runtime; only
the model is scripted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AGENTS, Parley, wait_until

pytestmark = pytest.mark.e2e

WORKFLOWS = AGENTS / "workflows.py"
GREETING = "Welcome to the front desk! I can register you, search rooms or check availability."
EMAIL_QUESTION = "What's your email address?"
NAME_QUESTION = "Welcome! What's your name?"


def items(proc_stdout: str) -> list[dict]:
    return [json.loads(line) for line in proc_stdout.splitlines()]


def say_json(p: Parley, text: str) -> list[dict]:
    proc = p("say", "--json", text, check=True)
    objs = items(proc.stdout)
    assert objs[-1]["type"] == "turn_finished"
    return objs


def texts(objs: list[dict]) -> list[str]:
    return [o["text"] for o in objs if o["type"] == "agent_message"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """One session of the front desk agent (TTS latency 0.2 s) for this module."""
    p = Parley(tmp_path_factory.mktemp("parley-home"))
    p.env["PARLEY_TEST_TTS_LATENCY"] = "0.2"
    p.started = p("start", str(WORKFLOWS), check=True)  # type: ignore[attr-defined]
    yield p
    p.stop_quietly()


def test_start_shows_the_greeting_of_a_tts_with_latency(desk: Parley) -> None:
    out = desk.started.stdout  # type: ignore[attr-defined]
    assert GREETING in out
    assert out.index(GREETING) < out.index("Session started.")
    # session-level tools (AgentSession(tools=...)) are listed with the agent's own
    assert "Tools:      end_call, check_availability, onboard, register, search_rooms," in out
    assert "current_time" in out
    hist = items(desk("history", "--json", check=True).stdout)
    greeting = [o for o in hist if o["type"] == "agent_message" and o["text"] == GREETING]
    assert len(greeting) == 1
    assert greeting[0]["turn_id"] is None and greeting[0]["interrupted"] is False


def test_a_task_and_the_reply_after_it_belong_to_their_turn(desk: Parley) -> None:
    first = say_json(desk, "register me")
    turn = first[0]["turn_id"]
    assert all(o["turn_id"] == turn for o in first)
    assert texts(first) == [EMAIL_QUESTION]
    assert [(h["from_agent"], h["to_agent"]) for h in first if h["type"] == "handoff"] == [
        ("front_desk", "get_email_task")
    ]

    second = say_json(desk, "bob@example.com")
    turn = second[0]["turn_id"]
    assert all(o["turn_id"] == turn for o in second)
    # the handoff back, the outer tool's result and the parent's reply: all in this turn
    assert ("get_email_task", "front_desk") in [
        (h["from_agent"], h["to_agent"]) for h in second if h["type"] == "handoff"
    ]
    register = [o for o in second if o["type"] == "tool_call" and o["name"] == "register"]
    assert register[-1]["status"] == "done"
    assert register[-1]["output"] == "registered bob@example.com"
    assert texts(second)[-1] == "Thanks, you're registered."

    text = desk("say", "hello", check=True).stdout
    assert "registered" not in text and "handoff" not in text  # nothing trails into it


def test_a_task_group_in_a_tool_ends_in_the_turn_that_completes_it(desk: Parley) -> None:
    assert texts(say_json(desk, "onboard me")) == [NAME_QUESTION]
    assert texts(say_json(desk, "I'm Ann")) == [EMAIL_QUESTION]
    last = desk("say", "ann@example.com", check=True).stdout
    assert last.index("● handoff: get_email_task → task_group") < last.index(
        "● handoff: task_group → front_desk"
    )
    assert last.index("● handoff: task_group → front_desk") < last.index(
        "  ● function_tool: onboard\n    ✓ onboarded Ann ann@example.com\n"
    )
    assert last.rstrip().endswith("● Agent\n    All set, you're onboarded.")


def test_progress_updates_and_the_result_are_shown_in_their_turn(desk: Parley) -> None:
    objs = say_json(desk, "search 2")
    assert all(o["turn_id"] == objs[0]["turn_id"] for o in objs)
    calls = [o for o in objs if o["type"] == "tool_call"]
    assert [c.get("progress") for c in calls if c["status"] == "running"] == [
        None,
        "Searching rooms…",
        "Checking prices…",
    ]
    final = calls[-1]
    assert final["status"] == "done" and final["output"] == "Found 3 rooms from $120 a night."
    assert texts(objs)[-1] == "I found 3 rooms from $120 a night."

    text = desk("say", "search 2", check=True).stdout
    assert text.startswith(
        "\n  ● You\n    search 2\n\n  ● function_tool: search_rooms\n    … Searching rooms…\n"
    )
    order = [
        "    … Searching rooms…",
        "    … Checking prices…",
        "    ✓ Found 3 rooms from $120 a night.",
        "    I found 3 rooms from $120 a night.",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)


def test_a_tool_is_named_before_the_speech_it_causes(desk: Parley) -> None:
    text = desk("say", "check please", check=True).stdout
    order = [
        "  ● function_tool: check_availability\n",
        "  ● Agent\n    Please hold while I check.\n",
        "  ● function_tool: check_availability\n    ✓ Room 12 is free tonight.\n",
        "  ● Agent\n    Good news: room 12 is free tonight.\n",
    ]
    positions = [text.index(block) for block in order]
    assert positions == sorted(positions)
    # the plain case keeps the one-block form
    plain = desk("say", "what time is it", check=True).stdout
    assert "  ● function_tool: current_time\n    ✓ 12:00\n\n  ● Agent\n" in plain


def test_the_next_turn_waits_until_the_agent_has_answered(desk: Parley) -> None:
    queued = desk("say", "--no-wait", "--json", "search 2", check=True)
    searching = json.loads(queued.stdout)["turn_id"]
    after = say_json(desk, "check please")  # sent while the search still runs
    assert texts(after)[-1] == "Good news: room 12 is free tonight."
    assert not [o for o in after if o["type"] == "agent_error"]
    hist = items(desk("history", "--json", check=True).stdout)
    search = [o for o in hist if o["turn_id"] == searching]
    assert texts(search)[-1] == "I found 3 rooms from $120 a night."
    done = [o for o in search if o["type"] == "turn_finished"]
    assert done and done[0]["status"] == "ok"
    # the search's turn finished before the next turn's first item
    first_after = min(o["seq"] for o in after if o["turn_id"] == after[-1]["turn_id"])
    assert max(o["seq"] for o in search) < first_after


def test_a_model_failure_is_one_readable_line(desk: Parley) -> None:
    proc = desk("say", "explode")
    assert proc.returncode == 1
    errors = [line for line in proc.stdout.splitlines() if "✗" in line]
    assert errors == ["  ✗ model error: scripted model failure (HTTP 500)"]
    objs = items(desk("say", "--json", "explode").stdout)
    error = next(o for o in objs if o["type"] == "agent_error")
    assert error["kind"] == "model_error"
    assert error["message"] == "model error: scripted model failure (HTTP 500)"
    assert "APIStatusError" in error["detail"]
    assert objs[-1]["status"] == "error" and "status_code=500" in objs[-1]["detail"]


def test_start_reports_the_agent_in_charge_after_boot(parley_home: Path) -> None:
    p = Parley(parley_home)
    p.env["PARLEY_TEST_BOOT_TASKS"] = "1"
    try:
        started = p("start", str(WORKFLOWS), check=True).stdout
        assert "Agent:      intro_task" in started
        assert "Tools:      record_name, current_time" in started
        assert NAME_QUESTION in started
        status = json.loads(p("status", "--json", check=True).stdout)
        assert status["agent_id"] == "intro_task"
    finally:
        p.stop_quietly()


def test_an_agent_that_ends_the_call_is_not_a_crash(parley_home: Path) -> None:
    p = Parley(parley_home)
    try:
        p("start", str(WORKFLOWS), check=True)
        bye = p("say", "bye", check=True).stdout
        assert "Goodbye, and enjoy your stay!" in bye
        wait_until(
            lambda: (
                json.loads(p("status", "--json", check=True).stdout)["agent_state"]
                == "disconnected"
            )
        )
        assert json.loads(p("status", "--json", check=True).stdout)["call_ended"] is True
        assert "front_desk (call ended)" in p("status", check=True).stdout
        after = p("say", "hello?")
        assert after.returncode == 1
        assert after.stderr.startswith("parley: the agent ended the call")
        assert "`parley start` starts a new session" in after.stderr
        ended = wait_until(
            lambda: [
                o
                for o in items(p("history", "--json", check=True).stdout)
                if o["type"] == "agent_error"
            ]
        )
        assert [o["kind"] for o in ended] == ["call_ended"]
        text = p("history", check=True).stdout
        assert "  ● the agent ended the call\n" in text and "✗" not in text
        # a new start there needs no stop
        again = p("start", str(WORKFLOWS), check=True)
        assert GREETING in again.stdout
        assert "ended that session" in again.stderr
        assert "Thanks" not in p("say", "hello", check=True).stdout
    finally:
        p.stop_quietly()
