"""torch.autograd.grad: gradients returned rather than accumulated into `.grad`; and torch.autograd's names of the
grad modes."""
from .function import enable_grad, inference_mode, no_grad, set_grad_enabled
from .tensor import Tensor, backpropagate


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, allow_unused=False, create_graph=False):
    """The gradients of `outputs` (a tensor or a sequence) with respect to each of `inputs`, as a tuple, with no
    `.grad` touched. `grad_outputs` are d(loss)/d(output), needed for outputs of more than one value; an input
    the outputs do not depend on is an error unless allow_unused (its gradient is then None). The graph is freed
    unless retain_graph. No graph of the gradients themselves is built (create_graph)."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): minigrad's backward passes are not recorded, "
                                  "so gradients of gradients are not available")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} grad_outputs "
                           f"for {len(outputs)} outputs")
    for index, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
    if not all(t.requires_grad for t in inputs):
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = [output._seed_gradient(g, "autograd.grad()") for output, g in zip(outputs, grad_outputs)]
    found = backpropagate(outputs, seeds, bool(retain_graph), inputs=inputs)
    grads = []
    for index, tensor in enumerate(inputs):
        gradient = found.get(id(tensor._graph_entry))
        if gradient is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {index} appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
        grads.append(None if gradient is None else Tensor(gradient.copy()))  # the walk may share arrays
    return tuple(grads)


def _as_tuple(tensors):
    return (tensors,) if isinstance(tensors, Tensor) or tensors is None else tuple(tensors)


__all__ = ["enable_grad", "grad", "inference_mode", "no_grad", "set_grad_enabled"]  # as torch.autograd's
