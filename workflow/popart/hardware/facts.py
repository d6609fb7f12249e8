"""A machine's facts (facts.sh's output), what the hardware target refuses on them, and
the accelerator its rows are labelled with."""
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import TargetError
from ..partition import Cpu, MemRange

SCRIPT = Path(__file__).with_name("facts.sh")
X2APIC_ENABLE = 1 << 10   # IA32_APIC_BASE.EXTD
VM_VENDORS = ("QEMU", "KVM", "Xen", "VMware", "innotek", "Microsoft Corporation", "Amazon EC2")


@dataclass
class Nic:
    name: str
    driver: str
    mac: str
    addresses: list[str]        # IPv4 CIDRs
    speed_mbit: int | None = None  # what the link reports; None if down or unknown


@dataclass
class MachineFacts:
    uid: int
    release: str
    kexec: str                  # path of the kexec program, "" if none
    lockdown: str               # the active lockdown mode, "" if the LSM is absent
    sys_vendor: str
    product_name: str
    model: str
    hypervisor_bit: bool
    hypervisor: str             # the kernel's "Hypervisor detected:" name, "" if none
    x2apic: bool | None         # None: neither the MSR nor the log says
    gateway: str
    cpus: list[Cpu] = field(default_factory=list)
    memmap: list[MemRange] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)

    def as_json(self) -> dict:
        d = asdict(self)
        d["memmap"] = [{"start": f"{r.start:#x}", "end": f"{r.end - 1:#x}", "kind": r.kind}
                       for r in self.memmap]
        return d

    def nic_for(self, address: str) -> Nic | None:
        """The NIC that carries the address the host reaches the machine at."""
        return next((n for n in self.nics if carries(n.addresses, address)), None)


def carries(cidrs: list[str], address: str) -> bool:
    return any(a.split("/")[0] == address for a in cidrs)


# Readers of the machine-facts.json a run leaves (MachineFacts.as_json).

def saved_nic_speed(saved: dict, address: str) -> int | None:
    """The rate in Mbit/s of the NIC that carries address; None if unknown."""
    return next((n.get("speed_mbit") for n in saved.get("nics", [])
                 if carries(n["addresses"], address)), None)


def saved_usable_mib(saved: dict) -> int:
    """The machine's usable RAM in MiB, from its firmware map."""
    return sum(int(r["end"], 16) + 1 - int(r["start"], 16) for r in saved["memmap"]
               if r["kind"] == "usable") >> 20


def parse(text: str) -> MachineFacts:
    scalars: dict[str, str] = {}
    cpus, memmap, nics = [], [], []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["cpu"] and len(words) == 5 and all(w.isdigit() for w in words[1:]):
            n, apic, core, package = map(int, words[1:])
            cpus.append(Cpu(cpu=n, apic_id=apic, core=core, package=package))
        elif words[:1] == ["mem"] and len(words) >= 4:
            kind = " ".join(words[3:])
            memmap.append(MemRange(int(words[1], 16), int(words[2], 16) + 1,
                                   "usable" if kind == "System RAM" else kind))
        elif words[:1] == ["nic"] and len(words) >= 4:
            rest = words[4:]
            speed = None
            if rest and rest[0].startswith("speed="):
                value = rest.pop(0).removeprefix("speed=")
                speed = int(value) if value.isdigit() and int(value) > 0 else None
            nics.append(Nic(words[1], words[2], words[3].lower(),
                            [a for a in (rest[0] if rest else "").split(",") if a], speed))
        elif "=" in line:
            key, _, value = line.partition("=")
            scalars[key.strip()] = value.strip()
    if "uid" not in scalars:
        raise TargetError(f"machine facts: no uid line in the facts script's output: "
                          f"{text.strip()[:200]!r}")
    return MachineFacts(
        uid=int(scalars["uid"]), release=scalars.get("release", ""),
        kexec=scalars.get("kexec", ""), lockdown=active_lockdown(scalars.get("lockdown", "")),
        sys_vendor=scalars.get("sys_vendor", ""), product_name=scalars.get("product_name", ""),
        model=scalars.get("model", ""), hypervisor_bit=scalars.get("hypervisor_bit") == "1",
        hypervisor=scalars.get("hypervisor", ""),
        x2apic=x2apic_mode(scalars.get("apic_base", ""), scalars.get("x2apic_log", "")),
        gateway=scalars.get("gateway", ""), cpus=cpus, memmap=memmap, nics=nics)


def active_lockdown(text: str) -> str:
    """"none [integrity] confidentiality" -> "integrity"; "" when the LSM is absent."""
    m = re.search(r"\[(\w+)\]", text)
    return m.group(1) if m else ""


def x2apic_mode(apic_base_hex: str, log_line: str) -> bool | None:
    if re.fullmatch(r"[0-9a-f]{1,16}", apic_base_hex or ""):
        return bool(int(apic_base_hex, 16) & X2APIC_ENABLE)
    return True if log_line else None


def refusals(f: MachineFacts, address: str, kernel_drivers: set[str]) -> list[str]:
    """What the hardware target cannot do on this machine, each by name; empty if none."""
    problems = []
    if f.uid != 0:
        problems.append(f"the SSH user is uid {f.uid}, not root (kexec needs root)")
    if not f.kexec:
        problems.append("no kexec program on the machine (Debian: apt-get install kexec-tools)")
    if f.lockdown and f.lockdown != "none":
        problems.append(f"kernel lockdown is {f.lockdown!r} (Secure Boot?): it forbids "
                        "kexec -l of an unsigned kernel")
    if f.x2apic:
        problems.append("the machine runs in x2APIC mode; the multikernel is xAPIC-only "
                        "(boot its kernel with nox2apic, or turn x2APIC off in the firmware)")
    elif f.x2apic is None:
        problems.append("the APIC mode is unknown (no /dev/cpu/0/msr: load the msr module)")
    if not f.cpus:
        problems.append("/proc/cpuinfo listed no CPUs with APIC IDs")
    if not any(r.kind == "usable" for r in f.memmap):
        problems.append("no firmware memory map (/sys/firmware/memmap is empty)")
    nic = f.nic_for(address)
    if nic is None:
        problems.append(f"no NIC of the machine carries {address}")
    elif nic.driver not in kernel_drivers:
        problems.append(f"NIC {nic.name} uses driver {nic.driver}, which the experiment "
                        "kernel does not have built in (add its fragment to "
                        "hardware.kernel_fragments)")
    return problems


def accel_of(f: MachineFacts, configured: str | None) -> str:
    """hw only on bare metal: a CPUID hypervisor bit or a VM's DMI vendor never is. A VM
    says kvm by its KVM signature, else what hardware.accel says."""
    vm = f.hypervisor_bit or f.sys_vendor.startswith(VM_VENDORS)
    if not vm:
        return "hw"
    if f.hypervisor == "KVM":
        return "kvm"
    if configured in ("kvm", "tcg"):
        return configured
    raise TargetError(f"hardware.accel: the machine is a virtual machine (vendor "
                      f"{f.sys_vendor or 'unknown'}, hypervisor {f.hypervisor or 'unnamed'}); "
                      "say whether it runs under kvm or tcg")
