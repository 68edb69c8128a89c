"""The training loop behind train.py: presets, resumable checkpoints, validation, logs and charts.

`train(options)` takes the command-line options as a dict (only the ones the user gave; presets
fill the rest) and writes into the run folder:

    config.json        the resolved options
    log.csv            one row per epoch (LOG_COLUMNS)
    curves.png         loss and validation curves, redrawn every epoch
    samples/epoch_XXX.png   degraded | restored | clean for a few validation images
    last.npz           the state after the last completed step (every epoch, and on Ctrl-C, SIGTERM or an error)
    best.npz           the state of the epoch with the best validation SSIM
    model.npz          that epoch's weights and config alone (no optimizer state): the file to ship,
                       to pass to evaluate.py --checkpoint, or to copy to checkpoints/unet_sca_nl.npz

Resuming is exact: the data order, crops and degradations depend only on (seed, epoch, sample),
and the checkpoint holds the model, Adam's state, minigrad's generator and, when the run was
interrupted mid-epoch, how far the epoch got (its remaining steps are run, the finished ones skipped).
The learning rate is the schedule's (LR_SCHEDULES) for the epoch. `--init` starts a new run instead,
from another run's weights, with a fresh optimizer.
"""
import contextlib
import csv
import io
import json
import math
import os
import signal
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count, islice
from pathlib import Path

import minigrad as mg
from data import DataError, Loader, detect_layout, open_dataset, options_that_applied, refuse_on_the_fly_options
from minigrad.backend import get_array_module
from minigrad.io import copy_atomically, write_text_atomically

from .checkpoint import (COMMAND_LINE_FLAGS, FORMAT, CheckpointError, checkpoint_file, load_model, read_checkpoint,
                         save_checkpoint)
from .cli import NATIVE, STOP_SIGNALS, check_output_folder, progress_bar, signal_is_ours
from .evaluation import (DEGRADED, image_metrics, load_or_error, resolve_device, restore_dataset, scores_text,
                         spread_indices, summarize)
from .losses import SSIM_WINDOW, RestorationLoss
from .model import INPUT_MULTIPLE, UNet
from .plots import plot_curves, save_triptych
from .restore import round_up
from .step_graphs import GraphedSteps

# Every value a preset sets; an option the user gives overrides it. Re-tune "quick" here only.
PRESETS = {
    # `python train.py` on the built-in data: a few minutes on a 2-core CPU, a clear gain over the input.
    "quick": dict(epochs=12, batch_size=8, lr=1e-3, patch_size=96, size=256, steps_per_epoch=32, val_limit=8),
    # The paper's recipe (docs/design.md §4): whole 256x256 images, every image every epoch.
    "paper": dict(epochs=250, batch_size=8, lr=1e-3, patch_size=None, size=256, steps_per_epoch=None,
                  val_limit=None),
}
DEFAULTS = dict(preset="quick", device="auto", data="builtin", layout="auto", degradation="kla",
                nonlocal_mode="softmax", lr_schedule="constant", seed=0, out=None, resume=None, init=None,
                degraded=None, clean=None, masks=None, recompute_activations=False, cuda_graphs=True)
# What may differ from the checkpoint's own options on --resume: where things are, how long to go on, and how
# the memory and time are spent (recomputing activations and replaying CUDA graphs change no number).
RESUME_OVERRIDES = ("epochs", "device", "out", "resume", "data", "degraded", "clean", "masks", "recompute_activations",
                    "cuda_graphs")
# The smallest crop the SSIM loss can score: its Gaussian window must fit inside.
SMALLEST_CROP = round_up(SSIM_WINDOW, INPUT_MULTIPLE)
# Version 2 degrades each MVTec image by its name and a gray one as one channel (version 1: by its place in the
# folder, in three channels): a run resumes on the inputs it was trained on, or not at all.
DATA_VERSION = 2
FLAGS = {"nonlocal_mode": "--nonlocal"}  # option names whose flag is not simply --name-with-dashes
# Per-epoch learning rate: the paper keeps Adam's constant; cosine anneals it from --lr towards 0 over
# --epochs, which settles a long run or a fine-tuning (--init) into a better minimum.
LR_SCHEDULES = {
    "constant": lambda optimizer, epochs: mg.optim.StepLR(optimizer, step_size=1, gamma=1.0),
    "cosine": lambda optimizer, epochs: mg.optim.CosineAnnealingLR(optimizer, T_max=epochs),
}
LOSS_WEIGHTS = dict(w_char=1.0, w_edge=0.1, w_ssim=0.3)
LOSS_COLUMNS = {"charbonnier": "charbonnier", "edge": "edge", "ssim": "ssim_loss"}  # loss part -> log column
LOSS_NAMES = ("loss", *LOSS_COLUMNS)  # what a step returns: the total, then the parts
LOG_COLUMNS = ("epoch", "steps", "loss", *LOSS_COLUMNS.values(), "val_psnr", "val_ssim", "val_affine_psnr",
               "degraded_psnr", "degraded_ssim", "lr", "seconds")
