"""Every exit code parley returns, in one place.

The table follows common shell conventions (timeout(1) uses 124, a SIGINT-ended
process 128+2) so scripts and AI agents can act on them:

====  ===========================================================================
code  meaning
====  ===========================================================================
0     success: the command did what it said; a turn finished ``ok``
1     failure: the turn ended with an agent error, no session is running, the
      agent crashed or never connected, the daemon could not be reached
2     usage error (unknown option, missing argument; click's own convention) and bad
      input: empty text, text that is not UTF-8, or text over the agent's 1 MiB
      message limit (nothing sent)
124   ``say --timeout`` expired; the turn may still be running in the daemon
130   interrupted: Ctrl+C, or the turn was cancelled (``parley cancel``)
====  ===========================================================================

:func:`exit_code_for` is the one mapping from parley's errors
(:class:`parley.app.errors.ParleyError`) to these codes; the ``parley`` command group
applies it to any such error a command lets through.
"""

from __future__ import annotations

OK = 0
FAILURE = 1
USAGE = 2
TIMEOUT = 124
INTERRUPTED = 130

#: exit code for each ``turn_finished`` status (see :mod:`parley.app.protocol.items`)
TURN_STATUS_EXIT = {
    "ok": OK,
    "error": FAILURE,
    "timeout": TIMEOUT,
    "cancelled": INTERRUPTED,
}


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error a command ends with: bad input (a
    :class:`parley.app.errors.ParleyError` marked ``bad_input``, such as an
    :class:`parley.app.protocol.limits.InputError`, or the daemon refusing the input: a
    :class:`parley.app.daemon.client.ControlError` of kind ``input``) is a usage error,
    2; anything else is a failure, 1."""
    from parley.app.daemon.client import ControlError
    from parley.app.errors import ParleyError

    if isinstance(error, ParleyError) and error.bad_input:
        return USAGE
    if isinstance(error, ControlError) and error.kind == "input":
        return USAGE
    return FAILURE
