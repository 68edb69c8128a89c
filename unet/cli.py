"""What every command-line entry point shares: user mistakes print one line and exit 2, never a traceback,
warnings print as one line each, and SIGTERM stops work as Ctrl-C does."""
import argparse
import math
import os
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path

from tqdm import tqdm

from minigrad.backend import DeviceError
from minigrad.io import LoadError
from minigrad.memory import keep_freed_memory

from .checkpoint import CheckpointError
from .model import INPUT_MULTIPLE
from .torch_reference import TorchNotAvailableError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # as a shell reports a process ended by Ctrl-C
EXIT_TERMINATED = 143   # as a shell reports a process ended by SIGTERM (128 + 15)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
LOG_REDRAW_SECONDS = 60  # how often a progress bar written to a file or a pipe shows its state


def positive(kind, minimum=None, why=""):
    """An argparse type: a finite number of `kind` above zero (and at least `minimum`), else a one-line error."""
    def parse(text):
        value = kind(text)
        if not math.isfinite(value) or value <= 0 or (minimum is not None and value < minimum):
            bound = "positive" if minimum is None else f"at least {minimum}"
            finite = "" if math.isfinite(value) else "finite and "
            raise argparse.ArgumentTypeError(f"must be {finite}{bound}{why}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


image_size = positive(int, INPUT_MULTIPLE, " (the network halves an image three times)")
NATIVE = "native"


def image_size_or_native(text):
    """An argparse type: an image size, or `native` (None: every image keeps its own size)."""
    if text == NATIVE:
        return None
    try:
        return image_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of pixels or {NATIVE}, got {text}") from None


def seed(text):
    """An argparse type: a seed, an integer of 0 or more (NumPy's generators take no negative seed)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def named(kind=str):
    """An argparse type for a path: refused when empty (`--resume "$RUN"` with RUN unset), which would read as the
    current folder, or as the option left out (a resume that silently starts afresh)."""
    def parse(text):
        if not text:
            raise argparse.ArgumentTypeError("must name a file or folder, got an empty string")
        return kind(text)
    parse.__name__ = kind.__name__
    return parse


def check_output_folder(path, inputs=(), written_inside=None):
    """Refuse, in one line, an --out that cannot be made or written to (a file or a broken symbolic link in its
    place or above it, a read-only folder), before any work rather than when the first image or epoch is written.
    Nothing is created: a run refused later for another reason leaves no empty folder behind.

    `inputs`: (flag, folder) of the input folders, folder None where not given. The --out must not lie in one
    (the images written there would be read as inputs the next time), nor one in its subfolder `written_inside`
    (the outputs written there would replace the inputs).
    """
    from data import DataError  # the data package is optional for library users of unet

    path = Path(path)
    broken = next((link for link in (path, *path.parents) if link.is_symlink() and not link.exists()), None)
    if broken is not None:  # resolving a loop of links would raise; making the folder, "File exists"
        where = "" if broken == path else f" cannot be made: {broken}"
        raise FileNotFoundError(f"--out {path}{where} is a broken symbolic link (to {os.readlink(broken)})")
    out = path.resolve()
    for flag, folder in inputs:
        # a folder that does not exist (a loop of links included, which resolving would raise on) is the data
        # loader's to refuse, by name
        inside = None if folder is None or not Path(folder).exists() else Path(folder).resolve()
        if inside is not None and (out.is_relative_to(inside)
                                   or written_inside and inside.is_relative_to(out / written_inside)):
            raise DataError(f"--out {path} and {flag} {folder} overlap: pass an --out outside the input folders")
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if existing == path and not path.is_dir():
        raise NotADirectoryError(f"--out {path} is a file, not a folder")
    if not existing.is_dir():
        raise NotADirectoryError(f"--out {path} cannot be made: {existing} is a file, not a folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as err:
        where = "" if existing == path else f" (in {existing}, where it would be made)"
        raise PermissionError(f"--out {path} cannot be written{where}: {err.strerror}") from None


def refuse_options(parser, message):
    """Exit on options that parse but cannot go together: argparse's one error line, without the usage text
    above it, which points at how the command line is written."""
    parser.exit(EXIT_USER_ERROR, f"{parser.prog}: error: {message}\n")


def signal_is_ours(signum):
    """Whether this code may handle the signal: only the main thread can, and a signal inherited ignored
    (Ctrl-C in a background job of a shell script) must stay ignored."""
    return threading.current_thread() is threading.main_thread() and signal.getsignal(signum) is not signal.SIG_IGN


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler, `docker stop`, `timeout`): raised as Ctrl-C raises KeyboardInterrupt, so that
    whatever saves work on Ctrl-C does so on SIGTERM too."""


def user_errors():
    """The exception types that mean the user asked for something impossible, not that the code broke."""
    from data import DataError  # the data package is optional for library users of unet

    return (DataError, DeviceError, CheckpointError, LoadError, TorchNotAvailableError, FileNotFoundError,
            FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def progress_bar(**options):
    """A tqdm bar that suits a log file too. On a terminal it redraws as it goes; written to a file or a pipe
    (nohup, a batch job), where every redraw stays as text, it shows its state once a minute and at its end."""
    stream = options.setdefault("file", sys.stderr)
    return tqdm(mininterval=0.1 if stream.isatty() else LOG_REDRAW_SECONDS, **options)


def print_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings are for the user: `warning: <message>`, above any progress bar, without source lines."""
    tqdm.write(f"warning: {message}", file=sys.stderr)


def run(main, argv=None):
    """Call main(argv) and turn user errors, and memory running out, into `error: <message>` on stderr with exit
    status 2.

    Ctrl-C and SIGTERM raise KeyboardInterrupt (Terminated) for main to handle; main returns
    EXIT_INTERRUPTED for both, which becomes EXIT_TERMINATED where SIGTERM was the cause.
    Freed arrays stay in the heap for the next op to reuse (minigrad.memory): training runs faster.
    """
    keep_freed_memory()
    terminated = []

    def terminate(signum, frame):
        terminated.append(signum)
        raise Terminated

    for signum, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, terminate)):
        if signal_is_ours(signum):
            signal.signal(signum, handler)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = print_warning
            status = main(argv)
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except MemoryError as exc:  # images asked for too large (train.py's steps name their own options)
        detail = f" ({exc})" if str(exc) else ""  # Pillow's says nothing
        print(f"error: out of memory{detail}: pass a smaller --size, or smaller images", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    sys.exit(EXIT_TERMINATED if terminated and status == EXIT_INTERRUPTED else status or 0)
