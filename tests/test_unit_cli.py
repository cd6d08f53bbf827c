"""The parley command itself: version, shell completion, argument checks (no agent runs)."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from click.testing import CliRunner

from parley.app.cli.commands import cli


def test_version_is_the_installed_distributions() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="parley")
    assert result.exit_code == 0
    assert result.output == f"parley, version {version('parley')}\n"


def test_click_shell_completion_completes_commands() -> None:
    env = {"_PARLEY_COMPLETE": "bash_complete", "COMP_WORDS": "parley st", "COMP_CWORD": "1"}
    result = CliRunner().invoke(cli, [], prog_name="parley", env=env)
    assert result.output.split() == ["plain,start", "plain,status", "plain,stop"]


def test_start_demo_takes_no_agent() -> None:
    result = CliRunner().invoke(cli, ["start", "--demo", "agent.py"], prog_name="parley")
    assert result.exit_code == 2
    assert "--demo runs the bundled demo agent" in result.output


def test_parleys_errors_share_one_root() -> None:
    from parley.app.agent.engine import EngineError
    from parley.app.agent.launcher import LaunchError
    from parley.app.backend import BackendError
    from parley.app.daemon.client import ControlError, NoSession
    from parley.app.daemon.control import StartError
    from parley.app.errors import ParleyError
    from parley.app.protocol.items import ItemFormatError
    from parley.app.protocol.limits import InputError
    from parley.app.protocol.wire import FrameError
    from parley.app.session.eventlog import LogFormatError
    from parley.app.session.recordings import RecordingNotFound
    from parley.app.session.rerun import RerunError

    errors = [EngineError, LaunchError, BackendError, ControlError, NoSession, StartError]
    errors += [ItemFormatError, InputError, FrameError, LogFormatError, RecordingNotFound]
    errors += [RerunError]
    assert [e.__name__ for e in errors if not issubclass(e, ParleyError)] == []


@pytest.mark.parametrize(
    ("error", "code"),
    [("InputError", 2), ("LaunchError", 1)],
)
def test_main_turns_an_unhandled_parley_error_into_its_message_and_exit_code(
    error: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from parley.app.agent.launcher import LaunchError
    from parley.app.cli.commands import main
    from parley.app.protocol.limits import InputError

    exc = {"InputError": InputError, "LaunchError": LaunchError}[error]

    @click.command("boom")
    def boom() -> None:
        raise exc("what went wrong; what to do")

    monkeypatch.setitem(cli.commands, "boom", boom)
    monkeypatch.setattr("sys.argv", ["parley", "boom"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == code
    assert capsys.readouterr().err == "parley: what went wrong; what to do\n"
