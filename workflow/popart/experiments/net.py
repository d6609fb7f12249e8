"""Network experiment on the test bed (netbed.py): TCP throughput with iperf3 in both
directions and several streams, and round trips with ping, between the client namespace
("outside") and a guest, through a link that tc shapes to link_mbit.

The link rate comes first, from a calibration boot: iperf3 through the unshaped link,
both directions. On KVM the link is network.link_mbit (1 Gbit/s, the thesis's). An
emulated guest cannot fill that, and a link it cannot fill measures the CPU, so under
TCG the link is shaped to network.tcg_link_fraction of the slower unshaped direction.
On the hardware target the client is this host (hardware/bed.py), nothing is shaped and
nothing boots for the rate: the link is the machine's NIC at the rate it reports.

`system` names what runs in the guest, `path` what a row measured:
- smp: outside-guest (iperf3 and ping through the link), and ns-ns, veth between two
  network namespaces inside the guest (SMP Linux's local equivalent of a pcn link);
- multikernel (mknet.py): primary-secondary and secondary-secondary, iperf3 between
  kernels over pcn; and link sharing, K outside clients at once to the K secondaries
  (outside-secondaries) against the same clients to the primary alone (outside-primary).
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import log
from . import PROVENANCE, run_columns
from ..console import kernel_console, parse_console
from ..cpumarks import (CPU_COLUMNS, LINK_COLUMNS, console_values, cpu_columns, link_deltas,
                        marked, step_label)
from ..fsutil import atomic_write_json, read_json
from ..loadgen import (LoadError, iperf3_argv, parse_iperf3, parse_iperf3_text, parse_ping,
                       ping_argv, run_tool)
from ..hardware.facts import saved_nic_speed
from ..targets.hardware import HardwareTarget
from ..targets.qemu import RunStatus
from .mknet import IPERF3_PORT, SYSTEM, mk_machine, primary_ports, secondary_ips, servers
from .netrun import Bed, Target, net_machine, read_load, run_on_testbed

PATH = "outside-guest"
SHARED, ALONE = "outside-secondaries", "outside-primary"  # link sharing, multikernel
# Measured inside the guest: the console name prefix of the iperf3 output, and the
# kernel that ran the client (whose console has it).
INNER = {"ns-ns": ("veth", 0), "primary-secondary": ("primary-secondary", 0),
         "secondary-secondary": ("secondary-secondary", 1)}
INNER_DIRECTION = "client_to_server"
DIRECTIONS = {"to_guest": False, "from_guest": True}  # iperf3 --reverse: the guest sends
PING_INTERVAL_S = 0.02
IPERF3_ATTEMPTS = 5
# What iperf3 3.12 says when its server is still tearing down the previous test.
IPERF3_NOT_YET = ("Connection refused", "server is busy", "unable to receive control message",
                  "Connection reset by peer")
IPERF3_PAUSE_S = 1.0
NET_COLUMNS = ["system", "secondaries", "path", "direction", "streams", "link_mbit", "throughput_mbit",
               "rtt_us_p50", "rtt_us_p99", "samples", "ping_loss_pct", *CPU_COLUMNS,
               "cpu_s_per_gbit", "round", "accel", "timebase", "status", "reason",
               "host_cores", *PROVENANCE]


def iperf3_mbit(bed: Bed, seconds: float, streams: int, direction: str, raw: Path,
                server: tuple[str, int] | None = None, name: str = "") -> float:
    """One iperf3 run, against the guest's server unless another is named. The server
    takes a moment to listen again after a test (long
    under emulation): it gets a pause first, and a refused, busy or resetting server is
    tried again a few times."""
    host, port = server or (bed.guest_ip, IPERF3_PORT)
    argv = bed.in_client(iperf3_argv(host, seconds, streams, DIRECTIONS[direction], port))
    for attempt in range(1, IPERF3_ATTEMPTS + 1):
        time.sleep(IPERF3_PAUSE_S)
        again = "" if attempt == 1 else f"-attempt{attempt}"  # every attempt's output kept
        out = run_tool(argv, seconds + 30,
                       raw / f"iperf3-{name}{direction}-{streams}{again}.txt")
        try:
            return parse_iperf3(out)
        except LoadError as e:
            if attempt == IPERF3_ATTEMPTS or not any(w in str(e) for w in IPERF3_NOT_YET):
                raise
            log.info(f"net: iperf3 server not ready ({e}); attempt {attempt + 1}")
    raise AssertionError("unreachable")


def calibration_load(seconds: float):
    """Unshaped, one stream each way: what this guest can carry under this accel."""
    def load(bed: Bed, stop: threading.Event, raw: Path) -> list[dict]:
        bed.shape(None)
        rows = []
        for direction in DIRECTIONS:
            if stop.is_set():
                break
            row = {"direction": direction, "throughput_mbit": None, "status": "ok",
                   "reason": ""}
            try:
                row["throughput_mbit"] = round(iperf3_mbit(bed, seconds, 1, direction, raw), 1)
            except LoadError as e:
                row["status"], row["reason"] = "error", str(e)
            log.info(f"net: unshaped {direction}: {row['throughput_mbit']} Mbit/s")
            rows.append(row)
        return rows
    return load


def link_rate(unshaped: list[float], accel: str, network: dict) -> int:
    """The line rate on kvm/hw; under TCG a fraction of what the guest could carry."""
    if accel != "tcg":
        return network["link_mbit"]
    return max(1, min(network["link_mbit"], int(min(unshaped) * network["tcg_link_fraction"])))


def link_summary(run_dir: Path, network: dict) -> dict:
    """link.json: the unshaped figures, the rate chosen and why; status error if unknown."""
    status = read_json(run_dir / "status.json")
    load = read_load(run_dir)
    rows = load.get("rows", [])
    unshaped = {r["direction"]: r["throughput_mbit"] for r in rows}
    summary = {"accel": status["accel"], "timebase": status["timebase"],
               "status": "ok", "reason": "", "unshaped_mbit": unshaped, "link_mbit": None}
    figures = [v for v in unshaped.values() if v]
    if status.get("target") == "hardware" and status["status"] == "ok":
        summary["link_mbit"], summary["rule"] = machine_link(run_dir, status, network)
    elif status["status"] != "ok" and not figures:
        summary["status"], summary["reason"] = status["status"], status.get("reason", "")
    elif load.get("error") or len(figures) < len(DIRECTIONS):
        why = load.get("error") or "; ".join(r["reason"] for r in rows if r["reason"])
        summary["status"], summary["reason"] = "error", f"calibration: {why or 'no figures'}"
    else:
        summary["link_mbit"] = link_rate(figures, status["accel"], network)
        summary["rule"] = (f"{network['tcg_link_fraction']} x the slower unshaped direction "
                           "(tcg)" if status["accel"] == "tcg" else "network.link_mbit")
    return summary


def machine_link(run_dir: Path, status: dict, network: dict) -> tuple[int, str]:
    """On the hardware target the link is the machine's own NIC, never shaped: its rate
    is what the NIC reports (machine-facts.json), else network.link_mbit, said so."""
    path = run_dir / "machine-facts.json"
    speed = saved_nic_speed(read_json(path), status["host"]) if path.exists() else None
    if speed:
        return speed, "the machine's NIC, as it reports its rate (not shaped)"
    return network["link_mbit"], "network.link_mbit (the machine's NIC reported no rate; not shaped)"


def net_load(net: dict, link_mbit: int):
    """iperf3 both ways at each stream count, then ping, through the shaped link."""
    def load(bed: Bed, stop: threading.Event, raw: Path) -> list[dict]:
        bed.shape(link_mbit)
        rows = []
        for direction in DIRECTIONS:
            for streams in net["streams"]:
                if stop.is_set():
                    return rows
                row = {"path": PATH, "direction": direction, "streams": streams,
                       "status": "ok", "reason": ""}
                try:
                    with marked(bed.in_client, step_label(PATH, direction, streams),
                                [bed.guest_ip]):
                        row["throughput_mbit"] = round(
                            iperf3_mbit(bed, net["duration_s"], streams, direction, raw), 2)
                except LoadError as e:
                    row["status"], row["reason"] = "error", str(e)
                log.info(f"net: {direction} x{streams}: {row.get('throughput_mbit')} Mbit/s")
                rows.append(row)
        row = {"path": PATH, "direction": "round_trip", "streams": 1, "status": "ok",
               "reason": ""}
        try:
            argv = bed.in_client(ping_argv(bed.guest_ip, net["pings"], PING_INTERVAL_S))
            with marked(bed.in_client, step_label(PATH, "round_trip", 1), [bed.guest_ip]):
                out = run_tool(argv, net["pings"] * (PING_INTERVAL_S + 2) + 10,
                               raw / "ping.txt", check=False)
            row["rtt_us"] = parse_ping(out)
        except LoadError as e:
            row["status"], row["reason"] = "error", str(e)
        rows.append(row)
        return rows
    return load


def load_seconds(net: dict) -> float:
    """How long the guest should wait for the host: every step, with slack."""
    iperf = len(DIRECTIONS) * len(net["streams"]) * (net["duration_s"] + 5)
    return iperf + net["pings"] * PING_INTERVAL_S + 60


def run_link(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
             target: Target) -> RunStatus | None:
    """The calibration boot; on the hardware target only the machine's facts (its NIC's
    rate is the link's), which spares the machine a reboot."""
    if isinstance(target, HardwareTarget):
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "load.json", {"rows": [], "error": ""})
        return target.facts_only(kernel, run_dir)
    seconds = config["network"]["calibration_s"]
    wait_s = len(DIRECTIONS) * (seconds + 5) + 60
    vcpus = config["experiments"]["net"]["vcpus"]
    return run_on_testbed(
        config, target, run_dir, accel, None,
        lambda bed: net_machine(config, kernel, initrd, accel, bed, vcpus, 1, [], wait_s),
        calibration_load(seconds), wait_s)


