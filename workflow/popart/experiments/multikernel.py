"""Multikernel experiment: one primary boots K secondaries, each on its own CPUs and
memory; every kernel reports what it sees, and the partition is checked from those
reports alone (never from the configuration)."""
from pathlib import Path

from ..console import boots, parse_console
from .. import partition
from ..errors import ConfigError
from ..fsutil import read_json
from ..partition import PRIMARY_MIB, Request, qemu_cpus, qemu_memmap
from ..machines import machine, timeouts
from ..targets.qemu import Machine, QemuTarget, RunStatus
from . import PROVENANCE, reported_number, run_columns

FIRMWARE_MIB = 16             # RAM above the partitions: the firmware keeps its ACPI
                              # tables at the top of low RAM, and those are never lent
TOP_MIB = 3072                # partitions stay below the PCI hole (and 4 GiB)
COLUMNS = ["accel", "timebase", "status", "reason", "kernel_id", "role", "apic_ids",
           "mem_ranges", "mem_mib", "kernel_release", "boot_s", "kick_to_up_s", "host_cores",
           *PROVENANCE]


def request(mk: dict) -> Request:
    return Request(mk["secondaries"], mk["mem_mib_per_secondary"], mk["cpus_per_secondary"])


def layout(mk: dict) -> dict:
    """vCPUs, memory and the primary's extra command line for K secondaries on a QEMU
    machine: the partition planned on that machine's model (popart.partition)."""
    k, mib, cpus = mk["secondaries"], mk["mem_mib_per_secondary"], mk["cpus_per_secondary"]
    if mk.get("panic_kernel") is not None and mk["panic_kernel"] > k:
        raise ConfigError(f"experiments.multikernel.panic_kernel: {mk['panic_kernel']} is not "
                          f"one of the {k} secondaries")
    if PRIMARY_MIB + k * mib + FIRMWARE_MIB > TOP_MIB:
        raise ConfigError(f"experiments.multikernel: {k} x {mib} MiB does not fit below "
                          f"{TOP_MIB} MiB; use fewer or smaller secondaries")
    vcpus, mem_mib = 1 + k * cpus, PRIMARY_MIB + k * mib + FIRMWARE_MIB
    plan = partition.plan(request(mk), qemu_cpus(vcpus), qemu_memmap(mem_mib))
    return {"vcpus": vcpus, "mem_mib": mem_mib, "plan": plan,
            "append": plan.kernel_params() + extra_params(mk)}


def extra_params(mk: dict) -> str:
    """What the multikernel experiment adds to a plan's command line."""
    return ((f" popcorn.panic={mk['panic_kernel']}" if mk.get("panic_kernel") else "")
            + (" popcorn.serial=1" if mk.get("boot_order") == "serial" else ""))


def multikernel_machine(config: dict, kernel: Path, initrd: Path, accel: str,
                        experiment: str = "multikernel") -> Machine:
    plan = layout(config["experiments"]["multikernel"])
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {plan['append']}"}
    return machine(qemu, kernel, initrd, accel, experiment, plan["vcpus"], plan["mem_mib"],
                   plan["plan"])


def run_multikernel(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
                    target: QemuTarget) -> RunStatus:
    m = multikernel_machine(config, kernel, initrd, accel)
    return target.run(m, timeouts(config["qemu"]), run_dir)


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """"00100000-3fffffff;..." -> inclusive (start, end) pairs."""
    ranges = []
    for part in filter(None, (text or "").split(";")):
        start, end = part.split("-")
        ranges.append((int(start, 16), int(end, 16)))
    return ranges


def _row(common: dict, kernel_id: int, values: dict, status: str, reason: str) -> dict:
    ranges = parse_ranges(values.get("mem_ranges", ""))
    return {
        **common, "status": status, "reason": reason, "kernel_id": kernel_id,
        "role": "primary" if kernel_id == 0 else "secondary",
        "apic_ids": values.get("apic_ids", ""),
        "mem_ranges": ";".join(f"{s:x}-{e:x}" for s, e in ranges),
        "mem_mib": round(sum(e - s + 1 for s, e in ranges) / 2**20, 3) if ranges else None,
        "kernel_release": values.get("kernel_release"),
        "boot_s": reported_number(values.get("init_uptime_s")),
    }


