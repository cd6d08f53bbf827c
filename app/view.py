"""The view: the one fold of the chat-item stream into display blocks.

Every front-end shows the stream through this module and only styles what it gets:
the text and JSON-lines renderer (:mod:`parley.headless.render`: ``say``, ``history``,
``events``, ``replay --headless``), the exports (:mod:`parley.headless.export`) and
the Textual rows (:mod:`parley.widgets`). What is shown, the labels, the glyphs, the
caps and the turn state are decided here, once.

Use
---

::

    view = View()
    for item in items:                  # one stream, in ``seq`` order
        update = view.feed(item)        # None: nothing to show for this item
        if update is not None:
            show(update.block, update.change, update.new)
    view.turns                          # open / finished / cancelled turns, latency, tokens

:meth:`View.feed` escapes the control characters of the item's text first
(:func:`parley.app.protocol.sanitize.escape_fields`): every string in a block is data
a terminal may show (never markup: a front-end still passes it as plain text).

Blocks
------

A :class:`Block` is one thing a reader sees: a message, a tool call with its progress
and result, a handoff, an error, the end of a cancelled turn. Blocks are frozen; an
update replaces a block by one with the same ``key``. Fields:

- ``key`` (str): ``"tool:<call_id>"`` for a tool call (all its items fold into one
  block), ``"seq:<n>"`` (the seq of the item that opened it) otherwise.
- ``kind``: one of :data:`KINDS`:

  ============  ===========================================================================
  ``user``      what the user typed; ``title`` ``"You"``, ``body`` the text
  ``agent``     an agent message with text (an empty one is not shown); ``title``
                ``"Agent"``, ``agent`` its agent id, ``body`` the text, ``interrupted``,
                ``latency`` (``{"llm_ttft", "tts_ttfb", "e2e"}``, seconds or ``None``),
                ``ttft_ms`` (``llm_node_ttft`` of its ``MetricsReport``, milliseconds)
  ``tool``      a function tool call: ``title`` the tool's name, ``arguments`` the model's JSON
                text (the latest non-empty one), ``args`` those arguments
                as ``key=value`` on one line (:data:`ARGS_CAP`), ``status`` (``running``
                / ``done`` / ``error`` / ``cancelled``; ``error`` too for a ``done``
                call with ``is_error``), ``glyph`` (:data:`TOOL_GLYPHS`),
                ``progress`` (each ``RunContext.update`` message, first line, capped),
                ``result`` (the result line: the output's first line capped at
                :data:`OUTPUT_CAP`, ``"cancelled"``, ``"error"`` for a failure with no
                output, ``""`` while running or for an empty output), ``output`` (whole),
                ``duration_ms``, ``failed`` (``error`` status or ``is_error``)
  ``handoff``   the agent in charge changed: ``title`` ``"agent: <id>"`` for the first
                agent of an agent process, ``"handoff: <from> → <to>"`` after
  ``error``     an agent error or a failed turn: ``messages`` the messages as they came
                (the agent's error, its ``detail`` when it differs, then the failed turn's
                error when it says something else: a model failure sends the ``error``
                event, then the failed response, and both fold into one block); ``title``
                is the first message
  ``ended``     the agent ended the call (not an error): an error of kind ``call_ended``,
                or a disconnect after the ``end_call`` tool ran; ``title``
                ``"the agent ended the call"``, ``body`` how to go on (may be ``""``)
  ``turn_end``  a turn cancelled or timed out: ``status`` ``cancelled`` / ``timeout``,
                ``title`` ``"turn cancelled"`` / ``"turn timed out"``, ``quote`` what the
                user typed, cut at :data:`QUOTE_CAP`
  ``reload``    watch mode reloaded the agent (``status`` ``ok``: ``title``
                ``"agent reloaded: <files>"``, ``body`` ``"agent pid N, 12 ms, warm"``) or could
                not (``status`` ``error``, glyph ``✗``: ``title`` ``"reload failed
                (<files>); the previous agent keeps running"``, ``body`` the error)
  ============  ===========================================================================

- ``seq``: the seq of the block's first item (where it stands in the stream);
  ``item``: the newest item folded into it (a tool call's latest update).
- ``turn_id``: the turn it belongs to (``None`` for an item no turn asked for).
- ``glyph``: the one glyph of the block (:data:`GLYPHS`; ``""`` for messages).
- ``late``: for an item of a turn already cancelled (a tool still running when the
  turn was cancelled, a reply that came anyway), the note ``late, from the cancelled
  turn “<quote>”``; ``""`` otherwise.
- ``label`` (property): who a message is from as the exports label it: ``You``, or the
  agent's id for a reply (``Agent`` when unknown); ``say`` keeps ``● Agent``.

Changes
-------

:meth:`View.feed` returns an :class:`Update`: the block, ``new`` (the block appears
for the first time) and ``change``, what this item added: ``shown`` (a whole block),
``started`` (a tool began; nothing to say yet in a stream of text), ``progress`` (a
tool's progress line: ``block.progress[-1]``), ``finished`` (a tool's final status
and result), ``turn_error`` (a failed turn's error joined its error block:
``block.messages[-1]``).

Turns
-----

:class:`Turns` (``view.turns``) is the one place that tracks the session's turns as
the stream shows them: ``open`` (a user message seen, no ``turn_finished`` yet),
``finished`` (turn id → its ``turn_finished``), ``cancelled``, the last ok turn's
``latency_ms``, the last turn's ``metrics`` line (time to first token and tool
durations) and ``tokens`` (:class:`UsageTotals`).

Standard library and :mod:`parley.app.protocol` only: this is on the ``say`` path.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_fields

#: a tool output's result line and a progress line, in characters
OUTPUT_CAP = 120
#: a tool's arguments summary, in characters
ARGS_CAP = 60
#: the user's text quoted by a cancelled turn
QUOTE_CAP = 40

TOOL_GLYPHS: dict[str, str] = {"running": "⋯", "done": "✓", "error": "✗", "cancelled": "✗"}
#: one glyph per block kind (a tool's depends on its status: :data:`TOOL_GLYPHS`)
GLYPHS: dict[str, str] = {
    "user": "",
    "agent": "",
    "handoff": "⇄",
    "error": "✗",
    "ended": "☎",
    "turn_end": "✗",
    "reload": "↻",
    "progress": "…",
}

TURN_END_TITLES = {"cancelled": "turn cancelled", "timeout": "turn timed out"}
TURN_FAILED = "the turn failed"
CALL_ENDED = "the agent ended the call"

#: the function tool of livekit-agents' ``EndCallTool`` (``livekit.agents.beta``)
END_CALL_TOOL = "end_call"

Kind = Literal["user", "agent", "tool", "handoff", "error", "ended", "turn_end", "reload"]
KINDS: tuple[Kind, ...] = (
    "user",
    "agent",
    "tool",
    "handoff",
    "error",
    "ended",
    "turn_end",
    "reload",
)
Change = Literal["shown", "started", "progress", "finished", "turn_error"]


# -- text rules -----------------------------------------------------------------------


def first_line(text: str, cap: int = OUTPUT_CAP) -> str:
    """The first line of ``text``, at most ``cap`` characters; ``…`` marks a cut
    (a long line, or further lines left out: ``"one …"``)."""
    lines = text.strip().splitlines()
    line = lines[0].rstrip() if lines else ""
    more = len(lines) > 1
    if len(line) > cap or (more and len(line) > cap - 2):
        return line[: cap - 1] + "…"
    return line + " …" if more else line


def cut_size(text: str, cap: int = OUTPUT_CAP) -> tuple[int, int]:
    """What :func:`first_line` leaves out of ``text``: ``(lines, characters)``, both 0
    when nothing is cut (characters count the stripped text, newlines included)."""
    body = text.strip()
    shown = first_line(body, cap)
    if shown.endswith(" …"):
        shown = shown[:-2]
    elif shown.endswith("…") and shown != body:
        shown = shown[:-1]
    return max(0, len(body.splitlines()) - 1), len(body) - len(shown)


def one_line(text: str, cap: int) -> str:
    """``text`` on one line (whitespace runs folded), at most ``cap`` characters with
    ``…`` marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= cap else flat[: cap - 1] + "…"


