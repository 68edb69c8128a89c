"""minigrad.func against torch.func: each transform's values on the same functions and inputs, how the transforms
compose (grad of grad, vmap of grad, hessian), which results stay differentiable from outside, functional_call and
stack_module_state on the same models, and torch's errors for bad calls."""
import functools

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")
# torch.func's forward-mode transforms script and trace parts of themselves, which warns of torch's own internals
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node:UserWarning")]

RNG = np.random.default_rng(0)
X = RNG.standard_normal(4).astype(np.float32)
Y = RNG.standard_normal(4).astype(np.float32)
M = RNG.standard_normal((3, 4)).astype(np.float32)
BATCH = RNG.standard_normal((5, 4)).astype(np.float32)


def func_of(lib):
    return mg.func if lib is mg else torch.func


def tensors(lib, *arrays, requires_grad=False):
    return [lib.tensor(a, requires_grad=requires_grad) for a in arrays]


def as_numpy(tree):
    """A pytree of tensors (either library's) as nested lists of NumPy arrays, dicts kept."""
    if isinstance(tree, dict):
        return {key: as_numpy(value) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return [as_numpy(value) for value in tree]
    if isinstance(tree, (bool, str)):
        return tree
    return tree.detach().numpy() if isinstance(tree, torch.Tensor) else tree.numpy()


def assert_same(ours, theirs, tolerance=1e-5):
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for key in theirs:
            assert_same(ours[key], theirs[key], tolerance)
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            assert_same(mine, reference, tolerance)
    elif isinstance(theirs, (bool, str)):
        assert ours == theirs
    else:
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        assert relative_error(ours, theirs) <= tolerance


def both(call):
    """call(lib) on minigrad and on torch, as NumPy pytrees."""
    return as_numpy(call(mg)), as_numpy(call(torch))


def loss(lib, x, y):
    return (x.sin() * y + x * x).sum()


CASES = {
    "grad": lambda lib: func_of(lib).grad(lambda x, y: loss(lib, x, y))(*tensors(lib, X, Y)),
    "grad argnums tuple": lambda lib: func_of(lib).grad(lambda x, y: loss(lib, x, y), argnums=(0, 1))(
        *tensors(lib, X, Y)),
    "grad argnums negative": lambda lib: func_of(lib).grad(lambda x, y: loss(lib, x, y), argnums=-1)(
        *tensors(lib, X, Y)),
    "grad of a dict": lambda lib: func_of(lib).grad(lambda p, x: (p["w"] @ x).tanh().sum() + p["b"].exp().sum())(
        dict(zip("wb", tensors(lib, M, X[:3]))), lib.tensor(X)),
    "grad has_aux": lambda lib: func_of(lib).grad(lambda x: (loss(lib, x, x), {"double": x * 2}), has_aux=True)(
        lib.tensor(X)),
    "grad_and_value": lambda lib: func_of(lib).grad_and_value(lambda x, y: loss(lib, x, y))(*tensors(lib, X, Y)),
    "grad argnums of bools": lambda lib: func_of(lib).grad(lambda x, y: loss(lib, x, y), argnums=(True, False))(
        *tensors(lib, X, Y)),
    "grad of an unused argument": lambda lib: func_of(lib).grad(lambda x, y: y.sum(), argnums=0)(*tensors(lib, X, Y)),
    "grad of grad": lambda lib: func_of(lib).grad(func_of(lib).grad(lambda x: x.sin() * x ** 3))(lib.tensor(0.7)),
    "vjp": lambda lib: (lambda out, fn: (out, fn((lib.tensor(Y[:3]), lib.tensor(X[0])))))(
        *func_of(lib).vjp(lambda x, m: (m @ x, x.prod()), *tensors(lib, X, M))),
    "vjp has_aux": lambda lib: (lambda out, fn, aux: (out, fn(lib.tensor(X[:3])), aux))(
        *func_of(lib).vjp(lambda m: (m.sum(1), m.max()), lib.tensor(M), has_aux=True)),
    "jvp": lambda lib: func_of(lib).jvp(lambda x, m: {"a": m @ x.exp(), "b": x.cumsum(0)}, tuple(tensors(lib, X, M)),
                                        tuple(tensors(lib, Y, M[::-1].copy()))),
    "jvp has_aux": lambda lib: func_of(lib).jvp(lambda x: (x.tanh(), x.sum()), (lib.tensor(X),), (lib.tensor(Y),),
                                                has_aux=True),
    "linearize": lambda lib: (lambda out, fn: (out, fn(lib.tensor(Y)), fn(lib.tensor(X))))(
        *func_of(lib).linearize(lambda x: x.sin().cumprod(0), lib.tensor(X))),
    "jacrev": lambda lib: func_of(lib).jacrev(lambda x, m: (m @ x).tanh())(*tensors(lib, X, M)),
    "jacrev argnums and outputs": lambda lib: func_of(lib).jacrev(
        lambda x, m: {"v": m @ x, "s": (x * x).sum()}, argnums=(0, 1))(*tensors(lib, X, M)),
    "jacfwd": lambda lib: func_of(lib).jacfwd(lambda x, m: (m @ x).tanh())(*tensors(lib, X, M)),
    "jacfwd argnums and outputs": lambda lib: func_of(lib).jacfwd(
        lambda x, m: {"v": m @ x, "s": (x * x).sum()}, argnums=(0, 1))(*tensors(lib, X, M)),
    "jacfwd has_aux": lambda lib: func_of(lib).jacfwd(lambda x: (x.sin(), x.cos()), has_aux=True)(lib.tensor(X)),
    "hessian": lambda lib: func_of(lib).hessian(lambda x: loss(lib, x, x.flip(0)))(lib.tensor(X)),
    "hessian of two arguments": lambda lib: func_of(lib).hessian(lambda x, y: loss(lib, x, y), argnums=(0, 1))(
        *tensors(lib, X, Y)),
    "vmap": lambda lib: func_of(lib).vmap(lambda row, x: row @ x, in_dims=(0, None))(*tensors(lib, M, X)),
    "vmap in_dims 1, out_dims 1": lambda lib: func_of(lib).vmap(lambda column: column.cumsum(0), in_dims=1,
                                                                out_dims=1)(lib.tensor(M)),
    "vmap negative dims": lambda lib: func_of(lib).vmap(lambda column: column.softmax(0), in_dims=-1,
                                                        out_dims=-1)(lib.tensor(M)),
    "vmap pytrees": lambda lib: func_of(lib).vmap(lambda p, x: {"y": p["w"] * x + p["b"], "n": x.norm()},
                                                  in_dims=({"w": 0, "b": None}, 0), out_dims={"y": 1, "n": 0})(
        dict(zip("wb", tensors(lib, M, X[:1]))), lib.tensor(M)),
    "vmap of vmap": lambda lib: func_of(lib).vmap(func_of(lib).vmap(lambda a, b: a * b + 1, in_dims=(0, None)),
                                                  in_dims=(None, 0))(*tensors(lib, X, M)),
    "vmap kwargs unmapped": lambda lib: func_of(lib).vmap(lambda x, scale: x * scale)(lib.tensor(M),
                                                                                      scale=lib.tensor(X)),
    "vmap unbatched output": lambda lib: func_of(lib).vmap(lambda x: lib.ones(2))(lib.tensor(M)),
    "vmap out_dims None": lambda lib: func_of(lib).vmap(lambda x: (x * 2, lib.ones(2)), out_dims=(0, None))(
        lib.tensor(M)),
    "vmap out_dims of one for one tensor": lambda lib: func_of(lib).vmap(lambda x: x * 2, out_dims=(1,))(
        lib.tensor(M)),
    "vmap empty out_dims 1": lambda lib: func_of(lib).vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(
        lib.tensor(M[:0])),
    "vmap empty": lambda lib: func_of(lib).vmap(lambda x: (x.sum(), x * 2))(lib.tensor(M[:0])),
    "vmap of grad: per-sample gradients": lambda lib: func_of(lib).vmap(
        func_of(lib).grad(lambda w, x, y: ((x @ w).tanh() - y) ** 2), in_dims=(None, 0, 0))(
        *tensors(lib, X, BATCH, BATCH[:, 0].copy())),
    "jacrev of vmap": lambda lib: func_of(lib).jacrev(func_of(lib).vmap(lambda x: x.sin().sum()))(lib.tensor(M)),
}


@pytest.mark.parametrize("name", CASES)
def test_transforms_as_torchs(name):
    ours, theirs = both(CASES[name])
    assert_same(ours, theirs)


def _requires_grad(tree):
    return [leaf.requires_grad for leaf in (tree if isinstance(tree, (tuple, list)) else [tree])]


GRAPH_CASES = {  # whether each result stays differentiable: where the function reached a tensor that requires grad
    "grad, closure requires grad": lambda lib, x, w: func_of(lib).grad(lambda x: (x * w).sum())(x),
    "grad, nothing requires grad": lambda lib, x, w: func_of(lib).grad(lambda x: (x * x).sum())(x),
    "grad, input requires grad": lambda lib, x, w: func_of(lib).grad(lambda w: (w * w).sum())(w),
    "grad_and_value": lambda lib, x, w: func_of(lib).grad_and_value(lambda x: (x * x).sum())(x),
    "grad aux": lambda lib, x, w: func_of(lib).grad(lambda x: ((x * x).sum(), x * w), has_aux=True)(x),
    "vjp output": lambda lib, x, w: func_of(lib).vjp(lambda x: x * 2, x)[0],
    "jvp, closure requires grad": lambda lib, x, w: func_of(lib).jvp(lambda x: x * w, (x,), (x,)),
    "jacrev": lambda lib, x, w: func_of(lib).jacrev(lambda x: x * x)(x),
    "vmap": lambda lib, x, w: func_of(lib).vmap(lambda x: x * w)(x),
    "vjp, one output of two reaches the closure": lambda lib, x, w: func_of(lib).vjp(
        lambda x: (x.sin() * w, x.cos()), x)[0],
    "jvp, one output of two reaches the closure": lambda lib, x, w: func_of(lib).jvp(
        lambda x: (x.sin() * w, x.cos()), (x,), (x,))[1],
    "grad, one argument of two reaches the closure": lambda lib, x, w: func_of(lib).grad(
        lambda x, y: (x.sin() * w).sum() + (y * y).sum(), argnums=(0, 1))(x, x),
    "grad aux, one of two reaches the closure": lambda lib, x, w: func_of(lib).grad(
        lambda x: ((x.sin() * w).sum(), (x * 2, w * 1)), has_aux=True)(x)[1],
    "jacrev, one argument of two reaches the closure": lambda lib, x, w: func_of(lib).jacrev(
        lambda x, y: x.sin() * w + y * y, argnums=(0, 1))(x, x),
    "jacrev, one output of two reaches the closure": lambda lib, x, w: func_of(lib).jacrev(
        lambda x: (x.sin() * w, x.cos()))(x),
    "jacfwd, one output of two reaches the closure": lambda lib, x, w: func_of(lib).jacfwd(
        lambda x: (x.sin() * w, x.cos()))(x),
}


@pytest.mark.parametrize("name", GRAPH_CASES)
def test_which_results_stay_differentiable_as_torchs(name):
    def flags(lib):
        x = lib.tensor(X)
        w = lib.tensor(Y, requires_grad=True)
        return _requires_grad(GRAPH_CASES[name](lib, x, w))
    assert flags(mg) == flags(torch)


def test_a_gradient_penalty_through_grad_trains_the_closure_as_torchs():
    """grad's result, differentiated by a backward to the weights it closed over (an input-gradient penalty)."""
    def weight_gradient(lib):
        w, m = lib.tensor(Y, requires_grad=True), lib.tensor(M, requires_grad=True)
        slope = func_of(lib).grad(lambda x: (m @ (x * w)).tanh().sum())(lib.tensor(X))
        (slope * slope).sum().backward()
        return [w.grad, m.grad]
    ours, theirs = both(weight_gradient)
    assert_same(ours, theirs)


def test_a_grad_transform_passes_float64_gradcheck():
    """The gradient grad gives, differentiated by autograd, against finite differences."""
    w = mg.tensor(RNG.standard_normal(4), requires_grad=True)
    x = mg.tensor(RNG.standard_normal(4), requires_grad=True)
    assert mg.gradcheck(lambda x, w: mg.func.grad(lambda x: (x.sin() * w).sum() * x.norm())(x), (x, w))


def test_randomness_in_vmap_as_torchs_settings():
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
        mg.func.vmap(lambda x: x + mg.rand(1))(mg.ones(3))
    mg.manual_seed(0)
    same = mg.func.vmap(lambda x: x + mg.rand(2), randomness="same")(mg.zeros(3, 1)).numpy()
    different = mg.func.vmap(lambda x: x + mg.rand(2), randomness="different")(mg.zeros(3, 1)).numpy()
    assert (same == same[0]).all() and len({tuple(row) for row in different}) == 3
    mg.func.vmap(lambda x: x * 2)(mg.ones(3))
    mg.rand(1)  # the setting ends with the call, after an error too
    with pytest.raises(RuntimeError):
        mg.func.vmap(lambda x: mg.nn.functional.dropout(x, 0.5))(mg.ones(3, 2))
    mg.rand(1)


class Net:
    """The same small network in either library: a linear layer, batch norm (running statistics) and a tied
    output layer, whose weight is the first's."""

    def __init__(self, lib):
        nn = lib.nn
        self.module = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 4))
        self.module[3].weight = self.module[0].weight
        with (mg.no_grad() if lib is mg else torch.no_grad()):
            for index, (name, p) in enumerate(sorted(self.module.named_parameters())):
                p.copy_(lib.tensor(np.random.default_rng(index).standard_normal(p.shape).astype(np.float32)))


