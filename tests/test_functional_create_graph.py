"""torch.autograd.functional's derivatives that differentiate a recorded walk back (jvp, hessian, hvp, vhp) and
create_graph in all of them, against torch's: values, nesting, dtypes, whether the results require grad, the gradients
of results made with create_graph, and strict mode's errors; gradgradcheck against torch's verdicts."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from test_custom_function_tensors import _exp

torch = pytest.importorskip("torch")
import torch.autograd.functional  # noqa: E402

FUNCTIONAL = {mg: mg.autograd.functional, torch: torch.autograd.functional}
RNG = np.random.default_rng(3)
X, Y = RNG.uniform(-1, 1, 3).astype(np.float32), RNG.uniform(0.5, 1.5, 3).astype(np.float32)
S, T = np.array([0.7], np.float32), np.array([-1.3], np.float32)


def scalar(x, y):
    return (x * x * y).sum() / (y.sum() + 3)


def pair(x, y):
    return x * x * y, x / (y + 3)


def polynomial(s, t):  # of one value, without sums: hvp differentiates its recorded walk back twice
    return s * s * t * t + s * t * 3


CALLS = {  # name: (call(F, library, create_graph, *inputs), input arrays, whether results made with create_graph
    # are differentiated too: a third derivative of the function, which its ops' formulas' ops' formulas give)
    "jvp": (lambda F, lib, cg, x, y: F.jvp(pair, (x, y), (y, x), create_graph=cg), [X, Y], False),
    "jvp_polynomial": (lambda F, lib, cg, s, t: F.jvp(polynomial, (s, t), (t, s), create_graph=cg), [S, T], True),
    "jvp_one_input": (lambda F, lib, cg, x: F.jvp(lambda a: a * a * a, x, x * 2, create_graph=cg), [X], True),
    "jvp_of_one_value": (lambda F, lib, cg, s: F.jvp(lambda a: a * a * 2, s, create_graph=cg), [S], True),
    "vhp": (lambda F, lib, cg, x, y: F.vhp(scalar, (x, y), (y, x), create_graph=cg), [X, Y], False),
    "vhp_polynomial": (lambda F, lib, cg, s, t: F.vhp(polynomial, (s, t), (t, s), create_graph=cg), [S, T], True),
    "vhp_one_input": (lambda F, lib, cg, x: F.vhp(lambda a: scalar(a, lib.tensor(Y)), x, x, create_graph=cg), [X],
                      False),
    "hvp": (lambda F, lib, cg, s, t: F.hvp(polynomial, (s, t), (t, s), create_graph=cg), [S, T], True),
    "hvp_one_input": (lambda F, lib, cg, s: F.hvp(lambda a: polynomial(a, a * 2), s, create_graph=cg), [S], True),
    "hessian": (lambda F, lib, cg, x, y: F.hessian(scalar, (x, y), create_graph=cg), [X, Y], False),
    "hessian_one_input": (lambda F, lib, cg, x: F.hessian(lambda a: (a * a * a * lib.tensor(Y)).sum(), x,
                                                          create_graph=cg), [X], False),
    "hessian_independent_input": (lambda F, lib, cg, x, y: F.hessian(lambda a, b: (a * a * a).sum(), (x, y),
                                                                     create_graph=cg), [X, Y], False),
    "jacobian": (lambda F, lib, cg, x, y: F.jacobian(pair, (x, y), create_graph=cg), [X, Y], True),
    "vjp": (lambda F, lib, cg, x, y: F.vjp(pair, (x, y), (y, x), create_graph=cg), [X, Y], True),
}


def flat(result):
    """The tensors of a (nested) result with the nesting they had: [(path, tensor)]."""
    if isinstance(result, (tuple, list)):
        return [(((type(result).__name__, i),) + path, t) for i, item in enumerate(result) for path, t in flat(item)]
    return [((), result)]


def described(result):
    """Paths, dtypes, shapes and whether each tensor requires grad, and the values, of a (nested) result."""
    items = flat(result)
    return ([(path, str(t.dtype).replace("torch.", ""), tuple(t.shape), t.requires_grad) for path, t in items],
            [t.detach().numpy() for _, t in items])


def run(library, name, create_graph):
    call, arrays, differentiated = CALLS[name]
    inputs = [library.tensor(a, requires_grad=create_graph) for a in arrays]
    result = call(FUNCTIONAL[library], library, create_graph, *inputs)
    second = None
    if create_graph and differentiated:
        total = sum((t * t).sum() for _, t in flat(result) if t.requires_grad)
        second = library.autograd.grad(total, inputs, allow_unused=True, materialize_grads=True)
    return described(result), second


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", CALLS)
def test_results_are_torchs(name, create_graph):
    ((layout, values), second), ((layout_torch, values_torch), second_torch) = (run(library, name, create_graph)
                                                                              for library in (mg, torch))
    assert layout == layout_torch
    for path_and_value in zip(layout, values, values_torch):
        np.testing.assert_allclose(path_and_value[1], path_and_value[2], rtol=1e-5, atol=1e-6,
                                   err_msg=str(path_and_value[0]))
    if second is not None:
        for mine, reference in zip(second, second_torch):
            assert relative_error(mine.numpy(), reference.numpy()) < 1e-5


def linear(a, b):
    return (a * 2 + b).sum()


ERRORS = {
    "jvp_strict_independent": lambda F, x, y: F.jvp(lambda a, b: a * 2, (x, y), (x, y), strict=True),
    "jvp_v_missing": lambda F, x, y: F.jvp(lambda a: a * 2, x),
    "jvp_v_size": lambda F, x, y: F.jvp(lambda a: a * 2, x, x[:2]),
    "jvp_v_tuple_length": lambda F, x, y: F.jvp(lambda a, b: a * b, (x, y), (x,)),
    "vjp_strict_create_graph_linear": lambda F, x, y: F.vjp(lambda a: a * 2, x, x, create_graph=True, strict=True),
    "jacobian_strict_create_graph_linear": lambda F, x, y: F.jacobian(lambda a: a * 2, x, create_graph=True,
                                                                      strict=True),
    "hessian_strict_linear": lambda F, x, y: F.hessian(linear, (x, y), strict=True),
    "hessian_several_values": lambda F, x, y: F.hessian(lambda a: a * a, x),
    "hessian_tuple_output": lambda F, x, y: F.hessian(lambda a: (a.sum(),), x),
    "hessian_strategy": lambda F, x, y: F.hessian(scalar, (x, y), outer_jacobian_strategy="central"),
    "vhp_strict_linear": lambda F, x, y: F.vhp(linear, (x, y), (x, y), strict=True),
    "vhp_several_values": lambda F, x, y: F.vhp(lambda a: a * a, x, x),
    "vhp_v_missing": lambda F, x, y: F.vhp(scalar, (x, y)),
    "hvp_tuple_output": lambda F, x, y: F.hvp(lambda a: (a.sum(),), x, x),
    "hvp_strict_linear": lambda F, x, y: F.hvp(linear, (x, y), (x, y), strict=True),
    "hvp_v_size": lambda F, x, y: F.hvp(scalar, (x, y), (x, x[:1])),
}


@pytest.mark.parametrize("name", ERRORS)
def test_argument_and_strict_errors_as_torchs(name):
    assert_raises_as_torch(*(lambda library=library: ERRORS[name](FUNCTIONAL[library], library.tensor(X),
                                                                  library.tensor(Y))
                             for library in (torch, mg)))


def detached_exp(library):
    """torch's Exp but for a backward that takes its saved output for a constant: a wrong second derivative."""
    class DetachedExp(_exp(library)):
        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result.detach()

    return DetachedExp


