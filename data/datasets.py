"""Data sets: KLA pairs, MVTec AD (degraded on the fly), paired folders, a folder of clean images (degraded on
the fly), and the built-in set.

Every data set is indexable and returns a sample dict:
    degraded  HxWx3 float32 in [0, 1]       the network input
    clean     HxWx3 float32, or None        the target (None for inference-only folders)
    mask      HxW bool, or None             the defect mask; None where there is none
                                            (MVTec and procedural "good" images, KLA defect types
                                            without a Defect_mask folder, photographs)
    name      str, unique within the data set, e.g. "bottle/broken_large/000"; but in a folder restored
              without targets, where nothing is matched by name, "x.bmp" and "x.jpeg" are both "x"
    category  str, for per-category reports
    defect    str or None, the defect type ("good" for defect-free MVTec/procedural images)
    info      ImageInfo of the input file (None for generated images), for writing outputs alike
    params    the degradation parameters (None for files that come degraded)

`load(index, epoch)` is what the Loader calls: training splits of synthetic data sets draw a fresh
degradation for every (epoch, sample); every other split is the same in every epoch.

`keep_decoded(budget)` keeps what was read from disk (decoded, resized) in memory for the next epoch.
"""
import os
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from . import builtin, procedural
from .degrade import check_degradation, degrade
from .errors import DataError
from .imageio import (IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES, is_image_file, read_image, read_mask, resize_image,
                      resize_mask, upright_size)

LAYOUTS = {
    "kla": "<root>/<category>/{Train,Val}/{GT_clean_image,Degraded_image,Defect_mask}/<defect_type>/<name>.png "
           "(masks named <name>_mask.png)",
    "mvtec": "<root>/<category>/{train,test}/<defect_type>/<name>.png and "
             "<root>/<category>/ground_truth/<defect_type>/<name>_mask.png (clean images, degraded on the fly)",
    "folders": "--degraded DIR [--clean DIR] [--masks DIR], images matched by file name; or --clean DIR "
               "[--masks DIR] alone, clean images degraded on the fly",
    "builtin": "no files: scikit-image photographs and procedural industrial images",
}
# The folder each layout uses for a split; "val" and "test" both mean the held-out part.
_SPLIT_DIRS = {
    "kla": {"train": "Train", "val": "Val", "test": "Val"},
    "mvtec": {"train": "train", "val": "test", "test": "test"},
    "builtin": {"train": "train", "val": "val", "test": "val"},
}
BUILTIN_SIZE = 256
_FIXED_STREAM, _EPOCH_STREAM = 0, 1  # keep fixed and per-epoch degradations independent


@dataclass(frozen=True)
class Item:
    """Where one sample comes from; `source` is the file or generator input the data set needs."""

    name: str
    category: str
    defect: Optional[str]
    source: object
    clean: Optional[Path] = None
    mask: Optional[Path] = None


def make_sample(degraded, clean, mask, item, info=None, params=None, defect=None):
    return {"degraded": degraded, "clean": clean, "mask": mask, "name": item.name, "category": item.category,
            "defect": defect or item.defect, "info": info, "params": params}


