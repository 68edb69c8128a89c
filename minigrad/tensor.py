"""Tensor: an array plus the graph node that made it, and reverse-mode autodiff over that graph."""
import copy
import functools
import inspect
import itertools
import math
import numbers
import operator
import re
import types
import warnings
import weakref

import numpy as np

from . import batching, memory, parallel, printing, random
from .backend import (cuda_device, data_pointer, default_complex_dtype, default_dtype, device_of, get_array_module,
                      is_dtype, normalize_device, taking_memory_format, to_device, to_numpy)
from .function import (CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, autocasts, backward_walk, broadcast_mismatch,
                       caller_outside_package, can_cast, converted_scalar, is_grad_enabled, memory_owner, no_grad,
                       note_write, position_words, promote_operands, require_64_bits, require_broadcastable,
                       require_fits, result_type)


_PYTHON_NUMBER_DTYPES = (np.dtype(np.float64), np.dtype(np.complex128))  # NumPy's of Python floats, complex numbers


def _as_array(data, dtype):
    """Arrays keep their dtype and device, and cast to `dtype` as NumPy casts; Python floats (complex numbers) and
    lists of them take the default dtype (its complex one), unless they hold a NumPy float64 or complex128, as in
    torch. Numbers, NumPy's scalars too, refuse a `dtype` that cannot hold them (torch's RuntimeError) rather than
    wrap, and the conversions torch.tensor refuses."""
    if dtype is None and type(data) is np.ndarray:  # an op's output: the common case, kept cheap
        return data
    xp = get_array_module(data)
    dtype = None if dtype is None else np.dtype(dtype)
    if isinstance(data, np.ndarray) or xp is not np:
        array = data
    else:
        _refuse_unsized_first_item(data)
        array = np.asarray(data)
        _refuse_numbers_torch_refuses(data, array, dtype)
        if dtype is not None:
            require_fits(array, dtype, tensor_data=True)
        elif array.dtype in _PYTHON_NUMBER_DTYPES and not _holds_wide_numpy_number(data):
            dtype = default_complex_dtype() if array.dtype.kind == "c" else default_dtype()
    if dtype is not None:
        with np.errstate(over="ignore"):  # a float beyond the dtype's range is inf, as torch's (require_fits refuses
            array = array.astype(dtype, copy=False)  # the integers)
    return get_array_module(array).asarray(array)


def _refuse_numbers_torch_refuses(data, array, dtype):
    """torch.tensor's TypeErrors for numbers (`data` is not an array; `array` is NumPy's reading of it) that NumPy
    would truncate, or strip of an imaginary part: a NumPy float16/float32 or complex scalar for an integer or bool
    dtype, and a NumPy bool or any complex number for an integer dtype; a Python complex number for a float dtype.
    Without a dtype, integers become int64 as in torch, so a numpy.uint64 scalar and an integer beyond int64 are
    refused rather than made uint64 (or an object array)."""
    if dtype is not None and dtype.kind in "biu":
        if dtype.kind == "b":  # any Python number is a bool (np.float64 is a Python float, np.complex128 a complex)
            refused, taken = (np.floating, np.complexfloating), (float, complex)
        else:
            refused, taken = (np.floating, np.complexfloating, complex, np.bool_), float
        for number in _numbers(data):
            if isinstance(number, refused) and not isinstance(number, taken):
                name = f"{type(number).__module__}.{type(number).__name__}".removeprefix("builtins.")
                raise TypeError(f"'{name}' object cannot be interpreted as an integer")
    elif dtype is not None and dtype.kind == "f" and array.dtype.kind == "c":
        if any(type(number) is complex for number in _numbers(data)):
            raise TypeError("must be real number, not complex")
    elif dtype is None and array.dtype.kind in "uO":
        for number in _numbers(data):
            if isinstance(number, np.uint64):
                raise TypeError("an integer is required: a numpy.uint64 number needs a dtype")
            if isinstance(number, int) and not -2 ** 63 <= number < 2 ** 63:
                raise ValueError(f"Overflow when unpacking long long: {number} does not fit int64, "
                                 "the dtype of integers")


def _refuse_unsized_first_item(data):
    """torch.tensor's TypeError for a 0-d array first in a list (or first in the first list in it, ...): torch reads
    the first items for the lengths of the dims, and takes an array for a sequence, where NumPy takes a 0-d one for
    a number."""
    item = data
    while isinstance(item, (list, tuple)) and item:
        item = item[0]
    if item is not data and isinstance(item, np.ndarray) and not item.ndim:
        raise TypeError("len() of unsized object")


def _holds_wide_numpy_number(data):
    """Whether `data` (a number, or nested lists of numbers and arrays) holds a NumPy float64 or complex128, a
    scalar or an array: torch keeps 64 bits then, where Python floats and complex numbers alone take the default
    dtype. Each list's item types are gathered by `set(map(type, ...))`, so numbers are never visited in Python."""
    lists = [data if isinstance(data, (list, tuple)) else [data]]
    while lists:
        items = lists.pop()
        kinds = set(map(type, items))
        if not _WIDE_NUMPY_SCALARS.isdisjoint(kinds):
            return True
        if any(issubclass(kind, np.ndarray) for kind in kinds):
            if any(isinstance(item, np.ndarray) and item.dtype in _PYTHON_NUMBER_DTYPES for item in items):
                return True
        if any(issubclass(kind, (list, tuple)) for kind in kinds):
            lists.extend(item for item in items if isinstance(item, (list, tuple)))
    return False


_WIDE_NUMPY_SCALARS = frozenset((np.float64, np.complex128))


def _numbers(data):
    """The numbers in `data`: itself, or the items of nested lists and tuples."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item


def _is_dtype_name(name):
    try:
        np.dtype(name)
        return True
    except TypeError:
        return False


def device_and_dtype(device_or_dtype, device=None, dtype=None):
    """The device and the dtype (None where not given) of torch's `to(device, dtype)` forms: by position, a device
    (a name, a minigrad.device, a GPU's index), a dtype or both, or by keyword."""
    for arg in device_or_dtype:
        if isinstance(arg, str) and not _is_dtype_name(arg) or isinstance(arg, int) and not isinstance(arg, bool):
            device = arg
        else:
            dtype = arg
    return device, dtype


_IMPLIED_DTYPES = (np.dtype(np.int64), np.dtype(bool))  # torch's repr leaves these out, and the default dtypes


def check_can_require_grad(dtype, wording="Only Tensors of floating point and complex dtype can require gradients"):
    """Only floating-point tensors have gradients: torch's error, worded as where it is asked (the constructor's
    words unless given); complex ones, which torch differentiates, are refused in minigrad's own words."""
    if dtype.kind == "c":
        raise RuntimeError(f"{SCALAR_TYPE_NAMES[dtype]} tensors cannot require gradients: minigrad computes with "
                           "complex numbers, but has no complex autograd")
    if dtype.kind != "f":
        raise RuntimeError(wording)


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum a gradient back down to the shape of the input it belongs to."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    # float16 summed in float32, as torch's
    total = grad.sum(axis=axes, keepdims=True, dtype=np.float32 if grad.dtype == np.float16 else None)
    return total.astype(grad.dtype, copy=False).reshape(shape)


def _checked_gradients(node, gradients, recorded=False):
    """What an op's backward returned, as one array (or None) per input of the node (tensors where `recorded`, from
    create_graph's backward); a mistake in a new op's backward (a gradient missing, of the wrong shape, not an
    array) is named here rather than reshaped or dropped into a wrong result. Trailing Nones are allowed (conv2d's
    bias gradient when there is no bias)."""
    gradients = tuple(gradients) if isinstance(gradients, (tuple, list)) else (gradients,)
    op = node.function.__name__
    inputs = node.inputs
    if len(gradients) < len(inputs) or any(g is not None for g in gradients[len(inputs):]):
        raise RuntimeError(f"{op}.backward returned {len(gradients)} gradients for its {len(inputs)} inputs")
    for index, (gradient, parent, needed) in enumerate(zip(gradients, inputs, node.input_needs_grad)):
        if gradient is None:
            continue
        if isinstance(gradient, Tensor) != recorded or not hasattr(gradient, "ndim"):
            raise TypeError(f"{op}.backward returned a {type(gradient).__name__} for input {index}: "
                            + ("differentiable_backward works on tensors" if recorded
                               else "backward works on arrays, as forward does"))
        if gradient.shape == parent.shape:
            continue
        extra = gradient.ndim - len(parent.shape)
        if extra >= 0 and all(g == n or n == 1 for g, n in zip(gradient.shape[extra:], parent.shape)):
            continue
        if not node.function.custom:
            raise RuntimeError(f"{op}.backward returned a gradient of shape {tuple(gradient.shape)} for input "
                               f"{index} of shape {tuple(parent.shape)}")
        if needed:  # torch checks only the gradients its engine takes
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - got "
                               f"{list(gradient.shape)} but expected shape compatible with {list(parent.shape)}")
    return gradients


def torch_index_errors(method):
    """`method` (indexing) with NumPy's IndexErrors in torch's words (see _torch_index_message). A plain wrapper: a
    context manager would cost indexing more than a microsecond a call."""
    @functools.wraps(method)
    def indexing(self, index, *args):
        try:
            return method(self, index, *args)
        except IndexError as error:
            raise IndexError(_torch_index_message(str(error), self.shape, index)) from None

    return indexing


def _torch_index_message(message, shape, index):
    """NumPy's message of an IndexError of tensor[index] (`shape` the tensor's) in torch's words."""
    too_many = re.fullmatch(r"too many indices for array: array is (\d+)-dimensional, but \d+ were indexed", message)
    if too_many:
        if not shape and isinstance(index, numbers.Integral):
            return ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
                    "convert a 0-dim tensor to a number")
        return f"too many indices for tensor of dimension {too_many[1]}"
    if message.startswith("shape mismatch: indexing arrays could not be broadcast together with shapes "):
        shapes = [[size.strip() for size in sizes.split(",") if size.strip()]
                  for sizes in re.findall(r"\(([^)]*)\)", message)]
        return ("shape mismatch: indexing tensors could not be broadcast together with shapes "
                + ", ".join(f"[{', '.join(sizes)}]" for sizes in shapes))
    if message.startswith("boolean index did not match"):
        return _mask_mismatch_message(shape, index) or message
    if message == "arrays used as indices must be of integer (or boolean) type":
        return INDEX_DTYPE_ERROR
    if message.endswith(" with size 0") and not is_basic_index(index):  # an array's entry, torch's indexing kernel
        return "index is out of bounds for dimension with size 0"
    return message.replace(" for axis ", " for dimension ")


def _mask_mismatch_message(shape, index):
    """torch's error for a bool mask of another shape than the dims it indexes: the tensor's shape as its basic
    items (ints, slices, None; a bool is a new dim of 1) leave it, where the mask lies in it."""
    items = tuple(np.asarray(item) if isinstance(item, list) else item
                  for item in (index if isinstance(index, tuple) else (index,)))
    is_mask = [getattr(item, "dtype", None) in (bool, np.uint8) for item in items]  # uint8: torch's byte masks
    spans = [item.ndim if mask else 0 if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)) else 1
             for item, mask in zip(items, is_mask)]
    dims, indexed, masks = iter(shape), [], []
    for item, mask, span in zip(items, is_mask, spans):
        if item is Ellipsis:
            indexed.extend(next(dims) for _ in range(len(shape) - sum(spans)))
        elif item is None or span == 0:
            indexed.append(1)
        elif isinstance(item, slice):
            indexed.append(len(range(*item.indices(next(dims)))))
        elif isinstance(item, numbers.Integral) or getattr(item, "ndim", None) == 0:  # an int, or a 0-d int tensor
            next(dims)
        else:
            if mask:
                masks.append((len(indexed), tuple(item.shape)))
            indexed.extend(next(dims) for _ in range(span))
    indexed.extend(dims)
    for start, mask in masks:
        for at, size in enumerate(mask):
            if size != indexed[start + at]:
                return (f"The shape of the mask {list(mask)} at index {at} does not match the shape of the indexed "
                        f"tensor {indexed} at index {start + at}")
    return None  # none found by this reading: NumPy's message stands


def in_place_version(function, name=None):
    """f_ from f, as t.exp_() from t.exp() and F.relu_ from F.relu: f's result, from the same arguments, written into
    the first, through Tensor._in_place."""
    def in_place(input, *args, **kwargs):
        return input._in_place(lambda tensor, _: function(tensor, *args, **kwargs), None)

    in_place.__name__ = in_place.__qualname__ = (name or function.__name__) + "_"
    return in_place


def _is_integer_tensor(value, one_element_only=False):
    """A 0-d integer tensor, which torch takes for an int (a one-element one of any shape, in a list of ints)."""
    return (isinstance(value, Tensor) and value.dtype.kind in "iu"
            and (value.data.size == 1 if one_element_only else value.ndim == 0))


_VIEW_OF_A_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
_NOT_GIVEN = object()  # a keyword argument left out, where None is a value given (and refused)


def int_argument(method, name, position, value):
    """`value` as an int (a 0-d integer tensor too), or torch's TypeError for argument `name` of `method` (a bool is
    no int there) at `position` (None: given by keyword)."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral) or _is_integer_tensor(value)):
        raise TypeError(f"{method}(): argument '{name}'{position_words(position)} must be int, not {type(value).__name__}")
    return int(value)


_PLAIN_INT = frozenset((int,))  # the types of a sequence of Python ints alone


def int_tuple_argument(method, name, position, value):
    """`value`, a sequence of ints (one-element integer tensors too), as a tuple, or torch's TypeError for argument
    `name` of `method` at `position` (None: given by keyword), which words an element after the first otherwise,
    and takes a bool there as an int."""
    if isinstance(value, (tuple, list)) and _PLAIN_INT.issuperset(map(type, value)):  # the common case, kept cheap
        return tuple(value)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{method}(): argument '{name}'{position_words(position)} must be tuple of ints, not "
                        f"{type(value).__name__}")
    for index, item in enumerate(value):
        if not _is_int_item(item, first=not index):
            if index:
                raise TypeError(f"{method}(): argument '{name}' failed to unpack the object at pos {index + 1} with "
                                f"error \"type must be tuple of ints,but got {type(item).__name__}\"")
            if position is None:
                raise TypeError(f"{method}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
            raise TypeError(f"{method}(): argument '{name}' (position {position}) must be tuple of ints, but found "
                            f"element of type {type(item).__name__} at pos 0")
    return tuple(int(item) for item in value)


def _is_int_item(item, first):
    """Whether torch takes `item` for an int in a sequence of ints: a one-element integer tensor too, a bool but
    first."""
    return type(item) is int or ((isinstance(item, numbers.Integral) or _is_integer_tensor(item, one_element_only=True))
                                 and not (first and isinstance(item, bool)))


def tensor_argument(method, name, position, value):
    """tensor_only in checked_arguments' form."""
    return tensor_only(method, value, position, name)


def checked_arguments(**checks):
    """A function, or method, whose arguments named in `checks` (name: int_argument, int_tuple_argument or
    tensor_argument) are checked, and converted, before it runs, so that a wrong one gets torch's TypeError with
    torch's position: counted from the tensor in the function form (torch.as_strided(x, size, ...), F.prelu(x, w)),
    from the argument after it in the method form (x.as_strided(size, ...), x.prelu(w), and
    Tensor.as_strided(x, size, ...) too), none for an argument given by keyword. An optional argument (default None)
    may be None. A method's function form is function_form(name)."""
    return lambda function: _ArgumentsChecked(function, checks)


def function_form(method):
    """Tensor's method `method` (a name) called as torch's function of that name, the tensor first: a checked
    method's positions counted from the tensor (see checked_arguments)."""
    return vars(Tensor)[method]


class _ArgumentsChecked:
    """checked_arguments' function; a method of the tensor it is read from (the descriptor a Python function is),
    and read from the class (Tensor.as_strided), the method that takes the tensor first."""

    def __init__(self, function, checks):
        functools.update_wrapper(self, function)
        parameters = inspect.signature(function).parameters.values()
        self._checks = [(index, parameter.name, checks[parameter.name], parameter.default is None)
                        for index, parameter in enumerate(parameters) if parameter.name in checks]
        self._first_position = 1

    def __call__(self, *args, **kwargs):
        return self._checked(self._first_position, args, kwargs)

    def __get__(self, tensor, owner=None):
        return self._method if tensor is None else types.MethodType(self._method, tensor)

    @functools.cached_property
    def _method(self):
        """The method, the tensor given first: its positions counted from the argument after it."""
        method = copy.copy(self)
        method._first_position = 0
        return method

    def _checked(self, first_position, args, kwargs):
        args = list(args)
        for index, name, check, optional in self._checks:
            if index < len(args):
                if not (optional and args[index] is None):
                    args[index] = check(self.__name__, name, index + first_position, args[index])
            elif name in kwargs and not (optional and kwargs[name] is None):
                kwargs[name] = check(self.__name__, name, None, kwargs[name])
        return self.__wrapped__(*args, **kwargs)


