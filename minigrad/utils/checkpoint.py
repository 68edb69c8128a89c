"""torch.utils.checkpoint: activation checkpointing, which trades compute for memory. A checkpointed block keeps
none of its intermediate arrays for backward, only its inputs; backward runs its forward again (the random state
as it was, so that a dropout draws the same mask) and backpropagates through that.

Both of torch's variants, as far as they differ observably. The re-entrant one (use_reentrant=True, torch's default,
with its warning) runs its own backward inside the outer one: the parameters that the block uses get their `.grad`
there, so the block needs an input that requires grad, and autograd.grad cannot run through it. The other one
(use_reentrant=False) hands the parameters' gradients to the outer walk, as any op's: autograd.grad works, and
parameters alone make the block's outputs require grad. Either variant's own walk runs through the graph behind
a non-leaf tensor from outside that the function uses without getting it as an argument (captured by a closure),
freeing it, as torch's re-entrant one does: pass such a tensor as an argument.
"""
import contextlib
import warnings

from ..function import Function, enable_grad, is_checkpoint_valid, is_grad_enabled, no_grad
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor, backpropagate, topological_order

__all__ = ["checkpoint", "checkpoint_sequential"]

_DETERMINISM_CHECKS = ("default", "none")


def _require_explicit_variant(use_reentrant, caller):
    """torch's warning where use_reentrant is not passed; its default, the re-entrant variant, then."""
    if use_reentrant is None:
        warnings.warn(f"{caller}: the use_reentrant parameter should be passed explicitly. "
                      + ("Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                         if caller == "torch.utils.checkpoint" else
                         "In version 2.9 we will raise an exception if use_reentrant is not passed. ")
                      + "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the differences "
                      "between the two variants.", stacklevel=3)
        return True
    return use_reentrant


