"""Anomaly mode (autograd.detect_anomaly, set_detect_anomaly, set_anomaly_enabled), as torch's: a NaN a backward
gives is an error, and an error in a backward is first a warning that shows the node's forward call."""
import contextlib
import inspect
import threading
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")

SLOW = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for "
        "debugging.")
TORCH_SUFFIX = " (Triggered internally at"  # where torch's C++ warnings say they come from, which minigrad's need not


@pytest.fixture(autouse=True)
def modes_restored():
    yield
    for lib in (mg, torch):
        lib.set_anomaly_enabled(False)


def _floats(lib, values, requires_grad=True):
    return lib.tensor(np.asarray(values, np.float32), requires_grad=requires_grad)


def _sqrt_at_zero(lib):
    return (_floats(lib, [0.0, 4.0]).sqrt() * 0).sum()


def _mul_by_inf_times_zero(lib):
    x = _floats(lib, [1.0, 2.0])
    return (_floats(lib, [np.inf, 1.0], requires_grad=False) * x * 0).sum()  # x is Mul's second input


def _select_backward_of_nan(lib):
    return _floats(lib, [1.0, 2.0])[1], _floats(lib, np.nan, requires_grad=False)


def _backward(forward):
    """The backward of forward's output: a scalar, or (output, its gradient)."""
    output, gradient = forward if isinstance(forward, tuple) else (forward, None)
    output.backward(gradient)


