"""The Snakefile itself, without building anything: dry runs and config errors."""
import subprocess
import sys

from conftest import REPO


def dry_run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(tmp_path), "-n", *(args if "--cores" in args else ("--cores", "2", *args))]
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


def jobs_of(dry_run_output: str) -> list[dict[str, str]]:
    """The job blocks of a dry run: rule name plus the `key: value` lines under it."""
    jobs: list[dict[str, str]] = []
    for line in dry_run_output.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            jobs.append({"rule": line.split()[1].rstrip(":")})
        elif jobs and line.startswith("    ") and ": " in line:
            key, value = line.strip().split(": ", 1)
            jobs[-1].setdefault(key, value)
    return jobs


def test_a_measurement_has_the_machine_to_itself_whatever_the_profile(tmp_path):
    for cores in ("2", "3"):
        result = dry_run(tmp_path, "--workflow-profile", "none", "--cores", cores)
        assert result.returncode == 0, result.stderr
        jobs = jobs_of(result.stdout)
        measured = [j for j in jobs if "measure=1" in j.get("resources", "")]
        assert {"accel", "boot_run", "multikernel_run"} <= {j["rule"] for j in measured}
        assert all(j["threads"] == cores for j in measured), measured
        others = [j for j in jobs if j not in measured and j["rule"] != "all"]
        assert others and all(int(j.get("threads", "1")) <= int(cores) for j in others)


def test_the_workflow_profile_applies_from_the_root(tmp_path):
    argv = [sys.executable, "-m", "snakemake", "--directory", str(tmp_path), "-n"]
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "Using workflow specific profile profiles/default" in out
    assert "Shell command:" in out  # the profile's printshellcmds
