"""The import rules of DESIGN.md, checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import parley.app.cli.commands, parley.app.daemon.client, parley.app.protocol.items, "
        "parley.app.daemon.state, parley.app.protocol.limits",
        "import parley.headless.render",
        # what `parley say` loads: the CLI module, then the say command's imports
        "import parley.app.cli.commands; from parley.app.daemon.client import ControlClient; "
        "from parley.app.protocol.items import item_from_dict; "
        "from parley.headless.render import TextRenderer",
    ],
)
def test_say_path_imports_no_textual_no_asyncio_no_protobuf(code: str) -> None:
    mods = modules_after(code)
    assert "textual" not in mods
    assert "rich" not in mods
    assert "google.protobuf" not in mods
    assert "asyncio" not in mods


def test_app_core_never_imports_textual() -> None:
    mods = modules_after(
        "import parley.app.agent.engine, parley.app.session.session, parley.app.daemon.process, "
        "parley.app.daemon.aclient, parley.app.daemon.control, parley.app.session.eventlog, "
        "parley.app.session.recordings"
    )
    assert "textual" not in mods
