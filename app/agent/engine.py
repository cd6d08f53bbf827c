"""The session engine: one agent connection turned into the chat-item stream.

The engine owns the loopback TCP listener the agent dials, accepts exactly one
connection, switches the agent to text mode, sends ``SessionRequest``\\ s and matches
``SessionResponse``\\ s by ``request_id``, runs turns, and hands on chat items
(:mod:`parley.app.protocol.items`, numbered with ``seq``, stamped with the running
``turn_id``). The conversion of ``AgentSessionEvent``\\ s into those items, and the rule
that says when the agent has finished answering, are its base class
(:class:`parley.app.agent.events.EventTranslator`).

Protocol facts it relies on (measured against livekit-agents 1.8.9, see docs/protocol.md):

- text mode is ``SessionRequest.update_io`` with input audio, output audio and output
  transcription off; ``audio_output`` frames are dropped and every
  ``audio_playback_flush`` is answered with ``audio_playback_finished`` (or turns hang);
- a turn is ``run_input{text}``. Its ``SessionResponse`` (same ``request_id``) is the
  framework's "run finished", which comes too early for tasks, handoffs and tools that
  report progress: the turn ends when the agent is idle again (:meth:`wait_idle`).
  The agent sends events from a separate writer task, so events can also arrive
  *after* the response: the response's ``RunInputResponse.items`` (messages, handoffs,
  calls) are merged in (:mod:`parley.app.agent.events` deduplicates them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

from livekit.protocol.agent_pb import agent_session as pb

from parley.app.agent import node_compat, procwait
from parley.app.agent.agentlog import JobFailureWatch, tail
from parley.app.agent.convert import history_items, readable_error
from parley.app.agent.events import EventTranslator
from parley.app.agent.peer import connection_is_from
from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo
from parley.app.protocol.wire import FrameError, SkippedFrame, encode_frame, read_frame

log = logging.getLogger("parley.engine")

ItemSink = Callable[[it.ChatItem], None]

#: ``start`` waits at most this long for the agent to be idle after boot, seconds
BOOT_SETTLE_TIMEOUT = 10.0
#: how often :meth:`SessionEngine.connect` reads what the agent's log gained while the
#: agent boots (seconds)
JOB_LOG_CHECK = 0.05

#: a connection to the agent port, waiting for :meth:`SessionEngine.connect` to vet it
Candidate = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class EngineError(ParleyError):
    """The agent cannot be reached or answered a request with an error."""


class AgentDied(EngineError):
    """The agent process exited (before or after connecting). ``log_tail`` holds the
    last lines of its log."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class ConnectTimeout(EngineError):
    """The agent process is running but did not dial in within the time allowed."""


