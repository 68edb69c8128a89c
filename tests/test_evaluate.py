"""evaluate.py and unet.evaluation on tiny image trees with a randomly initialised model.

Oracles: scikit-image's PSNR and SSIM and hand-written masked metrics on the very arrays the
evaluation restored, the pixel arrays and Pillow modes of the files written, and the PyTorch build.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import data
import minigrad as mg
from unet import UNet, restore
from unet.checkpoint import DEFAULT_CHECKPOINT, load_model, save_checkpoint
from unet import evaluation
from unet.evaluation import (PSNR_CAP_DB, colour_mismatch_note, evaluate, format_report, image_metrics,
                             restore_dataset, spread_indices, summarize)
from unet.torch_reference import TorchNotAvailableError, to_torch

from conftest import REPO_ROOT, load_script

H, W = 24, 32
SKIMAGE_SSIM = {"gaussian": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
                "uniform7": {}}


evaluate_script = load_script("evaluate")


def run_cli(argv, capsys):
    """Run evaluate.py's entry point in this process -> (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.run(evaluate_script.main, [str(arg) for arg in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def run_subprocess(argv):
    """Run evaluate.py as a user would, to see exactly what reaches the terminal."""
    return subprocess.run([sys.executable, str(REPO_ROOT / "evaluate.py"), *map(str, argv)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


def assert_one_error_line(stderr):
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A randomly initialised softmax-mode model saved as a training checkpoint."""
    mg.manual_seed(3)
    path = tmp_path_factory.mktemp("model") / "random.npz"
    save_checkpoint(path, UNet(nonlocal_mode="softmax"))
    return path


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _pair_tree(root):
    """degraded/clean/masks folders: a/img0 (mask), a/img1 (empty mask), b/img2 (no mask, degraded == clean)."""
    rng = np.random.default_rng(0)
    for name in ("a/img0", "a/img1", "b/img2"):
        clean = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
        noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
        _write(root / "clean" / f"{name}.png", clean)
        _write(root / "degraded" / f"{name}.png", clean if name == "b/img2" else noisy)
    mask = np.zeros((H, W), np.uint8)
    _write(root / "masks" / "a" / "img1_mask.png", mask)
    mask[4:12, 6:20] = 255
    _write(root / "masks" / "a" / "img0_mask.png", mask)
    return [f"--degraded={root / 'degraded'}", f"--clean={root / 'clean'}", f"--masks={root / 'masks'}"]


def _pair_dataset(root):
    return data.open_dataset(degraded_dir=root / "degraded", clean_dir=root / "clean", masks_dir=root / "masks")


def _pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


def _is_blank(path):
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    return pixels.std() == 0


# ----------------------------------------------------------------------------- metrics

def _skimage_record(restored, sample, window):
    """The per-image numbers computed independently with scikit-image and NumPy."""
    clean, mask = sample["clean"].astype(np.float64), sample["mask"]
    expected = {}
    for prefix, image in (("", restored), ("degraded_", sample["degraded"])):
        image = image.astype(np.float64)
        similarity_map = structural_similarity(image, clean, data_range=1.0, channel_axis=-1, full=True,
                                               **SKIMAGE_SSIM[window])
        psnr = peak_signal_noise_ratio(clean, image, data_range=1.0) if np.any(image != clean) else PSNR_CAP_DB
        expected.update({prefix + "psnr": psnr, prefix + "ssim": similarity_map[0]})
        if mask is not None and mask.any():
            expected[prefix + "masked_psnr"] = 10 * np.log10(1 / ((image - clean) ** 2)[mask].mean())
            expected[prefix + "masked_ssim"] = similarity_map[1].mean(axis=2)[mask].mean()
    return expected


@pytest.mark.parametrize("window", ["gaussian", "uniform7"])
def test_per_image_metrics_match_skimage(tmp_path, checkpoint, window):
    _pair_tree(tmp_path)
    dataset = _pair_dataset(tmp_path)
    model, _ = load_model(checkpoint)
    restorations = list(restore_dataset(model, dataset, progress=False))
    assert [item.sample["name"] for item in restorations] == ["a/img0", "a/img1", "b/img2"]
    for item in restorations:
        record = image_metrics(item.sample, item.restored, window)
        for key, value in _skimage_record(item.restored, item.sample, window).items():
            assert record[key] == pytest.approx(value, abs=1e-6), (item.sample["name"], key)
    by_name = {item.sample["name"]: image_metrics(item.sample, item.restored, window) for item in restorations}
    assert by_name["a/img1"]["masked_psnr"] is None and by_name["a/img1"]["mask_pixels"] == 0
    assert by_name["b/img2"]["masked_ssim"] is None and by_name["b/img2"]["mask_pixels"] is None


def test_report_aggregates_and_saved_images(tmp_path, checkpoint):
    _pair_tree(tmp_path)
    dataset = _pair_dataset(tmp_path)
    model, _ = load_model(checkpoint)
    report = evaluate(model, dataset, tmp_path / "out", save_images=True, progress=False)
    restorations = list(restore_dataset(model, dataset, progress=False))
    expected = {item.sample["name"]: _skimage_record(item.restored, item.sample, "gaussian") for item in restorations}
    for category, names in (("a", ["a/img0", "a/img1"]), ("b", ["b/img2"])):
        values = report["per_category"][category]
        assert values["n"] == len(names)
        for key in ("psnr", "ssim", "degraded_psnr", "degraded_ssim"):
            assert values[key] == pytest.approx(np.mean([expected[name][key] for name in names]), abs=1e-6)
    assert report["mean"]["psnr"] == pytest.approx(np.mean([e["psnr"] for e in expected.values()]), abs=1e-6)
    assert report["degraded"]["ssim"] == pytest.approx(np.mean([e["degraded_ssim"] for e in expected.values()]),
                                                       abs=1e-6)
    masked = report["masked"]
    assert masked["psnr"] == pytest.approx(expected["a/img0"]["masked_psnr"], abs=1e-6)
    assert masked["degraded_ssim"] == pytest.approx(expected["a/img0"]["degraded_masked_ssim"], abs=1e-6)
    assert (masked["n_images"], masked["n_skipped_empty_mask"]) == (1, 1)
    for item in restorations:  # saved as 8-bit PNG under the input's name
        saved = _pixels(tmp_path / "out" / "restored" / f"{item.sample['name']}.png")
        np.testing.assert_array_equal(saved, np.round(item.restored * 255).astype(np.uint8))


def test_image_smaller_than_ssim_window_has_no_ssim():
    image = np.random.default_rng(1).random((8, 8, 3)).astype(np.float32)
    sample = {"name": "tiny", "category": "x", "clean": image, "degraded": image * 0.9, "mask": None}
    with pytest.warns(UserWarning, match="tiny is 8x8"):
        record = image_metrics(sample, image * 0.8)
    assert record["ssim"] is None and record["degraded_ssim"] is None
    assert record["psnr"] == pytest.approx(peak_signal_noise_ratio(image, image * 0.8, data_range=1.0), abs=1e-6)


@pytest.mark.parametrize("colour_is_off", [True, False])
def test_report_notes_a_colour_correction_that_does_not_suit_the_data(colour_is_off):
    """Restored images below their inputs in PSNR, yet above them after the affine fit, get the fine-tuning hint."""
    rng = np.random.default_rng(2)
    records = []
    for index in range(3):
        clean = rng.random((H, W, 3)).astype(np.float32)
        noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), 0, 1).astype(np.float32)   # about 30 dB
        restored = clean * 0.8 + 0.15 if colour_is_off else np.clip(clean + rng.normal(0, 0.01, clean.shape), 0, 1)
        sample = {"name": f"img{index}", "category": "x", "clean": clean, "degraded": noisy, "mask": None}
        records.append(image_metrics(sample, restored.astype(np.float32)))
    report = {**summarize(records), "per_image": records, "checkpoint": {"path": "runs/a/model.npz"}}
    mean, degraded = report["mean"], report["degraded"]
    text = format_report(report)
    note = colour_mismatch_note(report)
    if colour_is_off:
        assert mean["psnr"] < degraded["psnr"] < mean["affine_fit_psnr"]
        assert f"{degraded['psnr'] - mean['psnr']:.1f} dB below their inputs" in note
        assert f"{mean['affine_fit_psnr'] - degraded['psnr']:.1f} dB above them" in note
        assert note.endswith("\npython train.py --init runs/a/model.npz --lr-schedule cosine ...")
        assert "Train it longer, or fine-tune it on data like them" in note  # a model of one's own
        shipped_report = {**report, "checkpoint": {"path": str(DEFAULT_CHECKPOINT)}}
        assert "Try --checkpoint checkpoints/unet_sca_nl_mixed.npz" in colour_mismatch_note(shipped_report)
        mixed_report = {**report, "checkpoint": {"path": "checkpoints/unet_sca_nl_mixed.npz"}}
        assert "Try --checkpoint" not in colour_mismatch_note(mixed_report)  # it is the one evaluated
        assert "note: the restored images score" in text and " " * 6 + "python train.py --init" in text
        assert " ".join(text[text.index("note:") + 6:].split()) == " ".join(note.split())  # all of it, wrapped
    else:
        assert mean["psnr"] > degraded["psnr"]
        assert note is None and "note:" not in text and "--init" not in text


def test_no_colour_note_for_gaps_that_print_as_zero():
    """On images the model barely changes it used to say "0.0 dB below their inputs ..., but 0.0 dB above them"."""
    def report(restored_psnr, fit_psnr):
        return {"mean": {"psnr": restored_psnr, "affine_fit_psnr": fit_psnr}, "degraded": {"psnr": 20.0}}
    assert colour_mismatch_note(report(19.96, 20.04)) is None
    assert colour_mismatch_note(report(19.96, 21.0)) is None
    assert colour_mismatch_note(report(19.0, 20.04)) is None
    assert "1.0 dB below their inputs in PSNR, but 0.1 dB above them" in colour_mismatch_note(report(19.0, 20.06))

def test_report_table_keeps_its_columns_for_wide_and_long_category_names():
    """A CJK name (two terminal columns a character) or a name over the usual width used to push its row's
    numbers right of the others'."""
    rng = np.random.default_rng(3)
    categories = ["screw", "缺陷", "a_category_name_longer_than_the_column"]
    records = []
    for category in categories:
        clean = rng.random((16, 16, 3)).astype(np.float32)
        sample = {"name": category, "category": category, "clean": clean, "degraded": clean * 0.9, "mask": None}
        records.append(image_metrics(sample, clean * 0.95))
    lines = format_report({**summarize(records), "per_image": records}).splitlines()
    table = [line for line in lines if "|" in line]
    assert len(table) == 1 + len(categories) + 1  # the header, a row a category, the mean
    cjk_characters = sum(line.count("缺") + line.count("陷") for line in table)
    assert cjk_characters == 2
    bar_columns = {line.index("|") + line.count("缺") + line.count("陷") for line in table}  # columns on a terminal
    assert len(bar_columns) == 1
    widths = {len(line) + line.count("缺") + line.count("陷") for line in table}
    assert len(widths) == 1


def test_spread_indices():
    assert spread_indices(5) == [0, 1, 2, 3, 4]
    assert spread_indices(5, limit=9) == [0, 1, 2, 3, 4]
    assert spread_indices(10, limit=3) == [0, 4, 9]  # linspace(0, 9, 3) = 0, 4.5, 9; 4.5 rounds to even
    assert spread_indices(32, limit=1) == [0]


# ----------------------------------------------------------------------------- the command line

class ColourShift(mg.nn.Module):
    """A 'model' that restores nothing and shifts every channel to 0.8 x + 0.15 (a 1x1 convolution)."""

    in_channels = 3

    def __init__(self):
        super().__init__()
        self.conv = mg.nn.Conv2d(3, 3, 1)
        self.conv.weight.data[...] = 0.8 * np.eye(3, dtype=np.float32)[:, :, None, None]
        self.conv.bias.data[...] = 0.15

    def forward(self, x):
        return self.conv(x)


def test_the_note_is_kept_in_metrics_json(tmp_path):
    rng = np.random.default_rng(4)
    for name in ("x", "y"):
        clean = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
        _write(tmp_path / "clean" / f"{name}.png", clean)
        noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
        _write(tmp_path / "degraded" / f"{name}.png", noisy)
    dataset = data.open_dataset(degraded_dir=tmp_path / "degraded", clean_dir=tmp_path / "clean")
    report = evaluate(ColourShift(), dataset, tmp_path / "out", checkpoint={"path": "shifty.npz"}, progress=False)
    assert report["note"] == colour_mismatch_note(report) and "--init shifty.npz" in report["note"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["note"] == report["note"]


def test_cli_writes_metrics_json_charts_and_triptychs(tmp_path, checkpoint, capsys):
    out = tmp_path / "out"
    status, stdout, _ = run_cli(["--checkpoint", checkpoint, *_pair_tree(tmp_path), "--out", out], capsys)
    assert status == 0
    text = (out / "metrics.json").read_text()
    report = json.loads(text, parse_constant=lambda name: pytest.fail(f"metrics.json holds {name}"))
    assert set(report) == {"checkpoint", "settings", "mean", "degraded", "per_category", "masked", "per_image"}
    assert set(report["mean"]) == set(report["degraded"]) == {"psnr", "ssim", "affine_fit_psnr"}
    assert set(report["per_category"]) == {"a", "b"}
    assert {"n", "psnr", "ssim", "degraded_psnr", "degraded_ssim"} <= set(report["per_category"]["a"])
    assert set(report["masked"]) == {"psnr", "ssim", "degraded_psnr", "degraded_ssim", "n_images",
                                     "n_skipped_empty_mask"}
    assert report["masked"]["n_skipped_empty_mask"] == 1
    records = {record["name"]: record for record in report["per_image"]}
    assert set(records) == {"a/img0", "a/img1", "b/img2"}
    for record in records.values():
        assert {"name", "category", "psnr", "ssim", "degraded_psnr", "degraded_ssim", "masked_psnr",
                "masked_ssim"} <= set(record)
    assert records["b/img2"]["degraded_psnr"] == PSNR_CAP_DB  # identical input and target: infinite, capped
    assert report["checkpoint"]["model_config"]["nonlocal_mode"] == "softmax"
    for chart in ("psnr_by_category.png", "ssim_by_category.png"):
        assert not _is_blank(out / chart)
    assert sorted(p.relative_to(out / "triptychs").as_posix() for p in (out / "triptychs").rglob("*.png")) == \
        ["a/img0.png", "b/img2.png"]
    assert not (out / "restored").exists()  # only with --save-images
    table = stdout.splitlines()
    assert any(line.startswith("mean") for line in table) and any(line.startswith("b ") for line in table)


def _plain_inputs(folder):
    """Images of every kind a user may have: grayscale, RGBA with transparency, 16-bit gray and colour,
    odd-sized RGB."""
    import tifffile
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, (20, 21, 4)).astype(np.uint8)
    inputs = {"gray.png": _write(folder / "gray.png", rng.integers(0, 256, (17, 23)).astype(np.uint8)),
              "rgba.png": _write(folder / "rgba.png", rgba),
              "deep.png": _write(folder / "deep.png", rng.integers(0, 65536, (19, 25)).astype(np.uint16)),
              "sub/odd.png": _write(folder / "sub" / "odd.png", rng.integers(0, 256, (27, 13, 3)).astype(np.uint8))}
    tifffile.imwrite(folder / "deep_rgb.tif", rng.integers(0, 65536, (15, 18, 3)).astype(np.uint16), photometric="rgb")
    return {**inputs, "deep_rgb.tif": folder / "deep_rgb.tif"}


def test_plain_restoration_keeps_size_and_mode(tmp_path, checkpoint, capsys):
    inputs = _plain_inputs(tmp_path / "in")
    out = tmp_path / "out"
    status, stdout, _ = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--out", out], capsys)
    assert status == 0
    for name, source in inputs.items():
        with Image.open(source) as original, Image.open(out / "restored" / name) as restored:
            assert (restored.size, restored.mode) == (original.size, original.mode), name
    np.testing.assert_array_equal(_pixels(out / "restored" / "rgba.png")[..., 3], _pixels(inputs["rgba.png"])[..., 3])
    model, _ = load_model(checkpoint)
    odd = _pixels(inputs["sub/odd.png"]).astype(np.float32) / 255
    expected = np.round(np.clip(restore(model, odd), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_pixels(out / "restored" / "sub" / "odd.png"), expected)
    deep_rgb, _ = data.read_image(inputs["deep_rgb.tif"])
    restored_deep_rgb, info = data.read_image(out / "restored" / "deep_rgb.tif")
    assert info.bit_depth == 16  # not cut to 8 bits: the same restoration at 16 bits
    expected = np.round(np.clip(restore(model, deep_rgb), 0, 1) * 65535)
    np.testing.assert_array_equal(np.round(restored_deep_rgb * 65535), expected)
    report = json.loads((out / "metrics.json").read_text())
    assert "per_image" not in report and "mean" not in report
    pictures = sorted(path.relative_to(out / "triptychs").as_posix() for path in (out / "triptychs").rglob("*.png"))
    assert pictures == ["deep.png", "sub/odd.png"]  # degraded | restored, one per folder
    assert not any(_is_blank(out / "triptychs" / picture) for picture in pictures)
    sizes = {entry["name"]: (entry["width"], entry["height"]) for entry in report["images"]}
    assert sizes == {"deep": (25, 19), "deep_rgb": (18, 15), "gray": (23, 17), "rgba": (21, 20), "sub/odd": (13, 27)}


def test_self_ensemble_restores_every_image_as_restore_does_and_is_recorded(tmp_path, checkpoint, capsys):
    inputs = _plain_inputs(tmp_path / "in")
    out = tmp_path / "out"
    status, _, _ = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--out", out,
                            "--self-ensemble"], capsys)
    assert status == 0
    model, _ = load_model(checkpoint)
    odd = _pixels(inputs["sub/odd.png"]).astype(np.float32) / 255
    expected = np.round(np.clip(restore(model, odd, self_ensemble=True), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_pixels(out / "restored" / "sub" / "odd.png"), expected)
    assert json.loads((out / "metrics.json").read_text())["settings"]["self_ensemble"] is True

    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--out", out,
                                 "--self-ensemble", "--compare-torch"], capsys)
    assert status == 2 and "--compare-torch checks the network itself" in stderr


