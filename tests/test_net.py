"""Network and web rows from run folders (no QEMU), the link rate rule, and the test bed
itself (real namespaces: needs root, as the pipeline does)."""
import json
import os
import subprocess

import pytest

from popart.experiments.net import link_rate, link_summary, net_rows
from popart.experiments.web import web_rows
from popart.netbed import NAME, namespaces, remove_stale, shape
from popart.netbed import testbed as make_bed  # not a test

NETWORK = {"link_mbit": 1000, "tcg_link_fraction": 0.5}
NET = {"streams": [1, 4]}
WEB = {"file_bytes": [1024], "connections": [2, 8]}
LINK = {"link_mbit": 300, "status": "ok", "reason": ""}


def run_dir(path, status="ok", rows=None, error="", values=None):
    path.mkdir(parents=True, exist_ok=True)
    (path / "status.json").write_text(json.dumps(
        {"status": status, "reason": "" if status == "ok" else "guest hung", "accel": "tcg",
         "timebase": "wall", "host_cores": 2, "values": values or {}}))
    (path / "load.json").write_text(json.dumps({"rows": rows or [], "error": error}))
    return path


def test_the_link_is_the_line_rate_on_kvm_and_a_fraction_of_the_guests_under_tcg():
    assert link_rate([800.0, 600.0], "kvm", NETWORK) == 1000
    assert link_rate([800.0, 600.0], "tcg", NETWORK) == 300
    assert link_rate([5000.0, 4000.0], "tcg", NETWORK) == 1000  # never above the line rate


def test_link_summary_needs_both_directions(tmp_path):
    ok = run_dir(tmp_path / "a", rows=[
        {"direction": "to_guest", "throughput_mbit": 700.0, "status": "ok", "reason": ""},
        {"direction": "from_guest", "throughput_mbit": 500.0, "status": "ok", "reason": ""}])
    summary = link_summary(ok, NETWORK)
    assert summary["status"] == "ok" and summary["link_mbit"] == 250
    half = run_dir(tmp_path / "b", rows=[
        {"direction": "to_guest", "throughput_mbit": 700.0, "status": "ok", "reason": ""},
        {"direction": "from_guest", "throughput_mbit": None, "status": "error",
         "reason": "iperf3: unable to connect"}])
    summary = link_summary(half, NETWORK)
    assert summary["status"] == "error" and summary["link_mbit"] is None
    assert "unable to connect" in summary["reason"]
    hung = link_summary(run_dir(tmp_path / "c", status="timeout"), NETWORK)
    assert (hung["status"], hung["reason"]) == ("timeout", "guest hung")


def test_every_net_case_is_a_row_measured_or_with_its_reason(tmp_path):
    rows = [{"direction": "to_guest", "streams": 1, "status": "ok", "reason": "",
             "throughput_mbit": 290.0},
            {"direction": "from_guest", "streams": 4, "status": "error",
             "reason": "iperf3: refused"},
            {"direction": "round_trip", "streams": 1, "status": "ok", "reason": "",
             "rtt_us": [float(v) for v in range(1, 101)]}]
    out = net_rows(run_dir(tmp_path, rows=rows), "smp", NET, LINK)
    by = {(r["direction"], r["streams"]): r for r in out}
    assert len(out) == 2 * 2 + 1
    assert by[("to_guest", 1)]["status"] == "ok" and by[("to_guest", 1)]["link_mbit"] == 300
    assert by[("from_guest", 4)]["reason"] == "iperf3: refused"
    assert by[("to_guest", 4)]["status"] == "error" and "not measured" in by[("to_guest", 4)]["reason"]
    rtt = by[("round_trip", 1)]
    assert (rtt["rtt_us_p50"], rtt["rtt_us_p99"], rtt["samples"]) == (51.0, 100.0, 100)
    assert rtt["throughput_mbit"] is None and by[("to_guest", 1)]["rtt_us_p50"] is None


def test_a_run_that_never_booted_gives_every_row_its_status(tmp_path):
    out = net_rows(run_dir(tmp_path, status="error", error="ip netns add: not permitted"),
                   "smp", NET, {**LINK, "link_mbit": None})
    assert {r["status"] for r in out} == {"error"} and len(out) == 5


def test_web_rows_turn_a_dead_server_into_errors(tmp_path):
    rows = [{"file_bytes": 1024, "connections": c, "status": "ok", "reason": "", "rps": 100.0,
             "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "requests": 200} for c in (2, 8)]
    alive = web_rows({2: run_dir(tmp_path / "a", rows=rows, values={"nginx_alive": "1"})},
                     "smp", WEB, LINK)
    assert [(r["connections"], r["status"], r["workers"]) for r in alive] == [
        (2, "ok", 2), (8, "ok", 2)]
    dead = web_rows({2: run_dir(tmp_path / "b", rows=rows, values={"nginx_alive": "0"})},
                    "smp", WEB, LINK)
    assert {r["status"] for r in dead} == {"error"} and "nginx died" in dead[0]["reason"]
    assert dead[0]["rps"] == 100.0  # what was measured stays


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def tc_qdiscs(bed) -> str:
    return subprocess.run(bed.in_link(["tc", "qdisc", "show"]), capture_output=True,
                          text=True, check=True).stdout


@needs_root
def test_the_test_bed_is_made_shaped_and_removed():
    with make_bed() as bed:
        assert {bed.client_ns, bed.link_ns} <= set(namespaces())
        links = subprocess.run(bed.in_link(["ip", "-o", "link"]), capture_output=True,
                               text=True, check=True).stdout
        assert "tap0" in links and "vl@" in links
        shape(bed, 200)
        assert tc_qdiscs(bed).count("tbf") == 2 and "200Mbit" in tc_qdiscs(bed)
        shape(bed, None)
        assert "tbf" not in tc_qdiscs(bed)
    assert not {bed.client_ns, bed.link_ns} & set(namespaces())


@needs_root
def test_a_stale_bed_from_a_dead_run_is_removed_and_a_live_ones_kept():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"popcorn{dead.pid}-link"
    live = f"popcorn{os.getpid()}-client"
    assert NAME.match(stale) and NAME.match(live)
    for ns in (stale, live):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        assert stale in remove_stale()
        assert stale not in namespaces() and live in namespaces()
    finally:
        for ns in (stale, live):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)
