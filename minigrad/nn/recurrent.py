"""torch's recurrent layers, RNN, LSTM and GRU, and their cells, with torch's parameter names, shapes, gate order and
initialisation, so that its checkpoints load and its outputs carry over. Composed of differentiable ops: a layer
projects the inputs of all its time steps in one matmul, then loops over time for the recurrence alone, one cell
step per kind serving the cells and the layers alike."""
import itertools
import numbers
import warnings

from .. import functional as F
from .. import ops
from ..torch_functions import cat, stack
from . import init
from .module import Module
from .sequences import PackedSequence


def _rnn_step(activation):
    """h' = activation(x W_ih^T + b_ih + h W_hh^T + b_hh), the input's projection given."""
    def step(x_projected, state, cell):
        (h,) = state
        return (activation(x_projected + cell.recurrent(h)),)
    return step


def _lstm_step(x_projected, state, cell):
    """torch's gates i, f, g, o: c' = σ(f) c + σ(i) tanh(g), h' = σ(o) tanh(c') (one op, ops.LSTMUpdate),
    projected by weight_hr where there is one."""
    h, c = state
    size = c.shape[1]
    updated = ops.LSTMUpdate.apply(x_projected + cell.recurrent(h), c)
    h, c = updated[:, :size], updated[:, size:]
    return (h if cell.weight_hr_t is None else h @ cell.weight_hr_t, c)


def _gru_step(x_projected, state, cell):
    """torch's gates r, z, n: n = tanh(x_n + r (W_hn h + b_hn)), h' = (1 - z) n + z h (one op, ops.GRUUpdate)."""
    (h,) = state
    return (ops.GRUUpdate.apply(x_projected, cell.recurrent(h), h),)


# mode -> (gates, the cell step)
_MODES = {"RNN_TANH": (1, _rnn_step(F.tanh)), "RNN_RELU": (1, _rnn_step(F.relu)), "LSTM": (4, _lstm_step),
          "GRU": (3, _gru_step)}


class _Cell:
    """One cell's parameters (a cell's, or a layer and direction's), made ready for a run of steps: W_hh (and
    W_hr) transposed once; b_hh added into the input's projection where the step adds the two projections anyway
    (all modes but the GRU's, whose reset gate multiplies W_hn h + b_hn)."""

    def __init__(self, mode, weight_ih, weight_hh, bias_ih=None, bias_hh=None, weight_hr=None):
        self.mode_step = _MODES[mode][1]
        self.weight_ih, self.input_bias, self.bias_hh = weight_ih, bias_ih, bias_hh
        if mode != "GRU" and bias_hh is not None:
            self.input_bias, self.bias_hh = bias_ih + bias_hh, None
        self.weight_hh_t = weight_hh.T
        self.weight_hr_t = None if weight_hr is None else weight_hr.T

    def project(self, input):
        """The input's projection, x W_ih^T + b_ih (+ b_hh), of every row at once."""
        return F.linear(input, self.weight_ih, self.input_bias)

    def step(self, x_projected, state):
        """The state after one step, from the input's projection and the state before (tuples: (h,), or (h, c))."""
        return self.mode_step(x_projected, state, self)

    def recurrent(self, h):
        projected = h @ self.weight_hh_t
        return projected if self.bias_hh is None else projected + self.bias_hh


def _run_direction(cell, x_projected, batch_sizes, initial, reverse):
    """One direction of one layer over packed time steps: x_projected holds the projected input rows of all steps
    (batch_sizes[t] rows for step t, in order), initial the state of every sequence. Returns the output rows, in
    the same order, and the final state of every sequence. A step has fewer sequences than the one before where
    some have ended: forward, their final state is set aside; in reverse, they start there, from `initial`."""
    starts = list(itertools.accumulate(batch_sizes, initial=0))
    state, set_aside, outputs = initial, [], []
    for t in reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes)):
        size, rows = batch_sizes[t], state[0].shape[0]
        if size < rows:
            set_aside.append(tuple(part[size:] for part in state))
            state = tuple(part[:size] for part in state)
        elif size > rows:
            state = tuple(cat([part, first[rows:size]]) for part, first in zip(state, initial))
        state = cell.step(x_projected[starts[t]:starts[t] + size], state)
        outputs.append(state[0])
    if reverse:
        outputs.reverse()
    if state[0].shape[0] < initial[0].shape[0]:
        state = tuple(cat([part, *reversed(aside)]) for part, aside in zip(state, zip(*set_aside)))
    return cat(outputs), state


def _uniform_parameters(module):
    """torch's default initialisation of the recurrent layers and cells: every parameter U(±1/sqrt(hidden_size))."""
    bound = init.default_bound(module.hidden_size)
    for parameter in module.parameters():
        init.uniform_(parameter, -bound, bound)


