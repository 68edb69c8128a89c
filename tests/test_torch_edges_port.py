"""Edge cases where minigrad followed torch 2.13 loosely: convs with no channels, mode() of rows holding NaN,
cross_entropy's label smoothing at ignored targets, heaviside's missing derivative, matrix_power(A, 0), det, slogdet
and logdet of singular matrices, and max_unpool1d; each compared with torch itself."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
NAN, INF = float("nan"), float("inf")


def _both(array, dtype=np.float32):
    """The same leaf, requiring grad, in minigrad and in torch."""
    array = np.asarray(array, dtype=dtype)
    return mg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _grad(tensor):
    return tensor.grad.numpy() if isinstance(tensor, mg.Tensor) else tensor.grad.detach().numpy()


def _equal(ours, theirs):
    """Equal values, NaN and inf where torch has them, and the same dtype."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = ours.numpy() if isinstance(ours, mg.Tensor) else np.asarray(ours)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=True)


# ---- convs with no input channels, no output channels, no samples ------------------------------------------------

CHANNELLESS = {  # name: (function, input shape, weight shape, options)
    "conv1d": ("conv1d", (2, 0, 7), (3, 0, 3), {}),
    "conv2d": ("conv2d", (2, 0, 6, 5), (3, 0, 3, 2), {"padding": 1, "dilation": 2}),
    "conv2d stride 2 groups": ("conv2d", (2, 0, 6, 5), (4, 0, 3, 3), {"stride": 2, "groups": 2}),
    "conv2d no samples": ("conv2d", (0, 0, 5, 5), (3, 0, 1, 1), {}),
    "conv3d": ("conv3d", (1, 0, 4, 5, 5), (3, 0, 2, 3, 3), {"stride": (1, 2, 1)}),
}


@pytest.mark.parametrize("name", CHANNELLESS)
def test_conv_of_an_input_without_channels_as_torchs(name):
    """torch's output then has no channels either; every gradient, the bias's too, is zero."""
    function, x_shape, w_shape, options = CHANNELLESS[name]
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    (x, tx), (w, tw), (b, tb) = (_both(a) for a in arrays)
    out, expected = getattr(F, function)(x, w, b, **options), getattr(TF, function)(tx, tw, tb, **options)
    _equal(out, expected)
    out.sum().backward()
    expected.sum().backward()
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        _equal(_grad(ours), _grad(theirs))