class Tensor:
    """An n-d array that remembers how it was computed, so `backward()` can find its gradients."""

    # NumPy hands `ndarray + tensor`, `np.float32(2) * tensor`, ... to Tensor's reflected operators (a
    # differentiable tensor), and refuses np.exp(tensor) rather than run it on a detached array.
    __array_ufunc__ = None
    _post_accumulate_grad_hooks = None  # a leaf's register_post_accumulate_grad_hook's, once there are any
    _first_use_trace = None  # a leaf's: the stack of the first op that used it in anomaly mode (see AccumulateGrad)
    # A Python number given where torch takes a tensor (torch.mul(0.1, t)) is a 0-d tensor of its own precision that
    # promotes as the number would, as torch's wrapped numbers (result_type): 0.1 beside a float64 tensor is float64's
    # 0.1, not float32's, and 300 beside a uint8 tensor is 300 where the op computes in float (torch.div(300, t)),
    # wrapped into uint8 where it computes in uint8.
    _is_wrapped_number = False
    _vmap_levels = frozenset()  # the levels of the running vmaps at which it is batched (see batching)

    def __init__(self, data, requires_grad=False, dtype=None, device=None, _creator=None):
        if isinstance(data, Tensor):
            data = data.data
        array = _as_array(data, dtype)
        if device is not None:
            array = to_device(array, device)
        if requires_grad:
            check_can_require_grad(array.dtype)
        self.data = array
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self.creator = _creator
        self.name = None
        self._retains_grad = False
        self._grad_hooks = None  # a leaf's hooks (register_hook); a non-leaf's live on its GraphHandle
        self._handle = GraphHandle(self) if _creator is not None else None
        self._view_of = None  # (base, take) where this tensor is a view of base, its array take(base's): see _viewed
        self._views = None  # a WeakSet of the views of this tensor, where it is their base

    # ---- properties -------------------------------------------------------------------------
    @property
    def data(self):
        """The array itself, NumPy's or CuPy's (torch's `.data` is a tensor: update this one with arrays)."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = value.data if isinstance(value, Tensor) else value  # `p.data = tensor`, as torch code writes

    @property
    def grad(self):
        """The gradient backward accumulated into this tensor (a leaf's, or a non-leaf's that retains grad)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        """As torch's: None, or a tensor of this one's shape and dtype."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                                   f"size '{list(self.shape)}'. Please ensure that the gradient and the tensor are "
                                   "the same size")
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{CPP_TYPE_NAMES[value.dtype]}' to a "
                    f"tensor with grad_dtype '{SCALAR_TYPE_NAMES[self.dtype]}'. The gradient must match the tensor's "
                    "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a "
                    "specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of "
                    "a tensor and its gradient may break downstream systems that assume they match.")
        self._grad = value

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        """torch's device (minigrad.device): equal to "cpu" or "gpu", with torch's .type "cpu" or "cuda"."""
        return device_of(self.data)

    @property
    def is_cuda(self):
        return self.device == "gpu"

    @property
    def is_cpu(self):
        return self.device == "cpu"

    is_sparse = False  # minigrad's tensors are all dense (torch's strided layout)

    def get_device(self):
        """torch's device ordinal: -1 on the CPU, 0 on the GPU."""
        return -1 if self.device == "cpu" else self.device.index

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        """The shape, or the size along `dim`, which a 0-d tensor has none of, as torch's."""
        if dim is None:
            return self.shape
        if not self.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.shape[normalize_dim(dim, self.ndim)]

    @property
    def mT(self):
        """The matrices of a batch (the last two dims) transposed, as torch's."""
        if self.ndim == 1:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                               "tensor.")
        return self.transpose(-2, -1) if self.ndim else self  # of a 0-d tensor, itself, as torch's (deprecated)

    @property
    def mH(self):
        """mT: the conjugate is the tensor itself, as minigrad's tensors are real."""
        if self.ndim == 1:
            raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                               "tensor.")
        return self.mT

    @property
    def H(self):
        if self.ndim != 2:
            advice = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.{advice}")
        return self.mT

    def numel(self):
        return int(self.data.size)

    nelement = numel

    def dim(self):
        return self.ndim

    ndimension = dim

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def element_size(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self.dtype.itemsize

    def stride(self, dim=None):
        """The steps in elements between neighbours along each dim (or along `dim`), as torch's."""
        steps = tuple(step // self.dtype.itemsize for step in self.data.strides)
        return steps if dim is None else steps[normalize_dim(dim, self.ndim)]

    def is_contiguous(self):
        return bool(self.data.flags.c_contiguous)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        """As torch prints it (minigrad.printing), with the dtype where the values do not imply it."""
        body = printing.tensor_body(to_numpy(self.data))
        shows_size = self.ndim != 1 if self.data.size == 0 else not printing.PRINT_OPTS.edgeitems
        # a GPU by torch's name of it, its type and index, first as in torch
        extras = [f"device='{self.device.type}:{self.device.index}'"] if self.device == "gpu" else []
        extras += [f"size={self.shape}"] if shows_size else []
        implied = self.dtype in _IMPLIED_DTYPES or self.dtype in (default_dtype(), default_complex_dtype())
        if self.data.size == 0:  # no values to imply it: only the default dtype goes unsaid
            implied = self.dtype == default_dtype()
        extras += [] if implied else [f"dtype={self.dtype}"]
        if self.creator is not None:
            extras.append(f"grad_fn=<{self.creator.class_name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"{printing.PREFIX}{printing.with_suffixes(body, extras)})"

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self):
        """A host NumPy array (copied from the GPU when needed)."""
        return to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.reshape(()).item()

    # Python's conversions take one-element tensors, as torch's do, so `if loss < best:` and `float(loss)` work.
    def __bool__(self):
        if self.data.size != 1:
            count = "no values" if self.data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {count} is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self._python_number())

    def __int__(self):
        return int(self._python_number())

    def _python_number(self):
        """item(), with the error of Python's conversions (float(t), int(t)), as torch's: a ValueError."""
        if self.data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self):
        """An integer (or bool) one-element tensor can index a list or size a range, as in torch."""
        if self.dtype.kind not in "biu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, format_spec):
        """A 0-d tensor formats as its value (f"{loss:.4f}"); any other tensor only without a spec, as in torch."""
        if self.ndim == 0:
            return format(self.item(), format_spec)
        return super().__format__(format_spec)

    def __array__(self, dtype=None, copy=None):
        """np.asarray(tensor) of a CPU tensor, as torch allows: its own array unless a copy or a cast is asked for
        (copy=False refuses a cast, as NumPy does)."""
        if self.device != "cpu":
            raise TypeError("can't convert a GPU tensor to a NumPy array implicitly: call .numpy() or .cpu() first")
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if copy is False and dtype != self.dtype:
            raise ValueError(f"converting a {self.dtype} tensor to {dtype} needs a copy, but copy=False was given")
        return self.data.astype(dtype, copy=bool(copy))

    def tolist(self):
        return self.numpy().tolist()

    def type(self, dtype=None, non_blocking=False):
        """torch's name of the tensor's type ("torch.FloatTensor", "torch.cuda.FloatTensor" on the GPU) with no
        dtype; else the tensor cast to a dtype, given as one or by such a name, as torch's."""
        prefix = "torch." if self.device == "cpu" else "torch.cuda."
        if dtype is None:
            return f"{prefix}{SCALAR_TYPE_NAMES[self.dtype]}Tensor"
        if isinstance(dtype, str):
            names = {f"{prefix}{name}Tensor": code for code, name in SCALAR_TYPE_NAMES.items()}
            if dtype not in names:
                raise ValueError(f"invalid type: {dtype!r}")
            dtype = names[dtype]
        return self.to(dtype, non_blocking=non_blocking)

    @taking_memory_format
    def to(self, *device_or_dtype, device=None, dtype=None, non_blocking=False, copy=False):
        """`.to("gpu")`, `.to("cpu")`, `.to(np.float64)`, both (`.to("cpu", mg.float64)`), or by torch's keywords;
        a differentiable copy unless nothing changes and copy is False. non_blocking is accepted, as torch's
        hint: a copy here is done when it returns."""
        device, dtype = device_and_dtype(device_or_dtype, device, dtype)
        out = self if dtype is None else self._cast(np.dtype(dtype))
        if device is not None and normalize_device(device) != out.device:
            return ops.ToDevice.apply(out, device=normalize_device(device), source=out.device)
        return ops.Cast.apply(out, dtype=out.dtype) if copy and out is self else out

    def _cast(self, dtype):
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # integers and bools have no gradient: a copy outside the graph, as in torch
            return batching.marked(Tensor(self.data.astype(dtype)), (self,))
        return ops.Cast.apply(self, dtype=dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """On the GPU (torch's Tensor.cuda; the one GPU, cuda:0, is the only device it takes)."""
        return self.to(cuda_device(device), non_blocking=non_blocking)

    def half(self):
        return self.to(np.float16)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # torch's casts by name (methods: Python's int(t), bool(t) are __int__, __bool__ above)
    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def short(self):
        return self.to(np.int16)

    def char(self):
        return self.to(np.int8)

    def byte(self):
        return self.to(np.uint8)

    def detach(self):
        """The same data, cut from the graph (batched as this tensor is, inside vmap)."""
        return batching.marked(Tensor(self.data), (self,))

    def detach_(self):
        """This tensor cut from the graph, as a leaf that requires no grad; the graph it was part of keeps its node
        for the ops that used it. A view (see _viewed) is refused, with torch's error."""
        if self._view_of is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for "
                "training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence "
                "detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        if self._handle is not None:
            self._handle.forget_tensor()
        self.creator, self._handle, self.requires_grad = None, None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            check_can_require_grad(self.dtype, "only Tensors of floating point dtype can require gradients")
        elif not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def _graph_entry(self):
        """What graph nodes hold of this tensor: a leaf itself (its `.grad` accumulates), else its data-free handle."""
        return self if self._handle is None else self._handle

    @property
    def grad_fn(self):
        """The graph node of the op that made this tensor, with torch's name() and next_functions; None for a
        leaf and for a tensor made outside the graph."""
        return self.creator

    def register_hook(self, hook):
        """hook(grad) runs when backward reaches this tensor's gradient (a tensor), before a leaf's `.grad` or a
        retained one gets it, and may return a gradient to use instead; hooks run in the order registered. The
        handle's remove() unregisters it, as torch's."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        entry = self._graph_entry
        if entry._grad_hooks is None:
            entry._grad_hooks = {}
        return RemovableHandle(entry._grad_hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) runs once backward has accumulated a leaf's `.grad` (an optimizer step per parameter, as
        its gradient is ready), in the order registered; it returns None. The handle's remove() unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_grad_hooks is None:
            self._post_accumulate_grad_hooks = {}
        return RemovableHandle(self._post_accumulate_grad_hooks, hook)

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor too (for looking at gradients inside a network); None, as torch's."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    @property
    def retains_grad(self):
        """Whether retain_grad() made this non-leaf tensor keep its `.grad` (a leaf keeps it anyway: False)."""
        return self._retains_grad and not self.is_leaf

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None, *, grad=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`, visiting nodes in reverse topological order; with
        `inputs` (a tensor or a sequence), into theirs alone, as torch's.

        `gradient` is d(loss)/d(self), needed unless self holds one value (torch's name for it; `grad` is taken too,
        the name minigrad's public API gives it). With create_graph the gradients are recorded, so that they can be
        differentiated in turn (the graph is then kept unless retain_graph=False)."""
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward() got multiple values for argument 'gradient'")
            gradient = grad
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        seed = self._seed_gradient(gradient, "backward()", create_graph=create_graph)
        retain_graph = create_graph if retain_graph is None else retain_graph
        accumulate_backward([self], [seed], retain_graph, inputs, create_graph)

    def _seed_gradient(self, gradient, caller, index=0, create_graph=False):
        """The gradient a walk back from this tensor (output `index` of the call) starts with: `gradient` as an
        array of its dtype, or ones for a tensor of one value; with create_graph, as a tensor, `gradient` itself
        where it requires grad (a double-backward's vector that is differentiated too)."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{caller} needs a gradient for a non-scalar tensor of shape {self.shape}: "
                    "call it on a scalar (e.g. loss.sum()) or pass gradient=..."
                )
            grad = get_array_module(self.data).ones_like(self.data)
        else:
            grad = _as_array(gradient.data if isinstance(gradient, Tensor) else gradient, self.dtype)
        if grad.shape != self.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of torch.Size({list(grad.shape)}) "
                               f"and output[{index}] has a shape of torch.Size({list(self.shape)}).")
        if not create_graph:
            return grad
        if isinstance(gradient, Tensor) and gradient.requires_grad:
            return gradient if gradient.dtype == self.dtype else gradient.to(self.dtype)
        return Tensor(grad)

    def _accumulate_grad(self, grad, unshared=False):
        """The first gradient is copied (backward may share its array), unless it is `unshared` (see
        memory.unshared: as torch's, nothing else can see it or write into it, so it is kept as it is), later ones
        added into a leaf's, as torch adds into `.grad`: a reference to it taken between two backward() calls sees
        the sum. A non-leaf's (it retains grad) is replaced by the sum, as torch's, whose reference keeps the
        gradient it had."""
        if isinstance(grad, Tensor):  # create_graph's, recorded as torch's: a copy first, then out-of-place sums
            if self._grad is None:  # named as torch names a leaf's copy and a non-leaf's
                self._grad = ops.Cast.apply(grad, dtype=grad.dtype,
                                            node_name="torch::autograd::CopyBackwards" if self.is_leaf
                                            else "CloneBackward0")
            else:
                self._grad = self._grad + grad
        elif self._grad is None:  # of this tensor's shape and dtype: the grad setter's checks are for users
            self._grad = Tensor(grad if unshared else grad.copy())
        elif self.is_leaf:
            self._grad.data += grad
        else:
            self._grad = Tensor(self._grad.data + grad)
        if self._post_accumulate_grad_hooks:
            self._run_post_accumulate_grad_hooks()

    def _run_post_accumulate_grad_hooks(self):
        """register_post_accumulate_grad_hook's hooks on this leaf, with torch's errors for one that returns a value
        (in anomaly mode, first torch's warning, as _hooked's)."""
        with function.errors_warned_of(function.AccumulateGrad(self)), no_grad():
            for hook in list(self._post_accumulate_grad_hooks.values()):
                result = hook(self)
                if result is not None and not isinstance(result, Tensor):
                    raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
                if result is not None:  # a tensor
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    # ---- operators: thin wrappers over minigrad.ops ------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self, node_name="RsubBackward1")

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        """torch's: self * other, where Mul reads a number other beside float16 in float32 (see Function)."""
        return ops.Mul.apply(self, other)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        """other / self; a number over float16 as torch's (self.reciprocal() * other): the reciprocal rounded to
        float16, then times the number in float32, which a division rounding once would not match."""
        if self.dtype == np.float16 and isinstance(other, numbers.Number):
            return self.reciprocal() * other
        return ops.Div.apply(other, self)

    def __floordiv__(self, other):
        return ops.FloorDivide.apply(self, other)

    def __rfloordiv__(self, other):
        return ops.FloorDivide.apply(other, self)

    floor_divide = __floordiv__

    def __mod__(self, other):
        return ops.Remainder.apply(self, other, node_name="RemainderBackward0" if isinstance(other, numbers.Number)
                                   else None)

    def __rmod__(self, other):
        return ops.Remainder.apply(other, self)

    remainder = __mod__

    def add(self, other, *, alpha=1):
        """self + alpha * other, as torch's: one op, rounded once (see ScaledAdd)."""
        if alpha == 1:
            return self + other
        return ops.ScaledAdd.apply(self, other, alpha=self._checked_alpha(other, alpha))

    def sub(self, other, *, alpha=1):
        """self - alpha * other, as torch's, which refuses a bool operand whatever alpha, as `-` does."""
        ops.Sub.refuse_bools(self, other)
        if alpha == 1:
            return self - other
        return ops.ScaledAdd.apply(self, other, alpha=-self._checked_alpha(other, alpha), node_name="SubBackward0")

    subtract = sub

    def rsub(self, other, *, alpha=1):
        """other - alpha * self, as torch.rsub (torch has no such method: minigrad.rsub is made of this one)."""
        node_name = "RsubBackward1" if isinstance(other, numbers.Number) else "RsubBackward0"
        if alpha == 1:
            return ops.Sub.apply(other, self, node_name=node_name)
        ops.Sub.refuse_bools(other, self)
        return ops.ScaledAdd.apply(other, self, alpha=-self._checked_alpha(self, alpha), node_name=node_name)

    def _checked_alpha(self, other, alpha):
        """add's and sub's alpha; a fractional alpha of integers is refused, as torch refuses it."""
        if self._integral_with(other) and not isinstance(alpha, numbers.Integral):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
        return alpha

    def _integral_with(self, other):
        """Whether self and other (a tensor or a number) are both integral (or bool)."""
        if isinstance(other, Tensor):
            return self.dtype.kind in "biu" and other.dtype.kind in "biu"
        return self.dtype.kind in "biu" and isinstance(other, numbers.Integral)

    def div(self, other, *, rounding_mode=None):
        """self / other, its quotient rounded toward zero ("trunc") or down ("floor") where asked, as torch's: a
        rounded quotient of integers stays integral, and its gradient is zero."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return ops.DivFloor.apply(self, other)
        if rounding_mode != "trunc":
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"'{rounding_mode}'")
        return ops.DivTrunc.apply(self, other)

    divide, true_divide = div, __truediv__
    mul = multiply = __mul__

    def float_power(self, exponent):
        """self ** exponent in float64, as torch's."""
        return self.double() ** (exponent.double() if isinstance(exponent, Tensor) else float(exponent))

    def float_power_(self, exponent):
        if self.dtype != np.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {SCALAR_TYPE_NAMES[self.dtype]} but the "
                               "operation's result requires dtype Double")
        return self._in_place(Tensor.float_power, exponent)

    @autocasts({"cuda": "promote"})
    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 * tensor2, value's integer part for integers, as torch's, which refuses bools."""
        if result_type(self, tensor1, tensor2) == bool:
            raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
        return self + self._value_times(tensor1, tensor2, value) * tensor2

    @autocasts({"cuda": "promote"})
    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 / tensor2, which torch refuses for integers (its old integer division)."""
        if tensor1.dtype.kind in "biu" and tensor2.dtype.kind in "biu":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
                               "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                               "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                               "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                               "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
                               "tensor2), for all dtypes.")
        return self + self._value_times(tensor1, tensor2, value) / tensor2

    def _value_times(self, tensor1, tensor2, value):
        """addcmul's and addcdiv's value * tensor1, value first, in the result's dtype, as torch computes it: value
        a number of that dtype (float16's float32, an integer dtype's integer part), refused where it cannot hold it."""
        dtype = result_type(self, tensor1, tensor2)
        value = converted_scalar(value, dtype, half_in_float32=True).item()
        return tensor1 if value == 1 else value * tensor1.to(dtype)

    def __pow__(self, exponent):
        """A number exponent keeps its type (int64 ** 2 stays int64, int64 ** 0.5 is the default float, as in torch)."""
        if isinstance(exponent, numbers.Number):
            return ops.PowScalar.apply(self, exponent=exponent)
        return ops.Pow.apply(self, exponent, node_name="PowBackward2" if self._is_wrapped_number else None)

    pow = __pow__

    def __rpow__(self, base):
        return ops.Pow.apply(base, self, node_name="PowBackward2")

    # ---- in-place operators --------------------------------------------------------------------
    def _in_place(self, op, other):
        """`self <op>= other` as torch does it, on this tensor object: every name bound to it sees the
        result (so `p -= lr * p.grad` under no_grad() updates a parameter), it keeps its shape and dtype,
        and a leaf that requires grad is refused while autograd records.

        Unrecorded (no_grad(), or nothing requires grad), the result is written into the tensor's own
        array, as torch writes into its storage: views of it, `.detach()`, a `state_dict()` see it.
        Recorded, the tensor gets the result as a new array and becomes the op's output: an array that an
        earlier op saved for backward keeps its values (where torch would refuse that backward). A view
        changes its base instead (an item assignment of the base, as torch's CopySlices), and the base's
        views are then taken anew of its new array, so that they all see the change, as in torch.
        """
        self._refuse_a_recorded_leaf()
        self._refuse_shared_memory()
        result = op(self._as_own_input(), other)
        self._require_output_shape(result.shape)
        self._require_castable_from(result.dtype)
        result = result.to(self.dtype)
        if result.creator is None:
            get_array_module(self.data).copyto(self._writable_data(), result.data)
        else:
            self._become_written(result)
        return self

    def _require_castable_from(self, dtype):
        """torch's error for an op's result of `dtype` written into this tensor of a dtype that cannot hold it."""
        if not can_cast(dtype, self.dtype):
            raise RuntimeError(f"result type {SCALAR_TYPE_NAMES[dtype]} can't be cast to the desired output "
                               f"type {SCALAR_TYPE_NAMES[self.dtype]}")

    def _require_output_shape(self, shape):
        """torch's error for an in-place op whose result, of `shape`, is not this tensor's shape."""
        if shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(shape)}")

    def _become_written(self, result):
        """This tensor becomes `result`, the recorded output of an op that wrote into it (see _in_place; a custom
        Function's mark_dirty): a view changes its base instead, and with it this view and its others, as torch's."""
        if self._view_of is None:
            self._become(result)
            return
        base, take = self._view_of
        if base.requires_grad and base.is_leaf:
            raise RuntimeError(_VIEW_OF_A_LEAF)
        base._become(ops.SetItem.apply(base._as_own_input(), result, index=take))

    def _as_own_input(self):
        """This tensor as the input of an op whose output it becomes (_become): a leaf detached, so that it is not
        its own input."""
        return self.detach() if self.is_leaf else self

    def _become(self, result):
        """This tensor object takes `result`'s array and place in the graph, so that every name bound to it sees
        the change; so do its views, each taken anew of it."""
        self._take_place_of(result)
        for view in list(self._views or ()):
            view._become(ops.GetItem.apply(self, index=view._view_of[1]))

    def _take_place_of(self, result):
        """This tensor object takes `result`'s array and place in the graph."""
        if self._handle is not None:
            self._handle.forget_tensor()
        self.data, self.creator, self.requires_grad = result.data, result.creator, True
        self._handle = GraphHandle(self)

    def _restrided(self, changed, on_array=None, undo=None):
        """t_, transpose_, squeeze_ and unsqueeze_: this tensor object becomes changed(itself), a view, as torch's,
        which change only a tensor's sizes and strides: it still shares its elements with its base and its views,
        whose takes follow the change through on_array and its inverse `undo` (reshapes where not given)."""
        self._refuse_a_recorded_leaf()
        old_shape = self.shape
        result = changed(self._as_own_input())
        on_array = on_array or (lambda array: array.reshape(result.shape))
        undo = undo or (lambda array: array.reshape(old_shape))
        if result.creator is None:
            self.data = result.data
        else:
            self._take_place_of(result)
        if self._view_of is not None:
            base, take = self._view_of
            self._view_of = (base, lambda array: on_array(take(array)))
        for view in list(self._views or ()):
            take = view._view_of[1]
            view._view_of = (self, lambda array, take=take: take(undo(array)))
        return self

    def _viewed(self, out, take):
        """`out`, an op's result on this tensor, marked as a view of its base where NumPy made out's array one
        (slicing, permutes, most reshapes): take(base's array) gives it. A recorded in-place change of the view
        then changes the base, and one of the base changes the view (see _in_place), as torch's views do."""
        if out.data is self.data or not get_array_module(self.data).may_share_memory(out.data, self.data):
            return out
        if self._view_of is None:
            base, out._view_of = self, (self, take)
        else:
            base, take_this = self._view_of
            out._view_of = (base, lambda array: take(take_this(array)))
        if base._views is None:
            base._views = weakref.WeakSet()
        base._views.add(out)
        return out

    def _refuse_a_recorded_leaf(self):
        """torch's error for an in-place change of a leaf that requires grad while autograd records."""
        if self.requires_grad and self.is_leaf and is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")

    def _refuse_shared_memory(self):
        """torch's error for a write into a tensor whose elements share memory, as an expanded tensor's do."""
        if has_internal_overlap(self.data):
            raise RuntimeError(SHARED_MEMORY_WRITE)

    def _writable_data(self):
        """The array, to be written into now (backward refuses ops that saved it before: see note_write)."""
        self._refuse_shared_memory()
        if not getattr(self.data.flags, "writeable", True):  # a NumPy array it borrows read-only
            raise RuntimeError("unsupported operation: the written-to tensor's array is read-only. Please clone() the "
                               "tensor before performing the operation.")
        note_write(self.data)
        return self.data

    @torch_index_errors
    def __setitem__(self, index, value):
        """`t[index] = value` as torch's: t itself changes (value broadcast, and cast to t's dtype). Where
        autograd records, through ops.SetItem (see _in_place); else straight into t's array. Into an expanded
        tensor, whose elements share memory, as copy_ into the part indexed: torch refuses it only where that part's
        own elements share memory. The value is a tensor or a number (a NumPy integer too), as torch's: a list or an
        array is torch's TypeError, to be made a tensor first."""
        if not isinstance(value, (Tensor, int, float, complex, numbers.Integral)):
            raise TypeError(f"can't assign a {_c_type_name(value)} to a {self.type()}")
        if isinstance(value, numbers.Real):  # one the dtype cannot hold is torch's error, where NumPy would wrap it
            value = converted_scalar(value, self.dtype)
        index = torch_index(index, self.ndim)
        if isinstance(value, Tensor):
            self._require_index_put_value(index, value)
        try:
            self._set_item(index, value)
        except ValueError:  # NumPy's, of a value that does not broadcast: torch's error where it is one
            if isinstance(value, Tensor):
                self._require_settable_shape(index, value)
            raise

    def _set_item(self, index, value):
        steps = torch_index_steps(index)
        if steps is not None:  # into the view its ints select
            self[steps[0]][steps[1]] = _python_number(value)
            return
        if has_internal_overlap(self.data) and is_basic_index(index):
            self[index].copy_(value)
            return
        if has_internal_overlap(self.data) and index_put_kind(index) == "mask" and _one_element(value):
            self._mask_put_into_shared_memory(index, value)
            return
        if is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad", False)):
            if self.requires_grad and self.is_leaf:  # torch's words: it writes through a view of the leaf
                raise RuntimeError(_VIEW_OF_A_LEAF)
            self._in_place(lambda tensor, value: ops.SetItem.apply(tensor, value, index=index), value)
        else:
            xp = get_array_module(self.data)
            value = value.data if isinstance(value, Tensor) else value
            self._writable_data()[array_index(index, xp)] = xp.asarray(value)

    def _refuse_a_recorded_write_into_a_leaf(self):
        """torch's error, while autograd records, for a write into a view of a leaf that requires grad, which an
        expanded tensor's fills check before they warn."""
        base = self if self._view_of is None else self._view_of[0]
        if is_grad_enabled() and base.requires_grad and base.is_leaf:
            raise RuntimeError(_VIEW_OF_A_LEAF)

    def _mask_put_into_shared_memory(self, index, value):
        """self[index] = value, of one element, where index holds one bool mask and self's elements share memory:
        torch's index_put_ warns that this is deprecated, and fills as masked_fill_ does (its warning too)."""
        self._refuse_a_recorded_write_into_a_leaf()
        warnings.warn("Use of index_put_ on expanded tensors is deprecated. Please clone() the tensor before "
                      "performing this operation. This also applies to advanced indexing e.g. tensor[indices] = "
                      "tensor", UserWarning, stacklevel=caller_outside_package()[1])
        written = Tensor(get_array_module(self.data).zeros(self.shape, bool))
        written[index] = True
        self.masked_fill_(written, value.reshape(()) if isinstance(value, Tensor) else value)

    def _require_settable_shape(self, index, value):
        """torch's error for a value that self[index] = value cannot broadcast: index_put_'s for an index of tensors,
        else the copy's, which drops the value's leading size-1 dims and expands the rest to the part indexed."""
        if index_put_kind(index) is not None:
            self._require_index_put_shape(index, value)
            return
        leading_ones = next((dim for dim, size in enumerate(value.shape) if size != 1), value.ndim)
        with no_grad():
            value.reshape(value.shape[leading_ones:]).expand(*self[index].shape)

    def _in_place_operator(op):
        """`x op= y` from `x op y`: __iadd__ from __add__, ..., each through _in_place."""
        return lambda self, other: self._in_place(op, other)

    __iadd__, __isub__, __imul__ = map(_in_place_operator, (__add__, __sub__, __mul__))
    __itruediv__, __ifloordiv__, __imod__, __ipow__ = map(_in_place_operator, (__truediv__, __floordiv__, __mod__, __pow__))

    def __neg__(self):
        return ops.Neg.apply(self)

    neg = negative = __neg__

    def __pos__(self):
        return self  # as torch's +t: the tensor itself

    def positive(self):
        """The tensor itself, as torch's, which refuses a bool one."""
        if self.dtype == bool:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    matmul = __matmul__

    @torch_index_errors
    def __getitem__(self, index):
        index = torch_index(index, self.ndim)
        steps = torch_index_steps(index)
        return self._indexed(index) if steps is None else self[steps[0]][steps[1]]

    def _indexed(self, index, node_name=None):
        """self[index], its node named `node_name` where given: torch's name of the method that ran it (flip)."""
        return self._viewed(ops.GetItem.apply(self, index=index, node_name=node_name),
                            lambda array: region(array, array_index(index, get_array_module(array))))

    def _outside_graph(self, other, op, integers_only=None, bool_too=True):
        """op(self, other) element-wise, to a tensor, an array or a number, outside the graph: comparisons and
        bitwise logic. Anything else is NotImplemented, so that `t == None` is False and `t < None` a TypeError,
        as in torch. The operands promote as an arithmetic op's do: an int8 tensor < 300 compares with 300 wrapped
        into int8 (44), as in torch; shapes that do not broadcast are an arithmetic op's error too. A bitwise op
        names itself in `integers_only` and refuses floating point with torch's error, and bool where not `bool_too`
        (the shifts)."""
        if not isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic)) and get_array_module(other) is np:
            return NotImplemented  # not a number, nor a NumPy or CuPy array
        with no_grad():  # the casts of promotion need no graph either
            a, b = promote_operands((self, other))
        require_broadcastable(a.shape, b.shape)
        if integers_only and a.dtype.kind not in ("biu" if bool_too else "iu"):
            raise NotImplementedError(f'"{integers_only}_cpu" not implemented for \'{SCALAR_TYPE_NAMES[a.dtype]}\'')
        return batching.marked(Tensor(op(a.data, b.data)), (self, other))

    def __lt__(self, other):
        return self._outside_graph(other, operator.lt)

    def __le__(self, other):
        return self._outside_graph(other, operator.le)

    def __gt__(self, other):
        return self._outside_graph(other, operator.gt)

    def __ge__(self, other):
        return self._outside_graph(other, operator.ge)

    def __eq__(self, other):
        return self._outside_graph(other, operator.eq)

    def __ne__(self, other):
        return self._outside_graph(other, operator.ne)

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__  # torch's method names
    less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne

    # Bitwise logic of bool and integer tensors (masks: `(x > 0) & (x < 1)`), as torch's; & | ^ commute.
    def __and__(self, other):
        return self._outside_graph(other, operator.and_, "bitwise_and")

    def __or__(self, other):
        return self._outside_graph(other, operator.or_, "bitwise_or")

    def __xor__(self, other):
        return self._outside_graph(other, operator.xor, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __lshift__(self, other):
        return self._outside_graph(other, _shifted_left, "lshift", bool_too=False)

    def __rshift__(self, other):
        return self._outside_graph(other, _shifted_right, "rshift", bool_too=False)

    def __rlshift__(self, other):
        return self._outside_graph(other, lambda a, b: _shifted_left(b, a), "lshift", bool_too=False)

    def __rrshift__(self, other):
        return self._outside_graph(other, lambda a, b: _shifted_right(b, a), "rshift", bool_too=False)
    bitwise_and, bitwise_or, bitwise_xor, bitwise_left_shift, bitwise_right_shift = (__and__, __or__, __xor__,
                                                                                     __lshift__, __rshift__)

    def __invert__(self):
        """~t: logical not of a bool tensor, bitwise not of an integer one, as torch's."""
        if self.dtype.kind not in "biu":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return Tensor(get_array_module(self.data).invert(self.data))

    __iand__, __ior__, __ixor__, __ilshift__, __irshift__ = map(_in_place_operator,
                                                                (__and__, __or__, __xor__, __lshift__, __rshift__))
    del _in_place_operator

    __hash__ = object.__hash__  # by identity, as torch's: dicts and sets of tensors never compare them

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    __abs__ = abs

    def clamp(self, min=None, max=None):
        """Numbers or tensors as bounds (not one of each, as torch); a tensor bound gets the gradient where it
        clamps, as torch's."""
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        bounds = [bound for bound in (min, max) if bound is not None]
        if not any(isinstance(bound, Tensor) for bound in bounds):
            return ops.Clamp.apply(self.to(result_type(self, *bounds)), low=min, high=max)  # int64, 0.5: float32
        if not all(isinstance(bound, Tensor) for bound in bounds):
            raise TypeError("clamp() takes numbers or tensors as min and max, not one of each")
        out = self if min is None else ops.ClampMinTensor.apply(self, min)
        return out if max is None else ops.ClampMaxTensor.apply(out, max)

    clip = clamp

    def relu(self):
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def square(self):
        """self ** 2, as torch's: integer tensors stay integers, a bool one becomes int64."""
        return self ** 2

    def rsqrt(self):
        return ops.Rsqrt.apply(self)

    def reciprocal(self):
        return ops.Reciprocal.apply(self)

    def sign(self):
        return ops.Sign.apply(self)

    sgn = sign  # of real tensors

    def floor(self):
        return ops.Floor.apply(self)

    def ceil(self):
        return ops.Ceil.apply(self)

    def round(self, *, decimals=None):
        """Halves to even; `decimals` given (even 0) refuses integers, as torch's."""
        return ops.Round.apply(self, decimals=decimals)

    def trunc(self):
        return ops.Trunc.apply(self)

    def log1p(self):
        return ops.Log1p.apply(self)

    def expm1(self):
        return ops.Expm1.apply(self)

    def log2(self):
        return ops.Log2.apply(self)

    def log10(self):
        return ops.Log10.apply(self)

    def erf(self):
        return ops.Erf.apply(self)

    def erfc(self):
        return ops.Erfc.apply(self)

    def erfinv(self):
        return ops.Erfinv.apply(self)

    def lgamma(self):
        return ops.Lgamma.apply(self)

    def digamma(self):
        return ops.Digamma.apply(self)

    def i0(self):
        return ops.I0.apply(self)

    def sinc(self):
        return ops.Sinc.apply(self)

    def exp2(self):
        return ops.Exp2.apply(self)

    def sinh(self):
        return ops.Sinh.apply(self)

    def cosh(self):
        return ops.Cosh.apply(self)

    def tan(self):
        return ops.Tan.apply(self)

    def atan(self):
        return ops.Atan.apply(self)

    def asin(self):
        return ops.Asin.apply(self)

    def acos(self):
        return ops.Acos.apply(self)

    def frac(self):
        return ops.Frac.apply(self)

    def logit(self, eps=None):
        """torch's, which refuses an eps beyond the dtype it computes in (float16's own)."""
        if eps is not None:
            converted_scalar(eps, self.dtype if self.dtype.kind == "f" else default_dtype())
        return ops.Logit.apply(self, eps=eps)

    def asinh(self):
        return ops.Asinh.apply(self)

    def acosh(self):
        return ops.Acosh.apply(self)

    def atanh(self):
        return ops.Atanh.apply(self)

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh, fix, absolute = asin, acos, atan, asinh, acosh, atanh, trunc, abs

    def deg2rad(self):
        return ops.Deg2rad.apply(self)

    def rad2deg(self):
        return ops.Rad2deg.apply(self)

    def angle(self):
        """The angle of the entries in the complex plane: of a real tensor pi where negative, else 0 (see ops.Angle);
        of a complex one NumPy's, real, as torch's (complex tensors take no gradients)."""
        if self.dtype.kind == "c":
            return Tensor(get_array_module(self.data).angle(self.data))
        return ops.Angle.apply(self)

    def ldexp(self, other):
        """self * 2 ** other, in floating point, as torch's (a tensor `other` only; see ops.Ldexp)."""
        return ops.Ldexp.apply(self, tensor_only("ldexp", other))

    def frexp(self):
        """(mantissa, exponent): self = mantissa * 2 ** exponent, |mantissa| in [0.5, 1), exponent int32, as torch's;
        the mantissa is self scaled by a power of two, and has its gradient."""
        if self.dtype.kind != "f":
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        xp = get_array_module(self.data)
        exponent = xp.frexp(self.data)[1].astype(np.int32)
        return ops.FrexpResult(self * Tensor(xp.ldexp(self.dtype.type(1), -exponent)), Tensor(exponent))

    def _integer_op(name):
        """t.gcd(other), t.lcm(other): of integer tensors, outside the graph, as torch's."""
        def method(self, other):
            if bool in (self.dtype, tensor_only(name, other).dtype):
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
            return self._outside_graph(other, getattr(get_array_module(self.data), name), integers_only=name)
        method.__name__ = method.__qualname__ = name
        return method

    gcd, lcm = map(_integer_op, ("gcd", "lcm"))
    del _integer_op

    def polygamma(self, n):
        """The n-th derivative of digamma (self.polygamma(n), torch.polygamma(n, input))."""
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return ops.Polygamma.apply(self, n=n)

    def mvlgamma(self, p):
        """The log of the multivariate gamma function of dimension p: sum of lgamma(self - i / 2) for i < p, plus
        p (p - 1) / 4 log(pi), as torch's (inf where an entry is at most (p - 1) / 2)."""
        if p < 1:
            raise RuntimeError("p has to be greater than or equal to 1")
        if self.dtype == bool:
            raise RuntimeError("The input tensor may not be a boolean tensor.")
        dtype = self.dtype if self.dtype.kind == "f" else default_dtype()
        halves = Tensor(get_array_module(self.data).arange(p, dtype=dtype) / -2)
        return (self.unsqueeze(-1) + halves).lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)

    def igamma(self, other):
        """The regularized lower incomplete gamma function of self (a) at other (x), as torch.special.gammainc."""
        return ops.Igamma.apply(self, tensor_only("igamma", other))

    def igammac(self, other):
        """The regularized upper incomplete gamma function, 1 - igamma, as torch.special.gammaincc."""
        return ops.Igammac.apply(self, tensor_only("igammac", other))

    # ---- tests of values: bool tensors (int64 for counts and indices), outside the graph, as torch's ----------
    def _tested(self, name):
        return Tensor(getattr(get_array_module(self.data), name)(self.data))

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN, inf and -inf as numbers: `nan`, and `posinf` and `neginf` or else the dtype's largest and lowest,
        as torch's; the gradient passes where self is finite."""
        return ops.NanToNum.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    def isnan(self):
        return self._tested("isnan")

    def isinf(self):
        return self._tested("isinf")

    def isfinite(self):
        return self._tested("isfinite")

    def _is_infinity(self, name, infinity):
        if self.dtype.kind == "c":
            raise RuntimeError(f"{name} does not support complex inputs.")
        return Tensor(self.data == infinity)

    def isposinf(self):
        return self._is_infinity("isposinf", math.inf)

    def isneginf(self):
        return self._is_infinity("isneginf", -math.inf)

    def isreal(self):
        return self._tested("isreal")

    def logical_not(self):
        return self._tested("logical_not")

    def _logic(name):
        """t.logical_and(other), ...: truth of the non-zero entries of two tensors of any dtypes, broadcast together."""
        def logic(self, other):
            tensor_only(name, other)
            return self._outside_graph(other, lambda a, b: getattr(get_array_module(a), name)(a, b))
        return logic

    logical_and, logical_or, logical_xor = map(_logic, ("logical_and", "logical_or", "logical_xor"))
    del _logic

    def heaviside(self, values):
        """The step function: 0 below 0 (and at NaN), 1 above, `values` (a tensor of self's dtype, broadcast) at 0;
        as torch's, it requires grad where an input does, and backward through it is an error."""
        tensor_only("heaviside", values, role="values")
        if values.dtype != self.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
        return ops.Heaviside.apply(self, values)

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero entries, one row (of ndim int64) each, in row-major order; as_tuple, one
        1-d tensor of them per dim instead (one for a 0-d tensor), as torch's."""
        rows = get_array_module(self.data).argwhere(self.data.reshape(self.shape or (1,))).astype(np.int64)
        if as_tuple:
            return tuple(Tensor(column) for column in rows.T)
        return Tensor(rows if self.ndim else rows[:, :0])

    argwhere = nonzero

    def count_nonzero(self, dim=None):
        axes = None if dim is None else normalize_dims(dim, self.ndim)
        xp = get_array_module(self.data)
        return Tensor(xp.asarray(xp.count_nonzero(self.data, axis=axes), dtype=np.int64))

    def is_floating_point(self):
        return self.dtype.kind == "f"

    def is_complex(self):
        return self.dtype.kind == "c"

    def is_signed(self):
        return self.dtype.kind not in "bu"

    def is_same_size(self, other):
        return self.shape == other.shape

    def is_nonzero(self):
        """Whether the one entry is not zero, as torch's: a tensor of none or several is an error."""
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with " + ("no values" if self.numel() == 0 else
                                                                  "more than one value") + " is ambiguous")
        return bool(self.data.reshape(()))

    def ravel(self):
        return self.reshape(-1)

    def diagflat(self, offset=0):
        """The flattened entries on diagonal `offset` of a square matrix, zeros elsewhere."""
        return self.reshape(-1).diag(offset)

    def bitwise_not(self):
        """~self of an integer or bool tensor, with torch's error for floating point."""
        if self.dtype.kind not in "biu":
            raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{SCALAR_TYPE_NAMES[self.dtype]}'")
        return ~self

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Where |self - other| <= atol + rtol * |other| (broadcast), of one dtype, as torch's."""
        if self.dtype != other.dtype:
            raise RuntimeError(f"{SCALAR_TYPE_NAMES.get(self.dtype, self.dtype)} did not match "
                               f"{SCALAR_TYPE_NAMES.get(other.dtype, other.dtype)}")
        for name, tolerance in (("rtol", rtol), ("atol", atol)):
            if tolerance < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tolerance}")
        require_broadcastable(self.shape, other.shape)
        return Tensor(get_array_module(self.data).isclose(self.data, other.data, rtol, atol, equal_nan))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Whether isclose holds everywhere."""
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other):
        """Whether self and other have one shape and equal entries (promoted; NaN equals nothing), as torch's."""
        return self.shape == other.shape and bool((self == other).data.all())

    def signbit(self):
        """Where the sign bit is set (-0.0 too), as torch's."""
        return Tensor(get_array_module(self.data).signbit(self.data))

    def maximum(self, other):
        """The element-wise larger of self and other; a tie gives each half the gradient, as torch's."""
        return ops.Maximum.apply(self, other)

    def minimum(self, other):
        """The element-wise smaller of self and other; a tie gives each half the gradient, as torch's."""
        return ops.Minimum.apply(self, other)

    def _of_two_tensors(name, op):
        """t.atan2(other), ...: an element-wise op (of minigrad.ops, by name) of two tensors and no number, as
        torch's, which refuses a number `other` for these."""
        def method(self, other):
            return getattr(ops, op).apply(self, tensor_only(name, other))
        method.__name__ = method.__qualname__ = name
        return method

    atan2, arctan2, hypot, logaddexp, logaddexp2, fmax, fmin, nextafter = map(  # fmax, fmin: NaN-ignoring (ops.Fmax)
        _of_two_tensors, ("atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "nextafter"),
        ("Atan2", "Atan2", "Hypot", "LogAddExp", "LogAddExp2", "Fmax", "Fmin", "Nextafter"))
    del _of_two_tensors

    def copysign(self, other):
        return ops.Copysign.apply(self, other, node_name="CopysignBackward1" if isinstance(other, numbers.Number)
                                  else None)

    def xlogy(self, other):
        """self * log(other), 0 where self is 0 (see ops.Xlogy)."""
        return ops.Xlogy.apply(self, other, node_name="XlogyBackward2" if isinstance(other, numbers.Number)
                               else "XlogyBackward0")

    def fmod(self, other):
        """The remainder with the sign of self, of a division truncated toward 0 (see ops.Fmod)."""
        return ops.Fmod.apply(self, other, node_name="FmodBackward0" if isinstance(other, numbers.Number) else None)

    def lerp(self, end, weight):
        """self + weight * (end - self), of a number weight or a tensor one (see ops.Lerp); a number beyond the range
        of the dtype torch computes in (float16's float32) is its error."""
        if not isinstance(weight, Tensor):
            require_64_bits(weight)
            if self.dtype.kind == "f":  # the others lerp refuses
                converted_scalar(weight, self.dtype, half_in_float32=True)
            number_dtype = np.float64 if self.dtype.kind == "f" else self.dtype  # torch's Scalar: a double
            return ops.Lerp.apply(self, end, np.asarray(weight, dtype=number_dtype), number_weight=True)
        return ops.Lerp.apply(self, end, weight)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def softmax(self, dim, dtype=None):
        """Computed in `dtype` if given, as torch's."""
        return ops.Softmax.apply(self if dtype is None else self.to(dtype), dim=dim)

    def log_softmax(self, dim, dtype=None):
        """Computed in `dtype` if given, as torch's."""
        return ops.LogSoftmax.apply(self if dtype is None else self.to(dtype), dim=dim)

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        """`dtype` casts before summing, as torch's (its gradient comes back in self's dtype)."""
        return ops.Sum.apply(self if dtype is None else self.to(dtype), dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        """`dtype` casts before averaging, as torch's, which takes only a floating-point one."""
        if dtype is not None and np.dtype(dtype).kind not in "fc":
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be either a floating point "
                               f"or complex dtype. Got: {SCALAR_TYPE_NAMES[np.dtype(dtype)]}")
        return ops.Mean.apply(self if dtype is None else self.to(dtype), dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """The maximum; with `dim`, a (values, indices) pair; of a tensor, maximum(), as in torch."""
        return self.maximum(dim) if isinstance(dim, Tensor) else self._extreme(ops.Max, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """The minimum; with `dim`, a (values, indices) pair; of a tensor, minimum(), as in torch."""
        return self.minimum(dim) if isinstance(dim, Tensor) else self._extreme(ops.Min, dim, keepdim)

    def _extreme(self, op, dim, keepdim):
        values = op.apply(self, dim=dim, keepdim=keepdim)  # checks dim
        if dim is None:
            return values
        return ops.MaxResult(values, Tensor(index_of_extreme(self.data, op.arg, dim, keepdim)))

    def argmax(self, dim=None, keepdim=False):
        """The index of the first maximum along `dim`, or without it in the flattened tensor, as torch's."""
        return self._index_of_extreme(ops.Max, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        """The index of the first minimum along `dim`, or without it in the flattened tensor, as torch's."""
        return self._index_of_extreme(ops.Min, dim, keepdim)

    def _index_of_extreme(self, op, dim, keepdim):
        if self.dtype == bool:
            raise RuntimeError(f"{op.arg}(): does not support bool input")
        return Tensor(index_of_extreme(self.data, op.arg, dim, keepdim))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance, unbiased by default, as torch's: `correction` (keyword only) is subtracted from the count
        it divides by; torch's older `unbiased` (True: correction 1, False: 0) may stand instead, also as
        `var(False)`."""
        return ops.Var.apply(self, **_variance_params("var", dim, unbiased, keepdim, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The standard deviation, the square root of var() with the same arguments."""
        return ops.Std.apply(self, **_variance_params("std", dim, unbiased, keepdim, correction))

    def where(self, condition, other):
        """`condition ? self : other`, as torch's: minigrad.where(condition, self, other)."""
        return where(condition, self, other)

    def reshape(self, *sizes, shape=_NOT_GIVEN):
        """This tensor's entries in `shape` (one -1 inferred), given as separate ints, as one sequence or by keyword,
        as torch's: a view where it can be, else a copy."""
        return self._reshaped(_shape_argument("reshape", sizes, shape, "shape"))

    def _reshaped(self, shape, node_name=None):
        """reshape(), its node named `node_name` where given: torch's name of the method that ran it (unsqueeze)."""
        return self._viewed(ops.Reshape.apply(self, shape=shape, node_name=node_name),
                            lambda array: array.reshape(shape))

    def flatten(self, start_dim=0, end_dim=-1):
        """Dims start_dim..end_dim as one; a 0-d tensor becomes shape (1,), as in torch."""
        start, end = normalize_dim(start_dim, self.ndim), normalize_dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end and self.ndim:
            return self  # as torch's
        return self.reshape(self.shape[:start] + (math.prod(self.shape[start:end + 1]),) + self.shape[end + 1:])

    def unflatten(self, dim, sizes):
        """Dim `dim` as the dims `sizes` (one of them may be -1, inferred), as torch's."""
        axis, sizes = normalize_dim(dim, self.ndim), tuple(sizes)
        size, known = self.shape[axis], math.prod(n for n in sizes if n != -1)
        if sizes.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if (known != size) if -1 not in sizes else (known == 0 or size % known):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({size}) in the input tensor")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1:])

    def unsqueeze(self, dim):
        dim = normalize_dim(dim, self.ndim + 1)
        return self._reshaped(self.shape[:dim] + (1,) + self.shape[dim:], "UnsqueezeBackward0")

    def squeeze(self, dim=None):
        """Without `dim`, every size-1 dim goes; with a dim (or a tuple of them), those of size 1, as in torch: a view
        even where none goes."""
        dims = range(self.ndim) if dim is None else normalize_dims(dim, self.ndim)
        shape = tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in dims)
        overload = 0 if dim is None else 2 if isinstance(dim, (tuple, list)) else 1  # torch's three squeezes
        return self._reshaped(shape, f"SqueezeBackward{overload}")

    def permute(self, *dims):
        dims = _sizes(dims)
        if len(dims) != self.ndim:
            raise RuntimeError("permute(): number of dimensions in the tensor input does not match the length of the "
                               f"desired ordering of dimensions i.e. input.dim() = {self.ndim} is not equal to "
                               f"len(dims) = {len(dims)}")
        axes = tuple(normalize_dim(d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return self._permuted(axes)

    def _permuted(self, axes, node_name=None):
        """permute() by normalized axes, its node named `node_name` where given: torch's name of the method that ran it
        (t, transpose)."""
        return self._viewed(ops.Permute.apply(self, dims=axes, node_name=node_name),
                            lambda array: array.transpose(axes))

    def t(self):
        """A 2-d tensor transposed; a 0-d or 1-d one as it is, as torch's."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self._swapped(0, -1, "TBackward0")

    def transpose(self, dim0, dim1):
        return self._swapped(dim0, dim1, "TransposeBackward0")

    def _swapped(self, dim0, dim1, node_name):
        dim0, dim1 = normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim)
        axes = list(range(self.ndim))
        if dim0 != dim1:  # a 0-d tensor has only dim 0 (as -1 and 0), swapped with itself
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self._permuted(tuple(axes), node_name)

    @taking_memory_format
    def contiguous(self):
        """Itself when its array is laid out row by row, else a copy that is, as torch's (a permuted view
        made contiguous is a tensor of its own, which an in-place write does not carry back)."""
        return self if self.data.flags.c_contiguous else ops.Cast.apply(self, dtype=self.dtype, order="C",
                                                                          node_name="CloneBackward0")

    @taking_memory_format
    def clone(self):
        """A copy with an array of its own, in the graph (the gradient passes straight through), as torch's."""
        return ops.Cast.apply(self, dtype=self.dtype, node_name="CloneBackward0")

    def expand(self, *sizes):
        """A view broadcast to `sizes` by torch's rules: only size-1 dims grow, -1 keeps a dim, new dims go in front;
        a grown dim repeats its entry's memory, so the view takes no more memory, and writing into it is refused
        (torch's error), as torch's."""
        sizes = _sizes(sizes)
        new = len(sizes) - self.ndim
        if new < 0:
            raise RuntimeError(f"expand({self.type()}{{{list(self.shape)}}}, size={list(sizes)}): the number of sizes "
                               f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                               f"tensor ({self.ndim})")
        shape = list(sizes)
        for i in reversed(range(len(sizes))):  # from the last dim, as torch, which names the first mismatch it meets
            size = sizes[i]
            if i < new:
                if size == -1:
                    raise RuntimeError(f"The expanded size of the tensor ({size}) isn't allowed in a leading, "
                                       f"non-existing dimension {i}")
            else:
                existing = self.shape[i - new]
                if size == -1:
                    shape[i] = existing
                elif size != existing and existing != 1:
                    raise RuntimeError(f"The expanded size of the tensor ({size}) must match the existing size "
                                       f"({existing}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                                       f"Tensor sizes: {list(self.shape)}")
        if min(shape, default=0) < 0:  # torch lets these through to an overflow error of its element count
            raise RuntimeError(f"expand: sizes must be non-negative, or -1 to keep a dim, got {list(sizes)}")
        shape = tuple(shape)
        return self._viewed(ops.Expand.apply(self, shape=shape), lambda array: expanded_view(array, shape))

    # ---- torch's shape, indexing and reduction idioms, composed of the ops above where they can be ----------
    def view(self, *sizes, size=_NOT_GIVEN, dtype=_NOT_GIVEN):
        """reshape() where its result can share the array, as torch's view; else torch's error (as after a
        permute, or of an expanded tensor), where reshape() would copy (refused before any copy is made). Given a
        dtype, the same bytes read as that dtype (_bits_as)."""
        if dtype is not _NOT_GIVEN or len(sizes) == 1 and is_dtype(sizes[0]):
            return self._bits_as(np.dtype(sizes[0] if dtype is _NOT_GIVEN else dtype))
        shape = resolved_shape(self.numel(), _view_size(sizes, size))
        if not _views_as(self.data, shape):
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return self.reshape(shape)

    def data_ptr(self):
        return data_pointer(self.data)

    def storage_offset(self):
        """torch's: where the tensor starts in the memory it views, in its own elements."""
        return (self.data_ptr() - data_pointer(memory_owner(self.data))) // self.dtype.itemsize

    def _bits_as(self, dtype):
        """torch's view(dtype): the array's bytes read as `dtype`, a tensor that shares them and is no part of the
        graph, as torch's; the last dim scales by the ratio of the item sizes, which must then be laid out
        contiguously and fit, with torch's errors."""
        source, ratio = self.dtype, dtype.itemsize / self.dtype.itemsize
        if ratio != 1:
            why = f"to view {SCALAR_TYPE_NAMES[source]} as {SCALAR_TYPE_NAMES[dtype]} (different element sizes)"
            if self.ndim == 0:
                raise RuntimeError(f"self.dim() cannot be 0 {why}")
            if self.shape[-1] != 1 and self.data.strides[-1] != source.itemsize:
                raise RuntimeError(f"self.stride(-1) must be 1 {why}, but got {self.stride(-1)}")
            if ratio > 1 and self.shape[-1] % ratio:
                raise RuntimeError(f"self.size(-1) must be divisible by {int(ratio)} {why}, but got {self.shape[-1]}")
            if ratio > 1 and self.storage_offset() % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {int(ratio)} {why}, but got "
                                   f"{self.storage_offset()}")
        return Tensor(self.data.view(dtype))

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        """The tensor tiled sizes[i] times along dim i, as torch's (more sizes than dims add leading dims)."""
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                               "of tensor")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        repeated = [count * size for count, size in zip(sizes, shape)]
        if min(repeated, default=0) < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(repeated)}: {repeated}")
        interleaved = [n for size in shape for n in (1, size)]  # a new dim of 1 ahead of each, to expand
        tiles = [n for count, size in zip(sizes, shape) for n in (count, size)]
        return self.reshape(interleaved).expand(tiles).reshape(repeated)

    def narrow(self, dim, start, length):
        """`length` entries along `dim` from `start` (negative counts from the end), as torch's."""
        dim = normalize_dim(dim, self.ndim)
        size = self.shape[dim]
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        start = start + size if start < 0 else start
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def split(self, split_size_or_sections, dim=0):
        """Pieces along `dim`: of split_size_or_sections each (the last may be smaller), or of the sizes it lists."""
        if not isinstance(split_size_or_sections, numbers.Integral):  # torch's errors of torch.split_with_sizes
            return function_form("split_with_sizes")(self, split_size_or_sections, dim)
        size, step = self.shape[normalize_dim(dim, self.ndim)], split_size_or_sections
        if step < 0 or (step == 0 and size):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        return self.split_with_sizes([min(step, size - start) for start in range(0, size, step)] if step else [0], dim)

    @checked_arguments(split_sizes=int_tuple_argument, dim=int_argument)
    def split_with_sizes(self, split_sizes, dim=0):
        """Pieces along `dim` of the sizes listed, views, as torch's."""
        sections = list(split_sizes)
        size = self.shape[normalize_dim(dim, self.ndim)]
        if min(sections, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                               f"split_sizes={sections}")
        if sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sections}")
        starts = itertools.accumulate(sections, initial=0)
        return tuple(self.narrow(dim, start, length) for start, length in zip(starts, sections))

    def chunk(self, chunks, dim=0):
        """`chunks` pieces of equal size along `dim` (ceil(size / chunks), the last smaller), or fewer, as torch's."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = self.shape[normalize_dim(dim, self.ndim)]
        if size == 0:  # torch gives `chunks` empty pieces then
            return tuple(self.narrow(dim, 0, 0) for _ in range(chunks))
        return self.split(-(-size // chunks), dim)

    def unbind(self, dim=0):
        """The slices along `dim`, that dim removed, as a tuple."""
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        dim = normalize_dim(dim, self.ndim)
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    def flip(self, *dims):
        if not dims:
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        return ops.Flip.apply(self, dims=normalize_dims(_sizes(dims), self.ndim))

    def roll(self, shifts, dims=None):
        """Entries moved `shifts` places along `dims` (the last ones wrapping to the front); without dims, along
        the flattened tensor, its shape kept, as torch's."""
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts, dims = (tuple(x) if isinstance(x, (tuple, list)) else (x,) for x in (shifts, dims))
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        out = self
        for shift, dim in zip(shifts, dims):
            size = self.shape[normalize_dim(dim, self.ndim)]
            shift = shift % size if size else 0
            if shift:
                out = ops.Cat.apply(out.narrow(dim, size - shift, shift), out.narrow(dim, 0, size - shift), dim=dim)
        return out

    def masked_fill(self, mask, value):
        """`value` (a number or a 0-d tensor) where the bool `mask` holds, broadcast together, in self's dtype."""
        _require_masked_fill_arguments(mask, value)
        return self._overwritten(mask, value)

    def _overwritten(self, mask, value):
        """`value` (cast to self's dtype) where `mask` holds, else self: the gradient of the places written goes to
        value, none to self's values there."""
        return where(mask, self._fill_value(value), self)

    def _fill_value(self, value):
        """A number or a 0-d tensor as a 0-d tensor of this one's dtype and device (differentiably cast)."""
        if isinstance(value, Tensor):
            return value.to(self.device).to(self.dtype)
        return Tensor(get_array_module(self.data).asarray(converted_scalar(value, self.dtype)))

    def masked_fill_(self, mask, value):
        """Into an expanded tensor too, as torch's, with its deprecation warning (see _fill_shared_memory). A mask
        that does not broadcast is torch's error, which names this tensor first, where masked_fill names the mask."""
        _require_masked_fill_arguments(mask, value)

        def filled(tensor, value):
            require_broadcastable(tuple(self.shape), tuple(mask.shape))
            return tensor.masked_fill(mask, value)

        if has_internal_overlap(self.data):
            return self._fill_shared_memory("masked_fill_", lambda written: filled(written, True), value)
        return self._in_place(lambda tensor, _: filled(tensor, value), None)

    def index_fill_(self, dim, index, value):
        """Into an expanded tensor too, as torch's, with its deprecation warning (see _fill_shared_memory)."""
        if has_internal_overlap(self.data):
            _require_index_fill_arguments(index, value)
            return self._fill_shared_memory("index_fill_", lambda written: written.index_fill(dim, index, True), value)
        return self._in_place(lambda tensor, _: tensor.index_fill(dim, index, value), None)

    def _fill_shared_memory(self, op_name, fill, value):
        """masked_fill_ or index_fill_ (`op_name`) of `value` into this tensor, whose elements share memory, as an
        expanded tensor's do: torch fills each memory location that any element filled refers to (so every element
        that shares it changes), and warns that this is deprecated, once it has checked the dtypes of its arguments
        and before the rest. fill(bools) is the op, out of place, on a bool tensor of this one's shape, to mark the
        elements filled (checking the rest of its arguments as the op does). The gradient is torch's: see
        ops.FillOfSharedMemory."""
        self._refuse_a_recorded_write_into_a_leaf()
        warnings.warn(f"Use of {op_name} on expanded tensors is deprecated. Please clone() the tensor before "
                      "performing this operation. This also applies to advanced indexing e.g. tensor[mask] = scalar",
                      UserWarning, stacklevel=caller_outside_package()[1])
        written = fill(Tensor(get_array_module(self.data).zeros(self.shape, bool)))
        self._require_output_shape(written.shape)
        fills = written.data.sum(axis=shared_dims(self.data), keepdims=True)
        self[distinct_elements_index(self.data)]._in_place(
            lambda part, value: ops.FillOfSharedMemory.apply(part, value, fills=fills), self._fill_value(value))
        return self

    def gather(self, dim, index):
        """out[i][j][k] = self[i][index[i][j][k]][k] for dim 1, as torch's (index an int64 or int32 tensor)."""
        return ops.Gather.apply(self, index, dim=dim)

    def index_select(self, dim, index):
        """The entries at `index` (a 1-d integer tensor) along `dim`, in its order, repeats allowed."""
        dim = normalize_dim(dim, self.ndim)
        if index.dtype not in (np.int32, np.int64):
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        if self.ndim == 0 and index.numel() != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.numel()} value(s)")
        size = self.shape[dim] if self.ndim else 1
        if self.ndim < 2 or dim != 1 and self.numel():  # torch's CPU kernel words the error by the path it takes
            require_indices(index.data, size, "index out of range in self", IndexError)
        elif size == 0 and index.numel():
            raise RuntimeError("index_select(): self indexing axis dim should be positive")
        else:  # its pass along dim 1, and its check of an empty tensor
            require_indices(index.data, size, f"INDICES element is out of DATA bounds, id={{index}} axis_dim={size}")
        if not self.ndim:
            return self.reshape(())
        return self._indexed((slice(None),) * dim + (index.data.reshape(-1),), "IndexSelectBackward0")

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """Diagonal `offset` of the planes of dims dim1 and dim2, as a last dim: a view, as torch's."""
        first, second = normalize_dim(dim1, self.ndim), normalize_dim(dim2, self.ndim)
        if first == second:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return self._viewed(ops.Diagonal.apply(self, offset=offset, dim1=first, dim2=second),
                            lambda array: diagonal_view(array, offset, first, second))

    @checked_arguments(dimension=int_argument, size=int_argument, step=int_argument)
    def unfold(self, dimension, size, step):
        """The windows of `size` entries along `dimension`, `step` apart, in its place, each window's entries along
        a new last dim: a view, as torch's, so that a write into it changes this tensor (an element that overlapping
        windows share takes one of the values written there). nn.functional.unfold is another op (image patches)."""
        dimension = normalize_dim(dimension, self.ndim)
        return self._viewed(ops.UnfoldWindows.apply(self, dimension=dimension, size=size, step=step),
                            lambda array: window_view(array, dimension, size, step))

    @checked_arguments(size=int_tuple_argument, stride=int_tuple_argument, storage_offset=int_argument)
    def as_strided(self, size, stride, storage_offset=None):
        """torch's as_strided of this tensor read as contiguous, row by row: entry i of the result is element
        storage_offset + sum(i[k] * stride[k]) of the flattened tensor (strides in elements), as torch reads the
        storage of a contiguous tensor, and a view of it, as torch's. Where torch reads the storage itself, minigrad
        does not: a non-contiguous tensor (a transposed view) is read in its row-major order, not its storage's,
        and a copy; the offset (0 for None) and the bounds count from the tensor's first element and its size, not
        its storage's, which differ for a slice given an explicit offset."""
        offset = storage_offset or 0
        return self._viewed(ops.AsStrided.apply(self, size=size, stride=stride, storage_offset=offset),
                            lambda array: strided_view(array, size, stride, offset))

    def diag(self, diagonal=0):
        """A 1-d tensor as diagonal `diagonal` of a square matrix; a matrix's diagonal `diagonal`, a copy (where
        diagonal() is a view), as torch's."""
        if self.ndim == 1:
            return ops.DiagEmbed.apply(self, offset=diagonal, dim1=0, dim2=1)
        if self.ndim != 2:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        return self.diagonal(diagonal).clone()

    @autocasts({"cpu": "float32"})
    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def tril(self, diagonal=0):
        """The entries on and below diagonal `diagonal` of the last two dims (each matrix of a batch), the rest 0."""
        return self._triangle(ops.Tril, diagonal)

    def triu(self, diagonal=0):
        """The entries on and above diagonal `diagonal` of the last two dims (each matrix of a batch), the rest 0."""
        return self._triangle(ops.Triu, diagonal)

    def _triangle(self, op, diagonal):
        if self.ndim < 2:
            raise RuntimeError(f"{op.__name__.lower()}: input tensor must have at least 2 dimensions")
        return op.apply(self, diagonal=diagonal)

    def outer(self, vec2):
        """The outer product of two 1-d tensors, promoted as a product, as torch's."""
        for role, tensor in (("self", self), ("vec2", vec2)):
            if tensor.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {role}, but got {tensor.ndim}-D")
        return self.unsqueeze(1) * vec2

    ger = outer

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        """Each entry `repeats` times in a row (an int, or a tensor of one count per entry) along `dim`, or along
        the flattened tensor without it, as torch's. Of counts alone (torch.repeat_interleave(counts)), each
        count's index repeated that often."""
        if repeats is None:
            return Tensor(_interleaved_positions(self, self.numel(), self.data, 0).astype(self.dtype))
        source = self.flatten() if dim is None else self
        axis = normalize_dim(0 if dim is None else dim, source.ndim)
        positions = _interleaved_positions(repeats, source.shape[axis], source.data, axis)
        return source.index_select(axis, Tensor(positions))

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """self with src's entries (a tensor, or a number `value`, by position or keyword) written at `index` along
        `dim`, as torch's: out[i][index[i][j]] = src[i][j] for dim 1; the adjoint of gather. Where an index
        repeats, which write wins is unspecified, as in torch."""
        if reduce is not None:
            raise NotImplementedError("scatter(reduce=...) is not supported: use scatter_add for reduce='add'")
        if (src is None) == (value is None):
            raise TypeError("scatter() takes a src tensor or a value, one of them")
        if not isinstance(src, Tensor):
            src = self.new_full(index.shape, src if value is None else value)
        return ops.Scatter.apply(self, src, index, dim=dim)

    @autocasts({"cuda": "promote"})
    def scatter_add(self, dim, index, src):
        """self with src's entries added at `index` along `dim` (repeats accumulate), as torch's."""
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
        return ops.Scatter.apply(self, src, index, dim=dim, add=True)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """self with src's entries reduced into it at `index` along `dim` by "sum", "prod", "mean", "amax" or
        "amin" (see ops.ScatterReduce; "max" and "min" are amax and amin, as torch takes them too), as torch's."""
        reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
        return ops.ScatterReduce.apply(self, tensor_only("scatter_reduce", src, position=3, role="src"), index,
                                       dim=dim, reduce=reduce, include_self=include_self)

    def index_add(self, dim, index, source, *, alpha=1):
        """self with alpha * source's slices along `dim` added at the positions `index` (a vector) lists, repeats
        accumulating, as torch's: scatter_add with index spread over source's shape."""
        dim = normalize_dim(dim, self.ndim)
        if index.ndim > 1:
            raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                             f"{SCALAR_TYPE_NAMES[index.dtype]} and size: {list(index.shape)}")
        if index.dtype not in (np.int32, np.int64):
            raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                               f"{SCALAR_TYPE_NAMES[index.dtype]}")
        self._require_source(source, dim, index, (
            RuntimeError, f"index_add_(): self ({SCALAR_TYPE_NAMES[self.dtype]}) and source "
                          f"({SCALAR_TYPE_NAMES[source.dtype]}) must have the same scalar type"), (
            RuntimeError, "source tensor shape must match self tensor shape, excluding the specified dimension. Got "
                          f"self.shape = {list(self.shape)} source.shape = {list(source.shape)}"), (
            RuntimeError, f"index_add_(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                          f"({_size_along(source, dim)}), for dim: {dim}"))
        return self.scatter_add(dim, self._spread_index(index, dim, source.shape), source * alpha if alpha != 1
                                else source)

    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        """self with source's slices along `dim` reduced by "prod", "mean", "amax" or "amin" into the positions
        `index` (a vector) lists, as torch's: scatter_reduce with index spread over source's shape."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                               f"{reduce}.")
        dim = normalize_dim(dim, self.ndim)
        return self.scatter_reduce(dim, self._spread_index(index, dim, source.shape), source, reduce,
                                   include_self=include_self)

    def _scattered(self, src, index, slice_shape):
        """A copy of self with src written at `index` (of the tensor whose shape is slice_shape), torch's *_scatter;
        both get their gradients through the assignment."""
        if tuple(src.shape) != tuple(slice_shape):
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                               f"slice size = {list(slice_shape)}")
        out = self.clone()
        out[index] = src
        return out

    def select_scatter(self, src, dim, index):
        """A copy of self with src as its select(dim, index)."""
        return self._scattered(src, (slice(None),) * normalize_dim(dim, self.ndim) + (index,),
                               self.select(dim, index).shape)

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        """A copy of self with src as its slice start:end:step along dim."""
        index = (slice(None),) * normalize_dim(dim, self.ndim) + (slice(start, end, step),)
        return self._scattered(src, index, self[index].shape)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        """A copy of self with src as its diagonal(offset, dim1, dim2), the diagonal's dim last in src, as torch's."""
        moved = self.movedim((dim1, dim2), (-2, -1))
        diagonal_shape = moved.diagonal(offset, -2, -1).shape
        rows = np.arange(diagonal_shape[-1]) - min(offset, 0)
        out = moved._scattered(src, (..., rows, rows + offset), diagonal_shape)
        return out.movedim((-2, -1), (dim1, dim2))

    def index_copy(self, dim, index, source):
        """self with source's slices along `dim` written at the positions `index` (an int64 vector) lists, as
        torch's: scatter with index spread over source's shape."""
        dim = normalize_dim(dim, self.ndim)
        if index.dtype != np.int64:
            raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                               f"{SCALAR_TYPE_NAMES[index.dtype]}")
        if index.ndim > 1:
            raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
        slices = [" ".join(str(n) for axis, n in enumerate(t.shape) if axis != dim) for t in (self, source)]
        self._require_source(source, dim, index, (
            RuntimeError, f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                          f"{SCALAR_TYPE_NAMES[self.dtype]} and (source) {SCALAR_TYPE_NAMES[source.dtype]}"), (
            RuntimeError, "index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                          f"shape: {slices[0]} at dimension {dim} and source slice shape: {slices[1]} at dimension "
                          "0."), (
            IndexError, f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                        f"({_size_along(source, dim)})"))
        size = _size_along(self, dim)
        require_indices(index.data, size, f"index_copy_(): index {{index}} is out of bounds for dimension {dim} "
                                          f"with size {size}", IndexError)
        return self.scatter(dim, self._spread_index(index, dim, source.shape), source)

    def index_fill(self, dim, index, value):
        """self with `value` (a number or a 0-d tensor, which gets the gradient) at the positions `index` (an int64
        vector) lists along `dim`, as torch's."""
        dim = normalize_dim(dim, self.ndim)
        _require_index_fill_arguments(index, value)
        if index.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
        if self.ndim == 0:  # its one place, as a 1-d tensor's
            return self.reshape(1).index_fill(dim, index, value).reshape(())
        size = _size_along(self, dim)
        require_indices(index.data, size, f"index {{index}} is out of bounds for dimension {dim} with size {size}",
                        IndexError, negatives=True)
        index = Tensor(get_array_module(index.data).unique(index.data % size))  # a place filled twice is filled once
        shape = self.shape[:dim] + (index.numel(),) + self.shape[dim + 1:]
        src = value.to(self.device).to(self.dtype).expand(shape) if isinstance(value, Tensor) else \
            self.new_full(shape, value)
        return self.scatter(dim, self._spread_index(index, dim, shape), src)

    @autocasts({"cuda": "promote"})
    def index_put(self, indices, values, accumulate=False):
        """self with values (a tensor of self's dtype, broadcast) written at self[indices], or added there with
        accumulate=True (a place indexed twice gets both), as torch's; indices is a tuple of index tensors."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put(): argument 'indices' (position 1) must be tuple of Tensors, not "
                            f"{type(indices).__name__}")
        tensor_only("index_put_", values, position=2, role="values")
        index = tuple(indices)
        self._require_index_put_shape(index, values)
        self._require_index_put_value(index, values, accumulate)
        return ops.SetItem.apply(self, values, index=index, accumulate=accumulate or None)

    def _require_index_put_value(self, index, value, accumulate=False):
        """torch's refusals of a tensor value written at self[index] through index_put_ (an index of tensors, see
        index_put_kind): one number on the host filling a mask is refused where self's dtype cannot hold it, any
        other value where it is of another dtype (or, first, of a shape that does not broadcast)."""
        kind = index_put_kind(index)
        if kind == "mask" and not accumulate and value.numel() == 1 and value.is_cpu:
            converted_scalar(value.item(), self.dtype)
        elif kind is not None and value.dtype != self.dtype:
            self._require_index_put_shape(index, value)
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                               f"{SCALAR_TYPE_NAMES[self.dtype]} for the destination and "
                               f"{SCALAR_TYPE_NAMES[value.dtype]} for the source.")

    def _require_index_put_shape(self, index, value):
        with no_grad():
            shape = self[index].shape
        if broadcast_mismatch(shape, value.shape) is not None or np.broadcast_shapes(shape, value.shape) != shape:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(shape)}")

    def put(self, index, source, accumulate=False):
        """self, as if flattened, with source's entries written (or added, with accumulate=True) at the int64
        positions `index` (negative ones from the end), as torch's."""
        if index.dtype != np.int64:
            raise RuntimeError(f"put_(): Expected a long tensor for index, but got {SCALAR_TYPE_NAMES[index.dtype]}")
        if source.dtype != self.dtype:
            raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                               f"{SCALAR_TYPE_NAMES[self.dtype]} and source.dtype = {SCALAR_TYPE_NAMES[source.dtype]}")
        if source.numel() != index.numel():
            raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                             f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
        size = self.numel()
        if not size and index.numel():
            raise IndexError("put_(): Tried to put elements into an empty tensor")
        require_indices(index.data, size, f"out of range: tried to access index {{index}} on a tensor of {size} "
                                          "elements.", IndexError, negatives=True)
        return self.reshape(-1).index_put((index.reshape(-1),), source.reshape(-1), accumulate).reshape(self.shape)

    def masked_scatter(self, mask, source):
        """self (broadcast with the bool mask) with source's first entries, in row-major order, written where
        the mask holds, as torch's; source gets the gradient of those it gave."""
        if mask.dtype != bool:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                               f"{SCALAR_TYPE_NAMES[mask.dtype]}")
        if source.dtype != self.dtype:
            raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                               f"{SCALAR_TYPE_NAMES[self.dtype]} and {SCALAR_TYPE_NAMES[source.dtype]}")
        require_broadcastable(self.shape, mask.shape)
        shape = np.broadcast_shapes(self.shape, mask.shape)
        mask = mask.expand(*shape)
        count = int(mask.count_nonzero())
        if count > source.numel():
            raise RuntimeError("Number of elements of source < number of ones in mask")
        return self.expand(*shape).index_put((mask,), source.reshape(-1)[:count])

    def fill_diagonal_(self, fill_value, wrap=False):
        """self with fill_value on its main diagonal (entries [i, i, ...]), in place, as torch's: all of self's
        dims of one length, but a tall matrix's, whose diagonal starts again below a gap row with wrap=True."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        xp = get_array_module(self.data)
        if self.ndim > 2 and len(set(self.shape)) > 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        rows, columns = self.shape[0], self.shape[-1]
        if self.ndim == 2 and wrap and rows > columns:
            places = xp.arange(0, self.numel(), columns + 1)
            index = (places // columns, places % columns)
        else:
            index = (xp.arange(min(self.shape)),) * self.ndim
        self[tuple(Tensor(i) for i in index)] = _python_number(fill_value)
        return self

    def _require_source(self, source, dim, index, wrong_dtype, wrong_shape, wrong_count):
        """index_add's and index_copy's checks of source, each failure its (exception type, message) pair: source
        has self's dtype, and self's shape but along `dim`, where it has one slice per entry of index."""
        shaped = source.ndim == self.ndim and all(n == m for axis, (n, m) in enumerate(zip(source.shape, self.shape))
                                                  if axis != dim)
        for passed, (error, message) in ((source.dtype == self.dtype, wrong_dtype), (shaped, wrong_shape),
                                         (index.numel() == _size_along(source, dim), wrong_count)):
            if not passed:
                raise error(message)

    @staticmethod
    def _spread_index(index, dim, shape):
        """A vector of positions along `dim` as scatter's index of `shape`: the same positions in every slice."""
        xp = get_array_module(index.data)
        along = index.data.reshape((-1,) + (1,) * (len(shape) - dim - 1)) if shape else index.data.reshape(())
        return Tensor(xp.broadcast_to(along.astype(np.int64, copy=False), shape).copy())

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """`dtype` casts before multiplying, as sum's."""
        return ops.Prod.apply(self if dtype is None else self.to(dtype), dim=dim, keepdim=keepdim)

    def cumsum(self, dim, *, dtype=None):
        """`dtype` casts before summing, as sum's."""
        return ops.Cumsum.apply(self if dtype is None else self.to(dtype), dim=dim)

    def any(self, dim=None, keepdim=False):
        """Whether any entry (along `dim`) is non-zero: a bool tensor, outside the graph."""
        return self._test_entries("any", dim, keepdim)

    def all(self, dim=None, keepdim=False):
        """Whether every entry (along `dim`) is non-zero: a bool tensor, outside the graph."""
        return self._test_entries("all", dim, keepdim)

    def _test_entries(self, name, dim, keepdim):
        axes = None if dim is None else normalize_dims(dim, self.ndim)
        return Tensor(getattr(get_array_module(self.data), name)(self.data, axis=axes, keepdims=keepdim))

    def norm(self, p=2, dim=None, keepdim=False):
        """The vector p-norm over `dim` (all for None): p a number, inf or -inf, or "fro" (2); or the nuclear norm
        ("nuc") of the matrices over the two dims `dim` (the only two, for None), as torch's."""
        if p == "nuc":
            return linalg.matrix_norm(self, p, tuple(range(self.ndim)) if dim is None else dim, keepdim)
        if isinstance(p, str) and p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        return ops.Norm.apply(self, p=2 if p == "fro" else p, dim=dim, keepdim=keepdim)

    def logsumexp(self, dim, keepdim=False):
        return ops.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=(), keepdim=False):
        """The maximum over `dim` (all for ()), its gradient shared evenly by ties, as torch's."""
        return ops.Amax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=(), keepdim=False):
        """The minimum over `dim` (all for ()), its gradient shared evenly by ties, as torch's."""
        return ops.Amin.apply(self, dim=dim, keepdim=keepdim)

    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) along `dim`, as torch's: stable whatever `stable` says (ties keep their order), NaN as
        the largest value; the gradient goes back to the places the values came from."""
        return self._picked(dim, sort_indices(self.data, dim, descending))

    def argsort(self, dim=-1, descending=False, *, stable=False):
        """The indices of sort(), as torch's."""
        return Tensor(sort_indices(self.data, dim, descending))

    def msort(self):
        return self.sort(dim=0).values

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest entries along `dim` (smallest, with largest=False), in order (which
        torch allows for sorted=False too)."""
        if not 0 <= k <= (self.shape[normalize_dim(dim, self.ndim)] if self.ndim else 1):
            raise RuntimeError("selected index k out of range")
        return self._picked(dim, top_indices(self.data, k, dim, largest))

    def _picked(self, dim, indices):
        """(values, indices) of the entries at `indices` along `dim`, as torch's named pair."""
        indices = Tensor(indices)
        return ops.MaxResult(self.gather(dim, indices), indices)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        """sum() with NaNs counted as zeros, which get no gradient, as torch's."""
        counted = where(self.isnan(), 0.0, self) if self.dtype.kind == "f" else self
        return counted.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        """mean() of the entries that are not NaN (NaN where there are none), as torch's."""
        if self.dtype.kind not in "fc":
            raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                               f"{SCALAR_TYPE_NAMES[self.dtype]}")
        return self.nansum(dim, keepdim, dtype=dtype) / (~self.isnan()).sum(dim, keepdim)

    def median(self, dim=None, keepdim=False):
        """The median, the lower of the two middle values, NaN where there is a NaN, as torch's: of all entries
        (its gradient shared evenly by ties), or along `dim` as (values, indices) (the gradient to the index)."""
        if dim is None:
            return ops.Median.apply(self)
        return self._selected("median", dim, keepdim, median_indices)

    def nanmedian(self, dim=None, keepdim=False):
        """median() of the entries that are not NaN (NaN where there are none), as torch's."""
        if dim is None:
            return ops.NanMedian.apply(self)
        return self._selected("nanmedian", dim, keepdim, lambda a, axis: median_indices(a, axis, skip_nan=True))

    def kthvalue(self, k, dim=-1, keepdim=False):
        """(values, indices) of the k-th smallest entries along `dim` (NaN the largest), as torch's."""
        def kth(a, axis):
            if not 1 <= k <= a.shape[axis]:
                raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
            return ranked_indices(a, axis, k - 1)
        return self._selected("kthvalue", dim, keepdim, kth)

    def mode(self, dim=-1, keepdim=False):
        """(values, indices) of the most frequent entries along `dim` (each NaN a value of its own), the smallest
        at a tie of counts, as torch's; the index is the value's last place, as torch's on rows of up to 16 (on
        longer ones torch's is any place of the value). A NaN in a row of up to 16 is placed as torch's sort leaves
        it (see ops.reduce.mode_indices)."""
        return self._selected("mode", dim, keepdim, mode_indices)

    def _selected(self, name, dim, keepdim, indices_along):
        """(values, indices) of one entry per row along `dim`, at the indices (dim kept) that
        `indices_along(array, axis)` picks; the gradient goes to them, as torch's median, kthvalue and mode."""
        if not isinstance(dim, numbers.Integral):
            raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
        axis = normalize_dim(dim, self.ndim)
        rows = self if self.ndim else self.reshape(1)
        if rows.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        values, indices = rows._picked(axis, indices_along(rows.data, axis))
        shape = self.shape[:axis] + ((1,) if keepdim else ()) + self.shape[axis + 1:] if self.ndim else ()
        return ops.MaxResult(values.reshape(shape), Tensor(indices.data.reshape(shape)))

    def cumprod(self, dim, *, dtype=None):
        """Running products along `dim`; the gradient is right at zeros, as torch's."""
        return ops.Cumprod.apply(self if dtype is None else self.to(dtype), dim=dim)

    def logcumsumexp(self, dim):
        return ops.LogCumSumExp.apply(self, dim=dim)

    def cummax(self, dim):
        """(values, indices) of the running maximum along `dim`, as torch's: the last of ties, and from a NaN on,
        NaN at the last NaN so far; the gradient goes to the indices."""
        return self._picked(dim, running_extreme_indices(self.data, dim, largest=True))

    def cummin(self, dim):
        """(values, indices) of the running minimum along `dim`, as cummax()."""
        return self._picked(dim, running_extreme_indices(self.data, dim, largest=False))

    def aminmax(self, *, dim=None, keepdim=False):
        """(min, max) of all entries or along one `dim`, as amin() and amax() (ties share the gradient), as
        torch's."""
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                                   "no identity.")
            dim = ()
        elif self.ndim and self.shape[dim := normalize_dim(dim, self.ndim)] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {dim} to have non-zero size.")
        return ops.AminmaxResult(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The q-th quantiles (q a number or a 1-d tensor, its entries in [0, 1], leading the result) of all
        entries or along `dim`: the sorted entries at rank q * (count - 1), between the two neighbours as
        `interpolation` says (linear, lower, higher, midpoint, nearest); NaN for a row with a NaN; the gradient
        goes to the neighbours, as torch's."""
        return _quantile(self, q, dim, keepdim, interpolation, skip_nan=False)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """quantile() of the entries that are not NaN (NaN where there are none), as torch's."""
        return _quantile(self, q, dim, keepdim, interpolation, skip_nan=True)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The n-th forward difference along `dim`, `prepend` and `append` joined on first (not for n=0, which
        copies the input alone, as torch's); of bools, whether neighbours differ, as torch's."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise RuntimeError(f"order must be non-negative but got {n}")
        parts = [part if part is self else tensor_only("diff", part, None, role)
                 for role, part in (("prepend", prepend), ("input", self), ("append", append)) if part is not None]
        if any(part.ndim != self.ndim for part in parts):
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        axis = normalize_dim(dim, self.ndim)
        if n == 0:  # prepend and append left out, as torch leaves them
            return self.clone()
        out = ops.Cat.apply(*parts, dim=axis) if len(parts) > 1 else self
        for _ in range(min(n, out.shape[axis])):
            size = out.shape[axis]
            later, earlier = out.narrow(axis, 1, size - 1), out.narrow(axis, 0, size - 1)
            out = later != earlier if out.dtype == bool else later - earlier
        return out

    # ---- torch's other shape idioms, each composed of the ones above ---------------------------------------
    def sum_to_size(self, *size):
        """The sum of this tensor over the dims that broadcasting `size` to its shape would expand, in `size`'s
        shape: torch's gradient of an expand (summed as sum() sums, integers to int64); itself where the shapes are
        equal, as torch's."""
        size = _size_argument("sum_to_size", size)
        lead = self.ndim - len(size)
        if lead < 0 or any(n not in (1, m) for n, m in zip(size, self.shape[lead:])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(self.shape)}}}.")
        if size == self.shape:
            return self
        dims = [*range(lead), *(lead + dim for dim, n in enumerate(size) if n != self.shape[lead + dim])]
        return self.sum(dims, keepdim=True).reshape(size)

    def broadcast_to(self, size):
        return self.expand(size)

    def movedim(self, source, destination):
        """Dims `source` moved to places `destination` (ints or sequences of ints), the others kept in order: a view,
        as torch's."""
        source, destination = (tuple(d) if isinstance(d, (tuple, list)) else (d,) for d in (source, destination))
        if len(source) != len(destination):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)} dims) should "
                               f"contain the same number of dims as destination ({list(destination)} dims)")
        moved = {}
        for role, dims in (("source", source), ("destination", destination)):
            axes = [normalize_dim(d, self.ndim) for d in dims]
            if len(set(axes)) != len(axes):
                raise RuntimeError(f"movedim: repeated dim in `{role}` ({list(dims)})")
            moved[role] = axes
        if self.ndim == 0:  # its dim 0 (or -1), as torch lets a 0-d tensor name, moves nothing
            return self._permuted(())
        order = [axis for axis in range(self.ndim) if axis not in moved["source"]]
        for place, axis in sorted(zip(moved["destination"], moved["source"])):
            order.insert(place, axis)
        return self._permuted(tuple(order))

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def select(self, dim, index):
        """The slice at `index` along `dim`, that dim removed: a view, as torch's."""
        axis = normalize_dim(dim, self.ndim)
        size = self.shape[axis]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {dim}")
        return self[(slice(None),) * axis + (index,)]

    def take(self, index):
        """The entries of the flattened tensor at `index` (an int64 tensor, negative counting from the end), in
        index's shape, as torch's."""
        if index.dtype != np.int64:
            raise RuntimeError(f"take(): Expected a long tensor for index, but got {SCALAR_TYPE_NAMES[index.dtype]}")
        count = self.numel()
        if not count and index.numel():
            raise IndexError("take(): tried to take from an empty tensor")
        require_indices(index.data, count, f"out of range: tried to access index {{index}} on a tensor of {count} "
                                           "elements.", IndexError, negatives=True)
        return self.reshape(-1)[index]

    def take_along_dim(self, indices, dim=None):
        """gather along `dim` of self and indices broadcast to each other in the other dims; without dim, of the
        flattened tensor, as torch's."""
        if indices.dtype != np.int64:
            raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                               f"{SCALAR_TYPE_NAMES[indices.dtype]}")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if self.ndim != indices.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                               f"but got {self.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
        axis = normalize_dim(dim, self.ndim)
        own_others, indices_others = (shape[:axis] + (1,) + shape[axis + 1:] for shape in (self.shape, indices.shape))
        require_broadcastable(own_others, indices_others)
        others = np.broadcast_shapes(own_others, indices_others)
        return self.expand(others[:axis] + (self.shape[axis],) + others[axis + 1:]).gather(
            axis, indices.expand(others[:axis] + (indices.shape[axis],) + others[axis + 1:]))

    def tensor_split(self, indices_or_sections, dim=0):
        """Views along `dim`: `sections` pieces as equal as can be (the first ones one longer), or the pieces
        between the listed indices (clamped to the size), as torch's."""
        if isinstance(indices_or_sections, Tensor):
            if indices_or_sections.ndim > 1:
                raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                                   f"one-dimensional tensor, but got a tensor with {indices_or_sections.ndim} dims")
            indices_or_sections = indices_or_sections.tolist()
        axis = normalize_dim(dim, self.ndim)
        size = self.shape[axis]
        if isinstance(indices_or_sections, numbers.Integral):
            sections = indices_or_sections
            if sections <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
            longer, length = size % sections, size // sections
            indices = [i * length + min(i, longer) for i in range(1, sections)]
        else:
            indices = list(indices_or_sections)
        bounds = [0] + [min(max(i + size if i < 0 else i, 0), size) for i in indices] + [size]
        return tuple(self.narrow(axis, start, max(end - start, 0)) for start, end in zip(bounds, bounds[1:]))

    def _split_at(self, name, dim, least_ndim, indices_or_sections):
        """hsplit, vsplit and dsplit: tensor_split along `dim`, into sections that must be equal, as torch's."""
        if self.ndim < least_ndim:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {least_ndim} dimension, but got a tensor "
                               f"with {self.ndim} dimensions!")
        if isinstance(indices_or_sections, numbers.Integral) and (
                indices_or_sections == 0 or self.shape[dim] % indices_or_sections):
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{self.shape[dim]} is not divisible by the split_size {indices_or_sections}!")
        return self.tensor_split(indices_or_sections, dim)

    def hsplit(self, indices_or_sections):
        return self._split_at("hsplit", 1 if self.ndim > 1 else 0, 1, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return self._split_at("vsplit", 0, 2, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return self._split_at("dsplit", 2, 3, indices_or_sections)

    def tile(self, *dims):
        """repeat() with leading 1s added to `dims` where it has fewer than the tensor has dims, as torch's."""
        dims = _sizes(dims)
        return self.repeat(*(1,) * (self.ndim - len(dims)), *dims)

    def rot90(self, k=1, dims=(0, 1)):
        """Rotated k quarter turns from dims[0] toward dims[1], as torch's."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        first, second = (normalize_dim(d, self.ndim) for d in dims)
        if first == second:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
        turns = k % 4
        if turns == 0:
            return self.clone()
        if turns == 2:
            return self.flip(first, second)
        return self.flip(second if turns == 1 else first).transpose(first, second)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """The last dim on diagonal `offset` of new (dim1, dim2) planes of zeros, as torch's."""
        first, second = normalize_dim(dim1, self.ndim + 1), normalize_dim(dim2, self.ndim + 1)
        if first == second:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return ops.DiagEmbed.apply(self, offset=offset, dim1=first, dim2=second)

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    # ---- torch's in-place methods: through _in_place, as the in-place operators ----------------------------
    mul_, pow_ = __imul__, __ipow__

    (exp_, log_, sqrt_, abs_, relu_, sigmoid_, tanh_, clamp_, clamp_min_, clamp_max_, tril_, triu_, scatter_,
     scatter_add_, scatter_reduce_, index_add_, index_copy_, index_put_, index_reduce_, put_, masked_scatter_) = map(
        in_place_version, (exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, clamp_min, clamp_max, tril, triu, scatter,
                           scatter_add, scatter_reduce, index_add, index_copy, index_put, index_reduce, put,
                           masked_scatter))
    (floor_, ceil_, round_, trunc_, frac_, reciprocal_, sign_, sgn_, square_, fmod_, lerp_, div_, sin_, cos_, log1p_,
     expm1_, rsqrt_, add_, sub_, addcmul_, addcdiv_) = map(in_place_version, (
        floor, ceil, round, trunc, frac, reciprocal, sign, sgn, square, fmod, lerp, div, sin, cos, log1p, expm1, rsqrt,
        add, sub, addcmul, addcdiv))
    (acos_, asin_, atan_, acosh_, asinh_, atanh_, arccos_, arcsin_, arctan_, arccosh_, arcsinh_, arctanh_, cosh_, sinh_,
     tan_, erf_, erfc_, exp2_, i0_, log2_, log10_, logit_, sinc_, fix_, absolute_, deg2rad_, rad2deg_, ldexp_, gcd_,
     lcm_, polygamma_, mvlgamma_, igamma_, igammac_, xlogy_, nan_to_num_, clip_) = map(in_place_version, (
        acos, asin, atan, acosh, asinh, atanh, arccos, arcsin, arctan, arccosh, arcsinh, arctanh, cosh, sinh, tan, erf,
        erfc, exp2, i0, log2, log10, logit, sinc, fix, absolute, deg2rad, rad2deg, ldexp, gcd, lcm, polygamma, mvlgamma,
        igamma, igammac, xlogy, nan_to_num, clip))
    neg_, remainder_, floor_divide_ = (in_place_version(function, name) for function, name in (
        (neg, "neg"), (remainder, "remainder"), (floor_divide, "floor_divide")))  # operators' names are dunders
    negative_ = neg_
    bitwise_and_, bitwise_or_, bitwise_xor_, bitwise_left_shift_, bitwise_right_shift_ = (
        __iand__, __ior__, __ixor__, __ilshift__, __irshift__)
    bitwise_not_, logical_not_, logical_and_, logical_or_, logical_xor_ = map(in_place_version, (
        bitwise_not, logical_not, logical_and, logical_or, logical_xor))

    def t_(self):
        if self.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose_(0, -1)

    def transpose_(self, dim0, dim1):
        dim0, dim1 = normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim)
        swap = (lambda array: array.swapaxes(dim0, dim1)) if self.ndim else None
        return self._restrided(lambda tensor: tensor.transpose(dim0, dim1), swap, swap)

    swapaxes_ = swapdims_ = transpose_

    def squeeze_(self, dim=None):
        return self._restrided(lambda tensor: tensor.squeeze(dim))

    def unsqueeze_(self, dim):
        return self._restrided(lambda tensor: tensor.unsqueeze(dim))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Values drawn from U(a, b) by minigrad's generator, as nn.init.uniform_ (torch's `from`, `to`)."""
        return self._drawn_in_place(nn_init.uniform_, a, b, generator=generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Values drawn from N(mean, std) by minigrad's generator, as nn.init.normal_."""
        return self._drawn_in_place(nn_init.normal_, mean, std, generator=generator)

    def random_(self, *bounds, to=None, generator=None):
        """Integers drawn uniformly from [0, to) (`random_(to)`), [from, to) (`random_(from, to)`), or, without
        an upper bound, up to the largest integer the dtype holds exactly (2**24 for float32), as torch's."""
        if len(bounds) > 2:
            raise TypeError(f"random_() takes at most 2 positional bounds, but {len(bounds)} were given")
        low, high = (0, bounds[0]) if len(bounds) == 1 and to is None else (*bounds, to)[:2] if bounds else (0, to)
        if high is None:
            high = (2 ** (np.finfo(self.dtype).nmant + 1) if self.dtype.kind == "f"
                    else 1 if self.dtype == bool else np.iinfo(self.dtype).max) + 1
        return self._drawn_in_place(nn_init.fill_drawn, creation.integer_drawer(low, high, self.dtype, generator))

    def bernoulli_(self, p=0.5, *, generator=None):
        """1 with probability p (a number, or a tensor that broadcasts to this one's shape), else 0."""
        if isinstance(p, Tensor):
            probabilities = to_numpy(p.data)
            if not ((probabilities >= 0) & (probabilities <= 1)).all():
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                                   "message be improved?  If so, please report an enhancement request to PyTorch.)")
            probabilities = np.broadcast_to(probabilities, self.shape)
        elif not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        else:
            probabilities = p
        return self._sampled_in_place(generator, lambda rng, shape: rng.random(shape) < probabilities)

    def bernoulli(self, p=None, *, generator=None):
        """A new tensor of this one's shape and dtype, 1 with probability p, or with this tensor's entries as the
        probabilities without p (their gradient zero), as torch.bernoulli."""
        if p is None and self.dtype.kind != "f":
            raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                      f"'{SCALAR_TYPE_NAMES[self.dtype]}'")
        batching.refuse_batched_parameters(self)
        drawn = batching.drawn_anew(creation.empty_like(self))
        if p is not None:
            return drawn.bernoulli_(p, generator=generator)
        drawn.bernoulli_(self.detach(), generator=generator)
        return ops.Drawn.apply(drawn, self, node_name="BernoulliBackward0")

    def exponential_(self, lambd=1.0, *, generator=None):
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
        self._require_continuous("Exponential", SCALAR_TYPE_NAMES)
        return self._sampled_in_place(generator, lambda rng, shape: rng.exponential(1 / lambd, shape))

    def geometric_(self, p, *, generator=None):
        """The number of Bernoulli(p) trials up to the first success (1, 2, ...), as torch's."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
        return self._sampled_in_place(generator, lambda rng, shape: rng.geometric(p, shape))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
        self._require_continuous("Cauchy", CPP_TYPE_NAMES)
        return self._sampled_in_place(generator, lambda rng, shape: median + sigma * rng.standard_cauchy(shape))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """exp of N(mean, std) values, as torch's."""
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
        if self.dtype.kind != "f":
            raise NotImplementedError(f"\"log_normal_cpu\" not implemented for '{SCALAR_TYPE_NAMES[self.dtype]}'")
        return self._sampled_in_place(generator, lambda rng, shape: rng.lognormal(mean, std, shape))

    def _require_continuous(self, distribution, type_names):
        if self.dtype.kind != "f":
            raise RuntimeError(f"{distribution} distribution is a continuous probability distribution. dtype must be "
                               f"a floating point but you specified {type_names[self.dtype]}")

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """Indices of categories drawn with the probabilities in each row (weights, not necessarily summing to
        1), with or without replacement, int64, as torch.multinomial."""
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        if self.dtype.kind != "f":
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                               f"{SCALAR_TYPE_NAMES[self.dtype]}")
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        if not replacement and num_samples > self.shape[-1]:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        weights = to_numpy(self.data).astype(np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (weights.sum(-1) <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        batching.refuse_batched_parameters(self)
        draws = random.draw_categories(weights.reshape(-1, weights.shape[-1]), num_samples, replacement,
                                       random.generator(generator))
        return Tensor(to_device(draws.reshape(*self.shape[:-1], num_samples), self.device))

    def _sampled_in_place(self, generator, sample):
        """sample(numpy_generator, shape)'s values, drawn by `generator` (minigrad's default one for None)."""
        return self._drawn_in_place(nn_init.fill_drawn, lambda shape: sample(random.generator(generator), shape))

    def _drawn_in_place(self, draw, *params, **options):
        """nn.init's draw written into this tensor, refused for a leaf that requires grad while autograd records,
        as torch's in-place ops."""
        self._refuse_a_recorded_leaf()
        draw(self, *params, **options)
        return self

    def fill_(self, value):
        """A number fills an expanded tensor too, as in torch: its elements that share memory all take that value."""
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        if not isinstance(value, Tensor) and has_internal_overlap(self.data):
            self[distinct_elements_index(self.data)].copy_(value)
            return self
        return self.copy_(value)

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src):
        """src's values (broadcast, cast to self's dtype, from any device) written into self; the gradient
        reaches src."""
        everywhere = Tensor(get_array_module(self.data).ones((), dtype=bool))
        return self._in_place(lambda tensor, src: tensor._overwritten(everywhere, src), src)

    # ---- new tensors of this one's dtype and device, as torch's -------------------------------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return creation.tensor(data, requires_grad, dtype or self.dtype, device or self.device)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        """Batched as this tensor is, inside vmap, as torch's."""
        return batching.marked(creation.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                                             requires_grad=requires_grad), (self,))

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size_argument("new_zeros", size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size_argument("new_ones", size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """torch leaves the values unset; these are zeros."""
        return self.new_full(_size_argument("new_empty", size), 0, dtype, device, requires_grad)

    def type_as(self, other):
        return self.to(other.device).to(other.dtype)


class _ReadOnlyProperty(property):
    """A tensor's property without a setter (shape, is_leaf, grad_fn, retains_grad, ...), refusing to be set or
    deleted with torch's AttributeError rather than Python's."""

    def __init__(self, name, readable):
        super().__init__(readable.fget, doc=readable.__doc__)
        self.name = name

    def __set__(self, tensor, value):
        raise AttributeError(f"attribute '{self.name}' of 'torch._C.TensorBase' objects is not writable")

    def __delete__(self, tensor):
        self.__set__(tensor, None)


for _name, _attribute in list(vars(Tensor).items()):
    if isinstance(_attribute, property) and _attribute.fset is None and _attribute.fdel is None:
        setattr(Tensor, _name, _ReadOnlyProperty(_name, _attribute))
del _name, _attribute


def _c_type_name(value):
    """The name of value's type as Python's C API gives it (tp_name), which torch's messages print: dotted with its
    module for a type written in C outside the builtins (numpy.ndarray, numpy.float32), bare for a builtin and for a
    class written in Python."""
    kind = type(value)
    if kind.__module__ == "builtins" or kind.__flags__ & _HEAP_TYPE:
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made at run time, by a class statement


def _python_number(value):
    """A NumPy scalar (a number made a dtype's) as the Python number it holds, exactly, which t[index] = takes
    where it refuses most NumPy scalars, as torch's; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def _one_element(value):
    """Whether `value` is a number or a tensor of one element."""
    return isinstance(value, numbers.Number) or isinstance(value, Tensor) and value.numel() == 1


def _require_masked_fill_arguments(mask, value):
    """torch's errors for a mask of masked_fill_ that is not bool, and a value of dims."""
    if not isinstance(mask, Tensor) or mask.dtype != bool:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{CPP_TYPE_NAMES.get(getattr(mask, 'dtype', None), type(mask).__name__)}")
    _require_0d_fill_value("masked_fill_", value)


def _require_index_fill_arguments(index, value):
    """torch's errors for an index of index_fill_ that is not int64, and a value of dims."""
    if index.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    _require_0d_fill_value("index_fill_", value)


def _require_0d_fill_value(op_name, value):
    """torch's error for a fill value (of masked_fill_ or index_fill_, `op_name`) that is a tensor of dims."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"{op_name} only supports a 0-dimensional value tensor, but got tensor with {value.ndim} "
                           "dimension(s).")


def _size_along(tensor, dim):
    """The size of `dim`, 1 for a 0-d tensor (as torch's size(dim) of one) or one with fewer dims."""
    return tensor.shape[dim] if dim < tensor.ndim else 1


def _sizes(sizes):
    """Sizes or dims given as separate arguments or as one sequence, as torch's methods take them."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def _size_argument(method, sizes):
    """A method's `size`, given as separate ints or as one sequence (torch's *size), as a tuple, or torch's
    TypeError, also where none is given."""
    if not sizes:
        raise TypeError(f'{method}() missing 1 required positional arguments: "size"')
    return _shape_argument(method, sizes)


def _shape_argument(method, sizes, keyword=_NOT_GIVEN, name="size"):
    """Sizes given as separate ints or as one sequence (torch's *size; none: the empty shape), or by keyword
    (`keyword`), as a tuple, or torch's TypeError for argument `name` of `method`."""
    if keyword is not _NOT_GIVEN:
        if sizes:
            raise TypeError(f"{method}() got multiple values for argument '{name}'")
        return int_tuple_argument(method, name, None, keyword)
    return int_tuple_argument(method, name, 1, _sequence_of(sizes))


def _sequence_of(sizes):
    """Sizes given as separate ints or as one sequence (torch's *size), as the sequence: a lone argument that is no
    int stands for it (to be refused where it is no sequence)."""
    return sizes[0] if len(sizes) == 1 and not _is_int_item(sizes[0], first=True) else sizes


def _view_size(sizes, size):
    """view's sizes, given as reshape's (_shape_argument), as a tuple; torch's TypeError that names the types of
    the arguments where neither of view's forms (sizes, a dtype) takes them: none given, both forms of sizes, no
    sequence of them, or a first one that is no int."""
    sequence = _sequence_of(sizes) if size is _NOT_GIVEN else size
    if ((not sizes) == (size is _NOT_GIVEN) or not isinstance(sequence, (tuple, list))
            or sequence and not _is_int_item(sequence[0], first=True)):
        given = [type(value).__name__ for value in sizes]
        keyword = [] if size is _NOT_GIVEN else [f"size={type(size).__name__}"]
        after = ", " if keyword and not given else ""  # torch's, after keywords alone
        raise TypeError(f"view() received an invalid combination of arguments - got ({', '.join(given + keyword)}"
                        f"{after}), but expected one of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")
    return int_tuple_argument("view", "size", 1 if size is _NOT_GIVEN else None, sequence)


def _views_as(array, shape):
    """Whether `array` can be read as `shape` without a copy, by torch's rule for view (its computeStride): the
    new shape must split or merge only dims that lie back to back in memory (strides in bytes, as NumPy's)."""
    if array.size == 0:
        return True
    old_shape, strides = (array.shape, array.strides) if array.ndim else ((1,), (array.itemsize,))
    view_dim, view_count, chunk_count = len(shape) - 1, 1, 1
    chunk_stride = strides[-1] if strides else array.itemsize
    for dim in reversed(range(len(old_shape))):
        chunk_count *= old_shape[dim]
        if dim == 0 or (old_shape[dim - 1] != 1 and strides[dim - 1] != chunk_count * chunk_stride):
            while view_dim >= 0 and (view_count < chunk_count or shape[view_dim] == 1):
                view_count *= shape[view_dim]
                view_dim -= 1
            if view_count != chunk_count:
                return False
            if dim > 0:
                chunk_stride, chunk_count, view_count = strides[dim - 1], 1, 1
    return view_dim == -1


def _interleaved_positions(repeats, size, like, dim):
    """0..size-1 on `like`'s device, each repeated as `repeats` says (an int, or a tensor of counts: one, or one
    per position), with torch's errors."""
    xp = get_array_module(like)
    if not isinstance(repeats, Tensor):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        return xp.repeat(xp.arange(size), operator.index(repeats))
    if repeats.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if repeats.dtype.kind not in "iu":
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for '{SCALAR_TYPE_NAMES[repeats.dtype]}'")
    counts = repeats.reshape(-1).tolist()  # the output's size, which the host needs
    if len(counts) not in (1, size):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{len(counts)} and input.size({dim}) = {size}")
    if min(counts, default=0) < 0:
        raise RuntimeError("repeats can not be negative")
    return xp.repeat(xp.arange(size), counts[0] if len(counts) == 1 else counts)


def written_out(out, result, op, differentiable=False):
    """`result` written into the out= tensor of torch's `op`, as torch's out= forms do, and out returned: out of
    another shape is resized (torch's deprecation warning where it had elements; a view is not). torch has two kinds:
    a composite function's (tensordot's, differentiable=True) wants out of result's dtype and is recorded as a copy
    into it; a kernel's (div's) casts result to a dtype that can hold it and refuses autograd."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if differentiable:
        if out.requires_grad and out.shape != result.shape:
            raise RuntimeError(f"{op}(): the 'out' tensor was specified and requires gradients, and its shape does "
                               "not match the expected result. Either remove the 'out' argument, ensure it does not "
                               "require gradients, or make sure its shape matches the expected output.")
        if out.dtype != result.dtype:
            raise RuntimeError(f"{op}: Expected the output tensor to have dtype {SCALAR_TYPE_NAMES[result.dtype]}, "
                               f"but got an output tensor with dtype {SCALAR_TYPE_NAMES[out.dtype]}")
    else:
        if is_grad_enabled() and (result.requires_grad or out.requires_grad):
            raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, "
                               "but one of the arguments requires grad.")
        out._require_castable_from(result.dtype)
    if out.shape != result.shape and out._view_of is None:
        if out.numel():
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(result.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                          "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                          "elements with t.resize_(0).", UserWarning, stacklevel=caller_outside_package()[1])
        out.data = get_array_module(out.data).empty(result.shape, out.dtype)
    return out.copy_(result)


def tensor_only(name, other, position=1, role="other"):
    """torch's TypeError where an op takes a tensor (`other`, or the argument `role`) and no number (atan2, hypot,
    fmax, ...): `position` 1 in the method, 2 in the function, None for an argument torch names alone."""
    if not isinstance(other, Tensor):
        where = "" if position is None else f" (position {position})"
        raise TypeError(f"{name}(): argument '{role}'{where} must be Tensor, not {type(other).__name__}")
    return other


def _matmul(a, b):
    """torch.matmul on top of the batched MatMul: a 1-d left operand is a row (1, n), a 1-d right one a column
    (n, 1), and the dim so added is dropped from the product (1-d @ 1-d is the 0-d dot product)."""
    if not isinstance(a, Tensor):
        a = Tensor(a, device=b.device)
    if not isinstance(b, Tensor):
        b = Tensor(b, device=a.device)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    try:
        out = ops.MatMul.apply(a.unsqueeze(0) if a.ndim == 1 else a, b.unsqueeze(-1) if b.ndim == 1 else b)
    except OperandsMismatch:
        raise RuntimeError(torch_matmul_error(a, b)) from None
    if a.ndim > 1 and b.ndim > 1:
        return out
    rows = out.shape[-2:-1] if a.ndim > 1 else ()
    columns = out.shape[-1:] if b.ndim > 1 else ()
    return out.reshape(out.shape[:-2] + rows + columns)


def _variance_params(name, dim, unbiased, keepdim, correction):
    """var's and std's arguments in torch's three forms: (dim, unbiased, keepdim), (dim, *, correction, keepdim)
    and (unbiased), as Var's parameters."""
    if isinstance(dim, bool):  # var(False): torch's var(unbiased)
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None or not isinstance(unbiased, bool):
            raise TypeError(f"{name}() takes a bool unbiased or a number correction (keyword only), not both")
        correction = int(unbiased)
    return {"dim": dim, "correction": 1 if correction is None else correction, "keepdim": keepdim}


QUANTILE_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, skip_nan):
    """quantile() (nanquantile() with skip_nan, which ranks the entries that are not NaN) with torch's checks
    (worded for quantile() in both), of sort and gather, so that the gradient reaches the two neighbours of each
    rank, as torch's."""
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if isinstance(q, Tensor) and q.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.dtype not in (np.float32, np.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor) and q.dtype != input.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if interpolation not in QUANTILE_INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    xp = get_array_module(input.data)
    if isinstance(q, Tensor):
        qs = to_device(q.data, input.device)
        if not xp.all((qs >= 0) & (qs <= 1)):
            raise RuntimeError("quantile() q values must be in the range [0, 1]")
    elif not 0 <= q <= 1:
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
    else:
        qs = xp.asarray(q, dtype=input.dtype)
    rows = input.flatten() if dim is None or not input.ndim else input
    axis = 0 if dim is None else normalize_dim(dim, input.ndim)
    ordered = rows.sort(axis).values  # NaN last
    size = rows.shape[axis]
    numbers = count_numbers(rows.data, axis)
    undefined = numbers == 0 if skip_nan else numbers < size
    ranks = xp.where(undefined, size - 1, qs.reshape((-1,) + (1,) * rows.ndim) * (numbers - 1)).astype(input.dtype)
    rounded = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}.get(interpolation)
    if rounded is not None:
        ranks = rounded(ranks)
    stacked = ordered.unsqueeze(0).expand(ranks.shape[0], *ordered.shape)  # ranks: (q, ..., 1 along dim, ...)
    below = stacked.gather(axis + 1, Tensor(xp.floor(ranks).astype(np.int64)))
    if interpolation in ("linear", "midpoint"):
        above = stacked.gather(axis + 1, Tensor(xp.ceil(ranks).astype(np.int64)))
        weights = Tensor(xp.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - xp.floor(ranks))
        below = below.lerp(above, weights)
    if dim is None:
        out_shape = (1,) * input.ndim if keepdim else ()
    else:
        out_shape = input.shape[:axis] + ((1,) if keepdim else ()) + input.shape[axis + 1:] if input.ndim else ()
    return below.reshape(qs.shape + out_shape)


