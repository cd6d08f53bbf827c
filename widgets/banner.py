"""The banner shown when the agent crashed, disconnected or failed to start: what
happened, the agent log's tail (one line per log line, its colours rendered), and the
keys to act on it."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from parley.widgets.ansi import ansi_content


class Banner(Vertical):
    """Hidden until :meth:`show`; :meth:`hide` after a restart."""

    def compose(self) -> ComposeResult:
        yield Static(id="banner-title")
        with VerticalScroll(id="banner-tail-scroll"):
            yield Static(id="banner-tail")
        yield Static(id="banner-keys")

    def show(self, title: str, detail: str = "", keys: str = "") -> None:
        self.query_one("#banner-title", Static).update(Content.styled(title, "bold"))
        # the detail quotes the agent's log: ANSI colour rendered, escapes made harmless
        self.query_one("#banner-tail", Static).update(ansi_content(detail.rstrip()))
        self.query_one("#banner-tail-scroll").display = bool(detail.strip())
        self.query_one("#banner-keys", Static).update(Content.styled(keys, "italic"))
        self.display = True

    def hide(self) -> None:
        self.display = False

    @property
    def text(self) -> str:
        """The banner's text (title, tail, keys) without styling."""
        parts: list[Any] = [
            self.query_one(f"#banner-{n}", Static).visual for n in ("title", "tail", "keys")
        ]
        return "\n".join(getattr(p, "plain", str(p)) for p in parts)
