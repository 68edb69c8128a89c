"""What every command-line entry point shares: user mistakes print one line and exit 2, never a traceback,
and warnings print as one line each."""
import argparse
import math
import signal
import sys
import threading
import warnings

from tqdm import tqdm

from minigrad.backend import DeviceError
from minigrad.io import LoadError
from minigrad.memory import keep_freed_memory

from .checkpoint import CheckpointError
from .model import INPUT_MULTIPLE
from .torch_reference import TorchNotAvailableError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # as a shell reports a process ended by Ctrl-C


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


def seed(text):
    """An argparse type: a seed, an integer of 0 or more (NumPy's generators take no negative seed)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def ctrl_c_is_ours():
    """Whether this code may handle Ctrl-C: only the main thread can, and a background job of a shell
    script inherits Ctrl-C ignored, which it must stay."""
    return threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def user_errors():
    """The exception types that mean the user asked for something impossible, not that the code broke."""
    from data import DataError  # the data package is optional for library users of unet

    return (DataError, DeviceError, CheckpointError, LoadError, TorchNotAvailableError, FileNotFoundError,
            FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def print_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings are for the user: `warning: <message>`, above any progress bar, without source lines."""
    tqdm.write(f"warning: {message}", file=sys.stderr)


def run(main, argv=None):
    """Call main(argv) and turn user errors into `error: <message>` on stderr with exit status 2.

    Freed arrays stay in the heap for the next op to reuse (minigrad.memory): training runs faster.
    """
    keep_freed_memory()
    if ctrl_c_is_ours():
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises KeyboardInterrupt for main to handle
    try:
        with warnings.catch_warnings():
            warnings.showwarning = print_warning
            status = main(argv)
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    sys.exit(status or 0)
