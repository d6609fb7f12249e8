"""Where the pipeline keeps things outside the checkout."""
import os
from pathlib import Path

# The checkout: workflow/popart/paths.py -> two levels up.
REPO = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """Kernel trees, build directories, downloads and ccache: large, reusable, not results.

    POPCORN_CACHE overrides the default ~/.cache/popcorn-artifact.
    """
    env = os.environ.get("POPCORN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "popcorn-artifact"
