"""Tidy CSVs in, summary tables out (CSV for machines, Markdown for people)."""
from pathlib import Path

import pandas as pd

from .fsutil import atomic_write_text

COMMON = ["accel", "timebase", "status"]
STATUSES = ["ok", "timeout", "panic", "error"]


def check_common_columns(df: pd.DataFrame, name: str) -> None:
    missing = [c for c in COMMON if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing common columns {missing}")
    bad = sorted(set(df["status"]) - set(STATUSES))
    if bad:
        raise ValueError(f"{name}: unknown status values {bad}")


def write_table(df: pd.DataFrame, stem: Path) -> None:
    """Writes stem.csv and stem.md."""
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    markdown = df.to_markdown(index=False, floatfmt=".3f") if len(df) else "(no rows)"
    atomic_write_text(stem.with_suffix(".md"), markdown + "\n")


def boot_summary(boot: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: runs, how many ok, and boot times over the ok runs."""
    keys = ["accel", "timebase", "vcpus", "mem_mib", "kernel_release", "host_cores"]
    ok = boot[boot["status"] == "ok"]
    counts = boot.groupby(keys, dropna=False).agg(runs=("run", "count"))
    counts["ok"] = ok.groupby(keys, dropna=False)["run"].count()
    stats = ok.groupby(keys, dropna=False).agg(
        boot_s_median=("boot_s", "median"), boot_s_min=("boot_s", "min"),
        boot_s_max=("boot_s", "max"), wall_s_median=("wall_s", "median"))
    summary = counts.join(stats).reset_index()
    summary["ok"] = summary["ok"].fillna(0).astype(int)
    return summary


def failures(tidy: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every row of every experiment whose status is not ok, experiment first."""
    frames = []
    for experiment, df in tidy.items():
        bad = df[df["status"] != "ok"]
        if len(bad):
            cols = [c for c in ["status", "reason", "accel", "timebase", "run", "kernel_id"]
                    if c in bad]
            frames.append(bad[cols].assign(experiment=experiment))
    if not frames:
        return pd.DataFrame(columns=["experiment", "status", "reason", "accel", "timebase"])
    out = pd.concat(frames, ignore_index=True)
    return out[["experiment", *[c for c in out.columns if c != "experiment"]]]
