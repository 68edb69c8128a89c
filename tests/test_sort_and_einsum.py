"""sort, argsort, topk, msort; einsum; outer, tril/triu, diag, diagonal, trace and repeat_interleave: values,
gradients, dtypes and argument errors against torch, float64 gradchecks, and the GPU path. Each case is written
once against the shared API and run in both libraries."""
import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")

EINSUM = {  # name: (equation, operand shapes)
    "matmul": ("ij,jk->ik", [(3, 4), (4, 5)]),
    "matmul_implicit": ("ij,jk", [(3, 4), (4, 5)]),
    "batched_matmul": ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    "outer": ("i,j->ij", [(3,), (4,)]),
    "inner": ("i,i->", [(5,), (5,)]),
    "trace": ("ii->", [(4, 4)]),
    "diagonal": ("ii->i", [(4, 4)]),
    "batched_diagonal": ("bii->bi", [(2, 3, 3)]),
    "triple_diagonal": ("iii->i", [(3, 3, 3)]),
    "diagonal_times_vector": ("ii,i->i", [(3, 3), (3,)]),
    "transpose": ("ij->ji", [(3, 4)]),
    "transpose_implicit": ("ba", [(3, 4)]),
    "permute": ("abc->cab", [(2, 3, 4)]),
    "bilinear": ("bn,anm,bm->ba", [(2, 3), (5, 3, 4), (2, 4)]),
    "attention_scores": ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    "attention_values": ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    "sum_all": ("ij->", [(3, 4)]),
    "sum_rows": ("ij->i", [(3, 4)]),
    "summed_within_operand": ("ij,k->ik", [(3, 4), (5,)]),
    "ellipsis_matmul": ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    "ellipsis_broadcast": ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)]),
    "ellipsis_middle": ("a...b->ba...", [(2, 3, 4, 5)]),
    "ellipsis_summed": ("...ij->ij", [(2, 3, 4)]),
    "ellipsis_empty": ("...i,...i->...", [(4,), (4,)]),
    "size_one_broadcast": ("ij,jk->ik", [(3, 1), (4, 5)]),
    "spaces_and_capitals": ("Ab, bC -> AC", [(3, 4), (4, 2)]),
    "scalar": (",->", [(), ()]),
    "hadamard": ("ij,ij->ij", [(3, 4), (3, 4)]),
}

rng = np.random.default_rng(0)


def _arrays(shapes, dtype, seed=0):
    generator = np.random.default_rng(seed)
    return [generator.standard_normal(shape).astype(dtype) for shape in shapes]


def _forward_backward(lib, fn, arrays, direction=None):
    """fn(lib, *tensors) and the gradients of (out * direction).sum() (a fixed random direction by default)."""
    tensors = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *tensors)
    if direction is None:
        direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    (out * lib.tensor(direction)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _assert_matches_torch(fn, arrays, rtol=1e-5, atol=1e-6):
    ours, reference = (_forward_backward(lib, fn, arrays) for lib in (mg, torch))
    assert ours[0].dtype == reference[0].dtype and ours[0].shape == reference[0].shape
    for actual, expected in zip([ours[0], *ours[1]], [reference[0], *reference[1]]):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _einsum_of(equation, as_list=False):
    return lambda lib, *ts: lib.einsum(equation, list(ts)) if as_list else lib.einsum(equation, *ts)


@pytest.mark.parametrize("equation, shapes", EINSUM.values(), ids=EINSUM.keys())
def test_einsum_matches_torch(equation, shapes):
    _assert_matches_torch(_einsum_of(equation), _arrays(shapes, np.float32))


@pytest.mark.parametrize("equation, shapes", EINSUM.values(), ids=EINSUM.keys())
def test_einsum_gradcheck(equation, shapes):
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(shapes, np.float64)]
    assert mg.gradcheck(lambda *ts: mg.einsum(equation, *ts), tensors)


def test_einsum_takes_a_list_and_keeps_integer_dtypes():
    _assert_matches_torch(_einsum_of("ij,jk->ik", as_list=True), _arrays([(2, 3), (3, 2)], np.float32))
    a, b = (np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(6, dtype=np.int32).reshape(3, 2))
    ours, reference = mg.einsum("ij,jk", mg.tensor(a), mg.tensor(b)), torch.einsum("ij,jk", torch.tensor(a),
                                                                                     torch.tensor(b))
    assert ours.dtype == mg.int32 and reference.dtype == torch.int32
    np.testing.assert_array_equal(ours.numpy(), reference.numpy())