GRADGRADCHECKS = {  # name: (function of the library and its inputs, input arrays)
    "rational": (lambda lib, x, y: (x * x * y).sum() / (y + 3), [X, Y]),
    "two_outputs": (lambda lib, x, y: pair(x, y), [X, Y]),
    "custom_exp": (lambda lib, x: _exp(lib).apply(x) * x, [X]),
    "custom_exp_wrong": (lambda lib, x: detached_exp(lib).apply(x) * x, [X]),
}


@pytest.mark.parametrize("name", GRADGRADCHECKS)
def test_gradgradcheck_gives_torchs_verdict(name):
    function, arrays = GRADGRADCHECKS[name]
    verdicts = []
    for library in (mg, torch):
        inputs = tuple(library.tensor(a.astype(np.float64), requires_grad=True) for a in arrays)
        verdicts.append(library.autograd.gradgradcheck(lambda *xs, lib=library: function(lib, *xs), inputs,
                                                       raise_exception=False))
    assert verdicts[0] == verdicts[1] == (name != "custom_exp_wrong")


def test_gradgradcheck_takes_grad_outputs_and_names_the_worst_element():
    x = mg.tensor(X.astype(np.float64), requires_grad=True)
    v = mg.tensor(Y.astype(np.float64), requires_grad=True)
    assert mg.gradgradcheck(lambda a: a * a * a, x, v)
    with pytest.raises(mg.GradcheckError, match="gradcheck failed for input 0"):
        mg.gradgradcheck(lambda a: detached_exp(mg).apply(a) * a, (x,))


def test_gpu_path_matches_cpu(gpu_path):
    results = []
    for device in ("cpu", "gpu"):
        x, y = (mg.tensor(a, device=device) for a in (X, Y))
        hessian = mg.autograd.functional.hessian(scalar, (x, y))
        _, products = mg.autograd.functional.vhp(scalar, (x, y), (y, x), create_graph=True)
        _, tangents = mg.autograd.functional.jvp(pair, (x, y), (y, x))
        tensors = [t for row in hessian for t in row] + list(products) + list(tangents)
        assert {t.device for t in tensors} == {device}
        results.append([t.detach().numpy() for t in tensors])
    for gpu, cpu in zip(results[1], results[0]):
        assert relative_error(gpu, cpu) <= 1e-5
