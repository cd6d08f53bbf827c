"""The chat app's commands (palette entries and the actions behind them): clear the
view, copy the last reply, export the session, save an SVG screenshot, agent info,
rerun the conversation (:mod:`parley.widgets.rerun_screen`).

Exports are ``parley export``'s own formats (:func:`parley.headless.export.export`, no second
implementation): ``md``, ``json`` (the event log's lines as stored), ``html`` and
``cast``, of the whole session as recorded. Every file the app writes, exports and
screenshots alike, is named ``parley-<session id>-<YYYYmmdd-HHMMSS>.<ext>`` in
``export_dir``, and the notification gives its path. Files are read and written in
a thread, never on the UI loop (a long session's event log takes a while).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.app import App, SystemCommand
from textual.screen import Screen

from parley.app.session.eventlog import LogFormatError, Recording, read_log
from parley.headless.export import export, to_markdown
from parley.widgets.screens import AgentInfoScreen
from parley.widgets.threads import in_thread

if TYPE_CHECKING:
    from parley.widgets.host import ChatAppHost

#: palette entry → (format, file suffix)
EXPORTS = {
    "Export: Markdown transcript (.md)": ("md", "md"),
    "Export: JSON lines as recorded (.jsonl)": ("json", "jsonl"),
    "Export: HTML page (.html)": ("html", "html"),
    "Export: asciicast (.cast)": ("cast", "cast"),
}

#: Textual's own palette entries that parley replaces
REPLACED_SYSTEM_COMMANDS = frozenset({"Screenshot"})


def output_name(session_id: str | None, suffix: str, when: float | None = None) -> str:
    """``parley-<session id>-<YYYYmmdd-HHMMSS>.<suffix>`` (``session`` when the id is
    not known)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    sid = "".join(c for c in (session_id or "session") if c.isalnum() or c in "-_")
    return f"parley-{sid or 'session'}-{stamp}.{suffix}"


def session_sources(app: ChatAppHost) -> tuple[Path | None, Recording]:
    """What :func:`read_session` needs, taken on the UI loop: the backend's event log
    path (or ``None``) and the recording made of the header and items the app has."""
    path = getattr(app.backend, "event_log_path", None)
    items = list(getattr(app.backend, "items", None) or app.transcript.items)
    return (Path(path) if path is not None else None), Recording(
        {"type": "session", **app.backend.header}, items
    )


def read_session(path: Path | None, fallback: Recording) -> tuple[Recording, Path | None]:
    """The event log at ``path`` if it is a readable one, else ``fallback``."""
    if path is not None and path.is_file():
        try:
            return read_log(path), path
        except LogFormatError:
            pass
    return fallback, None


def free_path(directory: Path, name: str) -> Path:
    """``directory/name``, or ``name~2``, ``name~3``... if it is taken."""
    path = directory / name
    n = 2
    while path.exists():
        path = path.with_name(f"{path.stem.rsplit('~', 1)[0]}~{n}{path.suffix}")
        n += 1
    return path


def write_export(
    directory: Path, name: str, fmt: str, log: Path | None, fallback: Recording
) -> tuple[Path, BaseException | None]:
    """Write the session in ``fmt`` to a free path in ``directory`` (in a thread):
    the path, and the ``OSError``/``LogFormatError`` that stopped it, if any."""
    path = directory / name
    try:
        path = free_path(directory, name)
        rec, log = read_session(log, fallback)
        path.write_text(render_export(rec, fmt, log), encoding="utf-8")
    except (OSError, LogFormatError) as e:
        return path, e
    return path, None


def render_export(rec: Recording, fmt: str, path: Path | None) -> str:
    """``rec`` in ``fmt``; ``json`` without an event log file is rebuilt from the
    header and items (one JSON object a line, header first, as stored)."""
    if path is not None:
        return export(rec, fmt, path, color="NO_COLOR" not in os.environ)
    if fmt == "json":
        import json

        lines = [json.dumps(rec.header, ensure_ascii=False)] + [i.to_json() for i in rec.items]
        return "\n".join(lines) + "\n"
    if fmt == "md":
        return to_markdown(rec)
    from parley.headless.export import to_cast, to_html

    return to_html(rec) if fmt == "html" else to_cast(rec)