def args_summary(arguments: str, cap: int = ARGS_CAP) -> str:
    """Tool arguments (the model's JSON text) as ``key=value`` pairs on one line
    (``seconds=8 location=Paris``), at most ``cap`` characters; the raw text when it
    is not a JSON object."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return one_line(arguments, cap)
    if not isinstance(value, dict):
        return one_line(json.dumps(value, ensure_ascii=False), cap)
    parts = []
    for k, v in value.items():
        shown = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        if isinstance(v, float) and v.is_integer():
            shown = str(int(v))
        parts.append(f"{k}={shown}")
    return one_line(" ".join(parts), cap)


def format_ms(ms: float | None) -> str:
    """A duration in milliseconds for a reader, the one form every front-end shows
    (``say --metrics`` latencies and turn durations, the chat UI's tool durations, time
    to first token and last turn): ``0.8 ms``, ``120 ms``, ``3.2 s``; ``<0.1 ms`` for
    one measured as 0 (parley rounds to 0.1 ms); ``–`` when unknown (``None``)."""
    if ms is None:
        return "–"
    if ms < 0.05:
        return "<0.1 ms"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def is_disconnect(message: str) -> bool:
    """Whether an agent error is parley's report that the agent went away (the
    session's agent watch: the connection closed, or the process exited)."""
    return message.startswith(
        ("the agent ended the call", "the agent closed the connection", "the agent exited")
    )


