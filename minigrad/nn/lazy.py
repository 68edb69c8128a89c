"""torch's lazy modules, whose in-size (in_features, in_channels or num_features) their first input tells."""
import itertools
import warnings

from .. import random
from ..function import no_grad
from . import layers, normalization
from .module import Module, UninitializedBuffer, UninitializedParameter, is_lazy


class LazyModuleMixin:
    """torch's: a module built as its cls_to_become with an in-size of 0 (`in_argument`; nothing drawn), its
    floating-point parameters and buffers uninitialized. The first forward builds cls_to_become with the in-size
    that its input tells (in_size), drawn as a module of it is, hands each uninitialized tensor the built one's
    values (the same objects: an optimizer made before holds them) and becomes that class. A state dict loaded
    before gives them its shapes and values instead (see Module.load_state_dict)."""

    cls_to_become = None
    in_argument = None

    def __init__(self, **arguments):
        state = random.get_rng_state()
        with warnings.catch_warnings():  # a weight of no elements: torch's lazy modules draw nothing, nor warn
            warnings.simplefilter("ignore")
            self.cls_to_become.__init__(self, **{self.in_argument: 0}, **arguments)
        random.set_rng_state(state)
        self._arguments = arguments
        for registry, uninitialized in ((self._parameters, UninitializedParameter),
                                        (self._buffers, UninitializedBuffer)):
            for name, tensor in list(registry.items()):
                if tensor is not None and tensor.dtype.kind == "f":
                    setattr(self, name, uninitialized(device=tensor.device, dtype=tensor.dtype))
        self._initialize_hook = self.register_forward_pre_hook(LazyModuleMixin._infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        return any(map(is_lazy, itertools.chain(self._parameters.values(), self._buffers.values())))

    def initialize_parameters(self, input, *args, **kwargs):
        """Build cls_to_become for `input`'s in-size and take its values into the uninitialized tensors."""
        lazy = {name: tensor for name, tensor in itertools.chain(self._parameters.items(), self._buffers.items())
                if is_lazy(tensor)}
        if not lazy:
            return
        first = next(iter(lazy.values()))
        with no_grad():
            built = self.cls_to_become(**{**self._arguments, self.in_argument: self.in_size(input),
                                          "device": first.device, "dtype": first.dtype})
        registered = set(vars(Module())) | set(built._parameters) | set(built._buffers) | set(built._modules)
        for name, value in vars(built).items():
            if name not in registered:
                object.__setattr__(self, name, value)
        for name, tensor in lazy.items():
            made = getattr(built, name)
            tensor.materialize(made.shape)
            tensor.data = made.data

    @staticmethod
    def _infer_parameters(module, args, kwargs):
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook, module._arguments
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, layers.Linear):
    cls_to_become, in_argument = layers.Linear, "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(out_features=out_features, bias=bias, device=device, dtype=dtype)

    @staticmethod
    def in_size(input):
        return input.shape[-1]


class _LazyConvNd(LazyModuleMixin):
    """What the lazy convolutions share: in_channels from the input's channel dim (dim 0 of an unbatched input)."""

    in_argument = "in_channels"

    def in_size(self, input):
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise RuntimeError(f"Expected {self.dims + 1}D (unbatched) or {self.dims + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: torch.Size({list(input.shape)})")
        return input.shape[input.ndim - self.dims - 1]


class _LazyConv(_LazyConvNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode, device=device,
                         dtype=dtype)


class _LazyConvTranspose(_LazyConvNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                         output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
                         padding_mode=padding_mode, device=device, dtype=dtype)


class _LazyNorm(LazyModuleMixin):
    """What the lazy batch and instance norms share: num_features from the input's dim 1, affine and tracking
    running statistics by default, as torch's."""

    in_argument = "num_features"

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        super().__init__(eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats,
                         device=device, dtype=dtype)

    @staticmethod
    def in_size(input):
        return input.shape[1]


def _lazy(family, cls):
    """The lazy class of `cls` in `family` (one of the bases above), as torch names it."""
    return type(f"Lazy{cls.__name__}", (family, cls),
                {"cls_to_become": cls, "__module__": __name__, "__doc__": f"torch's Lazy{cls.__name__}."})


LazyConv1d, LazyConv2d, LazyConv3d = (_lazy(_LazyConv, cls) for cls in (layers.Conv1d, layers.Conv2d, layers.Conv3d))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy(_LazyConvTranspose, cls) for cls in (layers.ConvTranspose1d, layers.ConvTranspose2d, layers.ConvTranspose3d))
LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy(_LazyNorm, cls) for cls in (normalization.BatchNorm1d, normalization.BatchNorm2d, normalization.BatchNorm3d))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy(_LazyNorm, cls)
    for cls in (normalization.InstanceNorm1d, normalization.InstanceNorm2d, normalization.InstanceNorm3d))

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear", "LazyModuleMixin"]
