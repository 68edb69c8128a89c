"""F.affine_grid and F.grid_sample (2-d) against torch: values and gradients (input, grid, theta) for every mode,
padding mode and align_corners, float64 gradchecks, result dtypes and node names, the align_corners warnings,
torch's argument errors, and the GPU path."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
SAMPLINGS = [(mode, padding, corners) for mode in MODES for padding in PADDINGS for corners in (False, True)]
SAMPLING_IDS = [f"{mode}-{padding}-{'corners' if corners else 'edges'}" for mode, padding, corners in SAMPLINGS]


def _grid_coordinates(pixels, size, align_corners):
    """The grid coordinates in [-1, 1] of pixel coordinates along an axis of `size` pixels: torch's
    unnormalization undone."""
    return 2 * pixels / (size - 1) - 1 if align_corners else (2 * pixels + 1) / size - 1


def _grid(rng, shape, in_size, align_corners, dtype=np.float32):
    """An (N, H_out, W_out, 2) grid of points inside, on the edge of and outside the image (some several image
    sizes away, where reflection folds more than once), none near a kink of the sampling: the points' pixel
    coordinates are 0.1 or more from every integer (the floor of bilinear and bicubic, the border's clipping,
    reflection with align_corners) and every half-integer (nearest's rounding, reflection without align_corners),
    where the derivative jumps and a rounding difference would give another one-sided gradient."""
    pixels = []
    for size in in_size[::-1]:  # x reads the width, y the height
        whole = rng.integers(-2 * size, 3 * size, shape)
        fraction = rng.uniform(0.1, 0.4, shape) + 0.5 * rng.integers(0, 2, shape)
        pixels.append(_grid_coordinates(whole + fraction, size, align_corners))
    return np.stack(pixels, axis=-1).astype(dtype)


def _sample(library, x, grid, direction, requires_grad=(True, True), **kwargs):
    """grid_sample's output and the gradients of <output, direction> for the input and the grid (None where not
    asked), and the node's name."""
    module = F if library is mg else TF
    tensors = [library.tensor(array, requires_grad=needed) for array, needed in zip((x, grid), requires_grad)]
    out = module.grid_sample(*tensors, **kwargs)
    (out * library.tensor(direction)).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in tensors]
    return out.detach().numpy(), *grads, out.grad_fn.name()


def _case(seed, dtype=np.float32, in_shape=(2, 3, 5, 7), out_size=(4, 6), align_corners=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(in_shape).astype(dtype)
    grid = _grid(rng, (in_shape[0], *out_size), in_shape[2:], align_corners, dtype)
    return x, grid, rng.standard_normal((*in_shape[:2], *out_size)).astype(dtype)


@pytest.mark.parametrize("mode, padding_mode, align_corners", SAMPLINGS, ids=SAMPLING_IDS)
def test_values_and_gradients_match_torch(mode, padding_mode, align_corners):
    """A float32 output, input gradient and grid gradient as torch's, to float32 rounding (torch's CPU kernel
    may fuse a multiply and an add where NumPy rounds twice), on an output of another size than the input's.
    Bicubic's grid gradient at a point off the image with "border" is the sum of one edge pixel times 16 weight
    derivatives that add up to 0: what is left is the rounding of its largest terms, so it compares at the
    scale of the largest entry."""
    x, grid, direction = _case(1, align_corners=align_corners)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours, theirs = _sample(mg, x, grid, direction, **kwargs), _sample(torch, x, grid, direction, **kwargs)
    for our, their in zip(ours[:3], theirs[:3]):
        assert our.dtype == their.dtype == np.float32 and our.shape == their.shape
        scale = np.abs(their).max() if mode == "bicubic" and our is ours[2] else 1.0
        np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-6 * scale)
    assert ours[3] == theirs[3]


@pytest.mark.parametrize("mode, padding_mode, align_corners", SAMPLINGS, ids=SAMPLING_IDS)
def test_float64_matches_torch(mode, padding_mode, align_corners):
    x, grid, direction = _case(2, np.float64, in_shape=(3, 2, 6, 4), out_size=(5, 3), align_corners=align_corners)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours, theirs = _sample(mg, x, grid, direction, **kwargs), _sample(torch, x, grid, direction, **kwargs)
    for our, their in zip(ours[:3], theirs[:3]):
        assert our.dtype == their.dtype == np.float64
        np.testing.assert_allclose(our, their, rtol=1e-12, atol=1e-13)