def reload_files(files: list[str], cap: int = 3) -> str:
    """``a.py, b.py, c.py and 2 more`` (``agent sources`` for none)."""
    shown = ", ".join(files[:cap]) or "agent sources"
    return shown + (f" and {len(files) - cap} more" if len(files) > cap else "")


def shows(item: it.ChatItem) -> bool:
    """Whether a reader sees ``item`` on its own as something said: the view makes a
    block of it, and it is not a tool call still running (its start, its progress
    lines). An agent state change, usage, a config update, an empty agent message, a
    background error or an ok turn's end say nothing. (The daemon's ``listen`` and its
    count of unseen items use it: :func:`parley.app.daemon.seen.noteworthy`.)"""
    update = View().feed(item)
    return update is not None and not update.block.running


# -- blocks ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Block:
    """One thing a reader sees; see the module docstring for every field."""

    key: str
    kind: Kind
    seq: int
    item: it.ChatItem
    title: str
    body: str = ""
    status: str = ""
    glyph: str = ""
    turn_id: str | None = None
    late: str = ""
    # agent
    agent: str | None = None
    interrupted: bool = False
    latency: dict[str, float | None] | None = None
    ttft_ms: float | None = None
    # tool
    call_id: str = ""
    arguments: str = ""
    args: str = ""
    progress: tuple[str, ...] = ()
    result: str = ""
    output: str = ""
    failed: bool = False
    duration_ms: float | None = None
    # error
    messages: tuple[str, ...] = ()
    # turn_end
    quote: str = ""

    @property
    def running(self) -> bool:
        """A tool call not finished yet."""
        return self.kind == "tool" and self.status == "running"

    @property
    def label(self) -> str:
        """Who a message is from, as every export labels it: ``You``, or the id of the
        agent that spoke the reply (``Agent`` when the item does not say), so a reply
        after a handoff says who is talking. The text form of ``say`` keeps LiveKit's
        ``● Agent`` (:mod:`parley.headless.render`). Other kinds: their ``title``."""
        if self.kind == "agent":
            return self.agent or "Agent"
        return self.title


