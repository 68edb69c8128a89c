"""nn.MultiheadAttention against torch's with the same weights (torch's state dict loaded): outputs, attention
weights and the gradients of the inputs and of every parameter, over layouts, masks, add_bias_kv, add_zero_attn and
need_weights; its parameters, state dict, errors, repr, dropout's statistics, a float64 gradcheck and the GPU path.
nn.TransformerEncoderLayer built on it, end to end against torch's with the same weights."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import load_with_vector_parameters_drawn, relative_error

torch = pytest.importorskip("torch")
# a bool mask beside a float one is torch's deprecated mix, which both libraries warn of (checked where it matters)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask and attn_mask")

E, HEADS, L, S, N = 8, 2, 4, 5, 3


def _bool_mask(shape, seed):
    """A random bool mask (True: blocked) that leaves every query its first key, so that no row is all -inf."""
    mask = np.random.default_rng(seed).random(shape) > 0.6
    mask[..., 0] = False
    return mask


def _float_mask(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


MASKS = {  # by the number of keys
    "bool-2d": lambda keys: _bool_mask((L, keys), 1),
    "float-2d": lambda keys: _float_mask((L, keys), 2),
    "bool-3d": lambda keys: _bool_mask((N * HEADS, L, keys), 3),
    "float-3d": lambda keys: _float_mask((N * HEADS, L, keys), 4),
    "unbatched-3d": lambda keys: _float_mask((HEADS, L, keys), 5),
    "causal": lambda keys: np.triu(np.ones((L, keys), bool), 1),
    "padding-bool": lambda keys: _bool_mask((N, keys), 6),
    "padding-float": lambda keys: _float_mask((N, keys), 7),
    "unbatched-padding": lambda keys: _bool_mask((keys,), 8),
}

# name: (constructor options, inputs ("self", "kv": key is value, or "cross"), batch_first, batched, forward options)
CASES = {
    "self": ({}, "self", False, True, {}),
    "self-batch-first": ({"batch_first": True}, "self", True, True, {}),
    "encoder-decoder": ({}, "kv", False, True, {}),
    "cross": ({}, "cross", False, True, {}),
    "cross-kdim-vdim": ({"kdim": 3, "vdim": 6}, "cross", True, True, {}),
    "unbatched-self": ({}, "self", False, False, {}),
    "unbatched-cross-masks": ({"kdim": 3, "vdim": 6}, "cross", False, False,
                              {"attn_mask": "unbatched-3d", "key_padding_mask": "unbatched-padding"}),
    "bool-attn-mask": ({}, "cross", False, True, {"attn_mask": "bool-2d"}),
    "float-attn-mask": ({}, "cross", False, True, {"attn_mask": "float-2d"}),
    "bool-3d-attn-mask": ({}, "cross", True, True, {"attn_mask": "bool-3d"}),
    "float-3d-attn-mask": ({}, "cross", False, True, {"attn_mask": "float-3d"}),
    "bool-padding": ({}, "kv", False, True, {"key_padding_mask": "padding-bool"}),
    "float-padding": ({}, "kv", True, True, {"key_padding_mask": "padding-float"}),
    "both-bool-masks": ({}, "cross", False, True, {"attn_mask": "bool-3d", "key_padding_mask": "padding-bool"}),
    "both-float-masks": ({}, "cross", False, True, {"attn_mask": "float-2d", "key_padding_mask": "padding-float"}),
    "bias-kv": ({"add_bias_kv": True}, "cross", False, True,
                {"attn_mask": "bool-2d", "key_padding_mask": "padding-bool"}),
    "zero-attn": ({"add_zero_attn": True}, "cross", True, True,
                  {"attn_mask": "float-3d", "key_padding_mask": "padding-bool"}),
    "bias-kv-zero-attn-kdim-no-bias": ({"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 6,
                                        "bias": False}, "cross", False, True,
                                       {"attn_mask": "float-2d", "key_padding_mask": "padding-float"}),
    "heads-weights": ({}, "cross", False, True, {"attn_mask": "bool-2d", "average_attn_weights": False}),
    "no-weights": ({}, "cross", False, True, {"need_weights": False}),
    "no-weights-masks": ({"add_bias_kv": True}, "cross", True, True,
                         {"attn_mask": "float-3d", "key_padding_mask": "padding-bool", "need_weights": False}),
    "no-weights-zero-attn": ({"add_zero_attn": True}, "self", False, True,
                             {"attn_mask": "bool-2d", "need_weights": False}),
    "causal-sdpa": ({}, "self", True, True, {"attn_mask": "causal", "is_causal": True, "need_weights": False}),
    "causal-with-weights": ({}, "self", False, True, {"attn_mask": "causal", "is_causal": True}),
    "causal-with-padding": ({}, "self", True, True, {"attn_mask": "causal", "is_causal": True,
                                                     "key_padding_mask": "padding-bool", "need_weights": False}),
    "one-head-eval": ({"num_heads": 1, "dropout": 0.5}, "cross", False, True, {"key_padding_mask": "padding-bool"}),
}


def _arrays(case, dtype=np.float32):
    """The case's query, key and value arrays (key and value the same array where the case shares them)."""
    options, inputs, batch_first, batched, _ = CASES[case]
    key_length = L if inputs == "self" else S
    rng = np.random.default_rng(0)

    def shaped(length, features):
        shape = (length, features) if not batched else (N, length, features) if batch_first else (length, N, features)
        return rng.standard_normal(shape).astype(dtype)
    query = shaped(L, E)
    if inputs == "self":
        return [query]
    key = shaped(key_length, options.get("kdim", E))
    return [query, key] if inputs == "kv" else [query, key, shaped(key_length, options.get("vdim", E))]


