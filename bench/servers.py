"""The servers a benchmark run starts, and what /proc says about their processes.

Every server runs in its own process group (its own session), so that it can be
stopped as a whole and its processes found again. CPU time is read per thread
from ``/proc/<pid>/task/*/schedstat`` (nanoseconds on the CPU), and checked
against ``/proc/<pid>/stat`` (clock ticks, but it keeps the time of threads
that have exited). Linux only: elsewhere CPU and memory read as NaN.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.support import DEV_ENV, dev_command, free_port  # noqa: E402  (one way to launch wrangler dev)

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ---------------------------------------------------------------- /proc


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group."""
    out = []
    if not PROC.is_dir():
        return out
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(out)


def sched_ns(pid: int) -> int:
    """Nanoseconds on the CPU of the process's live threads (schedstat; 0 if it is gone)."""
    total = 0
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return 0
    for task in tasks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total


def stat_seconds(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads, exited ones too), in clock ticks."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, ValueError, IndexError):
        return math.nan


def rss_bytes(pid: int) -> float:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return math.nan


def threads(pid: int) -> int:
    try:
        return len(list((PROC / str(pid) / "task").iterdir()))
    except OSError:
        return 0


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open."""
    out = set()
    with contextlib.suppress(OSError):
        for fd in (PROC / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    out.add(int(target[8:-1]))
    return out


def listening_inode(port: int) -> int | None:
    """The inode of the TCP socket listening on 127.0.0.1:``port`` (from /proc/net/tcp)."""
    want = f"0100007F:{port:04X}"
    with contextlib.suppress(OSError):
        for line in (PROC / "net" / "tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":  # 0A: LISTEN
                return int(fields[9])
    return None


@dataclass
class CpuReading:
    ns: int  # schedstat, live threads
    stat_s: float  # /proc/<pid>/stat, all threads


class Meter:
    """CPU time of a fixed set of processes (the ones that do a server's work)."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)

    def read(self) -> CpuReading:
        return CpuReading(sum(sched_ns(p) for p in self.pids), sum(stat_seconds(p) for p in self.pids))

    def rss(self) -> float:
        return sum(rss_bytes(p) for p in self.pids)

    def alive(self) -> bool:
        return all((PROC / str(p)).exists() for p in self.pids)


# ---------------------------------------------------------------- servers


class ServerError(RuntimeError):
    pass


class Server:
    """A server process in its own session on 127.0.0.1; ``meter`` covers the processes that do its work."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.meter = Meter([])
        self.roles: dict[str, int] = {}  # process role -> pid, for the JSON
        self.started_s = math.nan

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self, url: str, timeout: float) -> bool:
        """True once ``url`` answers 200; False if the process exited first."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return True
            time.sleep(0.1)
        raise ServerError(f"{self.name} did not become ready ({url}) in {timeout:.0f} s:\n{self.logs()[-2000:]}")

    def stop(self) -> None:
        """Stop the whole process group: its children can outlive its leader."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            # children left behind by a leader that exited
            for pid in group_pids(self.proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


class Process(Server):
    """A plain server: its CPU is that of every process in its group (the demo upstream, uvicorn, LiteLLM)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, log_path: Path, port: int) -> None:
        super().__init__(name, log_path)
        self.cmd, self.env, self.cwd, self.port = cmd, env, cwd, port

    def start(self, ready_path: str, timeout: float = 60) -> Process:
        t0 = time.monotonic()
        self._spawn(self.cmd, self.env, self.cwd)
        try:
            if not self._wait_ready(self.url + ready_path, timeout):
                raise ServerError(f"{self.name} exited:\n{self.logs()[-2000:]}")
        except BaseException:
            self.stop()
            raise
        assert self.proc is not None
        pids = group_pids(self.proc.pid)
        self.meter = Meter(pids)
        self.roles = {f"{Path(cmdline(p).split(' ', 1)[0]).name} ({p})": p for p in pids}
        self.started_s = time.monotonic() - t0
        return self


