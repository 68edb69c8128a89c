"""Module and Parameter: attribute assignment registers parameters, buffers and submodules, as in torch."""
import collections.abc
import functools
import itertools
import warnings

import numpy as np

from ..backend import check_memory_format, cuda_device, default_dtype, get_array_module, to_device
from ..function import UninitializedShape, UninitializedUse
from ..tensor import Tensor, device_and_dtype, zero_grads
from .backward_hooks import BackwardHook


class Parameter(Tensor):
    """A tensor that a Module owns and an optimizer updates."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _BufferMeta(type):
    """isinstance(t, Buffer) is whether t was marked so (Buffer gives back a plain tensor), as torch's."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(Tensor, metaclass=_BufferMeta):
    """torch's buffer marker: `self.stats = nn.Buffer(tensor)` registers a buffer (persistent unless told), as
    register_buffer does. It gives back the tensor detached (requiring grad as it did), marked."""

    def __new__(cls, data=None, *, persistent=True):
        tensor = Tensor(np.empty(0, default_dtype())) if data is None else data.detach()
        tensor.requires_grad = data is not None and data.requires_grad
        tensor.persistent, tensor._is_buffer = persistent, True
        return tensor


def _refusing_tensor_methods(mixin):
    """The mixin, its tensors refusing as torch's do each of Tensor's methods and operators but those of
    mixin.usable_methods (and its own): with torch's ValueError. An op given one refuses it too (see
    _graph_entry); ordinary tensors pay nothing."""
    def refusal(name):
        def refuse(self, *args, **kwargs):
            raise UninitializedUse(type(self)).error(f"<method '{name}' of 'minigrad.Tensor' objects>")
        return refuse

    for name, method in vars(Tensor).items():
        if (callable(method) and (not name.startswith("_") or name.endswith("__"))
                and name not in vars(mixin) and name not in mixin.usable_methods):
            setattr(mixin, name, refusal(name))
    return mixin


