"""The partition planner, on QEMU's model and on machines with SMT, holes and limits."""
import pytest

from popart.errors import ConfigError
from popart.experiments.multikernel import layout
from popart.partition import MIB, Cpu, MemRange, Request, plan, qemu_cpus, qemu_memmap

GIB = 1024 * MIB


def smt_machine(cores: int, threads: int = 2) -> list[Cpu]:
    """Linux's numbering on a typical SMT machine: first threads, then their siblings."""
    return [Cpu(cpu=t * cores + c, apic_id=2 * c + t, core=c, package=0)
            for t in range(threads) for c in range(cores)]


def firmware_map(*usable: tuple[int, int]) -> list[MemRange]:
    return [MemRange(0, 0x9f000, "usable"), MemRange(0x9f000, 0x100000, "reserved"),
            *(MemRange(a, b, "usable") for a, b in usable)]


def test_qemu_layout_is_the_planned_one_at_one_gib_with_apic_ids_in_order():
    p = layout({"secondaries": 3, "mem_mib_per_secondary": 128, "cpus_per_secondary": 1})
    assert (p["vcpus"], p["mem_mib"]) == (4, 1424)
    assert "memmap=384M$0x40000000 memmap=192K$0x20000" in p["append"]
    assert "popcorn.base=0x40000000 popcorn.apics=1:2:3" in p["append"]
    s = p["plan"].secondaries
    assert [x.start for x in s] == [GIB, GIB + 128 * MIB, GIB + 256 * MIB]
    assert [x.low for x in s] == [0x20000, 0x30000, 0x40000]


def test_smt_siblings_of_one_core_never_go_to_two_kernels():
    cpus = smt_machine(cores=4)
    p = plan(Request(secondaries=3, mib=64, cpus=1), cpus, firmware_map((MIB, 8 * GIB)))
    assert p.primary_apic == 0
    assert [s.apic_ids for s in p.secondaries] == [(2,), (4,), (6,)]
    assert p.idle_apics == (3, 5, 7)   # each lent core's sibling stays idle
    p = plan(Request(secondaries=1, mib=64, cpus=2), cpus, firmware_map((MIB, 8 * GIB)))
    assert p.secondaries[0].apic_ids == (2, 3)


def test_a_secondary_of_three_cpus_takes_two_whole_cores():
    p = plan(Request(secondaries=1, mib=64, cpus=3), smt_machine(cores=3),
             firmware_map((MIB, 4 * GIB)))
    assert p.secondaries[0].apic_ids == (2, 3, 4) and p.idle_apics == (5,)


def test_cpus_that_may_not_be_lent_are_left_alone_and_bad_ones_are_named():
    cpus = smt_machine(cores=4)
    p = plan(Request(1, 64, 1, lend_cpus=(3, 7)), cpus, firmware_map((MIB, 4 * GIB)))
    assert p.secondaries[0].apic_ids == (6,)
    with pytest.raises(ConfigError, match="more whole cores"):
        plan(Request(1, 64, 1, lend_cpus=(3,)), cpus, firmware_map((MIB, 4 * GIB)))
    with pytest.raises(ConfigError, match="hardware.cpus: CPU 9 is not on the machine"):
        plan(Request(1, 64, 1, lend_cpus=(9,)), cpus, firmware_map((MIB, 4 * GIB)))


def test_ram_comes_from_a_usable_range_between_one_and_four_gib_past_holes():
    ram = firmware_map((MIB, GIB + 100 * MIB), (GIB + 200 * MIB + 4096, 3 * GIB))
    p = plan(Request(2, 256, 1), qemu_cpus(3), ram)
    assert p.base == GIB + 200 * MIB + 2 * MIB   # after the hole, 2 MiB aligned
    with pytest.raises(ConfigError, match=r"no usable RAM range .* largest is 1847 MiB"):
        plan(Request(2, 1024, 1), qemu_cpus(3), ram)
    above_4g_only = firmware_map((MIB, GIB), (4 * GIB, 64 * GIB))
    with pytest.raises(ConfigError, match="between 1 GiB and 4 GiB"):
        plan(Request(1, 64, 1), qemu_cpus(2), above_4g_only)
    with pytest.raises(ConfigError, match="hardware.mem_mib: 2 x 256 MiB"):
        plan(Request(2, 256, 1, lend_mib=300), qemu_cpus(3), firmware_map((MIB, 4 * GIB)))


def test_low_windows_must_be_usable_ram():
    ram = [MemRange(0, 0x30000, "usable"), MemRange(MIB, 4 * GIB, "usable")]
    plan(Request(1, 64, 1), qemu_cpus(2), ram)
    with pytest.raises(ConfigError, match="low windows 0x20000-0x3ffff"):
        plan(Request(2, 64, 1), qemu_cpus(3), ram)


def test_x2apic_ids_are_refused_by_name():
    cpus = [Cpu(0, 0, 0, 0), Cpu(1, 300, 1, 0)]
    with pytest.raises(ConfigError, match="APIC ID 300"):
        plan(Request(1, 64, 1), cpus, firmware_map((MIB, 4 * GIB)))


def test_no_secondaries_plans_nothing():
    p = plan(Request(0, 64, 1), qemu_cpus(2), qemu_memmap(1024))
    assert p.kernel_params() == "" and p.secondaries == ()


def test_qemu_model_splits_large_ram_at_three_gib():
    ram = {r.start: r for r in qemu_memmap(4096) if r.kind == "usable"}
    assert ram[MIB].end == 3 * GIB - 0x20000 and ram[4 * GIB].end == 5 * GIB
