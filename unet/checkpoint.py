"""Checkpoints: one .npz holding the model, its config, the optimizer, the epoch and the RNG state.

Written atomically by mg.save. `load_model` also accepts a bare state dict (such as the authors'
released .pth, or one that a PyTorch script saved inside its own checkpoint) or a train.py run folder,
and turns every way a file can fail to fit into one clear CheckpointError.
"""
import hashlib
import warnings
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.io import LoadError, UnsafePickleError
from minigrad.nn import StateDictError

from .model import UNet

FORMAT = "minigrad-unet-checkpoint/1"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "unet_sca_nl.npz"
# Fine-tuned on the `mixed` degradation: for images whose degradation is not the `kla` preset's.
MIXED_CHECKPOINT = DEFAULT_CHECKPOINT.with_name("unet_sca_nl_mixed.npz")
# What a run folder offers to restore with, in order: the best validation SSIM's state (kept as the paper
# keeps its model), then the same weights alone.
RUN_CHECKPOINTS = ("best.npz", "model.npz")
# Where PyTorch training scripts commonly keep a network's weights inside a checkpoint of their own.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net")
# what torch.nn.DataParallel (and DistributedDataParallel) and torch.compile put before each key of the state dicts
# of the models they wrap
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
RUN_FILES = {"best.npz": "the epoch of the run's best validation SSIM", "model.npz": "the best epoch's weights",
             "last.npz": "where the run got to"}
# Files of weights that a folder passed for a checkpoint may hold instead (named, at most SHOWN_FILES of them).
WEIGHT_SUFFIXES = (".npz", ".pth", ".pt")
SHOWN_FILES = 3
# The non-local mode of the authors' released weights, and so of a bare state dict unless the caller says otherwise:
# both modes have the same parameters, so nothing in the file tells which one trained them.
RELEASED_NONLOCAL_MODE = "published"
# The authors' released weights, told by weights_fingerprint however they were saved since: the one bare state dict
# whose non-local mode is known.
RELEASED_WEIGHTS_FINGERPRINT = "e94fee28fcdbb122e74dae78f9a1bd39ba878d54bd698b28ea8835e6ddeaa748"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the requested network."""


# How load_model's messages name the options they suggest: its own Python arguments by default; a command line that
# calls it passes its flags.
PYTHON_ARGUMENTS = {"checkpoint": "path", "nonlocal": "nonlocal_mode"}
COMMAND_LINE_FLAGS = {"checkpoint": "--checkpoint", "nonlocal": "--nonlocal"}


def option_words(spelling, name, value=None):
    """Option `name` ("checkpoint" or "nonlocal") as `spelling` names it, with `value` where given: --nonlocal
    published on a command line, nonlocal_mode='published' in Python."""
    option = spelling[name]
    if value is None:
        return option
    return f"{option} {value}" if option.startswith("-") else f"{option}={value!r}"


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, config=None, rng_state=None, **extra):
    """Everything needed to resume exactly; `extra` holds small JSON-able values (metrics, history)."""
    state = {"format": FORMAT, "model": model.state_dict(), "model_config": model.config(), "epoch": int(epoch),
             "config": config or {}, "rng": rng_state or {}, **extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    mg.save(state, path)


def read_checkpoint(path):
    """The raw checkpoint dict, or a CheckpointError naming the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return mg.load(path)
    except (LoadError, OSError) as exc:
        reason = str(exc).removeprefix(f"cannot load {path}: ")  # the path is named once, here
        if isinstance(exc, UnsafePickleError):  # most often a network pickled whole, by torch.save(model)
            reason += "; save the network's weights alone with torch.save(model.state_dict(), path)"
        raise CheckpointError(f"{path} is not a readable checkpoint: {reason}") from None


def checkpoint_file(path, names=RUN_CHECKPOINTS):
    """`path`, or for a train.py run folder the first of `names` in it (by default the checkpoint to restore
    with; ("last.npz",) to resume), named in a printed line since the folder alone does not say which."""
    path = Path(path)
    if not path.is_dir():
        return path
    found = next((path / name for name in names if (path / name).is_file()), None)
    if found is None:
        others = [f"{path / name} ({RUN_FILES[name]})" for name in RUN_FILES
                  if name not in names and (path / name).is_file()]
        others += [str(file) for file in sorted(path.iterdir())  # a folder of weights such as checkpoints/
                   if file.suffix in WEIGHT_SUFFIXES and file.name not in RUN_FILES and file.is_file()]
        shown = others[:SHOWN_FILES] + ([f"{len(others) - SHOWN_FILES} more"] if len(others) > SHOWN_FILES else [])
        hint = f"; it holds {' and '.join(shown)}: pass the file to use" if others else ""
        raise CheckpointError(f"{path} is a folder without {' or '.join(names)}, which train.py writes into a run "
                              f"folder{hint}")
    print(f"using {found}, {RUN_FILES[found.name]}")
    return found


