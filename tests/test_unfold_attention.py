"""unfold and fold, scaled_dot_product_attention, rms_norm and pairwise_distance (with their modules) against torch:
float64 gradchecks, float32 values and gradients, defaults, result dtypes, errors and reprs; attention's dropout by
its statistics (its draws cannot be torch's); and every op on the GPU path."""
import inspect

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# a bool mask (True: attend) whose first query attends to no key, as padding does
ROW_BLOCKED_MASK = np.random.default_rng(7).random((4, 6)) > 0.4
ROW_BLOCKED_MASK[0] = False
ROW_BLOCKED_MASK[1:, 0] = True
FLOAT_MASK = np.random.default_rng(8).standard_normal((4, 6))
POOLED = np.random.default_rng(9).standard_normal((2, 3, 6, 8)).astype(np.float32)  # the indices of max-unpool cases


def _attention(**kwargs):
    """A case's call of scaled_dot_product_attention; attn_mask "bool" or "float" is made by `constant` (torch's
    or minigrad's tensor, on the case's device) from the masks above."""
    masks = {"bool": ROW_BLOCKED_MASK, "float": FLOAT_MASK}

    def call(functional, constant, query, key, value):
        options = dict(kwargs)
        if "attn_mask" in options:
            mask = masks[options["attn_mask"]]
            dtype = bool if mask.dtype == bool else str(query.dtype).replace("torch.", "")
            options["attn_mask"] = constant(mask.astype(dtype))
        return functional.scaled_dot_product_attention(query, key, value, **options)
    return call


def _attention_case(query, key, value, **kwargs):
    return (query, key, value), _attention(**kwargs)


