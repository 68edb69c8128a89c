"""train.py end to end on a tiny KLA tree: outputs, exact resume, Ctrl-C, NaN losses, user errors.

Oracles: scikit-image's PSNR/SSIM and a least-squares fit for the logged validation numbers,
the images written to disk, and an uninterrupted run for every resumed one (parameters must be
bit-identical).
"""
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import minigrad as mg
from data import DataError
from unet import RestorationLoss, UNet, metrics, restore, training
from unet.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from unet.model import INPUT_MULTIPLE

from conftest import REPO_ROOT, RecordingRunner, load_script, relative_error

SIDE, PATCH = 32, 16
TRAIN_NAMES, VAL_NAMES = ("000", "001", "002", "003"), ("010", "011")
LOG_COLUMNS = ["epoch", "steps", "loss", "charbonnier", "edge", "ssim_loss", "val_psnr", "val_ssim",
               "val_affine_psnr", "degraded_psnr", "degraded_ssim", "lr", "seconds"]
STEPS_PER_EPOCH = 2  # 4 training images, batch 2


train_script = load_script("train")


def _write_png(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)


def _kla_tree(root, side=SIDE):
    """widget/{Train,Val}: smooth clean images and dimmed, noisy versions of them."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:side, 0:side] / side
    for split, names in (("Train", TRAIN_NAMES), ("Val", VAL_NAMES)):
        for name in names:
            phase = rng.uniform(0, 2 * np.pi, 3)
            clean = 0.5 + 0.4 * np.sin(2 * np.pi * (x[..., None] + 2 * y[..., None]) + phase)
            degraded = 0.8 * clean + 0.1 + rng.normal(0, 0.05, clean.shape)
            _write_png(root / "widget" / split / "GT_clean_image" / "scratch" / f"{name}.png", clean)
            _write_png(root / "widget" / split / "Degraded_image" / "scratch" / f"{name}.png", degraded)
    return root


@pytest.fixture(scope="module")
def kla_root(tmp_path_factory):
    return _kla_tree(tmp_path_factory.mktemp("kla"))


def _args(kla_root, out, epochs=2, *extra):
    return ["--data", str(kla_root), "--size", str(SIDE), "--patch-size", str(PATCH), "--batch-size", "2",
            "--steps-per-epoch", str(STEPS_PER_EPOCH), "--device", "cpu", "--epochs", str(epochs),
            "--out", str(out), *extra]


@pytest.fixture(scope="module")
def reference_run(kla_root, tmp_path_factory):
    """An uninterrupted two-epoch run, the oracle for every resumed one."""
    out = tmp_path_factory.mktemp("reference")
    assert train_script.main(_args(kla_root, out)) == 0
    return out


def _resume(path, *extra):
    """train.py's arguments to resume `path` on the CPU, where every run it is compared with trained: a
    resumed run takes this machine's device, which is the GPU where there is one."""
    return ["--resume", str(path), "--device", "cpu", *extra]


def _weights(path):
    model, _ = load_model(path)
    return {name: np.array(value) for name, value in model.state_dict().items()}


def _assert_same_weights(path, reference_path):
    actual, expected = _weights(path), _weights(reference_path)
    assert actual.keys() == expected.keys()
    different = [name for name in expected if not np.array_equal(actual[name], expected[name])]
    assert not different, f"{len(different)} parameters differ from the uninterrupted run, e.g. {different[:3]}"


def _read_log(path):
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


def _assert_same_losses(log, reference_log):
    """Every epoch's mean training loss, as logged, equals the uninterrupted run's."""
    assert [row["loss"] for row in _read_log(log)[1]] == [row["loss"] for row in _read_log(reference_log)[1]]


def _read_pair(root, name):
    base = root / "widget" / "Val"
    return tuple(_pixels(base / folder / "scratch" / f"{name}.png").astype(np.float32) / 255
                 for folder in ("Degraded_image", "GT_clean_image"))


def _pixels(path, mode=None):
    with Image.open(path) as image:
        return np.asarray(image if mode is None else image.convert(mode))


def _affine_fit_psnr(pred, target):
    """Per-channel least-squares gain and offset, clipped to [0, 1], then PSNR."""
    fitted = np.empty_like(pred, dtype=np.float64)
    for c in range(pred.shape[2]):
        design = np.stack([pred[..., c].ravel(), np.ones(pred[..., c].size)], axis=1).astype(np.float64)
        (gain, offset), *_ = np.linalg.lstsq(design, target[..., c].ravel().astype(np.float64), rcond=None)
        fitted[..., c] = np.clip(gain * pred[..., c] + offset, 0, 1)
    return peak_signal_noise_ratio(target.astype(np.float64), fitted, data_range=1)


def _skimage_ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1, channel_axis=-1)


def _assert_png_with_content(path):
    image = _pixels(path, "RGB").astype(np.float32)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 5, f"{path} is blank"


class LossSpy:
    """The real composite loss, except that call number `at` (1-based) does `action` instead, and every call
    `always` (both take and give the total and its parts)."""

    def __init__(self, at, action, always=lambda total, parts: (total, parts)):
        self.calls, self.at, self.action, self.always = 0, at, action, always

    def __call__(self, **weights):
        real = RestorationLoss(**weights)

        def loss(pred, target):
            self.calls += 1
            total, parts = self.always(*real(pred, target))
            return self.action(total, parts) if self.calls == self.at else (total, parts)
        return loss


# ---- a whole run ------------------------------------------------------------------------------

