"""Regression runs: one run's figures (figures.py), a baseline of several runs with a
tolerance per figure (baseline.py), and the comparison of a run with it (compare.py)."""
