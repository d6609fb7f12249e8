"""Messaging microbenchmarks: kmsg between the primary and one secondary, in IPI and in
polling mode, against SMP Linux baselines (pipe, UNIX socket, eventfd, a shared cache
line) measured between the two vCPUs of a boot of the same VM configuration.

Both runs use wall time unless experiments.msg.timebase is icount, which config.py allows
only for blocking work: busy-polling across vCPUs degenerates under icount."""
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..console import key_values
from ..fsutil import read_json
from ..machines import machine, timeouts
from ..targets.qemu import Machine, QemuTarget, RunStatus
from . import PROVENANCE, reported_number, run_columns
from .multikernel import layout

SECONDARY_MIB = 128       # one secondary: 2 vCPUs; SMP Linux on the same two
STRESS_SECONDARIES = 3    # the stress test: 4 kernels, every ordered pair
STRESS_MIB = 96
STRESS_COUNTS = ("sent", "send_errors", "injected", "received", "lost", "duplicated",
                 "corrupted", "rejected")
LATENCY_COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "mode",
                   "payload_bytes", "p50_ns", "p99_ns", "samples", "round", "host_cores",
                   *PROVENANCE]
THROUGHPUT_COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "mode", "pattern",
                      "payload_bytes", "senders", "msgs_per_s", "mb_per_s", "samples",
                      "msgs_per_s_min", "msgs_per_s_max", "round", "host_cores", *PROVENANCE]
SAMPLE_COLUMNS = ["mechanism", "mode", "payload_bytes", "round", "sample", "ns"]


MODES = ("ipi", "poll")
BASELINES = ("pipe", "unix", "eventfd", "cacheline")


def latency_cases(payloads: list[int], modes=MODES,
                  baselines=BASELINES) -> list[tuple[str, str, int, str]]:
    """(mechanism, mode, payload, system that measures it), every row latency.csv has."""
    cases = [("kmsg", mode, p, "kmsg") for mode in MODES if mode in modes for p in payloads]
    cases += [(mech, "blocking", p, "smp") for mech in ("pipe", "unix") if mech in baselines
              for p in payloads]
    return cases + [case for case in (("eventfd", "blocking", 8, "smp"),
                                      ("cacheline", "spin", 8, "smp")) if case[0] in baselines]


def msg_machine(config: dict, kernel: Path, initrd: Path, accel: str, system: str) -> Machine:
    msg = config["experiments"]["msg"]
    common = (f"popcorn.pings={msg['pings']} popcorn.stream={msg['stream_messages']} "
              f"popcorn.reps={msg['stream_repetitions']} "
              f"popcorn.payloads={','.join(str(p) for p in msg['payloads'])} "
              f"popcorn.modes={','.join(msg.get('modes', MODES))} "
              f"popcorn.baselines={','.join(msg.get('baselines', BASELINES))}")
    k, mib = 1, SECONDARY_MIB
    if system == "stress":
        k, mib = STRESS_SECONDARIES, STRESS_MIB
        common = (f"popcorn.stress={msg['stress_messages']} "
                  f"popcorn.malformed={msg['stress_malformed']} "
                  f"popcorn.fanin={msg['fanin_messages']} "
                  f"popcorn.fanin_len={msg['fanin_payload']} "
                  f"popcorn.reps={msg['stream_repetitions']}")
    # The multikernel experiment's partitioning; SMP Linux gets the same VM, unpartitioned.
    plan = layout({"secondaries": k, "mem_mib_per_secondary": mib, "cpus_per_secondary": 1})
    extra = common if system == "smp" else f"{plan['append']} {common}"
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {extra}"}
    experiment = {"kmsg": "msg", "smp": "msg-smp", "stress": "msg-stress"}[system]
    m = machine(qemu, kernel, initrd, accel, experiment, plan["vcpus"], plan["mem_mib"],
                None if system == "smp" else plan["plan"])
    if system == "stress" or msg.get("timebase", "wall") == "wall":
        return replace(m, icount=None)  # wall time: see the module's docstring
    return m  # timebase icount (config.py allows it only for blocking work)


def run_msg(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
            target: QemuTarget, system: str) -> RunStatus:
    m = msg_machine(config, kernel, initrd, accel, system)
    limits = timeouts(config["qemu"])
    if system == "stress":  # far longer than a benchmark run; its own limit
        limits = replace(limits, run_s=config["experiments"]["msg"]["stress_timeout_s"])
    return target.run(m, limits, run_dir)


