"""Function: the base of every differentiable op.

An op subclasses Function and writes `forward(ctx, *arrays, **params)` and `backward(ctx, grad)`
next to each other, on raw NumPy/CuPy arrays. `apply` wraps the result in a Tensor and records the
graph node; the node is the `ctx` itself, so what forward saves is exactly what backward gets.
"""
import contextlib
import copy
import functools
import inspect
import itertools
import math
import os
import sys
import threading
import traceback
import warnings

import numpy as np

from . import batching, kernels, memory, profiler
from .backend import default_complex_dtype, default_dtype, get_array_module

_state = threading.local()

# minigrad.tensor's Tensor, what apply makes: tensor.py, which imports this module, hands it over once it is defined
# (an import inside apply would cost every op a microsecond or more)
Tensor = None


def is_grad_enabled():
    return getattr(_state, "grad_enabled", True)


def is_inference_mode_enabled():
    return getattr(_state, "inference", False)


def _set_modes(grad_enabled, inference):
    _state.grad_enabled, _state.inference = grad_enabled, inference


def is_checkpoint_valid():
    """torch.autograd._is_checkpoint_valid: whether the backward walk running now (if any) accumulates into every
    leaf's `.grad`, as a re-entrant checkpoint's backward needs; autograd.grad and backward(inputs=...) do not."""
    return getattr(_state, "walk_accumulates", True)


@contextlib.contextmanager
def backward_walk(accumulates):
    """The block of one backward walk (see is_checkpoint_valid), which an op's backward may start another inside."""
    outer = is_checkpoint_valid()
    _state.walk_accumulates = accumulates
    try:
        yield
    finally:
        _state.walk_accumulates = outer


class _GradMode(contextlib.ContextDecorator):
    """A block, or each call of a decorated function, run in a mode of autograd (`modes()`), the modes before it
    restored after it: the one mechanism of no_grad, enable_grad, set_grad_enabled and inference_mode (whether it
    records the graph, whether it is inference mode: on this thread only), and of the anomaly modes (`current` and
    `switch` read and set which modes). As torch's, a decorator with or without the parentheses (`@no_grad` and
    `@no_grad()`)."""

    def __new__(cls, *args, **kwargs):
        if args and callable(args[0]):  # @no_grad, without the parentheses
            return cls()(args[0])
        return super().__new__(cls)

    @staticmethod
    def current():
        return is_grad_enabled(), is_inference_mode_enabled()

    @staticmethod
    def switch(modes):
        _set_modes(*modes)

    def modes(self):
        raise NotImplementedError

    def __enter__(self):
        self.previous = self.current()
        self.switch(self.modes())

    def __exit__(self, *exception):
        self.switch(self.previous)

    def _recreate_cm(self):
        return copy.copy(self)  # each call of a decorated function its own: a recursive call keeps the outer's state

    def __call__(self, function):
        """The decorated function; a generator function's each step (to each yield) in the mode, as torch's, which
        the caller's code between the steps is not."""
        if not inspect.isgeneratorfunction(function):
            return super().__call__(function)

        @functools.wraps(function)
        def generator(*args, **kwargs):
            steps = function(*args, **kwargs)
            try:
                with self._recreate_cm():
                    response = steps.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self._recreate_cm():
                            steps.close()
                        raise
                    except BaseException as error:
                        with self._recreate_cm():
                            response = steps.throw(error)
                    else:
                        with self._recreate_cm():
                            response = steps.send(request)
            except StopIteration as end:
                return end.value
        return generator


class _SetMode(_GradMode):
    """A mode set as it is made, as torch's set_grad_enabled and set_detect_anomaly: a plain call sets it; as a
    `with` block or a decorator, the mode before it comes back after it."""

    def __init__(self, *arguments):
        self.arguments = arguments
        self.made_in = self.current()
        self.switch(self.modes())

    def __enter__(self):
        super().__enter__()
        self.previous = self.made_in  # the mode was set when this was made: the one before that comes back

    def __call__(self, function):
        self.switch(self.made_in)  # a decorator sets the mode for the function's calls only
        return super().__call__(function)

    def _recreate_cm(self):
        return type(self)(*self.arguments)


def position_words(position):
    """' (position N)' in torch's TypeError for an argument given by position; nothing for one given by keyword."""
    return "" if position is None else f" (position {position})"


def require_bool(function, name, position, value):
    """torch's TypeError for argument `name` of `function` at `position` (None: keyword-only) unless it is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{function}(): argument '{name}'{position_words(position)} must be bool, not "
                        f"{type(value).__name__}")


class no_grad(_GradMode):
    """Run without recording the graph (inference, metrics, optimizer updates): `with no_grad():`, or a
    function decorated `@no_grad()` or `@no_grad`, as torch's."""

    def modes(self):
        return False, is_inference_mode_enabled()


class enable_grad(_GradMode):
    """Record the graph again inside a no_grad block (or a function decorated so), as torch's."""

    def modes(self):
        return True, is_inference_mode_enabled()


class inference_mode(_GradMode):
    """torch's inference mode, which for minigrad is no_grad that is_inference_mode_enabled() reports;
    inference_mode(False) leaves it and records the graph again, as torch's."""

    def __init__(self, mode=True):
        self.mode = mode

    def modes(self):
        return not self.mode, bool(self.mode)


class set_grad_enabled(_SetMode):
    """Record the graph or not from now on, as torch's (see _SetMode)."""

    def __init__(self, mode):
        require_bool("set_grad_enabled", "enabled", 1, mode)
        self.mode = mode
        super().__init__(mode)

    def modes(self):
        return self.mode, is_inference_mode_enabled()


# ---- torch's anomaly mode: where a backward's error came from -------------------------------------------
# As torch's, one mode for the whole process (the engine may run a backward on another thread than its forward's).
# Off, it costs each op one test of anomaly_enabled.
anomaly_enabled = False
anomaly_check_nan = True


def is_anomaly_enabled():
    return anomaly_enabled


def is_anomaly_check_nan_enabled():
    return anomaly_check_nan


def set_anomaly_enabled(mode, check_nan=True):
    """Turn torch's anomaly mode on or off: while on, each op that records a graph node keeps the stack of its
    forward call, which a warning shows where the node's backward fails, and a backward that gives NaN fails
    (check_nan)."""
    global anomaly_enabled, anomaly_check_nan
    require_bool("set_anomaly_enabled", "enabled", 1, mode)
    require_bool("set_anomaly_enabled", "check_nan", 2, check_nan)
    anomaly_enabled, anomaly_check_nan = mode, check_nan


class _AnomalyMode(_GradMode):
    """A block (or a decorated function) in an anomaly mode, (enabled, check_nan)."""

    @staticmethod
    def current():
        return anomaly_enabled, anomaly_check_nan

    @staticmethod
    def switch(modes):
        set_anomaly_enabled(*modes)


class detect_anomaly(_AnomalyMode):
    """torch.autograd.detect_anomaly: anomaly mode on in the block (see set_anomaly_enabled), with torch's warning
    that it is slow."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def modes(self):
        return True, self.check_nan


class set_detect_anomaly(_AnomalyMode, _SetMode):
    """torch.autograd.set_detect_anomaly: anomaly mode on or off from now on (see _SetMode)."""

    def __init__(self, mode, check_nan=True):
        self.mode, self.check_nan = mode, check_nan
        super().__init__(mode, check_nan)

    def modes(self):
        return self.mode, self.check_nan


# ---- torch's autocast: ops run in a lower precision (or float32) inside an enabled region ----------------
# As anomaly mode, one switch for the process, set by minigrad.amp.autocast: the device type ("cuda" or "cpu") whose
# lists of ops the innermost enabled region casts by, and its lower-precision dtype; outside, None, which each op
# tests once (apply) and pays nothing more for.
autocast_device = None
autocast_dtype = None
_AUTOCAST_ELIGIBLE = (np.dtype(np.float16), np.dtype(np.float32))  # as torch's, float64 is never cast
# torch's error for binary_cross_entropy, the one op its CUDA autocast refuses ("unsafe")
_UNSAFE_TO_AUTOCAST = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")


def set_autocast(device_type, dtype):
    """Cast ops by `device_type`'s lists to `dtype` from now on (None: do not cast)."""
    global autocast_device, autocast_dtype
    autocast_device, autocast_dtype = device_type, dtype