def net_sides(net: dict) -> list[str]:
    """The runs of one round, in boot order: each system of net.systems, the multikernel
    once per K in net.secondaries (multikernel-k<K>)."""
    return [side for system in net["systems"]
            for side in ([f"{SYSTEM}-k{k}" for k in net["secondaries"]] if system == SYSTEM
                         else [system])]


def parse_side(side: str) -> tuple[str, int | None]:
    """"multikernel-k3" -> ("multikernel", 3); "smp" -> ("smp", None)."""
    system, _, k = side.partition("-k")
    if system == SYSTEM and k.isdigit():
        return system, int(k)
    if system != SYSTEM and not k:
        return system, None
    raise ValueError(f"{side}: not a net run's name (smp, or multikernel-k<K>)")


def run_net(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
            target: Target, link: dict, side: str = "smp") -> RunStatus | None:
    """smp: SMP Linux on net.vcpus, veth measured first. multikernel-k<K>: a primary and
    K secondaries, iperf3 between kernels measured first."""
    net = config["experiments"]["net"]
    inner = (net["duration_s"], net["streams"])
    system, k = parse_side(side)
    if system == SYSTEM:
        wait_s = sharing_seconds(net)
        return run_on_testbed(
            config, target, run_dir, accel, link,
            lambda bed: mk_machine(config, kernel, initrd, accel, bed, k, [], wait_s, inner),
            sharing_load(net, link["link_mbit"], k), wait_s, servers(k), multikernel=True)
    return run_on_testbed(
        config, target, run_dir, accel, link,
        lambda bed: net_machine(config, kernel, initrd, accel, bed, net["vcpus"], 1, [],
                                load_seconds(net), inner=inner),
        net_load(net, link["link_mbit"]), load_seconds(net))


