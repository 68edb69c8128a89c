"""Cases where minigrad once disagreed with torch, found by differential fuzzing of the losses, indexing, optimizers,
schedulers and modules, each reduced to its smallest form: ctc_loss of a batch whose targets are all empty (its
backward recursion's jumps took two places where the extended labels have one), and of an unbatched input, whose
targets torch takes as given, (S,) concatenated or (1, S) padded; nll_loss's (and cross_entropy's) errors in torch's
order and words, a weight that requires grad refused by the name of torch's kernel (nll_loss2d's for spatial inputs)
before the kernel's checks, and that kernel's words for a weight of the wrong size; cosine_embedding_loss's gradient
at a zero input in float64, which torch's epsilon, a C float's 1e-12, sets; mse_loss, l1_loss and smooth_l1_loss of a
0-d operand of a wider dtype, which torch's expanding promotes; kl_div of integers; the errors of
binary_cross_entropy's weight that does not broadcast and of cross_entropy's 0-d input with probabilities; indexing's
errors in torch's words (NumPy's before: a mask of another shape, tensors that do not broadcast, too many indices,
positions along an empty dim), index tensors of int8 or int16, which torch refuses, take and put_ of an empty tensor,
masked_fill's mask dtype; forward hooks registered with always_call, which run where the call raises; and the errors
of a with_kwargs pre-hook's result, of load_state_dict given no mapping and of packing only empty sequences; a number
beyond float32's range given to full, fill_, masked_fill, clamp and others, which torch refuses (NumPy made it inf),
an int beyond 64 bits, and a number written into a tensor, or given to where beside one, that its dtype cannot hold
(NumPy wrapped it); the number arguments of lerp, addcmul, addcdiv, linspace, logspace, threshold, leaky_relu, elu
and softplus alike, float16's read in float32 where torch computes in it, and the values of those it takes;
index_reduce_, which was missing beside index_reduce."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import (assert_equals_torchs, assert_matches_torch, assert_raises_as_torch, differentiable_case_tests,
                      normal, torch_cases)

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings(r"ignore:index_reduce\(\) is in beta:UserWarning")  # torch's, of its own op


def ctc(targets, input_lengths, target_lengths, reduction="none"):
    """ctc_loss of the log_softmax of its input (T, N, C), or (T, C) unbatched, for fixed targets and lengths."""
    return lambda lib, x: lib.nn.functional.ctc_loss(x.log_softmax(-1), lib.tensor(targets), lib.tensor(input_lengths),
                                                     lib.tensor(target_lengths), reduction=reduction)


CASES = {
    "ctc_loss: every target empty": (ctc([[1], [1]], [4, 1], [0, 0]), [normal(4, 2, 2)]),
    "ctc_loss: every target empty, no padding": (ctc(np.zeros((2, 0), np.int64), [3, 2], [0, 0], "sum"),
                                                 [normal(3, 2, 3)]),
    "ctc_loss: unbatched, targets padded (1, S)": (ctc([[1, 2, 3]], 5, 2), [normal(5, 4)]),
    "ctc_loss: unbatched, targets concatenated (S,)": (ctc([1, 2], 5, [2], "mean"), [normal(5, 4)]),
    "cosine_embedding_loss: a zero input": (
        lambda lib, x, y: lib.nn.functional.cosine_embedding_loss(x * 0, y, lib.tensor([1.0, -1.0], dtype=x.dtype,
                                                                                        device=x.device)),
        [normal(2, 3), normal(2, 3)]),
    "index_reduce_: in place, as index_reduce": (
        lambda lib, x, y: (x * 1).index_reduce_(0, lib.tensor([1, 1], device=x.device), y, "prod"),
        [normal(2, 3), normal(2, 3)]),
}
test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(torch, CASES)


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("shapes", [((3,), ()), ((), (3,)), ((2, 1), (3,))], ids=["0-d target", "0-d input", "both"])
def test_losses_of_a_difference_promote_a_0d_operand_as_torchs_expanded_one(name, shapes):
    """torch expands both operands to one shape first: a 0-d float64 target makes a float32 input's loss float64,
    and its gradients those of the operands' dtypes."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shapes[0]).astype(np.float32), rng.standard_normal(shapes[1])]
    results = []
    for lib in (torch, mg):
        input, target = (lib.tensor(array, requires_grad=True) for array in arrays)
        loss = getattr(lib.nn.functional, name)(input, target, reduction="sum")
        loss.backward()
        results.append([np.asarray(loss.tolist()), np.asarray(input.grad.tolist(), np.float32),
                        np.asarray(target.grad.tolist())] + [str(t.dtype).replace("torch.", "")
                                                             for t in (loss, input.grad, target.grad)])
    ours, theirs = results
    assert ours[3:] == theirs[3:]
    for mine, reference in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(mine, reference, rtol=1e-6)


