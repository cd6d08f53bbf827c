"""The ``parley`` command line (click): the command group, its help sections and the
registration of every command.

The commands live by theme: :mod:`parley.app.cli.lifecycle` (``start``, ``restart``,
``stop``, ``status``), :mod:`parley.app.cli.turns` (``say``, ``cancel``, ``events``,
``listen``, ``history``), :mod:`parley.app.cli.logs`, :mod:`parley.app.cli.record`
(recordings), :mod:`parley.app.cli.rerun`, :mod:`parley.app.cli.skill` and
:mod:`parley.app.cli.tui` (the chat UI); what the headless ones share is in
:mod:`parley.app.cli.streams`.

Headless commands print the conversation on stdout (text, or JSON lines with
``--json``) and diagnostics on stderr; exit codes are in :mod:`parley.app.cli.exitcodes`.
Imports are kept inside the commands so ``parley say`` loads only what it needs:
never textual, asyncio or protobuf.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from parley.app.cli import exitcodes, lifecycle, logs, record, rerun, skill, tui, turns
from parley.app.cli.common import CONTEXT, fail_with
from parley.app.errors import ParleyError

SECTIONS = {
    "Chat UI": ("chat", "demo", "attach"),
    "Headless (scripts, AI agents)": (
        "start", "say", "listen", "cancel", "events", "status", "logs", "history", "restart",
        "stop", "skill",
    ),
    "Recordings": ("sessions", "replay", "export", "rerun"),
}  # fmt: skip


class _Group(click.Group):
    """Ctrl+C in any command exits 130 (not click's "Aborted!" and 1); one of parley's
    errors that a command lets through is its message and exit code
    (:func:`parley.app.cli.common.fail_with`: the one place, never a traceback; a state
    or data directory parley cannot use is one line naming it and ``PARLEY_HOME``);
    ``--help`` lists the commands by :data:`SECTIONS` (any other under "Other")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        placed = {n for group in SECTIONS.values() for n in group}
        sections = [*SECTIONS.items(), ("Other", tuple(n for n in names if n not in placed))]
        width = formatter.width - 6 - max((len(n) for n in names), default=0)
        for title, group in sections:
            rows = []
            for name in group:
                cmd = self.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=max(width, 20))))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("", err=True)
            sys.exit(exitcodes.INTERRUPTED)
        except ParleyError as e:
            fail_with(e)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="parley")
def cli() -> None:
    """Talk to LiveKit voice agents in text mode.

    \b
    parley chat [AGENT]      chat in a terminal UI (parley demo: a bundled agent)
    parley start [AGENT]     start a session in the background, then
    parley say "hello"       send one turn, print it, exit
    parley stop              end the session
    """


for module in (lifecycle, turns, logs, record, skill, rerun, tui):
    module.register(cli)


def main() -> None:
    """The ``parley`` console script (a :class:`ParleyError` no command handled is
    reported by the command group, :class:`_Group`)."""
    cli(prog_name="parley")


if __name__ == "__main__":
    main()
