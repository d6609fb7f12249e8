"""Soak between kernels: a primary and one secondary, booted from the network image;
udpsoak sends the configured amount of UDP over their pcn link and the receiving
program checks every byte (guest/exp/soak.sh). Losses are reported; a corrupted or
duplicated datagram makes the result an error. Wall time (a paced sender)."""
from dataclasses import replace
from pathlib import Path

from ..console import key_values, parse_console
from ..fsutil import read_json
from ..machines import machine, timeouts
from ..targets.qemu import Machine, QemuTarget, RunStatus
from . import PROVENANCE, reported_number, run_columns
from .multikernel import layout

SECONDARY_MIB = 192
DATAGRAM = 1400
COUNTS = ("datagrams", "received", "lost", "duplicated", "corrupted", "corrupted_bytes",
          "rx_dropped")
SOAK_COLUMNS = ["accel", "timebase", "status", "reason", "bytes", "mbit_paced", *COUNTS,
                "sent", "tx_dropped", "mbit", "elapsed_s", "host_cores", *PROVENANCE]


def soak_machine(config: dict, kernel: Path, initrd: Path, accel: str) -> Machine:
    soak = config["experiments"]["soak"]
    plan = layout({"secondaries": 1, "mem_mib_per_secondary": SECONDARY_MIB,
                   "cpus_per_secondary": 1})
    extra = f"{plan['append']} popcorn.soak={soak['mib'] << 20} popcorn.soak_mbit={soak['mbit']}"
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {extra}"}
    return replace(machine(qemu, kernel, initrd, accel, "soak", plan["vcpus"], plan["mem_mib"],
                           plan["plan"]),
                   icount=None)


def run_soak(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
             target: QemuTarget) -> RunStatus:
    m = soak_machine(config, kernel, initrd, accel)
    return target.run(m, timeouts(config["qemu"]), run_dir)


def soak_summary(run_dir: Path, soak: dict) -> dict:
    """soak.json: what the receiver found, the drop counters, and the verdict."""
    status = read_json(run_dir / "status.json")
    k1 = run_dir / "console-k1.log"
    got = key_values(parse_console(k1.read_text()).values.get("soak") if k1.exists() else None)
    sent = key_values(status.get("values", {}).get("soak_sent"))
    summary = {**run_columns(status), "status": status["status"],
               "reason": status.get("reason", ""),
               "bytes": soak["mib"] << 20, "mbit_paced": soak["mbit"],
               **{k: reported_number(got.get(k)) for k in (*COUNTS, "mbit", "elapsed_s")},
               "sent": reported_number(sent.get("sent")),
               "tx_dropped": reported_number(sent.get("tx_dropped")),
               "host_cores": status.get("host_cores")}
    expected = -(-summary["bytes"] // (DATAGRAM - 8))
    problems = []
    if summary["datagrams"] is None:
        problems.append("the receiver reported nothing")
    else:
        if summary["datagrams"] != expected or summary["sent"] != expected:
            problems.append(f"{summary['sent']} sent, {summary['datagrams']} expected by the "
                            f"receiver, {expected} by the size")
        if summary["received"] is None or summary["lost"] is None or (
                summary["received"] + summary["lost"] != summary["datagrams"]):
            problems.append(f"received {summary['received']} + lost {summary['lost']} is not "
                            f"the {summary['datagrams']} datagrams expected")
        if summary["received"] is not None and summary["sent"] is not None and (
                summary["received"] > summary["sent"]):
            problems.append(f"received {summary['received']:.0f} of {summary['sent']:.0f} "
                            "sent: more than was sent")
        if summary["corrupted"] or summary["duplicated"]:
            problems.append(f"{summary['corrupted']:.0f} corrupted "
                            f"({summary['corrupted_bytes']:.0f} bytes), "
                            f"{summary['duplicated']:.0f} duplicated")
    if summary["status"] == "ok" and problems:
        summary["status"], summary["reason"] = "error", "; ".join(problems)
    return summary