class SessionEngine(EventTranslator):
    """One agent connection and its chat items.

    ``sink`` is called (on the event loop) with every item, numbered and stamped, in
    order. Use :meth:`listen`, spawn the agent with the returned port, then
    :meth:`connect`; after that :meth:`run_turn` and the request helpers.
    """

    def __init__(self, sink: ItemSink, *, first_seq: int = 1) -> None:
        super().__init__()
        self._sink = sink
        self._seq = itertools.count(first_seq)
        self._server: asyncio.AbstractServer | None = None
        self._candidates: asyncio.Queue[Candidate]
        self._candidates = asyncio.Queue()
        #: peers (ip, port) refused on the agent port: not the agent's processes
        self.refused: list[tuple[str, int]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._recv_task: asyncio.Task[None] | None = None
        self._held: list[pb.AgentSessionEvent] | None = None  # events held at connect
        self._pending: dict[str, asyncio.Future[pb.SessionResponse]] = {}
        self._req_ids = itertools.count(1)
        self.disconnected = asyncio.Event()
        self.port = 0
        # conversation state
        #: the turn in progress, from the caller's view (None between turns)
        self.turn_id: str | None = None
        # run_input requests the agent has not answered yet: request_id -> (turn_id, text).
        # The agent answers them in order, so events belong to the oldest one; with none
        # outstanding an event is unprompted (turn_id None).
        self._outstanding: dict[str, tuple[str, str]] = {}
        self._cancelled: set[str] = set()
        self._turn_started = 0.0
        # the end of a turn (see wait_idle)
        #: the turn whose response arrived and that has not ended yet: events are its own
        self._settling: str | None = None
        self._changed = asyncio.Event()  # set on every frame received

    # -- connection -------------------------------------------------------------

    async def listen(self, sock: socket.socket | None = None) -> int:
        """Bind ``127.0.0.1:0`` (or take ``sock``, already listening there) and return
        the port the agent must dial. Connections wait for :meth:`connect` to vet
        them."""

        def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            if self._reader is not None:
                w.close()  # exactly one agent per session
                return
            self._candidates.put_nowait((r, w))

        if sock is not None:
            self._server = await asyncio.start_server(on_connect, sock=sock)
        else:
            self._server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def connect(
        self,
        proc: subprocess.Popen[bytes] | None,
        log_path: str,
        timeout: float = 60.0,
        log_offset: int | None = None,
    ) -> None:
        """Wait for the agent to dial in, then switch it to text mode.

        Only a connection whose peer socket belongs to ``proc`` or one of its
        descendants is admitted (:func:`parley.app.agent.peer.peer_is_in_tree`: the port is
        in the agent's command line, readable by every local user); any other is
        closed at once and logged, and the wait goes on. ``proc`` ``None`` admits the
        first connection (a caller that dials in-process, e.g. a test's fake agent).

        Awaits whichever comes first: a connection, or the exit of ``proc``
        (:func:`parley.app.agent.procwait.exited`), so an agent that dies before
        connecting is reported as it exits, with its log tail. Meanwhile it reads what
        the agent's log gained every :data:`JOB_LOG_CHECK` seconds
        (:class:`parley.app.agent.agentlog.JobFailureWatch`; a file's growth is no event
        the loop can await), so a job that fails before its session starts (the
        entrypoint raised; the process stays up) is reported as soon as livekit-agents
        logs it, with the exception and its traceback's last lines. Raises
        :class:`AgentDied` or :class:`ConnectTimeout`; the listener is closed either
        way once this returns (one connection only).

        ``log_offset`` is where this boot's lines start in the log (bytes; default: the
        log's size now).
        """
        assert self._server is not None
        deadline = time.monotonic() + timeout
        accepted: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        job = JobFailureWatch(log_path, offset=log_offset)
        exit_: asyncio.Future[int | None] | None = None
        if proc is not None:
            exit_ = asyncio.ensure_future(procwait.exited(proc))
        dialed: asyncio.Future[Candidate] | None = None
        try:
            while accepted is None:
                if exit_ is not None and exit_.done():
                    raise AgentDied(
                        f"the agent exited with code {exit_.result()} before connecting",
                        tail(log_path),
                    )
                failure = job.poll(time.monotonic())
                if failure is not None:  # the process lives on, but will never dial in
                    raise AgentDied(failure.message, failure.detail)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConnectTimeout(
                        f"the agent did not connect within {timeout:.0f} s "
                        "(is it a livekit-agents AgentServer with an rtc_session entrypoint?)"
                    )
                if dialed is None:
                    dialed = asyncio.ensure_future(self._candidates.get())
                await asyncio.wait(
                    [f for f in (dialed, exit_) if f is not None],
                    timeout=min(left, JOB_LOG_CHECK),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not dialed.done() or (exit_ is not None and exit_.done()):
                    continue
                r, w = dialed.result()
                dialed = None
                if proc is None or await connection_is_from(proc.pid, w):
                    accepted = (r, w)
                else:
                    peer = w.get_extra_info("peername")
                    self.refused.append(tuple(peer[:2]) if peer else ("?", 0))
                    log.warning(
                        "refused a connection to the agent port %d from %s: it is not the "
                        "agent (pid %d) or one of its processes",
                        self.port,
                        peer,
                        proc.pid,
                    )
                    w.close()
        finally:
            if exit_ is not None:
                exit_.cancel()
            if dialed is not None:
                if dialed.done() and not dialed.cancelled():
                    dialed.result()[1].close()
                dialed.cancel()
            self._server.close()
            while not self._candidates.empty():  # late dialers: refused with the listener
                self._candidates.get_nowait()[1].close()
        self._reader, self._writer = accepted
        # events are held until the agent says which framework and agent it is: a Node
        # agent greets as soon as it connects, and its first-agent handoff (made from
        # get_agent_info, see node_compat) must come before the greeting, as a Python
        # agent's does
        self._held = []
        self._recv_task = asyncio.create_task(self._recv_loop(), name="parley-engine-recv")
        # text mode first; the framework and the first agent are asked for in the same
        # breath
        text_mode = pb.SessionRequest.UpdateIO(
            input=pb.SessionRequest.UpdateIO.Input(audio_enabled=False),
            output=pb.SessionRequest.UpdateIO.Output(
                audio_enabled=False, transcription_enabled=False
            ),
        )
        await asyncio.gather(self.request(update_io=text_mode), node_compat.learn_framework(self))

    async def close(self) -> None:
        """Close the connection (the agent process is stopped by its owner)."""
        if self._server is not None:
            self._server.close()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._recv_task is not None:
            self._recv_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recv_task

    def set_sink(self, sink: ItemSink | None, first_seq: int | None = None) -> None:
        """Hand items to ``sink`` from now on (``None``: drop them), the next one
        numbered ``first_seq`` if given. Used when a session swaps agents on a
        reload (:mod:`parley.app.session.reload`): the old engine goes quiet, the new one continues
        the session's numbering."""
        self._sink = sink if sink is not None else (lambda item: None)
        if first_seq is not None:
            self._seq = itertools.count(first_seq)

    # -- requests -----------------------------------------------------------------

    def _send(self, msg: pb.AgentSessionMessage) -> None:
        if self._writer is None or self.disconnected.is_set():
            raise EngineError("the agent is not connected")
        self._writer.write(encode_frame(msg))

    async def request(
        self, timeout: float | None = 30.0, *, turn: tuple[str, str] | None = None, **kind: Any
    ) -> pb.SessionResponse:
        """Send ``SessionRequest(<kind>=...)`` and wait for its response.

        ``kind`` is exactly one of the request's oneof fields, e.g.
        ``request(get_agent_info=pb.SessionRequest.GetAgentInfo())``. Raises
        :class:`EngineError` if the agent is gone, the response carries ``error``
        (except for ``run_input``, whose caller reads it), or ``timeout`` seconds
        pass; :class:`parley.app.protocol.wire.FrameTooLarge` for an oversized request. ``turn`` is
        ``(turn_id, text)`` for a ``run_input``: events are tagged with it until the
        response arrives.
        """
        req_id = f"parley-{next(self._req_ids)}"
        fut: asyncio.Future[pb.SessionResponse] = asyncio.get_running_loop().create_future()
        self._send(pb.AgentSessionMessage(request=pb.SessionRequest(request_id=req_id, **kind)))
        self._pending[req_id] = fut
        if turn is not None:
            self._outstanding[req_id] = turn
        try:
            resp = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise EngineError(f"the agent did not answer {next(iter(kind))} in time") from None
        finally:
            self._pending.pop(req_id, None)
            self._outstanding.pop(req_id, None)
        if resp.HasField("error") and "run_input" not in kind:
            raise EngineError(f"{next(iter(kind))} failed: {resp.error}")
        return resp

    async def agent_info(self) -> AgentInfo:
        """The current agent (``get_agent_info``): its id, instructions and tools.

        ``tools`` are the names the model can call: the agent's own tools
        (``GetAgentInfoResponse.tools``, which livekit-agents 1.8.9 builds from
        ``agent.tools`` only), then those of session-level tools and toolsets (MCP
        servers), which only the agent's ``AgentConfigUpdate`` items in its
        ``chat_ctx`` list (their ``tools_added``/``tools_removed`` cover every tool of
        the activity).
        """
        r = (await self.request(get_agent_info=pb.SessionRequest.GetAgentInfo())).get_agent_info
        tools = list(r.tools)
        configured: list[str] = []
        for ci in r.chat_ctx:
            if ci.WhichOneof("item") == "agent_config_update":
                removed = set(ci.agent_config_update.tools_removed)
                configured = [t for t in configured if t not in removed]
                configured += [t for t in ci.agent_config_update.tools_added if t not in configured]
        tools += [t for t in configured if t not in tools]
        return {"id": r.id, "instructions": r.instructions, "tools": tools}

    async def chat_history(self) -> list[it.ChatItem]:
        """What the model saw (``get_chat_history``), as unnumbered chat items."""
        resp = await self.request(get_chat_history=pb.SessionRequest.GetChatHistory())
        items = history_items(resp.get_chat_history.items)
        return node_compat.decode_history(self.framework, items)

    # -- turns --------------------------------------------------------------------

    def begin_turn(self, text: str, turn_id: str) -> None:
        """Make ``turn_id`` the running turn and emit its user message (synchronous,
        so a cancel right after it always finds the turn)."""
        self._booting = self._boot_thinking = False
        self.turn_id = turn_id
        self._own_inputs[turn_id] = text
        self._turn_started = time.monotonic()
        self.emit(it.UserMessage(text=text, turn_id=turn_id))

    async def run_turn(self, text: str, turn_id: str) -> it.TurnFinished | None:
        """Run one turn: emit the user message (unless :meth:`begin_turn` did), send
        ``run_input``, emit what the agent does, and finish with a ``turn_finished``
        item (also returned).

        The agent interrupts its own running speech on a new ``run_input``; callers
        serialise turns. Never raises for agent-side failures: they end the turn with
        status ``error``. Returns ``None`` when the turn was cancelled meanwhile
        (:meth:`cancel_turn` already finished it): before it was sent, it is not sent;
        after, the agent's items for it are still recorded under its id.
        """
        if turn_id in self._cancelled:  # cancelled before it was sent: never send it
            self._own_inputs.pop(turn_id, None)
            return None
        if self.turn_id != turn_id:
            self.begin_turn(text, turn_id)
        started = self._turn_started
        status: it.TurnStatus = "ok"
        error: str | None = None
        reason: str | None = None
        detail: str | None = None
        try:
            if not await node_compat.previous_run_answered(self, turn_id):
                return None  # cancelled while a Node agent finished the previous run
            self._sent_at[turn_id] = time.time()
            resp = await self.request(
                timeout=None, turn=(turn_id, text), run_input=pb.SessionRequest.RunInput(text=text)
            )
            if resp.HasField("error"):
                failure = self._turn_error.get(turn_id)
                status, error, reason = node_compat.run_error_status(failure, resp.error)
                if status == "error":
                    detail = resp.error
                    error = error or failure or readable_error(resp.error)[0]
                    if error == detail:
                        detail = None
            # the response is only "run finished": the agent may still answer the turn
            await self.wait_idle(done=lambda: turn_id in self._cancelled)
        except (EngineError, FrameError) as e:
            status, error = "error", str(e)
        self._own_inputs.pop(turn_id, None)
        self._turn_error.pop(turn_id, None)
        if turn_id in self._cancelled:
            return None
        return self.finish_turn(
            status, error, (time.monotonic() - started) * 1000, detail, reason=reason
        )

    def cancel_turn(self, turn_id: str | None = None) -> it.TurnFinished | None:
        """End the running turn (if ``turn_id`` is given: only if it is that one) as
        ``cancelled`` now, for every follower.

        The protocol has no cancel request: the agent goes on with the turn until the
        next ``run_input`` interrupts its speech (a running tool runs to its end).
        Whatever it sends until it answers the cancelled ``run_input`` is recorded
        under the cancelled turn's id. Returns the ``turn_finished`` item, or ``None``
        when no turn runs.
        """
        if turn_id is None:
            turn_id = self.turn_id
        if turn_id is None or turn_id != self.turn_id or turn_id in self._cancelled:
            return None
        self._cancelled.add(turn_id)
        self.turn_id = None
        if self._settling == turn_id:
            self._settling = None
        return self.emit(it.TurnFinished(status="cancelled", turn_id=turn_id))

    def finish_turn(
        self,
        status: it.TurnStatus,
        error: str | None = None,
        duration_ms: float | None = None,
        detail: str | None = None,
        reason: str | None = None,
    ) -> it.TurnFinished:
        """Emit ``turn_finished`` for the running turn and leave turn context."""
        item = self.emit(
            it.TurnFinished(
                status=status,
                error=error,
                duration_ms=duration_ms,
                detail=detail,
                reason=reason,
                turn_id=self.turn_id,
            )
        )
        if self._settling == self.turn_id:
            self._settling = None
        self.turn_id = None
        return item

    def emit(self, item: it.ItemT, ts: float | None = None) -> it.ItemT:
        """Number and stamp ``item`` and hand it to the sink. Unless it names its turn,
        it belongs to the oldest unanswered ``run_input`` (or to none)."""
        item = dataclasses.replace(
            item,
            seq=next(self._seq),
            ts=ts if ts is not None else time.time(),
            turn_id=item.turn_id or self._event_turn(),
        )
        self._sink(item)
        return item

    def pending_runs(self) -> list[tuple[str, asyncio.Future[pb.SessionResponse]]]:
        """``(turn_id, response future)`` of every ``run_input`` not answered yet."""
        return [
            (turn[0], self._pending[req])
            for req, turn in self._outstanding.items()
            if req in self._pending
        ]

    @property
    def cancelled_turns(self) -> frozenset[str]:
        return frozenset(self._cancelled)

    def _event_turn(self) -> str | None:
        if self._tag_override is not None:
            return self._tag_override
        return next(iter(self._outstanding.values()), (self._settling, ""))[0]

    # -- the end of a turn ------------------------------------------------------------

    async def wait_idle(
        self, timeout: float | None = None, *, done: Callable[[], bool] | None = None
    ) -> bool:
        """Wait until the agent has finished answering (:meth:`busy_reason` is
        ``None``), the agent disconnects, or ``done()`` turns true. Returns ``False``
        if ``timeout`` seconds passed first. Costs nothing when the agent is already
        idle: it wakes on frames, not on a timer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.disconnected.is_set():
            if done is not None and done():
                return True
            now = time.monotonic()
            self._flush_ended(now)
            reason, until = self.busy_reason(now)
            if reason is None:
                return True
            if deadline is not None and now >= deadline:
                log.info("gave up waiting for the agent to be idle: %s", reason)
                return False
            limits = [x for x in (until, deadline) if x is not None]
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait(), max(0.0, min(limits) - now) if limits else None
                )
        return True

    # -- receiving ----------------------------------------------------------------

    async def _recv_loop(self) -> None:
        assert self._reader is not None
        reason = "the agent closed the connection"
        try:
            while True:
                msg = await read_frame(self._reader)
                if msg is None:
                    break
                if isinstance(msg, SkippedFrame):
                    self._skipped(msg)
                else:
                    self._dispatch(msg)
        except (FrameError, ConnectionError, OSError) as e:
            reason = f"the connection to the agent failed: {e}"
        except asyncio.CancelledError:
            reason = "parley closed the connection"
            raise
        finally:
            self.disconnected.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(EngineError(reason))

    def _skipped(self, frame: SkippedFrame) -> None:
        """A frame from the agent that could not be used fails the one request it
        answers (a turn ends with ``error``); one that answers none is reported as an
        ``agent_error`` item. The connection goes on either way."""
        log.warning("skipped a frame from the agent: %s", frame.reason)
        fut = self._pending.get(frame.request_id or "")
        if fut is not None and not fut.done():
            self._outstanding.pop(frame.request_id or "", None)
            fut.set_exception(EngineError(f"the agent's answer could not be read: {frame.reason}"))
        else:
            self.emit(it.AgentError(message=f"parley skipped {frame.reason} from the agent"))

    def _dispatch(self, msg: pb.AgentSessionMessage) -> None:
        self._last_frame = time.monotonic()
        self._changed.set()
        kind = msg.WhichOneof("message")
        if kind == "response":
            node_compat.on_response(self, msg.response)
            turn = self._outstanding.pop(msg.response.request_id, None)
            if turn is not None:
                # Merge the response's items now, before any frame that follows, so
                # events that trail it (the agent writes events from another task) are
                # recognised as duplicates. (The output of a tool that reported progress
                # is the synthetic one of its first update: _tool_end skips it.) Until
                # the turn ends, events are its own (unless another run_input is
                # outstanding).
                for chat_item in msg.response.run_input.items:
                    self._on_chat_item(chat_item, turn_id=turn[0])
                if turn[0] not in self._cancelled:
                    self._settling = turn[0]
            fut = self._pending.get(msg.response.request_id)
            if fut is not None and not fut.done():
                fut.set_result(msg.response)
        elif kind == "event":
            if self._held is not None:  # until the agent said who it is (node_compat)
                self._held.append(msg.event)
            else:
                self._handle_event(msg.event)
        elif kind == "audio_playback_flush":
            # without this answer the agent's speech never completes and turns hang
            self._send(
                pb.AgentSessionMessage(
                    audio_playback_finished=pb.AgentSessionMessage.ConsoleIO.AudioPlaybackFinished()
                )
            )
        # audio_output / audio_playback_clear: dropped in text mode

    def _handle_event(self, ev: pb.AgentSessionEvent) -> None:
        try:
            self._on_event(ev)
        except Exception:  # one odd event must not end the session
            log.exception("could not convert event %s", ev.WhichOneof("event"))

    def release_events(self) -> None:
        """Handle the events held since connect (see :meth:`connect`), in order."""
        held, self._held = self._held, None
        for ev in held or ():
            self._handle_event(ev)
