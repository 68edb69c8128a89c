"""Attention explorer: what the U-Net looks at, as PNG figures tied together by an index.html.

    python -m unet.explain --image builtin:camera --out explain_camera
    python -m unet.explain --image part.png --checkpoint random --query 40,52 120,8 --out explain_part

For one image it shows the input, the restored image and their difference; for each SCA block the
spatial gate (mean over channels), the most and least attended channels and the channel weights;
for the non-local block the attention row of a few query pixels over all positions; and a few
feature maps per encoder/decoder level. Everything comes from one `model(x, return_intermediates=True)`
call on the reflect-padded image, with every map cropped back to the image.
"""
import argparse
import html
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

import minigrad as mg
from data.degrade import degradation_names, degrade
from data.errors import DataError
from data.imageio import read_image
from minigrad.backend import to_numpy

from .checkpoint import (COMMAND_LINE_FLAGS, DEFAULT_CHECKPOINT, PYTHON_ARGUMENTS, CheckpointError, checkpoint_file,
                         option_words)
from .checkpoint import load_model as load_checkpoint_model
from .cli import EXIT_INTERRUPTED, EXIT_USER_ERROR, NATIVE, check_output_folder, named, run, user_errors
from .model import INPUT_MULTIPLE, UNet
from .restore import ceil_div, pad_to_multiple, to_unit_float

REPO_ROOT = Path(__file__).resolve().parents[1]
RELEASED_WEIGHTS = REPO_ROOT.parent / "shared" / "reference" / "kla_unet_sca_nl_released.pth"
SCA_BLOCKS = ("att1", "att2", "att3", "att4")
FEATURE_LEVELS = ("enc1", "enc2", "enc3", "enc4", "bottleneck", "dec3", "dec2", "dec1")
CHANNELS_SHOWN = 4          # per level in the feature figure, and per end of the SCA channel ranking
DEFAULT_SIZE = 256
CELL = INPUT_MULTIPLE       # pixels per bottleneck position along each side (three 2x poolings)
MAX_POSITIONS = 64 * 64     # bottleneck positions of a 512x512 image: its affinity has N^2 = 16.8M entries
ROWS_ALIKE = 0.25           # median distance of the softmax rows from their average below which they are "alike"
PROG = "python -m unet.explain"
BUILTIN_EXAMPLES = "astronaut, camera, coffee, brick, chelsea or grass"


class ExplainError(Exception):
    """A user-fixable problem: a missing image, an unreadable checkpoint, a bad query point."""


# ---- inputs: model and image ----------------------------------------------------------------

LOAD_MODEL_ARGUMENTS = {**PYTHON_ARGUMENTS, "checkpoint": "checkpoint"}  # load_model's own, which its messages name


def load_model(checkpoint=None, nonlocal_mode=None, spelling=LOAD_MODEL_ARGUMENTS):
    """The network to explain and a few words on where its weights came from.

    `checkpoint` is a path (whatever `unet.checkpoint.load_model` reads: a training checkpoint or a
    bare state dict, .npz or .pth), "random" for seeded untrained weights, or None for the shipped
    checkpoint, falling back to the authors' released weights (which use the "published" mode). The messages
    name the options to change as `spelling` does (see unet.checkpoint.load_model).
    """
    if checkpoint is None:
        checkpoint = next((path for path in (DEFAULT_CHECKPOINT, RELEASED_WEIGHTS) if path.exists()), None)
        if checkpoint is None:
            raise ExplainError(f"no checkpoint given and none at {DEFAULT_CHECKPOINT} or {RELEASED_WEIGHTS}: pass "
                               f"{option_words(spelling, 'checkpoint', 'PATH')}, or "
                               f"{option_words(spelling, 'checkpoint', 'random')} for untrained weights")
    if str(checkpoint) == "random":
        mg.manual_seed(0)
        return UNet(nonlocal_mode=nonlocal_mode or "softmax"), "random initialisation (untrained)"
    try:
        checkpoint = checkpoint_file(checkpoint)  # a run folder's file, so that the report names it
        model, _ = load_checkpoint_model(checkpoint, nonlocal_mode=nonlocal_mode, spelling=spelling)
    except CheckpointError as err:
        raise ExplainError(_one_line(err)) from None
    return model, Path(checkpoint).name


