"""The network experiments on the hardware target: this host is the client, over its own
route to the machine's NIC, at that link's own rate. Nothing here shapes the link (it is
the machine's, shared with whatever else is on it) and no namespace is made.

The multikernel's secondaries sit behind the machine's primary (netbed.KERNELS_NET), so
for a multikernel's run this host routes that subnet through the machine's address,
unless a route it already has does so; a route it added it removes again.
"""
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .. import log
from ..hosttools import require
from ..netbed import KERNELS_NET, NetBedError

PROBE = "10.78.0.2"     # the first secondary's address, inside KERNELS_NET


@dataclass(frozen=True)
class MachineBed:
    guest_ip: str       # the address the machine's image has

    def in_client(self, argv: list[str]) -> list[str]:
        return list(argv)   # the load generators run here, as they are

    def in_link(self, argv: list[str]) -> list[str]:
        return list(argv)

    def shape(self, mbit: int | None) -> None:
        """The machine's link runs at its own rate: net.py's link.json says which."""


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require("ip"), *args], capture_output=True, text=True, check=False)


def routes_through(address: str) -> bool:
    """Whether this host already sends the secondaries' subnet to the machine."""
    got = _ip("-4", "route", "get", PROBE)
    return got.returncode == 0 and f" via {address} " in f" {got.stdout} "


@contextmanager
def machine_bed(address: str, route: bool) -> Iterator[MachineBed]:
    """route: the load reaches the secondaries too (a multikernel's run)."""
    added = False
    if route and not routes_through(address):
        got = _ip("-4", "route", "add", KERNELS_NET, "via", address)
        if got.returncode != 0:
            why = (got.stderr.strip().splitlines() or ["no output"])[-1]
            if "File exists" in why:
                now = _ip("-4", "route", "get", PROBE).stdout.strip()
                why = f"a route to it exists already and goes elsewhere ({now})"
            raise NetBedError(
                f"this host cannot route {KERNELS_NET} (the multikernel's links) through the "
                f"machine at {address}: ip route add: {why} (it needs root, and the machine "
                f"on a subnet of this host; or set that route up yourself)")
        added = True
        log.info(f"hardware: routing {KERNELS_NET} through {address} for the run")
    try:
        yield MachineBed(address)
    finally:
        if added:
            _ip("-4", "route", "del", KERNELS_NET, "via", address)
