"""torch.nn.utils.parametrizations: weight normalisation, spectral normalisation and orthogonal weights as
parametrizations (see parametrize.py), with torch's state dict keys (parametrizations.weight.original0/original1,
parametrizations.weight.original and its _u, _v, or its base), so GAN, normalised-layer and orthogonal-layer
checkpoints carry over. The norm and the power-iteration
step here also serve the older hook-based weight_norm and spectral_norm (norm_hooks.py)."""
import numpy as np

from .. import creation, functional as F, linalg
from ..backend import get_array_module
from ..function import no_grad
from ..tensor import Tensor
from ..torch_functions import cat
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


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(Q):
    """Q^T Q = I within 10 n eps, as torch's test of whether to keep an assigned matrix."""
    k = Q.shape[-1]
    identity = creation.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * Q.shape[-2] * float(np.finfo(Q.dtype).eps)
    return bool(Q.mT.matmul(Q).allclose(identity, atol=eps))


def _make_orthogonal(A):
    """The Q of A's QR with R's diagonal positive, through geqrf and householder_product, as torch's."""
    packed, tau = linalg.geqrf(A)
    return linalg.householder_product(packed, tau) * packed.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


class _Orthogonal(Module):
    """torch's orthogonal parametrization of a tall matrix (a wide one transposed): exp or the Cayley transform of
    the skew-symmetric matrix of its lower triangle, or the product of the Householder reflectors below its
    diagonal; with use_trivialization, times the orthogonal buffer `base`, which right_inverse sets."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        if self.orthogonal_map == "householder":
            reflectors = X.tril(-1)
            tau = 2.0 / (1.0 + (reflectors * reflectors).sum(-2))
            Q = linalg.householder_product(reflectors, tau) * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = linalg.matrix_exp(A)
            else:
                identity = creation.eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(identity - 0.5 * A, identity + 0.5 * A)
            Q = Q[..., :k] if n != k else Q
        if hasattr(self, "base"):
            Q = self.base.matmul(Q)
        return Q.mT if transposed else Q

    @no_grad()
    def right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{Q.shape}.")
        Q_init = Q
        n, k = Q.shape[-2:]
        transpose = n < k
        if transpose:
            Q, n, k = Q.mT, k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            packed, tau = linalg.geqrf(Q)
            xp = get_array_module(packed.data)
            signs = xp.sign(xp.diagonal(packed.data, axis1=-2, axis2=-1))
            positions = xp.arange(k)
            packed.data[..., positions, positions] = xp.where(tau.data == 0, -signs, signs)
            return packed.mT if transpose else packed
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            completion = creation.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, completion], dim=-1))
        self.base = Q
        neg_identity = creation.zeros_like(Q_init)
        neg_identity.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_identity


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """module.<name> becomes an orthogonal matrix (orthonormal columns, or rows where it is wide; a batch of them)
    parametrized by parametrizations.<name>.original, as torch's: through "matrix_exp", "cayley" or "householder"
    (the default: matrix_exp for a square matrix, householder otherwise), and with use_trivialization times the
    buffer parametrizations.<name>.0.base, its value where the tensor was assigned."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orthogonalizing = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    return parametrize.register_parametrization(module, name, orthogonalizing, unsafe=True)


__all__ = ["orthogonal", "spectral_norm", "weight_norm"]
