"""The network test bed: two network namespaces that the pipeline makes and removes
itself, so that no packet leaves the machine and no address is visible outside them.

    client namespace (load generators)      link namespace (QEMU runs here)
    vc 10.77.0.1/24  <------ veth ------>  vl 10.77.0.2/24
                                           tap0 10.77.1.1/24 <-- tap --> guest 10.77.1.2

The link namespace routes between the two subnets, and sends 10.78.0.0/24 (a
multikernel guest's pcn links to its secondaries) to the guest, whose primary routes. tc shapes the egress of vl (towards
the clients) and of tap0 (towards the guest), so both directions are shaped with plain
tbf, without ifb. Names carry the runner's PID: a namespace whose PID is gone was left
by an interrupted run; it is removed, with whatever still runs in it, before a new bed
is made. Everything here needs CAP_NET_ADMIN.
"""
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import log
from .errors import PopartError
from .hosttools import require

PREFIX = "popcorn"
NAME = re.compile(rf"^{PREFIX}(\d+)-(client|link)$")
CLIENT_IP, ROUTER_CLIENT_IP = "10.77.0.1", "10.77.0.2"
ROUTER_GUEST_IP, GUEST_IP = "10.77.1.1", "10.77.1.2"
GUEST_MAC = "52:54:00:77:01:02"
KERNELS_NET = "10.78.0.0/24"  # the multikernel's pcn links, behind the guest (its primary)
TAP = "tap0"
TBF_LATENCY_MS = 50


class NetBedError(PopartError):
    kind = "network test bed"


@dataclass(frozen=True)
class NetBed:
    client_ns: str
    link_ns: str
    guest_ip: str = GUEST_IP    # where the load finds the guest (hardware/bed.py: the machine)

    def in_client(self, argv: list[str]) -> list[str]:
        """argv run in the client namespace, where the load generators live."""
        return [require("ip"), "netns", "exec", self.client_ns, *argv]

    def in_link(self, argv: list[str]) -> list[str]:
        """argv run in the link namespace, where QEMU's tap device is."""
        return [require("ip"), "netns", "exec", self.link_ns, *argv]

    def shape(self, mbit: int | None) -> None:
        shape(self, mbit)


def _ip(*args: str) -> None:
    argv = [require("ip"), *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or ["no output"])[-1]
        hint = (" (the test bed needs root, or CAP_NET_ADMIN)"
                if "not permitted" in why.lower() or "permission" in why.lower() else "")
        raise NetBedError(f"ip {' '.join(args)}: {why}{hint}")


def namespaces() -> list[str]:
    result = subprocess.run([require("ip"), "netns", "list"], capture_output=True, text=True,
                            check=False)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete(ns: str) -> None:
    """Stops what still runs in the namespace (a QEMU, a load generator), then removes it."""
    result = subprocess.run([require("ip"), "netns", "pids", ns], capture_output=True,
                            text=True, check=False)
    for pid in (int(p) for p in result.stdout.split() if p.isdigit()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _ip("netns", "delete", ns)


def remove_stale() -> list[str]:
    """Removes the namespaces of runs whose runner is gone; returns their names."""
    stale = [ns for ns in namespaces()
             if (m := NAME.match(ns)) and not _pid_alive(int(m.group(1)))]
    for ns in stale:
        log.warn(f"netbed: removing {ns}, left by an interrupted run")
        _delete(ns)
    return stale


def _make(bed: NetBed) -> None:
    c, link = bed.client_ns, bed.link_ns
    _ip("netns", "add", c)
    _ip("netns", "add", link)
    for ns in (c, link):
        _ip("-n", ns, "link", "set", "lo", "up")
    _ip("link", "add", "vc", "netns", c, "type", "veth", "peer", "name", "vl", "netns", link)
    _ip("-n", c, "addr", "add", f"{CLIENT_IP}/24", "dev", "vc")
    _ip("-n", c, "link", "set", "vc", "up")
    _ip("-n", c, "route", "add", f"{GUEST_IP.rsplit('.', 1)[0]}.0/24", "via", ROUTER_CLIENT_IP)
    _ip("-n", c, "route", "add", KERNELS_NET, "via", ROUTER_CLIENT_IP)
    _ip("-n", link, "addr", "add", f"{ROUTER_CLIENT_IP}/24", "dev", "vl")
    _ip("-n", link, "link", "set", "vl", "up")
    _ip("-n", link, "tuntap", "add", "dev", TAP, "mode", "tap")
    _ip("-n", link, "addr", "add", f"{ROUTER_GUEST_IP}/24", "dev", TAP)
    _ip("-n", link, "link", "set", TAP, "up")
    _ip("-n", link, "route", "add", KERNELS_NET, "via", GUEST_IP)
    _ip("netns", "exec", link, require("sysctl"), "-qw", "net.ipv4.ip_forward=1")


def tbf_args(mbit: int) -> list[str]:
    """A token bucket at mbit, with a burst of 4 ms of traffic but at least 64 KiB: the
    rate needs rate/HZ, and a guest's offloaded segments reach 64 KiB."""
    burst = max(mbit * 1_000_000 // 8 // 250, 64 * 1024)
    return ["tbf", "rate", f"{mbit}mbit", "burst", str(burst), "latency", f"{TBF_LATENCY_MS}ms"]


def shape(bed: NetBed, mbit: int | None) -> None:
    """Shapes both directions to mbit; None takes the shaping away (an unshaped link)."""
    for dev in ("vl", TAP):
        if mbit is None:
            subprocess.run([require("ip"), "netns", "exec", bed.link_ns, require("tc"),
                            "qdisc", "del", "dev", dev, "root"], capture_output=True,
                           check=False)  # absent already: nothing to take away
            continue
        argv = [require("tc"), "qdisc", "replace", "dev", dev, "root", *tbf_args(mbit)]
        result = subprocess.run(bed.in_link(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise NetBedError(f"tc on {dev}: {result.stderr.strip() or 'failed'}")


@contextmanager
def testbed(pid: int | None = None) -> Iterator[NetBed]:
    """A fresh test bed, removed again however the block ends."""
    pid = os.getpid() if pid is None else pid
    remove_stale()
    bed = NetBed(f"{PREFIX}{pid}-client", f"{PREFIX}{pid}-link")
    for ns in (bed.client_ns, bed.link_ns):
        if ns in namespaces():  # this very PID's, from a run that did not clean up
            _delete(ns)
    try:
        _make(bed)
        log.info(f"netbed: {bed.client_ns} ({CLIENT_IP}) <-> {bed.link_ns} <-> guest "
                 f"{GUEST_IP}")
        yield bed
    finally:
        for ns in (bed.client_ns, bed.link_ns):
            if ns in namespaces():
                _delete(ns)