class Dataset:
    """Indexable samples (see the module docstring for the sample dict)."""

    fresh_each_epoch = False  # True where `load(index, epoch)` draws a new degradation each epoch
    synthetic = False         # True where clean images are degraded on the fly (--degradation, --seed)
    size = None               # the side every image is resized to; None where each keeps its own

    def __init__(self, items, where, layout):
        if not items:
            raise DataError(f"no images found in {where} (expected the {layout} layout: {LAYOUTS[layout]})")
        self.items, self.layout = items, layout
        self._kept, self._kept_bytes, self._keep_budget = {}, 0, 0
        self._keep_lock = threading.Lock()  # the Loader's thread and validation may decode at once

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.load(index)

    @property
    def categories(self):
        return sorted({item.category for item in self.items})

    def load(self, index, epoch=None):
        raise NotImplementedError

    def refuse_smaller_than(self, side, advice, indices=None):
        """A DataError listing every image (of `indices`) with a side below `side` px, from the file headers, so
        that training stops before it starts rather than at such an image, hours in. Images resized to
        `size` are left to the caller, which knows that size; unreadable files, to the loader, which names them."""
        if self.size:
            return
        small = []
        for index in range(len(self)) if indices is None else indices:
            item = self.items[index]
            size = upright_size(item.source)
            if size is not None and min(size) < side:
                small.append(f"{item.name} ({size[0]}x{size[1]})")
        if small:
            raise DataError(f"{len(small)} training image(s) with a side below {side} px: {_listing(small)}; {advice}")

    def keep_decoded(self, budget_bytes):
        """Keep each decoded (and resized) image in memory, until they fill `budget_bytes`.

        Reading a 1024 px PNG and resizing it costs ten times the degradation that follows: without
        this, a GPU waits on the loader. What is kept is what decoding again would give, read-only,
        so a run is the same with or without it.
        """
        self._keep_budget = budget_bytes

    def _decoded(self, index, decode):
        """`decode(item)`, or what it gave the last time while it fits in the budget."""
        kept = self._kept.get(index)
        if kept is not None:
            return kept
        decoded = decode(self.items[index])
        arrays = [part for part in decoded if isinstance(part, np.ndarray)]
        size = sum(array.nbytes for array in arrays)
        with self._keep_lock:
            if self._kept_bytes + size <= self._keep_budget:
                for array in arrays:
                    array.flags.writeable = False
                self._kept[index] = decoded
                self._kept_bytes += size
        return decoded


class PairedDataset(Dataset):
    """Degraded/clean file pairs (KLA and paired folders): nothing random, every epoch the same."""

    def __init__(self, items, where, layout, size=None):
        super().__init__(items, where, layout)
        self.size = size
        _check_pair_sizes(items, resized=size is not None)

    def load(self, index, epoch=None):
        degraded, clean, mask, info = self._decoded(index, self._read_pair)
        return make_sample(degraded, clean, mask, self.items[index], info=info)

    def _read_pair(self, item):
        degraded, info = read_image(item.source)
        clean = read_image(item.clean)[0] if item.clean else None
        mask = read_mask(item.mask) if item.mask else None
        if self.size:
            degraded = resize_image(degraded, self.size)
            clean = None if clean is None else resize_image(clean, self.size)
            mask = None if mask is None else resize_mask(mask, self.size)
        _check_decoded_pair(item, degraded, clean, mask)
        return degraded, clean, mask, info


class KLADataset(PairedDataset):
    """The KLA layout; `root` is the data set root or one category folder."""

    def __init__(self, root, split="train", size=None):
        root = _existing_dir(root, "KLA data folder")
        split_dir = _split_dir("kla", split)
        categories = _category_dirs(root, _is_kla_category)
        others = [category for category in _category_dirs(root, _is_mvtec_category) if category not in categories]
        _refuse_other_layout(root, "kla", [] if categories else others)
        if others:  # beside KLA categories, a folder of another layout is left out: say so
            warnings.warn(f"{root} also holds {_listing([category.name for category in others])} in the MVTec AD "
                          "layout, left out of this KLA data set")
        items = []
        for category_dir, base in _with_split(categories, split_dir, root):
            degraded_dir, clean_dir = _subfolder(base, "Degraded_image"), _subfolder(base, "GT_clean_image")
            degraded, clean = _images_under(degraded_dir), _images_under(clean_dir)
            keys = _pair(degraded, clean, degraded_dir, clean_dir)
            masks = _mask_index(_subfolder(base, "Defect_mask"), degraded)
            for key in keys:
                items.append(Item(f"{category_dir.name}/{key}", category_dir.name, _first_folder(key),
                                  degraded[key], clean[key], masks.get(key)))
        super().__init__(items, f"{root} (split {split_dir})", "kla", size)


