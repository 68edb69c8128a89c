"""torch.nn.utils.parametrize: a module's tensor computed from others on each access (`module.weight` becomes
parametrization(original)), so that what an optimizer steps is `module.parametrizations.weight.original` and the
state dict holds torch's keys. As torch does, the module's class is swapped for a subclass with a property of the
tensor's name; a property wins over the instance's own attributes, so nothing else of Module changes."""
import collections.abc
import contextlib

from ..function import no_grad
from ..tensor import Tensor
from .layers import ModuleDict, ModuleList
from .module import Parameter

_cache_enabled = 0
_cache = {}  # (id(module), tensor name): the tensor computed in the current `cached()` block


@contextlib.contextmanager
def cached():
    """Compute each parametrized tensor once inside the block (a weight read by several steps of a recurrent
    network), as torch's; blocks nest, and the cache empties when the outermost ends."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to `original` (or to original0, original1, ... where
    right_inverse returns a sequence), which right_inverse sets when the tensor is assigned."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, collections.abc.Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            for attribute in ("dtype", "device"):
                if getattr(new, attribute) != getattr(original, attribute):
                    raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the {attribute}.\n"
                                     f"original.{attribute}: {getattr(original, attribute)}\n"
                                     f"right_inverse(original).{attribute}: {getattr(new, attribute)}")
            original.data = new.data  # the same Parameter object, so an optimizer built before still steps it
            _register_parameter_or_buffer(self, "original", original)
        else:
            for index, tensor in enumerate(new):
                if not isinstance(tensor, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...)."
                                     f" Got element {index} of the sequence with type {type(tensor).__name__}.")
                tensor = (Parameter(tensor, original.requires_grad) if isinstance(original, Parameter)
                          else tensor.detach().requires_grad_(original.requires_grad))
                _register_parameter_or_buffer(self, f"original{index}", tensor)
        if not self.unsafe:
            _check_unchanged(self(), original_shape, original_dtype,
                             "Registering a parametrization may not change the {} of the tensor, unless `unsafe` "
                             "flag is enabled.\nunparametrized {}: {}\nparametrized {}: {}")

    def right_inverse(self, value):
        """Set the originals so that the parametrized tensor becomes `value` (each parametrization's right_inverse,
        last first)."""
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} while `original` "
                                     f"has dtype {self.original.dtype}")
                self.original.data = value.data
                return
            if not isinstance(value, collections.abc.Sequence):
                raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                 f"Got a sequence of length {len(value)}.")
            for index, tensor in enumerate(value):
                original = getattr(self, f"original{index}")
                if not isinstance(tensor, Tensor):
                    raise ValueError("'right_inverse' must return a sequence of tensors or reference-type opaques. "
                                     f"Got element {index} of type {type(tensor).__name__}.")
                if tensor.dtype != original.dtype:
                    raise ValueError(f"Tensor {index} returned by `right_inverse` has dtype {tensor.dtype} while "
                                     f"`original{index}` has dtype {original.dtype}")
                original.data = tensor.data

    def forward(self):
        originals = ((self.original,) if self.is_tensor
                     else tuple(getattr(self, f"original{index}") for index in range(self.ntensors)))
        first, *rest = self
        tensor = first(*originals)
        for parametrization in rest:
            tensor = parametrization(tensor)
        return tensor


def _check_unchanged(tensor, shape, dtype, message):
    """torch's error where a parametrization's output is not a tensor of the original's dtype and shape; `message`
    is formatted with the attribute's name, and each value after its name."""
    if not isinstance(tensor, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(tensor).__name__}.")
    for attribute, expected in (("dtype", dtype), ("shape", shape)):
        if getattr(tensor, attribute) != expected:
            raise ValueError(message.format(attribute, attribute, expected, attribute, getattr(tensor, attribute)))


def _parametrized_property(tensor_name):
    def get_parametrized(module):
        parametrization = module.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(module), tensor_name)
        if _cache.get(key) is None:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(module, value):
        if isinstance(value, Parameter):  # torch's register_parameter refuses a name the class already has
            raise KeyError(f"attribute '{tensor_name}' already exists")
        module.parametrizations[tensor_name].right_inverse(value)

    return property(get_parametrized, set_original)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """module.<tensor_name> becomes parametrization(module.<tensor_name> as it was); on a tensor already
    parametrized, parametrization is applied after the others. unsafe skips the checks that the result keeps the
    tensor's shape and dtype."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_chained(module, tensor_name, parametrization)
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        parametrizations = ParametrizationList([parametrization], getattr(module, tensor_name), unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            module.__class__ = type(f"Parametrized{type(module).__name__}", (type(module),), {})  # holds the properties
            module.parametrizations = ModuleDict()
        setattr(module.__class__, tensor_name, _parametrized_property(tensor_name))
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with name "
                         f"'{tensor_name}'")
    return module


def _check_chained(module, tensor_name, parametrization):
    """torch's errors where a parametrization added to a parametrized tensor, or its right_inverse, changes the
    tensor's shape or dtype."""
    current = getattr(module, tensor_name)
    parametrized = parametrization(current)
    _check_unchanged(parametrized, current.shape, current.dtype,
                     "Registering a parametrization may not change the {} of the tensor, unless the `unsafe` flag is "
                     f"enabled.\nmodule.{tensor_name}.{{}}: {{}}\nparametrization(module.{tensor_name}).{{}}: {{}}")
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        inverse = parametrization.right_inverse(parametrized)
    except NotImplementedError:
        return
    if not isinstance(inverse, Tensor):
        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(inverse).__name__}")
    _check_unchanged(inverse, current.shape, current.dtype,
                     "The tensor returned by parametrization.right_inverse must have the same {} as "
                     f"module.{tensor_name}, unless the `unsafe` flag is enabled.\nmodule.{tensor_name}.{{}}: {{}}\n"
                     "returned {}: {}")


def is_parametrized(module, tensor_name=None):
    """Whether module has a parametrization on tensor_name (on any tensor, for None)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Make module.<tensor_name> a plain parameter or buffer again: the original object, set to the parametrized
    value (leave_parametrized) or left as it is; the module's class is restored once no tensor is parametrized."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                original.data = getattr(module, tensor_name).data
    elif leave_parametrized:
        tensor = getattr(module, tensor_name)
        original = Parameter(tensor) if tensor.requires_grad else tensor.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in "
                         "terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class as it was before register_parametrization swapped it."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization", "remove_parametrizations",
           "type_before_parametrizations"]
