"""The session engine against a fake agent peer (unit level: the e2e tests use the
real livekit-agents runtime). The fake lets us force orderings the real agent only
produces under load: events arriving after their turn's response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from livekit.protocol.agent_pb import agent_session as pb

from parley.app.agent.engine import AgentDied, EngineError, SessionEngine
from parley.app.protocol import items as it
from parley.app.protocol.wire import SkippedFrame, encode_frame, read_frame

Msg = pb.AgentSessionMessage


def user(text: str, id: str = "u1") -> pb.ChatContext.ChatItem:
    return pb.ChatContext.ChatItem(
        message=pb.ChatMessage(id=id, role=pb.USER, content=[pb.ChatMessage.ChatContent(text=text)])
    )


def assistant(text: str, id: str = "m1") -> pb.ChatContext.ChatItem:
    return pb.ChatContext.ChatItem(
        message=pb.ChatMessage(
            id=id, role=pb.ASSISTANT, content=[pb.ChatMessage.ChatContent(text=text)]
        )
    )


def added(ci: pb.ChatContext.ChatItem) -> Msg:
    return Msg(
        event=pb.AgentSessionEvent(
            conversation_item_added=pb.AgentSessionEvent.ConversationItemAdded(item=ci)
        )
    )


class FakeAgent:
    """Dials the engine like `livekit.agents console --connect-addr` and answers
    requests with a script: ``on_run(text, request_id) -> list of messages``."""

    def __init__(self, on_run: Callable[[str, str], list[Msg]]) -> None:
        self.on_run = on_run
        self.received: list[Msg] = []
        self.writer: asyncio.StreamWriter | None = None

    async def serve(self, port: int, boot: list[Msg] = ()) -> None:  # type: ignore[assignment]
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        for m in boot:
            self.send(m)
        while (msg := await read_frame(reader)) is not None:
            assert not isinstance(msg, SkippedFrame), f"parley sent a bad frame: {msg}"
            self.received.append(msg)
            if msg.HasField("request"):
                req = msg.request
                if req.HasField("run_input"):
                    for out in self.on_run(req.run_input.text, req.request_id):
                        self.send(out)
                elif req.HasField("get_agent_info"):
                    info = pb.SessionResponse.GetAgentInfoResponse(id="fake", tools=["f"])
                    self.send(
                        Msg(
                            response=pb.SessionResponse(
                                request_id=req.request_id, get_agent_info=info
                            )
                        )
                    )
                else:
                    self.send(Msg(response=pb.SessionResponse(request_id=req.request_id)))
        self.writer.close()

    def send(self, m: Msg) -> None:
        assert self.writer is not None
        self.writer.write(encode_frame(m))


async def connected(
    on_run: Callable[[str, str], list[Msg]],
    boot: list[Msg] = (),  # type: ignore[assignment]
) -> tuple[SessionEngine, FakeAgent, list[it.ChatItem], asyncio.Task[None]]:
    got: list[it.ChatItem] = []
    engine = SessionEngine(got.append)
    port = await engine.listen()
    agent = FakeAgent(on_run)
    task = asyncio.create_task(agent.serve(port, boot))
    await engine.connect(None, "/nonexistent", timeout=5)
    return engine, agent, got, task


def response(req_id: str, *items: pb.ChatContext.ChatItem, error: str | None = None) -> Msg:
    return Msg(
        response=pb.SessionResponse(
            request_id=req_id,
            error=error,
            run_input=pb.SessionResponse.RunInputResponse(items=list(items)),
        )
    )


async def settle(cond: Callable[[], bool], limit: float = 60.0) -> None:
    """Wait until ``cond()`` holds; fail only after a generous ``limit`` (seconds), so a
    loaded machine is never mistaken for a bug."""

    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), limit)
    except asyncio.TimeoutError:
        raise AssertionError(f"condition not met within {limit} s") from None


async def test_text_mode_is_the_first_request() -> None:
    engine, agent, _, task = await connected(lambda t, r: [])
    first = agent.received[0].request
    assert first.HasField("update_io")
    assert first.update_io.input.audio_enabled is False
    assert first.update_io.output.audio_enabled is False
    assert first.update_io.output.transcription_enabled is False
    await engine.close()
    await task


async def test_flush_is_acknowledged_and_audio_dropped() -> None:
    boot = [
        Msg(audio_output=Msg.ConsoleIO.AudioFrame(data=b"\0" * 320)),
        Msg(audio_playback_flush=Msg.ConsoleIO.AudioPlaybackFlush()),
    ]
    engine, agent, got, task = await connected(lambda t, r: [], boot)
    await settle(lambda: any(m.HasField("audio_playback_finished") for m in agent.received))
    assert got == []  # audio is not a chat item
    await engine.close()
    await task


async def test_events_after_the_response_are_merged_once() -> None:
    call = pb.FunctionCall(call_id="c1", name="f", arguments='{"x": 1}')
    out = pb.FunctionCallOutput(call_id="c1", name="f", output="42")

    def on_run(text: str, req_id: str) -> list[Msg]:
        late = [
            added(user(text)),
            Msg(
                event=pb.AgentSessionEvent(
                    function_tools_executed=pb.AgentSessionEvent.FunctionToolsExecuted(
                        function_calls=[call], function_call_outputs=[out]
                    )
                )
            ),
            added(assistant("the answer is 42")),
        ]
        # the response overtakes its own events, as the agent's two writers allow
        return [
            response(
                req_id,
                user(text),
                pb.ChatContext.ChatItem(function_call=call),
                pb.ChatContext.ChatItem(function_call_output=out),
                assistant("the answer is 42"),
            ),
            *late,
        ]

    engine, _, got, task = await connected(on_run)
    finished = await engine.run_turn("question", "t1")
    assert finished is not None and finished.status == "ok"
    # a round trip: the agent sent the late duplicates before this answer, so the engine
    # has read them (and must have dropped them) once it returns
    await engine.agent_info()
    kinds = [(i.type, getattr(i, "status", None)) for i in got]
    assert kinds == [
        ("user_message", None),
        ("tool_call", "running"),
        ("tool_call", "done"),
        ("agent_message", None),
        ("turn_finished", "ok"),
    ]
    assert all(i.turn_id == "t1" for i in got)
    assert [i.seq for i in got] == [1, 2, 3, 4, 5]
    tool_done = got[2]
    assert isinstance(tool_done, it.ToolCall) and tool_done.output == "42"
    assert tool_done.arguments == '{"x": 1}'
    await engine.close()
    await task


async def test_error_response_ends_turn_with_error_and_unprompted_items_have_no_turn() -> None:
    def on_run(text: str, req_id: str) -> list[Msg]:
        return [response(req_id, error="model down")]

    engine, agent, got, task = await connected(on_run)
    finished = await engine.run_turn("hi", "t1")
    assert finished is not None
    assert (finished.status, finished.error) == ("error", "model down")
    agent.send(added(assistant("later", id="m9")))  # e.g. a background tool's reply
    await settle(lambda: len(got) == 3)
    late = got[-1]
    assert isinstance(late, it.AgentMessage) and late.turn_id is None  # kept, not dropped
    await engine.close()
    await task


async def test_handoffs_track_the_current_agent() -> None:
    boot = [
        added(pb.ChatContext.ChatItem(agent_handoff=pb.AgentHandoff(id="h1", new_agent_id="a")))
    ]

    def on_run(text: str, req_id: str) -> list[Msg]:
        h = pb.AgentHandoff(id="h2", old_agent_id="a", new_agent_id="b")
        return [
            added(pb.ChatContext.ChatItem(agent_handoff=h)),
            added(assistant("hi from b")),
            response(req_id),
        ]

    engine, _, got, task = await connected(on_run, boot)
    await settle(lambda: len(got) == 1)
    assert got[0] == it.Handoff(seq=1, ts=got[0].ts, from_agent=None, to_agent="a")
    await engine.run_turn("go", "t1")
    handoff, reply = got[2], got[3]
    assert isinstance(handoff, it.Handoff) and (handoff.from_agent, handoff.to_agent) == ("a", "b")
    assert isinstance(reply, it.AgentMessage) and reply.agent_id == "b"
    await engine.close()
    await task


async def test_cancel_finishes_the_turn_once_and_keeps_late_items_under_it() -> None:
    pending: list[str] = []

    def on_run(text: str, req_id: str) -> list[Msg]:
        pending.append(req_id)
        return []

    engine, agent, got, task = await connected(on_run)
    run = asyncio.create_task(engine.run_turn("slow", "t1"))
    await settle(lambda: bool(pending))
    cancelled = engine.cancel_turn()
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.turn_id == "t1"
    assert engine.cancel_turn() is None  # once
    agent.send(response(pending[0], assistant("too late", id="m5")))
    assert await run is None  # no second turn_finished
    late = [i for i in got if isinstance(i, it.AgentMessage)]
    assert late and late[0].turn_id == "t1"
    assert [i.type for i in got].count("turn_finished") == 1
    await engine.close()
    await task


async def test_agent_that_dies_before_connecting_is_reported_with_its_log(tmp_path) -> None:
    import subprocess
    import sys

    log = tmp_path / "agent.log"
    log.write_text("Traceback...\nSyntaxError: invalid syntax\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    engine = SessionEngine(lambda i: None)
    await engine.listen()
    try:
        await engine.connect(proc, str(log), timeout=30)
    except AgentDied as e:
        assert "code 3" in str(e) and "SyntaxError" in e.log_tail
    else:  # a connect that waited for its timeout would raise ConnectTimeout instead
        raise AssertionError("expected AgentDied")


async def test_disconnect_fails_pending_requests() -> None:
    def on_run(text: str, req_id: str) -> list[Msg]:
        return []

    engine, agent, got, task = await connected(on_run)
    run = asyncio.create_task(engine.run_turn("hi", "t1"))
    await settle(lambda: any(m.request.HasField("run_input") for m in agent.received))
    assert agent.writer is not None
    agent.writer.close()  # the agent goes away mid-turn
    finished = await asyncio.wait_for(run, 5)
    assert finished is not None and finished.status == "error"
    assert engine.disconnected.is_set()
    try:
        await engine.agent_info()
    except EngineError as e:
        assert "not connected" in str(e)
    else:
        raise AssertionError("expected EngineError")
    task.cancel()


async def test_after_a_cancel_events_belong_to_the_oldest_unanswered_run_input() -> None:
    requests: list[str] = []

    def on_run(text: str, req_id: str) -> list[Msg]:
        requests.append(req_id)
        return []

    engine, agent, got, task = await connected(on_run)
    first = asyncio.create_task(engine.run_turn("slow tool", "t1"))
    await settle(lambda: len(requests) == 1)
    engine.cancel_turn()
    second = asyncio.create_task(engine.run_turn("next", "t2"))
    await settle(lambda: len(requests) == 2)
    # the agent finishes the cancelled turn's tool, answers it, then runs the next turn
    agent.send(added(assistant("tool result for t1", id="a1")))
    agent.send(response(requests[0]))
    agent.send(added(assistant("reply for t2", id="a2")))
    agent.send(response(requests[1]))
    assert await first is None
    finished = await second
    assert finished is not None and finished.status == "ok"
    by_text = {i.text: i.turn_id for i in got if isinstance(i, it.AgentMessage)}
    assert by_text == {"tool result for t1": "t1", "reply for t2": "t2"}
    await engine.close()
    await task


async def test_a_turn_cancelled_before_it_is_sent_never_reaches_the_agent() -> None:
    engine, agent, got, task = await connected(lambda t, r: [])
    engine.begin_turn("never sent", "t1")  # what the session's worker does first
    cancelled = engine.cancel_turn("t1")
    assert cancelled is not None and cancelled.turn_id == "t1"
    assert await engine.run_turn("never sent", "t1") is None
    await engine.agent_info()  # a later request: the agent has read all sent before it
    assert not any(m.request.HasField("run_input") for m in agent.received)
    assert [(i.type, i.turn_id) for i in got] == [("user_message", "t1"), ("turn_finished", "t1")]
    assert engine.cancel_turn("t1") is None and engine.cancel_turn("t9") is None
    await engine.close()
    await task


async def test_a_malformed_answer_fails_its_request_and_the_connection_goes_on() -> None:
    import struct

    engine, agent, got, task = await connected(lambda text, rid: [])
    # answer get_chat_history with a frame that names its request but does not parse
    original = agent.send

    def send(m: Msg) -> None:
        last = agent.received[-1]
        if m.HasField("response") and last.request.HasField("get_chat_history"):
            data = m.SerializeToString() + b"\xff\xff\xff"
            assert agent.writer is not None
            agent.writer.write(struct.pack(">I", len(data)) + data)
        else:
            original(m)

    agent.send = send  # type: ignore[method-assign]
    try:
        await engine.chat_history()
    except EngineError as e:
        assert "could not be read" in str(e) and "malformed" in str(e)
    else:
        raise AssertionError("a malformed answer must fail its request")
    assert not engine.disconnected.is_set()
    assert (await engine.agent_info())["id"] == "fake"  # the session goes on
    await engine.close()
    task.cancel()
