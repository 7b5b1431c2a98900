"""Tables I-VI: our scores beside the paper's, as CSV, Markdown and LaTeX, with provenance.

:func:`build_table` turns per-image score tables (one per trained row, with a ``seed`` column when
several seeds ran) into a long table with one line per (method, metric): our mean and standard
deviation over images (pooled over seeds; ``seed_std`` is the spread of the per-seed means), the
paper's value, the difference, and a status. The status says what was done, never whether a
claim holds (that is the claims ledger's verdict): "trained here" for a row this package trained,
whatever its numbers; rows the paper cites but this package does not train appear with the paper's
value and the status "cited, not trained here". A trained row whose runs predict one class
everywhere carries a ``flag`` (:mod:`cenet_lib.metrics.degenerate`). Where the data is substituted
or synthetic, the paper's value is still listed but no difference is computed and the
``comparable`` column is false. :func:`write_table` writes the long table as CSV and a layout like
the paper's (methods down, metrics across) as Markdown and LaTeX, each with its provenance.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..metrics import mean_std
from ..metrics.degenerate import flag
from .sections import Section

PAPER_TABLES = Path(__file__).with_name("paper_tables.csv")


def paper_values(section: Section) -> pd.DataFrame:
    """The paper's published numbers for ``section`` (table, dataset, method, metric, column, mean, std)."""
    table = pd.read_csv(PAPER_TABLES, dtype={"table": str})
    return table[(table["table"] == section.table) & table["dataset"].isin(section.paper_datasets)].reset_index(
        drop=True
    )


def _paper_key(row: pd.Series) -> str:
    """The label of a paper value in our tables: its column where the table has several per metric."""
    column = row["column"] if isinstance(row["column"], str) and row["column"] else ""
    return column if column else row["metric"]


def build_table(section: Section, scores: dict[str, pd.DataFrame], data_label: str, synthetic: bool) -> pd.DataFrame:
    """The long table of ``section`` from per-image ``scores`` keyed by the paper's method label."""
    paper = paper_values(section)
    comparable = not synthetic and section.substitute is None
    lines: list[dict[str, Any]] = []
    trained = [row.method for row in section.rows]
    methods = list(dict.fromkeys(list(paper["method"]) + trained + list(scores)))
    for method in methods:
        ours = scores.get(method)
        if ours is None:
            status = "not run" if method in trained else "cited, not trained here"
        else:
            status = "trained here" if method in trained or method in set(paper["method"]) else "measured here"
        degenerate = flag(ours) if ours is not None and method in trained else ""
        paper_rows = paper[paper["method"] == method]
        labels = list(dict.fromkeys([_paper_key(r) for _, r in paper_rows.iterrows()] + list(section.metrics)))
        for label in labels + list(section.extra_columns):
            column = section.metrics.get(label) or section.extra_columns.get(label)
            line: dict[str, Any] = {"table": section.table, "method": method, "metric": label, "status": status,
                                    "flag": degenerate, "data": data_label, "comparable": comparable}
            match = paper_rows[[_paper_key(r) == label for _, r in paper_rows.iterrows()]]
            line["paper_mean"] = float(match["mean"].iloc[0]) if len(match) else np.nan
            line["paper_std"] = float(match["std"].iloc[0]) if len(match) else np.nan
            if ours is not None and column in ours:
                line["ours_mean"], line["ours_std"] = mean_std(ours[column].to_numpy())
                line["n_images"] = int(ours[column].notna().sum())
                per_seed = ours.groupby("seed")[column].mean() if "seed" in ours else pd.Series([line["ours_mean"]])
                line["n_seeds"] = len(per_seed)
                line["seed_std"] = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else np.nan
                if comparable and not np.isnan(line["paper_mean"]):
                    line["difference"] = line["ours_mean"] - line["paper_mean"]
            lines.append(line)
    columns = ["table", "method", "metric", "ours_mean", "ours_std", "n_images", "n_seeds", "seed_std",
               "paper_mean", "paper_std", "difference", "status", "flag", "comparable", "data"]
    return pd.DataFrame(lines).reindex(columns=columns)


