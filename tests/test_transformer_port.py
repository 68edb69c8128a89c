"""nn.TransformerDecoderLayer, nn.TransformerEncoder, nn.TransformerDecoder and nn.Transformer against torch's with
the same weights (torch's state dict loaded): outputs and the gradients of the inputs and of every parameter, over
layouts, norm_first, activations, masks of each kind, causal hints, unbatched inputs and custom norms and stacks;
their state dicts and reprs, Transformer's initialisation, the causal mask, dropout under a seed, torch's errors and
warnings, the encoder's nested-tensor outputs and the GPU path."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import load_with_vector_parameters_drawn, relative_error

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors"),
              pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")]  # both warn, as tested

E, HEADS, FF, S, T, N = 8, 2, 16, 5, 4, 3


def _activation(library, name):
    return {"gelu-module": lambda: library.nn.GELU(), "tanh": lambda: library.tanh}.get(name, lambda: name)()


def _encoder_layer(nn, options):
    return nn.TransformerEncoderLayer(E, HEADS, FF, **options)


def _decoder_layer(nn, options):
    return nn.TransformerDecoderLayer(E, HEADS, FF, **options)


def _stack_norm(nn, norm):
    return nn.LayerNorm(E, eps=1e-3) if norm else None


def _transformer(nn, options, custom=False):
    if not custom:
        return nn.Transformer(E, HEADS, 2, 2, FF, **options)
    encoder = nn.TransformerEncoder(_encoder_layer(nn, options), 1, norm=nn.LayerNorm(E, bias=False))
    return nn.Transformer(E, HEADS, dim_feedforward=FF, custom_encoder=encoder,
                          custom_decoder=nn.TransformerDecoder(_decoder_layer(nn, options), 1), **options)


BUILDERS = {  # kind: (maker(nn, layer options, norm or custom), its inputs among "src", "tgt", "memory")
    "decoder-layer": (lambda nn, options, _: _decoder_layer(nn, options), ("tgt", "memory")),
    "encoder": (lambda nn, options, norm: nn.TransformerEncoder(_encoder_layer(nn, options), 2, _stack_norm(nn, norm)),
                ("src",)),
    "decoder": (lambda nn, options, norm: nn.TransformerDecoder(_decoder_layer(nn, options), 2, _stack_norm(nn, norm)),
                ("tgt", "memory")),
    "transformer": (_transformer, ("src", "tgt")),
}

MASK_SIZES = {  # a mask's (queries, keys) by its argument, padding masks with no queries
    "tgt_mask": (T, T), "memory_mask": (T, S), "src_mask": (S, S), "mask": (S, S), "tgt_key_padding_mask": (None, T),
    "memory_key_padding_mask": (None, S), "src_key_padding_mask": (None, S),
}


def _mask(kind, queries, keys, batched, rng):
    """A mask of `kind` that leaves every query its first key (True or -inf blocks); padding (N, keys) without
    queries, (keys,) unbatched."""
    if kind == "causal-bool":
        return np.triu(np.ones((queries, keys), bool), 1)
    if kind == "causal-float":
        return np.triu(np.full((queries, keys), -np.inf, np.float32), 1)
    shape = ((N * HEADS,) if kind.endswith("3d") else ()) + ((N,) if queries is None else (queries,)) + (keys,)
    if kind.startswith("bool"):
        mask = rng.random(shape) > 0.6
        mask[..., 0] = False
    else:
        mask = rng.standard_normal(shape).astype(np.float32)
    return mask if batched or queries is not None else mask[0]


# name: (kind, constructor options, forward options (a mask argument's value is its kind), flags: "norm" (a stack
#        ends in a LayerNorm), "custom" (the transformer's stacks are custom), "unbatched", "train")
CASES = {
    "decoder-layer-post-norm-relu": ("decoder-layer", {}, {}, ""),
    "decoder-layer-pre-norm-gelu-batch-first": ("decoder-layer", {"norm_first": True, "activation": "gelu",
                                                                  "batch_first": True}, {}, ""),
    "decoder-layer-bool-masks": ("decoder-layer", {}, {"tgt_mask": "bool", "memory_mask": "bool",
                                                       "tgt_key_padding_mask": "bool",
                                                       "memory_key_padding_mask": "bool"}, ""),
    "decoder-layer-float-masks": ("decoder-layer", {"batch_first": True, "layer_norm_eps": 1e-3},
                                  {"tgt_mask": "float", "memory_mask": "float", "tgt_key_padding_mask": "float",
                                   "memory_key_padding_mask": "float"}, ""),
    "decoder-layer-3d-masks": ("decoder-layer", {"norm_first": True}, {"tgt_mask": "bool-3d",
                                                                       "memory_mask": "float-3d"}, ""),
    "decoder-layer-causal-hints": ("decoder-layer", {"batch_first": True},
                                   {"tgt_mask": "causal-float", "tgt_is_causal": True, "memory_mask": "causal-bool",
                                    "memory_is_causal": True, "memory_key_padding_mask": "bool"}, ""),
    "decoder-layer-hint-drops-mask": ("decoder-layer", {}, {"tgt_mask": "float", "tgt_is_causal": True}, ""),
    "decoder-layer-unbatched-gelu-module-no-bias": ("decoder-layer", {"bias": False, "activation": "gelu-module"},
                                                    {"tgt_mask": "causal-bool", "memory_key_padding_mask": "bool"},
                                                    "unbatched"),
    "decoder-layer-callable-training": ("decoder-layer", {"activation": "tanh", "dropout": 0.0},
                                        {"memory_key_padding_mask": "float"}, "train"),
    "encoder-norm": ("encoder", {}, {}, "norm"),
    "encoder-batch-first-masks": ("encoder", {"batch_first": True}, {"mask": "bool", "src_key_padding_mask": "bool"},
                                  ""),
    "encoder-detects-causal": ("encoder", {"activation": "gelu"}, {"mask": "causal-float"}, "norm"),
    "encoder-pre-norm-unbatched-float-masks": ("encoder", {"norm_first": True},
                                               {"mask": "float", "src_key_padding_mask": "float"}, "norm unbatched"),
    "decoder-norm": ("decoder", {}, {"memory_key_padding_mask": "bool"}, "norm"),
    "decoder-detects-causal-batch-first": ("decoder", {"batch_first": True},
                                           {"tgt_mask": "causal-bool", "tgt_key_padding_mask": "bool"}, ""),
    "decoder-pre-norm-3d": ("decoder", {"norm_first": True}, {"tgt_mask": "float-3d", "memory_mask": "bool"}, "norm"),
    "transformer": ("transformer", {}, {}, ""),
    "transformer-batch-first-all-masks": ("transformer", {"batch_first": True},
                                          {"src_mask": "bool", "tgt_mask": "causal-float", "memory_mask": "float",
                                           "src_key_padding_mask": "bool", "tgt_key_padding_mask": "bool",
                                           "memory_key_padding_mask": "bool"}, ""),
    "transformer-norm-first-gelu-hints": ("transformer", {"norm_first": True, "activation": "gelu"},
                                          {"src_mask": "causal-float", "src_is_causal": True,
                                           "tgt_mask": "causal-bool", "tgt_is_causal": True}, ""),
    "transformer-unbatched-no-bias": ("transformer", {"bias": False},
                                      {"tgt_mask": "causal-float", "src_key_padding_mask": "bool",
                                       "memory_key_padding_mask": "bool"}, "unbatched"),
    "transformer-custom-stacks": ("transformer", {"layer_norm_eps": 1e-4, "batch_first": True},
                                  {"memory_mask": "bool-3d"}, "custom"),
}


def _arrays(case):
    """The inputs, (L, N, E) in the module's layout, the masks and the direction of the backward pass."""
    kind, options, forward_options, flags = CASES[case]
    batch_first, batched = options.get("batch_first", False), "unbatched" not in flags
    rng = np.random.default_rng(0)
    sequences = {"src": rng.standard_normal((S, N, E)), "tgt": rng.standard_normal((T, N, E))}
    sequences["memory"] = sequences["src"]
    inputs = []
    for name in BUILDERS[kind][1]:
        array = sequences[name].astype(np.float32)
        inputs.append((array.transpose(1, 0, 2) if batch_first else array) if batched else array[:, 0])
    masks = {name: _mask(value, *MASK_SIZES[name], batched, rng) for name, value in forward_options.items()
             if name in MASK_SIZES}
    output_length = S if kind == "encoder" else T
    direction = rng.standard_normal(((N, output_length) if batch_first else (output_length, N)) + (E,))
    return inputs, masks, (direction if batched else direction[:, 0]).astype(np.float32)


