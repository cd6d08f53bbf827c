#!/usr/bin/env python3
"""Protocol probe: spawn a livekit-agents agent in TCP console mode and print every message.

Stdlib + livekit-protocol only. Usage:

    python testdata/probe.py [options] AGENT_FILE [STEP ...]

A STEP is one of
    TEXT            run_input TEXT, wait for its SessionResponse, then --settle seconds
    @nowait TEXT    run_input TEXT without waiting for the response
    @info           get_agent_info        @state    get_session_state
    @history        get_chat_history      @usage    get_session_usage
    @ping           ping                  @framework get_framework_info
    @sleep N        just listen for N seconds
    @wait           wait for every outstanding response (up to --timeout)

Every received message is printed as one line:  <ms since spawn> <kind> <summary> [rid=...]
Audio output frames are dropped (counted), every audio_playback_flush is answered with
audio_playback_finished. At the end the agent's process group gets SIGTERM, SIGKILL after 3 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from livekit.protocol.agent_pb import agent_session as pb

T0 = time.monotonic()
_print_lock = threading.Lock()


def ms() -> int:
    return int((time.monotonic() - T0) * 1000)


def out(kind: str, text: str = "", rid: str = "") -> None:
    with _print_lock:
        line = f"{ms():7d} {kind:<26} {text}"
        if rid:
            line += f"  [rid={rid}]"
        print(line, flush=True)


def clip(s: str, n: int = 90) -> str:
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 3] + "..."


ROLE = {v: k for k, v in pb.ChatRole.items()}
STATE = {v: k for k, v in pb.AgentState.items()}
USTATE = {v: k for k, v in pb.UserState.items()}
TCS = {v: k for k, v in pb.ToolCallStatus.items()}
TRS = {v: k for k, v in pb.ToolReplyStatus.items()}


def item_str(it: pb.ChatContext.ChatItem) -> str:
    k = it.WhichOneof("item")
    if k == "message":
        m = it.message
        text = " | ".join(c.text for c in m.content)
        flags = " INTERRUPTED" if m.interrupted else ""
        return f"msg {ROLE.get(m.role, m.role)}: {clip(text)!r}{flags}"
    if k == "function_call":
        f = it.function_call
        return f"fcall {f.name}({clip(f.arguments, 60)}) call_id={f.call_id}"
    if k == "function_call_output":
        out = it.function_call_output
        err = " ERROR" if out.is_error else ""
        return f"fout {out.name} -> {clip(out.output, 70)!r}{err} call_id={out.call_id}"
    if k == "agent_handoff":
        h = it.agent_handoff
        return f"handoff {h.old_agent_id!r} -> {h.new_agent_id!r}"
    if k == "agent_config_update":
        c = it.agent_config_update
        return (
            f"config instr={clip(c.instructions, 40)!r} +{list(c.tools_added)} "
            f"-{list(c.tools_removed)}"
        )
    return f"<{k}>"


def event_str(ev: pb.AgentSessionEvent) -> tuple[str, str]:
    k = ev.WhichOneof("event") or "?"
    if k == "agent_state_changed":
        e = ev.agent_state_changed
        return k, f"{STATE.get(e.old_state)} -> {STATE.get(e.new_state)}"
    if k == "user_state_changed":
        us = ev.user_state_changed
        return k, f"{USTATE.get(us.old_state)} -> {USTATE.get(us.new_state)}"
    if k == "conversation_item_added":
        return k, item_str(ev.conversation_item_added.item)
    if k == "user_input_transcribed":
        tr = ev.user_input_transcribed
        return k, f"{tr.transcript!r} final={tr.is_final}"
    if k == "function_tools_started":
        return k, ", ".join(
            f"{f.name}({f.call_id})" for f in ev.function_tools_started.function_calls
        )
    if k == "function_tools_executed":
        fx = ev.function_tools_executed
        calls = ", ".join(
            f"{f.name}({clip(f.arguments, 40)}) id={f.call_id}" for f in fx.function_calls
        )
        outs = ", ".join(
            f"{o.call_id}->{clip(o.output, 50)!r}{' ERROR' if o.is_error else ''}"
            for o in fx.function_call_outputs
        )
        return k, f"calls=[{calls}] outputs=[{outs}]"
    if k == "tool_execution_updated":
        tu = ev.tool_execution_updated
        sub = tu.WhichOneof("update")
        if sub == "started":
            f = tu.started.function_call
            return f"tool.{sub}", f"{f.name}({clip(f.arguments, 50)}) call_id={f.call_id} id={f.id}"
        if sub == "ended":
            d = tu.ended
            return (
                f"tool.{sub}",
                f"call_id={d.call_id} status={TCS.get(d.status)} "
                f"msg={clip(d.message, 60)!r} id={d.id}",
            )
        if sub == "call_updated":
            cu = tu.call_updated
            return f"tool.{sub}", f"call_id={cu.call_id} msg={clip(cu.message, 60)!r}"
        if sub == "reply_updated":
            ru = tu.reply_updated
            return (
                f"tool.{sub}",
                f"status={TRS.get(ru.status)} ids={list(ru.update_ids)} speech={ru.speech_id}",
            )
        return "tool.?", str(tu)
    if k == "session_usage_updated":
        parts = []
        for mu in ev.session_usage_updated.usage.model_usage:
            name = mu.WhichOneof("usage")
            u = getattr(mu, name) if name else None
            if name == "llm" and u is not None:
                parts.append(
                    f"llm {u.provider}/{u.model} in={u.input_tokens} out={u.output_tokens}"
                )
            elif u is not None:
                parts.append(f"{name} {u.provider}/{u.model}")
        return k, "; ".join(parts)
    if k == "error":
        return k, repr(ev.error.message)
    if k == "agent_false_interruption":
        return k, f"resumed={ev.agent_false_interruption.resumed}"
    return k, clip(str(ev), 120)


def response_str(r: pb.SessionResponse) -> tuple[str, str]:
    k = r.WhichOneof("response") or "none"
    err = f" ERROR={r.error!r}" if r.HasField("error") and r.error else ""
    if k == "run_input":
        items = [item_str(i) for i in r.run_input.items]
        return f"RESP.{k}", f"{len(items)} items{err}: " + " ; ".join(items)
    if k == "get_agent_info":
        a = r.get_agent_info
        return f"RESP.{k}", (
            f"id={a.id!r} tools={list(a.tools)} instr={clip(a.instructions, 60)!r} "
            f"chat_ctx={len(a.chat_ctx)} items{err}: " + " ; ".join(item_str(i) for i in a.chat_ctx)
        )
    if k == "get_session_state":
        s = r.get_session_state
        return f"RESP.{k}", (
            f"agent={STATE.get(s.agent_state)} user={USTATE.get(s.user_state)} "
            f"agent_id={s.agent_id!r} options={dict(s.options)}{err}"
        )
    if k == "get_chat_history":
        items = [item_str(i) for i in r.get_chat_history.items]
        return f"RESP.{k}", f"{len(items)} items{err}: " + " ; ".join(items)
    if k == "get_framework_info":
        f = r.get_framework_info
        return f"RESP.{k}", f"{f.sdk} {f.sdk_version}{err}"
    return f"RESP.{k}", f"{clip(str(getattr(r, k)) if k != 'none' else '', 100)}{err}"


class Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.wlock = threading.Lock()
        self.responses: dict[str, pb.SessionResponse] = {}
        self.cv = threading.Condition()
        self.closed = False
        self.audio_frames = 0
        self.n = 0

    def send(self, msg: pb.AgentSessionMessage) -> None:
        data = msg.SerializeToString()
        if len(data) > 1 << 20:
            raise ValueError("frame over 1 MiB: the agent would drop it and stop reading")
        with self.wlock:
            self.sock.sendall(struct.pack(">I", len(data)) + data)

    def request(self, rid: str, **kw) -> None:
        self.send(pb.AgentSessionMessage(request=pb.SessionRequest(request_id=rid, **kw)))

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def reader(self) -> None:
        try:
            while True:
                hdr = self._recv_exact(4)
                if hdr is None:
                    break
                (length,) = struct.unpack(">I", hdr)
                body = self._recv_exact(length)
                if body is None:
                    break
                msg = pb.AgentSessionMessage()
                msg.ParseFromString(body)
                self.handle(msg)
        except OSError as e:
            out("reader-error", repr(e))
        finally:
            out("EOF", f"agent closed the connection ({self.audio_frames} audio frames dropped)")
            with self.cv:
                self.closed = True
                self.cv.notify_all()

    def handle(self, msg: pb.AgentSessionMessage) -> None:
        k = msg.WhichOneof("message")
        self.n += 1
        if k == "audio_output":
            self.audio_frames += 1
            return
        if k == "audio_playback_flush":
            out("audio_playback_flush", "-> answering audio_playback_finished")
            self.send(
                pb.AgentSessionMessage(
                    audio_playback_finished=pb.AgentSessionMessage.ConsoleIO.AudioPlaybackFinished()
                )
            )
            return
        if k == "audio_playback_clear":
            out("audio_playback_clear")
            return
        if k == "event":
            kind, text = event_str(msg.event)
            out(kind, text)
            return
        if k == "response":
            r = msg.response
            kind, text = response_str(r)
            out(kind, text, r.request_id)
            with self.cv:
                self.responses[r.request_id] = r
                self.cv.notify_all()
            return
        out(k or "?", clip(str(msg), 100))

    def wait_response(self, rid: str, timeout: float) -> pb.SessionResponse | None:
        deadline = time.monotonic() + timeout
        with self.cv:
            while rid not in self.responses and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.responses.get(rid)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("agent")
    ap.add_argument("steps", nargs="*")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--node", default=None, help="run a Node entry with this node binary")
    ap.add_argument("--settle", type=float, default=0.5, help="listen after each response")
    ap.add_argument("--boot-wait", type=float, default=1.0, help="listen after update_io")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--final-wait", type=float, default=0.5)
    ap.add_argument("--log", default=None, help="agent stdout/stderr file (default: a temp file)")
    ap.add_argument("--no-update-io", action="store_true")
    ap.add_argument("--second-term", action="store_true", help="send a 2nd SIGTERM before SIGKILL")
    args = ap.parse_args()

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]

    log_path = args.log or f"/tmp/parley-probe-{os.getpid()}.log"
    logf = open(log_path, "wb")
    if args.node:  # @livekit/agents: the entry runs cli.runApp itself
        cmd = [args.node, args.agent, "console", "--connect-addr", f"127.0.0.1:{port}"]
    else:
        cmd = [
            args.python,
            "-m",
            "livekit.agents",
            "console",
            args.agent,
            "--connect-addr",
            f"127.0.0.1:{port}",
        ]
    global T0
    T0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    out("spawn", f"pid={proc.pid} port={port} log={log_path}")

    lsock.settimeout(args.timeout)
    try:
        sock, addr = lsock.accept()
    except TimeoutError:
        out("boot-timeout", f"no connection within {args.timeout}s; exit={proc.poll()}")
        kill(proc)
        return 1
    lsock.close()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out("connected", f"from {addr[0]}:{addr[1]}  (boot {ms()} ms)")

    conn = Conn(sock)
    threading.Thread(target=conn.reader, daemon=True).start()

    if not args.no_update_io:
        U = pb.SessionRequest.UpdateIO
        out("SEND update_io", "", "io")
        conn.request(
            "io",
            update_io=U(
                input=U.Input(audio_enabled=False),
                output=U.Output(audio_enabled=False, transcription_enabled=False),
            ),
        )
        conn.wait_response("io", args.timeout)
    time.sleep(args.boot_wait)

    pending: list[str] = []
    simple = {
        "@info": "get_agent_info",
        "@state": "get_session_state",
        "@history": "get_chat_history",
        "@usage": "get_session_usage",
        "@ping": "ping",
        "@framework": "get_framework_info",
    }
    for i, step in enumerate(args.steps, 1):
        if conn.closed:
            out("stop", "connection closed, skipping remaining steps")
            break
        if step.startswith("@sleep"):
            time.sleep(float(step.split()[1]))
            continue
        if step == "@wait":
            for rid in pending:
                if conn.wait_response(rid, args.timeout) is None:
                    out("TIMEOUT", "", rid)
            pending.clear()
            time.sleep(args.settle)
            continue
        rid = f"r{i}"
        if step in simple:
            out(f"SEND {simple[step]}", "", rid)
            conn.request(rid, **{simple[step]: getattr(pb.SessionRequest, _cls(simple[step]))()})
            if conn.wait_response(rid, args.timeout) is None:
                out("TIMEOUT", "", rid)
            continue
        nowait = step.startswith("@nowait ")
        text = step[len("@nowait ") :] if nowait else step
        out("SEND run_input", repr(text), rid)
        conn.request(rid, run_input=pb.SessionRequest.RunInput(text=text))
        if nowait:
            pending.append(rid)
            continue
        if conn.wait_response(rid, args.timeout) is None:
            out("TIMEOUT", "", rid)
        time.sleep(args.settle)

    for rid in pending:
        if conn.wait_response(rid, args.timeout) is None:
            out("TIMEOUT", "", rid)
    time.sleep(args.final_wait)

    rc = kill(proc, second_term=args.second_term)
    try:
        sock.close()
    except OSError:
        pass
    logf.close()
    return 0 if rc is not None else 1


def _cls(field: str) -> str:
    return {
        "get_agent_info": "GetAgentInfo",
        "get_session_state": "GetSessionState",
        "get_chat_history": "GetChatHistory",
        "get_session_usage": "GetSessionUsage",
        "ping": "Ping",
        "get_framework_info": "GetFrameworkInfo",
    }[field]


def kill(proc: subprocess.Popen, second_term: bool = False) -> int | None:
    rc = proc.poll()
    if rc is not None:
        out("agent-exited", f"already gone, rc={rc}")
        return rc
    t = time.monotonic()
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    out("SIGTERM", f"pgid={proc.pid}")
    try:
        rc = proc.wait(3.0)
        out("agent-exited", f"rc={rc} after {int((time.monotonic() - t) * 1000)} ms")
    except subprocess.TimeoutExpired:
        rc = None
        if second_term:
            out("SIGTERM#2", "still alive after 3 s")
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                rc = proc.wait(3.0)
                out("agent-exited", f"rc={rc} after {int((time.monotonic() - t) * 1000)} ms")
            except subprocess.TimeoutExpired:
                pass
    if rc is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        rc = proc.wait(5.0)
        out("SIGKILL", f"rc={rc} after {int((time.monotonic() - t) * 1000)} ms")
    # anything left in the group?
    try:
        os.killpg(proc.pid, 0)
        out("pgroup", "members still alive -> SIGKILL")
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
