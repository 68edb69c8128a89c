"""Check analytic gradients against float64 central differences.

The output is projected on a fixed random direction v, so one backward pass gives the gradient of the
scalar <v, fn(inputs)>, and each input element is then perturbed by ±eps to get the same number
numerically. A random projection catches errors that a plain sum() would cancel out.
"""
import numpy as np

from . import autograd  # autograd.grad, looked up when called: autograd imports this module
from .backend import get_array_module, to_numpy
from .function import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return tensors, but output {k} is a {type(o).__name__}")
        if o.dtype.kind == "f" and o.dtype != np.float64:
            raise ValueError(f"gradcheck: output {k} is {o.dtype}; fn must compute in float64, or rounding "
                             "swamps the central differences")
    return outs


def _projected(fn, inputs, directions):
    """The scalar sum_k <v_k, out_k>, as a float."""
    with no_grad():
        outs = _outputs(fn, inputs)
    return sum(float((to_numpy(o.data).astype(np.float64) * v).sum()) for o, v in zip(outs, directions))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """True when every input that requires grad has matching analytic and numeric gradients; otherwise raises
    GradcheckError naming the worst element, or returns False with raise_exception=False, as torch's.
    `inputs` is a tensor or a sequence of them (and other arguments of fn); their `.grad` stay as they were."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs (tensor.double())")

    # A leaf is perturbed in place, so that a module holding it (a parameter listed as an input) sees the
    # change; an input computed from other tensors is checked as a leaf of its own, as only leaves get a .grad.
    held_grads = {i: inputs[i].grad for i in checked if inputs[i].is_leaf}
    for i in checked:
        if not inputs[i].is_leaf:
            inputs[i] = inputs[i].detach().requires_grad_()
        inputs[i].grad = None
    rng = np.random.default_rng(seed)
    try:
        outs = _outputs(fn, inputs)
        directions = [rng.standard_normal(o.shape) for o in outs]
        projection = sum((o * Tensor(get_array_module(o.data).asarray(v))).sum() for o, v in zip(outs, directions))
        projection.backward()
        analytics = {i: np.zeros(inputs[i].shape) if inputs[i].grad is None
                     else to_numpy(inputs[i].grad.data).astype(np.float64) for i in checked}
    finally:
        for i, grad in held_grads.items():
            inputs[i].grad = grad

    worst = None
    for i in checked:
        tensor, analytic = inputs[i], analytics[i]
        numeric = np.zeros(tensor.shape)
        for index in np.ndindex(*tensor.shape):  # an index, not a flat view: a strided array has none
            original = tensor.data[index].item()
            tensor.data[index] = original + eps
            plus = _projected(fn, inputs, directions)
            tensor.data[index] = original - eps
            minus = _projected(fn, inputs, directions)
            tensor.data[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if not excess.size:  # an empty input has no element to check, as in torch's gradcheck
            continue
        k = int(np.argmax(excess))
        if excess.reshape(-1)[k] > 0 and (worst is None or excess.reshape(-1)[k] > worst[0]):
            index = np.unravel_index(k, tensor.shape)
            worst = (excess.reshape(-1)[k], i, index, analytic[index], numeric[index], int((excess > 0).sum()), tensor.numel())
    if worst is not None:
        if not raise_exception:
            return False
        _, i, index, a, n, bad, total = worst
        raise GradcheckError(
            f"gradcheck failed for input {i} at element {tuple(int(j) for j in index)}: "
            f"analytic {a:.8g} vs numeric {n:.8g} (|diff| {abs(a - n):.3g}, allowed {atol + rtol * abs(n):.3g}); "
            f"{bad} of {total} elements of that input out of tolerance"
        )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """torch's: gradcheck of the first gradients of func (computed with create_graph) as a function of the inputs
    and of the grad_outputs they are weighted by, which checks the second derivatives. grad_outputs are drawn in
    [-1, 1) (float64, requiring grad) for the outputs that require grad, unless given."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        with enable_grad():
            outputs = _differentiable(func(*inputs))
        grad_outputs = tuple(Tensor(get_array_module(o.data).asarray(rng.uniform(-1, 1, o.shape)), requires_grad=True,
                                    dtype=o.dtype if o.dtype.kind == "f" else np.float64) for o in outputs)
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    count = len(grad_outputs)
    differentiated = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_gradients(*args):
        with enable_grad():  # gradcheck's central differences run it without recording
            outputs = _differentiable(func(*args[:len(args) - count]))
            gradients = autograd.grad(outputs, [args[i] for i in differentiated], args[len(args) - count:],
                                      create_graph=True, allow_unused=True)
        return tuple(g for g in gradients if g is not None)

    return gradcheck(first_gradients, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, seed=seed,
                     raise_exception=raise_exception)


def _differentiable(outputs):
    """The outputs of a function that require grad, as a tuple."""
    outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
    return tuple(o for o in outputs if o.requires_grad)