def _run_facts(run_dir: Path) -> tuple[dict, dict]:
    """(status.json, the primary's values) of one run."""
    status = read_json(run_dir / "status.json")
    return status, status.get("values", {})


def _common(status: dict) -> dict:
    ok = status["status"] == "ok"
    return {**run_columns(status), "status": status["status"],
            "reason": "" if ok else status.get("reason", ""),
            "host_cores": status["host_cores"]}


def _unreported(values: dict) -> str:
    """Why a multikernel run's figures cannot count: a secondary whose report never came
    (k<id>_reported=0, guest/exp/lib.sh wait_report) was still booting beside them."""
    late = sorted(k.split("_")[0] for k, v in values.items()
                  if k.startswith("k") and k.endswith("_reported") and v == "0")
    return (f"secondary {', '.join(late)} never reported: measured beside a kernel still "
            "booting" if late else "")


def _mode_failure(values: dict, mechanism: str, mode: str) -> str:
    """Why a kmsg mode's figures cannot count: both kernels must have switched to it,
    and every secondary must have finished booting."""
    rc = values.get(f"mode_{mode}_rc")
    if mechanism != "kmsg":
        return ""
    if rc != "0":
        return f"switching both kernels to {mode} mode failed (mode_{mode}_rc={rc})"
    return _unreported(values)


def latency_rows(runs: dict[str, Path], payloads: list[int], pings: int, modes=MODES,
                 baselines=BASELINES) -> tuple[list[dict], list[dict]]:
    """latency.csv rows (one per case, a failed run's cases with its status) and the raw
    samples behind them. A case with fewer (or more) samples than pings is an error."""
    facts = {system: _run_facts(path) for system, path in runs.items()}
    rows, samples = [], []
    for mech, mode, payload, system in latency_cases(payloads, modes, baselines):
        status, values = facts[system]
        row = {**_common(status), "mechanism": mech, "mode": mode, "payload_bytes": payload}
        key = f"{mech}_{mode}_{payload}"
        figure = key_values(values.get(f"lat_{key}"))
        if row["status"] == "ok" and not figure.get("p50_ns"):
            row["status"], row["reason"] = "error", f"the guest reported no lat_{key}"
        elif row["status"] == "ok" and reported_number(figure.get("samples")) != pings:
            row["status"] = "error"
            row["reason"] = f"lat_{key}: {figure.get('samples')} samples of {pings} pings"
        failure = _mode_failure(values, mech, mode)
        if row["status"] == "ok" and failure:
            row["status"], row["reason"] = "error", failure
        row.update(p50_ns=reported_number(figure.get("p50_ns")),
                   p99_ns=reported_number(figure.get("p99_ns")),
                   samples=reported_number(figure.get("samples")))
        rows.append(row)
        raw = [v for v in (values.get(f"raw_{key}") or "").split(";") if v]
        samples += [{"mechanism": mech, "mode": mode, "payload_bytes": payload, "sample": i,
                     "ns": int(v)} for i, v in enumerate(raw)]
    return rows, samples


def _throughput_row(status: dict, values: dict, keys: list[str], mode: str, payload: int,
                    senders: int, mechanism: str = "kmsg") -> dict:
    """The median over the repetitions (keys), with their number and range."""
    row = {**_common(status), "mechanism": mechanism, "mode": mode, "payload_bytes": payload,
           "senders": senders, "pattern": "all_to_one" if keys[0].startswith("fanin") else
           "one_to_one"}
    figures = [key_values(values.get(key)) for key in keys]
    runs = pd.DataFrame([{"msgs_per_s": reported_number(f.get("msgs_per_s")),
                          "mb_per_s": reported_number(f.get("mb_per_s"))} for f in figures
                         if f.get("msgs_per_s")], columns=["msgs_per_s", "mb_per_s"])
    if row["status"] == "ok" and len(runs) < len(keys):
        row["status"] = "error"
        row["reason"] = f"the guest reported {len(runs)} of {len(keys)} runs of {keys[0]}"
    failure = (_mode_failure(values, "kmsg", mode) if row["pattern"] == "one_to_one" else
               _unreported(values))
    if row["status"] == "ok" and failure:
        row["status"], row["reason"] = "error", failure
    row.update(msgs_per_s=runs["msgs_per_s"].median() if len(runs) else None,
               mb_per_s=runs["mb_per_s"].median() if len(runs) else None,
               samples=len(runs), msgs_per_s_min=runs["msgs_per_s"].min() if len(runs) else None,
               msgs_per_s_max=runs["msgs_per_s"].max() if len(runs) else None)
    return row


