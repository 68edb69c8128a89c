"""minigrad.utils.checkpoint against torch.utils.checkpoint: values and gradients (inputs and parameters) as without
checkpointing and as torch's, the same dropout masks in the recomputation, both variants' observable differences,
torch's warnings and errors, the GPU path, and the memory it saves."""
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as torch_checkpoint
from conftest import relative_error

import minigrad as mg
from minigrad.function import _saved_arrays, memory_owner
from minigrad.tensor import topological_order
from minigrad.utils.checkpoint import checkpoint, checkpoint_sequential

VARIANTS = [True, False]  # use_reentrant


def _conv_block(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(3, 6, 3, padding=1), lib.nn.ReLU(), lib.nn.Conv2d(6, 4, 3, padding=1),
                             lib.nn.Tanh())


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(5, 16), lib.nn.ReLU(), lib.nn.Dropout(0.5), lib.nn.Linear(16, 3))


def _pair(make):
    """The same module in torch and in minigrad (torch's state dict loaded)."""
    torch.manual_seed(0)
    reference, ours = make(torch), make(mg)
    ours.load_state_dict(reference.state_dict())
    return reference, ours


def _run(lib, module, x, direction, run):
    """module's output on x through `run`, and the gradients of (output * direction).sum() w.r.t. x and the
    parameters, all as NumPy arrays."""
    x = lib.tensor(x, requires_grad=True)
    module.zero_grad()
    y = run(module, x)
    (y * lib.tensor(direction)).sum().backward()
    return [np.array(t.detach().numpy()) for t in [y, x.grad, *(p.grad for p in module.parameters())]]


def _close(ours, reference):
    """Each array as torch's, up to float32 rounding relative to its largest entry (a weight's gradient sums
    many products, in another order than torch's)."""
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert a.dtype == b.dtype and relative_error(a, b) <= 1e-6


def _equal(ours, reference):
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_conv_block_as_without_checkpointing_and_as_torch(use_reentrant):
    rng = np.random.default_rng(0)
    x, direction = rng.standard_normal((2, 3, 7, 7), np.float32), rng.standard_normal((2, 4, 7, 7), np.float32)
    reference, ours = _pair(_conv_block)
    torch_run = _run(torch, reference, x, direction,
                     lambda m, x: torch_checkpoint.checkpoint(m, x, use_reentrant=use_reentrant))
    plain = _run(mg, ours, x, direction, lambda m, x: m(x))
    checkpointed = _run(mg, ours, x, direction, lambda m, x: checkpoint(m, x, use_reentrant=use_reentrant))
    _equal(checkpointed, plain)
    _close(checkpointed, torch_run)


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_dropout_draws_the_forwards_mask_again(use_reentrant):
    """The recomputation restores the random state of the forward, then the one it found (torch's fork_rng), so
    that values, gradients and later draws are those of the run without checkpointing under the same seed."""
    rng = np.random.default_rng(1)
    x, direction = rng.standard_normal((6, 5), np.float32), rng.standard_normal((6, 3), np.float32)
    _, ours = _pair(_mlp)
    results, draws = [], []

    def then_draw(y):  # a draw between forward and backward, which the recomputation must not repeat
        draws.append(mg.rand(4).numpy())
        return y
    for run in (lambda m, x: then_draw(m(x)), lambda m, x: then_draw(checkpoint(m, x, use_reentrant=use_reentrant))):
        mg.manual_seed(3)
        results.append(_run(mg, ours, x, direction, run))
        results[-1] += [draws[-1], mg.rand(4).numpy()]
    _equal(results[1], results[0])

    mg.manual_seed(3)
    ours.zero_grad()
    y = checkpoint(ours, mg.tensor(x, requires_grad=True), use_reentrant=use_reentrant, preserve_rng_state=False)
    (y * mg.tensor(direction)).sum().backward()  # a new mask in the recomputation: other gradients
    assert not np.allclose(ours[0].weight.grad.numpy(), results[0][2])


