"""torch.autograd.functional: derivatives of a function of tensors, taken by walks back through the graph it records.
Inputs and outputs are a tensor or a tuple of tensors, the results nested as torch's. vjp and jacobian walk back
once (per output entry); jvp, hessian, hvp and vhp differentiate a recorded walk back (create_graph) in turn, as
torch's do: jvp as a vjp of a vjp (the double-backward trick). With create_graph the results are themselves recorded,
and connected to inputs that require grad. Reached as minigrad.autograd.functional."""
from .autograd import grad
from .backend import get_array_module
from .creation import zeros_like
from .function import enable_grad, is_grad_enabled, set_grad_enabled
from .functional import _size
from .tensor import Tensor
from .torch_functions import stack


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """func(*inputs) and v^T J: the gradients of the outputs, weighted by v, with respect to each input (zeros
    for an input the outputs do not depend on; with strict, an error). v may be left out for an output of one
    value."""
    with enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _traced(func, inputs, create_graph, strict, "vjp")
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prepared(v, create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                               "with a single element.")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        products = _filled_in(_grad(outputs, inputs, v, create_graph), inputs, strict, create_graph, "back")
    return (_unpacked(_finished(outputs, create_graph), is_outputs_tuple),
            _unpacked(_finished(products, create_graph), is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """func(*inputs) and J v: the derivative of each output in the direction v of the inputs. Computed as torch's, by
    the double-backward trick: the vjp of u, a vector that requires grad, is linear in u, and its own vjp with respect
    to u for v is J v. v may be left out for an input of one value."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepared(inputs, create_graph, need_graph=True)
        v = _vector_of_inputs(v, inputs, is_inputs_tuple, create_graph, "jvp",
                              "The vector v can only be None if the input to the user-provided function is a single "
                              "Tensor with a single element.")
        is_outputs_tuple, outputs = _outputs_of(func, inputs, strict, "jvp")
        # the vjp is linear in grad_outputs, so their values do not matter: zeros hold no inf or NaN
        grad_outputs = tuple(zeros_like(output, requires_grad=True) for output in outputs)
        grad_inputs = _grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        products = _filled_in(_grad(grad_inputs, grad_outputs, v, create_graph), outputs, strict, create_graph,
                              "back_trick")
    return (_unpacked(_finished(outputs, create_graph), is_outputs_tuple),
            _unpacked(_finished(products, create_graph), is_outputs_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The derivatives of each output with respect to each input, of shape output.shape + input.shape: a tensor,
    a tuple over the inputs or over the outputs where one was given as a tuple, or a tuple over the outputs of
    tuples over the inputs. Zeros where an output does not depend on an input (with strict, an error).

    Each entry of an output costs one walk back, which gives its row for every input at once. vectorize and
    strategy choose how torch computes the same values: they are checked as torch checks them, and the same
    walks serve them all."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
                               'not supported together (yet). Please either set `strict=False` or '
                               '`strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                      "only implemented for `vectorize=True`.")
    with enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _traced(func, inputs, create_graph, strict, "jacobian")
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jacobians = tuple(_finished(_jacobians_of(index, output, inputs, create_graph, strict), create_graph)
                          for index, output in enumerate(outputs))
    if strategy == "forward-mode":
        jacobians = [list(row) for row in jacobians]  # as torch's forward mode nests them
    if not is_inputs_tuple:
        jacobians = tuple(row[0] for row in jacobians)
    return _unpacked(jacobians, is_outputs_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The second derivatives of a function of one value: a tensor of shape input.shape + input.shape, or for a tuple
    of inputs a tuple over them of tuples over them. The jacobian of the (recorded) jacobian, as torch's."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def of_one_value(*tensors):
        output = func(*tensors)
        is_output_tuple, outputs = _as_tuple(output, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outputs, "outputs", strict)
        _refuse_several_values(is_output_tuple, outputs[0], "hessian")
        return output if output.ndim == 0 else output.squeeze()  # a 0-d tensor is its own squeeze

    def jacobian_of(*tensors):
        if outer_jacobian_strategy == "forward-mode":
            tensors = tuple(t.requires_grad_(True) for t in tensors)
        rows = jacobian(of_one_value, tensors, create_graph=True)
        _check_requires_grad(rows, "jacobian", strict)
        return rows

    rows = jacobian(jacobian_of, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                    strategy=outer_jacobian_strategy)
    return rows if is_inputs_tuple else rows[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """func(*inputs) (of one value) and v^T H: the gradient of <v, gradient of func> with respect to each input."""
    is_inputs_tuple, inputs, v, outputs, rows = _gradient_of_one_value(func, inputs, v, create_graph, strict, "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        products = _filled_in(_grad(rows, inputs, v, create_graph), inputs, strict, create_graph, "double_back")
    return _finished(outputs, create_graph)[0], _unpacked(_finished(products, create_graph), is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """func(*inputs) (of one value) and H v, as torch's: by the double-backward trick on the gradient's vjp (vhp is
    the same for a function twice continuously differentiable, at one walk less)."""
    is_inputs_tuple, inputs, v, outputs, rows = _gradient_of_one_value(func, inputs, v, create_graph, strict, "hvp")
    with enable_grad():
        grad_rows = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _grad(rows, inputs, grad_rows, create_graph=True)
        _check_requires_grad(rows, "hessian", strict)  # torch's checks the rows again here
    with set_grad_enabled(create_graph or is_grad_enabled()):
        products = _filled_in(_grad(double_back, grad_rows, v, create_graph), inputs, strict, create_graph,
                              "double_back_trick")
    return _finished(outputs, create_graph)[0], _unpacked(_finished(products, create_graph), is_inputs_tuple)


def _gradient_of_one_value(func, inputs, v, create_graph, strict, caller):
    """vhp's and hvp's common start: the inputs and v as the function takes them, its output of one value, and its
    recorded gradient with respect to each input."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", caller)
        inputs = _prepared(inputs, create_graph, need_graph=True)
        v = _vector_of_inputs(v, inputs, is_inputs_tuple, create_graph, caller,
                              "The vector v can only be None if the input to the user-provided function is a single "
                              "Tensor with a single element.")
        is_outputs_tuple, outputs = _outputs_of(func, inputs, strict, caller)
        _refuse_several_values(is_outputs_tuple, outputs[0], caller)
        rows = _grad(outputs, inputs, None, create_graph=True)
        _check_requires_grad(rows, "jacobian", strict)
    return is_inputs_tuple, inputs, v, outputs, rows


def _refuse_several_values(is_tuple, output, caller):
    if is_tuple or not isinstance(output, Tensor):
        raise RuntimeError(f"The function given to {caller} should return a single Tensor")
    if output.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {caller} should contain a single element")


def _vector_of_inputs(v, inputs, is_inputs_tuple, create_graph, caller, missing):
    """v (a direction of the inputs) as a tuple, checked against the inputs; where left out, one for an input of one
    value (`missing` is the error otherwise)."""
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(missing)
        return None
    _, v = _as_tuple(v, "v", caller)
    v = _prepared(v, create_graph, need_graph=False)
    _validate_v(v, inputs, is_inputs_tuple)
    return v


def _jacobians_of(output_index, output, inputs, create_graph, strict):
    """The jacobians of one output with respect to each input, row by row: a walk back from each of its entries, each
    seeded with a one-hot tensor of its own (a recorded walk keeps it)."""
    rows = [[] for _ in inputs]
    for seed in (_unit_vectors(output) if output.requires_grad else ()):
        gradients = grad(output, inputs, seed, retain_graph=True, create_graph=create_graph, allow_unused=True)
        for input_index, (row, gradient) in enumerate(zip(rows, gradients)):
            if gradient is None and strict:
                raise RuntimeError(f"Output {output_index} of the user-provided function is independent of input "
                                   f"{input_index}. This is not allowed in strict mode.")
            if strict and create_graph and gradient is not None and not gradient.requires_grad:
                # torch's message names the output's index as the input's
                raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                   f"{output_index}. This is not allowed in strict mode when create_graph=True.")
            row.append(gradient)
    return tuple(_stacked(row, output, inp) for row, inp in zip(rows, inputs))


