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


# ---- vmap: out_dims=None -----------------------------------------------------------------------------------------

def _outcome(call):
    """call()'s result as NumPy arrays (a tuple's as a list), or the exception it raised."""
    try:
        result = call()
    except (ValueError, RuntimeError) as error:
        return error
    return [np.asarray(part.detach().numpy() if hasattr(part, "detach") else part)
            for part in (result if isinstance(result, tuple) else (result,))]


def assert_same_outcome(call):
    """call(lib) gives the same values (dtypes and shapes too) on minigrad and torch, or the same error."""
    ours, theirs = _outcome(lambda: call(mg)), _outcome(lambda: call(torch))
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
        return
    assert not isinstance(ours, Exception), ours
    assert [(a.dtype, a.shape) for a in ours] == [(a.dtype, a.shape) for a in theirs]
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-6)


UNMAPPED = np.array([5.0, 6.0], np.float32)
OUT_DIMS_NONE = {  # name -> (function of (lib, x, y), in_dims, out_dims); x is mapped, y not
    "a batched output": (lambda lib, x, y: x * 2, (0, None), None),
    "a batched output of equal samples": (lambda lib, x, y: x * 0, (0, None), None),
    "a sum of a batched tensor": (lambda lib, x, y: x.sum(), (0, None), None),
    "a detached batched tensor": (lambda lib, x, y: x.detach(), (0, None), None),
    "a comparison of a batched tensor": (lambda lib, x, y: x >= 0, (0, None), None),
    "the unmapped input's result": (lambda lib, x, y: y * 2, (0, None), None),
    "the unmapped input itself": (lambda lib, x, y: y, (0, None), None),
    "a tensor made inside": (lambda lib, x, y: lib.ones(3), (0, None), None),
    "a number": (lambda lib, x, y: 3, (0, None), None),
    "a tuple, None for all": (lambda lib, x, y: (x + y, y), (0, None), None),
    "a tuple, None for its unbatched part": (lambda lib, x, y: (x + y, y.exp()), (0, None), (0, None)),
    "a tuple, None for its batched part": (lambda lib, x, y: (x + y, y.exp()), (0, None), (None, 0)),
}


@pytest.mark.parametrize("batch", [1, 3, 0])
@pytest.mark.parametrize("name", OUT_DIMS_NONE)
def test_vmap_out_dims_none_refuses_an_output_that_depends_on_the_batch_as_torchs(name, batch):
    """torch's out_dims=None takes an output that does not depend on the samples; one computed from them, whatever
    its values (equal samples, a batch of one or none), is its error."""
    function, in_dims, out_dims = OUT_DIMS_NONE[name]
    x = np.ones((batch, 2), np.float32)
    assert_same_outcome(lambda lib: func_of(lib).vmap(lambda a, b: function(lib, a, b), in_dims=in_dims,
                                                      out_dims=out_dims)(lib.tensor(x), lib.tensor(UNMAPPED)))


@pytest.mark.parametrize("outer_mapped", [True, False])
def test_nested_vmap_out_dims_none_refuses_an_output_batched_by_the_outer_vmap_as_torchs(outer_mapped):
    def call(lib):
        vmap = func_of(lib).vmap
        inner = vmap(lambda a, b: b * 2, in_dims=(0, None), out_dims=None)
        return vmap(inner, in_dims=(0, 0 if outer_mapped else None))(lib.ones(2, 1, 2), lib.tensor(UNMAPPED))
    assert_same_outcome(call)


# ---- vmap: randomness ----------------------------------------------------------------------------------------------

RANDOM_OPS = {  # name -> function of (lib, x): x is mapped, its samples equal, so that only the draws tell them apart
    "rand": lambda lib, x: lib.rand(3) + x,
    "randn": lambda lib, x: lib.randn(3) + x,
    "randint": lambda lib, x: lib.randint(0, 1000, (3,)) + x,
    "randperm": lambda lib, x: lib.randperm(3) + x,
    "rand_like": lambda lib, x: lib.rand_like(x),
    "randn_like": lambda lib, x: lib.randn_like(x),
    "randint_like": lambda lib, x: lib.randint_like(x, 1000),
    "dropout": lambda lib, x: lib.nn.functional.dropout(x + 1, 0.5),
    "gumbel_softmax": lambda lib, x: lib.nn.functional.gumbel_softmax(x),
    "uniform_ of a batched tensor": lambda lib, x: x.clone().uniform_(),
    "normal_ of a batched tensor": lambda lib, x: x.clone().normal_(),
    "exponential_ of a batched tensor": lambda lib, x: x.clone().exponential_(),
    "normal_ of an empty_like": lambda lib, x: lib.empty_like(x).normal_(),
    "uniform_ of a new_empty": lambda lib, x: x.new_empty(3).uniform_() + x,
    "random_ of a batched integer tensor": lambda lib, x: x.long().random_(0, 1000),
    "bernoulli_ of a batched tensor": lambda lib, x: x.clone().bernoulli_(0.5),
    "uniform_ of a tensor made inside": lambda lib, x: lib.zeros(3).uniform_() + x,
    "nn.init.normal_ of a tensor made inside": lambda lib, x: lib.nn.init.normal_(lib.empty(3)) + x,
    "bernoulli of unmapped probabilities": lambda lib, x: lib.bernoulli(lib.full((3,), 0.5)) + x,
    "dropout of an unmapped tensor": lambda lib, x: lib.nn.functional.dropout(lib.ones(3), 0.5) + x,
    "multinomial of unmapped weights": lambda lib, x: lib.multinomial(lib.ones(4), 3) + x,
    "bernoulli of batched probabilities": lambda lib, x: lib.bernoulli(x.sigmoid()),
    "bernoulli with p of a batched tensor": lambda lib, x: x.bernoulli(0.5),
    "multinomial of batched weights": lambda lib, x: lib.multinomial(x.exp(), 2),
    "normal of batched means": lambda lib, x: lib.normal(x, 1.0),
    "normal of batched stds": lambda lib, x: lib.normal(0.0, x + 1),
    "poisson of batched rates": lambda lib, x: lib.poisson(x.exp()),
    "binomial of batched counts": lambda lib, x: lib.binomial(x + 3, lib.full((3,), 0.5)),
    "no draw: dropout in evaluation": lambda lib, x: lib.nn.functional.dropout(x, 0.5, training=False),
}


