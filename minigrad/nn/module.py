"""Module and Parameter: attribute assignment registers parameters and submodules, as in torch."""
import collections

import numpy as np

from ..backend import get_array_module, to_device
from ..tensor import Tensor, zero_grads


class Parameter(Tensor):
    """A tensor that a Module owns and an optimizer updates."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(KeyError):
    """load_state_dict found keys or shapes that do not match the model."""

    def __str__(self):
        return self.args[0]


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        # As torch: a plain tensor over a parameter would silently drop it from parameters() and the optimizer.
        for registry, kind, role in ((self._parameters, Parameter, "parameter"), (self._modules, Module, "child module")):
            if name in registry and value is not None and not isinstance(value, kind):
                raise TypeError(f"cannot assign '{type(value).__name__}' as {role} {name!r} "
                                f"(minigrad.nn.{kind.__name__} or None expected)")
        registry = (self._parameters if isinstance(value, Parameter)
                    else self._modules if isinstance(value, Module) else None)
        for other in (self._parameters, self._modules):
            if other is not registry:
                other.pop(name, None)
        if registry is not None:
            registry[name] = value  # a replaced entry keeps its place, as in torch
        object.__setattr__(self, name, value)

    def add_module(self, name, module):
        """Register a child under `name`, as attribute assignment does, refusing anything but a Module (an
        assignment would keep it as a plain attribute)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        setattr(self, name, module)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        scope = self.__dict__.get("_trace_scope")  # set only while minigrad.viz.trace_modules is active
        if scope is None:
            return self.forward(*args, **kwargs)
        with scope():
            return self.forward(*args, **kwargs)

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

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Every parameter by its dotted name; with recurse=False, this module's own only."""
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if remove_duplicate and param in memo:
                    continue
                memo.add(param)
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse=True):
        return (param for _, param in self.named_parameters(recurse=recurse))

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self):
        """Parameter arrays by torch's dotted names (the arrays themselves, not copies); a tied parameter
        under each of its names, as torch."""
        return collections.OrderedDict(
            (name, param.data) for name, param in self.named_parameters(remove_duplicate=False))

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays in by name; with strict, any missing, unexpected or mis-shaped key is an error."""
        own = dict(self.named_parameters(remove_duplicate=False))  # a tied parameter under each of its names
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [
            f"{k}: checkpoint {tuple(np.shape(_raw(state_dict[k])))} vs model {own[k].shape}"
            for k in own if k in state_dict and tuple(np.shape(_raw(state_dict[k]))) != own[k].shape
        ]
        if mismatched or (strict and (missing or unexpected)):
            lines = ["the state dict does not match the model:"]
            for title, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched)):
                if keys:
                    shown = ", ".join(keys[:12]) + (f", ... ({len(keys)} in all)" if len(keys) > 12 else "")
                    lines.append(f"  {title}: {shown}")
            raise StateDictError("\n".join(lines))
        for name, param in own.items():
            if name in state_dict:
                value = to_device(_raw(state_dict[name]), param.device)
                param.data = get_array_module(param.data).asarray(value, dtype=param.dtype).copy()
        return collections.namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")(missing, unexpected)

    # ---- modes and devices ------------------------------------------------------------------
    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device_or_dtype):
        """Move (or cast) every parameter in place; returns self, as torch does."""
        for param in self.parameters():
            param.data = Tensor(param.data).to(device_or_dtype).data
            if param.grad is not None:
                param.grad = Tensor(param.grad.data).to(device_or_dtype)
        return self

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return "\n".join(lines) + ("\n)" if len(lines) > 1 else ")")


def _raw(value):
    """Host or device array from a Tensor, array or array-like."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "shape") else np.asarray(value)


__all__ = ["Module", "Parameter", "StateDictError"]