def _cell(mean: float, std: float, digits: int = 4) -> str:
    if np.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if np.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def wide_layout(long: pd.DataFrame) -> pd.DataFrame:
    """Methods down, metrics across, like the paper: 'ours' (mean ± std over images, and with several
    seeds the std of the seeds' means beside), 'paper' and 'Δ' under each metric, each
    sub-column only where it holds a value for some method (no 'Δ' for substituted data, no 'ours'
    under the columns of datasets not run here, no 'paper' under metrics the paper does not report)."""
    present = {kind: set(long.loc[long[column].notna(), "metric"])
               for kind, column in (("ours", "ours_mean"), ("paper", "paper_mean"), ("Δ", "difference"))}
    rows = {}
    for method, group in long.groupby("method", sort=False):
        cells: dict[tuple[str, str], str] = {}
        for _, line in group.iterrows():
            metric = line["metric"]
            if metric in present["ours"]:
                cells[(metric, "ours")] = _cell(line["ours_mean"], line["ours_std"])
                if line.get("n_seeds", 1) > 1 and not np.isnan(line["seed_std"]):  # the spread of the seeds' means
                    cells[(metric, "ours")] += f" (seeds ± {line['seed_std']:.4f})"
            if metric in present["paper"]:
                cells[(metric, "paper")] = _cell(line["paper_mean"], line["paper_std"])
            if metric in present["Δ"]:
                cells[(metric, "Δ")] = "-" if np.isnan(line["difference"]) else f"{line['difference']:+.4f}"
        flagged = group["flag"].iloc[0] if "flag" in group and isinstance(group["flag"].iloc[0], str) else ""
        cells[("", "status")] = f"{group['status'].iloc[0]}; {flagged}" if flagged else group["status"].iloc[0]
        rows[method] = cells
    wide = pd.DataFrame.from_dict(rows, orient="index")
    wide.columns = pd.MultiIndex.from_tuples(wide.columns)
    return wide.fillna("-")


def title(section: Section, data_label: str, synthetic: bool) -> str:
    text = f"Table {section.table}. {section.title} — data: {data_label}"
    if synthetic:
        text += " (SYNTHETIC stand-in: not comparable to the paper)"
    elif section.substitute:
        text += " (SUBSTITUTED data: not comparable to the paper)"
    return text


class TableFiles(NamedTuple):
    csv: Path
    markdown: Path
    latex: Path
    json: Path


def write_table(
    long: pd.DataFrame, section: Section, out_dir: Path, provenance: dict[str, Any], synthetic: bool
) -> TableFiles:
    """Write ``table_<N>.csv``, ``.md``, ``.tex`` and ``.json`` (provenance) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"table_{section.table}"
    data_label = long["data"].iloc[0]
    heading = title(section, data_label, synthetic)
    notes = [section.substitute] if section.substitute else []
    provenance_lines = [f"{key}: {value}" for key, value in provenance.items()]
    long.to_csv(stem.with_suffix(".csv"), index=False)
    wide = wide_layout(long)
    flat = wide.copy()
    flat.columns = [f"{metric} {kind}".strip() for metric, kind in wide.columns]
    markdown = [f"# {heading}", "", *[f"> {note}\n" for note in notes], flat.to_markdown(), "",
                "Provenance: " + "; ".join(provenance_lines), ""]
    stem.with_suffix(".md").write_text("\n".join(markdown))
    latex = flat.to_latex(caption=heading, label=f"tab:{section.name}", escape=True)
    stem.with_suffix(".tex").write_text("% " + "\n% ".join(provenance_lines) + "\n" + latex)
    stem.with_suffix(".json").write_text(
        json.dumps({"title": heading, "notes": notes, **provenance}, indent=1, default=str) + "\n"
    )
    return TableFiles(*(stem.with_suffix(suffix) for suffix in (".csv", ".md", ".tex", ".json")))


def write_per_image(scores: dict[str, pd.DataFrame], section: Section, out_dir: Path) -> Path:
    """``table_<N>_per_image.csv``: every trained row's per-image scores (method, seed, id, one
    column per score), the evidence the claims ledger (:mod:`cenet_lib.reporting.claims`) tests."""
    frames = [frame.assign(method=method) for method, frame in scores.items()]
    table = pd.concat(frames, ignore_index=True)
    leading = [column for column in ("method", "seed", "id") if column in table]
    path = Path(out_dir) / f"table_{section.table}_per_image.csv"
    table[leading + [c for c in table.columns if c not in leading]].to_csv(path, index=False)
    return path

