"""The regression path without QEMU: figures from tidy CSVs, the baseline's tolerances,
verdicts, refusals, and the rules' one-line errors."""
import json

import pandas as pd
import pytest

from popart.cli import main
from popart.errors import RegressError
from popart.regress import baseline as bl
from popart.regress.compare import compare, verdict
from popart.regress.figures import boot_figures, latency_figures, run_figures
from popart.regress.origin import check_comparable, timebase

from test_workflow import dry_run

ORIGIN = {"commit": "abc", "kernel_build": "k1", "qemu_version": "7.2.22",
          "qemu_machine": "pc", "qemu_cpu": "max", "accel": "tcg",
          "timebase": "icount shift=3", "host_cpu": "AMD EPYC", "run_id": "r", "date": "d"}


def fig(name, value, better="lower", status="ok"):
    return {"figure": name, "unit": "s", "better": better, "timebase": "icount",
            "status": status, "value": value}


def run(*figures, **origin):
    return {"origin": {**ORIGIN, **origin}, "figures": list(figures)}


def test_wall_rows_are_left_out_and_a_failed_row_is_a_figure_without_value():
    latency = pd.DataFrame([
        {"timebase": "icount", "status": "ok", "mechanism": "kmsg", "mode": "ipi",
         "payload_bytes": 8, "p50_ns": 1000.0},
        {"timebase": "icount", "status": "timeout", "mechanism": "pipe", "mode": "blocking",
         "payload_bytes": 8, "p50_ns": None},
        {"timebase": "wall", "status": "ok", "mechanism": "unix", "mode": "blocking",
         "payload_bytes": 8, "p50_ns": 5.0}])
    figures = latency_figures(latency)
    assert [(f["figure"], f["status"], f["value"]) for f in figures] == [
        ("msg: kmsg ipi 8 B, round trip p50", "ok", 1000.0),
        ("msg: pipe blocking 8 B, round trip p50", "timeout", None)]


def test_an_ok_row_without_its_number_is_an_error_and_boot_takes_the_median():
    boot = pd.DataFrame([{"timebase": "icount", "status": "ok", "vcpus": 2, "mem_mib": 512,
                          "boot_s": s} for s in (2.0, 2.5, 9.0)])
    assert boot_figures(boot)[0]["value"] == 2.5
    assert latency_figures(pd.DataFrame([{
        "timebase": "icount", "status": "ok", "mechanism": "kmsg", "mode": "ipi",
        "payload_bytes": 8, "p50_ns": float("nan")}]))[0]["status"] == "error"


def test_run_figures_read_a_results_directory(tmp_path):
    (tmp_path / "boot").mkdir()
    (tmp_path / "kernel").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "kernel/bzImage").write_bytes(b"x" * 100)
    (tmp_path / "images/initramfs.cpio.gz").write_bytes(b"x" * 7)
    pd.DataFrame([{"timebase": "icount", "status": "ok", "kernel_id": k, "role": r,
                   "boot_s": 2.0 + k} for k, r in ((0, "primary"), (1, "secondary"))]
                 ).to_csv(tmp_path / "boot/multikernel.csv", index=False)
    pd.DataFrame([{"status": "error"}]).to_csv(tmp_path / "boot/partition.csv", index=False)
    (tmp_path / "boot/partition.json").write_text(json.dumps(
        {"timebase": "icount", "all_up_s": 5.0, "kernels_up": 1, "disjoint": False}))
    figures = {f["figure"]: f for f in run_figures(tmp_path)}
    assert figures["multikernel: kernel 1 (secondary), time to init"]["value"] == 3.0
    assert figures["multikernel: all kernels up"]["status"] == "error"
    assert figures["multikernel: kernels up"]["value"] == 1
    assert figures["multikernel: kernels disjoint"]["value"] == 0.0
    assert figures["size: bzImage"]["value"] == 100
    assert "boot: SMP Linux" not in " ".join(figures)  # boot was not run


def test_tolerance_is_three_times_the_spread_and_never_below_half_a_percent():
    made = bl.make_baseline([run(fig("a", v), fig("b", w), fig("up", 4, "equal"))
                             for v, w in ((10.0, 100.0), (11.0, 100.1), (12.0, 100.0))])
    a, b, up = made["figures"]
    assert a["value"] == 11.0 and a["spread"] == pytest.approx(2 / 11)
    assert a["tolerance"] == pytest.approx(6 / 11)
    assert b["tolerance"] == 0.005
    assert up["tolerance"] == 0.0
    assert made["origin"]["runs"] == ["r", "r", "r"] and "3 x spread" in made["rule"]