def stream_rows(kmsg_run: Path, payloads: list[int], repetitions: int,
                modes=MODES) -> list[dict]:
    """One sender per payload and mode (a kmsg run), each beside memcpy of that size in
    the same guest, run after each stream (its mode says which streams it alternated
    with). Each the median of repetitions."""
    status, values = _run_facts(kmsg_run)
    return [_throughput_row(status, values, [f"tput_{mech}_{mode}_{payload}_{r}"
                                             for r in range(1, repetitions + 1)],
                            mode, payload, 1, mech)
            for mode in MODES if mode in modes for payload in payloads
            for mech in ("kmsg", "memcpy")]


def fanin_rows(stress_run: Path, repetitions: int, fanin_payload: int) -> list[dict]:
    """All-to-one with 1..K senders in IPI mode (the stress run, before its stress test),
    each the median of repetitions."""
    status, values = _run_facts(stress_run)
    return [_throughput_row(status, values, [f"fanin_{n}_{r}" for r in
                                             range(1, repetitions + 1)],
                            "ipi", fanin_payload, n)
            for n in range(1, STRESS_SECONDARIES + 1)]


def throughput_rows(kmsg_run: Path, payloads: list[int], repetitions: int, stress_run: Path,
                    fanin_payload: int) -> list[dict]:
    """stream_rows of a kmsg run, then fanin_rows of the stress run."""
    return (stream_rows(kmsg_run, payloads, repetitions)
            + fanin_rows(stress_run, repetitions, fanin_payload))


def ratio_table(latency: pd.DataFrame) -> pd.DataFrame:
    """p50 of each kmsg mode over p50 of each baseline: at the same payload for pipe and
    unix, at 8 bytes for eventfd and the cache line (they carry 8 bytes). Only rows of one
    run are paired (run_id, host and, where there are rounds, the round). A case where
    either side failed stays, with that side's status and no ratio."""
    pair = [c for c in ("run_id", "host", "round") if c in latency]
    kmsg = latency[latency["mechanism"] == "kmsg"]
    rows = []
    for base in latency[latency["mechanism"] != "kmsg"].to_dict("records"):
        same = (kmsg["payload_bytes"] == base["payload_bytes"])
        for c in pair:
            same &= kmsg[c] == base[c]
        for k in kmsg[same].to_dict("records"):
            status = k["status"] if k["status"] != "ok" else base["status"]
            ok = status == "ok" and bool(base["p50_ns"])
            rows.append({**{c: k[c] for c in pair}, "status": status,
                         "kmsg_mode": k["mode"], "payload_bytes": k["payload_bytes"],
                         "baseline": base["mechanism"], "kmsg_p50_ns": k["p50_ns"],
                         "baseline_p50_ns": base["p50_ns"],
                         "ratio_p50": k["p50_ns"] / base["p50_ns"] if ok else None,
                         "accel": k["accel"], "timebase": k["timebase"]})
    return pd.DataFrame(rows, columns=[*pair, "status", "kmsg_mode", "payload_bytes",
                                       "baseline", "kmsg_p50_ns", "baseline_p50_ns",
                                       "ratio_p50", "accel", "timebase"])


COPY_GOAL = 0.5  # one-way 4 KiB messages: at least half of memcpy's bandwidth


def copy_ratio_table(throughput: pd.DataFrame) -> pd.DataFrame:
    """One-to-one kmsg MB/s over memcpy's MB/s at the same payload, measured alternately
    in the same guest. A case where either side failed stays, with that status."""
    one = throughput[throughput["pattern"] == "one_to_one"]
    same = ["mode", "payload_bytes", *[c for c in ("run_id", "host", "round") if c in one]]
    side = [*same, "status", "mb_per_s"]
    pairs = one[one["mechanism"] == "kmsg"][["accel", "timebase", *side]].merge(
        one[one["mechanism"] == "memcpy"][side], on=same, how="left",
        suffixes=("_kmsg", "_memcpy"))
    memcpy_status = pairs["status_memcpy"].fillna("error")  # no memcpy row at all
    status = pairs["status_kmsg"].where(pairs["status_kmsg"] != "ok", memcpy_status)
    ok = status == "ok"
    return pd.DataFrame({
        **{c: pairs[c] for c in same[2:]},
        "accel": pairs["accel"], "timebase": pairs["timebase"], "status": status,
        "mode": pairs["mode"], "payload_bytes": pairs["payload_bytes"],
        "kmsg_mb_per_s": pairs["mb_per_s_kmsg"], "memcpy_mb_per_s": pairs["mb_per_s_memcpy"],
        "ratio": (pairs["mb_per_s_kmsg"] / pairs["mb_per_s_memcpy"]).where(ok),
        "goal": pd.Series(COPY_GOAL, index=pairs.index).where(pairs["payload_bytes"] == 4096)})


