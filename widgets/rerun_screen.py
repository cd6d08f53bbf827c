""" "Rerun this conversation" (command palette): the session's user turns sent again to
the agent as it is now, in a fresh session, compared turn by turn on a screen of its
own. Same rules and code as ``parley rerun`` (:mod:`parley.app.daemon.rerun`,
:mod:`parley.app.session.compare`); the rerun is recorded like any session.

The rerun is blocking work (a daemon, sockets), so it runs in a thread worker and
hands each verdict to the screen with ``call_from_thread``. Esc closes the screen
and stops the rerun after the turn in progress (its session is stopped).
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from parley.app.daemon.rerun import RerunResult, rerun_recording
from parley.app.session.compare import DEFAULT_COMPARE, TurnResult
from parley.app.session.eventlog import Recording
from parley.app.session.recordings import SessionRecord
from parley.headless.rerun_report import TextReport, safe


class VerdictRow(Static):
    """One turn's verdict: ``= turn 2  …`` and, when it differs, what differs
    (recorded vs now). Agent text is data: plain :class:`Content`, never markup."""

    def __init__(self, verdict: TurnResult) -> None:
        super().__init__(Content(TextReport().turn(verdict).rstrip("\n")))
        self.verdict = verdict
        self.add_class(f"-{verdict.outcome}")


class RerunScreen(Screen[None]):
    """The comparison of a rerun with the session it reran."""

    BINDINGS = [Binding("escape", "close", "Close (stops the rerun)", id="close_rerun")]

    DEFAULT_CSS = """
    RerunScreen #rerun-title { padding: 0 1; text-style: bold; background: $panel; }
    RerunScreen #rerun-turns { padding: 0 1; }
    RerunScreen VerdictRow { height: auto; }
    RerunScreen VerdictRow.-match { color: $text-success; }
    RerunScreen VerdictRow.-differ, RerunScreen VerdictRow.-failed { color: $text-error; }
    RerunScreen VerdictRow.-skipped, RerunScreen VerdictRow.-not_run { color: $text-muted; }
    RerunScreen #rerun-status { padding: 0 1; background: $panel; }
    RerunScreen #rerun-status.-pass { color: $text-success; }
    RerunScreen #rerun-status.-fail { color: $text-error; }
    """

    def __init__(self, recording: Recording, path: Path | None) -> None:
        super().__init__()
        self.recording = recording
        header = recording.header
        sid = str(header.get("session_id") or "this session")
        log = path or Path(f"{sid}.jsonl")
        self.record = SessionRecord(log.parent, header, log=log)
        self.result: RerunResult | None = None
        self.verdicts: list[TurnResult] = []
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        agent = safe(str(self.recording.header.get("agent_file") or "?"))
        yield Static(
            Content(f"Rerun of {safe(self.record.session_id)} against {agent} as it is now"),
            id="rerun-title",
        )
        yield VerticalScroll(id="rerun-turns")
        yield Static(Content("Starting a fresh session of the agent…"), id="rerun-status")
        yield Footer()

    def on_mount(self) -> None:
        self.run_rerun()

    def on_unmount(self) -> None:
        self._stop.set()

    def action_close(self) -> None:
        self._stop.set()
        self.dismiss()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rerun")
    def run_rerun(self) -> None:
        try:
            result = rerun_recording(
                self.record,
                self.recording,
                compare=DEFAULT_COMPARE,
                on_turn=lambda t: self._from_thread(self.add_verdict, t),
                should_stop=self._stop.is_set,
            )
        except Exception as e:  # never a traceback in the UI
            self._from_thread(self.show_status, f"The rerun failed: {e}", "fail")
            return
        self._from_thread(self.show_result, result)

    def _from_thread(self, fn: object, *args: object) -> None:
        if self._stop.is_set() and not self.is_attached:
            return
        try:
            self.app.call_from_thread(fn, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the app has closed meanwhile
            pass

    def add_verdict(self, verdict: TurnResult) -> None:
        if not self.is_attached:
            return
        self.verdicts.append(verdict)
        turns = self.query_one("#rerun-turns", VerticalScroll)
        turns.mount(VerdictRow(verdict))
        turns.scroll_end(animate=False)
        self.show_status(f"Turn {verdict.index} done…", None)

    def show_result(self, result: RerunResult) -> None:
        self.result = result
        if not self.is_attached:
            return
        text = TextReport().summary(result).strip()
        self.show_status(text + "  ·  Esc closes", "pass" if result.ok else "fail")

    def show_status(self, text: str, outcome: str | None) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#rerun-status", Static)
        status.update(Content(text))
        status.set_class(outcome == "pass", "-pass")
        status.set_class(outcome == "fail", "-fail")