def sharing_load(net: dict, link_mbit: int, k: int):
    """Link sharing: k clients outside at once, one stream each, to the k secondaries
    (through the primary), then the same k clients to the primary alone; both ways."""
    def load(bed: Bed, stop: threading.Event, raw: Path) -> list[dict]:
        targets = {SHARED: [(ip, IPERF3_PORT) for ip in secondary_ips(k)],
                   ALONE: [(bed.guest_ip, port) for port in primary_ports(k)]}
        kernels = [bed.guest_ip, *secondary_ips(k)]  # each one's CPU time, per step
        bed.shape(link_mbit)
        rows = []
        for direction in DIRECTIONS:
            for path, servers_of_path in targets.items():
                if stop.is_set():
                    return rows
                row = {"path": path, "direction": direction, "streams": k, "status": "ok",
                       "reason": ""}
                with (marked(bed.in_client, step_label(path, direction, k), kernels),
                      ThreadPoolExecutor(k) as pool):
                    runs = [pool.submit(iperf3_mbit, bed, net["duration_s"], 1, direction, raw,
                                        server, f"{path}-{server[0]}-{server[1]}-")
                            for server in servers_of_path]
                    failed = [str(r.exception()) for r in runs if r.exception()]
                if failed:
                    row["status"], row["reason"] = "error", "; ".join(failed)
                else:
                    row["throughput_mbit"] = round(sum(r.result() for r in runs), 2)
                log.info(f"net: {path} {direction}, {k} clients: "
                         f"{row.get('throughput_mbit')} Mbit/s")
                rows.append(row)
        return rows
    return load