def test_gpu_evaluation_matches_the_cpu(tmp_path, checkpoint, capsys, gpu_path):
    """`--device gpu` end to end."""
    pairs = _pair_tree(tmp_path)
    reports = {}
    for device in ("cpu", "gpu"):
        out = tmp_path / device
        status, _, _ = run_cli(["--checkpoint", checkpoint, *pairs, "--out", out, "--device", device], capsys)
        assert status == 0
        reports[device] = json.loads((out / "metrics.json").read_text())
    assert reports["gpu"]["settings"]["device"] == "gpu" and "im2col" in gpu_path.launches
    for cpu_record, gpu_record in zip(reports["cpu"]["per_image"], reports["gpu"]["per_image"], strict=True):
        assert gpu_record["psnr"] == pytest.approx(cpu_record["psnr"], rel=1e-5)
        assert gpu_record["ssim"] == pytest.approx(cpu_record["ssim"], rel=1e-5)


@pytest.mark.parametrize("interrupt_at", [2, 1])
def test_ctrl_c_keeps_the_metrics_of_the_images_done(interrupt_at, tmp_path, checkpoint, capsys, monkeypatch):
    _fail_metrics_at(interrupt_at, KeyboardInterrupt(), monkeypatch)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(["--checkpoint", checkpoint, *_pair_tree(tmp_path), "--out", out], capsys)
    assert status == evaluate_script.EXIT_INTERRUPTED and "Traceback" not in stderr
    if interrupt_at == 1:
        assert "no results were written" in stderr and not (out / "metrics.json").exists()
        return
    report = json.loads((out / "metrics.json").read_text())
    assert report["settings"]["stopped_early"] == "interrupted"
    assert [r["name"] for r in report["per_image"]] == ["a/img0"]
    assert f"interrupted after 1 of 3 images; {out / 'metrics.json'} has their numbers" in stderr
    assert "mean" in stdout  # the table of the images done


