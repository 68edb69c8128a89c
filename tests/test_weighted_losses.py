"""mse_loss's, l1_loss's and huber_loss's weight (torch 2.13): each element's loss times a weight of the input's size,
"mean" as sum(weight * loss) / sum(weight) (huber_loss's: the mean of weight * loss), against torch: values and
gradients of input, target and weight, float64 gradchecks, double backward, dtypes, autocast, and torch's errors."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, differentiable_case_tests, torch_since
from double_backward import check_double_backward

torch = pytest.importorskip("torch")
pytestmark = torch_since((2, 13), "the weight of mse_loss and l1_loss")


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.2, 2.0, shape)


def weighted(loss, reduction, **options):
    return lambda L, x, target, weight: getattr(L.nn.functional, loss)(x, target, reduction=reduction, weight=weight,
                                                                      **options)


CASES = {f"{loss} {reduction}": (weighted(loss, reduction), [normal(2, 3, 4), normal(2, 3, 4), positive(2, 3, 4)])
         for loss in ("mse_loss", "l1_loss") for reduction in ("mean", "sum", "none")}
CASES["mse_loss 0-d"] = (weighted("mse_loss", "mean"), [normal(), normal(), positive()])
CASES["l1_loss signed weights"] = (weighted("l1_loss", "mean"), [normal(5), normal(5), normal(5)])
CASES.update({f"huber_loss {reduction}": (weighted("huber_loss", reduction, delta=0.7),
                                          [normal(2, 3, 4), normal(2, 3, 4), positive(2, 3, 4)])
              for reduction in ("mean", "sum", "none")})

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(torch,
                                                                                                            CASES)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_double_backward_matches_torch(loss):
    rng = np.random.default_rng(3)
    check_double_backward(weighted(loss, "mean"), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                          rng.uniform(0.2, 2.0, (3, 4)))


def _both(build, *arrays):
    """build(L, *tensors) on torch and minigrad, with the warnings each gave and the files they point at."""
    results = []
    for L in (torch, mg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append((build(L, *[L.tensor(a) for a in arrays]), [(str(w.message), w.filename) for w in caught]))
    return results


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("input_shape, target_shape", [((2, 1), (3,)), ((3,), (2, 3))])
def test_a_target_of_another_size_is_warned_of_and_broadcast_against_a_weight_of_the_inputs_size(
        loss, input_shape, target_shape):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (input_shape, target_shape, input_shape)]
    for reduction in ("none", "mean"):
        (theirs, their_warnings), (ours, our_warnings) = _both(weighted(loss, reduction), *arrays)
        assert our_warnings == their_warnings and len(our_warnings) == 1
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_a_target_of_another_size_is_warned_of_before_a_weight_of_another_size_is_refused(loss):
    arrays = [np.ones((2, 1), np.float32), np.ones(3, np.float32), np.ones(3, np.float32)]
    caught = []
    for L in (torch, mg):
        with warnings.catch_warnings(record=True) as warned, pytest.raises(ValueError, match="same size"):
            warnings.simplefilter("always")
            weighted(loss, "mean")(L, *[L.tensor(a) for a in arrays])
        caught.append([(str(w.message), w.filename) for w in warned])
    assert caught[0] == caught[1] and len(caught[0]) == 1


@pytest.mark.parametrize("legacy", [dict(reduce=False), dict(size_average=False), dict(size_average=True)], ids=str)
def test_the_legacy_arguments_choose_the_weighted_reduction_with_torchs_warning(legacy):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)] + [rng.uniform(0, 1, (2, 3))]
    (theirs, their_warnings), (ours, our_warnings) = _both(
        lambda L, x, target, weight: L.nn.functional.mse_loss(x, target, weight=weight, **legacy), *arrays)
    assert [message for message, _ in our_warnings] == [message for message, _ in their_warnings]
    assert len(our_warnings) == 1
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("weight", [np.ones((2, 3)), np.ones((2, 3), np.float32), np.ones((2, 3), np.int64),
                                    np.ones((2, 3), bool), np.ones((2, 3), np.float16)],
                         ids=["float64", "float32", "int64", "bool", "float16"])
def test_the_weight_promotes_as_in_torch(weight):
    rng = np.random.default_rng(2)
    x, target = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        for loss in ("mse_loss", "l1_loss"):
            (theirs, _), (ours, _) = _both(weighted(loss, reduction), x, target, weight)
            assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_an_empty_weighted_mean_is_nan_as_in_torch():
    (theirs, _), (ours, _) = _both(weighted("mse_loss", "mean"), *[np.zeros((0, 3), np.float32)] * 3)
    assert np.isnan(ours.item()) and np.isnan(theirs.item())


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_autocast_casts_the_weighted_loss_as_torchs_composition(dtype):
    """torch casts an unweighted loss to float32, and leaves a weighted one (plain ops) in its operands' dtype."""
    arrays = [np.random.default_rng(4).uniform(0.5, 1.5, (2, 3)).astype(dtype) for _ in range(3)]
    results = []
    for L in (torch, mg):
        x, target, weight = (L.tensor(a) for a in arrays)
        with L.autocast("cpu", dtype=L.float16):
            results.append((L.nn.functional.mse_loss(x, target, weight=weight), L.nn.functional.l1_loss(x, target)))
    for theirs, ours in zip(*results):
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy().astype(np.float32), theirs.float().numpy(), rtol=1e-3)


ERRORS = {
    "weight of a broadcastable shape": lambda L: L.nn.functional.mse_loss(L.ones(2, 3), L.ones(2, 3),
                                                                          weight=L.ones(3)),
    "0-d weight": lambda L: L.nn.functional.l1_loss(L.ones(2, 3), L.ones(2, 3), weight=L.ones(())),
    "weight of the broadcast shape": lambda L: L.nn.functional.mse_loss(L.ones(3), L.ones(2, 3), weight=L.ones(2, 3)),
    "bad reduction, weighted": lambda L: L.nn.functional.mse_loss(L.ones(2), L.ones(2), reduction="average",
                                                                  weight=L.ones(2)),
    "bad reduction, unweighted": lambda L: L.nn.functional.l1_loss(L.ones(2), L.ones(2), reduction="average"),
    "number weight": lambda L: L.nn.functional.l1_loss(L.ones(2), L.ones(2), weight=2.0),
    "huber_loss, weight of another size": lambda L: L.nn.functional.huber_loss(L.ones(2, 3), L.ones(2, 3),
                                                                               weight=L.ones(2)),
    "huber_loss, bad reduction": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), reduction="average",
                                                                      weight=L.ones(2)),
    "target that does not broadcast": lambda L: L.nn.functional.mse_loss(L.ones(2), L.ones(3), weight=L.ones(3)),
}


@pytest.mark.parametrize("make", ERRORS.values(), ids=ERRORS.keys())
def test_errors_are_torchs(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the target-size warning of the shapes that differ
        assert_raises_as_torch(lambda: make(torch), lambda: make(mg))


@pytest.mark.parametrize("module", ["MSELoss", "L1Loss"])
def test_the_loss_modules_take_no_weight_as_torchs(module):
    for L in (torch, mg):
        with pytest.raises(TypeError):
            getattr(L.nn, module)(weight=L.ones(2))
