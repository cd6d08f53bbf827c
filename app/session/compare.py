"""Comparing two runs of one conversation, turn by turn (what ``parley rerun`` checks).

Pure functions over :mod:`parley.app.protocol.items`: no I/O, no agent. :func:`split_turns` cuts an
item stream (a recording, or the items of a rerun as they arrive) into turns;
:func:`facts` reduces a turn to what is compared; :func:`compare_turn` says how two
turns differ.

What a turn is: the items tagged with its ``turn_id``, from its ``user_message`` to its
``turn_finished`` (the end of a turn, see :class:`parley.app.protocol.items.TurnFinished`).
Items no turn asked for (``turn_id`` ``None``) before the first user message are the **boot** (the
first agent's handoff, its greeting); later ones go to the turn open at that point in
the stream, or, between turns, to the next turn (that is where a live ``say`` receives
them), so a recording and a live rerun are cut the same way. Unprompted items after the
last turn are ``trailing`` and never compared (no ``say`` waits for them).

What is compared, per category (``--compare``):

``tools``     every function tool call that ended: ``name``, ``arguments`` (JSON-equal:
              ``{"a": 1, "b": 2}`` equals ``{"b":2,"a":1}``), ``is_error``, ``output``
              (JSON-equal when both sides are JSON, as Node agents encode outputs),
              and its status when it was cancelled or never ended. Call ids are not
              compared (they differ between runs).
``handoffs``  every handoff, ``from → to``.
``errors``    every ``agent_error`` message and the turn's own error (``turn_finished``
              of status ``error``), with Unix timestamps and UUIDs masked: LiveKit's
              ``LLMError`` repr carries ``timestamp=1795357217.81``.
``text``      every agent message's text, exactly (whitespace at the ends ignored).

A turn's status (``ok`` / ``error`` / ``cancelled`` / ``timeout``) is always compared.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from parley.app.protocol import items as it

CATEGORIES = ("tools", "handoffs", "errors", "text")
DEFAULT_COMPARE = frozenset({"tools", "handoffs", "errors"})

#: index of the boot pseudo-turn (the items before the first user message)
BOOT = 0


def parse_compare(spec: str) -> frozenset[str]:
    """``"tools,handoffs"`` -> the set of categories; ``"all"`` is every one.

    Raises ``ValueError`` naming an unknown category."""
    names = {p.strip().lower() for p in spec.split(",") if p.strip()}
    if "all" in names:
        return frozenset(CATEGORIES)
    unknown = sorted(names - set(CATEGORIES))
    if unknown:
        raise ValueError(
            f"unknown --compare categories: {', '.join(unknown)} (choose from "
            f"{', '.join(CATEGORIES)}, or all)"
        )
    if not names:
        raise ValueError(f"--compare needs at least one of {', '.join(CATEGORIES)}")
    return frozenset(names)


@dataclass
class Turn:
    """One turn of a conversation: ``index`` 1, 2, … (0 is the boot), the user's text
    (``None`` for the boot), its items in stream order, and its ``turn_finished``
    (``None`` while it runs, for the boot, or when a crash cut the log short)."""

    index: int
    turn_id: str | None
    user_text: str | None
    items: list[it.ChatItem] = field(default_factory=list)
    finished: it.TurnFinished | None = None

    @property
    def status(self) -> str:
        """``ok`` / ``error`` / ``cancelled`` / ``timeout``, ``unfinished`` when no
        ``turn_finished`` was seen; the boot is ``ok``."""
        if self.index == BOOT:
            return "ok"
        return self.finished.status if self.finished is not None else "unfinished"


@dataclass
class Conversation:
    """A stream cut into turns: ``boot``, the user ``turns`` in order, and the
    unprompted items after the last turn (``trailing``, never compared)."""

    boot: Turn
    turns: list[Turn]
    trailing: list[it.ChatItem] = field(default_factory=list)


def split_turns(items: Iterable[it.ChatItem]) -> Conversation:
    """Cut ``items`` (seq order) into the boot and one :class:`Turn` per user turn.

    A user turn starts at a ``user_message`` with a ``turn_id`` (one parley sent);
    user messages without one (the agent's own) are ordinary items of the open turn.
    """
    boot = Turn(BOOT, None, None)
    turns: list[Turn] = []
    by_id: dict[str, Turn] = {}
    pending: list[it.ChatItem] = []  # unprompted items between turns
    open_turn: Turn | None = None
    for item in items:
        if isinstance(item, it.UserMessage) and item.turn_id and item.turn_id not in by_id:
            turn = Turn(len(turns) + 1, item.turn_id, item.text, [*pending, item])
            pending = []
            turns.append(turn)
            by_id[item.turn_id] = turn
            open_turn = turn
            continue
        if item.turn_id is not None and item.turn_id in by_id:
            turn = by_id[item.turn_id]
            turn.items.append(item)
            if isinstance(item, it.TurnFinished) and turn.finished is None:
                turn.finished = item
                if open_turn is turn:
                    open_turn = None
            continue
        # unprompted (or tagged with a turn we never saw start)
        if not turns:
            boot.items.append(item)
        elif open_turn is not None:
            open_turn.items.append(item)
        else:
            pending.append(item)
    return Conversation(boot, turns, pending)


# -- facts ------------------------------------------------------------------------

_EPOCH = re.compile(r"\b1\d{9}(?:\.\d+)?\b")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")


def normalize_error(message: str) -> str:
    """``message`` with Unix timestamps and UUIDs masked, ends stripped."""
    return _UUID.sub("<uuid>", _EPOCH.sub("<time>", message.strip()))


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return ("json", json.loads(text))
    except ValueError:
        return ("text", text)


@dataclass(frozen=True)
class Fact:
    """One compared thing a turn did.

    ``kind``: ``tool`` / ``handoff`` / ``error`` / ``text``; ``key`` aligns facts of
    two runs (the tool's name, ``from → to``, …); ``fields`` are compared once aligned,
    ``shown`` is their readable form (original text, not normalised)."""

    kind: str
    key: str
    fields: tuple[tuple[str, Any], ...]
    shown: tuple[tuple[str, str], ...]

    def label(self) -> str:
        if self.kind == "tool":
            return f"tool {self.key}"
        if self.kind == "handoff":
            return f"handoff {self.key}"
        return "agent error" if self.kind == "error" else "agent text"


def _tool_fact(call: it.ToolCall) -> Fact:
    status = call.status if call.status in ("cancelled", "running") else "ended"
    return Fact(
        "tool",
        call.name,
        (
            ("arguments", _json_or_text(call.arguments or "{}")),
            ("is_error", call.is_error),
            ("output", _json_or_text(call.output)),
            ("status", status),
        ),
        (
            ("arguments", call.arguments or "{}"),
            ("is_error", str(call.is_error).lower()),
            ("output", "(none)" if call.output is None else call.output or "(empty)"),
            ("status", "still running" if call.status == "running" else call.status),
        ),
    )


def facts(turn: Turn, compare: frozenset[str]) -> list[Fact]:
    """What ``turn`` did, in stream order, for the categories in ``compare``.

    A tool call counts once: its final item (or its ``running`` item if it never
    ended). ``agent_state``, ``usage``, ``config_update`` and user messages are never
    facts."""
    out: list[Fact] = []
    final: dict[str, it.ToolCall] = {}
    order: list[str] = []
    for item in turn.items:
        if isinstance(item, it.ToolCall):
            if item.call_id not in final:
                order.append(item.call_id)
                final[item.call_id] = item
            elif item.finished:
                final[item.call_id] = item
    placed: set[str] = set()
    for item in turn.items:
        if isinstance(item, it.ToolCall):
            if "tools" in compare and item.call_id not in placed:
                placed.add(item.call_id)
                out.append(_tool_fact(final[item.call_id]))
        elif isinstance(item, it.Handoff) and "handoffs" in compare:
            key = f"{item.from_agent or '(start)'} → {item.to_agent}"
            out.append(Fact("handoff", key, (), ()))
        elif isinstance(item, it.AgentError) and "errors" in compare and not item.background:
            msg = normalize_error(item.message)
            out.append(Fact("error", "", (("message", msg),), (("message", item.message),)))
        elif isinstance(item, it.AgentMessage) and "text" in compare and item.text.strip():
            text = item.text.strip()
            out.append(Fact("text", "", (("text", text),), (("text", text),)))
    return out


# -- comparing --------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way the rerun differs from the recording.

    ``what``: ``changed`` (the same fact with other field values; ``field`` names the
    first differing field), ``missing`` (only in the recording), ``extra`` (only now)
    or ``status`` (the turn ended differently). ``recorded`` / ``now`` are readable
    text (``None`` on the side that has nothing)."""

    what: str
    label: str
    field: str | None
    recorded: str | None
    now: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "label": self.label,
            "field": self.field,
            "recorded": self.recorded,
            "now": self.now,
        }

    def summary(self) -> str:
        """One line: ``tool lookup_booking: output differs``."""
        if self.what == "changed":
            return f"{self.label}: {self.field} differs"
        if self.what == "missing":
            return f"{self.label}: in the recording, not now"
        if self.what == "extra":
            return f"{self.label}: new, not in the recording"
        return f"turn {self.field or 'status'} differs"


def _render(f: Fact) -> str:
    if f.kind == "tool":
        shown = dict(f.shown)
        out = f"{f.key}({shown['arguments']})"
        if shown["status"] in ("cancelled", "still running"):
            return f"{out} {shown['status']}"
        mark = "✗" if shown["is_error"] == "true" else "→"
        return f"{out} {mark} {shown['output']}"
    if f.kind == "handoff":
        return f.key
    return dict(f.shown).get("message") or dict(f.shown).get("text") or ""


def _changed(r: Fact, n: Fact) -> Difference | None:
    """The first differing field of two aligned facts, or ``None``."""
    rf, nf = dict(r.fields), dict(n.fields)
    rs, ns = dict(r.shown), dict(n.shown)
    for name, value in r.fields:
        if nf.get(name) != value:
            return Difference("changed", r.label(), name, rs.get(name), ns.get(name))
    if rf != nf:  # a field only one side has
        return Difference("changed", r.label(), None, _render(r), _render(n))
    return None


_REPLACED = {
    "tool": ("tool call", "name"),
    "handoff": ("handoff", "agents"),
    "error": ("agent error", "message"),
    "text": ("agent text", "text"),
}


def compare_facts(recorded: Sequence[Fact], now: Sequence[Fact]) -> list[Difference]:
    """Align two fact lists by ``(kind, key)`` (difflib's longest matching blocks)
    and list every difference, in order."""
    keys_r = [(f.kind, f.key) for f in recorded]
    keys_n = [(f.kind, f.key) for f in now]
    diffs: list[Difference] = []
    matcher = difflib.SequenceMatcher(None, keys_r, keys_n, autojunk=False)
    for op, r0, r1, n0, n1 in matcher.get_opcodes():
        if op == "equal":
            for r, n in zip(recorded[r0:r1], now[n0:n1], strict=True):
                d = _changed(r, n)
                if d is not None:
                    diffs.append(d)
            continue
        rs, ns = list(recorded[r0:r1]), list(now[n0:n1])
        # a replaced block: pair facts of the same kind (a tool called instead of
        # another) so the report says "tool A → tool B" rather than missing + extra
        while rs and ns and rs[0].kind == ns[0].kind:
            r, n = rs.pop(0), ns.pop(0)
            label, what = _REPLACED[r.kind]
            diffs.append(Difference("changed", label, what, _render(r), _render(n)))
        diffs.extend(Difference("missing", r.label(), None, _render(r), None) for r in rs)
        diffs.extend(Difference("extra", n.label(), None, None, _render(n)) for n in ns)
    return diffs


def compare_turn(recorded: Turn, now: Turn, compare: frozenset[str]) -> list[Difference]:
    """Every difference between a recorded turn and its rerun (empty: they match).

    The turn's status comes first when it differs; its error text counts under
    ``errors``."""
    diffs: list[Difference] = []
    if recorded.status != now.status:
        diffs.append(Difference("status", "turn", "status", recorded.status, now.status))
    elif (
        "errors" in compare
        and recorded.status == "error"
        and recorded.finished is not None
        and now.finished is not None
    ):
        r_err, n_err = recorded.finished.error or "", now.finished.error or ""
        if normalize_error(r_err) != normalize_error(n_err):
            diffs.append(Difference("changed", "turn error", "error", r_err, n_err))
    diffs.extend(compare_facts(facts(recorded, compare), facts(now, compare)))
    return diffs


# -- results ----------------------------------------------------------------------

#: how a turn of a rerun came out
OUTCOMES = ("match", "differ", "failed", "skipped", "not_run")
_BROKEN = frozenset({"timeout", "cancelled", "unfinished"})


@dataclass
class TurnResult:
    """The verdict on one turn (``index`` 0 is the boot).

    ``outcome``: ``match``; ``differ`` (``differences`` says how); ``failed`` (the
    rerun turn did not end normally: timed out, cut off, the agent died; ``note``
    says why); ``skipped`` (not rerun: it was cancelled in the recording);
    ``not_run`` (after ``--fail-fast`` stopped, or after a failure).
    ``after_divergence`` marks a turn that ran after an earlier one differed: the
    conversation had already gone another way, so it may not make sense."""

    index: int
    user_text: str | None
    outcome: str
    differences: list[Difference] = field(default_factory=list)
    after_divergence: bool = False
    recorded_status: str | None = None
    now_status: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("match", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.index,
            "user": self.user_text,
            "outcome": self.outcome,
            "after_divergence": self.after_divergence,
            "recorded_status": self.recorded_status,
            "now_status": self.now_status,
            "note": self.note,
            "differences": [d.to_dict() for d in self.differences],
        }


class Verdicts:
    """Judges the turns of one rerun in order, tracking divergence.

    ``recorded`` is the recording cut into turns; call :meth:`judge` with each rerun
    turn as it ends (the boot first), :meth:`fail` for a turn that could not run,
    and :meth:`rest_not_run` when the rerun stops early. ``results`` holds every
    verdict so far."""

    def __init__(self, recorded: Conversation, compare: frozenset[str]) -> None:
        self.recorded = recorded
        self.compare = compare
        self.results: list[TurnResult] = []
        self.diverged = False

    def _add(self, result: TurnResult) -> TurnResult:
        result.after_divergence = self.diverged and result.index != BOOT
        if not result.ok and result.outcome != "not_run":
            self.diverged = True
        self.results.append(result)
        return result

    def recorded_turn(self, index: int) -> Turn:
        return self.recorded.boot if index == BOOT else self.recorded.turns[index - 1]

    def judge(self, now: Turn) -> TurnResult:
        """The verdict on rerun turn ``now`` against the recorded turn of its index."""
        rec = self.recorded_turn(now.index)
        diffs = compare_turn(rec, now, self.compare)
        if not diffs:
            outcome = "match"
        elif now.status in _BROKEN and rec.status != now.status:
            outcome = "failed"
        else:
            outcome = "differ"
        note = None
        if outcome == "failed" and now.finished is not None and now.finished.error:
            note = now.finished.error
        return self._add(
            TurnResult(
                now.index, rec.user_text, outcome, diffs, False, rec.status, now.status, note
            )
        )

    def skip(self, index: int, note: str) -> TurnResult:
        return self._add(self._bare(index, "skipped", note))

    def fail(self, index: int, note: str) -> TurnResult:
        return self._add(self._bare(index, "failed", note))

    def _bare(self, index: int, outcome: str, note: str) -> TurnResult:
        rec = self.recorded_turn(index)
        return TurnResult(index, rec.user_text, outcome, [], False, rec.status, None, note)

    def rest_not_run(self, note: str) -> None:
        """Mark every recorded turn without a verdict yet as ``not_run``."""
        done = {r.index for r in self.results}
        for index in range(len(self.recorded.turns) + 1):
            if index not in done:
                self._add(self._bare(index, "not_run", note))
        self.results.sort(key=lambda r: r.index)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)
