"""End to end on a real Slurm (tests/slurm.py: Debian's slurm-wlm and munge, one node): the
boot and multikernel experiments through profiles/slurm give the same files, columns and
rows as the same configuration run locally, all ok, with the kernel build and each
measurement a Slurm job of its own that had the node to itself."""
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from slurm import one_node_cluster, usable_cpus

pytestmark = pytest.mark.e2e
CONFIG = REPO / ".test/cluster.yaml"
PROFILE = REPO / "profiles/slurm"
# Not the submitting host's: a Slurm job's rule (kernel_build and the measurements).
SLURM_RULES = {"kernel_build", "accel", "boot_run", "multikernel_run"}
# The columns that say which row is which (configuration, not figures): the same in both.
IDENTITY = ["key", "experiment", "run", "round", "runs", "ok", "vcpus", "mem_mib", "mem_ranges",
            "kernel_id", "role", "apic_ids", "kernels_requested", "kernels_up", "disjoint",
            "accel", "timebase", "target", "kernel_release", "kernel_build", "status"]
# Each run, the local one with a cold kernel build included; a hung one fails the test.
RUN_LIMIT_S = 1800


def snakemake(workdir: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(workdir), *args, "--configfile", str(CONFIG),
            "--config", "results_dir=results"]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False,
                            env=env, timeout=RUN_LIMIT_S)
    (workdir / "snakemake.out").write_text(result.stdout + result.stderr)
    print(f"{' '.join(args)}: {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(local run, Slurm run, scontrol's fields of each Slurm job by job id)."""
    local = tmp_path_factory.mktemp("cluster-local")
    snakemake(local, "--cores", str(usable_cpus()))
    cluster = tmp_path_factory.mktemp("cluster-slurm")
    with one_node_cluster(tmp_path_factory.mktemp("slurm")) as env:
        snakemake(cluster, "--workflow-profile", str(PROFILE), env=env)
        jobs = {}
        for log in (cluster / ".snakemake/slurm-logs").glob("*.out"):
            job_id = log.stem.rsplit("-", 1)[1]
            shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], env=env,
                                   capture_output=True, text=True, check=True).stdout
            jobs[job_id] = dict(f.split("=", 1) for f in shown.split() if "=" in f)
    return local, cluster, jobs


def result_files(run: Path) -> set[str]:
    return {str(p.relative_to(run / "results")) for p in (run / "results").rglob("*")
            if p.is_file()}


def job_lines(run: Path) -> list[tuple[str, str]]:
    """(rule or localrule, rule name) of each job a run's output announces."""
    return [(line.split()[0], line.split()[1].rstrip(":"))
            for line in (run / "snakemake.out").read_text().splitlines()
            if line.startswith(("rule ", "localrule ")) and line.endswith(":")]


def test_a_slurm_run_gives_the_files_columns_and_rows_of_a_local_run(runs):
    local, cluster, _ = runs
    assert (cluster / "results/tables/all-ok.txt").exists()
    files = result_files(local)
    assert result_files(cluster) == files
    csvs = sorted(f for f in files if f.endswith(".csv"))
    assert "boot/boot.csv" in csvs and "boot/multikernel.csv" in csvs
    run_ids: set[str] = set()
    for name in csvs:
        here, there = (pd.read_csv(run / "results" / name) for run in (local, cluster))
        assert list(there.columns) == list(here.columns), name
        assert len(there) == len(here), name
        same = [c for c in IDENTITY if c in there.columns]
        assert there[same].equals(here[same]), (name, here[same], there[same])
        if "status" in there.columns:
            assert (there["status"] == "ok").all(), (name, there)
        if "run_id" in there.columns:
            run_ids.update(there["run_id"])
    # One run: every Slurm job inherited the submitting Snakemake's run id.
    assert len(run_ids) == 1, run_ids
    assert pd.read_csv(cluster / "results/tables/failures.csv").empty


def test_the_build_and_each_measurement_were_a_slurm_job_with_the_node_to_itself(runs):
    local, cluster, jobs = runs
    local_jobs = Counter(rule for kind, rule in job_lines(local) if rule in SLURM_RULES)
    # On the cluster `rule X:` is a job for Slurm, `localrule X:` one on this host.
    submitted = Counter(rule for kind, rule in job_lines(cluster) if kind == "rule")
    assert set(submitted) == SLURM_RULES and submitted == local_jobs
    assert {rule for kind, rule in job_lines(cluster) if kind == "localrule"} >= {"boot_csv"}
    slurm_jobs = Counter(j["JobName"].removeprefix("popcorn-") for j in jobs.values())
    assert slurm_jobs == submitted
    states = {j["JobName"] + "-" + job: (j["JobState"], j["OverSubscribe"])
              for job, j in jobs.items()}
    assert set(states.values()) == {("COMPLETED", "NO")}, states
    spans = sorted((datetime.fromisoformat(j["StartTime"]), datetime.fromisoformat(j["EndTime"]))
                   for j in jobs.values())
    assert all(start >= end for (_, end), (start, _) in zip(spans, spans[1:])), spans
    # Inside its job the build had the node's cores, not the submitting host's 1.
    build_log = next((cluster / ".snakemake/slurm-logs").glob("kernel_build-*.out")).read_text()
    assert f"--jobs {usable_cpus()} " in build_log
