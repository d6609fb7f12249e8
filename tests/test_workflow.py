"""The Snakefile itself, without building anything: dry runs and config errors."""
import subprocess
import sys

from conftest import REPO


def dry_run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(tmp_path), "-n", "--cores", "2", *args]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)


def test_default_dag_has_every_stage(tmp_path):
    result = dry_run(tmp_path)
    assert result.returncode == 0, result.stderr
    for rule in ["kernel_source", "kernel_build", "initramfs", "accel", "boot_run",
                 "boot_csv", "boot_report", "failures"]:
        assert rule in result.stdout


def test_bad_key_fails_before_any_work_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("qemu:\n  timeouts:\n    boot: 5\n")
    result = dry_run(tmp_path, "--configfile", str(bad))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
    assert errors == ["E: config error: qemu.timeouts.boot: unknown key "
                      "(allowed: boot_s, run_s, shutdown_s)"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()
