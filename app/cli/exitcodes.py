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