# name: (input shapes, call(functional, constant, *inputs))
CASES = {
    "unfold-4d": (((2, 3, 5, 6),), lambda F, c, x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
    "unfold-3d-defaults": (((3, 4, 5),), lambda F, c, x: F.unfold(x, 2)),
    "unfold-overlapping-padded": (((2, 2, 4, 4),), lambda F, c, x: F.unfold(x, 3, padding=1)),
    "unfold-one-image": (((1, 2, 5, 5),), lambda F, c, x: F.unfold(x, [2, 3], stride=2)),
    "fold-4d": (((2, 18, 15),), lambda F, c, x: F.fold(x, (5, 6), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
    "fold-3d-defaults": (((12, 12),), lambda F, c, x: F.fold(x, (4, 5), 2)),
    "fold-overlapping-padded": (((2, 18, 16),), lambda F, c, x: F.fold(x, [4, 4], 3, padding=1)),
    "fold-of-unfold": (((2, 3, 5, 4),), lambda F, c, x: F.fold(F.unfold(x, 2, stride=1), (5, 4), 2)),
    "attention": _attention_case((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),
    "attention-3d": _attention_case((3, 4, 5), (3, 6, 5), (3, 6, 2)),
    "attention-2d": _attention_case((4, 5), (6, 5), (6, 3)),
    "attention-5d-broadcast": _attention_case((2, 2, 1, 4, 3), (3, 6, 3), (1, 6, 4)),
    "attention-scale": _attention_case((2, 4, 5), (2, 6, 5), (2, 6, 5), scale=0.7),
    "attention-causal-longer-keys": _attention_case((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), is_causal=True),
    "attention-causal-shorter-keys": _attention_case((2, 6, 5), (2, 4, 5), (2, 4, 3), is_causal=True),
    "attention-bool-mask-blocked-row": _attention_case((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), attn_mask="bool"),
    "attention-float-mask": _attention_case((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), attn_mask="float"),
    "attention-gqa": _attention_case((2, 4, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), enable_gqa=True),
    "attention-dropout-0": _attention_case((2, 4, 5), (2, 6, 5), (2, 6, 5), dropout_p=0.0),
    "rms-norm-defaults": (((2, 3, 4),), lambda F, c, x: F.rms_norm(x, (4,))),
    "rms-norm-weight": (((2, 3, 4), (3, 4)), lambda F, c, x, w: F.rms_norm(x, [3, 4], w)),
    "rms-norm-eps": (((5, 4), (4,)), lambda F, c, x, w: F.rms_norm(x, (4,), weight=w, eps=0.5)),
    "pairwise-distance": (((5, 4), (5, 4)), lambda F, c, a, b: F.pairwise_distance(a, b)),
    "pairwise-distance-p1-keepdim": (((5, 4), (5, 4)), lambda F, c, a, b: F.pairwise_distance(a, b, 1.0, keepdim=True)),
    "pairwise-distance-p3-broadcast": (((2, 5, 4), (4,)), lambda F, c, a, b: F.pairwise_distance(a, b, p=3)),
    "pairwise-distance-inf-eps": (((3, 4), (3, 4)), lambda F, c, a, b: F.pairwise_distance(a, b, float("inf"), 0.1)),
    "pairwise-distance-1d": (((4,), (4,)), lambda F, c, a, b: F.pairwise_distance(a, b)),
    "max-unpool-round-trip": (((2, 3, 6, 8),), lambda F, c, x: F.max_unpool2d(
        *F.max_pool2d(x, 2, return_indices=True), 2)),
    "max-unpool-output-size": (((2, 3, 7, 9),), lambda F, c, x: F.max_unpool2d(
        *F.max_pool2d(x, 2, return_indices=True), 2, output_size=(7, 9))),
    "max-unpool-output-size-of-4": (((2, 3, 7, 9),), lambda F, c, x: F.max_unpool2d(
        *F.max_pool2d(x, (2, 3), return_indices=True), (2, 3), output_size=[2, 3, 7, 9])),
    "max-unpool-unbatched-stride-padding": (((3, 5, 5),), lambda F, c, x: F.max_unpool2d(
        *F.max_pool2d(x, 2, stride=2, padding=1, return_indices=True), 2, 2, 1, output_size=(5, 5))),
    "max-unpool-of-other-values": (((2, 3, 3, 4),), lambda F, c, v: F.max_unpool2d(
        v, F.max_pool2d(c(POOLED), 2, return_indices=True)[1], 2)),
}


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _mg_run(case, arrays, direction=None, device="cpu"):
    """The case's output and, given a direction, the gradients of sum(output * direction), in minigrad."""
    shapes, call = CASES[case]
    tensors = [mg.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = call(F, lambda a: mg.tensor(a, device=device), *tensors)
    if direction is None:
        return out
    (out * mg.tensor(direction, device=device)).sum().backward()
    return out.numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("case", CASES)
def test_gradcheck_float64(case):
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(CASES[case][0], np.float64)]
    assert mg.gradcheck(lambda *ts: CASES[case][1](F, mg.tensor, *ts), tensors)


@pytest.mark.parametrize("case", ["unfold-4d", "unfold-overlapping-padded"])
def test_gpu_kernels_gradcheck_float64_on_host(case, host_kernels):
    """unfold's GPU variant, the conv's kernels (built for the host), one per direction."""
    test_gradcheck_float64(case)
    assert {"im2col", "col2im"} <= set(host_kernels.launches)


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch_float32(case):
    shapes, call = CASES[case]
    arrays = _arrays(shapes, np.float32)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = call(TF, torch.tensor, *theirs)
    direction = np.random.default_rng(1).standard_normal(tuple(expected.shape)).astype(np.float32)
    (expected * torch.tensor(direction)).sum().backward()
    out, grads = _mg_run(case, arrays, direction)
    assert out.dtype == np.float32 and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for grad, their in zip(grads, theirs):
        np.testing.assert_allclose(grad, their.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["unfold-4d", "fold-4d", "attention-causal-longer-keys", "rms-norm-weight",
                                  "pairwise-distance", "max-unpool-round-trip"])
def test_gpu_path_matches_cpu(case, gpu_path):
    arrays = _arrays(CASES[case][0], np.float32)
    direction = np.random.default_rng(1).standard_normal(_mg_run(case, arrays).shape).astype(np.float32)
    cpu, gpu = (_mg_run(case, arrays, direction, device) for device in ("cpu", "gpu"))
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5
    if case.startswith(("unfold", "fold")):  # the conv's kernels, one per direction
        assert {"im2col", "col2im"} <= set(gpu_path.launches)


def test_attention_with_a_blocked_row_on_the_gpu_path(gpu_path):
    """A query that attends to no key: zeros and zero gradients on the device too."""
    case = "attention-bool-mask-blocked-row"
    arrays = _arrays(CASES[case][0], np.float32)
    direction = np.ones(_mg_run(case, arrays).shape, np.float32)
    out, grads = _mg_run(case, arrays, direction, "gpu")
    assert not out[..., 0, :].any() and not grads[0][..., 0, :].any()
    assert relative_error(out, _mg_run(case, arrays, direction)[0]) <= 1e-5


def _assert_unfold_and_fold_are_torchs_graph_nodes(device="cpu"):
    x = mg.tensor(_arrays([(1, 2, 4, 4)], np.float32)[0], requires_grad=True, device=device)
    columns = F.unfold(x, 2)
    assert columns.grad_fn.name() == "Im2ColBackward0"
    assert F.fold(columns, (4, 4), 2).grad_fn.name() == "Col2ImBackward0"


def test_unfold_and_fold_are_torchs_graph_nodes():
    _assert_unfold_and_fold_are_torchs_graph_nodes()


def test_unfold_and_fold_are_torchs_graph_nodes_on_the_gpu_path(gpu_path):
    _assert_unfold_and_fold_are_torchs_graph_nodes("gpu")


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")  # torch's, of its fused rms_norm
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_result_dtypes_are_torchs(dtype):
    x, y = _arrays([(2, 3, 4), (2, 3, 4)], dtype)
    weight = np.ones(4, np.float32)
    results = {
        "unfold": lambda F, t: F.unfold(t(x).reshape(1, 2, 3, 4), 2),
        "fold": lambda F, t: F.fold(t(x).reshape(1, 4, 6), (3, 4), 2),
        "attention": lambda F, t: F.scaled_dot_product_attention(t(x), t(y), t(y)),
        "attention-float32-mask": lambda F, t: F.scaled_dot_product_attention(
            t(x), t(y), t(y), attn_mask=t(np.zeros((3, 3), np.float32))),
        "rms-norm-float32-weight": lambda F, t: F.rms_norm(t(x), (4,), t(weight)),
        "pairwise-distance": lambda F, t: F.pairwise_distance(t(x), t(y)),
    }
    for name, call in results.items():
        assert str(call(F, mg.tensor).dtype) == str(call(TF, torch.tensor).dtype).replace("torch.", ""), name


def test_rms_norm_default_eps_is_the_dtypes_machine_epsilon():
    """eps None: torch.finfo(dtype).eps, which decides the result for tiny inputs."""
    for dtype in (np.float32, np.float64):
        x = np.full((2, 3), 1e-5, dtype)
        np.testing.assert_allclose(F.rms_norm(mg.tensor(x), (3,)).numpy(), TF.rms_norm(torch.tensor(x), (3,)).numpy(),
                                   rtol=1e-6)


FUNCTIONS = ["unfold", "fold", "rms_norm", "max_unpool2d"]


def _names_and_defaults(function):
    return [(name, parameter.default) for name, parameter in inspect.signature(function).parameters.items()]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functional_arguments_and_defaults_are_torchs(name):
    assert _names_and_defaults(getattr(F, name)) == _names_and_defaults(getattr(TF, name))


@pytest.mark.parametrize("function, documented", [
    (F.scaled_dot_product_attention,
     "(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False)"),
    (F.pairwise_distance, "(x1, x2, p=2.0, eps=1e-06, keepdim=False)"),
])
def test_builtin_signatures_are_torchs_documented_ones(function, documented):
    """torch's builtins have no inspectable signature: their documented ones."""
    assert str(inspect.signature(function)) == documented


MODULES = {
    "Unfold": ((((2, 3, 5, 6),),), lambda nn: nn.Unfold((2, 3), dilation=2, padding=1)),
    "Unfold-defaults": ((((2, 3, 5, 6),),), lambda nn: nn.Unfold(3)),
    "Fold": ((((2, 12, 20),),), lambda nn: nn.Fold((5, 6), 2)),
    "Fold-stride": ((((2, 12, 9),),), lambda nn: nn.Fold(output_size=[5, 6], kernel_size=2, stride=(2, 3), padding=1)),
    "RMSNorm": ((((2, 3, 4),),), lambda nn: nn.RMSNorm(4)),
    "RMSNorm-shape-eps": ((((2, 3, 4),),), lambda nn: nn.RMSNorm([3, 4], eps=1e-5)),
    "RMSNorm-no-affine": ((((2, 3, 4),),), lambda nn: nn.RMSNorm((4,), elementwise_affine=False)),
    "PairwiseDistance": ((((3, 4), (3, 4)),), lambda nn: nn.PairwiseDistance()),
    "PairwiseDistance-options": ((((3, 4), (3, 4)),), lambda nn: nn.PairwiseDistance(p=1, eps=0.1, keepdim=True)),
}


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_torch(name):
    ((shapes,), build) = MODULES[name]
    ours, theirs = build(mg.nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    arrays = _arrays(shapes, np.float32)
    expected = theirs(*map(torch.tensor, arrays)).detach().numpy()
    np.testing.assert_allclose(ours(*map(mg.tensor, arrays)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_rms_norm_weight_is_trained():
    norm = mg.nn.RMSNorm(4)
    norm(mg.tensor(_arrays([(2, 4)], np.float32)[0])).sum().backward()
    assert norm.weight.grad is not None and norm.weight.dtype == np.float32
    assert [name for name, _ in norm.named_parameters()] == ["weight"]


def _randn(*shape, dtype=np.float32):
    return np.random.default_rng(3).standard_normal(shape).astype(dtype)


ERRORS = {
    "unfold-5d": lambda F, t: F.unfold(t(_randn(1, 2, 3, 4, 5)), 2),
    "unfold-no-channels": lambda F, t: F.unfold(t(_randn(1, 0, 4, 4)), 2),
    "unfold-kernel-too-large": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), 9),
    "unfold-three-sizes": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), (2, 3, 4)),
    "unfold-one-size-in-a-list": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), [2]),
    "unfold-float-kernel": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), 2.0),
    "unfold-bool-kernel": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), True),
    "unfold-float-stride": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), 2, stride=(1.5, 1)),
    "unfold-second-size-float": lambda F, t: F.unfold(t(_randn(2, 3, 5, 6)), 2, stride=(1, 1.5)),
    "fold-second-output-size-float": lambda F, t: F.fold(t(_randn(2, 12, 20)), (5, 6.0), 2),
    "unfold-zero-kernel": lambda F, t: F.unfold(t(_randn(1, 2, 4, 4)), 0, dilation=0, padding=-1, stride=0),
    "unfold-zero-dilation": lambda F, t: F.unfold(t(_randn(1, 2, 4, 4)), 1, dilation=0, padding=-1, stride=0),
    "unfold-negative-padding": lambda F, t: F.unfold(t(_randn(1, 2, 4, 4)), 1, padding=-1, stride=0),
    "unfold-zero-stride": lambda F, t: F.unfold(t(_randn(1, 2, 4, 4)), 1, stride=0),
    "unfold-integers": lambda F, t: F.unfold(t(np.ones((1, 2, 3, 3), np.int64)), 2),
    "fold-4d": lambda F, t: F.fold(t(_randn(1, 2, 12, 20)), (5, 6), 2),
    "fold-no-blocks": lambda F, t: F.fold(t(_randn(2, 12, 0)), (1, 1), 2),
    "fold-blocks-mismatch": lambda F, t: F.fold(t(_randn(2, 12, 7)), (5, 6), 2),
    "fold-blocks-mismatch-unbatched": lambda F, t: F.fold(t(_randn(12, 7)), (5, 6), 2),
    "fold-blocks-mismatch-options": lambda F, t: F.fold(t(_randn(1, 12, 20)), [5, 6], 2, 1, 1, stride=(3, 4)),
    "fold-output-too-small": lambda F, t: F.fold(t(_randn(2, 12, 20)), (0, 6), 2, stride=3),
    "fold-channels-not-divisible": lambda F, t: F.fold(t(_randn(2, 13, 20)), (5, 6), 2),
    "fold-output-size-three": lambda F, t: F.fold(t(_randn(2, 12, 20)), (5, 6, 7), 2),
    "fold-zero-kernel": lambda F, t: F.fold(t(_randn(12, 20)), (5, 6), 0, dilation=0, padding=-1, stride=0),
    "fold-zero-stride": lambda F, t: F.fold(t(_randn(12, 20)), (5, 6), 1, dilation=0, padding=-1, stride=0),
    "fold-zero-dilation": lambda F, t: F.fold(t(_randn(12, 20)), (5, 6), 1, dilation=0, padding=-1),
    "fold-float-stride": lambda F, t: F.fold(t(_randn(2, 12, 20)), (5, 6), 2, stride=1.5),
    "fold-integers": lambda F, t: F.fold(t(np.ones((2, 12, 20), np.int64)), (5, 6), 2),
    "attention-mixed-dtypes": lambda F, t: F.scaled_dot_product_attention(
        t(_randn(2, 3)), t(_randn(2, 3, dtype=np.float64)), t(_randn(2, 3))),
    "attention-1d": lambda F, t: F.scaled_dot_product_attention(t(_randn(3)), t(_randn(3)), t(_randn(3))),
    "attention-integer-mask": lambda F, t: F.scaled_dot_product_attention(
        t(_randn(2, 3)), t(_randn(2, 3)), t(_randn(2, 3)), attn_mask=t(np.zeros((2, 2), np.int64))),
    "attention-float64-mask": lambda F, t: F.scaled_dot_product_attention(
        t(_randn(2, 3)), t(_randn(2, 3)), t(_randn(2, 3)), attn_mask=t(np.zeros((2, 2)))),
    "attention-mask-and-causal": lambda F, t: F.scaled_dot_product_attention(
        t(_randn(2, 3)), t(_randn(2, 3)), t(_randn(2, 3)), attn_mask=t(np.ones((2, 2), bool)), is_causal=True),
    "attention-dropout-above-1": lambda F, t: F.scaled_dot_product_attention(t(_randn(2, 3)), t(_randn(2, 3)),
                                                                             t(_randn(2, 3)), dropout_p=1.5),
    "attention-gqa-heads-not-divisible": lambda F, t: F.scaled_dot_product_attention(
        t(_randn(1, 3, 2, 4)), t(_randn(1, 2, 2, 4)), t(_randn(1, 2, 2, 4)), enable_gqa=True),
    "rms-norm-shape-mismatch": lambda F, t: F.rms_norm(t(_randn(2, 3, 4)), (2, 4)),
    "rms-norm-int-shape": lambda F, t: F.rms_norm(t(_randn(2, 3, 4)), 4),
    "rms-norm-weight-shape": lambda F, t: F.rms_norm(t(_randn(2, 3, 4)), [4], weight=t(_randn(3))),
    "rms-norm-integers": lambda F, t: F.rms_norm(t(np.ones((2, 4), np.int64)), [4]),
    "layer-norm-shape-mismatch": lambda F, t: F.layer_norm(t(_randn(2, 3, 4)), (2, 4)),
    "pairwise-distance-mismatch": lambda F, t: F.pairwise_distance(t(_randn(4, 3)), t(_randn(2, 3))),
    "max-unpool-int32-indices": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices(np.int32)), 2),
    "max-unpool-2d": lambda F, t: F.max_unpool2d(t(_randn(3, 4)), t(_indices()[0, 0]), 2),
    "max-unpool-indices-shape": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices()[:, :1]), 2),
    "max-unpool-invalid-index": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices(invalid=48)), 2),
    "max-unpool-negative-index": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices(invalid=-1)), 2),
    "max-unpool-output-size-of-3": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices()), 2,
                                                               output_size=(2, 6, 8)),
    "max-unpool-output-size-too-large": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices()), 2,
                                                                    output_size=(8, 8)),
    "max-unpool-output-size-too-small": lambda F, t: F.max_unpool2d(t(_randn(1, 2, 3, 4)), t(_indices()), 2,
                                                                    output_size=[1, 2, 6, 6]),
    "max-unpool-integers": lambda F, t: F.max_unpool2d(t(np.ones((1, 2, 3, 4), np.int64)), t(_indices()), 2),
}


