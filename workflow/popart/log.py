"""Greppable progress lines on stderr: ``I:``, ``W:``, ``E:`` prefixes."""
import sys


def info(msg: str) -> None:
    print(f"I: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"W: {msg}", file=sys.stderr, flush=True)


def error(msg: str) -> None:
    print(f"E: {msg}", file=sys.stderr, flush=True)

