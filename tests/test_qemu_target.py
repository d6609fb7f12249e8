"""The QEMU target against a fake VM that boots, hangs, panics or crashes on demand."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from popart.targets.qemu import Machine, QemuTarget, Timeouts, qemu_argv

MACHINE = Machine(kernel=Path("/k/bzImage"), initrd=Path("/k/initrd"),
                  cmdline="console=ttyS0 popcorn.exp=boot", vcpus=2, mem_mib=256, accel="tcg")
QUICK = Timeouts(boot_s=3, run_s=3, shutdown_s=3)


def run(fake_qemu, mode: str, tmp_path: Path, timeouts: Timeouts = QUICK):
    status = QemuTarget(fake_qemu(mode)).run(MACHINE, timeouts, tmp_path)
    on_disk = json.loads((tmp_path / "status.json").read_text())
    assert on_disk["status"] == status.status
    assert (tmp_path / "console.log").exists() and (tmp_path / "qemu.log").exists()
    return on_disk


def test_ok_run_reports_values_and_guest_shutdown(fake_qemu, tmp_path):
    s = run(fake_qemu, "ok", tmp_path)
    assert s["status"] == "ok" and s["reason"] == "" and s["stage"] == "done"
    assert s["values"]["init_uptime_s"] == "1.250000"
    assert s["values"]["kernel_release"] == "6.12.0-fake"
    assert s["shutdown_reason"] == "guest-shutdown"
    assert 0 < s["boot_wall_s"] <= s["wall_s"]
    assert s["accel"] == "tcg" and s["timebase"] == "wall" and s["host_cores"] >= 1


def test_hang_before_init_is_a_boot_timeout_and_the_vm_is_stopped(fake_qemu, tmp_path):
    s = run(fake_qemu, "hang-boot", tmp_path, Timeouts(boot_s=1.5, run_s=30, shutdown_s=30))
    assert s["status"] == "timeout"
    assert "boot stage" in s["reason"] and "1.5 s" in s["reason"] and "running" in s["reason"]
    assert s["shutdown_reason"] == "host-qmp-quit"
    assert "Linux version" in (tmp_path / "console.log").read_text()
    assert s["wall_s"] < 10


def test_hang_in_experiment_is_a_run_timeout(fake_qemu, tmp_path):
    s = run(fake_qemu, "hang-run", tmp_path, Timeouts(boot_s=30, run_s=1, shutdown_s=30))
    assert s["status"] == "timeout" and "run stage" in s["reason"]
    assert s["values"]["init_uptime_s"] == "1.250000"  # what was printed is kept


def test_no_power_off_is_a_shutdown_timeout(fake_qemu, tmp_path):
    s = run(fake_qemu, "hang-off", tmp_path, Timeouts(boot_s=30, run_s=30, shutdown_s=1))
    assert s["status"] == "timeout" and "shutdown stage" in s["reason"]


@pytest.mark.parametrize("mode", ["panic", "panic-stay"])
def test_panic_is_reported_with_its_message(fake_qemu, tmp_path, mode):
    s = run(fake_qemu, mode, tmp_path, Timeouts(boot_s=30, run_s=30, shutdown_s=30))
    assert s["status"] == "panic"
    assert s["reason"].startswith("Kernel panic - not syncing: Attempted to kill init")
    assert s["wall_s"] < 15


def test_failing_experiment_is_an_error(fake_qemu, tmp_path):
    s = run(fake_qemu, "rc", tmp_path)
    assert s["status"] == "error" and "rc=3" in s["reason"]


def test_qemu_that_cannot_start_is_an_error_with_its_message(fake_qemu, tmp_path):
    s = run(fake_qemu, "crash", tmp_path)
    assert s["status"] == "error" and "cannot set up guest memory" in s["reason"]
    assert s["qemu_exit"] == 1


def test_argv_tcg_kvm_icount_and_serial_logs(tmp_path):
    sock = tmp_path / "q.sock"
    tcg = qemu_argv("qemu", MACHINE, tmp_path, sock)
    assert tcg[tcg.index("-accel") + 1] == "tcg,thread=multi" and "-no-reboot" in tcg
    assert f"file,id=ser0,path={tmp_path / 'console.log'}" in tcg
    kvm = qemu_argv("qemu", Machine(**{**MACHINE.__dict__, "accel": "kvm"}), tmp_path, sock)
    assert kvm[kvm.index("-cpu") + 1] == "host"
    icount = qemu_argv("qemu", Machine(**{**MACHINE.__dict__, "icount": 3, "serial_ports": 2}),
                       tmp_path, sock)
    assert "shift=3,sleep=off" in icount
    assert f"file,id=ser1,path={tmp_path / 'console-ttyS1.log'}" in icount


def test_sigterm_stops_the_vm_and_leaves_an_error_status(fake_qemu, tmp_path):
    """Snakemake stops a job with SIGTERM: QEMU must not outlive it, nor look complete."""
    config = {"qemu": {"append": "", "icount": None, "machine": "pc", "cpu": "max",
                       "timeouts": {"boot_s": 60, "run_s": 60, "shutdown_s": 60}},
              "experiments": {"boot": {"vcpus": 1, "mem_mib": 128}}}
    (tmp_path / "accel.json").write_text(json.dumps({"accel": "tcg"}))
    run_dir = tmp_path / "run1"
    job = subprocess.Popen(
        [sys.executable, "-m", "popart", "boot-run", "--config", json.dumps(config),
         "--kernel", "k", "--initrd", "i", "--accel", str(tmp_path / "accel.json"),
         "--run-dir", str(run_dir), "--qemu-binary", fake_qemu("hang-boot")],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "workflow")})
    console = run_dir / "console.log"
    while not (console.exists() and "Linux version" in console.read_text()):
        time.sleep(0.1)
    assert json.loads((run_dir / "status.json").read_text())["status"] == "running"
    job.send_signal(signal.SIGTERM)
    assert job.wait(20) == 128 + signal.SIGTERM
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "error" and status["shutdown_reason"] == "host-qmp-quit"
    assert status["reason"] == "stopped by the host (SIGTERM) in the boot stage"
    alive = subprocess.run(["pgrep", "-f", str(run_dir)], capture_output=True, text=True)
    assert alive.stdout == ""


def test_trace_events_are_on_only_inside_the_guests_window(fake_qemu, tmp_path):
    from dataclasses import replace

    m = replace(MACHINE, trace_events=("pic_ioport_write", "pci_cfg_write"))
    status = QemuTarget(fake_qemu("trace")).run(m, QUICK, tmp_path)
    assert status.status == "ok", status.reason
    assert status.traces == {"win": {"pci_cfg_write": 1, "pic_ioport_write": 1}}
    window = (tmp_path / "trace-win.log").read_text()
    assert window == "pci_cfg_write addr 0x1 val 0x2\npic_ioport_write addr 0x1 val 0x2\n"
    assert json.loads((tmp_path / "status.json").read_text())["traces"] == status.traces


def test_event_counts_read_both_log_formats():
    from popart.targets.trace import count_events

    text = "pic_ioport_write master 1\n123@1700000000.000001:pic_ioport_write master 0\n"
    assert count_events(text + "ioapic_mem_write x\n") == {"ioapic_mem_write": 1,
                                                          "pic_ioport_write": 2}


def test_a_long_run_prints_progress_lines_with_stage_elapsed_and_last_marker(
        fake_qemu, tmp_path, monkeypatch, capsys):
    """A line every PROGRESS_S (30 s in real runs), not per poll: stage, seconds since
    QEMU started, and the guest's last marker."""
    import re

    from popart.targets import qemu

    monkeypatch.setattr(qemu, "PROGRESS_S", 0.4)
    s = run(fake_qemu, "hang-run", tmp_path, Timeouts(boot_s=30, run_s=1.5, shutdown_s=30))
    assert s["status"] == "timeout"
    err = capsys.readouterr().err
    lines = re.findall(r"I: qemu: (\w+) stage, (\d+) s, last marker: (.*)", err)
    assert 3 <= len(lines) <= s["wall_s"] / 0.4 + 1, lines
    assert lines[-1] == ("run", lines[-1][1], "@@POPCORN:KV init_uptime_s=1.250000")
    assert [int(e) for _, e, _ in lines] == sorted(int(e) for _, e, _ in lines)
    assert all(m == "none yet" for stage, _, m in lines if stage == "boot")


def test_the_last_marker_is_kept_and_shortened():
    from popart.console import parse_console
    from popart.targets.qemu import progress_line

    report = parse_console("[ 1.0] noise @@POPCORN:BEGIN exp=boot\r\nplain line\n"
                           f"@@POPCORN:KV blob={'x' * 200}\n")
    assert report.last_marker is not None and len(report.last_marker) == 80
    assert report.last_marker.startswith("@@POPCORN:KV blob=xxx")
    assert report.last_marker.endswith("...")
    assert parse_console("x @@POPCORN:END exp=boot rc=0\r\n").last_marker == (
        "@@POPCORN:END exp=boot rc=0")
    assert progress_line("boot", 30.4, None) == "qemu: boot stage, 30 s, last marker: none yet"