class Wrangler(Server):
    """`wrangler dev` of a copy of a Worker project; ``meter`` is the workerd that runs the Worker.

    wrangler dev starts node (wrangler), a workerd for its own proxy, which binds the
    port we give (``--socket-addr=entry=127.0.0.1:<port>``) and forwards to a second
    workerd that runs the Worker (``entry=127.0.0.1:0``, with ``--inspector-addr``).
    ``worker_pid`` is that second one: the only workerd of the group that does not hold
    the socket listening on our port (see ``identify``). Its CPU is the Worker's; the
    proxy's and node's are recorded apart.
    """

    def __init__(
        self,
        name: str,
        source: Path,
        files: list[str],
        workdir: Path,
        variables: dict[str, str],
        secrets: dict[str, str],
        ready_path: str,
    ) -> None:
        super().__init__(name, workdir / "wrangler.log")
        self.source, self.files, self.workdir = source, files, workdir
        self.variables, self.secrets, self.ready_path = variables, secrets, ready_path
        self.worker_pid = 0
        self.proxy_pid = 0
        self.identified_by = ""

    def _prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            src = self.source / name
            if src.is_dir():
                shutil.copytree(src, self.workdir / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy(src, self.workdir / name)
        if self.secrets:
            (self.workdir / ".dev.vars").write_text("".join(f"{k}={v}\n" for k, v in self.secrets.items()))

    def start(self, timeout: float = 120) -> Wrangler:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> Wrangler:
        t0 = time.monotonic()
        self._prepare()
        for _ in range(3):
            self.port = free_port()
            seen = len(self.logs())
            cmd = dev_command(self.workdir, self.port, self.workdir / "state", self.variables)
            env = {**os.environ, **DEV_ENV}
            self._spawn(cmd, env, self.workdir)
            if self._wait_ready(self.url + self.ready_path, timeout):
                break
            self.stop()  # exited: a port taken between choosing and binding it is tried again
            if "Address already in use" not in self.logs()[seen:]:
                raise ServerError(f"{self.name}: wrangler dev exited:\n{self.logs()[-3000:]}")
        else:
            raise ServerError(f"{self.name}: wrangler dev found no free port:\n{self.logs()[-3000:]}")
        self.identify()
        self.started_s = time.monotonic() - t0
        return self

    def identify(self) -> None:
        """Find the Worker's workerd (and wrangler's proxy workerd and node) in the process group.

        wrangler's proxy is the workerd that holds the socket listening on our port (from
        /proc/net/tcp and /proc/<pid>/fd; its command line says ``entry=127.0.0.1:<port>``
        too, used if /proc/net is not readable). The Worker's is the other workerd
        (started with ``--inspector-addr``).
        """
        assert self.proc is not None
        workerd: list[tuple[int, str]] = []
        node: list[int] = []
        for pid in group_pids(self.proc.pid):
            cmd = cmdline(pid)
            exe = Path(cmd.split(" ", 1)[0]).name
            if exe == "workerd" and " serve " in f" {cmd} ":
                workerd.append((pid, cmd))
            elif exe == "node":
                node.append(pid)
        inode = listening_inode(self.port)
        if inode is not None:
            self.identified_by = "the listening socket"
            proxies = [pid for pid, _ in workerd if inode in socket_inodes(pid)]
        else:
            self.identified_by = "the command line"
            public = f"entry=127.0.0.1:{self.port} "
            proxies = [pid for pid, cmd in workerd if public in cmd + " "]
        workers = [(pid, cmd) for pid, cmd in workerd if pid not in proxies]
        if len(workers) > 1:  # more than expected: the Worker's is the one with an inspector
            workers = [(pid, cmd) for pid, cmd in workers if "--inspector-addr" in cmd]
        if len(workers) != 1 or len(proxies) != 1:
            found = "\n".join(f"  {pid}: {cmd[:300]}" for pid, cmd in workerd) or "  (none)"
            raise ServerError(f"{self.name}: cannot tell the Worker's workerd from wrangler's proxy; workerd found:\n{found}")
        self.worker_pid, self.proxy_pid = workers[0][0], proxies[0]
        self.meter = Meter([self.worker_pid])
        self.roles = {"workerd (the Worker)": self.worker_pid, "workerd (wrangler's proxy)": self.proxy_pid}
        for pid in node:
            self.roles[f"node ({pid})"] = pid

    def side_meters(self) -> dict[str, Meter]:
        """Meters of wrangler's proxy workerd and node: recorded in the JSON, not counted as the Worker's."""
        return {role: Meter([pid]) for role, pid in self.roles.items() if pid != self.worker_pid}
