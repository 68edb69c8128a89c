"""The functional losses take torch's deprecated size_average and reduce, in torch's places among their parameters:
the reduction they choose, and torch's warning, as torch's."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg


def _floats(rng, *shape, low=None, high=None):
    values = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return values.astype(np.float32)


def _signs(rng, *shape):
    return rng.choice([-1.0, 1.0], shape).astype(np.float32)


def _classes(rng, count, *shape):
    return rng.integers(0, count, shape)


# each loss's positional operands, drawn from rng
OPERANDS = {
    "mse_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3)],
    "l1_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3)],
    "smooth_l1_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3)],
    "kl_div": lambda rng: [np.log(_floats(rng, 4, 3, low=0.1, high=1)), _floats(rng, 4, 3, low=0.1, high=1)],
    "binary_cross_entropy": lambda rng: [_floats(rng, 4, 3, low=0.05, high=0.95), _floats(rng, 4, 3, low=0, high=1)],
    "binary_cross_entropy_with_logits": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3, low=0, high=1)],
    "poisson_nll_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3, low=0, high=4)],
    "soft_margin_loss": lambda rng: [_floats(rng, 4, 3), _signs(rng, 4, 3)],
    "hinge_embedding_loss": lambda rng: [_floats(rng, 4, 3), _signs(rng, 4, 3)],
    "multilabel_soft_margin_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3, low=0, high=1).round()],
    "multilabel_margin_loss": lambda rng: [_floats(rng, 4, 3), np.array([[0, 2, -1], [1, -1, 0]] * 2)],
    "multi_margin_loss": lambda rng: [_floats(rng, 4, 3), _classes(rng, 3, 4)],
    "nll_loss": lambda rng: [np.log(_floats(rng, 4, 3, low=0.1, high=1)), _classes(rng, 3, 4)],
    "cross_entropy": lambda rng: [_floats(rng, 4, 3), _classes(rng, 3, 4)],
    "cosine_embedding_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3), _signs(rng, 4)],
    "margin_ranking_loss": lambda rng: [_floats(rng, 4), _floats(rng, 4), _signs(rng, 4)],
    "triplet_margin_loss": lambda rng: [_floats(rng, 4, 3), _floats(rng, 4, 3), _floats(rng, 4, 3)],
}
LEGACY = [dict(size_average=False), dict(reduce=False), dict(size_average=True), dict(reduce=True),
          dict(size_average=False, reduce=True), dict(size_average=True, reduce=False)]


def test_every_torch_loss_that_takes_them_is_here():
    taking = {name for name, function in vars(torch.nn.functional).items()
              if callable(function) and "size_average" in _parameter_names(function)}
    assert taking == set(OPERANDS)


def _parameter_names(function):
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # a builtin without one
        return []


@pytest.mark.parametrize("name", sorted(OPERANDS))
def test_the_parameters_are_torchs_in_torchs_order(name):
    theirs = _parameter_names(getattr(torch.nn.functional, name))
    assert _parameter_names(getattr(mg.nn.functional, name)) == theirs


def _call_recording_warnings(function, operands, legacy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = function(*operands, **legacy)
    return loss, caught


@pytest.mark.parametrize("legacy", LEGACY, ids=str)
@pytest.mark.parametrize("name", sorted(OPERANDS))
def test_they_choose_torchs_reduction_with_its_warning(name, legacy):
    operands = OPERANDS[name](np.random.default_rng(0))
    ours, our_warnings = _call_recording_warnings(getattr(mg.nn.functional, name), map(mg.tensor, operands), legacy)
    theirs, their_warnings = _call_recording_warnings(getattr(torch.nn.functional, name),
                                                      map(torch.from_numpy, operands), legacy)
    assert [(w.category, str(w.message)) for w in our_warnings] == [(w.category, str(w.message))
                                                                     for w in their_warnings]
    assert {w.filename for w in our_warnings} == {__file__}  # the caller's line (torch's points into torch)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy", "poisson_nll_loss"])
def test_they_sit_where_torchs_do_among_the_positional_parameters(name):
    """torch's nll_loss, cross_entropy and poisson_nll_loss put a parameter between size_average and reduce."""
    operands = OPERANDS[name](np.random.default_rng(1))
    middle = {"poisson_nll_loss": (True, False, None, 1e-8, False)}.get(name, (None, None, -100, False))
    ours, our_warnings = _call_recording_warnings(getattr(mg.nn.functional, name),
                                                  [*map(mg.tensor, operands), *middle], {})
    theirs, their_warnings = _call_recording_warnings(getattr(torch.nn.functional, name),
                                                      [*map(torch.from_numpy, operands), *middle], {})
    assert [str(w.message) for w in our_warnings] == [str(w.message) for w in their_warnings]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
