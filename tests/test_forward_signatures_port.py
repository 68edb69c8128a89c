"""Every module's forward takes torch's parameter names, so that a call by keyword (layer(input=x),
attention(query=q, key=k, value=v)) ported from torch works."""
import inspect
import types

import torch
import torch.nn.utils.parametrizations
import torch.nn.utils.parametrize
import torch.optim.swa_utils

import minigrad as mg
import minigrad.nn.parametrizations  # noqa: F401  (their modules join the walk)
import minigrad.swa_utils  # noqa: F401

TORCH_NAMESPACES = [torch.nn, *(value for value in vars(torch.nn.modules).values() if isinstance(value, types.ModuleType)),
                    torch.nn.utils.parametrize, torch.nn.utils.parametrizations, torch.optim.swa_utils]


def _subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _torch_counterpart(cls):
    """torch's class of the same name, where it has a forward of its own (not Module's unimplemented one)."""
    for namespace in TORCH_NAMESPACES:
        counterpart = getattr(namespace, cls.__name__, None)
        if isinstance(counterpart, type) and issubclass(counterpart, torch.nn.Module):
            return counterpart if counterpart.forward is not torch.nn.Module.forward else None
    return None


def _parameters(forward):
    return [(p.name, p.kind, p.default) for p in inspect.signature(forward).parameters.values()]


def test_forward_parameters_are_torchs():
    modules = {cls for cls in _subclasses(mg.nn.Module) if cls.__module__.startswith("minigrad.")}
    pairs = [(cls, _torch_counterpart(cls)) for cls in modules]
    pairs = [(cls, counterpart) for cls, counterpart in pairs if counterpart is not None]
    assert len(pairs) > 150  # the walk reaches the layers, the lazy modules, the parametrizations
    drifted = [f"{cls.__qualname__}: {inspect.signature(cls.forward)} where torch has "
               f"{inspect.signature(counterpart.forward)}" for cls, counterpart in pairs
               if _parameters(cls.forward) != _parameters(counterpart.forward)]
    assert not drifted, "\n".join(sorted(drifted))
