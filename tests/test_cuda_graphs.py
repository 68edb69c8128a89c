"""minigrad.cuda's CUDA graphs and the U-Net's steps replayed as graphs (unet.step_graphs).

The gpu_path fixture runs each case on the CuPy stand-in, which records a capture and redoes it at each launch (as
CUDA replays a graph's kernels on the memory they had at capture) and refuses what CUDA refuses while it captures,
and on a real GPU when there is one."""
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from unet import RestorationLoss, UNet
from unet.step_graphs import GraphedSteps

from conftest import RecordingRunner, relative_error

no_gpu = pytest.mark.skipif(mg.gpu_available(), reason="checks the message given where there is no GPU")


def _batches(count, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, shape).astype(np.float32) for _ in range(count)]


def _conv_step(weight):
    """A step of a small network: its loss, and the weight's gradient in weight.grad."""
    def step(x):
        weight.grad = None
        hidden = mg.nn.functional.conv2d(x, weight, padding=1).sigmoid()  # (B, 4, H, W)
        loss = (hidden * hidden).mean() + hidden.amax(dim=(2, 3)).sum()
        loss.backward()
        return loss.detach()
    return step


def _assert_replays_match_the_step(step, parameters, shape):
    """step(x) captured after one run that compiles its kernels (a capture runs none), then replayed on new inputs
    copied into x: its loss and the parameters' gradients, as step computes them on those inputs."""
    first, *later = _batches(3, shape)
    x = mg.tensor(first, device="gpu")
    step(x)
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        loss = step(x)
    assert not mg.cuda.is_current_stream_capturing()
    gradients = [param.grad for param in parameters]
    for values in later:
        with mg.no_grad():
            x.copy_(mg.tensor(values, device="gpu"))
        graph.replay()
        replayed = [loss.numpy(), *(gradient.numpy() for gradient in gradients)]
        expected = [step(mg.tensor(values, device="gpu")).numpy(), *(param.grad.numpy() for param in parameters)]
        for ours, reference in zip(replayed, expected):
            assert relative_error(ours, reference) <= 1e-6


def test_a_replay_computes_what_the_block_does_for_the_inputs_copied_in(gpu_path):
    weight = mg.tensor(_batches(1, (4, 3, 3, 3), seed=1)[0], device="gpu", requires_grad=True)
    _assert_replays_match_the_step(_conv_step(weight), [weight], (2, 3, 8, 8))


def test_what_needs_the_host_inside_a_capture_is_refused_and_the_gpu_goes_on(gpu_path):
    x = mg.tensor(_batches(1, (3, 4))[0], device="gpu")
    (x * 2).sum().item()  # compiled before the capture
    graph = mg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="capturing"):  # CuPy's words, or CUDA's where CuPy leaves it to CUDA
        with mg.cuda.graph(graph):
            (x * 2).sum().item()
    assert not mg.cuda.is_current_stream_capturing()
    with pytest.raises(RuntimeError, match="replay without a preceding successful capture"):
        graph.replay()
    assert (x * 2).sum().item() == pytest.approx(2 * float(x.sum()), rel=1e-6)  # eager work runs as before
    with mg.cuda.graph(graph):  # and the same graph object captures again
        doubled = x * 2
    graph.replay()
    np.testing.assert_array_equal(doubled.numpy(), 2 * x.numpy())


def test_a_copy_from_the_host_inside_a_capture_is_refused_with_the_fix(gpu_path):
    graph = mg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="make the tensor before the capture"):
        with mg.cuda.graph(graph):
            mg.tensor(np.ones(3, np.float32), device="gpu")
    assert not mg.cuda.is_current_stream_capturing()
    np.testing.assert_array_equal(mg.tensor(np.ones(3, np.float32), device="gpu").numpy(), 1)  # and outside, it works
    with mg.cuda.graph(graph):
        doubled = mg.tensor(2.0, device="gpu") * 3  # a number is one kernel, which the graph replays
    graph.replay()
    assert doubled.item() == 6


def test_host_copies_are_refused_on_the_capturing_thread_alone(gpu_path):
    """A capture records its own thread's work: another thread's copy to the GPU meanwhile runs as usual."""
    copied = []
    backend.capturing_graph(True)
    try:
        with pytest.raises(RuntimeError, match="make the tensor before the capture"):
            backend.to_device(np.ones(3, np.float32), "gpu")
        other = threading.Thread(target=lambda: copied.append(backend.to_device(np.ones(3, np.float32), "gpu")))
        other.start()
        other.join()
    finally:
        backend.capturing_graph(False)
    np.testing.assert_array_equal(backend.to_numpy(copied[0]), 1)


def test_a_graph_captures_once_until_reset(gpu_path):
    x = mg.tensor(np.zeros(3, np.float32), device="gpu")
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        x.add_(1)
    with pytest.raises(RuntimeError, match="already holds a capture"):
        graph.capture_begin()
    x.zero_()  # (the stand-in ran the capture; CUDA did not)
    graph.replay()
    graph.replay()
    np.testing.assert_array_equal(x.numpy(), [2, 2, 2])  # each replay adds 1 in place
    graph.reset()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        graph.replay()


