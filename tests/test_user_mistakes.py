"""What train.py, evaluate.py and python -m unet.explain tell a user who asks for something that cannot work:
one line on stderr and exit status 2, before any work is done, naming what to change.

Oracles: the files on disk (nothing created, every image listed), and for the authors' released weights, restore()
with the released state dict loaded by hand.
"""
import subprocess

import numpy as np
import pytest
from PIL import Image

import minigrad as mg
from data import DataError, datasets, open_dataset
from unet import UNet, explain, restore, training
from unet.checkpoint import save_checkpoint
from unet.training import DEFAULTS, PRESETS, ConfigError, resolve_options

from conftest import RELEASED_WEIGHTS, load_script

train_script = load_script("train")
evaluate_script = load_script("evaluate")


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _noise(height, width, *channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, *channels)).astype(np.uint8)


def _run(script, argv, capsys):
    """A command's entry point run in this process -> (exit status, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        script.run(script.main, [str(arg) for arg in argv])
    return exit_info.value.code, capsys.readouterr().err


def _assert_one_line(stderr, *phrases):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert all(phrase in lines[0] for phrase in phrases), stderr


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be written in, even by root: immutable (chattr +i), where the file system allows it."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    try:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    except FileNotFoundError:
        made = False
    if not made:
        pytest.skip("chattr +i is not available here (not root, or a file system without immutable folders)")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)


def _commands(tmp_path, monkeypatch):
    """Each command with an input it accepts, and what it does first once the output folder has been checked,
    made to fail the test: an --out that cannot be used must be refused before it."""
    photos = tmp_path / "photos"
    _write(photos / "a.png", _noise(16, 16, 3))
    _write(tmp_path / "clean" / "a.png", _noise(16, 16, 3))
    _write(tmp_path / "clean" / "b.png", _noise(16, 16, 3))

    def too_late(*args, **kwargs):
        pytest.fail("work began before the output folder was checked")

    monkeypatch.setattr(training, "open_datasets", too_late)
    monkeypatch.setattr(evaluate_script, "load_model", too_late)
    monkeypatch.setattr(explain, "read_input", too_late)
    return {"train": (train_script, ["--clean", tmp_path / "clean", "--size", 16, "--patch-size", 16]),
            "evaluate": (evaluate_script, ["--degraded", photos]),
            "explain": (explain, ["--image", photos / "a.png", "--size", 16])}


@pytest.mark.parametrize("command", ["train", "evaluate", "explain"])
def test_an_out_where_a_file_is_or_above_it_is_one_line_before_any_work(command, tmp_path, monkeypatch, capsys):
    """evaluate.py used to say '[Errno 17] File exists', and every command '[Errno 20] Not a directory' for an --out
    below a file, once the model and data were loaded (train.py: with the data read)."""
    script, argv = _commands(tmp_path, monkeypatch)[command]
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    for out, phrase in ((notes, f"--out {notes} is a file, not a folder"),
                        (notes / "run", f"--out {notes / 'run'} cannot be made: {notes} is a file")):
        status, stderr = _run(script, [*argv, "--out", out], capsys)
        assert status == 2
        _assert_one_line(stderr, phrase)


@pytest.mark.parametrize("command", ["train", "evaluate", "explain"])
def test_an_out_that_cannot_be_written_is_one_line_before_any_work(command, read_only_folder, tmp_path, monkeypatch,
                                                                    capsys):
    """It used to be found when the first file was written: after an epoch, or an image restored."""
    script, argv = _commands(tmp_path, monkeypatch)[command]
    for out in (read_only_folder, read_only_folder / "run"):
        status, stderr = _run(script, [*argv, "--out", out], capsys)
        assert status == 2
        _assert_one_line(stderr, f"--out {out} cannot be written")


@pytest.mark.parametrize("folder", ["clean", "photos"])
def test_a_run_folder_inside_an_input_folder_is_refused(folder, tmp_path, monkeypatch, capsys):
    """The epochs' samples and curves.png written there used to be read as training images when the run was
    resumed (or by the next run): without a word from --clean alone, as unpaired images beside --degraded."""
    _commands(tmp_path, monkeypatch)
    out = tmp_path / folder / "run"
    status, stderr = _run(train_script, ["--degraded", tmp_path / "photos", "--clean", tmp_path / "clean",
                                         "--out", out], capsys)
    assert status == 2
    flag = "--clean" if folder == "clean" else "--degraded"
    _assert_one_line(stderr, f"--out {out} and {flag} {tmp_path / folder} overlap")


@pytest.mark.parametrize("with_data", [False, True])
def test_masks_without_the_images_they_belong_to_say_so(with_data, tmp_path):
    """--masks alone, or beside --data, used to be told that the folders layout needs --degraded DIR."""
    with pytest.raises(DataError, match="--masks DIR holds the masks of the images in --degraded DIR, or --clean DIR "
                                        "alone: pass one of them too"):
        open_dataset(data=tmp_path if with_data else "builtin", masks_dir=tmp_path)


@pytest.mark.parametrize("script", [train_script, evaluate_script], ids=["train", "evaluate"])
def test_the_same_folder_as_degraded_and_clean_is_one_line(script, tmp_path, capsys):
    """Each image would be its own target: evaluate.py scored the inputs as perfect, train.py learned the identity."""
    _write(tmp_path / "images" / "a.png", _noise(16, 16, 3))
    folder = tmp_path / "images"
    status, stderr = _run(script, ["--degraded", folder, "--clean", tmp_path / "." / "images", "--out",
                                   tmp_path / "out"], capsys)
    assert status == 2
    _assert_one_line(stderr, "--degraded and --clean are the same folder")

def _folders_run_config():
    """The options a train.py run on --degraded/--clean folders records (data None: it used none)."""
    return {**DEFAULTS, **PRESETS["quick"], "data": None, "layout": "folders", "degraded": "noisy", "clean": "clean"}


def test_data_beside_degraded_folders_is_refused_not_ignored(tmp_path, monkeypatch, capsys):
    """--data builtin (or a folder) with --degraded/--clean used to be dropped without a word: the run trained on
    the folders. evaluate.py refuses it; so does train.py now, and names the flags to pass on a resume."""
    monkeypatch.setattr(training, "open_datasets", lambda options: pytest.fail("the data were opened"))
    status, stderr = _run(train_script, ["--data", "builtin", "--degraded", tmp_path, "--clean", tmp_path,
                                         "--out", tmp_path / "run"], capsys)
    assert status == 2 and "Traceback" not in stderr
    assert stderr.splitlines()[-1] == "train.py: error: pass either --data or --degraded, not both"  # below the usage
    with pytest.raises(ConfigError, match="pass either --data or --clean, not both"):
        resolve_options({"data": str(tmp_path), "clean": str(tmp_path)})
    with pytest.raises(ConfigError, match="run/last.npz trained on --degraded folders: to point it where they are "
                                          "now, pass --degraded and --clean rather than --data"):
        resolve_options({"resume": "run/last.npz", "data": "builtin"}, _folders_run_config())
    moved = resolve_options({"resume": "run/last.npz", "degraded": "moved"}, _folders_run_config())
    assert moved["degraded"] == "moved"


def test_a_resumed_run_whose_folders_moved_names_the_flags_that_point_it_there(tmp_path, monkeypatch, capsys):
    """It used to say only that the folder does not exist, not that --degraded may point the run at its new place."""
    monkeypatch.setattr(training, "open_datasets", lambda options: pytest.fail("the data were opened"))
    gone, run = tmp_path / "moved-away", tmp_path / "run"
    run.mkdir()
    model = UNet()
    save_checkpoint(run / "last.npz", model, mg.optim.Adam(model.parameters()),
                    config={**_folders_run_config(), "degraded": str(gone / "noisy"), "clean": str(gone / "clean")})
    (tmp_path / "clean").mkdir()
    status, stderr = _run(train_script, ["--resume", run, "--clean", tmp_path / "clean"], capsys)  # clean has moved
    assert status == 2
    _assert_one_line(stderr, f"--degraded {gone / 'noisy'}, where {run / 'last.npz'} found its images, no longer "
                             "exists: if they have moved, pass --degraded with their new place")


def _kla_tree(root):
    """A folder detected as the KLA layout (its images are not read)."""
    (root / "widget" / "Train" / "GT_clean_image").mkdir(parents=True)
    return root


@pytest.mark.parametrize("trained_on, given, phrase", [
    ("builtin", lambda tmp_path: ["--data", _kla_tree(tmp_path / "kla")], "the built-in data, but KLA data"),
    ("builtin", lambda tmp_path: ["--clean", tmp_path / "clean"], "the built-in data, but clean images degraded on "
                                                                   "the fly"),
    ("kla", lambda tmp_path: ["--data", "builtin"], "KLA data, but the built-in data"),
    ("kla", lambda tmp_path: ["--degraded", tmp_path / "noisy", "--clean", tmp_path / "clean"], "KLA data, but paired "
                                                                                                 "folders"),
])
def test_a_run_resumed_on_another_kind_of_data_names_both_before_reading_them(trained_on, given, phrase, tmp_path,
                                                                               monkeypatch, capsys):
    """A run on the built-in data resumed with --data FOLDER used to train on the built-in data again, and
    config.json to record the folder; the others were told of a --layout they had not passed, or that --data and
    --clean do not go together when only --clean was."""
    monkeypatch.setattr(training, "open_datasets", lambda options: pytest.fail("the data were opened"))
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "clean").mkdir(), (tmp_path / "noisy").mkdir()
    data = {"builtin": ("builtin", "kla"), "kla": (str(_kla_tree(tmp_path / "trained-on")), None)}[trained_on]
    config = {**DEFAULTS, **PRESETS["quick"], "layout": trained_on, "data": data[0], "degradation": data[1],
              "data_version": training.DATA_VERSION}
    model = UNet()
    save_checkpoint(run / "last.npz", model, mg.optim.Adam(model.parameters()), config=config)
    status, stderr = _run(train_script, ["--resume", run, *given(tmp_path), "--epochs", 2], capsys)
    assert status == 2
    _assert_one_line(stderr, f"{run / 'last.npz'} trained on {phrase}", f"--init {run / 'last.npz'}")


@pytest.mark.parametrize("given, phrase", [(["--data", "images"], "--layout builtin reads no files: drop --data images"),
                                           (["--clean", "images"], "--layout builtin reads no files; --degraded and "
                                                                   "--clean DIR are the folders layout")])
def test_a_folder_beside_layout_builtin_is_refused_not_ignored(given, phrase, tmp_path, monkeypatch, capsys):
    """--layout builtin --data FOLDER used to train on the built-in data without a word, and --clean DIR beside it
    to be told that --layout builtin reads --data FOLDER."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "images" / "a.png", _noise(16, 16, 3))
    status, stderr = _run(train_script, ["--layout", "builtin", *given, "--out", tmp_path / "run"], capsys)
    assert status == 2
    _assert_one_line(stderr, phrase)
    assert not (tmp_path / "run").exists()

