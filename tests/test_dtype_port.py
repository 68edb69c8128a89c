"""torch's dtypes and promotions that ported code meets, against torch: float16 (mg.half, .half(), Module.half())
on the CPU, a Python number beside an integer tensor (true division keeps its value, the others wrap it into the
tensor's dtype), clamp's integer bounds, vector_norm's ord=0 (no gradient), index_select's out-of-range errors,
ConvTranspose's output_size error, and the optimizers' capturable=True on CPU parameters."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch, normal, relative_error, uniform

torch = pytest.importorskip("torch")


def _outcome(call):
    """What call() gives, as comparable plain values: (values, dtype name), or (exception type, message)."""
    try:
        out = call()
    except Exception as error:  # noqa: BLE001 - the error is the outcome compared
        return type(error), str(error)
    array = out.numpy() if isinstance(out, mg.Tensor) else out.detach().numpy()
    return array.tolist(), str(array.dtype)


def _same_outcome(case):
    """case(lib) on minigrad as on torch: its values and dtype, or its exception's type and message."""
    assert _outcome(lambda: case(mg)) == _outcome(lambda: case(torch))


# ---- float16 -----------------------------------------------------------------------------------------------------
def test_half_names_casts_and_printing():
    assert mg.half is mg.float16 and np.dtype(mg.float16) == np.float16
    for lib in (mg, torch):
        assert lib.tensor([1.5, 2.0], dtype=lib.float16).dtype == lib.half
    x = mg.tensor([1.25, -2.5])
    assert x.half().dtype == mg.float16 and x.to(mg.float16).dtype == mg.float16 and x.half().is_floating_point()
    assert mg.is_floating_point(x.half())
    assert repr(x.half()) == repr(torch.tensor([1.25, -2.5]).half()).replace("torch.", "")
    assert x.half().tolist() == torch.tensor([1.25, -2.5]).half().tolist()


def test_module_half_casts_floating_parameters_and_buffers():
    """As torch's: weights, biases and running statistics become float16; the batch count stays int64."""
    dtypes = []
    for lib in (mg, torch):
        net = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.BatchNorm2d(3)).half()
        dtypes.append({name: str(t.dtype).replace("torch.", "")
                       for name, t in [*net.named_parameters(), *net.named_buffers()]})
    assert dtypes[0] == dtypes[1] and dtypes[0]["1.num_batches_tracked"] == "int64"


