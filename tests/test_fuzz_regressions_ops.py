"""Cases where minigrad once disagreed with torch, found by differential fuzzing of the ops the U-Net and its training
use, each reduced to its smallest form: the first moment of Adam (AdamW, Adamax, NAdam, RAdam) with beta1 = 0 after a
large gradient, which torch's lerp_ gives as the new gradient exactly, rounding from the gradient's end for a weight of
0.5 or more (average + (gradient - average) lost a small gradient beside a large average; the GPU kernel's too);
group_norm's errors for one value per group as torch counts them, for a 1-d input and for a weight or bias of another
size; batch_norm's and instance_norm's refusal of momentum=None; F.pad's value=None (torch's default, which padded NaN
here), an unknown mode and a value beside a mode that takes none; binary_cross_entropy_with_logits beside a target of
another dtype, whose loss is of the target's dtype; and the errors of amax, amin and the inf norms over an empty dim,
which name the first empty dim given as it was given (NumPy's error, for the norms)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch

torch = pytest.importorskip("torch")

# A large gradient, then small ones: the first moment of beta1 = 0 must drop the large one entirely.
GRADIENTS = np.array([[-2087.0, 939.9, 1e3], [6.9e-5, -1e-4, 2e-5], [3e-3, 0.5, -7e-6]], np.float32)


def adam_steps(library, name, options, device=None):
    """The parameter and its exp_avg after each step of optimizer `name` on GRADIENTS, as float32 arrays."""
    start = np.array([0.5, -0.3, 1.2], np.float32)
    param = mg.tensor(start, requires_grad=True, device=device) if library is mg else torch.tensor(start,
                                                                                                   requires_grad=True)
    optimizer = getattr(library.optim, name)([param], lr=0.1, **options)
    steps = []
    for gradient in GRADIENTS:
        param.grad = mg.tensor(gradient, device=device) if library is mg else torch.tensor(gradient)
        optimizer.step()
        steps.append([np.array(param.tolist(), np.float32),
                      np.array(optimizer.state[param]["exp_avg"].tolist(), np.float32)])
    return steps


ADAM_FAMILY = {
    "Adam": ("Adam", dict(betas=(0.0, 0.99))),
    "Adam amsgrad, weight decay": ("Adam", dict(betas=(0.0, 0.9), amsgrad=True, weight_decay=0.01)),
    "AdamW maximize": ("AdamW", dict(betas=(0.0, 0.99), maximize=True)),
    "Adamax": ("Adamax", dict(betas=(0.0, 0.99))),
    "NAdam": ("NAdam", dict(betas=(0.0, 0.99))),
    "RAdam": ("RAdam", dict(betas=(0.0, 0.99))),
}


@pytest.mark.parametrize("case", ADAM_FAMILY)
def test_first_moment_with_beta1_0_is_the_gradient_as_torchs(case):
    """GANs' betas=(0, 0.99): exp_avg is the last gradient, to the bit, whatever came before."""
    name, options = ADAM_FAMILY[case]
    for (ours, our_average), (theirs, their_average) in zip(adam_steps(mg, name, options),
                                                            adam_steps(torch, name, options), strict=True):
        np.testing.assert_array_equal(our_average, their_average)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_the_adam_kernel_with_beta1_0_steps_as_torch(host_kernels):
    name, options = ADAM_FAMILY["Adam"]
    for (ours, our_average), (theirs, their_average) in zip(adam_steps(mg, name, options),
                                                            adam_steps(torch, name, options), strict=True):
        np.testing.assert_array_equal(our_average, their_average)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert host_kernels.launches == ["adam"] * len(GRADIENTS)


def test_adam_with_beta1_0_gpu_path_matches_cpu(gpu_path):
    name, options = ADAM_FAMILY["Adam"]
    for (gpu, gpu_average), (cpu, cpu_average) in zip(adam_steps(mg, name, options, device="gpu"),
                                                      adam_steps(mg, name, options), strict=True):
        np.testing.assert_array_equal(gpu_average, cpu_average)
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-7)
    assert "adam" in gpu_path.launches


GROUP_NORM_ERRORS = {
    "one value per group, one sample": ((1, 3), 3, {}),
    "one value per group as torch counts, before the channels' divisibility": ((1, 4, 1), 3, {}),
    "a 1-d input": ((3,), 1, {}),
    "a weight of another size": ((2, 4, 3, 3), 2, {"weight": (3,)}),
    "a weight of two dims": ((2, 4, 3, 3), 2, {"weight": (4, 1)}),
    "a bias of another size, no weight": ((2, 4, 3, 3), 2, {"bias": (3,)}),
    "a bias of another size beside a weight": ((2, 4, 3, 3), 2, {"weight": (4,), "bias": (2, 2)}),
}


