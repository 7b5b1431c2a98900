"""Tables and figures of the paper, regenerated from this package's results."""
from .sections import SECTIONS, Section, TrainedRow
from .tables import build_table, paper_values, wide_layout, write_table

__all__ = ["SECTIONS", "Section", "TrainedRow", "build_table", "paper_values", "wide_layout", "write_table"]
