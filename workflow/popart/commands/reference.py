"""Reference results: save one complete run's tables, and show a run beside them."""
import argparse
from pathlib import Path

from .. import log


def reference_save(a: argparse.Namespace) -> None:
    import socket
    import time

    import pandas as pd

    from ..provenance import host_cpu, qemu_version
    from ..reference import machine_facts, save_reference
    from ..regress.origin import commit
    results = Path(a.results)
    run_ids = sorted({r for csv in (results / "tables").glob("*.csv")
                      for r in pd.read_csv(csv).get("run_id", pd.Series(dtype=str)).dropna()})
    origin = {"commit": commit(Path(a.repo)), "run_ids": run_ids,
              "host": socket.gethostname(), "host_cpu": host_cpu(),
              "qemu_version": qemu_version(a.qemu_binary),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    names = save_reference(results, Path(a.out), machine_facts(results, origin))
    log.info(f"reference: {len(names)} tables of {results} in {a.out}")


def reference_beside(a: argparse.Namespace) -> None:
    from ..fsutil import atomic_write_text, read_json
    from ..reference import beside_page
    reference = Path(a.reference)
    page = beside_page([Path(c) for c in a.csv], reference,
                       read_json(reference / "machine.json"))
    atomic_write_text(a.out, page)
