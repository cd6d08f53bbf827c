"""The root of parley's own errors.

Every error parley raises on purpose derives from :class:`ParleyError`, and its message
is written for a person: what went wrong and, where there is one, what to do next
(``no agent.py or src/agent.py in …; name the agent file: parley start path/to/agent.py``).
Nothing else is needed to show one: the CLI prints it on stderr and exits with
:func:`parley.app.cli.exitcodes.exit_code_for` (the one mapping from errors to exit codes,
applied by :func:`parley.app.cli.common.fail_with`), and the chat UI shows it as it is
(:func:`error_message`). Any other exception is a bug in parley.

Standard library only: it is on the ``parley say`` path.
"""

from __future__ import annotations

from typing import ClassVar


class ParleyError(Exception):
    """An error parley reports to the user; ``str(e)`` is the whole message.

    ``bad_input`` marks errors in what the person gave (text that cannot be sent, a
    recording that is not there): the CLI exits 2 for them, 1 for the others."""

    bad_input: ClassVar[bool] = False


def error_message(error: BaseException) -> str:
    """What to tell a person about ``error``: one of parley's errors is its own message;
    any other exception (a bug in parley, or an OS error no one caught) is named by its
    type too, so a report says what happened."""
    if isinstance(error, ParleyError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def command_hint(command: str, name: str | None = None) -> str:
    """``parley <command>`` as a hint about the session named ``name``: with
    ``-s NAME`` (shell-quoted) when it is a named session, so the hint acts on the
    session it is about."""
    import shlex

    return f"parley {command}" + (f" -s {shlex.quote(name)}" if name else "")
