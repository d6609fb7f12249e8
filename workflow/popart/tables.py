"""Tidy CSVs in, summary tables out (CSV for machines, Markdown for people, HTML for the
report)."""
import html
from pathlib import Path

import pandas as pd

from .fsutil import atomic_write_text
from .provenance import COLUMNS as PROVENANCE

# Every tidy CSV has these: where a figure came from, and whether it counts.
COMMON = ["accel", "timebase", "status", *PROVENANCE]
STATUSES = ["ok", "timeout", "panic", "error"]


def check_common_columns(df: pd.DataFrame, name: str) -> None:
    missing = [c for c in COMMON if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing common columns {missing}")
    bad = sorted(set(df["status"]) - set(STATUSES))
    if bad:
        raise ValueError(f"{name}: unknown status values {bad}")


def write_table(df: pd.DataFrame, stem: Path, page: str | None = None) -> None:
    """Writes stem.csv (for machines), stem.md (for people) and stem.html, the report's
    view (the report shows HTML inline, a CSV only as a download): `page`, or the table."""
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    markdown = df.to_markdown(index=False, floatfmt=".3f") if len(df) else "(no rows)"
    atomic_write_text(stem.with_suffix(".md"), markdown + "\n")
    atomic_write_text(stem.with_suffix(".html"), page or table_html(df, stem.name))


def html_page(title: str, body: str, style: str = "") -> str:
    """A standalone page for the report: monospace cells, one rule under each row."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 2px 10px 2px 4px; border-bottom: 1px solid #ddd;
         vertical-align: top; font-family: monospace; }}
{style}</style></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def frame_html(df: pd.DataFrame, digits: int = 4) -> str:
    """A table's rows as HTML for a report page: empty cells for missing values, numbers
    to `digits` significant digits."""
    return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.{digits}g}",
                      border=0, classes="rows", escape=True)


def table_html(df: pd.DataFrame, title: str) -> str:
    """The table as a page, with its number of rows."""
    body = frame_html(df) if len(df) else "<p>(no rows)</p>"
    return html_page(title, f"<p>{len(df)} rows</p>\n{body}")


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
            cols = [c for c in ["status", "reason", "accel", "timebase", "run", "round",
                                "kernel_id", "run_id", "host"] if c in bad]
            frames.append(bad[cols].assign(experiment=experiment))
    if not frames:
        return pd.DataFrame(columns=["experiment", "status", "reason", "accel", "timebase"])
    out = pd.concat(frames, ignore_index=True)
    return out[["experiment", *[c for c in out.columns if c != "experiment"]]]


def pair_keys(df: pd.DataFrame) -> list[str]:
    """What two sides of a ratio must share: one run (run_id, host) and, where the sides
    were booted alternately, one round."""
    return [c for c in ("run_id", "host", "round") if c in df]


def web_ratio(web: pd.DataFrame) -> pd.DataFrame:
    """Per vCPUs, file size, connections and round of one run: multikernel / SMP for
    requests/s and for p99 latency. A case stays when either side failed, with the worst
    status of its two sides and no ratio."""
    keys = ["vcpus", "file_bytes", "connections", *pair_keys(web)]
    ok = web[web["status"] == "ok"]
    wide = ok.pivot_table(index=keys, columns="system", values=["rps", "p99_ms"])
    wide.columns = [f"{value}_{system}" for value, system in wide.columns]
    cases = web[keys].drop_duplicates().set_index(keys)
    out = cases.join(wide)
    for column in ("rps_smp", "rps_multikernel", "p99_ms_smp", "p99_ms_multikernel"):
        if column not in out:
            out[column] = float("nan")
    out["rps_ratio"] = out["rps_multikernel"] / out["rps_smp"]
    out["p99_ratio"] = out["p99_ms_multikernel"] / out["p99_ms_smp"]
    where = web.groupby(keys)[["accel", "timebase"]].agg(lambda v: "/".join(sorted(set(v))))
    status = web.groupby(keys)["status"].agg(
        lambda v: "ok" if set(v) == {"ok"} and len(v) == 2 else
        next((x for x in v if x != "ok"), "error"))
    out = out.join(where).join(status).reset_index()
    return out[[*keys, "status", "rps_smp", "rps_multikernel", "rps_ratio", "p99_ms_smp",
                "p99_ms_multikernel", "p99_ratio", "accel", "timebase"]]


# (what is compared, its path, the baseline's path or "link", the benchmark goal)
NET_COMPARISONS = [
    ("pcn primary-secondary / veth on SMP", "primary-secondary", "ns-ns", ">= 1"),
    ("pcn secondary-secondary / veth on SMP", "secondary-secondary", "ns-ns", ">= 1"),
    ("K secondaries / the primary alone", "outside-secondaries", "outside-primary", ">= 0.95"),
    ("K secondaries / the shaped link", "outside-secondaries", "link", ">= 0.95"),
]


def net_ratio(net: pd.DataFrame) -> pd.DataFrame:
    """The multikernel's throughput against its baselines, per number of secondaries,
    direction, streams and round of one run: veth on SMP for every K, the primary alone
    of the same K's run. A comparison without both figures stays, with no ratio and the
    status of the side that failed."""
    keys = pair_keys(net)
    if "secondaries" not in net:  # a table of before the multikernel's K was a list
        net = net.assign(secondaries=None)
    measured = (net["status"] == "ok") & net["throughput_mbit"].notna()
    rows = []
    for name, path, baseline, goal in NET_COMPARISONS:
        for _, row in net[net["path"] == path].iterrows():
            run = net[(net[keys] == row[keys]).all(axis=1)]  # this round of this run
            ok = run[measured.loc[run.index]]
            k = -1 if pd.isna(row["secondaries"]) else row["secondaries"]  # NaN: no K
            same_k = run["secondaries"].fillna(-1) == k
            mine = ok[(ok["path"] == path) & (ok["direction"] == row["direction"])
                      & (ok["streams"] == row["streams"]) & same_k[ok.index]]
            value = mine["throughput_mbit"].iloc[0] if len(mine) else None
            status = row["status"]
            if baseline == "link":
                base = row["link_mbit"]
            else:
                base_rows = ok[(ok["path"] == baseline) & (ok["streams"] == row["streams"])]
                if baseline != "ns-ns":  # the primary alone, in this K's run
                    base_rows = base_rows[(base_rows["direction"] == row["direction"])
                                          & same_k[base_rows.index]]
                base = base_rows["throughput_mbit"].iloc[0] if len(base_rows) else None
                failed = run[(run["path"] == baseline) & (run["status"] != "ok")
                             & (same_k | (baseline == "ns-ns"))]
                if base is None and status == "ok" and len(failed):
                    status = failed["status"].iloc[0]  # the baseline's own status
            ratio = value / base if value is not None and base else None
            if status == "ok" and ratio is None:
                status = "error"
            rows.append({**{c: row[c] for c in keys}, "comparison": name,
                         "secondaries": row["secondaries"],
                         "direction": row["direction"], "streams": row["streams"],
                         "status": status, "measured_mbit": value, "baseline_mbit": base,
                         "ratio": ratio, "goal": goal, "accel": row["accel"],
                         "timebase": row["timebase"]})
    return pd.DataFrame(rows, columns=[*keys, "comparison", "secondaries", "direction",
                                       "streams", "status", "measured_mbit", "baseline_mbit",
                                       "ratio", "goal", "accel", "timebase"])