SAMPLES_SHOWN = 3        # validation images in each epoch's triptych, spread over those validated
FOLDER_HOLDOUT = 10      # the folders layout has no split: every 10th image validates
DECODED_SHARE = 8        # each split keeps decoded images in up to 1/8 of the memory (Dataset.keep_decoded)
RUNS_DIR = Path("runs")


class ConfigError(ValueError):
    """Options that cannot work together (a bad patch size, a run folder already in use)."""


class TrainingDiverged(RuntimeError):
    """The loss (or a parameter) became NaN or infinite; nothing of that state was saved."""


class OutOfMemory(RuntimeError):
    """A step needed more memory than the device has; the message names the options that need less."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the state after the last completed step is in `checkpoint`, ready for --resume."""

    def __init__(self, checkpoint, epoch, step):
        self.checkpoint, self.epoch, self.step = checkpoint, epoch, step
        super().__init__(f"interrupted in epoch {epoch + 1} after step {step}; saved {checkpoint}. "
                         f"Resume with: python train.py --resume {checkpoint}")


@dataclass
class TrainingResult:
    out: Path
    history: list
    best: dict


@dataclass
class EpochProgress:
    """How far the current epoch got; saved on Ctrl-C or an error so that --resume runs only the remaining steps."""

    epoch: int
    step: int = 0
    sums: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_state(self):
        return {"epoch": self.epoch, "step": self.step, "sums": dict(self.sums), "seconds": self.seconds}

    @classmethod
    def from_state(cls, state):
        return cls(int(state["epoch"]), int(state["step"]), dict(state["sums"]), float(state["seconds"]))

    def mean(self, name):
        return self.sums.get(name, math.nan) / self.step if self.step else math.nan


# ---- options ----------------------------------------------------------------------------------

def resolve_options(given, stored=None):
    """The full option dict: stored (a resumed run's) or preset values, overridden by `given`.

    On resume, options that would change the run itself (anything outside RESUME_OVERRIDES) must
    match the checkpoint's; a different non-local mode would even make the weights meaningless.
    Options added since a checkpoint was written take their defaults, which is how it was trained;
    so does the device, which is this machine's (a run trained on a GPU goes on where there is none).
    `--layout auto` matches the layout the run detected.
    """
    if stored is not None:
        stored = {**DEFAULTS, **stored, "device": DEFAULTS["device"]}
        given = {k: v for k, v in given.items() if not (k == "layout" and v == "auto")}
        changed = {k: (stored.get(k), v) for k, v in given.items() if k not in RESUME_OVERRIDES and stored.get(k) != v}
        if changed:
            listing = "; ".join(f"{flag(k)} is {_shown(k, old)} in the checkpoint but {_shown(k, new)} was given"
                                for k, (old, new) in changed.items())
            hint = " and ".join(flag(k) for k in changed)
            raise CheckpointError(f"{given['resume']} cannot be resumed with other settings: {listing}. "
                                  f"Drop {hint} to continue the run as it was trained.")
        options = {**stored, **given}
        if "data" not in given and ("degraded" in given or "clean" in given):
            options["data"] = None  # the folders given replace the run's --data (of another kind, refused by name)
    else:
        preset = given.get("preset", DEFAULTS["preset"])
        options = {**DEFAULTS, **PRESETS[preset], **given}
    _check_options(options, given)
    return options


def flag(option):
    """The command-line flag of an option name, for messages."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def _shown(option, value):
    """An option's value as the command line spells it, for messages."""
    if value is None:
        return NATIVE if option == "size" else "unset"
    return repr(value)


def _check_options(options, given):
    """`given`: the options the user set, which tell --data builtin (the default) set from left out."""
    folders = [name for name in ("degraded", "clean") if options[name] is not None]
    if folders and ("data" in given or options["data"] not in (None, "builtin")):
        if folders[0] in given or not given.get("resume"):
            raise ConfigError(f"pass either --data or {flag(folders[0])}, not both")
        raise ConfigError(f"{given['resume']} trained on {flag(folders[0])} folders: to point it where they are "
                          f"now, pass {' and '.join(flag(name) for name in folders)} rather than --data")
    patch, size = options["patch_size"], options["size"]
    if patch is not None and patch % INPUT_MULTIPLE:
        raise ConfigError(f"--patch-size must be a multiple of {INPUT_MULTIPLE}, got {patch}")
    if patch is not None and size is not None and patch > size:
        raise ConfigError(f"{_patch_size_named(options, given)} does not fit in images resized to --size {size}: "
                          "pass a smaller --patch-size or a larger --size")
    if patch is None and size is not None and size % INPUT_MULTIPLE:
        raise ConfigError(f"--size must be a multiple of {INPUT_MULTIPLE} when training on whole images, got {size}")
    if patch is None and size is None and options["batch_size"] > 1:
        raise ConfigError(f"whole images of different sizes cannot share a batch: pass --batch-size 1, --patch-size "
                          f"or a --size other than {NATIVE}")
    crop, name = (patch, "--patch-size") if patch is not None else (size, "--size")
    if crop is not None and crop < SSIM_WINDOW:
        raise ConfigError(f"{name} {crop} is smaller than the {SSIM_WINDOW}-pixel window of the SSIM loss: "
                          f"pass {name} {SMALLEST_CROP} or more")