def test_one_epoch_writes_logs_charts_samples_and_checkpoints(kla_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, epochs=1)) == 0

    columns, rows = _read_log(out / "log.csv")
    assert columns == LOG_COLUMNS
    assert len(rows) == 1 and int(rows[0]["epoch"]) == 1 and int(rows[0]["steps"]) == STEPS_PER_EPOCH
    row = {k: float(v) for k, v in rows[0].items()}
    assert math.isclose(row["loss"], row["charbonnier"] + 0.1 * row["edge"] + 0.3 * row["ssim_loss"], rel_tol=1e-5)

    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 1 and config["patch_size"] == PATCH and config["size"] == SIDE
    assert config["lr"] == 1e-3 and config["nonlocal_mode"] == "softmax" and config["preset"] == "quick"
    assert config["layout"] == "kla" and config["degradation"] is None  # detected; KLA images come degraded

    captured = capsys.readouterr()
    printed = re.search(r"\| ([\d.]+) s", captured.out).group(1)  # the epoch's time, however short
    assert float(printed) == pytest.approx(row["seconds"], abs=0.05)
    # stderr is no terminal here, as in a log file: the bar shows its start and its end, not every step
    states = captured.err.split("\r")
    assert sum("epoch 1/1" in state for state in states) == 2, captured.err
    assert f"{STEPS_PER_EPOCH}/{STEPS_PER_EPOCH}" in states[-1] and "loss=" in states[-1], captured.err

    _assert_png_with_content(out / "curves.png")
    _assert_png_with_content(out / "samples" / "epoch_001.png")

    best_model, best_state = load_model(out / "best.npz")
    _, last_state = load_model(out / "last.npz")
    assert best_state["epoch"] == last_state["epoch"] == 1
    _assert_same_weights(out / "best.npz", out / "last.npz")
    _assert_same_weights(out / "model.npz", out / "best.npz")
    _, model_state = load_model(out / "model.npz")
    assert "optimizer" not in model_state and model_state["best"]["epoch"] == 1
    assert (out / "model.npz").stat().st_size < (out / "best.npz").stat().st_size / 2

    # The logged validation numbers, recomputed with scikit-image from the files on disk.
    expected = {key: [] for key in ("val_psnr", "val_ssim", "val_affine_psnr", "degraded_psnr", "degraded_ssim")}
    for name in VAL_NAMES:
        degraded, clean = _read_pair(kla_root, name)
        restored = np.clip(restore(best_model, degraded), 0, 1)
        expected["val_psnr"].append(peak_signal_noise_ratio(clean, restored, data_range=1))
        expected["val_ssim"].append(_skimage_ssim(clean, restored))
        expected["val_affine_psnr"].append(_affine_fit_psnr(restored, clean))
        expected["degraded_psnr"].append(peak_signal_noise_ratio(clean, degraded, data_range=1))
        expected["degraded_ssim"].append(_skimage_ssim(clean, degraded))
    for key, values in expected.items():
        assert row[key] == pytest.approx(np.mean(values), rel=1e-4, abs=1e-4), key


def test_gpu_training_tracks_the_cpu_run_and_its_checkpoint_resumes_anywhere(
        kla_root, reference_run, tmp_path, gpu_path, monkeypatch):
    """`--device auto` picks the GPU, end to end, and trains as the CPU does; its checkpoints hold host
    arrays, so a run on this machine's own devices resumes from them, with the default --device auto."""
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, 1, "--device", "auto")) == 0
    assert "adam" in gpu_path.launches and "im2col" in gpu_path.launches
    assert json.loads((out / "config.json").read_text())["device"] == "gpu"  # what auto chose
    monkeypatch.undo()  # back to this machine's own devices
    assert train_script.main(["--resume", str(out / "last.npz"), "--epochs", "2"]) == 0
    assert json.loads((out / "config.json").read_text())["device"] == ("gpu" if mg.gpu_available() else "cpu")
    gpu_rows, cpu_rows = _read_log(out / "log.csv")[1], _read_log(reference_run / "log.csv")[1]
    for gpu_row, cpu_row in zip(gpu_rows, cpu_rows, strict=True):
        for key in ("loss", "val_psnr", "val_ssim"):
            assert float(gpu_row[key]) == pytest.approx(float(cpu_row[key]), rel=1e-4), key
    actual, expected = _weights(out / "last.npz"), _weights(reference_run / "last.npz")
    for name in expected:
        assert relative_error(actual[name], expected[name]) <= 2e-4, name


def test_a_folder_of_clean_images_alone_trains_degraded_on_the_fly(tmp_path, capsys):
    """--clean DIR alone: one's own clean images, degraded on the fly. Every 10th validates, on degradations
    that stay the same from epoch to epoch (the degraded input's scores repeat), and config.json records
    the degradation and seed used."""
    rng = np.random.default_rng(8)
    for i in range(11):
        _write_png(tmp_path / "clean" / f"{i:02d}.png", rng.random((SIDE, SIDE, 3)))
    out = tmp_path / "run"
    assert train_script.main(["--clean", str(tmp_path / "clean"), "--degradation", "noise", "--seed", "3",
                              "--size", str(SIDE), "--patch-size", str(PATCH), "--batch-size", "2",
                              "--steps-per-epoch", "2", "--device", "cpu", "--epochs", "2", "--out", str(out)]) == 0
    header = capsys.readouterr().out
    assert "9 training images" in header and "2 validation images" in header
    rows = _read_log(out / "log.csv")[1]
    assert len(rows) == 2 and rows[0]["degraded_psnr"] == rows[1]["degraded_psnr"]
    config = json.loads((out / "config.json").read_text())
    assert (config["layout"], config["degradation"], config["seed"], config["data"]) == ("folders", "noise", 3, None)

    shutil.copytree(tmp_path / "clean", tmp_path / "noisy")  # paired folders, of the same images
    with pytest.raises(SystemExit, match="2"):
        train_script.main(_resume(out / "last.npz", "--degraded", str(tmp_path / "noisy"), "--clean",
                                  str(tmp_path / "clean"), "--epochs", "3"))
    assert ("trained on clean images degraded on the fly (--clean alone), but paired folders (--degraded) were "
            "given" in capsys.readouterr().err)
    assert train_script.main(_resume(out / "last.npz", "--clean", str(tmp_path / "clean"), "--epochs", "3")) == 0


# ---- resuming ---------------------------------------------------------------------------------

def test_resume_after_epoch_one_matches_an_uninterrupted_run(kla_root, reference_run, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, epochs=1)) == 0
    with pytest.raises(AssertionError):  # the test can fail: epoch 2 does change the weights
        _assert_same_weights(out / "last.npz", reference_run / "last.npz")
    assert train_script.main(_resume(out, "--epochs", "2")) == 0  # a run folder: its last.npz
    _assert_same_weights(out / "last.npz", reference_run / "last.npz")
    _assert_same_losses(out / "log.csv", reference_run / "log.csv")
    assert f"using {out / 'last.npz'}, where the run got to\n" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="folder without last.npz"):
        train_script.main(_resume(tmp_path))
    (out / "last.npz").unlink()  # best.npz is left: named as the way on
    with pytest.raises(CheckpointError, match=re.escape(f"it holds {out / 'best.npz'} (the epoch of the run's best "
                                                        "validation SSIM)")):
        train_script.main(_resume(out))


