"""``parley logs``: the agent's log, of the running session or the last one.

Only click and the standard library are imported at module level.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import CONTEXT, fail, session_option
from parley.app.cli.streams import recorded_or_live, stdout_closed

if TYPE_CHECKING:
    from parley.app.agent.logfollow import LogReader


@click.command(context_settings=CONTEXT)
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines to show.")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing new lines (until Ctrl+C, or until the session stops).",
)
@click.option(
    "--full", is_flag=True, help="Print long lines whole (default: cut after 500 characters)."
)
@session_option
def logs(lines: int, follow: bool, full: bool, name: str | None) -> None:
    """Show the agent's log (of the running session, else the last one).

    One line per log line; colours on a terminal only (never with NO_COLOR), other
    control characters shown as \\xNN. With -f, new lines as they are written, also
    after the log is truncated or replaced, until Ctrl+C or, for the running session,
    until it stops.
    """
    from parley.app.agent.agentlog import LINE_CAP, TAIL_BYTES, clean_line
    from parley.app.agent.logfollow import LogReader
    from parley.headless.render import use_color

    state, rec = recorded_or_live(name)
    path = Path(state.agent_log) if state else (rec.agent_log if rec else None)
    if path is None or not path.exists():
        fail(f"no session running for {Path.cwd()} and no recorded session to show")
    color = use_color(sys.stdout)
    width = None if full else LINE_CAP

    def show(raw: list[str]) -> None:
        for line in raw:
            sys.stdout.write(clean_line(line, color=color, width=width) + "\n")
        sys.stdout.flush()

    reader = LogReader(path)
    try:
        try:
            tail = reader.open_tail(TAIL_BYTES)
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror or e}")
        if lines > 0:
            show(tail[-lines:])
        if follow:
            import asyncio

            asyncio.run(_follow(reader, show, state.daemon_pid if state else None))
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        stdout_closed()
    except OSError as e:
        fail(f"cannot follow {path}: {e.strerror or e}")
    finally:
        reader.close()


async def _follow(
    reader: LogReader, show: Callable[[list[str]], None], daemon_pid: int | None
) -> None:
    """``logs -f``: show what the log gains until Ctrl+C or, when ``daemon_pid`` is
    the running session's daemon, until it exits (the agent's last lines included)."""
    import asyncio

    from parley.app.agent.logfollow import follow
    from parley.app.agent.procwait import pid_exited

    stop = asyncio.Event()
    ended = None
    if daemon_pid is not None:
        ended = asyncio.create_task(pid_exited(daemon_pid))
        ended.add_done_callback(lambda _: stop.set())
    try:
        await follow(reader, show, stop)
    finally:
        if ended is not None:
            ended.cancel()


def register(cli: click.Group) -> None:
    """Add ``logs`` to the ``parley`` group."""
    cli.add_command(logs)
