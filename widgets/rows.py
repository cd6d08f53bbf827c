"""One transcript row widget per chat-item kind.

Every row holds the item it shows in a reactive ``item`` and re-renders itself when
it changes (a tool call is updated in place when its final status arrives). Agent and
tool text is data: it goes into :class:`~textual.content.Content` as plain text or
into the Markdown widget, never through markup. Colours come from the ``.tcss`` file
and theme variables.
"""

from __future__ import annotations

import json
import re
from typing import Any

from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from parley.app.agent.agentlog import strip_ansi
from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls
from parley.widgets.ansi import ansi_content
from parley.widgets.markdown import markdown_content

INLINE_CAP = 100

TOOL_ICONS = {"running": "⋯", "done": "✓", "error": "✗", "cancelled": "⊘"}


def one_line(text: str, cap: int = INLINE_CAP) -> str:
    """``text`` on one line (whitespace runs folded), at most ``cap`` characters with
    ``…`` marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= cap else flat[: cap - 1] + "…"


def compact_args(arguments: str) -> str:
    """Tool arguments (the model's JSON text) as compact one-line JSON; the raw text
    when it is not JSON."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:
        return arguments


def format_ms(ms: float | None) -> str:
    """``0.8 ms``, ``120 ms``, ``3.2 s``; ``<0.1 ms`` for a duration measured as 0
    (parley rounds to 0.1 ms); ``—`` when unknown (``None``)."""
    if ms is None:
        return "—"
    if ms < 0.05:
        return "<0.1 ms"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def args_summary(arguments: str, cap: int = 40) -> str:
    """Tool arguments as ``key=value`` pairs on one line (``seconds=8``,
    ``location=Paris``), at most ``cap`` characters; the raw text when it is not a
    JSON object."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return one_line(clean_text(arguments), cap)
    if not isinstance(value, dict):
        return one_line(clean_text(json.dumps(value, ensure_ascii=False)), cap)
    parts = []
    for k, v in value.items():
        shown = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        if isinstance(v, float) and v.is_integer():
            shown = str(int(v))
        parts.append(f"{k}={shown}")
    return one_line(clean_text(" ".join(parts)), cap)


#: characters a terminal and Textual may disagree on the width of: the zero width
#: joiner (emoji sequences such as 👨‍👩‍👧) and the variation selectors (❤️). Without
#: them each emoji shows at the width Textual computes, so borders stay aligned.
_WIDTH_TRAPS = dict.fromkeys(map(ord, "\u200d\ufe0e\ufe0f"))


def clean_text(text: str) -> str:
    """Untrusted text (agent, tool, model output) made safe to show: control
    characters written as visible escapes
    (:func:`parley.app.protocol.sanitize.escape_controls`), tabs as four spaces, and
    :data:`_WIDTH_TRAPS` dropped."""
    return escape_controls(text.translate(_WIDTH_TRAPS).replace("\t", "    "))


ERROR_KINDS = {
    "llm_error": "Model error",
    "tts_error": "TTS error",
    "stt_error": "STT error",
    "realtime_model_error": "Realtime model error",
}
_ERROR_TYPE = re.compile(r"^type='(?P<type>[a-z_]+)'")
_ERROR_EXC = re.compile(r"\berror=(?P<exc>[A-Za-z_][\w.]*)\((?P<q>['\"])(?P<msg>.*?)(?P=q)")
_ERROR_MSG = re.compile(r"^message=(?P<q>['\"])(?P<msg>.*?)(?P=q)")
#: parley's own CLI hints, replaced in the UI by its keys
_CLI_HINT = re.compile(r";[^;]*`parley [^`]*`.*$", re.S)


def readable_error(message: str) -> str:
    """One line for an error message.

    - livekit-agents' ``error`` event arrives as the repr of its event
      (``type='llm_error' timestamp=… label='…' error=APIStatusError('text', …)
      recoverable=False``): "Model error: text (APIStatusError)".
    - a ``SessionResponse.error`` of a failed ``run_input``
      (``message='text', status_code=500, retryable=False``): "text".
    - parley's own messages lose their CLI hints (``; see `parley logs` …``,
      ``; `parley start` starts a new session``): the UI points to its keys instead.
    """
    text = clean_text(strip_ansi(message.strip()))  # colour codes of a quoted agent log
    kind = _ERROR_TYPE.match(text)
    exc = _ERROR_EXC.search(text)
    if kind and exc:
        label = ERROR_KINDS.get(kind["type"], kind["type"].replace("_", " ").capitalize())
        return f"{label}: {exc['msg']} ({exc['exc']})"
    msg = _ERROR_MSG.match(text)
    if msg:
        return msg["msg"]
    text = _CLI_HINT.sub("", text)
    first = text.splitlines()[0] if text else ""
    return first[:1].upper() + first[1:]


class Row(Widget):
    """Base of every transcript row: ``item`` is the chat item it shows (``None`` for
    a notice that belongs to no item); ``note`` is an extra label (a late item of a
    cancelled turn says which); ``plain`` is its text without styling."""

    DEFAULT_CSS = "Row { height: auto; }"

    item: reactive[Any] = reactive(None, layout=True)
    note: reactive[str] = reactive("", layout=True)
    #: reactives of a subclass (besides ``item`` and ``note``) and their defaults
    STATE: dict[str, Any] = {}

    def __init__(self, item: it.ChatItem | None = None, note: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Row.item, item)
        self.set_reactive(Row.note, note)
        if note:
            self.add_class("-late")

    def watch_note(self, note: str) -> None:
        self.set_class(bool(note), "-late")

    def recycle(self, item: it.ChatItem, note: str, attrs: dict[str, Any] | None) -> None:
        """Show ``item`` in this (mounted, hidden) row instead of mounting a new one:
        every reactive back to its default, then ``item``, ``note`` and ``attrs``."""
        self.remove_class("-cursor")
        for name, default in self.STATE.items():
            setattr(self, name, default)
        for name, value in (attrs or {}).items():
            setattr(self, name, value)
        self.note = note
        self.item = item

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # A row scrolls nothing: its new size was placed by the layout pass that
        # gave it; Textual's default would run a second pass for every new row.
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    @property
    def plain(self) -> str:
        return self.render_content().plain

    def render_content(self) -> Content:
        return Content("")

    def render(self) -> Content:
        return self.render_content()

    def activate(self) -> None:
        """Enter on the row in the transcript (its detail, if it has one)."""

    def _note(self) -> Content:
        return Content.styled(f"  · {self.note}", "italic $text-muted") if self.note else Content()


class UserRow(Row):
    """What the user typed."""

    def render_content(self) -> Content:
        return Content.assemble(
            ("You", "bold $text-accent"), "\n", Content(clean_text(self.item.text))
        )


class AgentRow(Row):
    """An agent message: the agent's id (and the time to first token from its
    metrics), then the text rendered as Markdown."""

    def _header(self) -> Content:
        item = self.item
        head = Content.styled(clean_text(item.agent_id or "Agent"), "bold $text-success")
        if item.interrupted:
            head = head + Content.styled(" (interrupted)", "italic $text-muted")
        ttft = (item.metrics or {}).get("llm_node_ttft")
        if isinstance(ttft, (int, float)):
            head = head + Content.styled(f"  ttft {format_ms(ttft * 1000)}", "$text-muted")
        return head + self._note()

    @property
    def plain(self) -> str:
        return f"{self._header().plain}\n{clean_text(self.item.text)}"

    def render_content(self) -> Content:
        return Content.assemble(self._header(), "\n", markdown_content(clean_text(self.item.text)))


class ToolRow(Row):
    """One line per function tool call, updated in place; selecting it (click, or
    Enter on it in the transcript) posts :class:`ToolRow.Selected`."""

    class Selected(Message):
        def __init__(self, call_id: str) -> None:
            super().__init__()
            self.call_id = call_id

    def watch_item(self, item: it.ToolCall | None) -> None:
        if item is not None:
            for status in TOOL_ICONS:
                self.set_class(item.status == status, f"-{status}")

    def on_mount(self) -> None:
        self.watch_item(self.item)

    def render_content(self) -> Content:
        call: it.ToolCall = self.item
        parts: list[Content | str | tuple[str, str]] = [
            (TOOL_ICONS.get(call.status, "?") + " ", "bold"),
            (clean_text(call.name), "bold"),
        ]
        summary = args_summary(call.arguments, 60)
        if summary:
            parts += [" ", Content.styled(summary, "$text-muted")]
        output = clean_text(call.output or "").strip()
        if call.status != "running":
            parts.append(Content.styled(f"  {format_ms(call.duration_ms)}", "$text-muted"))
        if call.status == "running":
            parts.append(Content.styled("  running…", "italic"))
        elif call.status == "cancelled":
            parts.append("  cancelled")
        elif output:
            parts += ["  → ", Content(one_line(output))]
        elif call.is_error:
            parts.append("  error")
        return Content.assemble(*parts, self._note())

    def on_click(self) -> None:
        self.activate()

    def activate(self) -> None:
        self.post_message(self.Selected(self.item.call_id))


class HandoffRow(Row):
    """The agent in charge changed (or the first agent took the session)."""

    def render_content(self) -> Content:
        h: it.Handoff = self.item
        if h.from_agent is None:
            return Content.assemble(("⇄ agent: ", "bold"), Content(clean_text(h.to_agent)))
        return Content.assemble(
            ("⇄ handoff: ", "bold"),
            Content(clean_text(h.from_agent)),
            " → ",
            Content(clean_text(h.to_agent)),
        )


class ReloadRow(Row):
    """Watch mode reloaded the agent: a divider across the transcript; or, when the
    new agent could not start, the error (the previous agent keeps running)."""

    def on_mount(self) -> None:
        if self.item.error:
            self.add_class("-error")

    def render_content(self) -> Content:
        r: it.Reload = self.item
        files = clean_text(", ".join(r.files) or "sources")
        if r.error:
            return Content.assemble(
                ("✗ reload failed: ", "bold"),
                Content(files),
                "\n",
                Content(clean_text(r.error.strip())),
                "\n",
                ("The previous agent keeps running; save again to retry.", "italic"),
            )
        detail = [f"pid {r.agent_pid}"] if r.agent_pid else []
        if r.duration_ms is not None:
            detail.append(format_ms(r.duration_ms))
        return Content.assemble(
            ("↻ agent reloaded: ", "bold"),
            Content(files),
            Content.styled(f"  ({', '.join(detail)})" if detail else "", "$text-muted"),
        )


ERROR_HINT = "Enter: details · F4: agent log · Ctrl+R: restart the agent"


class ErrorRow(Row):
    """An error: one the agent reported (:class:`~app.items.AgentError`) or a turn
    that failed (:class:`~app.items.TurnFinished` ``error``); when both come for one
    turn (a model failure sends the ``error`` event, then the failed response) they
    share this row: ``turn_error`` is the turn's error. One readable line; Enter or a
    click shows the raw messages (``expanded``)."""

    turn_error: reactive[str | None] = reactive(None, layout=True)
    expanded: reactive[bool] = reactive(False, layout=True)
    STATE = {"turn_error": None, "expanded": False}

    def __init__(self, item: it.ChatItem | None = None, note: str = "", **kwargs: Any) -> None:
        super().__init__(item, note, **kwargs)
        if isinstance(item, it.TurnFinished):
            self.set_reactive(ErrorRow.turn_error, item.error or "the turn failed")

    def recycle(self, item: it.ChatItem, note: str, attrs: dict[str, Any] | None) -> None:
        super().recycle(item, note, attrs)
        if isinstance(item, it.TurnFinished) and not (attrs or {}).get("turn_error"):
            self.turn_error = item.error or "the turn failed"

    @property
    def raw(self) -> list[str]:
        """The messages as they came (the agent's error, the turn's error)."""
        out = []
        if isinstance(self.item, it.AgentError):
            out.append(self.item.message)
            if self.item.detail and self.item.detail != self.item.message:
                out.append(self.item.detail)
        if self.turn_error:
            out.append(self.turn_error)
        return out

    @property
    def summary(self) -> str:
        raw = self.raw
        return readable_error(raw[0]) if raw else "the turn failed"

    def render_content(self) -> Content:
        parts: list[Any] = [("✗ ", "bold"), Content(self.summary), self._note()]
        if self.expanded:
            for line in self.raw:
                parts += ["\n", Content.styled(clean_text(line.strip()), "$text-muted")]
        parts += ["\n", Content.styled(ERROR_HINT, "italic")]
        return Content.assemble(*parts)

    def on_click(self) -> None:
        self.activate()

    def activate(self) -> None:
        self.expanded = not self.expanded


class EndedRow(Row):
    """The agent ended the call (its ``end_call`` tool ran, then it disconnected):
    not an error."""

    def render_content(self) -> Content:
        return Content.assemble(
            ("☎ The agent ended the call", "bold"),
            "\n",
            ("Ctrl+R starts a new call in this session · Ctrl+Q quits", "italic"),
        )


class TurnEndRow(Row):
    """A turn that was cancelled or timed out (a failed turn is an :class:`ErrorRow`)."""

    def watch_item(self, item: it.TurnFinished | None) -> None:
        for status in ("cancelled", "timeout"):
            self.set_class(item is not None and item.status == status, f"-{status}")

    def on_mount(self) -> None:
        self.watch_item(self.item)

    def render_content(self) -> Content:
        t: it.TurnFinished = self.item
        if t.status == "timeout":
            return Content.assemble(
                ("✗ turn timed out", "bold"),
                "\n",
                ("The agent may still be working; Esc cancels the turn.", "italic"),
            )
        return Content.assemble(Content.styled("⊘ turn cancelled", "italic"), self._note())


class NoticeRow(Static):
    """A line from parley itself (starting, restarted, not sent…): not a chat item."""

    DEFAULT_CSS = "NoticeRow { height: auto; }"

    item = None

    def __init__(self, text: str, **kwargs: Any) -> None:
        # a notice may quote an error that quotes the agent's log (ANSI colour, \r)
        super().__init__(ansi_content(text), **kwargs)
