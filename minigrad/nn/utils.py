"""torch.nn.utils' gradient clipping, parameter vectors and skip_init; its rnn (sequences.py), parametrize,
parametrizations and fusion, and the hook-based weight_norm and spectral_norm (norm_hooks.py). The clipping works on the
gradients' arrays in place under no graph, so whoever holds a `.grad` sees it clipped; `foreach` is taken for
torch's signature, as there is one path on every device."""
import inspect
import sys
import types
import warnings

import numpy as np

from .. import random
from ..function import no_grad
from ..functional import cat, stack
from ..tensor import Tensor
from . import fusion, parametrizations, parametrize, sequences as rnn
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .module import Module
from .norm_hooks import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

# torch's import paths: from minigrad.nn.utils.rnn import pad_sequence, import minigrad.nn.utils.parametrize
sys.modules.update({f"{__name__}.{name}": submodule for name, submodule in
                    (("fusion", fusion), ("parametrizations", parametrizations), ("parametrize", parametrize),
                     ("rnn", rnn))})


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters):
    return [param.grad for param in _as_list(parameters) if param.grad is not None]


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the tensors' norms: the norm of all their entries as one vector, as a 0-d tensor."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(0.0)
    total_norm = stack([tensor.norm(norm_type) for tensor in tensors]).norm(norm_type)
    if error_if_nonfinite and not bool(total_norm.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return total_norm


@no_grad()
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scales the gradients by max_norm / (total_norm + 1e-6) where that is below 1, as torch does."""
    grads = _grads(parameters)
    if grads:
        scale = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0).data
        with np.errstate(invalid="ignore"):  # an infinite norm scales by 0, and infinite entries become NaN, as torch's
            for grad in grads:
                grad.data *= scale


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients down so that their total norm is at most max_norm; returns the norm before."""
    if isinstance(parameters, types.GeneratorType):
        parameters = list(parameters)
        if not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    parameters = _as_list(parameters)
    total_norm = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps each gradient entry into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for grad in _grads(parameters):
        grad.data.clip(-clip_value, clip_value, out=grad.data)


def _on_one_device(parameters):
    """The parameters, refused with torch's error where they are on more than one device."""
    parameters = list(parameters)
    if len({param.device for param in parameters}) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return parameters


def parameters_to_vector(parameters):
    """All the parameters' entries in one 1-d tensor (differentiable, as torch's)."""
    return cat([param.reshape(-1) for param in _on_one_device(parameters)])


def vector_to_parameters(vec, parameters):
    """Sets the parameters' data to consecutive slices of vec, which they then share, as torch's do."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minigrad.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in _on_one_device(parameters):
        param.data = vec.data[pointer:pointer + param.numel()].reshape(param.shape)
        pointer += param.numel()


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with its parameters and buffers left as empty() leaves them (zeros here), for an
    initialisation of one's own: the random draws of its own are undone, so that the generator is where it was, as
    torch's, which builds the module on its meta device. The module must take a device argument, as torch's
    requires."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    rng_state = random.get_rng_state()
    try:
        module = module_cls(*args, **kwargs)
    finally:
        random.set_rng_state(rng_state)
    with no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            tensor.data[...] = 0
    return module


__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "fuse_conv_bn_eval", "fuse_conv_bn_weights",
           "fuse_linear_bn_eval", "fuse_linear_bn_weights", "get_total_norm", "parameters_to_vector",
           "remove_spectral_norm", "remove_weight_norm", "skip_init", "spectral_norm", "vector_to_parameters",
           "weight_norm"]