def _weights(lib):
    return {"0.weight": lib.tensor(M.T @ M / 4), "0.bias": lib.tensor(Y), "1.weight": lib.tensor(X)}


def test_functional_call_as_torchs():
    def run(lib):
        module = Net(lib).module
        before = {name: t.clone() for name, t in module.state_dict().items()}
        buffers = {"1.running_mean": lib.zeros(4), "1.running_var": lib.ones(4),
                   "1.num_batches_tracked": lib.tensor(0)}
        out = func_of(lib).functional_call(module, (_weights(lib), buffers), (lib.tensor(BATCH),))
        untouched = all(bool((module.state_dict()[name] == value).all()) for name, value in before.items())
        untied = func_of(lib).functional_call(module.eval(), _weights(lib), lib.tensor(BATCH), tie_weights=False)
        return out, untied, buffers, untouched
    ours, theirs = both(run)
    assert ours[3] is True and theirs[3] is True
    assert_same(ours[:3], theirs[:3])


def test_functional_call_strict_takes_a_tied_weight_under_either_name_as_torchs():
    def run(lib):
        module = lib.nn.Sequential(lib.nn.Linear(4, 4), lib.nn.Linear(4, 4))
        module[1].weight = module[0].weight
        given = {"0.weight": lib.tensor(M.T @ M), "0.bias": lib.tensor(X), "1.bias": lib.tensor(Y)}
        return func_of(lib).functional_call(module, given, (lib.tensor(BATCH),), strict=True)
    ours, theirs = both(run)
    assert_same(ours, theirs)


