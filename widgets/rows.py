"""What a transcript entry says, per block kind of the view (:mod:`parley.app.view`).

Each renderer turns a :class:`~parley.app.view.Block` into one
:class:`~textual.content.Content` (the transcript,
:class:`parley.widgets.transcript.Transcript`, wraps it, draws its bar, padding and
background, and caches the lines). What an entry shows, its labels, glyphs and caps
come from the block: a renderer only styles it. Agent and tool text is data: it goes
into Content as plain text or through :func:`parley.widgets.markdown.markdown_content`,
never through markup. Styles are theme variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from textual.content import Content

from parley.app.agent.agentlog import strip_ansi
from parley.app.protocol.sanitize import escape_controls
from parley.app.view import GLYPHS, Block, format_ms
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


def _note(block: Block) -> Content:
    """The ``late`` note of an item of a cancelled turn, after the first line."""
    return _aside(block.late)


def user_content(b: Block) -> Content:
    """What the user typed."""
    return Content.assemble((b.title, "bold $text-accent"), "\n", Content(clean_text(b.body)))


def agent_header(b: Block) -> Content:
    """An agent message's first line: the agent's id, "(interrupted)", the time to
    first token from its metrics, the late note."""
    head = Content.styled(clean_text(b.label), "bold $text-success")
    if b.interrupted:
        head = head + Content.styled(" (interrupted)", "italic $text-muted")
    if b.ttft_ms is not None:
        head = head + Content.styled(f"  ttft {format_ms(b.ttft_ms)}", "$text-muted")
    return head + _note(b)


def agent_content(b: Block) -> Content:
    """An agent message: :func:`agent_header`, then the text rendered as Markdown."""
    return Content.assemble(agent_header(b), "\n", markdown_content(clean_text(b.body)))


def tool_content(b: Block) -> Content:
    """One line per function tool call: glyph, name, arguments, duration, then the
    last progress line while it runs, its result when it ends."""
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
    return Content.assemble(*parts, _note(b))


def handoff_content(b: Block) -> Content:
    """The agent in charge changed (or the first agent took the session)."""
    head, _, rest = b.title.partition(": ")
    return Content.assemble((f"{b.glyph} {head}: ", "bold"), Content(clean_text(rest)))


def reload_content(b: Block) -> Content:
    """Watch mode reloaded the agent (a divider across the transcript); or, when the
    new agent could not start, the error (the previous agent keeps running)."""
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


def error_raw(b: Block) -> list[str]:
    """An error block's messages as they came (the agent's error, its detail, the
    turn's error)."""
    return list(b.messages)


def error_summary(b: Block) -> str:
    """An error block's one readable line (:func:`readable_error` of its first message)."""
    return readable_error(b.messages[0]) if b.messages else b.title


def error_content(b: Block, expanded: bool = False) -> Content:
    """An error block: one the agent reported, a turn that failed, or both (a model
    failure sends the ``error`` event, then the failed response: the view joins them).
    One readable line; ``expanded`` (Enter or a click) adds the messages as they came."""
    parts: list[Any] = [(f"{b.glyph} ", "bold"), Content(error_summary(b)), _note(b)]
    if expanded:
        for line in error_raw(b):
            parts += ["\n", Content.styled(clean_text(line.strip()), "$text-muted")]
    parts += ["\n", Content.styled(ERROR_HINT, "italic")]
    return Content.assemble(*parts)


def ended_content(b: Block) -> Content:
    """The agent ended the call (its ``end_call`` tool ran, then it disconnected):
    not an error."""
    title = b.title
    return Content.assemble(
        (f"{b.glyph} {title[:1].upper()}{title[1:]}", "bold"),
        "\n",
        ("Ctrl+R starts a new call in this session · Ctrl+Q quits", "italic"),
    )


def turn_end_content(b: Block) -> Content:
    """A turn that was cancelled or timed out (a failed turn is an error block)."""
    if b.status == "timeout":
        return Content.assemble(
            (f"{b.glyph} {b.title}", "bold"),
            "\n",
            ("The agent may still be working; Esc cancels the turn.", "italic"),
        )
    quote = Content.styled(f"  · {clean_text(b.quote)}", "italic $text-muted") if b.quote else ""
    return Content.assemble(Content.styled(f"{b.glyph} {b.title}", "italic"), quote)


#: the renderer of each block kind: ``(block, expanded) -> Content``
RENDERERS: dict[str, Callable[[Block, bool], Content]] = {
    "user": lambda b, _: user_content(b),
    "agent": lambda b, _: agent_content(b),
    "tool": lambda b, _: tool_content(b),
    "handoff": lambda b, _: handoff_content(b),
    "error": error_content,
    "ended": lambda b, _: ended_content(b),
    "turn_end": lambda b, _: turn_end_content(b),
    "reload": lambda b, _: reload_content(b),
}


def block_content(b: Block, expanded: bool = False) -> Content:
    """What the transcript shows for ``b`` (an error's messages when ``expanded``)."""
    return RENDERERS[b.kind](b, expanded)


def block_plain(b: Block, expanded: bool = False) -> str:
    """:func:`block_content` as plain text; an agent message's body is its source
    text, not the rendered Markdown."""
    if b.kind == "agent":
        return f"{agent_header(b).plain}\n{clean_text(b.body)}"
    return block_content(b, expanded).plain


def notice_content(text: str) -> Content:
    """A line from parley itself (starting, restarted, not sent…): it may quote an
    error that quotes the agent's log (ANSI colour, ``\\r``)."""
    return ansi_content(text)
