"""The daemon's readiness line: one JSON object on the pipe ``parley start`` reads.

Shared by the daemon process (:mod:`parley.app.daemon.process`, failures before the
agent connects) and its server (:mod:`parley.app.daemon.server`, the ready line with
the state). Standard library only.
"""

from __future__ import annotations

import contextlib
import json
from typing import IO, Any


def report(ready: IO[str], **obj: Any) -> None:
    """Write the one readiness line to ``parley start`` and close the pipe (later
    calls do nothing)."""
    with contextlib.suppress(OSError, ValueError):
        ready.write(json.dumps(obj) + "\n")
        ready.flush()
        ready.close()
