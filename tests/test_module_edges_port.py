"""Module's repr, lazy modules' uninitialized parameters in ops, and EmbeddingBag's scale_grad_by_freq, as torch's."""
import re

import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error


def _module_class(library, extra):
    """A module of `library` (torch.nn or mg.nn) whose extra_repr is `extra`, and whose children are given."""

    class Block(library.Module):
        def __init__(self, **children):
            super().__init__()
            for name, child in children.items():
                setattr(self, name, child)

        def extra_repr(self):
            return extra

    return Block


def _built(library, spec):
    """The module that `spec` describes: (extra_repr, {name: spec of a child, or a ready layer's maker})."""
    extra, children = spec
    built = {name: child(library) if callable(child) else _built(library, child) for name, child in children.items()}
    return _module_class(library, extra)(**built)


def _linear(library):
    return library.Linear(2, 3)


def _sequential(library):
    return library.Sequential(library.ReLU(), library.Linear(3, 1, bias=False))


@pytest.mark.parametrize("spec", [
    ("in=2, out=3", {"fc": _linear, "act": lambda library: library.ReLU()}),
    ("first line\nsecond line", {"fc": _linear}),
    ("", {"fc": _linear, "body": _sequential}),
    ("", {}),
    ("one line", {}),
    ("first line\n\nthird line", {}),
    ("outer", {"inner": ("a\nb", {"fc": _linear, "deep": ("c", {"seq": _sequential})}), "act": _sequential}),
], ids=["children-and-one-line", "children-and-lines", "children-only", "empty", "one-line-only", "lines-only",
        "nested"])
def test_module_repr_matches_torch(spec):
    assert repr(_built(mg.nn, spec)) == repr(_built(torch.nn, spec))


# uses of a lazy module's uninitialized tensor: (lazy module's maker, its tensor's name, the use)
UNINITIALIZED_USES = {
    "add": (lambda nn: nn.LazyLinear(3), "weight", lambda lib, w: w + 1),
    "reflected-add": (lambda nn: nn.LazyLinear(3), "weight", lambda lib, w: lib.ones(2) + w),
    "sum": (lambda nn: nn.LazyLinear(3), "bias", lambda lib, w: w.sum()),
    "matmul": (lambda nn: nn.LazyLinear(3), "weight", lambda lib, w: w @ lib.ones(2, 2)),
    "linear": (lambda nn: nn.LazyLinear(3), "weight",
               lambda lib, w: (torch.nn.functional if lib is torch else mg.functional).linear(lib.ones(1, 2), w)),
    "cat": (lambda nn: nn.LazyLinear(3), "weight", lambda lib, w: lib.cat([lib.ones(1), w])),
    "numel": (lambda nn: nn.LazyLinear(3), "weight", lambda lib, w: w.numel()),
    "dim": (lambda nn: nn.LazyConv2d(2, 3), "weight", lambda lib, w: w.dim()),
    "getitem": (lambda nn: nn.LazyConv2d(2, 3), "bias", lambda lib, w: w[0]),
    "buffer-mul": (lambda nn: nn.LazyBatchNorm1d(), "running_mean", lambda lib, w: w * 2),
    "buffer-in-place": (lambda nn: nn.LazyBatchNorm1d(), "running_var", lambda lib, w: w.add_(1)),
}


def _without_callee(message):
    """torch's message for an uninitialized tensor's use, less what it names as used (a function of the library)."""
    return re.sub(r" in <.*?>\. ", " in <...>. ", message)


def assert_uninitialized_use_raises_as_torch(maker, attribute, use):
    """use(lib, tensor), given the uninitialized tensor `attribute` of maker(lib.nn), raises what it raises on torch:
    the exception's type, and its message but for the callee."""
    errors = []
    for lib, nn in ((torch, torch.nn), (mg, mg.nn)):
        with pytest.raises(Exception) as info:
            use(lib, getattr(maker(nn), attribute))
        errors.append((info.type, _without_callee(str(info.value))))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("name", UNINITIALIZED_USES)
def test_uninitialized_tensor_in_an_op_raises_as_torch(name):
    assert_uninitialized_use_raises_as_torch(*UNINITIALIZED_USES[name])


def test_uninitialized_tensor_size_and_attributes_as_torch():
    theirs, ours = torch.nn.LazyLinear(3).weight, mg.nn.LazyLinear(3).weight
    assert tuple(ours.size()) == tuple(theirs.size()) and ours.size(0) == theirs.size(0)
    assert (ours.ndim, ours.is_leaf, ours.requires_grad, ours.grad) == (theirs.ndim, True, True, None)
    assert_raises_as_torch(lambda: theirs.size(1), lambda: ours.size(1))
    assert_raises_as_torch(lambda: theirs.shape, lambda: ours.shape)
    assert ours.is_floating_point() and hash(ours) == hash(ours)