@dataclass(frozen=True)
class Update:
    """What one item did to the view: ``block`` as it is now, ``new`` when it appears
    for the first time, ``change`` what the item added (see the module docstring)."""

    block: Block
    new: bool
    change: Change


# -- turns ----------------------------------------------------------------------------


class UsageTotals:
    """LLM token usage of the whole session across agent restarts, ``(input,
    output)`` counts.

    livekit-agents' ``session_usage_updated`` is cumulative for the agent process
    that sends it, and each process counts from zero. A new process is noticed by
    :meth:`new_process` (the first agent's handoff, a restart) or by its counters
    going down; the old process's last counts are then kept in ``banked``.
    """

    def __init__(self) -> None:
        self.banked = (0, 0)
        self.current = (0, 0)

    def new_process(self) -> None:
        self.banked = (self.banked[0] + self.current[0], self.banked[1] + self.current[1])
        self.current = (0, 0)

    def update(self, usage: it.Usage) -> None:
        tokens = (usage.input_tokens, usage.output_tokens)
        if sum(tokens) < sum(self.current):
            self.new_process()
        self.current = tokens

    @property
    def session(self) -> tuple[int, int]:
        """``(input, output)`` tokens of the session."""
        return self.banked[0] + self.current[0], self.banked[1] + self.current[1]


@dataclass
class _TurnMetrics:
    ttft_ms: float | None = None
    tools: list[tuple[str, float | None]] = field(default_factory=list)


class Turns:
    """The session's turns as the stream shows them (see the module docstring).

    ``open``: turn ids with a user message and no ``turn_finished`` yet (whoever sent
    them); ``finished``: turn id → its :class:`~parley.app.protocol.items.TurnFinished`;
    ``cancelled``: turn ids that ended cancelled; ``text``: turn id → what the user
    typed; ``latency_ms``: the duration of the last ok turn (``run_input`` sent to the
    turn's end, milliseconds; ``None`` before one); ``metrics``: the last ok turn's
    ``ttft 0.9 ms · lookup_weather 1.2 ms`` (time to first token of its first reply,
    then the durations of its tools, at most :attr:`max_tools`); ``tokens``: the
    session's usage."""

    max_tools = 3

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.finished: dict[str, it.TurnFinished] = {}
        self.cancelled: set[str] = set()
        self.text: dict[str, str] = {}
        self.latency_ms: float | None = None
        self.metrics = ""
        self.tokens = UsageTotals()
        self._metrics: dict[str, _TurnMetrics] = {}

    def is_finished(self, turn_id: str) -> bool:
        return turn_id in self.finished

    def quote(self, turn_id: str | None) -> str:
        """``“what the user typed”`` (cut at :data:`QUOTE_CAP`), ``""`` when unknown."""
        text = self.text.get(turn_id or "")
        return f"“{one_line(text, QUOTE_CAP)}”" if text else ""

    def late_note(self, turn_id: str | None) -> str:
        """The note of an item that arrived after its turn was cancelled, else ``""``."""
        if turn_id is None or turn_id not in self.cancelled:
            return ""
        return f"late, from the cancelled turn {self.quote(turn_id)}".rstrip()

    def fold(self, item: it.ChatItem) -> None:
        """Note what ``item`` says about turns (any item; others are ignored)."""
        match item:
            case it.UserMessage(turn_id=str(turn_id), text=text):
                self.text[turn_id] = text
                if turn_id not in self.finished:
                    self.open.add(turn_id)
            case it.AgentMessage(turn_id=str(turn_id), metrics=metrics):
                turn = self._metrics.setdefault(turn_id, _TurnMetrics())
                ttft = (metrics or {}).get("llm_node_ttft")
                if turn.ttft_ms is None and isinstance(ttft, (int, float)):
                    turn.ttft_ms = float(ttft) * 1000
            case it.ToolCall(turn_id=str(turn_id)) if item.finished:
                turn = self._metrics.setdefault(turn_id, _TurnMetrics())
                turn.tools.append((item.name, item.duration_ms))
            case it.Handoff(from_agent=None):
                self.tokens.new_process()  # the first agent of an agent process
            case it.Usage():
                self.tokens.update(item)
            case it.TurnFinished(status=status, turn_id=turn_id):
                summary = self._summary(turn_id)
                if status == "ok":
                    if item.duration_ms is not None:
                        self.latency_ms = item.duration_ms
                    if turn_id:
                        self.metrics = summary
                if turn_id:
                    self.finished[turn_id] = item
                    self.open.discard(turn_id)
                    if status == "cancelled":
                        self.cancelled.add(turn_id)

    def _summary(self, turn_id: str | None) -> str:
        turn = self._metrics.pop(turn_id or "", None)
        if turn is None:
            return ""
        parts = []
        if turn.ttft_ms is not None:
            parts.append(f"ttft {format_ms(turn.ttft_ms)}")
        for name, ms in turn.tools[: self.max_tools]:
            parts.append(f"{name} {format_ms(ms)}")
        if len(turn.tools) > self.max_tools:
            parts.append(f"+{len(turn.tools) - self.max_tools} tools")
        return " · ".join(parts)