class CommandsMixin:
    """The palette commands of :class:`parley.widgets.app.ParleyApp` (mixed into it;
    ``self`` is that app)."""

    def _out_name(self: ChatAppHost, suffix: str) -> str:
        return output_name(self.backend.header.get("session_id"), suffix)

    async def action_clear_view(self: ChatAppHost) -> None:
        """Clear what shows the session's history: the transcript, the tool calls
        and the handoff timeline (the current agent stays; the session keeps its
        items)."""
        self.transcript.clear()
        self.tools.clear()
        self.agents.clear()

    def action_copy_last_reply(self: ChatAppHost) -> None:
        if self.last_reply is None:
            self.notify("No reply to copy yet.", severity="warning", markup=False)
            return
        self.copy_to_clipboard(self.last_reply)
        self.notify("Copied the last reply to the clipboard.", markup=False)

    async def action_export(self: ChatAppHost, fmt: str) -> Path | None:
        """Write the session in ``fmt`` (one of :data:`parley.headless.export.FORMATS`), as
        ``parley export --format FMT`` would (in a thread); returns the path written."""
        suffix = {"md": "md", "json": "jsonl", "html": "html", "cast": "cast"}[fmt]
        log, fallback = session_sources(self)
        path, error = await in_thread(
            write_export, self.export_dir, self._out_name(suffix), fmt, log, fallback
        )
        if error is not None:
            self.notify_error(f"Could not write {path}", error)
            return None
        self.notify(f"Exported the session ({fmt}) to {path}", markup=False)
        return path

    def action_save_svg(self: ChatAppHost) -> None:
        """Save an SVG of the screen once the palette has closed (so the key footer
        is in it, as Textual's own screenshot command does)."""
        self.set_timer(0.1, self.save_svg_now)

    async def save_svg_now(self: ChatAppHost) -> Path | None:
        svg = self.export_screenshot()  # on the loop: it reads the screen

        def write() -> Path:
            path = free_path(self.export_dir, self._out_name("svg"))
            path.write_text(svg, encoding="utf-8")
            return path

        try:
            path = await in_thread(write)
        except OSError as e:
            self.notify_error(f"Could not save a screenshot to {self.export_dir}", e)
            return None
        self.notify(f"Saved a screenshot to {path}", markup=False)
        return path

    def action_show_agent_info(self: ChatAppHost) -> None:
        self.push_screen(AgentInfoScreen(self.agents.info))

    async def action_rerun_conversation(self: ChatAppHost) -> None:
        """Open the rerun screen on the session as recorded so far."""
        from parley.app.protocol import items as it
        from parley.widgets.rerun_screen import RerunScreen

        try:
            rec, log = await in_thread(read_session, *session_sources(self))
        except OSError as e:
            self.notify_error("Could not read the session", e)
            return
        if not any(isinstance(i, it.UserMessage) and i.turn_id for i in rec.items):
            self.notify("Nothing to rerun yet: send a message first.", markup=False)
            return
        if not rec.header.get("agent_file"):
            self.notify("This session names no agent file to rerun.", severity="error",
                        markup=False)  # fmt: skip
            return
        self.push_screen(RerunScreen(rec, log))

    def get_system_commands(self: ChatAppHost, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own entries: the host is that App (widgets.host proves it)
        for command in App.get_system_commands(cast("App[None]", self), screen):
            if command.title not in REPLACED_SYSTEM_COMMANDS:
                yield command
        where = str(self.export_dir)
        cmds: list[tuple[str, str, Callable[[], object]]] = [
            ("Clear view", "Clear the transcript, tool calls and handoffs (the session keeps them)",
             self.action_clear_view),
            ("Copy last reply", "Copy the agent's last reply to the clipboard",
             self.action_copy_last_reply),
        ]  # fmt: skip
        for title, (fmt, _suffix) in EXPORTS.items():
            cmds.append(
                (
                    title,
                    f"The whole session, as `parley export -f {fmt}`, into {where}",
                    functools.partial(self.action_export, fmt),
                )  # fmt: skip
            )
        cmds += [
            ("Save SVG screenshot", f"An SVG of this screen, into {where}", self.action_save_svg),
            ("Show agent info", "The current agent's id, tools and instructions",
             self.action_show_agent_info),
            ("Rerun this conversation",
             "Send this session's turns to the agent as it is now, in a fresh session, "
             "and compare (as `parley rerun`)", self.action_rerun_conversation),
            ("Toggle tool calls pane", "F2", lambda: self.action_toggle_pane("tools")),
            ("Toggle agents pane", "F3", lambda: self.action_toggle_pane("agents")),
            ("Toggle agent log", "F4", lambda: self.action_toggle_pane("log")),
        ]  # fmt: skip
        if not self.backend.is_replay:
            cmds.append(("Restart agent", "Ctrl+R", self.action_restart_agent))
        for title, help_text, callback in cmds:
            yield SystemCommand(title, help_text, callback)