def test_lazy_module_runs_once_initialized():
    lazy = mg.nn.LazyLinear(3)
    optimizer = mg.optim.SGD(lazy.parameters(), lr=0.1)
    lazy(mg.ones(2, 4)).sum().backward()
    optimizer.step()
    assert (lazy.weight + 1).shape == (3, 4) and lazy.weight.numel() == 12

# (mode, indices, offsets, include_last_offset, padding_idx, with per_sample_weights): indices repeated so that the
# count torch's CPU kernel divides by is another index's (see ops.EmbeddingBag.frequencies)
BAG_CASES = {
    "sum-one-bag-spread": ("sum", [1, 1, 1, 2, 4], [0, 2], False, None, False),
    "sum-offsets": ("sum", [4, 4, 2, 1, 1, 1, 0], [0, 3, 5], False, None, False),
    "mean-offsets-empty-bag": ("mean", [4, 4, 2, 1, 1, 1, 0], [0, 3, 3, 5], False, None, False),
    "mean-2d": ("mean", [[4, 4, 2], [1, 1, 0]], None, False, None, False),
    "sum-per-sample-weights": ("sum", [5, 3, 3, 0, 5, 2, 2, 2], [0, 4, 6], False, None, True),
    "mean-padding": ("mean", [0, 2, 2, 1, 3, 3, 3, 0], [0, 2, 5], False, 2, False),
    "sum-padding-include-last-offset": ("sum", [3, 1, 1, 4, 0, 4, 4], [0, 3, 7], True, -2, True),
}


def _bag_forward_backward(lib, case, weight, per_sample_weights, direction):
    mode, indices, offsets, include_last_offset, padding_idx, weighted = case
    F = torch.nn.functional if lib is torch else mg.functional
    weight = lib.tensor(weight, requires_grad=True)
    sample_weights = lib.tensor(per_sample_weights, requires_grad=True) if weighted else None
    out = F.embedding_bag(lib.tensor(indices), weight, None if offsets is None else lib.tensor(offsets), mode=mode,
                          scale_grad_by_freq=True, include_last_offset=include_last_offset,
                          padding_idx=padding_idx, per_sample_weights=sample_weights)
    (out * lib.tensor(direction)).sum().backward()
    return [out.detach().numpy(), weight.grad.numpy()] + ([sample_weights.grad.numpy()] if weighted else [])


def _bag_arrays(case):
    rng = np.random.default_rng(0)
    indices, offsets, include_last_offset = case[1], case[2], case[3]
    bags = len(indices) if offsets is None else len(offsets) - include_last_offset
    return (rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(np.shape(indices)).astype(np.float32),
            rng.standard_normal((bags, 3)).astype(np.float32))


@pytest.mark.parametrize("name", BAG_CASES)
def test_embedding_bag_scale_grad_by_freq_matches_torch(name):
    """Values and gradients as torch's CPU kernel gives them (its scaling is no derivative, so no gradcheck)."""
    case = BAG_CASES[name]
    arrays = _bag_arrays(case)
    theirs, ours = (_bag_forward_backward(lib, case, *arrays) for lib in (torch, mg))
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_embedding_bag_max_refuses_scale_grad_by_freq():
    assert_raises_as_torch(
        lambda: torch.nn.functional.embedding_bag(torch.tensor([1, 2]), torch.ones(3, 2), torch.tensor([0]),
                                                  mode="max", scale_grad_by_freq=True),
        lambda: mg.functional.embedding_bag(mg.tensor([1, 2]), mg.ones(3, 2), mg.tensor([0]), mode="max",
                                            scale_grad_by_freq=True))


def test_embedding_bag_scale_grad_by_freq_gpu_path_matches_cpu(gpu_path):
    case = BAG_CASES["sum-padding-include-last-offset"]
    weight, sample_weights, direction = _bag_arrays(case)
    results = []
    for device in ("cpu", "gpu"):
        mode, indices, offsets, include_last_offset, padding_idx, _ = case
        w = mg.tensor(weight, requires_grad=True, device=device)
        p = mg.tensor(sample_weights, requires_grad=True, device=device)
        out = mg.functional.embedding_bag(mg.tensor(indices, device=device), w, mg.tensor(offsets, device=device),
                                          mode=mode, scale_grad_by_freq=True, include_last_offset=include_last_offset,
                                          padding_idx=padding_idx, per_sample_weights=p)
        (out * mg.tensor(direction, device=device)).sum().backward()
        results.append((out.numpy(), w.grad.numpy(), p.grad.numpy()))
    for ours, reference in zip(*results):
        assert relative_error(ours, reference) <= 1e-5
