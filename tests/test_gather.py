"""Rows, tables, plots and the final status check, from status.json files."""
import json

import pandas as pd
import pytest

from popart.cli import main
from popart.experiments.boot import COLUMNS, boot_row
from popart.plots import boot_plot
from popart.tables import boot_summary, check_common_columns, failures

BOOT = {"vcpus": 2, "mem_mib": 512, "repetitions": 3}
KERNEL = {"kernel_release": "6.12.117"}


def status_file(tmp_path, name, status, uptime=None, reason=""):
    values = {"init_uptime_s": uptime} if uptime else {}
    data = {"status": status, "reason": reason, "accel": "tcg", "timebase": "wall",
            "host_cores": 2, "boot_wall_s": 1.5 if uptime else None, "wall_s": 2.0,
            "values": values}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def boot(tmp_path):
    rows = [boot_row(status_file(tmp_path, "1.json", "ok", "0.9"), 1, BOOT, KERNEL),
            boot_row(status_file(tmp_path, "2.json", "ok", "1.1"), 2, BOOT, KERNEL),
            boot_row(status_file(tmp_path, "3.json", "timeout", None, "no init start marker"),
                     3, BOOT, KERNEL)]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_rows_keep_failed_runs(boot):
    check_common_columns(boot, "boot")
    assert list(boot["status"]) == ["ok", "ok", "timeout"]
    assert boot.loc[2, "boot_s"] != boot.loc[2, "boot_s"]  # NaN, not a made-up zero
    assert boot.loc[0, "boot_s"] == 0.9 and boot.loc[0, "kernel_release"] == "6.12.117"


def test_a_boot_row_on_hardware_says_the_machines_ram(tmp_path):
    path = status_file(tmp_path, "status.json", "ok", "0.9")
    path.write_text(json.dumps({**json.loads(path.read_text()), "target": "hardware"}))
    assert boot_row(path, 1, BOOT, KERNEL)["mem_mib"] is None   # no facts: not made up
    memmap = [{"start": "0x0", "end": "0x9ffff", "kind": "usable"},
              {"start": "0xa0000", "end": "0xfffff", "kind": "Reserved"},
              {"start": "0x100000", "end": "0x3fffffff", "kind": "usable"}]
    (tmp_path / "machine-facts.json").write_text(json.dumps({"memmap": memmap}))
    assert boot_row(path, 1, BOOT, KERNEL)["mem_mib"] == 1023   # 640 KiB + 1023 MiB


def test_summary_counts_runs_and_uses_ok_runs_only(boot):
    summary = boot_summary(boot)
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["runs"], row["ok"]) == (3, 2)
    assert row["boot_s_median"] == pytest.approx(1.0)
    assert row["accel"] == "tcg" and row["timebase"] == "wall"


def test_failures_table_and_check_results(boot, tmp_path):
    bad = failures({"boot": boot})
    assert list(bad["experiment"]) == ["boot"] and list(bad["status"]) == ["timeout"]
    boot.to_csv(tmp_path / "boot.csv", index=False)
    stem = tmp_path / "tables" / "failures"
    assert main(["failures", "--table", str(stem), f"boot={tmp_path / 'boot.csv'}"]) == 0
    assert "timeout" in (tmp_path / "tables" / "failures.md").read_text()
    assert main(["check-results", str(stem.with_suffix(".csv"))]) == 1
    ok = boot[boot["status"] == "ok"]
    ok.to_csv(tmp_path / "boot.csv", index=False)
    main(["failures", "--table", str(stem), f"boot={tmp_path / 'boot.csv'}"])
    assert main(["check-results", str(stem.with_suffix(".csv"))]) == 0


def test_unknown_status_is_rejected(boot):
    with pytest.raises(ValueError, match="unknown status"):
        check_common_columns(boot.assign(status="fine"), "boot")


def test_plot_is_written(boot, tmp_path):
    boot_plot(boot, tmp_path / "boot.png")
    assert (tmp_path / "boot.png").read_bytes()[:4] == b"\x89PNG"
