"""Evaluate a restoration model on a data set, or restore a folder of images that has no targets.

Every image is restored at its own size with `unet.restore`. Where a clean target exists, each image
gets PSNR, SSIM and the affine-fit PSNR (docs/design.md §5-6), for the restored output and, beside it,
for the degraded input; images with a defect mask also get masked PSNR/SSIM. These are averaged per
category, over all images, and over the masks (images with an empty mask are skipped and counted).

`evaluate` writes everything into one output folder:
    metrics.json               the numbers (see `evaluate`); strictly valid JSON
    psnr_by_category.png       bars per category, restored beside the degraded input
    ssim_by_category.png
    triptychs/<name>.png       degraded | restored | clean (| mask), for one image per category
                               (degraded | restored where there is no clean target)
    restored/<name><suffix>    the restored images in their input's mode and bit depth

JSON has no infinity: the PSNR of an exact match (infinite) is stored as PSNR_CAP_DB, and a metric
that does not exist (no mask, an empty mask, an image smaller than the SSIM window) as null.
"""
import json
import math
import textwrap
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

import minigrad as mg
from data import DataError, ImageReadError, write_image
from minigrad.io import write_text_atomically
from minigrad.utils.background import in_background

from . import metrics
from .checkpoint import DEFAULT_CHECKPOINT, MIXED_CHECKPOINT
from .cli import progress_bar
from .plots import DEGRADED_LABEL, plot_category_bars, save_triptych
from .restore import restore, restore_with

PSNR_CAP_DB = 100.0     # stands for the infinite PSNR of an exact match (an MSE of 1e-10)
TILE = 512              # restore() tiles images larger than this
LOAD_AHEAD = 2          # images read (and degraded) in a thread while the one before them is restored
NOTE_WIDTH = 105        # the printed table's width, for the note under it
TRIPTYCH_LIMIT = 8      # triptychs are drawn for the first image of each category, up to this many
SSIM_WINDOW_SIDE = {"gaussian": 11, "uniform7": 7}  # images need at least this many pixels per side
SUMMARY_METRICS = ("psnr", "ssim", "affine_fit_psnr")
SCORES = (*SUMMARY_METRICS, "masked_psnr", "masked_ssim")  # of each image, restored and degraded
DEGRADED = "degraded_"  # prefix of the degraded input's metrics in every record


def resolve_device(name):
    """"auto" means the GPU when CuPy can use one, else the CPU; other names pass through."""
    if name == "auto":
        return "gpu" if mg.gpu_available() else "cpu"
    return name


def spread_indices(length, limit=None):
    """All indices, or `limit` of them spread evenly so that every part of the data set is represented."""
    if limit is None or limit >= length:
        return list(range(length))
    return [int(i) for i in np.linspace(0, length - 1, limit).round()]


# ----------------------------------------------------------------------------- restoring

@dataclass
class Restoration:
    """One restored image: the data set sample, the output clipped to [0, 1] as it would be saved,
    and, when a PyTorch build was given, the largest difference between the two builds' outputs."""

    index: int
    sample: dict
    restored: np.ndarray
    torch_max_abs_diff: Optional[float] = None


def restore_dataset(model, dataset, indices=None, torch_model=None, unreadable=None, progress=True,
                    self_ensemble=False):
    """Yield a Restoration for every readable image of `dataset` (at `indices`), in order.

    Unreadable files are skipped with a warning naming them, and appended to the `unreadable` list.
    `torch_model` restores every image too, in the same tiles; it compares the network alone, so it
    cannot go with `self_ensemble` (see `restore`).
    """
    if torch_model is not None and self_ensemble:
        raise ValueError("the PyTorch comparison runs the network once per image: it cannot check a self-ensemble")
    indices = range(len(dataset)) if indices is None else indices
    loaded = in_background((load_or_error(dataset, index) for index in indices), depth=LOAD_AHEAD)
    for index, sample, error in progress_bar(iterable=loaded, total=len(indices), desc="restoring", unit="image",
                                             disable=not progress):
        if error is not None:
            warnings.warn(f"{error}; skipped")
            if unreadable is not None:
                unreadable.append(str(error.path))
            continue
        degraded = sample["degraded"]
        restored = restore(model, degraded, tile=TILE, self_ensemble=self_ensemble)
        difference = None if torch_model is None else _torch_max_abs_diff(torch_model, degraded, restored)
        yield Restoration(index, sample, _as_saved(np.clip(restored, 0.0, 1.0), sample["info"]), difference)


