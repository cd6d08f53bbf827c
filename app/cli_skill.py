"""``parley skill``: print or install the guide that teaches a coding agent to use
parley (see :mod:`app.skill`). Registered on the ``parley`` group by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli_common import CONTEXT, fail


@click.command(context_settings=CONTEXT)
@click.option(
    "--install",
    is_flag=True,
    help="Write it to .claude/skills/parley/SKILL.md in the project (where coding agents "
    "look for project skills).",
)
@click.option(
    "--agents-md",
    is_flag=True,
    help="With --install: also put a short section in AGENTS.md (kept in place on reinstall).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project directory (default: the nearest one above here with a "
    "pyproject.toml, .git, …).",
)
def skill(install: bool, agents_md: bool, directory: Path | None) -> None:
    """Print the skill that teaches a coding agent to use parley (or --install it)."""
    from app import skill as sk

    if not install:
        if agents_md or directory:
            raise click.UsageError("--agents-md and --dir go with --install")
        click.echo(sk.SKILL, nl=False)
        return
    from app.state import project_root

    root = directory or project_root(Path.cwd() / "_")
    try:
        written = sk.install(root, agents_md=agents_md)
    except OSError as e:
        fail(f"could not install the skill: {e}")
    for path in written:
        click.echo(f"wrote {path}")


def register(cli: click.Group) -> None:
    cli.add_command(skill)