def test_recomputing_activations_changes_no_number_and_may_be_switched_on_resume(kla_root, reference_run, tmp_path,
                                                                                 capsys):
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, 1, "--recompute-activations")) == 0
    assert "recomputing each block's activations in backward" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["recompute_activations"] is True
    assert train_script.main(_resume(out, "--epochs", "2", "--no-recompute-activations")) == 0
    assert "recomputing each block's activations" not in capsys.readouterr().out
    _assert_same_weights(out / "last.npz", reference_run / "last.npz")
    _assert_same_losses(out / "log.csv", reference_run / "log.csv")


def _gpu_run(kla_root, out, epochs, *extra, status=0):
    """A run on the GPU path, which ends with exit `status`; returns how many CUDA graph replays it made."""
    replays = []
    replay = mg.cuda.CUDAGraph.replay
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mg.cuda.CUDAGraph, "replay", lambda graph: (replays.append(1), replay(graph))[1])
        assert train_script.main(_args(kla_root, out, epochs, "--device", "gpu", *extra)) == status
    return len(replays)


def _assert_same_gpu_runs(out, reference, gpu_path):
    """The same losses, validation scores and weights: exactly on the stand-in, which redoes a graph's very NumPy
    ops, and within 1e-5 on a GPU."""
    tolerance = 1e-5 if isinstance(gpu_path, RecordingRunner) else 0
    logged, expected_logged = ([[float(row[key]) for key in ("loss", "val_psnr", "val_ssim")]
                                for row in _read_log(run / "log.csv")[1]] for run in (out, reference))
    np.testing.assert_allclose(logged, expected_logged, rtol=tolerance)
    actual, expected = _weights(out / "last.npz"), _weights(reference / "last.npz")
    for name in expected:
        assert relative_error(actual[name], expected[name]) <= tolerance, name


def test_cuda_graphs_change_no_number_and_may_be_switched_on_resume(kla_root, tmp_path, gpu_path, capsys):
    """Of each run's steps, the first of a batch shape runs as it is, the second is captured and replayed, and the
    later ones replay; a run without graphs, or one that switches them on when resumed, trains the same weights."""
    graphed, plain = tmp_path / "graphed", tmp_path / "plain"
    assert _gpu_run(kla_root, graphed, 2) == 2 * STEPS_PER_EPOCH - 1
    assert "replaying each step's kernels as one CUDA graph" in capsys.readouterr().out
    assert _gpu_run(kla_root, plain, 1, "--no-cuda-graphs") == 0
    assert "CUDA graph" not in capsys.readouterr().out
    assert json.loads((plain / "config.json").read_text())["cuda_graphs"] is False
    assert _gpu_run(kla_root, plain, 2, "--cuda-graphs", "--resume", str(plain / "last.npz")) == STEPS_PER_EPOCH - 1
    _assert_same_gpu_runs(plain, graphed, gpu_path)


def _reads_the_loss_on_the_host(total, parts):
    float(total)  # waits for the GPU: fine in a step run as it is, refused in a capture
    return total, parts


def test_a_step_that_cannot_be_captured_is_reported_once_and_the_run_goes_on(kla_root, tmp_path, gpu_path):
    with pytest.MonkeyPatch.context() as patch, pytest.warns(UserWarning, match="captured as a CUDA graph") as warned:
        patch.setattr(training, "RestorationLoss", LossSpy(at=None, action=None, always=_reads_the_loss_on_the_host))
        assert _gpu_run(kla_root, tmp_path / "run", 2) == 0
    assert len(warned) == 1
    assert _gpu_run(kla_root, tmp_path / "plain", 2, "--no-cuda-graphs") == 0
    _assert_same_gpu_runs(tmp_path / "run", tmp_path / "plain", gpu_path)


def _interrupt(total, parts):
    raise KeyboardInterrupt


class SimulatedCrash(RuntimeError):
    pass


def _crash(*_):
    raise SimulatedCrash("out of memory, say")


@pytest.mark.parametrize("stop", ["ctrl_c", "crash"])
def test_a_stop_mid_epoch_saves_the_steps_done_and_resume_is_exact(stop, kla_root, reference_run, tmp_path,
                                                                   monkeypatch, capsys):
    out = tmp_path / "run"
    action = _interrupt if stop == "ctrl_c" else _crash
    monkeypatch.setattr(training, "RestorationLoss", LossSpy(at=STEPS_PER_EPOCH + 2, action=action))
    if stop == "ctrl_c":
        assert train_script.main(_args(kla_root, out)) == train_script.EXIT_INTERRUPTED
    else:
        with pytest.raises(SimulatedCrash):
            train_script.main(_args(kla_root, out))
    assert f"--resume {out / 'last.npz'}" in capsys.readouterr().err
    state = read_checkpoint(out / "last.npz")
    assert state["epoch"] == 1 and state["progress"]["epoch"] == 1 and state["progress"]["step"] == 1

    monkeypatch.undo()
    assert train_script.main(_resume(out / "last.npz")) == 0
    _assert_same_weights(out / "last.npz", reference_run / "last.npz")
    _assert_same_losses(out / "log.csv", reference_run / "log.csv")


def _disturb_adam(monkeypatch, step, action):
    """Do `action` half-way through the parameter updates of optimizer step `step` (1-based)."""
    n_params = len(list(UNet(nonlocal_mode="softmax").parameters()))
    real_update, calls = mg.optim.Adam.update, []

    def update(self, *args):
        calls.append(1)
        if len(calls) == (step - 1) * n_params + n_params // 2:
            action()
        return real_update(self, *args)
    monkeypatch.setattr(mg.optim.Adam, "update", update)