ERRORS = {  # name: a call on either library (F or torch's functional), as (library, tensor maker)
    "conv2d without output channels": lambda F, t: F.conv2d(t(2, 3, 5, 5), t(0, 3, 3, 3)),
    "conv1d without output channels": lambda F, t: F.conv1d(t(2, 3, 5), t(0, 3, 3)),
    "conv3d, fewer output channels than groups": lambda F, t: F.conv3d(t(1, 4, 3, 3, 3), t(1, 2, 3, 3, 3), groups=2),
    "conv_transpose2d without input channels": lambda F, t: F.conv_transpose2d(t(2, 0, 5, 5), t(0, 3, 3, 3)),
    "conv_transpose2d without output channels": lambda F, t: F.conv_transpose2d(t(2, 3, 5, 5), t(3, 0, 3, 3)),
    "conv_transpose1d without output channels": lambda F, t: F.conv_transpose1d(t(2, 4, 5), t(4, 0, 3), groups=2),
    "conv_transpose3d without output channels": lambda F, t: F.conv_transpose3d(t(1, 3, 3, 3, 3), t(3, 0, 2, 2, 2)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_conv_weight_without_channels_is_torchs_error(name):
    """A transposed conv's is torch's own kernel's (its float64 one: the float32 one is oneDNN's)."""
    call = ERRORS[name]
    with pytest.raises(RuntimeError) as expected:
        call(TF, lambda *shape: torch.zeros(*shape, dtype=torch.float64))
    with pytest.raises(RuntimeError) as got:
        call(F, lambda *shape: mg.zeros(*shape, dtype=mg.float64))
    assert str(got.value) == str(expected.value)


# ---- mode() of rows holding NaN ------------------------------------------------------------------------------------

def _rows_with_nans():
    rows = np.array([[1, NAN, 2, 2], [NAN, NAN, 1, 1], [3, 3, NAN, NAN], [1, 2, 3, NAN], [NAN, 5, 5, 5],
                     [NAN, 1, NAN, 1], [5, NAN, 1, 4]], dtype=np.float32)
    rng = np.random.default_rng(3)
    drawn = rng.integers(0, 5, (40, 16)).astype(np.float32)
    drawn[rng.random(drawn.shape) < 0.3] = NAN
    return rows, drawn


@pytest.mark.parametrize("dim", [1, 0])
def test_mode_of_rows_holding_nan_as_torchs(dim):
    """torch's sort leaves NaN where insertion puts it, so that [nan, 1, nan, 1]'s mode is its first NaN."""
    for rows in _rows_with_nans():  # of up to 16 along dim: torch's sort of longer ones is quicksort's
        (x, tx) = _both(rows if dim or len(rows) <= 16 else rows.T)
        (values, indices), expected = x.mode(dim), tx.mode(dim)
        _equal(values, expected.values)
        _equal(indices, expected.indices)
        _equal(mg.mode(x, dim, keepdim=True).indices, torch.mode(tx, dim, keepdim=True).indices)
        values.nansum().backward()
        expected.values.nansum().backward()
        _equal(_grad(x), _grad(tx))


# ---- cross_entropy's label smoothing at ignored targets ---------------------------------------------------------

LOGITS = [[1.0, 2.0, 3.0], [NAN, 1.0, 2.0], [1.0, -INF, 2.0], [0.5, 0.1, 0.2]]


@pytest.mark.parametrize("weighted", [False, True])
def test_label_smoothing_leaves_ignored_targets_out_as_torch(weighted):
    """An ignored row's NaN or -inf logit leaves the loss finite, and a NaN or inf gradient of its loss reaches
    nothing; the NaN of log_softmax's own gradient on a NaN row stays, as torch's."""
    target = np.array([0, -100, -100, 2])
    weight = np.array([1.0, 2.0, 3.0], dtype=np.float32) if weighted else None

    def run(lib, functional, logits, reduction, upstream=None):
        x = lib.tensor(np.array(logits, dtype=np.float32), requires_grad=True)
        loss = functional.cross_entropy(x, lib.tensor(target), None if weight is None else lib.tensor(weight),
                                        reduction=reduction, label_smoothing=0.1)
        loss.backward(None if upstream is None else lib.tensor(np.array(upstream, dtype=np.float32)))
        return loss, x.grad

    finite = [[1.0, 2.0, 3.0], [0.3, 1.0, 2.0], [1.0, 5.0, 2.0], [0.5, 0.1, 0.2]]
    for args in ((LOGITS, "mean"), (LOGITS, "sum"), (finite, "none", [1.0, INF, NAN, 1.0])):
        (loss, grad), (expected_loss, expected_grad) = run(mg, F, *args), run(torch, TF, *args)
        _equal(loss, expected_loss)
        _equal(grad, expected_grad)


def test_label_smoothing_gradcheck_with_ignored_targets():
    logits = mg.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    target, weight = mg.tensor([0, -100, 2, -100]), mg.tensor([1.0, 2.0, 0.5], dtype=mg.float64)
    assert mg.gradcheck(lambda x: F.cross_entropy(x, target, weight, label_smoothing=0.2), [logits])


def test_multi_margin_loss_leaves_nan_margins_out_as_torch_and_passes_gradcheck():
    """torch sums the positive margins only: a NaN one is none."""
    (x, tx) = _both([[1.0, 2.0, 3.0], [NAN, 1.0, 2.0]])
    for lib, functional, logits in ((mg, F, x), (torch, TF, tx)):
        functional.multi_margin_loss(logits, lib.tensor([0, 1]), p=2).backward()
    _equal(F.multi_margin_loss(x, mg.tensor([0, 1]), p=2), TF.multi_margin_loss(tx, torch.tensor([0, 1]), p=2))
    _equal(_grad(x), _grad(tx))
    logits = mg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda x: F.multi_margin_loss(x, mg.tensor([0, 3, 1]), margin=0.5), [logits])


# ---- heaviside, which torch has no derivative for ------------------------------------------------------------------

def test_heaviside_requires_grad_and_its_backward_is_torchs_error():
    for values_require_grad in (False, True):
        results = []
        for lib in (mg, torch):
            a = lib.tensor([-1.0, 0.0, 2.0], requires_grad=not values_require_grad)
            values = lib.tensor([0.5], requires_grad=values_require_grad)
            out = lib.heaviside(a, values)
            with pytest.raises(RuntimeError) as error:
                (out * 2).sum().backward()
            results.append((out.requires_grad, out.grad_fn.name(), repr(out).split("grad_fn=")[1], str(error.value)))
        assert results[0] == results[1]


def test_floor_divide_node_and_error_as_torchs():
    results = []
    for lib in (mg, torch):
        out = lib.floor_divide(lib.tensor([5.5, -2.0], requires_grad=True), lib.tensor([2.0, 0.75]))
        with pytest.raises(RuntimeError) as error:
            out.sum().backward()
        results.append((out.grad_fn.name(), str(error.value)))
    assert results[0] == results[1]


# ---- matrix_power(A, 0) and (A, 1) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 2), (3, 2, 2), (0, 3, 3)])
def test_matrix_power_zero_is_in_the_graph_with_a_zero_gradient(shape):
    """A NaN or inf gradient of the identity still gives A zeros, as torch's."""
    array = np.random.default_rng(0).standard_normal(shape)
    (a, ta) = _both(array)
    out, expected = mg.linalg.matrix_power(a, 0), torch.linalg.matrix_power(ta, 0)
    _equal(out, expected)
    assert out.requires_grad and a.matrix_power(0).requires_grad
    upstream = np.full(shape, NAN, dtype=np.float32)
    out.backward(mg.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    _equal(_grad(a), _grad(ta))


def test_matrix_power_one_is_a_new_tensor():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = mg.linalg.matrix_power(a, 1)
    assert out is not a and out.grad_fn.name() == torch.linalg.matrix_power(torch.eye(2, requires_grad=True),
                                                                            1).grad_fn.name()


# ---- det, slogdet and logdet of singular matrices ------------------------------------------------------------------

SINGULAR_2 = [[1.0, 2.0], [2.0, 4.0]]
SINGULAR_3 = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]
DETS = {
    "singular": SINGULAR_3,
    "rank one": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]],
    "batch, one singular": [SINGULAR_2, [[1.0, 2.0], [3.0, 4.0]]],
    "1x1 zero": [[0.0]],
    "holding NaN": [[NAN, 1.0], [1.0, 1.0]],
}


