"""nn.utils.fusion (a convolution or linear layer folded with the BatchNorm after it) and nn.utils.skip_init against
torch: the fused weights torch's from the same layers, the fused layer's output torch's fused layer's and the
unfused pair's in evaluation, torch's errors, and skip_init's module, which spends no random draw, as torch's."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")

LAYERS = {
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 3), lambda nn: nn.BatchNorm1d(4), (2, 3, 7)),
    "Conv2d-groups-dilation": (lambda nn: nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=1),
                               lambda nn: nn.BatchNorm2d(6), (2, 4, 7, 6)),
    "Conv2d-no-bias-no-affine": (lambda nn: nn.Conv2d(3, 5, 2, bias=False),
                                 lambda nn: nn.BatchNorm2d(5, affine=False), (2, 3, 5, 5)),
    "Conv3d": (lambda nn: nn.Conv3d(2, 3, 2, stride=2), lambda nn: nn.BatchNorm3d(3, eps=1e-3), (1, 2, 4, 4, 6)),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(3, 4, 3, stride=2), lambda nn: nn.BatchNorm2d(4),
                        (2, 3, 4, 5)),
    "ConvTranspose1d-no-bias": (lambda nn: nn.ConvTranspose1d(4, 6, 3, bias=False),
                                       lambda nn: nn.BatchNorm1d(6), (2, 4, 5)),
    "Linear": (lambda nn: nn.Linear(5, 4), lambda nn: nn.BatchNorm1d(4), (6, 5)),
    "Linear-no-bias": (lambda nn: nn.Linear(5, 3, bias=False), lambda nn: nn.BatchNorm1d(3), (6, 5)),
    "Linear-one-feature": (lambda nn: nn.Linear(5, 4), lambda nn: nn.BatchNorm1d(1), (6, 5)),
}


def through_bn(bn, output):
    """bn of the layer's output: a BatchNorm of one feature takes each output as a sample of it."""
    return bn(output.reshape(-1, 1)).reshape(output.shape) if bn.num_features == 1 else bn(output)


def fuse(library, layer, bn):
    utils = library.nn.utils
    if isinstance(layer, library.nn.Linear):
        return utils.fuse_linear_bn_eval(layer, bn)
    return utils.fuse_conv_bn_eval(layer, bn, transpose="Transpose" in type(layer).__name__)


def eval_pairs(case, rng):
    """The case's layer and BatchNorm in both libraries, in evaluation, with the same weights: random ones, and the
    BatchNorm's running statistics set by a few training batches in minigrad."""
    make_layer, make_bn, input_shape = LAYERS[case]
    layer, bn = make_layer(mg.nn), make_bn(mg.nn)
    for parameter in [*layer.parameters(), *bn.parameters()]:
        parameter.data[...] = rng.standard_normal(parameter.shape).astype(np.float32)
    for _ in range(3):
        through_bn(bn, layer(mg.tensor(rng.standard_normal(input_shape).astype(np.float32) + 0.5)))
    pairs = {mg: (layer.eval(), bn.eval())}
    theirs = make_layer(torch.nn), make_bn(torch.nn)
    for mine, reference in zip(pairs[mg], theirs):
        reference.load_state_dict({key: torch.from_numpy(value.numpy().copy())
                                   for key, value in mine.state_dict().items()})
    pairs[torch] = tuple(module.eval() for module in theirs)
    return pairs, rng.standard_normal(input_shape).astype(np.float32)


def numpy_of(tensor):
    return tensor.detach().numpy() if isinstance(tensor, torch.Tensor) else tensor.numpy()


@pytest.mark.parametrize("case", LAYERS)
def test_fused_layer_is_torchs_and_computes_the_pair(case):
    pairs, batch = eval_pairs(case, np.random.default_rng(0))
    fused = {library: fuse(library, *pairs[library]) for library in (mg, torch)}
    assert type(fused[mg]) is type(pairs[mg][0]) and fused[mg] is not pairs[mg][0]
    for name, reference in fused[torch].named_parameters():
        mine = getattr(fused[mg], name)
        assert isinstance(mine, mg.nn.Parameter) and mine.requires_grad == reference.requires_grad, name
        assert mine.dtype == mg.float32 and mine.shape == tuple(reference.shape), name
        assert relative_error(mine.numpy(), numpy_of(reference)) <= 1e-6, name
    with mg.no_grad(), torch.no_grad():
        fused_outputs = [numpy_of(fused[library](library.tensor(batch))) for library in (mg, torch)]
        layer, bn = pairs[mg]
        unfused = through_bn(bn, layer(mg.tensor(batch))).numpy()
    assert relative_error(*fused_outputs) <= 1e-6
    assert relative_error(fused_outputs[0], unfused) <= 1e-5


