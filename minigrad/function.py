"""Function: the base of every differentiable op.

An op subclasses Function and writes `forward(ctx, *arrays, **params)` and `backward(ctx, grad)`
next to each other, on raw NumPy/CuPy arrays. `apply` wraps the result in a Tensor and records the
graph node; the node is the `ctx` itself, so what forward saves is exactly what backward gets.
"""
import contextlib
import threading

from . import kernels, profiler
from .backend import get_array_module

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def no_grad():
    """Run without recording the graph (inference, metrics, optimizer updates)."""
    previous = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


class Context:
    """A graph node: the op, its inputs, and whatever forward saved for backward.

    `inputs` holds leaf tensors themselves and non-leaf ones by their data-free `GraphHandle`, so the
    graph keeps alive only the arrays that forward saved.
    """

    def __init__(self, function, inputs, params):
        self.function = function
        self.inputs = tuple(t._graph_entry for t in inputs)
        self.params = params
        self.needs_input_grad = tuple(t.requires_grad for t in inputs)
        self.saved = ()
        self.freed = False
        self.scope = getattr(_state, "scope", None)  # module calls in progress; set only by minigrad.viz.trace_modules

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def run_backward(self, grad):
        """The op's backward for this node (timed when the profiler is on)."""
        if profiler.enabled:
            return profiler.timed(self.function, "backward", self.function.backward, self, grad)
        return self.function.backward(self, grad)

    def free(self):
        """Drop saved arrays and input references once backward has used them."""
        self.saved = ()
        self.inputs = ()
        self.freed = True


class Function:
    """Subclass and implement forward/backward as static methods on arrays.

    backward returns one gradient per input (or None for inputs that need none); gradients of
    broadcast inputs may keep the broadcast shape: the engine sums them back to the input's shape.
    An op whose GPU version differs names it with @gpu_variant_of; `apply` picks it for CuPy arrays.
    """

    gpu_variant = None

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        from .tensor import Tensor

        reference = next(t for t in inputs if isinstance(t, Tensor))
        xp = get_array_module(reference.data)
        tensors = tuple(
            t if isinstance(t, Tensor) else Tensor(xp.asarray(t, dtype=reference.dtype)) for t in inputs
        )
        op = cls.gpu_variant if cls.gpu_variant is not None and kernels.runs_on(xp) else cls
        ctx = Context(op, tensors, params)
        arrays = tuple(t.data for t in tensors)
        if profiler.enabled:
            output = profiler.timed(op, "forward", op.forward, ctx, *arrays, **params)
        else:
            output = op.forward(ctx, *arrays, **params)
        requires_grad = is_grad_enabled() and any(ctx.needs_input_grad)
        if not requires_grad:
            return Tensor(output)
        return Tensor(output, requires_grad=True, _creator=ctx)


def gpu_variant_of(op):
    """Class decorator: the decorated Function subclass of `op` runs `op` on the GPU, with minigrad.kernels.

    It shares the op's checks and helpers and replaces what a GPU does badly: many small launches.
    """
    def register(variant):
        op.gpu_variant = variant
        return variant
    return register