def _one_line(err):
    return " ".join(str(err).split())


def read_input(spec):
    """(image, name) for a file path or "builtin:NAME" (a scikit-image sample such as astronaut).

    The image is (H, W, 3), or (H, W) for grayscale, float32 in [0, 1].
    """
    if spec.startswith("builtin:"):
        return _builtin_image(spec[len("builtin:"):]), spec[len("builtin:"):]
    path = Path(spec)
    if path.is_dir():
        raise ExplainError(f"{path} is a folder: pass one image of it (evaluate.py --degraded restores a whole folder)")
    if not path.is_file():
        raise ExplainError(f"image not found: {path} (or use builtin:NAME, e.g. builtin:astronaut)")
    try:
        image, info = read_image(path)
    except DataError as err:
        raise ExplainError(_one_line(err)) from None
    return (image[..., 0] if info.grayscale else image), path.stem


def _builtin_image(name):
    from skimage import data as samples

    loader = getattr(samples, name, None)
    try:
        pixels = np.asarray(loader())
    except Exception:  # not a sample, or one that would need a download
        raise ExplainError(f"unknown built-in image {name!r}: try {BUILTIN_EXAMPLES}") from None
    try:
        image, _ = to_unit_float(pixels[..., :3] if pixels.ndim == 3 else pixels)
    except ValueError:
        raise ExplainError(f"built-in image {name!r} ({pixels.dtype}, shape {pixels.shape}) is not a uint8, uint16 "
                           f"or [0, 1] float picture: try {BUILTIN_EXAMPLES}") from None
    return image[..., 0] if image.shape[2] == 1 else image


def resized_shape(shape, size):
    """(h, w) of an image of `shape` resized so that its longer side is `size` pixels, keeping the aspect ratio."""
    h, w = shape[:2]
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_longer_side(image, size):
    """Shrink (or grow) so that the longer side is `size` pixels."""
    from skimage.transform import resize

    shape = resized_shape(image.shape, size) + image.shape[2:]
    return np.clip(resize(image, shape, anti_aliasing=size < max(image.shape[:2])), 0, 1).astype(np.float32)


def degrade_image(image, preset, seed=0):
    """A degraded copy (a `data.degrade` preset, seeded), so the report shows a restoration at work."""
    planes = image[..., None] if image.ndim == 2 else image
    degraded, _ = degrade(planes, preset, np.random.default_rng(seed))
    return degraded[..., 0] if image.ndim == 2 else degraded


# ---- what the network computed --------------------------------------------------------------

