"""torch's binary element-wise functions (atan2, hypot, copysign, xlogy, fmod, lerp, logaddexp, fmax, ...) and
small products (dot, mv, addmm, kron, tensordot, ...), against torch: values and gradients in float32 with
broadcasting, float64 gradchecks, torch's gradients at its special points, result dtypes of integer operands,
torch's errors, and the GPU path."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import differentiable_case_tests, normal, uniform

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim arg")  # torch's deprecation note

NAN, INF = math.nan, math.inf


# name -> (fn(lib, *tensors), makers of the inputs); fn runs on torch and on minigrad alike, every input
# differentiable. Shapes broadcast where the op does; values keep away from the points without a derivative.
CASES = {
    "atan2": (lambda lib, a, b: lib.atan2(a, b), [normal(3, 4), normal(4)]),
    "arctan2": (lambda lib, a, b: lib.arctan2(a, b), [normal(2, 1, 3), normal(4, 1)]),
    "atan2 method": (lambda lib, a, b: a.atan2(b), [normal(4), normal(3, 1)]),
    "hypot": (lambda lib, a, b: lib.hypot(a, b), [normal(3, 4), normal(3, 1)]),
    "copysign": (lambda lib, a, b: lib.copysign(a, b), [normal(3, 4), normal(4)]),
    "copysign number": (lambda lib, a: a.copysign(-2.0), [normal(5)]),
    "xlogy": (lambda lib, a, b: lib.xlogy(a, b), [normal(3, 4), uniform(0.2, 3, 4)]),
    "xlogy number": (lambda lib, a: a.xlogy(2.5), [normal(5)]),
    "xlogy of a number": (lambda lib, b: lib.xlogy(1.5, b), [uniform(0.2, 3, 5)]),
    "fmod": (lambda lib, a, b: lib.fmod(a, b), [uniform(-5, 5, 3, 4), uniform(0.7, 1.3, 4)]),
    "fmod number": (lambda lib, a: a.fmod(1.5), [uniform(-5, 5, 6)]),
    "nextafter": (lambda lib, a, b: lib.nextafter(a, b), [normal(3, 4), normal(4)]),
    "logaddexp": (lambda lib, a, b: lib.logaddexp(a, b), [normal(3, 4), normal(1, 4)]),
    "logaddexp2": (lambda lib, a, b: a.logaddexp2(b), [normal(3, 4), normal(3, 1)]),
    "fmax": (lambda lib, a, b: lib.fmax(a, b), [normal(3, 4), normal(4)]),
    "fmin": (lambda lib, a, b: a.fmin(b), [normal(3, 4), normal(3, 1)]),
    "lerp number": (lambda lib, a, b: lib.lerp(a, b, 0.7), [normal(3, 4), normal(4)]),
    "lerp tensor": (lambda lib, a, b, w: a.lerp(b, w), [normal(3, 1), normal(4), uniform(-0.5, 1.5, 2, 1, 1)]),
    "dot": (lambda lib, a, b: lib.dot(a, b), [normal(5), normal(5)]),
    "vdot method": (lambda lib, a, b: a.vdot(b), [normal(5), normal(5)]),
    "inner": (lambda lib, a, b: lib.inner(a, b), [normal(2, 3, 4), normal(5, 4)]),
    "inner of 0-d": (lambda lib, a, b: a.inner(b), [normal(), normal(3, 2)]),
    "mv": (lambda lib, a, b: lib.mv(a, b), [normal(3, 4), normal(4)]),
    "addmv": (lambda lib, c, a, b: lib.addmv(c, a, b, beta=0.5, alpha=-2), [normal(1), normal(3, 4), normal(4)]),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b, beta=2, alpha=0.5), [normal(3), normal(2, 4), normal(4, 3)]),
    "addmm method": (lambda lib, c, a, b: c.addmm(a, b), [normal(2, 1), normal(2, 4), normal(4, 3)]),
    "addmm beta 0": (lambda lib, c, a, b: lib.addmm(c, a, b, beta=0), [normal(2, 1), normal(2, 4), normal(4, 3)]),
    "baddbmm": (lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=-1, alpha=3),
                [normal(2, 1), normal(3, 2, 4), normal(3, 4, 5)]),
    "addbmm": (lambda lib, c, a, b: c.addbmm(a, b, alpha=0.25), [normal(5), normal(3, 2, 4), normal(3, 4, 5)]),
    "kron": (lambda lib, a, b: lib.kron(a, b), [normal(2, 3), normal(4)]),
    "kron method": (lambda lib, a, b: a.kron(b), [normal(2, 1, 3), normal(3, 2)]),
    "tensordot": (lambda lib, a, b: lib.tensordot(a, b), [normal(2, 3, 4), normal(3, 4, 5)]),
    "tensordot lists": (lambda lib, a, b: lib.tensordot(a, b, dims=([1, 2], [1, 0])), [normal(2, 3, 4),
                                                                                      normal(4, 3, 5)]),
    "tensordot negative": (lambda lib, a, b: lib.tensordot(a, b, dims=[[-1], [0]]), [normal(2, 3), normal(3, 4)]),
    "tensordot 0": (lambda lib, a, b: lib.tensordot(a, b, dims=0), [normal(2, 3), normal(4)]),
    "tensordot over an empty dim": (lambda lib, a, b: lib.tensordot(a, b, dims=1), [normal(2, 0), normal(0, 3)]),
    "tensordot broadcast": (lambda lib, a, b: lib.tensordot(a, b, dims=([1, 0], [0, 1])), [normal(3, 1),
                                                                                          normal(1, 3, 2)]),
    "linalg.cross": (lambda lib, a, b: lib.linalg.cross(a, b), [normal(2, 3), normal(1, 3)]),
    "cross dim": (lambda lib, a, b: lib.cross(a, b, dim=0), [normal(3, 2), normal(3, 1)]),
    "cross method": (lambda lib, a, b: a.cross(b), [normal(4, 3, 2), normal(4, 3, 2)]),
    "dist": (lambda lib, a, b: lib.dist(a, b), [normal(2, 3), normal(3)]),
    "dist p": (lambda lib, a, b: a.dist(b, p=3.5), [normal(2, 3), normal(2, 1)]),
    "dist inf": (lambda lib, a, b: lib.dist(a, b, math.inf), [normal(4), normal(4)]),
    "cdist": (lambda lib, a, b: lib.cdist(a, b), [normal(2, 4, 3), normal(5, 3)]),
    "cdist batched": (lambda lib, a, b: lib.cdist(a, b), [normal(2, 1, 3, 4), normal(5, 2, 4)]),
    "cdist p1": (lambda lib, a, b: lib.cdist(a, b, p=1), [normal(4, 3), normal(5, 3)]),
    "cdist p0.5": (lambda lib, a, b: lib.cdist(a, b, p=0.5), [normal(4, 3), normal(5, 3)]),
    "cdist p3": (lambda lib, a, b: lib.cdist(a, b, p=3), [normal(4, 3), normal(5, 3)]),
    "cdist inf": (lambda lib, a, b: lib.cdist(a, b, p=math.inf), [normal(4, 3), normal(5, 3)]),
    "renorm": (lambda lib, a: lib.renorm(a, 2, 0, 1.8), [normal(6, 4)]),
    "renorm method": (lambda lib, a: a.renorm(1, -1, 2.5), [normal(3, 2, 5)]),
    "masked_select": (lambda lib, a: lib.masked_select(a, lib.tensor([True, False, True], device=a.device)),
                      [normal(2, 3)]),
    "masked_select broadcast": (lambda lib, a: a.masked_select(lib.tensor([[True], [False], [True]], device=a.device)),
                                [normal(4)]),
}


test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


# Values and gradients at the points where torch defines its own: the origin, zeros, NaNs, infinities, ties.
SPECIAL_POINTS = {
    "atan2": ([0.0, 1.0, -0.0, 0.0, 2.0], [0.0, 0.0, -1.0, -0.0, INF]),
    "hypot": ([0.0, 3.0, 0.0], [0.0, 4.0, -2.0]),
    "copysign": ([0.0, -2.0, 3.0, -0.0, 1.0], [1.0, 1.0, -0.0, NAN, -INF]),
    "xlogy": ([0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0], [0.0, -1.0, NAN, 0.0, 2.0, -1.0, INF]),
    "fmod": ([5.0, -5.0, 0.0, -0.0, 3.0, INF], [3.0, 3.0, 2.0, 2.0, 0.0, 2.0]),
    "logaddexp": ([-INF, INF, 1.0, -INF, 1e4], [-INF, INF, 2.0, 3.0, 1.0]),
    "logaddexp2": ([-INF, INF, 1.0, -INF, -1e4], [-INF, INF, 2.0, 3.0, 1.0]),
    "fmax": ([1.0, NAN, 2.0, NAN, -0.0], [1.0, 1.0, NAN, NAN, 0.0]),
    "fmin": ([1.0, NAN, 2.0, NAN, 0.0], [1.0, 1.0, NAN, NAN, -0.0]),
}


@pytest.mark.parametrize("name", SPECIAL_POINTS)
def test_special_points_as_torch(name):
    results = []
    for lib in (torch, mg):
        a, b = (lib.tensor(values, dtype=lib.float64, requires_grad=True) for values in SPECIAL_POINTS[name])
        out = getattr(lib, name)(a, b)
        out.sum().backward()
        results.append([np.asarray(t.tolist()) for t in (out, a.grad, b.grad)])
    for ours, theirs in zip(*reversed(results)):
        np.testing.assert_array_equal(ours, theirs)
        numbers = ~np.isnan(theirs)  # a NaN's sign is the libm's, which differs by CPU (log(-1) in SIMD or not)
        np.testing.assert_array_equal(np.signbit(ours[numbers]), np.signbit(theirs[numbers]))


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, INF])
def test_cdist_and_dist_gradients_at_zero_distance_as_torch(p):
    x1 = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    x2 = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 2.0], [0.0, 0.0, 0.0]])
    results = []
    for lib in (torch, mg):
        a, b = (lib.tensor(x, requires_grad=True) for x in (x1, x2))
        out = lib.cdist(a, b, p=p)
        (out.sum() + lib.dist(a[0], b[0], p=p)).backward()
        results.append([np.asarray(t.tolist()) for t in (out, a.grad, b.grad)])
    for ours, theirs in zip(*reversed(results)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_lerp_is_exact_at_its_ends_as_torch():
    start, end = np.float32([1e8, -3.0, 0.1]), np.float32([1.0, 7e-8, 0.3])
    for weight in (0.0, 1.0, 0.5, 0.49999997):
        ours = mg.lerp(mg.tensor(start), mg.tensor(end), weight).numpy()
        np.testing.assert_array_equal(ours, torch.lerp(torch.tensor(start), torch.tensor(end), weight).numpy())


BINARY = ["atan2", "arctan2", "hypot", "copysign", "xlogy", "fmod", "logaddexp", "logaddexp2", "fmax", "fmin",
          "nextafter"]
OPERANDS = {
    "int64": lambda lib: lib.tensor([3, -2, 5]),
    "int32": lambda lib: lib.tensor([3, -2, 5], dtype=lib.int32),
    "bool": lambda lib: lib.tensor([True, False, True]),
    "float32": lambda lib: lib.tensor([1.5, -2.0, 0.5]),
    "float64": lambda lib: lib.tensor([1.5, -2.0, 0.5], dtype=lib.float64),
    "0-d float64": lambda lib: lib.tensor(2.5, dtype=lib.float64),
    "int": lambda lib: 2,
    "float": lambda lib: 2.5,
}
PAIRS = [(a, b) for a in ("int64", "int32", "bool", "float32", "float64") for b in OPERANDS]


def _outcome(call):
    try:
        out = call()
    except Exception as error:  # noqa: BLE001 - the outcome compared is the error itself
        return type(error).__name__, str(error)
    values = np.asarray(out.tolist(), dtype=np.float64).round(5)
    return str(out.dtype).replace("torch.", ""), np.where(np.isnan(values), None, values).tolist()


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("a, b", PAIRS)
def test_dtypes_and_errors_as_torch(name, a, b):
    """Integer and bool operands, numbers, mixed dtypes: the result's dtype and values, or torch's error."""
    for form in ("function", "method"):
        outcomes = []
        for lib in (torch, mg):
            x, y = OPERANDS[a](lib), OPERANDS[b](lib)
            outcomes.append(_outcome(lambda: getattr(lib, name)(x, y) if form == "function"
                                     else getattr(x, name)(y)))
        assert outcomes[1] == outcomes[0], form


@pytest.mark.parametrize("number", [5, -5, 5.5, True])
@pytest.mark.parametrize("divisor", ["int64", "int32", "float32", "float64", "0-d float64"])
def test_remainder_of_a_number_as_torch(number, divisor):
    """torch.remainder(number, tensor): the dtype and values (torch has no derivative for it)."""
    outcomes = [_outcome(lambda: lib.remainder(number, OPERANDS[divisor](lib))) for lib in (torch, mg)]
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("weight", ["float", "int", "float32", "float64", "0-d float64", "int64"])
@pytest.mark.parametrize("start, end", [("float32", "float32"), ("float32", "float64"), ("float64", "float32"),
                                        ("int64", "int64"), ("float32", "int64")])
def test_lerp_dtypes_and_errors_as_torch(start, end, weight):
    outcomes = [_outcome(lambda: lib.lerp(OPERANDS[start](lib), OPERANDS[end](lib), OPERANDS[weight](lib)))
                for lib in (torch, mg)]
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("call", [
    lambda lib: lib.atan2(lib.ones(2), lib.ones(3)),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(2), lib.ones(3)),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(3), 0.5),
    lambda lib: lib.fmod(lib.tensor([1, 2]), lib.tensor([1, 0])),
    lambda lib: lib.xlogy(2, 3),
    lambda lib: lib.hypot(lib.ones(2), 1.0),
    lambda lib: lib.fmax(2, lib.ones(2)),
])
def test_argument_errors_as_torch(call):
    outcomes = [_outcome(lambda: call(lib)) for lib in (torch, mg)]
    assert outcomes[1][0] == outcomes[0][0] != "float32"
    assert outcomes[1][1] == outcomes[0][1] or outcomes[0][0] == "TypeError" and "Tensor" in outcomes[1][1]


@pytest.mark.parametrize("call, torch_name", [
    (lambda lib, a, b: lib.atan2(a, b), "Atan2Backward0"), (lambda lib, a, b: lib.fmod(a, b), "FmodBackward1"),
    (lambda lib, a, b: a.fmod(2.0), "FmodBackward0"), (lambda lib, a, b: lib.copysign(a, b), "CopysignBackward0"),
    (lambda lib, a, b: a.copysign(2.0), "CopysignBackward1"), (lambda lib, a, b: lib.xlogy(a, b), "XlogyBackward0"),
    (lambda lib, a, b: lib.xlogy(2.0, b), "XlogyBackward1"), (lambda lib, a, b: a.xlogy(2.0), "XlogyBackward2"),
    (lambda lib, a, b: lib.lerp(a, b, 0.5), "LerpBackward0"), (lambda lib, a, b: lib.lerp(a, b, b), "LerpBackward1"),
    (lambda lib, a, b: lib.logaddexp(a, b), "LogaddexpBackward0"),
    (lambda lib, a, b: lib.logaddexp2(a, b), "Logaddexp2Backward0"),
    (lambda lib, a, b: lib.fmax(a, b), "FmaxBackward0"), (lambda lib, a, b: lib.hypot(a, b), "HypotBackward0"),
])
def test_graph_node_names_as_torch(call, torch_name):
    theirs = call(torch, torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)).grad_fn
    ours = call(mg, mg.ones(2, requires_grad=True), mg.ones(2, requires_grad=True)).grad_fn
    assert [type(theirs).__name__, ours.name()] == [torch_name, torch_name]


PRODUCT_CALLS = [
    lambda lib: lib.dot(lib.ones(2, 2), lib.ones(2)),
    lambda lib: lib.dot(lib.ones(2), lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.vdot(lib.ones(3), lib.ones(4)),
    lambda lib: lib.dot(lib.tensor([1, 2, 3]), lib.tensor([4, 5, 6])),
    lambda lib: lib.dot(lib.tensor([1, 2, 3]), lib.ones(3)),
    lambda lib: lib.inner(lib.ones(2, 3), lib.ones(4, 2)),
    lambda lib: lib.inner(lib.ones(2, 3), lib.ones(4, 3, dtype=lib.float64)),
    lambda lib: lib.inner(lib.tensor(2.0, dtype=lib.float64), lib.ones(4, 3)),
    lambda lib: lib.inner(lib.tensor([[1, 2]]), lib.tensor([[3, 4], [5, 6]])),
    lambda lib: lib.mv(lib.ones(3), lib.ones(3)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, 1)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(2)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.addmv(lib.ones(3), lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.addmv(lib.ones(2, dtype=lib.float64), lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.addmm(lib.ones(4), lib.ones(2, 3), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(3), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(2, 3), lib.ones(2, 3)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(2, 3), lib.ones(3, 3, dtype=lib.float64)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(2, 3, dtype=lib.float64), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.tensor(1.0, dtype=lib.float64), lib.ones(2, 3), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.tensor(NAN), lib.ones(2, 3), lib.ones(3, 3), beta=0),
    lambda lib: lib.addmm(lib.tensor([1, 2]), lib.tensor([[1, 2], [3, 4]]), lib.tensor([[1, 0], [2, 1]]), beta=0.5,
                          alpha=1.7),
    lambda lib: lib.addmm(lib.tensor([1, 2]), lib.tensor([[1, 2], [3, 4]]), lib.tensor([[1, 0], [2, 1]]), beta=3,
                          alpha=-2),
    lambda lib: lib.baddbmm(lib.ones(2), lib.ones(2, 2, 3), lib.ones(2, 3, 3)),
    lambda lib: lib.baddbmm(lib.ones(3), lib.ones(2, 3), lib.ones(2, 3, 3)),
    lambda lib: lib.baddbmm(lib.ones(3), lib.ones(2, 2, 3), lib.ones(3, 3, 3)),
    lambda lib: lib.baddbmm(lib.ones(3, dtype=lib.float64), lib.ones(2, 2, 3), lib.ones(2, 3, 3)),
    lambda lib: lib.addbmm(lib.ones(3), lib.ones(2, 3), lib.ones(2, 3, 3)),
    lambda lib: lib.addbmm(lib.ones(3, dtype=lib.float64), lib.ones(2, 2, 3), lib.ones(2, 3, 3)),
    lambda lib: lib.addbmm(lib.ones(3), lib.ones(2, 2, 3, dtype=lib.float64), lib.ones(2, 3, 3)),
    lambda lib: lib.kron(lib.tensor([1, 2]), lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.kron(lib.tensor([[1, 2]]), lib.tensor([True, False])),
    lambda lib: lib.kron(lib.tensor(2.0), lib.tensor(3.0)),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(4), dims=-1),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3), dims=2),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(4, 3), dims=([1], [0])),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 3), dims=([1], [0, 1])),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 3, dtype=lib.float64), dims=1),
    lambda lib: lib.tensordot(lib.ones(2, 3, 4), lib.ones(4, 3, 5), dims=lib.tensor([[2], [0]])),
    lambda lib: lib.tensordot(lib.tensor([[1, 2], [3, 4]]), lib.tensor([[1, 2], [3, 4]])),
    lambda lib: lib.linalg.cross(lib.tensor([1, 2, 3]), lib.tensor([4, 5, 7])),
    lambda lib: lib.linalg.cross(lib.tensor([1, 2, 3]), lib.ones(3)),
    lambda lib: lib.linalg.cross(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.linalg.cross(lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.linalg.cross(lib.ones(2, 2), lib.ones(2, 2)),
    lambda lib: lib.linalg.cross(lib.ones(3, 2), lib.ones(3, 2), dim=2),
    lambda lib: lib.linalg.cross(lib.ones(2, 3), lib.ones(4, 3)),
    lambda lib: lib.cross(lib.ones(2, 2), lib.ones(2, 2)),
    lambda lib: lib.cross(lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.cross(lib.tensor([[1.0, 2, 3], [4, 5, 6]]).T, lib.tensor([[1.0, 0, 3], [4, 5, 1]]).T),
    lambda lib: lib.dist(lib.tensor([1, 2]), lib.tensor([3, 5])),
    lambda lib: lib.dist(lib.tensor([1.0, 2]), lib.tensor([3, 5], dtype=lib.float64)),
    lambda lib: lib.dist(lib.tensor([1.0, 2]), lib.tensor([3.0, 5]), p=lib.tensor(3.0)),
    lambda lib: lib.dist(lib.tensor([1.0, 2]), lib.tensor([3.0, 5]), p=0),
    lambda lib: lib.cdist(lib.ones(3), lib.ones(3)),
    lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 4)),
    lambda lib: lib.cdist(lib.ones(2, 3, dtype=lib.int64), lib.ones(2, 3, dtype=lib.int64)),
    lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 3, dtype=lib.float64)),
    lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 3), p=-1),
    lambda lib: lib.cdist(lib.ones(2, 2, 3), lib.ones(3, 4, 3)),
    lambda lib: lib.cdist(lib.tensor([[0.0, 0], [1, 1]]), lib.tensor([[3.0, 4]]), p=0),
    lambda lib: lib.masked_select(lib.ones(3), lib.tensor([1, 0, 1])),
    lambda lib: lib.masked_select(lib.ones(3), lib.tensor([True, False])),
    lambda lib: lib.masked_select(lib.tensor([1, 2, 3]), lib.tensor([True, False, True])),
    lambda lib: lib.masked_select(lib.tensor(2.0), lib.tensor([[True], [True]])),
    lambda lib: lib.renorm(lib.arange(6).reshape(2, 3), 2, 0, 3.0),
    lambda lib: lib.renorm(lib.ones(2, 3), -1, 0, 3.0),
    lambda lib: lib.renorm(lib.ones(2, 3), 2, 0, -3.0),
    lambda lib: lib.renorm(lib.ones(2, 3), 2, 2, 3.0),
    lambda lib: lib.renorm(lib.tensor([2.0, 3.0]), 2, 0, 1.0),
    lambda lib: lib.renorm(lib.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0),
    lambda lib: lib.dot([1.0, 2.0, 3.0], lib.ones(3)),
    lambda lib: lib.dot(lib.ones(3), 2),
    lambda lib: lib.addmm(1.0, lib.ones(2, 3), lib.ones(3, 2)),
    lambda lib: lib.addbmm(lib.ones(2), lib.ones(1, 2, 3), None),
    lambda lib: lib.cdist(lib.ones(2, 3), [[1.0, 2.0, 3.0]]),
    lambda lib: lib.renorm([1.0], 2, 0, 1.0),
    lambda lib: lib.masked_select(lib.ones(3), [True, False, True]),
    lambda lib: lib.kron(lib.ones(3), 2.0),
    lambda lib: lib.linalg.cross(lib.ones(3), 2),
    lambda lib: lib.dist(lib.ones(3), 2),
]


@pytest.mark.parametrize("call", PRODUCT_CALLS)
def test_product_dtypes_and_errors_as_torch(call):
    outcomes = [_outcome(lambda: call(lib)) for lib in (torch, mg)]
    assert outcomes[1] == outcomes[0]