@pytest.mark.parametrize("case", GROUP_NORM_ERRORS)
def test_group_norm_raises_torchs_errors(case):
    shape, groups, affine = GROUP_NORM_ERRORS[case]

    def call(lib):
        return lambda: lib.nn.functional.group_norm(lib.ones(*shape), groups,
                                                    **{name: lib.ones(*size) for name, size in affine.items()})
    assert_raises_as_torch(call(torch), call(mg))


def test_group_norm_module_on_one_value_per_group_raises_torchs_error():
    assert_raises_as_torch(lambda: torch.nn.GroupNorm(2, 2)(torch.ones(1, 2, 1, 1)),
                           lambda: mg.nn.GroupNorm(2, 2)(mg.ones(1, 2, 1, 1)))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
def test_norms_refuse_momentum_none_as_torch(op, training):
    """momentum=None (a cumulative average) is the modules' to reckon; the functions take a number, in either mode."""
    def call(lib):
        statistics = dict(running_mean=lib.zeros(3), running_var=lib.ones(3))
        mode = {"training": training} if op == "batch_norm" else {"use_input_stats": training}
        return lambda: getattr(lib.nn.functional, op)(lib.ones(2, 3, 4), **statistics, **mode, momentum=None)
    assert_raises_as_torch(call(torch), call(mg))


def test_pad_of_value_none_pads_zeros_as_torch():
    """value=None is torch's default, which wrappers pass on."""
    assert_matches_torch(torch, lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1), value=None),
                         [np.random.default_rng(0).standard_normal((1, 2, 3, 3))])


@pytest.mark.parametrize("pad, mode, value", [((1, 1), "bogus", 0.0), ((1, 1, 1, 1), "bogus", 1.0),
                                              ((1, 1), "reflect", 1.0), ((1, 1, 1, 1), "circular", -2.0),
                                              ((1, 1, 1, 1), "replicate", 0.5)],
                         ids=["unknown mode", "unknown mode and a value", "reflect's value, before the size",
                              "circular's value", "replicate's value"])
def test_pad_refuses_a_mode_or_value_as_torch(pad, mode, value):
    assert_raises_as_torch(lambda: torch.nn.functional.pad(torch.ones(1, 2, 3, 3), pad, mode=mode, value=value),
                           lambda: mg.nn.functional.pad(mg.ones(1, 2, 3, 3), pad, mode=mode, value=value))


@pytest.mark.parametrize("input_dtype, target_dtype", [("float64", "float32"), ("float32", "float64"),
                                                       ("float32", "float16")])
@pytest.mark.parametrize("extra", [{}, {"pos_weight": [2.0, 0.5, 1.5]}, {"weight": [2.0, 0.5, 1.0]}],
                         ids=["plain", "pos_weight", "weight"])
def test_bce_with_logits_is_of_the_targets_dtype_as_torchs(input_dtype, target_dtype, extra):
    """torch's loss is (1 - target), multiplied by the input in place: of the target's dtype; the gradients are of
    their own tensors' dtypes."""
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((2, 3)) * 3, rng.uniform(0, 1, (2, 3))
    results = []
    for lib in (mg, torch):
        x = lib.tensor(logits.astype(input_dtype), requires_grad=True)
        y = lib.tensor(target.astype(target_dtype), requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy_with_logits(
            x, y, **{name: lib.tensor(values) for name, values in extra.items()})
        loss.backward()
        results.append([np.asarray(t.tolist(), str(t.dtype).removeprefix("torch.")) for t in (loss, x.grad, y.grad)])
    for ours, theirs in zip(*results, strict=True):  # both computed to float32's precision, or float16's
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=2e-3 if "float16" in (input_dtype, target_dtype) else 1e-5)


@pytest.mark.parametrize("shape, dim", [((1, 2, 0), (-1, 1)), ((1, 2, 0), (1, -1)), ((3, 0, 0), (2, 1)), ((0,), -1),
                                        ((0, 3), (-2, 1))])
@pytest.mark.parametrize("call", [lambda lib, x, dim: lib.amax(x, dim), lambda lib, x, dim: x.amin(dim),
                                  lambda lib, x, dim: lib.linalg.vector_norm(x, float("inf"), dim),
                                  lambda lib, x, dim: lib.linalg.vector_norm(x, -float("inf"), dim)],
                         ids=["amax", "amin", "inf norm", "-inf norm"])
def test_reductions_without_identity_name_the_first_empty_dim_as_written(call, shape, dim):
    """torch's amax, amin and inf norms name the first empty dim of those given, as given (-1, not 2)."""
    assert_raises_as_torch(lambda: call(torch, torch.zeros(shape), dim), lambda: call(mg, mg.zeros(shape), dim))


def test_inf_norm_of_an_empty_tensor_raises_torchs_error():
    assert_raises_as_torch(lambda: torch.linalg.vector_norm(torch.zeros(0, 3), float("inf")),
                           lambda: mg.linalg.vector_norm(mg.zeros(0, 3), float("inf")))
