"""Gradients of gradients (create_graph) of the matrix products, convolutions, poolings, resamplings and unfoldings:
against torch and by a float64 gradcheck of the first gradients (tests/double_backward.py); third derivatives of the
closed systems of gradient ops; a WGAN-GP gradient penalty through a small conv critic; the GPU code path."""
import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import relative_error
from double_backward import check_double_backward, check_gradgrad


def functional(library):
    return torch.nn.functional if library is torch else mg.functional


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# a 1-d operand of matmul is unsqueezed (a Reshape) on its way to MatMul: the last three go through its formula too

@pytest.mark.parametrize("a_shape, b_shape", [
    ((3, 4), (4, 2)),
    ((2, 3, 4), (4, 2)),                # a stack against one matrix: the matrix's gradient summed over the stack
    ((2, 1, 2, 3), (3, 3, 2)),          # batch dims broadcast both ways
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((4,), (4,)),
])
def test_matmul_gradgradcheck(a_shape, b_shape):
    check_double_backward(lambda library, a, b: library.matmul(a, b), normal(*a_shape), normal(*b_shape, seed=1))


@pytest.mark.parametrize("equation, shapes", [
    ("bij,bjk->bik", [(1, 3, 4), (2, 4, 2)]),   # a size-1 dim broadcast
    ("iij,j->ij", [(2, 2, 3), (3,)]),           # a diagonal
    ("ij,ij,j->i", [(2, 3), (2, 3), (3,)]),     # three operands
    ("ij->", [(3, 4)]),                         # summed within the operand
])
def test_einsum_gradgradcheck(equation, shapes):
    check_double_backward(lambda library, *operands: library.einsum(equation, *operands),
                          *[normal(*shape, seed=seed) for seed, shape in enumerate(shapes)])


CONVS = {
    "padded, bias": ((2, 2, 4, 4), (3, 2, 3, 3), True, dict(padding=1)),
    "strided, groups": ((1, 4, 5, 4), (2, 2, 3, 2), True, dict(stride=2, padding=(1, 0), groups=2)),
    "depthwise": ((1, 3, 4, 4), (3, 1, 3, 3), False, dict(padding=1, groups=3)),
    "depthwise, multiplier, strided": ((1, 2, 5, 5), (4, 1, 3, 3), True, dict(stride=2, padding=1, groups=2)),
    "dilated, groups": ((1, 4, 4, 4), (2, 2, 2, 2), False, dict(padding=1, dilation=2, groups=2)),
    "strides and dilations per axis": ((1, 2, 6, 5), (2, 2, 3, 2), False, dict(stride=(2, 3), dilation=(2, 1))),
}


def conv_arrays(x_shape, weight_shape, bias, bias_size):
    return [normal(*x_shape), normal(*weight_shape, seed=1)] + ([normal(bias_size, seed=2)] if bias else [])


@pytest.mark.parametrize("name", CONVS)
def test_conv2d_gradgradcheck(name):
    x_shape, weight_shape, bias, options = CONVS[name]
    check_double_backward(lambda library, x, w, *b: functional(library).conv2d(x, w, *b, **options),
                          *conv_arrays(x_shape, weight_shape, bias, weight_shape[0]))


TRANSPOSED_CONVS = {
    "bias": ((1, 2, 4, 4), (2, 3, 3, 3), True, dict()),
    "strided, output_padding, groups": ((1, 4, 3, 4), (4, 1, 3, 2), True,
                                        dict(stride=2, padding=1, output_padding=1, groups=2)),
    "output_padding past the stride": ((1, 2, 3, 3), (2, 1, 2, 3), False,
                                       dict(stride=(2, 1), dilation=3, output_padding=(1, 2))),
}


@pytest.mark.parametrize("name", TRANSPOSED_CONVS)
def test_conv_transpose2d_gradgradcheck(name):
    x_shape, weight_shape, bias, options = TRANSPOSED_CONVS[name]
    check_double_backward(lambda library, x, w, *b: functional(library).conv_transpose2d(x, w, *b, **options),
                          *conv_arrays(x_shape, weight_shape, bias, weight_shape[1] * options.get("groups", 1)))


