"""The input box: Enter sends, Shift+Enter / Ctrl+J insert a newline, multi-line
paste is kept as is, Up/Down walk the history (from the first / last line).

While the user's turns run the box gets the ``-busy`` class (it looks disabled) but
stays typeable: what is sent then queues behind the running turn."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.message import Message
from textual.widgets import TextArea

PLACEHOLDER = "Message the agent (Enter sends, Shift+Enter or Ctrl+J for a new line)"
BUSY_PLACEHOLDER = "The agent is working; type to queue a turn, Esc cancels"


class PromptInput(TextArea):
    """See the module docstring; posts :class:`PromptInput.Submitted`."""

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder=PLACEHOLDER,
            compact=True,
            **kwargs,
        )
        self.idle_placeholder = PLACEHOLDER
        self.sent_history: list[str] = []
        self._history_pos: int | None = None
        self._draft = ""

    def set_busy(self, busy: bool) -> None:
        self.set_class(busy, "-busy")
        self.placeholder = BUSY_PLACEHOLDER if busy else self.idle_placeholder

    async def _on_key(self, event: events.Key) -> None:
        """Enter sends, Shift+Enter / Ctrl+J insert a newline. ``_on_key`` is the hook
        Textual documents for extending ``TextArea``'s key handling ("Extending
        TextArea" in the TextArea guide): Textual calls each class's ``_on_key`` in
        turn, ``TextArea``'s after this one unless the default is prevented."""
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.submit()
            return
        if event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")

    def submit(self) -> None:
        text = self.text
        if not text.strip():
            return
        if not self.sent_history or self.sent_history[-1] != text:
            self.sent_history.append(text)
        self._history_pos = None
        self.clear()
        self.post_message(self.Submitted(text))

    def restore(self, text: str) -> None:
        """Put ``text`` back into an empty box (after a cancelled turn)."""
        if not self.text.strip():
            self.load_text(text)
            self.move_cursor(self.document.end)

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0 and self.sent_history:
            self._walk(-1)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        last_row = self.document.line_count - 1
        if not select and self.cursor_location[0] == last_row and self._history_pos is not None:
            self._walk(+1)
            return
        super().action_cursor_down(select)

    def _walk(self, step: int) -> None:
        if self._history_pos is None:
            if step > 0:
                return
            self._draft = self.text
            pos = len(self.sent_history) - 1
        else:
            pos = self._history_pos + step
        if pos < 0:
            return
        if pos >= len(self.sent_history):
            self._history_pos = None
            self.load_text(self._draft)
        else:
            self._history_pos = pos
            self.load_text(self.sent_history[pos])
        self.move_cursor(self.document.end)
