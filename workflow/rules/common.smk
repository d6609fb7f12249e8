# Validates the configuration before any rule exists, and makes the popart package
# importable here and in every job.
import json
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(workflow.basedir) / "workflow"), *filter(None, [os.environ.get("PYTHONPATH")])]
)

from popart.config import validate_config
from popart.experiments.net import net_sides
from popart.errors import PopartError
from popart.provenance import RUN_ID_ENV, new_run_id

# One id per pipeline invocation, inherited by every job (and by a cluster job's own
# parse of this file): paired rows of one run share it.
os.environ.setdefault(RUN_ID_ENV, new_run_id())


def stop_dag(message):
    """Ends the run before any work with one E: line (not Snakemake's traceback)."""
    print(f"E: {message}", file=sys.stderr)
    sys.exit(1)


try:
    validate_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
except PopartError as e:
    stop_dag(e)

POPART = f"{sys.executable} -m popart"
# Every output of this configuration lives under its results_dir.
RESULTS = config["results_dir"].rstrip("/")


def res(path):
    """An output path under this configuration's results directory (wildcards kept)."""
    return f"{RESULTS}/{path}"


# Inputs from the checkout are absolute, outputs (under RESULTS) relative to the working
# directory: the tests run the pipeline in a scratch directory.
REPO = Path(workflow.basedir)


def repo_files(relative):
    return [str(REPO / r) for r in relative]


def read_series_files():
    from popart.kernel.tree import read_series

    return [str(p) for p in read_series(REPO / "kernel/patches")]


def in_tree_source_files():
    from popart.kernel.tree import in_tree_sources

    return [str(p) for p in in_tree_sources(REPO / "kernel/src")]


def whole_machine_threads():
    """Every core Snakemake was given, for a measurement (nothing else runs beside it,
    whatever the profile or --cores) and the kernel build. Inside a cluster job that is
    the node's (its snakemake gets --cores all). The submitting host of a cluster run
    (profiles/slurm, no --cores) knows no node's count and asks for the node whole
    instead: 1. Read from the settings, not workflow.cores, which has no value there."""
    return workflow.resource_settings.cores or 1


# `measure` marks a measurement; slurm_extra asks Slurm's executor plugin for a node of its
# own (profiles/slurm passes --exclusive to sbatch itself; tests/test_cluster_e2e.py).
MEASURE_RESOURCES = dict(measure=1, slurm_extra="--exclusive")


def popart_code(command):
    """The package's source files that `python -m popart <command>` runs: a rule reruns
    when they change, and only then (popart.deps)."""
    from popart.deps import command_sources

    return [str(p) for p in command_sources(command)]


def host_file(path, package=None):
    """A host file as a DAG input. A missing one stops the run before any work with one
    line naming the Debian package (not Snakemake's MissingInputException)."""

    def input_function(wildcards):
        from popart.hosttools import require

        try:
            return require(path, package)
        except PopartError as e:
            stop_dag(e)

    return input_function


def source_input(wildcards):
    """An upgrade of Debian's linux-source package touches the tarball: rerun."""
    source = config["kernel"]["source"]
    if source["type"] == "debian":
        return host_file(f"/usr/src/{source['package']}.tar.xz", source["package"])(wildcards)
    return []


def guest_files():
    return [str(p) for p in sorted((REPO / "guest").rglob("*")) if p.is_file()]


def as_json(value):
    """A config section as one shell-quotable JSON argument (also a rerun trigger)."""
    return json.dumps(value, sort_keys=True)


def hardware_arg():
    """--hardware and the machine's section for target hardware; nothing for QEMU (an
    empty quoted value would vanish from the command line and take the flag's argument)."""
    if config["target"] != "hardware":
        return ""
    return "--hardware " + shlex.quote(as_json(config["hardware"]))


def run_config(experiment, network=False):
    """What a run command gets as --config: qemu, its experiment's section and, for the
    test-bed experiments, network (also each run's rerun trigger)."""
    section = {
        "target": config["target"],
        "qemu": config["qemu"],
        "experiments": {experiment: config["experiments"][experiment]},
    }
    if config["target"] == "hardware":
        section["hardware"] = config["hardware"]
    if network:
        section["network"] = config["network"]
    return as_json(section)


def boot_runs():
    reps = config["experiments"]["boot"]["repetitions"]
    return [f"{RESULTS}/boot/run{r}/status.json" for r in range(1, reps + 1)]


def round_outputs(experiment, sides, name):
    """<experiment>/round<r>/<side>/<name> for every round and side (popart.rounds)."""
    rounds = config["experiments"][experiment]["rounds"]
    return [res(f"{experiment}/round{r}/{side}/{name}") for r in range(1, rounds + 1)
            for side in sides]


