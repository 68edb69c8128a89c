"""torch.autograd's place: grad (gradients returned rather than accumulated into `.grad`), backward of several
tensors at once, and the names ported code reaches through it (Function, gradcheck, the grad modes, anomaly
detection, functional)."""
import sys

from .function import (Function, detect_anomaly, enable_grad, inference_mode, no_grad, set_detect_anomaly,
                       set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck
from .creation import zeros_like
from .tensor import Tensor, accumulate_backward, backpropagate


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` (a tensor or a sequence) with respect to each of `inputs`, as a tuple, with no
    `.grad` touched. `grad_outputs` are d(loss)/d(output), needed for outputs of more than one value; an input
    the outputs do not depend on is an error unless allow_unused (its gradient is then None, or zeros with
    materialize_grads). The graph is freed unless retain_graph (which create_graph implies). With create_graph the
    gradients are recorded, so that they can be differentiated in turn (a Hessian's rows, a gradient penalty). The
    first five parameters take torch's positions."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    allow_unused = allow_unused or materialize_grads
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    seeds = _seeds(outputs, grad_outputs, "autograd.grad()", create_graph)
    if not all(t.requires_grad for t in inputs):
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    found = backpropagate(outputs, seeds, bool(retain_graph), inputs=inputs, create_graph=create_graph)
    grads = []
    for index, tensor in enumerate(inputs):
        gradient = found.get(id(tensor._graph_entry))
        if gradient is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {index} appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
        if gradient is None:
            grads.append(zeros_like(tensor) if materialize_grads else None)
        else:
            grads.append(gradient if create_graph else Tensor(gradient.copy()))  # the walk may share arrays
    return tuple(grads)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate the gradients of several tensors into the leaves' `.grad` (or the `inputs`' alone) in one walk
    back, each tensor with its own gradient (None for a tensor of one value): the sum of their backward() calls,
    each op run once. Parameters in torch's positions (grad_variables is its deprecated name of grad_tensors)."""
    tensors = _as_tuple(tensors)
    grad_tensors = grad_variables if grad_tensors is None else grad_tensors
    retain_graph = create_graph if retain_graph is None else retain_graph
    accumulate_backward(list(tensors), _seeds(tensors, grad_tensors, "backward()", create_graph), bool(retain_graph),
                        inputs, create_graph)


def _seeds(outputs, grad_outputs, caller, create_graph):
    """The gradient each output's walk back starts with, after torch's checks of the outputs."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    for index, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
    return [output._seed_gradient(g, caller, index, create_graph)
            for index, (output, g) in enumerate(zip(outputs, grad_outputs))]


def _as_tuple(tensors):
    return (tensors,) if isinstance(tensors, Tensor) or tensors is None else tuple(tensors)


# torch.autograd.functional's and torch.autograd.function's places: importable as minigrad.autograd.functional and
# minigrad.autograd.function.
from . import autograd_function as function, autograd_functional as functional  # noqa: E402  (last: it calls grad)

sys.modules[__name__ + ".function"] = function
sys.modules[__name__ + ".functional"] = functional

# as torch.autograd's
__all__ = ["Function", "backward", "detect_anomaly", "enable_grad", "function", "functional", "grad", "gradcheck",
           "gradgradcheck", "inference_mode", "no_grad", "set_detect_anomaly", "set_grad_enabled"]