def _modules(case):
    """torch's module for the case and minigrad's with torch's state dict loaded, both in eval mode."""
    options = {"embed_dim": E, "num_heads": HEADS, **CASES[case][0], "batch_first": CASES[case][2]}
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(**options).eval()
    with torch.no_grad():  # nonzero biases, which torch's init leaves at zero, so that their use shows
        for name, parameter in reference.named_parameters():
            if "bias" in name:
                parameter.normal_()
    ours = mg.nn.MultiheadAttention(**options).eval()
    ours.load_state_dict(reference.state_dict())
    return ours, reference


def _run(module, case, arrays, tensor, directions=None):
    """Output, weights, and with `directions` the gradients of the inputs and parameters (by name) of
    sum(output * d0) + sum(weights * d1)."""
    inputs = [tensor(a) for a in arrays]
    query, key, value = (inputs * 3)[:3] if len(inputs) == 1 else (inputs + inputs[1:])[:3]
    keys = L if CASES[case][1] == "self" else S
    options = {name: tensor(MASKS[value](keys)) if name.endswith("mask") else value
               for name, value in CASES[case][4].items()}
    output, weights = module(query, key, value, **options)
    if directions is None:
        return output, weights
    loss = (output * tensor(directions[0])).sum()
    if weights is not None:
        loss = loss + (weights * tensor(directions[1])).sum()
    loss.backward()
    grads = {f"input{i}": x.grad for i, x in enumerate(inputs)}
    grads.update((name, p.grad) for name, p in module.named_parameters())
    return output, weights, grads


def _torch_tensor(array):
    return torch.tensor(array, requires_grad=array.dtype.kind == "f")


def _mg_tensor(device="cpu"):
    return lambda array: mg.tensor(array, requires_grad=array.dtype.kind == "f", device=device)


def _numpy(value):
    return None if value is None else value.detach().numpy() if isinstance(value, torch.Tensor) else value.numpy()


def _directions(output, weights):
    rng = np.random.default_rng(3)
    return [None if t is None else rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in (output, weights)]


@pytest.mark.parametrize("case", CASES)
def test_outputs_weights_and_gradients_match_torch(case):
    ours, reference = _modules(case)
    arrays = _arrays(case)
    directions = _directions(*_run(reference, case, arrays, _torch_tensor))
    expected = _run(reference, case, arrays, _torch_tensor, directions)
    actual = _run(ours, case, arrays, _mg_tensor(), directions)
    for ours_value, torch_value in zip(actual[:2], expected[:2]):
        assert (ours_value is None) == (torch_value is None)
        if torch_value is not None:
            assert ours_value.shape == tuple(torch_value.shape) and str(ours_value.dtype) == "float32"
            np.testing.assert_allclose(_numpy(ours_value), _numpy(torch_value), rtol=1e-5, atol=1e-6)
    assert actual[2].keys() == expected[2].keys()
    for name, grad in expected[2].items():
        np.testing.assert_allclose(_numpy(actual[2][name]), _numpy(grad), rtol=1e-5, atol=1e-6, err_msg=name)


