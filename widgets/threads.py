"""Blocking work (file reads and writes) off the UI loop.

One small thread pool for the whole process, shared by every app instance (the UI
loop never waits on a file); unlike ``asyncio.to_thread`` it does not make a
default executor per event loop, whose threads outlive a closed loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parley-io")


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` run in the I/O thread pool; its result (or exception)."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)