def _as_saved(restored, info):
    """A grayscale file's restoration as it is written (the channels' mean, in each of them), so that it is
    scored, drawn and saved as one image."""
    if info is None or not info.grayscale:
        return restored
    return np.repeat(restored.mean(axis=2, keepdims=True), restored.shape[2], axis=2)


def load_or_error(dataset, index):
    """(index, sample, None), or (index, None, the ImageReadError) for an unreadable file: the caller
    decides whether to skip it, warn or stop."""
    try:
        return index, dataset.load(index), None
    except ImageReadError as err:
        return index, None, err


def _torch_max_abs_diff(torch_model, image, restored):
    """max |torch output - minigrad output| over the same tiles of the same input, before any clipping
    (whole images would need memory growing as the square of their area, in the non-local block)."""
    import torch  # present: the caller built torch_model with unet.torch_reference.to_torch

    def network(padded):
        batch = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]))
        with torch.no_grad():
            return torch_model(batch)[0].numpy().transpose(1, 2, 0)

    output = restore_with(network, image, tile=TILE)
    return float(np.abs(output.astype(np.float64) - restored).max())


# ----------------------------------------------------------------------------- per-image metrics

def _chw(image):
    return np.asarray(image).transpose(2, 0, 1)


def _number(value):
    """A JSON-safe float: infinite PSNR becomes the cap, NaN (undefined) becomes None."""
    value = float(value)
    if math.isnan(value):
        return None
    return math.copysign(PSNR_CAP_DB, value) if math.isinf(value) else value


def image_metrics(sample, restored, ssim_window="gaussian", degraded_scores=None):
    """The per-image record of a sample with a clean target.

    Keys: name, category, mask_pixels (None without a mask, 0 for an empty one), then psnr, ssim,
    affine_fit_psnr, masked_psnr, masked_ssim for the restored image and the same with the prefix
    "degraded_" for the degraded input. Masked values are None without a mask or with an empty one.
    degraded_scores: those "degraded_" entries of an earlier record of the same sample, to reuse
    (validation scores the same inputs every epoch).
    """
    clean, mask = _chw(sample["clean"]), sample["mask"]
    height, width = clean.shape[1:]
    ssim_fits = min(height, width) >= SSIM_WINDOW_SIDE[ssim_window]
    if not ssim_fits:
        warnings.warn(f"{sample['name']} is {width}x{height}, smaller than the {ssim_window} SSIM window: "
                      "its SSIM is left out")
    record = {"name": sample["name"], "category": sample["category"],
              "mask_pixels": None if mask is None else int(np.count_nonzero(mask))}
    for prefix, image in (("", restored), (DEGRADED, sample["degraded"])):
        if prefix == DEGRADED and degraded_scores is not None:
            record.update(degraded_scores)
            continue
        pred = _chw(image)
        values = {"psnr": metrics.psnr(pred, clean), "affine_fit_psnr": metrics.affine_fit_psnr(pred, clean),
                  "masked_psnr": math.nan if mask is None else metrics.masked_psnr(pred, clean, mask)}
        values["ssim"], values["masked_ssim"] = (metrics.ssim_with_masked(pred, clean, mask, window=ssim_window)
                                                 if ssim_fits else (math.nan, math.nan))
        record.update({prefix + key: _number(values[key]) for key in SCORES})
    return record


# ----------------------------------------------------------------------------- summaries

def _mean(values):
    """Mean of the values that exist (None = undefined), or None when none does."""
    present = [value for value in values if value is not None]
    return float(np.mean(present)) if present else None


def _means(records, keys):
    return {key: _mean(record[key] for record in records) for key in keys}


