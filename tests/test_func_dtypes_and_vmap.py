"""minigrad.func against torch.func where dtypes and batching decide: the dtype of jvp's tangent outputs for a
tangent of another dtype than its primal's, vmap's out_dims=None, and vmap's randomness settings."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")
# torch.func's forward-mode transforms script parts of themselves, which warns of torch's own internals
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

RNG = np.random.default_rng(0)
X = RNG.standard_normal(4).astype(np.float32)
T = RNG.standard_normal(4)


def func_of(lib):
    return mg.func if lib is mg else torch.func


def dtype_name(tensor):
    return str(tensor.dtype).removeprefix("torch.")


# ---- jvp: the tangent outputs' dtype ---------------------------------------------------------------------------

JVP_FUNCTIONS = {
    "sin": lambda lib, x: x.sin(),
    "product": lambda lib, x: x * 2 + x.exp() * x,
    "sum": lambda lib, x: x.tanh().sum(),
    "identity": lambda lib, x: x,
    "view": lambda lib, x: x.view(2, 2).relu(),
    "to float64": lambda lib, x: x.double() ** 2,
    "to float16": lambda lib, x: x.half(),
    "constant": lambda lib, x: lib.zeros(3),
    "several outputs": lambda lib, x: (x.cos(), x.double().sum(), lib.ones(2)),
}


@pytest.mark.parametrize("name", JVP_FUNCTIONS)
@pytest.mark.parametrize("tangent_dtype", ["float64", "float32"])
def test_jvp_of_a_float64_tangent_on_a_float32_primal_as_torchs(name, tangent_dtype):
    results = []
    for lib in (mg, torch):
        tangent = lib.tensor(T.astype(tangent_dtype))
        output, product = func_of(lib).jvp(lambda x: JVP_FUNCTIONS[name](lib, x), (lib.tensor(X),), (tangent,))
        results.append((output, product) if isinstance(output, tuple) else ((output,), (product,)))
    (our_outputs, our_products), (their_outputs, their_products) = results
    for ours, theirs in zip(our_outputs + our_products, their_outputs + their_products):
        assert dtype_name(ours) == dtype_name(theirs) and ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=2e-3 if ours.dtype == np.float16
                                   else 1e-5, atol=1e-6)


def test_jvp_widens_only_the_outputs_of_the_wider_tangents_primal_as_torchs():
    dtypes = []
    for lib in (mg, torch):
        primals = (lib.tensor(X), lib.tensor(X[::-1].copy()))
        tangents = (lib.tensor(T), lib.tensor(T.astype(np.float32)))
        _, products = func_of(lib).jvp(lambda a, b: (a.sin() * 3, b * b, a * b), primals, tangents)
        dtypes.append([dtype_name(product) for product in products])
    assert dtypes[0] == dtypes[1]
