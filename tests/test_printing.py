"""A tensor prints as torch's does: digits, scientific notation, whole-number floats, line breaks, summaries of big
tensors and the suffixes after them; and set_printoptions changes it as torch's. torch is the oracle."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
VALUES = {
    "decimals": [1.25, -0.25], "whole": [1.0, 2.0], "tiny": [1e-5, 1.0], "far apart": [123456.0, 1.5],
    "huge whole": [1e9, 2.0], "non-finite": [np.nan, 1.5, np.inf], "only nan": [np.nan], "infinities": [np.inf, -np.inf],
    "signed zeros": [[-0.0, 0.0]], "0-d": 1.5, "0-d whole": 3.0, "empty": [], "empty 2-d": np.zeros((0, 3)),
    "matrix": [[1.0, -2.5], [3.0, 4.0]], "3-d": np.arange(24).reshape(2, 3, 4) - 5.5, "long row": RNG.standard_normal(30),
    "wide matrix": RNG.standard_normal((3, 100)), "summarized": np.arange(2000).reshape(40, 50) / 7,
    "summarized tiny": RNG.standard_normal(2000) * 1e-6, "integers": np.arange(3000), "bools": [True, False],
    "complex": np.array([1 + 2j, -0.5j], dtype=np.complex64),
}


def _reprs(values, requires_grad=False, dtype=None):
    array = np.asarray(values, dtype=dtype)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    ours, theirs = mg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)
    if requires_grad:
        ours, theirs = ours * 2, theirs * 2
    return repr(ours), repr(theirs)


@pytest.fixture(autouse=True)
def default_print_options():
    yield
    mg.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("name", VALUES)
def test_tensors_print_as_torchs(name):
    ours, theirs = _reprs(VALUES[name])
    assert ours == theirs


@pytest.mark.parametrize("name", ["decimals", "long row", "wide matrix", "summarized", "0-d"])
def test_the_grad_fn_suffix_goes_where_torchs_does(name):
    ours, theirs = _reprs(VALUES[name], requires_grad=True)
    assert ours == theirs


@pytest.mark.parametrize("options", [dict(precision=2), dict(profile="short"), dict(profile="full"),
                                     dict(sci_mode=True), dict(sci_mode=False), dict(linewidth=40),
                                     dict(threshold=10, edgeitems=1), dict(threshold=10, edgeitems=0)])
@pytest.mark.parametrize("name", ["decimals", "tiny", "long row", "summarized", "3-d"])
def test_print_options_are_torchs(options, name):
    mg.set_printoptions(**options)
    torch.set_printoptions(**options)
    ours, theirs = _reprs(VALUES[name])
    assert ours == theirs