# -- the fold -------------------------------------------------------------------------


class View:
    """Folds one stream of chat items (in ``seq`` order) into :class:`Block` s and
    tracks its turns (:attr:`turns`). ``blocks`` maps every key to its block as it is
    now, in the order the blocks appeared."""

    def __init__(self) -> None:
        self.turns = Turns()
        self.blocks: dict[str, Block] = {}
        #: turn id (``None`` too) -> the key of its error block, until its turn ends
        self._turn_errors: dict[str | None, str] = {}
        self._ended_call = False  # the end_call tool ran (since the last first agent)

    def clear(self) -> None:
        """Forget the blocks (a front-end cleared its view); turns are kept."""
        self.blocks.clear()
        self._turn_errors.clear()

    def feed(self, item: it.ChatItem) -> Update | None:
        """Fold ``item`` in; the block it opened or changed, or ``None`` when a reader
        sees nothing of it (agent state, usage, config updates, an ok turn's end, an
        empty agent message, a background error)."""
        item = escape_fields(item)
        self.turns.fold(item)
        update = self._fold(item)
        if update is not None:
            self.blocks[update.block.key] = update.block
        return update

    def _new(self, item: it.ChatItem, kind: Kind, title: str, **fields: object) -> Update:
        block = Block(
            key=f"seq:{item.seq}",
            kind=kind,
            seq=item.seq,
            item=item,
            title=title,
            glyph=str(fields.pop("glyph", GLYPHS[kind])),
            turn_id=item.turn_id,
            # the end of a cancelled turn is not one of its late items
            late="" if isinstance(item, it.TurnFinished) else self.turns.late_note(item.turn_id),
            **fields,  # type: ignore[arg-type]
        )
        return Update(block, True, "shown")

    def _fold(self, item: it.ChatItem) -> Update | None:
        match item:
            case it.UserMessage(text=text):
                return self._new(item, "user", "You", body=text)
            case it.AgentMessage(text=text) if text.strip():
                ttft = (item.metrics or {}).get("llm_node_ttft")
                return self._new(
                    item,
                    "agent",
                    "Agent",
                    body=text,
                    agent=item.agent_id,
                    interrupted=item.interrupted,
                    latency=item.latency,
                    ttft_ms=float(ttft) * 1000 if isinstance(ttft, (int, float)) else None,
                )
            case it.ToolCall():
                return self._tool(item)
            case it.Handoff(from_agent=None, to_agent=to):
                self._ended_call = False
                return self._new(item, "handoff", f"agent: {to}", agent=to)
            case it.Handoff(from_agent=frm, to_agent=to):
                return self._new(item, "handoff", f"handoff: {frm} → {to}", agent=to)
            case it.AgentError(background=True):
                return None  # recorded (JSON, event log, status), never shown
            case it.AgentError(message=msg, kind=kind):
                if kind == "call_ended" or (self._ended_call and is_disconnect(msg)):
                    rest = msg.partition("; ")[2] if kind == "call_ended" else ""
                    return self._new(item, "ended", CALL_ENDED, body=rest)
                messages = [msg]
                if item.detail and item.detail != msg:
                    messages.append(item.detail)
                update = self._new(item, "error", msg, messages=tuple(messages))
                self._turn_errors[item.turn_id] = update.block.key
                return update
            case it.TurnFinished(status="error"):
                return self._turn_failed(item)
            case it.TurnFinished():
                self._turn_errors.pop(item.turn_id, None)
                return self._turn_end(item)
            case it.Reload(error=None) as r:
                parts = [f"agent pid {r.agent_pid}"] if r.agent_pid else []
                if r.duration_ms is not None:
                    parts.append(f"{r.duration_ms:.0f} ms" + (", warm" if r.warm else ""))
                title = f"agent reloaded: {reload_files(r.files)}"
                return self._new(item, "reload", title, status="ok", body=", ".join(parts))
            case it.Reload() as r:
                title = f"reload failed ({reload_files(r.files)}); the previous agent keeps running"
                return self._new(
                    item, "reload", title, status="error", body=r.error or "", glyph=GLYPHS["error"]
                )
        return None

    def _turn_end(self, fin: it.TurnFinished) -> Update | None:
        if fin.status == "ok":
            return None
        title = TURN_END_TITLES.get(fin.status, fin.status)
        quote = self.turns.quote(fin.turn_id)
        return self._new(fin, "turn_end", title, status=fin.status, quote=quote)

    def _turn_failed(self, fin: it.TurnFinished) -> Update | None:
        error = fin.error or TURN_FAILED
        key = self._turn_errors.pop(fin.turn_id, None)
        block = self.blocks.get(key) if key else None
        if block is None:
            return self._new(fin, "error", error, messages=(error,))
        if error.strip() in (m.strip() for m in block.messages):
            return None  # the agent's error event said it already
        block = dataclasses.replace(block, item=fin, messages=(*block.messages, error))
        return Update(block, False, "turn_error")

    def _tool(self, call: it.ToolCall) -> Update:
        key = f"tool:{call.call_id}"
        old = self.blocks.get(key)
        progress = old.progress if old is not None else ()
        if call.status == "running":
            change: Change = "started" if call.progress is None else "progress"
            if call.progress is not None:
                progress = (*progress, first_line(call.progress))
        else:
            change = "finished"
            if call.name == END_CALL_TOOL and call.status == "done":
                self._ended_call = True
        arguments = call.arguments or (old.arguments if old is not None else "")
        output = (call.output or "").strip()
        failed = call.is_error or call.status == "error"
        status = "error" if failed and call.status == "done" else call.status
        if call.status == "running":
            result = ""
        elif call.status == "cancelled":
            result = "cancelled"
        elif failed:
            result = first_line(output) or "error"
        else:
            result = first_line(output)
        block = Block(
            key=key,
            kind="tool",
            seq=old.seq if old is not None else call.seq,
            item=call,
            title=call.name,
            status=status,
            glyph=TOOL_GLYPHS.get(status, "?"),
            turn_id=call.turn_id,
            late=self.turns.late_note(call.turn_id) or (old.late if old is not None else ""),
            agent=call.agent_id,
            call_id=call.call_id,
            arguments=arguments,
            args=args_summary(arguments),
            progress=progress,
            result=result,
            output=output,
            failed=failed,
            duration_ms=call.duration_ms,
        )
        return Update(block, old is None, change)