def test_functional_call_gradients_reach_the_given_tensors_and_the_module_comes_back_after_an_error():
    module = Net(mg).module
    weights = {name: t.requires_grad_() for name, t in _weights(mg).items()}
    mg.func.functional_call(module, weights, (mg.tensor(BATCH),)).sum().backward()
    assert all(t.grad is not None for t in weights.values()) and module[0].weight.grad is None
    own = module[0].weight
    with pytest.raises(RuntimeError):
        mg.func.functional_call(module, {"0.weight": mg.ones(2, 2)}, (mg.tensor(BATCH),))
    assert module[0].weight is own and module[3].weight is own and module[0]._parameters["weight"] is own
    mg.func.functional_call(module, {"extra": mg.ones(1)}, (mg.tensor(BATCH),))
    assert not hasattr(module, "extra")


def test_functional_call_of_a_parametrized_weight_as_torchs():
    """Through the parametrization's original, or through the weight itself (its right_inverse then runs), and the
    module as it was afterwards."""
    def run(lib):
        class Symmetric(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, W):
                return W.triu()

        module = lib.nn.Linear(3, 3)
        lib.nn.utils.parametrize.register_parametrization(module, "weight", Symmetric())
        before = module.weight.detach().clone()
        outputs = [func_of(lib).functional_call(module, {key: lib.tensor(M[:, :3]), "bias": lib.zeros(3)},
                                                (lib.tensor(BATCH[:, :3]),))
                   for key in ("parametrizations.weight.original", "weight")]
        return outputs, bool((module.weight == before).all())
    ours, theirs = both(run)
    assert ours[1] is True and theirs[1] is True
    assert_same(ours[0], theirs[0])


