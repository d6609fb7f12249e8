"""Targets boot kernels and run one experiment: QEMU now, real hardware later, one interface."""
