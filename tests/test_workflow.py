"""The Snakefile itself, without building anything: dry runs and config errors."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO


def dry_run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(tmp_path), "-n",
            *(args if "--cores" in args else ("--cores", "2", *args))]
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
        assert all("slurm_extra=--exclusive" in j["resources"] for j in measured)
        others = [j for j in jobs if j not in measured and j["rule"] != "all"]
        assert others and all(int(j.get("threads", "1")) <= int(cores) for j in others)


def test_the_workflow_profile_applies_from_the_root(tmp_path):
    argv = [sys.executable, "-m", "snakemake", "--directory", str(tmp_path), "-n"]
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "Using workflow specific profile profiles/default" in out
    assert "Shell command:" in out  # the profile's printshellcmds


def test_a_missing_host_file_names_its_package_in_one_line(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("kernel:\n  source:\n    type: debian\n    package: linux-source-6.99\n")
    result = dry_run(tmp_path, "--configfile", str(other))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
    assert errors == ["E: missing tool: /usr/src/linux-source-6.99.tar.xz not found: install "
                      "the Debian package linux-source-6.99 (or run `make setup`)"]
    assert "MissingInputException" not in result.stdout + result.stderr


def test_each_configuration_writes_only_under_its_results_dir(tmp_path):
    for configfile, results in ((None, "results"), (".test/msg.yaml", "results/test-msg"),
                                (".test/net.yaml", "results/test-net")):
        args = ("--configfile", str(REPO / configfile)) if configfile else ()
        result = dry_run(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        paths = [p.strip().rstrip(",") for j in jobs_of(result.stdout)
                 for key in ("output", "log") for p in j.get(key, "").split(", ") if p]
        assert paths and all(p.startswith(results + "/") for p in paths), paths[:5]
        if configfile:
            assert not any(p.startswith(("results/boot/", "results/msg/", "results/net/"))
                           for p in paths)


def test_make_test_as_another_user_says_it_needs_root_before_any_work():
    if os.getuid() != 0:
        pytest.skip("needs root to become another user")
    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "make", "-s", "-C", str(REPO), "test"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert lines == ["E: make test needs root (network namespaces, tap devices, tc): run it "
                     "as root, e.g. sudo make test"]
    assert result.stdout == ""


def test_a_changed_plot_module_redraws_plots_and_reruns_no_measurement(tmp_path):
    """In a copy of the checkout whose every output is up to date, plots.py changes."""
    repo = tmp_path / "repo"
    listed = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listed, cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    work = tmp_path / "work"
    base = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"),
            "--directory", str(work), "--cores", "2", "--workflow-profile", "none"]

    def plan() -> list[dict[str, str]]:
        result = subprocess.run([*base, "-n"], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        return jobs_of(result.stdout)

    for job in plan():  # every output made, then marked up to date in the DAG's order
        for path in job.get("output", "").split(", ") + job.get("log", "").split(", "):
            if path:
                (work / path).parent.mkdir(parents=True, exist_ok=True)
                (work / path).touch()
    touched = subprocess.run([*base, "--touch"], capture_output=True, text=True, check=False)
    assert touched.returncode == 0, touched.stderr
    assert plan() == []
    later = time.time() + 5
    os.utime(repo / "workflow/popart/plots.py", (later, later))
    rules = {job["rule"] for job in plan()}
    assert {"boot_report", "msg_report", "net_report", "migrate_report"} <= rules
    assert rules <= {"boot_report", "multikernel_report", "msg_report", "net_report",
                     "web_report", "migrate_report", "reference_beside", "check_results",
                     "all"}, rules


def test_environment_yml_lists_the_pins_of_requirements_txt_inline():
    import yaml

    pins = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == pins