def test_evaluate_takes_size_native_as_train_does():
    """--size native, copied from a train.py command, used to be a usage error ("invalid int value")."""
    assert evaluate_script.parse_args(["--size", "native"]).size is None
    assert evaluate_script.parse_args(["--size", "64"]).size == 64


@pytest.mark.parametrize("crop, side, listed, kept, advice", [
    (["--patch-size", "24"], 24, ["odd (23x17)", "strip (40x12)", "tiny (3x5)"], ["square"],
     "crops of --patch-size 24 do not fit in them"),
    ([], 96, ["odd (23x17)", "square (24x24)", "strip (40x12)", "tiny (3x5)"], [],
     "crops of --patch-size 96 (the quick preset's) do not fit in them"),
    (["--preset", "paper"], 16, ["strip (40x12)", "tiny (3x5)"], ["square", "odd"],  # whole: 16 px once cut to 8s
     "whole images train at sides of at least 16 px"),
])
def test_training_images_too_small_for_the_crops_are_all_listed_before_training(crop, side, listed, kept, advice,
                                                                                  tmp_path, capsys):
    """They used to stop the run at the first such image the loader met, hours in (the others one run after
    another), with a run folder made. A crop size the user did not pass is named as the preset's."""
    sizes = {"a-validates": (5, 5), "square": (24, 24), "odd": (17, 23), "strip": (12, 40), "tiny": (5, 3)}
    for name, (height, width) in sizes.items():  # the first of every 10 validates, whole, at any size
        _write(tmp_path / "clean" / f"{name}.png", _noise(height, width, 3))
    (tmp_path / "clean" / "broken.png").write_bytes(b"not a png")  # named when read, not here
    out = tmp_path / "run"
    status, stderr = _run(train_script, ["--clean", tmp_path / "clean", "--size", "native", "--batch-size", "1",
                                         *crop, "--out", out], capsys)
    assert status == 2
    _assert_one_line(stderr, f"{len(listed)} training image(s) with a side below {side} px: {', '.join(listed)}",
                     advice, "--size")
    assert not any(name in stderr for name in ["a-validates", "broken", *kept])
    assert not out.exists()


