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
    """Every exception class parley defines (any module of the installed package but the
    demo agent, which runs in the agent's process) derives from ParleyError."""
    import importlib
    import inspect
    import pkgutil

    import parley.app
    import parley.headless
    import parley.widgets
    from parley.app.errors import ParleyError

    defined = []
    for pkg in (parley.app, parley.widgets, parley.headless):
        for info in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}."):
            if info.name.startswith("parley.app.demo") or info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            defined += [
                obj
                for obj in vars(module).values()
                if inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ]
    assert len(defined) > 15  # the walk found the package's errors
    assert [e.__qualname__ for e in defined if not issubclass(e, ParleyError)] == []


def test_exit_codes_come_from_one_mapping() -> None:
    from parley.app.agent.launcher import LaunchError
    from parley.app.cli.exitcodes import FAILURE, USAGE, exit_code_for
    from parley.app.daemon.client import ControlError, NoSession
    from parley.app.daemon.rerun import RecordingsNotFound, RerunError
    from parley.app.protocol.limits import InputError

    usage = [InputError("x"), RecordingsNotFound("x"), ControlError("x", "input")]
    failure = [LaunchError("x"), NoSession("x"), ControlError("x", "agent"), RerunError("x")]
    assert [exit_code_for(e) for e in usage] == [USAGE] * len(usage)
    assert [exit_code_for(e) for e in failure] == [FAILURE] * len(failure)


@pytest.mark.parametrize(
    ("error", "code"),
    [("InputError", 2), ("LaunchError", 1), ("NoSession", 1)],
)
def test_main_turns_an_unhandled_parley_error_into_its_message_and_exit_code(
    error: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from parley.app.agent.launcher import LaunchError
    from parley.app.cli.commands import main
    from parley.app.daemon.client import NoSession
    from parley.app.protocol.limits import InputError

    exc = {"InputError": InputError, "LaunchError": LaunchError, "NoSession": NoSession}[error]

    @click.command("boom")
    def boom() -> None:
        raise exc("what went wrong; what to do")

    monkeypatch.setitem(cli.commands, "boom", boom)
    monkeypatch.setattr("sys.argv", ["parley", "boom"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == code
    # "no session running …" starts its line, as scripts match it; the others say who speaks
    prefix = "" if error == "NoSession" else "parley: "
    assert capsys.readouterr().err == f"{prefix}what went wrong; what to do\n"