def _shifted_left(a, b):
    """a << b as torch's: 0 where b is negative or not less than a's width in bits (NumPy leaves those to the
    machine)."""
    xp = get_array_module(a)
    outside = (b < 0) | (b >= 8 * a.dtype.itemsize)
    return xp.where(outside, a.dtype.type(0), xp.left_shift(a, xp.where(outside, 0, b).astype(a.dtype)))


def _shifted_right(a, b):
    """a >> b as torch's: a shift by a negative amount or by a's width or more gives the sign (0 or -1)."""
    xp = get_array_module(a)
    widest = 8 * a.dtype.itemsize - 1
    return xp.right_shift(a, xp.where((b < 0) | (b > widest), widest, b).astype(a.dtype))


def where(condition, input=None, other=None):
    """`input` where the bool `condition` holds, else `other`, as torch.where: the three broadcast together,
    input and other promote as an op's operands do (either may be a number: two numbers give their own
    dtype, as in torch), and the gradient reaches each where it was taken. With the condition alone, its
    nonzero(as_tuple=True)."""
    if not isinstance(condition, Tensor):
        condition = Tensor(condition)
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes a condition alone, or a condition, an input and an other")
    if condition.dtype != bool:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{SCALAR_TYPE_NAMES.get(condition.dtype, condition.dtype)}")
    operands = (input, other)
    if all(isinstance(x, numbers.Number) for x in operands):
        dtype = result_type(*operands)
        operands = [Tensor(np.asarray(x, dtype=dtype), device=condition.device) for x in operands]
    for number in operands:  # beside a tensor, one its result dtype cannot hold is torch's error (an op's wraps)
        if isinstance(number, numbers.Real):
            converted_scalar(number, result_type(*operands))
    operands = [x if isinstance(x, (Tensor, numbers.Number)) else Tensor(x, device=condition.device)
                for x in operands]
    return ops.Where.apply(condition, *promote_operands(operands))