class FolderDataset(PairedDataset):
    """Paired folders matched by file name (nested folders allowed; the first folder is the category).

    Without `clean_dir` it serves inference only (clean is None); without `masks_dir` too, nothing is
    matched by name, so "x.bmp" and "x.jpeg" are both restored (as "x": their outputs keep their suffix).
    """

    def __init__(self, degraded_dir, clean_dir=None, masks_dir=None, size=None):
        degraded_dir = _existing_dir(degraded_dir, "degraded folder")
        clean, masks = None, {}
        if clean_dir is None and masks_dir is None:
            files = _image_files(degraded_dir)
        else:
            degraded = _images_under(degraded_dir)
            files = sorted(degraded.items())
            if clean_dir is not None:
                clean_dir = _existing_dir(clean_dir, "clean folder")
                if clean_dir.resolve() == degraded_dir.resolve():  # each image would be its own target
                    raise DataError(f"--degraded and --clean are the same folder, {clean_dir}: pass the clean "
                                    "images' own folder, or --degraded alone to restore without scoring")
                clean = _images_under(clean_dir)
                _pair(degraded, clean, degraded_dir, clean_dir)
            if masks_dir is not None:
                masks = _mask_index(_existing_dir(masks_dir, "masks folder"), degraded)
        items = [Item(key, _first_folder(key) or "images", None, path,
                      clean[key] if clean is not None else None, masks.get(key))
                 for key, path in files]
        super().__init__(items, degraded_dir, "folders", size)


class SyntheticDataset(Dataset):
    """Clean images degraded on the fly with an rng that depends only on (seed, [epoch,] the sample's seed_key)."""

    synthetic = True

    def __init__(self, items, where, layout, split, degradation, seed, size):
        super().__init__(items, where, layout)
        check_degradation(degradation)  # fail now, not in the first batch, on an unknown preset
        self.degradation, self.seed, self.size = degradation, seed, size
        self.fresh_each_epoch = split == "train"

    def seed_key(self, index):
        """What identifies sample `index` in its degradation's seed: a stable hash of its name (crc32, not the
        salted hash()), so that an image is degraded alike whatever else its folder holds; seeded by its index,
        one more image or category would change the degraded input, and the scores, of every image after it."""
        return zlib.crc32(self.items[index].name.encode("utf-8"))

    def degradation_rng(self, index, epoch=None):
        key = self.seed_key(index)
        if self.fresh_each_epoch and epoch is not None:
            return np.random.default_rng([self.seed, _EPOCH_STREAM, epoch, key])
        return np.random.default_rng([self.seed, _FIXED_STREAM, key])

    def load(self, index, epoch=None):
        clean, mask, info, defect = self._decoded(index, self.load_clean)
        gray = info is not None and info.grayscale  # a gray camera's image gets no colour cast: one channel degraded
        degraded, params = degrade(clean[..., :1] if gray else clean, self.degradation,
                                   self.degradation_rng(index, epoch))
        if gray:
            degraded = np.repeat(degraded, clean.shape[2], axis=2)
        return make_sample(degraded, clean, mask, self.items[index], info=info, params=params, defect=defect)

    def load_clean(self, item):
        """-> (clean HxWx3 float32, mask or None, ImageInfo or None, defect name or None), read from the
        item's files (the built-in set generates its images instead)."""
        clean, info = read_image(item.source)
        mask = read_mask(item.mask) if item.mask else None
        if self.size:
            clean = resize_image(clean, self.size)
            mask = None if mask is None else resize_mask(mask, self.size)
        _check_mask_shape(item, clean, mask)
        return clean, mask, info, None


