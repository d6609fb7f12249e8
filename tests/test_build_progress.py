"""Kernel build progress: counting kbuild's lines and wording how far a build is."""
import re
import stat
import time
from pathlib import Path

from popart.kernel import build
from popart.kernel.progress import (count_path, done_line, duration, is_file_step,
                                    progress_line, read_count, write_count)


def test_kbuild_file_lines_count_and_the_rest_do_not():
    files = ["  CC      kernel/fork.o", "  CC [M]  fs/fuse/dev.o", "  AR      lib/built-in.a",
             "  LD      vmlinux.o", "  HOSTCC  scripts/basic/fixdep", "  GEN     Makefile",
             "  OBJCOPY arch/x86/boot/setup.bin\n"]
    others = ["  DESCEND objtool", "  CALL    scripts/checksyscalls.sh",
              "Kernel: arch/x86/boot/bzImage is ready  (#1)",
              "make[1]: Entering directory '/b'", "kernel/fork.c:12:5: warning: unused",
              "   12 |   int x;", "      |       ^", "", "  CC", "# configuration written"]
    assert all(is_file_step(line) for line in files)
    assert not any(is_file_step(line) for line in others)


def test_durations():
    assert [duration(s) for s in (0, 42.9, 60, 190, 3725)] == [
        "0 s", "42 s", "1 min 0 s", "3 min 10 s", "1 h 2 min"]


def test_full_build_against_the_last_full_count():
    assert progress_line(812, 1530, True, 190) == "812 of ~1530 files (53 %), 3 min 10 s"
    assert progress_line(1529, 1530, True, 5) == "1529 of ~1530 files (99 %), 5 s"
    assert progress_line(1530, 1530, True, 5) == "1530 of ~1530 files (99 %), 5 s"
    assert progress_line(1600, 1530, True, 5) == (
        "1600 files, more than the last full build's 1530, 5 s")
    assert progress_line(812, None, True, 20) == "812 files, no earlier build to compare, 20 s"


def test_incremental_build_has_no_percentage():
    line = progress_line(30, 1530, False, 16)
    assert line == "30 files remade, incremental build (a full build is ~1530 files), 16 s"
    assert "%" not in line
    assert progress_line(3, None, False, 16) == (
        "3 files remade, incremental build (no full build counted yet), 16 s")


def test_other_make_steps_and_done_lines():
    assert progress_line(7, 1530, None, 16) == "7 files, 16 s"
    assert done_line(1950, True, 148) == (
        "done in 2 min 28 s, 1950 files (a full build: the next full build's expected total)")
    assert done_line(2, False, 5) == "done in 5 s, 2 files (incremental build)"
    assert done_line(0, None, 2) == "done in 2 s, 0 files"


def test_count_lives_beside_the_build_directory(tmp_path):
    build_dir = tmp_path / "builds" / "abc123"
    build_dir.mkdir(parents=True)
    assert read_count(build_dir) is None
    write_count(build_dir, 1950, 147.96)
    assert count_path(build_dir) == tmp_path / "builds" / ".abc123.files.json"
    assert read_count(build_dir) == 1950
    count_path(build_dir).write_text("not json")
    assert read_count(build_dir) is None
    count_path(build_dir).write_text('{"files": 0}')
    assert read_count(build_dir) is None


def test_make_logs_everything_and_prints_progress_lines(tmp_path, monkeypatch, capsys):
    """A fake make prints kbuild lines slowly: progress lines go to stderr, spaced by
    PROGRESS_S (not one per file), and the log keeps make's whole output."""
    fake = tmp_path / "bin" / "make"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho '  DESCEND objtool'\n"
                    "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do\n"
                    "  echo \"  CC      kernel/f$i.o\"; sleep 0.05\ndone\n"
                    "echo 'Kernel: arch/x86/boot/bzImage is ready  (#1)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setattr(build, "PROGRESS_S", 0.2)
    logfile = tmp_path / "build.log"
    started = time.monotonic()
    made = build._make(Path("/tree"), tmp_path / "b", ["bzImage"], 2, logfile,
                       "kernel build", True, 24)
    took = time.monotonic() - started
    assert made == 12
    text = logfile.read_text()
    assert "  CC      kernel/f12.o" in text and "bzImage is ready" in text
    err = capsys.readouterr().err
    lines = re.findall(r"I: kernel build: (\d+) of ~24 files \((\d+) %\), \d+ s", err)
    assert 1 <= len(lines) <= took / 0.2, err  # spaced by PROGRESS_S, not one per file
    assert all(int(pct) == int(done) * 100 // 24 for done, pct in lines)
    assert re.search(r"I: kernel build: done in \d+ s, 12 files \(a full build", err), err
