"""The attention explorer (unet.explain), the figure script of docs/walkthrough.md and its code blocks.

The non-local maps are checked against the block's formula computed by hand in NumPy, on an image
whose size is not a multiple of 8 and whose bottleneck grid is not square, so that padding, cropping
and the row-major query -> position mapping all matter.
"""
import contextlib
import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import minigrad as mg
from unet import UNet
from unet import explain as ex
from unet.checkpoint import save_checkpoint

from conftest import RELEASED_WEIGHTS, REPO_ROOT

FIGURES = ["overview.png", "sca_att1.png", "sca_att2.png", "sca_att3.png", "sca_att4.png", "nonlocal.png", "features.png"]


def run_cli(args, capsys):
    """(exit code, stdout, stderr) of `python -m unet.explain args`, in this process."""
    try:
        code = ex.main([str(a) for a in args])
    except SystemExit as stop:  # argparse's own exits
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def random_model(mode):
    mg.manual_seed(1)
    return UNet(nonlocal_mode=mode)


def random_image(h, w, seed=0):
    """A smooth random colour image with a sharp edge, so attention has something to vary over."""
    rng = np.random.default_rng(seed)
    image = np.cumsum(np.cumsum(rng.standard_normal((h, w, 3)), axis=0), axis=1)
    image = (image - image.min()) / np.ptp(image)
    image[:, w // 2:] = 1 - image[:, w // 2:]
    return image.astype(np.float32)


def nonlocal_by_hand(model, image):
    """softmax(theta^T phi) or theta^T phi / N, from the block's 1x1 conv weights, on the bottleneck
    features of the image reflect-padded to multiples of 8; also the grid shape (rows, cols)."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % 8), (0, -w % 8), (0, 0)), mode="reflect")
    x = mg.tensor(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]))
    with mg.no_grad():
        _, inner = model(x, return_intermediates=True)
        block_input = model.dconv_bottleneck(model.att4(inner["features"]["enc4"])).numpy()[0].astype(np.float64)
    c, rows, cols = block_input.shape
    flat = block_input.reshape(c, rows * cols)                                  # row-major positions

    def conv1x1(conv):
        weight = conv.weight.numpy().astype(np.float64)[:, :, 0, 0]
        return weight @ flat + conv.bias.numpy().astype(np.float64)[:, None]  # (C/2, N)

    scores = conv1x1(model.nl_block.theta).T @ conv1x1(model.nl_block.phi)     # (N, N)
    if model.nonlocal_mode == "softmax":
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True), (rows, cols)
    return scores / (rows * cols), (rows, cols)


@pytest.mark.parametrize("mode", ["softmax", "published"])
def test_query_maps_match_the_block_computed_by_hand(mode):
    model = random_model(mode)
    image = random_image(44, 61)                     # padded to 48 x 64: a 6 x 8 bottleneck grid
    explanation = ex.explain(model, image)
    affinity, (rows, cols) = nonlocal_by_hand(model, image)
    assert (rows, cols) == (6, 8)

    # Which bottleneck position holds each pixel, built without any index arithmetic.
    cell_of_pixel = np.kron(np.arange(rows * cols).reshape(rows, cols), np.ones((8, 8), dtype=int))
    for x, y in [(0, 0), (60, 43), (17, 33), (8, 7), (59, 2)]:
        expected = affinity[cell_of_pixel[y, x]].reshape(rows, cols)[:6, :8]   # 44/8 -> 6 rows, 61/8 -> 8 cols
        np.testing.assert_allclose(explanation.query_map(x, y), expected, rtol=1e-4, atol=1e-7 * np.abs(expected).max())
    if mode == "softmax":
        np.testing.assert_allclose(explanation.affinity.sum(axis=1), 1.0, rtol=1e-5)


def test_cropped_query_map_sums_to_one_when_nothing_is_padded():
    explanation = ex.explain(random_model("softmax"), random_image(32, 40))
    assert explanation.query_map(5, 30).shape == (4, 5)
    assert explanation.query_map(5, 30).sum() == pytest.approx(1.0, rel=1e-5)


def test_auto_queries_include_the_strongest_edge():
    image = np.full((48, 48, 3), 0.5, dtype=np.float32)
    image[20:28, 30:] = 1.0                           # one bright bar: the only edges
    explanation = ex.explain(random_model("softmax"), image)
    points = ex.auto_queries(explanation)
    assert 2 <= len(points) <= 3
    x, y = points[0]
    assert 16 <= y < 32 and x >= 24, f"first query {points[0]} is not on the bar's edge"


def test_cli_writes_a_figure_for_every_block_and_an_index(tmp_path, capsys):
    code, out, err = run_cli(["--image", "builtin:astronaut", "--checkpoint", "random", "--size", 64,
                              "--out", tmp_path], capsys)
    assert code == 0, err
    index = (tmp_path / "index.html").read_text()
    for name in FIGURES:
        with Image.open(tmp_path / name) as figure:
            assert np.asarray(figure.convert("L"), dtype=np.float32).std() > 0, f"{name} is blank"
        assert f'src="{name}"' in index
    assert "index.html" in out


def test_grayscale_file_of_odd_size(tmp_path, capsys):
    gray = (random_image(37, 50)[..., 0] * 255).astype(np.uint8)
    Image.fromarray(gray, mode="L").save(tmp_path / "part.png")
    code, _, err = run_cli(["--image", tmp_path / "part.png", "--checkpoint", "random", "--size", 0,
                            "--query", "49,36", "3,4", "--out", tmp_path / "report"], capsys)
    assert code == 0, err
    assert "(grayscale)" in (tmp_path / "report" / "index.html").read_text()
    explanation = ex.explain(random_model("softmax"), gray)
    assert explanation.grayscale and explanation.restored.shape == (37, 50, 3)
    np.testing.assert_array_equal(explanation.image[..., 0], explanation.image[..., 2])


def test_query_points_are_the_input_pixels_when_the_image_is_resized(tmp_path, capsys):
    """--query takes the input's own pixels; the figure titles and the index keep them, while the maps
    are looked up at the same place of the resized image (53x37 -> 64x45 here)."""
    Image.fromarray((random_image(37, 53) * 255).astype(np.uint8)).save(tmp_path / "part.png")
    code, _, err = run_cli(["--image", tmp_path / "part.png", "--checkpoint", "random", "--size", 64,
                            "--query", "52,36", "10,5", "--out", tmp_path / "report"], capsys)
    assert code == 0, err
    index = (tmp_path / "report" / "index.html").read_text()
    assert "Image 53x37, resized to 64x45" in index
    assert "in the image's own pixels: (52, 36), (10, 5)" in index

    resized = ex.resize_longer_side(random_image(37, 53), 64)
    explanation = ex.explain(random_model("softmax"), resized, source_shape=(37, 53))
    assert explanation.from_source(52, 36) == (63, 44) and explanation.from_source(0, 0) == (0, 0)
    assert explanation.to_source(63, 44) == (52, 36) and explanation.to_source(0, 0) == (0, 0)
    assert explanation.to_source(*explanation.from_source(10, 5)) == (10, 5)


def test_the_caption_says_how_alike_the_softmax_rows_are():
    n = 64
    alike = ex.rows_alike_note(np.full((n, n), 1 / n))
    assert "less than 0%" in alike and "much the same way" in alike
    one_hot = ex.rows_alike_note(np.eye(n))  # each query attends to itself alone: rows 1 - 1/n apart from the mean
    assert f"less than {1 - 1 / n:.0%}" in one_hot and "much the same way" not in one_hot


def test_ctrl_c_ends_in_one_line_and_the_shells_status(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ex, "write_report", interrupted)
    code, _, err = run_cli(["--image", "builtin:camera", "--checkpoint", "random", "--size", 64,
                            "--out", tmp_path], capsys)
    assert code == 130 and err.strip().startswith("interrupted") and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--image", "no/such/image.png"], "image not found"),
    (["--image", REPO_ROOT / "docs"], "docs is a folder: pass one image of it"),
    (["--image", "builtin:no_such_sample"], "unknown built-in image"),
    (["--image", "builtin:horse"], "'horse' (bool, shape (328, 400)) is not a uint8, uint16 or [0, 1] float picture"),
    (["--image", "builtin:camera", "--query", "12;40"], "X,Y"),
    (["--image", "builtin:camera", "--query", "600,4"], "outside"),
    (["--image", "builtin:camera", "--checkpoint", "no/such/weights.npz"], "does not exist"),
    (["--image", "builtin:camera", "--checkpoint", REPO_ROOT / "setup.cfg"], "not a readable checkpoint"),
])
def test_user_mistakes_exit_2_with_one_line(args, message, tmp_path, capsys):
    code, _, err = run_cli(args + ["--size", 16, "--out", tmp_path], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("size", [600, 20000])
def test_too_large_a_size_is_refused_before_the_image_is_resized(size, tmp_path, capsys, monkeypatch):
    """--size 20000 used to build a 20000x20000 image (gigabytes) before explain() refused it."""
    monkeypatch.setattr(ex, "resize_longer_side", lambda image, size: pytest.fail("resized before the size check"))
    code, _, err = run_cli(["--image", "builtin:camera", "--checkpoint", "random", "--size", size,
                            "--out", tmp_path], capsys)
    assert code == 2
    assert err.count("\n") == 1 and f"a {size}x{size} image has" in err and "(--size 512 or less)" in err, err


def test_the_size_limit_is_a_512x512_image_counted_in_padded_cells():
    ex.check_positions((512, 512))
    ex.check_positions((505, 510))
    with pytest.raises(ex.ExplainError, match="a 513x512 image has 4160 bottleneck positions"):
        ex.check_positions((512, 513))


def test_bad_input_from_the_real_command_line_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "unet.explain", "--image", str(tmp_path / "missing.png"),
                             "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_networks_and_images_it_cannot_explain_are_refused_clearly():
    with pytest.raises(ex.ExplainError, match="without attention"):
        ex.explain(UNet(attention=False, nonlocal_mode=None), random_image(16, 16))
    with pytest.raises(ex.ExplainError, match="--size"):
        ex.explain(random_model("softmax"), np.zeros((520, 600), np.float32))
    with pytest.raises(ValueError, match=re.escape(".astype(np.uint8)")):
        ex.explain(random_model("softmax"), np.full((16, 16), 200, np.int64))


def test_load_model_reads_state_dicts_and_training_checkpoints(tmp_path):
    trained = random_model("softmax")
    mg.save(trained.state_dict(), tmp_path / "flat.npz")
    save_checkpoint(tmp_path / "nested.npz", trained, epoch=3)
    with pytest.warns(UserWarning, match="does not record its non-local mode"):  # read as "published", a guess
        ex.load_model(tmp_path / "flat.npz")
    flat, _ = ex.load_model(tmp_path / "flat.npz", nonlocal_mode="softmax")
    nested, source = ex.load_model(tmp_path / "nested.npz")
    assert nested.nonlocal_mode == "softmax" and source == "nested.npz"
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run" / "best.npz", trained, epoch=3)
    assert ex.load_model(tmp_path / "run")[1] == "best.npz"  # a train.py run folder: its file is named
    for model in (flat, nested):
        for (name, expected), (_, loaded) in zip(trained.named_parameters(), model.named_parameters()):
            np.testing.assert_array_equal(loaded.numpy(), expected.numpy(), err_msg=name)

    mg.save({"not_a_weight": np.zeros(3, np.float32)}, tmp_path / "wrong.npz")
    with pytest.raises(ex.ExplainError, match="neither") as info:
        ex.load_model(tmp_path / "wrong.npz")
    assert "\n" not in str(info.value)


def test_without_any_checkpoint_the_error_names_both_places(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "DEFAULT_CHECKPOINT", tmp_path / "missing.npz")
    monkeypatch.setattr(ex, "RELEASED_WEIGHTS", tmp_path / "missing.pth")
    with pytest.raises(ex.ExplainError, match="checkpoint='random'"):
        ex.load_model()  # from Python, its argument; the command line's flag from there
    with pytest.raises(ex.ExplainError, match="--checkpoint random"):
        ex.load_model(spelling=ex.COMMAND_LINE_FLAGS)


@pytest.mark.skipif(not RELEASED_WEIGHTS.exists(), reason="the authors' released weights are not in ../shared/reference/")
def test_falls_back_to_the_released_weights_in_published_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "DEFAULT_CHECKPOINT", tmp_path / "missing.npz")
    monkeypatch.setattr(ex, "RELEASED_WEIGHTS", RELEASED_WEIGHTS)
    model, source = ex.load_model()
    assert model.nonlocal_mode == "published" and RELEASED_WEIGHTS.name in source


def test_make_figures_script_writes_small_figures(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "docs" / "make_figures.py"), "--out", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    pngs = sorted(tmp_path.glob("*.png"))
    assert "results.png" in {png.name for png in pngs}, "the README's results figure was not written"
    for png in pngs:
        limit = 1_500_000 if png.name == "results.png" else 300_000  # three photographs at full size, noise and all
        assert png.stat().st_size < limit, f"{png.name} is {png.stat().st_size} bytes"
        with Image.open(png) as figure:
            assert np.asarray(figure.convert("L"), dtype=np.float32).std() > 0


def test_make_figures_script_refuses_an_out_that_is_a_file_in_one_line(tmp_path):
    """It used to end in a traceback ("File exists")."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "docs" / "make_figures.py"), "--out", str(notes)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == f"error: --out {notes} is a file, not a folder\n"

def test_the_walkthroughs_code_runs_and_its_commented_shapes_hold(tmp_path, monkeypatch):
    """Every ```python block of docs/walkthrough.md, in order, in one namespace; a line that ends in a
    tuple comment (`expr  # (1, 16, 96, 96)`, `name = ...  # (1, 4, 4)`) must give that value (shape),
    and what a block prints is the plain ``` block that follows it, where one does."""
    import ast

    monkeypatch.chdir(tmp_path)  # a block draws unet.svg
    fences = re.findall(r"```(\w*)\n(.*?)```", (REPO_ROOT / "docs" / "walkthrough.md").read_text(), re.S)
    following = fences[1:] + [("python", None)]  # the fence after each one
    blocks = [(body, after if after_kind == "" else None)
              for (kind, body), (after_kind, after) in zip(fences, following) if kind == "python"]
    assert len(blocks) >= 4
    namespace, checked, outputs = {}, 0, 0
    for number, (block, shown_output) in enumerate(blocks):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"walkthrough block {number + 1}", "exec"), namespace)
        if shown_output is not None and printed.getvalue():
            assert printed.getvalue().strip() == shown_output.strip(), f"walkthrough block {number + 1}'s output"
            outputs += 1
        for line in block.splitlines():
            claim = re.fullmatch(r"(?P<code>[^#]+?)\s+#\s+(?P<value>\([\d, ]+\))", line)
            if not claim:
                continue
            code, expected = claim["code"], ast.literal_eval(claim["value"])
            name = re.fullmatch(r"(\w+)\s*=.*", code)
            actual = namespace[name[1]].shape if name else eval(code, namespace)
            assert tuple(actual) == expected, line
            checked += 1
    assert checked >= 3 and outputs >= 2


@pytest.mark.parametrize("given, side", [("native", 0), ("0", 0), ("320", 320)])
def test_size_takes_native_as_train_and_evaluate_do(given, side):
    assert ex._parser().parse_args(["--image", "a.png", "--out", "o", "--size", given]).size == side


@pytest.mark.parametrize("given", ["-8", "big"])
def test_a_size_that_is_no_side_is_one_line(given, capsys):
    with pytest.raises(SystemExit) as stop:
        ex._parser().parse_args(["--image", "a.png", "--out", "o", "--size", given])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and error.count("\n") == 1
    assert f"must be a number of pixels, or native (or 0) for the image's own size, got {given}" in error

