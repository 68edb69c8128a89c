"""Instance norm and 1-d channel dropout against torch: float64 gradchecks, float32 values and gradients, running
statistics, torch's state dicts, reprs, errors and warnings; dropout1d's masks by their statistics (they cannot be
torch's bit for bit); and both on the GPU path."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
import test_norm
from conftest import torch_since
from test_norm import (AFFINES, MinigradLibrary, TorchLibrary, assert_error_is_torchs, assert_gradcheck,
                       assert_matches_torch_float32, assert_module_matches_torch, assert_trained_torch_net_loads,
                       assert_trains_on_the_gpu_as_on_the_cpu, random, running_statistics, torch_pair)

torch = pytest.importorskip("torch")
TF = torch.nn.functional
threads = test_norm.threads  # Normalize run whole, and split over worker threads in uneven blocks


def _instance_norm(running=False, **kwargs):
    """The call of a case, as test_norm's: running statistics, when asked for, made fresh in each library."""
    def call(functional, library, x, weight, bias):
        stats = running_statistics(x.shape[1], library) if running else (None, None)
        return functional.instance_norm(x, *stats, weight, bias, **kwargs)
    return call


CASES = {
    "1d": ((3, 4, 7), (4,), _instance_norm()),
    "2d": ((3, 5, 4, 5), (5,), _instance_norm()),
    "3d": ((2, 3, 3, 4, 5), (3,), _instance_norm()),
    "one-sample-eps": ((1, 4, 9), (4,), _instance_norm(eps=0.5)),
    "1d-running-stats": ((3, 4, 7), (4,), _instance_norm(running=True, momentum=0.3)),
    "2d-running-stats": ((3, 5, 4, 5), (5,), _instance_norm(running=True)),
    "1d-running-stats-used": ((3, 4, 7), (4,), _instance_norm(running=True, use_input_stats=False)),
    "2d-running-stats-used": ((3, 5, 4, 5), (5,), _instance_norm(running=True, use_input_stats=False, eps=1e-3)),
}


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("case", CASES)
def test_gradcheck_float64(case, affine):
    assert_gradcheck(*CASES[case], affine)


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch_float32(case, affine, threads):
    assert_matches_torch_float32(*CASES[case], affine)


def test_running_statistics_follow_torchs_over_training_steps():
    """torch moves each sample's running statistics by its own (the variance unbiased) and averages them."""
    stats, torch_stats = running_statistics(4, MinigradLibrary), running_statistics(4, TorchLibrary)
    for step in range(6):
        x = random((3, 4, 5, 7), seed=step) * (step + 1) + step
        F.instance_norm(mg.tensor(x), *stats, momentum=0.2)
        TF.instance_norm(torch.tensor(x), *torch_stats, momentum=0.2)
        for mine, theirs in zip(stats, torch_stats):
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    # which tells the samples' average from the statistics of the batch as one
    samples = x.reshape(3, 4, -1)
    assert not np.allclose(samples.var(axis=(0, 2), ddof=1), samples.var(axis=2, ddof=1).mean(axis=0), rtol=1e-3)


def test_float64_stays_float64():
    x = mg.tensor(random((2, 3, 5), seed=0, dtype=np.float64))
    assert F.instance_norm(x).dtype == np.float64
    assert mg.nn.InstanceNorm1d(3)(x).dtype == np.float64


