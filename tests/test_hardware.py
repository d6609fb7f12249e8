"""The hardware target without a machine: facts parsing, refusals by name, the accel
label, the kernel's NIC drivers, the command line planned on the machine, the config."""
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from popart.config import validate_config
from popart.errors import ConfigError, TargetError
from popart.experiments.multikernel import multikernel_machine
from popart.hardware.drivers import builtin_net_drivers
from popart.hardware.facts import accel_of, parse, refusals
from popart.partition import MIB
from popart.targets.hardware import HardwareTarget

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
STANDIN = (REPO / "tests/data/facts-standin.txt").read_text()
# A bare-metal server as its facts script would see it: 2 cores x 2 threads (Linux
# numbers the first threads, then their siblings), a hole in its RAM below 4 GiB.
SERVER = """uid=0
release=6.1.0-26-amd64
kexec=/usr/sbin/kexec
lockdown=[none] integrity confidentiality
sys_vendor=Dell Inc.
product_name=PowerEdge R640
model=Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
hypervisor_bit=0
hypervisor=
apic_base=00000000fee00900
x2apic_log=
cpu 0 0 0 0
cpu 1 2 1 0
cpu 2 1 0 0
cpu 3 3 1 0
mem 0x0 0x9bfff System RAM
mem 0x100000 0x5fffffff System RAM
mem 0x60000000 0x6fffffff Reserved
mem 0x70000000 0xbfffffff System RAM
mem 0x100000000 0x83fffffff System RAM
nic eno1 tg3 ec:f4:bb:00:00:01 192.168.1.20/24,
nic eno2 e1000e ec:f4:bb:00:00:02 speed=-1
gateway=192.168.1.1
"""


def test_the_stand_ins_facts_parse():
    f = parse(STANDIN)
    assert f.uid == 0 and f.kexec == "/usr/sbin/kexec" and f.x2apic is False
    assert [c.apic_id for c in f.cpus] == list(range(len(f.cpus))) and len(f.cpus) >= 3
    assert f.nic_for("10.79.0.2").driver == "e1000" and f.gateway == "10.79.0.1"
    assert f.nic_for("10.79.0.2").speed_mbit == 1000
    ram = [r for r in f.memmap if r.kind == "usable"]
    assert ram[0].start == 0 and ram[1].start == MIB


def test_a_nic_without_a_rate_or_address_parses():
    eno1, eno2 = parse(SERVER).nics   # eno1 in the older format, without speed=
    assert (eno1.speed_mbit, eno1.addresses) == (None, ["192.168.1.20/24"])
    assert (eno2.speed_mbit, eno2.addresses) == (None, [])


def test_every_refusal_is_named():
    f = parse(SERVER.replace("uid=0", "uid=1000").replace("kexec=/usr/sbin/kexec", "kexec=")
              .replace("[none] integrity", "none [integrity]")
              .replace("fee00900", "fee00d00"))
    problems = " | ".join(refusals(f, "192.168.1.20", {"e1000", "virtio_net"}))
    for words in ("uid 1000, not root", "no kexec program", "lockdown is 'integrity'",
                  "x2APIC mode", "NIC eno1 uses driver tg3", "hardware.kernel_fragments"):
        assert words in problems
    assert refusals(parse(SERVER), "192.168.1.20", {"tg3"}) == []
    assert "no NIC of the machine carries 10.0.0.9" in refusals(parse(SERVER), "10.0.0.9",
                                                                {"tg3"})
    unknown = parse(SERVER.replace("apic_base=00000000fee00900", "apic_base="))
    assert any("APIC mode is unknown" in p for p in refusals(unknown, "192.168.1.20", {"tg3"}))
    logged = parse(SERVER.replace("apic_base=00000000fee00900", "apic_base=")
                   .replace("x2apic_log=", "x2apic_log=[    0.25] x2apic enabled"))
    assert logged.x2apic is True


def test_accel_is_hw_only_on_bare_metal():
    assert accel_of(parse(SERVER), None) == "hw"
    assert accel_of(parse(SERVER.replace("hypervisor=", "hypervisor=KVM")
                          .replace("hypervisor_bit=0", "hypervisor_bit=1")), "tcg") == "kvm"
    vm = parse(STANDIN)   # QEMU's DMI vendor, no KVM signature: what the config says
    assert accel_of(vm, "tcg") == "tcg"
    with pytest.raises(TargetError, match="hardware.accel: the machine is a virtual machine"):
        accel_of(vm, "auto")
    no_bit = parse(SERVER.replace("sys_vendor=Dell Inc.", "sys_vendor=QEMU"))
    assert accel_of(no_bit, "kvm") == "kvm"


def test_builtin_drivers_come_from_the_trees_makefiles(tmp_path):
    net = tmp_path / "drivers/net/ethernet/intel"
    net.mkdir(parents=True)
    (net / "Makefile").write_text("obj-$(CONFIG_E1000) += e1000/\nobj-$(CONFIG_IGB) += igb.o\n"
                                  "obj-$(CONFIG_E1000E) += e1000e.o\n")
    (net / "e1000").mkdir()
    (net / "e1000/Makefile").write_text("obj-$(CONFIG_E1000) += e1000.o\n")
    config = "CONFIG_E1000=y\n# CONFIG_E1000E is not set\nCONFIG_IGB=m\n"
    assert builtin_net_drivers(tmp_path, config) == {"e1000"}