def summarize(records):
    """{"mean", "degraded", "per_category", "masked"} of per-image records (see `evaluate`)."""
    per_category = {}
    for category in sorted({record["category"] for record in records}):
        members = [record for record in records if record["category"] == category]
        per_category[category] = {"n": len(members),
                                  **_means(members, SUMMARY_METRICS + (DEGRADED + "psnr", DEGRADED + "ssim"))}
    return {"mean": _means(records, SUMMARY_METRICS),
            "degraded": {key: _mean(record[DEGRADED + key] for record in records) for key in SUMMARY_METRICS},
            "per_category": per_category,
            "masked": masked_summary(records)}


def masked_summary(records):
    """Means over the images that have a non-empty mask; n_skipped_empty_mask counts those whose mask is empty."""
    with_mask = [record for record in records if record["mask_pixels"] is not None]
    summary = {prefix + key: _mean(record[f"{prefix}masked_{key}"] for record in with_mask)
               for prefix in ("", DEGRADED) for key in ("psnr", "ssim")}
    empty = sum(record["mask_pixels"] == 0 for record in with_mask)
    summary.update(n_images=len(with_mask) - empty, n_skipped_empty_mask=empty)
    return summary


# ----------------------------------------------------------------------------- the whole run

class EvaluationStopped(Exception):
    """Ctrl-C or an error during `evaluate` after some images were done: `report` (and metrics.json)
    covers them, and the Ctrl-C or the error is the __cause__."""

    def __init__(self, done, total, metrics_path, report, cause):
        self.done, self.total, self.metrics_path, self.report = done, total, metrics_path, report
        how = "interrupted" if isinstance(cause, KeyboardInterrupt) else "stopped by an error"
        what = "has their numbers" if "per_image" in report else "lists them"
        super().__init__(f"{how} after {done} of {total} images; {metrics_path} {what}")


def _stop_reason(exc):
    """What metrics.json says of a run that stopped early."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"


def evaluate(model, dataset, out_dir, indices=None, ssim_window="gaussian", save_images=False, torch_model=None,
             checkpoint=None, settings=None, progress=True, self_ensemble=False):
    """Restore the images of `dataset` (at `indices`), write the outputs into `out_dir`, return the report.

    The report (also written as metrics.json) holds "checkpoint" and "settings" as given (settings
    gain psnr_cap_db, n_images and the unreadable files), then, where the data set has clean targets:
        "mean":         {psnr, ssim, affine_fit_psnr} of the restored images
        "degraded":     the same for the degraded inputs
        "per_category": {category: {n, psnr, ssim, affine_fit_psnr, degraded_psnr, degraded_ssim}}
        "masked":       {psnr, ssim, degraded_psnr, degraded_ssim, n_images, n_skipped_empty_mask}
        "per_image":    the records of `image_metrics`
        "note":         where the numbers call for it, advice and a command (`colour_mismatch_note`)
    and "compare_torch": {max_abs_diff, image (the name of the image it is on)} with `torch_model`. Without
    clean targets it restores only: every image is saved to restored/, and the report lists "images": {name,
    file, width, height}.
    `self_ensemble` restores each image as `restore` does with it. A run of hours keeps what it has
    done: on Ctrl-C or an error after some images, the report covers them (settings' "stopped_early"
    says why) and EvaluationStopped follows, caused by it; before any, the Ctrl-C or error goes on.
    """
    out_dir = Path(out_dir)
    if (out_dir / "metrics.json").exists():
        warnings.warn(f"{out_dir} holds an earlier evaluation: its metrics.json is replaced, but the images it "
                      "wrote stay where this one writes none; pass another --out for a folder of this one alone")
    out_dir.mkdir(parents=True, exist_ok=True)  # an --out that cannot be a folder fails now, not after an image
    total = len(dataset) if indices is None else len(indices)
    records, images, unreadable, differences, drawn = [], [], [], [], set()
    stopped = None
    try:
        for item in restore_dataset(model, dataset, indices, torch_model, unreadable, progress, self_ensemble):
            sample = item.sample
            if item.torch_max_abs_diff is not None:
                differences.append((item.torch_max_abs_diff, sample["name"]))
            record = None
            if sample["clean"] is None:
                images.append(_save_restored(out_dir, dataset, item))
            else:
                record = image_metrics(sample, item.restored, ssim_window)
                records.append(record)
                if save_images:
                    _save_restored(out_dir, dataset, item)
            if sample["category"] not in drawn and len(drawn) < TRIPTYCH_LIMIT:
                drawn.add(sample["category"])
                _save_triptych(out_dir, item, record)
    except (KeyboardInterrupt, Exception) as stop:
        if not records and not images:
            raise
        stopped = stop
    if not records and not images:
        raise DataError(f"none of the {len(unreadable)} images could be read")
    report = {"checkpoint": checkpoint,
              "settings": {**(settings or {}), "psnr_cap_db": PSNR_CAP_DB, "n_images": len(records) + len(images),
                           "unreadable": unreadable,
                           "stopped_early": None if stopped is None else _stop_reason(stopped)}}
    if records:
        report.update(summarize(records), per_image=records)
        _plot_categories(out_dir, report["per_category"])
    else:
        report["images"] = images
    if differences:
        difference, name = max(differences)
        report["compare_torch"] = {"max_abs_diff": difference, "image": name}
    note = colour_mismatch_note(report) if records else None
    if note:
        report["note"] = note
    write_text_atomically(out_dir / "metrics.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    if stopped is not None:
        raise EvaluationStopped(len(records) + len(images), total, out_dir / "metrics.json", report,
                                stopped) from stopped
    return report


def _save_restored(out_dir, dataset, item):
    """Write restored/<name><input suffix> in the input's mode; -> {name, file, width, height}."""
    source = dataset.items[item.index].source
    suffix = source.suffix if isinstance(source, Path) else ".png"  # generated images have no file
    relative = Path("restored") / (item.sample["name"] + suffix)
    write_image(out_dir / relative, item.restored, like=item.sample["info"])
    height, width = item.restored.shape[:2]
    return {"name": item.sample["name"], "file": relative.as_posix(), "width": width, "height": height}