@dataclass
class Explanation:
    """Everything the figures show, as host arrays. Maps keep the padded image's grid; `crop` and
    `to_image` cut them back to the real image."""

    image: np.ndarray           # (h, w, 3) float32 in [0, 1]: the network's input (grayscale repeated)
    restored: np.ndarray        # (h, w, 3)
    grayscale: bool
    padded_shape: tuple         # (H, W): the image reflect-padded to multiples of 8
    features: dict              # level -> (C, H/s, W/s)
    sca: dict                   # att1..att4 -> {"spatial": (C, H/s, W/s) in (0, 1), "channel": (C,) in (0, 1)}
    affinity: np.ndarray        # (N, N), N = (H/8)(W/8): row i = how query cell i weighs every cell j
    nonlocal_mode: str
    source_shape: tuple         # (h, w) of the input before any resize: query points are given in its pixels

    @property
    def bottleneck_grid(self):
        return self.padded_shape[0] // CELL, self.padded_shape[1] // CELL

    def crop(self, array):
        """A map (..., H/s, W/s) cut down to the cells that cover the image."""
        s = self.padded_shape[0] // array.shape[-2]
        h, w = self.image.shape[:2]
        return array[..., :ceil_div(h, s), :ceil_div(w, s)]

    def to_image(self, array):
        """A map (H/s, W/s) at image size: each cell repeated s x s (nearest, so cells stay visible)."""
        s = self.padded_shape[0] // array.shape[-2]
        h, w = self.image.shape[:2]
        return np.repeat(np.repeat(array, s, axis=-2), s, axis=-1)[..., :h, :w]

    def from_source(self, x, y):
        """The pixel of the explained image under pixel (x, y) of the input before any resize."""
        return _corresponding_pixel(x, y, self.source_shape, self.image.shape)

    def to_source(self, x, y):
        """The input's pixel under pixel (x, y) of the explained image."""
        return _corresponding_pixel(x, y, self.image.shape, self.source_shape)

    def query_index(self, x, y):
        """Row-major index of the bottleneck position holding pixel (x, y): row y // 8, column x // 8."""
        _check_inside(x, y, self.image.shape)
        return (y // CELL) * self.bottleneck_grid[1] + x // CELL

    def query_map(self, x, y):
        """The non-local attention row of pixel (x, y) over all positions, on the bottleneck grid, cropped."""
        return self.crop(self.affinity[self.query_index(x, y)].reshape(self.bottleneck_grid))


def _corresponding_pixel(x, y, from_shape, to_shape):
    """The pixel of a resized copy (`to_shape`) under the centre of pixel (x, y) of an image of `from_shape`."""
    (from_h, from_w), (to_h, to_w) = from_shape[:2], to_shape[:2]
    return min(int((x + 0.5) * to_w / from_w), to_w - 1), min(int((y + 0.5) * to_h / from_h), to_h - 1)


def _check_inside(x, y, shape):
    h, w = shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        raise ExplainError(f"query point {x},{y} lies outside the {w}x{h} image")


def check_positions(shape):
    """Refuse an image of `shape` whose non-local affinity (N^2 entries for N bottleneck positions)
    would not fit in memory; main() asks before resizing, so that no image that large is made."""
    h, w = shape[:2]
    positions = ceil_div(h, CELL) * ceil_div(w, CELL)
    if positions > MAX_POSITIONS:
        raise ExplainError(f"a {w}x{h} image has {positions} bottleneck positions, too many for the non-local "
                           f"affinity ({positions}^2 entries): resize it (--size 512 or less)")


def explain(model, image, source_shape=None):
    """Run the network once on `image` ((H, W) or (H, W, C); uint8, uint16 or float in [0, 1], as
    `unet.restore` takes) and collect its maps. `source_shape`: the input's (h, w) if `image` is a resized
    copy of it, so that query points and their titles stay in the input's pixels."""
    if not model.attention or model.nonlocal_mode is None:
        raise ExplainError("this network is a plain U-Net without attention blocks: there is no attention to explain")
    float_image, _ = to_unit_float(image)
    check_positions(float_image.shape)
    grayscale = float_image.shape[2] == 1
    if grayscale:
        float_image = np.repeat(float_image, model.in_channels, axis=2)
    elif float_image.shape[2] != model.in_channels:
        raise ExplainError(f"the model takes {model.in_channels}-channel images, got {float_image.shape[2]} channels")
    h, w = float_image.shape[:2]
    padded = pad_to_multiple(float_image)
    device = next(model.parameters()).device
    batch = mg.tensor(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]), device=device)
    with mg.no_grad():
        out, inner = model(batch, return_intermediates=True)

    def host(tensor):
        return to_numpy(tensor.data)[0]

    restored = host(out).transpose(1, 2, 0)[:h, :w]
    if grayscale:
        restored = np.repeat(restored.mean(axis=2, keepdims=True), model.in_channels, axis=2)
    attention = inner["attention"]
    return Explanation(
        image=float_image, restored=restored, grayscale=grayscale, padded_shape=padded.shape[:2],
        features={level: host(inner["features"][level]) for level in FEATURE_LEVELS},
        sca={block: {"spatial": host(attention[block]["spatial"]), "channel": host(attention[block]["channel"])[:, 0, 0]}
             for block in SCA_BLOCKS},
        affinity=host(attention["nl_block"]["affinity"]),
        nonlocal_mode=model.nonlocal_mode,
        source_shape=tuple(source_shape or (h, w)),
    )


