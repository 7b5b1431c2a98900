"""``python -m cenet_lib.data ...``: the same as ``cenet data ...`` (:mod:`cenet_lib.data.commands`)."""
import sys

from ..cli import main

sys.exit(main(["data", *sys.argv[1:]]))