def _several(lib, x, scale, w, name, offset):
    """Non-tensor arguments and outputs besides tensors, one of them an integer tensor; offset needs no gradient."""
    return (x * w * scale + offset, (x + w).sum(dim=0), name.upper(), (x > 0).sum())


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_several_outputs_and_non_tensor_arguments(use_reentrant):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 4), np.float32), rng.standard_normal(4, np.float32)
    directions = rng.standard_normal((3, 4), np.float32), rng.standard_normal(4, np.float32)
    results = []
    for lib, run in ((torch, torch_checkpoint.checkpoint), (mg, checkpoint)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        offset = lib.tensor(x[0])
        a, b, name, count = run(lambda *args: _several(lib, *args), xt, 2.5, wt, "ab", offset,
                                use_reentrant=use_reentrant)
        assert offset.grad is None
        assert name == "AB" and not count.requires_grad and count.dtype == lib.int64
        (a * lib.tensor(directions[0])).sum().backward(retain_graph=True)
        (b * lib.tensor(directions[1])).sum().backward()  # its own backward: the other output gets no gradient
        results.append([t.detach().numpy() for t in (a, b, count, xt.grad, wt.grad)])
    _close(results[1], results[0])


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_parameters_alone_requiring_grad(use_reentrant):
    """torch's difference between the variants: re-entrant, no input requiring grad gives no gradient at all (with
    torch's warning); otherwise the parameters get theirs."""
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 5), np.float32)
    reference, ours = _pair(_conv_block)
    grads = []
    for lib, module, run in ((torch, reference, torch_checkpoint.checkpoint), (mg, ours, checkpoint)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = run(module, lib.tensor(x), use_reentrant=use_reentrant)
        assert [str(w.message) for w in caught] == (
            ["None of the inputs have requires_grad=True. Gradients will be None"] if use_reentrant else [])
        assert y.requires_grad is not use_reentrant
        if not use_reentrant:
            y.sum().backward()
            grads.append([p.grad.numpy() for p in module.parameters()])
    if grads:
        _close(grads[1], grads[0])


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_autograd_grad_through_a_checkpoint(use_reentrant):
    """torch's: the re-entrant variant refuses autograd.grad (and backward(inputs=...)); the other one works."""
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 5), np.float32)
    reference, ours = _pair(_conv_block)
    outcomes = []
    for lib, module, run in ((torch, reference, torch_checkpoint.checkpoint), (mg, ours, checkpoint)):
        xt = lib.tensor(x, requires_grad=True)
        y = run(module, xt, use_reentrant=use_reentrant).sum()
        try:
            outcomes.append([g.numpy() for g in lib.autograd.grad(y, [xt, module[0].weight])])
        except RuntimeError as error:
            outcomes.append(str(error))
    if use_reentrant:
        assert outcomes[1] == outcomes[0] and "incompatible with .grad()" in outcomes[0]
    else:
        _close(outcomes[1], outcomes[0])


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_a_parameters_hook_runs_once(use_reentrant):
    counts = []
    for lib, run in ((torch, torch_checkpoint.checkpoint), (mg, checkpoint)):
        w, calls = lib.ones(3, requires_grad=True), []
        w.register_hook(lambda grad: calls.append(grad.numpy().copy()))
        run(lambda x: x * w, lib.full((3,), 2.0, requires_grad=True), use_reentrant=use_reentrant).sum().backward()
        counts.append(calls)
    _close(counts[1], counts[0])


