"""Kernel stage: source selection, patched tree, merged config, bzImage."""
