"""minigrad.viz: DOT output of small graphs, parameter names, collapsed modules, drawing without Graphviz."""
import re
import shutil

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
import minigrad.nn as nn
from minigrad import viz
from unet import UNet

NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)", shape=(\w+)', re.MULTILINE)
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+);", re.MULTILINE)


def parse(dot):
    """({node id: (label lines, shape)}, {(source label first line, target label first line)})."""
    nodes = {node: (label.split("\\n"), shape) for node, label, shape in NODE.findall(dot)}
    edges = {(nodes[a][0][0], nodes[b][0][0]) for a, b in EDGE.findall(dot)}
    return nodes, edges


def ops(nodes):
    return sorted((lines[0], lines[1]) for lines, shape in nodes.values() if shape == "ellipse")


def leaves(nodes):
    return sorted(lines[0] for lines, shape in nodes.values() if shape == "box")


def conv_relu_sum():
    x = mg.randn(1, 3, 6, 6)
    weight = mg.randn(4, 3, 3, 3, requires_grad=True)
    bias = mg.randn(4, requires_grad=True)
    return F.relu(F.conv2d(x, weight, bias, padding=1)).sum(), weight, bias


def test_one_node_per_op_with_its_output_shape_and_dtype():
    y, _, _ = conv_relu_sum()
    nodes, edges = parse(viz.to_dot(y))
    assert ops(nodes) == [("Conv2d", "(1, 4, 6, 6) float32"), ("ReLU", "(1, 4, 6, 6) float32"), ("Sum", "() float32")]
    assert leaves(nodes) == ["input", "input", "input"]
    assert {("Conv2d", "ReLU"), ("ReLU", "Sum"), ("input", "Conv2d")} <= edges


def test_matmul_node_and_named_leaves_from_a_params_mapping():
    a = mg.randn(2, 3, requires_grad=True)
    b = mg.randn(3, 4, requires_grad=True)
    nodes, edges = parse(viz.to_dot(a @ b, params={"a": a, "b": b}))
    assert ops(nodes) == [("MatMul", "(2, 4) float32")]
    assert sorted(lines[:2] for lines, shape in nodes.values() if shape == "box") == [
        ["a", "(2, 3) float32"], ["b", "(3, 4) float32"]]
    assert edges == {("a", "MatMul"), ("b", "MatMul")}


def test_leaves_take_state_dict_names_from_a_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    out = model(mg.randn(1, 3, 5, 5)).sum()
    nodes, _ = parse(viz.to_dot(out, model=model))
    assert leaves(nodes) == sorted(["0.weight", "0.bias", "input"])


def test_collapse_modules_gives_one_box_per_top_level_module_call():
    model = UNet()
    x = mg.rand(1, 3, 16, 16)
    with viz.trace_modules(model):
        out = model(x)
    nodes, edges = parse(viz.to_dot(out, model=model, collapse_modules=True))

    boxes = sorted(lines[0] for lines, shape in nodes.values() if shape == "box3d")
    # UNet.forward calls every top-level module once, except the shared max-pool and upsample (3 times each).
    called_once = [name for name, _ in model.named_children() if name not in ("maxpool", "upsample")]
    assert boxes == sorted(called_once + [f"{name} #{k}" for name in ("maxpool", "upsample") for k in (1, 2, 3)])
    assert leaves(nodes) == ["input"], "parameters belong inside their module's box"
    assert sorted(name for name, _ in ops(nodes)) == ["Add", "Cat", "Cat", "Cat"]  # what UNet.forward does itself
    assert {("input", "dconv_down1"), ("dconv_down1", "att1"), ("dconv_down1", "maxpool #1"),
            ("nl_block", "upsample #1"), ("conv_last", "Add"), ("input", "Add")} <= edges
    nl_label = next(lines for lines, _ in nodes.values() if lines[0] == "nl_block")
    assert nl_label[1:] == ["NonLocal", "-> (1, 128, 2, 2) float32"]


def test_trace_modules_leaves_nothing_behind():
    model = UNet()
    with viz.trace_modules(model):
        model(mg.rand(1, 3, 8, 8))
    assert not any("_trace_scope" in module.__dict__ for module in model.modules())
    out = model(mg.rand(1, 3, 8, 8))
    assert out.creator.scope is None
    with pytest.raises(viz.GraphError, match="trace_modules"):
        viz.to_dot(out, model=model, collapse_modules=True)


def test_graphs_that_cannot_be_drawn_say_why():
    y, _, _ = conv_relu_sum()
    y.backward()
    with pytest.raises(viz.GraphError, match="before backward"):
        viz.to_dot(y)
    with mg.no_grad():
        z, _, _ = conv_relu_sum()
    with pytest.raises(viz.GraphError, match="no graph"):
        viz.to_dot(z)


def test_draw_without_graphviz_writes_dot_and_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    y, weight, bias = conv_relu_sum()
    written = viz.draw(y, tmp_path / "graph.svg", params={"weight": weight})
    assert written == tmp_path / "graph.dot"
    assert written.read_text() == viz.to_dot(y, params={"weight": weight})
    assert not (tmp_path / "graph.svg").exists()
    assert "apt-get install graphviz" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_draw_renders_svg_with_graphviz(tmp_path):
    y, _, _ = conv_relu_sum()
    written = viz.draw(y, tmp_path / "graph.svg")
    assert written == tmp_path / "graph.svg"
    assert "<svg" in written.read_text()


def test_tensor_values_are_unchanged_by_tracing():
    model = UNet()
    x = mg.rand(1, 3, 16, 16)
    plain = model(x).numpy()
    with viz.trace_modules(model):
        traced = model(x).numpy()
    np.testing.assert_array_equal(plain, traced)