def _slices_all_equal(output):
    return all(bool((output[i] == output[0]).all()) for i in range(1, output.shape[0]))


@pytest.mark.parametrize("randomness", ["same", "different", "error"])
@pytest.mark.parametrize("name", RANDOM_OPS)
def test_vmap_randomness_as_torchs(name, randomness):
    """"same" draws the same values for every sample, and refuses a random op whose parameters are batched;
    "different" draws anew for each, and refuses an in-place draw into an unbatched tensor; "error" refuses any
    draw: torch's errors, and torch's sameness of the samples (the generators differ, and so do the values)."""
    x = np.tile(np.arange(3, dtype=np.float32), (6, 1))
    outcomes = []
    for lib in (mg, torch):
        try:
            output = func_of(lib).vmap(lambda a: RANDOM_OPS[name](lib, a), randomness=randomness)(lib.tensor(x))
        except RuntimeError as error:
            outcomes.append((RuntimeError, str(error)))
            continue
        assert tuple(output.shape[:1]) == (6,)
        outcomes.append(("all samples equal", _slices_all_equal(output)))
    assert outcomes[0] == outcomes[1]


# torch's Normal draws in place into a tensor it makes, which "different" refuses, and its Poisson's rates are
# parameters, which "same" refuses; minigrad's draw as they do elsewhere
DISTRIBUTIONS = {
    "Uniform": lambda D, x: D.Uniform(x, x + 1).rsample(),
    "Exponential": lambda D, x: D.Exponential(x + 1).rsample(),
    "Laplace": lambda D, x: D.Laplace(x, 1.0).rsample(),
    "Cauchy": lambda D, x: D.Cauchy(x, 1.0).rsample(),
    "Gumbel": lambda D, x: D.Gumbel(x, 1.0).rsample(),
    "Bernoulli": lambda D, x: D.Bernoulli(x * 0 + 0.5).sample(),
    "Categorical": lambda D, x: D.Categorical(logits=x).sample(),
}


@pytest.mark.parametrize("randomness", ["same", "different"])
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_vmap_randomness_of_distributions_as_torchs(name, randomness):
    outcomes = []
    for lib in (mg, torch):
        try:
            output = func_of(lib).vmap(lambda a: DISTRIBUTIONS[name](lib.distributions, a),
                                       randomness=randomness)(lib.ones(4, 3))
        except RuntimeError as error:
            outcomes.append((RuntimeError, str(error)))
            continue
        outcomes.append(("all samples equal", _slices_all_equal(output)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("randomness, batch_shaped", [("same", False), ("different", True)])
def test_vmap_randomness_draws_from_the_default_generator_as_torchs(randomness, batch_shaped):
    """"same" draws one sample's values (the generator moves on as after one draw), "different" the batch's at
    once, as torch's."""
    for lib in (mg, torch):
        lib.manual_seed(0)
        mapped = func_of(lib).vmap(lambda a: lib.rand(3) + a, randomness=randomness)(lib.zeros(4, 3))
        after = lib.rand(3)
        lib.manual_seed(0)
        drawn = lib.rand(4, 3) if batch_shaped else lib.rand(3).expand(4, 3)
        expected_after = lib.rand(3)
        np.testing.assert_array_equal(mapped.numpy(), drawn.numpy())
        np.testing.assert_array_equal(after.numpy(), expected_after.numpy())


@pytest.mark.parametrize("outer, inner", [("different", "same"), ("same", "different"), ("different", "error")])
@pytest.mark.parametrize("parameters_mapped_by", ["outer", "inner"])
def test_nested_vmap_randomness_as_torchs(outer, inner, parameters_mapped_by):
    """Each vmap's setting holds at its own level: "same" refuses probabilities batched at its level only."""
    def call(lib):
        vmap = func_of(lib).vmap
        inner_dims = (0, 0) if parameters_mapped_by == "inner" else (0, None)
        draw = vmap(lambda a, p: lib.bernoulli(p) + a, in_dims=inner_dims, randomness=inner)
        return vmap(draw, randomness=outer)(lib.zeros(2, 3, 4), lib.full((2, 3, 4) if parameters_mapped_by == "inner"
                                                                          else (2, 4), 0.5))
    outcomes = []
    for lib in (mg, torch):
        try:
            output = call(lib)
        except RuntimeError as error:
            outcomes.append((RuntimeError, str(error)))
            continue
        outcomes.append((_slices_all_equal(output), _slices_all_equal(output.transpose(0, 1))))
    assert outcomes[0] == outcomes[1]
