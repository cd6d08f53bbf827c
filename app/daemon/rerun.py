"""``parley rerun``: replay a recording's user turns against the agent as it is now.

For each recording, a fresh session of the agent runs in a daemon of its own (a
session named ``rerun-<random>`` of the agent's project, so it never touches a session
already running there); each recorded user turn is sent with the daemon's ``say`` op,
in order, and judged against the recorded turn when its ``turn_finished`` arrives
(:mod:`parley.app.session.compare`). The rerun is itself a recorded session: its event log header
carries ``"rerun_of": {"session_id", "path"}``, so ``parley replay`` and ``parley
export`` work on it.

Blocking (sockets and subprocesses, like ``parley say``); the UI runs it in a thread.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.app.agent.launcher import AgentSpec, LaunchError, stop_process_group
from parley.app.daemon.client import ControlClient, ControlError
from parley.app.daemon.control import start_daemon
from parley.app.daemon.state import SessionState, session_dir, session_key
from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import RerunOf
from parley.app.session.compare import Conversation, TurnResult, Verdicts, split_turns
from parley.app.session.eventlog import EVENTS_FILE, LogFormatError, Recording, read_log
from parley.app.session.recordings import RecordingNotFound, SessionRecord, resolve


@dataclass
class RerunResult:
    """The outcome of rerunning one recording.

    ``error`` is set when the rerun could not run at all (the agent file is gone, the
    agent did not start); ``turns`` then says ``not_run`` for every turn."""

    recording: SessionRecord
    agent_file: str
    turns: list[TurnResult] = field(default_factory=list)
    rerun_session_id: str | None = None
    rerun_event_log: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(t.ok for t in self.turns)

    def counts(self) -> dict[str, int]:
        """How many turns (boot excluded) came out each way."""
        out = {"match": 0, "differ": 0, "failed": 0, "skipped": 0, "not_run": 0}
        for t in self.turns:
            if t.index:
                out[t.outcome] += 1
        return out

    @property
    def first_divergence(self) -> int | None:
        """Index of the first turn that did not match (0 is the boot), or ``None``."""
        return next((t.index for t in self.turns if not t.ok and t.outcome != "not_run"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "recording": self.recording.session_id,
            "recording_path": str(self.recording.event_log),
            "agent_file": self.agent_file,
            "ok": self.ok,
            "turns": len([t for t in self.turns if t.index]),
            **self.counts(),
            "first_divergence": self.first_divergence,
            "rerun_session": self.rerun_session_id,
            "rerun_event_log": self.rerun_event_log,
            "error": self.error,
        }


class RerunError(ParleyError):
    """A recording named on the command line cannot be found or read."""


class RecordingsNotFound(RerunError):
    """A recording named on the command line cannot be found or read (a usage error)."""

    bad_input = True


def find_recordings(refs: list[str], cwd: Path) -> list[tuple[SessionRecord, Recording]]:
    """Every recording ``refs`` name: a session id (or unique prefix), an event log
    file, a session directory, or a directory of them (its ``*.jsonl`` files and
    ``*/events.jsonl``, sorted by name). Raises :class:`RecordingsNotFound`."""
    out: list[tuple[SessionRecord, Recording]] = []
    for ref in refs:
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else cwd / path
        if path.is_dir() and not (path / EVENTS_FILE).is_file():
            found = sorted([*path.glob("*.jsonl"), *path.glob(f"*/{EVENTS_FILE}")])
            if not found:
                raise RecordingsNotFound(f"no recordings (*.jsonl, */{EVENTS_FILE}) in {ref}")
            out.extend(_load(str(p), cwd) for p in found)
        else:
            out.append(_load(ref, cwd))
    return out


def _load(ref: str, cwd: Path) -> tuple[SessionRecord, Recording]:
    try:
        rec = resolve(ref, cwd)
        return rec, read_log(rec.event_log)
    except (RecordingNotFound, LogFormatError) as e:
        raise RecordingsNotFound(str(e)) from None
    except OSError as e:
        raise RecordingsNotFound(f"cannot read {ref}: {e}") from None


def rerun_recording(
    record: SessionRecord,
    recording: Recording,
    *,
    compare: frozenset[str],
    agent: str | None = None,
    timeout: float = 120.0,
    connect_timeout: float = 60.0,
    fail_fast: bool = False,
    on_turn: Callable[[TurnResult], None] | None = None,
    cwd: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RerunResult:
    """Rerun one recording and judge every turn; ``on_turn`` sees each verdict as it
    is made (the boot first). ``agent`` overrides the recording's agent file;
    ``timeout`` bounds each turn in seconds; ``should_stop`` is asked before each
    turn (true: the rest are ``not_run``, the rerun's session is stopped). Never
    raises for agent failures: they are verdicts (``failed``) or
    :attr:`RerunResult.error`."""
    cwd = cwd or Path.cwd()
    header = recording.header
    agent_file = agent or header.get("agent_file") or ""
    result = RerunResult(record, str(agent_file))
    verdicts = Verdicts(split_turns(recording.items), compare)

    def report(t: TurnResult | None) -> None:
        if t is not None and on_turn is not None:
            on_turn(t)

    def give_up(why: str) -> RerunResult:
        result.error = why
        verdicts.rest_not_run(why)
        for t in verdicts.results:
            report(t)
        result.turns = verdicts.results
        return result

    if not agent_file:
        return give_up("the recording names no agent file; give one with --agent")
    try:
        extra = tuple(str(a) for a in header.get("agent_args") or ())
        spec = AgentSpec.resolve(str(agent_file), cwd, extra)
    except LaunchError as e:
        return give_up(str(e))
    result.agent_file = str(spec.agent_file)
    run = _Run(spec, record, connect_timeout)
    try:
        try:
            boot_items = run.start()
        except Exception as e:  # StartError, OSError: the agent did not come up
            return give_up(f"the agent did not start: {e}")
        result.rerun_session_id = run.session_id
        result.rerun_event_log = run.event_log
        report(verdicts.judge(split_turns(boot_items).boot))
        _run_turns(run, verdicts, timeout, fail_fast, report, should_stop)
    finally:
        run.stop()
    result.turns = verdicts.results
    return result


def _run_turns(
    run: _Run,
    verdicts: Verdicts,
    timeout: float,
    fail_fast: bool,
    report: Callable[[TurnResult | None], None],
    should_stop: Callable[[], bool] | None = None,
) -> None:
    recorded: Conversation = verdicts.recorded

    def stop_here(why: str) -> None:
        verdicts.rest_not_run(why)
        for t in verdicts.results:
            if t.outcome == "not_run":
                report(t)

    for turn in recorded.turns:
        if should_stop is not None and should_stop():
            stop_here("not run: the rerun was stopped")
            return
        if turn.status == "cancelled":
            report(verdicts.skip(turn.index, "cancelled in the recording"))
            continue
        if turn.status == "unfinished":
            report(verdicts.skip(turn.index, "it never finished in the recording"))
            continue
        assert turn.user_text is not None
        problem = run.say(turn.user_text, timeout)
        if problem is not None:
            report(verdicts.fail(turn.index, problem))
            stop_here(f"not run: turn {turn.index} failed")
            return
        now = split_turns(run.items).turns[-1]
        now.index = turn.index
        verdict = verdicts.judge(now)
        report(verdict)
        if fail_fast and not verdict.ok:
            stop_here(f"not run: --fail-fast stopped at turn {turn.index}")
            return


class _Run:
    """One rerun session in its own daemon: start, say, stop."""

    def __init__(self, spec: AgentSpec, record: SessionRecord, connect_timeout: float) -> None:
        self.spec = spec
        self.name = f"rerun-{secrets.token_hex(4)}"
        self.record = record
        self.connect_timeout = connect_timeout
        self.items: list[it.ChatItem] = []
        self._seqs: set[int] = set()
        self.state: SessionState | None = None  # once started
        self.session_id: str | None = None
        self.event_log: str | None = None

    def _add(self, raw: dict[str, Any]) -> it.ChatItem:
        item = it.item_from_dict(raw)
        if item.seq not in self._seqs:
            self._seqs.add(item.seq)
            self.items.append(item)
        return item

    def start(self) -> list[it.ChatItem]:
        """Start the daemon; returns the boot items. Raises like ``start_daemon``."""
        rerun_of: RerunOf = {
            "session_id": self.record.session_id,
            "path": str(self.record.event_log),
        }
        ready = start_daemon(
            self.spec, self.name, self.connect_timeout, header={"rerun_of": rerun_of}
        )
        self.state = SessionState.load(session_dir(session_key(self.spec.project, self.name)))
        st = ready["state"]
        self.session_id = st["session_id"] or None
        self.event_log = st["event_log"] or None
        return [self._add(raw) for raw in ready["items"]]

    def say(self, text: str, timeout: float) -> str | None:
        """Send one turn and collect its items until its ``turn_finished``; returns
        ``None``, or why the turn could not run (no ``turn_finished`` in time, the
        daemon refused it, the connection failed)."""
        if self.state is None:
            return "the rerun session has not started"
        turn_id = None
        try:
            for msg in ControlClient(self.state).stream("say", timeout=timeout, text=text):
                if msg.get("event") == "accepted":
                    turn_id = msg.get("turn_id")
                elif msg.get("event") == "item":
                    item = self._add(msg["item"])
                    if isinstance(item, it.TurnFinished) and item.turn_id == turn_id:
                        return None
        except TimeoutError:
            return f"the turn did not finish within {timeout:g} s (--timeout)"
        except ControlError as e:
            return str(e)
        except OSError as e:
            return f"could not reach the rerun's daemon: {e}"
        return "the daemon closed the connection before the turn finished"

    def stop(self) -> None:
        """Stop the daemon (and its agent) and remove its runtime directory; the
        recording stays."""
        if self.state is not None:
            client = ControlClient(self.state)
            with contextlib.suppress(OSError, ControlError, TimeoutError):
                client.call("stop", timeout=10)
            if not client.wait_gone(timeout=20):
                with contextlib.suppress(OSError):
                    stop_process_group(self.state.agent_pid)
        sdir = session_dir(session_key(self.spec.project, self.name))
        if sdir.is_dir() and not (sdir / "state.json").exists():
            shutil.rmtree(sdir, ignore_errors=True)
