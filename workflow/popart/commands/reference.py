"""Reference results: save one complete run's tables, and show a run beside them."""
import argparse
from pathlib import Path

from .. import log


def reference_save(a: argparse.Namespace) -> None:
    import pandas as pd

    from ..provenance import facts, utc_now
    from ..reference import machine_facts, save_reference
    from ..regress.origin import commit
    results = Path(a.results)
    run_ids = sorted({r for csv in (results / "tables").glob("*.csv")
                      for r in pd.read_csv(csv).get("run_id", pd.Series(dtype=str)).dropna()})
    where = facts(a.qemu_binary, results / "kernel/bzImage")
    del where["run_id"]  # this command's own; the tables' are run_ids
    origin = {"commit": commit(Path(a.repo)), "run_ids": run_ids, **where, "date": utc_now()}
    names = save_reference(results, Path(a.out), machine_facts(results, origin))
    log.info(f"reference: {len(names)} tables of {results} in {a.out}")


def reference_beside(a: argparse.Namespace) -> None:
    from ..fsutil import atomic_write_text, read_json
    from ..reference import beside_page
    reference = Path(a.reference)
    page = beside_page([Path(c) for c in a.csv], reference,
                       read_json(reference / "machine.json"))
    atomic_write_text(a.out, page)