def _save_triptych(out_dir, item, record):
    """degraded | restored | clean (| mask) with their scores; without a clean target (record None), the first two."""
    sample = item.sample
    if record is None:
        columns, titles = [sample["degraded"], item.restored], ["degraded", "restored"]
    else:
        columns = [sample["degraded"], item.restored, sample["clean"]]
        titles = [f"degraded\n{scores_text(record, DEGRADED)}", f"restored\n{scores_text(record)}", "clean"]
    if sample["mask"] is not None:
        columns.append(sample["mask"].astype(np.float32))
        titles.append("defect mask")
    save_triptych(out_dir / "triptychs" / f"{sample['name']}.png", columns, titles)


def scores_text(record, prefix=""):
    """PSNR and SSIM of an `image_metrics` record (prefix DEGRADED: of its degraded input), for figures."""
    return f"{_format(record[prefix + 'psnr'], 2)} dB, SSIM {_format(record[prefix + 'ssim'], 3)}"


def _plot_categories(out_dir, per_category):
    for metric in ("psnr", "ssim"):
        restored = {category: _nan_if_none(values[metric]) for category, values in per_category.items()}
        degraded = {category: _nan_if_none(values[DEGRADED + metric]) for category, values in per_category.items()}
        plot_category_bars(restored, out_dir / f"{metric}_by_category.png", metric,
                           compare={DEGRADED_LABEL: degraded})


def _nan_if_none(value):
    return math.nan if value is None else value


# ----------------------------------------------------------------------------- printing