def sharing_seconds(net: dict) -> float:
    """How long the multikernel primary waits for the host, with slack."""
    return 2 * len(DIRECTIONS) * (net["duration_s"] + 2 * IPERF3_PAUSE_S + 10) + 60


def inner_rows(run_dir: Path, path: str, streams: list[int]) -> list[dict]:
    """iperf3 measured inside the guest (veth, between kernels), from the client
    kernel's console; the last attempt counts, as on the host."""
    prefix, kernel = INNER[path]
    log_file = kernel_console(run_dir, kernel)
    outputs = parse_console(log_file.read_text()).outputs if log_file.exists() else {}
    rows = []
    for count in streams:
        name = f"{prefix}-{count}"
        attempts = [n for n in outputs if n == name or n.startswith(f"{name}-attempt")]
        if not attempts:
            continue
        last = max(attempts, key=lambda n: int(n.rsplit("attempt", 1)[1]) if n != name else 1)
        row = {"path": path, "direction": INNER_DIRECTION, "streams": count, "status": "ok",
               "reason": ""}
        try:
            row["throughput_mbit"] = round(parse_iperf3_text("\n".join(outputs[last])), 2)
        except LoadError as e:
            row["status"], row["reason"] = "error", str(e)
        rows.append(row)
    return rows


def net_cases(system: str, net: dict, k: int | None) -> list[tuple[str, str, int]]:
    """(path, direction, streams) of every row a run of this system (with k secondaries)
    owes."""
    streams = net["streams"]
    if system == SYSTEM:
        return ([(p, INNER_DIRECTION, s) for p in ("primary-secondary", "secondary-secondary")
                 for s in streams]
                + [(p, d, k) for d in DIRECTIONS for p in (SHARED, ALONE)])
    return ([(PATH, d, s) for d in DIRECTIONS for s in streams] + [(PATH, "round_trip", 1)]
            + [("ns-ns", INNER_DIRECTION, s) for s in streams])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def net_rows(run_dir: Path, side: str, net: dict, link: dict) -> list[dict]:
    """Every case of the run side (net_sides) a row: measured, or with the reason it was
    not."""
    system, k = parse_side(side)
    status = read_json(run_dir / "status.json")
    load = read_load(run_dir)
    cases = net_cases(system, net, k)
    inner = [row for path in sorted({c[0] for c in cases} & set(INNER))
             for row in inner_rows(run_dir, path, net["streams"])]
    measured = {(r.get("path", PATH), r["direction"], r["streams"]): r
                for r in load.get("rows", []) + inner}
    kernels = console_values(run_dir, k + 1 if k else 1)
    rows = []
    for path, direction, streams in cases:
        got = measured.get((path, direction, streams))
        row = {"system": system, "secondaries": k, "path": path, "direction": direction, "streams": streams,
               "link_mbit": link["link_mbit"], "throughput_mbit": None, "rtt_us_p50": None,
               "rtt_us_p99": None, "samples": None, "ping_loss_pct": None,
               **run_columns(status),
               "status": status["status"],
               "reason": status.get("reason", ""), "host_cores": status.get("host_cores")}
        if got is None:
            if row["status"] == "ok":
                row["status"] = "error"
                why = ("the guest printed no iperf3 output" if path in INNER
                       else load.get("error") or "the load stopped")
                row["reason"] = f"not measured: {why}"
        elif got["status"] != "ok":
            row["status"], row["reason"] = got["status"], got["reason"]
        elif direction == "round_trip":
            rtt = got["rtt_us"]
            row.update(rtt_us_p50=round(_percentile(rtt, 0.5), 1),
                       rtt_us_p99=round(_percentile(rtt, 0.99), 1), samples=len(rtt),
                       ping_loss_pct=round(100 * (net["pings"] - len(rtt)) / net["pings"], 2))
        else:
            row.update(throughput_mbit=got["throughput_mbit"], samples=1)
        row.update(cpu_columns(kernels, mark_label(path, direction, streams)))
        row["cpu_s_per_gbit"] = per_gbit(row["cpu_s"], row["throughput_mbit"],
                                         net["duration_s"])
        rows.append(row)
    return rows