def _patch_size_named(options, given):
    """--patch-size N for a message, naming the preset it came from where it was not given (nor resumed)."""
    origin = "" if "patch_size" in given or given.get("resume") else f" (the {options['preset']} preset's)"
    return f"--patch-size {options['patch_size']}{origin}"


def _data_kind(layout, synthetic):
    if layout == "folders":
        return "clean images degraded on the fly (--clean alone)" if synthetic else "paired folders (--degraded)"
    return {"kla": "KLA data", "mvtec": "MVTec AD data", "builtin": "the built-in data"}[layout]


def _given_data_kind(options):
    """The kind of data the options name, told from the flags and the folder tree, before any image is read."""
    if options["degraded"] is not None or options["clean"] is not None:
        return _data_kind("folders", options["degraded"] is None)
    return _data_kind("builtin" if options["data"] == "builtin" else detect_layout(options["data"]), True)


def _refuse_other_kind_of_data(checkpoint, config, options):
    """On resume --data, --degraded and --clean may point where the run's files have moved, but not at another
    kind of data: pairs for clean images degraded on the fly, another layout. (Runs recorded before config.json
    named the layout used, without data_version, cannot be checked.)"""
    if "data_version" not in config:
        return
    trained = _data_kind(config["layout"], config["degradation"] is not None)
    given = _given_data_kind(options)
    if trained != given:
        raise ConfigError(f"{checkpoint} trained on {trained}, but {given} were given: resuming would change its "
                          f"inputs mid-run. Pass the run's own data, or start a new run from its weights: "
                          f"--init {checkpoint}")


def _refuse_moved_data(given, options):
    """On resume the data come from where the run found them; where they are no longer, say which flag points the
    run at their new place (--data and the folders are RESUME_OVERRIDES)."""
    moved = [name for name in ("data", "degraded", "clean", "masks")
             if name not in given and options[name] not in (None, "builtin") and not Path(options[name]).exists()]
    if moved:
        flags = " and ".join(flag(name) for name in moved)
        raise DataError(f"{' and '.join(f'{flag(name)} {options[name]}' for name in moved)}, where {given['resume']} "
                        f"found its images, no longer exist{'s' if len(moved) == 1 else ''}: if they have moved, pass "
                        f"{flags} with their new place")