def test_the_layers_fused_are_left_as_they_were():
    pairs, _ = eval_pairs("Conv2d-groups-dilation", np.random.default_rng(1))
    layer, bn = pairs[mg]
    before = [{key: value.numpy().copy() for key, value in module.state_dict().items()} for module in (layer, bn)]
    fuse(mg, layer, bn)
    for module, saved in zip((layer, bn), before):
        for key, value in module.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), saved[key])


WEIGHT_CASES = {
    "all": dict(),
    "no-layer-bias": dict(layer_bias=False),
    "no-bn-affine": dict(bn_affine=False),
    "float64": dict(dtype=np.float64),
    "frozen-weight": dict(requires_grad=False),
}


def weight_arguments(library, rng, out_channels, weight_shape, layer_bias=True, bn_affine=True, dtype=np.float32,
                     requires_grad=True):
    def tensor(shape, positive=False):
        array = rng.standard_normal(shape).astype(dtype)
        return library.tensor(np.abs(array) + 0.1 if positive else array)
    weight = tensor(weight_shape).requires_grad_(requires_grad)
    bias = tensor(out_channels).requires_grad_() if layer_bias else None
    bn_weight, bn_bias = (tensor(out_channels), tensor(out_channels)) if bn_affine else (None, None)
    return weight, bias, tensor(out_channels), tensor(out_channels, positive=True), 1e-3, bn_weight, bn_bias


@pytest.mark.parametrize("function, weight_shape, transpose", [
    ("fuse_conv_bn_weights", (4, 3, 3, 2), False), ("fuse_conv_bn_weights", (3, 4, 2), True),
    ("fuse_linear_bn_weights", (4, 6), False)])
@pytest.mark.parametrize("case", WEIGHT_CASES)
def test_fused_weights_are_torchs(function, weight_shape, transpose, case):
    """A missing layer bias is zeros and gives a bias that requires no grad; a missing BatchNorm weight and bias are
    ones and zeros (torch's linear fusion takes them, but not None); the dtypes are the layer's."""
    if function == "fuse_linear_bn_weights" and case == "no-bn-affine":
        pytest.skip("torch's fuse_linear_bn_weights takes the BatchNorm's weight and bias, never None")
    out_channels = weight_shape[1 if transpose else 0]
    results = []
    for library in (mg, torch):
        arguments = weight_arguments(library, np.random.default_rng(2), out_channels, weight_shape,
                                     **WEIGHT_CASES[case])
        extra = (transpose,) if function == "fuse_conv_bn_weights" else ()
        results.append(getattr(library.nn.utils, function)(*arguments, *extra))
    for mine, reference in zip(*results, strict=True):
        assert isinstance(mine, mg.nn.Parameter)
        assert (mine.dtype, mine.shape, mine.requires_grad) == (
            getattr(mg, str(reference.dtype).removeprefix("torch.")), tuple(reference.shape), reference.requires_grad)
        assert relative_error(mine.numpy(), numpy_of(reference)) <= (1e-12 if case == "float64" else 1e-6)


def training_pair(library, which):
    layer = library.nn.Linear(3, 2) if which == "linear" else library.nn.Conv2d(2, 2, 1)
    bn = library.nn.BatchNorm1d(2) if which == "linear" else library.nn.BatchNorm2d(2)
    return layer, bn


ERRORS = {
    "layer-training": lambda library: (lambda layer, bn: (layer, bn.eval()))(*training_pair(library, "conv")),
    "bn-training": lambda library: (lambda layer, bn: (layer.eval(), bn))(*training_pair(library, "linear")),
    "no-running-stats": lambda library: (library.nn.Conv2d(2, 2, 1).eval(),
                                         library.nn.BatchNorm2d(2, track_running_stats=False).eval()),
    "linear-no-running-stats": lambda library: (library.nn.Linear(3, 2).eval(),
                                                library.nn.BatchNorm1d(2, track_running_stats=False).eval()),
    "linear-features": lambda library: (library.nn.Linear(3, 2).eval(), library.nn.BatchNorm1d(3).eval()),
}