def _modules(case):
    """torch's module (in eval mode unless the case trains) and minigrad's with its state dict loaded."""
    kind, options, _, flags = CASES[case]
    torch.manual_seed(0)  # the same weights in any order of the tests
    modules = []
    for library in (torch, mg):
        library_options = {**options, "activation": _activation(library, options.get("activation", "relu"))}
        made = BUILDERS[kind][0](library.nn, library_options, "norm" in flags or "custom" in flags)
        modules.append(made.train("train" in flags))
    load_with_vector_parameters_drawn(*modules)
    return modules


def _run(module, library, case, arrays, device="cpu"):
    """The output and the gradients of the inputs and of every parameter by name, for the case's direction."""
    inputs, masks, direction = arrays
    if library is torch:
        tensor = torch.tensor
        inputs = [torch.tensor(array, requires_grad=True) for array in inputs]
    else:
        def tensor(array):
            return mg.tensor(array, device=device)
        inputs = [mg.tensor(array, requires_grad=True, device=device) for array in inputs]
    options = {name: tensor(masks[name]) if name in masks else value for name, value in CASES[case][2].items()}
    output = module(*inputs, **options)
    (output * tensor(direction)).sum().backward()
    return output, {**{f"input{i}": x.grad for i, x in enumerate(inputs)},
                    **{name: parameter.grad for name, parameter in module.named_parameters()}}


