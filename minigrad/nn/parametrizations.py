"""torch.nn.utils.parametrizations: weight normalisation and spectral normalisation as parametrizations (see
parametrize.py), with torch's state dict keys (parametrizations.weight.original0/original1, parametrizations.weight
.original and its _u, _v), so GAN and normalised-layer checkpoints carry over. The norm and the power-iteration
step here also serve the older hook-based weight_norm and spectral_norm (norm_hooks.py)."""
from .. import creation, functional as F
from ..function import no_grad
from ..tensor import Tensor
from . import parametrize
from .layers import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .module import Module


def norm_except_dim(weight, dim):
    """torch.norm_except_dim(weight, 2, dim): the 2-norm of each slice along `dim`, the other dims kept as size 1;
    dim -1 is the norm of all of weight, as torch's."""
    if dim == -1:
        return weight.norm()
    others = tuple(axis for axis in range(weight.ndim) if axis != dim % weight.ndim)
    return weight.norm(2, others, keepdim=True) if others else weight.abs()


def weight_normalized(weight_v, weight_g, dim):
    """torch._weight_norm: weight_v rescaled so that each slice along `dim` has the norm weight_g holds."""
    return weight_v * (weight_g / norm_except_dim(weight_v, dim))


def weight_as_matrix(weight, dim):
    """The weight as a matrix with `dim` as its rows, the other dims flattened into columns, as torch's."""
    if dim != 0:
        weight = weight.permute(dim, *(axis for axis in range(weight.ndim) if axis != dim))
    return weight.reshape(weight.shape[0], -1)


def power_iteration_step(weight_mat, u, v, eps):
    """One step of the power method towards weight_mat's largest singular vectors: u from v, then v from u, each
    normalised (the hook-based spectral_norm steps v first: the same step on the transposed matrix)."""
    u = F.normalize(weight_mat.matmul(v), dim=0, eps=eps)
    return u, F.normalize(weight_mat.mT.matmul(u), dim=0, eps=eps)


def random_unit_vector(size, like, eps):
    """A normal draw of `size` entries in like's dtype and device, normalised: power iteration's start."""
    return F.normalize(creation.randn(size, dtype=like.dtype, device=like.device), dim=0, eps=eps)


def spectrally_normalized(weight, weight_mat, u, v):
    """weight divided by its largest singular value as the singular vectors u, v estimate it (u·Wv); the gradient
    flows through weight only."""
    return weight / u.matmul(weight_mat.matmul(v))


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_normalized(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """module.<name> becomes g * v / |v| (the norm over every dim but `dim`; None: over all) with
    parametrizations.<name>.original0 the magnitude g and original1 the direction v, as torch's."""
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = weight_as_matrix(weight.detach(), self.dim)
            rows, columns = weight_mat.shape
            self.register_buffer("_u", random_unit_vector(rows, weight, eps))
            self.register_buffer("_v", random_unit_vector(columns, weight, eps))
            self._power_method(weight_mat, 15)

    @no_grad()
    def _power_method(self, weight_mat, n_power_iterations):
        """Steps the singular vectors _u and _v in place, so that a state dict taken before sees them move."""
        u, v = self._u, self._v
        for _ in range(n_power_iterations):
            u, v = power_iteration_step(weight_mat, u, v, self.eps)
        self._u.data[...] = u.data
        self._v.data[...] = v.data

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = weight_as_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies, so that a later step leaves the vectors this graph's backward reads as they were
        return spectrally_normalized(weight, weight_mat, self._u.clone(), self._v.clone())

    def right_inverse(self, value):
        return value


def spectral_dim(module, dim):
    """The dim spectral_norm takes as the rows by default: 1 for a transposed convolution (its output channels),
    else 0, as torch's."""
    if dim is not None:
        return dim
    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """module.<name> becomes W / sigma(W), sigma its largest singular value estimated by power iteration (the
    vectors parametrizations.<name>.0._u and _v, stepped n_power_iterations times per access in training mode
    only), as torch's."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    return parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, spectral_dim(module, dim), eps))


__all__ = ["spectral_norm", "weight_norm"]