def hardware_config(tmp_path: Path, **hw) -> dict:
    (tmp_path / "key").write_text("k")
    (tmp_path / "known").write_text("h")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(target="hardware", hardware={
        "address": "192.168.1.20", "ssh_key": str(tmp_path / "key"),
        "known_hosts": str(tmp_path / "known"), **hw})
    return validate_config(config, SCHEMA)


def test_the_command_line_is_planned_on_the_machine_not_on_qemus_layout(tmp_path):
    config = hardware_config(tmp_path, kernel_fragments=["kernel/configs/extra.config"])
    assert config["kernel"]["fragments"][-1] == "kernel/configs/extra.config"
    config["experiments"]["multikernel"]["secondaries"] = 1
    m = multikernel_machine(config, Path("bzImage"), Path("initrd"), "tcg")
    assert "memmap=128M$0x40000000" in m.cmdline and "popcorn.apics=1 " in m.cmdline + " "
    f = parse(SERVER.replace("mem 0x100000 0x5fffffff", "mem 0x100000 0x3fffffff"))
    cmdline = HardwareTarget(config["hardware"]).cmdline(m, f, "n0nce")
    # The RAM after the hole, the other core's first thread, the NIC's own address.
    assert "memmap=128M$0x70000000" in cmdline and "popcorn.base=0x70000000" in cmdline
    assert "popcorn.apics=2 " in cmdline and "memmap=128M$0x40000000" not in cmdline
    assert ("popcorn.hw=1 popcorn.hw_run=n0nce popcorn.hw_mac=ec:f4:bb:00:00:01 "
            "popcorn.hw_addr=192.168.1.20/24 popcorn.hw_gw=192.168.1.1") in cmdline
    leased = HardwareTarget({**config["hardware"], "image_address": "dhcp"})
    assert leased.cmdline(m, f, "n0nce").endswith(  # the lease's own router
        " popcorn.hw_addr=dhcp popcorn.hw_expect=192.168.1.20")
    assert leased.image_ip() == "192.168.1.20"
    lent = HardwareTarget({**config["hardware"], "cpus": [2]})
    with pytest.raises(ConfigError, match="more whole cores"):
        lent.cmdline(m, f, "n0nce")  # CPU 2 is the boot CPU's sibling: never lent


def test_the_smp_side_runs_on_as_many_of_the_machines_cpus_as_under_qemu(tmp_path):
    config = hardware_config(tmp_path)
    m = multikernel_machine(config, Path("bzImage"), Path("initrd"), "tcg")
    smp = replace(m, plan=None, vcpus=2, cmdline="console=ttyS0 rdinit=/init")
    target = HardwareTarget(config["hardware"])
    assert target.cmdline(smp, parse(SERVER), "n0nce").startswith(
        "console=ttyS0 rdinit=/init maxcpus=2 popcorn.hw=1 ")
    with pytest.raises(TargetError, match="the SMP side needs 8 CPUs and the machine has 4"):
        target.cmdline(replace(smp, vcpus=8), parse(SERVER), "n0nce")


def test_the_network_multikernel_is_planned_on_the_machine_too(tmp_path):
    from popart.experiments.mknet import mk_machine
    from popart.hardware.bed import MachineBed
    config = hardware_config(tmp_path)
    m = mk_machine(config, Path("bzImage"), Path("initrd"), "tcg", MachineBed("192.168.1.20"),
                   1, [1024], 60)
    cmdline = HardwareTarget(config["hardware"]).cmdline(m, parse(SERVER), "n0nce")
    assert cmdline.count("maxcpus=") == 1 and "popcorn.apics=2 " in cmdline
    with pytest.raises(TargetError, match="a partition but no plan"):
        HardwareTarget(config["hardware"]).cmdline(replace(m, plan=None), parse(SERVER), "n")


def test_hardware_config_is_checked_by_name(tmp_path):
    with pytest.raises(ConfigError, match="hardware: target hardware needs a hardware section"):
        config = yaml.safe_load((REPO / "config.yaml").read_text())
        validate_config({**config, "target": "hardware"}, SCHEMA)
    config = hardware_config(tmp_path)
    config["hardware"]["ssh_key"] = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match="hardware.ssh_key: .*missing: no such file"):
        validate_config(config, SCHEMA)
    with pytest.raises(ConfigError, match="hardware.address"):
        hardware_config(tmp_path, address="machine.example")


def test_make_plan_covers_the_network_multikernels_too(tmp_path):
    from popart.experiments.plans import requests
    config = hardware_config(tmp_path)
    config["experiments"]["web"]["vcpus"] = [2, 3]
    config["experiments"]["net"]["secondaries"] = [2, 3]
    planned = requests(config)
    assert (planned["net-k2"].secondaries, planned["net-k3"].secondaries) == (2, 3)
    assert (planned["web-v2"].secondaries, planned["web-v3"].secondaries) == (1, 2)
    config["experiments"]["web"]["enabled"] = False
    config["experiments"]["net"]["systems"] = ["smp"]
    assert not {"net-k2", "web-v2"} & set(requests(config))
