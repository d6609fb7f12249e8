"""Reference results without QEMU: what is saved from a run, and a run beside them."""
import json

import pandas as pd
import pytest

from popart.errors import PopartError
from popart.reference import beside, beside_page, save_reference


def a_run(tmp_path, all_ok=True):
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "msg").mkdir()
    pd.DataFrame([{"mechanism": "kmsg", "payload_bytes": 8, "status": "ok", "p50_ns": 10.0,
                   "run_id": "r1", "accel": "tcg"}]).to_csv(results / "tables/msg_latency.csv",
                                                             index=False)
    (results / "tables/msg_latency.md").write_text("| table |\n")
    (results / "msg/stress.json").write_text(json.dumps({"lost": 0}))
    if all_ok:
        (results / "tables/all-ok.txt").write_text("ok\n")
    return results


def test_only_a_complete_run_becomes_the_reference_and_it_replaces_the_old_one(tmp_path):
    out = tmp_path / "reference/run"
    with pytest.raises(PopartError, match="not a complete run"):
        save_reference(a_run(tmp_path, all_ok=False), out, {})
    assert not out.exists()
    (tmp_path / "results/tables/all-ok.txt").write_text("ok\n")
    (out / "tables").mkdir(parents=True)
    (out / "tables/stale.csv").write_text("x\n")
    names = save_reference(tmp_path / "results", out, {"host_cpu": "AMD EPYC", "date": "d"})
    assert names == ["msg_latency.csv"]
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["msg_latency.csv",
                                                                  "msg_latency.md"]
    assert json.loads((out / "facts/msg_stress.json").read_text()) == {"lost": 0}
    index = (out / "README.md").read_text()
    assert "| host_cpu | AMD EPYC |" in index and "(tables/msg_latency.md)" in index
    assert json.loads((out / "machine.json").read_text())["host_cpu"] == "AMD EPYC"


def test_a_run_beside_the_reference_pairs_cases_and_keeps_the_unpaired():
    now = pd.DataFrame([{"mechanism": "kmsg", "payload_bytes": b, "status": "ok",
                         "p50_ns": 10.0 * b, "run_id": "now"} for b in (8, 64)])
    ref = pd.DataFrame([{"mechanism": "kmsg", "payload_bytes": b, "status": "ok",
                         "p50_ns": 1.0 * b, "run_id": "ref"} for b in (8, 4096)])
    ref["payload_bytes"] = ref["payload_bytes"].astype(str)  # read as text on one side
    table = beside(now, ref)
    table["payload_bytes"] = table["payload_bytes"].astype(int)
    table = table.set_index("payload_bytes")
    assert list(table.columns) == ["mechanism", "status", "p50_ns", "p50_ns_reference"]
    assert table.loc[8, "p50_ns"] == 80.0 and table.loc[8, "p50_ns_reference"] == 8.0
    assert pd.isna(table.loc[64, "p50_ns_reference"]) and pd.isna(table.loc[4096, "p50_ns"])


def test_the_report_page_shows_each_table_both_runs_have(tmp_path):
    results = a_run(tmp_path)
    out = tmp_path / "ref"
    save_reference(results, out, {"host_cpu": "AMD EPYC"})
    pd.DataFrame([{"key": "kernels_up", "value": "4"}]).to_csv(results / "tables/kernel.csv",
                                                              index=False)
    save_reference(results, out, {"host_cpu": "AMD EPYC"})  # now with a facts table
    facts = {"host_cpu": "AMD EPYC", "host_cores": 2, "qemu_version": "7.2.22", "accel": "tcg",
             "date": "d"}
    page = beside_page(sorted((results / "tables").glob("*.csv")), out, facts)
    assert "<h2>msg_latency</h2>" in page and "p50_ns_reference" in page
    assert "<h2>kernel</h2>" in page and "value_reference" in page
    assert "host_cpu AMD EPYC, host_cores 2, qemu_version 7.2.22, accel tcg, date d" in page