def autocast_operands(category, operands):
    """`operands` (tensors, lists of them, anything else) as an op of autocast `category` takes them in an enabled
    region, as torch's: its float16 and float32 tensors cast (differentiably) to the autocast dtype ("lower"), to
    float32 ("float32"), or to the widest of their dtypes ("promote"); an "unsafe" op is refused, an "uncast" one
    left as it is. `category` may be a dict of one per device type, where torch's lists differ (an op on no list of
    a device type is not cast there)."""
    if isinstance(category, dict):
        category = category.get(autocast_device)
    if category == "unsafe":
        raise RuntimeError(_UNSAFE_TO_AUTOCAST)
    tensors = [t for operand in operands for t in (operand if isinstance(operand, (list, tuple)) else (operand,))
               if isinstance(t, Tensor) and t.dtype in _AUTOCAST_ELIGIBLE]
    if category in (None, "uncast") or not tensors:
        return operands
    dtype = (autocast_dtype if category == "lower" else _SINGLE if category == "float32"
             else max((t.dtype for t in tensors), key=lambda dtype: dtype.itemsize))
    return tuple(cast_floating(operand, dtype) for operand in operands)


def cast_floating(value, dtype):
    """`value` with its float16 and float32 tensors, in lists, tuples and dicts too, cast (differentiably) to
    `dtype`, as autocast casts them."""
    if isinstance(value, Tensor):
        return value.to(dtype) if value.dtype in _AUTOCAST_ELIGIBLE and value.dtype != dtype else value
    if isinstance(value, (list, tuple)):
        return type(value)(cast_floating(item, dtype) for item in value)
    if isinstance(value, dict):
        return {key: cast_floating(item, dtype) for key, item in value.items()}
    return value


def autocasts(category):
    """Decorator: the function (one of torch's ops that minigrad composes of several) casts its tensor arguments
    as an op of autocast `category` (see autocast_operands) in an enabled region, and runs its parts uncast, as
    torch runs an autocast op's kernel; "uncast" where torch's op is one kernel on no list. On a device type that
    `category` leaves out, its parts are cast as any op is, as torch's ops composed of others are."""
    def decorate(function):
        @functools.wraps(function)
        def autocast(*args, **kwargs):
            if autocast_device is None or isinstance(category, dict) and autocast_device not in category:
                return function(*args, **kwargs)
            device, dtype = autocast_device, autocast_dtype
            args = autocast_operands(category, args)
            kwargs = dict(zip(kwargs, autocast_operands(category, tuple(kwargs.values()))))
            set_autocast(None, None)
            try:
                return function(*args, **kwargs)
            finally:
                set_autocast(device, dtype)
        return autocast
    return decorate


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_of_error(node_name, forward_trace):
    """torch's warning, in anomaly mode, that the backward of node `node_name` failed, with `forward_trace`, the stack
    of its forward call (None: not kept)."""
    if forward_trace is None:
        warnings.warn(f"Error detected in {node_name}. No forward pass information available. Enable detect anomaly "
                      "during forward pass for more information.")
    else:
        warnings.warn(f"Error detected in {node_name}. Traceback of forward call that caused the error:\n"
                      + "".join(traceback.format_list(forward_trace)))


@contextlib.contextmanager
def errors_warned_of(node):
    """A block (a tensor's hooks) whose error is first, in anomaly mode, torch's warning that `node` failed."""
    try:
        yield
    except Exception:
        if anomaly_enabled:
            node.warn_of_error()
        raise


def caller_outside_package():
    """(frame, stacklevel): the innermost frame of the call running now that lies outside minigrad (the line of the
    user's code that called into it; the outermost frame where all lie inside), and warnings.warn's stacklevel of it
    from the function that calls this one, however many of minigrad's frames lie between."""
    frame, stacklevel = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, stacklevel = frame.f_back, stacklevel + 1
    return frame, stacklevel


def _keep_forward_trace(ctx, inputs):
    """Anomaly mode's stack of the op's call running now, kept on its node `ctx`, and on each leaf among its `inputs`
    that no op used before in anomaly mode (the stack of its AccumulateGrad, which torch makes then)."""
    ctx.forward_trace = _forward_trace()
    for tensor in inputs:
        if tensor.creator is None and tensor.requires_grad and tensor._first_use_trace is None:
            tensor._first_use_trace = ctx.forward_trace


def _forward_trace():
    """The stack of the op's call running now, as anomaly mode keeps it: outermost frame first, to the innermost
    outside minigrad (the line that called the op, as torch's stack ends at its ops, which are C++)."""
    frame, _ = caller_outside_package()
    trace = traceback.StackSummary.extract(traceback.walk_stack(frame), lookup_lines=False)
    trace.reverse()
    return trace


# ---- writes into arrays that backward needs: torch's version counter --------------------------------
# Tensor's in-place operators write into a tensor's own array where autograd does not record them
# (`img = y.detach(); img *= 255`). An op that saved that memory for backward would then compute a wrong
# gradient in silence, so, as torch does, such writes are counted per block of memory, and backward
# refuses a node whose saved arrays were written since its forward. Only memory written so is listed.
_writes = {}  # id(the array that owns the memory) -> writes made into it by Tensor's in-place operators


def memory_owner(array):
    """The array whose memory `array` views (itself, if it views none), also through the holder of an array that
    NumPy's as_strided puts between its view and the array viewed."""
    owner = array
    while getattr(array, "base", None) is not None:
        array = array.base
        if isinstance(array, type(owner)):
            owner = array
    return owner


def note_write(array):
    """Tensor's in-place operators call this on the array they are about to write into."""
    key = id(memory_owner(array))  # the owner lives while any view of it does: the id stays its own
    _writes[key] = _writes.get(key, 0) + 1


def _writes_into(array):
    return _writes.get(id(memory_owner(array)), 0)


def is_tensor(obj):
    """torch.is_tensor; here for the ops too, whose modules load before Tensor exists (differentiable_backward's
    values are tensors, backward's arrays)."""
    return isinstance(obj, Tensor)


def _is_array(value):
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("cupy")


def _arrays_of(values):
    """values with each tensor as its array: a custom Function deals in tensors, as torch's, the graph in arrays."""
    return tuple(value.data if isinstance(value, Tensor) else value for value in values)


def _tensors_of(values):
    """values with each array as a tensor of it (no copy), for a custom Function's backward (see _arrays_of)."""
    return tuple(Tensor(value) if _is_array(value) else value for value in values)


def _saved_arrays(saved):
    """The arrays among what forward saved (some ops save a few inside a tuple)."""
    for item in saved:
        for part in item if isinstance(item, (tuple, list)) else (item,):
            if _is_array(part):
                yield part


SECOND_BACKWARD = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
                   "have already been freed). Saved intermediate values of the graph are freed when you call "
                   ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                   "graph a second time or if you need to access saved tensors after calling backward.")


def _type_name(value):
    """The name of value's type as torch's messages write it: a builtin's bare (float), others' with their module
    (numpy.ndarray)."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _called(op, phase, method, *args, **kwargs):
    """op's forward or backward (`phase`), timed where the profiler is on."""
    if profiler.enabled:
        return profiler.timed(op, phase, method, *args, **kwargs)
    return method(*args, **kwargs)


class UninitializedUse(Exception):
    """What a lazy module's uninitialized parameter or buffer raises where an op is given it (Context takes its
    graph entry): apply, knowing the op, raises error(op) instead."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind

    def error(self, where):
        """torch's ValueError for a use of this kind of uninitialized tensor in `where`."""
        return ValueError(f"Attempted to use an uninitialized parameter in {where}. This error happens when you are "
                          "using a `LazyModule` or explicitly manipulating "
                          f"`torch.nn.parameter.{self.kind.__name__}` objects. When using LazyModules Call `forward` "
                          "with a dummy batch to initialize the parameters before calling torch functions")