def _assert_first_step_of_epoch_2_saved_and_resumed_exactly(out, reference_run):
    assert read_checkpoint(out / "last.npz")["progress"]["step"] == 1
    assert train_script.main(_resume(out / "last.npz")) == 0
    _assert_same_weights(out / "last.npz", reference_run / "last.npz")


def test_ctrl_c_during_an_optimizer_step_lets_the_step_finish(kla_root, reference_run, tmp_path, monkeypatch):
    """A real SIGINT half-way through the parameter updates of step 3 (epoch 2, step 1)."""
    _disturb_adam(monkeypatch, STEPS_PER_EPOCH + 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out)) == train_script.EXIT_INTERRUPTED
    monkeypatch.undo()
    _assert_first_step_of_epoch_2_saved_and_resumed_exactly(out, reference_run)


TERMINATED_IN_STEP = """
import os, signal, sys
import pytest
sys.path.insert(0, sys.argv[1])
import test_train
from unet.cli import run
test_train._disturb_adam(pytest.MonkeyPatch(), int(sys.argv[2]), lambda: os.kill(os.getpid(), signal.SIGTERM))
run(test_train.train_script.main, sys.argv[3:])
"""


def test_sigterm_is_handled_as_ctrl_c_with_the_exit_status_of_sigterm(kla_root, reference_run, tmp_path):
    """As a batch scheduler or `docker stop` sends it: a train.py process gets SIGTERM half-way through the
    parameter updates of step 3 (epoch 2, step 1), finishes the step, saves it and says how to resume."""
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", TERMINATED_IN_STEP, str(Path(__file__).parent),
                             str(STEPS_PER_EPOCH + 1), *_args(kla_root, out)], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=300)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert f"--resume {out / 'last.npz'}" in result.stderr and "Traceback" not in result.stderr
    _assert_first_step_of_epoch_2_saved_and_resumed_exactly(out, reference_run)


def test_a_crash_inside_an_optimizer_step_saves_nothing_half_applied(kla_root, tmp_path, monkeypatch, capsys):
    """A crash half-way through the parameter updates of step 4 (epoch 2, step 2): last.npz stays at epoch 1."""
    _disturb_adam(monkeypatch, STEPS_PER_EPOCH + 2, _crash)
    out = tmp_path / "run"
    with pytest.raises(SimulatedCrash):
        train_script.main(_args(kla_root, out))
    assert "saved" not in capsys.readouterr().err
    state = read_checkpoint(out / "last.npz")
    assert state["epoch"] == 1 and state["progress"] is None  # the end of epoch 1, as saved then


def test_resume_with_another_nonlocal_mode_is_refused(reference_run):
    with pytest.raises(CheckpointError, match="--nonlocal is 'softmax' in the checkpoint but 'published'"):
        train_script.main(_resume(reference_run / "last.npz", "--nonlocal", "published"))


def test_a_run_folder_in_use_is_refused(kla_root, reference_run, tmp_path, capsys):
    """By a new run, and by a run resumed from elsewhere, which would mix two runs' files."""
    other = tmp_path / "other"
    assert train_script.main(_args(kla_root, other, 1, "--seed", "5")) == 0
    for argv in (_args(kla_root, reference_run), _resume(other / "last.npz", "--out", str(reference_run))):
        with pytest.raises(SystemExit) as exit_info:
            train_script.main(argv)
        assert exit_info.value.code == 2
        assert f"{reference_run} already holds a run" in capsys.readouterr().err
    assert read_checkpoint(reference_run / "last.npz")["config"]["seed"] == 0


def test_a_run_resumed_into_a_new_folder_brings_its_best_epoch_along(kla_root, reference_run, tmp_path, capsys,
                                                                      monkeypatch):
    """The best epoch came before the resume, so its best.npz and model.npz are copied over: every folder of a
    chain of resumes holds the whole run, and lists only files it has."""
    monkeypatch.setattr(training.Validator, "__call__", lambda self, model: ({**_FLAT_SCORES}, []))
    monkeypatch.setattr(training, "save_samples", lambda path, shown: None)
    source = reference_run
    for hop, epochs in (("moved", 3), ("moved_again", 4)):
        out = tmp_path / hop
        assert train_script.main(_resume(source / "last.npz", "--epochs", str(epochs), "--out", str(out))) == 0
        listed = [word for word in capsys.readouterr().out.split("best epoch")[1].split() if "/" in word]
        assert listed == [str(out / name) for name in ("model.npz", "best.npz", "last.npz", "log.csv", "curves.png",
                                                       "samples", "config.json")]
        _assert_same_weights(out / "model.npz", reference_run / "model.npz")
        source = out
    assert sorted(path.name for path in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]


def _ssim_scores_by_epoch(monkeypatch, scores):
    """Validation scores the given SSIM in each epoch, and every sample file holds its epoch's number."""
    epochs = iter(scores)
    monkeypatch.setattr(training.Validator, "__call__",
                        lambda self, model: ({**_FLAT_SCORES, "val_ssim": next(epochs)}, []))

    def save_samples(path, shown):
        path.parent.mkdir(exist_ok=True)
        path.write_text(path.stem)
    monkeypatch.setattr(training, "save_samples", save_samples)


