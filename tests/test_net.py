"""Network and web rows from run folders (no QEMU), the link rate rule, and the test bed
itself (real namespaces: needs root, as the pipeline does)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO

from popart.experiments.net import link_rate, link_summary, net_rows
from popart.experiments.web import web_rows
from popart.tables import net_ratio, web_ratio
from popart.netbed import NAME, namespaces, remove_stale, shape
from popart.netbed import testbed as make_bed  # not a test

NETWORK = {"link_mbit": 1000, "tcg_link_fraction": 0.5}
NET = {"streams": [1, 4], "secondaries": [2], "pings": 104, "duration_s": 2}
DATA = Path(__file__).parent / "data" / "net"
WEB = {"file_bytes": [1024], "connections": [2, 8]}
LINK = {"link_mbit": 300, "status": "ok", "reason": ""}


def run_dir(path, status="ok", rows=None, error="", values=None, consoles=None):
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (consoles or {}).items():
        (path / name).write_text(text)
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


def test_on_the_hardware_target_the_link_is_the_machines_nic_unshaped(tmp_path):
    rows = [{"direction": d, "throughput_mbit": 90.0, "status": "ok", "reason": ""}
            for d in ("to_guest", "from_guest")]
    path = run_dir(tmp_path / "hw", rows=rows)
    status = json.loads((path / "status.json").read_text())
    (path / "status.json").write_text(json.dumps({**status, "target": "hardware",
                                                  "host": "192.168.1.20"}))
    nics = [{"name": "eno2", "addresses": ["10.0.0.5/24"], "speed_mbit": 10000},
            {"name": "eno1", "addresses": ["192.168.1.20/24"], "speed_mbit": 2500}]
    (path / "machine-facts.json").write_text(json.dumps({"nics": nics}))
    summary = link_summary(path, NETWORK)   # accel tcg: a VM standing in for a machine
    assert summary["link_mbit"] == 2500 and "not shaped" in summary["rule"]
    nics[1]["speed_mbit"] = None
    (path / "machine-facts.json").write_text(json.dumps({"nics": nics}))
    summary = link_summary(path, NETWORK)
    assert summary["link_mbit"] == 1000 and "reported no rate" in summary["rule"]


def test_every_net_case_is_a_row_measured_or_with_its_reason(tmp_path):
    rows = [{"direction": "to_guest", "streams": 1, "status": "ok", "reason": "",
             "throughput_mbit": 290.0},
            {"direction": "from_guest", "streams": 4, "status": "error",
             "reason": "iperf3: refused"},
            {"direction": "round_trip", "streams": 1, "status": "ok", "reason": "",
             "rtt_us": [float(v) for v in range(1, 101)]}]
    out = net_rows(run_dir(tmp_path, rows=rows), "smp", NET, LINK)
    by = {(r["direction"], r["streams"]): r for r in out if r["path"] == "outside-guest"}
    assert len(out) == 2 * 2 + 1 + 2  # both ways x streams, ping, veth x streams
    assert by[("to_guest", 1)]["status"] == "ok" and by[("to_guest", 1)]["link_mbit"] == 300
    assert by[("from_guest", 4)]["reason"] == "iperf3: refused"
    assert by[("to_guest", 4)]["status"] == "error" and "not measured" in by[("to_guest", 4)]["reason"]
    rtt = by[("round_trip", 1)]
    assert (rtt["rtt_us_p50"], rtt["rtt_us_p99"], rtt["samples"]) == (51.0, 100.0, 100)
    assert rtt["ping_loss_pct"] == round(100 * 4 / 104, 2)  # 100 answers to 104 pings
    assert rtt["throughput_mbit"] is None and by[("to_guest", 1)]["rtt_us_p50"] is None


def test_a_run_that_never_booted_gives_every_row_its_status(tmp_path):
    out = net_rows(run_dir(tmp_path, status="error", error="ip netns add: not permitted"),
                   "smp", NET, {**LINK, "link_mbit": None})
    assert {r["status"] for r in out} == {"error"} and len(out) == 7


def console_out(name: str, text: str) -> str:
    """A guest's console as guest/exp/lib.sh's `out` prints a tool's output, among kernel
    messages."""
    lines = [f"@@POPCORN:OUT {name}|{line}" for line in text.splitlines()]
    return "[    3.1] random: crng init done\n" + "\n".join(lines) + "\n"


def test_iperf3_inside_the_guest_is_read_from_the_consoles_last_attempt_counts(tmp_path):
    ok = (DATA / "iperf3-text-2-streams.txt").read_text()
    refused = "iperf3: error - unable to connect to server: Connection refused\n"
    console = (console_out("veth-1", ok) + console_out("veth-4", refused)
               + console_out("veth-4-attempt2", ok))
    out = net_rows(run_dir(tmp_path, consoles={"console.log": console}), "smp", NET, LINK)
    veth = {r["streams"]: r for r in out if r["path"] == "ns-ns"}
    assert veth[1]["throughput_mbit"] == veth[4]["throughput_mbit"] == 8933.0  # [SUM] receiver
    assert {veth[1]["status"], veth[4]["status"]} == {"ok"}
    assert veth[1]["direction"] == "client_to_server"


def test_multikernel_rows_come_from_both_kernels_consoles_and_the_hosts_clients(tmp_path):
    ok = (DATA / "iperf3-text-2-streams.txt").read_text()
    shared = [{"path": p, "direction": d, "streams": 2, "status": "ok", "reason": "",
               "throughput_mbit": mbit}
              for p, mbit in (("outside-secondaries", 290.0), ("outside-primary", 295.0))
              for d in ("to_guest", "from_guest")]
    shared[-1] = {**shared[-1], "status": "error", "reason": "iperf3: reset"}
    consoles = {"console.log": console_out("primary-secondary-1", ok)
                + console_out("primary-secondary-4", "iperf3: error - the server is busy\n"),
                "console-k1.log": console_out("secondary-secondary-1", ok)}
    out = net_rows(run_dir(tmp_path, rows=shared, consoles=consoles), "multikernel-k2", NET, LINK)
    by = {(r["path"], r["direction"], r["streams"]): r for r in out}
    assert len(out) == 2 * 2 + 2 * 2 and {r["system"] for r in out} == {"multikernel"}
    assert by[("primary-secondary", "client_to_server", 1)]["throughput_mbit"] == 8933.0
    assert by[("primary-secondary", "client_to_server", 4)]["reason"].endswith(
        "iperf3: error - the server is busy")
    assert by[("secondary-secondary", "client_to_server", 1)]["status"] == "ok"
    assert "no iperf3 output" in by[("secondary-secondary", "client_to_server", 4)]["reason"]
    assert by[("outside-secondaries", "to_guest", 2)]["throughput_mbit"] == 290.0
    assert by[("outside-primary", "from_guest", 2)]["status"] == "error"


def test_each_kernels_cpu_time_during_a_step_is_in_its_row(tmp_path):
    """The host marked all 3 kernels around a step; secondary 2 missed the end mark."""
    shared = [{"path": "outside-secondaries", "direction": "to_guest", "streams": 2,
               "status": "ok", "reason": "", "throughput_mbit": 500.0}]
    start, end = "cpu  100 0 100 900 0 0 0 0 0 0", "cpu  150 0 250 1700 0 0 100 0 0 0"
    label = "cpu_outside-secondaries.to_guest.2"
    both = f"@@POPCORN:KV {label}.start={start}\n@@POPCORN:KV {label}.end={end}\n"
    consoles = {"console.log": both, "console-k1.log": both,
                "console-k2.log": f"@@POPCORN:KV {label}.start={start}\n"}
    out = net_rows(run_dir(tmp_path, rows=shared, consoles=consoles), "multikernel-k2", NET, LINK)
    row = next(r for r in out if r["path"] == "outside-secondaries" and r["direction"] == "to_guest")
    assert row["cpu_s_k0"] == 3.0 and row["cpu_s_kernels"] == "k0=3.00 k1=3.00 k2=?"
    assert row["cpu_s"] is None and row["cpu_s_per_gbit"] is None
    consoles["console-k2.log"] = both
    out = net_rows(run_dir(tmp_path, rows=shared, consoles=consoles), "multikernel-k2", NET, LINK)
    row = next(r for r in out if r["path"] == "outside-secondaries" and r["direction"] == "to_guest")
    assert (row["cpu_s"], row["cpu_s_secondaries"]) == (9.0, 6.0)
    assert row["cpu_s_per_gbit"] == 9.0  # 9 s of CPU for 500 Mbit/s x 2 s = 1 Gbit


def test_the_net_ratio_table_compares_pcn_with_veth_and_the_shared_link_with_its_rate():
    base = {"system": "smp", "link_mbit": 300, "accel": "tcg", "timebase": "wall",
            "status": "ok"}
    net = pd.DataFrame([
        {**base, "path": "ns-ns", "direction": "client_to_server", "streams": 1,
         "throughput_mbit": 800.0},
        {**base, "system": "multikernel", "path": "primary-secondary",
         "direction": "client_to_server", "streams": 1, "throughput_mbit": 400.0},
        {**base, "system": "multikernel", "path": "outside-secondaries",
         "direction": "to_guest", "streams": 2, "throughput_mbit": 288.0},
        {**base, "system": "multikernel", "path": "outside-primary", "direction": "to_guest",
         "streams": 2, "throughput_mbit": None, "status": "error"}])
    table = net_ratio(net).set_index("comparison")
    assert table.loc["pcn primary-secondary / veth on SMP", "ratio"] == 0.5
    assert table.loc["K secondaries / the shaped link", "ratio"] == 0.96
    assert pd.isna(table.loc["K secondaries / the primary alone", "ratio"])  # failed: no ratio


def test_the_web_ratio_table_is_multikernel_over_smp_per_case():
    rows = [{"system": system, "vcpus": 2, "file_bytes": 1024, "connections": c,
             "rps": rps, "p99_ms": p99, "status": status, "accel": "tcg", "timebase": "wall"}
            for system, c, rps, p99, status in [
                ("smp", 4, 1000.0, 2.0, "ok"), ("multikernel", 4, 1500.0, 1.0, "ok"),
                ("smp", 16, 2000.0, 4.0, "ok"), ("multikernel", 16, 10.0, 9.0, "error")]]
    table = web_ratio(pd.DataFrame(rows)).set_index("connections")
    assert (table.loc[4, "rps_ratio"], table.loc[4, "p99_ratio"]) == (1.5, 0.5)
    assert pd.isna(table.loc[16, "rps_ratio"]) and table.loc[16, "rps_smp"] == 2000.0


def test_web_rows_turn_a_dead_server_into_errors(tmp_path):
    rows = [{"file_bytes": 1024, "connections": c, "status": "ok", "reason": "", "rps": 100.0,
             "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "requests": 200} for c in (2, 8)]
    alive = web_rows([run_dir(tmp_path / "a" / "smp-v2", rows=rows,
                              values={"nginx_alive": "1"})], WEB, LINK)
    assert [(r["connections"], r["status"], r["workers"]) for r in alive] == [
        (2, "ok", 2), (8, "ok", 2)]
    dead = web_rows([run_dir(tmp_path / "b" / "smp-v2", rows=rows,
                             values={"nginx_alive": "0"})], WEB, LINK)
    assert {r["status"] for r in dead} == {"error"} and "nginx died" in dead[0]["reason"]
    assert dead[0]["rps"] == 100.0  # what was measured stays


def test_a_multikernel_web_run_has_one_worker_per_secondary(tmp_path):
    rows = [{"file_bytes": 1024, "connections": 2, "status": "ok", "reason": "", "rps": 50.0}]
    out = web_rows([run_dir(tmp_path / "multikernel-v3", rows=rows)], WEB, LINK)
    assert [(r["system"], r["vcpus"], r["workers"], r["status"]) for r in out] == [
        ("multikernel", 3, 2, "ok"), ("multikernel", 3, 2, "error")]
    with pytest.raises(ValueError, match="not a web run"):
        web_rows([run_dir(tmp_path / "v3", rows=rows)], WEB, LINK)


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


def test_the_load_waits_for_this_runs_guest_not_an_earlier_runs_console(tmp_path):
    from popart.experiments.netrun import run_with_load
    from popart.targets.qemu import Machine, RunStatus
    (tmp_path / "console.log").write_text("@@POPCORN:KV net_ready=2\n")  # the run before
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "wrk-old.txt").write_text("an earlier run's output\n")
    events = []

    class SlowBoot:
        def run(self, m, limits, run_dir):
            time.sleep(1.0)  # booting: this run's console has nothing yet
            events.append("ready")
            (run_dir / "console.log").write_text("@@POPCORN:KV net_ready=2\n")
            time.sleep(1.0)
            return RunStatus("ok", "", "end", "tcg", "wall", 2)

    def load(bed, stop, raw):
        events.append("load")
        return []

    class Bed:
        guest_ip = "10.77.1.2"

        def in_client(self, argv):
            return ["true"]

    limits = {"qemu": {"timeouts": {"boot_s": 5, "run_s": 5, "shutdown_s": 5}}}
    m = Machine(kernel=Path("k"), initrd=Path("i"), cmdline="", vcpus=1, mem_mib=64,
                accel="tcg")
    run_with_load(limits, SlowBoot(), m, tmp_path, Bed(), load, 5)
    assert events == ["ready", "load"]
    assert not (tmp_path / "load" / "wrk-old.txt").exists()


ROUTED = """
import sys
from popart.hardware.bed import machine_bed
from popart.netbed import NetBedError
try:
    with machine_bed(sys.argv[1], route=sys.argv[2] == "route") as bed:
        print("inside", bed.guest_ip, bed.in_client(["iperf3"]))
        import subprocess
        print(subprocess.run(["ip", "route"], capture_output=True, text=True).stdout)
