"""Measurements: each boots the target (or runs the host-compiled ring) and leaves a run folder."""
import argparse
import json
from pathlib import Path

from ..fsutil import atomic_write_json, atomic_write_text, read_json
from ..paths import REPO



def accel(a: argparse.Namespace) -> None:
    """QEMU: KVM if it works, else TCG. Hardware: what the machine is (its facts, saved
    beside accel.json), or the refusal that names what it cannot do."""
    if a.hardware:
        from ..targets.hardware import HardwareTarget
        target = HardwareTarget(json.loads(a.hardware))
        facts = target.read_facts()
        Path(a.probe_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(a.probe_dir) / "machine-facts.json", facts.as_json())
        choice = {"accel": target.check(facts, Path(a.kernel)), "target": "hardware",
                  "reason": f"{target.hw['address']}: "
                            f"{facts.sys_vendor or 'unknown vendor'} {facts.product_name}, "
                            f"{facts.model}, {len(facts.cpus)} CPUs, kernel {facts.release}"}
        atomic_write_json(a.out, choice)
        return
    from ..accel import resolve_accel
    from ..targets.qemu import QemuTarget
    choice = resolve_accel(json.loads(a.qemu), Path(a.kernel), Path(a.initrd),
                           Path(a.probe_dir), QemuTarget(a.qemu_binary))
    atomic_write_json(a.out, {**choice, "target": "qemu"})


def target_for(config: dict, qemu_binary: str):
    """The run's target, by the configuration's `target`."""
    if config.get("target") == "hardware":
        from ..targets.hardware import HardwareTarget
        return HardwareTarget(config["hardware"])
    from ..targets.qemu import QemuTarget
    return QemuTarget(qemu_binary)


def run_on_target(a: argparse.Namespace, run) -> None:
    """One experiment run: the accelerator chosen earlier, the target, the run folder."""
    config = json.loads(a.config)
    accel = read_json(a.accel)["accel"]
    run(config, Path(a.kernel), Path(a.initrd), accel, Path(a.run_dir),
        target_for(config, a.qemu_binary))


def plan(a: argparse.Namespace) -> None:
    """make plan: the machine's facts and the partition each enabled experiment would
    get on it, printed; nothing on the machine changes."""
    from ..targets.hardware import HardwareTarget
    from ..experiments.plans import requests
    config = json.loads(a.config)
    target = HardwareTarget(config["hardware"])
    facts = target.read_facts()
    accel = target.check(facts, Path(a.kernel))
    out = {"machine": config["hardware"]["address"], "accel": accel, "model": facts.model,
           "release": facts.release, "cpus": len(facts.cpus),
           "plans": {name: target.plan(r, facts).summary()
                     for name, r in requests(config).items()}}
    print(json.dumps(out, indent=2))


def boot_run(a: argparse.Namespace) -> None:
    from ..experiments.boot import run_boot
    run_on_target(a, run_boot)


def multikernel_run(a: argparse.Namespace) -> None:
    from ..experiments.multikernel import run_multikernel
    run_on_target(a, run_multikernel)


def interactive_command(a: argparse.Namespace) -> None:
    """A script that starts the multikernel machine with its console on the terminal."""
    import shlex
    from ..experiments.multikernel import multikernel_machine
    from ..hosttools import require
    from ..targets.qemu import interactive_argv
    m = multikernel_machine(json.loads(a.config), Path(a.kernel).resolve(),
                            Path(a.initrd).resolve(), read_json(a.accel)["accel"], "shell")
    argv = interactive_argv(require("qemu-system-x86_64"), m)
    atomic_write_text(a.out, "#!/bin/sh\n"
                      f"# {m.vcpus} vCPUs, {m.mem_mib} MiB, {m.accel}. Ctrl-a x quits QEMU.\n"
                      f"exec {shlex.join(argv)}\n")


def msg_run(a: argparse.Namespace) -> None:
    from ..experiments.msg import run_msg
    run_on_target(a, lambda *args: run_msg(*args, system=a.system))


def ring_host_run(a: argparse.Namespace) -> None:
    from ..experiments.ringhost import run
    run(REPO, a.round_trips, a.rounds, Path(a.work), Path(a.csv))


def net_link(a: argparse.Namespace) -> None:
    from ..experiments.net import run_link, write_link
    config = json.loads(a.config)
    run_on_target(a, run_link)
    write_link(Path(a.run_dir), config["network"], Path(a.out))


def run_rounds(a: argparse.Namespace, sides: list[str], run_side) -> None:
    """Each side of each round in turn (popart.rounds): run_side(side, config, kernel,
    initrd, accel, run folder, target)."""
    from ..rounds import alternate
    from ..targets.qemu import STOP
    config, accel = json.loads(a.config), read_json(a.accel)["accel"]
    target = target_for(config, a.qemu_binary)
    alternate(Path(a.run_root), a.rounds, sides,
              lambda side, run_dir: run_side(side, config, Path(a.kernel), Path(a.initrd),
                                             accel, run_dir, target), STOP.is_set)


def msg_rounds(a: argparse.Namespace) -> None:
    from ..experiments.msg import run_msg
    run_rounds(a, ["kmsg", "smp"], lambda side, *args: run_msg(*args, system=side))


def net_rounds(a: argparse.Namespace) -> None:
    from ..experiments.net import net_sides, run_net
    link = read_json(a.link)
    run_rounds(a, net_sides(json.loads(a.config)["experiments"]["net"]),
               lambda side, *args: run_net(*args, link=link, side=side))


def web_rounds(a: argparse.Namespace) -> None:
    from ..experiments.web import run_web
    link, systems = read_json(a.link), json.loads(a.config)["experiments"]["web"]["systems"]
    run_rounds(a, [f"{system}-v{a.vcpus}" for system in systems],
               lambda side, *args: run_web(*args, link=link, vcpus=a.vcpus,
                                           system=side.rsplit("-v", 1)[0]))


def migrate_run(a: argparse.Namespace) -> None:
    from ..experiments.migrate import run_migrate
    run_on_target(a, run_migrate)


def soak_run(a: argparse.Namespace) -> None:
    from ..experiments.soak import run_soak
    run_on_target(a, run_soak)
