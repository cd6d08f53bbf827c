"""`parley skill`: the guide for coding agents, printed or installed."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from parley.app.cli.commands import cli
from parley.app.cli.skill import AGENTS_SNIPPET, BEGIN, END, SKILL


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    assert body.strip()
    return yaml.safe_load(head)


def test_skill_prints_a_valid_skill_md() -> None:
    result = CliRunner().invoke(cli, ["skill"])
    assert result.exit_code == 0
    assert result.output == SKILL
    meta = front_matter(result.output)
    assert meta["name"] == "parley"
    assert "LiveKit" in meta["description"] and len(meta["description"]) <= 1024
    # what a coding agent must learn from it
    for needle in ("parley start", "parley say", "--json", "parley logs", "parley stop", "124"):
        assert needle in SKILL


def test_install_writes_the_skill_at_the_project_root(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    result = CliRunner().invoke(cli, ["skill", "--install"])
    assert result.exit_code == 0, result.output
    skill = tmp_path / ".claude/skills/parley/SKILL.md"
    assert skill.read_text() == SKILL
    assert result.output == f"wrote {skill}\n"
    assert not (tmp_path / "AGENTS.md").exists()  # only on request


def test_agents_md_block_is_added_once_and_kept_in_place(tmp_path: Path) -> None:
    agents = tmp_path / "AGENTS.md"
    agents.write_text("# Rules\n\nBe nice.")
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["skill", "--install", "--agents-md", "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
    text = agents.read_text()
    assert text == f"# Rules\n\nBe nice.\n\n{BEGIN}\n{AGENTS_SNIPPET}{END}\n"
    agents.write_text(text + "\n## Later section\n")
    runner.invoke(cli, ["skill", "--install", "--agents-md", "--dir", str(tmp_path)])
    assert agents.read_text().count(BEGIN) == 1
    assert agents.read_text().endswith(f"{END}\n\n## Later section\n")


def test_options_need_install_and_write_errors_are_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["skill", "--agents-md"])
    assert result.exit_code == 2
    blocker = tmp_path / ".claude"
    blocker.write_text("a file where the directory should be")
    result = CliRunner().invoke(cli, ["skill", "--install", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "could not install the skill" in result.output
