"""Per-op timing of forward and backward, for finding where a training step spends its time.

    from minigrad import profiler
    with profiler.profile() as stats:
        loss = model(x).sum(); loss.backward()
    print(stats.table())

`Function.apply` and the backward loop check the module flag `enabled` once per op and time
nothing while it is False, so the hook costs one attribute read when profiling is off.
"""
import contextlib
import time
from collections import defaultdict

enabled = False
_current = None
_synchronize = None


class OpStats:
    """Accumulated (calls, seconds) per (op name, "forward" | "backward")."""

    def __init__(self):
        self.calls = defaultdict(int)
        self.seconds = defaultdict(float)

    def add(self, name, phase, seconds):
        self.calls[name, phase] += 1
        self.seconds[name, phase] += seconds

    def total(self):
        return sum(self.seconds.values())

    def table(self, scale=1.0):
        """Rows sorted by time; `scale` divides times and calls (e.g. by the number of steps)."""
        total = self.total() or 1.0
        lines = [f"{'op':<22}{'phase':<10}{'calls':>8}{'seconds':>10}{'share':>8}"]
        for key, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            name, phase = key
            lines.append(f"{name:<22}{phase:<10}{self.calls[key] / scale:>8.0f}"
                         f"{seconds / scale:>10.3f}{seconds / total:>8.1%}")
        lines.append(f"{'total':<40}{total / scale:>10.3f}")
        return "\n".join(lines)


def timed(function, phase, method, *args, **kwargs):
    """Call `method` and charge its wall time to `function`'s name under `phase`."""
    start = time.perf_counter()
    try:
        return method(*args, **kwargs)
    finally:
        _synchronize()
        _current.add(function.__name__, phase, time.perf_counter() - start)


@contextlib.contextmanager
def profile(synchronize=lambda: None):
    """Record every op's forward and backward time inside the block; yields the OpStats.

    A GPU runs kernels after their launch returns: pass the device's synchronize, so that each op
    is charged for its kernels rather than for launching them.
    """
    global enabled, _current, _synchronize
    if enabled:
        raise RuntimeError("profiler.profile() blocks cannot be nested")
    _current, _synchronize, enabled = OpStats(), synchronize, True
    try:
        yield _current
    finally:
        enabled = False