def web_round_outputs(name):
    """A web_rounds job's outputs, for its {vcpus} wildcard."""
    sides = [f"{s}-v{{vcpus}}" for s in config["experiments"]["web"]["systems"]]
    return round_outputs("web", sides, name)


def web_runs():
    """Run folders, one per round, system and number of vCPUs."""
    web = config["experiments"]["web"]
    return [path.removesuffix("/status.json") for v in web["vcpus"]
            for path in round_outputs("web", [f"{s}-v{v}" for s in web["systems"]], "status.json")]


def net_runs():
    """side=run folder, one per round and run (net_sides)."""
    net = config["experiments"]["net"]
    return [f"{s}={RESULTS}/net/round{r}/{s}" for r in range(1, net["rounds"] + 1)
            for s in net_sides(net)]


def tidy_csvs():
    """experiment -> tidy CSV, for every enabled experiment."""
    csvs = {}
    if config["experiments"]["boot"]["enabled"]:
        csvs["boot"] = res("boot/boot.csv")
    if config["experiments"]["multikernel"]["enabled"]:
        csvs["multikernel"] = res("boot/multikernel.csv")
        csvs["partition"] = res("boot/partition.csv")  # the isolation check, one row
    if config["experiments"]["msg"]["enabled"]:
        csvs["msg_latency"] = res("msg/latency.csv")
        csvs["msg_throughput"] = res("msg/throughput.csv")
        csvs["msg_stress"] = res("msg/stress.csv")
        csvs["msg_ring_host"] = res("msg/ring_host.csv")
    if config["experiments"]["net"]["enabled"]:
        csvs["net"] = res("net/net.csv")
    if config["experiments"]["web"]["enabled"]:
        csvs["web"] = res("web/web.csv")
    if config["experiments"]["soak"]["enabled"]:
        csvs["soak"] = res("net/soak.csv")
    if config["experiments"]["migrate"]["enabled"]:
        csvs["migrate"] = res("migrate/migrate.csv")
    return csvs


def final_outputs():
    """Every output of the configuration (the report's entries, the final check's
    inputs): the measured ones, the regression table, the reference beside this run."""
    outputs = measured_outputs()
    if config["regress"]["enabled"]:
        outputs.append(res("regress/regress.csv"))
    if reference_exists():
        outputs.append(res("tables/reference.html"))
    return outputs


# The committed reference results (make reference), shown beside this run's tables.
REFERENCE = REPO / "reference/run"


def reference_exists():
    return (REFERENCE / "machine.json").is_file()


# Each experiment's tables (tables/<stem>.csv, from its report and facts rules).
TABLES = {
    "boot": ["boot"],
    "multikernel": ["multikernel", "partition"],
    "msg": ["msg_latency", "msg_ratio", "msg_throughput", "msg_copy_ratio", "msg_ring_host",
            "msg_stress"],
    "net": ["net", "net_ratio", "net_link"],
    "web": ["web", "web_ratio", "net_link"],
    "soak": ["soak"],
    "migrate": ["migrate", "migrate_ratio"],
}


def table_csvs():
    """Every table this configuration writes, as CSV (the reference page's inputs)."""
    experiments = config["experiments"]
    stems = ["failures", "kernel", "accel"]
    stems += [s for name, names in TABLES.items() if experiments[name]["enabled"] for s in names]
    return [res(f"tables/{stem}.csv") for stem in dict.fromkeys(stems)]


def measured_outputs():
    outputs = [res("tables/failures.csv")]
    if config["experiments"]["boot"]["enabled"]:
        outputs += [res("tables/boot.csv"), res("plots/boot.png")]
    if config["experiments"]["multikernel"]["enabled"]:
        outputs += [res("tables/multikernel.csv"), res("plots/multikernel.png")]
    if config["experiments"]["msg"]["enabled"]:
        outputs += [res("tables/msg_ratio.csv"), res("plots/msg_latency.png"),
                    res("msg/stress.json"), res("tables/msg_ring_host.csv")]
    if config["experiments"]["net"]["enabled"]:
        outputs += [res("tables/net.csv"), res("tables/net_ratio.csv"),
                    res("plots/net.png")]
    if config["experiments"]["web"]["enabled"]:
        outputs += [res("tables/web.csv"), res("tables/web_ratio.csv"),
                    res("plots/web.png")]
    if config["experiments"]["soak"]["enabled"]:
        outputs += [res("net/soak.json")]
    if config["experiments"]["migrate"]["enabled"]:
        outputs += [res("tables/migrate_ratio.csv"), res("plots/migrate.png")]
    outputs += facts_outputs()
    return outputs
