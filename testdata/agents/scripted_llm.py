"""The scripted model of the testdata agents: parley's own (``parley.app.demo.scripted_llm``).

Testdata agents put their directory on ``sys.path`` and ``from scripted_llm import ...``;
this re-export keeps that working. ``tests/conftest.py``'s ``copy_agent`` copies the real
module next to a copied agent, so a copy needs no parley.
"""

from parley.app.demo.scripted_llm import *  # noqa: F403
from parley.app.demo.scripted_llm import __all__  # noqa: F401
