"""The migrate experiment's rows and tables, from a run's status.json (no QEMU)."""
import json

import pytest

from popart.errors import ConfigError
from popart.experiments.migrate import (migrate_machine, migrate_ratio, migrate_rows,
                                        migrate_samples, partition_mib)

MIGRATE = {"sizes": [16, 1048576], "repetitions": 2, "mem_mib_per_secondary": 160,
           "timeout_s": 600, "enabled": True}
RATE = 2.0  # TSC cycles per ns


def line(trigger: int, start: int, end: int, rc: int = 0, correct: int = 1,
         size_bytes: int = 4096) -> str:
    return (f"rc={rc} trigger={trigger} bytes={size_bytes} from={start} to={end} "
            f"rate={RATE} correct={correct}")


def write_run(tmp_path, values: dict, status: str = "ok"):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({
        "status": status, "reason": "" if status == "ok" else "no end marker",
        "accel": "tcg", "timebase": "wall", "host_cores": 2, "values": values}))
    return run


def test_times_come_from_the_tsc_and_each_mechanism_has_its_own_figures(tmp_path):
    ms = int(RATE * 1e6)  # cycles in 1 ms
    values = {}
    for r in (1, 2):
        for size in MIGRATE["sizes"]:
            values[f"popcorn_{size}_{r}"] = line(0, 1 * ms, 3 * ms)        # 3 ms, 2 ms down
            values[f"criu_{size}_{r}"] = line(0, 2 * ms, 30 * ms, size_bytes=9000)  # 30, 28
    run = write_run(tmp_path, values)
    samples = migrate_samples(run, MIGRATE)
    assert len(samples) == 8 and set(samples["status"]) == {"ok"}
    rows = migrate_rows(samples, json.loads((run / "status.json").read_text()))
    popcorn = rows[(rows["mechanism"] == "popcorn") & (rows["size_bytes"] == 16)].iloc[0]
    criu = rows[(rows["mechanism"] == "criu") & (rows["size_bytes"] == 16)].iloc[0]
    assert popcorn["migrate_ms_p50"] == pytest.approx(3.0)
    assert popcorn["downtime_ms_p50"] == pytest.approx(2.0)
    assert criu["migrate_ms_p50"] == pytest.approx(30.0) and criu["bytes_moved"] == 9000
    assert popcorn["samples"] == 2 and bool(popcorn["correct"])
    ratio = migrate_ratio(rows)
    assert list(ratio["ratio"]) == pytest.approx([0.1, 0.1])  # popcorn / criu, not inverted
    assert list(ratio["downtime_ratio"]) == pytest.approx([2 / 28, 2 / 28])


def test_a_failed_or_incorrect_move_is_a_row_with_its_status_and_no_ratio(tmp_path):
    ms = int(RATE * 1e6)
    values = {f"{m}_{s}_{r}": line(0, ms, 2 * ms) for m in ("popcorn", "criu")
              for s in MIGRATE["sizes"] for r in (1, 2)}
    values["criu_16_2"] = "rc=1 trigger=5 bytes=0"            # restore failed: no times
    values["popcorn_1048576_1"] = line(0, ms, 2 * ms, correct=0)  # memory differed
    run = write_run(tmp_path, values)
    rows = migrate_rows(migrate_samples(run, MIGRATE),
                        json.loads((run / "status.json").read_text()))
    criu16 = rows[(rows["mechanism"] == "criu") & (rows["size_bytes"] == 16)].iloc[0]
    assert criu16["status"] == "error" and "rc=1" in criu16["reason"]
    assert criu16["samples"] == 1
    big = rows[(rows["mechanism"] == "popcorn") & (rows["size_bytes"] == 1048576)].iloc[0]
    assert big["status"] == "error" and "memory differed" in big["reason"]
    assert not bool(big["correct"])
    ratio = migrate_ratio(rows)
    assert list(ratio["status"]) == ["error", "error"]
    assert ratio["ratio"].isna().all()


def test_a_run_that_timed_out_gives_every_missing_move_a_timeout_row(tmp_path):
    run = write_run(tmp_path, {"popcorn_16_1": line(0, 1, 2)}, status="timeout")
    samples = migrate_samples(run, MIGRATE)
    assert samples["status"].value_counts().to_dict() == {"timeout": 7, "ok": 1}


def test_a_size_the_partition_cannot_hold_is_refused_by_name_before_any_boot(tmp_path):
    too_big = {**MIGRATE, "sizes": [16, 64 << 20]}
    with pytest.raises(ConfigError, match=r"experiments.migrate.sizes: 67108864 bytes needs "
                                          r"288 MiB .*mem_mib_per_secondary is 160"):
        partition_mib(too_big)
    assert partition_mib(MIGRATE) == 160


def test_the_machine_is_one_primary_and_one_partitioned_secondary(tmp_path):
    config = {"qemu": {"append": "quiet", "icount": 4, "machine": "pc", "cpu": "max"},
              "experiments": {"migrate": MIGRATE}}
    m = migrate_machine(config, tmp_path / "bzImage", tmp_path / "net.cpio.gz", "tcg")
    assert m.vcpus == 2 and m.icount is None  # wall time
    assert "memmap=160M$0x40000000" in m.cmdline and "popcorn.exp=migrate" in m.cmdline
    assert "popcorn.migrate_sizes=16,1048576 popcorn.migrate_reps=2" in m.cmdline


def test_the_workflow_refuses_that_size_when_it_reads_the_config():
    import yaml
    from conftest import REPO
    from popart.config import validate_config
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"]["migrate"]["sizes"] = [1 << 30]
    with pytest.raises(ConfigError, match="experiments.migrate.sizes: 1073741824 bytes"):
        validate_config(config, REPO / "workflow/schemas/config.schema.yaml")
