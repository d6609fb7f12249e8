"""The figures of one regression run, read from its tidy CSVs and build outputs.

A figure is a named number with its unit, which way is better ("lower", "higher", or
"equal" for a functional outcome that must not change), its timebase and its row's
status. Timed figures count only under icount (deterministic guest time); a wall-clock
row is left out, never compared. A failed row gives a figure with no value and its
status, so that the comparison calls it broken instead of losing it."""
from pathlib import Path

import pandas as pd

from ..errors import RegressError
from ..fsutil import read_json

FIGURE_KEYS = ["figure", "unit", "better", "timebase", "status", "value"]


def figure(name: str, unit: str, better: str, timebase: str, status: str,
           value: float | None) -> dict:
    ok = status == "ok" and value is not None and not pd.isna(value)
    return {"figure": name, "unit": unit, "better": better, "timebase": timebase,
            "status": status if status != "ok" or ok else "error",
            "value": float(value) if ok else None}


def _timed(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose times are guest time under icount."""
    return df[df["timebase"] == "icount"]


def boot_figures(boot: pd.DataFrame) -> list[dict]:
    """SMP Linux's time to init per VM shape: the median of its runs, or the first
    failure's status."""
    out = []
    for (vcpus, mem), rows in _timed(boot).groupby(["vcpus", "mem_mib"]):
        bad = rows[rows["status"] != "ok"]
        status = bad["status"].iloc[0] if len(bad) else "ok"
        out.append(figure(f"boot: SMP Linux ({vcpus} vCPUs, {mem} MiB), time to init", "s",
                          "lower", "icount", status, rows["boot_s"].median()))
    return out


def multikernel_figures(kernels: pd.DataFrame, partition: dict,
                        partition_status: str) -> list[dict]:
    """Each kernel's time to init, the time until all were up, and the functional
    outcome: how many came up, and whether they were disjoint."""
    out = [figure(f"multikernel: kernel {int(r.kernel_id)} ({r.role}), time to init", "s",
                  "lower", "icount", r.status, r.boot_s)
           for r in _timed(kernels).itertuples()]
    if partition.get("timebase") == "icount":
        out.append(figure("multikernel: all kernels up", "s", "lower", "icount",
                          partition_status, partition.get("all_up_s")))
    out.append(figure("multikernel: kernels up", "kernels", "equal", "count", "ok",
                      partition.get("kernels_up")))
    out.append(figure("multikernel: kernels disjoint", "bool", "equal", "count", "ok",
                      float(bool(partition.get("disjoint")))))
    return out


def latency_figures(latency: pd.DataFrame) -> list[dict]:
    return [figure(f"msg: {r.mechanism} {r.mode} {int(r.payload_bytes)} B, round trip p50",
                   "ns", "lower", "icount", r.status, r.p50_ns)
            for r in _timed(latency).itertuples()]


def throughput_figures(throughput: pd.DataFrame) -> list[dict]:
    rows = _timed(throughput)
    return [figure(f"msg: {r.mechanism} {r.mode} {int(r.payload_bytes)} B, one-way stream",
                   "msgs/s", "higher", "icount", r.status, r.msgs_per_s)
            for r in rows[rows["pattern"] == "one_to_one"].itertuples()]


# The stress test's counts that must stay 0, and the rejections that must match.
STRESS_ZEROES = ("lost", "excess", "duplicated", "corrupted")


def stress_figures(stress: pd.DataFrame) -> list[dict]:
    out = []
    for r in stress.itertuples():
        for count in STRESS_ZEROES:
            out.append(figure(f"msg stress: {count}", "messages", "equal", "count", r.status,
                              getattr(r, count)))
        out.append(figure("msg stress: malformed not rejected", "messages", "equal", "count",
                          r.status, r.malformed_injected - r.malformed_rejected))
    return out


def size_figures(files: dict[str, Path]) -> list[dict]:
    return [figure(f"size: {name}", "bytes", "lower", "size", "ok", path.stat().st_size)
            for name, path in files.items()]


def run_figures(results: Path) -> list[dict]:
    """Every figure a regression run has under results/, from what it measured."""
    out = []
    if (results / "boot/boot.csv").exists():
        out += boot_figures(pd.read_csv(results / "boot/boot.csv"))
    if (results / "boot/multikernel.csv").exists():
        partition_row = pd.read_csv(results / "boot/partition.csv").iloc[0]
        out += multikernel_figures(pd.read_csv(results / "boot/multikernel.csv"),
                                   read_json(results / "boot/partition.json"),
                                   partition_row["status"])
    if (results / "msg/latency.csv").exists():
        out += latency_figures(pd.read_csv(results / "msg/latency.csv"))
        out += throughput_figures(pd.read_csv(results / "msg/throughput.csv"))
        out += stress_figures(pd.read_csv(results / "msg/stress.csv"))
    out += size_figures({"bzImage": results / "kernel/bzImage",
                         "boot image (initramfs)": results / "images/initramfs.cpio.gz"})
    names = [f["figure"] for f in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # e.g. rounds > 1: one figure per name, or the comparison is ambiguous
        raise RegressError(f"{results}: figures measured more than once: {', '.join(twice)} "
                           "(a regress configuration runs 1 round and 1 stress run)")
    return out
