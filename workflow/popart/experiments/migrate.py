"""Live migration against CRIU: one boot of a primary and one secondary (the network
image, which carries criu) moves `migtest hold SIZE` to the secondary with each
mechanism (guest/exp/migrate.sh), the two alternating within each round.

The process times itself on the TSC that both kernels share: its last instruction at
home (`from`), its first at the destination (`to`), and the TSC when the script asked
for the move (`trigger`). Wall time under TCG: the move copies memory and blocks on
nothing that icount could make deterministic."""
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..console import key_values
from ..errors import ConfigError
from ..fsutil import read_json
from ..machines import machine, timeouts
from ..targets.qemu import Machine, QemuTarget, RunStatus
from . import PROVENANCE, run_columns
from .multikernel import layout

MECHANISMS = ("popcorn", "criu")
MIB = 1 << 20
# A partition holds the process, CRIU's images in tmpfs and the restored copy, plus
# what its kernel and boot image take.
BASE_MIB = 96
COPIES = 3
COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "size_bytes",
           "migrate_ms_p50", "migrate_ms_p99", "downtime_ms_p50", "bytes_moved", "samples",
           "correct", "host_cores", *PROVENANCE]
SAMPLE_COLUMNS = ["mechanism", "size_bytes", "round", "status", "reason", "migrate_ms",
                  "downtime_ms", "bytes_moved", "correct"]


