"""The bundled demo agent (``parley demo``, ``parley start --demo``).

``agent.py`` is a real livekit-agents program (a travel concierge with a billing desk)
whose model is scripted (``scripted_llm.py``: deterministic, offline, no API keys). It
ships inside the package so the demo works from a wheel; it runs on parley's own
Python, so it needs livekit-agents there: ``pip install 'parley[demo]'``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from parley.app.agent.launcher import AgentSpec, LaunchError, check_agents_installed

#: the demo agent's file
DEMO_AGENT = Path(__file__).resolve().with_name("agent.py")


def demo_spec(cwd: Path) -> AgentSpec:
    """Run the demo agent on this interpreter, as a session of the project at ``cwd``
    (so ``parley say`` there finds it). Raises :class:`LaunchError` when
    livekit-agents is missing here, naming the ``demo`` extra."""
    python = [sys.executable]
    try:
        version = check_agents_installed(python)
    except LaunchError as e:
        raise LaunchError(f"{e}\n(the demo needs it: pip install 'parley[demo]')") from None
    label = f"parley's own Python (the bundled demo), livekit-agents {version}"
    return AgentSpec(DEMO_AGENT, cwd.resolve(), python, runtime_label=label)