def test_functional_call_puts_back_what_it_swapped_before_an_error():
    module = mg.nn.Linear(2, 2)
    bias = module.bias
    with pytest.raises(TypeError, match="attribute `training`: True is not an instance of torch.Tensor"):
        mg.func.functional_call(module, {"bias": mg.ones(2), "training": mg.ones(1)}, (mg.ones(2),))
    assert module.bias is bias and module._parameters["bias"] is bias


def test_ensembles_by_stack_module_state_and_vmap_as_torchs():
    def run(lib):
        models = [Net(lib).module.eval() for _ in range(3)]
        for index, model in enumerate(models):
            with (mg.no_grad() if lib is mg else torch.no_grad()):
                model[0].bias.add_(index)
        params, buffers = func_of(lib).stack_module_state(models)

        def one(p, b, x):
            return func_of(lib).functional_call(models[0], (p, b), (x,))
        out = func_of(lib).vmap(one, in_dims=(0, 0, None))(params, buffers, lib.tensor(BATCH))
        out.sum().backward()
        return out, {name: p.grad for name, p in params.items()}, [p.requires_grad for p in params.values()]
    ours, theirs = both(run)
    assert ours[2] == theirs[2]
    assert_same(ours[:2], theirs[:2])


def test_replace_all_batch_norm_modules_as_torchs():
    def run(lib):
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm2d(3)))
        model.load_state_dict({name: lib.tensor(np.random.default_rng(1).standard_normal(t.shape).astype(np.float32))
                               if t.dtype == lib.float32 else t for name, t in model.state_dict().items()})
        assert func_of(lib).replace_all_batch_norm_modules_(model) is model
        out = model.eval()(lib.tensor(BATCH[:4].reshape(2, 2, 2, 2)))
        return out, sorted(model.state_dict()), [m.track_running_stats for m in (model[1], model[2][0])]
    ours, theirs = both(run)
    assert ours[1:] == theirs[1:]
    assert_same(ours[0], theirs[0])