class UninitializedShape(UninitializedUse, RuntimeError):
    """torch's RuntimeError where one asks an uninitialized tensor for its shape; a function that asks on its own
    (see refusing_uninitialized) raises torch's ValueError for the use instead."""

    def __init__(self, kind):
        RuntimeError.__init__(self, "Can't access the shape of an uninitialized parameter or buffer. This error "
                              "usually happens in `load_state_dict` when trying to load an uninitialized parameter "
                              "into an initialized one. Call `forward` to initialize the parameters before accessing "
                              "their attributes.")
        self.kind = kind


def refusing_uninitialized(function):
    """`function`, which reads its tensors' shapes before any op could refuse an uninitialized one, raising torch's
    ValueError for that use (as torch's functions do) rather than the shape's RuntimeError."""
    @functools.wraps(function)
    def refusing(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except UninitializedShape as use:
            raise use.error(f"<function {function.__name__}>") from None
    return refusing


class Context:
    """A graph node: the op, its inputs, and whatever forward saved for backward.

    `inputs` holds leaf tensors themselves and non-leaf ones by their data-free `GraphHandle`, so the
    graph keeps alive only the arrays that forward saved.
    """

    # a custom Function's choices, made in its forward as torch's, and the outputs of one of several (see
    # _custom_outputs): (shape, dtype) of each array among them (None for anything else), and which are packed,
    # in order
    _materialize_grads = True
    _non_differentiable = ()
    _dirty = ()
    _outputs = None
    _differentiable = ()
    forward_trace = None  # the stack of the forward call, kept in anomaly mode (see set_anomaly_enabled)
    output_entry = None  # the output's graph entry while run_recorded_backward runs (see linked_output)
    saved_entries = None  # a custom Function's: the graph entry of each tensor it saved, None for a constant
    walk_needs = None  # while a walk runs this node's backward: the inputs whose gradients it takes, where not all
    saved_outputs = None  # a custom Function's: which of its outputs each value it saved is, None for no output
    half_in_float32 = False  # whether forward got its float16 operands as float32 (see Function)
    watched = None  # the arrays whose writes refuse backward, where they are not the saved ones (see watch_float16)

    def __init__(self, function, inputs, params, node_name=None):
        self.function = function
        self.node_name = node_name  # torch's name of the node where the caller of apply gave one
        self.inputs = tuple([t._graph_entry for t in inputs])
        self.params = params
        self.input_needs_grad = tuple([t.requires_grad for t in inputs])  # the engine's: one per tensor input
        self.constant_positions = ()  # where a custom Function's forward got an argument that is no tensor
        self.saved = ()
        self.writes_when_saved = None  # see note_write
        self.freed = False
        self.scope = getattr(_state, "scope", None)  # module calls in progress; set only by minigrad.viz.trace_modules

    def save_for_backward(self, *arrays):
        if self.function.custom:  # minigrad's own ops may save a few arrays in a tuple
            for position, value in enumerate(arrays):
                if not (value is None or _is_array(value) or isinstance(value, (np.generic, Tensor))):
                    raise TypeError(f"save_for_backward can only save variables, but argument {position} is of "
                                    f"type {_type_name(value)}")
            self.saved_entries = tuple(value._graph_entry if isinstance(value, Tensor) and value.requires_grad
                                       else None for value in arrays)
            arrays = _arrays_of(arrays)
        self.saved = arrays
        self.count_writes_of_saved()

    def count_writes_of_saved(self):
        """The writes into the saved arrays so far, which a write since makes backward refuse (see note_write)."""
        self.writes_when_saved = [_writes_into(array) for array in _saved_arrays(self.saved)] if _writes else None

    @property
    def needs_input_grad(self):
        """torch's: whether each argument of forward needs a gradient, a custom Function's constants (False) too; in
        a walk towards some tensors (autograd.grad), whether this one takes it (see walk_needs)."""
        if self.walk_needs is not None:
            return self.walk_needs
        if not self.constant_positions:
            return self.input_needs_grad
        needs = iter(self.input_needs_grad)
        return tuple(False if position in self.constant_positions else next(needs)
                     for position in range(len(self.input_needs_grad) + len(self.constant_positions)))

    @property
    def saved_tensors(self):
        """torch's: what a custom Function's forward saved, as tensors (the node keeps their arrays); an error once
        backward has freed it, as torch's."""
        if self.freed:
            raise RuntimeError(SECOND_BACKWARD)
        if self.output_entry is None:
            return _tensors_of(self.saved)
        # create_graph's backward (run_recorded_backward): a saved input or output leads back into the graph, as
        # torch's (an output through this node itself)
        return tuple(array if array is None or not _is_array(array)
                     else self.linked_output(array, output) if entry is None and output is not None
                     else _linked_tensor(array, entry)
                     for array, entry, output in zip(self.saved, self.saved_entries or itertools.repeat(None),
                                                     self.saved_outputs or itertools.repeat(None)))

    def mark_dirty(self, *tensors):
        """torch's: inputs of a custom Function (told by identity) that its forward wrote into in place, and
        returns: apply gives back each input tensor itself as that output, as torch's."""
        self._dirty = _arrays_of(tensors)

    def mark_non_differentiable(self, *tensors):
        """torch's: outputs of a custom Function's forward (told by identity) that need no gradient; backward gets
        zeros of their shape for them."""
        self._non_differentiable = _arrays_of(tensors)

    def set_materialize_grads(self, value):
        """torch's: False gives a custom Function's backward None, not zeros, for an output that got no gradient."""
        self._materialize_grads = bool(value)

    def run_backward(self, grad):
        """The op's backward for this node (timed when the profiler is on)."""
        if _writes:
            self._refuse_written_saved_arrays()
        grads = (grad,) if self._outputs is None else self._gradients_of_outputs(grad)
        if self.function.custom:
            with no_grad():  # as torch runs a custom Function's backward
                return self._custom_gradients(_called(self.function, "backward", self.function.backward, self,
                                                      *_tensors_of(grads)))
        if self.half_in_float32:
            grads = _float16_as_float32(grads)
        if profiler.enabled:  # _called's test, spelt out on this path that every op's backward takes
            gradients = profiler.timed(self.function, "backward", self.function.backward, self, *grads)
        else:
            gradients = self.function.backward(self, *grads)
        if self.half_in_float32:  # float16 inputs get float16 gradients
            gradients = tuple(_float32_as_float16(gradient) if parent.dtype == np.float16 else gradient
                              for gradient, parent in zip(_as_tuple(gradients), self.inputs))
        return gradients

    def run_recorded_backward(self, grad, output_entry):
        """create_graph's backward for this node: its gradients as tensors computed by recorded ops from `grad` (a
        tensor) and from what forward saved, linked back into the graph (see linked), so that they can be
        differentiated in turn. An op gives that computation as `differentiable_backward(ctx, grad)`; a custom
        Function's backward is one, run recording as torch runs it (unless once_differentiable). Any other op's
        gradients are its backward's arrays behind a node that refuses to be differentiated (NotTwiceDifferentiable).
        `output_entry` is the graph entry of the node's output, which linked_output gives."""
        if _writes:
            self._refuse_written_saved_arrays()
        formula = self.function.differentiable_backward if self.function.has_differentiable_backward() else None
        if self.function.custom and not _is_once_differentiable(self.function):
            formula = self.function.backward
        if formula is None:
            return self.undifferentiable_gradients(grad)
        self.output_entry = output_entry
        try:
            with enable_grad():
                grads = (grad,) if self._outputs is None else self._gradients_of_outputs(grad)
                if self.half_in_float32:  # as run_backward's; the engine rounds the gradients to their inputs' dtypes
                    grads = tuple(g.to(_SINGLE) if g is not None and g.dtype == _HALF else g for g in grads)
                gradients = _called(self.function, "backward", formula, self, *grads)
        finally:
            self.output_entry = None
        return self._custom_gradients(gradients, as_tensors=True) if self.function.custom else gradients

    def undifferentiable_gradients(self, grad):
        """create_graph's gradients for a tensor `grad` where no formula gives them (also a differentiable_backward's
        case it has none for): the array backward's, behind nodes that refuse a second differentiation by name."""
        return NotTwiceDifferentiable.wrap(self, grad, _as_tuple(self.run_backward(grad.data)))

    def linked(self, position, array):
        """The value `array` of input `position` (as forward saved it) as a tensor that leads back into the graph
        where that input came from, as torch's saved variables do: a gradient that differentiable_backward computes
        from it depends on it. A constant where the input needed no gradient; None for None."""
        if array is None:
            return None
        return _linked_tensor(array, self.inputs[position] if self.input_needs_grad[position] else None)

    def linked_saved(self):
        """What forward saved, one array (or None) per input in order, each linked (see linked)."""
        return tuple(self.linked(position, array) for position, array in enumerate(self.saved))

    def linked_output(self, array, position=0):
        """The op's output `array` (as forward saved it; output `position` of several) as a tensor that leads back into
        the graph through the op itself (see linked): an op that saves its output (exp) differentiates its gradient
        through it, as torch's. A constant for an output of several that is not differentiable."""
        if self._outputs is None:
            return _linked_tensor(array, self.output_entry)
        part = dict(self._parts()).get(position)
        if part is None:
            return Tensor(array)
        return Tensor(array, requires_grad=True, _creator=Context(CustomOutput, [self.output_entry], part))

    def _parts(self):
        """(output position, CustomOutput's params) of each part of the packed output of an op of several (see
        _custom_outputs), in order."""
        sizes = [math.prod(self._outputs[position][0]) for position in self._differentiable]
        start, flag = 0, sum(sizes)
        for position, size in zip(self._differentiable, sizes):
            shape, dtype = self._outputs[position]
            yield position, {"start": start, "shape": shape, "dtype": dtype, "flag": flag}
            start, flag = start + size, flag + 1

    def _gradients_of_outputs(self, packed):
        """The packed gradient of an op of several outputs (see _custom_outputs) as one per output of its forward, as
        torch's backward gets them: zeros of an output's shape and dtype where it got none (None after
        set_materialize_grads(False), which the flags after the parts tell), and None for an output that is no array.
        Arrays, or for create_graph's packed tensor, tensors recorded as parts of it."""
        recorded = isinstance(packed, Tensor)
        values = packed.data if recorded else packed
        xp = get_array_module(values)
        got = values[-len(self._differentiable):].tolist() if not self._materialize_grads else itertools.repeat(True)
        part_of = CustomOutput.apply if recorded else functools.partial(CustomOutput.forward, None)
        grads = {position: part_of(packed, **part)
                 for (position, part), received in zip(self._parts(), got) if received}
        zeros = (lambda output: Tensor(xp.zeros(*output))) if recorded else (lambda output: xp.zeros(*output))
        return [grads[position] if position in grads
                else None if output is None or not self._materialize_grads else zeros(output)
                for position, output in enumerate(self._outputs)]

    def _custom_gradients(self, gradients, as_tensors=False):
        """A custom Function's backward's gradients, one per argument of its forward as torch's (Nones past them are
        let go), checked as torch checks them; the arrays of those of its tensor arguments are given to the engine
        (the tensors themselves, as_tensors, where the engine differentiates them in turn)."""
        gradients = gradients if isinstance(gradients, tuple) else (gradients,)  # a list is one, as torch's
        expected = len(self.inputs) + len(self.constant_positions)
        if len(gradients) > expected and all(g is None for g in gradients[expected:]):
            gradients = gradients[:expected]
        if len(gradients) != expected:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected "
                               f"{expected}, got {len(gradients)})")
        for position, gradient in enumerate(gradients):
            if gradient is None:
                continue
            if position in self.constant_positions:
                raise RuntimeError(f"function {self.name()} returned a gradient different than None at position "
                                   f"{position + 1}, but the corresponding forward input was not a Variable")
            if not (_is_array(gradient) or isinstance(gradient, (np.generic, Tensor))):
                raise RuntimeError(f"expected Variable or None (got {_type_name(gradient)})")
        gradients = [g for position, g in enumerate(gradients) if position not in self.constant_positions]
        if as_tensors:
            return tuple(g if g is None or isinstance(g, Tensor) else Tensor(g) for g in gradients)
        return _arrays_of(gradients)

    def save_outputs_rounded(self, float32_outputs, float16_outputs):
        """Each float32 output forward saved replaced by the float16 output it gave, read in float32 (see
        Function.reads_rounded_output). The float32 outputs, the replacements in place of those saved."""
        rounded = {id(wide): narrow for wide, narrow in zip(float32_outputs, float16_outputs) if wide is not narrow}
        replacements = {}

        def replaced(item):
            if isinstance(item, (tuple, list)):
                return type(item)(replaced(part) for part in item)
            if id(item) not in rounded:
                return item
            replacements[id(item)] = rounded[id(item)].astype(np.float32)
            return replacements[id(item)]

        self.saved = tuple(replaced(item) for item in self.saved)
        return tuple(replacements.get(id(wide), wide) for wide in float32_outputs)

    def watch_float16(self, float32_arrays, float16_arrays):
        """Where forward computed in float32 (half_in_float32), watch for writes the float16 arrays (inputs, outputs)
        behind the float32 ones it saved: those are what the user's in-place operators write into."""
        # an input's entry, after an output's, wins where forward gave back an input's float32 copy
        behind = {id(memory_owner(wide)): narrow for wide, narrow in zip(float32_arrays, float16_arrays)
                  if wide is not narrow}
        self.watched = [behind.get(id(memory_owner(array)), array) for array in _saved_arrays(self.saved)]
        self.writes_when_saved = [_writes_into(array) for array in self.watched] if _writes else None

    def _refuse_written_saved_arrays(self):
        then = self.writes_when_saved or itertools.repeat(0)
        for array, watched, count in zip(_saved_arrays(self.saved), self.watched or _saved_arrays(self.saved), then):
            if _writes_into(watched) != count:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace operation: "
                    f"an array of shape {list(array.shape)} that {self.function.__name__} saved for its backward was "
                    "written into since. Write out of place (y = y * 2), or clone() the tensor before writing into it.")

    def free(self):
        """Drop the saved arrays once backward has used them, and the inputs that need no gradient (a batch of
        data); the edges to the others stay, as torch's."""
        self.saved = ()
        self.watched = None
        self.freed = True
        if not all(self.input_needs_grad):
            self.inputs = tuple(parent if needed else _Unneeded(parent)
                                for parent, needed in zip(self.inputs, self.input_needs_grad))

    def warn_of_error(self):
        """torch's warning, in anomaly mode, that this node's backward failed, with the stack of its forward call."""
        warn_of_error(self.name(), self.forward_trace)

    # ---- torch's view of a graph node, as `tensor.grad_fn` ------------------------------------------
    def name(self):
        """torch's name of the node ("MulBackward0"): the one given to apply, where a method runs an op that torch
        runs as another (t() runs Permute, torch transpose), else the op's (node_name), for this node's params."""
        name = self.node_name or node_name(self.function)
        return name if isinstance(name, str) else name(self)

    @property
    def next_functions(self):
        """The nodes this one hands gradients to, one (node, 0) pair per floating-point input as torch's (an index
        or a mask has none): the op that made a non-leaf input, an AccumulateGrad of a leaf that requires grad,
        None for an input that needs none. Kept after backward, as torch's."""
        return tuple((AccumulateGrad(parent) if parent.creator is None else parent.creator, 0) if needed
                     else (None, 0) for parent, needed in zip(self.inputs, self.input_needs_grad)
                     if parent.dtype.kind == "f")

    def class_name(self):
        """The name of the node's Python class in torch, which reprs show: name() without its namespace
        (torch::autograd::NotImplemented's is NotImplemented)."""
        return self.name().rpartition("::")[2]

    def __repr__(self):
        return f"<{self.class_name()} object at {id(self):#x}>"


