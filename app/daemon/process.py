"""The detached per-project daemon that holds a session between headless commands.

Started by ``parley start`` (and ``parley chat``) as ``python -m parley.app.daemon.process '<json
config>'`` in its own session and process group, so it survives the terminal
closing. Its life:

1. take the project's lock (``daemon.lock``, held for the daemon's life: it makes the
   daemon a singleton and lets the next ``start`` recognise stale state after a
   crash); a second daemon reports "already running" and exits;
2. point stdout and stderr at ``daemon.log`` in the session's data directory;
3. bind the agent's loopback port and spawn the agent *first*: its boot takes a second
   or more, and the daemon imports asyncio, protobuf and the session engine meanwhile;
4. hand over to :mod:`parley.app.daemon.server`, which waits for the agent to connect in text
   mode, starts the control server, writes ``state.json`` and reports readiness as one
   JSON line on the pipe ``parley start`` reads (its stdout at launch), then serves
   clients until ``stop`` or SIGTERM.

Only the standard library, filelock and light parts of ``app`` are imported before
the agent is spawned.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from parley.app.agent import watchdog
from parley.app.agent.launcher import spawn_agent, stop_process_group
from parley.app.daemon.config import DaemonConfig
from parley.app.daemon.ready import report
from parley.app.daemon.state import LOCK_FILE, new_session_id, session_dir
from parley.app.home import session_data_dir


def _redirect_output(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def _raise_fd_limit(want: int = 4096) -> None:
    """Raise the soft limit on open files towards ``want`` (within the hard limit):
    the control server holds a socket per client and caps them itself."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main() -> int:
    cfg = DaemonConfig.from_json(sys.argv[1])
    # fd 1 is the pipe to `parley start`; keep a private copy for the ready line
    ready = os.fdopen(os.dup(1), "w")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # until the event loop takes over, a stop request is remembered, not fatal: dying
    # here would orphan the agent spawned below
    stop_requested: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop_requested.append(signum))
    _raise_fd_limit()
    key = cfg.key
    lock = FileLock(str(session_dir(key, create=True) / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        report(ready, ok=False, error=f"a session is already running for {cfg.project}")
        return 1
    try:
        session_id = new_session_id(key)
        data_dir = session_data_dir(session_id)
        _redirect_output(data_dir / "daemon.log")
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
        spec = cfg.spec()
        sock = socket.create_server(("127.0.0.1", 0))
        spawned_at = time.monotonic()
        try:
            proc = spawn_agent(spec, sock.getsockname()[1], data_dir / "agent.log")
        except OSError as e:
            report(ready, ok=False, error=f"cannot start the agent: {e}")
            return 1
        try:
            # the agent boots now; import the rest meanwhile
            import asyncio

            from parley.app.daemon.server import Daemon

            booting = (sock, proc, spawned_at)
            code = asyncio.run(
                Daemon(cfg).run(ready, session_id, data_dir, spec, booting, stop_requested)
            )
        except BaseException as e:
            logging.getLogger("parley.daemon").exception("daemon failed")
            report(
                ready, ok=False, error=f"the daemon failed: {e!r}; see {data_dir / 'daemon.log'}"
            )
            if proc.poll() is None:
                stop_process_group(proc.pid)
            raise
        report(ready, ok=False, error="the daemon exited before it was ready")
        logging.getLogger("parley.daemon").info("exit %d", code)
        return code
    finally:
        watchdog.dismiss()  # the agent is stopped: its watchdog goes with the daemon
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
