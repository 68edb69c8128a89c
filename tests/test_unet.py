"""The U-Net against its PyTorch build: released weights, gradients, training steps, losses, restore()."""
import re

import numpy as np
import pytest

import minigrad as mg
from conftest import RELEASED_WEIGHTS, relative_error, requires_gpu
from unet import SCA, Charbonnier, EdgeLoss, NonLocal, RestorationLoss, SSIMLoss, UNet, restore
from minigrad import kernels, memory
from minigrad.function import _saved_arrays, memory_owner
from minigrad.tensor import topological_order
from unet import losses

KERNEL_SOURCES = sorted(kernels.SOURCE_DIR.glob("*.cu"))

torch = pytest.importorskip("torch")
from unet import torch_reference as tr  # noqa: E402

MODES = ["published", "softmax"]


def _image_batch(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.fixture(scope="module")
def released_state():
    if not RELEASED_WEIGHTS.exists():
        pytest.skip(f"the authors' released weights are not at {RELEASED_WEIGHTS} (../shared/reference/ beside the repo)")
    return mg.load(RELEASED_WEIGHTS)


def _pair(mode, state=None, **config):
    mg.manual_seed(0)
    model = UNet(nonlocal_mode=mode, **config)
    if state is not None:
        model.load_state_dict(state)
    return model, tr.to_torch(model)


def test_parameter_counts_and_names_match_the_released_checkpoint(released_state):
    model = UNet(nonlocal_mode="published")
    assert model.num_parameters() == 867_842
    assert UNet(attention=False, nonlocal_mode=None).num_parameters() == 809_779
    assert list(model.state_dict()) == list(released_state)


@pytest.mark.parametrize("mode", MODES)
def test_released_weights_match_torch(mode, released_state):
    model, torch_model = _pair(mode, released_state)
    x = _image_batch((1, 3, 64, 48))
    with mg.no_grad():
        out = model(mg.tensor(x)).numpy()
    with torch.no_grad():
        expected = torch_model(torch.tensor(x)).numpy()
    assert np.abs(out - expected).max() <= 1e-5


@pytest.mark.parametrize("mode", MODES)
def test_parameter_gradients_match_torch(mode, released_state):
    model, torch_model = _pair(mode, released_state)
    x = _image_batch((2, 3, 32, 24))
    direction = np.random.default_rng(1).standard_normal((2, 3, 32, 24)).astype(np.float32)
    (model(mg.tensor(x)) * mg.tensor(direction)).sum().backward()
    (torch_model(torch.tensor(x)) * torch.tensor(direction)).sum().backward()
    torch_grads = dict(torch_model.named_parameters())
    scale = max(np.abs(p.grad.numpy()).max() for p in torch_grads.values())
    for name, param in model.named_parameters():
        if mode == "softmax" and name == "nl_block.phi.bias":
            # softmax_j(theta_i . (phi_j + b)) does not depend on b: the true gradient is exactly zero,
            # so both frameworks return rounding noise; check that it is noise-sized.
            assert np.abs(param.grad.numpy()).max() <= 1e-5 * scale
            continue
        assert relative_error(param.grad.numpy(), torch_grads[name].grad.numpy()) <= 1e-4, name


@pytest.mark.parametrize("mode", MODES)
def test_three_adam_steps_track_torch(mode, device="cpu"):
    model, torch_model = _pair(mode)
    model.to(device)
    torch_model.train()
    noisy, clean = _image_batch((2, 3, 32, 32), seed=2), _image_batch((2, 3, 32, 32), seed=3)
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    torch_optimizer = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
    criterion = RestorationLoss()
    for step in range(3):
        optimizer.zero_grad()
        loss, _ = criterion(model(mg.tensor(noisy, device=device)), mg.tensor(clean, device=device))
        loss.backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        torch_loss, _ = tr.restoration_loss(torch_model(torch.tensor(noisy)), torch.tensor(clean))
        torch_loss.backward()
        torch_optimizer.step()
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-4), f"loss at step {step}"
    torch_params = dict(torch_model.named_parameters())
    for name, param in model.named_parameters():
        assert relative_error(param.numpy(), torch_params[name].detach().numpy()) <= 1e-4, name


@pytest.mark.parametrize("mode", MODES)
def test_three_adam_steps_track_torch_with_every_array_pooled(mode, monkeypatch):
    """Buffers reused across ops and steps must never alias live data (the default pools only big arrays)."""
    monkeypatch.setattr(memory, "pool", memory.ArrayPool(min_bytes=0, max_idle_bytes=1 << 20))
    test_three_adam_steps_track_torch(mode)
    assert memory.pool.idle_bytes() > 0