def _numpy(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else value.numpy()


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case):
    reference, ours = _modules(case)
    arrays = _arrays(case)
    expected, actual = _run(reference, torch, case, arrays), _run(ours, mg, case, arrays)
    assert actual[0].dtype == mg.float32
    np.testing.assert_allclose(actual[0].numpy(), _numpy(expected[0]), rtol=1e-5, atol=2e-6)
    assert actual[1].keys() == expected[1].keys()
    for name, grad in expected[1].items():  # a weight's gradient sums L * N terms through the norms
        np.testing.assert_allclose(_numpy(actual[1][name]), _numpy(grad), rtol=1e-5, atol=1e-5, err_msg=name)


STRUCTURES = {
    "decoder-layer": lambda nn: nn.TransformerDecoderLayer(E, HEADS, FF),
    "decoder-layer-no-bias-gelu-module": lambda nn: nn.TransformerDecoderLayer(E, HEADS, FF, activation=nn.GELU(),
                                                                              bias=False, norm_first=True),
    "encoder": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 3, nn.LayerNorm(E)),
    "decoder": lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(E, HEADS, FF, activation=nn.ReLU()), 2),
    "transformer": lambda nn: nn.Transformer(E, HEADS, 2, 1, FF),
    "transformer-no-bias": lambda nn: nn.Transformer(E, HEADS, 1, 2, FF, bias=False, activation="gelu"),
}


@pytest.mark.parametrize("name", STRUCTURES)
def test_state_dict_and_repr_are_torchs(name):
    ours, reference = STRUCTURES[name](mg.nn), STRUCTURES[name](torch.nn)
    assert [(key, tuple(value.shape)) for key, value in ours.state_dict().items()] == \
        [(key, tuple(value.shape)) for key, value in reference.state_dict().items()]
    assert repr(ours) == repr(reference)