@pytest.mark.parametrize("name", DETS)
def test_det_value_and_gradient_as_torchs(name):
    """torch's gradient is det(A) A^-T, zero for an exactly singular A of two or more rows (not its cofactors)."""
    (a, ta) = _both(DETS[name])
    out, expected = mg.linalg.det(a), torch.linalg.det(ta)
    _equal(out, expected)
    out.sum().backward()
    expected.sum().backward()
    _equal(_grad(a), _grad(ta))


def test_det_gradcheck():
    a = mg.tensor(np.random.default_rng(2).standard_normal((2, 3, 3)), requires_grad=True)
    assert mg.gradcheck(mg.linalg.det, [a])


SLOGDETS = {
    "singular 2x2": SINGULAR_2,
    "singular 3x3": SINGULAR_3,
    "batch, one singular": [SINGULAR_2, [[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]],
}


@pytest.mark.parametrize("name", SLOGDETS)
@pytest.mark.parametrize("function", ["slogdet", "logdet"])
def test_slogdet_and_logdet_of_singular_matrices_as_torchs(name, function):
    """The gradient of a singular matrix has torch's inf and NaN (its LU solve's); a negative determinant's logdet
    is NaN with a zero gradient."""
    (a, ta) = _both(SLOGDETS[name])
    if function == "slogdet":
        out, expected = mg.linalg.slogdet(a).logabsdet, torch.linalg.slogdet(ta).logabsdet
    else:
        out, expected = mg.logdet(a), torch.logdet(ta)
    _equal(out, expected)
    out.backward(mg.ones(out.shape) * 1.5)
    expected.backward(torch.ones(expected.shape) * 1.5)
    _equal(_grad(a), _grad(ta))


def test_slogdet_of_a_matrix_holding_nan_as_torchs():
    for matrix in ([[NAN, 1.0], [1.0, 1.0]], [[1.0, NAN], [1.0, 1.0]]):
        got, expected = mg.linalg.slogdet(mg.tensor(matrix)), torch.linalg.slogdet(torch.tensor(matrix))
        _equal(got.sign, expected.sign)
        _equal(got.logabsdet, expected.logabsdet)


def test_logdet_gradcheck():
    a = mg.tensor(np.random.default_rng(4).standard_normal((3, 3)) + 3 * np.eye(3), requires_grad=True)
    assert mg.gradcheck(mg.logdet, [a])


# ---- max_unpool1d --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"output_size": [5]}, {"output_size": [2, 3, 5]}, {"stride": 2, "padding": 1}])
def test_max_unpool1d_values_and_gradient_as_torchs(options):
    array = np.random.default_rng(5).standard_normal((2, 3, 5))
    kernel = 3 if "padding" in options else 2
    results = []
    for lib, functional in ((mg, F), (torch, TF)):
        x = lib.tensor(array.astype(np.float32), requires_grad=True)
        pooled, indices = functional.max_pool1d(x, kernel, options.get("stride"), options.get("padding", 0),
                                                return_indices=True)
        out = functional.max_unpool1d(pooled, indices, kernel, **options)
        (out * lib.arange(out.shape[-1])).sum().backward()
        results.append((out, x.grad))
    _equal(*(result[0] for result in results))
    _equal(*(result[1] for result in results))


def test_max_unpool1d_module_and_errors_as_torchs():
    indices = [[[1, 2]], [[0, 3]]]
    for lib in (mg, torch):
        module = lib.nn.MaxUnpool1d(2)
        out = module(lib.tensor([[[1.0, 2.0]], [[3.0, 4.0]]]), lib.tensor(indices), output_size=[5])
        assert repr(module) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
        assert out.numpy().tolist() == [[[0.0, 1.0, 2.0, 0.0, 0.0]], [[3.0, 0.0, 0.0, 4.0, 0.0]]]
    calls = [
        (ValueError, lambda lib, functional: functional.max_unpool1d(lib.ones(1, 1, 2), lib.tensor([[[0, 1]]]), 2,
                                                                     output_size=[9])),
        (RuntimeError, lambda lib, functional: functional.max_unpool1d(lib.ones(2), lib.tensor([0, 1]), 2)),
        (RuntimeError, lambda lib, functional: functional.max_unpool1d(lib.ones(1, 1, 2), lib.tensor([[[0, 9]]]), 2)),
    ]
    for error, call in calls:
        with pytest.raises(error) as expected:
            call(torch, TF)
        with pytest.raises(error) as got:
            call(mg, F)
        assert str(got.value) == str(expected.value)


def test_max_unpool1d_gradcheck():
    pooled = mg.tensor(np.random.default_rng(6).standard_normal((2, 2, 3)), requires_grad=True)
    indices = mg.tensor(np.array([[[0, 3, 5], [1, 2, 4]], [[1, 3, 4], [0, 2, 5]]]))
    assert mg.gradcheck(lambda x: F.max_unpool1d(x, indices, 2), [pooled])


# ---- neighbours ----------------------------------------------------------------------------------------------------

def test_empty_tensors_print_their_dtype_as_torchs():
    for dtype in ("int64", "bool", "float64", "float32"):
        assert repr(mg.zeros(0, 2, dtype=getattr(mg, dtype))).replace("dtype=", "dtype=torch.") == repr(
            torch.zeros(0, 2, dtype=getattr(torch, dtype)))


def test_copy_into_an_empty_tensor_with_zero_strides():
    """An empty array shares no memory, whatever strides NumPy gave it."""
    empty = mg.randn(0, 3, 3)
    assert empty.clone().copy_(mg.eye(3)).shape == (0, 3, 3)


# ---- the GPU path --------------------------------------------------------------------------------------------------

def test_gpu_path_matches_cpu(gpu_path):
    """The changed ops on the device: a conv without input channels, mode of NaN rows, label smoothing, det and
    slogdet of singular matrices."""
    rows = _rows_with_nans()[0]
    calls = [
        (lambda x: F.conv2d(x, mg.ones(3, 0, 3, 3, device=x.device), mg.ones(3, device=x.device), stride=2),
         np.zeros((2, 0, 5, 5))),
        (lambda x: x.mode(1).values.nan_to_num(), rows),
        (lambda x: F.cross_entropy(x, mg.tensor([0, -100, -100, 2], device=x.device), label_smoothing=0.1),
         np.nan_to_num(np.array(LOGITS), nan=0.5, neginf=-50.0)),
        (lambda x: mg.linalg.det(x), np.array([SINGULAR_2, [[1.0, 2.0], [3.0, 4.0]]])),
        (lambda x: mg.linalg.slogdet(x).logabsdet, np.array([SINGULAR_2, [[1.0, 2.0], [3.0, 4.0]]])),
    ]
    for call, array in calls:
        results = []
        for device in ("cpu", "gpu"):
            x = mg.tensor(array.astype(np.float32), requires_grad=True, device=device)
            out = call(x)
            out.sum().backward()
            assert x.grad.device == device
            results.append((out.numpy(), x.grad.numpy()))
        for ours, reference in zip(*results):  # few terms, and inf and NaN where the CPU has them
            np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6, equal_nan=True)
