"""The chat app's garbage collection policy (:mod:`parley.widgets.gc_policy`): full
collections wait for a quiet session, run anyway when long overdue, and the process's
thresholds come back on stop."""

from __future__ import annotations

import gc
from typing import Any, cast

from textual.app import App

from parley.widgets.gc_policy import QuietCollector


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeApp:
    """What :meth:`QuietCollector.start` uses of an App: ``set_interval``."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, Any]] = []
        self.stopped = False

    def set_interval(self, period: float, callback: Any, name: str = "") -> FakeApp:
        self.intervals.append((period, callback))
        return self

    def stop(self) -> None:
        self.stopped = True


def make(
    count: list[int], enabled: list[bool] | None = None
) -> tuple[QuietCollector, Clock, list[int]]:
    clock = Clock()
    state = enabled if enabled is not None else [True]
    collected: list[int] = []

    def collect() -> int:
        collected.append(count[0])
        count[0] = 0  # a full collection resets the count, as gc.collect() does
        return 0

    policy = QuietCollector(clock=clock, get_count=lambda: (0, 0, count[0]), collect=collect,
                            enabled=lambda: state[0])  # fmt: skip
    return policy, clock, collected


def test_a_due_collection_waits_for_a_quiet_session() -> None:
    count = [9]
    policy, clock, collected = make(count)
    clock.now += 10
    assert not policy.tick()  # quiet, but not due: CPython would not collect either
    count[0] = 10
    policy.activity()  # items arrived just now
    clock.now += policy.quiet / 2
    assert not policy.tick()
    assert collected == []
    clock.now += policy.quiet / 2
    assert policy.tick()
    assert collected == [10]
    assert policy.collections == 1
    assert not policy.tick()  # nothing due after it


def test_an_overdue_collection_runs_while_items_keep_coming() -> None:
    count = [0]
    policy, clock, collected = make(count)
    for n in range(1, 10 * policy.force_after + 1):
        count[0] = n
        policy.activity()
        clock.now += 0.05
        ran = policy.tick()
        assert ran == (n == 10 * policy.force_after), n
    assert collected == [10 * policy.force_after]


def test_no_collection_while_the_collector_is_disabled() -> None:
    """Textual disables the collector during a scroll animation: a collection then
    waits until it is enabled again."""
    count, enabled = [10 * QuietCollector.force_after], [False]
    policy, clock, collected = make(count, enabled)
    clock.now += 10
    assert not policy.tick()
    enabled[0] = True
    assert policy.tick()
    assert len(collected) == 1


def test_start_takes_over_full_collections_and_stop_gives_them_back() -> None:
    saved = gc.get_threshold()
    app = FakeApp()
    policy = QuietCollector()
    try:
        policy.start(cast(App[Any], app))
        assert gc.get_threshold() == (saved[0], saved[1], 2**30)
        assert [period for period, _ in app.intervals] == [policy.period]
        policy.start(cast(App[Any], app))  # twice: still one timer
        assert len(app.intervals) == 1
    finally:
        policy.stop()
    assert gc.get_threshold() == saved
    assert app.stopped