class RNNBase(Module):
    """The layers' common part: num_layers stacked layers (the first of input_size features, the others of the
    outputs of the one below, both directions' with bidirectional), dropout between them in training. Inputs (T, N,
    input_size), (N, T, input_size) with batch_first, unbatched (T, input_size), or a PackedSequence; the initial
    state zeros unless given, (num_layers * directions, N, hidden) as torch's."""

    # torch's wording of the error for an input of neither 2 nor 3 dims
    input_dims_error = "{mode}: Expected input to be 2D or 3D, got {dims}D instead"

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        _check_options(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates = _MODES[mode][0] * hidden_size
        state_size = proj_size or hidden_size
        self._all_weights = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:self.num_directions]:
                layer_input_size = input_size if layer == 0 else state_size * self.num_directions
                shapes = {"weight_ih": (gates, layer_input_size), "weight_hh": (gates, state_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    names.append(f"{kind}_l{layer}{suffix}")
                    setattr(self, names[-1], init.empty_parameter(*shape, device=device, dtype=dtype))
                self._all_weights.append(names)
        self.reset_parameters()

    reset_parameters = _uniform_parameters

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def flatten_parameters(self):
        """torch's packing of the weights into one cuDNN buffer: nothing to do here, kept for ported code."""

    @property
    def all_weights(self):
        """Each layer and direction's parameters, in torch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _cell(self, index):
        """The cell of layer and direction number `index` (layer * directions + direction)."""
        layer, direction = divmod(index, self.num_directions)
        suffix = f"_l{layer}{'_reverse' if direction else ''}"
        return _Cell(self.mode, *(getattr(self, kind + suffix, None)
                                  for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")))

    def forward(self, input, hx=None):
        """(output, h_n), or for an LSTM (output, (h_n, c_n)): output the last layer's states at every step, both
        directions' side by side (a PackedSequence for a packed input), h_n and c_n every layer and direction's
        final state, as torch's."""
        state = None if hx is None else self._state_of(hx)
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if state is not None and sorted_indices is not None:
                state = tuple(part.index_select(1, sorted_indices) for part in state)
            self._check_input(data, dims=2)
            output, state = self._run(data, batch_sizes.tolist(), state)
            if unsorted_indices is not None:
                state = tuple(part.index_select(1, unsorted_indices) for part in state)
            return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), self._returned(state)
        if input.ndim not in (2, 3):
            raise ValueError(self.input_dims_error.format(mode=type(self).__name__, dims=input.ndim))
        batched = input.ndim == 3
        if state is not None:
            self._check_state_dims(state, batched)
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            state = None if state is None else tuple(part.unsqueeze(1) for part in state)
        self._check_input(input, dims=3)
        steps = input.transpose(0, 1) if self.batch_first else input
        length, batch = steps.shape[:2]
        output, state = self._run(steps.reshape(length * batch, self.input_size), [batch] * length, state)
        output = output.reshape(length, batch, output.shape[-1])
        output = output.transpose(0, 1) if self.batch_first else output
        if not batched:
            output, state = output.squeeze(0 if self.batch_first else 1), tuple(part.squeeze(1) for part in state)
        return output, self._returned(state)

    def _run(self, data, batch_sizes, state):
        """The layers over packed data (the rows of every step in turn, batch_sizes[t] of step t) from `state`
        (zeros where None): the last layer's output rows and the final state, each part (layers * directions, N,
        size)."""
        sizes = self._state_sizes(batch_sizes[0] if batch_sizes else 0)
        if state is None:
            state = tuple(data.new_zeros(size) for size in sizes)
        self._check_state_sizes(state, sizes)
        if not batch_sizes:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                cell = self._cell(index)
                output, final = _run_direction(cell, cell.project(data), batch_sizes,
                                               tuple(part[index] for part in state), reverse=direction == 1)
                outputs.append(output)
                finals.append(final)
            data = cat(outputs, 1) if self.bidirectional else outputs[0]
            if self.training and self.dropout and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout)
        return data, tuple(stack(parts) for parts in zip(*finals))

    def _check_input(self, input, dims):
        """torch's checks of the input (a packed sequence's data, of 2 dims, or the batched input, of 3)."""
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype (torch.{input.dtype}) does not match weight dtype "
                             f"(torch.{weight.dtype}). Convert input: input.to(torch.{weight.dtype}), or convert "
                             f"model: model.to(torch.{input.dtype})")
        if input.ndim != dims:
            raise RuntimeError(f"input must have {dims} dimensions, got {input.ndim}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")

    def _state_sizes(self, batch):
        """The expected shape of h (and c) for a batch of N."""
        return ((self.num_layers * self.num_directions, batch, self.hidden_size),)

    def _check_state_sizes(self, state, sizes):
        for part, size in zip(state, sizes):
            if part.shape != size:
                raise RuntimeError(f"Expected hidden size {size}, got {list(part.shape)}")

    def _check_state_dims(self, state, batched):
        (h,) = state
        if h.ndim != (3 if batched else 2):
            raise RuntimeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also be "
                               f"{3 if batched else 2}-D but got {h.ndim}-D tensor")

    @staticmethod
    def _state_of(hx):
        return (hx,)

    @staticmethod
    def _returned(state):
        return state[0]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