def test_einsum_of_an_operand_without_grad():
    a, b = _arrays([(3, 4), (4, 2)], np.float32)
    gradients = []
    for lib in (mg, torch):
        x = lib.tensor(a, requires_grad=True)
        lib.einsum("ij,jk->ik", x, lib.tensor(b)).sum().backward()
        gradients.append(x.grad.numpy())
    np.testing.assert_allclose(*gradients, rtol=1e-5, atol=1e-6)


def _assert_same_in_both(case, shape=(3, 3)):
    """case(lib, x), x a float32 leaf that requires grad, gives arrays, which must be torch's."""
    values = _arrays([shape], np.float32)[0]
    results = [case(lib, lib.tensor(values, requires_grad=True)) for lib in (mg, torch)]
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_einsum_of_one_operand_is_a_view_as_torchs():
    """A permutation or a diagonal of one operand is a view: an in-place change of it changes the operand."""

    def case(lib, x):
        base = x * 1
        diagonal, transposed = lib.einsum("ii->i", base), lib.einsum("ij->ji", base)
        diagonal += 1
        transposed[0] *= 2
        (base * base).sum().backward()
        with lib.no_grad():
            y = lib.zeros(2, 3)
            lib.einsum("ij->ji", y)[1] += 1
        return [base.detach().numpy(), diagonal.detach().numpy(), x.grad.numpy(), y.numpy()]

    _assert_same_in_both(case)


SORTS = {  # name: (fn, input), fn(lib, t) giving one tensor: the values or the float indices of a sort or topk
    "sort_last_dim": (lambda lib, t: lib.sort(t).values, (3, 5)),
    "sort_dim0_descending": (lambda lib, t: t.sort(0, descending=True).values, (4, 3)),
    "sort_3d_middle": (lambda lib, t: t.sort(dim=1).values, (2, 5, 3)),
    "sort_0d": (lambda lib, t: t.sort().values, ()),
    "msort": (lambda lib, t: lib.msort(t), (4, 3)),
    "topk_largest": (lambda lib, t: t.topk(2).values, (3, 5)),
    "topk_smallest_dim0": (lambda lib, t: lib.topk(t, 3, dim=0, largest=False).values, (5, 2)),
    "topk_all": (lambda lib, t: t.topk(4, dim=-1).values, (2, 4)),
    "topk_none": (lambda lib, t: t.topk(0).values, (2, 4)),
}


@pytest.mark.parametrize("fn, shape", SORTS.values(), ids=SORTS.keys())
def test_sort_matches_torch(fn, shape):
    _assert_matches_torch(fn, [rng.permutation(np.prod(shape, dtype=int)).reshape(shape).astype(np.float32)])


@pytest.mark.parametrize("fn, shape", SORTS.values(), ids=SORTS.keys())
def test_sort_gradcheck(fn, shape):
    values = rng.permutation(np.prod(shape, dtype=int)).reshape(shape).astype(np.float64)  # no ties: smooth
    assert mg.gradcheck(lambda t: fn(mg, t), [mg.tensor(values, requires_grad=True)])


TIES = np.array([[2, 1, 2, np.nan, 1, 0, np.nan, 2], [0, 0, -np.inf, np.inf, 3, np.nan, 3, 0]], np.float32)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8])
def test_sort_ties_and_nan_as_torchs_stable_sort(descending, dtype):
    values = np.nan_to_num(TIES, posinf=9, neginf=-9).astype(dtype) if dtype not in (np.float32, np.float64) else TIES
    values = values.astype(dtype)
    ours = mg.tensor(values).sort(descending=descending, stable=True)
    reference = torch.tensor(values).sort(descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), reference.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), reference.indices.numpy())
    assert ours.values.dtype == values.dtype and ours.indices.dtype == mg.int64
    argsorted = mg.argsort(mg.tensor(values), descending=descending, stable=True)
    np.testing.assert_array_equal(argsorted.numpy(), reference.indices.numpy())