def test_float16_conv_and_linear_forward_and_backward_match_torchs():
    """float16 on the CPU (torch's CPU kernels compute it too), within float16's precision."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float16) for shape in [(2, 3, 6, 6), (4, 3, 3, 3), (4,), (5, 144)]]
    results = []
    for lib in (mg, torch):
        functional = lib.nn.functional
        x, w, b, m = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = functional.linear(functional.conv2d(x, w, b, padding=1).reshape(2, -1), m)
        out.sum().backward()
        results.append([t.detach().numpy() for t in (out, x.grad, w.grad, b.grad, m.grad)])
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype == np.float16
        assert relative_error(ours, theirs) <= 4e-3


# ---- a Python number beside an integer tensor ---------------------------------------------------------------------
BINARY = ["add", "sub", "mul", "div", "floor_divide", "remainder", "pow"]
OPERANDS = {  # (first, second) of lib
    "300 first": lambda lib: (300, lib.tensor([3, 200], dtype=lib.uint8)),
    "300 first, 0-d": lambda lib: (300, lib.tensor(3, dtype=lib.uint8)),
    "-3 first": lambda lib: (-3, lib.tensor([3, 200], dtype=lib.uint8)),
    "300 second": lambda lib: (lib.tensor([3, 200], dtype=lib.uint8), 300),
    "-3 second": lambda lib: (lib.tensor([3, 200], dtype=lib.uint8), -3),
    "2.5 first": lambda lib: (2.5, lib.tensor([3, 200], dtype=lib.uint8)),
    "0-d int64 first": lambda lib: (lib.tensor(300), lib.tensor([3, 200], dtype=lib.uint8)),
}


@pytest.mark.parametrize("operands", OPERANDS)
@pytest.mark.parametrize("name", BINARY)
def test_a_number_beside_an_integer_tensor_promotes_as_torchs(name, operands):
    """True division divides the number's own value (300 / uint8 is 100, not 44 / 3); the others compute in the
    tensor's dtype, the number wrapped into it, as torch's."""
    _same_outcome(lambda lib: getattr(lib, name)(*OPERANDS[operands](lib)))


@pytest.mark.parametrize("case", [
    # atan2(y, 0) is exactly +-pi/2 in any libm: the sign tells -300 unwrapped into uint8 (which gives +212)
    lambda lib: lib.atan2(lib.tensor(-300), lib.tensor([0, 0], dtype=lib.uint8)),
    lambda lib: lib.copysign(lib.tensor(-300), lib.tensor([3], dtype=lib.int8)),
    lambda lib: lib.div(lib.tensor(300, dtype=lib.int16), lib.tensor([3], dtype=lib.int8)),
    lambda lib: lib.div(300, lib.tensor([3, 200], dtype=lib.uint8), rounding_mode="floor"),
    lambda lib: lib.add(2, lib.tensor([1, 2], dtype=lib.int32), alpha=3),
    lambda lib: lib.bitwise_or(300, lib.tensor(3, dtype=lib.uint8)),
], ids=["atan2", "copysign", "int16 by int8", "floor division", "add with alpha", "bitwise_or beside a 0-d"])
def test_integer_operands_promote_as_torchs(case):
    _same_outcome(case)


def test_true_division_of_integers_takes_the_default_dtype():
    results = []
    for lib in (mg, torch):
        lib.set_default_dtype(lib.float64)
        try:
            results.append(_outcome(lambda: lib.div(300, lib.tensor([3, 200], dtype=lib.uint8))))
        finally:
            lib.set_default_dtype(lib.float32)
    assert results[0] == results[1] == ([100.0, 1.5], "float64")


NUMBER_FIRST = {
    "div": lambda lib, x: lib.div(3, x),
    "pow": lambda lib, x: lib.pow(2, x),
    "sub with alpha": lambda lib, x: lib.sub(300, x, alpha=2),
    "mul of a float": lambda lib, x: lib.mul(0.1, x),
}


@pytest.mark.parametrize("name", NUMBER_FIRST)
def test_a_number_first_matches_torch_in_float32_and_gradchecks(name):
    fn = NUMBER_FIRST[name]
    assert_matches_torch(torch, fn, [uniform(0.5, 2, 3, 4)(np.random.default_rng(0))])
    x = mg.tensor(np.random.default_rng(1).uniform(0.5, 2, (3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda x: fn(mg, x), [x])


def test_graph_node_of_a_number_base_is_torchs():
    """torch.pow(2, t) is torch's pow of a number, as 2 ** t, whose node is its own."""
    names = [lib.pow(2.0, lib.ones(2, requires_grad=True)).grad_fn.name() for lib in (mg, torch)]
    assert names[0] == names[1] == "PowBackward2"


# ---- clamp of integers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bounds", [(-5, 10), (-5, None), (None, -5), (-1, None), (-5, 300), (300, None),
                                    (None, -256), (2.5, 100.7)])
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_clamp_converts_its_bounds_into_an_integer_dtype_as_torch(dtype, bounds):
    """A negative bound wraps into uint8 (-5 is 251); one the dtype cannot hold is torch's error."""
    _same_outcome(lambda lib: lib.clamp(lib.tensor([3, 100, 120], dtype=getattr(lib, dtype)), *bounds))


def test_clamp_min_of_uint8_and_clamp_in_place():
    _same_outcome(lambda lib: lib.clamp_min(lib.tensor([3, 200], dtype=lib.uint8), -5))
    _same_outcome(lambda lib: lib.tensor([3, 200], dtype=lib.uint8).clamp_(-5, 10))


# ---- vector_norm of ord 0 ------------------------------------------------------------------------------------------
def _norm_zero_gradients(lib):
    x = lib.tensor([[1.0, 0.0, -2.0], [0.0, 0.0, 3.0]], requires_grad=True)
    lib.linalg.vector_norm(x, ord=0).backward()
    leaf_grad = x.grad
    unused = lib.autograd.grad(lib.linalg.vector_norm(x * 2, ord=0, dim=1).sum(), x, allow_unused=True)[0]
    materialized = lib.autograd.grad(x.norm(p=0), x, materialize_grads=True)[0]
    x.grad = None
    (lib.linalg.vector_norm(x, ord=0) + x.sum()).backward()
    return leaf_grad, unused, materialized.tolist(), x.grad.tolist()


