"""Config validation: defaults, and one-line errors that name the key."""
import copy

import pytest
import yaml

from popart.config import load_config, validate_config
from popart.errors import ConfigError

from conftest import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def check(mutate) -> str:
    config = copy.deepcopy(DEFAULT)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_default_config_is_valid_and_defaults_are_filled():
    config = validate_config(copy.deepcopy(DEFAULT), SCHEMA)
    assert config["target"] == "qemu"
    assert config["experiments"]["boot"]["repetitions"] >= 1


def test_minimal_config_gets_nested_defaults():
    config = validate_config({"kernel": {"source": {"type": "debian"}}, "qemu": {},
                              "experiments": {}}, SCHEMA)
    assert config["kernel"]["source"]["package"] == "linux-source-6.12"
    assert config["qemu"]["timeouts"]["boot_s"] == 120
    assert config["experiments"]["boot"]["vcpus"] == 2


def test_unknown_top_level_key_is_named():
    msg = check(lambda c: c.update(experimentz={}))
    assert msg.startswith("config error: experimentz: unknown key")


def test_unknown_nested_key_is_named_with_its_path():
    msg = check(lambda c: c["qemu"]["timeouts"].update(bootup_s=3))
    assert "qemu.timeouts.bootup_s: unknown key" in msg and "boot_s" in msg


def test_bad_value_names_key_and_reason():
    msg = check(lambda c: c["experiments"]["boot"].update(vcpus=0))
    assert msg == "config error: experiments.boot.vcpus: 0 is less than the minimum of 1"
    assert "qemu.accel" in check(lambda c: c["qemu"].update(accel="xen"))


def test_url_source_needs_a_valid_sha256():
    msg = check(lambda c: c["kernel"].update(
        source={"type": "url", "url": "file:///x/linux-6.12.1.tar.xz", "sha256": "abc"}))
    assert msg.startswith("config error: kernel.source.sha256:")
    msg = check(lambda c: c["kernel"].update(
        source={"type": "url", "url": "file:///x/linux-6.12.1.tar.xz"}))
    assert "kernel.source" in msg and "sha256" in msg


def test_unknown_source_type_lists_the_choices():
    assert "debian, url" in check(lambda c: c["kernel"].update(source={"type": "git"}))


def test_icount_with_kvm_is_refused():
    def both(c):
        c["qemu"].update(accel="kvm", icount=3)
    assert check(both).startswith("config error: qemu.icount:")


def test_load_config_reports_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml", SCHEMA)
    (tmp_path / "bad.yaml").write_text("kernel: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml", SCHEMA)


def test_every_test_configuration_is_valid(tmp_path):
    # .test/hardware*.yaml get their machine from the test (tests/test_hardware_e2e.py).
    for name in ("key", "known_hosts"):
        (tmp_path / name).write_text("x")
    machine = {"hardware": {"address": "10.79.0.2", "ssh_key": str(tmp_path / "key"),
                            "known_hosts": str(tmp_path / "known_hosts")}}
    for path in sorted((REPO / ".test").glob("*.yaml")):
        merged = copy.deepcopy(DEFAULT)
        if path.name.startswith("hardware"):
            merged.update(copy.deepcopy(machine))
        for key, value in yaml.safe_load(path.read_text()).items():
            merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
        validate_config(merged, SCHEMA)


def test_a_multikernel_web_run_on_one_vcpu_is_refused_by_name():
    message = check(lambda c: c["experiments"]["web"].update(vcpus=[1, 2]))
    assert message.startswith("config error: experiments.web.vcpus: 1: the multikernel")
    config = copy.deepcopy(DEFAULT)
    config["experiments"]["web"].update(vcpus=[1], systems=["smp"])
    assert validate_config(config, SCHEMA)["experiments"]["web"]["vcpus"] == [1]


def test_the_systems_to_compare_are_keys_of_net_and_web_only():
    config = validate_config({"kernel": {"source": {"type": "debian"}}, "qemu": {},
                              "experiments": {}}, SCHEMA)["experiments"]
    assert config["net"]["systems"] == config["web"]["systems"] == ["smp", "multikernel"]
    assert config["net"]["secondaries"] == [2]
    assert "systems" not in config["boot"] and "secondaries" not in config["boot"]



@pytest.mark.parametrize("msg, qemu, error", [
    ({"timebase": "icount"}, {}, "experiments.msg.timebase: icount needs qemu.icount"),
    ({"timebase": "icount"}, {"icount": 3},
     "experiments.msg.timebase: icount with poll, cacheline: busy polling"),
    ({"timebase": "icount", "modes": ["ipi"], "baselines": ["pipe"]}, {"icount": 3}, None)])
def test_msg_under_icount_only_for_blocking_work(msg, qemu, error):
    config = copy.deepcopy(DEFAULT)
    config["qemu"].update(qemu)
    config["experiments"]["msg"].update(msg)
    if error is None:
        validate_config(config, SCHEMA)
        return
    with pytest.raises(ConfigError, match=error):
        validate_config(config, SCHEMA)


def test_the_regress_configuration_is_valid():
    config = copy.deepcopy(DEFAULT)
    overlay = yaml.safe_load((REPO / "reference/regress/config.yaml").read_text())
    for key, value in overlay.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, dict):
                    config[key].setdefault(sub, {}).update(inner)
                else:
                    config[key][sub] = inner
        else:
            config[key] = value
    validated = validate_config(config, SCHEMA)
    assert validated["experiments"]["msg"]["timebase"] == "icount"


def test_results_dir_for_the_makefile(capsys, tmp_path):
    from popart.cli import main
    assert main(["results-dir"]) == 0 and capsys.readouterr().out == "results\n"
    assert main(["results-dir", str(REPO / ".test/msg.yaml")]) == 0
    assert capsys.readouterr().out == "results/test-msg\n"
    assert main(["results-dir", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml: No such file or directory" in capsys.readouterr().err
