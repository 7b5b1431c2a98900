"""The route a run's configuration takes through the package while a section trains and scores it.

Traces every call between modules of ``cenet_lib`` while ``run_section`` trains and scores one row
(``lung``, U-Net, smoke profile) and keeps those that hand the callee that run's configuration: a
``RunConfig`` of the same run name, or an object holding one as ``.config`` (the configuration
read back from the run's checkpoint counts as the same). Each module
gets a level from the package's own imports (a module imports only modules of lower levels, and
modules that import each other share one), and the script counts how often the configuration goes
back up (a call from a module of a lower level into one of a higher level) and how often a call
from another module enters ``training.py``::

    python benchmarks/config_route.py            # prints the route and the two counts
"""
from __future__ import annotations

import ast
import sys
import tempfile
from pathlib import Path

import cenet_lib
from cenet_lib.config import RunConfig
from cenet_lib.reporting.sections import section_config

PACKAGE = Path(cenet_lib.__file__).parent


def module_levels() -> dict[str, int]:
    """Level of each module: 0 for one importing nothing of the package, else 1 + the highest level
    it imports (import cycles are cut where they close)."""
    imports: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
                found.add(".".join(base + ([node.module] if node.module else [])))
        imports[name] = {module for module in found if module.startswith("cenet_lib")}
    levels: dict[str, int] = {}

    def level(name: str, seen: tuple[str, ...] = ()) -> int:
        if name in levels:
            return levels[name]
        deps = [d for d in imports.get(name, ()) if d not in seen and d != name]
        levels[name] = 1 + max((level(d, seen + (name,)) for d in deps), default=-1)
        return levels[name]

    for name in imports:
        level(name)
    return levels


def trace_route(run_name: str) -> list[tuple[str, str]]:
    """(caller's module, callee's module), in call order, of every call from one module of
    ``cenet_lib`` into another that hands the callee the configuration of the run ``run_name``."""
    route: list[tuple[str, str]] = []

    def is_the_run(value) -> bool:
        return isinstance(value, RunConfig) and value.run_name() == run_name

    def carries(frame) -> bool:
        return any(is_the_run(value) or is_the_run(getattr(value, "config", None)) for value in frame.f_locals.values())

    def tracer(frame, event, arg):
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if (
            event == "call"
            and callee.startswith("cenet_lib")
            and caller.startswith("cenet_lib")
            and caller != callee
            and carries(frame)
        ):
            route.append((caller, callee))
        return None

    from cenet_lib.reporting.section import run_section

    with tempfile.TemporaryDirectory() as folder:
        sys.settrace(tracer)
        try:
            run_section("lung", profile="smoke", rows=["U-Net"], out_root=folder)
        finally:
            sys.settrace(None)
    return route


def main() -> None:
    config = section_config("lung", "smoke", {
        "dataset": "lung", "model": "unet", "loss": "dice", "seed": 0, "synthetic": True, "encoder_weights": "random"})
    levels = module_levels()
    route = trace_route(config.run_name())
    back_up = [(a, b) for a, b in route if levels.get(b, 0) > levels.get(a, 0)]
    reentries = sum(callee == "cenet_lib.training" for _, callee in route)
    for caller, callee in route:
        mark = "  (back up)" if (caller, callee) in back_up else ""
        print(f"{caller.removeprefix('cenet_lib.')} (level {levels.get(caller, 0)}) -> "
              f"{callee.removeprefix('cenet_lib.')} (level {levels.get(callee, 0)}){mark}")
    modules = {module for pair in route for module in pair}
    print(f"{len(route)} calls between {len(modules)} modules carry the configuration; {len(back_up)} go back up; "
          f"{reentries} re-enter training.py")


if __name__ == "__main__":
    main()
