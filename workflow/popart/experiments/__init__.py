"""Experiments: each boots machines through a target and turns what they report into rows."""
