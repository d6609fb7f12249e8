"""Typed, one-line errors: each names the bad thing (key, file, tool) and a next step."""


class PopartError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""

    kind = "error"

    def __str__(self) -> str:
        return f"{self.kind}: {self.args[0]}" if self.args else self.kind


class ConfigError(PopartError):
    kind = "config error"


class MissingToolError(PopartError):
    kind = "missing tool"


class SourceError(PopartError):
    kind = "kernel source"


class PatchError(PopartError):
    kind = "kernel patch"


class KconfigError(PopartError):
    kind = "kernel config"


class BuildError(PopartError):
    kind = "build"


class TargetError(PopartError):
    """The target could not even start the machine (not a guest failure)."""

    kind = "target"


class RegressError(PopartError):
    """A baseline that is missing, malformed or not comparable with this run."""

    kind = "regress"
