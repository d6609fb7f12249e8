#!/usr/bin/env python3
"""The status command of profiles/slurm: popart.cluster, found beside this profile."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))
from popart.cluster import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
