"""torch's recurrent layers against torch: RNN (tanh, relu), LSTM (proj_size too) and GRU, and their cells, loaded
from torch's state dicts: outputs, final states and every gradient (input, initial state, each parameter) over the
layers' options, unbatched inputs and packed sequences; float64 gradchecks, dropout between layers, the
parameters' names, shapes and initialisation, reprs, torch's argument errors, nn.utils.rnn's padding and packing,
and the GPU path."""
import itertools
import warnings

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from test_nn import torch_state

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as torch_rnn  # noqa: E402

KINDS = {  # name -> (layer class name, options of the kind)
    "RNN_tanh": ("RNN", {}), "RNN_relu": ("RNN", {"nonlinearity": "relu"}), "LSTM": ("LSTM", {}),
    "LSTM_proj": ("LSTM", {"proj_size": 2}), "GRU": ("GRU", {}),
}
INPUT, HIDDEN, BATCH, LENGTH = 3, 4, 2, 5


def layer_pair(name, seed=0, **options):
    """torch's layer of KINDS[name] and minigrad's holding its state dict."""
    layer, kind_options = KINDS[name]
    options = {**kind_options, **options}
    torch.manual_seed(seed)
    reference = getattr(torch.nn, layer)(INPUT, HIDDEN, **options)
    model = getattr(mg.nn, layer)(INPUT, HIDDEN, **options)
    model.load_state_dict(torch_state(reference))
    return model, reference


def initial_state(name, leading, rng):
    """An initial state of KINDS[name]'s layer, arrays: h, or (h, c) for an LSTM."""
    options = KINDS[name][1]
    h = rng.standard_normal(leading + (options.get("proj_size") or HIDDEN,)).astype(np.float32)
    return (h, rng.standard_normal(leading + (HIDDEN,)).astype(np.float32)) if KINDS[name][0] == "LSTM" else h