def _unit_vectors(like):
    """One-hot tensors of like's shape, dtype and device, one per entry, in order: the seeds of a Jacobian's rows (or,
    in minigrad.func's jacfwd, the tangents of its columns)."""
    for index in range(like.numel()):
        unit = zeros_like(like).reshape(-1)
        unit.data[index] = 1
        yield unit.reshape(like.shape)


def _stacked(parts, output, inp, dim=0):
    """One jacobian, of shape output.shape + inp.shape, from its rows (dim 0: one per output entry, of inp's shape;
    None for zeros) or its columns (dim -1: one per input entry, of output's shape)."""
    if all(part is None for part in parts):
        return Tensor(get_array_module(inp.data).zeros(output.shape + inp.shape, dtype=inp.dtype))
    return stack([zeros_like(inp) if part is None else part for part in parts], dim=dim).reshape(
        output.shape + inp.shape)


def _grad(outputs, inputs, grad_outputs, create_graph, retain_graph=None):
    """autograd.grad of those outputs that require grad (with their grad_outputs), None for each input where there
    is none, as torch.autograd.functional's."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    pairs = [(output, g) for output, g in zip(outputs, grad_outputs) if output is not None and output.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outputs, grad_outputs = zip(*pairs)
    return grad(outputs, inputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                allow_unused=True)


def _filled_in(gradients, references, strict, create_graph, stage):
    """The gradients with zeros (of the reference's shape) for None, or torch's errors for that and, with
    create_graph, for a gradient that is a constant, where strict."""
    filled = []
    for index, (gradient, reference) in enumerate(zip(gradients, references)):
        if gradient is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(index=index))
            gradient = zeros_like(reference)
        elif strict and create_graph and not gradient.requires_grad:
            raise RuntimeError(f"The {'hessian' if 'double' in stage else 'jacobian'} of the user-provided function "
                               f"is independent of input {index}. This is not allowed in strict mode when "
                               "create_graph=True.")
        filled.append(gradient)
    return tuple(filled)


_INDEPENDENT = {  # torch's strict-mode errors for a gradient that is None, by the walk that gave it
    "back": "The output of the user-provided function is independent of input {index}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {index} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in strict "
                  "mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {index}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {index} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


def _check_requires_grad(tensors, kind, strict):
    """torch's strict-mode errors for outputs, gradients or jacobians that are constants (or None)."""
    if not strict:
        return
    for index, tensor in enumerate(tensors):
        if tensor is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {index}. This is "
                               "not allowed in strict mode.")
        if tensor.requires_grad:
            continue
        if kind == "hessian":
            raise RuntimeError(f"The hessian of the user-provided function with respect to input {index} is "
                               "independent of the input. This is not allowed in strict mode. You should ensure "
                               "that your function is thrice differentiable and that the hessian depends on the "
                               "inputs.")
        if kind == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the user-provided function "
                               f"with respect to input {index} is independent of the input. This is not allowed in "
                               "strict mode. You should ensure that your function is twice differentiable and that "
                               "the jacobian depends on the inputs (this would be violated by a linear function for "
                               "example).")
        if kind == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {index} is independent of the inputs of the "
                               "user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"Output {index} of the user-provided function does not require gradients. The outputs "
                           "must be computed in a differentiable manner from the input when running in strict mode.")