@pytest.mark.parametrize("case", ERRORS)
def test_fusion_refuses_as_torch(case):
    assert_raises_as_torch(lambda: fuse(torch, *ERRORS[case](torch)), lambda: fuse(mg, *ERRORS[case](mg)))


def test_fused_conv_on_the_gpu_path_is_the_cpus(gpu_path):
    pairs, batch = eval_pairs("Conv2d-groups-dilation", np.random.default_rng(3))
    cpu = fuse(mg, *pairs[mg])
    gpu = fuse(mg, *(module.to("gpu") for module in pairs[mg]))
    assert gpu.weight.device == "gpu"
    with mg.no_grad():
        assert relative_error(gpu(mg.tensor(batch, device="gpu")).numpy(), cpu(mg.tensor(batch)).numpy()) <= 1e-5


# ----------------------------------------------------------------------------- skip_init

SKIPPED = {
    "Linear": (lambda nn: nn.Linear, (5, 3), dict()),
    "Linear-float64-no-bias": (lambda nn: nn.Linear, (4,), dict(out_features=2, bias=False, dtype="float64")),
    "Conv2d": (lambda nn: nn.Conv2d, (3, 4, 3), dict(padding=1)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d, (6,), dict()),
    "LayerNorm": (lambda nn: nn.LayerNorm, ((2, 3),), dict()),
}


@pytest.mark.parametrize("case", SKIPPED)
def test_skip_init_builds_torchs_module_without_a_draw(case):
    """The parameters' and buffers' names, shapes, dtypes and requires_grad torch's; the generator where it was
    before, as torch's, so that the next draw is the one it would have been."""
    modules, draws = {}, {}
    for library in (mg, torch):
        cls, args, kwargs = SKIPPED[case]
        kwargs = {key: getattr(library, value) if key == "dtype" else value for key, value in kwargs.items()}
        library.manual_seed(0)
        expected = library.rand(4)
        library.manual_seed(0)
        modules[library] = library.nn.utils.skip_init(cls(library.nn), *args, **kwargs)
        draws[library] = (library.rand(4), expected)
    for mine, expected in [draws[mg], draws[torch]]:
        np.testing.assert_array_equal(numpy_of(mine), numpy_of(expected))
    mine, theirs = modules[mg], modules[torch]
    assert type(mine).__name__ == type(theirs).__name__ and mine.training == theirs.training
    for kind in ("named_parameters", "named_buffers"):
        reference = {name: (tuple(tensor.shape), str(tensor.dtype).removeprefix("torch."), tensor.requires_grad)
                     for name, tensor in getattr(theirs, kind)()}
        assert {name: (tensor.shape, str(tensor.dtype), tensor.requires_grad)
                for name, tensor in getattr(mine, kind)()} == reference
        assert all(tensor.device == "cpu" for _, tensor in getattr(mine, kind)())


class NoDevice:
    """A module class whose constructor takes no device, which skip_init refuses."""

    @staticmethod
    def of(library):
        class Scale(library.nn.Module):
            def __init__(self, features):
                super().__init__()
                self.scale = library.nn.Parameter(library.ones(features))
        return Scale


@pytest.mark.parametrize("module_cls", [lambda library: int, lambda library: NoDevice.of(library),
                                        lambda library: "Linear"], ids=["not-a-module", "no-device", "not-a-class"])
def test_skip_init_refuses_as_torch(module_cls):
    assert_raises_as_torch(lambda: torch.nn.utils.skip_init(module_cls(torch), 3),
                           lambda: mg.nn.utils.skip_init(module_cls(mg), 3))


def test_the_names_are_torchs():
    import minigrad.nn.utils.fusion as fusion
    assert set(fusion.__all__) == set(torch.nn.utils.fusion.__all__)
    for name in fusion.__all__ + ["skip_init"]:
        assert callable(getattr(mg.nn.utils, name)) and name in dir(torch.nn.utils)