def _message(call):
    try:
        call()
    except Exception as error:
        return type(error).__name__, str(error)
    return None


def _with_buffer_requiring_grad(module):
    module.running_mean.requires_grad_()
    return module


ERRORS = {
    "grad of a vector": lambda lib: func_of(lib).grad(lambda x: x * 2)(lib.ones(3)),
    "grad of a number": lambda lib: func_of(lib).grad(lambda x: 1.0)(lib.ones(3)),
    "argnums out of range": lambda lib: func_of(lib).grad(lambda x: x.sum(), argnums=2)(lib.ones(3)),
    "argnums of a float": lambda lib: func_of(lib).grad(lambda x: x.sum(), argnums=1.5)(lib.ones(3)),
    "argnums empty": lambda lib: func_of(lib).grad(lambda x: x.sum(), argnums=())(lib.ones(3)),
    "argnums repeated": lambda lib: func_of(lib).grad(lambda x, y: x.sum(), argnums=(0, 0))(lib.ones(3), lib.ones(3)),
    "argnums a bool": lambda lib: func_of(lib).grad(lambda x: x.sum(), argnums=True)(lib.ones(3)),
    "grad aux of a number": lambda lib: func_of(lib).grad(lambda x: (x.sum(), [x, 3]), has_aux=True)(lib.ones(3)),
    "jacfwd aux of None": lambda lib: func_of(lib).jacfwd(lambda x: (x, None), has_aux=True)(lib.ones(3)),
    "has_aux without aux": lambda lib: func_of(lib).grad(lambda x: x.sum(), has_aux=True)(lib.ones(3)),
    "grad of a number argument": lambda lib: func_of(lib).grad(lambda x: x * 2.0)(2.0),
    "grad of an integer tensor": lambda lib: func_of(lib).grad(lambda x: (x * 2).sum())(lib.ones(2, dtype=lib.int64)),
    "vjp of a number": lambda lib: func_of(lib).vjp(lambda x: 1.0, lib.ones(3)),
    "vjp_fn of another structure": lambda lib: func_of(lib).vjp(lambda x: x, lib.ones(3))[1]((lib.ones(3),) * 2),
    "vjp_fn of a number": lambda lib: func_of(lib).vjp(lambda x: x * 2, lib.ones(3))[1](2.0),
    "vjp has_aux without aux": lambda lib: func_of(lib).vjp(lambda x: x, lib.ones(3), has_aux=True),
    "jvp primals not a tuple": lambda lib: func_of(lib).jvp(lambda x: x, lib.ones(3), (lib.ones(3),)),
    "jvp of another structure": lambda lib: func_of(lib).jvp(lambda x: x, (lib.ones(3),), (lib.ones(3),) * 2),
    "jvp of another shape": lambda lib: func_of(lib).jvp(lambda x: x, (lib.ones(3),), (lib.ones(2),)),
    "jvp of numbers": lambda lib: func_of(lib).jvp(lambda x: x, (1.0,), (1.0,)),
    "jvp strict of a constant": lambda lib: func_of(lib).jvp(lambda x: (x * 2, lib.ones(2)), (lib.ones(2),),
                                                             (lib.ones(2),), strict=True),
    "jvp of no primals": lambda lib: func_of(lib).jvp(lambda: lib.ones(2), (), ()),
    "jvp of an integer tensor": lambda lib: func_of(lib).jvp(lambda x: x * 2, (lib.ones(2, dtype=lib.int64),),
                                                             (lib.ones(2, dtype=lib.int64),)),
    "jvp with a number tangent": lambda lib: func_of(lib).jvp(lambda x: x * 2, (lib.ones(2),), (1.0,)),
    "jacfwd of an integer tensor": lambda lib: func_of(lib).jacfwd(lambda x: x * 2)(lib.ones(2, dtype=lib.int64)),
    "vjp of an integer output": lambda lib: func_of(lib).vjp(lambda x: (x.sum(), x > 0), lib.ones(2)),
    "jacrev of an integer output": lambda lib: func_of(lib).jacrev(lambda x: (x > 0).long())(lib.ones(2)),
    "linearize's jvp_fn of another structure": lambda lib: func_of(lib).linearize(lambda x: x * 2, lib.ones(3))[1](
        lib.ones(3), lib.ones(3)),
    "linearize's jvp_fn of another shape": lambda lib: func_of(lib).linearize(lambda x: x * 2, lib.ones(3))[1](
        lib.ones(2, 3)),
    "linearize's jvp_fn of another dtype": lambda lib: func_of(lib).linearize(lambda x: x * 2, lib.ones(3))[1](
        lib.ones(3, dtype=lib.float64)),
    "jacrev chunk_size": lambda lib: func_of(lib).jacrev(lambda x: x, chunk_size=0)(lib.ones(3)),
    "jacfwd randomness": lambda lib: func_of(lib).jacfwd(lambda x: x, randomness="x")(lib.ones(3)),
    "vmap sizes": lambda lib: func_of(lib).vmap(lambda a, b: a + b)(lib.ones(2), lib.ones(3)),
    "vmap nothing mapped": lambda lib: func_of(lib).vmap(lambda a: a, in_dims=(None,))(lib.ones(2)),
    "vmap in_dims None": lambda lib: func_of(lib).vmap(lambda a: a, in_dims=None)(lib.ones(2)),
    "vmap in_dims out of range": lambda lib: func_of(lib).vmap(lambda a: a, in_dims=3)(lib.ones(2)),
    "vmap of a 0-d tensor": lambda lib: func_of(lib).vmap(lambda a: a)(lib.tensor(1.0)),
    "vmap over a number": lambda lib: func_of(lib).vmap(lambda a, n: a * n, in_dims=(0, 0))(lib.ones(2), 3),
    "vmap returns a number": lambda lib: func_of(lib).vmap(lambda a: 3)(lib.ones(2)),
    "vmap out_dims None of a batched output": lambda lib: func_of(lib).vmap(lambda a: a, out_dims=None)(
        lib.tensor([1.0, 2.0])),
    "vmap out_dims of another structure": lambda lib: func_of(lib).vmap(lambda a: (a, a), out_dims=(0, 0, 0))(
        lib.ones(2)),
    "vmap out_dims a list for a tuple": lambda lib: func_of(lib).vmap(lambda a: (a, a), out_dims=[0, 0])(lib.ones(2)),
    "vmap out_dims of other keys": lambda lib: func_of(lib).vmap(lambda a: {"x": a}, out_dims={"y": 0})(lib.ones(2)),
    "vmap out_dims a string": lambda lib: func_of(lib).vmap(lambda a: a, out_dims="x")(lib.ones(2)),
    "vmap in_dims a float": lambda lib: func_of(lib).vmap(lambda a: a, in_dims=(0.0,))(lib.ones(2)),
    "vmap of no inputs": lambda lib: func_of(lib).vmap(lambda: lib.ones(2))(),
    "vmap of no samples returns a number": lambda lib: func_of(lib).vmap(lambda a: 3)(lib.ones(0, 2)),
    "vmap of a partial, named": lambda lib: func_of(lib).vmap(functools.partial(lambda a, k: a * k, k=2), in_dims=3)(
        lib.ones(2)),
    "vmap randomness": lambda lib: func_of(lib).vmap(lambda a: a, randomness="x")(lib.ones(2)),
    "vmap chunk_size": lambda lib: func_of(lib).vmap(lambda a: a, chunk_size=0)(lib.ones(2)),
    "functional_call strict": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), {"weight": lib.ones(2, 2), "x": lib.ones(1)}, (lib.ones(2),), strict=True),
    "functional_call strict, keys in order": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), {"weight": lib.ones(2, 2), "z": lib.ones(1), "y": lib.ones(1)}, (lib.ones(2),), strict=True),
    "functional_call of a number": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), {"weight": 3.0}, (lib.ones(2),)),
    "functional_call, keys in two dicts in order": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), ({"weight": lib.ones(2, 2), "bias": lib.ones(2)},
                              {"bias": lib.ones(2), "weight": lib.ones(2, 2)}), (lib.ones(2),)),
    "functional_call of a module's flag": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), {"training": lib.ones(1)}, (lib.ones(2),)),
    "functional_call in two dicts": lambda lib: func_of(lib).functional_call(
        lib.nn.Linear(2, 2), ({"weight": lib.ones(2, 2)}, {"weight": lib.ones(2, 2)}), (lib.ones(2),)),
    "stack_module_state of none": lambda lib: func_of(lib).stack_module_state([]),
    "stack_module_state of two classes": lambda lib: func_of(lib).stack_module_state(
        [lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Linear(2, 2))]),
    "stack_module_state of numbers": lambda lib: func_of(lib).stack_module_state([1, 2]),
    "stack_module_state, a buffer's requires_grad differs": lambda lib: func_of(lib).stack_module_state(
        [lib.nn.BatchNorm1d(2), _with_buffer_requiring_grad(lib.nn.BatchNorm1d(2))]),
    "stack_module_state, requires_grad differs": lambda lib: func_of(lib).stack_module_state(
        [lib.nn.Linear(2, 2), lib.nn.Linear(2, 2).requires_grad_(False)]),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    ours, theirs = (_message(lambda: ERRORS[name](lib)) for lib in (mg, torch))
    assert theirs is not None and ours == theirs