def test_an_error_late_in_a_run_keeps_the_metrics_of_the_images_done(tmp_path, checkpoint, capsys, monkeypatch):
    """A user error (here: a folder made read-only) still gets its one line, after the numbers are saved."""
    _fail_metrics_at(3, PermissionError(13, "Permission denied"), monkeypatch)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(["--checkpoint", checkpoint, *_pair_tree(tmp_path), "--out", out], capsys)
    report = json.loads((out / "metrics.json").read_text())
    assert report["settings"]["stopped_early"] == "PermissionError: [Errno 13] Permission denied"
    assert [r["name"] for r in report["per_image"]] == ["a/img0", "a/img1"]
    assert status == 2 and "Traceback" not in stderr and "mean" in stdout
    assert f"stopped by an error after 2 of 3 images; {out / 'metrics.json'} has their numbers" in stderr
    assert stderr.rstrip().endswith("error: [Errno 13] Permission denied")


def test_a_bug_late_in_a_run_keeps_its_traceback_and_the_metrics_of_the_images_done(tmp_path, checkpoint, capsys,
                                                                                    monkeypatch):
    _fail_metrics_at(2, ZeroDivisionError("a bug"), monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(ZeroDivisionError, match="a bug") as raised:
        evaluate_script.main([str(a) for a in ["--checkpoint", checkpoint, *_pair_tree(tmp_path), "--out", out]])
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # its own traceback alone
    assert json.loads((out / "metrics.json").read_text())["settings"]["stopped_early"] == "ZeroDivisionError: a bug"
    assert "stopped by an error after 1 of 3 images" in capsys.readouterr().err


def _fail_metrics_at(image_number, exception, monkeypatch):
    """Make evaluation raise `exception` while it scores its `image_number`-th image (from 1)."""
    real_metrics, calls = evaluation.image_metrics, []

    def metrics_until_failure(*args, **kwargs):
        calls.append(1)
        if len(calls) == image_number:
            raise exception
        return real_metrics(*args, **kwargs)

    monkeypatch.setattr(evaluation, "image_metrics", metrics_until_failure)


def test_corrupt_image_and_broken_link_are_skipped_with_a_warning(tmp_path, checkpoint, capsys):
    """A linked folder is restored like any other; a link to a file that is gone is an unreadable image."""
    _write(tmp_path / "in" / "good.png", np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (tmp_path / "in" / "gone.png").symlink_to(tmp_path / "deleted.png")
    _write(tmp_path / "elsewhere" / "far.png", np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "elsewhere")
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in",
                                 "--out", tmp_path / "out"], capsys)
    assert status == 0
    for name in ("broken.png", "gone.png"):
        assert any(line.startswith("warning:") and name in line for line in stderr.splitlines()), stderr
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [entry["name"] for entry in report["images"]] == ["good", "linked/far"]
    assert (tmp_path / "out" / "restored" / "linked" / "far.png").is_file()
    assert report["settings"]["unreadable"] == [str(tmp_path / "in" / name) for name in ("broken.png", "gone.png")]