def _secondary_status(report, state: str | None) -> tuple[str, str]:
    if state == "panicked" or report.panic:
        return "panic", report.panic or "the control page says it panicked"
    if not report.begun:
        return ("timeout" if state in (None, "booting") else "error",
                f"no report from this kernel (state {state})")
    if not report.ended or report.rc != 0:
        return "error", f"report did not finish (rc {report.rc}, state {state})"
    return "ok", ""


def multikernel_rows(run_dir: Path, secondaries: int) -> list[dict]:
    """One row per kernel: the primary from its own report, each secondary from its
    relayed console (console-k<N>.log; its first boot, when it was booted again) and
    the primary's view of it."""
    status = read_json(run_dir / "status.json")
    primary = status.get("values", {})
    common = {**run_columns(status), "host_cores": status["host_cores"], "kick_to_up_s": None}
    rows = [_row(common, 0, primary, status["status"], status.get("reason", ""))]
    for k in range(1, secondaries + 1):
        log = run_dir / f"console-k{k}.log"
        report = parse_console(boots(log.read_text(errors="replace"))[0] if log.exists() else "")
        state = primary.get(f"k{k}_state")
        kind, reason = _secondary_status(report, state)
        if status["status"] != "ok" and kind == "ok":
            kind, reason = status["status"], f"primary: {status.get('reason', '')}"
        row = _row(common, k, report.values, kind, reason)
        up_us = reported_number(primary.get(f"k{k}_kick_to_up_us"))
        # /proc/popcorn says -1 while a kernel has not sent its first heartbeat.
        row["kick_to_up_s"] = up_us / 1e6 if up_us is not None and up_us >= 0 else None
        rows.append(row)
    return rows


def all_up_s(primary_values: dict) -> float | None:
    """Primary's clock: first kick to the last secondary's first heartbeat (0.1 s polls)."""
    return reported_number(primary_values.get("all_up_s"))


def partition_check(rows: list[dict], requested: int) -> dict:
    """From what the kernels reported: do their RAM ranges or APIC IDs overlap?"""
    overlaps = []
    reported = [r for r in rows if r["status"] == "ok"]
    for i, a in enumerate(reported):
        for b in reported[i + 1:]:
            for sa, ea in parse_ranges(a["mem_ranges"]):
                for sb, eb in parse_ranges(b["mem_ranges"]):
                    if sa <= eb and sb <= ea:
                        overlaps.append({"kind": "ram", "kernels": [a["kernel_id"], b["kernel_id"]],
                                         "range": f"{max(sa, sb):x}-{min(ea, eb):x}"})
            shared = set(filter(None, str(a["apic_ids"]).split(";"))) & set(
                filter(None, str(b["apic_ids"]).split(";")))
            for apic in sorted(shared):
                overlaps.append({"kind": "apic_id", "kernels": [a["kernel_id"], b["kernel_id"]],
                                 "apic_id": apic})
    return {"kernels_requested": requested, "kernels_up": len(reported),
            "disjoint": not overlaps, "overlaps": overlaps}


PARTITION_COLUMNS = ["accel", "timebase", "status", "reason", "kernels_requested",
                     "kernels_up", "disjoint", *PROVENANCE]


def partition_row(partition: dict, status: dict) -> dict:
    """The isolation check as a tidy row: not ok when kernels overlap or fewer came up than
    were asked for (their partitions are then unchecked), so it fails the run."""
    problems = []
    for o in partition["overlaps"]:
        where = o.get("range") or f"APIC ID {o.get('apic_id')}"
        problems.append(f"kernels {o['kernels'][0]} and {o['kernels'][1]} share {o['kind']} "
                        f"{where}")
    if partition["kernels_up"] < partition["kernels_requested"]:
        problems.append(f"{partition['kernels_up']} of {partition['kernels_requested']} "
                        "kernels up: the others' partitions are unchecked")
    return {**run_columns(status), "status": "error" if problems else "ok",
            "reason": "; ".join(problems), "kernels_requested": partition["kernels_requested"],
            "kernels_up": partition["kernels_up"], "disjoint": partition["disjoint"]}
