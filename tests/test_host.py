"""Host tools name their Debian package; the boot image lists what it should."""
from pathlib import Path

import pytest

from popart.errors import MissingToolError
from popart.hosttools import package_of, require
from popart.initramfs import cpio_list


def test_missing_tool_names_its_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingToolError, match="install the Debian package qemu-system-x86"):
        require("qemu-system-x86_64")


def test_every_listed_tool_has_a_package():
    assert package_of()["ccache"] == "ccache"
    assert package_of()["/bin/busybox"] == "busybox-static"


def test_cpio_list_has_console_init_programs_and_applets(tmp_path):
    (tmp_path / "boot.sh").write_text(". /exp/lib.sh\n")
    (tmp_path / "udhcpc.sh").write_text("#!/bin/sh\n")  # run by udhcpc itself
    listing = cpio_list(Path("/w/init"), [Path("/w/pingpong")],
                        [tmp_path / "boot.sh", tmp_path / "udhcpc.sh"],
                        "/bin/busybox", ["bin/sh", "sbin/reboot", "bin/pingpong"])
    lines = listing.splitlines()
    assert "nod /dev/console 0600 0 0 c 5 1" in lines
    assert "file /init /w/init 0755 0 0" in lines
    assert "slink /bin/sh ../bin/busybox 0777 0 0" in lines
    assert "slink /sbin/reboot ../bin/busybox 0777 0 0" in lines
    assert "file /bin/pingpong /w/pingpong 0755 0 0" in lines
    assert not any(line.startswith("slink /bin/pingpong") for line in lines)
    assert f"file /exp/boot.sh {tmp_path}/boot.sh 0644 0 0" in lines
    assert f"file /exp/udhcpc.sh {tmp_path}/udhcpc.sh 0755 0 0" in lines



def test_a_missing_host_file_of_the_dag_names_its_package(tmp_path):
    # images.smk's host_file("/usr/bin/iperf3"), as if it were gone: the list names the
    # program, so its file's name finds the package too.
    with pytest.raises(MissingToolError, match="install the Debian package iperf3 "):
        require(str(tmp_path / "usr/bin/iperf3"))
    with pytest.raises(MissingToolError, match="install the Debian package linux-source-6.99 "):
        require(str(tmp_path / "linux-source-6.99.tar.xz"), "linux-source-6.99")
    assert package_of()["/bin/busybox"] == "busybox-static"
