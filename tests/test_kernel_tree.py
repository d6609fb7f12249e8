"""Patched trees: series handling, patch failures, in-tree sources, atomic reuse."""
import pytest

from popart.errors import PatchError
from popart.kernel.tree import prepare_tree, read_series, tree_key

from test_kernel_source import make_tarball

PATCH = """--- a/init/main.c
+++ b/init/main.c
@@ -1 +1,2 @@
 int x;
+int popcorn;
"""


@pytest.fixture
def layout(tmp_path):
    tarball = tmp_path / "linux-6.12.99.tar.xz"
    sha = make_tarball(tarball)
    patches, src = tmp_path / "patches", tmp_path / "src"
    patches.mkdir()
    src.mkdir()
    (patches / "0001-hook.patch").write_text(PATCH)
    (patches / "series").write_text("# hooks\n0001-hook.patch\n\n")
    (src / "kernel").mkdir()
    (src / "kernel" / "popcorn.c").write_text("int popcorn_new;\n")
    (src / "README.md").write_text("not copied\n")
    return tarball, sha, patches, src, tmp_path / "trees"


def test_tree_has_patch_and_sources_applied(layout):
    tarball, sha, patches, src, trees = layout
    tree, key = prepare_tree(tarball, sha, patches, src, trees)
    assert (tree / "init/main.c").read_text() == "int x;\nint popcorn;\n"
    assert (tree / "kernel/popcorn.c").read_text() == "int popcorn_new;\n"
    assert not (tree / "README.md").exists()
    assert prepare_tree(tarball, sha, patches, src, trees) == (tree, key)  # reused as is


def test_changed_patches_and_sources_update_the_same_tree_in_place(layout):
    tarball, sha, patches, src, trees = layout
    tree, key = prepare_tree(tarball, sha, patches, src, trees)
    untouched = tree / "Makefile"
    mtime = untouched.stat().st_mtime_ns
    (patches / "0001-hook.patch").write_text(PATCH.replace("popcorn", "pcn"))
    (src / "kernel" / "popcorn.c").unlink()
    (src / "kernel" / "other.c").write_text("int other;\n")
    tree2, key2 = prepare_tree(tarball, sha, patches, src, trees)
    assert tree2 == tree and key2 != key
    assert (tree / "init/main.c").read_text() == "int x;\nint pcn;\n"
    assert not (tree / "kernel/popcorn.c").exists() and (tree / "kernel/other.c").exists()
    assert untouched.stat().st_mtime_ns == mtime  # not unpacked again


def test_a_changed_source_is_newer_than_what_was_built_even_if_its_own_mtime_is_older(layout):
    """Two checkouts share one cache: the other one's sources may be older files with
    other contents. make must see them changed; an unchanged file keeps its mtime."""
    import os
    import time
    tarball, sha, patches, src, trees = layout
    (src / "kernel" / "same.c").write_text("int same;\n")
    tree, _ = prepare_tree(tarball, sha, patches, src, trees)
    built = time.time()
    (src / "kernel" / "popcorn.c").write_text("int popcorn_other;\n")
    (src / "other.h").write_text("/* a new file, changing the key */\n")
    for name in ("kernel/popcorn.c", "kernel/same.c"):
        os.utime(src / name, (built - 3600, built - 3600))  # an hour older than the build
    prepare_tree(tarball, sha, patches, src, trees)
    assert (tree / "kernel/popcorn.c").stat().st_mtime >= built
    assert (tree / "kernel/same.c").stat().st_mtime == built - 3600


def test_tree_that_cannot_be_reverted_is_unpacked_afresh(layout):
    tarball, sha, patches, src, trees = layout
    tree, _ = prepare_tree(tarball, sha, patches, src, trees)
    (tree / "init/main.c").write_text("edited by hand\n")
    (src / "kernel" / "popcorn.c").write_text("int changed;\n")
    tree, _ = prepare_tree(tarball, sha, patches, src, trees)
    assert (tree / "init/main.c").read_text() == "int x;\nint popcorn;\n"


def test_key_changes_with_patches_and_sources(layout):
    tarball, sha, patches, src, trees = layout
    before = tree_key(sha, patches, src)
    (src / "kernel" / "popcorn.c").write_text("int changed;\n")
    after_source = tree_key(sha, patches, src)
    (patches / "0001-hook.patch").write_text(PATCH.replace("popcorn", "pcn"))
    assert len({before, after_source, tree_key(sha, patches, src)}) == 3


def test_patch_that_does_not_apply_is_named_and_the_tree_is_redone_next_time(layout):
    tarball, sha, patches, src, trees = layout
    good = (patches / "0001-hook.patch").read_text()
    (patches / "0001-hook.patch").write_text(PATCH.replace(" int x;", " int y;"))
    with pytest.raises(PatchError, match="0001-hook.patch does not apply"):
        prepare_tree(tarball, sha, patches, src, trees)
    (patches / "0001-hook.patch").write_text(good)
    tree, _ = prepare_tree(tarball, sha, patches, src, trees)
    assert (tree / "init/main.c").read_text() == "int x;\nint popcorn;\n"


def test_series_naming_a_missing_patch_gives_file_and_line(layout):
    _, _, patches, _, _ = layout
    (patches / "series").write_text("0001-hook.patch\n0002-gone.patch\n")
    with pytest.raises(PatchError, match=r"series:2: 0002-gone.patch does not exist"):
        read_series(patches)


def test_in_tree_source_may_not_overwrite_a_kernel_file(layout):
    tarball, sha, patches, src, trees = layout
    (src / "init").mkdir()
    (src / "init" / "main.c").write_text("replaced\n")
    with pytest.raises(PatchError, match="through a patch"):
        prepare_tree(tarball, sha, patches, src, trees)