def test_stacks_hold_equal_copies_and_transformer_draws_each_from_xavier():
    layer = mg.nn.TransformerDecoderLayer(E, HEADS, FF)
    decoder = mg.nn.TransformerDecoder(layer, 2)
    first, second = decoder.layers[0], decoder.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), layer.linear1.weight.numpy())
    np.testing.assert_array_equal(second.linear1.weight.numpy(), layer.linear1.weight.numpy())
    mg.manual_seed(0)
    model = mg.nn.Transformer(E, HEADS, 2, 2, 64)
    weights = {name: p.numpy() for name, p in model.named_parameters() if p.ndim > 1}
    assert len(weights) == 2 * 4 + 2 * 6
    for name, weight in weights.items():  # Glorot-uniform: U(±sqrt(6 / (fan_in + fan_out)))
        bound = np.sqrt(6.0 / sum(weight.shape))
        assert np.abs(weight).max() <= bound, name
        assert abs(weight.std() - bound / np.sqrt(3)) < 0.2 * bound, name
    stacked = [np.concatenate([weights[f"{stack}.layers.{i}.linear1.weight"].ravel() for i in range(2)])
               for stack in ("encoder", "decoder")]
    assert not np.array_equal(stacked[0][:E * 64], stacked[0][E * 64:])
    assert abs(np.concatenate(stacked).std() - np.sqrt(6.0 / (E + 64)) / np.sqrt(3)) < 0.02
    for name, parameter in model.named_parameters():  # one-dim parameters keep their layers' init
        if name.endswith("in_proj_bias") or name.endswith("out_proj.bias") or name.endswith("norm.bias"):
            assert not parameter.numpy().any(), name
        if ".norm" in name and name.endswith("weight") or name.endswith("norm.weight"):
            assert (parameter.numpy() == 1).all(), name


@pytest.mark.parametrize("size, dtype", [(5, None), (1, "float64"), (4, "bool"), (0, None)])
def test_square_subsequent_mask_is_torchs(size, dtype):
    ours = mg.nn.Transformer.generate_square_subsequent_mask(size, dtype=dtype and getattr(mg, dtype))
    expected = torch.nn.Transformer.generate_square_subsequent_mask(size, dtype=dtype and getattr(torch, dtype))
    assert str(ours.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())


def test_dropout_draws_from_the_seed_in_training_only():
    model = mg.nn.Transformer(E, HEADS, 1, 1, FF, dropout=0.5)
    src, tgt = (mg.tensor(np.random.default_rng(i).standard_normal((length, N, E)).astype(np.float32))
                for i, length in enumerate((S, T)))
    mg.manual_seed(1)
    trained = model(src, tgt).numpy()
    mg.manual_seed(1)
    np.testing.assert_array_equal(model(src, tgt).numpy(), trained)
    assert not np.array_equal(model(src, tgt).numpy(), trained)
    model.eval()
    evaluated = model(src, tgt).numpy()
    np.testing.assert_array_equal(model(src, tgt).numpy(), evaluated)
    assert not np.allclose(evaluated, trained)


def test_parameters_and_mask_take_the_default_dtype():
    try:
        for library in (mg, torch):
            library.set_default_dtype(library.float64)
        ours, reference = mg.nn.Transformer(E, HEADS, 1, 1, FF), torch.nn.Transformer(E, HEADS, 1, 1, FF)
        assert {str(p.dtype) for p in ours.parameters()} == {"float64"}
        assert {p.dtype for p in reference.parameters()} == {torch.float64}
        assert str(mg.nn.Transformer.generate_square_subsequent_mask(3).dtype) == "float64"
    finally:
        for library in (mg, torch):
            library.set_default_dtype(library.float32)


def test_mismatched_mask_types_warn_as_torchs():
    messages = []
    for library in (torch, mg):
        encoder = library.nn.TransformerEncoder(library.nn.TransformerEncoderLayer(E, HEADS, FF), 1,
                                                enable_nested_tensor=False)
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            encoder(library.tensor(_zeros(S, N, E)), mask=library.tensor(_zeros(S, S)),
                    src_key_padding_mask=library.tensor(_zeros(N, S, dtype=bool)))
        messages.append([str(r.message) for r in records if "mismatched" in str(r.message)])
    assert messages[0] == messages[1] == ["Support for mismatched src_key_padding_mask and mask is deprecated. Use "
                                          "same type for both instead."]