def _stress_counts(text: str | None) -> dict[str, list[int]] | None:
    """One kernel's "kmsgbench stress-stats" line: count name -> per peer kernel."""
    fields = key_values(text)
    try:
        return {name: [int(v) for v in fields[name].split(";")] for name in STRESS_COUNTS}
    except (KeyError, ValueError):
        return None


def stress_summary(run_dir: Path, messages: int, malformed: int) -> dict:
    """stress.json: totals over every ordered pair of kernels, from the counts the test
    code itself kept (sequence numbers and checksums), and each pair's own figures."""
    status, values = _run_facts(run_dir)
    kernels = STRESS_SECONDARIES + 1
    counts = {k: _stress_counts(values.get(f"stress_k{k}")) for k in range(kernels)}
    summary = {**_common(status), "kernels": kernels, "messages_per_direction": messages,
               "malformed_per_direction": malformed, "stress_s": reported_number(
                   values.get("stress_s")), "pairs": []}
    missing = [k for k, c in counts.items() if c is None]
    if summary["status"] == "ok" and missing:
        summary["status"], summary["reason"] = "error", f"no stress counts from kernels {missing}"
    totals = dict.fromkeys(["sent", "received", "lost", "excess", "duplicated", "corrupted",
                            "send_errors", "malformed_injected", "malformed_rejected"], 0)
    for s in range(kernels):
        for r in range(kernels):
            if s == r or counts[s] is None or counts[r] is None:
                continue
            sent, received = counts[s]["sent"][r], counts[r]["received"][s]
            duplicated = counts[r]["duplicated"][s]
            pair = {"from": s, "to": r, "sent": sent, "received": received,
                    # what never arrived: sent, less what arrived once; more distinct
                    # messages than were sent is "excess", an error too (never clamped)
                    "lost": max(0, sent - (received - duplicated)),
                    "excess": max(0, received - duplicated - sent),
                    "duplicated": duplicated, "corrupted": counts[r]["corrupted"][s],
                    "send_errors": counts[s]["send_errors"][r],
                    "malformed_injected": counts[s]["injected"][r],
                    "malformed_rejected": counts[r]["rejected"][s]}
            summary["pairs"].append(pair)
            for key in totals:
                totals[key] += pair[key]
    summary.update(totals)
    if summary["status"] == "ok":
        summary["reason"] = _stress_verdict(summary, kernels)
        summary["status"] = "error" if summary["reason"] else "ok"
    return summary


def _stress_verdict(summary: dict, kernels: int) -> str:
    """Why a finished stress run failed its check; empty if it passed."""
    problems = [f"{summary[key]} {key}" for key in ("lost", "duplicated", "corrupted",
                                                   "send_errors") if summary[key]]
    problems += [f"kernel {p['to']} received {p['received'] - p['duplicated']} distinct "
                 f"messages from kernel {p['from']}, which sent {p['sent']}"
                 for p in summary["pairs"] if p["excess"]]
    if summary["malformed_rejected"] != summary["malformed_injected"]:
        problems.append(f"{summary['malformed_rejected']} malformed rejected of "
                        f"{summary['malformed_injected']} injected")
    expected = summary["messages_per_direction"] * kernels * (kernels - 1)
    if len(summary["pairs"]) != kernels * (kernels - 1) or summary["sent"] != expected:
        problems.append(f"{summary['sent']} sent of {expected}")
    return "; ".join(problems)


STRESS_CSV_COLUMNS = ["accel", "timebase", "status", "reason", "kernels",
                      "messages_per_direction", "sent", "received", "lost", "excess",
                      "duplicated",
                      "corrupted", "malformed_injected", "malformed_rejected", "stress_s",
                      "host_cores", *PROVENANCE]
