"""The partition planner: which CPUs (by APIC ID), which RAM and which low window each
secondary gets, planned from a machine's facts (its firmware memory map and CPU
topology) and never from a layout assumed in advance. The QEMU target plans on a model
of its machine's map (`qemu_memmap`, checked against a real boot by the e2e tests), the
hardware target on the map and topology it reads from the machine, so both share this.

Rules: the primary keeps the boot CPU's whole core and the first GiB; the secondaries'
RAM is one block (one memmap= reservation) inside one usable range below 4 GiB (the
loader's identity map); each secondary gets whole cores, so the SMT siblings of a core
are never split between two kernels (a sibling a secondary does not use stays idle);
the low windows (64 KiB each from 0x20000) must be usable RAM below the primary's
trampoline.
"""
from dataclasses import dataclass

from .errors import ConfigError

MIB = 1 << 20
PRIMARY_MIB = 1024            # the primary keeps the first GiB
LOW_WINDOW_BASE = 0x20000
LOW_WINDOW_SIZE = 0x10000
LOW_WINDOWS = 7               # windows from 0x20000 that stay below the primary's trampoline
FOUR_GIB = 1 << 32
ALIGN = 2 * MIB               # a partition starts on a large-page boundary
MAX_XAPIC_ID = 254            # 0xff is the xAPIC broadcast ID


@dataclass(frozen=True)
class Cpu:
    cpu: int          # the Linux CPU number on the machine's own kernel (0 boots)
    apic_id: int
    core: int
    package: int


@dataclass(frozen=True)
class MemRange:
    start: int
    end: int          # exclusive
    kind: str         # "usable" (System RAM) or what the firmware called it


@dataclass(frozen=True)
class Request:
    secondaries: int
    mib: int          # per secondary
    cpus: int         # per secondary
    lend_cpus: tuple[int, ...] | None = None  # CPU numbers that may be lent; None: all
    lend_mib: int | None = None               # at most this much RAM lent; None: no cap


@dataclass(frozen=True)
class Secondary:
    kernel_id: int
    apic_ids: tuple[int, ...]
    start: int
    size: int
    low: int


