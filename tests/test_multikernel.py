"""Multikernel layout, per-kernel rows and the partition check, from run outputs."""
import json

import pandas as pd
import pytest

from popart.cli import main
from popart.errors import ConfigError
from popart.experiments.multikernel import (layout, multikernel_rows, parse_ranges,
                                            partition_check, partition_row)

REPORT = """@@POPCORN:BEGIN exp=report
@@POPCORN:KV init_uptime_s=0.375
@@POPCORN:KV kernel_release=6.12.117
@@POPCORN:KV apic_ids={apic}
@@POPCORN:KV mem_ranges={ranges}
@@POPCORN:END exp=report rc=0
"""


def run_dir(tmp_path, secondaries, primary_status="ok"):
    values = {"init_uptime_s": "1.0", "apic_ids": "0", "kernel_release": "6.12.117",
              "mem_ranges": "00001000-0001ffff;00040000-0009fbff;00100000-3fffffff"}
    for k, (apic, ranges, state) in secondaries.items():
        values[f"k{k}_state"] = state
        values[f"k{k}_kick_to_up_us"] = "700000"
        if ranges is not None:
            (tmp_path / f"console-k{k}.log").write_text(REPORT.format(apic=apic, ranges=ranges))
    (tmp_path / "status.json").write_text(json.dumps(
        {"status": primary_status, "reason": "", "accel": "tcg", "timebase": "wall",
         "host_cores": 2, "values": values}))
    return tmp_path


def test_layout_reserves_one_block_and_names_limits():
    plan = layout({"secondaries": 3, "mem_mib_per_secondary": 128, "cpus_per_secondary": 1})
    assert plan["vcpus"] == 4 and plan["mem_mib"] == 1024 + 384 + 16
    assert "maxcpus=1 memmap=384M$0x40000000 memmap=192K$0x20000" in plan["append"]
    with pytest.raises(ConfigError, match="experiments.multikernel.secondaries: at most 7"):
        layout({"secondaries": 8, "mem_mib_per_secondary": 64, "cpus_per_secondary": 1})
    with pytest.raises(ConfigError, match="does not fit"):
        layout({"secondaries": 7, "mem_mib_per_secondary": 512, "cpus_per_secondary": 1})


def test_layout_gives_each_secondary_its_cpus():
    plan = layout({"secondaries": 2, "mem_mib_per_secondary": 96, "cpus_per_secondary": 2})
    assert plan["vcpus"] == 5
    assert "popcorn.k=2 popcorn.mib=96 popcorn.cpus=2" in plan["append"]


def test_ranges_parse_inclusive_hex():
    assert parse_ranges("00001000-0009fbff;00100000-3fffffff") == [
        (0x1000, 0x9fbff), (0x100000, 0x3fffffff)]
    assert parse_ranges("") == []


def test_disjoint_kernels_give_ok_rows(tmp_path):
    d = run_dir(tmp_path, {1: ("1", "00020000-0002ffff;40100000-47ffffff", "halted"),
                           2: ("2", "00030000-0003ffff;48100000-4fffffff", "halted")})
    rows = multikernel_rows(d, 2)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert rows[1]["mem_mib"] == pytest.approx(127 + 0.0625, abs=1e-3)
    assert rows[1]["kick_to_up_s"] == 0.7 and rows[1]["boot_s"] == 0.375
    check = partition_check(rows, 3)
    assert check == {"kernels_requested": 3, "kernels_up": 3, "disjoint": True,
                     "overlaps": []}
    row = partition_row(check, json.loads((d / "status.json").read_text()))
    assert (row["status"], row["reason"], row["disjoint"]) == ("ok", "", True)


def test_overlapping_reports_are_found(tmp_path):
    d = run_dir(tmp_path, {1: ("1", "00020000-0002ffff;3ff00000-47ffffff", "halted"),
                           2: ("1", "00030000-0003ffff;48100000-4fffffff", "halted")})
    check = partition_check(multikernel_rows(d, 2), 3)
    assert not check["disjoint"]
    kinds = sorted(o["kind"] for o in check["overlaps"])
    assert kinds == ["apic_id", "ram"]
    ram = next(o for o in check["overlaps"] if o["kind"] == "ram")
    assert ram["kernels"] == [0, 1] and ram["range"] == "3ff00000-3fffffff"


def test_silent_or_panicked_secondaries_are_rows_with_status(tmp_path):
    d = run_dir(tmp_path, {1: ("1", None, "booting"), 2: ("2", None, "panicked"),
                           3: ("3", None, "halted")})
    rows = multikernel_rows(d, 3)
    assert [r["status"] for r in rows] == ["ok", "timeout", "panic", "error"]
    assert partition_check(rows, 4)["kernels_up"] == 1


def test_a_panicked_and_rebooted_secondary_is_judged_by_its_first_boot(tmp_path):
    d = run_dir(tmp_path, {1: ("1", "00020000-0002ffff;40100000-47ffffff", "running")})
    log = d / "console-k1.log"
    log.write_text("Linux version 6.12.117\nKernel panic - not syncing: sysrq triggered crash\n"
                   "Linux version 6.12.117\n" + log.read_text())
    row = multikernel_rows(d, 1)[1]
    assert row["status"] == "panic" and row["mem_ranges"] == ""


@pytest.mark.parametrize("secondaries, reason", [
    ({1: ("1", "00020000-0002ffff;3ff00000-47ffffff", "halted"),
      2: ("2", "00030000-0003ffff;48100000-4fffffff", "halted")},
     "kernels 0 and 1 share ram 3ff00000-3fffffff"),
    ({1: ("1", "00020000-0002ffff;40100000-47ffffff", "halted"),
      2: ("2", None, "booting")},
     "2 of 3 kernels up: the others' partitions are unchecked")])
def test_an_unchecked_or_overlapping_partition_fails_the_run(tmp_path, secondaries, reason):
    d = run_dir(tmp_path, secondaries)
    args = ["multikernel-csv", "--multikernel", json.dumps({"secondaries": 2}),
            "--run-dir", str(d), "--out", str(d / "mk.csv"), "--partition",
            str(d / "p.json"), "--partition-csv", str(d / "partition.csv")]
    assert main(args) == 0
    row = pd.read_csv(d / "partition.csv").iloc[0]
    assert row["status"] == "error" and reason in row["reason"]
    assert row["run_id"] == "unknown"  # provenance columns present, from the status file
    stem = d / "tables" / "failures"
    assert main(["failures", "--table", str(stem), f"partition={d / 'partition.csv'}"]) == 0
    assert list(pd.read_csv(stem.with_suffix(".csv"))["experiment"]) == ["partition"]
    assert main(["check-results", str(stem.with_suffix(".csv"))]) == 1