EDGE_POINTS = np.array([-1.0, 1.0, 0.0, -0.5, 0.5, -1.5, 1.5, -3.0, 3.0, 0.25, -0.75])


@pytest.mark.parametrize("mode, padding_mode, align_corners", SAMPLINGS, ids=SAMPLING_IDS)
def test_points_on_the_edges_and_pixel_centres_match_torch(mode, padding_mode, align_corners):
    """Points exactly at -1 and 1, on pixel centres and edges, and outside: values and the input's gradient as
    torch's. The grid's gradient is left out: these points sit on kinks, where it is one-sided."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 4)).astype(np.float32)
    xs, ys = np.meshgrid(EDGE_POINTS, EDGE_POINTS[::-1])
    grid = np.broadcast_to(np.stack([xs, ys], axis=-1), (2, *xs.shape, 2)).astype(np.float32)
    direction = rng.standard_normal((2, 2, *xs.shape)).astype(np.float32)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours = _sample(mg, x, grid, direction, requires_grad=(True, False), **kwargs)
    theirs = _sample(torch, x, grid, direction, requires_grad=(True, False), **kwargs)
    for our, their in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-6)
    assert ours[2] is theirs[2] is None


def test_nearest_rounds_half_to_even_as_torch():
    """With align_corners over 5 pixels, x = -0.75 and 0.25 are the pixel coordinates 0.5 and 2.5 exactly:
    both round to the even pixel, 0 and 2, as torch's nearbyint."""
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
    grid = np.array([[[[-0.75, 0.0], [0.25, 0.0], [-0.25, 0.0]]]], np.float32)
    for library, module in ((mg, F), (torch, TF)):
        out = module.grid_sample(library.tensor(x), library.tensor(grid), mode="nearest", align_corners=True)
        np.testing.assert_array_equal(out.numpy().ravel(), [0, 2, 2])


@pytest.mark.parametrize("requires_grad", [(True, False), (False, True)], ids=["input", "grid"])
def test_gradient_of_one_operand_only(requires_grad):
    x, grid, direction = _case(4)
    ours, theirs = (_sample(library, x, grid, direction, requires_grad, align_corners=False)
                    for library in (mg, torch))
    for our, their in zip(ours[:3], theirs[:3]):
        if their is None:
            assert our is None
        else:
            np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("in_shape, out_size", [((0, 2, 3, 3), (2, 2)), ((2, 0, 3, 3), (2, 2)),
                                                ((2, 2, 3, 3), (0, 4))])
def test_empty_shapes_as_torch(in_shape, out_size):
    x, grid, direction = _case(5, in_shape=in_shape, out_size=out_size)
    ours, theirs = (_sample(library, x, grid, direction, align_corners=False) for library in (mg, torch))
    for our, their in zip(ours[:3], theirs[:3]):
        assert our.shape == their.shape and our.dtype == their.dtype