class _Unneeded:
    """What a freed node keeps of an input that needs no gradient: its shape and dtype (next_functions shows a
    floating-point one as None), not its data."""

    creator = None
    requires_grad = False

    def __init__(self, tensor):
        self.shape, self.dtype = tensor.shape, tensor.dtype


class AccumulateGrad:
    """torch's node that adds a leaf's gradient into its `.grad`, as next_functions shows a leaf."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    @staticmethod
    def name():
        return "torch::autograd::AccumulateGrad"

    def warn_of_error(self):
        """torch's warning, in anomaly mode, that a hook of the leaf failed, with the stack of the first op that used
        it in anomaly mode (where torch makes this node)."""
        warn_of_error(self.name(), self.variable._first_use_trace)

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


class Function:
    """Subclass and implement forward/backward as static methods on arrays.

    forward returns one array. backward returns one gradient per input (or None for inputs that need
    none); gradients of broadcast inputs may keep the broadcast shape: the engine sums them back to
    the input's shape. `apply` gives forward its inputs in one dtype, promoted as torch does (`result_type`);
    an op that takes an integer index or a bool mask beside floats sets `promotes_inputs = False` and gets each
    tensor in its own dtype, and one that computes integer and bool operands in the default float dtype (true
    division) sets `integers_to_float = True`: each operand is cast straight to it, as torch's, none first into
    the others' integer dtype (300 / a uint8 tensor divides 300, not 300 wrapped into uint8).
    A binary element-wise op sets `broadcasts = True`: `apply` refuses operands that do not broadcast,
    with torch's error. An op whose GPU version differs names it with @gpu_variant_of; `apply` picks
    it for CuPy arrays. An op of several outputs that share one computation (a decomposition's factors) sets
    `several_outputs = True`: its forward returns a tuple, given back as a custom Function's are.
    An op that accumulates (a sum, a product, a running sum, a statistic, a matrix product) sets
    `half_in_float32 = True`: its forward and backward get float16 arrays as float32 ones and their float32
    results are rounded back to float16, as torch's CPU kernels accumulate float16 in float32, where NumPy's
    float16 sums round at every step (10,000 ones sum to 2,048) and overflow on the way to a mean of 15. One whose
    backward reads its own output, as torch's reads its float16 result (tanh's, sigmoid's), sets
    `reads_rounded_output = True`: the output it saved is the float16 one it gave, read in float32 (not where the
    saved output only stands in for what torch saves, as a normalization's does).
    An op whose torch kernel reads a number second operand in float32 (multiplication and the divisions, not
    addition and subtraction, whose numbers torch rounds to float16 first) sets `numbers_in_float32 = True`: a
    Python number (or a 0-d tensor of another dtype) after a float16 tensor keeps float32's range and precision,
    the op computing in float32 and rounding once, as torch's (float16 0.001 * 1e5 is 100, where 1e5 as a float16
    is inf); a number first is a float16 one, as in torch (torch.mul(1e5, x) is inf * x).
    An op on torch's autocast lists sets `autocast_category` (see autocast_operands): in an enabled autocast region,
    apply casts its operands so before anything else.

    A custom Function (one defined outside minigrad, as ported torch code defines them) is applied as torch's
    (see _apply_custom): its forward gets the tensors given to apply, run without recording, and any other
    argument as it is; it may return a tuple of outputs, and its backward then gets one gradient tensor per output,
    and returns tensors. Its ctx has
    torch's mark_dirty, mark_non_differentiable and set_materialize_grads, and its forward may leave the ctx to
    a `setup_context(ctx, inputs, output)`, as torch 2's.
    """

    gpu_variant = None
    custom = False  # a Function defined outside minigrad, as ported code defines one (see __init_subclass__)
    # torch's name of this op's graph node where it is not "<class name>Backward0"; or, for an op that is several of
    # torch's overloads, each a node of its own name (sum() and sum(dim)), a function of the node that names it
    node_name = None
    promotes_inputs = True
    integers_to_float = False
    broadcasts = False
    several_outputs = False
    half_in_float32 = False
    reads_rounded_output = False
    numbers_in_float32 = False
    autocast_category = None  # see autocast_operands: how an enabled autocast region casts the op's operands
    differentiable_backward = None  # see Context.run_recorded_backward: backward in recorded ops, for create_graph

    def __init_subclass__(cls, **kwargs):
        """minigrad's own ops take their constants as keywords, and a None or a string among their operands is a
        TypeError (`tensor + None`). A custom Function, defined outside minigrad, takes them among its
        arguments as torch's do (see _apply_custom)."""
        super().__init_subclass__(**kwargs)
        cls.custom = not cls.__module__.startswith(__package__ + ".")

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd functions are all static, "
                      "so you should invoke them on the class itself. Instantiating an autograd function will raise "
                      "an error in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def has_differentiable_backward(cls):
        """Whether create_graph's gradients through this op can be differentiated (see differentiable_backward)."""
        return cls.differentiable_backward is not None

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *inputs, node_name=None, **params):
        """The op on `inputs` (tensors, arrays, numbers) with `params`, recorded as a graph node where a gradient is
        needed; `node_name` names the node where it is not the op's own (see Context.name). A custom Function is
        applied as torch's (see _apply_custom). Inside vmap, the output is batched where an input is."""
        output = cls._applied(inputs, node_name, params)
        return batching.marked(output, inputs) if batching.levels else output

    @classmethod
    def _applied(cls, inputs, node_name, params):
        if cls.custom:
            return _apply_custom(cls, inputs, params if node_name is None else {**params, "node_name": node_name})
        if autocast_device is not None and cls.autocast_category is not None:
            inputs = autocast_operands(cls.autocast_category, inputs)
        if cls.promotes_inputs:
            tensors = promote_operands(inputs, cls.integers_to_float, cls.numbers_in_float32)
        else:
            device = next(t for t in inputs if isinstance(t, Tensor)).device
            tensors = tuple(t if isinstance(t, Tensor) else Tensor(t, device=device) for t in inputs)
        xp = get_array_module(tensors[0].data)
        op = cls.gpu_variant if cls.gpu_variant is not None and kernels.runs_on(xp, tensors[0].data.dtype) else cls
        ctx = _context(op, tensors, params, node_name)
        if cls.broadcasts:
            require_broadcastable(tensors[0].shape, tensors[1].shape)
        arrays = tuple(t.data for t in tensors)
        if (cls.half_in_float32 or cls.numbers_in_float32) and _computes_in_float32(cls, arrays):
            ctx.half_in_float32 = True
            float16_arrays, arrays = arrays, _float16_as_float32(arrays)
        with np.errstate(all="ignore"):  # IEEE's inf and NaN without NumPy's warnings, as torch's and CuPy's
            if profiler.enabled:  # _called's test, spelt out on this path that every op's forward takes
                output = profiler.timed(op, "forward", op.forward, ctx, *arrays, **params)
            else:
                output = op.forward(ctx, *arrays, **params)
            if ctx.half_in_float32:
                float32_output, output = output, _float32_as_float16(output)
                if ctx.saved:
                    float32_output = _as_tuple(float32_output)
                    if cls.reads_rounded_output:
                        float32_output = ctx.save_outputs_rounded(float32_output, _as_tuple(output))
                    ctx.watch_float16((*float32_output, *arrays), (*_as_tuple(output), *float16_arrays))
        requires_grad = is_grad_enabled() and any(ctx.input_needs_grad)
        if anomaly_enabled and requires_grad:
            _keep_forward_trace(ctx, tensors)
        if cls.several_outputs and isinstance(output, tuple):
            return _custom_outputs(ctx, output, requires_grad)
        if isinstance(output, (tuple, list)):
            raise TypeError(f"{cls.__name__}.forward returned a {type(output).__name__}: an op returns one array, or "
                            "a tuple where it sets several_outputs")
        return _output_tensor(ctx, output, requires_grad)


