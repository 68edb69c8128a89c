"""Data for restoration: image I/O, the degradation model, data sets and a prefetching loader.

Batches come out as NumPy arrays for the caller to move to a device (of minigrad, only the background-thread
prefetch of `minigrad.utils.background` is used).
"""
from .datasets import (LAYOUTS, BuiltinDataset, CleanFolderDataset, Dataset, FolderDataset, KLADataset, MVTecDataset,
                       detect_layout, open_dataset, options_that_applied, refuse_on_the_fly_options)
from .degrade import PRESETS, degradation_names, degrade
from .errors import DataError, ImageReadError
from .imageio import ImageInfo, read_image, read_mask, write_image
from .loader import Loader

__all__ = ["DataError", "ImageReadError", "open_dataset", "detect_layout", "LAYOUTS", "Loader", "degrade",
           "PRESETS", "degradation_names", "read_image", "write_image", "read_mask", "ImageInfo", "Dataset",
           "KLADataset", "MVTecDataset", "FolderDataset", "CleanFolderDataset", "BuiltinDataset",
           "refuse_on_the_fly_options",
           "options_that_applied"]
