"""The commands of ``python -m popart``, one module per stage of the pipeline."""
