"""Watch mode (``parley start --watch``, ``parley chat --watch``): reload the agent when
its project's sources change.

The daemon watches the agent's project directory with ``watchfiles`` (the library
livekit-agents' own dev mode uses; inotify/FSEvents/ReadDirectoryChangesW via Rust's
``notify``). Changes are debounced: a batch is taken once no new change came for
``step`` ms (at most ``debounce`` ms after the first), so an editor's save (write,
rename, chmod) or a ``git checkout`` is one reload. Each batch goes to
:class:`parley.app.session.reload.Reloader`.

What counts (:class:`SourceFilter`): Python, TypeScript and JavaScript sources and
``.env`` files; never virtualenvs, ``node_modules``, caches, VCS directories or
parley's own state (``$PARLEY_HOME``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from watchfiles import Change, DefaultFilter, awatch

from parley.app.agent.logfollow import watch_batches
from parley.app.session.reload import Reloader

log = logging.getLogger("parley.watch")

SOURCE_SUFFIXES = (".py", ".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx")
IGNORE_DIRS = (
    *DefaultFilter.ignore_dirs,
    "venv",
    ".nox",
    ".ruff_cache",
    ".parley",
    "build",
    "dist",
    "site-packages",
)


class SourceFilter(DefaultFilter):
    """Accepts agent sources and ``.env`` files, outside ignored directories and
    ``extra_ignore`` paths."""

    def __init__(self, extra_ignore: tuple[str, ...] = ()) -> None:
        super().__init__(ignore_dirs=IGNORE_DIRS, ignore_paths=extra_ignore)

    def __call__(self, change: Change, path: str) -> bool:
        name = os.path.basename(path)
        wanted = name.endswith(SOURCE_SUFFIXES) or name == ".env" or name.startswith(".env.")
        if not wanted or os.path.isdir(path):
            return False
        if ".env" in Path(path).parts[:-1]:  # a virtualenv named .env (not a .env file)
            return False
        return super().__call__(change, path)


def parley_state_paths() -> tuple[str, ...]:
    """parley's own directories, never watched (they change with every item)."""
    home = os.environ.get("PARLEY_HOME")
    return (str(Path(home).resolve()),) if home else ()


async def watch_project(
    reloader: Reloader,
    project: Path,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    debounce_ms: int = 1600,
    step_ms: int = 50,
) -> None:
    """Reload ``reloader``'s agent for every batch of source changes under
    ``project`` until ``stop`` is set. ``ready`` is set once the watch is in place:
    a change saved after that is seen."""
    watch_filter = SourceFilter(parley_state_paths())
    root = project.resolve()
    changes_iter = awatch(
        root,
        watch_filter=watch_filter,
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,
        recursive=True,
    )
    async with contextlib.aclosing(watch_batches(changes_iter)) as batches:
        async for changes in batches:
            if changes is None:  # the watch is in place
                if ready is not None:
                    ready.set()
                continue
            seen = time.monotonic()
            files = sorted({_relative(path, root) for _, path in changes})
            log.info("changed: %s", ", ".join(files))
            try:
                await reloader.reload(files, detected=seen)
            except Exception:  # the watcher outlives one bad reload
                log.exception("reload failed")


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path