def checkpoint(function, *args, use_reentrant=None, determinism_check="default", debug=False, **kwargs):
    """function(*args, **kwargs), its intermediate arrays not kept for backward but recomputed there, as torch's.
    preserve_rng_state=True (a keyword, as torch's) restores minigrad's random state for the recomputation."""
    use_reentrant = _require_explicit_variant(use_reentrant, "torch.utils.checkpoint")
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    elif determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got "
                         f"{determinism_check}")
    block = _Block(function, args, kwargs, use_reentrant, preserve_rng_state, determinism_check == "default")
    return block.run([arg for arg in args if isinstance(arg, Tensor)])


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """The functions (a list, or a Sequential's layers) applied in turn to input, in `segments` parts of which all but
    the last are checkpointed, as torch's."""
    use_reentrant = _require_explicit_variant(use_reentrant, "torch.utils.checkpoint.checkpoint_sequential")
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children"):
        functions = list(functions.children())

    def run(part):
        def forward(value):
            for function in part:
                value = function(value)
            return value
        return forward

    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(run(functions[start:end]), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return run(functions[end:])(input)


class _Block:
    """One checkpointed call: the function, its arguments other than tensors (the node saves their arrays), and
    the random state before it."""

    def __init__(self, function, args, kwargs, reentrant, preserve_rng_state, checks_outputs):
        self.function, self.kwargs = function, kwargs
        self.tensor_positions = [position for position, arg in enumerate(args) if isinstance(arg, Tensor)]
        self.args = tuple(None if isinstance(arg, Tensor) else arg for arg in args)
        self.reentrant, self.checks_outputs = reentrant, checks_outputs
        self.rng_state = get_rng_state() if preserve_rng_state else None
        self.outputs_meta = None

    def run(self, tensors):
        """The function's outputs on the tensor arguments, recorded as one node (Checkpoint) where a gradient is
        needed."""
        if self.reentrant:
            if not any(t.requires_grad for t in tensors):
                warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)
            with no_grad():
                outputs = self.function(*self._with(tensors), **self.kwargs)
            parameters = []
        elif not is_grad_enabled():
            return self.function(*self._with(tensors), **self.kwargs)
        else:
            outputs, parameters = self._outputs_and_parameters(tensors)
        single = not isinstance(outputs, tuple)
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors + parameters)) or (
                single and not isinstance(outputs, Tensor)):
            return outputs
        self.parameters = parameters
        self.outputs_meta = [(o.shape, o.dtype) if isinstance(o, Tensor) else None
                             for o in ((outputs,) if single else outputs)]
        self.outputs = outputs.data if single else tuple(o.data if isinstance(o, Tensor) else o for o in outputs)
        return (ReentrantCheckpoint if self.reentrant else Checkpoint).apply(*tensors, *parameters, block=self)

    def _outputs_and_parameters(self, tensors):
        """The function's outputs (no graph kept) and the leaves that require grad which they were computed from,
        besides the arguments: the parameters, whose gradients the node gives."""
        detached = self._detached((t, t.requires_grad) for t in tensors)
        outputs = self.function(*self._with(detached), **self.kwargs)
        roots = [o for o in (outputs if isinstance(outputs, tuple) else (outputs,))
                 if isinstance(o, Tensor) and o.requires_grad]
        arguments = {id(t) for t in detached}
        parameters = [entry for entry in topological_order(*roots, needs_grad_only=True)
                      if entry.creator is None and id(entry) not in arguments]
        if isinstance(outputs, tuple):
            return tuple(o.detach() if isinstance(o, Tensor) else o for o in outputs), parameters
        return outputs.detach() if isinstance(outputs, Tensor) else outputs, parameters

    @staticmethod
    def _detached(arrays_or_tensors):
        """Leaves of the arguments' values, each requiring grad as its tensor does (floating point only)."""
        return [Tensor(t.data if isinstance(t, Tensor) else t, requires_grad=needs)
                for t, needs in arrays_or_tensors]

    def _with(self, tensors):
        """The arguments, with these tensors."""
        args = list(self.args)
        for position, tensor in zip(self.tensor_positions, tensors):
            args[position] = tensor
        return args

    def gradients(self, arrays, needs_grad, output_grads):
        """The node's backward: the forward run again on the saved argument arrays, with the graph recorded and the
        random state as it was, then the outputs' gradients backpropagated through it; one gradient per input of
        the node (the tensor arguments, then the parameters of the non-re-entrant variant)."""
        if self.reentrant and not is_checkpoint_valid():
            raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                               "passing an `inputs` parameter to .backward(). To resolve this error, you can either "
                               "set use_reentrant=False, or call .backward() without passing the `inputs` argument.")
        return self._recomputed_gradients(self._detached(zip(arrays, needs_grad)), output_grads)

    def recorded_gradients(self, arguments, output_grads):
        """create_graph's gradients (of the non-re-entrant variant): a checkpointed block themselves, of the tensor
        arguments (linked into the graph) and the outputs' gradients, whose recomputation is the forward's and its
        recorded backward's, so that they are differentiated in turn, and again, as torch's."""
        count = len(arguments)

        def gradients_of(*values):
            return tuple(self._recomputed_gradients(values[:count], values[count:], create_graph=True))

        # the random state is this block's, which _recomputed_gradients sets
        return checkpoint(gradients_of, *arguments, *output_grads, use_reentrant=False, preserve_rng_state=False)

    def _recomputed_gradients(self, arguments, output_grads, create_graph=False):
        """The gradients of the function's outputs, recomputed on `arguments` (leaves), for `output_grads` (arrays;
        tensors, recorded, where create_graph), with respect to the arguments and the parameters."""
        outer_state = get_rng_state()
        if self.rng_state is not None:
            set_rng_state(self.rng_state)
        try:
            with enable_grad():
                outputs = self.function(*self._with(arguments), **self.kwargs)
        finally:
            set_rng_state(outer_state)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        if self.checks_outputs and not self.reentrant:
            self._check_recomputed(outputs)
        roots = [(o, grad) for o, grad in zip(outputs, output_grads) if isinstance(o, Tensor) and o.requires_grad]
        if not roots:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        outputs, output_grads = zip(*roots)
        if self.reentrant:
            backpropagate(list(outputs), list(output_grads), False)
            return [None if t.grad is None else t.grad.data for t in arguments]
        wanted = list(arguments) + self.parameters
        with _hooks_held(self.parameters):  # the outer walk runs them, once, on the gradients handed to it
            found = backpropagate(list(outputs), list(output_grads), create_graph, inputs=wanted,
                                  create_graph=create_graph)
        return [found.get(id(t)) for t in wanted]

    def _check_recomputed(self, outputs):
        """torch's determinism check: the recomputation must give outputs of the forward's shapes and dtypes."""
        meta = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outputs]
        if meta != self.outputs_meta:
            raise RuntimeError("torch.utils.checkpoint: Recomputed values have different metadata than during the "
                               f"forward pass: {self.outputs_meta} then, {meta} now.")


@contextlib.contextmanager
def _hooks_held(leaves):
    """The leaves' gradient hooks (register_hook) set aside for the block."""
    hooks = [leaf._grad_hooks for leaf in leaves]
    for leaf in leaves:
        leaf._grad_hooks = None
    try:
        yield
    finally:
        for leaf, held in zip(leaves, hooks):
            leaf._grad_hooks = held


class Checkpoint(Function):
    """A checkpointed block as one graph node: its inputs are the block's tensor arguments (and, without re-entry,
    the parameters it used), its outputs those the block gave (computed before, handed over by the block); it saves
    the arguments' arrays alone."""

    node_name = "CheckpointFunctionBackward"
    promotes_inputs = False
    several_outputs = True

    @staticmethod
    def forward(ctx, *arrays, block):
        ctx.save_for_backward(*arrays[:len(block.tensor_positions)])
        outputs, block.outputs = block.outputs, None  # the node keeps none of them
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        block = ctx.params["block"]
        return block.gradients(ctx.saved, ctx.input_needs_grad, grads)

    @staticmethod
    def differentiable_backward(ctx, *grads):
        return ctx.params["block"].recorded_gradients(ctx.linked_saved(), grads)


class ReentrantCheckpoint(Checkpoint):
    """The re-entrant variant's node. Its gradients are computed by a backward of their own, inside the outer one,
    which records none: torch's come without a graph under create_graph; here they refuse to be differentiated."""

    node_name = Checkpoint.node_name
    differentiable_backward = None
