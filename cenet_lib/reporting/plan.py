"""What ``./run_all.sh`` will run for each section, said before anything starts.

With the profile ``auto`` (the default of ``./run_all.sh``) a section runs the ``quick`` profile on
its real data where the data is found, and otherwise the seconds-long ``smoke`` profile on its
synthetic stand-in, with a line saying how to get the data: nothing runs for hours unless asked.
Each plan names the results folder (:func:`~cenet_lib.reporting.experiments.results_dir`) and the
expected duration (:data:`cenet_lib.config.EXPECTED_SECONDS`).

    python -m cenet_lib.reporting.plan --profile auto --data-root DIR --device auto vessels lung

prints one tab-separated line per section: section, profile, results folder, how to get the data
("-" where it was found), message.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import EXPECTED_SECONDS, PROFILES, RunConfig
from ..data import READERS, dataset_dir
from ..hardware import resolve_hardware
from .experiments import real_data_found, results_dir
from .sections import SECTIONS


@dataclass(frozen=True)
class SectionPlan:
    section: str
    profile: str
    synthetic: bool
    out_dir: Path
    message: str  # one line for the console
    get_data: str = ""  # where the data is missing: how to get it


def _duration(profile: str, section: str) -> str:
    seconds = EXPECTED_SECONDS.get(profile, {}).get(section)
    if seconds is None:
        return "a GPU's time (see the README)" if profile == "paper" else "unknown time"
    return f"about {seconds / 60:.0f} min on a 2-core CPU" if seconds >= 90 else f"about {seconds:.0f} s on a 2-core CPU"


def plan_section(section: str, profile: str, data_root: str | None, out_root: str | Path) -> SectionPlan:
    """The plan of one section: ``profile`` may be ``auto`` (see the module docstring)."""
    dataset = SECTIONS[section].dataset
    real = real_data_found(SECTIONS[section], data_root)
    chosen = ("quick" if real else "smoke") if profile == "auto" else profile
    synthetic = chosen == "smoke" or not real
    out_dir = results_dir(out_root, chosen, synthetic)
    where = dataset_dir(dataset, READERS[dataset].folder, data_root)
    if real and not synthetic:
        message = f"{section}: {chosen} profile on the real data in {where}, {_duration(chosen, section)}"
    elif real:
        message = f"{section}: {chosen} profile on the synthetic stand-in (asked for), {_duration(chosen, section)}"
    else:
        message = (f"{section}: no real data in {where} (python -m cenet_lib.data fetch {dataset} says how to get it); "
                   f"{chosen} profile on the synthetic stand-in, {_duration(chosen, section)}, numbers meaningless")
    get_data = "" if real else f"python -m cenet_lib.data fetch {dataset}  (then put it in {where})"
    return SectionPlan(section, chosen, synthetic, out_dir, message, get_data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cenet_lib.reporting.plan", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="+")
    parser.add_argument("--profile", default="auto", choices=["auto", *PROFILES])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}; choose from {' '.join(SECTIONS)}.", file=sys.stderr)
        return 2
    if args.data_root is not None and not Path(args.data_root).is_dir():
        print(f"error: the data root {args.data_root} does not exist.", file=sys.stderr)
        return 2
    try:
        resolve_hardware(RunConfig(device=args.device))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in args.sections:
        plan = plan_section(name, args.profile, args.data_root, args.out)
        print("\t".join([plan.section, plan.profile, str(plan.out_dir), plan.get_data or "-", plan.message]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
