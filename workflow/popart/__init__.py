"""popart: the logic of the Popcorn multikernel artifact pipeline.

Snakemake rules stay thin and call this package through ``python -m popart``;
everything here is testable without QEMU.
"""