def test_images_of_one_name_are_each_restored_under_their_own_suffix(tmp_path, checkpoint, capsys):
    """Restoring alone matches nothing by name: x.bmp and x.png are both restored, neither over the other."""
    rng = np.random.default_rng(4)
    inputs = {"x.bmp": _write(tmp_path / "in" / "x.bmp", rng.integers(0, 256, (16, 24, 3)).astype(np.uint8)),
              "x.png": _write(tmp_path / "in" / "x.png", rng.integers(0, 256, (20, 12, 3)).astype(np.uint8))}
    out = tmp_path / "out"
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--out", out], capsys)
    assert status == 0 and "warning" not in stderr
    model, _ = load_model(checkpoint)
    for name, path in inputs.items():
        image, _ = data.read_image(path)
        expected = np.round(np.clip(restore(model, image), 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(_pixels(out / "restored" / name), expected)
    report = json.loads((out / "metrics.json").read_text())
    assert [(entry["name"], entry["file"], entry["width"]) for entry in report["images"]] == [
        ("x", "restored/x.bmp", 24), ("x", "restored/x.png", 12)]
    assert [path.name for path in (out / "triptychs").iterdir()] == ["x.png"]  # one per folder, as ever
    _write(tmp_path / "clean" / "x.png", np.zeros((16, 24, 3), np.uint8))
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--clean",
                                 tmp_path / "clean", "--out", tmp_path / "paired"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert "taken by more than one image, which cannot be matched by name: x (x.bmp, x.png)" in stderr


def test_pairs_of_different_sizes_are_refused_with_any_size(tmp_path, checkpoint, capsys):
    """A crop and its full image are not aligned by resizing both to --size: refused with it too."""
    _write(tmp_path / "degraded" / "crop.png", np.zeros((16, 16, 3), np.uint8))
    _write(tmp_path / "clean" / "crop.png", np.zeros((16, 24, 3), np.uint8))
    for size in ([], ["--size", "16"]):
        status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "degraded", "--clean",
                                     tmp_path / "clean", *size, "--out", tmp_path / "out"], capsys)
        assert status == 2
        assert_one_error_line(stderr)
        assert "1 pair(s) whose images or masks differ in " in stderr and "crop (degraded 16x16, clean 24x16); " in stderr
        assert ("pass --size" in stderr) == (not size)  # offered only where it would align them