def test_resuming_from_an_earlier_checkpoint_in_its_folder_is_refused_and_goes_on_in_another(
        kla_root, tmp_path, monkeypatch, capsys):
    """best.npz is epoch 2 of 3: resuming it in place would overwrite epoch 3. With --out the new folder starts
    with the run up to epoch 2 (checkpoints, log, samples) and goes on exactly as the first run did."""
    first = tmp_path / "first"
    _ssim_scores_by_epoch(monkeypatch, [0.1, 0.5, 0.2, 0.3])
    assert train_script.main(_args(kla_root, first, 3)) == 0
    assert read_checkpoint(first / "best.npz")["epoch"] == 2
    before = {name: (first / name).read_bytes() for name in ("last.npz", "log.csv", "best.npz")}
    with pytest.raises(SystemExit) as stop:
        train_script.main(_resume(first / "best.npz"))
    assert stop.value.code == 2
    message = capsys.readouterr().err
    assert "overwrite" in message and "--out NEWDIR" in message and f"{first / 'last.npz'}" in message
    assert {name: (first / name).read_bytes() for name in before} == before
    damaged = tmp_path / "damaged"  # a last.npz cut short is when one falls back to best.npz: the way out is named
    shutil.copytree(first, damaged)
    (damaged / "last.npz").write_bytes(before["last.npz"][:1000])
    with pytest.raises(SystemExit):
        train_script.main(_resume(damaged / "best.npz"))
    message = capsys.readouterr().err
    assert "cannot be read" in message and "--out NEWDIR" in message
    with pytest.raises(CheckpointError, match=re.escape(f"--resume {damaged / 'best.npz'} --out NEWDIR")):
        train_script.main(_resume(damaged / "last.npz"))

    second = tmp_path / "second"
    assert train_script.main(_resume(first / "best.npz", "--out", str(second), "--epochs", "2")) == 0
    assert _read_log(second / "log.csv")[1] == _read_log(first / "log.csv")[1][:2]
    assert sorted(path.name for path in (second / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert (second / "model.npz").exists() and json.loads((second / "config.json").read_text())["out"] == str(second)
    assert train_script.main(_resume(second / "last.npz", "--epochs", "3")) == 0
    _assert_same_weights(second / "last.npz", first / "last.npz")
    _assert_same_losses(second / "log.csv", first / "log.csv")


_FLAT_SCORES = {"val_psnr": 1.0, "val_ssim": 0.0, "val_affine_psnr": 1.0, "degraded_psnr": 1.0, "degraded_ssim": 0.0}


def test_size_native_trains_on_images_at_their_own_size_and_resumes_so(tmp_path, capsys):
    """On 40x40 images (no --size of the tests' runs), the logged PSNR of the degraded validation images is that of
    the files as they are; the run folder records no resize, and resuming keeps it."""
    side = SIDE + INPUT_MULTIPLE
    tree, out = _kla_tree(tmp_path / "kla", side), tmp_path / "run"
    argv = _args(tree, out, 1)
    argv[argv.index("--size") + 1] = "native"
    assert train_script.main(argv) == 0
    assert f"{PATCH}x{PATCH} patches of images at their own size" in capsys.readouterr().out
    files = [peak_signal_noise_ratio(clean, degraded, data_range=1)
             for degraded, clean in (_read_pair(tree, name) for name in VAL_NAMES)]
    assert _read_pair(tree, VAL_NAMES[0])[0].shape == (side, side, 3)
    assert float(_read_log(out / "log.csv")[1][0]["degraded_psnr"]) == pytest.approx(np.mean(files), rel=1e-4)
    assert json.loads((out / "config.json").read_text())["size"] is None

    with pytest.raises(CheckpointError, match=f"--size is native in the checkpoint but {side} was given"):
        train_script.main(_resume(out / "last.npz", "--size", str(side)))
    assert train_script.main(_resume(out / "last.npz", "--size", "native", "--layout", "auto",
                                              "--epochs", "2")) == 0
    assert len(_read_log(out / "log.csv")[1]) == 2 and json.loads((out / "config.json").read_text())["size"] is None


def test_runs_started_in_the_same_second_get_folders_of_their_own(kla_root, tmp_path, monkeypatch, capsys):
    class FrozenClock:
        @staticmethod
        def now():
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(training, "datetime", FrozenClock)
    monkeypatch.setattr(training, "RUNS_DIR", tmp_path / "runs")
    taken = tmp_path / "runs" / "20260102-030405"
    taken.mkdir(parents=True)  # another run of this second has claimed it, and written nothing yet
    argv = _args(kla_root, "unused", 1)
    assert train_script.main(argv[:argv.index("--out")]) == 0
    assert not any(taken.iterdir())
    assert (tmp_path / "runs" / "20260102-030405-2" / "last.npz").exists()
    assert f"run folder: {tmp_path / 'runs' / '20260102-030405-2'}" in capsys.readouterr().out


# ---- learning-rate schedules and fine-tuning ---------------------------------------------------

def _logged_lrs(out):
    return [float(row["lr"]) for row in _read_log(out / "log.csv")[1]]


def test_cosine_schedule_anneals_per_epoch_and_resumes_exactly_on_a_longer_run(kla_root, tmp_path):
    """Resuming a 1-epoch cosine run with --epochs 2 reshapes the schedule to 2 epochs, as if run so from the start."""
    uninterrupted, resumed = tmp_path / "uninterrupted", tmp_path / "resumed"
    assert train_script.main(_args(kla_root, uninterrupted, 2, "--lr-schedule", "cosine")) == 0
    assert _logged_lrs(uninterrupted) == pytest.approx([1e-3, 0.5e-3], rel=1e-12)  # cos(0), cos(pi/2)

    assert train_script.main(_args(kla_root, resumed, 1, "--lr-schedule", "cosine")) == 0
    assert read_checkpoint(resumed / "last.npz")["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.0, abs=1e-18)
    assert train_script.main(_resume(resumed / "last.npz", "--epochs", "2")) == 0
    assert _logged_lrs(resumed) == _logged_lrs(uninterrupted)
    _assert_same_weights(resumed / "last.npz", uninterrupted / "last.npz")


def test_a_constant_schedule_keeps_the_learning_rate(reference_run):
    assert _logged_lrs(reference_run) == [1e-3, 1e-3]
    assert json.loads((reference_run / "config.json").read_text())["lr_schedule"] == "constant"


def test_init_starts_a_new_run_from_the_checkpoints_weights(kla_root, reference_run, tmp_path, capsys):
    init = reference_run / "model.npz"
    mg.manual_seed(0)
    fresh = {name: np.array(value) for name, value in UNet(nonlocal_mode="softmax").state_dict().items()}
    assert any(not np.allclose(fresh[name], value) for name, value in _weights(init).items())  # can fail

    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, 1, "--init", str(init), "--lr", "1e-12")) == 0
    assert f"starting from the weights of {init}" in capsys.readouterr().out
    started, trained = _weights(init), _weights(out / "last.npz")
    for name, value in started.items():  # two Adam steps of 1e-12 cannot move a weight further than this
        np.testing.assert_allclose(trained[name], value, rtol=0, atol=1e-8, err_msg=name)
    state = read_checkpoint(out / "last.npz")
    assert state["epoch"] == 1 and len(state["history"]) == 1  # a new run: its own history, a fresh optimizer
    assert all(int(step) == STEPS_PER_EPOCH for step in
               (value["step"] for value in state["optimizer"]["state"].values()))
    assert json.loads((out / "config.json").read_text())["init"] == str(init)


def test_init_takes_the_nonlocal_mode_of_the_checkpoint(kla_root, tmp_path):
    published = tmp_path / "published.npz"
    mg.manual_seed(1)
    save_checkpoint(published, UNet(nonlocal_mode="published"))
    out = tmp_path / "run"
    assert train_script.main(_args(kla_root, out, 1, "--init", str(published))) == 0
    assert json.loads((out / "config.json").read_text())["nonlocal_mode"] == "published"
    assert load_model(out / "model.npz")[0].config()["nonlocal_mode"] == "published"


def test_init_with_another_nonlocal_mode_with_resume_or_from_a_bad_file_is_one_line(reference_run, tmp_path):
    init = str(reference_run / "model.npz")
    _assert_one_line_error(_cli("--init", init, "--nonlocal", "published", "--out", str(tmp_path / "a"), cwd=tmp_path),
                           2, "'softmax' non-local mode", "--nonlocal softmax")
    variants = {"no_attention": UNet(attention=False), "no_nonlocal": UNet(nonlocal_mode=None),
                "grayscale": UNet(in_channels=1, out_channels=1)}
    for name, variant in variants.items():
        save_checkpoint(tmp_path / f"{name}.npz", variant)
        _assert_one_line_error(_cli("--init", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / "b"), cwd=tmp_path),
                               2, "attention and a non-local block")
    _assert_one_line_error(_cli("--init", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "c"), cwd=tmp_path),
                           2, "missing.npz", "does not exist")
    for resume in (reference_run / "last.npz", tmp_path / "missing.npz"):  # the conflict first, whatever the files
        result = _cli("--init", init, "--resume", str(resume), cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "--resume continues a run and --init starts a new one" in result.stderr
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c"))


# ---- divergence -------------------------------------------------------------------------------

def _nan_loss(total, parts):
    return total * float("nan"), parts


def test_a_non_finite_loss_stops_the_run_and_is_never_saved(kla_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setattr(training, "RestorationLoss", LossSpy(at=STEPS_PER_EPOCH + 1, action=_nan_loss))
    assert train_script.main(_args(kla_root, out)) == train_script.EXIT_DIVERGED
    message = capsys.readouterr().err
    assert "non-finite loss in epoch 2, step 1" in message and "loss=nan" in message and "charbonnier=" in message
    assert f"{out / 'last.npz'} keeps the last good state" in message
    state = read_checkpoint(out / "last.npz")
    assert state["epoch"] == 1 and state["progress"] is None
    assert all(np.isfinite(value).all() for value in state["model"].values())


def test_a_non_finite_loss_in_the_first_epoch_says_nothing_was_saved(kla_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setattr(training, "RestorationLoss", LossSpy(at=1, action=_nan_loss))
    assert train_script.main(_args(kla_root, out)) == train_script.EXIT_DIVERGED
    assert "nothing was saved, as no epoch had finished" in capsys.readouterr().err
    assert not (out / "last.npz").exists()


def test_a_non_finite_loss_in_a_replayed_cuda_graph_stops_the_run_before_the_update(kla_root, tmp_path, gpu_path,
                                                                                     capsys):
    """A graph's replay computes the loss before Adam runs, so the check on the host still comes between them."""
    batches = training.Loader._batches

    def with_a_nan_pixel_in_epoch_2_step_2(loader, epoch):
        for step, batch in enumerate(batches(loader, epoch)):
            if (epoch, step) == (1, 1):
                batch["degraded"][0, 0, 0, 0] = np.nan
            yield batch

    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training.Loader, "_batches", with_a_nan_pixel_in_epoch_2_step_2)
        assert _gpu_run(kla_root, out, 2, status=train_script.EXIT_DIVERGED) == 3  # steps 2 to 4 replayed
    assert "non-finite loss in epoch 2, step 2" in capsys.readouterr().err
    state = read_checkpoint(out / "last.npz")
    assert state["epoch"] == 1 and all(np.isfinite(value).all() for value in state["model"].values())


def _out_of_memory(*_):
    raise MemoryError("Unable to allocate 1.00 GiB for an array with shape (268435456,) and data type float32")


def test_a_step_out_of_memory_keeps_the_steps_done_and_names_what_needs_less(kla_root, tmp_path, monkeypatch,
                                                                            capsys):
    out = tmp_path / "run"
    monkeypatch.setattr(training, "RestorationLoss", LossSpy(at=STEPS_PER_EPOCH + 2, action=_out_of_memory))
    assert train_script.main(_args(kla_root, out)) == train_script.EXIT_USER_ERROR
    message = capsys.readouterr().err
    assert "error: the CPU ran out of memory in a training step on a batch of 2 at 16x16 (Unable to allocate" in message
    assert "what needs less: a smaller --batch-size, --patch-size or --recompute-activations" in message
    assert f"resume with: python train.py --resume {out / 'last.npz'}" in message
    progress = read_checkpoint(out / "last.npz")["progress"]
    assert (progress["epoch"], progress["step"]) == (1, 1)


def test_a_replayed_step_out_of_memory_names_the_graphs_memory_too(kla_root, tmp_path, gpu_path, monkeypatch, capsys):
    replay = mg.cuda.CUDAGraph.replay
    replays = []

    def second_replay_out_of_memory(graph):
        replays.append(graph)
        if len(replays) == 2:
            _out_of_memory()
        replay(graph)

    monkeypatch.setattr(mg.cuda.CUDAGraph, "replay", second_replay_out_of_memory)
    assert _gpu_run(kla_root, tmp_path / "run", 2, status=train_script.EXIT_USER_ERROR) == 2
    message = capsys.readouterr().err
    assert "error: the GPU ran out of memory" in message
    assert "or --no-cuda-graphs (a CUDA graph holds one step's memory of its own)" in message


@pytest.mark.parametrize("poisoned_after_step, message", [
    (STEPS_PER_EPOCH, "parameter"),  # found before the epoch's checkpoint is written
    (1, "non-finite loss in epoch 1, step 2"),  # the next step's forward pass goes through the infinite weight
])
def test_non_finite_weights_are_never_saved_and_only_the_runs_own_message_says_so(
        poisoned_after_step, message, kla_root, tmp_path, monkeypatch, capsys):
    real_step, calls = mg.optim.Adam.step, []

    def poisoning_step(self):  # a finite loss, then an infinite weight
        real_step(self)
        calls.append(1)
        if len(calls) == poisoned_after_step:
            self.param_groups[0]["params"][0].data[...] = np.inf

    monkeypatch.setattr(mg.optim.Adam, "step", poisoning_step)
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert train_script.main(_args(kla_root, out, epochs=1)) == train_script.EXIT_DIVERGED
    assert [str(warning.message) for warning in shown] == []  # none of NumPy's "invalid value encountered in ..."
    error = capsys.readouterr().err
    assert message in error and "NaN or infinite" in error
    assert not any((out / name).exists() for name in ("last.npz", "best.npz", "model.npz"))


# ---- user errors, as a user sees them --------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, str(REPO_ROOT / "train.py"), *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)


def _assert_one_line_error(result, code, *phrases):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for phrase in phrases:
        assert phrase in lines[0]


@pytest.mark.parametrize("argv, phrase", [
    (["--epochs", "0"], "argument --epochs: must be positive, got 0"),
    (["--size", "4"], "argument --size: must be at least 8 (the network halves an image three times), got 4"),
    (["--patch-size", "100"], "--patch-size must be a multiple of 8, got 100"),
    (["--size", "64", "--patch-size", "96"], "--patch-size 96 does not fit in images resized to --size 64"),
    (["--size", "64"], "--patch-size 96 (the quick preset's) does not fit in images resized to --size 64"),
    (["--data", "photos", "--degraded", "noisy", "--clean", "clean"], "pass either --data or --degraded, not both"),
    (["--seed", "-1"], "argument --seed: must be 0 or more, got -1"),
    (["--lr", "nan"], "argument --lr: must be finite and positive, got nan"),
    (["--lr", "inf"], "argument --lr: must be finite and positive, got inf"),
    (["--size", "big"], "argument --size: must be a number of pixels or native, got big"),
    (["--size", "native", "--preset", "paper"], "whole images of different sizes cannot share a batch"),
])
def test_impossible_options_are_usage_errors_before_anything_is_written(argv, phrase, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        train_script.main([*argv, "--out", str(tmp_path / "run")])
    assert stop.value.code == 2
    assert f"train.py: error: {phrase}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv", [["--patch-size", "8", "--size", "64"], ["--size", "8", "--preset", "paper"]])
def test_crops_too_small_for_the_ssim_loss_are_refused_naming_the_smallest_it_scores(argv, tmp_path, capsys):
    """8 px passes the network's own rule (a multiple of 8) but not the loss's: the size named is one the loss
    scores, and the next smaller multiple of 8 is not."""
    with pytest.raises(SystemExit) as stop:
        train_script.main([*argv, "--out", str(tmp_path / "run")])
    assert stop.value.code == 2
    smallest = int(re.search(rf"{argv[0]} 8 is smaller .* pass {argv[0]} (\d+) or more", capsys.readouterr().err)[1])
    assert not (tmp_path / "run").exists()

    def loss_of(side):
        images = mg.tensor(np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32))
        return RestorationLoss()(images, images)[0]
    assert smallest % INPUT_MULTIPLE == 0 and math.isfinite(loss_of(smallest).item())
    with pytest.raises(Exception):
        loss_of(smallest - INPUT_MULTIPLE)


def test_missing_data_folder_is_one_line_and_exit_2(tmp_path):
    result = _cli("--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), cwd=tmp_path)
    _assert_one_line_error(result, 2, "nowhere", "does not exist")


def test_resuming_from_a_file_that_is_not_a_training_checkpoint_is_exit_2(tmp_path):
    bare = tmp_path / "weights.npz"
    mg.save({"conv.weight": np.zeros((2, 2), np.float32)}, bare)
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint")
    for path in (bare, text):
        _assert_one_line_error(_cli("--resume", str(path), cwd=tmp_path), 2, str(path))


def test_unreadable_images_are_skipped_wherever_they_are(tmp_path):
    """First in the training set (which tells whether there are targets) or in validation; and all of
    the validation set unreadable is an error before any training, not after an epoch."""
    tree = tmp_path / "kla"
    _kla_tree(tree)
    val_degraded = tree / "widget" / "Val" / "Degraded_image" / "scratch"
    for path in (tree / "widget" / "Train" / "Degraded_image" / "scratch" / "000.png", val_degraded / "010.png"):
        path.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match=r"000\.png.*skipped"), \
            pytest.warns(UserWarning, match=r"010\.png.*left out of validation"):
        assert train_script.main(_args(tree, tmp_path / "run", 1)) == 0
    (val_degraded / "011.png").write_bytes(b"truncated")
    with pytest.raises(DataError, match="none of the 2 validation images could be read"), \
            pytest.warns(UserWarning, match="left out of validation"):
        train_script.main(_args(tree, tmp_path / "run2", 1))
    assert not (tmp_path / "run2").exists()


def test_degradation_for_data_that_come_degraded_is_an_error(kla_root, tmp_path):
    with pytest.raises(DataError, match="--degradation applies to clean images degraded on the fly"):
        train_script.main(_args(kla_root, tmp_path / "run", 1, "--degradation", "noise"))
    assert not (tmp_path / "run").exists()


def test_an_out_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "notes").write_text("not a folder")
    result = _cli("--size", "32", "--patch-size", "16", "--out", str(tmp_path / "notes"), cwd=tmp_path)
    _assert_one_line_error(result, 2, f"--out {tmp_path / 'notes'} is a file, not a folder")


