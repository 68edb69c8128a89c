"""An empty path given to a command-line tool (`--resume "$RUN"` with RUN unset) is a usage error, not the current
folder or the option left out: `train.py --resume ""` used to start a new run from scratch without a word."""
import subprocess
import sys

import pytest

from unet import explain

from conftest import REPO_ROOT, load_script

train_script = load_script("train")
evaluate_script = load_script("evaluate")

PARSE = {  # each tool's own parsing of its command line, which runs nothing
    "train": lambda argv: train_script.build_parser().parse_args(argv),
    "evaluate": evaluate_script.parse_args,
    "explain": lambda argv: explain._parser().parse_args(argv),
}
PATH_OPTIONS = [
    *(("train", flag) for flag in ("--data", "--degraded", "--clean", "--masks", "--out", "--resume", "--init")),
    *(("evaluate", flag) for flag in ("--checkpoint", "--data", "--degraded", "--clean", "--masks", "--out")),
    *(("explain", flag) for flag in ("--image", "--checkpoint", "--out")),
]


@pytest.mark.parametrize("tool, flag", PATH_OPTIONS)
def test_an_empty_path_is_a_usage_error_naming_the_option(tool, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing may be written, here or anywhere
    with pytest.raises(SystemExit) as stop:
        PARSE[tool]([flag, ""])
    assert stop.value.code == 2
    assert f"error: argument {flag}: must name a file or folder, got an empty string" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_the_figures_script_refuses_an_empty_out_too(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "docs" / "make_figures.py"), "--out", ""], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "error: argument --out: must name a file or folder, got an empty string" in result.stderr
    assert not any(tmp_path.iterdir())
