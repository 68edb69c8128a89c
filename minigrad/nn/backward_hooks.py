"""Module's full backward hooks, as torch's (torch.utils.hooks.BackwardHook): each call of a hooked module passes the
tensors among its positional arguments, and then those it returns, through an identity op, one node for all of them,
whose backward gets their gradients at once and hands them to the hooks, which may replace them."""
import warnings

from ..creation import zeros
from ..function import Function, is_grad_enabled, no_grad
from ..tensor import Tensor, hook_gradient


class BackwardHookFunction(Function):
    """The tensors given, as they are, in one graph node (one tensor passes as it is; several are packed, copied, as
    any op's several outputs are): its backward gives their gradients (tensors; None for one that got none, unless
    materialize_grads makes it zeros) to `hook`, and hands on those it returns. Under create_graph the hooks get
    the gradients with their graph and run recording, as torch's, so what they return is differentiated in turn."""

    node_name = "BackwardHookFunctionBackward"
    promotes_inputs = False
    several_outputs = True

    @staticmethod
    def forward(ctx, *arrays, hook, materialize_grads):
        ctx.set_materialize_grads(materialize_grads)
        return arrays if len(arrays) > 1 else arrays[0]

    @staticmethod
    def backward(ctx, *grads):
        with no_grad():
            return _hooks_run(ctx, tuple(None if grad is None else Tensor(grad) for grad in grads), as_tensors=False)

    @staticmethod
    def differentiable_backward(ctx, *grads):
        return _hooks_run(ctx, grads, as_tensors=True)


def _hooks_run(ctx, grads, as_tensors):
    """The gradients that a BackwardHookFunction node hands on: its hook's results for `grads` (tensors), after
    torch's checks of a node's gradients, which name its hook 'hook'; arrays unless as_tensors."""
    results = ctx.params["hook"](grads)
    return tuple(None if result is None else hook_gradient("hook", result, tensor, as_tensor=as_tensors)
                 for result, tensor in zip(results, ctx.inputs))


class BackwardHook:
    """One call of a module with backward hooks: the hooks and pre-hooks it had when called, and what links them in
    backward, the gradients of its outputs (after the pre-hooks), which the hooks get with those of its inputs."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.input_count = self.output_count = 0
        self.input_positions = self.output_positions = None  # of the tensors that require grad, None where none does
        self.input_zeros = ()  # (position, shape, dtype, device) of each tensor input that requires no grad

    def setup_input_hook(self, args):
        """The positional arguments, their tensors passed through the node whose backward calls the hooks: the
        last the gradients of the module reach."""
        self.input_count = len(args)
        self.input_zeros = [(position, arg.shape, arg.dtype, arg.device) for position, arg in enumerate(args)
                            if isinstance(arg, Tensor) and not arg.requires_grad]
        args, self.input_positions = _passed_through(args, self._on_input_gradients, materialize_grads=True)
        return args

    def setup_output_hook(self, output):
        """The module's output, its tensors (a tuple's) passed through the node whose backward calls the pre-hooks:
        the first the gradients of the module reach."""
        if not isinstance(output, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of Tensors "
                          f"but received {type(output)}", stacklevel=3)
        outputs = output if isinstance(output, tuple) else (output,)
        self.output_count = len(outputs)
        outputs, self.output_positions = _passed_through(outputs, self._on_output_gradients, materialize_grads=False)
        return outputs if isinstance(output, tuple) else outputs[0]

    def _on_output_gradients(self, grads):
        """The gradients of the outputs after the pre-hooks, kept for the hooks; where no input requires grad, the
        hooks run here, with None for each input, as torch's, and may change nothing."""
        self.grad_outputs = _placed(grads, self.output_positions, self.output_count)
        for pre_hook in self.pre_hooks:
            result = pre_hook(self.module, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(self.grad_outputs):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, got "
                                   f"{len(result)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = result
        grad_outputs = self.grad_outputs
        if self.input_positions is None:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            grad_inputs = (None,) * self.input_count
            for hook in self.hooks:
                result = hook(self.module, grad_inputs, self.grad_outputs)
                if result is not None and not (isinstance(result, tuple) and all(g is None for g in result)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(grad_outputs[position] for position in self.output_positions)

    def _on_input_gradients(self, grads):
        """The gradients of the inputs after the hooks, which get those of the outputs too; as they are where these
        reached the inputs but not through the outputs."""
        if self.grad_outputs is None:
            return grads
        grad_input = list(_placed(grads, self.input_positions, self.input_count))
        for position, shape, dtype, device in self.input_zeros:  # zeros, as torch's identity node gives them
            grad_input[position] = zeros(shape, dtype=dtype, device=device)
        grad_input = tuple(grad_input)
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(grad_input):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, got "
                                   f"{len(result)}, but expected {len(grad_input)}")
            grad_input = result
        self.grad_outputs = None
        return tuple(grad_input[position] for position in self.input_positions)


def _passed_through(values, on_gradients, materialize_grads):
    """`values` (a tuple) with their tensors that require grad passed through one BackwardHookFunction that calls
    on_gradients, and the positions of those; the values as they are, and None, where none does or autograd does
    not record."""
    positions = [position for position, value in enumerate(values) if isinstance(value, Tensor) and value.requires_grad]
    if not (positions and is_grad_enabled()):
        return values, None
    passed = BackwardHookFunction.apply(*(values[position] for position in positions), hook=on_gradients,
                                        materialize_grads=materialize_grads)
    passed = dict(zip(positions, passed if isinstance(passed, tuple) else (passed,)))
    items = [passed.get(position, value) for position, value in enumerate(values)]
    return (tuple(items) if type(values) is tuple else type(values)(*items)), positions  # a namedtuple stays one


def _placed(grads, positions, count):
    """A tuple of `count` gradients, `grads` at `positions`, None elsewhere."""
    placed = [None] * count
    for position, grad in zip(positions, grads):
        placed[position] = grad
    return tuple(placed)
