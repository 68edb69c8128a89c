"""PNG charts shared by train.py and evaluate.py: training curves, image grids, per-category bars.

Everything draws on a bare matplotlib Figure with the Agg canvas (no pyplot), so it needs no display,
keeps no global figure state and is safe to call once per epoch for hours.
"""
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

MASK_COLOUR = (1.0, 0.15, 0.1)
MASK_ALPHA = 0.35
METRIC_LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "affine_fit_psnr": "affine-fit PSNR (dB)"}
DEGRADED_LABEL = "degraded input"  # the baseline series of every chart, drawn gray
DEGRADED_COLOUR = "0.45"
METRIC_FORMATS = {"psnr": "%.1f", "ssim": "%.3f", "affine_fit_psnr": "%.1f"}  # bar labels: one precision per chart


def _figure(width, height):
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


@lru_cache
def _characters_of(font_file):
    return frozenset(FT2Font(font_file).get_charmap())


def _drawable(text):
    """`text`, such as an image's name, as the charts' font can draw it: a character the font lacks (CJK, most
    emoji in DejaVu Sans) is written as its escape, \\u732b, rather than drawn as a box with a warning for
    each chart."""
    covered = _characters_of(font_manager.findfont(font_manager.FontProperties()))
    return "".join(char if ord(char) in covered or not char.isprintable()
                   else char.encode("unicode_escape").decode("ascii") for char in text)


