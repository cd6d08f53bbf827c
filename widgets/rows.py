"""One transcript row widget per block kind of the view (:mod:`parley.app.view`).

Every row holds the :class:`~parley.app.view.Block` it shows in a reactive ``block``
and re-renders itself when it changes (a tool call's block is replaced as its
progress and result arrive; an error's when its failed turn joins it). What a row
shows, its labels, glyphs and caps come from the block: a row only styles it. Agent
and tool text is data: it goes into :class:`~textual.content.Content` as plain text or
into the Markdown widget, never through markup. Colours come from the ``.tcss`` file
and theme variables.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from parley.app.agent.agentlog import strip_ansi
from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls
from parley.app.view import GLYPHS, TOOL_GLYPHS, Block, format_ms
from parley.widgets.ansi import ansi_content
from parley.widgets.markdown import markdown_content

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


def _aside(text: str) -> Content:
    """``  · text`` in muted italics after a row's first line ('' stays empty)."""
    return Content.styled(f"  · {clean_text(text)}", "italic $text-muted") if text else Content()


class Row(Widget):
    """Base of every transcript row: ``block`` is the view's block it shows, ``item``
    the newest chat item folded into it. A block's ``late`` note (an item of a
    cancelled turn) gives the row the ``-late`` class."""

    DEFAULT_CSS = "Row { height: auto; }"

    # every row is made with its block: the reactive's default is never shown
    block: reactive[Block] = reactive(cast(Block, None), layout=True)
    #: reactives of a subclass (besides ``block``) and their defaults
    STATE: ClassVar[dict[str, Any]] = {}

    def __init__(self, block: Block, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Row.block, block)
        self.set_class(bool(block.late), "-late")

    @property
    def item(self) -> it.ChatItem:
        return self.block.item

    def watch_block(self, block: Block) -> None:
        self.set_class(bool(block.late), "-late")

    def recycle(self, block: Block) -> None:
        """Show ``block`` in this (mounted, hidden) row instead of mounting a new one:
        every reactive back to its default, then ``block``."""
        self.remove_class("-cursor")
        for name, default in self.STATE.items():
            setattr(self, name, default)
        self.block = block

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
        late = self.block.late
        return (
            Content.styled(f"  · {clean_text(late)}", "italic $text-muted") if late else Content()
        )


class UserRow(Row):
    """What the user typed."""

    def render_content(self) -> Content:
        return Content.assemble(
            (self.block.title, "bold $text-accent"), "\n", Content(clean_text(self.block.body))
        )


class AgentRow(Row):
    """An agent message: the agent's id (and the time to first token from its
    metrics), then the text rendered as Markdown."""

    def _header(self) -> Content:
        b = self.block
        head = Content.styled(clean_text(b.label), "bold $text-success")
        if b.interrupted:
            head = head + Content.styled(" (interrupted)", "italic $text-muted")
        if b.ttft_ms is not None:
            head = head + Content.styled(f"  ttft {format_ms(b.ttft_ms)}", "$text-muted")
        return head + self._note()

    @property
    def plain(self) -> str:
        return f"{self._header().plain}\n{clean_text(self.block.body)}"

    def render_content(self) -> Content:
        body = markdown_content(clean_text(self.block.body))
        return Content.assemble(self._header(), "\n", body)


class ToolRow(Row):
    """One line per function tool call, updated in place: glyph, name, arguments,
    duration, then the last progress line while it runs, its result when it ends.
    Selecting it (click, or Enter on it in the transcript) posts
    :class:`ToolRow.Selected`."""

    class Selected(Message):
        def __init__(self, call_id: str) -> None:
            super().__init__()
            self.call_id = call_id

    def watch_block(self, block: Block) -> None:
        super().watch_block(block)
        for status in TOOL_GLYPHS:
            self.set_class(block.status == status, f"-{status}")

    def on_mount(self) -> None:
        self.watch_block(self.block)

    def render_content(self) -> Content:
        b = self.block
        parts: list[Content | str | tuple[str, str]] = [
            (b.glyph + " ", "bold"),
            (clean_text(b.title), "bold"),
        ]
        summary = clean_text(b.args)
        if summary:
            parts += [" ", Content.styled(summary, "$text-muted")]
        if b.running:
            last = f"  {GLYPHS['progress']} {clean_text(b.progress[-1])}" if b.progress else ""
            parts.append(Content.styled(last or "  running…", "italic"))
        else:
            parts.append(Content.styled(f"  {format_ms(b.duration_ms)}", "$text-muted"))
            if b.output and b.status != "cancelled":
                parts += ["  → ", Content(clean_text(b.result))]
            elif b.result:
                parts.append(f"  {b.result}")
        return Content.assemble(*parts, self._note())

    def on_click(self) -> None:
        self.activate()

    def activate(self) -> None:
        self.post_message(self.Selected(self.block.call_id))