class MVTecDataset(SyntheticDataset):
    """MVTec AD; `root` is the data set root or one category folder. "val" means the test folder.

    Grayscale categories come back with 3 equal channels; "good" images have mask None.
    """

    def __init__(self, root, split="train", degradation="kla", seed=0, size=None):
        root = _existing_dir(root, "MVTec data folder")
        split_dir = _split_dir("mvtec", split)
        categories = _category_dirs(root, _is_mvtec_category)
        _refuse_other_layout(root, "mvtec", [category for category in categories if _is_kla_category(category)])
        items = []
        for category_dir, split_folder in _with_split(categories, split_dir, root):
            images = _images_under(split_folder)
            # ground_truth/ holds the test split's masks: only there must every mask match an image
            masks = _mask_index(category_dir / "ground_truth", images if split_dir == "test" else None)
            for key, path in sorted(images.items()):
                items.append(Item(f"{category_dir.name}/{key}", category_dir.name, _first_folder(key), path,
                                  mask=masks.get(key)))
        super().__init__(items, f"{root} (split {split_dir})", "mvtec", split, degradation, seed, size)


class CleanFolderDataset(SyntheticDataset):
    """The folders layout with --clean DIR alone: one's own clean images, with no degraded copies,
    degraded on the fly as MVTec's are (nested folders allowed; the first folder is the category).
    Masks, where given, are matched by file name. It has no split: training holds out part of it."""

    def __init__(self, clean_dir, masks_dir=None, split="train", degradation="kla", seed=0, size=None):
        clean_dir = _existing_dir(clean_dir, "clean folder")
        images = _images_under(clean_dir)
        masks = {} if masks_dir is None else _mask_index(_existing_dir(masks_dir, "masks folder"), images)
        items = [Item(key, _first_folder(key) or "images", None, path, mask=masks.get(key))
                 for key, path in sorted(images.items())]
        super().__init__(items, clean_dir, "folders", split, degradation, seed, size)


class BuiltinDataset(SyntheticDataset):
    """scikit-image photographs (category "skimage") and procedural images (category = surface kind).

    Procedural content is fixed per index (its seed does not depend on `seed`, so every run
    validates on the same images); `seed` drives the degradations. `procedural_count` overrides
    the number of procedural images of the split.
    """

    def __init__(self, split="train", degradation="kla", seed=0, size=BUILTIN_SIZE, procedural_count=None):
        split_name = _split_dir("builtin", split)
        items = [Item(f"skimage/{name}", "skimage", None, ("skimage", name))
                 for name in builtin.skimage_names(split_name)]
        items += [Item(f"{kind}/{content_seed:07d}", kind, None, ("procedural", kind, content_seed))
                  for kind, content_seed in builtin.procedural_items(split_name, procedural_count)]
        super().__init__(items, "the built-in data set", "builtin", split, degradation, seed, size)

    def seed_key(self, index):
        """The index: the set is generated here and never changes, and published scores depend on its
        degradations as they have been drawn."""
        return index

    def load_clean(self, item):
        if item.source[0] == "skimage":
            return builtin.skimage_clean(item.source[1], self.size), None, None, None
        _, kind, content_seed = item.source
        image, mask, defect = procedural.generate(kind, content_seed, self.size or BUILTIN_SIZE)
        return image, mask, None, defect


def open_dataset(data="builtin", layout="auto", split="train", degradation="kla", seed=0, size=None,
                 degraded_dir=None, clean_dir=None, masks_dir=None):
    """Open a data set by command-line style options; every user mistake is a DataError.

    `data` is "builtin" or a folder whose layout is detected ("auto") or named; the folders layout
    takes `degraded_dir` (and `clean_dir`, `masks_dir`), or `clean_dir` alone (and `masks_dir`), instead.
    The built-in set defaults to 256x256.
    """
    if layout != "auto" and layout not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; the layouts are {describe_layouts()}")
    if layout == "folders" or any(folder is not None for folder in (degraded_dir, clean_dir, masks_dir)):
        if layout not in ("auto", "folders"):
            reads = "no files" if layout == "builtin" else "--data FOLDER"
            raise DataError(f"--layout {layout} reads {reads}; --degraded and --clean DIR are the folders layout")
        if degraded_dir is not None:
            return FolderDataset(degraded_dir, clean_dir, masks_dir, size)
        if clean_dir is not None:
            return CleanFolderDataset(clean_dir, masks_dir, split, degradation, seed, size)
        if masks_dir is not None:
            raise DataError("--masks DIR holds the masks of the images in --degraded DIR, or --clean DIR alone: pass "
                            "one of them too (a --data set keeps its masks in its own tree)")
        raise DataError("the folders layout needs --degraded DIR (with --clean DIR to train or evaluate), or --clean "
                        "DIR alone for clean images to degrade on the fly")
    if layout == "builtin" or str(data) == "builtin":
        if layout not in ("auto", "builtin"):
            raise DataError(f"--layout {layout} reads a data set folder: pass it with --data FOLDER")
        if str(data) != "builtin":  # the folder would be left unread without a word
            raise DataError(f"--layout builtin reads no files: drop --data {data}, or --layout builtin to read it")
        return BuiltinDataset(split, degradation, seed, size or BUILTIN_SIZE)
    root = _existing_dir(data, "data folder")
    layout = detect_layout(root) if layout == "auto" else layout
    if layout == "kla":
        return KLADataset(root, split, size)
    return MVTecDataset(root, split, degradation, seed, size)