def _save(figure, path):
    """Write the figure as a PNG, creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


# ---- training curves --------------------------------------------------------------------------

LOSS_COLUMNS = ("loss", "charbonnier", "edge", "ssim_loss")
PSNR_COLUMNS = (("val_psnr", "restored"), ("val_affine_psnr", "restored, affine fit"),
                ("degraded_psnr", DEGRADED_LABEL))
SSIM_COLUMNS = (("val_ssim", "restored"), ("degraded_ssim", DEGRADED_LABEL))
CURVE_STYLES = {"restored": dict(color="C0"), "restored, affine fit": dict(color="C1"),  # the same in both panels
                DEGRADED_LABEL: dict(color=DEGRADED_COLOUR, linestyle="--")}


def _column(rows, key):
    """Floats of one log column; missing or empty entries become NaN so the line just has a gap."""
    values = []
    for row in rows:
        value = row.get(key)
        values.append(float(value) if value not in (None, "") else np.nan)
    return np.asarray(values)


def plot_curves(log_rows, path):
    """Training loss (and its parts) and validation PSNR/SSIM per epoch, beside the degraded input's.

    `log_rows` are the rows of log.csv as dicts (numbers or strings); keys that are absent are skipped.
    """
    epochs = _column(log_rows, "epoch")
    figure = _figure(13, 3.8)
    loss_ax, psnr_ax, ssim_ax = figure.subplots(1, 3)
    for key in LOSS_COLUMNS:
        if any(key in row for row in log_rows):
            loss_ax.plot(epochs, _column(log_rows, key), marker="o", markersize=3, label=key)
    loss_ax.set_yscale("log")
    loss_ax.set_title("training loss (mean per epoch)", fontsize=10)
    for ax, columns, title in ((psnr_ax, PSNR_COLUMNS, "validation PSNR (dB)"),
                               (ssim_ax, SSIM_COLUMNS, "validation SSIM")):
        for key, label in columns:
            if any(key in row for row in log_rows):
                ax.plot(epochs, _column(log_rows, key), marker="o", markersize=3, label=label, **CURVE_STYLES[label])
        ax.set_title(title, fontsize=10)
    for ax in (loss_ax, psnr_ax, ssim_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(np.nanmin(epochs) - 0.5, np.nanmax(epochs) + 0.5)  # whole epochs, even for a run of one
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # below the axes: curves can run anywhere inside them
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return _save(figure, path)


# ---- image grids ------------------------------------------------------------------------------

def _rows_of(column):
    """A column is one image (HWC/HW array) or a sequence of images, one per row; None = no image."""
    if column is None or isinstance(column, np.ndarray):
        return [column]
    return list(column)


def _show(ax, image, mask):
    ax.set_axis_off()
    if image is None:
        ax.text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=12, color="0.5", transform=ax.transAxes)
        return
    image = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    if mask is not None and np.any(mask):
        overlay = np.zeros(mask.shape + (4,), dtype=np.float32)
        overlay[mask.astype(bool)] = MASK_COLOUR + (MASK_ALPHA,)
        ax.imshow(overlay, interpolation="nearest")


def save_triptych(path, columns, titles, masks=None, row_labels=None):
    """A grid of images: one column per entry of `columns` (e.g. degraded | restored | clean).

    columns: each is one HWC/HW float image in [0, 1] or a list of them (one per row); None draws "n/a".
    titles: one per column. masks: optional HW bool per row (None entries allowed), drawn as a
    translucent red overlay on every image of that row. row_labels: optional text left of each row.
    """
    grid = [_rows_of(column) for column in columns]
    n_rows, n_cols = max(len(column) for column in grid), len(grid)
    if len(titles) != n_cols:
        raise ValueError(f"{n_cols} columns but {len(titles)} titles")
    masks = list(masks) if masks is not None else [None] * n_rows
    title_lines = max(title.count("\n") + 1 for title in titles)
    figure = _figure(2.6 * n_cols, 2.6 * n_rows + 0.2 + 0.2 * title_lines)
    axes = np.asarray(figure.subplots(n_rows, n_cols, squeeze=False))
    for col, column in enumerate(grid):
        for row in range(n_rows):
            _show(axes[row, col], column[row] if row < len(column) else None, masks[row] if row < len(masks) else None)
        axes[0, col].set_title(_drawable(titles[col]), fontsize=10, parse_math=False)
    for row, label in enumerate(row_labels or []):
        axes[row, 0].text(-0.04, 0.5, _drawable(label), ha="right", va="center", rotation=90, fontsize=8,
                          transform=axes[row, 0].transAxes, parse_math=False)
    return _save(figure, path)


# ---- per-category bars ------------------------------------------------------------------------

def _metric_value(value, metric):
    return float(value[metric]) if isinstance(value, dict) else float(value)


def plot_category_bars(per_category, path, metric, compare=None):
    """Bar chart of one metric per category, sorted best first.

    per_category: {category: number} or {category: {metric: number, ...}}.
    compare: optional {label: {category: number or dict}} drawn as extra bars beside each category
    (e.g. the degraded input, or published figures); categories it lacks are left empty.
    """
    main = {category: _metric_value(value, metric) for category, value in per_category.items()}
    categories = sorted(main, key=main.get, reverse=True)
    series = [("restored", main)] + [(label, {c: _metric_value(v, metric) for c, v in values.items()})
                                     for label, values in (compare or {}).items()]
    width = 0.8 / len(series)
    positions = np.arange(len(categories))
    figure = _figure(max(5.0, 0.6 * len(categories) * len(series) + 1.5), 4)
    ax = figure.subplots()
    for index, (label, values) in enumerate(series):
        heights = [values.get(category, np.nan) for category in categories]
        bars = ax.bar(positions + (index - (len(series) - 1) / 2) * width, heights, width, label=label,
                      color=DEGRADED_COLOUR if label == DEGRADED_LABEL else None)
        ax.bar_label(bars, fmt=METRIC_FORMATS.get(metric, "%.3g"), fontsize=7, padding=1)
    ax.set_xticks(positions, [_drawable(category) for category in categories], rotation=45, ha="right", fontsize=8,
                  parse_math=False)
    label = METRIC_LABELS.get(metric, metric)
    ax.set_ylabel(label)
    ax.set_title(f"{label.split(' (')[0]} per category", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return _save(figure, path)
