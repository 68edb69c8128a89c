"""Complex tensors outside autograd, against torch: the element-wise functions keep the imaginary part (NumPy's
complex ufuncs), with torch's values and dtypes, and the angle of a complex tensor is real, as torch's."""
import warnings

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

FUNCTIONS = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan",
             "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "sigmoid", "square", "sgn",
             "abs", "angle"]
VALUES = np.array([1 + 2j, -3 - 1j, 0.5 - 0.25j, -0.75 + 0.1j, 2.0 + 0j])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_element_wise_functions_of_complex_tensors_are_torchs(name, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's warning that a cast dropped the imaginary part
        ours = getattr(mg.tensor(VALUES.astype(dtype)), name)().numpy()
    theirs = getattr(torch.tensor(VALUES.astype(dtype)), name)().numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == np.complex64 else 1e-12, atol=1e-6)


def test_the_function_form_of_angle_is_the_methods():
    values = VALUES.astype(np.complex64)
    np.testing.assert_allclose(mg.angle(mg.tensor(values)).numpy(), torch.angle(torch.tensor(values)).numpy(),
                               rtol=1e-6)