def test_a_folder_of_weights_passed_as_checkpoint_names_the_files_to_pass(tmp_path, capsys):
    """--checkpoint checkpoints/ used to be told only that it is not a run folder."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in ("a.npz", "b.pth", "notes.txt"):
        (folder / name).write_bytes(b"")
    _write(tmp_path / "in" / "part.png", np.zeros((16, 16, 3), np.uint8))
    status, _, stderr = run_cli(["--checkpoint", folder, "--degraded", tmp_path / "in", "--out", tmp_path / "out"],
                                capsys)
    assert status == 2
    assert stderr == (f"error: {folder} is a folder without best.npz or model.npz, which train.py writes into a run "
                      f"folder; it holds {folder / 'a.npz'} and {folder / 'b.pth'}: pass the file to use\n")

def test_a_run_folder_is_evaluated_with_its_best_checkpoint(tmp_path, checkpoint, capsys):
    """best.npz, not last.npz (whose weights differ here), and the printed line and metrics.json name it."""
    run = tmp_path / "run"
    run.mkdir()
    mg.manual_seed(9)
    save_checkpoint(run / "last.npz", UNet(nonlocal_mode="softmax"))
    image = np.random.default_rng(5).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    _write(tmp_path / "in" / "part.png", image)
    status, stdout, stderr = run_cli(["--checkpoint", run, "--degraded", tmp_path / "in",
                                      "--out", tmp_path / "out"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert stderr == (f"error: {run} is a folder without best.npz or model.npz, which train.py writes into a run "
                      f"folder; it holds {run / 'last.npz'} (where the run got to): pass the file to use\n")
    (run / "best.npz").write_bytes(checkpoint.read_bytes())
    status, stdout, _ = run_cli(["--checkpoint", run, "--degraded", tmp_path / "in", "--out", tmp_path / "out"],
                                capsys)
    assert status == 0
    assert stdout.splitlines()[0] == f"using {run / 'best.npz'}, the epoch of the run's best validation SSIM"
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["checkpoint"]["path"] == str(run / "best.npz")
    model, _ = load_model(checkpoint)
    expected = np.round(np.clip(restore(model, image / np.float32(255)), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_pixels(tmp_path / "out" / "restored" / "part.png"), expected)
    from_folder, _ = load_model(run)  # what train.py --init and python -m unet.explain load through
    assert all(np.array_equal(weights, from_folder.state_dict()[key])
               for key, weights in model.state_dict().items())


def test_missing_or_empty_folder_is_one_error_line(tmp_path, checkpoint):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        result = run_subprocess(["--checkpoint", checkpoint, "--degraded", folder, "--out", tmp_path / "out"])
        assert result.returncode == 2
        assert_one_error_line(result.stderr)
        assert str(folder) in result.stderr


def test_unpaired_images_are_listed(tmp_path, checkpoint, capsys):
    for folder, names in (("degraded", ("x", "y")), ("clean", ("x", "z"))):
        for name in names:
            _write(tmp_path / folder / f"{name}.png", np.zeros((16, 16, 3), np.uint8))
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "degraded",
                                 "--clean", tmp_path / "clean", "--out", tmp_path / "out"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert "y" in stderr.split("no partner")[1] and "z" in stderr.split("no partner")[2]


@pytest.mark.parametrize("name", ["notes.npz", "photo.png"])
def test_wrong_checkpoint_file_exits_2(name, tmp_path, capsys):
    bogus = tmp_path / name
    if name.endswith(".png"):
        _write(bogus, np.zeros((4, 4, 3), np.uint8))
    else:
        bogus.write_text("this is not a checkpoint")
    status, _, stderr = run_cli(["--checkpoint", bogus, "--data", "builtin", "--out", tmp_path / "out"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert f"{name} is not a readable checkpoint: unrecognized file format" in stderr and stderr.count(name) == 1


def test_a_folder_of_clean_images_alone_is_scored_on_degradations_made_on_the_fly(tmp_path, checkpoint, capsys):
    """--clean DIR alone: each image degraded by --degradation with --seed, as the data set gives it (the
    input's PSNR against scikit-image's on that degraded image), and the settings say which."""
    rng = np.random.default_rng(4)
    for name in ("a/img0", "a/img1", "b/img2"):
        _write(tmp_path / "clean" / f"{name}.png", rng.integers(0, 256, (H, W, 3)).astype(np.uint8))
    status, _, _ = run_cli(["--checkpoint", checkpoint, "--clean", tmp_path / "clean", "--degradation", "noise",
                            "--seed", "3", "--out", tmp_path / "out"], capsys)
    assert status == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    settings = metrics["settings"]
    assert (settings["layout"], settings["degradation"], settings["seed"], settings["split"]) == ("folders", "noise", 3,
                                                                                                   None)
    dataset = data.open_dataset(clean_dir=tmp_path / "clean", split="val", degradation="noise", seed=3)
    scored = {record["name"]: record["degraded_psnr"] for record in metrics["per_image"]}
    assert scored.keys() == {"a/img0", "a/img1", "b/img2"}
    for index, item in enumerate(dataset.items):
        sample = dataset[index]
        assert scored[item.name] == pytest.approx(peak_signal_noise_ratio(sample["clean"], sample["degraded"],
                                                                          data_range=1), abs=1e-4)


@pytest.mark.parametrize("options, phrase", [
    (["--degradation", "noise"], "--degradation applies to clean images degraded on the fly"),
    (["--degradation", "noise", "--seed", "3"], "--degradation and --seed apply to clean images degraded"),
    (["--split", "train"], "--split picks a part of a --data set; --degraded folders have no parts"),
])
def test_options_that_cannot_apply_to_paired_folders_are_errors(options, phrase, tmp_path, checkpoint, capsys):
    """Rather than silently ignored, and recorded in metrics.json as if they had been applied."""
    status, _, stderr = run_cli(["--checkpoint", checkpoint, *_pair_tree(tmp_path), *options,
                                 "--out", tmp_path / "out"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert phrase in stderr


def test_an_out_folder_that_cannot_be_made_or_would_overwrite_the_inputs_is_refused_first(tmp_path, checkpoint,
                                                                                         capsys, monkeypatch):
    monkeypatch.setattr(evaluation, "restore", lambda *args, **kwargs: pytest.fail("an image was restored"))
    (tmp_path / "notes").write_text("not a folder")
    photos = tmp_path / "run" / "restored"
    _write(photos / "x.png", np.zeros((16, 16, 3), np.uint8))
    for argv, phrase in ((["--degraded", photos, "--out", tmp_path / "notes"], "notes"),
                         (["--degraded", photos, "--out", tmp_path / "run"],
                          f"--out {tmp_path / 'run'} and --degraded {photos} overlap"),
                         (["--degraded", photos, "--out", photos / "eval"],
                          f"--out {photos / 'eval'} and --degraded {photos} overlap")):
        status, _, stderr = run_cli(["--checkpoint", checkpoint, *argv], capsys)
        assert status == 2
        assert_one_error_line(stderr)
        assert phrase in stderr


def test_checkpoint_of_the_other_nonlocal_mode_exits_2(tmp_path, checkpoint):
    result = run_subprocess(["--checkpoint", checkpoint, "--nonlocal", "published", "--data", "builtin",
                             "--out", tmp_path / "out"])
    assert result.returncode == 2
    assert_one_error_line(result.stderr)
    assert "softmax" in result.stderr and "published" in result.stderr


def test_compare_torch_on_builtin_data(tmp_path, checkpoint, capsys):
    torch = pytest.importorskip("torch")
    out = tmp_path / "out"
    status, stdout, _ = run_cli(["--checkpoint", checkpoint, "--data", "builtin", "--size", "24", "--limit", "2",
                                 "--compare-torch", "--out", out], capsys)
    assert status == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["settings"]["n_images"] == 2
    assert report["compare_torch"]["max_abs_diff"] <= 1e-4
    assert "PyTorch" in stdout
    # the reported difference does measure the two outputs: a perturbed PyTorch build is far off
    model, _ = load_model(checkpoint)
    perturbed = to_torch(model)
    with torch.no_grad():
        perturbed.conv_last.bias += 0.01
    dataset = data.open_dataset("builtin", split="val", size=24)
    item = next(restore_dataset(model, dataset, [0], torch_model=perturbed, progress=False))
    assert item.torch_max_abs_diff == pytest.approx(0.01, abs=1e-4)


def test_compare_torch_without_clean_targets_still_reports_the_difference(tmp_path, checkpoint, capsys):
    pytest.importorskip("torch")
    _write(tmp_path / "in" / "x.png", np.random.default_rng(1).integers(0, 256, (16, 24, 3), dtype=np.uint8))
    out = tmp_path / "out"
    status, stdout, _ = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--compare-torch",
                                 "--out", out], capsys)
    report = json.loads((out / "metrics.json").read_text())
    assert status == 0 and report["compare_torch"]["max_abs_diff"] <= 1e-4
    assert f"max |difference| = {report['compare_torch']['max_abs_diff']:.3g}" in stdout
    assert report["settings"]["degradation"] is None and report["settings"]["split"] is None  # not applied here
    assert report["settings"]["layout"] == "folders" and report["settings"]["data"] is None


def test_compare_torch_names_the_image_of_the_largest_difference(tmp_path, checkpoint, capsys, monkeypatch):
    """A PyTorch build that strays from minigrad's by a hundredth of its input's mean strays most on the
    brightest image."""
    torch = pytest.importorskip("torch")

    class Straying(torch.nn.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        def forward(self, x):
            return self.network(x) + 0.01 * x.mean()

    monkeypatch.setattr(evaluate_script, "to_torch", lambda model: Straying(to_torch(model)))
    for name, level in (("dark", 50), ("bright", 200), ("grey", 120)):
        _write(tmp_path / "in" / f"{name}.png", np.full((16, 24, 3), level, np.uint8))
    out = tmp_path / "out"
    status, stdout, _ = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "in", "--compare-torch",
                                 "--out", out], capsys)
    comparison = json.loads((out / "metrics.json").read_text())["compare_torch"]
    assert status == 0 and comparison["image"] == "bright"
    assert comparison["max_abs_diff"] == pytest.approx(0.01 * 200 / 255, abs=1e-5)
    assert f"max |difference| = {comparison['max_abs_diff']:.3g} (on bright)" in stdout


def test_compare_torch_without_torch_names_the_install_command(tmp_path, checkpoint, capsys, monkeypatch):
    def torch_missing(model):
        raise TorchNotAvailableError()

    monkeypatch.setattr(evaluate_script, "to_torch", torch_missing)
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--data", "builtin", "--compare-torch",
                                 "--out", tmp_path / "out"], capsys)
    assert status == 2
    assert_one_error_line(stderr)
    assert 'pip install -e ".[test]"' in stderr
    assert not (tmp_path / "out").exists()  # refused before any work


# ----------------------------------------------------------------------------- the shipped models

@pytest.mark.parametrize("path", sorted((REPO_ROOT / "checkpoints").glob("*.npz")), ids=lambda path: path.name)
def test_each_shipped_model_is_small_and_restores_the_degradation_it_was_trained_for(path):
    """Under 5 MB, and on 8 built-in validation images degraded as in its training, clearly above the input."""
    assert path.stat().st_size < 5_000_000
    model, state = load_model(path)
    degradation = state["config"]["degradation"]
    dataset = data.open_dataset("builtin", split="val", degradation=degradation)
    records = [image_metrics(item.sample, item.restored)
               for item in restore_dataset(model, dataset, spread_indices(len(dataset), 8), progress=False)]
    report = summarize(records)
    assert report["mean"]["psnr"] > report["degraded"]["psnr"] + 1.0, degradation
    assert report["mean"]["ssim"] > report["degraded"]["ssim"] + 0.05, degradation


def test_an_out_folder_of_an_earlier_evaluation_is_named(tmp_path, checkpoint, capsys):
    """Its restored images and triptychs would otherwise pass for this evaluation's."""
    _write(tmp_path / "first" / "x.png", np.zeros((16, 16, 3), np.uint8))
    _write(tmp_path / "second" / "y.png", np.zeros((16, 16, 3), np.uint8))
    out = tmp_path / "out"
    assert run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "first", "--out", out], capsys)[0] == 0
    status, _, stderr = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "second", "--out", out], capsys)
    assert status == 0 and f"warning: {out} holds an earlier evaluation" in stderr
    assert [entry["name"] for entry in json.loads((out / "metrics.json").read_text())["images"]] == ["y"]