def test_vector_norm_of_ord_0_has_no_gradient_as_torchs_and_passes_gradcheck():
    """No gradient at all (a leaf's .grad stays None), not zeros; beside another path the other's gradient."""
    assert _norm_zero_gradients(mg) == _norm_zero_gradients(torch)
    assert_raises_as_torch(lambda: torch.autograd.grad(torch.linalg.vector_norm(torch.ones(2, requires_grad=True),
                                                                                 ord=0), torch.ones(1)),
                           lambda: mg.autograd.grad(mg.linalg.vector_norm(mg.ones(2, requires_grad=True), ord=0),
                                                    mg.ones(1)))
    x = mg.tensor(normal(2, 3)(np.random.default_rng(0)), requires_grad=True)
    assert mg.gradcheck(lambda x: mg.linalg.vector_norm(x, ord=0, dim=1) * 3 + (x * x).sum(1), [x])


# ---- errors -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, index", [
    ((2, 3, 4), 0, [0, 9]), ((2, 3, 4), 1, [0, 9]), ((2, 3, 4), -1, [-1]), ((3,), 0, [3]), ((), 0, [1]),
    ((2, 0), 1, [0]), ((2, 0), 0, [5]), ((0,), 0, [0]),
], ids=["3-d dim 0", "3-d dim 1", "3-d last dim", "1-d", "0-d", "empty dim", "empty beside the dim", "1-d empty"])
def test_index_select_out_of_range_is_torchs_error(shape, dim, index):
    """torch's CPU kernel words it by the path it takes: its dim-1 pass and its check of an empty tensor name the
    index, the others raise IndexError."""
    assert_raises_as_torch(lambda: torch.zeros(shape).index_select(dim, torch.tensor(index)),
                           lambda: mg.zeros(shape).index_select(dim, mg.tensor(index)))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.conv_transpose2d(lib.zeros(1, 2, 1, 1), lib.zeros(2, 3, 2, 2), padding=1),
    lambda lib: lib.nn.functional.conv_transpose1d(lib.zeros(1, 2, 1), lib.zeros(2, 3, 2), padding=1),
    lambda lib: lib.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)(lib.zeros(1, 2, 1, 1), output_size=(0, 0)),
], ids=["2-d output of size 0", "1-d output of size 0", "output_size 0"])
def test_conv_transpose_of_an_output_size_0_is_torchs_error(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


@pytest.mark.parametrize("foreach", [True, False, None])
@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "ASGD", "Adadelta", "RMSprop", "Rprop"])
def test_capturable_step_of_cpu_parameters_is_torchs_error(name, foreach):
    """torch takes capturable=True and refuses it at the step that updates a CPU parameter, in words (and a list of
    devices) of its foreach path or of its loop; one without a gradient steps."""
    def step(lib, grad):
        param = lib.nn.Parameter(lib.ones(2))
        optimizer = getattr(lib.optim, name)([param], lr=0.1, capturable=True, foreach=foreach)
        optimizer.step()
        param.grad = lib.ones(2) if grad else None
        optimizer.step()
        return optimizer.param_groups[0]["capturable"]

    assert step(mg, grad=False) and step(torch, grad=False)
    assert_raises_as_torch(lambda: step(torch, grad=True), lambda: step(mg, grad=True))


# ---- the GPU path -------------------------------------------------------------------------------------------------
def test_gpu_path_matches_cpu(gpu_path):
    """Promotions, clamp's bounds, float16 and a capturable Adam (which the GPU takes) as on the CPU."""
    results = []
    for device in ("cpu", "gpu"):
        u = mg.tensor([3, 200], dtype=mg.uint8, device=device)
        x = mg.tensor([0.5, 1.5, 2.0], device=device, requires_grad=True)
        param = mg.nn.Parameter(mg.tensor([1.0, -2.0], device=device))
        optimizer = mg.optim.Adam([param], lr=0.1, capturable=device == "gpu")
        param.grad = mg.tensor([0.5, 0.25], device=device)
        optimizer.step()
        y = mg.div(3, x) + mg.pow(2, x)
        y.sum().backward()
        out = [mg.div(300, u), mg.div(mg.tensor(300, device=device), u), mg.add(300, u), u.clamp(-5, 10), y,
               x.grad, x.half() * 3, param]
        assert all(t.device == device for t in out)
        results.append([t.detach().numpy() for t in out])
    for ours, reference in zip(*reversed(results)):
        assert ours.dtype == reference.dtype
        assert relative_error(ours, reference) <= 1e-5