@dataclass(frozen=True)
class Plan:
    request: Request
    primary_apic: int
    secondaries: tuple[Secondary, ...]
    idle_apics: tuple[int, ...]   # siblings of lent cores that no kernel runs on

    @property
    def base(self) -> int:
        return self.secondaries[0].start if self.secondaries else 0

    def kernel_params(self) -> str:
        """The primary's command line for this plan (guest/exp/lib.sh reads popcorn.*)."""
        k, r = len(self.secondaries), self.request
        if k == 0:
            return ""
        apics = ":".join(",".join(map(str, s.apic_ids)) for s in self.secondaries)
        return (f"maxcpus=1 memmap={k * r.mib}M${self.base:#x} "
                f"memmap={k * 64}K${LOW_WINDOW_BASE:#x} nokaslr no_ipi_broadcast=1 "
                f"popcorn.k={k} popcorn.mib={r.mib} popcorn.cpus={r.cpus} "
                f"popcorn.base={self.base:#x} popcorn.apics={apics}")

    def summary(self) -> dict:
        return {"primary_apic": self.primary_apic, "idle_apics": list(self.idle_apics),
                "secondaries": [{"kernel_id": s.kernel_id, "apic_ids": list(s.apic_ids),
                                 "mem": f"{s.start:#x}-{s.start + s.size - 1:#x}",
                                 "mib": s.size // MIB, "low_window": f"{s.low:#x}"}
                                for s in self.secondaries]}


def plan(request: Request, cpus: list[Cpu], memmap: list[MemRange]) -> Plan:
    """The partition for the request on this machine; ConfigError naming what is short."""
    k = request.secondaries
    if k > LOW_WINDOWS:
        raise ConfigError(f"experiments.multikernel.secondaries: at most {LOW_WINDOWS} "
                          "(low-memory windows below the primary's trampoline)")
    boot = _boot_cpu(cpus)
    cores = _lendable_cores(cpus, boot, request.lend_cpus)
    base = _partition_base(request, memmap) if k else 0
    _check_low_windows(k, memmap)
    secondaries, idle = [], []
    for kernel_id in range(1, k + 1):
        threads: list[Cpu] = []
        while len(threads) < request.cpus:
            if not cores:
                raise ConfigError(f"CPUs: {k} secondaries of {request.cpus} CPU(s) need "
                                  f"more whole cores than the machine lends (the primary keeps"
                                  f" CPU {boot.cpu}'s core; siblings are never split)")
            threads += cores.pop(0)
        used, rest = threads[:request.cpus], threads[request.cpus:]
        idle += [c.apic_id for c in rest]
        secondaries.append(Secondary(kernel_id, tuple(c.apic_id for c in used),
                                     base + (kernel_id - 1) * request.mib * MIB,
                                     request.mib * MIB,
                                     LOW_WINDOW_BASE + (kernel_id - 1) * LOW_WINDOW_SIZE))
    too_high = [a for s in secondaries for a in s.apic_ids if a > MAX_XAPIC_ID]
    if too_high:
        raise ConfigError(f"CPUs: APIC ID {too_high[0]} is above {MAX_XAPIC_ID}; the "
                          "multikernel addresses CPUs in xAPIC mode only")
    return Plan(request, boot.apic_id, tuple(secondaries), tuple(idle))


def _boot_cpu(cpus: list[Cpu]) -> Cpu:
    boot = [c for c in cpus if c.cpu == 0]
    if not boot:
        raise ConfigError("CPUs: the machine's facts name no CPU 0 (the boot CPU)")
    return boot[0]


def _lendable_cores(cpus: list[Cpu], boot: Cpu,
                    allowed: tuple[int, ...] | None) -> list[list[Cpu]]:
    """Whole cores whose every thread may be lent, in the order of their first CPU."""
    known = {c.cpu for c in cpus}
    for n in allowed or ():
        if n not in known:
            raise ConfigError(f"hardware.cpus: CPU {n} is not on the machine "
                              f"(it has CPUs {min(known)}-{max(known)})")
    cores: dict[tuple[int, int], list[Cpu]] = {}
    for c in sorted(cpus, key=lambda c: c.cpu):
        cores.setdefault((c.package, c.core), []).append(c)
    primary = (boot.package, boot.core)
    return [sorted(threads, key=lambda c: c.apic_id) for key, threads in cores.items()
            if key != primary and (allowed is None or all(c.cpu in allowed for c in threads))]


def _partition_base(request: Request, memmap: list[MemRange]) -> int:
    size = request.secondaries * request.mib * MIB
    if request.lend_mib is not None and size > request.lend_mib * MIB:
        raise ConfigError(f"hardware.mem_mib: {request.secondaries} x {request.mib} MiB is "
                          f"more than the {request.lend_mib} MiB the machine lends")
    floor = PRIMARY_MIB * MIB
    for r in sorted(memmap, key=lambda r: r.start):
        if r.kind != "usable" or r.end <= floor or r.start >= FOUR_GIB:
            continue
        start = -(-max(r.start, floor) // ALIGN) * ALIGN
        if start + size <= min(r.end, FOUR_GIB):
            return start
    largest = max((min(r.end, FOUR_GIB) - max(r.start, floor) for r in memmap
                   if r.kind == "usable" and r.end > floor and r.start < FOUR_GIB), default=0)
    raise ConfigError(f"memory: no usable RAM range between 1 GiB and 4 GiB holds "
                      f"{request.secondaries} x {request.mib} MiB (the largest is "
                      f"{max(largest, 0) // MIB} MiB); use fewer or smaller secondaries")


def _check_low_windows(k: int, memmap: list[MemRange]) -> None:
    if k == 0:
        return
    start, end = LOW_WINDOW_BASE, LOW_WINDOW_BASE + k * LOW_WINDOW_SIZE
    if not any(r.kind == "usable" and r.start <= start and end <= r.end for r in memmap):
        raise ConfigError(f"memory: the low windows {start:#x}-{end - 1:#x} are not usable "
                          "RAM in the machine's memory map")


def qemu_cpus(vcpus: int) -> list[Cpu]:
    """QEMU's -smp N on x86: APIC IDs 0..N-1, one thread per core."""
    return [Cpu(cpu=i, apic_id=i, core=i, package=0) for i in range(vcpus)]


def qemu_memmap(mem_mib: int) -> list[MemRange]:
    """The e820 map SeaBIOS gives a QEMU pc machine with this much RAM: conventional
    memory below the EBDA, RAM from 1 MiB to the top of low RAM less the 128 KiB SeaBIOS
    keeps there, and above 4 GiB what did not fit below the 3 GiB split."""
    ram = mem_mib * MIB
    low = ram if ram < 0xe0000000 else 0xc0000000
    ranges = [MemRange(0, 0x9fc00, "usable"), MemRange(0x9fc00, 0xa0000, "reserved"),
              MemRange(0xf0000, 0x100000, "reserved"),
              MemRange(0x100000, low - 0x20000, "usable"),
              MemRange(low - 0x20000, low, "reserved"),
              MemRange(0xfeffc000, 0xff000000, "reserved"),
              MemRange(0xfffc0000, FOUR_GIB, "reserved")]
    if ram > low:
        ranges.append(MemRange(FOUR_GIB, FOUR_GIB + ram - low, "usable"))
    return ranges
