"""Shape ops: reshape/view, permute, cat, indexing, gather, pad, diagonals and triangles; and the dim checks every
op that takes a dim shares."""
import math
import numbers
import operator
import warnings

import numpy as np

from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function, named_by
from ..tensor import Tensor
from .scan import running


def checked_position(index, size, message):
    """An index as a position in [0, size), negatives counting from the end, or an IndexError with `message`,
    which may name the {index} and the ends of the range, {low} and {high}."""
    index = operator.index(index)
    if not -size <= index < size:
        raise IndexError(message.format(index=index, low=-size, high=size - 1))
    return index % size


def normalize_dim(dim, ndim):
    """`dim` as an axis in [0, ndim), or torch's IndexError. A 0-d tensor answers to dims -1 and 0, as in torch."""
    return checked_position(dim, max(ndim, 1), "Dimension out of range (expected to be in range of [{low}, {high}], "
                                               "but got {index})")


def normalize_dims(dims, ndim):
    """An int or a sequence of dims as sorted axes, each checked by normalize_dim; a repeat is an error, as in
    torch. A 0-d tensor has no axis, so its dims (-1 or 0) give ()."""
    axes = sorted(normalize_dim(d, ndim) for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
    for first, second in zip(axes, axes[1:]):
        if first == second:
            raise RuntimeError(f"dim {first} appears multiple times in the list of dims")
    return tuple(axes) if ndim else ()


def check_shape_for(size, shape):
    """torch's errors for a reshape of `size` entries to `shape` (at most one -1, inferred), where NumPy's differ."""
    for index, length in enumerate(shape):
        if length < -1:
            raise RuntimeError(f"invalid shape dimension {length} at index {index} of shape {list(shape)}")
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(length for length in shape if length != -1)
    if -1 in shape and known == 0:
        if size == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the unspecified "
                               "dimension size -1 can be any value and is ambiguous")
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    if (size % known if -1 in shape else size != known):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")


def resolved_shape(size, shape):
    """`shape` for `size` entries with its -1 inferred, or check_shape_for's error."""
    check_shape_for(size, shape)
    known = math.prod(length for length in shape if length != -1)
    return tuple(size // known if length == -1 else length for length in shape)


class Reshape(Function):
    node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        check_shape_for(a.size, shape)
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        (shape,) = ctx.saved
        return grad.reshape(shape)

    differentiable_backward = backward


class Expand(Function):
    """torch's expand: a view of `a` broadcast to `shape` (new dims in front), a grown dim repeating its one entry's
    memory (stride 0), no copy; the engine sums the gradient back over the grown dims."""

    @staticmethod
    def forward(ctx, a, shape):
        return expanded_view(a, shape)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return grad

    differentiable_backward = backward


def expanded_view(array, shape):
    """`array` broadcast to `shape`, a view (see Expand)."""
    return _writable_as(array, get_array_module(array).broadcast_to(array, shape))


def _writable_as(array, view):
    """`view` of `array`, writable where `array` is, as torch's views are: NumPy marks its broadcasts and diagonals
    read-only, only as a caution for code written before they were views (Tensor refuses a write where several
    elements share memory, as torch)."""
    if getattr(array.flags, "writeable", False) and not view.flags.writeable:
        view.flags.writeable = True
    return view


SHARED_MEMORY_WRITE = ("unsupported operation: more than one element of the written-to tensor refers to a single "
                       "memory location. Please clone() the tensor before performing the operation.")


def has_internal_overlap(array):
    """Whether elements of `array` share memory (a dim of stride 0 that holds more than one), as an expanded
    tensor's do: torch refuses to write into it. An empty array shares nothing, whatever strides NumPy gave it."""
    return array.size > 1 and bool(shared_dims(array))


def shared_dims(array):
    """The dims along which `array` repeats its memory: stride 0, more than one entry."""
    return tuple(dim for dim, (size, stride) in enumerate(zip(array.shape, array.strides)) if stride == 0 and size > 1)


def distinct_elements_index(array):
    """The basic index of the part of `array` that holds each of its memory locations once: every dim that repeats
    its memory (stride 0) cut to its first entry."""
    shared = shared_dims(array)
    return tuple(slice(0, 1) if dim in shared else slice(None) for dim in range(array.ndim))


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.params["dims"]))

    @staticmethod
    def differentiable_backward(ctx, grad):
        return Permute.apply(grad, dims=tuple(int(axis) for axis in np.argsort(ctx.params["dims"])))


class Cat(Function):
    """Concatenation; the axes other than `dim` split over the worker threads (the batch, or the
    channels of a single image). An array of shape (0,) beside others of any shape is left out, as torch still
    allows for old code; it stays an input, with an empty gradient."""

    autocast_category = "promote"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        xp = get_array_module(arrays[0])
        joins = [a.shape != (0,) for a in arrays]
        joins = joins if any(joins) else [True] * len(arrays)
        joined = [a for a, join in zip(arrays, joins) if join]
        dim = Cat.check_shapes(arrays, joins, dim)
        ctx.save_for_backward(dim, [a.shape[dim] if join else None for a, join in zip(arrays, joins)])
        shape = list(joined[0].shape)
        shape[dim] = sum(a.shape[dim] for a in joined)
        out = memory.empty(xp, shape, xp.result_type(*arrays))
        return parallel.elementwise(lambda *parts, out: xp.concatenate(parts, axis=dim, out=out), *joined, out=out,
                                    whole_axes=(dim,))

    @staticmethod
    def check_shapes(arrays, joins, dim):
        """`dim` as an axis, or torch's error for arrays that do not fit together."""
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated")
        reference = arrays[joins.index(True)]
        dim = normalize_dim(dim, reference.ndim)
        for number, (array, join) in enumerate(zip(arrays, joins)):
            if join and array.ndim != reference.ndim:
                raise RuntimeError(f"Tensors must have same number of dimensions: got {reference.ndim} and "
                                   f"{array.ndim}")
            for axis, (expected, size) in enumerate(zip(reference.shape, array.shape) if join else ()):
                if axis != dim and size != expected:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size "
                                       f"{expected} but got size {size} for tensor number {number} in the list.")
        return dim

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        dim, sizes = ctx.saved
        start, index, pieces = 0, [slice(None)] * grad.ndim, []
        for size in sizes:
            if size is None:  # an input left out: an empty gradient, cut from grad as the others are
                pieces.append(grad[(slice(0, 0),) * grad.ndim].reshape(0))
                continue
            index[dim] = slice(start, start + size)
            pieces.append(grad[tuple(index)])
            start += size
        return tuple(pieces)

    differentiable_backward = backward