def test_sort_and_topk_indices_and_named_fields():
    values = rng.permutation(12).reshape(3, 4).astype(np.float32)
    for ours, reference in [(mg.tensor(values).sort(0, True), torch.tensor(values).sort(0, True)),
                            (mg.tensor(values).topk(3, 1), torch.tensor(values).topk(3, 1)),
                            (mg.topk(mg.tensor(values), 2, 0, False, False), torch.topk(torch.tensor(values), 2, 0,
                                                                                         False, True))]:
        values_out, indices = ours
        assert values_out is ours.values and indices is ours.indices
        np.testing.assert_array_equal(indices.numpy(), reference.indices.numpy())
        assert indices.dtype == mg.int64 and not indices.requires_grad


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_topk_of_every_k_with_nan_as_torchs(largest, dim):
    values = rng.permutation(30).reshape(2, 3, 5).astype(np.float32)
    values[1, 0, 2] = values[0, 2, 4] = np.nan
    for k in range(values.shape[dim] + 1):
        ours = mg.tensor(values).topk(k, dim, largest)
        reference = torch.tensor(values).topk(k, dim, largest)
        np.testing.assert_array_equal(ours.indices.numpy(), reference.indices.numpy())
        np.testing.assert_array_equal(ours.values.numpy(), reference.values.numpy())


def test_sort_gradient_of_ties_goes_to_each_picked_place():
    _assert_matches_torch(lambda lib, t: t.sort(stable=True).values, [np.array([[1, 2, 1, 1], [3, 3, 0, 3]],
                                                                                np.float32)])


SHAPE_OPS = {  # name: (fn, input shapes)
    "outer": (lambda lib, a, b: lib.outer(a, b), [(3,), (4,)]),
    "ger": (lambda lib, a, b: a.ger(b), [(2,), (5,)]),
    "tril": (lambda lib, t: lib.tril(t), [(4, 5)]),
    "tril_offset": (lambda lib, t: t.tril(-1), [(2, 4, 3)]),
    "triu": (lambda lib, t: lib.triu(t), [(4, 3)]),
    "triu_offset": (lambda lib, t: t.triu(diagonal=2), [(3, 5)]),
    "diag_of_vector": (lambda lib, t: lib.diag(t), [(4,)]),
    "diag_of_vector_above": (lambda lib, t: t.diag(2), [(3,)]),
    "diag_of_vector_below": (lambda lib, t: t.diag(-1), [(3,)]),
    "diag_of_matrix": (lambda lib, t: lib.diag(t), [(3, 5)]),
    "diag_of_matrix_offset": (lambda lib, t: t.diag(-2), [(4, 3)]),
    "diag_past_the_matrix": (lambda lib, t: t.diag(7), [(4, 3)]),
    "diagonal": (lambda lib, t: lib.diagonal(t), [(3, 4)]),
    "diagonal_dims": (lambda lib, t: t.diagonal(1, 2, 0), [(3, 2, 4)]),
    "diagonal_negative_dims": (lambda lib, t: t.diagonal(offset=-1, dim1=-1, dim2=-2), [(2, 4, 3)]),
    "trace": (lambda lib, t: lib.trace(t), [(3, 4)]),
    "repeat_interleave": (lambda lib, t: lib.repeat_interleave(t, 2), [(2, 3)]),
    "repeat_interleave_dim": (lambda lib, t: t.repeat_interleave(3, dim=1), [(2, 3)]),
    "repeat_interleave_counts": (lambda lib, t: t.repeat_interleave(lib.tensor([2, 0, 1]), dim=-2), [(3, 2)]),
    "repeat_interleave_one_count": (lambda lib, t: t.repeat_interleave(lib.tensor([2]), dim=0), [(3, 2)]),
    "repeat_interleave_0d": (lambda lib, t: t.repeat_interleave(2), [()]),
}


@pytest.mark.parametrize("fn, shapes", SHAPE_OPS.values(), ids=SHAPE_OPS.keys())
def test_shape_op_matches_torch(fn, shapes):
    _assert_matches_torch(fn, _arrays(shapes, np.float32))