def once_differentiable(backward):
    """torch.autograd.function.once_differentiable: a custom Function's backward that cannot itself be
    differentiated, run without recording, as torch's; create_graph's gradients through it refuse to be
    differentiated (see NotTwiceDifferentiable)."""
    @functools.wraps(backward)
    def once(ctx, *args, **kwargs):
        with no_grad():
            return backward(ctx, *args, **kwargs)
    once.once_differentiable = True
    return once


def _is_once_differentiable(function):
    return getattr(function.backward, "once_differentiable", False)


def _linked_tensor(array, entry):
    """A tensor of `array` whose graph entry is `entry` (a leaf, or a non-leaf's GraphHandle): ops on it record
    `entry` as their input, so gradients flow from them into the graph there. A constant where entry is None."""
    tensor = Tensor(array)
    if entry is not None:
        tensor.requires_grad, tensor.creator, tensor._handle = True, entry.creator, entry
    return tensor


class NotTwiceDifferentiable(Function):
    """The node behind create_graph's gradients from an op with no differentiable_backward (or a custom Function's
    once_differentiable backward): its inputs are the gradient it got and the op's inputs, on which the gradients
    depend, and differentiating through it is an error that names the op, where a zero would be silently wrong.
    Named as torch's nodes of the same use."""

    @staticmethod
    def wrap(node, grad, gradients):
        """`gradients` (arrays, of node's backward for `grad`) as tensors behind such nodes."""
        inputs = [entry for entry, needed in zip(node.inputs, node.input_needs_grad) if needed]
        if grad.requires_grad:
            inputs.append(grad._graph_entry)
        marked_once = _is_once_differentiable(node.function)
        params = {"op": node.name(), "marked_once": marked_once}
        name = "torch::autograd::Error" if marked_once else "torch::autograd::NotImplemented"
        wrapped = []
        for gradient in gradients:
            if gradient is None or not inputs:
                wrapped.append(None if gradient is None else Tensor(gradient))
                continue
            if not hasattr(gradient, "ndim"):  # an index op's GradientAt
                gradient = gradient.dense()
            ctx = Context(NotTwiceDifferentiable, inputs, params, name)
            wrapped.append(Tensor(gradient, requires_grad=True, _creator=ctx))
        return tuple(wrapped)

    @staticmethod
    def backward(ctx, grad):
        if ctx.params["marked_once"]:
            raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")
        raise RuntimeError(f"derivative for the backward of {ctx.params['op']} is not implemented in minigrad: a "
                           "gradient computed through it with create_graph=True cannot be differentiated again")