@pytest.mark.parametrize("mode", MODES)
def test_three_adam_steps_track_torch_with_the_gpu_kernels_on_host(mode, host_kernels):
    """The network, the loss and Adam as the GPU runs them (kernels built for the host), against torch."""
    test_three_adam_steps_track_torch(mode)
    assert set(host_kernels.launches) == _kernels_of_a_step(mode), "a training step uses every kernel there is"
    assert host_kernels.launches.count("adam") == 3, "one Adam launch per step for all the parameters"


@pytest.mark.parametrize("mode", MODES)
def test_three_adam_steps_track_torch_on_the_gpu_path(mode, gpu_path):
    """The GPU code path, every array on the device, against torch."""
    test_three_adam_steps_track_torch(mode, device="gpu")
    assert set(gpu_path.launches) == _kernels_of_a_step(mode) and gpu_path.launches.count("adam") == 3


def _kernels_of_a_step(mode):
    """Every kernel there is, less softmax's backward where the non-local block has no softmax."""
    every_kernel = set(re.findall(r"KERNEL (\w+)\(", "".join(path.read_text() for path in KERNEL_SOURCES)))
    return every_kernel - {"softmax_backward"} if mode == "published" else every_kernel


def test_a_training_step_on_the_gpu_path_copies_its_batch_from_the_host_and_nothing_else(fake_gpu):
    """A copy from the host costs a GPU step more than a kernel does: the loss's blur kernels and Adam's tables of
    addresses are made once, not at every step. (0-d copies are the numbers the loss computes with.)"""
    import fake_cupy
    mg.manual_seed(0)
    model = UNet().to("gpu")
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    noisy, clean = _image_batch((2, 3, 32, 32), seed=2), _image_batch((2, 3, 32, 32), seed=3)
    for step in range(2):
        fake_cupy.HOST_COPIES.clear()
        optimizer.zero_grad(set_to_none=False)  # the gradients keep their memory, so Adam's table of it holds
        loss, _ = RestorationLoss()(model(mg.tensor(noisy, device="gpu")), mg.tensor(clean, device="gpu"))
        loss.backward()
        optimizer.step()
    assert [shape for shape in fake_cupy.HOST_COPIES if shape] == [noisy.shape, clean.shape]


LOSS_TERMS = {
    "charbonnier": (Charbonnier(), tr.charbonnier),
    "edge": (EdgeLoss(), tr.edge_loss),
    "ssim": (SSIMLoss(), tr.ssim_loss),
    "total": (lambda x, y: RestorationLoss()(x, y)[0], lambda x, y: tr.restoration_loss(x, y)[0]),
}


@pytest.mark.parametrize("name", LOSS_TERMS)
def test_losses_match_torch(name):
    ours, theirs = LOSS_TERMS[name]
    x, y = _image_batch((2, 3, 19, 24), seed=4), _image_batch((2, 3, 19, 24), seed=5)
    mx, my = mg.tensor(x, requires_grad=True), mg.tensor(y)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y)
    value, expected = ours(mx, my), theirs(tx, ty)
    value.backward()
    expected.backward()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    assert relative_error(mx.grad.numpy(), tx.grad.numpy()) <= 1e-4


@pytest.mark.parametrize("weights", [dict(w_edge=0), dict(w_char=0, w_ssim=0), dict(w_char=2, w_edge=0.5, w_ssim=0)])
def test_a_loss_without_some_terms_matches_torch_part_for_part(weights):
    x, y = _image_batch((1, 3, 16, 20), seed=4), _image_batch((1, 3, 16, 20), seed=5)
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    value, parts = RestorationLoss(**weights)(mx, mg.tensor(y))
    expected, expected_parts = tr.restoration_loss(tx, torch.tensor(y), **weights)
    assert list(parts) == list(expected_parts)
    for name, part in parts.items():
        assert part.item() == pytest.approx(expected_parts[name].item(), rel=1e-5), name
    value.backward()
    expected.backward()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    assert relative_error(mx.grad.numpy(), tx.grad.numpy()) <= 1e-4


@pytest.mark.parametrize("name", LOSS_TERMS)
def test_losses_gradcheck(name):
    loss = LOSS_TERMS[name][0]
    rng = np.random.default_rng(6)
    x = mg.tensor(rng.random((1, 2, 12, 13)), requires_grad=True)
    y = mg.tensor(rng.random((1, 2, 12, 13)), requires_grad=True)
    assert mg.gradcheck(loss, [x, y])


