"""Which of the package's source files a command runs, so that a rule can depend on them:
a fixed parser reruns the CSVs, tables and plots after it; a changed plot reruns no
measurement.

From the parser in cli.py (command name -> ``stage.function``), the command's own imports
(inside its function, and at the top of ``commands/<stage>.py``), then every module those
import, transitively. cli.py and __main__.py only dispatch and are left out: adding a
command changes no other command's output.
"""
import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # workflow/popart


def _module_file(dotted: str) -> Path | None:
    """popart.x.y -> its .py file (or package __init__.py); None outside the package."""
    parts = dotted.split(".")
    if parts[0] != "popart":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _dotted(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(nodes: list[ast.AST], path: Path) -> set[Path]:
    """The package's modules that these statements import (a name imported from a package
    counts as its submodule when there is one)."""
    here = _dotted(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]  # a module's relative imports start at its package
    found: set[Path] = set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets = [module, *(f"{module}.{a.name}" for a in node.names)]
        else:
            continue
        found |= {f for f in map(_module_file, targets) if f is not None}
    return found


@cache
def _closure(path: Path) -> frozenset[Path]:
    seen, todo = {path}, [path]
    while todo:
        current = todo.pop()
        for found in _imports([ast.parse(current.read_text())], current) - seen:
            seen.add(found)
            todo.append(found)
    return frozenset(seen)


@cache
def command_table() -> dict[str, str]:
    """Command name -> 'stage.function', read from the parser's command(...) calls."""
    table = {}
    for node in ast.walk(ast.parse((PACKAGE / "cli.py").read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "command"
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant)
                                                for a in node.args[:2])):
            table[node.args[0].value] = node.args[1].value
    return table


@cache
def command_sources(command: str) -> list[Path]:
    """Every source file of the package that `python -m popart <command>` runs."""
    stage, function = command_table()[command].split(".")
    module = PACKAGE / "commands" / f"{stage}.py"
    tree = ast.parse(module.read_text())
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    helpers = [n for n in tree.body if isinstance(n, ast.FunctionDef)
               and n.name != function and _calls(body, n.name)]
    files = {module}
    for found in _imports([body, *top, *helpers], module):
        files |= _closure(found)
    # Importing popart.a.b runs popart/__init__.py and popart/a/__init__.py first.
    for path in list(files):
        files |= {d / "__init__.py" for d in path.parents
                  if d.is_relative_to(PACKAGE) and (d / "__init__.py").is_file()}
    return sorted(files)


def _calls(function: ast.FunctionDef, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(function))