POOLINGS = {
    "max_pool2d 2x2": ((2, 2, 4, 6), lambda F, x: F.max_pool2d(x, 2)),
    "max_pool2d padded, strided": ((1, 2, 5, 5), lambda F, x: F.max_pool2d(x, 3, stride=2, padding=1)),
    "max_pool2d overlapping": ((1, 1, 4, 4), lambda F, x: F.max_pool2d(x, 2, stride=1)),
    "avg_pool2d": ((1, 2, 4, 4), lambda F, x: F.avg_pool2d(x, 2)),
    "avg_pool2d padding not counted, ceil_mode": ((1, 2, 6, 5), lambda F, x: F.avg_pool2d(
        x, 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    "bilinear": ((1, 2, 3, 4), lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear")),
    "bilinear align_corners, to a size": ((1, 2, 3, 4), lambda F, x: F.interpolate(
        x, size=(5, 3), mode="bilinear", align_corners=True)),
    "nearest": ((1, 2, 3, 3), lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest")),
    "adaptive_avg_pool2d": ((1, 2, 5, 5), lambda F, x: F.adaptive_avg_pool2d(x, (3, 2))),
    "max_pool3d overlapping, padded": ((1, 1, 3, 3, 3), lambda F, x: F.max_pool3d(x, 2, stride=1, padding=1)),
    "trilinear": ((1, 1, 2, 2, 3), lambda F, x: F.interpolate(x, scale_factor=2, mode="trilinear")),
}


@pytest.mark.parametrize("name", POOLINGS)
def test_pooling_and_resampling_gradgradcheck(name):
    shape, pool = POOLINGS[name]
    check_double_backward(lambda library, x: pool(functional(library), x), normal(*shape))


def third_derivatives(library, build, arrays):
    """The gradients of a projection of the second derivatives of build (in the inputs and in the vector the first
    backward was given), in the inputs and the two vectors that the first and second backward were given, as
    arrays."""
    rng = np.random.default_rng(3)
    inputs = [library.tensor(a, requires_grad=True) for a in arrays]
    output = build(library, *inputs)
    v = library.tensor(rng.standard_normal(tuple(output.shape)).astype(np.float32), requires_grad=True)
    first = library.autograd.grad(output, inputs, v, create_graph=True)
    projections = [library.tensor(rng.standard_normal(a.shape).astype(np.float32), requires_grad=True) for a in arrays]
    total = sum((g * p).sum() for g, p in zip(first, projections))
    second = library.autograd.grad(total, [*inputs, v], create_graph=True)
    total = sum((g * library.tensor(rng.standard_normal(tuple(g.shape)).astype(np.float32))).sum() for g in second)
    third = library.autograd.grad(total, [*inputs, v, *projections], materialize_grads=True)
    return [g.detach().numpy() for g in third]


@pytest.mark.parametrize("size, options", [(5, dict(padding=1)), (9, dict(stride=2, groups=2))],
                         ids=["wide", "columns"])
def test_third_derivatives_of_the_closed_systems(size, options):
    """The conv and its gradient ops, and each pooling's and resampling's pair of gradient and adjoint."""
    arrays = [normal(1, 2, size, size).astype(np.float32),
              normal(2, 2 // options.get("groups", 1), 3, 3, seed=1).astype(np.float32)]

    def build(library, x, w):
        F = functional(library)
        pooled = F.max_pool2d(F.conv2d(x, w, **options), 2)
        return F.avg_pool2d(F.interpolate(pooled, scale_factor=2, mode="bilinear"), 2)

    for ours, theirs in zip(*(third_derivatives(library, build, arrays) for library in (mg, torch))):
        assert relative_error(ours, theirs) < 1e-5


def test_max_pools_gradient_differentiated_twice_passes_gradgradcheck():
    """max_pool2d's gradient (MaxPoolGrad) as a function of the vector backward was given: its gradient is the gather
    at the windows' winners (MaxPoolGather), whose own gradient, the scatter again, a float64 gradgradcheck checks."""
    x = mg.tensor(normal(1, 2, 4, 4), requires_grad=True)  # overlapping windows: a place wins more than one

    def input_gradient(vector):
        return mg.autograd.grad(mg.functional.max_pool2d(x, 2, stride=1), x, vector, create_graph=True)[0]

    with mg.profiler.profile() as stats:
        assert mg.gradgradcheck(input_gradient, mg.tensor(normal(1, 2, 3, 3, seed=1), requires_grad=True))
    assert "MaxPoolGather" in {op for op, _ in stats.calls}


def test_gpu_variants_of_the_convs_gradient_ops_pass_gradgradcheck_on_host(host_kernels):
    """The conv's gradient ops on the GPU's code path (minigrad.kernels built for the host), differentiated by a float64
    gradgradcheck of the conv in its input and weight."""
    with mg.profiler.profile() as stats:
        check_gradgrad(lambda library, x, w: functional(library).conv2d(x, w, padding=1, groups=2),
                       normal(1, 4, 4, 4), normal(2, 2, 3, 3, seed=1))
    assert {"Conv2dInputGradKernels", "Conv2dWeightGradKernels"} <= {op for op, _ in stats.calls}


def critic(library, x, w1, b1, w2, w3, w4, b4):
    """A small conv critic of the ops whose gradients have formulas (relu as x * (x > 0))."""
    F = functional(library)
    relu = lambda t: t * (t > 0)  # noqa: E731
    h = F.max_pool2d(relu(F.conv2d(x, w1, b1, padding=1)), 2)
    h = F.interpolate(h, scale_factor=2, mode="bilinear")
    h = relu(F.conv2d(h, w2, stride=2, padding=1))
    h = F.avg_pool2d(F.conv2d(h, w3, padding=1, groups=3), 2)
    return F.linear(h.mean((2, 3)), w4, b4)


def test_gradient_penalty_reaches_the_weights_as_torchs():
    """WGAN-GP: the mean of (||d critic / d x||_2 - 1)^2 over the batch, backpropagated to the critic's weights."""
    shapes = [(2, 2, 8, 8), (4, 2, 3, 3), (4,), (3, 4, 3, 3), (3, 1, 3, 3), (1, 3), (1,)]
    arrays = [normal(*shape, seed=seed).astype(np.float32) for seed, shape in enumerate(shapes)]
    gradients = []
    for library in (mg, torch):
        x, *weights = [library.tensor(a, requires_grad=True) for a in arrays]
        (slope,) = library.autograd.grad(critic(library, x, *weights).sum(), x, create_graph=True)
        penalty = ((((slope * slope).sum((1, 2, 3)) + 1e-12).sqrt() - 1) ** 2).mean()
        penalty.backward()
        gradients.append([w.grad.numpy() for w in weights if w.ndim > 1])  # the slope does not depend on a bias
    for ours, theirs in zip(*gradients):
        assert np.abs(theirs).max() > 0
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6 * np.abs(theirs).max())


def squared(tensor):
    return tensor * tensor


@pytest.mark.parametrize("name", ["unfold", "fold"])
def test_unfold_and_fold_gradgradcheck(name):
    """Each is the other's adjoint, so each one's gradient is the other."""
    if name == "unfold":
        check_double_backward(lambda library, x: squared(functional(library).unfold(x, 2, padding=1)),
                              normal(2, 2, 3, 3))
    else:
        check_double_backward(lambda library, x: squared(functional(library).fold(x, (4, 4), 2)), normal(2, 8, 9))


@pytest.mark.parametrize("fold", [False, True])
def test_a_volumes_depth_taps_gradgradcheck(fold):
    """conv3d's and conv_transpose3d's DepthUnfold, whose gradient is its adjoint (torch has no such op: the
    recorded gradient is the array backward's, and its gradient passes a float64 gradcheck)."""
    taps, positions = (2, 1, 1, 1), 4  # kernel, stride, padding, dilation over a depth of 3
    x = normal(1, positions, 2, 2, 2, 2) if fold else normal(1, 2, 3, 2, 2)

    def build(library, x):
        return squared(mg.ops.DepthUnfold.apply(x, depth=3, positions=positions, taps=taps, fold=fold))

    x_tensor = mg.tensor(x, requires_grad=True)
    vector = mg.tensor(normal(*build(mg, x_tensor).shape, seed=1))
    recorded, plain = (mg.autograd.grad(build(mg, x_tensor), x_tensor, vector, create_graph=create_graph)[0].numpy()
                       for create_graph in (True, False))
    np.testing.assert_allclose(recorded, plain, rtol=1e-12)
    check_gradgrad(build, x)


def test_gpu_path_matches_cpu(gpu_path):
    """The formulas' ops run on the device (the conv's gradient ops as the GPU variants)."""
    arrays = [normal(1, 4, 6, 6).astype(np.float32), normal(4, 2, 3, 3, seed=1).astype(np.float32)]
    direction = normal(1, 4, 4, 4, seed=2).astype(np.float32)

    def second_gradients(device):
        x, w = (mg.tensor(a, requires_grad=True, device=device) for a in arrays)
        h = mg.functional.conv2d(x, w, padding=1, groups=2)
        out = mg.functional.interpolate(mg.functional.avg_pool2d(mg.functional.max_pool2d(h, 2), 1), scale_factor=1.5,
                                        mode="bilinear")
        first = mg.autograd.grad(out, [x, w], mg.tensor(direction, device=device), create_graph=True)
        gpu_path.launches.clear()
        return [g.numpy() for g in mg.autograd.grad(sum((g * g).sum() for g in first), [x, w])]

    gpu = second_gradients("gpu")
    assert {"im2col", "col2im"} <= set(gpu_path.launches)  # the GPU variants of the conv's gradient ops
    for ours, reference in zip(gpu, second_gradients("cpu")):
        assert relative_error(ours, reference) <= 1e-5