@pytest.mark.skipif(mg.gpu_available(), reason="a GPU is present here")
def test_gpu_without_a_gpu_is_one_line_and_non_zero(tmp_path):
    result = _cli("--device", "gpu", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode != 0
    _assert_one_line_error(result, result.returncode, "CuPy", 'pip install -e ".[gpu]"')
    assert not (tmp_path / "run").exists()


HELD_IMPORT = """
import runpy, sys, time, types
class Loading(types.ModuleType):
    def __getattr__(self, name):
        print("loading", flush=True)
        time.sleep(60)
sys.modules["data"] = Loading("data")
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def _start_while_loading(script, cwd, ctrl_c_ignored=False):
    """The script with its first import held up (as a slow disk or a cold cache does), once it is there."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ctrl_c_ignored else None
    process = subprocess.Popen([sys.executable, "-c", HELD_IMPORT, str(REPO_ROOT / script)], cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ignore)
    assert process.stdout.readline() == "loading\n"
    return process


@pytest.mark.parametrize("script", ["train.py", "evaluate.py"])
def test_ctrl_c_while_the_libraries_load_exits_quietly(script, tmp_path):
    process = _start_while_loading(script, tmp_path)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and stderr == ""


def test_ctrl_c_stays_ignored_where_it_was(tmp_path):
    """A background job of a shell script inherits Ctrl-C ignored: the script's Ctrl-C must not stop it."""
    process = _start_while_loading("train.py", tmp_path, ctrl_c_ignored=True)
    try:
        process.send_signal(signal.SIGINT)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=1)
    finally:
        process.kill()
        process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda signum: signum.name)