def test_vmap_in_dims_of_another_structure_is_refused():
    with pytest.raises(ValueError, match=r"in_dims is not compatible with the structure of `inputs`"):
        mg.func.vmap(lambda a: a, in_dims=(0, 0))(mg.ones(2))


def test_gpu_path_matches_cpu(gpu_path):
    """The transforms keep to the inputs' device: per-sample gradients, a Jacobian each way and a Hessian."""
    def run(device):
        w, batch, target = (mg.tensor(a, device=device) for a in (X, BATCH, BATCH[:, 0].copy()))
        per_sample = mg.func.vmap(mg.func.grad(lambda w, x, y: ((x @ w).tanh() - y) ** 2), in_dims=(None, 0, 0))(
            w, batch, target)
        jacobians = [transform(lambda x: (batch @ x).sin())(w) for transform in (mg.func.jacrev, mg.func.jacfwd)]
        hessian = mg.func.hessian(lambda x: (batch @ x).exp().sum())(w)
        assert all(t.device == device for t in (per_sample, *jacobians, hessian))
        return [t.numpy() for t in (per_sample, *jacobians, hessian)]
    for ours, reference in zip(run("gpu"), run("cpu")):
        assert relative_error(ours, reference) <= 1e-5


def test_vmap_is_also_at_the_top_as_torchs():
    assert mg.vmap is mg.func.vmap and torch.vmap is torch.func.vmap


