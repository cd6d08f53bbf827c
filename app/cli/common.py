"""What every ``parley`` command module shares: click settings, the error exit, the
session option and the ``[AGENT] [-- ARGS]`` split. Click and the standard library
only (the ``parley say`` path loads it)."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from parley.app.cli import exitcodes

CONTEXT = {"help_option_names": ["-h", "--help"]}


def fail(message: str, code: int = exitcodes.FAILURE, prefix: bool = True) -> NoReturn:
    """Print ``parley: <message>`` on stderr and exit with ``code``.

    ``prefix=False`` prints the message alone: "no session running …" starts its line,
    as scripts match it. The message may quote the agent's log or other untrusted
    text: it is printed one line per line, control characters escaped, colour codes
    rendered on a terminal and stripped elsewhere (:func:`parley.app.agent.agentlog.clean_text`)."""
    from parley.app.agent.agentlog import clean_text
    from parley.headless.render import use_color

    message = clean_text(message, color=use_color(sys.stderr))
    click.echo(f"parley: {message}" if prefix else message, err=True)
    sys.exit(code)


def locate_or_fail(name: str | None) -> Any:
    """The live session of the project around the current directory (an
    :class:`parley.app.daemon.state.SessionState`); else exit 1 with ``no session running …``."""
    from pathlib import Path

    from parley.app.daemon.client import NoSession, locate

    try:
        return locate(Path.cwd(), name)
    except NoSession as e:
        fail(str(e), prefix=False)


def session_option(f: Any) -> Any:
    """The ``-s/--session NAME`` option of every command that finds a session."""
    return click.option(
        "-s",
        "--session",
        "name",
        metavar="NAME",
        envvar="PARLEY_SESSION",
        help="Name of the session, to run more than one per project.",
    )(f)


def split_agent_args(args: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``[AGENT] [-- ARGS…]``: click drops the ``--``, so find it in argv."""
    argv = sys.argv[1:]
    if "--" in argv:
        extra = tuple(argv[argv.index("--") + 1 :])
        before = args[: len(args) - len(extra)] if extra else args
    else:
        before, extra = args, ()
    if len(before) > 1:
        raise click.UsageError("give one agent file; pass agent arguments after --")
    return (before[0] if before else None), extra