def _context(op, tensors, params, node_name=None):
    """The graph node of op's call on `tensors`, with torch's error for a lazy module's uninitialized parameter."""
    try:
        return Context(op, tensors, params, node_name)
    except UninitializedUse as use:
        raise use.error(f"<function {op.__name__}.apply>") from None


def _output_tensor(ctx, output, requires_grad):
    """The tensor of an op's one output array, ctx's output where it records one."""
    if isinstance(output, np.generic):  # NumPy's 0-d results are scalars, which the constructor checks as a
        output = np.asarray(output)     # user's numbers (it refuses a numpy.uint64, as torch.tensor does)
    if not requires_grad or ctx.function.custom and _is_marked(ctx, output):
        return Tensor(output)
    return Tensor(output, requires_grad=True, _creator=ctx)


def _apply_custom(cls, args, kwargs):
    """torch's Function.apply of a custom Function: its tensor arguments are the node's inputs, which forward gets
    themselves; it gets any other argument (a number, a list, a NumPy array, None) as it is, for which backward
    returns None. The tensors it returns are the node's outputs (an array is taken for one). Keywords are bound to forward's parameters (with their defaults where
    setup_context is defined), as torch binds them. Forward (and setup_context) run without recording, as does
    backward (see Context.run_backward)."""
    sets_up_apart = cls.setup_context is not Function.setup_context
    if sets_up_apart:
        bound = inspect.signature(cls.forward).bind(*args, **kwargs)
        bound.apply_defaults()
        args, kwargs = bound.args, bound.kwargs
    if kwargs:
        args = _keywords_in_place(cls.forward, args, kwargs, 0 if sets_up_apart else 1)
    tensors = [arg for arg in args if isinstance(arg, Tensor)]
    ctx = _context(cls, tensors, {})
    ctx.constant_positions = tuple(position for position, arg in enumerate(args) if not isinstance(arg, Tensor))
    requires_grad = is_grad_enabled() and any(ctx.input_needs_grad)
    with no_grad(), np.errstate(all="ignore"):
        if sets_up_apart:
            output = _called(cls, "forward", cls.forward, *args)
            cls.setup_context(ctx, args, output)
        else:
            output = _called(cls, "forward", cls.forward, ctx, *args)
    output = _arrays_of(output) if isinstance(output, tuple) else _arrays_of((output,))[0]
    if requires_grad and ctx.saved:
        ctx.saved_outputs = _output_positions(ctx.saved, output if isinstance(output, tuple) else (output,))
    if anomaly_enabled and requires_grad:
        _keep_forward_trace(ctx, tensors)
    if isinstance(output, tuple):
        result = _custom_outputs(ctx, output, requires_grad)
    elif isinstance(output, list):
        raise TypeError(f"{cls.__name__}.forward returned a list: a custom Function returns several outputs as a "
                        "tuple")
    elif _is_array(output) or isinstance(output, np.generic):
        result = _output_tensor(ctx, output, requires_grad)
    else:
        return output  # a number, None: as it is, as torch's
    return _in_place(ctx, tensors, output, result, requires_grad) if ctx._dirty else result


def _output_positions(saved, outputs):
    """Which of a custom Function's outputs each value its forward saved is (None for none), told by identity as
    torch tells a saved output: create_graph's backward differentiates through it (see Context.saved_tensors)."""
    return tuple(next((position for position, output in enumerate(outputs) if output is value), None)
                 if _is_array(value) else None for value in saved)


def _keywords_in_place(forward, args, kwargs, skipped):
    """forward's arguments with the keywords among them put in their parameters' places, as torch's apply puts
    them: a keyword must name a positional parameter, and those before it must all be given."""
    names = [parameter.name for parameter in list(inspect.signature(forward).parameters.values())[skipped:]
             if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    for name in kwargs:
        if name not in names[len(args):]:
            raise TypeError(f"forward() got an unexpected keyword argument '{name}'")
    last = max(names.index(name) for name in kwargs)
    for position in range(len(args), last + 1):
        if names[position] not in kwargs:
            raise TypeError(f"forward() missing required argument: '{names[position]}' (position {position})")
    return (*args, *(kwargs[name] for name in names[len(args):last + 1]))


def _in_place(ctx, tensors, output, result, requires_grad):
    """A custom Function's result where its forward wrote into inputs in place (Context.mark_dirty): each such
    input tensor itself in its output's place, which it takes in the graph where recorded, as torch's."""
    outputs, results = (output, result) if isinstance(output, tuple) else ((output,), (result,))
    results = list(results)
    for array in ctx._dirty:
        written = next((t for t in tensors if t.data is array), None)
        if written is None:
            warnings.warn("ctx.mark_dirty() received a tensor that was not an input. Only input Tensors that have "
                          "been mutated should be passed to ctx.mark_dirty().")
            continue
        if requires_grad and written.is_leaf and written.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        position = next((position for position, out in enumerate(outputs) if out is array), None)
        if position is None:
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                               "The inputs that are modified inplace must all be outputs of the Function.")
        note_write(array)
        if results[position].creator is not None:
            written._become_written(results[position])
        results[position] = written
    if ctx.saved:
        ctx.count_writes_of_saved()  # what forward saved is as its writes left it
        # a written input that it saved is its output now, linked through this node (see saved_tensors), as torch's
        ctx.saved_entries = tuple(None if any(value is array for array in ctx._dirty) else entry
                                  for value, entry in zip(ctx.saved, ctx.saved_entries))
    return tuple(results) if isinstance(output, tuple) else results[0]


def _computes_in_float32(op, arrays):
    """Whether `op` computes its float16 operands in float32 (see Function.half_in_float32): all of them where it
    accumulates, or, where it takes numbers in float32, float16 ones beside a number (which promote_operands made
    float32: a Python number, or a 0-d tensor of another dtype, second)."""
    for array in arrays:  # most calls have no float16 operand: a plain loop tells them cheapest
        if array.dtype == _HALF:
            break
    else:
        return False
    floats = {array.dtype for array in arrays if array.dtype.kind == "f"}
    return floats == {_HALF} if op.half_in_float32 else floats == {_HALF, _SINGLE}


def _as_tuple(gradients):
    """backward's gradients as a tuple, where it may return one array for one input."""
    return tuple(gradients) if isinstance(gradients, (tuple, list)) else (gradients,)


