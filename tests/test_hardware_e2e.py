"""End to end on the hardware target: a stand-in machine (tests/standin.py: a TCG VM
with Debian's own kernel, dropbear and kexec-tools) driven through the same code path a
real machine gets: SSH, facts, plan, kexec into the experiment kernel, the multikernel
and msg experiments, collection, and the reboot back into Debian's kernel; a machine
that stops answering is power-cycled (a QMP system_reset)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from popart.experiments import msg, multikernel, net, web
from standin import ADDRESS, StandIn

pytestmark = pytest.mark.e2e
VCPUS, MEM_MIB = 4, 1536    # the msg stress test's 3 secondaries and the primary


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    s = StandIn(tmp_path_factory.mktemp("standin"), VCPUS, MEM_MIB)
    try:
        s.start()
        s.wait_up()
        yield s
    finally:
        s.stop()


def in_debian(s: StandIn) -> str:
    """The stand-in's kernel release and whether a kexec image is loaded, over SSH."""
    result = subprocess.run(s.ssh("uname -r; cat /sys/kernel/kexec_loaded"),
                            capture_output=True, text=True, check=False)
    return result.stdout.split() if result.returncode == 0 else f"ssh: {result.stderr}"


def pipeline(standin: StandIn, workdir: Path, config: str) -> Path:
    """The pipeline with CONFIG (and the stand-in's hardware section) through Snakemake in
    the stand-in's network namespace; its working directory."""
    (workdir / "hw.yaml").write_text(yaml.safe_dump({"hardware": standin.hardware_config()}))

    def snakemake(*targets: str) -> list[str]:
        return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                "--directory", str(workdir), "--cores", str(os.cpu_count() or 2), *targets,
                "--configfile", str(REPO / config), str(workdir / "hw.yaml"),
                "--config", "results_dir=results"]
    # The images first, outside the namespace: the net image fetches Debian's packages,
    # and the namespace reaches only the stand-in.
    for argv, name in ((snakemake("results/images/net.cpio.gz"), "images"),
                       (standin.in_ns(snakemake()), "pipeline")):
        result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
        (workdir / f"snakemake-{name}.out").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return workdir


@pytest.fixture(scope="session")
def hardware_run(tmp_path_factory, standin) -> Path:
    return pipeline(standin, tmp_path_factory.mktemp("hardware"), ".test/hardware.yaml")


def test_the_hardware_target_gives_the_qemu_targets_tidy_csvs(hardware_run, standin):
    results = hardware_run / "results"
    tables = {"boot/multikernel.csv": multikernel.COLUMNS, "msg/latency.csv": msg.LATENCY_COLUMNS,
              "msg/throughput.csv": msg.THROUGHPUT_COLUMNS, "net/net.csv": net.NET_COLUMNS}
    for name, columns in tables.items():
        rows = pd.read_csv(results / name)
        assert list(rows.columns) == columns, name
        assert set(rows["status"]) == {"ok"}, rows[["status", "reason"]]
        assert set(rows["target"]) == {"hardware"} and set(rows["accel"]) == {"tcg"}
        assert set(rows["host"]) == {ADDRESS} and set(rows["host_cores"]) == {VCPUS}
        assert rows["host_cpu"].str.startswith("QEMU TCG CPU").all()  # the machine's CPU
    kernels = pd.read_csv(results / "boot/multikernel.csv")
    assert sorted(kernels["apic_ids"].astype(str)) == ["0", "1", "2"]
    partition = json.loads((results / "boot/partition.json").read_text())
    assert partition["kernels_up"] == 3 and partition["disjoint"]
    stress = json.loads((results / "msg/stress.json").read_text())
    assert stress["lost"] == 0 and stress["corrupted"] == 0
    # The machine's facts beside every run, and the accel step's own.
    accel = json.loads((results / "accel.json").read_text())
    assert accel["target"] == "hardware" and accel["accel"] == "tcg"
    facts = json.loads((results / "boot/multikernel/machine-facts.json").read_text())
    assert facts["release"] == standin.release and facts["x2apic"] is False
    assert (results / "accel-probe/machine-facts.json").exists()
    cmdline = (results / "boot/multikernel/kexec-cmdline.txt").read_text()
    assert "popcorn.apics=1:2 " in cmdline and f"popcorn.hw_addr={ADDRESS}/24" in cmdline
    assert "reboot through the image's SSH" in (
        results / "msg/round1/kmsg/restore.txt").read_text()
    assert in_debian(standin) == [standin.release, "0"]  # back in its own kernel


def test_net_has_this_host_as_its_client_over_the_machines_nic(hardware_run):
    results = hardware_run / "results"
    link = json.loads((results / "net/link.json").read_text())
    assert link["link_mbit"] == 1000 and "not shaped" in link["rule"]  # e1000 says 1000
    assert link["unshaped_mbit"] == {} and not (results / "net/link/kexec-cmdline.txt").exists()
    rows = pd.read_csv(results / "net/net.csv")
    assert set(rows["system"]) == {"smp", "multikernel"}
    assert (rows.dropna(subset=["throughput_mbit"]).groupby("system").size() > 0).all()
    shared = rows[rows["path"] == net.SHARED]
    assert (shared["throughput_mbit"] > 0).all()  # through the primary to the secondaries
    smp = (results / "net/round1/smp/kexec-cmdline.txt").read_text()
    assert " maxcpus=2 " in smp and "memmap=" not in smp   # SMP Linux on 2 of its 4 CPUs
    mk = (results / "net/round1/multikernel-k2/kexec-cmdline.txt").read_text()
    assert mk.count("maxcpus=") == 1 and "popcorn.apics=1:2 " in mk


