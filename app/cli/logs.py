"""``parley logs``: the agent's log, of the running session or the last one.

Only click and the standard library are imported at module level.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import CONTEXT, fail, session_option
from parley.app.cli.streams import recorded_or_live, stdout_closed


@click.command(context_settings=CONTEXT)
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option(
    "--full", is_flag=True, help="Print long lines whole (default: cut after 500 characters)."
)
@session_option
def logs(lines: int, follow: bool, full: bool, name: str | None) -> None:
    """Show the agent's log (of the running session, else the last one).

    One line per log line; colours on a terminal only (never with NO_COLOR), other
    control characters shown as \\xNN.
    """
    import time

    from parley.app.agent.agentlog import LINE_CAP, LineSplitter, clean_line, read_tail
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

    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            offset = f.tell()
            if lines > 0:
                show(read_tail(path, end=offset)[-lines:])
            if not follow:
                return
            f.seek(offset)
            splitter = LineSplitter()
            while True:
                chunk = f.read(1024 * 1024)
                if chunk:
                    show(splitter.feed_bytes(chunk))
                else:
                    time.sleep(0.2)
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        stdout_closed()


def register(cli: click.Group) -> None:
    """Add ``logs`` to the ``parley`` group."""
    cli.add_command(logs)
