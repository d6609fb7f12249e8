"""Where each row came from, and what else the host did during a run."""
import os

import pytest

from popart import hostload, provenance
from popart.hostload import HostLoad, descendants, read_procs


def fake_proc(root, procs: dict[int, tuple], load="0.50 0.40 0.30 1/99 7"):
    """procs: pid -> (comm, ppid, ticks[, start, children's ticks]); stat fields as the
    kernel writes them."""
    root.mkdir(exist_ok=True)
    (root / "loadavg").write_text(load + "\n")
    for d in root.iterdir():
        if d.is_dir():
            (d / "stat").unlink()
            d.rmdir()
    for pid, (comm, ppid, ticks, *more) in procs.items():
        start = more[0] if more else 1
        children = more[1] if len(more) > 1 else 0
        (root / str(pid)).mkdir()
        rest = (["S", str(ppid)] + ["0"] * 9 + [str(ticks), "0", str(children), "0"]
                + ["0"] * 4 + [str(start)] + ["0"] * 20)
        (root / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(rest)}\n")


def test_other_busy_processes_are_named_and_ours_are_not(tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    tick = hostload.TICKS
    fake_proc(proc, {1: ("init", 0, 0), 100: ("snakemake", 1, 0), 200: ("popart", 100, 0),
                     201: ("qemu-system-x86", 200, 0), 300: ("cc1 (x) y", 1, 5 * tick),
                     400: ("make", 1, 0), 500: ("old", 1, 0, 7)})
    clock = iter([1000.0, 1010.0])
    monkeypatch.setattr(hostload.time, "monotonic", lambda: next(clock))
    load = HostLoad(proc=proc, root=200)
    load.start()
    # 10 s later: QEMU (ours) burned 10 s, cc1 9 s more, a new job 2 s, init 0.1 s.
    # make's compilers (3 s) ended and were waited for; pid 500 is a new process with an
    # old pid: all its time is new.
    fake_proc(proc, {1: ("init", 0, tick // 10), 100: ("snakemake", 1, 0),
                     200: ("popart", 100, tick), 201: ("qemu-system-x86", 200, 10 * tick),
                     300: ("cc1 (x) y", 1, 14 * tick), 400: ("make", 1, 2 * tick, 1, 3 * tick),
                     500: ("late", 1, tick, 99)},
              load="1.97 0.80 0.40 3/120 9")
    record = load.finish()
    assert record["loadavg_start"] == [0.5, 0.4, 0.3] and record["loadavg_end"][0] == 1.97
    assert record["other_busy"] == [{"pid": 300, "comm": "cc1 (x) y", "cpu_pct": 90.0},
                                    {"pid": 400, "comm": "make", "cpu_pct": 50.0},
                                    {"pid": 500, "comm": "late", "cpu_pct": 10.0}]
    assert hostload.summary(record) == ("1-min load 0.50->1.97; other busy: "
                                        "cc1 (x) y (90 %), make (50 %), late (10 %)")
    assert hostload.summary(None) == "not recorded"


def test_real_proc_sees_this_process_tree_as_ours():
    procs = read_procs()
    assert os.getpid() in procs and procs[os.getpid()].ppid == os.getppid()
    assert os.getpid() in descendants(procs, os.getppid())
    load = HostLoad()
    load.start()
    sum(range(3_000_000))  # our own work is the measurement, never "other"
    assert all(b["pid"] != os.getpid() for b in load.finish()["other_busy"])


def test_provenance_of_a_run(tmp_path, monkeypatch):
    (tmp_path / "kernel.json").write_text('{"identity": "0123456789abcdef"}')
    monkeypatch.setenv(provenance.RUN_ID_ENV, "20261202T030000Z-abc123")
    facts = provenance.facts("qemu-system-x86_64", tmp_path / "bzImage")
    assert facts["run_id"] == "20261202T030000Z-abc123"
    assert facts["kernel_build"] == "0123456789abcdef" and facts["host"]
    assert facts["qemu_version"][0].isdigit() and facts["host_cpu"]
    assert facts["target"] == "qemu"
    assert provenance.facts(None, None)["qemu_version"] == provenance.NOT_QEMU
    monkeypatch.delenv(provenance.RUN_ID_ENV)
    assert provenance.run_id() == "outside-snakemake"
    assert provenance.row_facts({"host": "h"}) == {"target": "unknown", "run_id": "unknown",
                                                   "host": "h",
                                                   "host_cpu": "unknown",
                                                   "qemu_version": "unknown",
                                                   "kernel_build": "unknown"}
    first, second = provenance.new_run_id(), provenance.new_run_id()
    assert first != second and len(first) == len("20261202T030000Z-abc123")


@pytest.mark.parametrize("bad", ["missing", "garbage"])
def test_unknown_kernel_build(tmp_path, bad):
    if bad == "garbage":
        (tmp_path / "kernel.json").write_text("{")
    assert provenance.kernel_build(tmp_path / "bzImage") == "unknown"
