"""A baseline from several runs of one commit: each figure's median, its spread over the
runs, and the tolerance that the spread gives by a stated rule (RULE)."""
import json
import statistics

from ..errors import RegressError
from .origin import COMPARABLE

SPREAD_FACTOR = 3.0     # a tolerance is this many times the spread the runs showed
TOLERANCE_FLOOR = 0.005  # and never below 0.5 %
RULE = (f"tolerance = max({SPREAD_FACTOR:g} x spread, {TOLERANCE_FLOOR:.1%}); "
        "spread = (max - min) / median over the baseline's runs; functional outcomes "
        "(better: equal) must match exactly")


def spread(values: list[float]) -> float:
    middle = statistics.median(values)
    return (max(values) - min(values)) / abs(middle) if middle else 0.0


def tolerance(values: list[float]) -> float:
    return max(SPREAD_FACTOR * spread(values), TOLERANCE_FLOOR)


def _one_origin(origins: list[dict]) -> dict:
    """The runs' shared origin; they must agree on everything a comparison checks."""
    first = origins[0]
    for key in (*COMPARABLE, "workload", "commit", "kernel_build", "host_cpu"):
        values = sorted({v if isinstance(v := o.get(key), str) else json.dumps(v, sort_keys=True)
                         for o in origins})
        if len(values) > 1:
            raise RegressError(f"baseline runs differ in {key}: {', '.join(values)}")
    return {**{k: v for k, v in first.items() if k not in ("run_id", "date")},
            "runs": [o["run_id"] for o in origins], "dates": [o["date"] for o in origins]}


def make_baseline(runs: list[dict]) -> dict:
    """runs: each run's {"origin": ..., "figures": [...]}. Every figure must be ok in
    every run, and a functional outcome the same in all of them."""
    if len(runs) < 2:
        raise RegressError(f"a baseline needs at least 2 runs to measure a spread, got "
                           f"{len(runs)}")
    names = list(dict.fromkeys(f["figure"] for run in runs for f in run["figures"]))
    figures = []
    for name in names:
        per_run = [next((f for f in run["figures"] if f["figure"] == name), None)
                   for run in runs]
        for i, f in enumerate(per_run, 1):
            if f is None or f["status"] != "ok":
                state = "missing" if f is None else f["status"]
                raise RegressError(f"baseline run {i}: figure {name!r} is {state}")
        values = [f["value"] for f in per_run]
        first = per_run[0]
        if first["better"] == "equal" and len(set(values)) > 1:
            raise RegressError(f"baseline runs disagree on the outcome {name!r}: {values}")
        figures.append({**{k: first[k] for k in ("figure", "unit", "better", "timebase")},
                        "value": statistics.median(values), "min": min(values),
                        "max": max(values), "spread": spread(values),
                        "tolerance": 0.0 if first["better"] == "equal" else tolerance(values),
                        "values": values})
    return {"origin": _one_origin([run["origin"] for run in runs]), "rule": RULE,
            "figures": figures}