class HandoffRow(Row):
    """The agent in charge changed (or the first agent took the session)."""

    def render_content(self) -> Content:
        head, _, rest = self.block.title.partition(": ")
        return Content.assemble((f"{self.block.glyph} {head}: ", "bold"), Content(clean_text(rest)))


class ReloadRow(Row):
    """Watch mode reloaded the agent: a divider across the transcript; or, when the
    new agent could not start, the error (the previous agent keeps running)."""

    def watch_block(self, block: Block) -> None:
        super().watch_block(block)
        self.set_class(block.status == "error", "-error")

    def on_mount(self) -> None:
        self.watch_block(self.block)

    def render_content(self) -> Content:
        b = self.block
        if b.status == "error":
            return Content.assemble(
                (f"{b.glyph} ", "bold"),
                Content(clean_text(b.title)),
                "\n",
                Content(clean_text(b.body.strip())),
                "\n",
                ("Save again to retry.", "italic"),
            )
        return Content.assemble(
            (f"{b.glyph} ", "bold"),
            Content(clean_text(b.title)),
            Content.styled(f"  ({clean_text(b.body)})" if b.body else "", "$text-muted"),
        )


ERROR_HINT = "Enter: details · F4: agent log · Ctrl+R: restart the agent"


class ErrorRow(Row):
    """An error block: one the agent reported, a turn that failed, or both (a model
    failure sends the ``error`` event, then the failed response: the view joins them).
    One readable line; Enter or a click shows the messages as they came
    (``expanded``)."""

    expanded: reactive[bool] = reactive(False, layout=True)
    STATE: ClassVar[dict[str, Any]] = {"expanded": False}

    @property
    def raw(self) -> list[str]:
        """The messages as they came (the agent's error, its detail, the turn's error)."""
        return list(self.block.messages)

    @property
    def summary(self) -> str:
        return readable_error(self.block.messages[0]) if self.block.messages else self.block.title

    def render_content(self) -> Content:
        parts: list[Any] = [(f"{self.block.glyph} ", "bold"), Content(self.summary), self._note()]
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
        title = self.block.title
        return Content.assemble(
            (f"{self.block.glyph} {title[:1].upper()}{title[1:]}", "bold"),
            "\n",
            ("Ctrl+R starts a new call in this session · Ctrl+Q quits", "italic"),
        )


class TurnEndRow(Row):
    """A turn that was cancelled or timed out (a failed turn is an :class:`ErrorRow`)."""

    def watch_block(self, block: Block) -> None:
        super().watch_block(block)
        for status in ("cancelled", "timeout"):
            self.set_class(block.status == status, f"-{status}")

    def on_mount(self) -> None:
        self.watch_block(self.block)

    def render_content(self) -> Content:
        b = self.block
        if b.status == "timeout":
            return Content.assemble(
                (f"{b.glyph} {b.title}", "bold"),
                "\n",
                ("The agent may still be working; Esc cancels the turn.", "italic"),
            )
        quote = (
            Content.styled(f"  · {clean_text(b.quote)}", "italic $text-muted") if b.quote else ""
        )
        return Content.assemble(Content.styled(f"{b.glyph} {b.title}", "italic"), quote)


#: the row class of each block kind
ROW_CLASSES: dict[str, type[Row]] = {
    "user": UserRow,
    "agent": AgentRow,
    "tool": ToolRow,
    "handoff": HandoffRow,
    "error": ErrorRow,
    "ended": EndedRow,
    "turn_end": TurnEndRow,
    "reload": ReloadRow,
}


class NoticeRow(Static):
    """A line from parley itself (starting, restarted, not sent…): not a chat item."""

    DEFAULT_CSS = "NoticeRow { height: auto; }"

    item = None

    def __init__(self, text: str, **kwargs: Any) -> None:
        # a notice may quote an error that quotes the agent's log (ANSI colour, \r)
        super().__init__(ansi_content(text), **kwargs)