class Stack(Function):
    """Tensors of one shape joined along a new dim; the gradient of each is its slice of the result's."""

    autocast_category = "promote"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        xp = get_array_module(arrays[0])
        return xp.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(get_array_module(grad).moveaxis(grad, ctx.params["dim"], 0))

    @staticmethod
    def differentiable_backward(ctx, grad):
        return grad.unbind(ctx.params["dim"])


class Flip(Function):
    """Entries in reverse order along `dims`, as a copy, as torch's (a view would carry writes back)."""

    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, a, dims):
        xp = get_array_module(a)
        return xp.flip(a, axis=dims).copy()  # C order; ascontiguousarray would make a 0-d array 1-d

    @staticmethod
    def backward(ctx, grad):
        return get_array_module(grad).flip(grad, axis=ctx.params["dims"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.params["dims"])


def is_basic_index(index):
    """Slices, ints, None and Ellipsis pick each element at most once, as a view function does; arrays may repeat
    elements."""
    items = index if isinstance(index, tuple) else (index,)
    return callable(index) or all(isinstance(i, (slice, int, type(None), type(Ellipsis))) for i in items)


def torch_index_steps(index):
    """A user's index as torch applies it: None where NumPy applies it alike; for an index of ints and arrays
    (lists, tensors), (an index of the ints alone, the rest of it for their result), each as NumPy takes it, since
    torch selects with the ints first while NumPy counts an int beside an array as one more array (x[0, :, [1, 2]]
    would put the array's dim first). A negative slice step, which NumPy takes, is torch's ValueError."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, slice) and item.step is not None and item.step < 0 for item in items):
        raise ValueError("step must be greater than zero")
    if not isinstance(index, tuple):
        return None
    kinds = [_index_kind(item) for item in index]
    if not ("int" in kinds and "array" in kinds):
        return None
    selection, rest = [], []
    for item, kind in zip(index, kinds):
        if kind == "int":
            selection.append(item)
        elif item is None:                                     # its new dim is there for the rest to pass
            selection.append(None)
            rest.append(slice(None))
        elif item is Ellipsis:
            selection.append(Ellipsis)
            rest.append(Ellipsis)
        else:                                                  # a slice or an array; a bool adds a dim and spans none
            spans = 0 if kind == "bool" else getattr(item, "ndim", 1) if getattr(item, "dtype", None) == bool else 1
            selection.extend([slice(None)] * spans)
            rest.append(item)
    return tuple(selection), tuple(rest)


INDEX_DTYPES = (np.int64, np.int32, np.uint8, bool)  # of the tensors torch indexes with (a 0-d one of any integers)
INDEX_DTYPE_ERROR = "tensors used as indices must be long, int, byte or bool tensors"  # torch's, for the others


def torch_index(index, ndim):
    """A user's index made one that NumPy takes as torch takes the original: uint8 tensors in it are masks, as
    torch's deprecated byte masks (with its warning), not positions; an Ellipsis of no dims goes
    (without_empty_ellipsis). Tensors of other dtypes than torch indexes with are torch's error (NumPy takes int16)."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, Tensor) and item.dtype not in INDEX_DTYPES
           and not (item.ndim == 0 and item.dtype.kind in "iu") for item in items):
        raise IndexError(INDEX_DTYPE_ERROR)
    if any(isinstance(item, Tensor) and item.dtype == np.uint8 for item in items):
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.",
                      UserWarning, stacklevel=4)  # the user's line: past Tensor's indexing method and its wrapper
        items = tuple(item != 0 if isinstance(item, Tensor) and item.dtype == np.uint8 else item for item in items)
        index = items if isinstance(index, tuple) else items[0]
    return without_empty_ellipsis(index, ndim)


def without_empty_ellipsis(index, ndim):
    """`index` less an Ellipsis that spans no dim of an `ndim`-d tensor, where the index holds arrays: torch's
    Ellipsis expands to its slices, so one of none leaves the arrays beside it adjacent (their dims stay in place),
    where NumPy's Ellipsis separates them (their dims go first)."""
    if not isinstance(index, tuple) or not any(item is Ellipsis for item in index):
        return index
    kinds = [_index_kind(item) for item in index]
    if "array" not in kinds or sum(map(_dims_spanned, index, kinds)) != ndim:
        return index
    return tuple(item for item in index if item is not Ellipsis)


def _dims_spanned(item, kind):
    """The dims of a tensor that an index item (of _index_kind `kind`) takes: a mask its own dims, None, a bool
    and an Ellipsis here none."""
    if kind == "array":
        array = item if hasattr(item, "dtype") else np.asarray(item)
        return array.ndim if array.dtype == bool else 1
    return 0 if kind == "bool" or item is None or item is Ellipsis else 1


def index_put_kind(index):
    """How torch writes a tensor at an index: None for a basic one (ints, slices, None, Ellipsis, a lone bool), which
    it copies into, cast; "mask" for a single bool mask of dims beside those, which index_put_ fills as masked_fill
    does where the value is one number; "tensors" for the others (lists, arrays, tensors, where a 0-d integer one is
    an int and a bool in a tuple is one)."""
    items = index if isinstance(index, tuple) else () if isinstance(index, (bool, np.bool_)) else (index,)
    tensors = [item for item in items if _index_kind(item) in ("array", "bool")
               and not (getattr(item, "ndim", None) == 0 and item.dtype.kind in "iu")]
    if not tensors:
        return None
    first = tensors[0] if hasattr(tensors[0], "dtype") else np.asarray(tensors[0])
    return "mask" if len(tensors) == 1 and first.dtype == bool and first.ndim else "tensors"


def _index_kind(item):
    if isinstance(item, (bool, np.bool_)):
        return "bool"
    if isinstance(item, numbers.Integral):
        return "int"
    return "basic" if item is None or item is Ellipsis or isinstance(item, slice) else "array"