def _custom_zero_by_zero(lib):
    class ZeroByZero(lib.autograd.Function):
        @staticmethod
        def forward(ctx, constant, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return None, grad * 0, grad * 0 / 0

    return ZeroByZero.apply(None, _floats(lib, [1.0]), _floats(lib, [3.0])).sum()  # y's gradient, output 1, is NaN


def _custom_failing(lib):
    class Failing(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("no gradient here")

    return Failing.apply(_floats(lib, [1.0])).sum()


def _run(lib, forward, anomaly_in_forward=True, **modes):
    """forward(lib)'s backward in anomaly mode (in its forward too, where anomaly_in_forward): the error (type,
    message) or None, and the messages of the warnings given, less the one that anomaly mode is slow."""
    with warnings.catch_warnings(record=True) as given:
        warnings.simplefilter("always")
        with lib.autograd.detect_anomaly(**modes) if anomaly_in_forward else contextlib.nullcontext():
            output = forward(lib)
        with lib.autograd.detect_anomaly(**modes):
            try:
                _backward(output)
                error = None
            except Exception as raised:
                error = type(raised), str(raised)
    messages = [str(warning.message).split(TORCH_SUFFIX)[0] for warning in given]
    assert messages.count(SLOW) == 1 + anomaly_in_forward
    return error, [message for message in messages if message != SLOW]


@pytest.mark.parametrize("forward", [_sqrt_at_zero, _mul_by_inf_times_zero, _select_backward_of_nan],
                         ids=["SqrtBackward0", "MulBackward0 of its second input", "SelectBackward0"])
def test_nan_in_a_backward_is_torchs_error_after_its_warning(forward):
    """The error, and the warning before it whole: its stack of the forward call is the same frames in either
    library, as torch's built-in ops are no frames of their own and minigrad leaves its own out."""
    ours, theirs = _run(mg, forward), _run(torch, forward)
    assert ours == theirs
    error, (warning,) = ours
    assert error[0] is RuntimeError and "returned nan values in its" in error[1]
    assert warning.splitlines()[-1] == inspect.getsource(forward).splitlines()[-1]  # the line that ran the op


@pytest.mark.parametrize("forward", [_custom_zero_by_zero, _custom_failing])
def test_custom_functions_error_is_torchs_after_a_warning_of_the_users_forward_line(forward):
    """A custom Function's NaN (counted among its tensor inputs, as torch's) or own error, after the warning: its
    first line as torch's, and the user's line that ran the forward (torch's stack has its apply's frame too)."""
    (ours, [ours_warning]), (theirs, [their_warning]) = _run(mg, forward), _run(torch, forward)
    assert ours == theirs
    assert ours_warning.splitlines()[0] == their_warning.splitlines()[0]
    line = "return ZeroByZero.apply(" if forward is _custom_zero_by_zero else "return Failing.apply("
    assert line in ours_warning and line in their_warning


def test_a_node_made_outside_anomaly_mode_has_no_forward_to_show():
    assert _run(mg, _sqrt_at_zero, anomaly_in_forward=False) == _run(torch, _sqrt_at_zero, anomaly_in_forward=False)


def test_a_second_backward_through_a_freed_graph_is_warned_of_as_torchs():
    """The error is minigrad's own words; the warning before it is torch's."""
    seen = []
    for lib in (mg, torch):
        with warnings.catch_warnings(record=True) as given:
            warnings.simplefilter("always")
            with lib.autograd.detect_anomaly():
                x = _floats(lib, [1.0, 2.0])
                y = x * x
                y.backward(lib.ones(2))
                with pytest.raises(RuntimeError, match="(?i)backward through (the|a) graph a second time"):
                    y.backward(lib.ones(2))
        seen.append([str(warning.message).split(TORCH_SUFFIX)[0] for warning in given][1:])
    assert seen[0] == seen[1] and seen[0][0].startswith("Error detected in MulBackward0. Traceback of forward call")


def test_check_nan_false_lets_nan_through_but_still_warns_of_errors():
    for lib in (mg, torch):
        assert _run(lib, _sqrt_at_zero, check_nan=False) == (None, [])
        error, [warning] = _run(lib, _custom_failing, check_nan=False)
        assert error == (ValueError, "no gradient here") and warning.startswith("Error detected in FailingBackward.")


@pytest.mark.parametrize("forward", [_sqrt_at_zero, _custom_failing])
def test_without_anomaly_mode_nan_passes_and_errors_come_alone(forward):
    outcomes = []
    for lib in (mg, torch):
        with warnings.catch_warnings(record=True) as given:
            warnings.simplefilter("always")
            output = forward(lib)
            try:
                output.backward()
                outcomes.append(None)
            except Exception as raised:
                outcomes.append((type(raised), str(raised)))
        assert not given
    assert outcomes[0] == outcomes[1]
    assert mg.tensor([0.0], requires_grad=True).sqrt().grad_fn.forward_trace is None  # nothing kept when off


def test_autograd_grad_checks_as_backward_does():
    errors = []
    for lib in (mg, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                x = _floats(lib, [0.0])
                with pytest.raises(RuntimeError) as raised:
                    lib.autograd.grad((x.sqrt() * 0).sum(), x)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]


def _detect(lib, check_nan=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.autograd.detect_anomaly(check_nan)


MODES = {
    "detect_anomaly()": _detect,
    "detect_anomaly(check_nan=False)": lambda lib: _detect(lib, check_nan=False),
    "set_detect_anomaly(True)": lambda lib: lib.autograd.set_detect_anomaly(True),
    "set_detect_anomaly(False)": lambda lib: lib.autograd.set_detect_anomaly(False),
    "set_detect_anomaly(True, check_nan=False)": lambda lib: lib.autograd.set_detect_anomaly(True, check_nan=False),
}


def _modes(lib):
    return lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", ["detect_anomaly(check_nan=False)", "set_detect_anomaly(False)"])
def test_nested_blocks_set_and_restore_the_modes_as_torchs(outer, inner):
    seen = {}
    for lib in (mg, torch):
        lib.set_anomaly_enabled(False, check_nan=False)
        states = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with MODES[outer](lib):
                states.append(_modes(lib))
                made = MODES[inner](lib)  # set_detect_anomaly sets the mode as it is made
                states.append(_modes(lib))
                with made:
                    states.append(_modes(lib))
                states.append(_modes(lib))
            states.append(_modes(lib))
        seen[lib.__name__] = states
    assert seen["minigrad"] == seen["torch"]


def test_set_detect_anomaly_as_a_call_and_set_anomaly_enabled_set_the_mode():
    for lib in (mg, torch):
        lib.autograd.set_detect_anomaly(True, False)
        assert _modes(lib) == (True, False)
        lib.set_anomaly_enabled(False)
        assert _modes(lib) == (False, True)


@pytest.mark.parametrize("call", ["set_anomaly_enabled(1)", "set_anomaly_enabled(True, 'yes')",
                                  "autograd.set_detect_anomaly(None)", "autograd.set_detect_anomaly(True, 0)"])
def test_argument_errors_are_torchs(call):
    assert_raises_as_torch(lambda: eval(f"lib.{call}", {"lib": torch}), lambda: eval(f"lib.{call}", {"lib": mg}))
    assert _modes(mg) == (False, True)


def test_detect_anomaly_refuses_a_check_nan_not_bool_as_it_enters():
    assert_raises_as_torch(lambda: _detect(torch, check_nan=1).__enter__(),
                           lambda: _detect(mg, check_nan=1).__enter__())
    assert _modes(mg) == (False, True)


def test_the_mode_is_the_whole_process_as_torchs():
    """torch's anomaly mode is no thread's own (the engine may run a backward on another thread)."""
    seen = []
    for lib in (mg, torch):
        with lib.autograd.set_detect_anomaly(True, check_nan=False):
            worker = threading.Thread(target=lambda: seen.append(_modes(lib)))
            worker.start()
            worker.join()
    assert seen == [(True, False)] * 2


def test_decorator_forms_set_the_mode_for_each_call():
    """minigrad's blocks are decorators too, as its grad modes (torch's anomaly ones are not callable)."""
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        @mg.autograd.detect_anomaly(check_nan=False)
        def inside():
            return _modes(mg)

    @mg.autograd.set_detect_anomaly(True)
    def set_inside(depth):
        return [_modes(mg), *(set_inside(depth - 1) if depth else [])]

    assert _modes(mg) == (False, True)  # decorating sets no mode
    assert inside() == (True, False) and _modes(mg) == (False, True)
    with mg.autograd.set_detect_anomaly(False, check_nan=False):
        assert set_inside(1) == [(True, True)] * 2 and _modes(mg) == (False, False)


def test_gpu_path_refuses_nan(gpu_path):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with mg.autograd.detect_anomaly():
            x = mg.tensor([0.0, 4.0], requires_grad=True, device="gpu")
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output."):
                (x.sqrt() * 0).sum().backward()