def _float16_as_float32(arrays):
    """The float16 arrays among `arrays` as float32 ones, the rest as they are (see Function.half_in_float32)."""
    return tuple(array.astype(np.float32) if getattr(array, "dtype", None) == np.float16 else array
                 for array in arrays)


def _float32_as_float16(output):
    """An op's float32 output (or tuple of outputs) rounded to float16 (see Function.half_in_float32)."""
    if isinstance(output, tuple):
        return tuple(_float32_as_float16(part) for part in output)
    return output.astype(np.float16) if getattr(output, "dtype", None) == np.float32 else output


def _custom_outputs(ctx, outputs, requires_grad):
    """The tuple of a custom Function's outputs, as torch's: arrays as tensors, anything else as it is.

    The engine runs a node once the gradient of its one output is complete, so the floating-point outputs (less
    those marked non-differentiable) are that one output packed: raveled end to end in their widest dtype, then a
    flag for each, which its gradient sets (backward gives None for an output that got none, where asked). Each is
    given back as a view of its part (CustomOutput), named as the node.
    """
    arrays = {position: np.asarray(output) if isinstance(output, np.generic) else output  # NumPy's 0-d results
              for position, output in enumerate(outputs) if _is_array(output) or isinstance(output, np.generic)}
    tensors = [Tensor(arrays[position]) if position in arrays else output for position, output in enumerate(outputs)]
    differentiable = tuple(position for position, array in arrays.items() if array.dtype.kind == "f"
                           and not _is_marked(ctx, outputs[position]))
    if not (requires_grad and differentiable):
        return tuple(tensors)
    ctx._outputs = tuple((arrays[position].shape, arrays[position].dtype) if position in arrays else None
                         for position in range(len(outputs)))
    ctx._differentiable = differentiable
    parts = [arrays[position].ravel() for position in differentiable]
    xp = get_array_module(parts[0])
    flags = xp.zeros(len(parts), np.result_type(*(part.dtype for part in parts)))
    packed = Tensor(xp.concatenate([*parts, flags]), requires_grad=True, _creator=ctx)
    for position, part in ctx._parts():
        tensors[position] = CustomOutput.apply(packed, **part, node_name=ctx.name())
    return tuple(tensors)


def _is_marked(ctx, output):
    """Whether a custom Function's forward marked `output` non-differentiable (see Context.mark_non_differentiable)."""
    return any(output is marked for marked in ctx._non_differentiable)


class CustomOutput(Function):
    """One output of a custom Function of several (see _custom_outputs): a view of its part of the packed output.
    Its gradient is that part's in zeros of the packed shape, with its flag set (PackedGradient); the engine sums
    them."""

    @staticmethod
    def forward(ctx, packed, start, shape, dtype, flag):
        return packed[start:start + math.prod(shape)].reshape(shape).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return PackedGradient.forward(ctx, grad, **_params_of_gradient(ctx))

    @staticmethod
    def differentiable_backward(ctx, grad):
        return PackedGradient.apply(grad, **_params_of_gradient(ctx))


class PackedGradient(Function):
    """CustomOutput's gradient as an op, so that create_graph's can be differentiated in turn: the part's gradient in
    zeros of the packed shape, its flag set. Its own gradient is the part of the packed one (a CustomOutput)."""

    @staticmethod
    def forward(ctx, grad, start, shape, dtype, flag):
        grad_packed = memory.zeros(get_array_module(grad), shape, dtype)
        grad_packed[start:start + grad.size] = grad.ravel()
        grad_packed[flag] = 1
        return grad_packed

    @staticmethod
    def backward(ctx, grad):
        return CustomOutput.forward(ctx, grad, **_params_of_gradient(ctx))

    @staticmethod
    def differentiable_backward(ctx, grad):
        return CustomOutput.apply(grad, **_params_of_gradient(ctx))


def _params_of_gradient(ctx):
    """The params of the gradient of a CustomOutput node (a PackedGradient) or of a PackedGradient node (a
    CustomOutput): the same part, between the shape and dtype of the node's input and those of its output."""
    (source,) = ctx.inputs
    return {"start": ctx.params["start"], "shape": source.shape, "dtype": source.dtype, "flag": ctx.params["flag"]}


_SCALARS = (int, float, complex, np.number, np.bool_)  # Python's (bool is an int) and NumPy's
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # torch's dtype categories, lowest first
_BOOL, _INT64, _HALF, _SINGLE = np.dtype(bool), np.dtype(np.int64), np.dtype(np.float16), np.dtype(np.float32)
_NARROW_FLOATS = (_HALF, _SINGLE)  # the float dtypes that a Python float may overflow
# torch's names of its scalar types, as its messages (and its storage classes, "FloatStorage") spell them
SCALAR_TYPE_NAMES = {np.dtype(dtype): name for dtype, name in [
    (np.float64, "Double"), (np.float32, "Float"), (np.float16, "Half"), (np.int64, "Long"), (np.int32, "Int"),
    (np.int16, "Short"), (np.int8, "Char"), (np.uint8, "Byte"), (np.bool_, "Bool"), (np.complex128, "ComplexDouble"),
    (np.complex64, "ComplexFloat"), (np.uint16, "UInt16"), (np.uint32, "UInt32"), (np.uint64, "UInt64")]}
# the same as C++ names them, as other messages of torch's write them (the attention's, lerp's)
CPP_TYPE_NAMES = {np.dtype(np.float16): "c10::Half", np.dtype(np.float32): "float", np.dtype(np.float64): "double",
                  np.dtype(np.uint8): "unsigned char", np.dtype(np.int8): "signed char",
                  np.dtype(np.int16): "short int", np.dtype(np.int32): "int", np.dtype(np.int64): "long int",
                  np.dtype(bool): "bool", np.dtype(np.complex64): "c10::complex<float>",
                  np.dtype(np.complex128): "c10::complex<double>"}


def can_cast(source, target):
    """torch.can_cast: a result may be written into a tensor of any dtype but one of a lower category
    (floating point into integers, integers into bool, complex into real)."""
    return _CATEGORY[source.kind] <= _CATEGORY[target.kind]


def promote(a, b):
    """Two dtypes of one rank, promoted as torch does: a higher category wins (int64 with float16 is float16)."""
    if a is None:
        return b
    if _CATEGORY[a.kind] != _CATEGORY[b.kind]:
        return a if _CATEGORY[a.kind] > _CATEGORY[b.kind] else b
    return np.promote_types(a, b)


def result_type(*operands):
    """torch.result_type of tensors (or arrays) and scalars: the dtype an op on them gives.

    Tensors with dimensions outrank 0-d tensors, which outrank scalars; dtypes promote within a rank, and a
    lower rank decides only with a higher category (bool < integer < float). So float32 + 0-d float64 and
    float32 + 1e300 stay float32, int64 + 0.5 is float32 (a Python float counts as the default dtype, float32
    unless set_default_dtype changed it; a complex number as its complex one), bool * 2 is int64, int64 + float32
    is float32; a lower rank's complex dtype keeps a float's precision (float64 * 1j is complex128). A wrapped
    number (torch.mul(0.1, t)'s 0.1, see Tensor._is_wrapped_number) ranks as the number it holds.
    """
    ranks = [None, None, None]  # the promoted dtype of the tensors with dimensions, of the 0-d ones, of the scalars
    for operand in operands:
        if getattr(operand, "_is_wrapped_number", False):
            operand = operand.dtype.type(0)  # a number of its kind, which is all a scalar's promotion reads
        if isinstance(operand, (bool, np.bool_)):
            rank, dtype = 2, _BOOL
        elif isinstance(operand, (int, np.integer)):
            rank, dtype = 2, _INT64
        elif isinstance(operand, (float, np.floating)):
            rank, dtype = 2, default_dtype()
        elif isinstance(operand, (complex, np.complexfloating)):
            rank, dtype = 2, default_complex_dtype()
        else:
            rank, dtype = (0 if operand.ndim else 1), operand.dtype
            if dtype.kind not in _CATEGORY:  # mg.tensor(None) is an object array
                raise TypeError(f"unsupported operand of dtype {dtype}: ops take tensors, arrays and numbers")
        ranks[rank] = promote(ranks[rank], dtype)
    result = None
    for dtype in ranks:
        if dtype is not None and (result is None or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]):
            keeps_precision = dtype.kind == "c" and result is not None and result.kind == "f"
            result = np.result_type(result, np.complex64) if keeps_precision else dtype
    return result


