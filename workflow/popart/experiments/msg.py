"""Messaging microbenchmarks: kmsg between the primary and one secondary, in IPI and in
polling mode, against SMP Linux baselines (pipe, UNIX socket, eventfd, a shared cache
line) measured between the two vCPUs of a boot of the same VM configuration.

Both runs use wall time: busy-polling across vCPUs degenerates under icount."""
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..fsutil import read_json
from ..machines import machine, timeouts
from ..targets.qemu import Machine, QemuTarget, RunStatus
from . import reported_number
from .multikernel import FIRMWARE_MIB, PARTITION_BASE, PRIMARY_MIB

VCPUS = 2                 # the primary and one secondary; SMP: the same two vCPUs
SECONDARY_MIB = 128
SYSTEMS = ("kmsg", "smp")
LATENCY_COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "mode",
                   "payload_bytes", "p50_ns", "p99_ns", "samples", "host_cores"]
THROUGHPUT_COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "mode",
                      "payload_bytes", "senders", "msgs_per_s", "mb_per_s", "host_cores"]
SAMPLE_COLUMNS = ["mechanism", "mode", "payload_bytes", "sample", "ns"]


def latency_cases(payloads: list[int]) -> list[tuple[str, str, int, str]]:
    """(mechanism, mode, payload, system that measures it), every row latency.csv has."""
    cases = [("kmsg", mode, p, "kmsg") for mode in ("ipi", "poll") for p in payloads]
    cases += [(mech, "blocking", p, "smp") for mech in ("pipe", "unix") for p in payloads]
    return cases + [("eventfd", "blocking", 8, "smp"), ("cacheline", "spin", 8, "smp")]


def msg_machine(config: dict, kernel: Path, initrd: Path, accel: str, system: str) -> Machine:
    msg = config["experiments"]["msg"]
    common = (f"popcorn.pings={msg['pings']} popcorn.stream={msg['stream_messages']} "
              f"popcorn.payloads={','.join(str(p) for p in msg['payloads'])}")
    if system == "kmsg":
        extra = (f"maxcpus=1 memmap={SECONDARY_MIB}M${PARTITION_BASE:#x} memmap=64K$0x20000 "
                 f"nokaslr no_ipi_broadcast=1 popcorn.mib={SECONDARY_MIB} {common}")
    else:
        extra = common
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {extra}"}
    m = machine(qemu, kernel, initrd, accel, "msg" if system == "kmsg" else "msg-smp", VCPUS,
                PRIMARY_MIB + SECONDARY_MIB + FIRMWARE_MIB)
    return replace(m, icount=None)  # wall time: see the module's docstring


def run_msg(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
            target: QemuTarget, system: str) -> RunStatus:
    m = msg_machine(config, kernel, initrd, accel, system)
    return target.run(m, timeouts(config["qemu"]), run_dir)


def _fields(text: str | None) -> dict[str, str]:
    return dict(part.split("=", 1) for part in (text or "").split() if "=" in part)


def _run_facts(run_dir: Path) -> tuple[dict, dict]:
    """(status.json, the primary's values) of one run."""
    status = read_json(run_dir / "status.json")
    return status, status.get("values", {})


def _common(status: dict) -> dict:
    ok = status["status"] == "ok"
    return {"accel": status["accel"], "timebase": status["timebase"],
            "status": status["status"], "reason": "" if ok else status.get("reason", ""),
            "host_cores": status["host_cores"]}


def latency_rows(runs: dict[str, Path], payloads: list[int]) -> tuple[list[dict], list[dict]]:
    """latency.csv rows (one per case, a failed run's cases with its status) and the raw
    samples behind them."""
    facts = {system: _run_facts(path) for system, path in runs.items()}
    rows, samples = [], []
    for mech, mode, payload, system in latency_cases(payloads):
        status, values = facts[system]
        row = {**_common(status), "mechanism": mech, "mode": mode, "payload_bytes": payload}
        key = f"{mech}_{mode}_{payload}"
        figure = _fields(values.get(f"lat_{key}"))
        if row["status"] == "ok" and not figure.get("p50_ns"):
            row["status"], row["reason"] = "error", f"the guest reported no lat_{key}"
        row.update(p50_ns=reported_number(figure.get("p50_ns")),
                   p99_ns=reported_number(figure.get("p99_ns")),
                   samples=reported_number(figure.get("samples")))
        rows.append(row)
        raw = [v for v in (values.get(f"raw_{key}") or "").split(";") if v]
        samples += [{"mechanism": mech, "mode": mode, "payload_bytes": payload, "sample": i,
                     "ns": int(v)} for i, v in enumerate(raw)]
    return rows, samples


def throughput_rows(kmsg_run: Path, payloads: list[int]) -> list[dict]:
    status, values = _run_facts(kmsg_run)
    rows = []
    for mode in ("ipi", "poll"):
        for payload in payloads:
            row = {**_common(status), "mechanism": "kmsg", "mode": mode,
                   "payload_bytes": payload, "senders": 1}
            figure = _fields(values.get(f"tput_kmsg_{mode}_{payload}"))
            if row["status"] == "ok" and not figure.get("msgs_per_s"):
                row["status"] = "error"
                row["reason"] = f"the guest reported no tput_kmsg_{mode}_{payload}"
            row.update(msgs_per_s=reported_number(figure.get("msgs_per_s")),
                       mb_per_s=reported_number(figure.get("mb_per_s")))
            rows.append(row)
    return rows


def ratio_table(latency: pd.DataFrame) -> pd.DataFrame:
    """p50 of each kmsg mode over p50 of each baseline: at the same payload for pipe and
    unix, at 8 bytes for eventfd and the cache line (they carry 8 bytes)."""
    ok = latency[latency["status"] == "ok"]
    kmsg = ok[ok["mechanism"] == "kmsg"]
    rows = []
    for base in ok[ok["mechanism"] != "kmsg"].itertuples(index=False):
        for k in kmsg[kmsg["payload_bytes"] == base.payload_bytes].itertuples(index=False):
            rows.append({"kmsg_mode": k.mode, "payload_bytes": k.payload_bytes,
                         "baseline": base.mechanism, "kmsg_p50_ns": k.p50_ns,
                         "baseline_p50_ns": base.p50_ns,
                         "ratio_p50": k.p50_ns / base.p50_ns if base.p50_ns else None,
                         "accel": k.accel, "timebase": k.timebase})
    return pd.DataFrame(rows, columns=["kmsg_mode", "payload_bytes", "baseline", "kmsg_p50_ns",
                                       "baseline_p50_ns", "ratio_p50", "accel", "timebase"])

