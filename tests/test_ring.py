"""The kernel's inter-kernel message ring, the same C source compiled for user space."""
import subprocess

import pytest

from conftest import REPO

RING_DIR = REPO / "kernel/src/arch/x86/kernel/popcorn"


@pytest.fixture(scope="module")
def ring_test(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ring") / "ring_test"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
                    f"-I{REPO / 'kernel/ring-host'}", f"-I{RING_DIR}", str(REPO / "kernel/ring-host/ring_test.c"),
                    str(RING_DIR / "ring.c"), "-o", str(out)], check=True)
    return str(out)


def test_ring_rules_sizes_full_ring_malformed_input_and_restarts(ring_test):
    result = subprocess.run([ring_test, "unit"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("\nok ") + result.stdout.startswith("ok ") == 9


def test_concurrent_producer_and_consumer_lose_nothing_among_malformed_slots(ring_test):
    result = subprocess.run([ring_test, "concurrent", "200000"], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stdout
    counts = dict(f.split("=") for f in result.stdout.splitlines()[0].split())
    assert counts["received"] == counts["sent"] == "200000"
    assert counts["corrupted"] == counts["out_of_order"] == "0"
    # One malformed slot among every 100 messages, each rejected once.
    assert counts["malformed"] == counts["injected"] == "2000"


def test_round_trips_over_two_rings_and_a_cache_line_complete(ring_test):
    """The ring's own round-trip cost beside the raw cache line's (measured by the
    pipeline's ring benchmark for README, not asserted here)."""
    result = subprocess.run([ring_test, "pingpong", "2000", "2"], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout
    rounds = [dict(f.split("=") for f in line.split()) for line in result.stdout.splitlines()]
    assert [r["round"] for r in rounds] == ["0", "1"]
    assert all(float(r["ring_round_trip_ns"]) > 0 and float(r["line_round_trip_ns"]) > 0
               for r in rounds)