@pytest.mark.parametrize("mode, padding_mode, align_corners", SAMPLINGS, ids=SAMPLING_IDS)
def test_one_pixel_images_as_torch(mode, padding_mode, align_corners):
    """An axis of one pixel: with align_corners its only coordinate is that pixel's centre, and reflection has
    nothing to fold over."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 1, 3)).astype(np.float32)
    grid = rng.uniform(-2.5, 2.5, (2, 3, 4, 2)).astype(np.float32)
    direction = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours, theirs = _sample(mg, x, grid, direction, **kwargs), _sample(torch, x, grid, direction, **kwargs)
    for our, their in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_gradcheck_grid_sample(mode, padding_mode, align_corners):
    x, grid, _ = _case(6, np.float64, in_shape=(2, 2, 4, 5), out_size=(3, 3), align_corners=align_corners)
    inputs = [mg.tensor(x, requires_grad=True), mg.tensor(grid, requires_grad=True)]
    assert mg.gradcheck(lambda t, g: F.grid_sample(t, g, mode=mode, padding_mode=padding_mode,
                                                   align_corners=align_corners), inputs)


AFFINE_SIZES = [(2, 3, 5, 4), (2, 1, 1, 6), (2, 2, 3, 1), (2, 1, 1, 1)]


@pytest.mark.parametrize("size", AFFINE_SIZES)
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    rng = np.random.default_rng(7)
    theta = rng.standard_normal((size[0], 2, 3)).astype(np.float32)
    direction = rng.standard_normal((size[0], *size[2:], 2)).astype(np.float32)
    results = []
    for library, module in ((mg, F), (torch, TF)):
        t = library.tensor(theta, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # align_corners=True over one pixel: torch's warning, tested below
            grid = module.affine_grid(t, size, align_corners=align_corners)
        (grid * library.tensor(direction)).sum().backward()
        results.append((grid.detach().numpy(), t.grad.numpy(), grid.grad_fn.name()))
    (grid, grad, node), (their_grid, their_grad, their_node) = results
    assert grid.dtype == their_grid.dtype == np.float32 and node == their_node
    np.testing.assert_allclose(grid, their_grid, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-5, atol=1e-6)


def test_affine_grid_keeps_float64():
    theta = np.random.default_rng(8).standard_normal((1, 2, 3))
    ours = F.affine_grid(mg.tensor(theta), (1, 1, 4, 3), align_corners=False)
    theirs = TF.affine_grid(torch.tensor(theta), (1, 1, 4, 3), align_corners=False)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("align_corners", [False, True])
def test_gradcheck_affine_grid(align_corners):
    theta = mg.tensor(np.random.default_rng(9).standard_normal((2, 2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners), [theta])


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_spatial_transformer_pipeline_matches_torch(padding_mode):
    """affine_grid then grid_sample, as a spatial transformer runs them: the gradients reach theta and the input
    as torch's."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    theta = (np.eye(2, 3) + 0.4 * rng.standard_normal((2, 2, 3))).astype(np.float32)
    direction = rng.standard_normal((2, 3, 4, 7)).astype(np.float32)
    results = []
    for library, module in ((mg, F), (torch, TF)):
        t, image = library.tensor(theta, requires_grad=True), library.tensor(x, requires_grad=True)
        grid = module.affine_grid(t, (2, 3, 4, 7), align_corners=False)
        out = module.grid_sample(image, grid, padding_mode=padding_mode, align_corners=False)
        (out * library.tensor(direction)).sum().backward()
        results.append((out.detach().numpy(), image.grad.numpy(), t.grad.numpy()))
    for our, their in zip(*results):
        np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-5)


