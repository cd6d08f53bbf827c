"""Playing a recording back: the pacing shared by ``parley replay`` and the cast export.

A recording's items carry the Unix time they arrived (``ts``). Playback shows item
*i* at offset ``sum(min(gap_k, max_gap) / speed for k <= i)`` seconds from the start,
where ``gap_k`` is the time between item *k-1* and item *k* as recorded (negative
gaps count as 0). So ``speed`` 2 plays twice as fast, ``speed`` 0 plays instantly,
and an idle stretch (the person thinking between turns, a coffee break) is shortened
to ``max_gap`` seconds (:data:`MAX_GAP` by default, ``inf`` keeps it).

No agent runs during a replay. :func:`play` writes a recording to a terminal (``parley
replay``); :class:`parley.app.backend.ReplayBackend` plays one in the chat UI with the same
:func:`schedule`. Standard library only: this module never imports textual or asyncio.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

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


def waits(
    offsets: Sequence[float], start: int = 0, clock: Callable[[], float] = time.monotonic
) -> Iterator[tuple[int, float]]:
    """The pacing loop of every playback: ``(index, seconds to wait before showing it)``
    for each item from ``start`` on, given the :func:`schedule` ``offsets``. Time counts
    from the first step on ``clock``, and each wait is computed when the caller asks for
    the next step (after it showed the previous item), so slow output is caught up, not
    added. Resuming at ``start`` > 0 keeps that item's recorded gap to the one before. A
    wait may be negative (the item is late): show it at once."""
    base = offsets[start - 1] if 0 < start <= len(offsets) else 0.0
    t0 = clock()
    for n in range(start, len(offsets)):
        yield n, t0 + offsets[n] - base - clock()


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
    for n, delay in waits(schedule(items, speed, max_gap), clock=clock):
        text = render(items[n])
        if not text:
            continue
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
