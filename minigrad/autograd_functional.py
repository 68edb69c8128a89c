"""torch.autograd.functional's vjp and jacobian: derivatives of a function of tensors, taken by walks back
through the graph it records. Inputs and outputs are a tensor or a tuple of tensors, the results nested as
torch's. minigrad records no backward pass, so create_graph (and with it jvp, hessian, hvp and vhp, which
differentiate a backward pass) is refused as autograd.grad refuses it. Reached as minigrad.autograd.functional."""
from .autograd import _refuse_create_graph, grad
from .backend import get_array_module
from .creation import zeros_like
from .function import enable_grad
from .functional import _size
from .tensor import Tensor


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """func(*inputs) and v^T J: the gradients of the outputs, weighted by v, with respect to each input (zeros
    for an input the outputs do not depend on; with strict, an error). v may be left out for an output of one
    value."""
    _refuse_create_graph("autograd.functional.vjp", create_graph)
    is_inputs_tuple, inputs, is_outputs_tuple, outputs = _traced(func, inputs, strict, "vjp")
    if v is not None:
        _, v = _as_tuple(v, "v", "vjp")
        v = tuple(t.detach() for t in v)
        _validate_v(v, outputs, is_outputs_tuple)
    elif len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                           "with a single element.")
    weighted = [(output, vector) for output, vector in zip(outputs, v or (None,)) if output.requires_grad]
    gradients = (None,) * len(inputs)
    if weighted:
        differentiable, vectors = zip(*weighted)
        gradients = grad(differentiable, inputs, vectors, allow_unused=True)
    products = []
    for index, (inp, gradient) in enumerate(zip(inputs, gradients)):
        if gradient is None and strict:
            raise RuntimeError(f"The output of the user-provided function is independent of input {index}. This is "
                               "not allowed in strict mode.")
        products.append(zeros_like(inp) if gradient is None else gradient)
    return (_unpacked(tuple(output.detach() for output in outputs), is_outputs_tuple),
            _unpacked(tuple(products), is_inputs_tuple))


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
    _refuse_create_graph("autograd.functional.jacobian", create_graph)
    is_inputs_tuple, inputs, is_outputs_tuple, outputs = _traced(func, inputs, strict, "jacobian")
    if vectorize and strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")
    jacobians = tuple(_jacobians_of(index, output, inputs, strict) for index, output in enumerate(outputs))
    if strategy == "forward-mode":
        jacobians = [list(row) for row in jacobians]  # as torch's forward mode nests them
    if not is_inputs_tuple:
        jacobians = tuple(row[0] for row in jacobians)
    return _unpacked(jacobians, is_outputs_tuple)


def _jacobians_of(output_index, output, inputs, strict):
    """The jacobians of one output with respect to each input, row by row: a walk back from each of its entries."""
    jacobians = [get_array_module(inp.data).zeros((output.numel(),) + inp.shape, dtype=inp.dtype) for inp in inputs]
    if output.requires_grad:
        seed = get_array_module(output.data).zeros(output.numel(), dtype=output.dtype)
        for entry in range(output.numel()):
            seed[entry] = 1
            rows = grad(output, inputs, Tensor(seed.reshape(output.shape)), retain_graph=True, allow_unused=True)
            seed[entry] = 0
            for input_index, (jacobian, row) in enumerate(zip(jacobians, rows)):
                if row is not None:
                    jacobian[entry] = row.data
                elif strict:
                    raise RuntimeError(f"Output {output_index} of the user-provided function is independent of "
                                       f"input {input_index}. This is not allowed in strict mode.")
    return tuple(Tensor(jacobian.reshape(output.shape + inp.shape)) for jacobian, inp in zip(jacobians, inputs))


def _traced(func, inputs, strict, caller):
    """func run on new leaves that hold the inputs' values (an input func also reaches by name is a constant to
    it), with its outputs, each as a tuple with whether it was given as one, after torch's checks."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", caller)
    inputs = tuple(inp.detach().requires_grad_() for inp in inputs)
    with enable_grad():
        outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", caller)
    for index, output in enumerate(outputs):
        if strict and not output.requires_grad:
            raise RuntimeError(f"Output {index} of the user-provided function does not require gradients. The "
                               "outputs must be computed in a differentiable manner from the input when running in "
                               "strict mode.")
    return is_inputs_tuple, inputs, is_outputs_tuple, outputs


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


def _validate_v(v, outputs, is_outputs_tuple):
    if len(v) != len(outputs):
        if is_outputs_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (vector, output) in enumerate(zip(v, outputs)):
        if vector.shape != output.shape:
            place = f"Entry {index} in " if is_outputs_tuple else ""
            raise RuntimeError(f"{place}v has invalid size: should be {_size(output.shape)} but got "
                               f"{_size(vector.shape)}.")


__all__ = ["jacobian", "vjp"]