def test_torchs_fast_path_matches():
    """torch's fused inference path (eval, no grad, batch_first self-attention) gives the same values."""
    case = "self-batch-first"
    ours, reference = _modules(case)
    arrays = _arrays(case)
    mask = MASKS["padding-bool"](L)
    for need_weights in (True, False):
        with torch.no_grad():
            expected = reference(*[torch.tensor(arrays[0])] * 3, key_padding_mask=torch.tensor(mask),
                                 need_weights=need_weights)
        with mg.no_grad():
            actual = ours(*[mg.tensor(arrays[0])] * 3, key_padding_mask=mg.tensor(mask), need_weights=need_weights)
        np.testing.assert_allclose(actual[0].numpy(), expected[0].numpy(), rtol=1e-5, atol=1e-6)
        assert (actual[1] is None) == (expected[1] is None)


def test_a_query_that_attends_to_no_key_is_torchs():
    """NaN weights and outputs on the path that returns weights, zeros through attention without them, as torch's
    (its path with gradients)."""
    case = "bool-attn-mask"
    ours, reference = _modules(case)
    query, key = _arrays(case)[:2]
    mask = MASKS["bool-2d"](S)
    mask[0] = True
    for need_weights in (True, False):
        expected = reference(torch.tensor(query, requires_grad=True), torch.tensor(key), torch.tensor(key),
                             attn_mask=torch.tensor(mask), need_weights=need_weights)
        actual = ours(mg.tensor(query, requires_grad=True), mg.tensor(key), mg.tensor(key),
                      attn_mask=mg.tensor(mask), need_weights=need_weights)
        for ours_value, torch_value in zip(actual, expected):
            if torch_value is not None:
                np.testing.assert_allclose(ours_value.numpy(), torch_value.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_float64_gradcheck():
    module = mg.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True).double()
    rng = np.random.default_rng(0)
    for parameter in module.parameters():
        parameter.data[...] = rng.standard_normal(parameter.shape)
    query, key, value = (mg.tensor(rng.standard_normal(shape), requires_grad=True)
                         for shape in ((3, 2, 4), (4, 2, 3), (4, 2, 5)))
    attn_mask = mg.tensor(rng.standard_normal((3, 4)))
    padding = mg.tensor(np.array([[False, True, False, False], [False, False, False, True]]))

    def attention(query, key, value, *parameters):
        output, weights = module(query, key, value, key_padding_mask=padding, attn_mask=attn_mask,
                                 average_attn_weights=False)
        return output.sum() + (weights * weights).sum()
    assert mg.gradcheck(attention, [query, key, value, *module.parameters()])


@pytest.mark.parametrize("options", [{}, {"bias": False}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True},
                                     {"kdim": 3, "add_bias_kv": True, "add_zero_attn": True, "bias": False}])
def test_parameters_and_state_dict_are_torchs(options):
    ours, reference = mg.nn.MultiheadAttention(E, HEADS, **options), torch.nn.MultiheadAttention(E, HEADS, **options)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in reference.state_dict().items()]
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in reference.named_parameters()]
    for name in ("in_proj_weight", "in_proj_bias", "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k",
                 "bias_v"):
        assert (getattr(ours, name) is None) == (getattr(reference, name) is None), name
    for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "dropout", "batch_first", "add_zero_attn",
                 "_qkv_same_embed_dim"):
        assert getattr(ours, name) == getattr(reference, name), name
    assert all(str(p.dtype) == "float32" for p in ours.parameters())