def test_training_images_none_of_which_can_be_read_say_why(tmp_path, capsys):
    """It used to say only that none could be read, where the validation images are named one by one."""
    folder = tmp_path / "clean"
    folder.mkdir()
    for name in ("a", "b", "c"):  # a validates
        (folder / f"{name}.png").write_bytes(b"not a png")
    status, stderr = _run(train_script, ["--clean", folder, "--out", tmp_path / "run"], capsys)
    assert status == 2
    _assert_one_line(stderr, "none of the 2 training images could be read",
                     f"cannot read image {folder / 'b.png'}: cannot identify image file")

@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_images_resized_beyond_the_memory_are_one_line(command, tmp_path, monkeypatch, capsys):
    """A --size with a zero too many (20000: 4.5 GiB an image) used to end in MemoryError's traceback."""
    def resize_image(image, size):
        raise MemoryError(f"Unable to allocate 4.47 GiB for an array with shape ({size}, {size}, 3) and data type "
                          "float32")
    monkeypatch.setattr(datasets, "resize_image", resize_image)
    for name in ("a", "b"):
        _write(tmp_path / "clean" / f"{name}.png", _noise(16, 16, 3))
    script = {"train": train_script, "evaluate": evaluate_script}[command]
    status, stderr = _run(script, ["--clean", tmp_path / "clean", "--size", 20000, "--out", tmp_path / "out"], capsys)
    assert status == 2 and "Traceback" not in stderr
    last = stderr.splitlines()[-1]  # below evaluate.py's progress bar, which had started
    assert last.startswith("error: out of memory (Unable to allocate 4.47 GiB") and "a smaller --size" in last

