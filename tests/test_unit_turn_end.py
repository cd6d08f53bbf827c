"""The end of a turn, progress items and readable errors, against the fake agent peer of
test_unit_engine (the e2e tests in test_e2e_turns run the same cases on the real runtime).
The fake sends the orderings traced on livekit-agents 1.8.9 (docs/protocol.md)."""

from __future__ import annotations

import asyncio

import pytest
from livekit.protocol.agent_pb import agent_session as pb
from test_unit_engine import Msg, added, assistant, connected, response, settle, user

from parley.app.agent import events as events_module
from parley.app.agent.convert import readable_error
from parley.app.protocol import items as it
from parley.headless.render import TextRenderer

TEU = pb.AgentSessionEvent.ToolExecutionUpdated


@pytest.fixture
def timers_never_lapse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's bounded waits (the quiet after a handoff, the grace for a tool output)
    last an hour: a turn then ends only on the events the test sends, so the test checks
    why a turn is still open by :meth:`SessionEngine.busy_reason` instead of sleeping less
    than a timer."""
    monkeypatch.setattr(events_module, "HANDOFF_QUIET", 3600.0)
    monkeypatch.setattr(events_module, "OUTPUT_GRACE", 3600.0)


def state(old: pb.AgentState, new: pb.AgentState) -> Msg:
    return Msg(
        event=pb.AgentSessionEvent(
            agent_state_changed=pb.AgentSessionEvent.AgentStateChanged(old_state=old, new_state=new)
        )
    )


def tool(update: TEU) -> Msg:
    return Msg(event=pb.AgentSessionEvent(tool_execution_updated=update))


def started(call: pb.FunctionCall) -> Msg:
    return tool(TEU(started=TEU.Started(function_call=call)))


def ended(call_id: str, message: str) -> Msg:
    return tool(
        TEU(ended=TEU.Ended(id=call_id, call_id=call_id, message=message, status=pb.TC_DONE))
    )


def executed(call: pb.FunctionCall, output: str) -> Msg:
    out = pb.FunctionCallOutput(call_id=call.call_id, name=call.name, output=output)
    return Msg(
        event=pb.AgentSessionEvent(
            function_tools_executed=pb.AgentSessionEvent.FunctionToolsExecuted(
                function_calls=[call], function_call_outputs=[out]
            )
        )
    )


def handoff(old: str, new: str, id: str) -> Msg:
    return added(
        pb.ChatContext.ChatItem(
            agent_handoff=pb.AgentHandoff(id=id, old_agent_id=old, new_agent_id=new)
        )
    )


@pytest.mark.usefixtures("timers_never_lapse")
async def test_items_after_the_response_of_a_completed_task_belong_to_its_turn() -> None:
    """TaskGroup completion (traced): the response comes right after the task's own
    handoff; the handoff back, the outer tool's result and the parent's reply follow."""
    onboard = pb.FunctionCall(call_id="c1", name="onboard", arguments="{}")
    boot = [handoff("", "front_desk", "h0"), state(pb.AS_INITIALIZING, pb.AS_LISTENING)]
    engine, agent, got, task = await connected(lambda t, r: [], boot)
    await settle(lambda: engine.agent_id == "front_desk")
    # turn 1 starts the tool, which hands over to a task that asks a question
    agent.on_run = lambda text, rid: [
        added(user(text, "u1")),
        state(pb.AS_LISTENING, pb.AS_THINKING),
        started(onboard),
        handoff("front_desk", "get_email_task", "h1"),
        added(assistant("What's your email address?", "m1")),
        state(pb.AS_THINKING, pb.AS_LISTENING),
        response(rid),
    ]
    first = await engine.run_turn("onboard me", "t1")
    assert first is not None and first.status == "ok"
    # turn 2 completes the task: the response overtakes the rest
    agent.on_run = lambda text, rid: [
        added(user(text, "u2")),
        state(pb.AS_LISTENING, pb.AS_THINKING),
        state(pb.AS_THINKING, pb.AS_LISTENING),
        handoff("get_email_task", "task_group", "h2"),
        response(rid),
    ]
    turn = asyncio.create_task(engine.run_turn("ann@example.com", "t2"))
    await settle(lambda: engine._settling == "t2")
    # the response came, but the new agent has not moved yet: the turn stays open
    await settle(lambda: engine.busy_reason()[0] == "a new agent is taking over")
    assert not turn.done()
    for m in [
        handoff("task_group", "front_desk", "h3"),
        ended("c1", "onboarded Ann"),
        executed(onboard, "onboarded Ann"),
    ]:
        agent.send(m)
    # the outer tool's output waits for the agent's move
    await settle(lambda: engine.busy_reason()[0] == "the agent has a tool output to answer")
    assert not turn.done()
    for m in [
        state(pb.AS_LISTENING, pb.AS_THINKING),
        state(pb.AS_THINKING, pb.AS_SPEAKING),
        added(assistant("All set, you're onboarded.", "m2")),
        state(pb.AS_SPEAKING, pb.AS_LISTENING),
    ]:
        agent.send(m)
    finished = await turn
    assert finished is not None and finished.status == "ok"
    mine = [i for i in got if i.turn_id == "t2"]
    assert mine[-1] is finished
    assert [i.to_agent for i in mine if isinstance(i, it.Handoff)] == ["task_group", "front_desk"]
    result = [i for i in mine if isinstance(i, it.ToolCall)]
    assert [(c.status, c.output) for c in result] == [("done", "onboarded Ann")]
    assert [i.text for i in mine if isinstance(i, it.AgentMessage)] == [
        "All set, you're onboarded."
    ]
    await engine.close()
    await task


@pytest.mark.usefixtures("timers_never_lapse")
async def test_progress_updates_are_items_and_the_result_comes_from_ended() -> None:
    search = pb.FunctionCall(call_id="c1", name="search_rooms", arguments="{}")
    update = TEU.CallUpdated
    synthetic = "The tool `search_rooms` has updated, message: Searching…"
    boot = [handoff("", "front_desk", "h0"), state(pb.AS_INITIALIZING, pb.AS_LISTENING)]

    def on_run(text: str, rid: str) -> list[Msg]:
        return [
            added(user(text, "u1")),
            state(pb.AS_LISTENING, pb.AS_THINKING),
            started(search),
            tool(TEU(call_updated=update(id="c1", call_id="c1", message="Searching…"))),
            executed(search, synthetic),
            added(assistant("One moment.", "m1")),
            state(pb.AS_THINKING, pb.AS_LISTENING),
            response(
                rid,
                pb.ChatContext.ChatItem(function_call=search),
                pb.ChatContext.ChatItem(
                    function_call_output=pb.FunctionCallOutput(
                        call_id="c1", name="search_rooms", output=synthetic
                    )
                ),
            ),
        ]

    engine, agent, got, task = await connected(on_run, boot)
    turn = asyncio.create_task(engine.run_turn("search", "t1"))
    await settle(lambda: engine._settling == "t1")
    await settle(lambda: engine.busy_reason()[0] == "tool search_rooms is running")
    assert not turn.done()  # the tool of the current agent still runs
    reply = TEU.ReplyUpdated
    for m in [
        tool(TEU(call_updated=update(id="c1_update_1", call_id="c1", message="Prices…"))),
        tool(
            TEU(reply_updated=reply(update_ids=["c1_final"], status=pb.TR_SCHEDULED, speech_id="s"))
        ),
        ended("c1", "Found 3 rooms."),
        state(pb.AS_LISTENING, pb.AS_THINKING),
        state(pb.AS_THINKING, pb.AS_SPEAKING),
        added(assistant("I found 3 rooms.", "m2")),
        state(pb.AS_SPEAKING, pb.AS_LISTENING),
    ]:
        agent.send(m)
    await settle(lambda: engine.busy_reason()[0] == "a tool reply is scheduled")
    assert not turn.done()  # the deferred reply is still scheduled
    agent.send(
        tool(
            TEU(reply_updated=reply(update_ids=["c1_final"], status=pb.TR_COMPLETED, speech_id="s"))
        )
    )
    finished = await turn
    assert finished is not None
    calls = [i for i in got if isinstance(i, it.ToolCall)]
    assert [(c.status, c.progress, c.output) for c in calls] == [
        ("running", None, None),
        ("running", "Searching…", None),
        ("running", "Prices…", None),
        ("done", None, "Found 3 rooms."),
    ]
    assert all(i.turn_id == "t1" for i in got if i.seq > 2)
    renderer = TextRenderer()
    text = "".join(renderer.render(i) for i in got if i.turn_id == "t1")
    assert text == (
        "\n  ● You\n    search\n"
        "\n  ● function_tool: search_rooms\n    … Searching…\n"
        "\n  ● Agent\n    One moment.\n"
        "\n  ● function_tool: search_rooms\n    … Prices…\n    ✓ Found 3 rooms.\n"
        "\n  ● Agent\n    I found 3 rooms.\n"
    )
    await engine.close()
    await task


@pytest.mark.usefixtures("timers_never_lapse")
async def test_an_echo_turn_ends_at_its_response_without_waiting() -> None:
    def on_run(text: str, rid: str) -> list[Msg]:
        return [
            added(user(text, "u1")),
            state(pb.AS_LISTENING, pb.AS_THINKING),
            state(pb.AS_THINKING, pb.AS_SPEAKING),
            added(assistant(f"echo: {text}", "m1")),
            state(pb.AS_SPEAKING, pb.AS_LISTENING),
            response(rid),
        ]

    engine, _, got, task = await connected(on_run, [state(pb.AS_INITIALIZING, pb.AS_LISTENING)])
    # no timer on this path: with the rule's timers at an hour, the turn still ends at its
    # response (the timeout only keeps a regression from hanging the suite)
    finished = await asyncio.wait_for(engine.run_turn("hi", "t1"), timeout=60)
    assert finished is not None and finished.status == "ok"
    assert engine.busy_reason() == (None, None)
    await engine.close()
    await task


def test_readable_errors() -> None:
    raw = (
        "type='llm_error' timestamp=1795826754.161576 label='scripted_llm.ScriptedLLM' "
        "error=APIStatusError('scripted model failure', status_code=500, request_id=None, "
        "body=None, retryable=False) recoverable=False"
    )
    assert readable_error(raw) == ("model error: scripted model failure (HTTP 500)", "model_error")
    resp = "message='scripted model failure', status_code=500, retryable=False"
    assert readable_error(resp) == ("model error: scripted model failure (HTTP 500)", None)
    tts = "type='tts_error' timestamp=1.0 error=APIConnectionError('no route') recoverable=True"
    assert readable_error(tts) == ("TTS error: no route", "tts_error")
    assert readable_error("internal error") == ("internal error", None)


def test_render_names_a_tool_before_what_it_causes_and_keeps_the_plain_block() -> None:
    r = TextRenderer()
    call = it.ToolCall(call_id="c", name="check", turn_id="t1")
    out = "".join(
        r.render(i)
        for i in [
            call,
            it.AgentMessage(text="Please hold."),
            it.ToolCall(call_id="c", name="check", status="done", output="free"),
            it.ToolCall(call_id="d", name="time"),
            it.ToolCall(call_id="d", name="time", status="done", output="12:00"),
        ]
    )
    assert out == (
        "\n  ● function_tool: check\n"
        "\n  ● Agent\n    Please hold.\n"
        "\n  ● function_tool: check\n    ✓ free\n"
        "\n  ● function_tool: time\n    ✓ 12:00\n"
    )
    # a tool still running when its turn ends is named
    r = TextRenderer()
    assert r.render(it.ToolCall(call_id="e", name="register")) == ""
    assert r.render(it.TurnFinished(status="ok")) == "\n  ● function_tool: register\n"


def test_render_a_model_error_once_and_the_end_of_a_call_as_no_crash() -> None:
    r = TextRenderer()
    msg = "model error: scripted model failure (HTTP 500)"
    out = r.render(it.AgentError(message=msg, kind="model_error", detail="type='llm_error' …"))
    out += r.render(it.TurnFinished(status="error", error=msg, detail="message='…'"))
    assert out == f"\n  ✗ {msg}\n"
    ended = it.AgentError(message="the agent ended the call; `parley start` …", kind="call_ended")
    assert r.render(ended) == "\n  ● the agent ended the call\n    `parley start` …\n"
