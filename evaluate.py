"""Evaluate a restoration model, or restore a folder of images.

    python evaluate.py --data builtin --limit 8 --out runs/eval          # the built-in validation images
    python evaluate.py --data DATA --layout kla --split val --out runs/kla
    python evaluate.py --checkpoint kla_unet_sca_nl_released.pth --nonlocal published --data DATA --out runs/released
    python evaluate.py --degraded noisy/ --clean clean/ [--masks masks/] --out runs/folders
    python evaluate.py --clean clean/ --degradation noise --out runs/noise   # clean images, degraded on the fly
    python evaluate.py --degraded photos/ --out runs/restored            # no targets: restore only

Every image is restored at its own size. OUT receives metrics.json, a table printed here as well,
PSNR/SSIM bar charts per category, triptychs of a few images, and with --save-images (always, when
there are no clean targets) the restored images in restored/, each in its input's mode and bit depth
(palette and CMYK images as RGB).
In metrics.json the infinite PSNR of an exact match is stored as 100 dB, and undefined values as null.

Exit status: 0 done, 2 a usage or data error, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM. Stopped by
Ctrl-C, SIGTERM or an error, metrics.json and the table cover the images done.
"""
import argparse
import signal
import sys
import warnings
from pathlib import Path

# Ctrl-C while the libraries load exits quietly, as it does once unet.cli.run runs (unless it is ignored,
# as in a background job of a shell script).
if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))  # 130: the shell's status for Ctrl-C

from data import DataError, degradation_names, open_dataset, options_that_applied, refuse_on_the_fly_options
from unet.checkpoint import COMMAND_LINE_FLAGS, DEFAULT_CHECKPOINT, checkpoint_file, load_model
from unet.cli import (EXIT_INTERRUPTED, NATIVE, check_output_folder, image_size_or_native, named, positive,
                      refuse_options, run, seed)
from unet.evaluation import EvaluationStopped, evaluate, format_report, resolve_device, spread_indices
from unet.metrics import SSIM_WINDOWS
from unet.torch_reference import to_torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model = parser.add_argument_group("model")
    model.add_argument("--checkpoint", type=named(Path), default=None,
                       help="a train.py checkpoint (.npz), a train.py run folder (its best.npz), or a bare state "
                            "dict such as the authors' released .pth (default: the shipped pretrained model)")
    model.add_argument("--nonlocal", dest="nonlocal_mode", choices=("softmax", "published"), default=None,
                       help="the non-local mode the weights were trained with (default: the checkpoint's own; "
                            "'published' for a bare state dict)")
    model.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    model.add_argument("--compare-torch", action="store_true",
                       help="also run the PyTorch build on the same inputs, in the same tiles, and report the largest "
                            "output difference and the image it is on")
    model.add_argument("--self-ensemble", action="store_true",
                       help="average the outputs for the 8 flips and quarter turns of each image: 8 times the "
                            "time, about +0.2 dB (see checkpoints/MODEL_CARD.md)")
    source = parser.add_argument_group("data")
    source.add_argument("--data", type=named(), default=None,
                        help="'builtin' (the default) or a data set folder; see --layout")
    source.add_argument("--layout", choices=("auto", "kla", "mvtec", "folders"), default="auto")
    source.add_argument("--split", choices=("train", "val", "test"), default=None,
                        help="the part of a --data set to use (default val; test is the same held-out part)")
    source.add_argument("--degraded", type=named(Path), help="folder of degraded images (the folders layout)")
    source.add_argument("--clean", type=named(Path), help="folder of clean images matching --degraded by file name; "
                                                          "alone, clean images degraded on the fly (see --degradation)")
    source.add_argument("--masks", type=named(Path), help="folder of defect masks named <name>_mask.png")
    source.add_argument("--size", type=image_size_or_native, default=None,
                        help="resize every image to SIZE x SIZE first, as the paper did (metrics and saved images "
                             f"are then at that size); '{NATIVE}' (the default) restores each at its own size")
    source.add_argument("--degradation", choices=degradation_names(), default=None,
                        help="the degradation applied on the fly to clean-only data (built-in, MVTec, --clean "
                             "alone); mixed draws one of the others for each image (default kla)")
    source.add_argument("--seed", type=seed, default=None,
                        help="seed of the on-the-fly degradations (default 0)")
    source.add_argument("--limit", type=positive(int), default=None,
                        help="evaluate at most N images, spread evenly over the data set")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=named(Path), default=Path("evaluation"),
                        help="output folder (default: evaluation)")
    output.add_argument("--save-images", action="store_true", help="also write the restored images to OUT/restored")
    output.add_argument("--ssim-window", choices=SSIM_WINDOWS, default="gaussian",
                        help="gaussian: Wang et al. (11x11, sigma 1.5); uniform7: skimage's default 7x7 box")
    args = parser.parse_args(argv)
    if args.compare_torch and args.self_ensemble:
        refuse_options(parser, "--compare-torch checks the network itself, which --self-ensemble runs 8 times: pass one")
    return args