@pytest.mark.parametrize("dtypes", [(np.float32, np.int64), (np.int64, np.float32), (np.float32, bool),
                                    (np.complex64, np.float32)], ids=["int target", "int input", "bool target",
                                                                      "complex input"])
def test_kl_div_of_integers_or_complex_numbers_raises_torchs_error(dtypes):
    def call(lib):
        return lib.nn.functional.kl_div(*(lib.tensor(np.ones(2, dtype)) for dtype in dtypes), reduction="sum")
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_ctc_loss_of_unbatched_targets_longer_than_their_length_raises_torchs_error():
    """(S,) targets of an unbatched input are the concatenation of one target: S must be its length."""
    log_probs = np.log(np.full((5, 4), 0.25, np.float32))
    assert_raises_as_torch(lambda: torch.nn.functional.ctc_loss(torch.tensor(log_probs), torch.tensor([1, 2, 3]),
                                                                torch.tensor(5), torch.tensor(2)),
                           lambda: mg.nn.functional.ctc_loss(mg.tensor(log_probs), mg.tensor([1, 2, 3]), mg.tensor(5),
                                                             mg.tensor(2)))


def test_cosine_embedding_loss_of_a_zero_input_matches_torch_in_float64():
    x, y = np.zeros((1, 2)), np.array([[1.0, 2.0]])
    grads = []
    for lib in (torch, mg):
        zero = lib.tensor(x, requires_grad=True)
        lib.nn.functional.cosine_embedding_loss(zero, lib.tensor(y), lib.tensor([1.0])).backward()
        grads.append(np.asarray(zero.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-13)


def nll_error(input_shape, target_shape, target_dtype=np.int64, weight_size=None, weight_requires_grad=False,
              call="nll_loss"):
    """A call of F.<call> (nll_loss or cross_entropy) on zeros of the given shapes, for either library."""
    def run(lib):
        weight = None if weight_size is None else lib.ones(weight_size, requires_grad=weight_requires_grad)
        return getattr(lib.nn.functional, call)(lib.zeros(input_shape), lib.tensor(np.zeros(target_shape,
                                                                                            target_dtype)),
                                                weight=weight)
    return run


NLL_ERRORS = {
    "weight requiring grad, 2-d": nll_error((2, 3), (2,), weight_size=3, weight_requires_grad=True),
    "weight requiring grad, 3-d: nll_loss2d's": nll_error((2, 3, 2), (2, 2), weight_size=3, weight_requires_grad=True),
    "weight requiring grad, 4-d, cross_entropy": nll_error((2, 3, 2, 2), (2, 2, 2), weight_size=3,
                                                           weight_requires_grad=True, call="cross_entropy"),
    "weight requiring grad before its size": nll_error((2, 3), (2,), weight_size=4, weight_requires_grad=True),
    "weight requiring grad before the target's dims": nll_error((2, 3), (2, 1), weight_size=3,
                                                                weight_requires_grad=True),
    "weight requiring grad before the target's dtype": nll_error((2, 3, 2), (2, 2), np.int32, weight_size=3,
                                                                 weight_requires_grad=True),
    "weight requiring grad before a 1-d target's size": nll_error((3,), (3,), weight_size=3,
                                                                  weight_requires_grad=True),
    "target's dtype before a 1-d target's size": nll_error((3,), (3,), np.int32),
    "weight's size, 3-d": nll_error((2, 3, 2), (2, 2), weight_size=4),
    "weight's size, 5-d, cross_entropy": nll_error((2, 3, 1, 1, 2), (2, 1, 1, 2), weight_size=4,
                                                   call="cross_entropy"),
    "target's dims, 4-d": nll_error((2, 3, 2, 2), (2, 1)),
    "target's size, 4-d": nll_error((2, 3, 2, 2), (2, 2, 3)),
}


@pytest.mark.parametrize("call", torch_cases(NLL_ERRORS))
def test_nll_loss_errors_come_in_torchs_order_and_words(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_nll_loss_of_a_4d_input_still_matches_torch():
    target = np.random.default_rng(0).integers(0, 3, (2, 2, 2))
    assert_matches_torch(torch, lambda lib, x: lib.nn.functional.nll_loss(x.log_softmax(1), lib.tensor(target)),
                         [np.random.default_rng(1).standard_normal((2, 3, 2, 2)).astype(np.float32)])


def index_error(shape, make_index, write=False):
    """x[index] (or x[index] = 1) of a zeros tensor of `shape`, the index made for either library."""
    def run(lib):
        tensor = lib.zeros(shape)
        if write:
            tensor[make_index(lib)] = 1.0
        return tensor[make_index(lib)]
    return run


def mask(lib, *shape):
    return lib.ones(shape, dtype=lib.bool)


INDEX_ERRORS = {
    "a mask of another size": index_error((2, 3, 4), lambda lib: mask(lib, 3)),
    "a mask of another size, written": index_error((2, 3, 4), lambda lib: mask(lib, 3), write=True),
    "a 2-d mask after a slice": index_error((2, 3, 4), lambda lib: (slice(0, 1), mask(lib, 3, 5))),
    "a mask after None and an int": index_error((2, 3, 4), lambda lib: (None, 0, mask(lib, 4))),
    "a mask after a 0-d bool": index_error((2, 3, 4), lambda lib: (lib.tensor(True), mask(lib, 3))),
    "a mask after an Ellipsis": index_error((2, 3, 4), lambda lib: (Ellipsis, mask(lib, 5))),
    "a mask after a 0-d int tensor": index_error((2, 3), lambda lib: (lib.tensor(1), mask(lib, 4))),
    "a list of bools of another size": index_error((2, 3), lambda lib: (slice(None), [True, True])),
    "a uint8 mask of another size": index_error((2, 3), lambda lib: lib.ones(3, dtype=lib.uint8)),
    "an int16 tensor": index_error((3, 4), lambda lib: lib.ones(2, dtype=lib.int16)),
    "an int8 tensor, written": index_error((3, 4), lambda lib: lib.ones(2, dtype=lib.int8), write=True),
    "a float tensor": index_error((3, 4), lambda lib: lib.ones(2)),
    "tensors that do not broadcast": index_error((3, 4), lambda lib: (lib.tensor([0, 1, 0]), lib.tensor([0, 1]))),
    "a mask beside positions that do not broadcast": index_error((2, 3), lambda lib: (mask(lib, 2),
                                                                                      lib.tensor([0, 1, 0]))),
    "too many indices": index_error((2, 0, 3), lambda lib: (0, 0, 0, 0)),
    "an int of a 0-d tensor": index_error((), lambda lib: 0),
    "a list of a 0-d tensor": index_error((), lambda lib: [0]),
    "positions along a dim of size 0": index_error((2, 0, 3), lambda lib: (slice(None), [0])),
    "take from an empty tensor": lambda lib: lib.take(lib.zeros(0, 2), lib.tensor([0])),
    "put_ into an empty tensor": lambda lib: lib.zeros(0, 2).put_(lib.tensor([0]), lib.ones(1)),
    "masked_fill of an int64 mask": lambda lib: lib.zeros(3).masked_fill(lib.ones(3, dtype=lib.int64), 1.0),
    # torch's in-place fill names the tensor first in its broadcast error, the out-of-place one the mask
    "masked_fill_ of a mask that does not broadcast": lambda lib: lib.zeros(2, 3).masked_fill_(
        lib.zeros(4, 3, dtype=lib.bool), 1.0),
    "masked_fill of a mask that does not broadcast": lambda lib: lib.zeros(2, 3).masked_fill(
        lib.zeros(4, 3, dtype=lib.bool), 1.0),
}


@pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8 is now deprecated:UserWarning")
@pytest.mark.parametrize("call", torch_cases(INDEX_ERRORS))
def test_indexing_errors_are_torchs(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_a_0d_tensor_of_any_integers_indexes_as_an_int():
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(mg.tensor(x)[mg.tensor(1, dtype=mg.int16)].numpy(),
                                  torch.tensor(x)[torch.tensor(1, dtype=torch.int16)].numpy())


def forward_hook_calls(lib, fail_at):
    """What the forward hooks of an Identity see, torch's always_call ones too, where the call fails at `fail_at`
    (a pre-hook, forward or a forward hook) and the error propagates."""
    calls = []

    def fail(*_):
        raise KeyError("fails")

    module = lib.nn.Identity()
    if fail_at == "pre-hook":
        module.register_forward_pre_hook(fail)
    if fail_at == "forward":
        module.forward = fail
    module.register_forward_hook(lambda _, args, output: calls.append(("plain", output is None)))
    if fail_at == "hook":
        module.register_forward_hook(fail)
    module.register_forward_hook(lambda _, args, kwargs, output: calls.append(("always", output is None, len(args))),
                                 with_kwargs=True, always_call=True)
    with pytest.raises(KeyError):
        module(lib.ones(1))
    return calls


@pytest.mark.parametrize("fail_at", ["pre-hook", "forward", "hook"])
def test_always_call_forward_hooks_run_where_the_call_raises_as_torchs(fail_at):
    assert forward_hook_calls(mg, fail_at) == forward_hook_calls(torch, fail_at)


def test_an_always_call_hooks_own_error_is_a_warning_beside_the_calls():
    for lib in (torch, mg):
        module = lib.nn.Identity()
        module.forward = lambda x: x[5]
        module.register_forward_hook(lambda *_: 1 / 0, always_call=True)
        with pytest.warns(UserWarning, match="silenced as another error was raised in forward: division by zero"):
            with pytest.raises(IndexError):
                module(lib.ones(1))


MODULE_ERRORS = {
    "a forward pre-hook with kwargs that returns other than a pair": lambda lib: (
        lambda module: (module.register_forward_pre_hook(lambda *_: 5, with_kwargs=True), module(lib.ones(1))))(
        lib.nn.Identity()),
    "load_state_dict of a list": lambda lib: lib.nn.Linear(1, 1).load_state_dict([1, 2]),
}


@pytest.mark.parametrize("call", torch_cases(MODULE_ERRORS))
def test_module_errors_are_torchs(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packing_only_empty_sequences_raises_torchs_error(enforce_sorted):
    def call(lib):
        return lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(0, 1, 2), [0], enforce_sorted=enforce_sorted)
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


NUMBERS_OUT_OF_RANGE = {
    "full": lambda lib: lib.full((2,), 1e300),
    "full, just past the largest float32": lambda lib: lib.full((1,), -3.5e38),
    "fill_": lambda lib: lib.zeros(2).fill_(1e300),
    "masked_fill": lambda lib: lib.zeros(2).masked_fill(lib.tensor([True, False]), 1e300),
    "index_fill": lambda lib: lib.zeros(2).index_fill(0, lib.tensor([0]), 1e300),
    "scatter of a value": lambda lib: lib.zeros(2).scatter(0, lib.tensor([0]), 1e300),
    "clamp": lambda lib: lib.zeros(2).clamp(min=-1e300),
    "add's alpha": lambda lib: lib.add(lib.zeros(2), lib.zeros(2), alpha=1e300),
    # a Python int beyond 64 bits: torch's OverflowError, where NumPy made an array of objects
    "full of an int beyond 64 bits": lambda lib: lib.full((2,), 10 ** 40),
    "full of a negative int beyond 64 bits": lambda lib: lib.full((2,), -10 ** 19),
    "full_like of an int beyond 64 bits": lambda lib: lib.full_like(lib.ones(2), 10 ** 40),
    "clamp of an int64 by an int beyond 64 bits": lambda lib: lib.ones(2, dtype=lib.int64).clamp(min=-10 ** 30),
    # a number written in that its tensor's dtype cannot hold, where NumPy wrapped it (uint8 300 was 44)
    "setitem of 300 into uint8": lambda lib: lib.zeros(3, dtype=lib.uint8).__setitem__(0, 300),
    "setitem of -200 into a slice of int8": lambda lib: lib.zeros(3, dtype=lib.int8).__setitem__(slice(1, None), -200),
    "setitem of 1e300 into float32": lambda lib: lib.zeros(3).__setitem__(0, 1e300),
    "setitem of NaN into int64": lambda lib: lib.zeros(3, dtype=lib.int64).__setitem__(0, math.nan),
    "where of 300 beside uint8": lambda lib: lib.where(lib.tensor([True, False]), lib.zeros(2, dtype=lib.uint8), 300),
    "where of 1e300 beside float32": lambda lib: lib.where(lib.tensor([True, False]), 1e300, lib.zeros(2)),
    # an op's number argument, converted to the dtype torch computes in (float16's float32, so the word is "float")
    "lerp's weight": lambda lib: lib.lerp(lib.zeros(2), lib.ones(2), 1e300),
    "lerp's weight beside float16": lambda lib: lib.zeros(2, dtype=lib.float16).lerp(lib.ones(2).half(), -1e300),
    "lerp's weight, an int beyond 64 bits": lambda lib: lib.lerp(lib.zeros(2), lib.ones(2), 2 ** 70),
    "addcmul's value": lambda lib: lib.addcmul(lib.zeros(2), lib.ones(2), lib.ones(2), value=1e300),
    "addcmul's value beside int32": lambda lib: lib.ones(2, dtype=lib.int32).addcmul(
        lib.ones(2, dtype=lib.int32), lib.ones(2, dtype=lib.int32), value=2 ** 40),
    "addcmul's value beside uint8": lambda lib: lib.ones(2, dtype=lib.uint8).addcmul(
        lib.ones(2, dtype=lib.uint8), lib.ones(2, dtype=lib.uint8), value=300),
    "addcmul of bools": lambda lib: lib.addcmul(*[lib.ones(2, dtype=lib.bool)] * 3),
    "addcdiv's value": lambda lib: lib.addcdiv(lib.zeros(2), lib.ones(2), lib.ones(2), value=-1e300),
    "addcdiv's value beside float16": lambda lib: lib.zeros(2).half().addcdiv(lib.ones(2).half(), lib.ones(2).half(),
                                                                               value=1e300),
    "linspace's start": lambda lib: lib.linspace(1e300, 0, 3),
    "linspace's end": lambda lib: lib.linspace(0, -1e300, 3, dtype=lib.float32),
    "linspace's end, a 0-d tensor": lambda lib: lib.linspace(0, lib.tensor(1e300, dtype=lib.float64), 3),
    "linspace's end beyond float16": lambda lib: lib.linspace(0, 1e5, 3, dtype=lib.float16),
    "linspace's end beyond int8": lambda lib: lib.linspace(0, 200, 3, dtype=lib.int8),
    "linspace's NaN start into int64": lambda lib: lib.linspace(math.nan, 0, 3, dtype=lib.int64),
    "linspace's one step": lambda lib: lib.linspace(1e300, 0, 1),
    "linspace of an int beyond 64 bits": lambda lib: lib.linspace(0, 2 ** 70, 0),
    "logspace's start": lambda lib: lib.logspace(1e300, 0, 3),
    "logspace's one power beyond uint8": lambda lib: lib.logspace(3, 0, 1, dtype=lib.uint8),
    "threshold's threshold": lambda lib: lib.nn.functional.threshold(lib.zeros(2), 1e300, 0.0),
    "threshold's value": lambda lib: lib.nn.functional.threshold(lib.zeros(2), 0.0, -1e300),
    "threshold's value beyond float16": lambda lib: lib.nn.functional.threshold(lib.zeros(2).half(), 0.0, 1e5),
    "threshold's NaN threshold beside int64": lambda lib: lib.nn.functional.threshold(lib.zeros(2, dtype=lib.int64),
                                                                                      math.nan, 0),
    "threshold's value beyond int32": lambda lib: lib.nn.functional.threshold(lib.zeros(2, dtype=lib.int32), 0,
                                                                              2 ** 40),
    "threshold of bools": lambda lib: lib.nn.functional.threshold(lib.ones(2, dtype=lib.bool), 0, 1),
    "nn.Threshold": lambda lib: lib.nn.Threshold(1e300, 0.0)(lib.zeros(2)),
    "leaky_relu's slope": lambda lib: lib.nn.functional.leaky_relu(lib.zeros(2), 1e300),
    "leaky_relu's slope beside float16": lambda lib: lib.nn.functional.leaky_relu(lib.zeros(2).half(), -1e300),
    "nn.LeakyReLU": lambda lib: lib.nn.LeakyReLU(1e300)(lib.zeros(2)),
    "rrelu's mean slope": lambda lib: lib.nn.functional.rrelu(lib.zeros(2), 1e300, 1e300),
    "elu's alpha": lambda lib: lib.nn.functional.elu(lib.zeros(2), 1e300),
    "nn.ELU": lambda lib: lib.nn.ELU(1e300)(lib.zeros(2)),
    "celu's 1 / alpha": lambda lib: lib.nn.functional.celu(lib.zeros(2), 1e-300),
    "softplus's beta": lambda lib: lib.nn.functional.softplus(lib.zeros(2), beta=1e300),
    "softplus's threshold": lambda lib: lib.nn.functional.softplus(lib.zeros(2).half(), threshold=-1e300),
    "nn.Softplus": lambda lib: lib.nn.Softplus(beta=1e300)(lib.zeros(2)),
    "logit's eps": lambda lib: lib.zeros(2).logit(eps=1e300),
    "logit's eps beside float16": lambda lib: lib.zeros(2).half().logit(eps=1e10),
    "logit's eps beside int64": lambda lib: lib.zeros(2, dtype=lib.int64).logit(eps=-1e300),
    "hardshrink's lambd": lambda lib: lib.nn.functional.hardshrink(lib.zeros(2), 1e300),
    "hardshrink's lambd beside float16": lambda lib: lib.nn.functional.hardshrink(lib.zeros(2).half(), 1e10),
    "addmm's beta": lambda lib: lib.addmm(lib.zeros(2, 2), lib.zeros(2, 2), lib.zeros(2, 2), beta=1e300),
    "addmm's alpha beside float16": lambda lib: lib.addmm(*[lib.zeros(2, 2).half()] * 3, alpha=-1e300),
    "addmv's beta": lambda lib: lib.addmv(lib.zeros(2), lib.zeros(2, 2), lib.zeros(2), beta=1e300),
    "addr's alpha": lambda lib: lib.addr(lib.zeros(2, 2), lib.zeros(2), lib.zeros(2), alpha=1e300),
    "baddbmm's alpha": lambda lib: lib.baddbmm(*[lib.zeros(1, 2, 2)] * 3, alpha=1e300),
    "addbmm's beta": lambda lib: lib.addbmm(lib.zeros(2, 2), *[lib.zeros(1, 2, 2)] * 2, beta=-1e300),
}


@pytest.mark.parametrize("call", torch_cases(NUMBERS_OUT_OF_RANGE))
def test_a_number_beyond_float32s_range_or_64_bits_raises_torchs_error(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


# numbers that torch takes as they are: in float16's computing dtype, float32, or converted to an integer dtype
NUMBERS_IN_RANGE = {
    "addcmul's value beyond float16, in float32": lambda lib: lib.ones(2).half().addcmul(
        lib.ones(2).half(), lib.ones(2).half(), value=1e5),
    "addcmul's value beside float64": lambda lib: lib.addcmul(lib.zeros(2, dtype=lib.float64), lib.ones(2),
                                                              lib.ones(2), value=1e300),
    "addcmul's value, its integer part beside int64": lambda lib: lib.tensor([3, 4]).addcmul(
        lib.tensor([3, 4]), lib.tensor([3, 4]), value=-1.5),
    "addcmul's value of -1 wraps into uint8": lambda lib: lib.ones(2, dtype=lib.uint8).addcmul(
        lib.ones(2, dtype=lib.uint8), lib.ones(2, dtype=lib.uint8), value=-1),
    "leaky_relu's slope beyond float16, in float32": lambda lib: lib.nn.functional.leaky_relu(lib.ones(2).half(), 1e5),
    "elu's alpha beyond float16, in float32": lambda lib: lib.nn.functional.elu(lib.ones(2).half(), 1e5),
    "softplus's threshold beyond float16, in float32": lambda lib: lib.nn.functional.softplus(
        lib.tensor([-1.0, 2.0]).half(), threshold=1e5),
    "threshold's threshold, float32's beside float16": lambda lib: lib.nn.functional.threshold(
        lib.tensor([1.0, 0.5]).half(), 0.99999, 5.0),
    "threshold's threshold, truncated beside int64": lambda lib: lib.nn.functional.threshold(
        lib.tensor([0, 1, -1]), -0.5, 5),
    "threshold's threshold of -1 wraps into uint8": lambda lib: lib.nn.functional.threshold(
        lib.tensor([0, 200], dtype=lib.uint8), -1, 5),
    "threshold's infinite threshold": lambda lib: lib.nn.functional.threshold(lib.zeros(2), math.inf, 1.0),
    "linspace of no steps": lambda lib: lib.linspace(1e300, 0, 0),
    "linspace's end, unread in one step": lambda lib: lib.linspace(0, 1e300, 1),
    "linspace's one step of -1 wraps into uint8": lambda lib: lib.linspace(-1, 3, 1, dtype=lib.uint8),
    "linspace's one step, truncated into int64": lambda lib: lib.linspace(2.7, 3, 1, dtype=lib.int64),
    "linspace's start and end beside float64": lambda lib: lib.linspace(-1e300, 1e300, 3, dtype=lib.float64),
    "linspace's infinite start": lambda lib: lib.linspace(-math.inf, 0, 1),
    "logspace's one infinite power": lambda lib: lib.logspace(400, 0, 1),
    "logspace's one power, truncated into int64": lambda lib: lib.logspace(2.5, 0, 1, dtype=lib.int64),
}


@pytest.mark.parametrize("call", torch_cases(NUMBERS_IN_RANGE))
def test_a_number_that_torchs_computing_dtype_holds_gives_torchs_values(call):
    assert_equals_torchs(call(mg), call(torch))


# numbers beyond a float dtype's range that torch takes as infinities, where NumPy's casts warned of an overflow
INFINITE_NUMBERS = {
    "a sum": lambda lib: lib.zeros(2) + 1e300,
    "a product": lambda lib: lib.ones(2) * -1e300,
    "a comparison": lambda lib: lib.zeros(2) >= 1e300,
    "a comparison beside float16": lambda lib: lib.zeros(2).half() < 1e10,
    "a tensor of a number": lambda lib: lib.tensor(1e300),
    "a tensor of numbers in float16": lambda lib: lib.tensor([1e300, -1e10, 1.0], dtype=lib.float16),
    "a maximum with a tensor of a number": lambda lib: lib.maximum(lib.zeros(2), lib.tensor(-1e300)),
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("call", torch_cases(INFINITE_NUMBERS))
def test_a_number_beyond_a_float_dtypes_range_is_an_infinity_without_a_warning(call):
    assert_equals_torchs(call(mg), call(torch))


def test_a_float32_power_takes_an_exponent_beyond_float32s_range_as_torch():
    x = np.array([0.0, 1.0, 0.5], np.float32)
    np.testing.assert_array_equal((mg.tensor(x) ** 1e300).numpy(), (torch.tensor(x) ** 1e300).numpy())


LOSS_SHAPE_ERRORS = {
    "binary_cross_entropy, a weight of more dims": ((2, 3), (2, 3, 1)),
    "binary_cross_entropy, a weight of fewer dims": ((2, 3, 1), (2, 3)),
    "binary_cross_entropy, a weight of another size": ((4,), (1, 3)),
}


@pytest.mark.parametrize("input_shape, weight_shape", torch_cases(LOSS_SHAPE_ERRORS))
def test_binary_cross_entropy_of_a_weight_that_does_not_broadcast_raises_torchs_error(input_shape, weight_shape):
    """torch's message names the sizes inferred before the mismatch, the input's padded with ones."""
    def call(lib):
        input = lib.full(input_shape, 0.5)
        return lib.nn.functional.binary_cross_entropy(input, input, weight=lib.ones(weight_shape))
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_cross_entropy_of_a_0d_input_and_probabilities_raises_torchs_error():
    assert_raises_as_torch(lambda: torch.nn.functional.cross_entropy(torch.tensor(0.5), torch.tensor(0.5)),
                           lambda: mg.nn.functional.cross_entropy(mg.tensor(0.5), mg.tensor(0.5)))