def test_initialisation_is_torchs():
    """Glorot-uniform projections within their bound, zero biases, Glorot-normal bias_k and bias_v."""
    mg.manual_seed(0)
    module = mg.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))
    weight = module.in_proj_weight.numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert not module.in_proj_bias.numpy().any() and not module.out_proj.bias.numpy().any()
    assert np.abs(module.out_proj.weight.numpy()).max() <= 1 / 8  # out_proj keeps Linear's init, as torch's
    bias_kv = np.concatenate([module.bias_k.numpy().ravel(), module.bias_v.numpy().ravel()])
    assert abs(bias_kv.std() - np.sqrt(2 / (64 + 64))) < 0.05
    separate = mg.nn.MultiheadAttention(64, 4, kdim=16)
    assert np.abs(separate.k_proj_weight.numpy()).max() <= np.sqrt(6 / (64 + 16))


def test_loading_torchs_state_dict_and_back():
    reference = torch.nn.MultiheadAttention(E, HEADS, kdim=3, vdim=6, add_bias_kv=True)
    ours = mg.nn.MultiheadAttention(E, HEADS, kdim=3, vdim=6, add_bias_kv=True)
    ours.load_state_dict(reference.state_dict())
    for name, array in ours.state_dict().items():
        np.testing.assert_array_equal(array, reference.state_dict()[name].numpy())
    reference.load_state_dict({name: torch.tensor(tensor.numpy()) for name, tensor in ours.state_dict().items()})


def test_repr_is_torchs():
    for options in ({}, {"bias": False, "kdim": 3}):
        assert repr(mg.nn.MultiheadAttention(E, HEADS, **options)) == \
            repr(torch.nn.MultiheadAttention(E, HEADS, **options))


def test_dropout_drops_weights_in_training_only():
    """In training each head's weight is dropped or scaled by 1 / (1 - p), as torch's (whose draws cannot be
    matched); in eval there is no dropout, and both paths agree."""
    mg.manual_seed(0)
    module = mg.nn.MultiheadAttention(E, HEADS, dropout=0.25)
    query = mg.tensor(np.random.default_rng(0).standard_normal((20, 30, E)).astype(np.float32))
    module.eval()
    _, weights = module(query, query, query, average_attn_weights=False)
    module.train()
    output, dropped = module(query, query, query, average_attn_weights=False)
    kept = dropped.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(dropped.numpy()[kept], weights.numpy()[kept] / 0.75, rtol=1e-6)
    assert np.isfinite(output.numpy()).all()
    trained = module(query, query, query, need_weights=False)[0].numpy()
    module.eval()
    evaluated = module(query, query, query, need_weights=False)[0].numpy()
    assert not np.allclose(trained, evaluated)
    np.testing.assert_allclose(evaluated, module(query, query, query)[0].numpy(), rtol=1e-5, atol=1e-6)


def _zeros(*shape, dtype="float32"):
    return np.zeros(shape, dtype)


# name: (constructor options, query, key, value, forward options), arrays for both libraries
ERRORS = {
    "embed-dim-not-divisible": ({"num_heads": 3}, None),
    "no-heads": ({"num_heads": 0}, None),
    "query-features": ({}, (_zeros(L, N, 7), _zeros(S, N, E), _zeros(S, N, E), {})),
    "query-rank": ({}, (_zeros(1, L, N, E), _zeros(S, N, E), _zeros(S, N, E), {})),
    "key-rank": ({}, (_zeros(L, N, E), _zeros(S, E), _zeros(S, N, E), {})),
    "unbatched-key-rank": ({}, (_zeros(L, E), _zeros(S, N, E), _zeros(S, E), {})),
    "key-value-shapes": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S + 1, N, E), {})),
    "kdim-key-value-lengths": ({"kdim": 3}, (_zeros(L, N, E), _zeros(S, N, 3), _zeros(S + 1, N, E), {})),
    "kdim-key-features": ({"kdim": 3}, (_zeros(L, N, E), _zeros(S, N, 4), _zeros(S, N, E), {})),
    "vdim-value-features": ({"kdim": 3, "vdim": 5}, (_zeros(L, N, E), _zeros(S, N, 3), _zeros(S, N, 4), {})),
    "key-features": ({}, (_zeros(L, N, E), _zeros(S, N, 4), _zeros(S, N, 4), {})),
    "attn-mask-2d-shape": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E), {"attn_mask": _zeros(L, L)})),
    "attn-mask-3d-shape": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E),
                                {"attn_mask": _zeros(N, L, S)})),
    "attn-mask-rank": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E), {"attn_mask": _zeros(1, 1, L, S)})),
    "unbatched-attn-mask-3d": ({}, (_zeros(L, E), _zeros(S, E), _zeros(S, E), {"attn_mask": _zeros(N, L, S)})),
    "attn-mask-int": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E),
                           {"attn_mask": _zeros(L, S, dtype="int64")})),
    "padding-rank": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E), {"key_padding_mask": _zeros(N, 1, S)})),
    "unbatched-padding-rank": ({}, (_zeros(L, E), _zeros(S, E), _zeros(S, E), {"key_padding_mask": _zeros(1, S)})),
    "padding-batch": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E), {"key_padding_mask": _zeros(N + 1, S)})),
    "padding-length": ({"add_zero_attn": True}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E),
                                                 {"key_padding_mask": _zeros(N, S + 1)})),
    "padding-int": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E),
                         {"key_padding_mask": _zeros(N, S, dtype="int32")})),
    "causal-without-mask": ({}, (_zeros(L, N, E), _zeros(S, N, E), _zeros(S, N, E), {"is_causal": True})),
}