def _check_options(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    """torch's errors for options it refuses, and its warning for a dropout that has no layer to follow."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def _refuse_projection(kwargs):
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class RNN(RNNBase):
    """Elman's RNN: h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh), nonlinearity "tanh" or "relu". Takes
    torch's arguments, nonlinearity fourth: (input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
    dropout, bidirectional)."""

    input_dims_error = "{mode}: Expected input to be 2D or 3D, got {dims}D tensor instead"

    def __init__(self, *args, **kwargs):
        _refuse_projection(kwargs)
        if len(args) > 3:
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(f"RNN_{nonlinearity.upper()}", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, torch's gates i, f, g, o (see _lstm_step); with proj_size, h is projected to that
    size by weight_hr at every step. Its state and result are pairs (h, c)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def _state_sizes(self, batch):
        layers = self.num_layers * self.num_directions
        return (layers, batch, self.proj_size or self.hidden_size), (layers, batch, self.hidden_size)

    def _check_state_sizes(self, state, sizes):
        for number, (part, size) in enumerate(zip(state, sizes)):
            if part.shape != size:
                raise RuntimeError(f"Expected hidden[{number}] size {size}, got {list(part.shape)}")

    def _check_state_dims(self, state, batched):
        dims = 3 if batched else 2
        if any(part.ndim != dims for part in state):
            raise RuntimeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should also "
                               f"be {dims}-D but got ({state[0].ndim}-D, {state[1].ndim}-D) tensors")

    @staticmethod
    def _state_of(hx):
        return tuple(hx)

    @staticmethod
    def _returned(state):
        return state


class GRU(RNNBase):
    """Gated recurrent units, torch's gates r, z, n (see _gru_step)."""

    def __init__(self, *args, **kwargs):
        _refuse_projection(kwargs)
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One time step: input (N, input_size) or unbatched (input_size,), the state zeros unless given. weight_ih
    (gates * hidden_size, input_size), weight_hh (gates * hidden_size, hidden_size), bias_ih and bias_hh (None
    without bias), all U(±1/sqrt(hidden_size)), as torch's."""

    _mode = None  # the mode of the cell's step (see _MODES)

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = _MODES[self._mode][0] * hidden_size
        factory_kwargs = {"device": device, "dtype": dtype}
        self.weight_ih = init.empty_parameter(gates, input_size, **factory_kwargs)
        self.weight_hh = init.empty_parameter(gates, hidden_size, **factory_kwargs)
        if bias:
            self.bias_ih, self.bias_hh = (init.empty_parameter(gates, **factory_kwargs) for _ in range(2))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = _uniform_parameters

    def _step(self, input, hx, mode):
        """The new state (a tuple) for input and the state hx (a tuple, None for zeros), with torch's errors."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for number, part in enumerate(hx or ()):
            if part.ndim not in (1, 2):
                which = "hidden" if len(hx) == 1 else f"hx[{number}]"
                raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got {part.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
            hx = None if hx is None else tuple(part.unsqueeze(0) for part in hx)
        if hx is None:
            hx = (input.new_zeros(input.shape[0], self.hidden_size),) * (2 if mode == "LSTM" else 1)
        _check_cell_operands(input, hx, self.input_size, self.hidden_size)
        cell = _Cell(mode, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        state = cell.step(cell.project(input), hx)
        return state if batched else tuple(part.squeeze(0) for part in state)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


def _check_cell_operands(input, hx, input_size, hidden_size):
    """torch's checks of a cell's (batched) input and state."""
    if input.shape[1] != input_size:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {input_size}")
    for number, part in enumerate(hx):
        if part.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{number} batch size "
                               f"{part.shape[0]}")
        if part.shape[1] != hidden_size:
            raise RuntimeError(f"hidden{number} has inconsistent hidden_size: got {part.shape[1]}, expected "
                               f"{hidden_size}")


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh), nonlinearity "tanh" or "relu" (another is refused when
    called, as torch's)."""

    _mode = "RNN_TANH"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(input, None if hx is None else (hx,), f"RNN_{self.nonlinearity.upper()}")[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (see _lstm_step): (h', c') from input and the state (h, c)."""

    _mode = "LSTM"

    def forward(self, input, hx=None):
        if hx is not None and len(hx) != 2:
            raise RuntimeError("lstm_cell expects two hidden states")
        return self._step(input, None if hx is None else tuple(hx), self._mode)


class GRUCell(RNNCellBase):
    """One GRU step (see _gru_step)."""

    _mode = "GRU"

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else (hx,), self._mode)[0]


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]
