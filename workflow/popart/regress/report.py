"""The regression table (CSV, Markdown, HTML for the report) and the baseline's own page
for people (baseline.md beside baseline.json)."""
import html
from pathlib import Path

import pandas as pd

from ..fsutil import atomic_write_text
from ..tables import frame_html, html_page, write_table

ORIGIN_ROWS = ("commit", "kernel_build", "kernel_release", "qemu_version", "qemu_machine",
               "qemu_cpu", "accel", "timebase", "host", "host_cpu", "date")


def origin_table(origins: dict[str, dict]) -> pd.DataFrame:
    """One row per fact, one column per origin (e.g. baseline, this run)."""
    return pd.DataFrame([{"": key, **{name: o.get(key, "") for name, o in origins.items()}}
                         for key in ORIGIN_ROWS])


def dated(baseline_origin: dict) -> dict:
    """A baseline's origin with its runs' dates as one date row."""
    return {**baseline_origin, "date": ", ".join(baseline_origin["dates"])}


def write_regress_table(table: pd.DataFrame, baseline: dict, now: dict, stem: Path) -> None:
    origins = origin_table({"baseline": dated(baseline["origin"]), "this run": now})
    verdicts = ", ".join(f"{n} {v}" for v, n in table["verdict"].value_counts().items())
    body = (f"<p>{len(table)} figures: {html.escape(verdicts)}. {html.escape(baseline['rule'])}"
            f".</p>\n" + frame_html(table, digits=6)
            + "\n<h2>What produced them</h2>\n" + frame_html(origins))
    write_table(table, stem, html_page("Regression: this run against the baseline", body))


def write_baseline_markdown(baseline: dict, path: Path) -> None:
    origin = baseline["origin"]
    figures = pd.DataFrame(baseline["figures"])[
        ["figure", "unit", "timebase", "value", "min", "max", "spread", "tolerance"]]
    figures = figures.rename(columns={"value": "median"})
    lines = ["# Regression baseline", "",
             f"Written by `make baseline` from {len(origin['runs'])} runs of one commit. "
             f"{baseline['rule']}.", "",
             origin_table({"baseline": dated(origin)}).to_markdown(index=False), "",
             figures.to_markdown(index=False, floatfmt=".6g"), ""]
    atomic_write_text(path, "\n".join(lines))
