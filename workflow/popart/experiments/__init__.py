"""Experiments: each boots machines through a target and turns what they report into rows."""


def reported_number(text: str | None) -> float | None:
    """A number a guest reported (a KV value); None when absent or not a number."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
