"""Cases where minigrad once disagreed with torch, found by differential fuzzing of the losses, indexing, optimizers,
schedulers and modules, each reduced to its smallest form: ctc_loss of a batch whose targets are all empty (its
backward recursion's jumps took two places where the extended labels have one), and of an unbatched input, whose
targets torch takes as given, (S,) concatenated or (1, S) padded; nll_loss's (and cross_entropy's) errors in torch's
order and words, a weight that requires grad refused by the name of torch's kernel (nll_loss2d's for spatial
inputs) before the kernel's checks, and that kernel's words for a weight of the wrong size; and
cosine_embedding_loss's gradient at a zero input in float64, which torch's epsilon, a C float's 1e-12, sets."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch, differentiable_case_tests, normal, torch_cases

torch = pytest.importorskip("torch")


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
}
test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(torch, CASES)


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