@pytest.mark.parametrize("runs, message", [
    ([run(fig("a", 1.0))], "at least 2 runs"),
    ([run(fig("a", 1.0)), run(fig("a", None, status="timeout"))],
     "baseline run 2: figure 'a' is timeout"),
    ([run(fig("a", 1.0)), run()], "baseline run 2: figure 'a' is missing"),
    ([run(fig("up", 4, "equal")), run(fig("up", 3, "equal"))], "disagree on the outcome"),
    ([run(fig("a", 1.0)), run(fig("a", 1.0), qemu_version="8.0")],
     "differ in qemu_version: 7.2.22, 8.0"),
])
def test_a_baseline_from_bad_runs_is_refused(runs, message):
    with pytest.raises(RegressError, match=message):
        bl.make_baseline(runs)


BASE = {"value": 100.0, "tolerance": 0.1}


@pytest.mark.parametrize("better, now, expected", [
    ("lower", 105.0, "same"), ("lower", 111.0, "worse"), ("lower", 90.0, "better"),
    ("lower", 91.0, "same"), ("higher", 89.0, "worse"), ("higher", 111.0, "better"),
    ("higher", 0.0, "worse"),
])
def test_verdict_follows_which_way_is_better(better, now, expected):
    assert verdict({**BASE, "better": better}, fig("x", now, better))[0] == expected


def test_broken_is_a_failed_missing_or_changed_outcome_never_worse():
    assert verdict({**BASE, "better": "lower"}, None) == ("broken", None)
    assert verdict({**BASE, "better": "lower"}, fig("x", None, status="panic"))[0] == "broken"
    assert verdict({"value": 4, "tolerance": 0, "better": "equal"},
                   fig("up", 3, "equal"))[0] == "broken"
    table = compare({"figures": [{**fig("a", 1.0), "tolerance": 0.1}]}, [fig("new", 2.0)])
    assert list(table["verdict"]) == ["broken", "new"]
    assert list(table["status"]) == ["missing", "ok"]


def test_another_qemu_machine_or_timebase_is_refused_the_host_cpu_only_on_kvm_and_hw():
    check_comparable(ORIGIN, {**ORIGIN, "host_cpu": "Intel Xeon"}, "b")
    for key, value in (("qemu_version", "8.2.0"), ("qemu_cpu", "qemu64"),
                       ("timebase", "wall"), ("accel", "kvm")):
        with pytest.raises(RegressError, match=f"b was made with {key} "):
            check_comparable(ORIGIN, {**ORIGIN, key: value}, "b")
    kvm = {**ORIGIN, "accel": "kvm", "timebase": "wall"}
    with pytest.raises(RegressError, match="host_cpu"):
        check_comparable(kvm, {**kvm, "host_cpu": "Intel Xeon"}, "b")
    assert timebase({"icount": 3}, "tcg") == "icount shift=3"
    assert timebase({"icount": None}, "tcg") == timebase({"icount": 3}, "kvm") == "wall"


def write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


def test_the_commands_compare_check_and_fail_on_worse(tmp_path, capsys):
    runs = [write(tmp_path / f"run{i}.json", run(fig("a", v), fig("b", 50.0, "higher")))
            for i, v in enumerate((10.0, 10.2, 9.9))]
    base = tmp_path / "ref/baseline.json"
    assert main(["regress-baseline", "--out", str(base), *runs]) == 0
    assert "| a " in (tmp_path / "ref/baseline.md").read_text()
    for name, figures, rc in (("same", [fig("a", 10.1), fig("b", 50.0, "higher")], 0),
                              ("slow", [fig("a", 14.0), fig("b", 50.0, "higher")], 1)):
        now = write(tmp_path / f"{name}.json", run(*figures))
        stem = tmp_path / name / "regress"
        assert main(["regress-compare", "--baseline", str(base), "--figures", now,
                     "--table", str(stem)]) == 0
        assert {p.suffix for p in stem.parent.iterdir()} == {".csv", ".md", ".html"}
        ok = tmp_path / name / "ok.txt"
        assert main(["regress-check", "--table", f"{stem}.csv", "--out", str(ok)]) == rc
        assert ok.exists() == (rc == 0)
    err = capsys.readouterr().err
    assert "worse: a: baseline 10.0, now 14.0 (x1.400, tolerance" in err
    assert "E: regress: 1 of 2 figures worse or broken" in err


