"""Experiments: each boots machines through a target and turns what they report into rows."""
from ..provenance import COLUMNS as PROVENANCE, row_facts

__all__ = ["PROVENANCE", "reported_number", "run_columns"]


def run_columns(status: dict) -> dict:
    """The columns every tidy row takes from its run: accel, timebase and provenance."""
    return {"accel": status["accel"], "timebase": status["timebase"], **row_facts(status)}


def reported_number(text: str | None) -> float | None:
    """A number a guest reported (a KV value); None when absent or not a number."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
