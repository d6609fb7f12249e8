"""Accelerator choice: explicit values, fallbacks, and the probe that boots the kernel."""
from pathlib import Path

import pytest

from popart.accel import resolve_accel
from popart.errors import ConfigError
from popart.targets.qemu import QemuTarget

QEMU = {"accel": "auto", "probe_timeout_s": 2, "icount": None, "append": "quiet",
        "machine": "pc", "cpu": "max"}
K, I = Path("/k/bzImage"), Path("/k/initrd")


def resolve(tmp_path, fake, **qemu):
    device = qemu.pop("device", tmp_path / "kvm")
    return resolve_accel({**QEMU, **qemu}, K, I, tmp_path / "probe", QemuTarget(fake), device)


def test_tcg_requested_is_tcg(tmp_path, fake_qemu):
    assert resolve(tmp_path, fake_qemu("ok"), accel="tcg")["accel"] == "tcg"


def test_kvm_requested_without_device_is_a_config_error(tmp_path, fake_qemu):
    with pytest.raises(ConfigError, match="qemu.accel: kvm requested"):
        resolve(tmp_path, fake_qemu("ok"), accel="kvm", device=tmp_path / "absent")


def test_auto_without_device_falls_back_with_reason(tmp_path, fake_qemu):
    choice = resolve(tmp_path, fake_qemu("ok"), device=tmp_path / "absent")
    assert choice["accel"] == "tcg" and "absent" in choice["reason"]


def test_auto_with_icount_is_tcg_without_probe(tmp_path, fake_qemu):
    choice = resolve(tmp_path, fake_qemu("ok"), icount=3)
    assert choice["accel"] == "tcg" and not (tmp_path / "probe").exists()


def test_auto_probe_that_boots_picks_kvm(tmp_path, fake_qemu):
    (tmp_path / "kvm").write_text("")  # a device that opens: the probe decides
    choice = resolve(tmp_path, fake_qemu("ok"))
    assert choice["accel"] == "kvm" and "reached init" in choice["reason"]
    argv = (tmp_path / "probe" / "qemu-cmdline.sh").read_text()
    assert "-accel kvm" in argv and "popcorn.exp=probe" in argv


def test_auto_probe_that_hangs_in_the_decompressor_falls_back(tmp_path, fake_qemu):
    (tmp_path / "kvm").write_text("")
    choice = resolve(tmp_path, fake_qemu("hang-boot"))
    assert choice["accel"] == "tcg"
    assert choice["reason"].startswith("KVM probe timeout: no init start marker within 2 s")
    assert (tmp_path / "probe" / "console.log").exists()