@_refusing_tensor_methods
class UninitializedTensorMixin:
    """A lazy module's parameter or buffer before its first forward: no shape yet (torch's error where one asks
    for it, or uses it) until materialize gives it one and it becomes cls_to_become, the same object, so that an
    optimizer made before holds it."""

    cls_to_become = None
    # torch's UninitializedTensorMixin._allowed_methods that minigrad's Tensor has, and what Python needs of an object
    usable_methods = {"__init__", "__hash__", "copy_", "double", "char", "float", "int", "is_complex",
                      "is_floating_point", "long", "short", "to", "cpu"}

    def materialize(self, shape, device=None, dtype=None):
        """Give it `shape` (its values left to be written), on `device` and in `dtype`, by default its own."""
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        self.data = _placeholder(shape, self.device if device is None else device,
                                 self.dtype if dtype is None else dtype).data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise UninitializedShape(type(self))

    def size(self, dim=None):
        """torch's: the size of the empty placeholder, as its shape is refused."""
        return Tensor(self.data).size(dim)

    @property
    def _graph_entry(self):
        raise UninitializedUse(type(self))

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        super().__init__(_placeholder((0,), device, dtype), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        super().__init__(_placeholder((0,), device, dtype), requires_grad=requires_grad)


def _placeholder(shape, device, dtype):
    return Tensor(np.empty(shape, default_dtype() if dtype is None else dtype), device=device)


def is_lazy(tensor):
    """Whether the tensor is an uninitialized parameter or buffer, as torch.nn.parameter.is_lazy."""
    return isinstance(tensor, UninitializedTensorMixin)


class StateDictError(RuntimeError, KeyError):
    """load_state_dict found keys or shapes that do not match the model: a RuntimeError, as torch raises, so that
    ported code catches it."""

    def __str__(self):
        return self.args[0]


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", collections.OrderedDict())  # id: (hook, with_kwargs)
        object.__setattr__(self, "_forward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", collections.OrderedDict())
        object.__setattr__(self, "_backward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_state_dict_pre_hooks", collections.OrderedDict())
        object.__setattr__(self, "_state_dict_hooks", collections.OrderedDict())
        object.__setattr__(self, "_load_state_dict_pre_hooks", collections.OrderedDict())
        object.__setattr__(self, "_load_state_dict_post_hooks", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        if _is_property(self, name):  # a parametrized tensor's (nn.utils.parametrize) setter, or a read-only error
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Buffer):
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
            if name not in self._buffers:
                self.__dict__.pop(name, None)
            self.register_buffer(name, value, value.persistent)
            return
        # As torch: a plain tensor over a parameter would silently drop it from parameters() and the optimizer. A
        # parameter may take a child module's place, as torch's, which looks for a parameter first.
        for registry, kind, role in ((self._parameters, Parameter, "parameter"), (self._modules, Module, "child module")):
            if name in registry and value is not None and not isinstance(value, (kind, Parameter)):
                raise TypeError(f"cannot assign '{type(value).__name__}' as {role} {name!r} "
                                f"(minigrad.nn.{kind.__name__} or None expected)")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer {name!r} "
                                "(minigrad.Tensor or None expected)")
            self._buffers[name] = value  # a buffer stays one: `self.running_mean = new` replaces its value
            object.__setattr__(self, name, value)
            return
        registry = (self._parameters if isinstance(value, Parameter)
                    else self._modules if isinstance(value, Module) else None)
        for other in (self._parameters, self._buffers, self._modules):
            if other is not registry:
                other.pop(name, None)
        self._non_persistent_buffers.discard(name)
        if registry is not None:
            registry[name] = value  # a replaced entry keeps its place, as in torch
        object.__setattr__(self, name, value)

    def _check_new_name(self, kind, name, registry):
        """torch's errors for a name that register_buffer or register_parameter cannot take."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if (name in self.__dict__ or _is_property(self, name)) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add a parameter under `name`, as assignment does; None registers the name with no value, as torch."""
        self._check_new_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(minigrad.nn.Parameter or None required)")
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Keep a tensor that is state but no parameter (running statistics, class weights): it moves with to(),
        and a persistent one is saved in the state dict. None registers the name with no value, as torch."""
        self._check_new_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(minigrad.Tensor or None required)")
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register a child under `name`, as attribute assignment does, refusing anything but a Module or None (an
        assignment would keep it as a plain attribute) and the names torch's refuses."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name, self._modules)
        setattr(self, name, module)

    register_module = add_module  # torch's other name of it

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        backward_hook = None
        if self._backward_hooks or self._backward_pre_hooks:  # as they are now: this call's backward runs them
            backward_hook = BackwardHook(self, tuple(self._backward_hooks.values()),
                                         tuple(self._backward_pre_hooks.values()))
        output, hooks_run = None, set()  # the forward hooks run, which an error leaves out of the always_call ones
        try:
            for hook, with_kwargs in tuple(self._forward_pre_hooks.values()):
                result = hook(self, args, kwargs) if with_kwargs else hook(self, args)
                if result is not None and with_kwargs:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
                    args, kwargs = result
                elif result is not None:
                    args = result if isinstance(result, tuple) else (result,)
            if backward_hook is not None:
                args = backward_hook.setup_input_hook(args)
            scope = self.__dict__.get("_trace_scope")  # set only while minigrad.viz.trace_modules is active
            if scope is None:
                output = self.forward(*args, **kwargs)
            else:
                with scope():
                    output = self.forward(*args, **kwargs)
            for key, (hook, with_kwargs, _) in tuple(self._forward_hooks.items()):
                hooks_run.add(key)
                result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
                if result is not None:
                    output = result
        except Exception:
            self._run_always_called_hooks(args, kwargs, output, hooks_run)
            raise
        return output if backward_hook is None else backward_hook.setup_output_hook(output)

    def _run_always_called_hooks(self, args, kwargs, output, hooks_run):
        """torch's forward hooks registered with always_call that had not run when the call raised; an error of
        one of them is a warning, so that the call's own error is the one raised."""
        for key, (hook, with_kwargs, always_call) in tuple(self._forward_hooks.items()):
            if always_call and key not in hooks_run:
                try:
                    result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
                    output = output if result is None else result
                except Exception as error:
                    warnings.warn("module forward hook with ``always_call=True`` raised an exception that was "
                                  f"silenced as another error was raised in forward: {error}", stacklevel=3)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call hook(module, args) before each forward (args: the positional inputs, as a tuple); what it
        returns, unless None, replaces them (one value becomes a tuple of one), as torch's. With with_kwargs,
        hook(module, args, kwargs), which returns None or an (args, kwargs) pair. prepend runs it first."""
        return RemovableHandle(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call hook(module, args, output) after each forward, to read activations (attention maps) out of a
        network; what it returns, unless None, replaces the output, as torch's. With with_kwargs,
        hook(module, args, kwargs, output). prepend runs it first; always_call runs it also where the call raises
        (its output None if forward raised)."""
        return RemovableHandle(self._forward_hooks, (hook, with_kwargs, always_call), prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call hook(module, grad_output) when backward reaches the module's outputs: grad_output holds the
        gradient of each (None for one that got none, or is no tensor). What it returns, unless None, replaces
        them, as torch's. prepend runs it first."""
        return RemovableHandle(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call hook(module, grad_input, grad_output) once backward has the gradients of the module's positional
        arguments (grad_input: zeros for a tensor that requires no grad, None for what is no tensor) and of its
        outputs (grad_output, as the pre-hooks left it); what it returns, unless None, replaces grad_input, as
        torch's. Where no argument requires grad, it runs as the outputs' gradients come, with grad_input all None,
        and may change nothing (torch's warning says so). The module gets its tensor arguments, and the caller its
        outputs, through identity ops whose graph nodes call the hooks (minigrad.nn.backward_hooks). prepend runs
        it first."""
        return RemovableHandle(self._backward_hooks, hook, prepend)

    # ---- traversal --------------------------------------------------------------------------
    # As torch: a module or parameter reachable under several names (tied weights) is yielded once, under
    # its first name, unless remove_duplicate=False, so the optimizer steps it once and it is counted once.
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate and self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        memo = set()
        for name, child in self._modules.items():
            if child not in memo:
                memo.add(child)
                yield name, child

    def children(self):
        return (child for _, child in self.named_children())

    def _named_members(self, members, prefix, recurse, remove_duplicate):
        """(dotted name, tensor) of what `members(module)` gives each module, None values left out."""
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, member in members(module):
                if member is None or (remove_duplicate and member in memo):
                    continue
                memo.add(member)
                yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Every parameter by its dotted name; with recurse=False, this module's own only."""
        return self._named_members(lambda module: module._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (param for _, param in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Every buffer by its dotted name, persistent or not."""
        return self._named_members(lambda module: module._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (buffer for _, buffer in self.named_buffers(recurse=recurse))

    def get_submodule(self, target):
        """The module at a dotted path ("" for this one): get_submodule("att4.channel_attention.1")."""
        module = self
        for name in target.split(".") if target else ():
            module = _attribute_of_kind(module, name, Module)
        return module

    def get_parameter(self, target):
        """The parameter at a dotted path: get_parameter("encoder.0.weight")."""
        module_path, _, name = target.rpartition(".")
        return _attribute_of_kind(self.get_submodule(module_path), name, Parameter)

    def get_buffer(self, target):
        """The buffer at a dotted path: get_buffer("bn1.running_mean")."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        return _attribute(module, name, lambda value: name in module._buffers, "a buffer")

    def apply(self, fn):
        """fn(module) on every submodule, children before parents, then this one (custom initialisation); self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # ---- state ------------------------------------------------------------------------------
    optional_state = ()  # names of this module's state that a state dict may lack: the module keeps its own value
    _version = 1  # torch's: what a state dict's metadata records of each module, for its loading to read

    def _own_state(self):
        """(name, tensor) of what this module itself (not its children) keeps in a state dict, in torch's order: its
        parameters, then its persistent buffers."""
        yield from ((name, param) for name, param in self._parameters.items() if param is not None)
        yield from ((name, buffer) for name, buffer in self._buffers.items()
                    if buffer is not None and name not in self._non_persistent_buffers)

    def get_extra_state(self):
        """What a module that overrides this (and set_extra_state) keeps in its state dict beside its tensors, under
        "_extra_state", as torch's; Module's own is never called."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state):
        """Take back what get_extra_state gave, from a state dict being loaded; Module's own is never called."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called.")

    def register_state_dict_pre_hook(self, hook):
        """Call hook(module, prefix, keep_vars) as state_dict reaches the module, before its state is taken."""
        return RemovableHandle(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        """Call hook(module, state_dict, prefix, local_metadata) once the module's state and its children's are in
        the state dict: it may change the dict in place, and must return None, as torch's. The mark on the hook is
        torch's: the same function may not then be registered by _register_state_dict_hook."""
        hook._from_public_api = True
        return RemovableHandle(self._state_dict_hooks, hook)

    def _register_state_dict_hook(self, hook):
        """torch's older form of register_state_dict_post_hook: what the hook returns, unless None, is the state
        dict that state_dict gives back (the root module's; a child's is dropped, as in torch)."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError("Cannot register the same function as the state dict post hook that was previously "
                               "registered via register_state_dict_post_hook")
        return RemovableHandle(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook):
        """Call hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        as load_state_dict reaches the module, before it loads its state: it may change the state dict (the
        module's and its children's part of it) and the lists, as torch's; strict is True whatever the load's."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """register_load_state_dict_pre_hook, the module left out of the hook's arguments unless with_module."""
        return RemovableHandle(self._load_state_dict_pre_hooks, functools.partial(hook, self) if with_module else hook)

    def register_load_state_dict_post_hook(self, hook):
        """Call hook(module, incompatible_keys) once the module and its children are loaded: incompatible_keys
        holds the missing and unexpected keys found so far, lists that the hook may change in place (a strict load
        then judges what is left), and it must return None, as torch's."""
        return RemovableHandle(self._load_state_dict_post_hooks, hook)

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by torch's dotted names, as detached tensors that share their arrays
        (a write through one, as an EMA of the weights makes, changes the model, as torch's; the tensors themselves
        with keep_vars), each name after `prefix`, into `destination` where given; a lazy module's uninitialized
        tensors as they are, and a module's extra state (see get_extra_state), as torch's. The hooks run as
        torch's: each module's pre-hooks, its state, its children's, then its post-hooks; each module's version
        goes into the dict's _metadata."""
        if destination is None:
            destination = collections.OrderedDict()
            destination._metadata = collections.OrderedDict()
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            child.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:
                destination = result
        return destination

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """This module's own state, not its children's, into destination (what a module may override, as torch's)."""
        for name, tensor in self._own_state():
            destination[prefix + name] = tensor if keep_vars or is_lazy(tensor) else tensor.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy arrays in by name, each in the dtype of the tensor it fills (with assign, each tensor takes the
        array itself, in its own dtype, as torch's assign keeps the state dict's tensors); with strict, any
        missing or unexpected key is an error, and a mis-shaped one always is. Module by module as torch's: each
        one's load pre-hooks, its own state (_load_from_state_dict), its children, then its post-hooks; a load that
        fails has loaded what it could, as torch's."""
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys, unexpected_keys, error_msgs = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = collections.OrderedDict(state_dict)  # the hooks may change it, not the caller's

        def load(module, local_state_dict, prefix=""):
            local_metadata = dict({} if metadata is None else metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing_keys, unexpected_keys,
                                         error_msgs)
            for name, child in module._modules.items():
                child_prefix = prefix + name + "."
                load(child, {key: value for key, value in local_state_dict.items() if key.startswith(child_prefix)},
                     child_prefix)
            incompatible_keys = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, incompatible_keys) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be modified, "
                                         "it should be done inplace.")

        load(self, state_dict)
        if error_msgs or (strict and (missing_keys or unexpected_keys)):
            lines = ["the state dict does not match the model:"]
            for title, keys in (("missing keys", missing_keys), ("unexpected keys", unexpected_keys)):
                if strict and keys:
                    lines.append(f"  {title}: " + _first_few(keys, ", "))
            if error_msgs:
                lines.append("  " + _first_few(error_msgs, "\n  "))
            raise StateDictError("\n".join(lines))
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Load this module's own state, not its children's, from state_dict (the keys under `prefix`), as torch's:
        its load pre-hooks first; then each tensor takes its value, a lazy one its shape first (or it stays
        uninitialized where the value is so); a mis-shaped value goes into error_msgs; with strict, the keys of
        the module that state_dict lacks (but its optional_state) go into missing_keys, and those it has no place
        for into unexpected_keys."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        local_state = dict(self._own_state())
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, tensor in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict and name not in self.optional_state:
                    missing_keys.append(key)
                continue
            value = _raw(state_dict[key])
            if is_lazy(tensor):
                if is_lazy(state_dict[key]):
                    continue
                tensor.materialize(np.shape(value))
            if tuple(np.shape(value)) != tensor.shape:
                error_msgs.append(f"shape mismatch for {key}: checkpoint {tuple(np.shape(value))} vs model "
                                  f"{tensor.shape}")
                continue
            value = to_device(value, tensor.device)
            tensor.data = value if assign else get_array_module(tensor.data).asarray(value, dtype=tensor.dtype).copy()
        extra_state_key = prefix + _EXTRA_STATE
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_state_key in state_dict:
                self.set_extra_state(state_dict[extra_state_key])
            elif strict:
                missing_keys.append(extra_state_key)
        elif strict and extra_state_key in state_dict:
            unexpected_keys.append(extra_state_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_state_key:
                    first, *rest = key[len(prefix):].split(".", 1)
                    if first not in (self._modules if rest else local_state):
                        unexpected_keys.append(key)

    # ---- modes and devices ------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, *device_or_dtype, device=None, dtype=None, non_blocking=False, memory_format=None):
        """Move and/or cast every parameter and buffer in place (Tensor.to's forms); returns self, as torch does.
        A cast leaves integer buffers (BatchNorm's num_batches_tracked) as they are, as torch's does. A memory
        format is taken for any tensors, as torch lays out only those of its rank (see memory_format)."""
        check_memory_format("to", memory_format)
        device, dtype = device_and_dtype(device_or_dtype, device, dtype)
        if dtype is not None and np.dtype(dtype).kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype=torch.{np.dtype(dtype)}")
        for param in self.parameters():
            param.data = Tensor(param.data).to(device=device, dtype=dtype).data
            if param.grad is not None:
                param.grad = Tensor(param.grad.data).to(device=device, dtype=dtype)
        for buffer in self.buffers():
            buffer.data = Tensor(buffer.data).to(device=device, dtype=dtype if buffer.dtype.kind == "f" else None).data
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to(cuda_device(device))

    def half(self):
        return self.to(dtype=np.float16)

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def extra_repr(self):
        return ""

    def _child_reprs(self):
        """(label, repr) of each line of children that the repr lists."""
        return [(name, repr(child)) for name, child in self._modules.items()]

    def __repr__(self):
        """torch's: extra_repr's lines, then the children's, one item a line; a one-line extra_repr alone on the
        first line."""
        extra_repr = self.extra_repr()
        extra_lines = extra_repr.split("\n") if extra_repr else []
        child_lines = [f"({label}): " + _indented(child_repr) for label, child_repr in self._child_reprs()]
        if len(extra_lines) == 1 and not child_lines:
            return f"{type(self).__name__}({extra_repr})"
        lines = extra_lines + child_lines
        return f"{type(self).__name__}(" + ("\n  " + "\n  ".join(lines) + "\n" if lines else "") + ")"


class RemovableHandle:
    """What register_forward_hook returns: remove() unregisters the hook; a `with` block removes it on leaving."""

    _ids = itertools.count()

    def __init__(self, hooks, hook, prepend=False):
        self.hooks, self.id = hooks, next(RemovableHandle._ids)
        hooks[self.id] = hook
        if prepend:
            hooks.move_to_end(self.id, last=False)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.remove()


def _indented(text):
    """A child's repr as its parent prints it: lines after the first indented by two spaces, blank ones left
    empty (torch's _addindent)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + ["  " + line if line.strip() else "" for line in rest])


def _attribute_of_kind(module, name, kind):
    """module.<name>, with torch's errors where it is missing or not a `kind` (Module, Parameter)."""
    return _attribute(module, name, lambda value: isinstance(value, kind), f"an nn.{kind.__name__}")


def _attribute(module, name, is_wanted, what):
    """module.<name>, with torch's errors where it is missing or is not `what` (is_wanted(value) is false)."""
    if not hasattr(module, name):
        raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
    value = getattr(module, name)
    if not is_wanted(value):
        raise AttributeError(f"`{name}` is not {what}")
    return value


def _is_property(module, name):
    return isinstance(getattr(type(module), name, None), property)


class _IncompatibleKeys(collections.namedtuple("_IncompatibleKeys", "missing_keys unexpected_keys")):
    """load_state_dict's keys that did not match, named and shown as torch's."""

    def __repr__(self):
        return super().__repr__() if self.missing_keys or self.unexpected_keys else "<All keys matched successfully>"

    __str__ = __repr__


_EXTRA_STATE = "_extra_state"  # the key of a module's extra state in a state dict, after the module's prefix


def _first_few(entries, separator):
    """The first dozen entries of a list in a message, and how many there are where that is more."""
    return separator.join(entries[:12]) + (f"{separator}... ({len(entries)} in all)" if len(entries) > 12 else "")


def _raw(value):
    """Host or device array from a Tensor, array or array-like."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "shape") else np.asarray(value)


__all__ = ["Buffer", "Module", "Parameter", "StateDictError", "UninitializedBuffer", "UninitializedParameter",
           "UninitializedTensorMixin", "is_lazy"]
