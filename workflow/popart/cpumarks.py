"""What each kernel spent on one step of a network or web load.

Around each step the host marks every kernel of the run: it sends the step's label to
port 7778 of each (guest/exp/lib.sh's marks), and each kernel prints the cpu line of
its own /proc/stat under that label, cpu_<label>.start and cpu_<label>.end; steps the
guest runs itself (iperf3 between kernels, veth) are marked by the guest the same way.
The difference is the kernel's busy CPU time during the step (user, nice, system, irq,
softirq and steal ticks; USER_HZ, so 10 ms steps), not a share of the host.

A row gets cpu_s (all kernels), cpu_s_k0 (the primary, or SMP Linux), cpu_s_secondaries
and cpu_s_kernels, each kernel's ("k0=1.20 k1=0.45"); a kernel whose marks are missing
is named with "?" there and leaves the sums empty.
"""
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import log
from .console import kernel_console, parse_console

MARK_PORT = 7778
USER_HZ = 100
MARK_TIMEOUT_S = 20.0
# Each kernel in turn: connect (again while its listener restarts), send the label, end
# the sending side and wait for the kernel to close, which it does once it has read it.
MARK = """
import socket, sys, time
label, port = sys.argv[1].encode() + b"\\n", int(sys.argv[2])
failed = 0
for host in sys.argv[3:]:
    deadline = time.monotonic() + 5
    while True:
        try:
            with socket.create_connection((host, port), timeout=3) as s:
                s.sendall(label)
                s.shutdown(socket.SHUT_WR)
                while s.recv(64):
                    pass
            break
        except OSError:
            if time.monotonic() > deadline:
                failed += 1
                break
            time.sleep(0.1)
sys.exit(failed)
"""
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system (idle iowait) irq softirq steal
CPU_COLUMNS = ["cpu_s", "cpu_s_k0", "cpu_s_secondaries", "cpu_s_kernels"]


def step_label(path: str, direction: str, streams: int) -> str:
    """The label of one step of the host's load (letters, digits, '.', '_', '-')."""
    return f"{path}.{direction}.{streams}"


def mark(in_client, label: str, hosts: list[str], port: int = MARK_PORT) -> bool:
    """Marks the kernels at hosts; in_client wraps the command for where the load runs.
    A mark that fails costs the row its CPU columns, never the measurement."""
    argv = in_client([sys.executable, "-c", MARK, label, str(port), *hosts])
    try:
        done = subprocess.run(argv, capture_output=True, timeout=MARK_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode:
        log.warn(f"cpu marks: {label}: not every kernel of {', '.join(hosts)} took the mark")
        return False
    return True


@contextmanager
def marked(in_client, label: str, hosts: list[str]) -> Iterator[None]:
    """The step in the with block, marked label.start before and label.end after."""
    mark(in_client, f"{label}.start", hosts)
    try:
        yield
    finally:
        mark(in_client, f"{label}.end", hosts)


def busy_ticks(stat_line: str) -> int:
    """The busy ticks of a /proc/stat "cpu ..." line."""
    words = stat_line.split()
    if not words or words[0] != "cpu" or len(words) < 9:
        raise ValueError(f"not a /proc/stat cpu line: {stat_line!r}")
    ticks = [int(w) for w in words[1:9]]
    return sum(ticks[i] for i in BUSY_FIELDS)


def kernel_seconds(values: dict[str, str], label: str) -> float | None:
    """One kernel's busy CPU seconds during the step, from its console values."""
    start, end = values.get(f"cpu_{label}.start"), values.get(f"cpu_{label}.end")
    if start is None or end is None:
        return None
    try:
        ticks = busy_ticks(end) - busy_ticks(start)
    except ValueError:
        return None
    return ticks / USER_HZ if ticks >= 0 else None


def console_values(run_dir: Path, kernels: int) -> list[dict[str, str]]:
    """Each kernel's console values: the primary's console.log, console-k<i>.log."""
    out = []
    for k in range(kernels):
        path = kernel_console(run_dir, k)
        out.append(parse_console(path.read_text(errors="replace")).values
                   if path.exists() else {})
    return out


def cpu_columns(values: list[dict[str, str]], label: str) -> dict:
    """The row's CPU columns for the step label, over the kernels whose values these are."""
    seconds = [kernel_seconds(v, label) for v in values]
    known = all(s is not None for s in seconds)
    named = " ".join(f"k{k}={'?' if s is None else f'{s:.2f}'}" for k, s in enumerate(seconds))
    return {"cpu_s": round(sum(seconds), 2) if known else None,
            "cpu_s_k0": seconds[0] if seconds else None,
            "cpu_s_secondaries": (round(sum(seconds[1:]), 2) if known and len(seconds) > 1
                                  else None),
            "cpu_s_kernels": named}


# /proc/popcorn_net's columns after its peer and carrier (drivers/net/popcorn_net.c).
LINK_FIELDS = ["tx_packets", "rx_packets", "stops", "wakes", "busy", "polls", "sent",
               "received", "malformed", "full", "waits", "data_ipis", "room_ipis", "wakeups"]
LINK_COLUMNS = ["kernel", "peer", *LINK_FIELDS, "ipis_received"]


def parse_links(value: str) -> tuple[dict[int, dict[str, int]], int]:
    """A links_<label> value: per peer its counters, and the message IPIs the kernel took."""
    lines, _, ipis = value.rpartition("ipis_received=")
    links = {}
    for line in filter(None, (part.strip() for part in lines.split(";"))):
        words = line.split()
        if len(words) == 2 + len(LINK_FIELDS) and all(w.isdigit() for w in words):
            links[int(words[0])] = dict(zip(LINK_FIELDS, map(int, words[2:])))
    return links, int(ipis) if ipis.strip().isdigit() else 0


def link_deltas(values: list[dict[str, str]], label: str) -> list[dict]:
    """What each kernel's link to each other kernel of the run did during the step: a
    row per (kernel, peer), the counters' differences, and the kernel's message IPIs
    taken in ipis_received. Kernels that missed a mark have no rows."""
    rows = []
    for kernel, v in enumerate(values):
        start, end = v.get(f"links_{label}.start"), v.get(f"links_{label}.end")
        if start is None or end is None:
            continue
        (before, ipis_before), (after, ipis_after) = parse_links(start), parse_links(end)
        for peer in sorted(set(before) & set(after)):
            if peer >= len(values):
                continue  # a link to a kernel this run never booted
            rows.append({"kernel": kernel, "peer": peer,
                         **{f: after[peer][f] - before[peer][f] for f in LINK_FIELDS},
                         "ipis_received": ipis_after - ipis_before})
    return rows