@no_gpu
def test_a_capture_without_a_gpu_names_the_fix():
    with pytest.raises(mg.DeviceError, match=r'pip install -e "\.\[gpu\]"'):
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            pass


def _unet_steps(enabled, limit=2):
    mg.manual_seed(0)
    model = UNet().to("gpu")
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    loss_of = RestorationLoss()

    def step(degraded, clean):
        total, _ = loss_of(model(degraded), clean)
        optimizer.zero_grad()
        total.backward()
        return total.detach()
    return model, optimizer, GraphedSteps(step, model.parameters(), enabled=enabled, limit=limit)


def _train(enabled, shapes, limit=2):
    """Adam steps of the U-Net on batches of `shapes`, through GraphedSteps: the losses and the final weights."""
    model, optimizer, steps = _unet_steps(enabled, limit)
    losses = []
    for index, shape in enumerate(shapes):
        noisy, clean = (mg.tensor(array, device="gpu") for array in _batches(2, shape, seed=index))
        losses.append(float(steps(noisy, clean).numpy()))
        optimizer.step()
    return losses, [param.numpy() for param in model.parameters()], steps


def test_graphed_unet_steps_train_as_steps_launched_one_by_one(gpu_path):
    """Steps 1 (run as is: warm-up), 2 (captured, then replayed) and 3-4 (replayed) give the same losses and
    weights as four steps without a graph; a second shape gets a graph of its own, a third (over the limit) none."""
    shapes = [(2, 3, 16, 16)] * 4 + [(1, 3, 16, 16)] * 2 + [(1, 3, 24, 24)] * 2
    graphed = _train(True, shapes)
    plain = _train(False, shapes)
    assert set(graphed[2].graphs) == {((2, 3, 16, 16),) * 2, ((1, 3, 16, 16),) * 2}
    assert plain[2].graphs == {}
    tolerance = 1e-5 if isinstance(gpu_path, RecordingRunner) else 0  # the stand-in redoes the very same NumPy ops
    np.testing.assert_allclose(graphed[0], plain[0], rtol=tolerance)
    for ours, expected in zip(graphed[1], plain[1]):
        assert relative_error(ours, expected) <= tolerance


def test_normalization_layers_are_captured(gpu_path):
    """Batch, group and layer norm sum their statistics by kernels.matmul, which a capture takes (CuPy's matmul
    would be refused): a graph of a step through all three replays what the step computes."""
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Conv2d(3, 8, 3, padding=1), mg.nn.BatchNorm2d(8), mg.nn.GroupNorm(2, 8),
                             mg.nn.LayerNorm([8, 8, 8]), mg.nn.ReLU()).to("gpu")

    def step(x):
        model.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss.detach()

    _assert_replays_match_the_step(step, list(model.parameters()), (4, 3, 8, 8))


def test_einsum_is_captured(gpu_path):
    """einsum contracts two operands or more by kernels.matmul, which a capture takes (CuPy's einsum would be
    refused): a graph of attention written in einsums, with a diagonal and a chain of three, replays what it
    computes."""
    mg.manual_seed(0)
    project = mg.nn.Linear(8, 24).to("gpu")
    square = mg.tensor(_batches(1, (8, 8), seed=2)[0], device="gpu", requires_grad=True)

    def step(x):                                                    # x (4, 3, 8, 8), read as 4 sequences of 24 x 8
        project.zero_grad()
        square.grad = None
        queries, keys, values = project(x.reshape(4, 24, 8)).chunk(3, dim=-1)
        weights = mg.einsum("bqd,bkd->bqk", queries, keys).softmax(dim=-1)
        attended = mg.einsum("bqk,bkd->bqd", weights, values)       # (4, 24, 8)
        loss = mg.einsum("bqd,de,ee->", attended, square, square) / attended.numel()
        loss.backward()
        return loss.detach()

    _assert_replays_match_the_step(step, [*project.parameters(), square], (4, 3, 8, 8))


def test_trilinear_resizing_is_captured(gpu_path):
    """A volume's depth is resized by kernels.matmul, which a capture takes (CuPy's matmul would be refused)."""
    weight = mg.tensor(_batches(1, (4, 3, 3, 3), seed=1)[0], device="gpu", requires_grad=True)
    convolved = _conv_step(weight)

    def step(x):                                                    # x (2, 3, 8, 8), read as volumes (2, 1, 3, 8, 8)
        volumes = mg.nn.functional.interpolate(x.unsqueeze(1), scale_factor=(2, 1.5, 0.5), mode="trilinear")
        return convolved(volumes.reshape(2, 3, 2, 12, 4).mean(dim=2))   # (2, 1, 6, 12, 4) -> (2, 3, 12, 4)

    _assert_replays_match_the_step(step, [weight], (2, 3, 8, 8))