def test_align_corners_none_is_false_with_torchs_warning():
    x, grid, _ = _case(11)
    messages = []
    for library, module in ((mg, F), (torch, TF)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = module.grid_sample(library.tensor(x), library.tensor(grid))
            module.affine_grid(library.zeros(2, 2, 3), (2, 1, 3, 3))
            module.grid_sample(library.tensor(x), library.tensor(grid), align_corners=False)
            module.affine_grid(library.zeros(2, 2, 3), (2, 1, 3, 3), align_corners=False)
        messages.append([(w.category, str(w.message), w.filename) for w in caught])
        np.testing.assert_allclose(out.numpy(), TF.grid_sample(torch.tensor(x), torch.tensor(grid),
                                                               align_corners=False).numpy(), rtol=1e-5, atol=1e-6)
    assert len(messages[0]) == 2 and messages[0] == messages[1]
    assert messages[0][0][2] == __file__  # pointed at the caller


def test_affine_grid_warns_of_one_pixel_with_align_corners_as_torch():
    messages = []
    for library, module in ((mg, F), (torch, TF)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module.affine_grid(library.zeros(1, 2, 3), (1, 1, 1, 4), align_corners=True)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert len(messages[0]) == 1 and messages[0] == messages[1]


SAMPLE_ERRORS = {
    "mode": ((2, 3, 4, 5), (2, 3, 3, 2), dict(mode="bilinear2")),
    "padding_mode": ((2, 3, 4, 5), (2, 3, 3, 2), dict(padding_mode="constant")),
    "batch": ((2, 3, 4, 5), (1, 3, 3, 2), {}),
    "last_dim": ((2, 3, 4, 5), (2, 3, 3, 3), {}),
    "input_3d": ((3, 4, 5), (2, 3, 3, 2), {}),
    "grid_3d": ((2, 3, 4, 5), (2, 3, 2), {}),
    "both_3d": ((2, 4, 5), (2, 3, 1), {}),
    "grid_5d": ((2, 3, 4, 5), (2, 3, 3, 3, 2), {}),
    "input_5d_grid_4d": ((2, 3, 4, 5, 2), (2, 3, 3, 3), {}),
    "bicubic_5d": ((2, 3, 4, 5, 2), (2, 3, 3, 3, 3), dict(mode="bicubic")),
    "empty_height": ((2, 3, 0, 5), (2, 3, 3, 2), {}),
    "dtypes": ((2, 3, 4, 5), (2, 3, 3, 2), dict(grid_dtype=np.float64)),
    "dtypes_reversed": ((2, 3, 4, 5), (2, 3, 3, 2), dict(input_dtype=np.float64)),
    "integer_input": ((2, 3, 4, 5), (2, 3, 3, 2), dict(input_dtype=np.int64)),
}


@pytest.mark.parametrize("name", SAMPLE_ERRORS)
def test_grid_sample_errors_are_torchs(name):
    in_shape, grid_shape, kwargs = SAMPLE_ERRORS[name]
    kwargs = dict(kwargs, align_corners=False)
    x = np.zeros(in_shape, kwargs.pop("input_dtype", np.float32))
    grid = np.zeros(grid_shape, kwargs.pop("grid_dtype", np.float32))
    assert_raises_as_torch(lambda: TF.grid_sample(torch.tensor(x), torch.tensor(grid), **kwargs),
                           lambda: F.grid_sample(mg.tensor(x), mg.tensor(grid), **kwargs))


AFFINE_ERRORS = {
    "size_3": ((2, 2, 3), np.float32, (2, 1, 3)),
    "size_6": ((2, 2, 3), np.float32, [2, 1, 3, 3, 3, 3]),
    "theta_3x3": ((2, 3, 3), np.float32, (2, 1, 3, 3)),
    "theta_2d": ((2, 3), np.float32, (2, 1, 3, 3)),
    "theta_2d_for_3d_size": ((2, 2, 3), np.float32, (2, 1, 3, 3, 3)),
    "theta_batch": ((3, 2, 3), np.float32, (2, 1, 3, 3)),
    "zero_height": ((2, 2, 3), np.float32, (2, 1, 0, 3)),
    "zero_channels_list": ((2, 2, 3), np.float32, [2, 0, 3, 3]),
    "integer_theta": ((2, 2, 3), np.int64, (2, 1, 3, 3)),
}


@pytest.mark.parametrize("name", AFFINE_ERRORS)
def test_affine_grid_errors_are_torchs(name):
    theta_shape, dtype, size = AFFINE_ERRORS[name]
    theta = np.zeros(theta_shape, dtype)
    assert_raises_as_torch(lambda: TF.affine_grid(torch.tensor(theta), size, align_corners=False),
                           lambda: F.affine_grid(mg.tensor(theta), size, align_corners=False))


@pytest.mark.parametrize("call, match", [
    (lambda: F.grid_sample(mg.zeros(1, 1, 2, 3, 3), mg.zeros(1, 2, 2, 2, 3), align_corners=False),
     "no 'bilinear' sampling of 5-d inputs"),
    (lambda: F.affine_grid(mg.zeros(1, 3, 4), (1, 1, 2, 2, 2), align_corners=False), "no 3-d affine grids"),
], ids=["3d_sampling", "3d_affine_grid"])
def test_what_torch_has_and_minigrad_lacks_is_refused_by_name(call, match):
    with pytest.raises(NotImplementedError, match=match):
        call()


def test_gpu_path_matches_cpu(gpu_path):
    for mode, padding_mode, align_corners in SAMPLINGS:
        x, grid, direction = _case(12, align_corners=align_corners)
        theta = np.random.default_rng(13).standard_normal((2, 2, 3)).astype(np.float32)
        results = []
        for device in ("cpu", "gpu"):
            image, points = (mg.tensor(a, requires_grad=True, device=device) for a in (x, grid))
            t = mg.tensor(theta, requires_grad=True, device=device)
            out = F.grid_sample(image, points, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
            moved = F.affine_grid(t, (2, 3, 4, 6), align_corners=align_corners)
            ((out + moved.sum()) * mg.tensor(direction, device=device)).sum().backward()
            results.append((out.device, moved.device, out.numpy(), image.grad.numpy(), points.grad.numpy(),
                            moved.numpy(), t.grad.numpy()))
        cpu, gpu = results
        assert gpu[:2] == ("gpu", "gpu")
        for ours, reference in zip(gpu[2:], cpu[2:]):  # a GPU sums in another order
            assert relative_error(ours, reference) <= 1e-5, (mode, padding_mode, align_corners)