def test_ssim_matches_skimage_on_a_real_image():
    from skimage import data
    from skimage.metrics import structural_similarity

    clean = data.astronaut()[100:164, 150:230].astype(np.float64) / 255
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.05, clean.shape), 0, 1)
    ours = losses.ssim(mg.tensor(noisy.transpose(2, 0, 1)[None]), mg.tensor(clean.transpose(2, 0, 1)[None])).item()
    expected = structural_similarity(noisy, clean, channel_axis=-1, data_range=1, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False)
    assert ours == pytest.approx(expected, abs=1e-10)


def _double(module):
    return module.to(np.float64)


def test_sca_gradcheck():
    mg.manual_seed(1)
    block = _double(SCA(16))
    x = mg.tensor(np.random.default_rng(7).standard_normal((1, 16, 3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t, *params: block(t), [x, *block.parameters()])


@pytest.mark.parametrize("mode", MODES)
def test_nonlocal_gradcheck(mode):
    mg.manual_seed(2)
    block = _double(NonLocal(4, mode))
    x = mg.tensor(np.random.default_rng(8).standard_normal((2, 4, 3, 2)), requires_grad=True)
    assert mg.gradcheck(lambda t, *params: block(t), [x, *block.parameters()])


def test_softmax_attention_rows_sum_to_one():
    block = NonLocal(8, "softmax")
    affinity = block.affinity(mg.tensor(_image_batch((2, 8, 4, 3)))).numpy()
    np.testing.assert_allclose(affinity.sum(axis=-1), 1.0, rtol=1e-6)


def _bytes_kept_for_backward(output):
    """The bytes of the distinct arrays that the graph behind `output` keeps for backward."""
    arrays = {id(memory_owner(array)): memory_owner(array).nbytes for entry in topological_order(output)
              if entry.creator is not None for array in _saved_arrays(entry.creator.saved)}
    return sum(arrays.values())


@pytest.mark.parametrize("mode", ["softmax", "published"])
def test_recomputed_blocks_give_the_same_gradients_and_keep_half_the_memory(mode):
    mg.manual_seed(0)
    model = UNet(nonlocal_mode=mode)
    x, target = mg.tensor(_image_batch((2, 3, 32, 32))), mg.tensor(_image_batch((2, 3, 32, 32), seed=1))
    runs = []
    for recompute in (False, True):
        model.recompute_blocks = recompute
        model.zero_grad()
        loss = RestorationLoss()(model(x), target)[0]
        kept = _bytes_kept_for_backward(loss)
        loss.backward()
        runs.append((kept, float(loss), {name: p.grad.numpy().copy() for name, p in model.named_parameters()}))
    (kept, loss, grads), (kept_recomputing, loss_recomputing, grads_recomputing) = runs
    assert loss_recomputing == loss
    assert all(np.array_equal(grads_recomputing[name], grads[name]) for name in grads)
    assert kept_recomputing < 0.6 * kept


def test_input_size_is_checked():
    with pytest.raises(ValueError, match="multiples of 8"):
        UNet()(mg.tensor(_image_batch((1, 3, 20, 16))))


# ---- restore() -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_model():
    mg.manual_seed(3)
    return UNet()


@pytest.mark.parametrize("shape,dtype", [((37, 53, 3), np.uint8), ((30, 21), np.uint8), ((29, 18, 3), np.float32),
                                         ((20, 44), np.uint16), ((5, 6, 3), np.uint8)])
def test_restore_keeps_size_mode_and_dtype(small_model, shape, dtype):
    rng = np.random.default_rng(9)
    image = (rng.random(shape) * (np.iinfo(dtype).max if dtype != np.float32 else 1)).astype(dtype)
    out = restore(small_model, image)
    assert out.shape == image.shape and out.dtype == image.dtype


@pytest.mark.parametrize("image, message", [
    (np.arange(256, dtype=np.int64).reshape(16, 16), "int64 with values from 0 to 255: convert it with .astype(np.uint8)"),
    (np.arange(1000, dtype=np.int32).reshape(20, 50), "int32 with values from 0 to 999: convert it with .astype(np.uint16)"),
    (np.arange(-8, 8, dtype=np.int16).reshape(4, 4), "int16 with values from -8 to 7: rescale it to [0, 1]"),
    (np.eye(9, dtype=bool), "bool with values from 0 to 1: convert it with .astype(np.float32)"),
    (np.linspace(-14, 271, 64, dtype=np.float32).reshape(8, 8), "from -14 to 271: they look 255-scaled, divide by 255"),
    (np.linspace(0, 65535, 64).reshape(8, 8), "float64 with values from 0 to 65535: they look 65535-scaled, divide by 65535"),
    (np.linspace(-1, 1, 64).reshape(8, 8), "from -1 to 1: rescale it to [0, 1]"),
    (np.full((8, 8, 3), np.nan, dtype=np.float32), "NaN or infinite"),
    (np.zeros((8, 8), dtype=np.complex64), "got dtype complex64"),
    (np.zeros((0, 0), dtype=np.uint8), "empty (shape (0, 0))"),
    (np.zeros((6, 0, 3), dtype=np.float32), "empty (shape (6, 0, 3))"),
    (np.zeros((6, 5, 0), dtype=np.float32), "empty (shape (6, 5, 0))"),
])
def test_restore_refuses_images_it_would_get_wrong(small_model, image, message):
    """Signed or wide integers, bool, floats on another scale, NaN and empty images would all come out
    silently wrong (or as an internal error): each is refused with what was given and what to do."""
    with pytest.raises(ValueError, match=re.escape(message)):
        restore(small_model, image)


def test_restore_takes_floats_up_to_half_a_unit_outside_0_1(small_model):
    """Additive noise is often left unclipped, so a noisy float image may stray outside [0, 1]."""
    image = _image_batch((12, 10, 3), seed=12)
    image[0, 0, 0], image[-1, -1, -1] = -0.5, 1.5
    out = restore(small_model, image)
    assert out.shape == image.shape and out.dtype == np.float32 and np.isfinite(out).all()
    image[0, 0, 0] = -0.51
    with pytest.raises(ValueError, match=re.escape("from -0.51 to 1.5: rescale it to [0, 1]")):
        restore(small_model, image)


@pytest.mark.parametrize("tile, overlap", [(0, 0), (-8, -16), (12, 4), (16, 16), (16, -8)])
def test_restore_refuses_tiles_that_cannot_cover_an_image(small_model, tile, overlap):
    with pytest.raises(ValueError, match=re.escape(f"got {tile} and {overlap}")):
        restore(small_model, _image_batch((12, 10, 3), seed=13), tile=tile, overlap=overlap)


def test_restore_matches_the_network_on_aligned_input(small_model):
    image = _image_batch((32, 40, 3), seed=10)
    with mg.no_grad():
        expected = small_model(mg.tensor(image.transpose(2, 0, 1)[None].copy())).numpy()[0].transpose(1, 2, 0)
    np.testing.assert_allclose(restore(small_model, image), expected, atol=1e-6)


@pytest.mark.parametrize("shape, tile", [((29, 18, 3), 512), ((44, 37, 3), 24)])
def test_self_ensemble_is_the_mean_over_flips_and_quarter_turns(small_model, shape, tile):
    """Each of the 8 views is restored as restore() restores an image (padded, tiled past `tile`), then turned back."""
    image = _image_batch(shape, seed=11)
    views = []
    for turns in range(4):
        for flip in (False, True):
            transformed = np.rot90(np.flip(image, axis=1) if flip else image, turns).copy()
            restored = np.rot90(restore(small_model, transformed, tile=tile, overlap=8), -turns)
            views.append(np.flip(restored, axis=1) if flip else restored)
    ensemble = restore(small_model, image, tile=tile, overlap=8, self_ensemble=True)
    np.testing.assert_allclose(ensemble, np.mean(views, axis=0), atol=1e-6)
    assert np.abs(ensemble - restore(small_model, image, tile=tile, overlap=8)).max() > 1e-3


@pytest.mark.parametrize("tile, overlap", [(512, 64), (384, 96), (64, 0), (16, 8)])
def test_tiles_cover_each_axis_with_the_fewest_smallest_tiles(tile, overlap):
    from unet.restore import tile_spans

    for size in range(1, 3000):
        spans = tile_spans(size, tile, overlap)
        if size <= tile:
            assert spans == [(0, size)]
            continue
        starts, lengths = zip(*spans)
        assert starts[0] == 0 and starts[-1] + lengths[-1] == size, size
        assert all(length == lengths[0] <= tile and length % 8 == 0 for length in lengths), size
        assert all(a + lengths[0] - b >= overlap for a, b in zip(starts, starts[1:])), size  # neighbours share enough
        count = len(spans)
        assert (count - 1) * tile - (count - 2) * overlap < size, size  # one tile fewer could not cover it
        shorter = lengths[0] - 8  # nor could tiles 8 px shorter
        assert shorter < 0 or count * shorter - (count - 1) * overlap < size, size


def test_the_torch_comparison_runs_the_same_tiles(small_model, monkeypatch):
    """evaluate.py --compare-torch restores with the PyTorch build in restore()'s tiles, so that its memory
    is a tile's (a whole image's non-local affinity grows as the square of its area), and still measures."""
    from unet import evaluation

    from unet.restore import tile_spans

    monkeypatch.setattr(evaluation, "TILE", 96)
    image = _image_batch((100, 200, 3), seed=12)

    class OneImage:
        def __len__(self):
            return 1

        def load(self, index, epoch=None):
            return {"degraded": image, "info": None}

    torch_model = tr.to_torch(small_model)
    inputs = []
    torch_model.register_forward_pre_hook(lambda module, args: inputs.append(tuple(args[0].shape[2:])))
    item = next(evaluation.restore_dataset(small_model, OneImage(), torch_model=torch_model, progress=False))
    assert item.torch_max_abs_diff <= 1e-5
    tiles = len(tile_spans(100, 96, 64)) * len(tile_spans(200, 96, 64))
    assert len(inputs) == tiles > 1 and all(max(shape) <= 96 for shape in inputs), inputs
    with torch.no_grad():
        torch_model.conv_last.bias += 0.01
    item = next(evaluation.restore_dataset(small_model, OneImage(), torch_model=torch_model, progress=False))
    assert item.torch_max_abs_diff == pytest.approx(0.01, abs=1e-4)


def _far_from_tile_edges(size, tile, overlap, margin):
    """Pixels covered by exactly one tile and at least `margin` away from its edges."""
    from unet.restore import tile_spans

    coverage = np.zeros(size, dtype=int)
    safe = np.zeros(size, dtype=bool)
    for start, length in tile_spans(size, tile, overlap):
        coverage[start:start + length] += 1
        safe[start + (margin if start > 0 else 0):start + length - (margin if start + length < size else 0)] = True
    return safe & (coverage == 1)


def test_tiled_restore_equals_untiled_away_from_seams():
    """Tiling a 1024x1032 image changes the output only slightly, and least far from the seams.

    A plain U-Net's receptive field reaches about 81 px, so pixels 100 px inside a tile never see
    that tile's zero padding. They still differ a little: upsampling with align_corners=True samples
    at dst*(in-1)/(out-1), a grid that depends on the input size, so no tiling is exact.
    """
    from skimage import data, transform

    mg.manual_seed(4)
    model = UNet(attention=False, nonlocal_mode=None)
    image = transform.resize(data.astronaut(), (1032, 1024), anti_aliasing=True).astype(np.float32)
    tile, overlap, margin = 384, 96, 100
    whole = restore(model, image, tile=2048)
    tiled = restore(model, image, tile=tile, overlap=overlap)
    assert tiled.shape == whole.shape == image.shape
    difference = np.abs(tiled - whole)
    inside = np.outer(_far_from_tile_edges(1032, tile, overlap, margin), _far_from_tile_edges(1024, tile, overlap, margin))
    assert inside.mean() > 0.1
    assert difference[inside].mean() < 5e-4 and difference[inside].max() < 2e-2
    assert difference.mean() < 5e-4 and difference.max() < 2e-2, "the blended seams must stay as close"


@requires_gpu
@pytest.mark.parametrize("mode", MODES)
def test_gpu_matches_cpu(mode):
    model, _ = _pair(mode)
    x = _image_batch((2, 3, 32, 32))
    direction = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    cpu_out = model(mg.tensor(x))
    (cpu_out * mg.tensor(direction)).sum().backward()
    cpu_grads = {n: p.grad.numpy() for n, p in model.named_parameters()}
    model.zero_grad()
    model.to("gpu")
    gpu_out = model(mg.tensor(x, device="gpu"))
    (gpu_out * mg.tensor(direction, device="gpu")).sum().backward()
    assert relative_error(gpu_out.numpy(), cpu_out.numpy()) <= 1e-5
    for name, param in model.named_parameters():
        # In softmax mode phi's bias has a gradient of exactly 0 (softmax ignores a constant added to a
        # row): both devices compute float32 rounding noise of about 1e-10 there, hence the floor.
        difference = np.abs(param.grad.numpy() - cpu_grads[name]).max()
        assert difference <= 1e-4 * np.abs(cpu_grads[name]).max() + 1e-8, name