def require_same_dtype(op, **operands):
    """Refuse operands (tensors or arrays, by name; None is skipped) of different dtypes, as torch's matmul and
    conv2d do, rather than promote them: a float64 weight would silently run a float32 network in float64."""
    dtypes = {name: operand.dtype for name, operand in operands.items() if operand is not None}
    if len(set(dtypes.values())) > 1:
        *others, last = dtypes
        raise RuntimeError(f"{op}: expected {', '.join(others)} and {last} to have the same dtype, but got: "
                           + ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items()))


def require_fits(values, dtype, tensor_data=False):
    """Refuse numbers that an integer dtype cannot hold (NaN included), or finite ones beyond float16's or float32's
    range, with torch's error, where NumPy would wrap them silently or round them to inf. As torch, a negative
    integer may wrap into an unsigned dtype (-1 is 255 in uint8). The message names the dtype as torch.tensor's
    does for `tensor_data` (whose float values beyond its range are inf, as torch's), else, for an op's number
    argument (full's fill value, clamp's bounds), the C++ type (uint8_t, c10::Half, float) as its ops' do."""
    if dtype in _NARROW_FLOATS and not tensor_data and values.size:  # inf and NaN are theirs, as torch's
        magnitudes = np.abs(values).astype(np.float64)  # of Python ints beyond int64's range too
        if (magnitudes[np.isfinite(magnitudes)] > np.finfo(dtype).max).any():
            raise RuntimeError(f"value cannot be converted to type {CPP_TYPE_NAMES[dtype]} without overflow")
    if dtype.kind not in "iu" or values.size == 0:
        return
    limits = np.iinfo(dtype)
    lowest = -limits.max if dtype.kind == "u" and values.dtype.kind == "i" else limits.min
    # as Python numbers, which compare exactly: NumPy would round the limit to a float32 value's precision
    if not (lowest <= values.min().item() and values.max().item() <= limits.max):
        name = dtype if tensor_data else "int" if dtype == np.int32 else f"{dtype}_t"
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def converted_scalar(number, dtype, half_in_float32=False):
    """A number argument (clamp's bounds) in an op's dtype, as torch converts it: refused where the dtype cannot
    hold it (require_fits), where NumPy would raise its own error; a negative integer wraps into an unsigned dtype
    (-5 is 251 in uint8). With `half_in_float32`, float16's is float32's, as for the ops that torch computes float16
    in float32 (lerp's weight, elu's alpha)."""
    require_64_bits(number)
    if half_in_float32 and dtype == _HALF:
        dtype = _SINGLE
    require_fits(np.asarray(number), dtype)
    return np.asarray(number).astype(dtype)[()]


def require_broadcastable(a, b):
    """Refuse two shapes that do not broadcast with torch's RuntimeError, where NumPy's ValueError would escape
    from forward. As torch, it names the rightmost mismatch, by its dim in the broadcast shape."""
    if a == b or not a or not b:  # the common cases: one shape, or a number's 0-d array
        return
    mismatch = broadcast_mismatch(a, b)
    if mismatch is not None:
        from_end, size_a, size_b = mismatch
        raise RuntimeError(f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) at "
                           f"non-singleton dimension {max(len(a), len(b)) - 1 - from_end}")


def broadcast_mismatch(a, b):
    """(place from the end, size in a, size in b) of the rightmost dims of shapes a and b that do not broadcast,
    or None where they all do."""
    for from_end, (size_a, size_b) in enumerate(zip(a[::-1], b[::-1])):
        if size_a != size_b and size_a != 1 and size_b != 1:
            return from_end, size_a, size_b
    return None


def require_64_bits(number):
    """Refuse a Python integer beyond 64 bits with torch's OverflowError: torch reads a number operand as an
    int64 or a uint64 whatever the tensor's dtype (float32 + 2 ** 64 too, which NumPy would round)."""
    if isinstance(number, int) and not -2 ** 63 <= number < 2 ** 64:
        raise OverflowError("int too big to convert" if number > 0 else "can't convert negative int to unsigned")


def _scalar_array(xp, number, dtype):
    """A number as a 0-d array of an op's dtype. An integer the dtype cannot hold wraps around, as in torch
    (int8 + 300 adds 44), where NumPy raises; one beyond 64 bits is an error (require_64_bits)."""
    require_64_bits(number)
    if dtype.kind in "iu":
        number = np.asarray(number).astype(dtype)
    elif dtype.kind == "f":  # a number beyond the dtype's range is inf, as torch's, without NumPy's warning
        with np.errstate(over="ignore"):
            number = dtype.type(number)
    return xp.asarray(number, dtype=dtype)


def promote_operands(inputs, integers_to_float=False, numbers_in_float32=False):
    """An op's inputs (or a comparison's) as tensors of their result_type: scalars as 0-d arrays, tensors cast
    differentiably; an integer or bool result_type is the default float dtype where `integers_to_float`, and a
    second operand that torch reads as a number beside float16 is float32 where `numbers_in_float32` (see
    Function).

    NumPy arrays and lists count as the tensors mg.tensor makes of them (as torch.from_numpy's), on the first
    tensor's device. The common cases stay cheap: tensors of one dtype pass untouched, and Python numbers with
    float tensors (which they never widen) skip result_type.
    """
    reference, numbers, dtype = None, False, None
    for t in inputs:
        if isinstance(t, Tensor):
            if reference is None:
                reference = t
            elif t.dtype != reference.dtype:
                break
        elif type(t) is float or type(t) is int:
            numbers = True
        else:
            break
    else:  # tensors of one dtype, and maybe Python numbers
        if not numbers and not (integers_to_float and reference.dtype.kind in "biu"):
            return inputs
        if reference.dtype.kind == "f":
            dtype = reference.dtype
    operands = inputs
    if dtype is None:
        reference = next(t for t in inputs if isinstance(t, Tensor))
        operands = tuple(t if isinstance(t, (Tensor, *_SCALARS)) else Tensor(t, device=reference.device)
                         for t in inputs)
        dtype = result_type(*operands)
        if integers_to_float and dtype.kind in "biu":
            dtype = default_dtype()
    xp = get_array_module(reference.data)
    dtypes = [dtype] * len(operands)
    if numbers_in_float32 and dtype == _HALF and _reads_as_number(operands[1]):
        dtypes[1] = _SINGLE
    return tuple((t if t.dtype == target else t.to(target)) if isinstance(t, Tensor)
                 else Tensor(_scalar_array(xp, t, target)) for t, target in zip(operands, dtypes))


def _reads_as_number(operand):
    """Whether torch's kernels read a second operand beside float16 in float32 (see Function.numbers_in_float32): a
    number, or a 0-d tensor of another dtype (a float32 scale), whose own value they read."""
    return not isinstance(operand, Tensor) or operand.ndim == 0 and operand.dtype != _HALF


def node_name(op):
    """torch's name of the graph node of an op (a Function subclass), or a function of the node that gives it: the
    op's own `node_name`, not one it inherits (Hardtanh's is not Clamp's), else "<class name>Backward0", or
    "<class name>Backward" for a custom Function, as torch names those."""
    return vars(op).get("node_name") or f"{op.__name__}Backward{'' if op.custom else '0'}"


def named_by(param, without, given):
    """The node_name of an op that is two of torch's overloads: a node is named `without` where `param` is None (not
    passed), else `given`, as sum() is SumBackward0 and sum(dim) SumBackward1."""
    return lambda ctx: without if ctx.params.get(param) is None else given


def gpu_variant_of(op):
    """Class decorator: the decorated Function subclass of `op` runs `op` on the GPU, with minigrad.kernels.

    It shares the op's checks and helpers and replaces what a GPU does badly: many small launches.
    """
    def register(variant):
        op.gpu_variant = variant
        variant.node_name = node_name(op)
        return variant
    return register