def target_run(standin: StandIn, results: Path, run_dir: Path, experiment: str,
               run_s: float, **hw) -> dict:
    """One HardwareTarget.run of EXPERIMENT on a 2-secondary multikernel, in the
    stand-in's namespace (standin.py run); its status.json."""
    job = {"results": str(results), "run_dir": str(run_dir), "experiment": experiment,
           "run_s": run_s, "hardware": {**standin.hardware_config(), **hw}}
    argv = standin.in_ns([sys.executable, str(REPO / "tests/standin.py"), json.dumps(job)])
    result = subprocess.run(argv, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO / "workflow")})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((run_dir / "status.json").read_text())


def test_a_machine_that_stops_answering_is_power_cycled(hardware_run, standin, tmp_path):
    """guest/exp/hang.sh stops the image's SSH server and never ends. The image takes its
    address from a DHCP server here (hardware.image_address: dhcp)."""
    dhcp = standin.dhcp_server()
    try:
        status = target_run(standin, hardware_run / "results", tmp_path, "hang", run_s=10,
                            image_address="dhcp")
    finally:
        dhcp.terminate()
        dhcp.wait()
    assert "popcorn.hw_addr=dhcp" in (tmp_path / "kexec-cmdline.txt").read_text()
    assert status["values"]["hw_lease"] == f"{ADDRESS}/24"
    assert status["status"] == "timeout" and status["stage"] == "run", status["reason"]
    assert "no experiment end marker within 10 s" in status["reason"]
    assert "the machine was power-cycled" in status["reason"]
    assert status["values"]["hang"] == "begun"   # what was collected stays
    assert (tmp_path / "restore.txt").read_text().strip() == "power cycle"
    assert in_debian(standin) == [standin.release, "0"]


def test_what_the_machine_cannot_do_is_refused_before_it_changes(hardware_run, standin,
                                                                 tmp_path):
    uptime = subprocess.run(standin.ssh("cut -d. -f1 /proc/uptime"), capture_output=True,
                            text=True, check=True).stdout
    status = target_run(standin, hardware_run / "results", tmp_path, "multikernel",
                        run_s=60, cpus=[1])
    assert status["status"] == "error" and status["stage"] == "start"
    assert "need more whole cores than the machine lends" in status["reason"]
    assert in_debian(standin) == [standin.release, "0"]   # nothing loaded, no reboot
    later = subprocess.run(standin.ssh("cut -d. -f1 /proc/uptime"), capture_output=True,
                           text=True, check=True).stdout
    assert int(later) >= int(uptime)
    assert not (tmp_path / "restore.txt").exists()


def test_make_plan_prints_the_partition_and_changes_nothing(hardware_run, standin):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(yaml.safe_load((REPO / ".test/hardware.yaml").read_text()))
    from popart.config import validate_config
    config["hardware"] = standin.hardware_config()
    config = validate_config(config, REPO / "workflow/schemas/config.schema.yaml")
    argv = standin.in_ns([sys.executable, "-m", "popart", "plan", "--config",
                          json.dumps(config), "--kernel",
                          str(hardware_run / "results/kernel/bzImage")])
    result = subprocess.run(argv, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO / "workflow")})
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["machine"] == ADDRESS and plan["accel"] == "tcg" and plan["cpus"] == VCPUS
    mk = plan["plans"]["multikernel"]
    assert [s["apic_ids"] for s in mk["secondaries"]] == [[1], [2]]
    assert mk["secondaries"][0]["mem"] == "0x40000000-0x47ffffff"
    assert [s["apic_ids"] for s in plan["plans"]["msg-stress"]["secondaries"]] == [[1], [2], [3]]
    assert in_debian(standin) == [standin.release, "0"]


@pytest.mark.skipif(os.environ.get("POPCORN_HARDWARE_ALL") != "1",
                    reason="about 3.5 min more: POPCORN_HARDWARE_ALL=1 (README) runs it")
def test_boot_web_soak_and_migrate_run_on_the_machine_too(hardware_run, standin, tmp_path):
    """.test/hardware-rest.yaml: the experiments the default test leaves out."""
    results = pipeline(standin, tmp_path, ".test/hardware-rest.yaml") / "results"
    for name in ("boot/boot.csv", "migrate/migrate.csv", "net/soak.csv", "web/web.csv"):
        rows = pd.read_csv(results / name)
        assert len(rows) and set(rows["status"]) == {"ok"}, (name, rows)
        assert set(rows["target"]) == {"hardware"} and set(rows["host"]) == {ADDRESS}
    boot = pd.read_csv(results / "boot/boot.csv")
    assert set(boot["mem_mib"]) == {MEM_MIB - 1}   # the stand-in's RAM, less its firmware's
    assert list(pd.read_csv(results / "web/web.csv").columns) == web.WEB_COLUMNS
    assert (pd.read_csv(results / "web/web.csv")["rps"] > 0).all()   # through the route
    soak = json.loads((results / "net/soak.json").read_text())
    assert soak["corrupted"] == 0 and soak["duplicated"] == 0
    assert in_debian(standin) == [standin.release, "0"]