def test_a_missing_or_incomparable_baseline_is_one_line(tmp_path, capsys):
    now = write(tmp_path / "now.json", run(fig("a", 1.0)))
    args = ["regress-compare", "--figures", now, "--table", str(tmp_path / "t")]
    assert main([*args, "--baseline", str(tmp_path / "none.json")]) == 1
    other = write(tmp_path / "b.json", {"origin": {**ORIGIN, "qemu_version": "9.0"},
                                        "rule": "", "figures": []})
    assert main([*args, "--baseline", other]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"E: regress: no baseline at {tmp_path / 'none.json'} (make baseline "
                     "writes it)",
                     f"E: regress: the baseline {other} was made with qemu_version '9.0' and "
                     "this run has '7.2.22': not compared (make baseline makes one for this "
                     "setup)"]
    assert not (tmp_path / "t.csv").exists()


def test_the_workflow_stops_on_a_missing_baseline_in_one_line(tmp_path):
    from conftest import REPO
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("regress:\n  baseline: reference/none.json\n")
    result = dry_run(tmp_path, "--configfile", str(REPO / "reference/regress/config.yaml"),
                     str(elsewhere))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
    assert errors == [f"E: regress: no baseline at {REPO / 'reference/none.json'} "
                      "(make baseline writes it)"]


def test_the_regress_configuration_plans_the_comparison_and_its_check(tmp_path):
    from conftest import REPO
    result = dry_run(tmp_path, "--configfile", str(REPO / "reference/regress/config.yaml"))
    assert result.returncode == 0, result.stderr
    for rule in ("regress_figures", "regress_compare", "regress_check", "check_results"):
        assert f"rule {rule}:" in result.stdout or f"localrule {rule}:" in result.stdout


def test_a_figure_only_a_later_run_has_or_measured_twice_is_refused(tmp_path):
    with pytest.raises(RegressError, match="baseline run 1: figure 'b' is missing"):
        bl.make_baseline([run(fig("a", 1.0)), run(fig("a", 1.0), fig("b", 2.0))])
    (tmp_path / "kernel").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "kernel/bzImage").write_bytes(b"x")
    (tmp_path / "images/initramfs.cpio.gz").write_bytes(b"x")
    (tmp_path / "boot").mkdir()
    pd.DataFrame([{"timebase": "icount", "status": "ok", "kernel_id": 0, "role": "primary",
                   "boot_s": 2.0}] * 2).to_csv(tmp_path / "boot/multikernel.csv", index=False)
    pd.DataFrame([{"status": "ok"}]).to_csv(tmp_path / "boot/partition.csv", index=False)
    (tmp_path / "boot/partition.json").write_text("{}")
    with pytest.raises(RegressError, match="measured more than once: multikernel: kernel 0"):
        run_figures(tmp_path)


@pytest.mark.parametrize("better, now, expected", [
    ("lower", 0.0, "same"), ("lower", 2.0, "worse"), ("higher", 2.0, "better"),
])
def test_a_zero_baseline_has_no_ratio_but_still_a_direction(better, now, expected):
    assert verdict({"value": 0.0, "tolerance": 0.005, "better": better},
                   fig("x", now, better)) == (expected, None)


def test_another_workload_of_an_experiment_both_ran_is_refused():
    from popart.regress.origin import workload
    mine = workload({"msg": {"enabled": True, "pings": 50}, "net": {"enabled": False}})
    assert list(mine) == ["msg"]
    other = workload({"msg": {"enabled": True, "pings": 500}})
    check_comparable({**ORIGIN, "workload": mine}, {**ORIGIN, "workload": {}}, "b")
    with pytest.raises(RegressError, match="another experiments.msg configuration"):
        check_comparable({**ORIGIN, "workload": mine}, {**ORIGIN, "workload": other}, "b")
    assert timebase({"icount": 0}, "tcg") == "icount shift=0"


def test_secondary_parameters_and_the_serial_boot_reach_the_guest():
    from popart.experiments.multikernel import layout
    from popart.machines import primary_append
    assert primary_append({"append": "quiet", "secondary_append": "a=1 b=2"}) == \
        "quiet popcorn.secondary_append=a=1,b=2"
    assert primary_append({"append": "quiet", "secondary_append": ""}) == "quiet"
    plan = {"secondaries": 2, "mem_mib_per_secondary": 128, "cpus_per_secondary": 1}
    assert "popcorn.serial=1" in layout({**plan, "boot_order": "serial"})["append"]
    assert "popcorn.serial" not in layout({**plan, "boot_order": "parallel"})["append"]


def test_figures_measured_beside_a_secondary_that_never_reported_fail():
    from popart.experiments.msg import _mode_failure
    assert _mode_failure({"mode_ipi_rc": "0", "k1_reported": "1"}, "kmsg", "ipi") == ""
    assert "secondary k1 never reported" in _mode_failure(
        {"mode_ipi_rc": "0", "k1_reported": "0"}, "kmsg", "ipi")
