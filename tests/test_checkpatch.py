"""The kernel's own style check over the Popcorn sources and patches: make test fails on
any error or warning. checkpatch.pl comes from the kernel source tarball (extracted
once into the cache)."""
from pathlib import Path

import pytest

from conftest import REPO
from popart.kernel.checkpatch import check_patches, check_sources, extract_checkpatch
from popart.kernel.source import debian_source
from popart.paths import cache_root


@pytest.fixture(scope="module")
def checkpatch() -> Path:
    source = debian_source("linux-source-6.12")
    return extract_checkpatch(Path(source.tarball), source.sha256, cache_root())


def test_popcorn_sources_are_checkpatch_clean(checkpatch):
    assert check_sources(checkpatch, REPO / "kernel/src") == []


def test_popcorn_patches_are_checkpatch_clean(checkpatch):
    assert check_patches(checkpatch, REPO / "kernel/patches") == []


def test_the_check_reports_what_the_kernel_forbids(checkpatch, tmp_path):
    # The rules depend on the in-tree path: in_atomic() is an error in a driver.
    driver = tmp_path / "drivers/misc/bad.c"
    driver.parent.mkdir(parents=True)
    driver.write_text("// SPDX-License-Identifier: GPL-2.0\n#include <linux/preempt.h>\n\n"
                      "int bad(void)\n{\n\treturn in_atomic(); \n}\n")
    findings = check_sources(checkpatch, tmp_path)
    assert any("drivers/misc/bad.c:6: ERROR:IN_ATOMIC:" in x for x in findings), findings
    assert any("TRAILING_WHITESPACE" in x for x in findings), findings