def auto_queries(explanation):
    """Query pixels worth looking at: the centre of the cell with the strongest edges, of the
    flattest cell, and of the image."""
    from skimage.filters import sobel
    from skimage.measure import block_reduce

    h, w = explanation.image.shape[:2]
    edges = block_reduce(sobel(explanation.image.mean(axis=2)), (CELL, CELL), np.nanmean, cval=np.nan)
    cells = [np.unravel_index(np.argmax(edges), edges.shape), np.unravel_index(np.argmin(edges), edges.shape),
             ((h // 2) // CELL, (w // 2) // CELL)]
    points = []
    for row, col in cells:
        point = (min(int(col) * CELL + CELL // 2, w - 1), min(int(row) * CELL + CELL // 2, h - 1))
        if point not in points:
            points.append(point)
    return points


def rows_alike_note(affinity):
    """How far the softmax rows are from their average, in words: a trained non-local block often attends
    alike from every query (Cao et al., GCNet, 2019), and maps that look alike would pass for a broken figure."""
    distance = 0.5 * np.abs(affinity - affinity.mean(axis=0)).sum(axis=1)  # total variation per row, 0 to 1
    median = float(np.median(distance))
    note = (f"Half of the {distance.size} rows differ from their average row by less than {median:.0%} of their "
            f"weight (total variation distance; the most different row by {float(distance.max()):.0%}).")
    if median < ROWS_ALIKE:
        note += (" So this block weighs the positions in much the same way from every query: it mostly adds one "
                 "global context to every position (as found for trained non-local blocks in general: Cao et al., "
                 "GCNet, 2019); query maps that look alike are what it computes, not a fault of the figure.")
    return note


# ---- figures --------------------------------------------------------------------------------

def _figure(width, height):
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    """Write a 256-colour PNG: about a third of the bytes of full RGBA, with no visible difference here."""
    figure.canvas.draw()
    rgb = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())[..., :3])
    rgb.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    return path


def _show_image(ax, image, grayscale, title=None, muted=False):
    """The image itself, or (muted) a faded gray version to lay a colour map over."""
    if grayscale or muted:
        gray = image.mean(axis=2)
        ax.imshow(0.35 + 0.5 * gray if muted else gray, cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.clip(image, 0, 1))
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


def overview_figure(explanation, path):
    """Input, restored output, and where the network changed the image."""
    figure = _figure(10.5, 3.8)
    axes = figure.subplots(1, 3)
    _show_image(axes[0], explanation.image, explanation.grayscale, "input")
    _show_image(axes[1], explanation.restored, explanation.grayscale, "restored")
    difference = np.abs(explanation.restored - explanation.image).mean(axis=2)
    shown = axes[2].imshow(difference, cmap="magma", vmin=0)
    axes[2].set_axis_off()
    axes[2].set_title("|restored - input| (mean over channels)", fontsize=10)
    figure.colorbar(shown, ax=axes[2], shrink=0.8)
    return _save(figure, path)


def sca_figure(explanation, block, path):
    """One SCA block: its mean spatial gate on the image, its channel weights, and the spatial gates
    of the channels it passes most and least (ranked by channel weight x mean spatial gate)."""
    spatial = explanation.crop(explanation.sca[block]["spatial"])            # (C, h/s, w/s)
    channel = explanation.sca[block]["channel"]                              # (C,)
    order = np.argsort(channel * spatial.mean(axis=(1, 2)))
    most, least = order[::-1][:CHANNELS_SHOWN], order[:CHANNELS_SHOWN]

    figure = _figure(11, 6.2)
    top, bottom = figure.subfigures(2, 1, height_ratios=(1.1, 1))
    overlay_ax, bars_ax = top.subplots(1, 2, width_ratios=(1, 1.6))
    _show_image(overlay_ax, explanation.image, explanation.grayscale, muted=True)
    shown = overlay_ax.imshow(explanation.to_image(spatial.mean(axis=0)), cmap="inferno", alpha=0.7)
    overlay_ax.set_title(f"{block}: spatial gate, mean over {len(channel)} channels", fontsize=10)
    top.colorbar(shown, ax=overlay_ax, shrink=0.8)

    colours = np.full(len(channel), "#9e9e9e", dtype=object)
    colours[most], colours[least] = "#d95f02", "#1b9e77"
    bars_ax.bar(np.arange(len(channel)), channel, color=list(colours), width=0.85)
    bars_ax.set_ylim(0, 1)
    bars_ax.set_xlim(-1, len(channel))
    bars_ax.set_xlabel("channel")
    bars_ax.set_ylabel("channel weight (sigmoid)")
    bars_ax.set_title("channel weights; orange, green: top, bottom 4 by weight x mean spatial gate", fontsize=10)

    grid = bottom.subplots(2, CHANNELS_SHOWN)
    for row, (label, picked) in enumerate((("most", most), ("least", least))):
        for rank, (ax, c) in enumerate(zip(grid[row], picked), start=1):
            ax.imshow(spatial[c], cmap="viridis", interpolation="nearest")
            ax.set_title(f"{label} #{rank}: channel {c}, weight {channel[c]:.2f}\n"
                         f"spatial gate {spatial[c].min():.2f} (dark) to {spatial[c].max():.2f} (bright)", fontsize=8.5)
            ax.set_axis_off()
    return _save(figure, path)


def nonlocal_figure(explanation, queries, path, labels=None):
    """The attention row of each query pixel over every bottleneck position, on the image; each titled
    by its `labels` entry (the point in the input's pixels; default: the point itself)."""
    published = explanation.nonlocal_mode == "published"
    figure = _figure(3.9 * len(queries) + 0.6, 4.4)
    axes = np.atleast_1d(figure.subplots(1, len(queries)))
    for ax, (x, y), label in zip(axes, queries, labels or queries):
        row = explanation.query_map(x, y)
        _show_image(ax, explanation.image, explanation.grayscale, muted=True)
        if published:
            limit = float(np.abs(row).max()) or 1.0
            shown = ax.imshow(explanation.to_image(row), cmap="RdBu_r", norm=TwoSlopeNorm(0, -limit, limit), alpha=0.7)
            ax.set_title(f"query {label}: signed " + r"$\theta_i \cdot \phi_j \,/\, N$", fontsize=10)
        else:
            shown = ax.imshow(explanation.to_image(row), cmap="inferno", alpha=0.65)
            full_row = explanation.affinity[explanation.query_index(x, y)]
            ax.set_title(f"query {label}: softmax row\nsums to {full_row.sum():.3f}\n"
                         f"uniform would be 1/N = {1 / full_row.size:.2g}", fontsize=10)
        corner = (x // CELL * CELL - 0.5, y // CELL * CELL - 0.5)
        ax.add_patch(Rectangle(corner, CELL, CELL, fill=False, edgecolor="cyan", linewidth=1.5))
        ax.plot([x], [y], marker="*", markersize=14, color="cyan", markeredgecolor="black")
        figure.colorbar(shown, ax=ax, shrink=0.75)
    return _save(figure, path)


def features_figure(explanation, path):
    """The most varied channels of each level, laid out like the U: encoder levels down the left,
    the decoder level of the same resolution beside each, the bottleneck beside enc4."""
    rows = (("enc1", "dec1"), ("enc2", "dec2"), ("enc3", "dec3"), ("enc4", "bottleneck"))
    figure = _figure(1.6 * 2 * CHANNELS_SHOWN, 1.85 * len(rows))
    halves = figure.subfigures(1, 2, wspace=0.02)
    for half, side in zip(halves, ("encoder", "decoder")):
        grid = half.subplots(len(rows), CHANNELS_SHOWN)
        half.suptitle(side, fontsize=11)
        for axes, pair in zip(grid, rows):
            level = pair[side == "decoder"]
            maps = explanation.crop(explanation.features[level])
            for ax, c in zip(axes, np.argsort(maps.var(axis=(1, 2)))[::-1][:CHANNELS_SHOWN]):
                ax.imshow(maps[c], cmap="viridis", interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"channel {c}", fontsize=8)
            axes[0].set_ylabel(f"{level}\n{maps.shape[0]} x {maps.shape[1]} x {maps.shape[2]}", fontsize=9)
    return _save(figure, path)


# ---- the report -----------------------------------------------------------------------------

def write_report(explanation, out_dir, queries=None, title="", source=""):
    """Write every figure and an index.html with captions into `out_dir`; returns the index path.
    `queries`: (x, y) pixels of the input before any resize (`Explanation.source_shape`)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExplainError(f"cannot create output folder {out_dir}: {_one_line(err)}") from None
    if queries:
        labels = [tuple(query) for query in queries]
        for x, y in labels:
            _check_inside(x, y, explanation.source_shape)  # a clear error before any figure is drawn
        points = [explanation.from_source(x, y) for x, y in labels]
    else:
        points = auto_queries(explanation)
        labels = [explanation.to_source(x, y) for x, y in points]
    h, w = explanation.image.shape[:2]
    sections = [("Input, output, difference", overview_figure(explanation, out_dir / "overview.png"),
                 f"The image as the network sees it (reflect-padded to a multiple of {CELL}, then cropped back), "
                 "the restored image, and the per-pixel change.")]
    sca_caption = ("The block multiplies its features (a skip's; for att4, the bottleneck's input) by a spatial "
                   "gate sigmoid(conv1x1(x)) and a channel weight from global pooling. Top left: the spatial gate "
                   "averaged over channels (brighter = a larger fraction passed; mind the colour bar's range); top "
                   "right: each channel's weight; bottom: the spatial gates of the channels with the largest and "
                   "smallest overall gate (weight x mean spatial gate), each on its own colour scale.")
    for block in SCA_BLOCKS:
        channels, rows = explanation.sca[block]["spatial"].shape[:2]
        stride = explanation.padded_shape[0] // rows
        sections.append((f"SCA block {block} ({channels} channels, 1/{stride} resolution)",
                         sca_figure(explanation, block, out_dir / f"sca_{block}.png"),
                         sca_caption if block == SCA_BLOCKS[0] else f"The same views as for {SCA_BLOCKS[0]}."))
    if explanation.nonlocal_mode == "published":
        nonlocal_caption = ("Published form (the released weights): the affinity is theta_i . phi_j / N with no "
                            "softmax, so it is signed and rows do not sum to 1; red = positive, blue = negative. "
                            "The released code also reshapes the result y with a raw view, so y_i does not land "
                            "on the query's cell: read this as the weight the query gives each position's value.")
    else:
        nonlocal_caption = ("Softmax form (paper eq. 6): each row is a probability distribution over positions and "
                            "sums to 1. " + rows_alike_note(explanation.affinity))
    sections.append(("Non-local block", nonlocal_figure(explanation, points, out_dir / "nonlocal.png", labels),
                     f"For each query pixel (star; its {CELL}x{CELL} bottleneck cell outlined), the weight its row "
                     f"of the affinity gives every bottleneck position, shown as {CELL}x{CELL} blocks over the image. "
                     + nonlocal_caption))
    sections.append(("Feature maps", features_figure(explanation, out_dir / "features.png"),
                     "The four most varied channels at each encoder level (left) and, beside it, the decoder "
                     "level of the same resolution (right; the bottleneck, after the non-local block, beside "
                     "enc4). Each map has its own colour scale."))

    source_h, source_w = explanation.source_shape
    size = f"{w}x{h}" if (h, w) == (source_h, source_w) else f"{source_w}x{source_h}, resized to {w}x{h}"
    body = [f"<h1>{html.escape(title or 'Attention explorer')}</h1>",
            f"<p>Image {size}{' (grayscale)' if explanation.grayscale else ''}; weights: {html.escape(source)}; "
            f"non-local mode: {html.escape(explanation.nonlocal_mode)}; query pixels (x, y) in the image's own "
            f"pixels: {', '.join(str(label) for label in labels)}.</p>"]
    for heading, figure_path, caption in sections:
        body += [f"<h2>{html.escape(heading)}</h2>", f'<img src="{figure_path.name}" alt="{html.escape(heading)}">',
                 f"<p>{html.escape(caption)}</p>"]
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>"
            "<style>body{{font-family:sans-serif;max-width:1250px;margin:auto}} img{{max-width:100%}}</style>"
            "</head><body>\n{}\n</body></html>\n").format(html.escape(title or "Attention explorer"), "\n".join(body))
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# ---- command line ---------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _longer_side(text):
    """An argparse type: the pixels of the longer side, or `native` (or 0) for the image's own size, as train.py and
    evaluate.py name it."""
    if text == NATIVE:
        return 0
    try:
        side = int(text)
    except ValueError:
        side = -1
    if side < 0:
        raise argparse.ArgumentTypeError(f"must be a number of pixels, or {NATIVE} (or 0) for the image's own size, "
                                         f"got {text}")
    return side


def _query(text):
    try:
        x, y = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"query {text!r} must be two integer pixel coordinates X,Y, e.g. 40,52") from None
    return x, y


def _parser():
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=named(), required=True,
                        help="image file, or builtin:NAME for a scikit-image sample (builtin:astronaut)")
    parser.add_argument("--checkpoint", type=named(), help="weights (.npz or .pth), or 'random'; default: the shipped "
                                                           "checkpoint, else the authors' released weights")
    parser.add_argument("--nonlocal", dest="nonlocal_mode", choices=("softmax", "published"), help="non-local form for a bare state dict or random weights (a training checkpoint records its own)")
    parser.add_argument("--query", type=_query, nargs="+", metavar="X,Y",
                        help="query pixels for the non-local figure, in the input image's coordinates "
                             "(default: a strong edge, a flat area and the centre)")
    parser.add_argument("--size", type=_longer_side, default=DEFAULT_SIZE,
                        help=f"resize so the longer side has this many pixels (default {DEFAULT_SIZE}; native or 0 "
                             "keeps the size)")
    parser.add_argument("--degrade", choices=degradation_names(),
                        help="first degrade the image with this preset (seeded), e.g. kla: blur, colour cast, noise")
    parser.add_argument("--out", type=named(), required=True, help="folder for the figures and index.html")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        check_output_folder(args.out)
        image, name = read_input(args.image)
        original_h, original_w = image.shape[:2]
        for x, y in args.query or ():
            _check_inside(x, y, image.shape)
        check_positions(resized_shape(image.shape, args.size) if args.size else image.shape)
        if args.size:
            image = resize_longer_side(image, args.size)
        if args.degrade:
            image = degrade_image(image, args.degrade)
            name = f"{name}, degraded ({args.degrade})"
        model, source = load_model(args.checkpoint, args.nonlocal_mode, spelling=COMMAND_LINE_FLAGS)
        explanation = explain(model, image, source_shape=(original_h, original_w))
        index = write_report(explanation, args.out, args.query, title=f"Attention explorer: {name}", source=source)
    except (ExplainError, *user_errors()) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        written = Path(args.out).is_dir() and any(Path(args.out).glob("*.png"))
        print(f"\ninterrupted; {f'the figures written so far are in {args.out}' if written else 'no figure was written'}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    run(main)