def _indices(dtype=np.int64, invalid=None):
    """Indices of a 2x2 pooling of (1, 2, 6, 8) planes, one of them made `invalid` where given."""
    rows, columns = np.meshgrid(np.arange(3) * 2, np.arange(4) * 2, indexing="ij")
    indices = np.broadcast_to(rows * 8 + columns + 9, (1, 2, 3, 4)).astype(dtype)
    if invalid is not None:
        indices[0, 1, 2, 0] = invalid
    return indices


def _error_of(call):
    with pytest.raises(Exception) as raised:
        call()
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_torchs(case):
    assert _error_of(lambda: ERRORS[case](F, mg.tensor)) == _error_of(lambda: ERRORS[case](TF, torch.tensor))


def _dropped_attention(p, queries=400, keys=50):
    """Attention whose weights are all 1/keys (zero queries and keys) read out by identity values: the output is
    the weights after dropout."""
    query, key = mg.zeros(queries, 4), mg.zeros(keys, 4)
    return F.scaled_dot_product_attention(query, key, mg.eye(keys), dropout_p=p).numpy()


def test_attention_dropout_drops_weights_as_torchs_dropout():
    """Each weight is zeroed with probability p and the others scaled by 1 / (1 - p): the draws cannot be torch's,
    their statistics are."""
    mg.manual_seed(0)
    out = _dropped_attention(0.3)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 50 / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.02
    assert not np.array_equal(out, _dropped_attention(0.3))  # fresh draws each call