except NetBedError as e:
    print("refused:", e)
"""


@needs_root
def test_the_hardware_target_routes_the_secondaries_through_the_machine_for_the_run():
    """In a namespace of its own, with a machine at 192.0.2.9 on the subnet of a veth: the route to
    10.78.0.0/24 is there during the block and gone after; a machine off the subnet is
    refused in one line that names the route, and so is a route that goes elsewhere."""
    ns = f"popcorn-route{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for argv in (["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                     ["addr", "add", "192.0.2.1/24", "dev", "d0"], ["link", "set", "d0", "up"]):
            subprocess.run(["ip", "-n", ns, *argv], check=True)

        def run(address: str, route: str = "route") -> str:
            return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", ROUTED,
                                   address, route], capture_output=True, text=True,
                                  check=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO / "workflow")}
                                  ).stdout
        assert "10.78.0.0/24" not in run("192.0.2.9", "smp")   # SMP Linux needs none
        inside = run("192.0.2.9")
        assert "inside 192.0.2.9 ['iperf3']" in inside
        assert "10.78.0.0/24 via 192.0.2.9 dev d0" in inside
        after = subprocess.run(["ip", "-n", ns, "route"], capture_output=True, text=True,
                               check=True).stdout
        assert "10.78.0.0/24" not in after
        refused = run("198.51.100.7")
        assert refused.startswith("refused: ") and "cannot route 10.78.0.0/24" in refused
        assert refused.count("\n") == 1 and "through the machine at 198.51.100.7" in refused
        subprocess.run(["ip", "-n", ns, "route", "add", "10.78.0.0/24", "via", "192.0.2.5"],
                       check=True)
        elsewhere = run("192.0.2.9")
        assert "exists already and goes elsewhere (10.78.0.2 via 192.0.2.5" in elsewhere
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)


def test_each_k_of_the_multikernel_is_a_run_of_its_own_and_a_bad_name_is_refused():
    from popart.experiments.net import net_sides, parse_side
    net = {"systems": ["smp", "multikernel"], "secondaries": [2, 3, 4]}
    assert net_sides(net) == ["smp", "multikernel-k2", "multikernel-k3", "multikernel-k4"]
    assert parse_side("multikernel-k3") == ("multikernel", 3)
    assert parse_side("smp") == ("smp", None)
    for bad in ("multikernel", "smp-k2", "multikernel-kx"):
        with pytest.raises(ValueError, match="not a net run"):
            parse_side(bad)


def test_link_sharing_is_compared_within_each_k_and_pcn_with_veth_for_every_k():
    base = {"status": "ok", "run_id": "r", "host": "h", "round": 1, "link_mbit": 1000,
            "accel": "tcg", "timebase": "wall"}
    rows = [{**base, "system": "smp", "secondaries": None, "path": "ns-ns",
             "direction": "client_to_server", "streams": 1, "throughput_mbit": 1000.0}]
    for k, shared in ((2, 800.0), (3, 600.0)):
        rows += [{**base, "system": "multikernel", "secondaries": k, "path": "primary-secondary",
                  "direction": "client_to_server", "streams": 1, "throughput_mbit": 500.0 * k},
                 {**base, "system": "multikernel", "secondaries": k, "path": "outside-secondaries",
                  "direction": "to_guest", "streams": k, "throughput_mbit": shared},
                 {**base, "system": "multikernel", "secondaries": k, "path": "outside-primary",
                  "direction": "to_guest", "streams": k, "throughput_mbit": 1000.0}]
    table = net_ratio(pd.DataFrame(rows)).set_index(["comparison", "secondaries"])
    assert table.loc[("pcn primary-secondary / veth on SMP", 2), "ratio"] == 1.0
    assert table.loc[("pcn primary-secondary / veth on SMP", 3), "ratio"] == 1.5
    assert table.loc[("K secondaries / the primary alone", 2), "ratio"] == 0.8
    assert table.loc[("K secondaries / the primary alone", 3), "ratio"] == 0.6
