# Validates the configuration before any rule exists, and makes the popart package
# importable here and in every job.
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [workflow.basedir, *filter(None, [os.environ.get("PYTHONPATH")])]
)

from popart.config import validate_config
from popart.errors import PopartError

try:
    validate_config(config, Path(workflow.basedir) / "schemas/config.schema.yaml")
except PopartError as e:
    print(f"E: {e}", file=sys.stderr)
    sys.exit(1)

POPART = f"{sys.executable} -m popart"
# Inputs from the checkout are absolute, outputs (results/...) relative to the working
# directory: the tests run the pipeline in a scratch directory.
REPO = Path(workflow.basedir).parent


def repo_files(relative):
    return [str(REPO / r) for r in relative]


def read_series_files():
    from popart.kernel.tree import read_series

    return [str(p) for p in read_series(REPO / "kernel/patches")]


def in_tree_source_files():
    from popart.kernel.tree import in_tree_sources

    return [str(p) for p in in_tree_sources(REPO / "kernel/src")]


def source_input(wildcards):
    """An upgrade of Debian's linux-source package touches the tarball: rerun."""
    source = config["kernel"]["source"]
    if source["type"] == "debian":
        return [f"/usr/src/{source['package']}.tar.xz"]
    return []


def guest_files():
    return [str(p) for p in sorted((REPO / "guest").rglob("*")) if p.is_file()]


def as_json(value):
    """A config section as one shell-quotable JSON argument (also a rerun trigger)."""
    return json.dumps(value, sort_keys=True)


def boot_runs():
    reps = config["experiments"]["boot"]["repetitions"]
    return [f"results/boot/run{r}/status.json" for r in range(1, reps + 1)]


def web_runs():
    """Run folders, one per system and number of vCPUs."""
    web = config["experiments"]["web"]
    return [f"results/web/{s}-v{v}" for s in web["systems"] for v in web["vcpus"]]


def net_runs():
    """system=run folder, one per system."""
    return [f"{s}=results/net/{s}" for s in config["experiments"]["net"]["systems"]]


def tidy_csvs():
    """experiment -> tidy CSV, for every enabled experiment."""
    csvs = {}
    if config["experiments"]["boot"]["enabled"]:
        csvs["boot"] = "results/boot/boot.csv"
    if config["experiments"]["multikernel"]["enabled"]:
        csvs["multikernel"] = "results/boot/multikernel.csv"
    if config["experiments"]["msg"]["enabled"]:
        csvs["msg_latency"] = "results/msg/latency.csv"
        csvs["msg_throughput"] = "results/msg/throughput.csv"
        csvs["msg_stress"] = "results/msg/stress.csv"
        csvs["msg_ring_host"] = "results/msg/ring_host.csv"
    if config["experiments"]["net"]["enabled"]:
        csvs["net"] = "results/net/net.csv"
    if config["experiments"]["web"]["enabled"]:
        csvs["web"] = "results/web/web.csv"
    if config["experiments"]["soak"]["enabled"]:
        csvs["soak"] = "results/net/soak.csv"
    if config["experiments"]["migrate"]["enabled"]:
        csvs["migrate"] = "results/migrate/migrate.csv"
    return csvs


def final_outputs():
    outputs = ["results/tables/failures.csv"]
    if config["experiments"]["boot"]["enabled"]:
        outputs += ["results/tables/boot.csv", "results/plots/boot.png"]
    if config["experiments"]["multikernel"]["enabled"]:
        outputs += ["results/tables/multikernel.csv", "results/plots/multikernel.png"]
    if config["experiments"]["msg"]["enabled"]:
        outputs += ["results/tables/msg_ratio.csv", "results/plots/msg_latency.png",
                    "results/msg/stress.json", "results/tables/msg_ring_host.csv"]
    if config["experiments"]["net"]["enabled"]:
        outputs += ["results/tables/net.csv", "results/tables/net_ratio.csv",
                    "results/plots/net.png"]
    if config["experiments"]["web"]["enabled"]:
        outputs += ["results/tables/web.csv", "results/tables/web_ratio.csv",
                    "results/plots/web.png"]
    if config["experiments"]["soak"]["enabled"]:
        outputs += ["results/net/soak.json"]
    if config["experiments"]["migrate"]["enabled"]:
        outputs += ["results/tables/migrate_ratio.csv", "results/plots/migrate.png"]
    return outputs
