"""More of what train.py, evaluate.py and python -m unet.explain tell a user: options that parse but do not go
together are one line without the usage text, an --out that is a broken link is one line, names the charts' font
cannot draw do not flood stderr, and a bare state dict read in a non-local mode that is a guess, or known to be
wrong, says so.

Oracles: the font's own character map, the files on disk, and for the released weights the file itself.
"""
import warnings

import pytest

import minigrad as mg
from unet import UNet
from unet.checkpoint import RELEASED_WEIGHTS_FINGERPRINT, load_model, weights_fingerprint

from conftest import RELEASED_WEIGHTS
from test_user_mistakes import _assert_one_line, _commands, _noise, _run, _write, evaluate_script, train_script


@pytest.mark.parametrize("script, argv, phrase", [
    (train_script, ["--size", 64, "--patch-size", 96], "train.py: error: --patch-size 96 does not fit in images "
                                                       "resized to --size 64"),
    (evaluate_script, ["--compare-torch", "--self-ensemble"], "--compare-torch checks the network itself"),
], ids=["train", "evaluate"])
def test_options_that_do_not_go_together_are_one_line_without_the_usage(script, argv, phrase, tmp_path, capsys):
    """They used to print argparse's usage text above the line, as if the command line were misspelt."""
    status, stderr = _run(script, [*argv, "--out", tmp_path / "run"], capsys)
    assert status == 2
    _assert_one_line(stderr, phrase)
    assert not (tmp_path / "run").exists()
    status, stderr = _run(script, ["--no-such-option"], capsys)  # a misspelt command line keeps the usage
    assert status == 2 and stderr.startswith("usage:") and "unrecognized arguments: --no-such-option" in stderr


@pytest.mark.parametrize("command", ["train", "evaluate", "explain"])
def test_an_out_that_is_a_broken_link_or_below_one_is_one_line_before_any_work(command, tmp_path, monkeypatch,
                                                                                capsys):
    """Every command used to say '[Errno 17] File exists' (train.py with its data read); a loop of links gave a
    RuntimeError from Path.resolve."""
    script, argv = _commands(tmp_path, monkeypatch)[command]
    gone, loop = tmp_path / "gone" / "runs", tmp_path / "loop"
    (tmp_path / "link").symlink_to(gone)
    loop.symlink_to(loop)
    for link, target in ((tmp_path / "link", gone), (loop, loop)):
        status, stderr = _run(script, [*argv, "--out", link], capsys)
        assert status == 2
        _assert_one_line(stderr, f"--out {link} is a broken symbolic link (to {target})")
        status, stderr = _run(script, [*argv, "--out", link / "run"], capsys)
        assert status == 2
        _assert_one_line(stderr, f"--out {link / 'run'} cannot be made: {link} is a broken symbolic link")
    assert not gone.parent.exists()


def test_an_input_folder_that_is_a_loop_of_links_is_named_in_one_line(tmp_path, capsys):
    """The check that --out lies outside the input folders resolved them, which raised RuntimeError on a loop."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    _write(tmp_path / "degraded" / "a.png", _noise(16, 16, 3))
    for degraded, clean, missing in ((loop, loop, "degraded"), (tmp_path / "degraded", loop, "clean")):
        status, stderr = _run(evaluate_script, ["--degraded", degraded, "--clean", clean,
                                                "--out", tmp_path / "out"], capsys)
        assert status == 2
        _assert_one_line(stderr, f"{missing} folder {loop} does not exist")


def test_names_the_charts_font_lacks_are_charted_without_a_warning_each(tmp_path, capsys):
    """Each CJK character (and emoji) of a category's name used to print "Glyph ... missing from font(s) DejaVu
    Sans" for every chart; two dollar signs in a name made matplotlib parse it as mathtext and stop the command
    with a traceback once every image was restored."""
    names = ["缺陷", "\N{FOX FACE}", "a$^$b"]
    for index, name in enumerate(names):
        for folder in ("degraded", "clean"):
            _write(tmp_path / folder / name / "image.png", _noise(16, 16, 3, seed=index))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        status, stderr = _run(evaluate_script, ["--degraded", tmp_path / "degraded", "--clean", tmp_path / "clean",
                                                "--out", tmp_path / "out"], capsys)
    assert status == 0 and "warning" not in stderr and "Traceback" not in stderr, stderr
    assert {path.name for path in (tmp_path / "out").glob("*.png")} == {"psnr_by_category.png",
                                                                        "ssim_by_category.png"}


def _bare_state_dict(tmp_path):
    path = tmp_path / "weights.npz"
    mg.save(UNet(nonlocal_mode="softmax").state_dict(), path)
    return path


@pytest.mark.parametrize("weights", [
    _bare_state_dict,
    pytest.param(lambda tmp_path: RELEASED_WEIGHTS, id="released",
                 marks=pytest.mark.skipif(not RELEASED_WEIGHTS.exists(), reason=f"no released weights at "
                                                                                f"{RELEASED_WEIGHTS}")),
], ids=["saved", "released"])
def test_a_bare_state_dict_read_in_a_doubtful_non_local_mode_warns_in_one_line(weights, tmp_path, capsys):
    """Both modes have the same parameters, so a bare state dict cannot say which one trained it. The authors'
    released weights, told by their values, are known to be "published": --nonlocal softmax with them is a warning.
    Any other is read as "published" unless --nonlocal says otherwise, which is a warning too, as one's own softmax
    state dict (train.py's default mode) gives wrong outputs so."""
    checkpoint = weights(tmp_path)
    released = checkpoint == RELEASED_WEIGHTS
    _write(tmp_path / "photos" / "a.png", _noise(16, 16, 3))
    for nonlocal_mode in ("softmax", "published", None):
        flag = ["--nonlocal", nonlocal_mode] if nonlocal_mode else []
        status, stderr = _run(evaluate_script, ["--checkpoint", checkpoint, *flag, "--degraded", tmp_path / "photos",
                                                "--out", tmp_path / f"out-{nonlocal_mode}"], capsys)
        assert status == 0
        warned = [line for line in stderr.splitlines() if line.startswith("warning:")]
        if nonlocal_mode == ("softmax" if released else None):
            assert len(warned) == 1 and all(phrase in warned[0] for phrase in (
                f"{checkpoint} is a bare state dict", "--nonlocal softmax" if released else "read in the 'published' "
                "mode", "--nonlocal published")), stderr
        else:
            assert warned == [], stderr


@pytest.mark.skipif(not RELEASED_WEIGHTS.exists(), reason=f"no released weights at {RELEASED_WEIGHTS}")
def test_the_released_weights_are_told_by_their_values_however_saved(tmp_path):
    """Re-saved as an .npz with DataParallel's prefixes they are the same weights, read without a warning in their
    mode; changing one value makes them another network's."""
    weights = mg.load(RELEASED_WEIGHTS)
    assert weights_fingerprint(weights) == RELEASED_WEIGHTS_FINGERPRINT
    mg.save({f"module.{name}": value for name, value in weights.items()}, tmp_path / "wrapped.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, _ = load_model(tmp_path / "wrapped.npz")
    assert model.nonlocal_mode == "published"
    first = next(iter(weights))
    weights[first] = weights[first] + 1e-6
    assert weights_fingerprint(weights) != RELEASED_WEIGHTS_FINGERPRINT