def _zeros(*shape, dtype="float32"):
    return np.zeros(shape, dtype)


# name: (module maker, its call's arrays and options)
ERRORS = {
    "batch-mismatch": (lambda nn: nn.Transformer(E, HEADS, 1, 1, FF), (_zeros(S, N, E), _zeros(T, N + 1, E)), {}),
    "batch-first-batch-mismatch": (lambda nn: nn.Transformer(E, HEADS, 1, 1, FF, batch_first=True),
                                   (_zeros(N, S, E), _zeros(N + 1, T, E)), {}),
    "src-features": (lambda nn: nn.Transformer(E, HEADS, 1, 1, FF), (_zeros(S, N, E + 2), _zeros(T, N, E)), {}),
    "unbatched-tgt-features": (lambda nn: nn.Transformer(E, HEADS, 1, 1, FF), (_zeros(S, E), _zeros(T, 4)), {}),
    "decoder-activation": (lambda nn: nn.TransformerDecoderLayer(E, HEADS, activation="tanh"), None, {}),
    "transformer-activation": (lambda nn: nn.Transformer(E, HEADS, 1, 1, FF, activation="swish"), None, {}),
    "memory-hint-without-mask": (lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(E, HEADS, FF), 1),
                                 (_zeros(T, N, E), _zeros(S, N, E)), {"memory_is_causal": True}),
    "tgt-hint-without-mask": (lambda nn: nn.TransformerDecoderLayer(E, HEADS, FF), (_zeros(T, N, E), _zeros(S, N, E)),
                              {"tgt_is_causal": True}),
    "int-mask": (lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 1), (_zeros(S, N, E),),
                 {"mask": _zeros(S, S, dtype="int64")}),
    "memory-mask-shape": (lambda nn: nn.TransformerDecoderLayer(E, HEADS, FF), (_zeros(T, N, E), _zeros(S, N, E)),
                          {"memory_mask": _zeros(T, T)}),
}


def _error(library, case):
    make, arrays, options = ERRORS[case]
    try:
        module = make(library.nn)
        if arrays is not None:
            module(*(library.tensor(a) for a in arrays), **{k: library.tensor(v) if isinstance(v, np.ndarray) else v
                                                            for k, v in options.items()})
    except Exception as error:  # noqa: BLE001 - the comparison is the test
        return type(error), str(error)
    return None


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_torchs(case):
    expected = _error(torch, case)
    assert expected is not None
    assert _error(mg, case) == expected


NESTED_WARNINGS = {
    "default": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 2),
    "fast-path-layer": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True), 2),
    "disabled": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 2,
                                                 enable_nested_tensor=False),
    "norm-first": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True,
                                                                              norm_first=True), 1),
    "no-bias": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True,
                                                                           bias=False), 1),
    "callable": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True,
                                                                            activation=lambda x: x), 1),
    "gelu-module": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True,
                                                                               activation=nn.GELU()), 1),
    "odd-heads": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 1, FF, batch_first=True), 1),
    "other-layer": lambda nn: nn.TransformerEncoder(nn.TransformerDecoderLayer(E, HEADS, FF), 1),
    "transformer": lambda nn: nn.Transformer(E, HEADS, 1, 1, FF),
    "transformer-batch-first": lambda nn: nn.Transformer(E, HEADS, 1, 1, FF, batch_first=True),
}


@pytest.mark.parametrize("case", NESTED_WARNINGS)
def test_nested_tensor_warnings_are_torchs(case):
    caught = []
    for library in (torch, mg):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            module = NESTED_WARNINGS[case](library.nn)
        caught.append([(r.category, str(r.message)) for r in records])
    assert caught[0] == caught[1]
    encoder = module.encoder if case.startswith("transformer") else module
    assert encoder.use_nested_tensor == (not caught[1] and case != "disabled")