@pytest.mark.parametrize("dtype, scale", [(np.uint8, 255), (np.uint16, 65535)])
def test_a_grayscale_image_is_scored_as_it_is_saved(tmp_path, checkpoint, capsys, dtype, scale):
    """The network answers in three channels; a gray file's restoration is written as their mean, and the
    scores, the triptych and metrics.json are of that image, not of the colour one never saved."""
    rng = np.random.default_rng(7)
    clean = (rng.random((24, 32)) * scale).astype(dtype)
    degraded = np.clip(clean + rng.normal(0, 0.1 * scale, clean.shape), 0, scale).astype(dtype)
    _write(tmp_path / "deg" / "part.png", degraded)
    _write(tmp_path / "clean" / "part.png", clean)
    out = tmp_path / "out"
    status, _, err = run_cli(["--checkpoint", checkpoint, "--degraded", tmp_path / "deg", "--clean", tmp_path / "clean",
                              "--save-images", "--out", out], capsys)
    assert status == 0, err
    with Image.open(out / "restored" / "part.png") as saved:
        saved = np.asarray(saved).astype(np.float64) / scale
    assert saved.ndim == 2
    record = json.loads((out / "metrics.json").read_text())["per_image"][0]
    expected = peak_signal_noise_ratio(clean / scale, saved, data_range=1.0)
    assert record["psnr"] == pytest.approx(expected, abs=0.02)  # the saved file is quantized to its bit depth
    assert record["ssim"] == pytest.approx(structural_similarity(clean / scale, saved, data_range=1.0,
                                                                 gaussian_weights=True, sigma=1.5,
                                                                 use_sample_covariance=False), abs=5e-3)
