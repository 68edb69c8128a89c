"""Checks of the PyTorch reference network and losses against the released checkpoint,
hand-written loop computations, scipy and skimage."""
import re
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from scipy import ndimage  # noqa: E402
from skimage import data  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

import minigrad as mg  # noqa: E402
import unet.torch_reference as tr  # noqa: E402
from unet import UNet  # noqa: E402
from unet.checkpoint import CheckpointError, load_model  # noqa: E402
from conftest import REPO_ROOT, RELEASED_WEIGHTS as RELEASED  # noqa: E402



def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def released_state():
    if not RELEASED.is_file():
        pytest.skip(f"released checkpoint not found at {RELEASED}")
    return torch.load(RELEASED, map_location="cpu", weights_only=True)


def to_nchw(image):
    """(H, W, C) NumPy image → (1, C, H, W) float64 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))[None])


# ----------------------------------------------------------------------------- network


def test_parameter_counts():
    assert n_params(tr.TorchUNet()) == 867_842
    assert n_params(tr.TorchUNet(attention=False, nonlocal_mode=None)) == 809_779


def test_plain_variant_has_no_attention_or_nonlocal_weights():
    names = tr.TorchUNet(attention=False, nonlocal_mode=None).state_dict().keys()
    assert not [n for n in names if n.startswith(("att", "nl_block"))]


def test_unknown_nonlocal_mode_is_rejected():
    with pytest.raises(ValueError, match="nonlocal_mode"):
        tr.TorchUNet(nonlocal_mode="dot")


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 1, 32, 32), (1, 3, 30, 32)],
                         ids=["unbatched", "one-channel", "side-not-a-multiple-of-8"])
def test_an_input_unet_refuses_is_refused_with_its_message(shape):
    with pytest.raises(ValueError) as refused:
        UNet()(mg.zeros(shape))
    with pytest.raises(ValueError, match=re.escape(str(refused.value))):
        tr.TorchUNet()(torch.zeros(shape))


def test_released_checkpoint_keys_and_forward(released_state):
    net = tr.TorchUNet(nonlocal_mode="published")
    state = net.state_dict()
    assert list(state) == list(released_state)
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in released_state.items()
    }
    net.load_state_dict(released_state, strict=True)
    with torch.no_grad():
        out = net.eval()(torch.rand(1, 3, 64, 48))
    assert out.shape == (1, 3, 64, 48)
    assert torch.isfinite(out).all()


def nonlocal_by_loops(block, x):
    """out = x + W(y), computed position by position from the formula (float64, NumPy)."""
    weights = {
        name: (
            getattr(block, name).weight.detach().double().numpy()[:, :, 0, 0],
            getattr(block, name).bias.detach().double().numpy(),
        )
        for name in ("theta", "phi", "g", "W")
    }
    x = x.double().numpy()[0]  # (C, H, W)
    channels, height, width = x.shape
    n_pos, inner = height * width, channels // 2
    pixels = x.reshape(channels, n_pos)  # pixels[:, n] is the feature vector at position n

    def project(name, n):
        matrix, bias = weights[name]
        return matrix @ pixels[:, n] + bias

    scores = np.array(
        [[project("theta", n) @ project("phi", m) for m in range(n_pos)] for n in range(n_pos)]
    )
    if block.mode == "softmax":
        f = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    else:
        f = scores / n_pos
    y = np.zeros((n_pos, inner))  # y[n, c] = sum_m f[n, m] g_c(m)
    for n in range(n_pos):
        for m in range(n_pos):
            y[n] += f[n, m] * project("g", m)

    z = np.zeros((inner, height, width))
    for n in range(n_pos):
        for c in range(inner):
            if block.mode == "softmax":  # permute: channel c at position n
                channel, pos = c, n
            else:  # raw view of the (N, C/2) row-major buffer as (C/2, H, W)
                channel, pos = divmod(n * inner + c, n_pos)
            z[channel, pos // width, pos % width] = y[n, c]

    matrix, bias = weights["W"]
    out = x + np.einsum("oc,chw->ohw", matrix, z) + bias[:, None, None]
    return out[None]


@pytest.mark.parametrize("mode", ["published", "softmax"])
def test_nonlocal_matches_loop_computation(mode):
    torch.manual_seed(0)
    block = tr.NonLocal(4, mode=mode)
    x = torch.randn(1, 4, 2, 3)
    with torch.no_grad():
        out = block(x).double().numpy()
    np.testing.assert_allclose(out, nonlocal_by_loops(block, x), rtol=1e-5, atol=1e-5)


def test_softmax_affinity_rows_sum_to_one():
    torch.manual_seed(0)
    block = tr.NonLocal(8, mode="softmax")
    with torch.no_grad():
        f = block.affinity(torch.randn(2, 8, 4, 4))
    assert f.shape == (2, 16, 16)
    torch.testing.assert_close(f.sum(dim=-1), torch.ones(2, 16))


# ----------------------------------------------------------------------------- losses


def laplacian_with_scipy(img):
    """The edge-loss Laplacian for a (C, H, W) array with scipy: replicate = mode 'nearest'."""
    taps = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
    kernel = np.outer(taps, taps)

    def gauss(a):
        return np.stack([ndimage.correlate(channel, kernel, mode="nearest") for channel in a])

    upsampled = np.zeros_like(img)
    upsampled[:, ::2, ::2] = 4 * gauss(img)[:, ::2, ::2]
    return img - gauss(upsampled)


def test_laplacian_matches_scipy():
    img = np.random.default_rng(0).random((3, 12, 10))
    lap = tr.laplacian(torch.from_numpy(img)[None])[0].numpy()
    np.testing.assert_allclose(lap, laplacian_with_scipy(img), atol=1e-12)


def test_laplacian_of_constant_image_vanishes_inside():
    lap = tr.laplacian(torch.full((1, 2, 16, 16), 0.7, dtype=torch.float64))
    interior = lap[:, :, 4:-4, 4:-4]
    assert interior.abs().max() < 1e-12


def test_ssim_matches_skimage():
    rng = np.random.default_rng(0)
    clean = data.astronaut()[100:164, 200:260].astype(np.float64) / 255
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)
    expected = structural_similarity(
        clean, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=1, channel_axis=-1,
    )
    assert tr.ssim(to_nchw(clean), to_nchw(noisy)).item() == pytest.approx(expected, abs=1e-10)


def test_ssim_loss_of_identical_images_is_zero():
    x = torch.rand(2, 3, 24, 24, dtype=torch.float64)
    assert tr.ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-12)


def test_restoration_loss_is_the_weighted_sum_of_its_parts():
    x = torch.rand(2, 3, 24, 24, dtype=torch.float64)
    y = torch.rand(2, 3, 24, 24, dtype=torch.float64)
    total, parts = tr.restoration_loss(x, y, w_char=1.0, w_edge=0.1, w_ssim=0.3)
    diff = (x - y).numpy()
    assert parts["charbonnier"].item() == pytest.approx(np.mean(np.sqrt(diff**2 + 1e-6)))
    assert total.item() == pytest.approx(
        parts["charbonnier"].item() + 0.1 * parts["edge"].item() + 0.3 * parts["ssim"].item()
    )
    assert tr.charbonnier(x, x).item() == pytest.approx(1e-3)


# ----------------------------------------------------------------------------- weight transfer


def test_to_torch_copies_configuration_and_weights():
    torch.manual_seed(0)
    source = tr.TorchUNet(out_channels=1, nonlocal_mode="published", attention=True)
    arrays = tr.state_dict_to_numpy(source.state_dict())
    minigrad_like = types.SimpleNamespace(
        in_channels=3, out_channels=1, nonlocal_mode="published", attention=True,
        state_dict=lambda: arrays,
    )
    copy = tr.to_torch(minigrad_like)
    assert not copy.training
    assert (copy.out_channels, copy.nonlocal_mode) == (1, "published")
    for name, tensor in copy.state_dict().items():
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, source.state_dict()[name])


def test_from_torch_round_trip():
    torch.manual_seed(0)
    source = tr.TorchUNet(nonlocal_mode="published")
    back = tr.to_torch(tr.from_torch(source))
    for name, tensor in source.state_dict().items():
        assert torch.equal(back.state_dict()[name], tensor)
    assert [tr.from_torch(source.train(mode)).training for mode in (True, False)] == [True, False]


@pytest.mark.parametrize("convert, given, takes", [
    (tr.to_torch, lambda: mg.nn.Linear(2, 2), "to_torch takes a minigrad unet.UNet, got Linear"),
    (tr.to_torch, lambda: UNet().state_dict(), "to_torch takes a minigrad unet.UNet, got OrderedDict; a state dict"),
    (tr.from_torch, lambda: torch.nn.Linear(2, 2), "from_torch takes a unet.torch_reference.TorchUNet, got Linear"),
    (tr.from_torch, lambda: torch.nn.DataParallel(tr.TorchUNet()), "got DataParallel"),
    (tr.from_torch, lambda: tr.TorchUNet().state_dict(), "got OrderedDict; a state dict loads into a network"),
], ids=["to_torch-Linear", "to_torch-state-dict", "from_torch-Linear", "from_torch-DataParallel",
        "from_torch-state-dict"])
def test_a_conversion_of_something_else_says_what_it_takes(convert, given, takes):
    with pytest.raises(TypeError, match=re.escape(takes)):
        convert(given())


def test_a_whole_torch_build_saves_and_loads_with_torch(tmp_path):
    """torch.save of the module itself, as PyTorch scripts often write it, and torch.load back: pickle finds the
    classes that the module defines on first use."""
    torch.manual_seed(0)
    source = tr.to_torch(tr.from_torch(tr.TorchUNet(nonlocal_mode="published")))
    torch.save(source, tmp_path / "whole.pth")
    copy = torch.load(tmp_path / "whole.pth", weights_only=False)
    assert type(copy) is tr.TorchUNet and copy.nonlocal_mode == "published" and not copy.training
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        assert torch.equal(copy(x), source(x))


def test_a_network_saved_whole_is_refused_with_how_to_save_its_weights(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(tr.TorchUNet(), path)
    with pytest.raises(CheckpointError) as refused:
        load_model(path)
    assert str(refused.value) == (f"{path} is not a readable checkpoint: it asks for unet.torch_reference.TorchUNet, "
                                  "which could run code; a .pth file is read only where it holds tensors, storages and "
                                  "dicts; save the network's weights alone with torch.save(model.state_dict(), path)")


@pytest.mark.parametrize("wrapped", ["state_dict", "model_state_dict", "model", "net"])
@pytest.mark.parametrize("prefix", ["", "module.", "_orig_mod.", "module._orig_mod."],
                         ids=["bare", "DataParallel", "compiled", "DataParallel-compiled"])
def test_a_torch_scripts_own_checkpoint_loads_as_its_state_dict(wrapped, prefix, tmp_path):
    """A PyTorch training script's checkpoint ({"epoch": ..., "state_dict": ..., "optimizer": ...}) loads as the
    network it holds, its keys perhaps prefixed by DataParallel's "module." or torch.compile's "_orig_mod." (each
    as torch 2.13 writes them; torch.compile's own import takes seconds, so the test writes its prefix)."""
    torch.manual_seed(0)
    source = tr.TorchUNet(nonlocal_mode="softmax")
    optimizer = torch.optim.Adam(source.parameters())
    path = tmp_path / "script.pth"
    state = {prefix + name: tensor for name, tensor in source.state_dict().items()}
    if prefix == "module.":
        assert list(state) == list(torch.nn.DataParallel(source).state_dict())
    torch.save({"epoch": 3, wrapped: state, "optimizer": optimizer.state_dict()}, path)
    with warnings.catch_warnings():  # a bare state dict in the mode asked for, which is not the released weights'
        warnings.simplefilter("error")
        model, _ = load_model(path, nonlocal_mode="softmax")
    assert model.nonlocal_mode == "softmax"
    for name, tensor in source.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], tensor.numpy())


def test_a_checkpoint_without_a_unet_inside_names_its_keys(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"epoch": 3, "state_dict": torch.nn.Linear(2, 2).state_dict()}, path)
    with pytest.raises(CheckpointError, match=r"neither .* \(its top-level keys: epoch, state_dict\)"):
        load_model(path)


# ----------------------------------------------------------------------------- lazy import


def run_python(code):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_module_import_does_not_import_torch():
    result = run_python(
        "import sys, unet.torch_reference\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    assert result.returncode == 0, result.stderr


def test_missing_torch_gives_install_hint():
    result = run_python(
        "import sys\n"
        "sys.modules['torch'] = None  # makes `import torch` fail\n"
        "import unet.torch_reference as tr\n"
        "try:\n"
        "    tr.TorchUNet\n"
        "except tr.TorchNotAvailableError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install -e ".[test]"' in result.stdout
