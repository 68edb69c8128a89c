"""minigrad.profiler: every op's forward and backward is charged to its name, after the device syncs."""
import pytest

import minigrad as mg
from minigrad import profiler


def test_each_op_is_timed_once_per_phase_after_a_sync():
    syncs = []
    x = mg.randn(2, 3, 8, 8, requires_grad=True)
    weight = mg.randn(4, 3, 3, 3, requires_grad=True)
    with profiler.profile(synchronize=lambda: syncs.append(1)) as stats:
        mg.functional.conv2d(x, weight, padding=1).relu().sum().backward()
    assert set(stats.calls) == {(name, phase) for name in ("Conv2d", "ReLU", "Sum") for phase in ("forward", "backward")}
    assert all(calls == 1 for calls in stats.calls.values())
    assert len(syncs) == 6, "one device sync per timed forward or backward"
    assert stats.total() == pytest.approx(sum(stats.seconds.values())) and stats.total() > 0
    assert "Conv2d" in stats.table() and not profiler.enabled


def test_profiles_do_not_nest():
    with profiler.profile():
        with pytest.raises(RuntimeError, match="nested"):
            with profiler.profile():
                pass
