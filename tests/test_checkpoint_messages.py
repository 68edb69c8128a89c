"""load_model's messages name the options to change as its caller spells them: its Python arguments when called from
Python, the flags of the command lines (evaluate.py, train.py --init, unet.explain), whose words stay as they were."""
import warnings

import pytest

import minigrad as mg
from unet import UNet, checkpoint, explain
from unet.checkpoint import CheckpointError, load_model, save_checkpoint

from test_evaluate import run_cli as run_evaluate
from test_explain import run_cli as run_explain


@pytest.fixture
def softmax_checkpoint(tmp_path):
    path = tmp_path / "softmax.npz"
    save_checkpoint(path, UNet(nonlocal_mode="softmax"))
    return path


@pytest.fixture
def bare_state_dict(tmp_path):
    path = tmp_path / "bare.npz"
    mg.save(UNet(nonlocal_mode="softmax").state_dict(), path)
    return path


@pytest.fixture
def no_default_checkpoint(tmp_path, monkeypatch):
    for module in (checkpoint, explain):
        monkeypatch.setattr(module, "DEFAULT_CHECKPOINT", tmp_path / "missing.npz")
    monkeypatch.setattr(explain, "RELEASED_WEIGHTS", tmp_path / "missing.pth")


def test_a_mode_that_disagrees_names_the_python_argument(softmax_checkpoint):
    with pytest.raises(CheckpointError) as from_python:
        load_model(softmax_checkpoint, nonlocal_mode="published")
    assert str(from_python.value).endswith(
        "was asked for; drop nonlocal_mode or pass nonlocal_mode='softmax'")
    with pytest.raises(explain.ExplainError) as from_explain:
        explain.load_model(softmax_checkpoint, nonlocal_mode="published")
    assert str(from_explain.value).endswith("drop nonlocal_mode or pass nonlocal_mode='softmax'")


def test_a_mode_that_disagrees_names_the_flag_on_the_command_lines(softmax_checkpoint, tmp_path, capsys):
    argv = ["--checkpoint", softmax_checkpoint, "--nonlocal", "published"]
    status, _, stderr = run_evaluate([*argv, "--data", "builtin", "--out", tmp_path / "out"], capsys)
    assert status == 2 and stderr.strip().endswith("was asked for; drop --nonlocal or pass --nonlocal softmax")
    status, _, stderr = run_explain([*argv, "--image", "builtin:camera", "--out", tmp_path / "explained"], capsys)
    assert status == 2 and stderr.strip().endswith("was asked for; drop --nonlocal or pass --nonlocal softmax")


def test_a_bare_state_dict_warns_in_the_callers_words(bare_state_dict):
    with pytest.warns(UserWarning) as from_python:
        load_model(bare_state_dict)
    with pytest.warns(UserWarning) as from_command_line:
        load_model(bare_state_dict, spelling=checkpoint.COMMAND_LINE_FLAGS)
    assert str(from_python[0].message).endswith(
        "pass nonlocal_mode='softmax' if it was trained in that mode (train.py's default), or "
        "nonlocal_mode='published' to say so")
    assert str(from_command_line[0].message).endswith(
        "pass --nonlocal softmax if it was trained in that mode (train.py's default), or --nonlocal published to "
        "say so")


def test_a_missing_shipped_model_names_the_way_to_give_one(no_default_checkpoint):
    messages = {}
    for spelling in ("python", "command line"):
        options = {} if spelling == "python" else dict(spelling=checkpoint.COMMAND_LINE_FLAGS)
        with pytest.raises(CheckpointError) as missing:
            load_model(**options)
        with pytest.raises(explain.ExplainError) as explained:
            explain.load_model(**options)
        messages[spelling] = str(missing.value).split("; ")[-1], str(explained.value).split(": ")[-1]
    assert messages == {
        "python": ("pass path or train one with train.py", "pass checkpoint='PATH', or checkpoint='random' for "
                                                           "untrained weights"),
        "command line": ("pass --checkpoint or train one with train.py", "pass --checkpoint PATH, or --checkpoint "
                                                                         "random for untrained weights")}


def test_the_python_messages_name_no_flag(softmax_checkpoint, bare_state_dict):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(bare_state_dict)
        with pytest.raises(CheckpointError) as refused:
            load_model(softmax_checkpoint, nonlocal_mode="published")
    assert all("--" not in text for text in [str(refused.value), *(str(w.message) for w in caught)])
