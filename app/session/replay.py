"""Playing a recording back: the pacing shared by ``parley replay`` and the cast export.

A recording's items carry the Unix time they arrived (``ts``). Playback shows item
*i* at offset ``sum(min(gap_k, max_gap) / speed for k <= i)`` seconds from the start,
where ``gap_k`` is the time between item *k-1* and item *k* as recorded (negative
gaps count as 0). So ``speed`` 2 plays twice as fast, ``speed`` 0 plays instantly,
and an idle stretch (the person thinking between turns, a coffee break) is shortened
to ``max_gap`` seconds (:data:`MAX_GAP` by default, ``inf`` keeps it).

No agent runs during a replay. :class:`ReplayBackend` plays a recording in the chat
UI (the :class:`parley.app.backend.ChatBackend` protocol). This module never imports
textual, and asyncio only when a backend is made.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from parley.app.protocol import items as it

#: longest pause between two items during playback, in recorded seconds
MAX_GAP = 2.0


def schedule(
    items: Sequence[it.ChatItem], speed: float = 1.0, max_gap: float = MAX_GAP
) -> list[float]:
    """Playback offsets in seconds (non-decreasing, the first is 0.0), one per item.

    ``speed`` 0 gives all zeros. Items with no timestamp (``ts`` 0) follow the item
    before them at once. Raises ``ValueError`` for a negative ``speed`` or
    ``max_gap``.
    """
    if speed < 0 or max_gap < 0 or math.isnan(speed) or math.isnan(max_gap):
        raise ValueError("speed and max_gap must be >= 0")
    out: list[float] = []
    t = 0.0
    prev: float | None = None
    for item in items:
        if prev is not None and item.ts and speed > 0:
            t += min(max(0.0, item.ts - prev), max_gap) / speed
        out.append(t)
        if item.ts:
            prev = item.ts
    return out


def play(
    items: Sequence[it.ChatItem],
    render: Callable[[it.ChatItem], str],
    write: Callable[[str], object],
    *,
    speed: float = 1.0,
    max_gap: float = MAX_GAP,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> None:
    """Write ``render(item)`` for every item at its :func:`schedule` offset.

    Items that render to ``''`` write nothing (their time still passes). Blocking;
    ``KeyboardInterrupt`` passes through.
    """
    start = clock()
    for item, at in zip(items, schedule(items, speed, max_gap), strict=True):
        text = render(item)
        if not text:
            continue
        delay = start + at - clock()
        if delay > 0:
            sleep(delay)
        write(text)


def timed_text(
    items: Sequence[it.ChatItem],
    render: Callable[[it.ChatItem], str],
    *,
    speed: float = 1.0,
    max_gap: float = MAX_GAP,
) -> Iterable[tuple[float, str]]:
    """``(offset, text)`` for every item that renders to something, in order."""
    for item, at in zip(items, schedule(items, speed, max_gap), strict=True):
        text = render(item)
        if text:
            yield at, text


class ReplayBackend:
    """A recorded session played back at its recorded pace, for the chat UI.

    Implements :class:`parley.app.backend.ChatBackend`: :meth:`follow` yields the recording's
    items at their :func:`schedule` offsets from the moment it is first iterated
    (resuming after the last item it yielded when called again) and then stays open,
    without an end, until :meth:`close`, so the screen keeps the finished replay.
    ``done`` is set once every item has been yielded. The agent info follows the
    handoffs played so far (tools: those the agent was seen calling anywhere in the
    recording). No agent runs: :meth:`say` and :meth:`restart` raise
    :class:`parley.app.backend.BackendError`.
    """

    is_replay = True

    def __init__(
        self,
        items: Sequence[it.ChatItem],
        *,
        speed: float = 1.0,
        max_gap: float = MAX_GAP,
        header: dict[str, Any] | None = None,
        agent_log: Path | None = None,
        event_log: Path | None = None,
    ) -> None:
        import asyncio

        self.items = list(items)
        self.header = header or {}
        self.speed = speed
        self.offsets = schedule(self.items, speed, max_gap)
        self.done = asyncio.Event()
        self._agent_log = agent_log
        self._event_log = event_log
        self._cursor = 0
        self._closed = asyncio.Event()

    @classmethod
    def from_log(cls, path: Path | str, **kwargs: Any) -> ReplayBackend:
        """Replay an event log and the agent log recorded with it; raises
        :class:`parley.app.session.eventlog.LogFormatError`."""
        from parley.app.session.eventlog import read_log
        from parley.app.session.recordings import recorded_agent_log

        rec = read_log(path)
        if "agent_log" not in kwargs:
            kwargs["agent_log"] = recorded_agent_log(path)
        kwargs.setdefault("event_log", Path(path))
        return cls(rec.items, header=rec.header, **kwargs)

    @property
    def agent_log_path(self) -> Path | None:
        return self._agent_log

    @property
    def event_log_path(self) -> Path | None:
        """The replayed file (exports of the replay are exports of it)."""
        return self._event_log

    @property
    def played(self) -> int:
        """How many items :meth:`follow` has yielded."""
        return self._cursor

    async def start(self) -> dict[str, Any]:
        return await self.agent_info()

    async def follow(self) -> AsyncGenerator[it.ChatItem, None]:
        import asyncio

        loop = asyncio.get_running_loop()
        first = self._cursor
        # resuming: the next item keeps its gap to the last one yielded
        base = self.offsets[first - 1] if 0 < first <= len(self.items) else 0.0
        t0 = loop.time()
        while self._cursor < len(self.items):
            n = self._cursor
            delay = t0 + self.offsets[n] - base - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._cursor += 1
            yield self.items[n]
        self.done.set()
        await self._closed.wait()

    async def say(self, text: str) -> str:
        from parley.app.backend import BackendError

        raise BackendError("this is a replay of a recorded session: it cannot take new turns")

    async def cancel(self) -> list[str]:
        return []

    async def agent_info(self) -> dict[str, Any]:
        from parley.app.backend import derive_agent_info

        return derive_agent_info(
            self.items[: self._cursor], agent=self.header.get("agent_id"), calls=self.items
        )

    async def agent_alive(self) -> bool:
        return True

    async def restart(self) -> dict[str, Any]:
        from parley.app.backend import BackendError

        raise BackendError("this is a replay of a recorded session: there is no agent")

    async def close(self) -> None:
        self._closed.set()
