"""The partition each enabled experiment asks for (make plan prints them as planned on
a machine): taken from the machines the experiments build, so it cannot drift."""
from pathlib import Path

from ..partition import Request

NO_FILE = Path("/nonexistent")


def requests(config: dict) -> dict[str, Request]:
    from .migrate import migrate_machine
    from .msg import msg_machine
    from .multikernel import multikernel_machine
    from .soak import soak_machine
    experiments = config["experiments"]
    builders = {
        "multikernel": lambda: multikernel_machine(config, NO_FILE, NO_FILE, "tcg"),
        "msg": lambda: msg_machine(config, NO_FILE, NO_FILE, "tcg", "kmsg"),
        "msg-stress": lambda: msg_machine(config, NO_FILE, NO_FILE, "tcg", "stress"),
        "soak": lambda: soak_machine(config, NO_FILE, NO_FILE, "tcg"),
        "migrate": lambda: migrate_machine(config, NO_FILE, NO_FILE, "tcg"),
    }
    out = {}
    for name, build in builders.items():
        section = experiments.get(name.split("-")[0], {})
        if section.get("enabled", True):
            plan = build().plan
            if plan is not None:
                out[name] = plan.request
    return out
