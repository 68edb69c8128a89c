"""torch.nn.utils.rnn: batches of sequences of different lengths, padded to one length or packed time step by
time step (a PackedSequence, which the recurrent layers take as it is). Each conversion is one differentiable
gather of rows, its index worked out on the host."""
import collections
import collections.abc

import numpy as np

from ..backend import to_device
from ..tensor import Tensor
from ..torch_functions import cat


class PackedSequence(collections.namedtuple("PackedSequence", "data batch_sizes sorted_indices unsorted_indices")):
    """torch's: `data` (sum of the lengths, *) holds the first time step of every sequence, then the second of
    those that have one, and so on; batch_sizes (int64, on the host) how many sequences each step has. The
    sequences are sorted by decreasing length: sorted_indices gives the original index of each (None when they
    came sorted), unsorted_indices its inverse."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data moved or cast as Tensor.to moves it, the indices moved with it; batch_sizes stays on the host."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        indices = (None if index is None else index.to(data.device) for index in (self.sorted_indices,
                                                                                  self.unsorted_indices))
        return type(self)(data, self.batch_sizes, *indices)

    @property
    def is_cuda(self):
        return self.data.device == "gpu"


def invert_permutation(permutation):
    if permutation is None:
        return None
    inverse = np.empty(permutation.shape[0], np.int64)
    inverse[_host(permutation)] = np.arange(permutation.shape[0])
    return Tensor(to_device(inverse, permutation.device))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """The sequences (each (L_i, *)) as one (max L_i, N, *) tensor, or (N, max L_i, *) with batch_first, each padded
    with padding_value after its end (before its start with padding_side="left")."""
    if not isinstance(sequences, collections.abc.Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    lengths = np.array([sequence.shape[0] for sequence in sequences], np.int64)
    longest, starts = lengths.max(), np.cumsum(lengths) - lengths
    steps = np.arange(longest)[:, None]
    positions = steps if padding_side == "right" else steps - (longest - lengths)
    rows = np.where((positions >= 0) & (positions < lengths), starts + positions, lengths.sum())
    return _rows_or_padding(cat(sequences), rows.T if batch_first else rows, padding_value)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """The (T, N, *) input (N, T, *) with batch_first, whose sequence n is lengths[n] steps long, packed. With
    enforce_sorted, the lengths must come in decreasing order; otherwise the sequences are sorted here."""
    lengths = _host(lengths).astype(np.int64)
    if not input.numel():
        raise RuntimeError("Cannot pack empty tensors.")
    if lengths.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D cpu Long "
                           "tensor")
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths, sorted_indices = lengths[order], Tensor(to_device(order, input.device))
    batch = input.shape[0 if batch_first else 1]
    if lengths.shape[0] != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.shape[0]} "
                           f"(batch_size={batch})")
    if lengths.size and lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    if np.any(np.diff(lengths) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                           "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    batch_sizes = (lengths[None, :] > np.arange(lengths.max(initial=0))[:, None]).sum(1)
    steps, members = _packed_positions(batch_sizes)
    if sorted_indices is not None:
        members = order[members]
    data = input[to_device(members, input.device), to_device(steps, input.device)] if batch_first else \
        input[to_device(steps, input.device), to_device(members, input.device)]
    return PackedSequence(data, Tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The packed sequence padded back, (T, N, *) or (N, T, *), T at least total_length, in the sequences' original
    order, and their lengths (int64)."""
    batch_sizes = _host(sequence.batch_sizes)
    length = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {length}")
        length = total_length
    data = sequence.data
    rows = np.full((length, batch_sizes[0]), data.shape[0], np.int64)
    rows[_packed_positions(batch_sizes)] = np.arange(data.shape[0])
    lengths = (rows < data.shape[0]).sum(0)
    if sequence.unsorted_indices is not None:
        unsorted = _host(sequence.unsorted_indices)
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    return _rows_or_padding(data, rows.T if batch_first else rows, padding_value), Tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """The sequences (each (L_i, *)) packed."""
    lengths = [sequence.shape[0] for sequence in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The sequences of a padded batch, each cut to its length, as a list."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [sequence[:length] for sequence, length in zip(padded_sequences, _host(lengths).tolist())]


def unpack_sequence(packed_sequences):
    """The sequences of a packed batch, as a list in their original order."""
    return unpad_sequence(*pad_packed_sequence(packed_sequences, batch_first=True), batch_first=True)


def _packed_positions(batch_sizes):
    """(time step, sequence) of each row of packed data of these batch sizes, as two index arrays."""
    steps = np.repeat(np.arange(batch_sizes.shape[0]), batch_sizes)
    members = np.arange(steps.shape[0]) - np.repeat(np.cumsum(batch_sizes) - batch_sizes, batch_sizes)
    return steps, members


def _rows_or_padding(data, rows, padding_value):
    """data's rows at the (host) index `rows`, padding_value where it is len(data): one gather, so that each row's
    gradient goes back to its place."""
    padding = data.new_full((1, *data.shape[1:]), padding_value)
    return cat([data, padding])[to_device(rows, data.device)]


def _host(values):
    """A tensor's or list's integers as a host array."""
    return np.asarray(values.tolist() if isinstance(values, Tensor) else values)


__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]