@pytest.mark.parametrize("shape", [(2, 0, 5), (2, 3, 0), (0, 3, 4)])
@pytest.mark.parametrize("function", ["instance_norm", "batch_norm"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's word on the mean of nothing
def test_empty_inputs_leave_the_running_statistics_as_torch(function, shape):
    if function == "instance_norm" and shape[0] == 0:
        pytest.skip("torch averages the running statistics over no samples, to NaN")
    stats, torch_stats = running_statistics(shape[1], MinigradLibrary), running_statistics(shape[1], TorchLibrary)
    extra = dict(training=True) if function == "batch_norm" else {}
    out = getattr(F, function)(mg.ones(*shape), *stats, **extra)
    expected = getattr(TF, function)(torch.ones(shape), *torch_stats, **extra)
    assert out.shape == tuple(expected.shape)
    for mine, theirs in zip(stats, torch_stats):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# ----------------------------------------------------------------------------- modules


MODULES = [
    ("InstanceNorm1d", (4,), {}, (3, 4, 7)),
    ("InstanceNorm1d", (4,), {}, (4, 7)),
    ("InstanceNorm1d", (4,), dict(affine=True), (3, 4, 7)),
    ("InstanceNorm1d", (4,), dict(affine=True, track_running_stats=True, momentum=0.3), (4, 9)),
    ("InstanceNorm1d", (4,), dict(track_running_stats=True, momentum=None), (2, 4, 6)),
    ("InstanceNorm2d", (3,), {}, (2, 3, 5, 5)),
    ("InstanceNorm2d", (3,), dict(affine=True, bias=False, eps=1e-3), (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), dict(track_running_stats=True), (2, 3, 4, 4)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True, momentum=0.5), (3, 3, 4, 6)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (3, 5, 6)),
]
MODULE_IDS = [f"{n}-{len(shape)}d-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, _, kw, shape in MODULES]


@pytest.mark.parametrize("name, args, kwargs, shape", MODULES, ids=MODULE_IDS)
def test_modules_train_and_evaluate_like_torch(name, args, kwargs, shape):
    """torch's state dict (numpy arrays) loads, then several training steps keep values, gradients, running
    statistics and num_batches_tracked (never counted) torch's, and so does evaluation after them."""
    assert_module_matches_torch(*torch_pair(name, *args, **kwargs), shape)


@torch_since((2, 13), "the repr (which shows bias=)")
@pytest.mark.parametrize("name, args, kwargs, shape", MODULES, ids=MODULE_IDS)
def test_modules_print_as_torchs(name, args, kwargs, shape):
    module, reference = torch_pair(name, *args, **kwargs)
    assert repr(module) == repr(reference)


def test_state_dicts_have_torchs_keys():
    for kwargs in ({}, dict(affine=True), dict(track_running_stats=True), dict(affine=True, bias=False),
                   dict(affine=True, track_running_stats=True)):
        for name in ("InstanceNorm1d", "InstanceNorm2d"):
            state, expected = getattr(mg.nn, name)(5, **kwargs).state_dict(), getattr(torch.nn, name)(5, **kwargs)
            assert list(state) == list(expected.state_dict()), (name, kwargs)
            for key, value in expected.state_dict().items():
                np.testing.assert_array_equal(state[key], value.numpy())
                assert state[key].dtype == value.numpy().dtype


def test_a_trained_torch_net_with_instance_norms_loads_and_gives_torchs_outputs():
    assert_trained_torch_net_loads(lambda nn: nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8, affine=True, track_running_stats=True), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1), nn.InstanceNorm2d(4), nn.ReLU()))


def test_eval_uses_the_running_statistics_only_when_tracked():
    x = random((2, 3, 4, 4), seed=1) * 3 + 2
    tracked, untracked = mg.nn.InstanceNorm2d(3, track_running_stats=True), mg.nn.InstanceNorm2d(3)
    tracked.running_mean.data[...], tracked.running_var.data[...] = 1.0, 4.0
    tracked.eval(), untracked.eval()
    np.testing.assert_allclose(tracked(mg.tensor(x)).numpy(), (x - 1) / np.sqrt(4 + 1e-5), rtol=1e-6)
    own = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(untracked(mg.tensor(x)).numpy(), own, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tracked.running_mean.numpy(), 1.0)  # evaluation moves nothing