def as_tensors(lib, state):
    """The state's arrays as tensors of lib that require grad (a tuple for an LSTM's pair)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(lib.tensor(part, requires_grad=True) for part in state)
    return lib.tensor(state, requires_grad=True)


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def to_numpy(tensor):
    return tensor.detach().numpy() if isinstance(tensor, torch.Tensor) else tensor.numpy()


def run(lib, module, x, hx, prepare=None, finish=None):
    """module's outputs (output, then each part of the final state) and the gradients of x, of each part of hx and
    of each parameter, for a loss that weighs every output entry differently, as NumPy arrays. prepare(lib, x) and
    finish(lib, output) pack the input and pad the output where given."""
    x = lib.tensor(x, requires_grad=True)
    hx = as_tensors(lib, hx)
    output, state = module(prepare(lib, x) if prepare else x, hx)
    outputs = [finish(lib, output) if finish else output, *flat(state)]
    loss = sum((out * lib.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(tuple(out.shape))))
               .sum() + (out * out).sum() for out in outputs)
    loss.backward()
    leaves = [x, *([] if hx is None else flat(hx)), *(param for _, param in module.named_parameters())]
    return [to_numpy(out) for out in outputs] + [to_numpy(leaf.grad) for leaf in leaves]


def assert_same_results(ours, theirs):
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=2e-6)


GRID = [(name, layers, bidirectional, batch_first, unbatched, given)
        for name, layers, bidirectional, batch_first, unbatched, given
        in itertools.product(KINDS, (1, 2), (False, True), (False, True), (False, True), (False, True))]


@pytest.mark.parametrize("name, layers, bidirectional, batch_first, unbatched, given", GRID,
                         ids=lambda value: str(value))
def test_layer_outputs_states_and_gradients_match_torch(name, layers, bidirectional, batch_first, unbatched, given):
    model, reference = layer_pair(name, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(1)
    batch = () if unbatched else ((BATCH, LENGTH) if batch_first else (LENGTH, BATCH))
    x = rng.standard_normal((LENGTH, INPUT) if unbatched else batch + (INPUT,)).astype(np.float32)
    states = layers * (2 if bidirectional else 1)
    hx = initial_state(name, (states,) if unbatched else (states, BATCH), rng) if given else None
    assert_same_results(run(mg, model, x, hx), run(torch, reference, x, hx))


@pytest.mark.parametrize("name", KINDS)
def test_layer_without_bias_and_with_a_batch_of_one_matches_torch(name):
    model, reference = layer_pair(name, num_layers=2, bias=False)
    assert [key for key in model.state_dict()] == [key for key in reference.state_dict()]
    x = np.random.default_rng(2).standard_normal((LENGTH, 1, INPUT)).astype(np.float32)
    assert_same_results(run(mg, model, x, None), run(torch, reference, x, None))


CELLS = {"RNNCell_tanh": ("RNNCell", {}), "RNNCell_relu": ("RNNCell", {"nonlinearity": "relu"}),
         "LSTMCell": ("LSTMCell", {}), "GRUCell": ("GRUCell", {})}


def cell_pair(name, **options):
    cell, kind_options = CELLS[name]
    torch.manual_seed(0)
    reference = getattr(torch.nn, cell)(INPUT, HIDDEN, **kind_options, **options)
    model = getattr(mg.nn, cell)(INPUT, HIDDEN, **kind_options, **options)
    model.load_state_dict(torch_state(reference))
    return model, reference


def run_cell(lib, cell, x, hx):
    """run() for a cell, whose result is h, or (h, c) for an LSTMCell."""
    x = lib.tensor(x, requires_grad=True)
    hx = as_tensors(lib, hx)
    outputs = flat(cell(x, hx))
    loss = sum((out * lib.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(tuple(out.shape))))
               .sum() + (out * out).sum() for out in outputs)
    loss.backward()
    leaves = [x, *([] if hx is None else flat(hx)), *(param for _, param in cell.named_parameters())]
    return [to_numpy(out) for out in outputs] + [to_numpy(leaf.grad) for leaf in leaves]


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
@pytest.mark.parametrize("given", [False, True], ids=["zeros", "given"])
def test_cell_matches_torch(name, bias, unbatched, given):
    model, reference = cell_pair(name, bias=bias)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((INPUT,) if unbatched else (BATCH, INPUT)).astype(np.float32)
    hx = None
    if given:
        shape = (HIDDEN,) if unbatched else (BATCH, HIDDEN)
        hx = tuple(rng.standard_normal((2,) + shape).astype(np.float32)) if name == "LSTMCell" \
            else rng.standard_normal(shape).astype(np.float32)
    assert_same_results(run_cell(mg, model, x, hx), run_cell(torch, reference, x, hx))


@pytest.mark.parametrize("name", CELLS)
def test_cell_gradcheck(name):
    cell = getattr(mg.nn, CELLS[name][0])(INPUT, HIDDEN, **CELLS[name][1]).double()
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.standard_normal((BATCH, INPUT)), requires_grad=True)
    states = [mg.tensor(rng.standard_normal((BATCH, HIDDEN)), requires_grad=True)
              for _ in range(2 if name == "LSTMCell" else 1)]

    def fn(x, *rest):
        result = cell(x, tuple(states) if name == "LSTMCell" else states[0])
        return mg.cat(flat(result), 1)

    assert mg.gradcheck(fn, [x, *states, *cell.parameters()])


@pytest.mark.parametrize("name", KINDS)
def test_two_layer_bidirectional_gradcheck(name):
    model = getattr(mg.nn, KINDS[name][0])(INPUT, HIDDEN, num_layers=2, bidirectional=True,
                                           **KINDS[name][1]).double()
    rng = np.random.default_rng(5)
    x = mg.tensor(rng.standard_normal((3, BATCH, INPUT)), requires_grad=True)
    hx = initial_state(name, (4, BATCH), rng)
    states = [mg.tensor(part.astype(np.float64), requires_grad=True) for part in flat(hx)]

    def fn(x, *rest):
        output, state = model(x, tuple(states) if KINDS[name][0] == "LSTM" else states[0])
        return mg.cat([output.reshape(-1), *(part.reshape(-1) for part in flat(state))])

    assert mg.gradcheck(fn, [x, *states, *model.parameters()])


def pack(batch_first, lengths, enforce_sorted):
    def prepare(lib, x):
        module = torch_rnn if lib is torch else mg.nn.utils.rnn
        return module.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    return prepare


def pad(batch_first, padding_value=0.0, total_length=None):
    def finish(lib, packed):
        module = torch_rnn if lib is torch else mg.nn.utils.rnn
        output, lengths = module.pad_packed_sequence(packed, batch_first, padding_value, total_length)
        assert to_numpy(lengths).dtype == np.int64
        return output
    return finish


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("lengths, enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 5], False)], ids=["sorted",
                                                                                                       "unsorted"])
def test_packed_sequences_match_torch(name, bidirectional, batch_first, lengths, enforce_sorted):
    model, reference = layer_pair(name, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, LENGTH, INPUT) if batch_first else (LENGTH, 4, INPUT)).astype(np.float32)
    hx = initial_state(name, (4 if bidirectional else 2, 4), rng)
    prepare, finish = pack(batch_first, lengths, enforce_sorted), pad(batch_first, -1.5, LENGTH + 1)
    assert_same_results(run(mg, model, x, hx, prepare, finish), run(torch, reference, x, hx, prepare, finish))


def test_packed_output_keeps_torchs_batch_sizes_and_indices():
    model, reference = layer_pair("GRU")
    x = np.random.default_rng(7).standard_normal((LENGTH, 3, INPUT)).astype(np.float32)
    ours = model(mg.nn.utils.rnn.pack_padded_sequence(mg.tensor(x), [2, 5, 4], enforce_sorted=False))[0]
    theirs = reference(torch_rnn.pack_padded_sequence(torch.tensor(x), [2, 5, 4], enforce_sorted=False))[0]
    assert isinstance(ours, mg.nn.utils.rnn.PackedSequence)
    for mine, reference_part in zip(ours, theirs):
        assert to_numpy(mine).dtype == to_numpy(reference_part).dtype
        np.testing.assert_allclose(to_numpy(mine), to_numpy(reference_part), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_values_and_gradients_match_torch(batch_first, padding_side):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((length, 2, 3)).astype(np.float32) for length in (3, 1, 4)]
    results = []
    for lib, module in ((mg, mg.nn.utils.rnn), (torch, torch_rnn)):
        sequences = [lib.tensor(array, requires_grad=True) for array in arrays]
        padded = module.pad_sequence(sequences, batch_first, -2.0, padding_side)
        (padded * lib.tensor(np.arange(padded.numel(), dtype=np.float32).reshape(tuple(padded.shape)))).sum() \
            .backward()
        results.append([to_numpy(padded), *(to_numpy(sequence.grad) for sequence in sequences)])
    assert_same_results(*results)


def test_pack_sequence_and_unpack_sequence_match_torch():
    arrays = [np.full((length, 2), length, np.float32) for length in (2, 4, 1)]
    ours = mg.nn.utils.rnn.pack_sequence([mg.tensor(a) for a in arrays], enforce_sorted=False)
    theirs = torch_rnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(to_numpy(mine), to_numpy(reference))
        assert to_numpy(mine).dtype == to_numpy(reference).dtype
    for mine, array in zip(mg.nn.utils.rnn.unpack_sequence(ours), arrays):
        np.testing.assert_array_equal(mine.numpy(), array)


def test_packed_sequence_makes_its_unsorted_indices():
    packed = mg.nn.utils.rnn.PackedSequence(mg.tensor([[1.0], [2.0]]), mg.tensor([2]), mg.tensor([1, 0]))
    reference = torch_rnn.PackedSequence(torch.tensor([[1.0], [2.0]]), torch.tensor([2]), torch.tensor([1, 0]))
    np.testing.assert_array_equal(packed.unsorted_indices.numpy(), reference.unsorted_indices.numpy())


def test_packed_sequence_to_casts_data_and_keeps_the_rest():
    packed = mg.nn.utils.rnn.pack_sequence([mg.ones(2, 3), mg.ones(3, 3)], enforce_sorted=False)
    cast = packed.to(mg.float64)
    assert cast.data.dtype == np.float64 and cast.batch_sizes is packed.batch_sizes
    np.testing.assert_array_equal(cast.unsorted_indices.numpy(), packed.unsorted_indices.numpy())
    assert packed.to(mg.float32) is packed


SEQUENCE_ERRORS = {  # name -> fn(module of nn.utils.rnn, lib)
    "empty": lambda R, L: R.pad_sequence([]),
    "not_iterable": lambda R, L: R.pad_sequence(5),
    "padding_side": lambda R, L: R.pad_sequence([L.ones(2, 3)], padding_side="middle"),
    "unsorted": lambda R, L: R.pack_padded_sequence(L.ones(4, 3, 2), [2, 3, 1]),
    "zero_length": lambda R, L: R.pack_padded_sequence(L.ones(4, 3, 2), [3, 2, 0]),
    "zero_length_unsorted": lambda R, L: R.pack_padded_sequence(L.ones(4, 3, 2), [0, 3, 2], enforce_sorted=False),
    "lengths_of_another_batch": lambda R, L: R.pack_padded_sequence(L.ones(4, 3, 2), [3, 2]),
    "total_length": lambda R, L: R.pad_packed_sequence(R.pack_padded_sequence(L.ones(4, 3, 2), [3, 2, 1]),
                                                       total_length=2),
}


@pytest.mark.parametrize("name", SEQUENCE_ERRORS)
def test_sequence_errors_are_torchs(name):
    assert_raises_as_torch(lambda: SEQUENCE_ERRORS[name](torch_rnn, torch),
                           lambda: SEQUENCE_ERRORS[name](mg.nn.utils.rnn, mg))


def test_dropout_between_layers_follows_the_seed_and_not_eval():
    model = mg.nn.LSTM(INPUT, HIDDEN, num_layers=3, dropout=0.5)
    x = mg.tensor(np.random.default_rng(9).standard_normal((LENGTH, BATCH, INPUT)).astype(np.float32))
    outputs = []
    for _ in range(2):
        mg.manual_seed(11)
        outputs.append(model(x)[0].numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])
    mg.manual_seed(12)
    assert not np.allclose(model(x)[0].numpy(), outputs[0])
    model.eval()
    evaluated = model(x)[0].numpy()
    model.dropout = 0.0
    model.train()
    np.testing.assert_array_equal(evaluated, model(x)[0].numpy())
    assert not np.allclose(evaluated, outputs[0])


def test_dropout_drops_only_between_layers():
    """With p = 1 every layer after the first sees zeros: its output is what zeros give, whatever the input."""
    model = mg.nn.GRU(INPUT, HIDDEN, num_layers=2, dropout=1.0)
    rng = np.random.default_rng(10)
    first, second = (model(mg.tensor(rng.standard_normal((LENGTH, BATCH, INPUT)).astype(np.float32)))
                     for _ in range(2))
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    assert not np.allclose(first[1].numpy()[0], second[1].numpy()[0])  # the first layer's final states differ


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_dropout_warning_for_one_layer_is_torchs(layer):
    messages = []
    for lib in (torch, mg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(lib.nn, layer)(INPUT, HIDDEN, dropout=0.25)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0] and len(messages[0]) == 1


@pytest.mark.parametrize("name", KINDS)
def test_parameters_are_named_shaped_and_drawn_as_torchs(name):
    layer, options = KINDS[name]
    mg.manual_seed(0)
    model = getattr(mg.nn, layer)(INPUT, HIDDEN, num_layers=2, bidirectional=True, **options)
    reference = getattr(torch.nn, layer)(INPUT, HIDDEN, num_layers=2, bidirectional=True, **options)
    assert [(key, value.shape) for key, value in model.state_dict().items()] == \
        [(key, tuple(value.shape)) for key, value in reference.state_dict().items()]
    assert [[tuple(p.shape) for p in weights] for weights in model.all_weights] == \
        [[tuple(p.shape) for p in weights] for weights in reference.all_weights]
    bound = 1 / np.sqrt(HIDDEN)
    values = np.concatenate([param.numpy().ravel() for param in model.parameters()])
    assert values.dtype == np.float32 and np.abs(values).max() <= bound
    assert stats.kstest(values, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", CELLS)
def test_cell_parameters_are_torchs(name):
    for bias in (True, False):
        model, reference = cell_pair(name, bias=bias)
        assert [(key, value.shape) for key, value in model.state_dict().items()] == \
            [(key, tuple(value.shape)) for key, value in reference.state_dict().items()]
        assert (model.bias_ih is None) == (reference.bias_ih is None)


REPRS = {  # name -> fn(lib)
    "RNN": lambda L: L.nn.RNN(3, 4, 2, "relu", False, True, 0.5, True),
    "LSTM": lambda L: L.nn.LSTM(4, 5, 2, proj_size=3, bidirectional=True, batch_first=True, dropout=0.5, bias=False),
    "GRU": lambda L: L.nn.GRU(3, 4),
    "RNNCell": lambda L: L.nn.RNNCell(4, 5, bias=False, nonlinearity="relu"),
    "LSTMCell": lambda L: L.nn.LSTMCell(4, 5),
    "GRUCell": lambda L: L.nn.GRUCell(4, 5, bias=False),
}


@pytest.mark.parametrize("name", REPRS)
def test_repr_and_options_are_torchs(name):
    ours, theirs = REPRS[name](mg), REPRS[name](torch)
    assert repr(ours) == repr(theirs)
    for option in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                   "proj_size", "nonlinearity", "mode"):
        assert getattr(ours, option, None) == getattr(theirs, option, None)


def _x(L, *shape, dtype=None):
    return L.ones(*shape) if dtype is None else L.ones(*shape, dtype=getattr(L, dtype))


ERRORS = {  # name -> fn(lib)
    "nonlinearity": lambda L: L.nn.RNN(3, 4, nonlinearity="sigmoid"),
    "proj_size_of_a_gru": lambda L: L.nn.GRU(3, 4, proj_size=2),
    "proj_size_of_an_rnn": lambda L: L.nn.RNN(3, 4, proj_size=2),
    "proj_size_too_large": lambda L: L.nn.LSTM(3, 4, proj_size=4),
    "proj_size_negative": lambda L: L.nn.LSTM(3, 4, proj_size=-1),
    "dropout_out_of_range": lambda L: L.nn.LSTM(3, 4, dropout=1.5),
    "dropout_bool": lambda L: L.nn.GRU(3, 4, dropout=True),
    "hidden_size_zero": lambda L: L.nn.LSTM(3, 0),
    "input_size_zero": lambda L: L.nn.GRU(0, 3),
    "num_layers_zero": lambda L: L.nn.RNN(3, 4, 0),
    "input_size_float": lambda L: L.nn.LSTM(3.0, 4),
    "bias_int": lambda L: L.nn.LSTM(3, 4, bias=1),
    "batch_first_int": lambda L: L.nn.GRU(3, 4, batch_first=1),
    "rnn_input_4d": lambda L: L.nn.RNN(3, 4)(_x(L, 2, 3, 4, 3)),
    "lstm_input_1d": lambda L: L.nn.LSTM(3, 4)(_x(L, 3)),
    "gru_input_4d": lambda L: L.nn.GRU(3, 4)(_x(L, 2, 3, 4, 3)),
    "input_size": lambda L: L.nn.LSTM(3, 4)(_x(L, 2, 3, 5)),
    "input_size_unbatched": lambda L: L.nn.GRU(3, 4)(_x(L, 2, 5)),
    "input_dtype": lambda L: L.nn.GRU(3, 4)(_x(L, 2, 3, 3, dtype="float64")),
    "hidden_size": lambda L: L.nn.GRU(3, 4, 2)(_x(L, 2, 3, 3), _x(L, 2, 3, 5)),
    "hidden_layers": lambda L: L.nn.RNN(3, 4)(_x(L, 2, 3, 3), _x(L, 2, 3, 4)),
    "hidden_batch": lambda L: L.nn.RNN(3, 4, batch_first=True)(_x(L, 2, 3, 3), _x(L, 1, 3, 4)),
    "hidden_dims_batched": lambda L: L.nn.GRU(3, 4)(_x(L, 2, 3, 3), _x(L, 3, 4)),
    "hidden_dims_unbatched": lambda L: L.nn.RNN(3, 4)(_x(L, 2, 3), _x(L, 1, 1, 4)),
    "lstm_h_size_of_projection": lambda L: L.nn.LSTM(3, 4, 2, proj_size=2)(_x(L, 2, 3, 3),
                                                                           (_x(L, 2, 3, 4), _x(L, 2, 3, 4))),
    "lstm_c_size": lambda L: L.nn.LSTM(3, 4)(_x(L, 2, 3, 3), (_x(L, 1, 3, 4), _x(L, 1, 3, 5))),
    "lstm_dims_batched": lambda L: L.nn.LSTM(3, 4)(_x(L, 2, 3, 3), (_x(L, 3, 4), _x(L, 1, 3, 4))),
    "lstm_dims_unbatched": lambda L: L.nn.LSTM(3, 4)(_x(L, 2, 3), (_x(L, 1, 1, 4), _x(L, 1, 1, 4))),
    "empty_sequence": lambda L: L.nn.GRU(3, 4)(_x(L, 0, 2, 3)),
    "packed_data_dims": lambda L: L.nn.GRU(3, 4)(L.nn.utils.rnn.PackedSequence(_x(L, 3, 2, 3), L.tensor([2, 1]))),
    "cell_input_dims": lambda L: L.nn.RNNCell(3, 4)(_x(L, 2, 2, 3)),
    "cell_hidden_dims": lambda L: L.nn.GRUCell(3, 4)(_x(L, 2, 3), _x(L, 1, 2, 4)),
    "lstm_cell_hidden_dims": lambda L: L.nn.LSTMCell(3, 4)(_x(L, 2, 3), (_x(L, 2, 4), _x(L, 1, 2, 4))),
    "cell_input_size": lambda L: L.nn.LSTMCell(3, 4)(_x(L, 2, 5)),
    "cell_batch": lambda L: L.nn.RNNCell(3, 4)(_x(L, 2, 3), _x(L, 3, 4)),
    "cell_hidden_size": lambda L: L.nn.GRUCell(3, 4)(_x(L, 2, 3), _x(L, 2, 5)),
    "cell_unbatched_hidden_of_a_batch": lambda L: L.nn.RNNCell(3, 4)(_x(L, 3), _x(L, 2, 4)),
    "lstm_cell_c_batch": lambda L: L.nn.LSTMCell(3, 4)(_x(L, 2, 3), (_x(L, 2, 4), _x(L, 1, 4))),
    "lstm_cell_c_size": lambda L: L.nn.LSTMCell(3, 4)(_x(L, 2, 3), (_x(L, 2, 4), _x(L, 2, 5))),
    "lstm_cell_one_state": lambda L: L.nn.LSTMCell(3, 4)(_x(L, 2, 3), (_x(L, 2, 4),)),
    "cell_nonlinearity": lambda L: L.nn.RNNCell(3, 4, nonlinearity="sigmoid")(_x(L, 2, 3)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


def test_empty_batch_gives_torchs_shapes():
    model, reference = layer_pair("LSTM_proj", num_layers=2, bidirectional=True)
    ours, theirs = model(mg.ones(LENGTH, 0, INPUT)), reference(torch.ones(LENGTH, 0, INPUT))
    assert [part.shape for part in [ours[0], *ours[1]]] == [tuple(part.shape) for part in [theirs[0], *theirs[1]]]


def _device_results(device):
    """A two-layer bidirectional LSTM with projections on padded input, and a GRU on packed sequences, with their
    gradients, on `device`."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, proj_size=2, batch_first=True).to(device)
    gru = mg.nn.GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True).to(device)
    rng = np.random.default_rng(12)
    x = mg.tensor(rng.standard_normal((BATCH, LENGTH, INPUT)).astype(np.float32), device=device, requires_grad=True)
    output, (h, c) = lstm(x)
    packed = mg.nn.utils.rnn.pack_padded_sequence(x, [3, 5], batch_first=True, enforce_sorted=False)
    padded, _ = mg.nn.utils.rnn.pad_packed_sequence(gru(packed)[0], batch_first=True)
    loss = sum((part * part).sum() + part.sum() for part in (output, h, c, padded))
    loss.backward()
    return [part.numpy() for part in (output, h, c, padded, x.grad,
                                      *(param.grad for param in [*lstm.parameters(), *gru.parameters()]))]


def test_gpu_path_matches_cpu(gpu_path):
    for gpu, cpu in zip(_device_results("gpu"), _device_results("cpu")):
        assert gpu.dtype == cpu.dtype
        assert relative_error(gpu, cpu) <= 1e-5