def zero_grads(tensors, set_to_none=True):
    """Module.zero_grad and Optimizer.zero_grad, as torch's: drop each gradient, or with set_to_none=False zero
    it in place, so that whoever holds a `.grad` tensor keeps the same object, now all zeros."""
    for tensor in tensors:
        if set_to_none:
            tensor.grad = None
        elif tensor.grad is not None:
            tensor.grad.data.fill(0)


class GraphHandle:
    """What the graph keeps of a non-leaf tensor: the op that made it, shape and dtype, but not its data.

    Nodes hold their non-leaf inputs through these handles, so an intermediate array that no op saved
    for backward is freed as soon as the forward pass drops its tensor, as in PyTorch. `tensor()` gives
    the tensor back while it is alive (to store a retained `.grad`), else None.
    """

    requires_grad = True
    _grad_hooks = None  # register_hook's, once there are any

    def __init__(self, tensor):
        self.creator = tensor.creator
        self.shape = tensor.shape
        self.dtype = tensor.dtype
        self.tensor = weakref.ref(tensor)

    @property
    def _graph_entry(self):
        """As a tensor's: what a node made from this entry records (see function.NotTwiceDifferentiable)."""
        return self

    def forget_tensor(self):
        """The tensor went on to be another op's output (an in-place op): a `.grad` it retains is of that."""
        self.tensor = lambda: None


