"""The parley command itself: version, shell completion, argument checks (no agent runs)."""

from __future__ import annotations

from importlib.metadata import version

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
