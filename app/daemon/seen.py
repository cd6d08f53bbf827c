"""Which chat items some client has been shown: the daemon's memory of "looked".

An item is *seen* once the daemon has sent it to a client that shows it: ``start``
(the boot items it prints), ``say`` (its turn, and what it prints first),
``events`` (with or without ``--follow``), ``listen``, and the chat UI (it follows
``events``). ``history`` reads the event log file and does not count. Items no client
was shown (the rest of a turn whose ``say`` timed out or ran ``--no-wait``, a late reply,
a background tool's result) are *unseen*: the next ``say`` prints them first, marked
``(before this turn)``, and ``listen`` prints them before waiting.

Standard library, :mod:`parley.app.protocol.items` and :mod:`parley.app.view` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from parley.app.protocol import items as it
from parley.app.view import shows


def noteworthy(item: it.ChatItem) -> bool:
    """Whether the text form shows ``item`` as something said
    (:func:`parley.app.view.shows`): not an agent state change, a usage or config
    update, an empty message, a background error or an ok turn's end, nor a tool
    call still running."""
    return shows(item)


class SeenItems:
    """The set of ``seq``\\ s shown to some client, kept as a watermark (every seq up
    to :attr:`upto` is seen) plus the seen seqs above it."""

    def __init__(self) -> None:
        self.upto = 0
        self._above: set[int] = set()

    def mark(self, seq: int) -> None:
        """Record that the item ``seq`` was shown to a client."""
        if seq <= self.upto:
            return
        self._above.add(seq)
        while self.upto + 1 in self._above:
            self.upto += 1
            self._above.discard(self.upto)

    def mark_all(self, items: Iterable[it.ChatItem]) -> None:
        for item in items:
            self.mark(item.seq)

    def seen(self, seq: int) -> bool:
        return seq <= self.upto or seq in self._above

    def unseen(self, items: Sequence[it.ChatItem]) -> list[it.ChatItem]:
        """The items of ``items`` (seq order) nobody was shown, oldest first."""
        out: list[it.ChatItem] = []
        for item in reversed(items):
            if item.seq <= self.upto:
                break
            if item.seq not in self._above:
                out.append(item)
        out.reverse()
        return out

    def unseen_count(self, items: Sequence[it.ChatItem]) -> int:
        """How many unseen items would show something to a reader."""
        return sum(1 for item in self.unseen(items) if noteworthy(item))
