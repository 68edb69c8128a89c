"""Dropout and channel dropout: masks cannot be torch's bit for bit, so their statistics, scaling, gradient, the
eval-mode identity and the seed's reproducibility are checked, and torch's arguments, errors and warnings."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_p_and_scales_what_it_keeps(p):
    mg.manual_seed(0)
    x = mg.tensor(np.random.default_rng(0).uniform(1, 2, size=(200, 500)).astype(np.float32))
    out = F.dropout(x, p)
    kept = out.numpy() != 0
    # 100000 draws: the kept fraction's standard deviation is below 0.0016
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_array_equal(out.numpy()[kept], x.numpy()[kept] * np.float32(1 / np.float32(1 - p)))
    assert out.dtype == np.float32


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_the_gradient_is_the_forward_mask_over_one_minus_p(p):
    mg.manual_seed(1)
    x = mg.tensor(np.random.default_rng(1).uniform(1, 2, size=(50, 40)), requires_grad=True)
    out = F.dropout(x, p)
    direction = np.random.default_rng(2).standard_normal((50, 40))
    (out * mg.tensor(direction)).sum().backward()
    mask = out.numpy() / x.numpy()                                    # 0 or 1 / (1 - p), as forward drew it
    assert set(np.unique(np.round(mask, 12))) <= {0.0, round(1 / (1 - p), 12)}
    np.testing.assert_allclose(x.grad.numpy(), direction * mask, rtol=1e-12)


def test_channel_dropout_zeroes_whole_channels():
    mg.manual_seed(2)
    x = mg.ones(40, 50, 3, 4, requires_grad=True)
    out = F.dropout2d(x, 0.4)
    per_channel = out.numpy().reshape(40, 50, -1)
    assert np.all(per_channel == per_channel[..., :1])                 # one value over each channel
    assert set(np.unique(per_channel)) == {0.0, np.float32(1 / np.float32(0.6))}
    assert abs((per_channel[..., 0] != 0).mean() - 0.6) < 0.05         # 2000 channels
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_a_seed_repeats_the_masks_and_a_draw_moves_on():
    x = mg.ones(8, 6, 5, 5)
    mg.manual_seed(7)
    first, second = F.dropout(x, 0.5).numpy(), F.dropout2d(x, 0.5).numpy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), first)
    np.testing.assert_array_equal(F.dropout2d(x, 0.5).numpy(), second)
    assert not np.array_equal(F.dropout(x, 0.5).numpy(), first)


def test_the_gpu_draws_the_cpus_mask_under_a_seed(gpu_path):
    x = np.random.default_rng(3).standard_normal((4, 5, 6, 6)).astype(np.float32)
    results = []
    for device in ("cpu", "gpu"):
        mg.manual_seed(11)
        leaf = mg.tensor(x, requires_grad=True, device=device)
        out = F.dropout(leaf, 0.3) + F.dropout2d(leaf, 0.6)
        out.sum().backward()
        assert out.device == device
        results.append((out.numpy(), leaf.grad.numpy()))
    for gpu, cpu in zip(*results):
        np.testing.assert_array_equal(gpu, cpu)


@pytest.mark.parametrize("module", ["Dropout", "Dropout2d"])
def test_the_modules_drop_in_train_and_are_the_identity_in_eval(module):
    ours, theirs = getattr(mg.nn, module)(0.25), getattr(torch.nn, module)(0.25)
    assert repr(ours) == repr(theirs) and repr(getattr(mg.nn, module)(0.1, True)) == repr(getattr(torch.nn, module)(0.1, True))
    x = mg.ones(6, 7, 5, 5)
    mg.manual_seed(3)
    assert (ours(x).numpy() == 0).any()
    assert ours.eval()(x) is x and not ours.training
    assert ours.train()(x) is not x


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")  # NumPy's word on inf * 0
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_the_edges_of_p_are_torchs(p):
    x = np.array([[1.0, -2.0, np.inf], [3.0, 4.0, 5.0]], np.float32)
    ours, theirs = F.dropout(mg.tensor(x), p), torch.nn.functional.dropout(torch.from_numpy(x), p)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())      # p = 1: x * 0, so inf gives NaN, as torch


def test_eval_mode_and_p_zero_give_the_input_itself_as_torch():
    x = mg.ones(2, 3, 4, 4)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x and F.dropout2d(x, 0.5, False) is x


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_a_probability_outside_0_1_is_torchs_value_error(p):
    for make in (lambda lib: lib.nn.Dropout(p), lambda lib: lib.nn.Dropout2d(p),
                 lambda lib: lib.nn.functional.dropout(lib.ones(3), p) if lib is torch else F.dropout(mg.ones(3), p),
                 lambda lib: lib.nn.functional.dropout2d(lib.ones(2, 3), p) if lib is torch else F.dropout2d(mg.ones(2, 3), p)):
        with pytest.raises(ValueError) as expected:
            make(torch)
        with pytest.raises(ValueError) as error:
            make(mg)
        assert str(error.value) == str(expected.value)


def test_in_place_dropout_writes_into_the_input_and_refuses_a_leaf_as_torch():
    mg.manual_seed(4)
    x = mg.ones(20, 30)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        F.dropout(leaf, 0.5, inplace=True)
    weight = mg.ones(2, 4, 5, 3, requires_grad=True)
    hidden = weight * 3
    assert F.dropout2d(hidden, 0.5, inplace=True) is hidden
    hidden.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), hidden.numpy())     # 3 * mask / (1 - p), as 3 * mask


@pytest.mark.parametrize("p, training", [(0.5, True), (0.0, True), (0.5, False)])
@pytest.mark.parametrize("shape", [(4, 5, 6), (4, 5), (2, 3, 4, 5, 6), (5,), ()])
def test_channel_dropout_of_other_than_4d_inputs_warns_and_masks_as_torch(shape, p, training):
    """A 3-d input is (N, C, L); a 2-d one (N, C) masks elements; 5-d masks (N, C); 1-d and 0-d are an error where
    something is dropped, and come back as they are where nothing is."""
    messages = []
    for lib, tensor in ((torch, torch.ones(shape)), (mg, mg.ones(*shape))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = (torch.nn.functional.dropout2d if lib is torch else F.dropout2d)(tensor, p, training)
            except RuntimeError as error:
                out = error
        messages.append(([str(w.message) for w in caught], str(out) if isinstance(out, RuntimeError) else None))
        if not isinstance(out, RuntimeError):
            mask = out.numpy().reshape(shape[:2] + (-1,))
            assert np.all(mask == mask[..., :1]) and out.shape == shape
    assert messages[0] == messages[1]