def options_that_applied(dataset, **options):
    """`options` (any of data, split, degradation, seed) as a record of what shaped `dataset`, with its layout:
    None for those that do not apply to it (a --data set and its split to paired folders; the degradation
    and its seed to images that come degraded), so that a run's record says nothing it did not use."""
    applies = {"data": dataset.layout != "folders", "split": dataset.layout != "folders",
               "degradation": dataset.synthetic, "seed": dataset.synthetic}
    return {"layout": dataset.layout, **{key: value if applies[key] else None for key, value in options.items()}}


def refuse_on_the_fly_options(dataset, given):
    """Options such as --degradation and --seed (`given`: the flags passed) shape clean images degraded
    on the fly; for data that come degraded they would do nothing, so passing one is a mistake."""
    if given and not dataset.synthetic:
        verb = "applies" if len(given) == 1 else "apply"
        raise DataError(f"{' and '.join(given)} {verb} to clean images degraded on the fly (built-in, MVTec, --clean "
                        "DIR alone); these images come degraded")


def detect_layout(root):
    """"kla" or "mvtec" from the folder tree; a DataError describing the layouts otherwise."""
    root = _existing_dir(root, "data folder")
    if _category_dirs(root, _is_kla_category):
        return "kla"
    if _category_dirs(root, _is_mvtec_category):
        return "mvtec"
    raise DataError(f"cannot tell the layout of {root}; the layouts are {describe_layouts()}")


def describe_layouts():
    return "; ".join(f"{name}: {text}" for name, text in LAYOUTS.items())


# ----------------------------------------------------------------------------- file tree helpers

def _is_kla_category(folder):
    return any(_subfolder(_subfolder(folder, split), "GT_clean_image").is_dir() for split in ("Train", "Val"))


def _subfolder(folder, name):
    """folder/name, or the sub-folder whose name differs from it in case only (KLA trees come as
    Train/Val and as train/val). Without either, folder/name, which does not exist."""
    exact = folder / name
    if exact.is_dir() or not folder.is_dir():
        return exact
    return next((child for child in folder.iterdir() if child.name.lower() == name.lower() and child.is_dir()),
                exact)


def _with_split(categories, split_dir, root):
    """(category, its split folder) for the categories that have one; a DataError where none has it, and a
    warning naming those without it where some have it (a misspelt folder would otherwise leave a category out)."""
    folders = [(category, _subfolder(category, split_dir)) for category in categories]
    having = [(category, folder) for category, folder in folders if folder.is_dir()]
    if categories and not having:
        names = ", ".join(category.name for category in categories[:5])
        raise DataError(f"no category of {root} has a {split_dir} folder (looked in {names}"
                        f"{', ...' if len(categories) > 5 else ''})")
    lacking = [category.name for category, folder in folders if (category, folder) not in having]
    if lacking:
        warnings.warn(f"{len(lacking)} categor{'y' if len(lacking) == 1 else 'ies'} of {root} without a {split_dir} "
                      f"folder, left out of that split: {_listing(lacking)}", stacklevel=3)
    return having