def _format(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _display_width(text):
    """Columns a terminal gives the text: two for each wide character (CJK), as East Asian Width says."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def _table_row(label, count, restored, degraded, label_width):
    """One line of the table: restored PSNR, SSIM, affine-fit PSNR | the degraded input's PSNR, SSIM."""
    label += " " * (label_width - _display_width(label))
    return (f"{label}{count:>5}{_format(restored['psnr'], 2):>9}{_format(restored['ssim'], 4):>8}"
            f"{_format(restored.get('affine_fit_psnr'), 2):>10}  |"
            f"{_format(degraded['psnr'], 2):>11}{_format(degraded['ssim'], 4):>11}")


def format_report(report):
    """The report as text: per category and mean (restored beside the degraded input), masked, torch parity."""
    if "per_image" not in report:
        count = len(report["images"])
        return "\n".join([f"restored {count} image{'' if count == 1 else 's'} (no clean targets given, so no metrics)",
                          *_torch_comparison(report)])
    # the label column fits the longest category name, wide characters counted twice
    label_width = max([18] + [_display_width(category) + 1 for category in report["per_category"]])
    header = (f"{'category':<{label_width}}{'n':>5}{'PSNR':>9}{'SSIM':>8}{'fit PSNR':>10}  |"
              f"{'input PSNR':>11}{'input SSIM':>11}")
    rule = "-" * len(header)
    lines = [header, rule]
    for category, values in report["per_category"].items():
        degraded = {"psnr": values[DEGRADED + "psnr"], "ssim": values[DEGRADED + "ssim"]}
        lines.append(_table_row(category, values["n"], values, degraded, label_width))
    lines += [rule, _table_row("mean", len(report["per_image"]), report["mean"], report["degraded"], label_width)]
    masked = report["masked"]
    if masked["n_images"] or masked["n_skipped_empty_mask"]:
        degraded = {"psnr": masked[DEGRADED + "psnr"], "ssim": masked[DEGRADED + "ssim"]}
        lines.append(_table_row("within masks", masked["n_images"], masked, degraded, label_width)
                     + f"   ({masked['n_skipped_empty_mask']} image(s) with an empty mask skipped)")
    lines += _torch_comparison(report)
    note = colour_mismatch_note(report)
    if note:
        advice, command = note.split("\n")
        lines += textwrap.wrap(advice, NOTE_WIDTH, initial_indent="note: ", subsequent_indent=" " * 6)
        lines.append(" " * 6 + command)
    return "\n".join(lines)


def _torch_comparison(report):
    if "compare_torch" not in report:
        return []
    comparison = report["compare_torch"]
    return [f"PyTorch build vs minigrad: max |difference| = {comparison['max_abs_diff']:.3g} (on {comparison['image']})"]


def colour_mismatch_note(report):
    """Advice, then on a line of its own the command to follow it, for when the restored images score
    below their inputs yet above them once each channel's gain and offset are fitted: the structure was
    restored, but the colour and contrast correction the model learned from its training degradation
    does not suit this data, which fine-tuning fixes. None when the numbers do not call for it, or when either
    gap is below the 0.1 dB the note prints."""
    restored, degraded = report["mean"], report["degraded"]
    psnr, fit, input_psnr = restored["psnr"], restored["affine_fit_psnr"], degraded["psnr"]
    if None in (psnr, fit, input_psnr) or round(input_psnr - psnr, 1) <= 0 or round(fit - input_psnr, 1) <= 0:
        return None
    checkpoint = (report.get("checkpoint") or {}).get("path", "CHECKPOINT")
    if Path(checkpoint).resolve() == DEFAULT_CHECKPOINT.resolve():  # made for the kla preset alone
        advice = (f"Try --checkpoint checkpoints/{MIXED_CHECKPOINT.name}, made for any of the degradation presets, "
                  "or fine-tune this model on data like them")
    elif Path(checkpoint).name == MIXED_CHECKPOINT.name:
        advice = "Fine-tune it on data like them"
    else:  # a model of one's own: trained on other data, or not long enough
        advice = "Train it longer, or fine-tune it on data like them"
    return (f"the restored images score {input_psnr - psnr:.1f} dB below their inputs in PSNR, but "
            f"{fit - input_psnr:.1f} dB above them once each channel's gain and offset are fitted (fit PSNR): "
            f"the model's colour and contrast correction does not suit these images. {advice} "
            "(checkpoints/MODEL_CARD.md has an example):\n"
            f"python train.py --init {checkpoint} --lr-schedule cosine ...")
