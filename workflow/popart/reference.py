"""Reference results: the tables of one whole run on a named machine, kept in the
checkout (reference/run/) so that README and the report can show measured tables instead
of figures typed by hand, and a later run can be read beside them."""
import os
import shutil
from pathlib import Path

import pandas as pd

from .errors import PopartError
from .fsutil import atomic_write_json, atomic_write_text, read_json
from .provenance import COLUMNS as PROVENANCE
from .tables import frame_html, html_page

# The facts files of a run (JSON, not tables), kept beside the tables.
FACTS = ("accel.json", "kernel/kernel.json", "boot/partition.json", "msg/stress.json",
         "net/link.json", "net/soak.json")
# Not a case's identity: where and when it ran, and bookkeeping.
NOT_KEYS = {*PROVENANCE, "status", "reason", "samples", "host_cores", "accel", "timebase"}


def machine_facts(results: Path, origin: dict) -> dict:
    """The machine and run the reference tables come from: origin (commit, run ids,
    provenance.facts) and the host's cores, the accelerator and the kernel's release."""
    accel = read_json(results / "accel.json")
    return {**origin, "host_cores": os.cpu_count(), "accel": accel["accel"],
            "accel_reason": accel.get("reason", ""),
            "kernel_release": read_json(results / "kernel/kernel.json")["kernel_release"]}


def save_reference(results: Path, out: Path, facts: dict) -> list[str]:
    """Copies results/tables/*.csv and *.md to out/tables (replacing what was there) and
    writes out/machine.json and out/README.md; only from a run whose rows were all ok."""
    if not (results / "tables/all-ok.txt").exists():
        raise PopartError(f"{results}: not a complete run with every row ok (no "
                          "tables/all-ok.txt): run the pipeline to the end first")
    tables = sorted(p for p in (results / "tables").glob("*.csv"))
    if out.exists():
        shutil.rmtree(out)
    (out / "tables").mkdir(parents=True)
    for csv in tables:
        shutil.copy2(csv, out / "tables" / csv.name)
        if csv.with_suffix(".md").exists():
            shutil.copy2(csv.with_suffix(".md"), out / "tables" / csv.with_suffix(".md").name)
    kept_facts = [f for f in FACTS if (results / f).exists()]
    (out / "facts").mkdir()
    for name in kept_facts:
        shutil.copy2(results / name, out / "facts" / name.replace("/", "_"))
    atomic_write_json(out / "machine.json", facts)
    rows = "\n".join(f"| {k} | {', '.join(v) if isinstance(v, list) else v} |"
                     for k, v in facts.items())
    index = "\n".join([*(f"- [{p.stem}](tables/{p.stem}.md)" for p in tables),
                       *(f"- [{n}](facts/{n.replace('/', '_')})" for n in kept_facts)])
    atomic_write_text(out / "README.md", (
        "# Reference results\n\nThe tables of one `make reference` run (the default "
        "configuration, `make run`), written by the pipeline; README and the report show "
        "them instead of figures typed by hand. Under TCG they are emulated times: "
        "compare ratios within one run, never with hardware.\n\n"
        f"| what | value |\n| --- | --- |\n{rows}\n\n## Tables and facts\n\n{index}\n"))
    return [p.name for p in tables]


def case_keys(df: pd.DataFrame) -> list[str]:
    """The columns that name a case (text, whole numbers, flags), not a figure."""
    return [c for c in df.columns if c not in NOT_KEYS
            and not pd.api.types.is_float_dtype(df[c])]


def beside(now: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """This run's rows with the reference's figures for the same case beside them
    (columns <figure>_reference); a case only one side has keeps its row. A facts
    table (key, value) pairs by key."""
    if list(now.columns) == ["key", "value"]:
        merged = now.merge(reference, on="key", how="outer", suffixes=("", "_reference"))
        return merged[["key", "value", "value_reference"]]
    keys = [k for k in case_keys(now) if k in reference.columns]
    figures = [c for c in now.columns if c not in keys and c not in NOT_KEYS
               and c in reference.columns and pd.api.types.is_float_dtype(now[c])]
    status = ["status"] if "status" in now.columns else []
    # Keys as text on both sides: "1" and 1 (one APIC ID read as a number) are one case.
    ref = reference[keys + figures].astype({k: str for k in keys}).drop_duplicates(subset=keys)
    mine = now[keys + status + figures].astype({k: str for k in keys})
    merged = mine.merge(ref, on=keys, how="outer", suffixes=("", "_reference"))
    return merged[keys + status + [c for f in figures for c in (f, f"{f}_reference")]]


def beside_page(tables: list[Path], reference: Path, facts: dict) -> str:
    """One page: per table of this run that the reference has too, this run beside it."""
    sections = []
    for mine in sorted(tables, key=lambda p: p.name):
        ref_csv = reference / "tables" / mine.name
        if not ref_csv.exists():
            continue
        now, ref = pd.read_csv(mine), pd.read_csv(ref_csv)
        if not len(now) or not (case_keys(now) or "key" in now.columns):
            continue
        sections.append(f"<h2>{ref_csv.stem}</h2>\n{frame_html(beside(now, ref))}")
    where = ", ".join(f"{k} {facts.get(k)}" for k in ("host_cpu", "host_cores",
                                                        "qemu_version", "accel", "date"))
    intro = (f"<p>Reference: {where} (reference/run/machine.json). Columns ending in "
             "_reference are the reference run's; the others this run's.</p>")
    return html_page("This run beside the reference results",
                     intro + "\n" + ("\n".join(sections) or "<p>(no table in common)</p>"))
