"""A network drawn from itself: each part with the shape it outputs and its parameters, found by
running one input through the model with forward hooks, so the picture cannot drift from the code.

For CE-Net the parts are the paper's Figs. 1-4: the ResNet-34 feature encoder (section II-A), the
context extractor of a dense atrous convolution block and a residual multi-kernel pooling block
(section II-B, Figs. 3 and 4), and the feature decoder (section II-C), with the encoder's skip
connections into the decoder.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .figures import FIGURE_INCHES, TITLE_POINTS

#: The colour of each role, as the paper's Fig. 1 separates them.
ROLE_COLOURS = {"encoder": "#9ecae1", "context": "#fdae6b", "decoder": "#a1d99b", "head": "#d9d9d9"}


def part_shapes(model: torch.nn.Module, input_shape: tuple[int, ...]) -> pd.DataFrame:
    """Each top-level part of ``model`` (encoder, context extractor, decoder, head; U-Net's stages)
    with its parameters and the shape of its output for one forward pass of ``input_shape``."""
    parts = list(model.named_children())
    shapes = _output_shapes(model, parts, input_shape)
    return pd.DataFrame([{"part": name, "parameters": _parameters(module),
                          "output (channels x height x width)": shapes.get(name, "not called")}
                         for name, module in parts])


def stages(model: torch.nn.Module) -> list[tuple[str, str, torch.nn.Module, int]]:
    """(label, role, module, parameters) of the stages a reader follows through an
    encoder-context-decoder network: the encoder's stem and its four stages, each block of the
    context extractor, each decoder block, the head. The module is the one whose output is shown
    (the stem's max pool; its parameters are those of the 7x7 convolution and batch norm before it)."""
    found = []
    encoder = getattr(model, "encoder", None)
    if encoder is not None:
        found += [("stem", "encoder", encoder.maxpool, _parameters(encoder.conv1) + _parameters(encoder.bn1))]
        layers = [getattr(encoder, f"layer{k}") for k in range(1, 5)]
        found += [(f"encoder stage {k}", "encoder", layer, _parameters(layer))
                  for k, layer in enumerate(layers, start=1)]
    context = getattr(model, "context", None)
    if context is not None:
        blocks = list(context) if isinstance(context, torch.nn.Sequential) else [context]
        found += [(type(block).__name__.removesuffix("Block"), "context", block, _parameters(block))
                  for block in blocks]
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        found += [(f"decoder block {name.removeprefix('block')}", "decoder", block, _parameters(block))
                  for name, block in decoder.named_children()]
    if hasattr(model, "head"):
        found.append(("head", "head", model.head, _parameters(model.head)))
    return found


def architecture_figure(model: torch.nn.Module, input_shape: tuple[int, ...], title: str) -> Figure:
    """The encoder's stages along the top, the context extractor at the right, the decoder back along
    the bottom, skip connections between them, each box with its output (channels x height x width)
    and parameters for one input of ``input_shape``."""
    parts = stages(model)
    shapes = _output_shapes(model, [(label, module) for label, _, module, _ in parts], input_shape)
    encoder = [part for part in parts if part[1] == "encoder"]
    rest = [part for part in parts if part[1] != "encoder"]
    columns = max(len(encoder), 1) + 1
    figure, axis = plt.subplots(figsize=(FIGURE_INCHES, 4.4))
    axis.set_xlim(-0.6, columns + 0.5)
    axis.set_ylim(-0.9, 2.6)
    axis.axis("off")
    places = {label: (k, 1.8) for k, (label, *_) in enumerate(encoder)}
    context = [part for part in rest if part[1] == "context"]
    for k, (label, *_) in enumerate(context):
        places[label] = (len(encoder) - 0.75 + k * 1.1, 0.9)
    lower = [part for part in rest if part[1] in ("decoder", "head")]
    for k, (label, *_) in enumerate(lower):
        places[label] = (len(encoder) - 1 - k, 0.0)
    for label, role, _, parameters in parts:
        x, y = places[label]
        axis.add_patch(FancyBboxPatch((x - 0.46, y - 0.3), 0.92, 0.6, boxstyle="round,pad=0.02",
                                      facecolor=ROLE_COLOURS[role], edgecolor="black", linewidth=0.8))
        shown = label.removeprefix("encoder ").removeprefix("decoder ")  # the box's colour names its role
        axis.text(x, y + 0.14, shown, ha="center", va="center", fontsize=TITLE_POINTS, weight="bold")
        axis.text(x, y - 0.1, f"out {shapes.get(label, '-')}\n{_millions(parameters)} params", ha="center",
                  va="center", fontsize=TITLE_POINTS)
    order = [label for label, *_ in parts]
    for first, second in zip(order, order[1:]):
        _arrow(axis, places[first], places[second])
    for stage in range(1, 4):  # the encoder's skip connections: added to the input of the decoder block below
        source, target = f"encoder stage {stage}", f"decoder block {stage}"
        if source in places and target in places:
            _arrow(axis, places[source], places[target], dashed=True)
    handles = [FancyBboxPatch((0, 0), 1, 1, facecolor=colour) for colour in ROLE_COLOURS.values()]
    axis.legend(handles, ["feature encoder (II-A)", "context extractor (II-B)", "feature decoder (II-C)", "head"],
                loc="lower left", fontsize=TITLE_POINTS, frameon=False, ncol=2)
    axis.set_title(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout()
    return figure


def _arrow(axis, start: tuple[float, float], end: tuple[float, float], dashed: bool = False) -> None:
    """From the edge of one box to the edge of the next: sideways along a row, downwards between rows."""
    (x0, y0), (x1, y1) = start, end
    if abs(y1 - y0) < 0.1:
        step = 0.46 if x1 > x0 else -0.46
        start, end = (x0 + step, y0), (x1 - step, y1)
    else:
        start, end = (x0, y0 - 0.32), (x1, y1 + 0.32)
    axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, linestyle="--" if dashed else "-",
                                   color="grey" if dashed else "black"))


def _millions(parameters: int) -> str:
    return f"{parameters / 1e6:.2f} M" if parameters >= 100_000 else f"{parameters:,}"


def _parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _output_shapes(model: torch.nn.Module, parts: list[tuple[str, torch.nn.Module]],
                   input_shape: tuple[int, ...]) -> dict[str, str]:
    """The output shape of each named part for one forward pass (channels x height x width, several for a tuple)."""
    shapes: dict[str, str] = {}

    def record(name):
        def hook(_module, _inputs, output):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            shapes[name] = ", ".join("x".join(str(side) for side in tensor.shape[1:]) for tensor in outputs)
        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in parts]
    with torch.no_grad():
        model.eval()(torch.zeros(input_shape))
    for handle in handles:
        handle.remove()
    return shapes
