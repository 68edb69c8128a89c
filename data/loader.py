"""Batches for training and evaluation, prepared by a background thread.

Everything random -- the order, crops, flips, rotations and (for synthetic training sets) the
degradations -- is derived from (seed, epoch, sample) alone, so epoch e gives the same batches
in a fresh process as in the one that trained epochs 0..e-1: resuming a run is exact.
"""
import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minigrad.utils.background import in_background

from .errors import DataError, ImageReadError

_ORDER_STREAM, _AUGMENT_STREAM = 10, 11  # independent of the data sets' degradation streams


class Loader:
    """Iterate over a data set in batches of NCHW float32 arrays.

    A batch is a dict: "degraded" and "clean" (N,3,H,W) float32 ("clean" is None when the data set
    has no targets), "mask" (N,1,H,W) bool or None when no sample has one, "has_mask" (N,) bool,
    and the per-sample lists "names", "categories", "defects", "infos", "params".

    `patch_size` takes a random square crop of every sample; without it, whole samples are cut at the
    bottom and right to sides that are multiples of `side_multiple` (a network's input size step, 8 for
    the U-Net), and must keep sides of `min_side` (what the loss needs). `augment` adds random flips
    and, for square samples, 90-degree rotations. For validation pass shuffle=False, augment=False.
    `workers` threads prepare the samples of a batch side by side (reading, resizing and degrading
    release the GIL): worth it when a GPU trains and the CPU cores are free.
    Unreadable images are skipped with one warning per file (that batch is one sample smaller;
    `len` counts batches as if every file were readable).
    """

    def __init__(self, dataset, batch_size=1, shuffle=True, seed=0, patch_size=None, augment=True,
                 drop_last=False, prefetch=2, workers=1, side_multiple=1, min_side=1):
        if batch_size < 1:
            raise DataError(f"batch size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size, self.shuffle, self.seed = dataset, batch_size, shuffle, seed
        self.patch_size, self.augment, self.drop_last, self.prefetch = patch_size, augment, drop_last, prefetch
        self.workers, self.side_multiple, self.min_side = workers, side_multiple, min_side
        self.epoch = 0
        self._warned = set()

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        count = len(self.dataset) / self.batch_size
        return math.floor(count) if self.drop_last else math.ceil(count)

    def __iter__(self):
        batches = self._batches(self.epoch)
        if self.prefetch > 0:
            return in_background(batches, self.prefetch)
        return batches

    def _batches(self, epoch):
        """The epoch's batches; every sample's randomness comes from (seed, epoch, sample), so the
        workers' order of work changes nothing."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="data-worker") as pool:
            prepare = pool.map if self.workers > 1 else map  # the pool starts no thread until used
            for indices in self._batch_indices(epoch):
                samples = [sample for sample in prepare(lambda index: self._sample(index, epoch), indices)
                           if sample is not None]
                if samples:
                    yield collate(samples)

    def _batch_indices(self, epoch):
        order = np.arange(len(self.dataset))
        if self.shuffle:
            order = np.random.default_rng([self.seed, _ORDER_STREAM, epoch]).permutation(order)
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if len(indices) == self.batch_size or not self.drop_last:
                yield indices.tolist()

    def _sample(self, index, epoch):
        try:
            sample = self.dataset.load(index, epoch)
        except ImageReadError as err:
            if err.path not in self._warned:
                self._warned.add(err.path)
                warnings.warn(f"{err}; skipped", stacklevel=2)
            return None
        rng = np.random.default_rng([self.seed, _AUGMENT_STREAM, epoch, index])
        return transform_sample(sample, rng, self.patch_size, self.augment, self.side_multiple, self.min_side)


def transform_sample(sample, rng, patch_size=None, augment=True, side_multiple=1, min_side=1):
    """Crop (patch_size, else to sides that are multiples of side_multiple, at least min_side) and
    flip/rotate (augment) the images and mask of a sample alike."""
    height, width = sample["degraded"].shape[:2]
    ops = []
    if patch_size is None:
        cut_height, cut_width = height - height % side_multiple, width - width % side_multiple
        if min(cut_height, cut_width) < min_side:
            raise DataError(f"{sample['name']} is {width}x{height}: whole images train at sides of at least "
                            f"{min_side} px in multiples of {side_multiple}; pass --size to resize them")
        if (cut_height, cut_width) != (height, width):
            height, width = cut_height, cut_width
            ops.append(lambda a: a[:height, :width])
    if patch_size is not None:
        if patch_size > height or patch_size > width:
            raise DataError(f"{sample['name']} is {width}x{height}, smaller than the patch size {patch_size}; "
                            "pass a smaller --patch-size, or --size to resize")
        top, left = rng.integers(0, height - patch_size + 1), rng.integers(0, width - patch_size + 1)
        ops.append(lambda a: a[top:top + patch_size, left:left + patch_size])
        height = width = patch_size
    if augment:
        flip_rows, flip_cols = rng.random(2) < 0.5
        square = height == width  # a quarter turn of a non-square sample would change its shape
        turns = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
        ops.append(lambda a: np.rot90(a[::-1 if flip_rows else 1, ::-1 if flip_cols else 1], turns))
    out = dict(sample)
    for key in ("degraded", "clean", "mask"):
        if out[key] is not None:
            for op in ops:
                out[key] = op(out[key])
    return out


def collate(samples):
    """Stack samples (same size required) into the batch dict described in `Loader`."""
    shapes = {sample["degraded"].shape for sample in samples}
    if len(shapes) > 1:
        sizes = ", ".join(sorted(f"{w}x{h}" for h, w, _ in shapes))
        raise DataError(f"a batch mixes image sizes ({sizes}); pass --patch-size or --size, or use batch size 1")
    has_mask = np.array([sample["mask"] is not None for sample in samples])
    mask = None
    if has_mask.any():
        blank = np.zeros(samples[0]["degraded"].shape[:2], bool)
        mask = np.stack([blank if sample["mask"] is None else sample["mask"] for sample in samples])[:, None]
    clean = None
    if all(sample["clean"] is not None for sample in samples):
        clean = _nchw([sample["clean"] for sample in samples])
    return {"degraded": _nchw([sample["degraded"] for sample in samples]), "clean": clean,
            "mask": mask, "has_mask": has_mask,
            "names": [sample["name"] for sample in samples],
            "categories": [sample["category"] for sample in samples],
            "defects": [sample["defect"] for sample in samples],
            "infos": [sample["info"] for sample in samples],
            "params": [sample["params"] for sample in samples]}


def _nchw(images):
    return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2), dtype=np.float32)