def topological_order(*roots, needs_grad_only=False):
    """Every tensor that the roots were computed from, each once, inputs before the ops that use them (roots last).

    Leaves come as tensors, the others as their `GraphHandle`. Iterative depth-first search, so graphs
    thousands of ops deep hit no recursion limit.
    """
    order, visited, stack = [], set(), [(root._graph_entry, False) for root in reversed(roots)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.creator is not None:  # an input that needed no gradient then may have got one since (t += w)
            node = tensor.creator
            stack.extend((parent, False)
                         for parent, needed in zip(reversed(node.inputs), reversed(node.input_needs_grad))
                         if id(parent) not in visited and (needed or not needs_grad_only))
    return order


@np.errstate(all="ignore")  # as ops run forward (see Function.apply)
def accumulate_backward(roots, root_grads, retain_graph, inputs=None, create_graph=False):
    """backward()'s walk: the gradients accumulate into every leaf's `.grad`, or, given `inputs`, into those
    tensors' alone, leaves or not, as torch's backward(inputs=...)."""
    if create_graph:
        _warn_of_reference_cycle()
    if inputs is None:
        backpropagate(roots, root_grads, retain_graph, create_graph=create_graph)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    for tensor in inputs:
        if not tensor.is_leaf:  # as torch's: it retains grad from now on, the gradients of later walks added in too
            tensor._retains_grad = True
    found = backpropagate(roots, root_grads, retain_graph, inputs=inputs, after_hooks=True, create_graph=create_graph)
    for tensor in inputs:
        if id(tensor._graph_entry) in found and tensor.is_leaf:  # a non-leaf's is the walk's (it retains grad)
            tensor._accumulate_grad(found[id(tensor._graph_entry)])


_warned_of_reference_cycle = False


def _warn_of_reference_cycle():
    """torch's warning, once per process as its, that backward(create_graph=True) makes the `.grad` it accumulates
    hold a graph that holds the tensor."""
    global _warned_of_reference_cycle
    if not _warned_of_reference_cycle:
        _warned_of_reference_cycle = True
        warnings.warn("Using backward() with create_graph=True will create a reference cycle between the parameter "
                      "and its gradient which can cause a memory leak. We recommend using autograd.grad when "
                      "creating the graph to avoid this. If you have to use this function, make sure to reset the "
                      ".grad fields of your parameters to None after use to break the cycle and avoid the leak.",
                      UserWarning, stacklevel=5)


@np.errstate(all="ignore")  # autograd.grad's walk too
def backpropagate(roots, root_grads, retain_graph, inputs=None, after_hooks=False, create_graph=False):
    """backward's walk (_walk), which an op's backward may run again inside it (a re-entrant checkpoint's does)."""
    with backward_walk(accumulates=inputs is None), function.set_grad_enabled(create_graph or is_grad_enabled()):
        return _walk(roots, root_grads, retain_graph, inputs, after_hooks, create_graph)


def _walk(roots, root_grads, retain_graph, inputs, after_hooks, create_graph):
    """The graph walk of backward() and autograd.grad: the roots' gradients flow back to every tensor they were
    computed from, each op's backward run once, in reverse topological order.

    Without `inputs`, each leaf's gradient accumulates into its `.grad` (and a non-leaf's that retains grad into
    its own), as backward() does. With `inputs` (tensors), only the ops between them and the roots run, no `.grad`
    is touched, and their gradients are returned by id of graph entry (an input the roots do not depend on has none):
    as torch's, after their tensors' hooks, but for autograd.grad's (not after_hooks) where the walk goes on past
    them, which are taken before.

    With create_graph the gradients are tensors (the roots' too), each op's computed by recorded ops (see
    Context.run_recorded_backward) and summed by recorded additions, so they can be differentiated in turn.
    """
    xp = get_array_module(root_grads[0].data if create_graph else root_grads[0])
    order = topological_order(*roots, needs_grad_only=True)
    wanted = None if inputs is None else {id(t._graph_entry) for t in inputs}
    runs = None if wanted is None else _ops_leading_to(order, wanted, wanted_ops_run=after_hooks)
    grads, found = {}, {}
    summed = set()  # keys whose gradient is a sum made here, so it may be added to in place

    def add(key, grad):
        if create_graph:
            grads[key] = grads[key] + grad if key in grads else grad
        elif isinstance(grad, GradientAt):    # zeros but at an index: written into a sum of this key's own
            if key not in grads:
                grads[key] = grad.dense()
            else:
                if key not in summed:
                    grads[key] = grads[key].copy()
                grad.add_into(grads[key])
            summed.add(key)
        elif key not in grads:
            grads[key] = grad               # may be shared with another input: never written to
        elif key in summed:
            parallel.elementwise(xp.add, grads[key], grad, out=grads[key])
        else:
            grads[key] = parallel.elementwise(xp.add, grads[key], grad)
            summed.add(key)

    def pass_on(node, input_grads, needs):
        """The gradients node's backward gave, added to its inputs'. A function of its own, so that no local of the
        walk holds them after: a leaf's first gradient that nothing else holds becomes its `.grad` uncopied."""
        for parent, needed, parent_grad in zip(node.inputs, needs, input_grads):
            if parent_grad is None or not needed:  # as the input was when the op ran (see topological_order)
                continue
            if create_graph:
                parent_grad = parent_grad.sum_to_size(parent.shape).to(parent.dtype)
            elif not isinstance(parent_grad, GradientAt):                   # which is in the parent's shape and dtype
                parent_grad = sum_to_shape(parent_grad, parent.shape).astype(parent.dtype, copy=False)
            add(id(parent), parent_grad)

    for root, grad in zip(roots, root_grads):
        add(id(root._graph_entry), grad)
    while order:  # popping lets each handle go as soon as it is done
        entry = order.pop()
        grad = grads.pop(id(entry), None)
        if grad is None:
            continue
        node = entry.creator
        goes_on = node is not None and (runs is None or id(entry) in runs)
        captured = wanted is not None and id(entry) in wanted
        taken_before_hooks = goes_on and not after_hooks
        if captured and taken_before_hooks:
            found[id(entry)] = grad
        if entry._grad_hooks:
            grad = _hooked(entry._grad_hooks, grad, node or function.AccumulateGrad(entry), create_graph)
        if captured and not taken_before_hooks:
            found[id(entry)] = grad
        if node is None:
            if wanted is None:
                unshared = memory.unshared(grad)  # the walk's own reference to it is this local alone (see pass_on)
                entry._accumulate_grad(grad, unshared)
        elif goes_on or captured:  # as torch's, a non-leaf that retains grad gets the gradient of each walk that
            tensor = entry.tensor()    # runs its op or takes its gradient, autograd.grad's too
            if tensor is not None and tensor._retains_grad:
                tensor._accumulate_grad(grad)
        if not goes_on:
            continue
        needs = node.input_needs_grad if runs is None else _needed_by_walk(node, wanted, runs)
        pass_on(node, _gradients_from(node, grad, entry if create_graph else None, needs), needs)
        if not retain_graph:
            node.free()
    return found


def _needed_by_walk(node, wanted, runs):
    """Which of node's inputs a walk towards the `wanted` entries (through the ops `runs`, see _ops_leading_to) takes
    a gradient from: as torch's engine, an op computes no other (autograd.grad of an input computes no weight's
    gradient), and their tensors' hooks are not run. All that need one where none leads on (backward(inputs=...)
    runs its inputs' own ops)."""
    needs = tuple([needed and (id(parent) in wanted or id(parent) in runs)
                   for parent, needed in zip(node.inputs, node.input_needs_grad)])
    return needs if any(needs) else node.input_needs_grad


def _gradients_from(node, grad, output_entry=None, needs=None):
    """What node's backward gives for `grad`, one gradient (or None) per input (see _checked_gradients), computed
    for the inputs `needs` says (see Context.walk_needs); given the node's `output_entry`, create_graph's recorded
    backward for a tensor `grad`. In anomaly mode, as torch's: a NaN among them is an error where check_nan, and any
    error is first a warning that shows the node's forward call."""
    try:
        if node.freed:
            raise RuntimeError(function.SECOND_BACKWARD)
        if needs is not node.input_needs_grad and not node.function.custom:  # a custom Function's are torch's
            node.walk_needs = needs
        try:
            if output_entry is None:
                gradients = node.run_backward(grad)
            else:
                gradients = node.run_recorded_backward(grad, output_entry)
        finally:
            node.walk_needs = None
        gradients = _checked_gradients(node, gradients, recorded=output_entry is not None)
        if function.anomaly_enabled and function.anomaly_check_nan:
            _refuse_nan(node, gradients)
        return gradients
    except Exception:
        if function.anomaly_enabled:
            node.warn_of_error()
        raise


def _refuse_nan(node, gradients):
    """torch's error for a NaN in a gradient that node's backward gave, which a built-in op gives for the inputs
    that need one and a custom Function's for any."""
    for index, (gradient, needed) in enumerate(zip(gradients, node.input_needs_grad)):
        if gradient is None or not (needed or node.function.custom):
            continue
        values = gradient.grad if isinstance(gradient, GradientAt) else gradient.data if isinstance(gradient, Tensor) \
            else gradient
        if get_array_module(values).isnan(values).any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {index}th output.")


def _hooked(hooks, grad, node, create_graph=False):
    """A gradient (an array; create_graph's tensor) after the hooks registered on its tensor, each given the one
    before's result, recorded where create_graph, as torch's. In anomaly mode, an error is first a warning that
    shows the forward call of `node`, the op that made the tensor (a leaf's AccumulateGrad), whose gradient the hooks
    change, as torch's."""
    with function.errors_warned_of(node), function.set_grad_enabled(create_graph):
        for hook in list(hooks.values()):
            result = hook(grad if create_graph else Tensor(grad))
            if result is not None:
                grad = hook_gradient(getattr(hook, "__name__", repr(hook)), result, grad, as_tensor=create_graph)
    return grad


def hook_gradient(name, result, expected, as_tensor=False):
    """The array of a gradient (the tensor itself, as_tensor) that hook `name` returned in place of one like
    `expected` (of its shape and dtype), with torch's errors where it is something else."""
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    if result.shape != expected.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if result.dtype != expected.dtype:
        was, got = SCALAR_TYPE_NAMES[expected.dtype], SCALAR_TYPE_NAMES[result.dtype]
        raise RuntimeError(f"hook '{name}' has changed the type of value (was torch.{was}Tensor got "
                           f"torch.{got}Tensor)")
    return result if as_tensor else result.data


def _ops_leading_to(order, wanted, wanted_ops_run):
    """The ids of the entries of a topological order whose op has an input from which one of the `wanted` entries
    (ids) can be reached, and where wanted_ops_run, the wanted entries themselves: the only ops that autograd.grad
    runs (backward(inputs=...) runs the ops of its inputs too), as torch's engine. Only these are refused where their
    graph was freed: autograd.grad of a tensor with respect to itself needs none."""
    leads = set()
    for entry in order:
        node = entry.creator
        if node is not None and (wanted_ops_run and id(entry) in wanted or any(
                needed and (id(parent) in wanted or id(parent) in leads)
                for parent, needed in zip(node.inputs, node.input_needs_grad))):
            leads.add(id(entry))
    return leads


from . import creation, function, linalg, ops  # noqa: E402  (they need Tensor defined first)

function.Tensor = Tensor
from .ops.matmul import OperandsMismatch, torch_matmul_error  # noqa: E402
from .ops.reduce import (count_numbers, index_of_extreme, median_indices, mode_indices, ranked_indices,  # noqa: E402
                          running_extreme_indices, sort_indices, top_indices)
from .ops.shape import (INDEX_DTYPE_ERROR, SHARED_MEMORY_WRITE, GradientAt, array_index, diagonal_view,  # noqa: E402
                         distinct_elements_index, expanded_view, has_internal_overlap, index_put_kind, is_basic_index,
                         normalize_dim, normalize_dims, region, require_indices, resolved_shape, shared_dims,
                         strided_view, torch_index, torch_index_steps, window_view)
from .nn import init as nn_init  # noqa: E402
from .nn.module import RemovableHandle  # noqa: E402
