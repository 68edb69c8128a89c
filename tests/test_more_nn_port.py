"""torch.nn classes and functional ops of ported code: EmbeddingBag, the Lazy modules, RReLU, gumbel_softmax,
pdist, Buffer and the pooling aliases. torch is the oracle: each case is written once against the shared API and
run in both libraries."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mF
import minigrad.nn as mnn
from minigrad import parallel
from conftest import assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")
tF = torch.nn.functional
from test_more_layers import _rng, _run  # noqa: E402 (the shared runner: fn(lib, F, *tensors) on either library)


def _assert_matches_torch(fn, *arrays):
    ours, theirs = (_run(lib, fn, arrays) for lib in (mg, torch))
    assert ours[1] == theirs[1] and ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    for grad, expected in zip(ours[2], theirs[2]):
        assert (grad is None) == (expected is None)
        if expected is not None:
            np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


def _gradcheck(fn, *arrays):
    tensors = [mg.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a, requires_grad=a.dtype.kind == "f")
               for a in arrays]
    floats = [t for t in tensors if t.requires_grad]

    def call(*xs):
        given = iter(xs)
        return fn(mg, mF, *[next(given) if t.requires_grad else t for t in tensors])
    assert mg.gradcheck(call, floats)


# ---- EmbeddingBag ---------------------------------------------------------------------------------------------
TABLE = _rng(2).standard_normal((6, 4)).astype(np.float32)
# ties: small integers as floats, so max must send each column's gradient to the first row holding its maximum
TIED_TABLE = np.round(_rng(3).standard_normal((6, 4))).astype(np.float32)
BAG_INDICES = np.array([0, 2, 2, 5, 1, 3, 0, 4])
OFFSETS = np.array([0, 3, 3, 6])  # an empty bag among them
# include_last_offset's: the end of the last bag too (with entries past it, torch's backward reads memory it never
# wrote, so its gradients there change from run to run)
OFFSETS_WITH_END = np.array([0, 3, 3, 6, 8])
SAMPLE_WEIGHTS = _rng(4).standard_normal(8).astype(np.float32)


def _bag(**options):
    return lambda lib, F, w, i, o: F.embedding_bag(i, w, o, **options)


def _bag_2d(**options):
    return lambda lib, F, w, i: F.embedding_bag(i.reshape(2, 4), w, **options)


EMBEDDING_BAG_CASES = {
    "sum": (_bag(mode="sum"), TABLE, BAG_INDICES, OFFSETS),
    "mean": (_bag(mode="mean"), TABLE, BAG_INDICES, OFFSETS),
    "max_ties": (_bag(mode="max"), TIED_TABLE, BAG_INDICES, OFFSETS),
    "per_sample_weights_padding": (lambda lib, F, w, p, i, o: F.embedding_bag(i, w, o, mode="sum", padding_idx=2,
                                                                              per_sample_weights=p),
                                   TABLE, SAMPLE_WEIGHTS, BAG_INDICES, OFFSETS),
    "sum_include_last_offset": (_bag(mode="sum", include_last_offset=True), TABLE, BAG_INDICES, OFFSETS_WITH_END),
    "mean_padding_include_last_offset": (_bag(mode="mean", padding_idx=0, include_last_offset=True), TABLE,
                                         BAG_INDICES, OFFSETS_WITH_END),
    "max_2d_negative_padding": (_bag_2d(mode="max", padding_idx=-1), TIED_TABLE, np.array([5, 5, 1, 3, 0, 5, 5, 2])),
    "per_sample_weights_2d": (lambda lib, F, w, p, i: F.embedding_bag(i.reshape(2, 4), w, mode="sum",
                                                                      per_sample_weights=p.reshape(2, 4)),
                              TABLE, SAMPLE_WEIGHTS, BAG_INDICES),
    "sum_scale_grad_by_freq": (_bag(mode="sum", scale_grad_by_freq=True), TABLE, np.array([3, 3, 1, 2]),
                               np.array([0, 2])),
}


@pytest.mark.parametrize("name", EMBEDDING_BAG_CASES)
def test_embedding_bag_matches_torch(name):
    fn, *arrays = EMBEDDING_BAG_CASES[name]
    _assert_matches_torch(fn, *arrays)


@pytest.mark.parametrize("name", ["sum", "mean", "max_ties", "per_sample_weights_padding"])
def test_embedding_bag_gradcheck(name):
    fn, *arrays = EMBEDDING_BAG_CASES[name]
    if name == "max_ties":
        arrays[0] = TABLE  # distinct values: max is differentiable there
    _gradcheck(fn, *arrays)


EMBEDDING_BAG_ERRORS = {
    "no_offsets": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2)),
    "3d_input": lambda lib, F: F.embedding_bag(lib.tensor([[[0, 1]]]), lib.zeros(3, 2)),
    "1d_weight": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3), lib.tensor([0])),
    "bad_mode": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0]), mode="min"),
    "2d_offsets": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([[0]])),
    "first_offset": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([1])),
    "last_offset": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0, 3])),
    "index_range": lambda lib, F: F.embedding_bag(lib.tensor([0, 7]), lib.zeros(3, 2), lib.tensor([0])),
    "float_indices": lambda lib, F: F.embedding_bag(lib.tensor([0.0]), lib.zeros(3, 2), lib.tensor([0])),
    "padding_range": lambda lib, F: F.embedding_bag(lib.tensor([0]), lib.zeros(3, 2), lib.tensor([0]),
                                                    padding_idx=3),
    "weights_shape": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0]),
                                                    mode="sum", per_sample_weights=lib.ones(3)),
    "weights_mode": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0]),
                                                   mode="max", per_sample_weights=lib.ones(2)),
    "weights_dtype": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0]),
                                                    mode="sum", per_sample_weights=lib.ones(2).double()),
    "max_scale_grad": lambda lib, F: F.embedding_bag(lib.tensor([0, 1]), lib.zeros(3, 2), lib.tensor([0]),
                                                     mode="max", scale_grad_by_freq=True),
}


@pytest.mark.parametrize("name", EMBEDDING_BAG_ERRORS)
def test_embedding_bag_errors_as_torch(name):
    call = EMBEDDING_BAG_ERRORS[name]
    assert_raises_as_torch(lambda: call(torch, tF), lambda: call(mg, mF), first_line=True)  # torch's adds a type


def test_embedding_bag_offsets_with_2d_input_name_their_type():
    with pytest.raises(ValueError, match="^if input is 2D, then offsets has to be None, as input is treated is a "
                                         "mini-batch of fixed length sequences. However, found offsets of type "
                                         "<class 'minigrad.tensor.Tensor'>$"):
        mF.embedding_bag(mg.tensor([[0, 1]]), mg.zeros(3, 2), mg.tensor([0]))


def test_embedding_bag_module_as_torch():
    ours, theirs = mnn.EmbeddingBag(6, 4, mode="max", padding_idx=-2), torch.nn.EmbeddingBag(6, 4, mode="max",
                                                                                                padding_idx=-2)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.weight.shape == tuple(theirs.weight.shape) and not ours.weight.numpy()[4].any()
    ours.load_state_dict({"weight": mg.tensor(TABLE)})
    theirs.load_state_dict({"weight": torch.tensor(TABLE)})
    np.testing.assert_allclose(ours(mg.tensor(BAG_INDICES), mg.tensor(OFFSETS)).detach().numpy(),
                               theirs(torch.tensor(BAG_INDICES), torch.tensor(OFFSETS)).detach().numpy())
    pretrained = mnn.EmbeddingBag.from_pretrained(mg.tensor(TABLE), mode="sum")
    assert not pretrained.weight.requires_grad and pretrained.mode == "sum"
    np.testing.assert_array_equal(pretrained.weight.numpy(), TABLE)
    draws = mnn.EmbeddingBag(200, 50).weight.numpy()  # N(0, 1), as torch's
    assert abs(draws.mean()) < 0.03 and abs(draws.std() - 1) < 0.03



# ---- the Lazy modules -----------------------------------------------------------------------------------------
LAZY_CASES = {  # name: (arguments, input shape)
    "LazyLinear": ((3,), (2, 4, 5)),
    "LazyConv1d": ((4, 3), (5, 7)),  # unbatched
    "LazyConv2d": ((4, 3), (2, 6, 5, 5)),
    "LazyConv3d": ((2, 2), (1, 2, 3, 3, 3)),
    "LazyConvTranspose1d": ((2, 3), (2, 3, 5)),
    "LazyConvTranspose2d": ((4, 3, 2), (1, 6, 3, 3)),
    "LazyConvTranspose3d": ((2, 2), (1, 3, 2, 2, 2)),
    "LazyBatchNorm1d": ((), (4, 3)),
    "LazyBatchNorm2d": ((), (2, 3, 2, 2)),
    "LazyBatchNorm3d": ((), (2, 3, 2, 2, 2)),
    "LazyInstanceNorm1d": ((), (2, 3, 4)),
    "LazyInstanceNorm2d": ((), (2, 3, 4, 4)),
    "LazyInstanceNorm3d": ((), (2, 3, 2, 2, 2)),
}


@pytest.mark.parametrize("name", LAZY_CASES)
def test_lazy_module_becomes_torchs_class(name):
    arguments, shape = LAZY_CASES[name]
    ours, theirs = getattr(mnn, name)(*arguments), getattr(torch.nn, name)(*arguments)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.has_uninitialized_params() and isinstance(ours.weight, mnn.UninitializedParameter)
    x = _rng(5).standard_normal(shape).astype(np.float32)
    out, expected = ours(mg.tensor(x)), theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name.removeprefix("Lazy")
    assert repr(ours) == repr(theirs) and out.shape == tuple(expected.shape)
    for (key, value), (their_key, their_value) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert key == their_key and value.shape == tuple(their_value.shape) and value.dtype == their_value.numpy().dtype
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    np.testing.assert_allclose(ours(mg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_lazy_linear_draws_as_linear_and_an_earlier_optimizer_steps_it():
    lazy = mnn.LazyLinear(3)
    weight = lazy.weight
    optimizer = mg.optim.SGD(lazy.parameters(), lr=0.1, momentum=0.9)
    x = mg.randn(2, 5)
    mg.manual_seed(7)
    lazy(x).sum().backward()
    mg.manual_seed(7)
    reference = mnn.Linear(5, 3)
    assert type(lazy) is mnn.Linear and lazy.weight is weight and type(weight) is mnn.Parameter
    np.testing.assert_array_equal(lazy.weight.numpy(), reference.weight.numpy())
    np.testing.assert_array_equal(lazy.bias.numpy(), reference.bias.numpy())
    before = weight.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(weight.numpy(), before - 0.1 * weight.grad.numpy(), rtol=1e-6)


def test_lazy_modules_take_a_state_dicts_shapes_and_refuse_a_shape_before():
    lazy = mnn.LazyConv2d(4, 3, bias=False)
    assert list(lazy.state_dict()) == ["weight"] and repr(lazy.weight) == "<UninitializedParameter>"
    assert_raises_as_torch(lambda: torch.nn.LazyConv2d(4, 3).weight.shape, lambda: lazy.weight.shape)
    assert_raises_as_torch(lambda: torch.nn.LazyConv2d(4, 3)(torch.zeros(3, 3)),
                           lambda: mnn.LazyConv2d(4, 3)(mg.zeros(3, 3)))
    state = mnn.Conv2d(2, 4, 3, bias=False).state_dict()
    lazy.load_state_dict(state)
    np.testing.assert_array_equal(lazy.weight.numpy(), state["weight"])
    assert lazy(mg.zeros(1, 2, 5, 5)).shape == (1, 4, 3, 3) and type(lazy) is mnn.Conv2d
    assert repr(mnn.UninitializedBuffer()) == "<UninitializedBuffer>"
    untouched = mnn.LazyLinear(2)
    untouched.load_state_dict(mnn.LazyLinear(2).state_dict())  # uninitialized tensors load as uninitialized
    assert untouched.has_uninitialized_params() and untouched(mg.ones(1, 3)).shape == (1, 2)
    norm = mnn.LazyBatchNorm2d(affine=False, dtype=mg.float64)
    assert list(norm.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    norm(mg.ones(2, 3, 1, 1, dtype=mg.float64))
    assert norm.running_var.dtype == mg.float64 and norm.num_batches_tracked.item() == 1


# ---- RReLU, gumbel_softmax, pdist -----------------------------------------------------------------------------
SPREAD = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
DUPLICATE_ROWS = np.concatenate([TABLE[:3], TABLE[1:2]])  # rows 1 and 3 equal: a distance of 0

RANDOMIZED_CASES = {
    "rrelu_eval": (lambda lib, F, x: F.rrelu(x, 0.1, 0.4), SPREAD),
    "rrelu_module_eval": (lambda lib, F, x: lib.nn.RReLU(0.2, 0.3).eval()(x), SPREAD),
    "pdist": (lambda lib, F, x: F.pdist(x), TABLE),
    "pdist_p1_zero_distance": (lambda lib, F, x: F.pdist(x, 1), DUPLICATE_ROWS),
    "pdist_p2_zero_distance": (lambda lib, F, x: F.pdist(x), DUPLICATE_ROWS),
    "pdist_inf": (lambda lib, F, x: F.pdist(x, float("inf")), TABLE),
    "pdist_p3": (lambda lib, F, x: F.pdist(x, 3), TABLE),
}


@pytest.mark.parametrize("name", RANDOMIZED_CASES)
def test_rrelu_and_pdist_match_torch(name):
    fn, *arrays = RANDOMIZED_CASES[name]
    _assert_matches_torch(fn, *arrays)


def _seeded(fn, seed=3):
    """fn with minigrad's generator seeded before each call, so that a gradcheck's calls draw alike."""
    def call(*args):
        mg.manual_seed(seed)
        return fn(*args)
    return call


@pytest.mark.parametrize("fn", [lambda lib, F, x: F.pdist(x, 2), lambda lib, F, x: F.pdist(x, 1.5),
                                _seeded(lambda lib, F, x: F.rrelu(x, training=True)),
                                _seeded(lambda lib, F, x: F.gumbel_softmax(x, tau=0.7, dim=0))])
def test_pdist_rrelu_gumbel_softmax_gradcheck(fn):
    _gradcheck(fn, TABLE)


def test_rrelu_training_slopes_are_drawn_and_are_the_gradient():
    x = mg.tensor(SPREAD, requires_grad=True)
    mg.manual_seed(0)
    out = mF.rrelu(x, 0.1, 0.4, training=True)
    out.sum().backward()
    negative = SPREAD < 0
    slopes = out.detach().numpy()[negative] / SPREAD[negative]
    assert ((slopes >= 0.1) & (slopes <= 0.4)).all() and len(np.unique(slopes)) == negative.sum()
    np.testing.assert_allclose(x.grad.numpy()[negative], slopes, rtol=1e-6)
    np.testing.assert_array_equal(x.grad.numpy()[~negative], 1)
    np.testing.assert_array_equal(out.detach().numpy()[~negative], SPREAD[~negative])
    mg.manual_seed(0)
    assert np.array_equal(mnn.RReLU(0.1, 0.4)(mg.tensor(SPREAD)).numpy(), out.detach().numpy())  # the module trains
    many = mF.rrelu(-mg.ones(20000), training=True).numpy()
    assert abs(-many.mean() - (1 / 8 + 1 / 3) / 2) < 3e-3 and -many.max() >= 1 / 8 and -many.min() <= 1 / 3
    inplace = mg.tensor(SPREAD)
    assert mF.rrelu_(inplace) is inplace
    np.testing.assert_allclose(inplace.numpy(), tF.rrelu(torch.tensor(SPREAD)).numpy(), rtol=1e-6)
    assert repr(mnn.RReLU(0.1, 0.3, True)) == repr(torch.nn.RReLU(0.1, 0.3, True))


def test_rrelu_training_on_an_input_the_threads_split():
    """Each element keeps its own slope where the work is cut into blocks for the worker threads (a slope array
    passed whole beside a block of the input once failed to broadcast)."""
    values = np.random.default_rng(0).standard_normal(2 * parallel.SPLIT_MIN_ELEMENTS).astype(np.float32)
    x = mg.tensor(values, requires_grad=True)
    out = mF.rrelu(x, training=True)
    out.sum().backward()
    negative = values < 0
    slopes = out.detach().numpy()[negative] / values[negative]
    assert slopes.min() >= 1 / 8 and slopes.max() <= 1 / 3 and slopes.std() > 0.05
    np.testing.assert_allclose(x.grad.numpy()[negative], slopes, rtol=1e-6)
    np.testing.assert_array_equal(out.detach().numpy()[~negative], values[~negative])


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_is_torchs_for_the_same_draws(hard):
    """torch's formula, on the Gumbel noise minigrad drew (the same seed, the same draws), straight-through
    gradient included."""
    logits = _rng(6).standard_normal((3, 5)).astype(np.float32)
    ours = mg.tensor(logits, requires_grad=True)
    mg.manual_seed(11)
    out = mF.gumbel_softmax(ours, tau=0.5, hard=hard, dim=0)
    mg.manual_seed(11)
    gumbels = -torch.tensor(mg.random.generator().standard_exponential(logits.shape)).log().float()
    theirs = torch.tensor(logits, requires_grad=True)
    soft = ((theirs + gumbels) / 0.5).softmax(0)
    expected = (torch.zeros_like(soft).scatter_(0, soft.argmax(0, keepdim=True), 1.0) - soft.detach() + soft
                if hard else soft)
    direction = _rng(1).standard_normal(logits.shape).astype(np.float32)
    (out * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
    if hard:
        assert (out.detach().numpy().sum(0) == 1).all() and set(np.unique(out.detach().numpy())) == {0.0, 1.0}


RANDOMIZED_ERRORS = {
    "rrelu_bounds": lambda lib, F: F.rrelu(lib.ones(3), 0.5, 0.2, training=True),
    "pdist_3d": lambda lib, F: F.pdist(lib.ones(2, 3, 3)),
    "pdist_negative_p": lambda lib, F: F.pdist(lib.ones(3, 3), -1),
    "pdist_integers": lambda lib, F: F.pdist(lib.ones(3, 3).int()),
}


@pytest.mark.parametrize("name", RANDOMIZED_ERRORS)
def test_rrelu_and_pdist_errors_as_torch(name):
    call = RANDOMIZED_ERRORS[name]
    assert_raises_as_torch(lambda: call(torch, tF), lambda: call(mg, mF))


# ---- CTCLoss --------------------------------------------------------------------------------------------------
LOGITS = _rng(8).standard_normal((7, 3, 5)).astype(np.float32)
PADDED_TARGETS = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])  # repeats need a blank between; the last is empty
CONCATENATED_TARGETS = np.array([1, 2, 2, 3, 1])
TARGET_LENGTHS, INPUT_LENGTHS = [3, 2, 0], [7, 5, 6]


def _ctc(targets, input_lengths=INPUT_LENGTHS, target_lengths=TARGET_LENGTHS, normalize=True, **options):
    return lambda lib, F, x: F.ctc_loss(x.log_softmax(-1) if normalize else x, lib.tensor(targets), input_lengths,
                                        target_lengths, **options)


CTC_CASES = {
    "mean_padded": (_ctc(PADDED_TARGETS), LOGITS),
    "none_concatenated": (_ctc(CONCATENATED_TARGETS, reduction="none"), LOGITS),
    "sum_blank_raw_log_probs": (_ctc(PADDED_TARGETS, normalize=False, blank=4, reduction="sum"), LOGITS),
    "zero_infinity": (_ctc(PADDED_TARGETS, [3, 5, 6], reduction="none", zero_infinity=True), LOGITS),
    "tensor_lengths": (lambda lib, F, x: F.ctc_loss(x.log_softmax(2), lib.tensor(PADDED_TARGETS),
                                                    lib.tensor(INPUT_LENGTHS), lib.tensor(TARGET_LENGTHS)), LOGITS),
    "unbatched": (lambda lib, F, x: F.ctc_loss(x[:, 0].log_softmax(1), lib.tensor([1, 2, 2]), [6], [3],
                                               reduction="none"), LOGITS),
    "module": (lambda lib, F, x: lib.nn.CTCLoss(blank=1)(x.log_softmax(2), lib.tensor([[2, 3], [3, 3], [4, 2]]),
                                                          INPUT_LENGTHS, [2, 2, 1]), LOGITS),
}


@pytest.mark.parametrize("name", CTC_CASES)
def test_ctc_loss_matches_torch(name):
    fn, *arrays = CTC_CASES[name]
    _assert_matches_torch(fn, *arrays)


def test_ctc_loss_infinite_without_zero_infinity_and_gradcheck():
    out = mF.ctc_loss(mg.tensor(LOGITS).log_softmax(2), mg.tensor(PADDED_TARGETS), [3, 5, 6], TARGET_LENGTHS,
                      reduction="none")
    expected = tF.ctc_loss(torch.tensor(LOGITS).log_softmax(2), torch.tensor(PADDED_TARGETS), [3, 5, 6],
                           TARGET_LENGTHS, reduction="none")
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5)
    assert np.isinf(out.numpy()[0])
    _gradcheck(_ctc(PADDED_TARGETS, [4, 4, 3]), LOGITS[:4])
    _gradcheck(_ctc(CONCATENATED_TARGETS, [4, 3, 4], reduction="sum"), LOGITS[:4])


CTC_ERRORS = {
    "input_length": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2], [1, 2]]), [7, 6], [2, 2]),
    "target_rows": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2]]), [6, 6], [2, 2]),
    "target_size": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2], [1, 2]]), [6, 6], [3, 2]),
    "concatenated_size": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([1, 2, 3]), [6, 6], [3, 2]),
    "target_lengths": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2]]), [6, 6], [2]),
    "input_lengths": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2]]), [6], [2, 2]),
    "blank": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2], [1, 2]]), [6, 6], [2, 2], blank=4),
    "reduction": lambda lib, F: F.ctc_loss(lib.zeros(6, 2, 4), lib.tensor([[1, 2]]), [6, 6], [2, 2],
                                           reduction="max"),
    "dims": lambda lib, F: F.ctc_loss(lib.zeros(6), lib.tensor([[1, 2]]), [6, 6], [2, 2]),
}


@pytest.mark.parametrize("name", CTC_ERRORS)
def test_ctc_loss_errors_as_torch(name):
    call = CTC_ERRORS[name]
    assert_raises_as_torch(lambda: call(torch, tF), lambda: call(mg, mF))



# ---- FractionalMaxPool ----------------------------------------------------------------------------------------
SAMPLES_2D = _rng(11).random((2, 3, 2)).astype(np.float32)
SAMPLES_3D = _rng(12).random((1, 2, 3)).astype(np.float32)
TIED_IMAGE = np.round(_rng(13).standard_normal((2, 3, 11, 9))).astype(np.float32)


def _fractional(dims, samples, **options):
    def pool(lib, F, x):
        drawn = lib.tensor(samples, device=x.device).to(x.dtype)
        out, indices = getattr(F, f"fractional_max_pool{dims}d")(x, return_indices=True, _random_samples=drawn,
                                                                 **options)
        assert indices.dtype == (mg.int64 if lib is mg else torch.int64)
        return out + 0 * indices.to(out.dtype)  # the indices' values checked below, through the output's
    return pool


FRACTIONAL_CASES = {
    "2d_ties": (_fractional(2, SAMPLES_2D, kernel_size=3, output_size=(5, 4)), TIED_IMAGE),
    "2d_ratio_unbatched": (_fractional(2, SAMPLES_2D[:1], kernel_size=(2, 3), output_ratio=(0.5, 0.5)),
                           TIED_IMAGE[0]),
    "3d": (_fractional(3, SAMPLES_3D, kernel_size=2, output_size=(3, 4, 5)),
           _rng(14).standard_normal((1, 2, 7, 8, 9)).astype(np.float32)),
}


@pytest.mark.parametrize("name", FRACTIONAL_CASES)
def test_fractional_max_pool_matches_torch(name):
    fn, *arrays = FRACTIONAL_CASES[name]
    _assert_matches_torch(fn, *arrays)


def test_fractional_max_pool_indices_module_and_gradcheck():
    x = _rng(15).standard_normal((2, 3, 11, 9)).astype(np.float32)
    ours = mnn.FractionalMaxPool2d(3, output_size=(5, 4), return_indices=True, _random_samples=mg.tensor(SAMPLES_2D))
    theirs = torch.nn.FractionalMaxPool2d(3, output_size=(5, 4), return_indices=True,
                                          _random_samples=torch.tensor(SAMPLES_2D))
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    for mine, reference in zip(ours(mg.tensor(x)), theirs(torch.tensor(x))):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())
    out, indices = mF.fractional_max_pool3d_with_indices(mg.tensor(x[:1]), 2, output_ratio=(0.5, 0.5, 0.5),
                                                         return_indices=False)
    expected = tF.fractional_max_pool3d_with_indices(torch.tensor(x[:1]), 2, output_ratio=(0.5, 0.5, 0.5))
    assert out.shape == tuple(expected[0].shape) and indices.shape == tuple(expected[1].shape)
    _gradcheck(_fractional(2, SAMPLES_2D[:1, :2], kernel_size=2, output_size=(3, 3)), x[:1, :2, :6, :5])


def test_fractional_max_pool_draws_its_windows_from_minigrads_generator():
    x = mg.tensor(_rng(16).standard_normal((4, 3, 20, 20)).astype(np.float32))
    mg.manual_seed(5)
    out, indices = mF.fractional_max_pool2d(x, 3, output_size=(8, 8), return_indices=True)
    mg.manual_seed(5)
    again = mnn.FractionalMaxPool2d(3, output_ratio=0.4)(x)
    np.testing.assert_array_equal(again.numpy(), out.numpy())
    np.testing.assert_array_equal(np.take_along_axis(x.numpy().reshape(4, 3, -1), indices.numpy().reshape(4, 3, -1),
                                                     axis=2).reshape(out.shape), out.numpy())
    rows = indices.numpy() // 20
    assert len({tuple(plane) for plane in rows.max(axis=-1).reshape(12, 8)}) > 1  # planes draw their own windows


FRACTIONAL_ERRORS = {
    "no_size": lambda lib, F: F.fractional_max_pool2d(lib.zeros(1, 2, 5, 5), 2),
    "pool_too_large": lambda lib, F: F.fractional_max_pool2d(lib.zeros(1, 2, 5, 5), 3, output_size=4),
    "pool_too_large_3d": lambda lib, F: F.fractional_max_pool3d(lib.zeros(1, 2, 5, 5), 2, output_size=2),
    "sample_channels": lambda lib, F: F.fractional_max_pool2d(lib.zeros(1, 2, 5, 5), 2, output_size=2,
                                                              _random_samples=lib.zeros(1, 1, 2)),
    "sample_dtype": lambda lib, F: F.fractional_max_pool2d(lib.zeros(1, 2, 5, 5), 2, output_size=2,
                                                           _random_samples=lib.zeros(1, 2, 2).double()),
    "long_ratio": lambda lib, F: F.fractional_max_pool2d(lib.zeros(1, 2, 5, 5), 2, output_ratio=(0.5, 0.5, 0.5)),
    "module_ratio": lambda lib, F: lib.nn.FractionalMaxPool2d(2, output_ratio=1.5),
    "module_both": lambda lib, F: lib.nn.FractionalMaxPool3d(2, 3, 0.5),
    "module_neither": lambda lib, F: lib.nn.FractionalMaxPool3d(2),
}


@pytest.mark.parametrize("name", FRACTIONAL_ERRORS)
def test_fractional_max_pool_errors_as_torch(name):
    call = FRACTIONAL_ERRORS[name]
    assert_raises_as_torch(lambda: call(torch, tF), lambda: call(mg, mF))

# ---- Buffer, NLLLoss2d, the pooling aliases -------------------------------------------------------------------
def _holder(lib):
    class Holder(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = lib.nn.Buffer(lib.ones(2))
            self.scratch = lib.nn.Buffer(lib.zeros(1), persistent=False)
            self.plain = lib.zeros(3)
    return Holder()


def test_buffer_registers_as_torchs():
    ours, theirs = _holder(mg), _holder(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["kept"]
    assert [name for name, _ in ours.named_buffers()] == [name for name, _ in theirs.named_buffers()]
    assert isinstance(ours.kept, mnn.Buffer) and not isinstance(ours.plain, mnn.Buffer) and type(ours.kept) is mg.Tensor
    ours.kept = mg.full((2,), 5.0)  # a buffer stays one
    assert ours.state_dict()["kept"].tolist() == [5.0, 5.0]
    ours.plain = mnn.Buffer(mg.ones(3, requires_grad=True))
    assert "plain" in ours.state_dict() and ours.plain.requires_grad


def test_nll_loss_2d_is_nll_loss_with_torchs_warning():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        loss = mnn.NLLLoss2d(ignore_index=1)
    assert isinstance(loss, mnn.NLLLoss)
    scores, target = _rng(9).standard_normal((2, 3, 4, 4)).astype(np.float32), _rng(9).integers(0, 3, (2, 4, 4))
    with pytest.warns(FutureWarning):
        expected = torch.nn.NLLLoss2d(ignore_index=1)(torch.tensor(scores), torch.tensor(target))
    np.testing.assert_allclose(loss(mg.tensor(scores), mg.tensor(target)).numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, shape, arguments", [
    ("max_pool1d_with_indices", (2, 3, 6), (2,)), ("max_pool2d_with_indices", (2, 4, 5), (2, 1)),
    ("max_pool3d_with_indices", (1, 2, 4, 4, 4), (2,)), ("adaptive_max_pool1d_with_indices", (2, 5), (3,)),
    ("adaptive_max_pool2d_with_indices", (1, 2, 5, 5), ((2, 3), False)),
    ("adaptive_max_pool3d_with_indices", (2, 3, 4, 4), (2,))])
def test_pool_with_indices_aliases(name, shape, arguments):
    x = _rng(10).standard_normal(shape).astype(np.float32)
    ours, theirs = getattr(mF, name)(mg.tensor(x), *arguments), getattr(tF, name)(torch.tensor(x), *arguments)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())

# ---- the GPU path ---------------------------------------------------------------------------------------------
GPU_CASES = {**{name: EMBEDDING_BAG_CASES[name] for name in ("mean", "max_ties", "per_sample_weights_padding")},
             "pdist": RANDOMIZED_CASES["pdist_p2_zero_distance"],
             "rrelu": (_seeded(lambda lib, F, x: F.rrelu(x, training=True)), SPREAD),
             "gumbel_softmax_hard": (_seeded(lambda lib, F, x: F.gumbel_softmax(x, hard=True)), SPREAD),
             "ctc_loss": CTC_CASES["none_concatenated"], "ctc_loss_zero_infinity": CTC_CASES["zero_infinity"],
             "fractional_max_pool3d": FRACTIONAL_CASES["3d"]}


def test_gpu_path_matches_cpu(gpu_path):
    for name, (fn, *arrays) in GPU_CASES.items():
        cpu, gpu = (_run(mg, fn, arrays, device) for device in ("cpu", "gpu"))
        assert gpu[1] == cpu[1], name
        for ours, reference in zip([gpu[0], *gpu[2]], [cpu[0], *cpu[2]]):
            assert (ours is None) == (reference is None), name
            if reference is not None:
                assert relative_error(ours, reference) <= 1e-5, name
