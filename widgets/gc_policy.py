"""Garbage collection out of the way of the chat app's frames.

CPython collects the oldest generation after every ``threshold2`` (10) collections of
the middle one. In the chat app, once the session's first items are on screen and
:func:`gc.freeze` has moved everything alive then out of the collector's reach, that
comes every ~20 appended items, and each full collection walks every object made
since (new rows, their caches): 5-14 ms of CPU inside the frame that shows the new
item, on 10 of 200 appends, which made the whole p99 of an append
(``bench/bench_tui.py``: CPU p99 21-27 ms, p50 12-14 ms).

:class:`QuietCollector` turns the automatic full collection off and runs it itself:
as often as CPython would (after ``threshold2`` middle-generation collections), but
only once no new items have arrived for :attr:`QuietCollector.quiet` seconds; while
items keep coming without a pause it still runs one after
:attr:`QuietCollector.force_after` times that many, so memory stays bounded. The
young generations are collected as before (well under 1 ms each). Thresholds are
process-wide: :meth:`QuietCollector.stop` puts them back.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.timer import Timer


class QuietCollector:
    """See the module docstring. ``start(app)`` once the session is loaded (after
    :func:`gc.freeze`), ``activity()`` for every batch of items, ``stop()`` on exit.

    ``clock`` (seconds, monotonic), ``get_count`` (:func:`gc.get_count`),
    ``collect`` (:func:`gc.collect`) and ``enabled`` (:func:`gc.isenabled`) can be
    replaced for tests."""

    #: seconds without new items before a due collection runs
    quiet = 0.5
    #: how often the policy looks, in seconds
    period = 0.25
    #: a due collection runs anyway after this many times the usual number of
    #: middle-generation collections (~600 appended items without a pause; each
    #: full collection then frees ~100 objects per item)
    force_after = 30

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        get_count: Callable[[], tuple[int, int, int]] = gc.get_count,
        collect: Callable[[], int] = gc.collect,
        enabled: Callable[[], bool] = gc.isenabled,
    ) -> None:
        self._clock = clock
        self._get_count = get_count
        self._collect = collect
        self._enabled = enabled
        self._saved: tuple[int, int, int] | None = None
        self._due_after = 10  # middle-generation collections (CPython's threshold2)
        self._last_activity = clock()
        self._timer: Timer | None = None
        self.collections = 0  #: full collections run by the policy

    def start(self, app: App[Any]) -> None:
        """Take over full collections (no-op if CPython does not collect the oldest
        generation by a third threshold, or if already started)."""
        if self._saved is not None:
            return
        thresholds = gc.get_threshold()
        if len(thresholds) != 3 or thresholds[2] <= 0:  # a collector this does not know
            return
        self._saved = (thresholds[0], thresholds[1], thresholds[2])
        self._due_after = thresholds[2]
        gc.set_threshold(thresholds[0], thresholds[1], 2**30)  # never by itself
        self._timer = app.set_interval(self.period, self.tick, name="quiet_gc")

    def stop(self) -> None:
        """Give full collections back to CPython (its thresholds as they were)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def activity(self) -> None:
        """New items arrived (a frame will show them soon)."""
        self._last_activity = self._clock()

    def tick(self) -> bool:
        """Run a full collection if one is due and the session is quiet, or overdue;
        whether it ran. Never while the collector is disabled (Textual disables it
        during a scroll animation, ``App.PAUSE_GC_ON_SCROLL``)."""
        if not self._enabled():
            return False
        pending = self._get_count()[2]  # middle-generation collections since the last
        if pending < self._due_after:
            return False
        quiet = self._clock() - self._last_activity >= self.quiet
        if not quiet and pending < self._due_after * self.force_after:
            return False
        self._collect()
        self.collections += 1
        return True