def test_a_stop_signal_inherited_ignored_stays_ignored_by_the_command_line_runner(signum):
    code = ("import os, signal, sys\n"
            f"signal.signal({int(signum)}, signal.SIG_IGN)\n"
            "from unet.cli import run\n"
            f"run(lambda argv: os.kill(os.getpid(), {int(signum)}) or 0)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0 and result.stderr == ""


def test_the_command_line_runner_works_off_the_main_thread():
    """Only the main thread can handle signals: elsewhere (a notebook's worker, a GUI) run() leaves them be."""
    from unet import cli
    outcome = []

    def call():
        try:
            cli.run(lambda argv: 0)
        except SystemExit as done:
            outcome.append(done.code)
        except Exception as err:
            outcome.append(err)
    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    assert outcome == [0]


def test_each_epochs_samples_are_spread_over_validation_and_carry_their_scores():
    """The triptych's rows come from across the validated images (not the first few, often one category),
    each labelled with its own PSNR and SSIM and its input's."""
    import data

    dataset = data.open_dataset("builtin", split="val", size=16)
    mg.manual_seed(0)
    validator = training.Validator(dataset, limit=8)
    _, shown = validator(UNet())
    names = [dataset.load(index)["name"] for index in validator.indices]
    assert len(shown) == training.SAMPLES_SHOWN
    assert [label.split("\n")[0] for *_, label in shown] == [names[0], names[4], names[7]]
    assert len({name.split("/")[0] for name in (names[0], names[4], names[7])}) == 3  # three categories
    for degraded, restored, clean, label in shown:
        restored_psnr = peak_signal_noise_ratio(clean, restored, data_range=1.0)
        degraded_psnr = peak_signal_noise_ratio(clean, degraded, data_range=1.0)
        assert f"\n{restored_psnr:.2f} dB, SSIM " in label and f"(input {degraded_psnr:.2f} dB, SSIM " in label


def test_charts_are_drawn_beside_training_and_an_error_in_them_still_ends_the_run(kla_root, tmp_path, monkeypatch):
    """Each epoch's charts are drawn on a thread of their own while the next epoch trains; the run ends with
    their error (here a read-only file), and the checkpoints of the epochs trained are kept."""
    drawn_on = []

    def plot_curves(rows, path):
        drawn_on.append((threading.current_thread().name, len(rows)))
        raise PermissionError(f"{path} is read-only")

    monkeypatch.setattr(training, "plot_curves", plot_curves)
    with pytest.raises(PermissionError, match="curves.png is read-only"):
        train_script.main(_args(kla_root, tmp_path / "run", 2))
    assert [name.startswith("charts") for name, _ in drawn_on] == [True] and drawn_on[0][1] == 1
    assert read_checkpoint(tmp_path / "run" / "last.npz")["epoch"] == 2  # the error surfaced at epoch 2's charts


def test_validation_scores_the_degraded_inputs_once(monkeypatch):
    """They are the same every epoch, so later epochs reuse their scores, which are the first epoch's."""
    import data

    dataset = data.open_dataset("builtin", split="val", size=16)
    mg.manual_seed(0)
    validator, model = training.Validator(dataset, limit=4), UNet()
    first, _ = validator(model)
    scored = []
    ssim_with_masked = metrics.ssim_with_masked
    monkeypatch.setattr(metrics, "ssim_with_masked", lambda pred, *rest, **kw: scored.append(pred) or
                        ssim_with_masked(pred, *rest, **kw))
    second, _ = validator(model)
    assert len(scored) == len(validator) == 4  # the restored images alone
    assert second == first


def test_an_mvtec_run_from_before_name_seeding_is_not_resumed_on_other_inputs(tmp_path, capsys):
    """Its images were degraded by their place in the folder then: resuming would change them mid-run, so it
    is refused with the way on (--init); a run of this version resumes."""
    root = tmp_path / "mvtec" / "part"
    for split, defect, count in (("train", "good", 4), ("test", "good", 2)):
        for index in range(count):
            _write_png(root / split / defect / f"{index:03d}.png",
                       np.random.default_rng(index).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))
    out = tmp_path / "run"
    assert train_script.main(_args(tmp_path / "mvtec", out, 1)) == 0
    assert json.loads((out / "config.json").read_text())["data_version"] == training.DATA_VERSION
    state = read_checkpoint(out / "last.npz")
    del state["config"]["data_version"]  # as a checkpoint written before the field was
    mg.save(state, out / "last.npz")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        train_script.main(_resume(out / "last.npz", "--epochs", "2"))
    assert stop.value.code == 2 and f"--init {out / 'last.npz'}" in capsys.readouterr().err
    state["config"]["data_version"] = training.DATA_VERSION
    mg.save(state, out / "last.npz")
    assert train_script.main(_resume(out / "last.npz", "--epochs", "2")) == 0
