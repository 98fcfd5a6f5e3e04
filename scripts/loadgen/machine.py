"""The machine under the benchmark: CPU pinning, the descriptor limit, and readings.

Server readings come from /proc (the server is another process): CPU time from
/proc/PID/stat (utime + stime, fields 14 and 15, in clock ticks), resident memory from
/proc/PID/status (VmRSS now, VmHWM the peak), threads from /proc/PID/task, time spent waiting
for a CPU from /proc/PID/task/TID/schedstat. The generator's own
CPU comes from getrusage(RUSAGE_SELF), so a reader can compare it with the wall time and see
whether the generator's core was saturated (then the figures measure the generator).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_CPU = 0  # with two cores or more: the server runs here...
GENERATOR_CPU = 1  # ...and the generator here, so neither steals the other's cycles
_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


# The CPUs this process may use, read once at start: pin_generator() narrows the process's
# own mask to GENERATOR_CPU, after which it could no longer tell that SERVER_CPU is there too.
_START_CPUS = frozenset(os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else ())


def can_pin() -> bool:
    return {SERVER_CPU, GENERATOR_CPU} <= _START_CPUS


def pin_generator() -> str:
    """Pin every thread of this process to GENERATOR_CPU; says what was done, for the config."""
    if not can_pin():
        return "not pinned (fewer than 2 cores)"
    for task in Path("/proc/self/task").iterdir():
        os.sched_setaffinity(int(task.name), {GENERATOR_CPU})
    return f"generator on CPU {GENERATOR_CPU}, server on CPU {SERVER_CPU}"


@contextmanager
def children_on_server_cpu() -> Iterator[None]:
    """Processes spawned inside this block start pinned to SERVER_CPU, with every thread they
    will ever make (a child inherits its parent thread's mask at fork; pinning the pid after
    the fact would move only the main thread, not the ones the server has already started)."""
    if not can_pin():
        yield
        return
    own = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {SERVER_CPU})
    try:
        yield
    finally:
        os.sched_setaffinity(0, own)


def raise_descriptor_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (10,000 idle clients need 10,000 sockets); the
    server processes spawned afterwards inherit it too. Returns the new soft limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def allowed_cpus(pid: int) -> str:
    """The CPU list the kernel lets `pid` run on, as /proc shows it (e.g. "0" or "0-1")."""
    return _status_field(pid, "Cpus_allowed_list")


def cpu_seconds(pid: int) -> float:
    # The command name (field 2) may hold spaces; count the fields after its closing ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S  # utime + stime


def rss_kib(pid: int) -> int:
    return int(_status_field(pid, "VmRSS").split()[0])


def peak_rss_kib(pid: int) -> int:
    return int(_status_field(pid, "VmHWM").split()[0])


def thread_count(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir())


def runqueue_wait_s(pid: int) -> float:
    """Seconds the threads of `pid` have spent ready to run but waiting for a CPU (the second
    field of /proc/PID/task/TID/schedstat, in ns), summed: on a machine shared with other
    work, the part of the latencies that is not this program's."""
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total_ns += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile, or no schedstat in this kernel
    return total_ns / 1e9


def generator_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class Sample:
    """Wall clock, server CPU and generator CPU at one moment; subtract two for a window."""

    wall_s: float
    server_cpu_s: float
    generator_cpu_s: float

    @classmethod
    def take(cls, server_pid: int) -> Sample:
        return cls(time.perf_counter(), cpu_seconds(server_pid), generator_cpu_seconds())

    def until(self, later: Sample) -> Sample:
        return Sample(
            later.wall_s - self.wall_s,
            later.server_cpu_s - self.server_cpu_s,
            later.generator_cpu_s - self.generator_cpu_s,
        )


def _status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise RuntimeError(f"/proc/{pid}/status has no {name}")