@pytest.mark.parametrize("fn, shapes", SHAPE_OPS.values(), ids=SHAPE_OPS.keys())
def test_shape_op_gradcheck(fn, shapes):
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(shapes, np.float64)]
    assert mg.gradcheck(lambda *ts: fn(mg, *ts), tensors)


DTYPES = {  # name: fn(lib, t) of an int32 tensor, whose result's dtype is compared with torch's
    "trace": lambda lib, t: t.trace(),
    "diag": lambda lib, t: t.diag(),
    "tril": lambda lib, t: t.tril(),
    "outer_with_float": lambda lib, t: t[0].outer(t[1].float()),
    "repeat_interleave": lambda lib, t: t.repeat_interleave(2),
    "repeat_interleave_counts_alone": lambda lib, t: lib.repeat_interleave(t[0].abs()),
    "argsort": lambda lib, t: t.argsort(),
    "topk": lambda lib, t: t.topk(2).values,
}


@pytest.mark.parametrize("fn", DTYPES.values(), ids=DTYPES.keys())
def test_integer_results_as_torchs(fn):
    values = np.array([[3, -1, 2], [0, 5, 4], [1, 1, -2]], np.int32)
    ours, reference = fn(mg, mg.tensor(values)), fn(torch, torch.tensor(values))
    assert str(ours.dtype) == str(reference.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), reference.numpy())


def test_diagonal_is_a_view_and_diag_a_copy_as_torchs():
    def case(lib, x):
        base = x * 1
        diagonal, copy = base.diagonal(1), lib.diag(base)
        diagonal.mul_(3)
        copy += 1
        (base * base).sum().backward()
        with lib.no_grad():
            y = lib.zeros(2, 3, 3)
            y.diagonal(0, 1, 2).fill_(1)
            lib.diagonal(y, -1, 2, 1)[0] += 2
            lib.diag(y[0]).zero_()
        return [base.detach().numpy(), diagonal.detach().numpy(), copy.detach().numpy(), x.grad.numpy(), y.numpy()]

    _assert_same_in_both(case, (3, 4))


def test_tril_and_triu_in_place_as_torchs():
    def case(lib, x):
        y = x * 2
        row = y[1]
        y.tril_(1).triu_(-1)
        (y * y).sum().backward()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x.tril_()
        return [y.detach().numpy(), row.detach().numpy(), x.grad.numpy()]

    _assert_same_in_both(case, (3, 4))


ERRORS = {  # name: fn(lib) that raises in both libraries
    "einsum_more_operands": lambda lib: lib.einsum("ij->i", lib.ones(2, 3), lib.ones(2, 3)),
    "einsum_fewer_operands": lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 3)),
    "einsum_output_letter_unknown": lambda lib: lib.einsum("ij->ik", lib.ones(2, 3)),
    "einsum_output_letter_twice": lambda lib: lib.einsum("ij->jj", lib.ones(2, 3)),
    "einsum_subscripts_vs_dims": lambda lib: lib.einsum("ijk->ij", lib.ones(2, 3)),
    "einsum_stray_dot": lambda lib: lib.einsum("i.j->i", lib.ones(2, 3)),
    "einsum_two_ellipses": lambda lib: lib.einsum("......i->i", lib.ones(2, 3)),
    "einsum_invalid_subscript": lambda lib: lib.einsum("i1->i", lib.ones(2, 3)),
    "einsum_sizes_mismatch": lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 3), lib.ones(4, 4)),
    "einsum_ellipsis_sizes": lambda lib: lib.einsum("...i,...i", lib.ones(5, 3), lib.ones(2, 4, 3)),
    "einsum_ellipsis_sizes_first": lambda lib: lib.einsum("i...,i...", lib.ones(3, 2, 5), lib.ones(3, 7, 5)),
    "einsum_diagonal_sizes": lambda lib: lib.einsum("ii->i", lib.ones(2, 3)),
    "einsum_dtypes": lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 3), lib.ones(3, 2, dtype=lib.float64)),
    "sort_dim": lambda lib: lib.ones(3).sort(dim=2),
    "topk_k_too_large": lambda lib: lib.ones(3).topk(4),
    "topk_k_negative": lambda lib: lib.ones(3).topk(-1),
    "outer_of_matrix": lambda lib: lib.outer(lib.ones(2, 3), lib.ones(3)),
    "outer_of_matrix_vec2": lambda lib: lib.ones(3).outer(lib.ones(2, 3)),
    "tril_of_vector": lambda lib: lib.ones(3).tril(),
    "triu_of_vector": lambda lib: lib.ones(3).triu_(),
    "diag_of_3d": lambda lib: lib.ones(2, 2, 2).diag(),
    "diag_of_0d": lambda lib: lib.diag(lib.ones(())),
    "diagonal_same_dims": lambda lib: lib.ones(2, 3).diagonal(0, 1, 1),
    "diagonal_dim_out_of_range": lambda lib: lib.ones(2, 3).diagonal(0, 1, 2),
    "trace_of_vector": lambda lib: lib.ones(3).trace(),
    "repeat_interleave_negative": lambda lib: lib.ones(3).repeat_interleave(-1),
    "repeat_interleave_negative_count": lambda lib: lib.ones(3).repeat_interleave(lib.tensor([1, -2, 1])),
    "repeat_interleave_counts_size": lambda lib: lib.ones(3).repeat_interleave(lib.tensor([1, 2])),
    "repeat_interleave_counts_2d": lambda lib: lib.ones(3).repeat_interleave(lib.tensor([[1, 2, 1]])),
    "repeat_interleave_float_counts": lambda lib: lib.ones(3).repeat_interleave(lib.tensor([1.0, 2, 1])),
}


