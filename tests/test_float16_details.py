"""float16 details as torch's CPU kernels have them: which number operands they read in float32 (a number after the
tensor in *, / and the floor and trunc divisions) and which they round to float16 first (+, -, a number first);
n / x as torch's reciprocal times n; add's and sub's alpha in one op, rounded once; float16 floor division's steps
each rounded to float16; and in-place writes into float16 arrays behind the float32 copies that an op computing in
float32 saved, refused at backward."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch

torch = pytest.importorskip("torch")

# every finite float16 value, signed zeros and subnormals included
FLOAT16 = np.arange(2 ** 16, dtype=np.uint16).view(np.float16)
FLOAT16 = FLOAT16[np.isfinite(FLOAT16)]
NUMBERS = [0.1, 3.0, -2.5, 1e5, 1e-4, 7]


def _assert_same_bits(ours, theirs):
    ours, theirs = ours.numpy(), theirs.numpy()
    assert ours.dtype == theirs.dtype == np.float16
    different = (ours.view(np.uint16) != theirs.view(np.uint16)) & ~(np.isnan(ours) & np.isnan(theirs))
    assert not different.any(), (np.flatnonzero(different)[:5], ours[different][:5], theirs[different][:5])


ARITHMETIC = {
    "x + n": lambda lib, x, n: x + n,
    "n + x": lambda lib, x, n: n + x,
    "x - n": lambda lib, x, n: x - n,
    "n - x": lambda lib, x, n: n - x,
    "x * n": lambda lib, x, n: x * n,
    "n * x": lambda lib, x, n: n * x,
    "mul(n, x)": lambda lib, x, n: lib.mul(n, x),
    "x / n": lambda lib, x, n: x / n,
    "n / x": lambda lib, x, n: n / x,
    "div(n, x)": lambda lib, x, n: lib.div(n, x),
    "x // n": lambda lib, x, n: x // n,
    "n // x": lambda lib, x, n: n // x,
    "floor_divide": lambda lib, x, n: lib.floor_divide(x, n),
    "div floor": lambda lib, x, n: lib.div(x, n, rounding_mode="floor"),
    "div floor n first": lambda lib, x, n: lib.div(n, x, rounding_mode="floor"),
    "div trunc": lambda lib, x, n: lib.div(x, n, rounding_mode="trunc"),
    "x % n": lambda lib, x, n: x % n,
    "x * 0-d tensor": lambda lib, x, n: x * lib.tensor(n),  # a float32 scale, read as a number
    "x / 0-d float64": lambda lib, x, n: x / lib.tensor(n, dtype=lib.float64),
    "0-d tensor * x": lambda lib, x, n: lib.tensor(n) * x,
    "x + 0-d tensor": lambda lib, x, n: x + lib.tensor(n),
}


@pytest.mark.parametrize("name", ARITHMETIC)
def test_arithmetic_with_numbers_matches_torchs_bits(name):
    """A number (or a 0-d tensor of another dtype) after the tensor in *, / and the floor and trunc divisions is read
    in float32 and the result rounded once, as torch's kernels read it; in + and -, and first (torch.mul(n, x),
    n // x), it is a float16 number; n / x is torch's reciprocal(x) * n, rounded twice."""
    tensors = mg.tensor(FLOAT16), torch.tensor(FLOAT16)
    for number in NUMBERS:
        _assert_same_bits(*(ARITHMETIC[name](lib, x, number) for lib, x in zip((mg, torch), tensors)))