def open_data(args):
    """The data set; options that cannot apply to it are errors rather than silently ignored, and
    those left out are set to what was used where they apply (so that metrics.json records them)."""
    folders = [flag for flag, folder in (("--degraded", args.degraded), ("--clean", args.clean)) if folder is not None]
    if args.data is not None and folders:
        raise DataError(f"pass either --data or {folders[0]}, not both")
    if folders and args.split is not None:
        raise DataError(f"--split picks a part of a --data set; {folders[0]} folders have no parts")
    given = [flag for flag, value in (("--degradation", args.degradation), ("--seed", args.seed)) if value is not None]
    data, split = args.data or "builtin", args.split or "val"
    degradation, seed = args.degradation or "kla", args.seed or 0
    dataset = open_dataset(data, layout=args.layout, split=split, degradation=degradation, seed=seed, size=args.size,
                           degraded_dir=args.degraded, clean_dir=args.clean, masks_dir=args.masks)
    refuse_on_the_fly_options(dataset, given)
    vars(args).update(options_that_applied(dataset, data=data, split=split, degradation=degradation, seed=seed))
    return dataset


def settings_of(args, device):
    """The options that shaped the numbers, as JSON values."""
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
                if key not in ("checkpoint", "out")}
    return {**settings, "device": device}


def main(argv=None):
    args = parse_args(argv)
    try:
        return _evaluate(args)
    except EvaluationStopped as stop:
        print("\n" + format_report(stop.report))
        print(f"\n{stop}", file=sys.stderr)
        if not isinstance(stop.__cause__, KeyboardInterrupt):
            raise stop.__cause__ from None  # a user error's one line, or a bug's own traceback
    except KeyboardInterrupt:
        print("\ninterrupted before any image was done; no results were written", file=sys.stderr)
    return EXIT_INTERRUPTED


def _evaluate(args):
    check_output_folder(args.out, (("--degraded", args.degraded), ("--clean", args.clean), ("--masks", args.masks)),
                        written_inside="restored")
    device = resolve_device(args.device)
    if args.checkpoint is not None:
        args.checkpoint = checkpoint_file(args.checkpoint)  # metrics.json names the file, not its run folder
    model, state = load_model(args.checkpoint, device=device, nonlocal_mode=args.nonlocal_mode,
                              spelling=COMMAND_LINE_FLAGS)
    dataset = open_data(args)
    torch_model = None
    if args.compare_torch:
        torch_model = to_torch(model)
    checkpoint = {"path": str(args.checkpoint or DEFAULT_CHECKPOINT), "model_config": model.config(),
                  "epoch": state.get("epoch")}
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every unreadable file is named, however alike their messages
        report = evaluate(model, dataset, args.out, indices=spread_indices(len(dataset), args.limit),
                          ssim_window=args.ssim_window, save_images=args.save_images, torch_model=torch_model,
                          checkpoint=checkpoint, settings=settings_of(args, device), self_ensemble=args.self_ensemble)
    print(format_report(report))
    print(f"outputs in {args.out}")
    return 0


if __name__ == "__main__":
    run(main)