def _refuse_other_layout(root, layout, other_categories):
    """A DataError naming the other layout where `root` holds categories of it (`other_categories`). Folder
    names match in any case, so a KLA category (Train/GT_clean_image, ...) is an MVTec one too: read as MVTec,
    its masks and degraded images would be taken for clean images and restored without a word."""
    if other_categories:
        other = "mvtec" if layout == "kla" else "kla"
        names = {"kla": "KLA", "mvtec": "MVTec AD"}
        raise DataError(f"{root} is in the {names[other]} layout, not {names[layout]} (categories "
                        f"{_listing([category.name for category in other_categories])}): pass --layout {other} "
                        "or --layout auto")


def _is_mvtec_category(folder):
    return any(_subfolder(folder, split).is_dir() for split in ("train", "test"))


def _category_dirs(root, is_category):
    """`root` itself when it is one category, otherwise its sub-folders that are categories.

    `root` made absolute names its category ("." would name none, and its images would be seeded otherwise).
    """
    if is_category(root):
        return [Path(os.path.abspath(root))]
    return [folder for folder in sorted(root.iterdir()) if folder.is_dir() and is_category(folder)]


def _existing_dir(path, what):
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{what} {path} is not a folder")
    return path


def _split_dir(layout, split):
    try:
        return _SPLIT_DIRS[layout][split]
    except KeyError:
        raise DataError(f"unknown split {split!r}; use train, val or test") from None


def _images_under(folder):
    """{relative path without suffix (posix): file} of the images anywhere under `folder`, for matching
    by name: names taken by more than one image ("x.bmp" and "x.jpeg") are a DataError listing them all."""
    images, clashes = {}, {}
    for key, path in _image_files(folder):
        if key in images:
            clashes.setdefault(key, [images[key]]).append(path)
        images[key] = path
    if clashes:
        listed = [f"{key} ({', '.join(path.relative_to(folder).as_posix() for path in paths)})"
                  for key, paths in sorted(clashes.items())]
        raise DataError(f"{len(clashes)} name(s) in {folder} taken by more than one image, which cannot be matched "
                        f"by name: {_listing(listed)}; rename or remove all but one of each")
    return images


def _image_files(folder):
    """[(relative path without suffix (posix), file)] of the images anywhere under `folder`, sorted.

    A broken link with an image's suffix is kept, to be named and skipped when read like an unreadable file.
    """
    folder = _existing_dir(folder, "image folder")
    found, other_kinds = [], set()
    for path in _files_under(folder):
        if is_image_file(path) or (path.suffix.lower() in IMAGE_SUFFIXES and not path.exists()):
            found.append((path.relative_to(folder).with_suffix("").as_posix(), path))
        elif path.suffix.lower() in OTHER_IMAGE_SUFFIXES:
            other_kinds.add(path.suffix.lower())
    if other_kinds:
        warnings.warn(f"{folder} holds images of a kind not read here ({', '.join(sorted(other_kinds))}), "
                      f"left out: convert them to {', '.join(IMAGE_SUFFIXES)}")
    return sorted(found)


def _files_under(folder, above=frozenset()):
    """Every file under `folder`, linked sub-folders followed (Path.rglob passes them over);
    a link back to a folder that holds it is named in a warning and left out, not followed round forever.

    Hidden files and folders are passed over: macOS "._" resource forks, .ipynb_checkpoints, trash.
    """
    above = above | {folder.resolve()}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_dir():
            yield path
        elif path.resolve() in above:
            warnings.warn(f"{path} links to {path.resolve()}, which holds it: left out, not to loop")
        else:
            yield from _files_under(path, above)


