"""The README's Python blocks run as written, in order, in one namespace, and say what they claim."""
import re

import numpy as np
import pytest

from conftest import RELEASED_WEIGHTS, REPO_ROOT


def test_the_readmes_python_blocks_run_as_written(tmp_path, monkeypatch):
    """Where a user would run them: checkpoints/ and the authors' .pth beside them. Without the released
    file, a .pth that torch.save wrote of the same (untrained) network stands in: the block only loads it."""
    torch = pytest.importorskip("torch")  # the last block compares with the PyTorch build
    from unet import UNet
    from unet.torch_reference import to_torch

    blocks = re.findall(r"```python\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 5
    weights = tmp_path / RELEASED_WEIGHTS.name
    if RELEASED_WEIGHTS.exists():
        weights.symlink_to(RELEASED_WEIGHTS)
    else:
        torch.save(to_torch(UNet(nonlocal_mode="published")).state_dict(), weights)
    (tmp_path / "checkpoints").symlink_to(REPO_ROOT / "checkpoints")
    monkeypatch.chdir(tmp_path)
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)  # "any size, uint8"
    namespace = {"image": image}
    for number, block in enumerate(blocks):
        exec(compile(block, f"README block {number + 1}", "exec"), namespace)
    assert namespace["restored"].shape == image.shape and namespace["restored"].dtype == np.uint8
    assert namespace["state"]["config"]["degradation"] == "kla"
    assert float(namespace["difference"]) < 1e-5  # "agree to about 1e-6"
    ported, reference = namespace["model"], namespace["reference"]  # "torch's weights load into minigrad's copy"
    ported.eval(), reference.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ported(namespace["mg"].tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    # the Hessian is torch's (the penalty's gradients are checked in tests/test_unet_double_backward.py)
    point = torch.tensor([1.0, 2.0], dtype=torch.float64)
    expected = torch.autograd.functional.hessian(lambda x: (x[0] ** 2 * x[1]).exp(), point).numpy()
    np.testing.assert_allclose(namespace["hessian"].numpy(), expected, rtol=1e-12)
    # and the per-sample gradients torch.func's
    w, xs, ys = (torch.from_numpy(namespace[name].numpy()) for name in ("w", "xs", "ys"))
    expected = torch.func.vmap(torch.func.grad(lambda w, x, y: (x @ w - y) ** 2), in_dims=(None, 0, 0))(w, xs, ys)
    np.testing.assert_allclose(namespace["per_sample"].numpy(), expected.numpy(), rtol=1e-6)


def test_the_porting_guides_example_runs_and_agrees_with_torch():
    """docs/porting.md's one Python block, as written: minigrad's copy of the model gives torch's outputs."""
    pytest.importorskip("torch")
    (block,) = re.findall(r"```python\n(.*?)```", (REPO_ROOT / "docs" / "porting.md").read_text(), re.S)
    namespace = {}
    exec(compile(block, "docs/porting.md", "exec"), namespace)
    assert namespace["difference"] < 1e-5


def test_the_porting_guides_way_into_torch_loads_a_model_and_its_optimizer():
    """The table's call that loads minigrad's state dicts into torch, as written, for a module and then, as it says,
    for an optimizer: torch's copies take one more step as minigrad's do."""
    torch = pytest.importorskip("torch")
    import minigrad as mg

    text = (REPO_ROOT / "docs" / "porting.md").read_text()
    (call,) = re.findall(r"`(torch_model\.load_state_dict\(.*?\))`", text)
    (how,) = re.findall(r"`(from unet\.torch_reference import \w+)`", text)
    mg.manual_seed(0)
    model, torch_model = mg.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.1)
    torch_optimizer = torch.optim.Adam(torch_model.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    model(mg.tensor(x)).square().sum().backward()
    optimizer.step()
    namespace = {}
    exec(how, namespace)
    exec(call, {**namespace, "torch_model": torch_model, "model": model})
    exec(call, {**namespace, "torch_model": torch_optimizer, "model": optimizer})
    for library, network, step in ((mg, model, optimizer), (torch, torch_model, torch_optimizer)):
        step.zero_grad()
        network(library.tensor(x)).square().sum().backward()
        step.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), torch_model.weight.detach().numpy(), rtol=1e-6)
