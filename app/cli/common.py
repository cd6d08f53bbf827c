"""What every ``parley`` command module shares: click settings, the error exit, the
session option and the ``[AGENT] [-- ARGS]`` split. Click and the standard library
only (the ``parley say`` path loads it)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from parley.app.cli import exitcodes
from parley.app.errors import ParleyError

if TYPE_CHECKING:
    from parley.app.daemon.state import SessionState

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


def fail_with(error: ParleyError) -> NoReturn:
    """End the command on one of parley's errors: its message on stderr (``no session
    running …`` unprefixed, as scripts match it) and the exit code
    :func:`parley.app.cli.exitcodes.exit_code_for` gives. The command group calls it for
    every :class:`ParleyError` a command lets through."""
    from parley.app.daemon.client import NoSession

    fail(str(error), exitcodes.exit_code_for(error), prefix=not isinstance(error, NoSession))


def locate_or_fail(name: str | None) -> SessionState:
    """The live session of the project around the current directory; else exit 1 with
    ``no session running …``."""
    from pathlib import Path

    from parley.app.daemon.client import NoSession, locate

    try:
        return locate(Path.cwd(), name)
    except NoSession as e:
        fail_with(e)


#: a click command function (or a command), as an option decorator takes and returns it
F = TypeVar("F", bound=Callable[..., Any])


def session_option(f: F) -> F:
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


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``1h`` or ``1h30m`` (``0`` allowed).
    Raises ``ValueError`` for anything else."""
    import re

    text = text.strip().lower()
    try:
        value = float(text)
    except ValueError:
        m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", text)
        if not text or m is None:
            raise ValueError(f"not a duration: {text!r} (use e.g. 90, 90s, 30m, 1h)") from None
        h, mins, sec = (float(g) if g else 0.0 for g in m.groups())
        value = h * 3600 + mins * 60 + sec
    if value < 0 or value != value or value == float("inf"):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 90s, 30m, 1h)")
    return value


class Duration(click.ParamType):
    """A click parameter in seconds, written ``90``, ``90s``, ``30m`` or ``1h``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


#: the default of ``--idle-timeout`` (as LiveKit's debugger): 30 minutes
IDLE_TIMEOUT_DEFAULT = "30m"


def idle_timeout_option(f: F) -> F:
    """``--idle-timeout DURATION`` of ``start`` and ``chat``."""
    return click.option(
        "--idle-timeout",
        type=Duration(),
        default=IDLE_TIMEOUT_DEFAULT,
        show_default=True,
        help="Stop the session after this long with no command, no client attached and "
        "no turn running (e.g. 90s, 30m, 1h; 0 never stops it).",
    )(f)