def _default_out(resume):
    if resume:
        return str(Path(resume).parent)
    return str(RUNS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S"))


def _refuse_to_overwrite_later_epochs(checkpoint, state):
    """Resuming in its own folder from a checkpoint behind that folder's last.npz (best.npz, an older copy)
    would overwrite the later epochs' last.npz, log rows and samples."""
    latest = checkpoint.parent / "last.npz"
    if not latest.exists() or latest.resolve() == checkpoint.resolve():
        return
    try:
        later = read_checkpoint(latest)
    except CheckpointError as err:  # a damaged last.npz is just when one falls back to best.npz
        raise ConfigError(f"{latest}, the latest state of the run in {checkpoint.parent}, cannot be read ({err}); "
                          f"resuming there would replace it. Pass --out NEWDIR to continue from {checkpoint.name} in "
                          "another folder") from None
    if _position(later) > _position(state):
        raise ConfigError(f"{checkpoint} holds {_describe_position(state)} but {latest} has got to "
                          f"{_describe_position(later)}: resuming in {checkpoint.parent} would overwrite the later "
                          f"epochs' last.npz, log.csv rows and samples. Pass --out NEWDIR to continue from "
                          f"{checkpoint.name} in another folder")


def _position(state):
    """(epochs completed, steps into the next one) of a checkpoint, to compare."""
    progress = state.get("progress")
    return state["epoch"], progress["step"] if progress else 0


def _describe_position(state):
    epoch, step = _position(state)
    return f"epoch {epoch + 1} after step {step}" if step else f"the end of epoch {epoch}"


def _claim_new_folder(path):
    """Create `path`, or path-2, path-3, ... where another run started in the same second took it."""
    for attempt in count(1):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue


# ---- data -------------------------------------------------------------------------------------

class Subset:
    """Some samples of a data set, in a given order (what Loader needs: len and load)."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)
        self.synthetic, self.layout = dataset.synthetic, dataset.layout

    def __len__(self):
        return len(self.indices)

    def load(self, index, epoch=None):
        return self.dataset.load(self.indices[index], epoch)

    __getitem__ = load

    def refuse_smaller_than(self, side, advice):
        self.dataset.refuse_smaller_than(side, advice, self.indices)


def open_datasets(options):
    """(train set, validation set); the folders layout, which has no split, holds out every 10th image."""
    common = dict(data=options["data"], layout=options["layout"], degradation=options["degradation"],
                  seed=options["seed"], size=options["size"], degraded_dir=options["degraded"],
                  clean_dir=options["clean"], masks_dir=options["masks"])
    keep_bytes = _memory_bytes() // DECODED_SHARE
    train_set = open_dataset(split="train", **common)
    train_set.keep_decoded(keep_bytes)
    if train_set.layout == "folders":
        if len(train_set) < 2:
            raise DataError(f"training on folders needs at least 2 images (one in {FOLDER_HOLDOUT} validates), "
                            f"found {len(train_set)}")
        held_out = set(range(0, len(train_set), FOLDER_HOLDOUT))
        kept = [i for i in range(len(train_set)) if i not in held_out]
        return Subset(train_set, kept), Subset(train_set, sorted(held_out))
    val_set = open_dataset(split="val", **common)
    val_set.keep_decoded(keep_bytes)
    for name, dataset in (("training", train_set), ("validation", val_set)):
        if len(dataset) == 0:
            raise DataError(f"the {name} split of {options['data']} has no images")
    return train_set, val_set


def _memory_bytes():
    """The machine's memory; 8 GiB where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 8 << 30


def _require_targets(dataset):
    """The first readable sample says whether there are clean targets (the loader skips unreadable ones). Where
    none is readable, the first one's error says why (a missing codec, most often, which all of them share)."""
    first_error = None
    for index in range(len(dataset)):
        _, sample, error = load_or_error(dataset, index)
        if error is not None:
            first_error = first_error or error
            continue
        if sample["clean"] is None:
            raise DataError("training needs clean target images: pass --clean DIR with --degraded DIR")
        return
    raise DataError(f"none of the {len(dataset)} training images could be read (the first: {first_error})")


def _refuse_images_too_small(train_set, options, given):
    """Crops need images at least as large; whole images, sides that keep SMALLEST_CROP px once cut to multiples
    of INPUT_MULTIPLE (the loader's own check, made here for every image at once)."""
    if options["patch_size"] is not None:
        train_set.refuse_smaller_than(options["patch_size"], f"crops of {_patch_size_named(options, given)} do not "
                                                             "fit in them: pass a smaller --patch-size, or --size to "
                                                             "resize them")
    else:
        train_set.refuse_smaller_than(SMALLEST_CROP, f"whole images train at sides of at least {SMALLEST_CROP} px: "
                                                     "pass --size to resize them, or leave them out")


# ---- validation -------------------------------------------------------------------------------

class Validator:
    """Restores a fixed, evenly spread subset of the validation set and scores it against the clean
    images: PSNR, SSIM and the affine-fit PSNR diagnostic (docs/design.md §5) of the restored
    images, beside PSNR and SSIM of the degraded inputs themselves."""

    def __init__(self, dataset, limit):
        """Unreadable images are left out now, with a warning each, rather than found missing after an epoch."""
        chosen = spread_indices(len(dataset), limit)
        self.dataset, self.indices = dataset, [index for index in chosen if _readable(dataset, index)]
        self.degraded_scores = {}  # by index: the inputs, and so their scores, are the same every epoch
        if not self.indices:
            raise DataError(f"none of the {len(chosen)} validation images could be read")

    def __len__(self):
        return len(self.indices)

    def __call__(self, model):
        """(mean scores by log column, [(degraded, restored, clean, label)] of SAMPLES_SHOWN images spread over
        the validated ones, each labelled with its name and scores)."""
        records, shown = [], []
        to_show = {self.indices[position] for position in spread_indices(len(self.indices), SAMPLES_SHOWN)}
        model.eval()
        for item in restore_dataset(model, self.dataset, self.indices, progress=False):
            record = image_metrics(item.sample, item.restored, degraded_scores=self.degraded_scores.get(item.index))
            self.degraded_scores[item.index] = {key: record[key] for key in record if key.startswith(DEGRADED)}
            records.append(record)
            if item.index in to_show:
                sample = item.sample
                label = f"{sample['name']}\n{scores_text(record)}\n(input {scores_text(record, DEGRADED)})"
                shown.append((sample["degraded"], item.restored, sample["clean"], label))
        model.train()
        summary = summarize(records)
        scores = {"val_psnr": summary["mean"]["psnr"], "val_ssim": summary["mean"]["ssim"],
                  "val_affine_psnr": summary["mean"]["affine_fit_psnr"],
                  "degraded_psnr": summary["degraded"]["psnr"], "degraded_ssim": summary["degraded"]["ssim"]}
        return {key: math.nan if value is None else value for key, value in scores.items()}, shown


def _readable(dataset, index):
    _, _, error = load_or_error(dataset, index)
    if error is not None:
        warnings.warn(f"{error}; left out of validation")
    return error is None


def save_samples(path, shown):
    degraded, restored, clean, labels = zip(*shown)
    return save_triptych(path, [degraded, restored, clean], ["degraded", "restored", "clean"], row_labels=labels)


class ChartThread:
    """Draws an epoch's charts (curves.png, the samples) on a thread of its own while the next epoch trains: on a
    GPU, drawing them took a quarter of an epoch. One epoch's charts at a time; an error in drawing them is
    raised at the next epoch's, or when the run ends."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
        self.drawing = None

    def draw(self, *charts):
        """charts: (function, *arguments) each, drawn in order once the previous epoch's are done."""
        self.wait()
        self.drawing = self.executor.submit(lambda: [function(*arguments) for function, *arguments in charts])

    def wait(self):
        drawing, self.drawing = self.drawing, None
        if drawing is not None:
            drawing.result()

    def close(self):
        try:
            self.wait()
        finally:
            self.executor.shutdown()


# ---- checkpoints and logs ---------------------------------------------------------------------

@contextlib.contextmanager
def _stops_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them, so an optimizer step is never left
    half applied. Signals that are not ours to handle (`signal_is_ours`) are left as they are."""
    received = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum))
                for signum in STOP_SIGNALS if signal_is_ours(signum)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for signum in dict.fromkeys(received):
        signal.raise_signal(signum)  # to the handler restored above


@contextlib.contextmanager
def _floating_point_warnings_ignored():
    """NaN and infinite values get the run's own message (TrainingDiverged), not NumPy's warnings before it.

    A warnings filter rather than np.errstate, which holds only in this thread, not in minigrad's.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "(invalid value|overflow|divide by zero|underflow) encountered",
                                RuntimeWarning)
        yield


