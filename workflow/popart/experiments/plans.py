"""The partition each enabled experiment asks for (make plan prints them as planned on
a machine): taken from the machines the experiments build, so it cannot drift."""
from pathlib import Path

from ..partition import Request

NO_FILE = Path("/nonexistent")


def requests(config: dict) -> dict[str, Request]:
    from ..hardware.bed import MachineBed
    from .migrate import migrate_machine
    from .mknet import mk_machine
    from .msg import msg_machine
    from .multikernel import multikernel_machine
    from .soak import soak_machine
    from .web import secondaries
    experiments = config["experiments"]
    bed = MachineBed("0.0.0.0")  # the address plays no part in a partition
    builders = {
        "multikernel": lambda: multikernel_machine(config, NO_FILE, NO_FILE, "tcg"),
        "msg": lambda: msg_machine(config, NO_FILE, NO_FILE, "tcg", "kmsg"),
        "msg-stress": lambda: msg_machine(config, NO_FILE, NO_FILE, "tcg", "stress"),
        "soak": lambda: soak_machine(config, NO_FILE, NO_FILE, "tcg"),
        "migrate": lambda: migrate_machine(config, NO_FILE, NO_FILE, "tcg"),
    }
    if "multikernel" in experiments["net"]["systems"]:
        for k in experiments["net"]["secondaries"]:
            builders[f"net-k{k}"] = (lambda k=k: mk_machine(
                config, NO_FILE, NO_FILE, "tcg", bed, k, [], 0))
    if "multikernel" in experiments["web"]["systems"]:
        for v in experiments["web"]["vcpus"]:
            builders[f"web-v{v}"] = (lambda v=v: mk_machine(
                config, NO_FILE, NO_FILE, "tcg", bed, secondaries(v), [], 0))
    out = {}
    for name, build in builders.items():
        section = experiments.get(name.split("-")[0], {})
        if section.get("enabled", True):
            plan = build().plan
            if plan is not None:
                out[name] = plan.request
    return out