def _bare_state_dict(state):
    """`state` as a U-Net state dict, or None: unwrapped from a PyTorch script's own checkpoint ({"state_dict": ...},
    and the like) and without the prefixes that torch's wrappers put before every key (WRAPPER_PREFIXES)."""
    for candidate in (state, *(state[key] for key in WRAPPER_KEYS if isinstance(state.get(key), dict))):
        weights = {_unwrapped(key): value for key, value in candidate.items() if isinstance(key, str)}
        if "dconv_down1.conv_block.0.weight" in weights and "conv_last.weight" in weights:
            return weights
    return None


def _unwrapped(key):
    """A state dict key without the wrappers' prefixes, however nested (DataParallel of a compiled model)."""
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def _config_of_bare_state_dict(state, nonlocal_mode):
    """A bare state dict does not say which non-local mode trained it: the released one used "published"."""
    has_nonlocal = any(k.startswith("nl_block.") for k in state)
    return dict(in_channels=int(state["dconv_down1.conv_block.0.weight"].shape[1]),
                out_channels=int(state["conv_last.weight"].shape[0]),
                attention=any(k.startswith("att1.") for k in state),
                nonlocal_mode=(nonlocal_mode or RELEASED_NONLOCAL_MODE) if has_nonlocal else None)


def weights_fingerprint(weights):
    """SHA-256 of a state dict's names, dtypes, shapes and values, in name order: the same for the same weights in a
    .pth or an .npz, wrapped or not."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        array = np.ascontiguousarray(np.asarray(weights[name]))
        digest.update(f"{name} {array.dtype} {array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _warn_of_a_doubtful_mode(path, weights, used, asked, spelling):
    """Warn where a bare state dict is read in a non-local mode that is a guess (no non-local mode asked for, and not
    the released weights) or known to be wrong (the released weights in another mode than theirs): both modes have
    the same parameters, so a network read in the wrong one loads without complaint and gives wrong outputs."""
    released = weights_fingerprint(weights) == RELEASED_WEIGHTS_FINGERPRINT
    if released and used != RELEASED_NONLOCAL_MODE:
        warnings.warn(f"{path} is a bare state dict of the authors' released weights, which were trained in the "
                      f"{RELEASED_NONLOCAL_MODE!r} non-local mode: {option_words(spelling, 'nonlocal', used)} is used "
                      f"as asked, but gives wrong outputs with them; pass "
                      f"{option_words(spelling, 'nonlocal', RELEASED_NONLOCAL_MODE)}")
    elif not released and asked is None:
        warnings.warn(f"{path} is a bare state dict, which does not record its non-local mode: it is read in the "
                      f"{RELEASED_NONLOCAL_MODE!r} mode, the authors' released weights'; pass "
                      f"{option_words(spelling, 'nonlocal', 'softmax')} if it was trained in that mode (train.py's "
                      f"default), or {option_words(spelling, 'nonlocal', RELEASED_NONLOCAL_MODE)} to say so")


def load_model(path=None, device="cpu", nonlocal_mode=None, spelling=PYTHON_ARGUMENTS):
    """(model in eval mode on `device`, checkpoint dict). path None means the shipped pretrained model,
    a folder the checkpoint of a train.py run (`checkpoint_file`).

    nonlocal_mode, when given, must agree with the checkpoint's own: a network trained with one mode
    gives wrong outputs in the other. The messages name the options to change as `spelling` does: this function's
    arguments, or a command line's flags (COMMAND_LINE_FLAGS).
    """
    if path is None:
        path = DEFAULT_CHECKPOINT
        if not path.exists():
            raise CheckpointError(f"the shipped pretrained model {path} is missing; pass "
                                  f"{option_words(spelling, 'checkpoint')} or train one with train.py")
    path = checkpoint_file(path)
    state = read_checkpoint(path)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a checkpoint or state dict")
    if state.get("format") == FORMAT:
        weights, config = state["model"], dict(state["model_config"])
        if nonlocal_mode and config["nonlocal_mode"] and nonlocal_mode != config["nonlocal_mode"]:
            raise CheckpointError(
                f"{path} was trained with the {config['nonlocal_mode']!r} non-local mode, but {nonlocal_mode!r} was "
                f"asked for; drop {option_words(spelling, 'nonlocal')} or pass "
                f"{option_words(spelling, 'nonlocal', config['nonlocal_mode'])}")
    elif (weights := _bare_state_dict(state)) is not None:
        config = _config_of_bare_state_dict(weights, nonlocal_mode)
        if config["nonlocal_mode"] is not None:
            _warn_of_a_doubtful_mode(path, weights, config["nonlocal_mode"], nonlocal_mode, spelling)
    else:
        raise CheckpointError(f"{path} is neither a training checkpoint nor a U-Net state dict "
                              f"(its top-level keys: {', '.join(list(state)[:6])})")
    model = UNet(**config)
    try:
        model.load_state_dict(weights)
    except StateDictError as exc:
        raise CheckpointError(f"{path} does not fit UNet({config}): {exc}") from None
    return model.to(device).eval(), state