def write_log(path, history):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    write_text_atomically(path, text.getvalue())  # rewritten every epoch: whole or not at all, as the checkpoints


def read_training_checkpoint(path):
    try:
        state = read_checkpoint(path)
    except CheckpointError as err:  # a damaged last.npz: the run's best epoch beside it is the way on
        best = Path(path).with_name("best.npz")
        if Path(path).name != "last.npz" or not best.is_file():
            raise
        raise CheckpointError(f"{err}; the run's best epoch is in {best}: go on from it with --resume {best} "
                              "--out NEWDIR") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "optimizer" not in state:
        raise CheckpointError(f"{path} is not a training checkpoint written by train.py "
                              "(it has no optimizer state to resume from)")
    return state


# ---- the loop ---------------------------------------------------------------------------------

class Run:
    """One training run: the model, its optimizer and data, and everything written to the run folder."""

    def __init__(self, given):
        if given.get("resume") and given.get("init"):
            raise ConfigError("--resume continues a run and --init starts a new one from a model's weights: "
                              "pass one")
        if given.get("resume"):
            given = {**given, "resume": str(checkpoint_file(given["resume"], ("last.npz",)))}
        resumed = read_training_checkpoint(given["resume"]) if given.get("resume") else None
        self.options = resolve_options(given, resumed["config"] if resumed else None)
        self.device = self.options["device"] = resolve_device(self.options["device"])
        self.options["out"] = given.get("out") or _default_out(given.get("resume"))
        self.out = Path(self.options["out"])
        check_output_folder(self.out, [(flag(name), self.options[name]) for name in ("degraded", "clean", "masks")])
        self.resumed_from = Path(given["resume"]) if resumed else None
        self.new_default_folder = not given.get("out") and not resumed  # claimed when the run starts
        continuing_in_place = resumed and self.out.resolve() == self.resumed_from.parent.resolve()
        if continuing_in_place:
            _refuse_to_overwrite_later_epochs(self.resumed_from, resumed)
        elif not self.new_default_folder and (self.out / "last.npz").exists():
            raise ConfigError(f"{self.out} already holds a run; pass --resume {self.out / 'last.npz'} to continue "
                              "it, or another --out")
        if resumed:
            _refuse_moved_data(given, self.options)
            _refuse_other_kind_of_data(given["resume"], resumed["config"], self.options)
        train_set, val_set = open_datasets(self.options)
        refuse_on_the_fly_options(train_set, ["--degradation"] if "degradation" in given else [])
        if resumed and resumed["config"].get("data_version", 1) != DATA_VERSION and train_set.layout == "mvtec":
            raise ConfigError(f"{given['resume']} was trained when MVTec images were degraded otherwise (by their "
                              "place in the folder, gray ones in colour): resuming would change its inputs mid-run. "
                              f"Start a new run from its weights instead: --init {given['resume']}")
        # config.json records what the run used
        self.options.update(options_that_applied(train_set, data=self.options["data"],
                                                 degradation=self.options["degradation"]),
                            data_version=DATA_VERSION)
        _require_targets(train_set)
        _refuse_images_too_small(train_set, self.options, given)
        # On the GPU the CPU cores are free to prepare the batches; on the CPU they are training.
        workers = min(os.cpu_count() or 1, self.options["batch_size"]) if self.device == "gpu" else 1
        self.loader = Loader(train_set, batch_size=self.options["batch_size"], shuffle=True,
                             seed=self.options["seed"], patch_size=self.options["patch_size"], augment=True,
                             workers=workers, side_multiple=INPUT_MULTIPLE, min_side=SMALLEST_CROP)
        self.validator = Validator(val_set, self.options["val_limit"])
        self.train_size = len(train_set)

        mg.manual_seed(self.options["seed"])
        self.model = self._initial_model(given).to(self.device).train()
        self.model.recompute_blocks = self.options["recompute_activations"]
        self.optimizer = mg.optim.Adam(self.model.parameters(), lr=self.options["lr"])
        self.scheduler = LR_SCHEDULES[self.options["lr_schedule"]](self.optimizer, self.options["epochs"])
        self.loss = RestorationLoss(**LOSS_WEIGHTS)
        self.losses = GraphedSteps(self._losses, self.model.parameters(),
                                   enabled=self.device == "gpu" and self.options["cuda_graphs"])
        self.history, self.best, self.progress = [], {}, None
        self.charts = ChartThread()
        self.updating = False  # inside an optimizer step and its bookkeeping: no state worth saving
        if resumed:
            self._restore(resumed)

    def _initial_model(self, given):
        """A fresh network, or with --init one that starts from a trained model's weights (fine-tuning).

        --init sets the non-local mode: the weights are meaningless in the other one.
        """
        if not given.get("init"):
            return UNet(nonlocal_mode=self.options["nonlocal_mode"])
        model, _ = load_model(given["init"], nonlocal_mode=given.get("nonlocal_mode"),
                              spelling={**COMMAND_LINE_FLAGS, "checkpoint": "--init"})
        config = model.config()
        if not (config["attention"] and config["nonlocal_mode"] and config["in_channels"] == config["out_channels"] == 3):
            raise CheckpointError(f"{given['init']} holds UNet({config}); train.py trains the RGB network with "
                                  "attention and a non-local block")
        self.options["nonlocal_mode"] = config["nonlocal_mode"]
        return model

    def _restore(self, state):
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        mg.set_rng_state(state["rng"]["minigrad"])
        self.history, self.best = list(state["history"]), dict(state["best"])
        # The learning rate of the epoch to come. On the same --epochs the optimizer just loaded holds it, and the
        # schedule goes on stepping from it (as an uninterrupted run does, to the last bit); a longer --epochs
        # reshapes the schedule, whose rate for this epoch is then computed afresh (by step(epoch), whose closed
        # form is what is wanted here: torch's warnings, on the deprecated epoch and on a step before the
        # optimizer's, are not for this use).
        if self.options["epochs"] == state["config"]["epochs"]:
            self.scheduler.last_epoch = len(self.history)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The epoch parameter", UserWarning)
                warnings.filterwarnings("ignore", "Detected call of `lr_scheduler", UserWarning)
                self.scheduler.step(len(self.history))
        progress = state.get("progress")
        self.progress = EpochProgress.from_state(progress) if progress else None

    @property
    def steps_per_epoch(self):
        cap = self.options["steps_per_epoch"]
        return len(self.loader) if cap is None else min(cap, len(self.loader))

    def _check_finite_parameters(self):
        """A finite loss can still come with an infinite gradient; such weights must never be saved."""
        for name, param in self.model.named_parameters():
            if not bool(get_array_module(param.data).isfinite(param.data).all()):
                raise TrainingDiverged(f"parameter {name} became NaN or infinite; {self._last_good_state()}. "
                                       "Try a lower --lr.")

    def _last_good_state(self):
        """Where the run can go on from after a divergence, which is never saved."""
        saved = self.out / "last.npz"
        if not saved.exists() and self.resumed_from:
            saved = self.resumed_from
        if saved.exists():
            return f"{saved} keeps the last good state"
        return "nothing was saved, as no epoch had finished"

    def _bring_run_along(self):
        """A run resumed into a new folder starts it with the checkpoint as its last.npz, its best epoch's files,
        its epochs' samples and the log and charts so far, so that the folder holds the whole run (and the next
        resume from it finds them too)."""
        source_folder = self.resumed_from.parent
        if source_folder.resolve() == self.out.resolve():
            return
        # Each copy is whole or absent, so that a stop midway leaves nothing that looks like a run's file.
        copy_atomically(self.resumed_from, self.out / "last.npz")  # the folder holds no run (checked in __init__)
        for name in ("best.npz", "model.npz"):
            source, target = source_folder / name, self.out / name
            if source.exists() and not target.exists() and read_checkpoint(source)["epoch"] == self.best.get("epoch"):
                copy_atomically(source, target)  # (from an older copy of last.npz, a later best is not this run's)
        for row in self.history:
            source, target = (folder / _samples_name(row["epoch"]) for folder in (source_folder, self.out))
            if source.exists() and not target.exists():
                target.parent.mkdir(exist_ok=True)
                copy_atomically(source, target)
        if self.history:
            write_log(self.out / "log.csv", self.history)
            plot_curves(self.history, self.out / "curves.png")

    def save(self, name, progress=None):
        self._check_finite_parameters()
        path = self.out / name
        save_checkpoint(path, self.model, self.optimizer, epoch=len(self.history), config=self.options,
                        rng_state={"minigrad": mg.get_rng_state()}, history=self.history, best=self.best,
                        progress=progress.as_state() if progress else None)
        return path

    def save_model(self):
        """The weights alone (a third of best.npz, which also holds Adam's two moments), with the best metrics."""
        save_checkpoint(self.out / "model.npz", self.model, epoch=len(self.history), config=self.options,
                        best=self.best)

    def run(self):
        if self.new_default_folder:
            self.out = _claim_new_folder(self.out)
            self.options["out"] = str(self.out)
        else:
            self.out.mkdir(parents=True, exist_ok=True)
        if self.resumed_from:
            self._bring_run_along()
        write_text_atomically(self.out / "config.json", json.dumps(self.options, indent=2) + "\n")
        self._print_header()
        epochs = self.options["epochs"]
        if len(self.history) >= epochs:
            print(f"the run already has {_count(len(self.history), 'epoch')}; pass --epochs N (the new total) to "
                  "train longer")
        progress = None
        try:
            with _floating_point_warnings_ignored():
                for epoch in range(len(self.history), epochs):
                    resumed = self.progress if self.progress and self.progress.epoch == epoch else None
                    progress = resumed or EpochProgress(epoch)
                    self._train_epoch(progress)
                    self._finish_epoch(progress)
                    progress = None
        except KeyboardInterrupt:
            if progress is None or progress.epoch < len(self.history):  # last.npz already holds the epoch
                raise Interrupted(self.out / "last.npz", len(self.history), 0) from None
            path = self.save("last.npz", progress)
            raise Interrupted(path, progress.epoch, progress.step) from None
        except TrainingDiverged:  # last.npz keeps the end of the last good epoch
            raise
        except Exception:
            self._save_after_crash(progress)
            raise
        finally:
            self.charts.close()
        self._print_summary()
        return TrainingResult(self.out, self.history, self.best)

    def _train_epoch(self, progress):
        self.loader.set_epoch(progress.epoch)
        steps, done_before = self.steps_per_epoch, progress.step
        seconds_before, started, images = progress.seconds, time.perf_counter(), 0
        bar = progress_bar(total=steps, initial=done_before, unit="step", dynamic_ncols=True,
                           desc=f"epoch {progress.epoch + 1}/{self.options['epochs']}")
        with bar, contextlib.closing(iter(self.loader)) as batches:
            for step, batch in enumerate(islice(batches, steps)):
                if step < done_before:  # finished before an interruption: the same batch, skipped
                    continue
                values = self._step(batch, progress)
                images += len(batch["names"])
                elapsed = time.perf_counter() - started
                progress.seconds = seconds_before + elapsed
                bar.set_postfix({**{LOSS_COLUMNS.get(k, k): f"{v:.4f}" for k, v in values.items()},
                                 "img/s": f"{images / elapsed:.1f}"}, refresh=False)
                bar.update(1)  # redraws, with the postfix, as often as the bar's interval allows

    def _losses(self, degraded, clean):
        """Forward, loss and backward: the gradients in the parameters, and the losses (LOSS_NAMES) on the device."""
        total, parts = self.loss(self.model(degraded), clean)
        self.optimizer.zero_grad()
        total.backward()
        with mg.no_grad():
            return mg.stack([total, *(parts[name] for name in LOSS_COLUMNS)])

    def _step(self, batch, progress):
        """One optimizer step; a non-finite loss stops the run before the update touches the weights."""
        degraded = mg.tensor(batch["degraded"], device=self.device)
        clean = mg.tensor(batch["clean"], device=self.device)
        try:  # .numpy(): the step's one device-to-host copy, once backward is queued
            fetched = self.losses(degraded, clean).numpy()
        except MemoryError as error:  # NumPy's, and CuPy's OutOfMemoryError
            raise OutOfMemory(self._memory_advice(degraded.shape, error)) from None
        values = dict(zip(LOSS_NAMES, (float(value) for value in fetched)))
        if not all(math.isfinite(v) for v in values.values()):
            shown = ", ".join(f"{LOSS_COLUMNS.get(k, k)}={v:.6g}" for k, v in values.items())
            raise TrainingDiverged(
                f"non-finite loss in epoch {progress.epoch + 1}, step {progress.step + 1} ({shown}); "
                f"{self._last_good_state()}. Try a lower --lr, or check the data for NaN or infinite pixels.")
        with _stops_deferred():  # the update and its bookkeeping happen together or not at all
            self.updating = True
            self.optimizer.step()
            progress.step += 1
            for name, value in values.items():
                progress.sums[name] = progress.sums.get(name, 0.0) + value
            self.updating = False
        return values

    def _memory_advice(self, shape, error):
        """What ran out and where, and the options that would have needed less."""
        n, _, h, w = shape
        options = ["a smaller --batch-size", "--patch-size" if self.options["patch_size"] else "a smaller --size"]
        if not self.options["recompute_activations"]:
            options.append("--recompute-activations")
        if self.losses.graphs:
            options.append("--no-cuda-graphs (a CUDA graph holds one step's memory of its own)")
        return (f"the {self.device.upper()} ran out of memory in a training step on a batch of {n} at {w}x{h} "
                f"({error}); what needs less: {', '.join(options[:-1])} or {options[-1]}")

    def _save_after_crash(self, progress):
        """An error mid-epoch (an image of another size, memory running out) keeps the steps done, as Ctrl-C does."""
        if progress is None or progress.step == 0 or self.updating or progress.epoch < len(self.history):
            return
        try:
            path = self.save("last.npz", progress)
        except Exception as err:  # the disk may be what failed
            print(f"could not save the progress of epoch {progress.epoch + 1}: {err}", file=sys.stderr)
            return
        print(f"the run stopped in epoch {progress.epoch + 1} after step {progress.step}; saved {path}. "
              f"Once the cause is fixed, resume with: python train.py --resume {path}", file=sys.stderr)

    def _finish_epoch(self, progress):
        """Validate, log, keep the best checkpoint, save last.npz and redraw the charts."""
        val_started = time.perf_counter()
        scores, shown = self.validator(self.model)
        previous_steps = self.history[-1]["steps"] if self.history else 0
        row = {"epoch": progress.epoch + 1, "steps": previous_steps + progress.step, "loss": progress.mean("loss"),
               **{column: progress.mean(part) for part, column in LOSS_COLUMNS.items()}, **scores,
               "lr": self.optimizer.param_groups[0]["lr"],
               "seconds": progress.seconds + time.perf_counter() - val_started}
        improved = not self.best or scores["val_ssim"] > self.best["val_ssim"]
        with _stops_deferred():  # history, best.npz and last.npz agree even when Ctrl-C comes now
            self.history.append(row)
            self.scheduler.step()  # the checkpoints carry the next epoch's learning rate
            if improved:
                self.best = dict(row)
                self.save("best.npz")
                self.save_model()
            self.save("last.npz")
        write_log(self.out / "log.csv", self.history)
        self.charts.draw((plot_curves, list(self.history), self.out / "curves.png"),
                         (save_samples, self.out / _samples_name(row["epoch"]), shown))
        self._print_epoch(row, improved)

    # ---- console ------------------------------------------------------------------------------

    def _print_header(self):
        o = self.options
        images = f"images resized to {o['size']}x{o['size']}" if o["size"] else "images at their own size"
        shape = f"{o['patch_size']}x{o['patch_size']} patches of {images}" if o["patch_size"] else f"whole {images}"
        print(f"training UNet(nonlocal_mode={o['nonlocal_mode']!r}) on {self.device}: "
              f"{_count(self.train_size, 'training image')} ({shape}, batch {o['batch_size']}, "
              f"{_count(self.steps_per_epoch, 'step')} per epoch), {_count(len(self.validator), 'validation image')}; "
              f"{_count(o['epochs'], 'epoch')}, Adam lr {o['lr']:g} ({o['lr_schedule']})")
        print(f"run folder: {self.out}")
        if o["recompute_activations"]:
            print("recomputing each block's activations in backward rather than keeping them")
        if self.losses.enabled:
            print("replaying each step's kernels as one CUDA graph (from the second batch of a shape on)")
        if o["init"] and not self.history:
            print(f"starting from the weights of {o['init']}")
        if self.progress and self.progress.epoch == len(self.history):
            print(f"resuming epoch {self.progress.epoch + 1} after its step {self.progress.step}")
        elif self.history:
            print(f"resuming after epoch {len(self.history)}")

    def _print_epoch(self, row, improved):
        print(f"epoch {row['epoch']}/{self.options['epochs']}: loss {row['loss']:.4f} | val PSNR "
              f"{row['val_psnr']:.2f} dB, SSIM {row['val_ssim']:.4f} (degraded input {row['degraded_psnr']:.2f} dB, "
              f"{row['degraded_ssim']:.4f}) | affine-fit PSNR {row['val_affine_psnr']:.2f} dB | "
              f"{_seconds(row['seconds'])}{'  * best SSIM' if improved else ''}")

    def _print_summary(self):
        if not self.history:
            return
        best = self.best
        print(f"best epoch {best['epoch']}: val PSNR {best['val_psnr']:.2f} dB, SSIM {best['val_ssim']:.4f}, "
              f"affine-fit PSNR {best['val_affine_psnr']:.2f} dB (degraded input {best['degraded_psnr']:.2f} dB, "
              f"{best['degraded_ssim']:.4f})")
        for name in ("model.npz", "best.npz", "last.npz", "log.csv", "curves.png", "samples", "config.json"):
            if (self.out / name).exists():
                print(f"  {self.out / name}")


def _samples_name(epoch):
    return Path("samples") / f"epoch_{epoch:03d}.png"


def _seconds(seconds):
    """Tenths below 10 s, where whole seconds would say 0 s for a short epoch."""
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def train(given):
    """Train as train.py does; `given` holds the options the user set (option name -> value)."""
    return Run(given).run()