def _messages(lib, run):
    """The warnings that run(lib) gives, and its error, as (type, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run(lib)
            error = None
        except Exception as exception:
            error = type(exception).__name__, str(exception)
    return [(w.category.__name__, str(w.message)) for w in caught], error


def _checkpoint(lib):
    return torch_checkpoint.checkpoint if lib is torch else checkpoint


def _sequential(lib):
    return torch_checkpoint.checkpoint_sequential if lib is torch else checkpoint_sequential


ARGUMENT_CASES = {
    "use_reentrant not passed": lambda lib: _checkpoint(lib)(lambda x: x * 2, lib.ones(2, requires_grad=True)),
    "sequential, use_reentrant not passed": lambda lib: _sequential(lib)(
        [lib.nn.ReLU(), lib.nn.Tanh()], 2, lib.ones(2, requires_grad=True)),
    "re-entrant with keywords": lambda lib: _checkpoint(lib)(
        lambda x, scale: x * scale, lib.ones(2, requires_grad=True), scale=2.0, use_reentrant=True),
    "re-entrant with debug": lambda lib: _checkpoint(lib)(
        lambda x: x, lib.ones(2, requires_grad=True), use_reentrant=True, debug=True),
    "sequential with keywords": lambda lib: _sequential(lib)(
        [lib.nn.ReLU()], 1, lib.ones(2), use_reentrant=False, scale=2.0),
    "unknown determinism check": lambda lib: _checkpoint(lib)(
        lambda x: x, lib.ones(2, requires_grad=True), use_reentrant=False, determinism_check="all"),
    "output needs no gradient": lambda lib: _checkpoint(lib)(
        lambda x: x.detach() * 2, lib.ones(2, requires_grad=True), use_reentrant=True).sum().backward(),
}


@pytest.mark.parametrize("case", ARGUMENT_CASES)
def test_warnings_and_errors_as_torch(case):
    assert _messages(mg, ARGUMENT_CASES[case]) == _messages(torch, ARGUMENT_CASES[case])


# torch's too, re-entrant: the outer block's forward runs the inner ones without the graph, so their inputs do not
# require grad there
@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad=True")
@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_checkpoint_sequential_and_nested_checkpoints(use_reentrant):
    """checkpoint_sequential's segments as torch's, and checkpoints inside a checkpoint (a backward inside a
    backward inside a backward, for the re-entrant variant)."""
    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), lib.nn.Linear(6, 6), lib.nn.ReLU(),
                                 lib.nn.Linear(6, 2))

    rng = np.random.default_rng(5)
    x, direction = rng.standard_normal((3, 4), np.float32), rng.standard_normal((3, 2), np.float32)
    reference, ours = _pair(make)
    expected = _run(torch, reference, x, direction,
                    lambda m, x: torch_checkpoint.checkpoint_sequential(m, 3, x, use_reentrant=use_reentrant))
    _close(_run(mg, ours, x, direction, lambda m, x: checkpoint_sequential(m, 3, x, use_reentrant=use_reentrant)),
           expected)

    def nested(m, x):
        inner = lambda x: checkpoint(m[2:], checkpoint(m[:2], x, use_reentrant=use_reentrant),  # noqa: E731
                                     use_reentrant=use_reentrant)
        return checkpoint(inner, x, use_reentrant=use_reentrant)
    _close(_run(mg, ours, x, direction, nested), expected)


def test_gradcheck_through_a_checkpoint():
    w = mg.tensor(np.random.default_rng(6).standard_normal((4, 3)), requires_grad=True)

    def block(x, bias):
        return (x @ w + bias).tanh() * x.sum()

    for use_reentrant in VARIANTS:
        x = mg.tensor(np.random.default_rng(7).standard_normal((2, 4)), requires_grad=True)
        bias = mg.tensor(np.random.default_rng(8).standard_normal(3), requires_grad=True)
        assert mg.gradcheck(lambda x, bias, w: checkpoint(block, x, bias, use_reentrant=use_reentrant), [x, bias, w])


def test_gpu_path_matches_cpu(gpu_path):
    rng = np.random.default_rng(9)
    x, direction = rng.standard_normal((2, 3, 6, 6), np.float32), rng.standard_normal((2, 4, 6, 6), np.float32)
    _, ours = _pair(_conv_block)
    results = {}
    for device in ("cpu", "gpu"):
        ours.to(device)
        for use_reentrant in VARIANTS:
            xt = mg.tensor(x, device=device, requires_grad=True)
            ours.zero_grad()
            y = checkpoint(ours, xt, use_reentrant=use_reentrant)
            assert y.device == device
            (y * mg.tensor(direction, device=device)).sum().backward()
            results[device, use_reentrant] = [t.numpy() for t in [y, xt.grad, *(p.grad for p in ours.parameters())]]
    for use_reentrant in VARIANTS:
        for ours_gpu, cpu in zip(results["gpu", use_reentrant], results["cpu", use_reentrant]):
            assert relative_error(ours_gpu, cpu) <= 1e-5


def saved_bytes(output):
    """The bytes of the distinct arrays that the graph behind `output` keeps for backward (an op's output that the
    next one saves too counted once)."""
    arrays = {id(memory_owner(array)): memory_owner(array).nbytes for entry in topological_order(output)
              if entry.creator is not None for array in _saved_arrays(entry.creator.saved)}
    return sum(arrays.values())


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_checkpointing_keeps_fewer_arrays_for_backward(use_reentrant):
    """A chain of conv, tanh, conv, ReLU blocks keeps only each block's input when checkpointed: without it, each
    block's tanh and ReLU outputs (the latter the next block's input), twice as many bytes."""
    mg.manual_seed(0)
    blocks = [mg.nn.Sequential(mg.nn.Conv2d(4, 4, 3, padding=1), mg.nn.Tanh(), mg.nn.Conv2d(4, 4, 3, padding=1),
                               mg.nn.ReLU()) for _ in range(4)]
    x = mg.randn(2, 4, 16, 16, requires_grad=True)
    plain = checkpointed = x
    for block in blocks:
        plain = block(plain)
        checkpointed = checkpoint(block, checkpointed, use_reentrant=use_reentrant)
    feature_map = x.numel() * 4
    assert saved_bytes(plain) >= 2 * len(blocks) * feature_map
    assert saved_bytes(checkpointed) <= len(blocks) * feature_map


def test_a_recomputation_of_other_shapes_is_refused():
    """torch's determinism check of the non-re-entrant variant: the outer gradients would not fit such outputs."""
    calls = []

    def grows(x):
        calls.append(None)
        return x[:len(calls)] * 2

    y = checkpoint(grows, mg.ones(3, requires_grad=True), use_reentrant=False)
    with pytest.raises(RuntimeError, match="Recomputed values have different metadata"):
        y.sum().backward()
