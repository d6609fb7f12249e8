"""Validates the pipeline configuration against its JSON schema before any work.

Snakemake's own ``validate()`` prints several lines and does not always name the key,
so the first schema error is formatted here as one line naming the key path.
"""
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    """One line: where the error is and why."""
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        prefix = "" if where == "(top level)" else where + "."
        return f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        # Name the branch the user meant, by its `type`, and that branch's first problem.
        for sub in error.context or []:
            branch = error.schema["oneOf"][sub.relative_schema_path[0]]
            if branch["properties"]["type"].get("const") == error.instance.get("type"):
                return _describe(sub)
        choices = [b["properties"]["type"]["const"] for b in error.schema["oneOf"]]
        return f"{where}.type: must be one of {', '.join(choices)}"
    return f"{where}: {error.message}"


def _fill_defaults(instance: Any, schema: dict) -> None:
    """Sets schema defaults for missing keys, depth first (what jsonschema's FAQ suggests)."""
    if not isinstance(instance, dict):
        return
    branches = schema.get("oneOf")
    if branches:
        for branch in branches:
            if branch["properties"]["type"].get("const") == instance.get("type"):
                _fill_defaults(instance, branch)
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = yaml.safe_load(yaml.safe_dump(sub["default"]))
        if key in instance:
            _fill_defaults(instance[key], sub)


def validate_config(config: dict, schema_path: Path | str) -> dict:
    """Returns the config with defaults filled in, or raises a one-line ConfigError."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(config))
    if errors:
        # Not best_match(): it descends into oneOf branches that the user did not mean.
        raise ConfigError(_describe(max(errors, key=jsonschema.exceptions.relevance)))
    _fill_defaults(config, schema)
    _check_combinations(config)
    return config


def _check_combinations(config: dict) -> None:
    """Rules that span keys, which the schema cannot say in one line."""
    _check_target(config)
    qemu = config["qemu"]
    if qemu["icount"] is not None and qemu["accel"] == "kvm":
        raise ConfigError("qemu.icount: needs qemu.accel tcg or auto (KVM has no icount)")
    web = config["experiments"]["web"]
    if "multikernel" in web["systems"] and min(web["vcpus"]) < 2:
        raise ConfigError(f"experiments.web.vcpus: {min(web['vcpus'])}: the multikernel needs "
                          "2 or more (a primary and a secondary); or leave it out of "
                          "experiments.web.systems")
    msg = config["experiments"]["msg"]
    if msg["timebase"] == "icount":
        if qemu["icount"] is None:
            raise ConfigError("experiments.msg.timebase: icount needs qemu.icount (shift)")
        spinning = [m for m in ("poll", "cacheline") if m in msg["modes"] + msg["baselines"]]
        if spinning:
            raise ConfigError(f"experiments.msg.timebase: icount with {', '.join(spinning)}: "
                              "busy polling across vCPUs degenerates under icount")
    migrate = config["experiments"]["migrate"]
    if migrate["enabled"]:
        from .experiments.migrate import partition_mib
        partition_mib(migrate)  # a size the partition cannot hold: refused before any boot


def _check_target(config: dict) -> None:
    if config.get("target") != "hardware":
        return
    if "hardware" not in config:
        raise ConfigError("hardware: target hardware needs a hardware section (address, "
                          "ssh_key, known_hosts)")
    hw = config["hardware"]
    for key in ("ssh_key", "known_hosts"):
        if not Path(hw[key]).expanduser().is_file():
            raise ConfigError(f"hardware.{key}: {hw[key]}: no such file")
    # The machine's own NIC and storage drivers join the one kernel every run boots.
    fragments = config["kernel"]["fragments"]
    fragments += [f for f in hw["kernel_fragments"] if f not in fragments]


def load_config(path: Path | str, schema_path: Path | str) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of keys")
    return validate_config(data, schema_path)
