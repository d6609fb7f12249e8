"""The regression path: a run's figures, a baseline of several runs, the comparison."""
import argparse
import json
from pathlib import Path

from .. import log
from ..errors import RegressError


def regress_figures(a: argparse.Namespace) -> None:
    from ..fsutil import atomic_write_json
    from ..regress.figures import run_figures
    from ..regress.origin import run_origin
    results = Path(a.results)
    origin = run_origin(results, json.loads(a.qemu), json.loads(a.experiments),
                        Path(a.repo), a.qemu_binary)
    figures = run_figures(results)
    atomic_write_json(a.out, {"origin": origin, "figures": figures})
    log.info(f"regress: {len(figures)} figures of run {origin['run_id']} in {a.out}")


def _read(path: str, what: str) -> dict:
    from ..fsutil import read_json
    try:
        return read_json(path)
    except FileNotFoundError:
        raise RegressError(f"no {what} at {path}"
                           + (" (make baseline writes it)" if what == "baseline" else "")
                           ) from None
    except ValueError as e:
        raise RegressError(f"{path}: not JSON: {e}") from None


def regress_baseline(a: argparse.Namespace) -> None:
    from ..fsutil import atomic_write_json
    from ..regress.baseline import make_baseline
    from ..regress.report import write_baseline_markdown
    baseline = make_baseline([_read(path, "run's figures") for path in a.runs])
    out = Path(a.out)
    atomic_write_json(out, baseline)
    write_baseline_markdown(baseline, out.with_suffix(".md"))
    log.info(f"regress: baseline of {len(a.runs)} runs, {len(baseline['figures'])} figures, "
             f"in {out}")


def regress_compare(a: argparse.Namespace) -> None:
    from ..regress.compare import compare
    from ..regress.origin import check_comparable
    from ..regress.report import write_regress_table
    baseline, now = _read(a.baseline, "baseline"), _read(a.figures, "run's figures")
    check_comparable(baseline["origin"], now["origin"], f"the baseline {a.baseline}")
    table = compare(baseline, now["figures"])
    table.insert(table.columns.get_loc("timebase"), "accel", now["origin"]["accel"])
    write_regress_table(table, baseline, now["origin"], Path(a.table))


def regress_check(a: argparse.Namespace) -> None:
    import pandas as pd
    from ..fsutil import atomic_write_text
    from ..regress.compare import FAILING, summary
    table = pd.read_csv(a.table)
    for line in summary(table):
        log.info(line)
    failing = table[table["verdict"].isin(FAILING)]
    counts = table["verdict"].value_counts().to_dict()
    if len(failing):
        raise RegressError(f"{len(failing)} of {len(table)} figures worse or broken "
                           f"({counts}): see {a.table}")
    atomic_write_text(a.out, f"{len(table)} figures, none worse or broken: {counts}\n")
    log.info(f"regress: {len(table)} figures, none worse or broken")
