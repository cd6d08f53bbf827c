"""``python -m parley.app.cli``: the ``parley`` command without its console script."""

from __future__ import annotations

from parley.app.cli.commands import main

if __name__ == "__main__":
    main()