def test_a_wrong_num_features_without_affine_warns_as_torch():
    messages = []
    for library in (torch, mg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            library.nn.InstanceNorm1d(5)(library.ones(2, 3, 4))
            library.nn.InstanceNorm1d(5)(library.ones(3, 4))
        messages.append([str(w.message) for w in caught if issubclass(w.category, UserWarning)])
    assert messages[1] == messages[0] and len(messages[0]) == 2


# ----------------------------------------------------------------------------- errors


def _ones(tensor, *shape):
    return tensor(np.ones(shape, np.float32))


MODULE_ERRORS = {
    "InstanceNorm1d of 4d": lambda nn, t: nn.InstanceNorm1d(3)(_ones(t, 2, 3, 4, 4)),
    "InstanceNorm1d of 1d": lambda nn, t: nn.InstanceNorm1d(3)(_ones(t, 3)),
    "InstanceNorm2d of 2d": lambda nn, t: nn.InstanceNorm2d(3)(_ones(t, 3, 4)),
    "InstanceNorm2d of 5d": lambda nn, t: nn.InstanceNorm2d(3)(_ones(t, 2, 3, 4, 4, 4)),
    "affine num_features": lambda nn, t: nn.InstanceNorm2d(4, affine=True)(_ones(t, 2, 3, 4, 4)),
    "affine num_features unbatched": lambda nn, t: nn.InstanceNorm1d(4, affine=True)(_ones(t, 3, 5)),
    "one spatial element": lambda nn, t: nn.InstanceNorm2d(3)(_ones(t, 2, 3, 1, 1)),
    "one spatial element unbatched": lambda nn, t: nn.InstanceNorm1d(3)(_ones(t, 3, 1)),
    "running stats of another size": lambda nn, t: nn.InstanceNorm2d(4, track_running_stats=True)(
        _ones(t, 2, 3, 4, 4)),
}
FUNCTIONAL_ERRORS = {
    "one spatial element": lambda f, t: f.instance_norm(_ones(t, 2, 3, 1)),
    "no spatial dims": lambda f, t: f.instance_norm(_ones(t, 2, 3)),
    "no running stats to use": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), use_input_stats=False),
    "one running stat to use": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), None, _ones(t, 3),
                                                             use_input_stats=False),
    "one running stat": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), _ones(t, 3), None),
    "running_mean size": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), _ones(t, 4), _ones(t, 3)),
    "running_var size": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), _ones(t, 3), _ones(t, 5)),
    "weight size": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), weight=_ones(t, 4), bias=_ones(t, 5)),
    "bias size": lambda f, t: f.instance_norm(_ones(t, 2, 3, 4), weight=_ones(t, 3), bias=_ones(t, 5)),
    "batch_norm weight size": lambda f, t: f.batch_norm(_ones(t, 2, 3, 4), _ones(t, 3), _ones(t, 3), _ones(t, 4)),
    "batch_norm one running stat": lambda f, t: f.batch_norm(_ones(t, 2, 3, 4), None, _ones(t, 3), training=True),
    "batch_norm no running_var in evaluation": lambda f, t: f.batch_norm(_ones(t, 2, 3, 4), _ones(t, 3), None),
}


@pytest.mark.filterwarnings("ignore:input's size at dim")
@pytest.mark.parametrize("case", MODULE_ERRORS)
def test_module_errors_are_torchs(case):
    assert_error_is_torchs(MODULE_ERRORS[case], (mg.nn, mg.tensor), (torch.nn, torch.tensor))


@pytest.mark.parametrize("case", FUNCTIONAL_ERRORS)
def test_functional_errors_are_torchs(case):
    assert_error_is_torchs(FUNCTIONAL_ERRORS[case], (F, mg.tensor), (TF, torch.tensor))


def test_mixed_dtypes_are_refused_as_torch():
    with pytest.raises(RuntimeError):
        TF.instance_norm(torch.ones(2, 3, 4), weight=torch.ones(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="instance_norm: expected .* to have the same dtype"):
        F.instance_norm(mg.ones(2, 3, 4), weight=mg.ones(3, dtype=np.float64))


# ----------------------------------------------------------------------------- dropout1d


@pytest.mark.parametrize("shape", [(40, 50, 6), (500, 7)])
def test_dropout1d_zeroes_whole_channels_and_scales_the_rest(shape):
    mg.manual_seed(2)
    p = 0.4
    x = mg.tensor(np.random.default_rng(0).uniform(1, 2, size=shape).astype(np.float32), requires_grad=True)
    out = F.dropout1d(x, p)
    kept = out.numpy() != 0
    assert np.all(kept == kept[..., :1])                                 # one draw for each channel
    assert abs(kept[..., 0].mean() - (1 - p)) < 0.05                     # 2000 and 500 channels
    scale = np.float32(1 / np.float32(1 - p))
    np.testing.assert_array_equal(out.numpy()[kept], x.numpy()[kept] * scale)
    mask = kept * scale
    assert out.dtype == np.float32 and out.shape == shape
    direction = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    (out * mg.tensor(direction)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), direction * mask, rtol=1e-6)