def test_floor_division_of_float16_tensors_rounds_each_step_as_torchs():
    rng = np.random.default_rng(0)
    a, b = (FLOAT16[rng.integers(0, FLOAT16.size, 50_000)] for _ in range(2))
    _assert_same_bits(mg.tensor(a) // mg.tensor(b), torch.tensor(a) // torch.tensor(b))


@pytest.mark.parametrize("number", [0.1, 3.0, 1e-4, 0.5])
def test_powers_with_numbers_within_a_float16_rounding_of_torchs(number):
    """Within one unit in the last place: torch's float16 powers are its vectorized pow's in one part of a tensor
    and std::pow's in the rest, which differ by one ulp for a few values."""
    for fn in (lambda x: x ** number, lambda x: number ** x):
        ours, theirs = fn(mg.tensor(FLOAT16)).numpy(), fn(torch.tensor(FLOAT16)).numpy()
        assert ours.dtype == theirs.dtype == np.float16
        finite = np.isfinite(theirs)
        assert (np.isfinite(ours) == finite).all()
        np.testing.assert_array_max_ulp(ours[finite], theirs[finite], maxulp=1)


def test_number_over_float16_gradient_and_node_as_torchs():
    array = np.array([0.001, 0.25, -3.0, 1.531, 1e4], np.float16)
    results = []
    for lib in (mg, torch):
        x = lib.tensor(array, requires_grad=True)
        out = 1e5 / x
        out.backward(lib.tensor(np.full(5, 1e-3, np.float16)))
        results.append((type(out.grad_fn).__name__ if lib is torch else out.grad_fn.name(), out, x.grad))
    assert results[0][0] == results[1][0] == "MulBackward0"
    _assert_same_bits(results[0][1], results[1][1].detach())
    _assert_same_bits(results[0][2], results[1][2])


SCALED = {
    "add": lambda lib, x, y, alpha: lib.add(x, y, alpha=alpha),
    "sub": lambda lib, x, y, alpha: lib.sub(x, y, alpha=alpha),
    "rsub": lambda lib, x, y, alpha: lib.rsub(x, y, alpha=alpha),
}


@pytest.mark.parametrize("name", SCALED)
def test_alpha_scaled_sums_match_torchs_bits(name):
    """x + alpha * y in one op as torch's: alpha a float16 number, the sum computed in float32 and rounded once."""
    y = np.random.default_rng(0).permutation(FLOAT16)
    for alpha in (0.3, -1.7):
        for ours, theirs in ((mg.tensor(y), torch.tensor(y)), (0.1, 0.1), (1e5, 1e5)):
            _assert_same_bits(SCALED[name](mg, mg.tensor(FLOAT16), ours, alpha),
                              SCALED[name](torch, torch.tensor(FLOAT16), theirs, alpha))


@pytest.mark.parametrize("name", SCALED)
def test_alpha_scaled_sums_gradients_and_nodes_as_torchs_gradcheck(name):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    assert_matches_torch(torch, lambda lib, x, y: SCALED[name](lib, x, y, 0.3), arrays)
    assert mg.gradcheck(lambda x, y: SCALED[name](mg, x, y, -1.7), [mg.tensor(a, requires_grad=True) for a in arrays])
    x, y = (mg.tensor(a, requires_grad=True) for a in arrays)
    tx, ty = (torch.tensor(a, requires_grad=True) for a in arrays)
    for ours, theirs in ((y, ty), (2.0, 2.0)):
        node = SCALED[name](torch, tx, theirs, 0.3).grad_fn
        assert SCALED[name](mg, x, ours, 0.3).grad_fn.name() == type(node).__name__


def test_alpha_beyond_float16_refused_as_torch():
    messages = []
    for lib in (mg, torch):
        with pytest.raises(RuntimeError) as error:
            lib.zeros(2, dtype=lib.float16).add(lib.ones(2, dtype=lib.float16), alpha=1e5)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


IN_PLACE = {  # (forward, the write made without recording, whether torch refuses backward)
    "matmul's input": (lambda x: x @ x.t(), lambda x, y: x.mul_(2), True),
    "through a detached view": (lambda x: x.mean(0) @ x.t(), lambda x, y: x.detach()[0].add_(1), True),
    "softmax's output": (lambda x: x.softmax(-1), lambda x, y: y.mul_(2), True),
    "a mean's input, not saved": (lambda x: x.mean(), lambda x, y: x.mul_(2), False),
    "times a number, not saved": (lambda x: x * 1e5, lambda x, y: x.mul_(2), False),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_writes_behind_float32_copies_are_refused_as_torchs(name):
    """An op computing float16 in float32 saves float32 copies: a write into the float16 array behind one is refused
    at backward as torch refuses it, with the message minigrad gives for the op in float32."""
    forward, write, refused = IN_PLACE[name]
    array = np.array([[0.5, 1.5, -2.0], [2.0, -1.0, 0.25]], np.float16)
    errors = []
    for lib, dtype in ((torch, np.float16), (mg, np.float16), (mg, np.float32)):
        x = lib.tensor(array.astype(dtype), requires_grad=True)
        y = forward(x)
        with lib.no_grad():
            write(x, y)
        try:
            y.sum().backward()
            errors.append(None)
        except RuntimeError as error:
            errors.append(str(error))
    assert (errors[0] is not None) == refused
    assert errors[1] == errors[2]
    if refused:
        prefix = "one of the variables needed for gradient computation has been modified by an inplace operation"
        assert errors[0].startswith(prefix) and errors[1].startswith(prefix)


def test_gpu_path_float16_divisions_and_writes(gpu_path):
    """The float16 floor division and remainder, n / x, the alpha-scaled sum and the watch of the float16 arrays
    behind float32 copies run on the device's arrays as on the CPU's."""
    rng = np.random.default_rng(0)
    a, b = (FLOAT16[rng.integers(0, FLOAT16.size, 2_000)] for _ in range(2))
    results = []
    for device in ("cpu", "gpu"):
        x, y = (mg.tensor(array, device=device) for array in (a, b))
        outputs = (x // y, 3.0 // y, x // 0.1, x % y, 1e5 / y, x.div(0.1, rounding_mode="trunc"),
                   x.sub(y, alpha=0.3))
        results.append([t.to("cpu").numpy() for t in outputs])
        w = mg.tensor(a[:6].reshape(2, 3), requires_grad=True, device=device)
        out = w @ w.t()
        with mg.no_grad():
            w.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
    for ours, reference in zip(*results):
        assert ours.dtype == np.float16
        np.testing.assert_array_equal(ours, reference)