def partition_mib(migrate: dict) -> int:
    """The secondary's memory, checked against the largest size before any boot."""
    mib = migrate["mem_mib_per_secondary"]
    largest = max(migrate["sizes"])
    need = BASE_MIB + -(-COPIES * largest // MIB)
    if need > mib:
        raise ConfigError(f"experiments.migrate.sizes: {largest} bytes needs {need} MiB per "
                          f"partition (the process, CRIU's images and the restored copy); "
                          f"experiments.migrate.mem_mib_per_secondary is {mib}")
    return mib


def migrate_machine(config: dict, kernel: Path, initrd: Path, accel: str) -> Machine:
    migrate = config["experiments"]["migrate"]
    plan = layout({"secondaries": 1, "mem_mib_per_secondary": partition_mib(migrate),
                   "cpus_per_secondary": 1})
    extra = (f"{plan['append']} popcorn.migrate_sizes={','.join(map(str, migrate['sizes']))} "
             f"popcorn.migrate_reps={migrate['repetitions']}")
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {extra}"}
    m = machine(qemu, kernel, initrd, accel, "migrate", plan["vcpus"], plan["mem_mib"],
                plan["plan"])
    return replace(m, icount=None)  # wall time: see the module's docstring


def run_migrate(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
                target: QemuTarget) -> RunStatus:
    m = migrate_machine(config, kernel, initrd, accel)
    limits = replace(timeouts(config["qemu"]),
                     run_s=config["experiments"]["migrate"]["timeout_s"])
    return target.run(m, limits, run_dir)


def sample(values: dict[str, str], mechanism: str, size: int, rnd: int,
           run_ok: bool, run_reason: str) -> dict:
    """One migration: its times from the TSC, or a status saying why there are none."""
    row = {"mechanism": mechanism, "size_bytes": size, "round": rnd, "status": "error",
           "reason": "", "migrate_ms": None, "downtime_ms": None, "bytes_moved": None,
           "correct": None}
    line = values.get(f"{mechanism}_{size}_{rnd}")
    if line is None:
        row["reason"] = run_reason if not run_ok else "no result line"
        if not run_ok:
            row["status"] = run_reason.split(":")[0] if run_reason else "error"
        return row
    kv = key_values(line)
    try:
        rate, trigger = float(kv["rate"]), int(kv["trigger"])
        start, end = int(kv["from"]), int(kv["to"])
    except (KeyError, ValueError):
        row["reason"] = f"rc={kv.get('rc', '?')}: no times ({line[:80]})"
        return row
    row.update(migrate_ms=(end - trigger) / rate / 1e6, downtime_ms=(end - start) / rate / 1e6,
               bytes_moved=int(kv.get("bytes", 0) or 0), correct=kv.get("correct") == "1")
    if kv.get("rc") != "0":
        row["reason"] = f"rc={kv.get('rc')}"
    elif not row["correct"]:
        row["reason"] = "its memory differed after the move"
    else:
        row["status"] = "ok"
    return row


def migrate_samples(run_dir: Path, migrate: dict) -> pd.DataFrame:
    status = read_json(run_dir / "status.json")
    values = status.get("values", {})
    ok = status["status"] == "ok"
    reason = "" if ok else f"{status['status']}: {status.get('reason', '')}"
    rows = [sample(values, mech, size, r, ok, reason)
            for r in range(1, migrate["repetitions"] + 1)
            for size in migrate["sizes"] for mech in MECHANISMS]
    df = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    df["status"] = df["status"].where(df["status"].isin(["ok", "timeout", "panic"]), "error")
    return df


def migrate_rows(samples: pd.DataFrame, status: dict) -> pd.DataFrame:
    """Per mechanism and size: percentiles over its ok migrations; not ok if any failed."""
    rows = []
    for (mech, size), group in samples.groupby(["mechanism", "size_bytes"], sort=False):
        ok = group[group["status"] == "ok"]
        failed = group[group["status"] != "ok"]
        rows.append({
            **run_columns(status),
            "status": "ok" if failed.empty else failed["status"].iloc[0],
            "reason": "; ".join(sorted(set(failed["reason"]))) if len(failed) else "",
            "mechanism": mech, "size_bytes": size,
            "migrate_ms_p50": ok["migrate_ms"].median() if len(ok) else None,
            "migrate_ms_p99": ok["migrate_ms"].quantile(0.99) if len(ok) else None,
            "downtime_ms_p50": ok["downtime_ms"].median() if len(ok) else None,
            "bytes_moved": int(ok["bytes_moved"].median()) if len(ok) else None,
            "samples": len(ok),
            "correct": bool(group["correct"].fillna(False).all()),
            "host_cores": status["host_cores"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def migrate_ratio(df: pd.DataFrame) -> pd.DataFrame:
    """popcorn / criu per size, from the same run; a size without both ok rows keeps
    its row, with the status of the side that failed and no ratio."""
    rows = []
    for size in sorted(set(df["size_bytes"])):
        sides = {m: df[(df["size_bytes"] == size) & (df["mechanism"] == m)] for m in MECHANISMS}
        both = all(len(s) and s["status"].iloc[0] == "ok" for s in sides.values())
        bad = [s for s in sides.values() if not len(s) or s["status"].iloc[0] != "ok"]
        first = next(s for s in sides.values() if len(s))
        row = {"size_bytes": size,
               "status": "ok" if both else (bad[0]["status"].iloc[0] if len(bad[0]) else "error"),
               "popcorn_ms": None, "criu_ms": None, "ratio": None,
               "popcorn_downtime_ms": None, "criu_downtime_ms": None, "downtime_ratio": None,
               "goal": "< 0.2 at 64 MiB (README)",
               "accel": first["accel"].iloc[0], "timebase": first["timebase"].iloc[0]}
        for m in MECHANISMS:
            if len(sides[m]):
                row[f"{m}_ms"] = sides[m]["migrate_ms_p50"].iloc[0]
                row[f"{m}_downtime_ms"] = sides[m]["downtime_ms_p50"].iloc[0]
        if both:
            row["ratio"] = row["popcorn_ms"] / row["criu_ms"]
            row["downtime_ratio"] = row["popcorn_downtime_ms"] / row["criu_downtime_ms"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["size_bytes", "status", "popcorn_ms", "criu_ms", "ratio",
                                       "popcorn_downtime_ms", "criu_downtime_ms",
                                       "downtime_ratio", "goal", "accel", "timebase"])