# name: (key padding mask (True, or a nonzero float: padding), mask_check)
NESTED_PADDING = {
    "left-aligned": ([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]], True),
    "a-sequence-all-padding": ([[1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0, 1, 1, 1, 1]], True),
    "float-values": ([[0, 0, 0, -1.5, 2.0], [0, 0, 0, 0, 0], [0, 0, 0.5, -np.inf, 1]], True),
    "not-left-aligned": ([[1, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 0, 1, 1]], True),
    "not-left-aligned-unchecked": ([[1, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 0, 1, 1]], False),
}


@pytest.mark.parametrize("case", NESTED_PADDING)
@pytest.mark.parametrize("grad", [False, True])
def test_encoder_outputs_of_torchs_nested_tensor_path(case, grad):
    """In eval mode without gradients, torch's encoder runs each sequence cut to its length (the count of keys that
    the padding mask leaves) and pads the outputs with zeros; with gradients, it is the plain encoder."""
    padding, mask_check = NESTED_PADDING[case]
    padding = np.array(padding, np.float32 if case == "float-values" else bool)
    src = np.random.default_rng(0).standard_normal((N, S, E)).astype(np.float32)
    torch.manual_seed(0)
    outputs = []
    for library in (torch, mg):
        layer = library.nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True, activation=library.nn.ReLU())
        encoder = library.nn.TransformerEncoder(layer, 2, library.nn.LayerNorm(E), mask_check=mask_check).eval()
        if library is torch:
            with torch.no_grad():
                for parameter in encoder.parameters():
                    parameter.normal_(std=0.3)
            state = encoder.state_dict()
        else:
            encoder.load_state_dict(state)
        with library.set_grad_enabled(grad):
            output = encoder(library.tensor(src), src_key_padding_mask=library.tensor(padding))
        outputs.append(_numpy(output))
    torch_output, ours = outputs
    finite = np.isfinite(torch_output).all(-1)
    np.testing.assert_array_equal(np.isfinite(ours).all(-1), finite)
    np.testing.assert_allclose(ours[finite], torch_output[finite], rtol=1e-5, atol=1e-5)


def test_causal_mask_detection_is_torchs():
    from torch.nn.modules.transformer import _detect_is_causal_mask as torchs

    from minigrad.nn.transformer import _detect_is_causal_mask as ours
    causal = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    for mask, hint, size in [(None, None, 4), (None, True, 4), (causal, None, 4), (causal, False, 4),
                             (causal, None, 3), (causal + 1, None, 4), (np.isinf(causal), None, 4),
                             (np.broadcast_to(causal, (2, 4, 4)).copy(), None, 4), (np.zeros((1, 1), bool), None, 1)]:
        expected = torchs(None if mask is None else torch.tensor(mask), hint, size)
        assert ours(None if mask is None else mg.tensor(mask), hint, size) == expected, (mask, hint, size)


def test_decoder_layer_gradcheck():
    mg.manual_seed(0)
    layer = mg.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True, activation="gelu").double()
    rng = np.random.default_rng(0)
    tgt, memory = (mg.tensor(rng.standard_normal((length, 1, 4)), requires_grad=True) for length in (2, 3))
    mask = mg.tensor(rng.standard_normal((2, 3)))
    assert mg.gradcheck(lambda t, m: layer(t, m, memory_mask=mask), (tgt, memory))


@pytest.mark.parametrize("case", ["transformer-batch-first-all-masks", "decoder-layer-unbatched-gelu-module-no-bias"])
def test_gpu_path_matches_cpu(case, gpu_path):
    _, ours = _modules(case)
    arrays = _arrays(case)
    cpu = _run(ours, mg, case, arrays)
    for parameter in ours.parameters():
        parameter.grad = None
    gpu = _run(ours.to("gpu"), mg, case, arrays, device="gpu")
    assert gpu[0].device == "gpu"
    assert relative_error(gpu[0].numpy(), cpu[0].numpy()) <= 1e-5
    for name, grad in cpu[1].items():  # a GPU sums in another order
        assert relative_error(gpu[1][name].numpy(), grad.numpy()) <= 1e-5, name
