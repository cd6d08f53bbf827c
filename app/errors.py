"""The root of parley's own errors.

Every error parley raises on purpose derives from :class:`ParleyError`, and its message
is written for a person: what went wrong and, where there is one, what to do next
(``no agent.py or src/agent.py in …; name the agent file: parley start path/to/agent.py``).
Nothing else is needed to show one: the CLI prints it on stderr and exits with
:func:`parley.app.cli.common.exit_code_for` (the one mapping from errors to exit codes),
and the chat UI shows it as it is. Any other exception is a bug in parley.

Standard library only: it is on the ``parley say`` path.
"""

from __future__ import annotations


class ParleyError(Exception):
    """An error parley reports to the user; ``str(e)`` is the whole message."""
