"""Train the SCA + non-local U-Net.

    python train.py                                  # quick preset on the built-in data (a few minutes, CPU)
    python train.py --preset paper --data KLA_ROOT   # the paper's recipe on the KLA data set
    python train.py --layout folders --degraded noisy/ --clean clean/ --epochs 50
    python train.py --clean my_images/ --degradation noise   # your own clean images, degraded on the fly
    python train.py --resume runs/20250101-120000/last.npz   # continue exactly where it stopped
    python train.py --data MVTEC_ROOT --init checkpoints/unet_sca_nl.npz --lr-schedule cosine
                                                     # fine-tune the shipped model on your own data

Every option left out comes from the preset (the table PRESETS in unet/training.py). The run folder
(--out, by default runs/<date-time>) gets config.json, log.csv, curves.png, samples/epoch_XXX.png,
last.npz (every epoch, and on Ctrl-C, SIGTERM or an error, at the last completed step), best.npz (best
validation SSIM) and model.npz (the best epoch's weights alone: the file to ship or to pass to
evaluate.py --checkpoint).

Exit status: 0 done, 1 the loss became NaN/infinite, 2 a usage or data error, or a step out of memory (last.npz
keeps the steps done), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM (as Ctrl-C: last.npz keeps the steps done).
"""
import argparse
import signal
import sys

# Ctrl-C while the libraries load exits quietly, as it does once unet.cli.run runs (unless it is ignored,
# as in a background job of a shell script).
if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))  # 130: the shell's status for Ctrl-C

from data import LAYOUTS, degradation_names
from unet import NONLOCAL_MODES
from unet.cli import (EXIT_INTERRUPTED, EXIT_USER_ERROR, NATIVE, image_size, image_size_or_native, named, positive,
                      refuse_options, run, seed)
from unet.training import (DEFAULTS, LR_SCHEDULES, PRESETS, ConfigError, Interrupted, OutOfMemory, TrainingDiverged,
                           train)

EXIT_DIVERGED = 1


def build_parser():
    """Options left out are left out of the namespace, so that the preset (or the resumed checkpoint) can tell
    what was given: --size native is given, as None."""
    quick, paper = PRESETS["quick"], PRESETS["paper"]
    parser = argparse.ArgumentParser(
        prog="train.py", description=__doc__.split("\n\n")[0], argument_default=argparse.SUPPRESS,
        epilog=f"presets: quick = {quick}; paper = {paper}", formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--preset", choices=sorted(PRESETS),
        help=f"default values for the options below (default {DEFAULTS['preset']})")
    add("--device", choices=("auto", "cpu", "gpu"), help="auto = the GPU when CuPy can use one (default auto)")
    add("--data", type=named(), help="'builtin' (default: no download) or a data set folder")
    add("--layout", choices=("auto", *LAYOUTS), help="folder layout of --data (default auto)")
    add("--degraded", type=named(), metavar="DIR",
        help="folders layout: the degraded images (every 10th pair validates)")
    add("--clean", type=named(), metavar="DIR", help="folders layout: the clean targets, matched by file name; alone, "
        "clean images degraded on the fly (every 10th validates)")
    add("--masks", type=named(), metavar="DIR", help="folders layout: defect masks, matched by file name")
    add("--degradation", choices=degradation_names(),
        help="degradation applied on the fly to clean-only data (built-in, MVTec, --clean alone); mixed draws "
             "one of the others for each sample (default kla)")
    add("--epochs", type=positive(int), help="total number of epochs (on --resume too)")
    add("--batch-size", type=positive(int))
    add("--lr", type=positive(float), help="Adam learning rate")
    add("--lr-schedule", choices=tuple(LR_SCHEDULES),
        help="per epoch: constant (the paper) or cosine, annealed from --lr towards 0 over --epochs (default constant)")
    add("--patch-size", type=image_size, help="train on random square crops of this size (multiple of 8)")
    add("--size", type=image_size_or_native,
        help=f"resize every image to SIZE x SIZE first (default 256), or '{NATIVE}' to train on every image at "
             "its own size, the scale at which evaluate.py restores it")
    add("--steps-per-epoch", type=positive(int), help="cap on optimizer steps per epoch")
    add("--val-limit", type=positive(int), metavar="N", help="validate on N images spread over the validation set")
    add("--nonlocal", dest="nonlocal_mode", choices=NONLOCAL_MODES,
        help="non-local block: softmax (the paper) or published (the released code) (default softmax)")
    add("--recompute-activations", action=argparse.BooleanOptionalAction,
        help="keep only each block's input for backward and recompute the rest there (activation checkpointing): "
             "about half the memory a step holds for backward, for about a quarter more time; the same results, so "
             "a resumed run may switch it (default off)")
    add("--cuda-graphs", action=argparse.BooleanOptionalAction,
        help="on the GPU, replay each step's kernels as one CUDA graph rather than launching them one by one from "
             "Python: the same numbers, in less time (default on)")
    add("--seed", type=seed, help="seeds the weights, data order, crops and degradations (default 0)")
    add("--out", type=named(), metavar="DIR",
        help="run folder (default runs/<date-time>, or the checkpoint's folder on --resume)")
    add("--resume", type=named(), metavar="CKPT", help="continue the run saved in CKPT: its last.npz (or the run "
        "folder), or best.npz (or an older copy) with a new --out, which keeps the later epochs")
    add("--init", type=named(), metavar="CKPT", help="start a new run from the weights in CKPT (fine-tuning): a "
        "model.npz, checkpoints/unet_sca_nl.npz or the authors' released .pth; a fresh optimizer, and the non-local "
        "mode is the checkpoint's")
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        train(vars(parser.parse_args(argv)))
    except ConfigError as exc:
        refuse_options(parser, exc)
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except OutOfMemory as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Interrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before the first step: nothing to save
        print("\ninterrupted before training started; nothing was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    run(main)