LINKS_COLUMNS = ["system", "secondaries", "path", "direction", "streams", *LINK_COLUMNS,
                 "round", "accel", "timebase", "status", *PROVENANCE]


def link_rows(run_dir: Path, side: str, net: dict) -> list[dict]:
    """The multikernel's pcn links during each case's step (links.csv): per kernel and
    peer, what its queue, rings and IPIs did, from the marks around the step."""
    system, k = parse_side(side)
    if system != SYSTEM:
        return []
    status = read_json(run_dir / "status.json")
    kernels = console_values(run_dir, k + 1)
    return [{"system": system, "secondaries": k, "path": path, "direction": direction,
             "streams": streams, **link, **run_columns(status), "status": status["status"]}
            for path, direction, streams in net_cases(system, net, k)
            for link in link_deltas(kernels, mark_label(path, direction, streams))]


def mark_label(path: str, direction: str, streams: int) -> str:
    """The label a case's step was marked with: by the guest for what it measured itself
    (its iperf3 output's name), by the host otherwise."""
    if path in INNER:
        return f"{INNER[path][0]}-{streams}"
    return step_label(path, direction, streams)


def per_gbit(cpu_s: float | None, mbit: float | None, seconds: float) -> float | None:
    """CPU seconds (all kernels) per Gbit carried: what a bit cost, to compare systems."""
    if cpu_s is None or not mbit:
        return None
    return round(cpu_s / (mbit * seconds / 1000), 3)


def write_link(run_dir: Path, network: dict, out: Path) -> dict:
    summary = link_summary(run_dir, network)
    atomic_write_json(out, summary)
    log.info(f"net: link {summary['link_mbit']} Mbit/s ({summary['status']}"
             + (f": {summary['reason']}" if summary["reason"] else "") + ")")
    return summary