def test_attention_without_dropout_draws_nothing():
    """dropout_p=0 (the default) is exact and leaves the generator where it was."""
    mg.manual_seed(0)
    exact = _dropped_attention(0.0)
    after = mg.rand(3).numpy()
    mg.manual_seed(0)
    np.testing.assert_array_equal(exact, np.full((400, 50), 1 / 50, np.float32))
    np.testing.assert_array_equal(mg.rand(3).numpy(), after)


def test_attention_dropout_1_zeros_everything():
    assert not _dropped_attention(1.0).any()


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2), dilation=2)])
def test_max_pool_indices_are_torchs_flat_plane_indices(kwargs):
    """What max_unpool2d reads: the flat index of each maximum into its input plane, int64."""
    x = _randn(2, 3, 7, 9)
    ours = F.max_pool2d(mg.tensor(x), return_indices=True, **kwargs)[1].numpy()
    theirs = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)[1].numpy()
    assert ours.dtype == theirs.dtype == np.int64
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("build", [lambda nn: nn.MaxUnpool2d(2), lambda nn: nn.MaxUnpool2d((2, 3), stride=1, padding=1),
                                   lambda nn: nn.MaxUnpool2d(3, stride=[2, 2])])
def test_max_unpool_module_matches_torch(build):
    ours, theirs = build(mg.nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    pool = dict(kernel_size=theirs.kernel_size, stride=theirs.stride, padding=theirs.padding)
    x = _randn(2, 3, 6, 8)
    pooled, indices = TF.max_pool2d(torch.tensor(x), return_indices=True, **pool)
    expected = theirs(pooled, indices, output_size=x.shape)
    unpooled = ours(mg.tensor(pooled.numpy()), mg.tensor(indices.numpy()), output_size=x.shape)
    np.testing.assert_array_equal(unpooled.numpy(), expected.numpy())


@pytest.mark.parametrize("call", [lambda F, t: F.unfold(t(np.zeros((0, 3, 4, 4), np.float32)), 2),
                                  lambda F, t: F.fold(t(np.zeros((0, 12, 9), np.float32)), (4, 4), 2)])
def test_unfold_and_fold_take_an_empty_batch(call):
    ours, theirs = call(F, lambda a: mg.tensor(a, requires_grad=True)), call(TF, torch.tensor)
    assert ours.shape == tuple(theirs.shape)
    ours.sum().backward()