def _traced(func, inputs, create_graph, strict, caller):
    """func run on the inputs as _prepared, with its outputs, each as a tuple with whether it was given as one,
    after torch's checks."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", caller)
    inputs = _prepared(inputs, create_graph, need_graph=True)
    is_outputs_tuple, outputs = _outputs_of(func, inputs, strict, caller)
    return is_inputs_tuple, inputs, is_outputs_tuple, outputs


def _outputs_of(func, inputs, strict, caller):
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", caller)
    _check_requires_grad(outputs, "outputs", strict)
    return is_outputs_tuple, outputs


def _prepared(tensors, create_graph, need_graph):
    """New tensors of the given ones' values, as torch's: with create_graph, a view of one that requires grad, so
    that the results lead back to it; else a new leaf (requiring grad where need_graph). A tensor the function also
    reaches by name is then a constant to it."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(need_graph)
                 for t in tensors)


def _finished(tensors, create_graph):
    """Results as the user gets them: cut from the graph unless create_graph."""
    return tensors if create_graph else tuple(t.detach() for t in tensors)


def _as_tuple(value, name, caller):
    """(whether value is a tuple, its tensors as one), as torch's, which takes no list for a tuple."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for index, item in enumerate(values):
        if not isinstance(item, Tensor):
            place = f"value at index {index}" if is_tuple else f"given {name}"
            raise TypeError(f"The {name} given to {caller} must be either a Tensor or a tuple of Tensors but the "
                            f"{place} has type {type(item)}.")
    return is_tuple, values


def _unpacked(values, is_tuple):
    return values if is_tuple else values[0]


def _validate_v(v, references, is_tuple):
    """v against the tensors it weighs (outputs for vjp, inputs for jvp, hvp and vhp), as torch's."""
    if len(v) != len(references):
        if is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(references)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (vector, reference) in enumerate(zip(v, references)):
        if vector.shape != reference.shape:
            place = f"Entry {index} in " if is_tuple else ""
            raise RuntimeError(f"{place}v has invalid size: should be {_size(reference.shape)} but got "
                               f"{_size(vector.shape)}.")


__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