NESTED_VECTOR_CASES = {  # a vjp_fn's cotangents or a jvp's tangents that an enclosing transform differentiates
    "vjp of vjp_fn": lambda lib: func_of(lib).vjp(
        lambda c: func_of(lib).vjp(lambda a: a.sin() * a, lib.tensor(X))[1](c)[0], lib.tensor(Y))[1](lib.tensor(M[0])),
    "grad through jvp's tangents": lambda lib: func_of(lib).grad(
        lambda t: func_of(lib).jvp(lambda c: c.sin() * c, (lib.tensor(X),), (t,))[1].sum())(lib.tensor(Y)),
    "jacrev of vjp_fn": lambda lib: func_of(lib).jacrev(
        lambda c: func_of(lib).vjp(lambda a: a.exp() * a.sum(), lib.tensor(X))[1](c)[0])(lib.tensor(Y)),
}


@pytest.mark.parametrize("name", NESTED_VECTOR_CASES)
def test_transforms_differentiate_through_inner_cotangents_and_tangents_as_torchs(name):
    ours, theirs = both(NESTED_VECTOR_CASES[name])
    assert_same(ours, theirs)
    assert not mg.func.vjp(lambda c: mg.func.vjp(lambda a: a * a, mg.tensor(X))[1](c)[0],
                           mg.tensor(Y))[0].requires_grad


def test_vjp_fn_takes_torchs_retain_graph_and_create_graph():
    def run(lib, **options):
        w = lib.tensor(Y, requires_grad=True)
        return func_of(lib).vjp(lambda a: a.sin() * w, lib.tensor(X))[1](lib.tensor(X), **options)[0]
    for options in ({"create_graph": False}, {"create_graph": True}, {"retain_graph": False}):
        ours, theirs = run(mg, **options), run(torch, **options)
        assert ours.requires_grad == theirs.requires_grad
        assert_same(as_numpy(ours), as_numpy(theirs))

    def called_twice(lib):
        vjp_fn = func_of(lib).vjp(lambda a: a.sin() * a, lib.tensor(X))[1]
        vjp_fn(lib.tensor(X), retain_graph=False)
        return vjp_fn(lib.tensor(X))
    ours, theirs = (_message(lambda: called_twice(lib)) for lib in (mg, torch))
    assert ours[0] == theirs[0] == "RuntimeError" and ours[1].startswith("Trying to backward through the graph a second")
