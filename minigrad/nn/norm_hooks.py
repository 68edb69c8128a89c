"""torch.nn.utils' older weight_norm and spectral_norm: a forward pre-hook sets module.<name> from parameters of
their own names (weight_g and weight_v; weight_orig with the buffers weight_u and weight_v), the state dict keys
older checkpoints hold. The math is parametrizations.py's."""
import warnings

from ..function import no_grad
from .module import Parameter
from .parametrizations import (norm_except_dim, power_iteration_step, random_unit_vector, spectral_dim,
                               spectrally_normalized, weight_as_matrix, weight_normalized)


class WeightNorm:
    """The pre-hook of weight_norm: module.<name> = g * v / |v| before each forward."""

    def __init__(self, name, dim):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module):
        return weight_normalized(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        delattr(module, self.name + "_g")
        delattr(module, self.name + "_v")
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


class SpectralNorm:
    """The pre-hook of spectral_norm: module.<name> = weight_orig / sigma before each forward, the singular vectors
    weight_u and weight_v stepped first in training mode."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = weight_as_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                new_u, new_v = u, v
                for _ in range(self.n_power_iterations):  # v first: the step on the transposed matrix
                    new_v, new_u = power_iteration_step(weight_mat.mT, new_v, new_u, self.eps)
                u.data[...], v.data[...] = new_u.data, new_v.data
        # copies, so that a later step leaves the vectors this graph's backward reads as they were
        return spectrally_normalized(weight, weight_mat, u.clone(), v.clone())

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def _hook_of(module, kind, name):
    """The id and hook of `kind` on `name` among the module's forward pre-hooks, or None."""
    for hook_id, (hook, _) in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return hook_id, hook
    return None


def _refuse_second(module, kind, name, what):
    if _hook_of(module, kind, name) is not None:
        raise RuntimeError(f"Cannot register two {what} hooks on the same parameter {name}")


def weight_norm(module, name="weight", dim=0):
    """Deprecated in torch for parametrizations.weight_norm: module.<name> from the parameters <name>_g (the
    norms) and <name>_v (the directions), set by a forward pre-hook."""
    warnings.warn("`minigrad.nn.utils.weight_norm` is deprecated in favor of "
                  "`minigrad.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    _refuse_second(module, WeightNorm, name, "weight_norm")
    hook = WeightNorm(name, dim)
    weight = getattr(module, name)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, hook.dim).data))
    module.register_parameter(name + "_v", Parameter(weight.data))
    hook(module, ())
    module.register_forward_pre_hook(hook)
    return module


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """module.<name> = <name>_orig / sigma, set by a forward pre-hook, with the buffers <name>_u and <name>_v
    (see parametrizations.spectral_norm, the newer form)."""
    _refuse_second(module, SpectralNorm, name, "spectral_norm")
    hook = SpectralNorm(name, n_power_iterations, spectral_dim(module, dim), eps)
    weight = module._parameters[name]
    if weight is None:
        raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
    rows, columns = weight_as_matrix(weight.detach(), hook.dim).shape
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", random_unit_vector(rows, weight, eps))
    module.register_buffer(name + "_v", random_unit_vector(columns, weight, eps))
    module.register_forward_pre_hook(hook)
    return module


def _remove_hook(module, kind, name, what):
    found = _hook_of(module, kind, name)
    if found is None:
        raise ValueError(f"{what} of '{name}' not found in {module}")
    hook_id, hook = found
    hook.remove(module)
    del module._forward_pre_hooks[hook_id]
    return module


def remove_weight_norm(module, name="weight"):
    """The parameter <name> again, set to the normalised weight."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def remove_spectral_norm(module, name="weight"):
    """The parameter <name> again, set to the normalised weight (no power-iteration step)."""
    return _remove_hook(module, SpectralNorm, name, "spectral_norm")


__all__ = ["SpectralNorm", "WeightNorm", "remove_spectral_norm", "remove_weight_norm", "spectral_norm",
           "weight_norm"]