def _error(library, tensor, case):
    options, call = ERRORS[case]
    try:
        module = library.nn.MultiheadAttention(**{"embed_dim": E, "num_heads": HEADS, **options})
        *inputs, forward_options = call
        module(*map(tensor, inputs), **{name: tensor(value) for name, value in forward_options.items()})
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error), str(error)
    return None


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_torchs(case):
    expected = _error(torch, torch.tensor, case)
    assert expected is not None
    assert _error(mg, mg.tensor, case) == expected


def test_mismatched_mask_types_warn_as_torchs():
    module = mg.nn.MultiheadAttention(E, HEADS)
    x = mg.tensor(_zeros(L, N, E))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        module(x, x, x, key_padding_mask=mg.tensor(_zeros(N, L, dtype=bool)), attn_mask=mg.tensor(_zeros(L, L)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module(x, x, x, key_padding_mask=mg.tensor(_zeros(N, L)), attn_mask=mg.tensor(_zeros(L, L)))
    layer = mg.nn.TransformerEncoderLayer(E, HEADS, 16)
    with pytest.warns(UserWarning, match="Support for mismatched src_key_padding_mask and src_mask is deprecated"):
        layer(x, src_key_padding_mask=mg.tensor(_zeros(N, L, dtype=bool)), src_mask=mg.tensor(_zeros(L, L)))


@pytest.mark.parametrize("case", ["bias-kv-zero-attn-kdim-no-bias", "no-weights-masks", "heads-weights"])
def test_gpu_path_matches_cpu(case, gpu_path):
    ours, _ = _modules(case)
    arrays = _arrays(case)
    directions = _directions(*_run(ours, case, arrays, _mg_tensor()))
    cpu = _run(ours, case, arrays, _mg_tensor(), directions)
    for parameter in ours.parameters():
        parameter.grad = None
    gpu = _run(ours.to("gpu"), case, arrays, _mg_tensor("gpu"), directions)
    assert gpu[0].device == "gpu"
    for ours_value, reference in zip([*gpu[:2], *gpu[2].values()], [*cpu[:2], *cpu[2].values()]):
        if reference is not None:  # a GPU sums in another order
            assert relative_error(ours_value.numpy(), reference.numpy()) <= 1e-5


# name: (constructor options, batch_first, batched, forward options)
ENCODER_CASES = {
    "post-norm-relu": ({}, False, True, {}),
    "pre-norm-gelu-batch-first": ({"norm_first": True, "activation": "gelu", "batch_first": True}, True, True, {}),
    "no-bias-masks": ({"bias": False}, False, True, {"src_mask": "causal", "src_key_padding_mask": "padding-bool"}),
    "float-masks": ({"batch_first": True}, True, True,
                    {"src_mask": "float-2d", "src_key_padding_mask": "padding-float"}),
    "causal-hint": ({"norm_first": True}, False, True, {"src_mask": "causal", "is_causal": True}),
    "unbatched-gelu-module": ({"activation": "gelu-module"}, False, False, {"src_mask": "causal"}),
}


def _encoder_layers(case):
    """torch's encoder layer (dropout 0.1, in eval) and minigrad's with its state dict loaded."""
    options = {"d_model": E, "nhead": HEADS, "dim_feedforward": 16, **ENCODER_CASES[case][0]}
    layers = []
    for library in (torch, mg):
        activation = options.get("activation", "relu")
        activation = library.nn.GELU() if activation == "gelu-module" else activation
        layers.append(library.nn.TransformerEncoderLayer(**{**options, "activation": activation}).eval())
    load_with_vector_parameters_drawn(*layers)
    return layers


def _encode(layer, case, source, tensor, direction):
    _, batch_first, batched, forward_options = ENCODER_CASES[case]
    src = tensor(source if batched else source[:, 0])
    if batched and batch_first:
        src = tensor(source.transpose(1, 0, 2).copy())
    options = {name: tensor(MASKS[value](L)) if name.endswith("mask") else value
               for name, value in forward_options.items()}
    output = layer(src, **options)
    (output * tensor(direction[:output.shape[0], :output.shape[1]] if batched else direction[:, 0])).sum().backward()
    return output, {"src": src.grad, **{name: p.grad for name, p in layer.named_parameters()}}


@pytest.mark.parametrize("case", ENCODER_CASES)
def test_encoder_layer_matches_torch(case):
    reference, ours = _encoder_layers(case)
    rng = np.random.default_rng(0)
    source, direction = (rng.standard_normal((L, N, E)).astype(np.float32) for _ in range(2))
    if ENCODER_CASES[case][1]:
        direction = direction.transpose(1, 0, 2).copy()
    expected = _encode(reference, case, source, _torch_tensor, direction)
    actual = _encode(ours, case, source, _mg_tensor(), direction)
    np.testing.assert_allclose(actual[0].numpy(), _numpy(expected[0]), rtol=1e-5, atol=1e-6)
    assert actual[1].keys() == expected[1].keys()
    for name, grad in expected[1].items():  # a weight's gradient sums L * N terms through two norms
        np.testing.assert_allclose(_numpy(actual[1][name]), _numpy(grad), rtol=1e-5, atol=5e-6, err_msg=name)


def test_encoder_layer_state_dict_repr_and_errors_are_torchs():
    for options in ({}, {"bias": False, "activation": "gelu", "norm_first": True}):
        ours, reference = (library.nn.TransformerEncoderLayer(E, HEADS, 16, **options) for library in (mg, torch))
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in reference.state_dict().items()]
        assert repr(ours) == repr(reference)
    errors = []
    for library in (mg, torch):
        with pytest.raises(Exception) as error:
            library.nn.TransformerEncoderLayer(E, HEADS, activation="tanh")
        errors.append((error.type, str(error.value)))
    assert errors[0] == errors[1]


def test_encoder_layer_drops_out_in_training_only():
    layer = mg.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.5)
    src = mg.tensor(np.random.default_rng(0).standard_normal((L, N, E)).astype(np.float32))
    trained = layer(src).numpy()
    layer.eval()
    np.testing.assert_array_equal(layer(src).numpy(), layer(src).numpy())
    assert not np.allclose(trained, layer(src).numpy())


def test_encoder_layer_gpu_path_matches_cpu(gpu_path):
    case = "no-bias-masks"
    _, ours = _encoder_layers(case)
    rng = np.random.default_rng(0)
    source, direction = (rng.standard_normal((L, N, E)).astype(np.float32) for _ in range(2))
    cpu = _encode(ours, case, source, _mg_tensor(), direction)
    for parameter in ours.parameters():
        parameter.grad = None
    gpu = _encode(ours.to("gpu"), case, source, _mg_tensor("gpu"), direction)
    assert gpu[0].device == "gpu"
    for ours_value, reference in zip([gpu[0], *gpu[1].values()], [cpu[0], *cpu[1].values()]):
        assert relative_error(ours_value.numpy(), reference.numpy()) <= 1e-5  # a GPU sums in another order