def _mask_index(folder, images=None):
    """Masks keyed like the images they belong to ("<name>_mask.png" -> "<name>"); {} without a folder.

    Given the `images` they are for, masks that match none of them are named in a warning: a mask
    named otherwise would be silently left out of the within-mask metrics.
    """
    if not folder.is_dir():
        return {}
    masks = {key.removesuffix("_mask"): path for key, path in _images_under(folder).items()}
    orphans = sorted(masks.keys() - images.keys()) if images is not None else []
    if orphans:
        warnings.warn(f"{len(orphans)} mask(s) in {folder} match no image (a mask of <name>.png is named "
                      f"<name>_mask.png): {_listing(orphans)}", stacklevel=3)
    return masks


def _pair(degraded, clean, degraded_dir, clean_dir):
    """The keys present on both sides; any image without a partner is a DataError that lists them."""
    problems = [f"{len(keys)} image(s) in {folder} have no partner in {other}: {_listing(keys)}"
                for keys, folder, other in ((sorted(degraded.keys() - clean.keys()), degraded_dir, clean_dir),
                                            (sorted(clean.keys() - degraded.keys()), clean_dir, degraded_dir))
                if keys]
    if problems:
        raise DataError("unpaired images: " + "; ".join(problems))
    return sorted(degraded)


def _listing(keys, limit=10):
    shown = ", ".join(keys[:limit])
    return shown + (f" (and {len(keys) - limit} more)" if len(keys) > limit else "")


def _first_folder(key):
    return key.split("/")[0] if "/" in key else None


def _check_pair_sizes(items, resized):
    """Every pair whose images (or mask) do not fit together, listed at once from the file headers: read one
    by one, the first would stop a run after hours, and the next only the run after. At their own size they
    must be the same size; `resized` to one size, of the same shape (one scene at two resolutions is aligned
    by resizing, but a crop or another aspect ratio would be stretched unlike)."""
    mismatched = []
    for item in items:
        files = (("degraded", item.source), ("clean", item.clean), ("mask", item.mask))
        if sum(path is not None for _, path in files) < 2:
            continue  # a lone image (restoring only): nothing to pair
        sizes = [(role, upright_size(path)) for role, path in files if path is not None]
        sizes = [(role, size) for role, size in sizes if size is not None]
        if any(not _fit(size, sizes[0][1], resized) for _, size in sizes[1:]):
            mismatched.append(f"{item.name} ({', '.join(f'{role} {w}x{h}' for role, (w, h) in sizes)})")
    if not mismatched:
        return
    if resized:
        raise DataError(f"{len(mismatched)} pair(s) whose images or masks differ in shape: {_listing(mismatched)}; "
                        "resizing to --size would stretch them unlike, not align them: give each pair one shape")
    raise DataError(f"{len(mismatched)} pair(s) whose images or masks differ in size: {_listing(mismatched)}; "
                    "make each degraded image, its clean image and its mask the same size (or, for pairs of one "
                    "shape at two resolutions, pass --size to resize them alike)")


def _fit(size, other, resized):
    """The same size; or, for images resized to one size, the same shape up to the rounding of a side to
    whole pixels (a half-resolution 33x32 of a 65x64 image fits; a crop of one row in a hundred does not)."""
    (width, height), (other_width, other_height) = size, other
    if not resized:
        return size == other
    return abs(width * other_height - other_width * height) <= max(width, height, other_width, other_height)


def _check_decoded_pair(item, degraded, clean, mask):
    """The headers were checked when the data set was opened (_check_pair_sizes): this catches a file
    changed on disk since, which would otherwise be cut to fit and trained on misaligned."""
    if clean is not None and clean.shape[:2] != degraded.shape[:2]:
        raise DataError(f"{item.clean} is {clean.shape[1]}x{clean.shape[0]} but its degraded image {item.source} "
                        f"is {degraded.shape[1]}x{degraded.shape[0]}: changed since the data set was opened?")
    _check_mask_shape(item, degraded, mask)


def _check_mask_shape(item, image, mask):
    if mask is not None and mask.shape != image.shape[:2]:
        raise DataError(f"mask {item.mask} is {mask.shape[1]}x{mask.shape[0]} but its image "
                        f"{item.source} is {image.shape[1]}x{image.shape[0]}")
