"""The built-in data set: needs no download, so training and tests work on a machine without internet.

It is the real photographs and textures that ship inside scikit-image plus procedural industrial
images (`data.procedural`). The train/val split is fixed: a fixed list of held-out photographs and
procedural images drawn from seeds that never overlap between the splits.
"""
from functools import lru_cache

import numpy as np

from . import procedural
from .imageio import resize_image

# Real photographs and textures shipped with scikit-image (no pooch download needed). Synthetic
# images (checkerboard, colorwheel, logo, phantoms), binary ones (horse) and tiny ones
# (microaneurysms, lfw_subset) are left out on purpose.
SKIMAGE_VAL = ("camera", "coffee", "coins", "gravel")
SKIMAGE_TRAIN = ("astronaut", "brick", "cell", "chelsea", "clock", "grass", "hubble_deep_field",
                 "immunohistochemistry", "moon", "page", "retina", "rocket", "text")

PROCEDURAL_COUNT = {"train": 245, "val": 28}  # 35 and 4 of each of the 7 surface kinds
_VAL_SEED_OFFSET = 1_000_000                   # val images come from seeds train never uses
KINDS = tuple(procedural.SURFACES)


@lru_cache(maxsize=None)
def _skimage_image(name):
    """A scikit-image image as float32 HxWx3 in [0, 1], or None where this install cannot load it."""
    try:
        from skimage import data as skdata
        pixels = np.asarray(getattr(skdata, name)())
    except Exception:  # missing module, missing file, or a download that cannot happen offline
        return None
    values = pixels.astype(np.float32) / np.float32(np.iinfo(pixels.dtype).max)
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    values = values[..., :3]
    values.flags.writeable = False
    return values


def skimage_names(split):
    """The scikit-image images of a split that load here, in a fixed order."""
    names = SKIMAGE_TRAIN if split == "train" else SKIMAGE_VAL
    return [name for name in names if _skimage_image(name) is not None]


def skimage_clean(name, size=None):
    """A scikit-image image, resized to size x size when size is given (a fresh, writable copy)."""
    image = _skimage_image(name)
    return np.array(image if size is None else _resized(name, size))


@lru_cache(maxsize=64)
def _resized(name, size):
    image = resize_image(_skimage_image(name), size)
    image.flags.writeable = False
    return image


def procedural_items(split, count=None):
    """(kind, content seed) pairs of the procedural part of a split; kinds take turns."""
    count = PROCEDURAL_COUNT[split] if count is None else count
    offset = _VAL_SEED_OFFSET if split == "val" else 0
    return [(KINDS[i % len(KINDS)], offset + i) for i in range(count)]