@pytest.mark.skipif(not RELEASED_WEIGHTS.exists(), reason=f"no released weights at {RELEASED_WEIGHTS}")
def test_the_released_weights_restore_each_image_at_its_own_size_and_mode(tmp_path, capsys):
    """The authors' .pth, a bare state dict, is read by evaluate.py --checkpoint in their non-local mode."""
    photos = {"gray.png": _noise(13, 9), "rgba.png": _noise(10, 21, 4, seed=1)}
    for name, pixels in photos.items():
        _write(tmp_path / "photos" / name, pixels)
    status, _ = _run(evaluate_script, ["--checkpoint", RELEASED_WEIGHTS, "--degraded", tmp_path / "photos",
                                       "--out", tmp_path / "out"], capsys)
    assert status == 0
    model = UNet(nonlocal_mode="published")
    model.load_state_dict(mg.load(RELEASED_WEIGHTS))
    model.eval()
    for name, pixels in photos.items():
        with Image.open(tmp_path / "out" / "restored" / name) as image, Image.open(tmp_path / "photos" / name) as photo:
            assert image.mode == photo.mode
            restored = np.asarray(image)
        if pixels.ndim == 3:
            assert np.array_equal(restored[..., 3], pixels[..., 3])  # alpha is kept as it was
            restored, pixels = restored[..., :3], pixels[..., :3]
        assert np.abs(restored.astype(int) - restore(model, pixels).astype(int)).max() <= 1