def region(array, index):
    """array[index], a view of it for a basic index, 0-d arrays included (where NumPy gives a scalar for an index of
    ints); an index may also be a function that takes a view of the array (of a view's base: Tensor._viewed)."""
    if callable(index):
        return index(array)
    out = array[index]
    if isinstance(out, np.generic):
        return array[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
    return out


def _write(array, index, value):
    """array[index] = value, for the indexes of region()."""
    if callable(index):
        index(array)[...] = value
    else:
        array[index] = value


def array_index(index, xp):
    """An index as NumPy and CuPy take it, for an array of xp: tensors in it (a mask, a list of positions) become
    their arrays, on xp's device (torch indexes a GPU tensor with positions held on the host too)."""
    if isinstance(index, Tensor):
        return xp.asarray(index.data)
    if isinstance(index, tuple):
        return tuple(xp.asarray(i.data) if isinstance(i, Tensor) else i for i in index)
    return index


_INDEX_NODES = {int: "SelectBackward0", slice: "SliceBackward0", type(None): "UnsqueezeBackward0"}


def _index_node_name(ctx):
    """torch's name of the node of a[index] (GetItem's params): IndexBackward0 where the index holds arrays (or a
    bool), else that of its last item that does something, as torch applies them in turn: SelectBackward0 of an int,
    SliceBackward0 of a slice other than the whole dim (a lone slice counts), UnsqueezeBackward0 of None;
    AliasBackward0 where none does. A view taken anew of its changed base (Tensor._become) is torch's
    AsStridedBackward0."""
    index, shape = ctx.params["index"], ctx.inputs[0].shape
    if callable(index):
        return "AsStridedBackward0"
    items = index if isinstance(index, tuple) else (index,)
    kinds = [type(None) if item is None else Ellipsis if item is Ellipsis else _basic_kind(item) for item in items]
    if None in kinds:
        return "IndexBackward0"
    if not isinstance(index, tuple):
        return "AliasBackward0" if index is Ellipsis else _INDEX_NODES[kinds[0]]
    name, dim = "AliasBackward0", 0
    for item, kind in zip(items, kinds):
        if kind is Ellipsis:
            dim = len(shape) - sum(k in (int, slice) for k in kinds[kinds.index(Ellipsis) + 1:])
            continue
        if kind is not slice or item.indices(shape[dim]) != (0, shape[dim], 1):
            name = _INDEX_NODES[kind]
        dim += kind is not type(None)
    return name


def _basic_kind(item):
    """int or slice for an item of a basic index (a 0-d integer array is an int, as in torch), None for the rest."""
    if isinstance(item, slice):
        return slice
    if isinstance(item, bool):
        return None
    if isinstance(item, int) or (getattr(item, "ndim", None) == 0 and item.dtype.kind in "iu"):
        return int
    return None


class GetItem(Function):
    node_name = staticmethod(_index_node_name)

    @staticmethod
    def forward(ctx, a, index):
        index = array_index(index, get_array_module(a))
        ctx.save_for_backward(a.shape, a.dtype, index)
        return region(a, index)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, index = ctx.saved
        return _index_gradient(shape, dtype, index, grad)

    @staticmethod
    def differentiable_backward(ctx, grad):
        shape, _, index = ctx.saved
        return IndexGradient.apply(grad, shape=shape, index=index)


def _index_gradient(shape, dtype, index, grad):
    """The gradient of a[index] (a of `shape`), an array or a GradientAt."""
    if not is_basic_index(index):
        return _scatter_add(shape, index, grad)
    if callable(index):  # a view taken anew: of an expansion, or overlapping windows, may read elements twice
        return gradient_through_view(shape, index, grad)
    return GradientAt(shape, dtype, index, grad)


class IndexGradient(Function):
    """GetItem's gradient as an op of its own, for create_graph: zeros of `shape` with grad at `index` (added up
    where the index reads a place more than once). It is linear in grad, and its gradient is GetItem's forward,
    grad read at index, as GetItem's is this: the two differentiate each other to any order. Ops whose gradient
    is such a scatter (gather, embedding, diagonal, a view) give theirs through it."""

    @staticmethod
    def forward(ctx, grad, shape, index):
        gradient = _index_gradient(shape, grad.dtype, index, grad)
        return gradient.dense() if isinstance(gradient, GradientAt) else gradient

    @staticmethod
    def backward(ctx, grad):
        return region(grad, ctx.params["index"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return GetItem.apply(grad, index=ctx.params["index"])


class GradientAt:
    """GetItem's gradient: zeros of its input's shape but at `index`, where it is `grad`. The engine writes it
    into the input's gradient, new zeros or the sum it accumulates, so that the pieces of a split, or the rows a
    loop reads one step at a time, make one array between them: each piece as a whole array of zeros cost the
    input's size per piece, a time quadratic in their number."""

    def __init__(self, shape, dtype, index, grad):
        self.shape, self.dtype, self.index, self.grad = tuple(shape), dtype, index, grad
        self.ndim = len(self.shape)

    def dense(self):
        full = memory.zeros(get_array_module(self.grad), self.shape, self.dtype)
        _write(full, self.index, self.grad)
        return full

    def add_into(self, gradient):
        part = region(gradient, self.index)
        part += self.grad


def _scatter_add(shape, index, grad):
    """The gradient of a[index] for an array index: grad added into zeros of a's shape, so that a position
    read more than once gets the sum of its reads' gradients (ufunc.at, which CuPy has too)."""
    xp = get_array_module(grad)
    full = memory.zeros(xp, shape, grad.dtype)
    xp.add.at(full, index, grad)
    return full


class SetItem(Function):
    """`a[index] = value` on a copy of a, which Tensor.__setitem__ makes a's own value, or with accumulate=True
    value added there, a place indexed twice getting both: value broadcast and cast to a's dtype, as torch's
    index_put. The gradient reaches a everywhere but at index (everywhere, accumulating), and value from there
    (summed where it was broadcast)."""

    promotes_inputs = False  # the result is a's dtype, whatever value's
    node_name = named_by("accumulate", "torch::autograd::CopySlices", "IndexPutBackward0")

    @classmethod
    def apply(cls, a, value, **params):
        """A number is written in a's dtype, not first made a tensor of the default one (0.1 into a float64 tensor
        would be float32's 0.1)."""
        if isinstance(value, numbers.Number):
            value = Tensor(value, dtype=a.dtype, device=a.device)
        return super().apply(a, value, **params)

    @staticmethod
    def forward(ctx, a, value, index, accumulate=None):
        xp = get_array_module(a)
        index = array_index(index, xp)
        ctx.save_for_backward(index, value.ndim)
        out = a.copy()
        if accumulate:
            xp.add.at(out, index, xp.broadcast_to(value, region(a, index).shape))
        else:
            _write(out, index, value)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, value_ndim = ctx.saved
        grad_a = grad.copy()
        if not ctx.params.get("accumulate"):
            _write(grad_a, index, 0)
        return grad_a, SetItem.as_value(region(grad, index), value_ndim)

    @staticmethod
    def differentiable_backward(ctx, grad):
        index, value_ndim = ctx.saved
        need_a, need_value = ctx.needs_input_grad
        grad_a = None
        if need_a:
            grad_a = grad if ctx.params.get("accumulate") else SetItem.apply(grad, 0, index=index)
        return grad_a, SetItem.as_value(GetItem.apply(grad, index=index), value_ndim) if need_value else None

    @staticmethod
    def as_value(grad_value, value_ndim):
        """The gradient of the indexed part (an array or a tensor) as value's, which was broadcast to that part:
        value may have had more leading 1s."""
        return grad_value.reshape((1,) * (value_ndim - grad_value.ndim) + grad_value.shape)


class FillOfSharedMemory(Function):
    """value where `fills` > 0, else a: masked_fill_ and index_fill_ into an expanded tensor, whose elements share
    memory, on `a`, the part of it that holds each memory location once. `fills` counts the elements filled that
    refer to each location; value's gradient counts each of them, as torch's, which differentiates the fill of the
    expanded tensor. A gradient for `a` is torch's error: its backward would write it into the expanded tensor."""

    promotes_inputs = False  # value comes in a's dtype

    @staticmethod
    def forward(ctx, a, value, fills):
        return get_array_module(a).where(fills > 0, value, a)

    @staticmethod
    def backward(ctx, grad):
        FillOfSharedMemory.refuse_a_gradient_of_the_shared_memory(ctx)
        xp = get_array_module(grad)
        return None, xp.asarray((grad * ctx.params["fills"].astype(grad.dtype)).sum(), dtype=grad.dtype)

    @staticmethod
    def differentiable_backward(ctx, grad):
        FillOfSharedMemory.refuse_a_gradient_of_the_shared_memory(ctx)
        return None, (grad * Tensor(ctx.params["fills"].astype(grad.dtype))).sum()

    @staticmethod
    def refuse_a_gradient_of_the_shared_memory(ctx):
        if ctx.needs_input_grad[0]:
            raise RuntimeError(SHARED_MEMORY_WRITE)


PAD_MODES = {"constant": "constant", "replicate": "edge", "reflect": "reflect", "circular": "wrap"}


def _pad_widths(pad, ndim):
    """torch's pad tuple (last dim first, (left, right) pairs) as numpy's per-axis widths."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {ndim}")
    widths = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        widths[ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return widths


_PAD_NODES = {"constant": "ConstantPadNdBackward0", "reflect": "ReflectionPad{}DBackward0",
              "replicate": "ReplicationPad{}DBackward0", "circular": "CopySlices"}  # torch's, of the dims padded


class Pad(Function):
    """Padding as an index map per axis; backward folds each padded copy back onto its source."""

    @staticmethod
    def node_name(ctx):
        return _PAD_NODES[ctx.params.get("mode", "constant")].format(len(ctx.params["pad"]) // 2)

    @staticmethod
    def forward(ctx, a, pad, mode="constant", value=0.0):
        if mode not in PAD_MODES:
            raise ValueError(f"pad mode {mode!r} is not one of {sorted(PAD_MODES)}")
        widths = _pad_widths(pad, a.ndim)
        for axis in reversed(range(a.ndim)):  # the last dim first, as torch checks them
            before, after = widths[axis]
            if mode == "reflect" and max(before, after) >= a.shape[axis] and (before or after):  # an empty batch pads
                raise RuntimeError(f"Argument #{4 + 2 * (a.ndim - 1 - axis)}: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding {before, after} at dimension "
                                   f"{axis} of input {list(a.shape)}")
            if mode == "circular" and max(before, after) > a.shape[axis]:
                raise RuntimeError("Padding value causes wrapping around more than once.")
        ctx.save_for_backward(widths, a.shape)
        return _padded(a, widths, mode, value)

    @staticmethod
    def backward(ctx, grad):
        widths, shape = ctx.saved
        return _folded(grad, widths, shape, ctx.params.get("mode", "constant"))

    @staticmethod
    def differentiable_backward(ctx, grad):
        widths, shape = ctx.saved
        return PadGradient.apply(grad, widths=widths, shape=shape, mode=ctx.params.get("mode", "constant"))


class PadGradient(Function):
    """Pad's gradient as an op of its own, for create_graph: each padded copy folded back onto its source. It is
    linear in grad, and its gradient is the padding again (with zeros, in constant mode), as Pad's is this."""

    @staticmethod
    def forward(ctx, grad, widths, shape, mode):
        return _folded(grad, widths, shape, mode)

    @staticmethod
    def backward(ctx, grad):
        return _padded(grad, ctx.params["widths"], ctx.params["mode"], 0)

    @staticmethod
    def differentiable_backward(ctx, grad):
        pad = tuple(width for widths in reversed(ctx.params["widths"]) for width in widths)  # torch's order
        return Pad.apply(grad, pad=pad, mode=ctx.params["mode"])


def _padded(a, widths, mode, value):
    """`a` padded by numpy's per-axis `widths` in torch's `mode`, with `value` in constant mode."""
    xp = get_array_module(a)
    if mode == "constant":
        return xp.pad(a, widths, mode="constant", constant_values=value)
    return xp.pad(a, widths, mode=PAD_MODES[mode])


def _folded(grad, widths, shape, mode):
    """The gradient of _padded for `grad`: each axis's padded copies folded back onto the entries of `shape`."""
    for axis, (before, after) in enumerate(widths):
        if before == after == 0:
            continue
        grad = _fold_axis(grad, axis, before, after, shape[axis], PAD_MODES[mode])
    return grad


def _fold_axis(grad, axis, before, after, size, mode):
    def at(i):
        index = [slice(None)] * grad.ndim
        index[axis] = slice(i, i + 1)
        return tuple(index)

    center = [slice(None)] * grad.ndim
    center[axis] = slice(before, before + size)
    folded = grad[tuple(center)].copy()
    if mode == "constant":
        return folded
    source = np.pad(np.arange(size), (before, after), mode=mode)
    for position in [*range(before), *range(before + size, before + size + after)]:
        folded[at(int(source[position]))] += grad[at(position)]
    return folded


def require_indices(index, size, message, error=RuntimeError, negatives=False):
    """Refuse an integer index array with an entry outside [0, size) (or [-size, size), where `negatives` count
    from the end), naming the first such entry in `message` ({index}), where NumPy would count a negative one from
    the end and CuPy would wrap any."""
    outside = index[(index < (-size if negatives else 0)) | (index >= size)]
    if outside.size:
        raise error(message.format(index=outside[0].item()))


class Gather(Function):
    """torch.gather: out[i][j][k] = a[i][index[i][j][k]][k] for dim 1. index has a's number of dims, and no
    larger a size than a's off `dim`; the gradient adds back into the positions read."""

    promotes_inputs = False  # index stays an integer array

    @staticmethod
    def forward(ctx, a, index, dim):
        dim = normalize_dim(dim, a.ndim)
        if index.dtype not in (np.int32, np.int64):
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        if index.ndim != a.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        for axis, (n, size) in enumerate(zip(index.shape, a.shape)):
            if n > size and axis != dim:
                raise RuntimeError(f"Size does not match at dimension {axis} expected index {list(index.shape)} to be "
                                   f"no larger than self {list(a.shape)} apart from dimension {dim}")
        size = a.shape[dim] if a.ndim else 1
        require_indices(index, size, f"index {{index}} is out of bounds for dimension {dim} with size {size}")
        positions = _positions_along(index, dim)
        ctx.save_for_backward(a.shape, positions)
        return a[positions]

    @staticmethod
    def backward(ctx, grad):
        shape, positions = ctx.saved
        return _scatter_add(shape, positions, grad), None

    @staticmethod
    def differentiable_backward(ctx, grad):
        shape, positions = ctx.saved
        return IndexGradient.apply(grad, shape=shape, index=positions), None


def _positions_along(index, dim):
    """gather's index as a full array index: `index` along `dim`, and each entry's own position along the others."""
    xp = get_array_module(index)
    return tuple(index if axis == dim else xp.arange(n).reshape((-1,) + (1,) * (index.ndim - axis - 1))
                 for axis, n in enumerate(index.shape))


def diagonal_view(array, offset, dim1, dim2):
    """Diagonal `offset` of the (dim1, dim2) planes of `array` as a last dim, a view that may be written into, as
    torch's."""
    return _writable_as(array, array.diagonal(offset, dim1, dim2))


def _placed_on_diagonal(values, shape, offset, dim1, dim2):
    """Zeros of `shape` with `values` (as diagonal_view gives them) on diagonal `offset` of the (dim1, dim2)
    planes."""
    full = memory.zeros(get_array_module(values), shape, values.dtype)
    diagonal_view(full, offset, dim1, dim2)[...] = values
    return full


class Diagonal(Function):
    """torch.diagonal (dims normalized and distinct), a view; the gradient goes back onto that diagonal of zeros."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.save_for_backward(a.shape)
        return diagonal_view(a, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        return _placed_on_diagonal(grad, shape, **ctx.params)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (shape,) = ctx.saved
        return IndexGradient.apply(grad, shape=shape, index=lambda array: diagonal_view(array, **ctx.params))


class DiagEmbed(Function):
    """The last dim of `a` on diagonal `offset` of new (dim1, dim2) planes of zeros, as torch.diag_embed (and torch.diag
    of a 1-d tensor, dims 0 and 1): Diagonal's reverse, so its gradient is that diagonal."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        shape = list(a.shape[:-1])
        for dim in sorted((dim1, dim2)):
            shape.insert(dim, a.shape[-1] + abs(offset))
        return _placed_on_diagonal(a, tuple(shape), offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return diagonal_view(grad, **ctx.params)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return Diagonal.apply(grad, **ctx.params)


def strided_view(array, size, stride, storage_offset=0):
    """torch.as_strided of `array` read as one contiguous row-major run of elements, as torch reads a contiguous
    tensor's storage: entry i of the view is element storage_offset + sum(i[k] * stride[k]) of that run (strides
    in elements). A view where `array` is contiguous, else a view of a contiguous copy; check_strided refuses
    reads past the end beforehand."""
    run = array.reshape(-1)[storage_offset:]
    return get_array_module(array).lib.stride_tricks.as_strided(run, size, [n * array.itemsize for n in stride])


def check_strided(array, size, stride, storage_offset):
    """torch's errors, in its order, for strided_view's arguments: `array` is the storage, in elements; an empty
    view reads nothing, so it may start anywhere."""
    if len(stride) != len(size):
        raise RuntimeError("mismatch in length of strides and shape")
    if min(stride, default=0) < 0:
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if storage_offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
    if min(size, default=0) < 0:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    needed = 0 if 0 in size else storage_offset + 1 + sum((n - 1) * step for n, step in zip(size, stride))
    if needed > array.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset}, "
                           f"and itemsize {array.itemsize} requiring a storage size of {needed * array.itemsize} are "
                           f"out of bounds for storage of size {array.size * array.itemsize}")


def window_view(array, dimension, size, step):
    """torch's Tensor.unfold of `array`: the windows of `size` entries along `dimension`, `step` apart, in its place,
    each window's entries along a new last dim; a view. A 0-d array is one window of its `size` (0 or 1) entries."""
    xp = get_array_module(array)
    if array.ndim == 0:
        return xp.lib.stride_tricks.as_strided(array, (size,), (0,))
    shape, strides = list(array.shape), list(array.strides)
    shape[dimension] = (shape[dimension] - size) // step + 1
    strides[dimension] *= step
    return xp.lib.stride_tricks.as_strided(array, (*shape, size), (*strides, array.strides[dimension]))


def check_windows(array, dimension, size, step):
    """torch's errors, in its order, for window_view's arguments (dimension normalized)."""
    length = array.shape[dimension] if array.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dimension} is {length} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")


def reads_overlap(array):
    """Whether an element of `array` may share its memory with another (an expansion's repeats, overlapping
    windows). A test by strides alone: a view whose dims interleave without overlapping may be counted in, and only
    takes the slower, still right, way of gradient_through_view."""
    if array.size == 0:
        return False
    reach = array.itemsize  # the span of the dims taken so far, from the smallest stride up
    for stride, size in sorted((abs(stride), size) for size, stride in zip(array.shape, array.strides) if size > 1):
        if stride < reach:
            return True
        reach += stride * (size - 1)
    return False


def gradient_through_view(shape, take, grad):
    """The gradient of take(a), a view of an array `a` of `shape`: zeros with `grad` written where the view reads,
    or, where the view reads an element more than once, each element the sum of its reads' gradients, added at
    its position in the flattened array."""
    xp = get_array_module(grad)
    full = memory.zeros(xp, shape, grad.dtype)
    view = take(full)
    if not reads_overlap(view):
        view[...] = grad
        return full
    flat = full.reshape(-1)
    xp.add.at(flat, take(xp.arange(flat.size).reshape(shape)), grad)
    return full


class AsStrided(Function):
    """torch.as_strided, of the input read as contiguous (strided_view), a view; an element that the view reads
    more than once gets the sum of its reads' gradients. UnfoldWindows is another view of this kind: each names
    its view and the checks of its arguments."""

    view, check = staticmethod(strided_view), staticmethod(check_strided)

    @staticmethod
    def forward(ctx, a, **params):
        ctx.function.check(a, **params)
        ctx.save_for_backward(a.shape)
        return ctx.function.view(a, **params)

    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        return gradient_through_view(shape, lambda array: ctx.function.view(array, **ctx.params), grad)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (shape,) = ctx.saved
        return IndexGradient.apply(grad, shape=shape, index=lambda array: ctx.function.view(array, **ctx.params))


class UnfoldWindows(AsStrided):
    """torch's Tensor.unfold (window_view), a view; where windows overlap (step < size), an element gets the sum
    of its windows' gradients. (Unfold is nn.functional.unfold's im2col.)"""

    node_name = "UnfoldBackward0"
    view, check = staticmethod(window_view), staticmethod(check_windows)

    @staticmethod
    def backward(ctx, grad):
        """The gradients of the windows' k-th entries, added along the dim in one strided slice for each k: `size`
        whole-array adds, where AsStrided's scatter-add goes element by element."""
        (shape,) = ctx.saved
        dimension, size, step = ctx.params["dimension"], ctx.params["size"], ctx.params["step"]
        full = memory.zeros(get_array_module(grad), shape, grad.dtype)
        along = full.reshape(shape or (1,))  # a 0-d input as one window's place
        count = (along.shape[dimension] - size) // step + 1
        windows = grad.reshape(along.shape[:dimension] + (count,) + along.shape[dimension + 1:] + (size,))
        for k in range(size):
            along[(slice(None),) * dimension + (slice(k, k + step * (count - 1) + 1, step),)] += windows[..., k]
        return full


class Tril(Function):
    """The entries on and below diagonal `diagonal` of the last two dims, the others zero; the gradient likewise.
    Triu keeps those on and above it."""

    @staticmethod
    def forward(ctx, a, diagonal):
        return getattr(get_array_module(a), ctx.function.__name__.lower())(a, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return ctx.function.forward(ctx, grad, ctx.params["diagonal"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return ctx.function.apply(grad, diagonal=ctx.params["diagonal"])


class Triu(Tril):
    pass


def check_index_shape(index, a, src, dim):
    """torch's error for a scatter's index larger than self off `dim`, or than src anywhere."""
    if any(n > size and axis != dim for axis, (n, size) in enumerate(zip(index.shape, a.shape))) or \
            any(n > size for n, size in zip(index.shape, src.shape)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(a.shape)} apart from "
                           f"dimension {dim} and to be no larger size than src {list(src.shape)}")


def _scatter_positions(a, src, index, dim):
    """A scatter's places in self (a full array index) and the part of src it reads (index's shape), after torch's
    checks of the three."""
    dim = normalize_dim(dim, a.ndim)
    if index.dtype not in (np.int32, np.int64):
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if src.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index.ndim != a.ndim or src.ndim != a.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    check_index_shape(index, a, src, dim)
    size = a.shape[dim] if a.ndim else 1
    require_indices(index, size, f"index {{index}} is out of bounds for dimension {dim} with size {size}")
    return _positions_along(index, dim), tuple(slice(0, n) for n in index.shape)


class Scatter(Function):
    """torch.scatter (add=False) and scatter_add (add=True), the adjoints of gather: self with src's entries
    written, or added, at `index` along `dim` (out[i][index[i][j]] = src[i][j] for dim 1), src read over index's
    shape. The gradient reaches self where nothing was written (everywhere for add), and src gathered at index."""

    promotes_inputs = False  # index stays an integer array

    @staticmethod
    def node_name(ctx):
        return "ScatterAddBackward0" if ctx.params.get("add") else "ScatterBackward0"

    @staticmethod
    def forward(ctx, a, src, index, dim, add=False):
        positions, read = _scatter_positions(a, src, index, dim)
        ctx.save_for_backward(src.shape, positions, read)
        out = a.copy()
        if add:
            get_array_module(a).add.at(out, positions, src[read])
        else:
            out[positions] = src[read]
        return out

    @staticmethod
    def backward(ctx, grad):
        src_shape, positions, read = ctx.saved
        grad_src = memory.zeros(get_array_module(grad), src_shape, grad.dtype)
        grad_src[read] = grad[positions]
        if ctx.params.get("add"):
            return grad, grad_src, None
        grad_a = grad.copy()
        grad_a[positions] = 0
        return grad_a, grad_src, None

    @staticmethod
    def differentiable_backward(ctx, grad):
        src_shape, positions, read = ctx.saved
        grad_src = IndexGradient.apply(GetItem.apply(grad, index=positions), shape=src_shape, index=read)
        return (grad if ctx.params.get("add") else SetItem.apply(grad, 0, index=positions)), grad_src, None


def _multiply_at(out, positions, values):
    """np.multiply.at, which CuPy lacks: the factors sorted by place, a segmented running product over them by
    doubling (log2(n) whole-array steps), and each place's whole product multiplied into `out` once."""
    xp = get_array_module(out)
    places = xp.ravel_multi_index(xp.broadcast_arrays(*positions), out.shape).ravel()
    order = xp.argsort(places)
    places = places[order]
    factors = running(xp.multiply, values.ravel()[order], 0, segments=places)
    last = xp.concatenate([places[1:] != places[:-1], xp.ones(min(len(places), 1), dtype=bool)])
    flat = out.reshape(-1)
    flat[places[last]] *= factors[last]


class ScatterReduce(Function):
    """torch.scatter_reduce: src's entries (read over index's shape) reduced into self at `index` along `dim` by
    "sum", "prod", "mean", "amax" or "amin", self's own entries taking part unless include_self=False; a mean of
    integers rounds down. The gradients are torch's: amax and amin share a place's gradient evenly among the
    entries that tie for it; prod divides the product by each factor, or takes the product of the others where
    a factor is 0; with include_self=False, self gets none where src was reduced into it."""

    promotes_inputs = False  # index stays an integer array
    node_name = "ScatterReduceBackward0"
    UFUNCS = {"sum": "add", "mean": "add", "prod": None, "amax": "maximum", "amin": "minimum"}  # prod: _multiply_at

    @staticmethod
    def forward(ctx, a, src, index, dim, reduce, include_self=True):
        if reduce not in ScatterReduce.UFUNCS:
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        positions, read = _scatter_positions(a, src, index, dim)
        values = src[read]
        out = ScatterReduce.reduced(a, positions, values, reduce, include_self)
        ctx.save_for_backward(a, values, src.shape, positions, read, out)
        return out

    @staticmethod
    def reduced(a, positions, values, reduce, include_self):
        xp = get_array_module(a)
        out = a.copy()
        if not include_self:
            out[positions] = ScatterReduce.identity(a.dtype, reduce)
        if reduce == "prod":
            _multiply_at(out, positions, values)
        else:
            getattr(xp, ScatterReduce.UFUNCS[reduce]).at(out, positions, values)
        if reduce != "mean":
            return out
        counts = ScatterReduce.counts(xp, a, positions, include_self)
        return out // counts if a.dtype.kind in "iu" else xp.divide(out, counts, out=out)

    @staticmethod
    def identity(dtype, reduce):
        """The value that leaves the reduction as it is: where self does not take part."""
        if reduce in ("sum", "mean", "prod"):
            return int(reduce == "prod")
        lowest = -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
        highest = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
        return lowest if reduce == "amax" else highest

    @staticmethod
    def counts(xp, a, positions, include_self):
        """How many entries each place's mean is of (1 where there are none, as torch's)."""
        counts = xp.full(a.shape, int(include_self), dtype=a.dtype)
        xp.add.at(counts, positions, 1)
        counts[counts == 0] = 1
        return counts

    @staticmethod
    def backward(ctx, grad):
        a, values, src_shape, positions, read, out = ctx.saved
        reduce, include_self = ctx.params["reduce"], ctx.params.get("include_self", True)
        xp = get_array_module(grad)
        if reduce == "sum":
            grad_a, grad_values = grad.copy(), grad[positions]
        elif reduce == "mean":
            grad_a = grad / ScatterReduce.counts(xp, grad, positions, include_self)
            grad_values = grad_a[positions]
        elif reduce == "prod":
            grad_a, grad_values = ScatterReduce.product_gradients(xp, grad, a, values, positions, out, include_self)
        else:
            a_is_out, values_are_out, ties = ScatterReduce.extremes(a, values, positions, out, grad.dtype)
            shared = grad / ties
            grad_a, grad_values = a_is_out * shared, values_are_out * shared[positions]
        if not include_self:
            # a copy: grad_values may view it (of a 0-d self), and NumPy's arithmetic makes 0-d results scalars
            grad_a = xp.array(grad_a)
            grad_a[positions] = 0
        grad_src = memory.zeros(xp, src_shape, grad.dtype)
        grad_src[read] = grad_values
        return grad_a, grad_src, None

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's sums by recorded ops (gathers at the places, scatters back): linear in grad, the places'
        counts and ties held, as torch's; prod's, the product over each factor, where no factor is 0 (else its
        gradients cannot be differentiated again)."""
        a, values, src_shape, positions, read, out = ctx.saved
        reduce, include_self = ctx.params["reduce"], ctx.params.get("include_self", True)
        if reduce == "prod":
            xp = get_array_module(a)
            if (a == 0).any() or (values == 0).any():
                return ctx.undifferentiable_gradients(grad)
            src = memory.zeros(xp, src_shape, values.dtype)  # values in src's place, to be linked to it
            src[read] = values
            product = grad * ctx.linked_output(out)
            grad_a = product / ctx.linked(0, a)
            grad_values = GetItem.apply(product, index=positions) / GetItem.apply(ctx.linked(1, src), index=read)
        else:
            a_is_out = values_are_out = 1
            if reduce == "mean":
                grad = grad / ScatterReduce.counts(get_array_module(a), grad.data, positions, include_self)
            elif reduce in ("amax", "amin"):
                a_is_out, values_are_out, ties = ScatterReduce.extremes(a, values, positions, out, grad.dtype)
                grad = grad / ties
            grad_a = grad * a_is_out
            grad_values = GetItem.apply(grad, index=positions) * values_are_out
        if not include_self:
            grad_a = SetItem.apply(grad_a, 0, index=positions)
        return grad_a, IndexGradient.apply(grad_values, shape=src_shape, index=read), None

    @staticmethod
    def extremes(a, values, positions, out, dtype):
        """amax's and amin's gradients' shares: 1 where self's and where src's entries are their place's result, else
        0, and how many tie for each place."""
        xp = get_array_module(a)
        a_is_out, values_are_out = (a == out).astype(dtype), (values == out[positions]).astype(dtype)
        ties = xp.array(a_is_out)  # an array, where NumPy's comparison of 0-d arrays gives a scalar
        xp.add.at(ties, positions, values_are_out)
        return a_is_out, values_are_out, ties

    @staticmethod
    def product_gradients(xp, grad, a, values, positions, out, include_self):
        """prod's gradients: the product over each factor (a zero factor counted as 1 in a product of its own)."""
        ones_for_zeros = xp.where(a == 0, 1, a)
        grad_a = grad * ScatterReduce.reduced(ones_for_zeros, positions, values, "prod", include_self) / ones_for_zeros
        zero = values == 0
        zeros_at_place = xp.zeros(a.shape, dtype=grad.dtype)
        xp.add.at(zeros_at_place, positions, zero.astype(grad.dtype))
        single_zero = zero & (zeros_at_place[positions] == 1)
        without_it = ScatterReduce.reduced(a, positions, xp.where(single_zero, 1, values), "prod", include_self)
        grad_values = xp.where(single_zero, (grad * without_it)[positions],
                               (grad * out)[positions] / xp.where(zero, 1, values))
        return grad_a, grad_values


class Embedding(Function):
    """Rows of a (num_embeddings, dim) weight looked up by integer indices of any shape. The gradient adds each
    output row into its index's row (repeats accumulate), none into padding_idx's row; with scale_grad_by_freq,
    each divided by how often its index occurs in the indices."""

    promotes_inputs = False  # the indices stay integers

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        ctx.save_for_backward(weight.shape, indices)
        return get_array_module(weight).take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        shape, indices = ctx.saved
        if ctx.params.get("scale_grad_by_freq"):
            grad = grad / Embedding.frequencies(shape, indices, grad.dtype)
        grad_weight = _scatter_add(shape, indices, grad)
        if ctx.params.get("padding_idx") is not None:
            grad_weight[ctx.params["padding_idx"]] = 0
        return grad_weight, None

    @staticmethod
    def differentiable_backward(ctx, grad):
        shape, indices = ctx.saved
        if ctx.params.get("scale_grad_by_freq"):
            grad = grad / Embedding.frequencies(shape, indices, grad.dtype)
        grad_weight = IndexGradient.apply(grad, shape=shape, index=indices)
        if ctx.params.get("padding_idx") is not None:
            grad_weight = SetItem.apply(grad_weight, 0, index=ctx.params["padding_idx"])
        return grad_weight, None

    @staticmethod
    def frequencies(shape, indices, dtype):
        """scale_grad_by_freq's divisor of each output row's gradient: how often its index occurs."""
        counts = get_array_module(indices).bincount(indices.reshape(-1), minlength=shape[0])
        return counts[indices][..., None].astype(dtype)


class EmbeddingBag(Function):
    """Bags of weight's rows, each reduced to one row: "sum" (each row times its per-sample weight, if given),
    "mean" or "max" (column by column, an empty bag's row zeros). `bags` gives each index its bag, -1 for none (a
    padding index); the indices from `end` on (past include_last_offset's end) are left out too, but count in their
    bag's mean, as torch's. Forward and backward scatter rows into their bags with ufunc.at, with no loop over
    bags; max's gradient goes to the first row that holds a column's maximum, as torch's; with scale_grad_by_freq,
    a row's gradient is divided by a count of indices, as torch's CPU kernel counts (see frequencies)."""

    promotes_inputs = False  # the indices and bags stay integers

    @staticmethod
    def forward(ctx, weight, indices, bags, per_sample_weights=None, *, num_bags, mode, end,
                scale_grad_by_freq=False):
        xp = get_array_module(weight)
        kept = (bags >= 0) & (xp.arange(len(bags)) < end)
        rows_indices, rows_bags = indices[kept], bags[kept]
        rows = xp.take(weight, rows_indices, axis=0)
        if mode == "max":
            out = xp.full((num_bags, weight.shape[1]), -xp.inf, dtype=weight.dtype)
            xp.maximum.at(out, rows_bags, rows)
            out[xp.bincount(rows_bags, minlength=num_bags) == 0] = 0
            positions = xp.arange(len(rows))[:, None]
            first = xp.full(out.shape, len(rows), dtype=positions.dtype)
            xp.minimum.at(first, rows_bags, xp.where(rows == out[rows_bags], positions, len(rows)))
            ctx.save_for_backward(weight.shape, rows_indices, first)
            return out
        scale = (per_sample_weights[kept] if per_sample_weights is not None else
                 1 / xp.maximum(xp.bincount(bags[bags >= 0], minlength=num_bags), 1)[rows_bags].astype(weight.dtype)
                 if mode == "mean" else None)
        out = memory.zeros(xp, (num_bags, weight.shape[1]), weight.dtype)
        xp.add.at(out, rows_bags, rows if scale is None else rows * scale[:, None])
        ctx.save_for_backward(weight, indices, kept, rows_bags, scale)
        return out

    @staticmethod
    def frequencies(indices, num_embeddings, rows_indices):
        """scale_grad_by_freq's divisor of the gradient of each of rows_indices, as torch's CPU kernel finds it: a
        row of the k-th smallest distinct index is divided by the count of the k-th smallest of all the indices
        (repeats, padding and indices past the last bag included), which is its own index's count only where every
        smaller index occurs once."""
        xp = get_array_module(indices)
        counts = xp.bincount(indices, minlength=num_embeddings)
        rank = xp.cumsum(counts > 0) - 1
        return counts[xp.sort(indices)[rank[rows_indices]]]

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        if ctx.params["mode"] == "max":
            shape, rows_indices, first = ctx.saved
            held = first < len(rows_indices)  # a column of a bag that is not empty
            grad_weight = memory.zeros(xp, shape, grad.dtype)
            xp.add.at(grad_weight, (rows_indices[first[held]], held.nonzero()[1]), grad[held])
            return grad_weight, None, None
        weight, indices, kept, rows_bags, scale = ctx.saved
        rows_indices, bag_grads = indices[kept], grad[rows_bags]
        rows_grads = bag_grads if scale is None else bag_grads * scale[:, None]
        if ctx.params.get("scale_grad_by_freq"):
            rows_grads = rows_grads / EmbeddingBag.frequencies(indices, weight.shape[0], rows_indices)[:, None]
        grad_weight = _scatter_add(weight.shape, rows_indices, rows_grads.astype(grad.dtype, copy=False))
        if len(ctx.inputs) < 4:
            return grad_weight, None, None
        grad_per_sample_weights = memory.zeros(xp, indices.shape, grad.dtype)
        grad_per_sample_weights[kept] = (bag_grads * xp.take(weight, rows_indices, axis=0)).sum(axis=1)
        return grad_weight, None, None, grad_per_sample_weights

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's gathers and scatters by recorded ops (GetItem, IndexGradient): linear in grad, and in the
        weight and the per-sample weights, which the other's gradient reads. (torch has no second derivative of
        embedding_bag: its are those of the same bags summed from embedding's rows.)"""
        if ctx.params["mode"] == "max":
            shape, rows_indices, first = ctx.saved
            held = (first < len(rows_indices)).nonzero()
            return IndexGradient.apply(GetItem.apply(grad, index=held), shape=shape,
                                       index=(rows_indices[first[held]], held[1])), None, None
        weight, indices, kept, rows_bags, scale = ctx.saved
        kept_positions = kept.nonzero()[0]
        rows_indices, bag_grads = indices[kept], GetItem.apply(grad, index=rows_bags)
        if len(ctx.inputs) == 4:  # scale is the per-sample weights that are kept, linked back to them
            full = memory.zeros(get_array_module(scale), indices.shape, scale.dtype)
            full[kept] = scale
            scale = GetItem.apply(ctx.linked(3, full), index=kept_positions)
        rows_grads = bag_grads if scale is None else bag_grads * scale[:, None]
        if ctx.params.get("scale_grad_by_freq"):
            rows_grads = rows_grads / EmbeddingBag.frequencies(indices, weight.shape[0], rows_indices)[:, None]
        grad_weight = IndexGradient.apply(rows_grads.to(grad.dtype), shape=weight.shape, index=rows_indices)
        if len(ctx.inputs) < 4:
            return grad_weight, None, None
        rows = GetItem.apply(ctx.linked(0, weight), index=rows_indices)
        return grad_weight, None, None, IndexGradient.apply((bag_grads * rows).sum(dim=1), shape=indices.shape,
                                                            index=kept_positions)
