"""Untrusted text that may carry ANSI escape codes (the agent's log, error messages that
quote it), made safe and styled for the UI.

The text goes through :func:`parley.app.agent.agentlog.clean_text` first (one line per log line,
LiveKit's ``\\n\\r`` line ends joined, every escape sequence but SGR colour dropped,
other control characters shown as ``\\xNN``, long lines cut), then rich's
``Text.from_ansi`` turns the colour codes into styles. Nothing is parsed as markup, and
no control character reaches the screen (or an SVG screenshot, where one makes the XML
invalid).
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from parley.app.agent.agentlog import LINE_CAP, clean_text


def ansi_text(raw: str, width: int | None = LINE_CAP) -> Text:
    """``raw`` as a rich :class:`~rich.text.Text`: colours as styles, lines joined
    with ``\\n`` (no trailing newline), lines over ``width`` characters cut."""
    return Text.from_ansi(clean_text(raw, color=True, width=width), end="")


def ansi_content(raw: str, width: int | None = LINE_CAP) -> Content:
    """:func:`ansi_text` as Textual :class:`~textual.content.Content`."""
    return Content.from_rich_text(ansi_text(raw, width))
