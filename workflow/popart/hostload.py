"""What else the host was doing during a measurement, from /proc: the load average at the
start and end, and every other process that used more than 5 % of a CPU meanwhile.

"Other" excludes this process and its descendants (QEMU, the load generators): their CPU
time is the measurement. A process's figure includes its children that ended and were
waited for meanwhile (a build's short compiler runs count for make). Processes that
started and ended between the snapshots with no surviving parent are not seen; one that
started meanwhile is charged all of its CPU time.
"""
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

BUSY_PCT = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    comm: str
    ppid: int
    ticks: int      # user + system time, all threads, and of children it waited for
    start: int      # start time since boot, in ticks: with the pid, which process it is


def read_procs(proc: Path = Path("/proc")) -> dict[int, Proc]:
    procs = {}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            text = (d / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # comm may hold spaces and parentheses: it ends at the last ')'.
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        # fields[k] is stat field k + 3: utime 14, stime 15, cutime 16, cstime 17, start 22
        ticks = sum(int(v) for v in fields[11:15])
        procs[int(d.name)] = Proc(comm, int(fields[1]), ticks, int(fields[19]))
    return procs


def descendants(procs: dict[int, Proc], root: int) -> set[int]:
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, p in procs.items() if p.ppid in tree} - tree
        tree |= new
        grew = bool(new)
    return tree


def load_average(proc: Path = Path("/proc")) -> list[float]:
    return [float(v) for v in (proc / "loadavg").read_text().split()[:3]]


@dataclass
class HostLoad:
    """start() before the measurement, finish() after it; finish() returns the record."""
    proc: Path = Path("/proc")
    root: int = field(default_factory=os.getpid)
    _start: dict[int, Proc] = field(default_factory=dict)
    _start_load: list[float] = field(default_factory=list)
    _t0: float = 0.0

    def start(self) -> None:
        self._start, self._start_load = read_procs(self.proc), load_average(self.proc)
        self._t0 = time.monotonic()

    def finish(self) -> dict:
        end, seconds = read_procs(self.proc), max(time.monotonic() - self._t0, 1e-3)
        ours = descendants(end, self.root) | descendants(self._start, self.root)
        busy = []
        for pid, p in end.items():
            before = self._start.get(pid)
            same = before is not None and before.start == p.start
            pct = 100.0 * (p.ticks - (before.ticks if same else 0)) / TICKS / seconds
            if pid not in ours and pct > BUSY_PCT:
                busy.append({"pid": pid, "comm": p.comm, "cpu_pct": round(pct, 1)})
        busy.sort(key=lambda b: -b["cpu_pct"])
        return {"loadavg_start": self._start_load, "loadavg_end": load_average(self.proc),
                "seconds": round(seconds, 1), "other_busy": busy}


def summary(host_load: dict | None) -> str:
    """One cell for a tidy row: '1-min load 0.52->1.97; busy: cc1 (93 %)'."""
    if not host_load:
        return "not recorded"
    start, end = host_load["loadavg_start"][0], host_load["loadavg_end"][0]
    busy = ", ".join(f"{b['comm']} ({b['cpu_pct']:.0f} %)" for b in host_load["other_busy"])
    return f"1-min load {start:.2f}->{end:.2f}; other busy: {busy or 'none'}"