@pytest.mark.parametrize("fn", ERRORS.values(), ids=ERRORS.keys())
def test_errors_as_torchs(fn):
    outcomes = []
    for lib in (torch, mg):
        with pytest.raises(Exception) as raised:
            fn(lib)
        outcomes.append((type(raised.value), str(raised.value).splitlines()[0]))
    assert outcomes[1] == outcomes[0]


GPU_CASES = {
    "einsum_bilinear": (_einsum_of("bn,anm,bm->ba"), [(2, 3), (5, 3, 4), (2, 4)]),
    "einsum_diagonal": (_einsum_of("bii->bi"), [(2, 3, 3)]),
    "einsum_summed_within": (_einsum_of("ij,k->ik"), [(3, 4), (5,)]),
    "sort_descending": (lambda lib, t: t.sort(dim=0, descending=True).values, [(5, 3)]),
    "topk": (lambda lib, t: t.topk(2, dim=1, largest=False).values, [(3, 5)]),
    "diag_of_vector": (lambda lib, t: t.diag(1), [(4,)]),
    "diagonal": (lambda lib, t: t.diagonal(-1, 2, 0), [(3, 2, 4)]),
    "triu": (lambda lib, t: t.triu(1), [(2, 3, 4)]),
    "trace": (lambda lib, t: t.trace(), [(3, 3)]),
    "outer": (lambda lib, a, b: a.outer(b), [(3,), (4,)]),
    "repeat_interleave_counts": (lambda lib, t: t.repeat_interleave(lib.tensor([2, 0, 1]), dim=0), [(3, 2)]),
}


@pytest.mark.parametrize("fn, shapes", GPU_CASES.values(), ids=GPU_CASES.keys())
def test_gpu_path_matches_cpu(fn, shapes, gpu_path):
    arrays = _arrays(shapes, np.float32)
    results = []
    for device in ("cpu", "gpu"):
        tensors = [mg.tensor(a, requires_grad=True, device=device) for a in arrays]
        out = fn(mg, *tensors)
        direction = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
        (out * mg.tensor(direction, device=device)).sum().backward()
        assert out.device == device
        results.append([out.numpy(), *(t.grad.numpy() for t in tensors)])
    for ours, reference in zip(*results):
        assert relative_error(ours, reference) <= 1e-5
    gpu_indices = mg.tensor(arrays[0], device="gpu").argsort(0, descending=True)
    np.testing.assert_array_equal(gpu_indices.numpy(), mg.tensor(arrays[0]).argsort(0, descending=True).numpy())


def test_gpu_path_diagonal_view_writes(gpu_path):
    y = mg.zeros(2, 3, 4, device="gpu")
    y.diagonal(1, 1, 2).fill_(1)
    expected = torch.zeros(2, 3, 4)
    expected.diagonal(1, 1, 2).fill_(1)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