def test_dropout1d_is_the_identity_in_eval_and_for_p_zero():
    x = mg.ones(2, 3, 4)
    assert F.dropout1d(x, 0.5, training=False) is x and F.dropout1d(x, 0.0) is x
    module = mg.nn.Dropout1d(0.5)
    assert module.eval()(x) is x
    mg.manual_seed(3)
    assert module.train()(mg.ones(8, 20, 5)).numpy().min() == 0


def test_dropout1d_repeats_its_masks_under_a_seed():
    x = mg.ones(8, 6, 5)
    mg.manual_seed(7)
    first, unbatched = F.dropout1d(x, 0.5).numpy(), F.dropout1d(x[0], 0.5).numpy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout1d(x, 0.5).numpy(), first)
    np.testing.assert_array_equal(F.dropout1d(x[0], 0.5).numpy(), unbatched)
    assert not np.array_equal(F.dropout1d(x, 0.5).numpy(), first)


def test_dropout1d_in_place_writes_into_the_input():
    mg.manual_seed(4)
    for shape in [(20, 30, 4), (30, 4)]:
        x = mg.ones(*shape)
        assert F.dropout1d(x, 0.5, inplace=True) is x
        assert set(np.unique(x.numpy())) == {0.0, 2.0} and np.all(x.numpy() == x.numpy()[..., :1])


def test_dropout1d_prints_as_torchs():
    for args in [(), (0.25,), (0.1, True)]:
        assert repr(mg.nn.Dropout1d(*args)) == repr(torch.nn.Dropout1d(*args))


DROPOUT_ERRORS = {
    "p below 0": lambda nn, f, t: f.dropout1d(_ones(t, 2, 3), -0.1),
    "p above 1": lambda nn, f, t: f.dropout1d(_ones(t, 2, 3), 1.5),
    "module p": lambda nn, f, t: nn.Dropout1d(1.5),
    "1d": lambda nn, f, t: f.dropout1d(_ones(t, 3), 0.5),
    "4d": lambda nn, f, t: f.dropout1d(_ones(t, 2, 3, 4, 5), 0.5),
    "4d in eval": lambda nn, f, t: f.dropout1d(_ones(t, 2, 3, 4, 5), 0.5, training=False),
    "module 4d": lambda nn, f, t: nn.Dropout1d(0.5)(_ones(t, 2, 3, 4, 5)),
}


@pytest.mark.parametrize("case", DROPOUT_ERRORS)
def test_dropout1d_errors_are_torchs(case):
    assert_error_is_torchs(DROPOUT_ERRORS[case], (mg.nn, F, mg.tensor), (torch.nn, TF, torch.tensor))


# ----------------------------------------------------------------------------- GPU path


def test_instance_norm_and_dropout1d_train_on_the_gpu_path_as_on_the_cpu(gpu_path):
    # Without the convolutions' biases, which the instance norms after them cancel (their gradients are rounding
    # noise), and not with a mean square, whose gradient an instance norm's output passes back is 0 but for
    # rounding too.
    assert_trains_on_the_gpu_as_on_the_cpu(lambda: mg.nn.Sequential(
        mg.nn.Conv2d(2, 4, 3, padding=1, bias=False), mg.nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
        mg.nn.ReLU(), mg.nn.Conv2d(4, 3, 1, bias=False), mg.nn.Flatten(2), mg.nn.Dropout1d(0.3),
        mg.nn.InstanceNorm1d(3, affine=True)), loss=lambda out: (out * mg.tensor(random(out.shape, seed=10),
                                                                                  device=out.device)).sum())
