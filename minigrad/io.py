"""Checkpoints on disk: `.npz` save/load, and reading PyTorch `.pth` files without PyTorch.

`save` writes a plain, uncompressed `.npz` (readable by `np.load(..., allow_pickle=False)`),
atomically, so a crash mid-write never destroys the previous checkpoint. Nested dicts, lists
and tuples are stored as a JSON skeleton under `__meta__`, with each array in its own member
`arr_0`, `arr_1`, ... that the skeleton names; ints, floats, strings, bools and None live in the
skeleton. Members are not named by the keys, so that any key round-trips: zip names cut at a NUL,
"/"-joined paths collide, and NumPy's NpzFile reads member "x.npy" for the key "x.npy" (it tries
the name as given before adding ".npy"). Files from before, whose members were named by their
"/"-joined path, load the same way: `load` reads each member by its exact name.

`load` recognises files by content, not extension: an `.npz`, a PyTorch zip checkpoint
(torch >= 1.6) or a legacy PyTorch pickle checkpoint. A `.pth` is a pickle, and unpickling
can run arbitrary code, so it is read with an unpickler that can only build tensors,
storages and dicts; anything else is refused with `UnsafePickleError`.
"""
import collections
import contextlib
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from typing import NamedTuple

import numpy as np

from .function import SCALAR_TYPE_NAMES

__all__ = ["save", "load", "SaveError", "LoadError", "UnsafePickleError"]

_META_KEY = "__meta__"
_FORMAT_VERSION = 1
_ACCEPTED = ("expected an .npz archive (minigrad.save or numpy.savez) "
             "or a PyTorch checkpoint written by torch.save")


class SaveError(ValueError):
    """`save` was given something that cannot be stored without pickle."""


class LoadError(ValueError):
    """A file that is not a checkpoint this module can read, or a damaged one."""


class UnsafePickleError(LoadError):
    """A `.pth` pickle asked for a Python object that could run code when built."""


# ----------------------------------------------------------------------------- save

def save(obj, path):
    """Write the dict `obj` to `path` (exactly that name) as an `.npz`, atomically.

    Leaves may be NumPy/CuPy arrays, tensors (anything with `.data` and `.numpy()`),
    NumPy/Python scalars, strings and None; dict keys must be str or int.
    """
    path = os.fspath(path)
    if not isinstance(obj, dict):
        raise SaveError(f"save expects a dict (e.g. a state_dict), got {type(obj).__name__}")
    arrays = {}
    tree = _encode(obj, (), arrays)  # before touching the disk: a bad leaf changes nothing
    arrays[_META_KEY] = np.array(json.dumps({"version": _FORMAT_VERSION, "tree": tree}))
    write_atomically(path, lambda file: _write_npz(file, arrays))


def write_text_atomically(path, text):
    """Write `text` (UTF-8) to `path` as `save` writes: whole, or not at all."""
    write_atomically(path, lambda file: file.write(text.encode("utf-8")))


def copy_atomically(source, path):
    """Copy the file `source` to `path` as `save` writes: whole, or not at all."""
    with open(source, "rb") as original:
        write_atomically(path, lambda file: shutil.copyfileobj(original, file))


def write_atomically(path, write):
    """Call write(file) on a new file beside `path`, then move it onto `path`: a crash, Ctrl-C or a full disk
    leaves the old file (or none), never part of a new one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path}: directory {directory} does not exist")
    mode = _file_mode_for(path)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise


def _encode(node, path, arrays):
    """JSON skeleton of `node`; array leaves go into `arrays`, each under a new member name.

    Containers are tagged objects ({"dict": [[key, value], ...]}, {"list": ...}, {"tuple": ...},
    {"array": npz_key}), so plain JSON values are always leaves and int keys stay ints.
    """
    if isinstance(node, np.generic):
        node = node.item()
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict):
        items = []
        for key, value in node.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise SaveError(f"cannot save key {key!r} at {_show(path)}: dict keys must be str or int")
            items.append([key, _encode(value, path + (str(key),), arrays)])
        return {"dict": items}
    if isinstance(node, (list, tuple)):
        kind = "tuple" if isinstance(node, tuple) else "list"
        return {kind: [_encode(value, path + (str(i),), arrays) for i, value in enumerate(node)]}
    array = _as_numpy_array(node)
    if array is None:
        raise SaveError(f"cannot save {type(node).__name__} at {_show(path)}: "
                        "leaves must be arrays, tensors, numbers, strings or None")
    if array.dtype.hasobject:
        raise SaveError(f"cannot save the object array at {_show(path)}: it would need pickle")
    key = f"arr_{len(arrays)}"
    arrays[key] = array
    return {"array": key}


def _as_numpy_array(leaf):
    """`leaf` as a host NumPy array, or None when it is not array-like."""
    if isinstance(leaf, np.ndarray):
        return leaf
    if type(leaf).__module__.split(".")[0] == "cupy":
        return leaf.get()
    if hasattr(leaf, "data") and callable(getattr(leaf, "numpy", None)):  # a Tensor
        return np.asarray(leaf.numpy())
    return None


def _show(path):
    return "/".join(path) or "the top level"


def _write_npz(file, arrays):
    """What `np.savez` does, minus its keyword arguments (an entry named "file" would clash)."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _file_mode_for(path):
    """Keep an overwritten file's permissions; a new one gets the usual umask default
    (the temporary file starts as owner-only)."""
    with contextlib.suppress(FileNotFoundError):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)  # the only portable way to read the umask is to set it
    os.umask(umask)
    return 0o666 & ~umask


# ----------------------------------------------------------------------------- load

def load(path):
    """Read a checkpoint: an `.npz` or a PyTorch `.pth`/`.pt` (no PyTorch needed).

    Returns the saved dict, with arrays as NumPy arrays (PyTorch tensors become arrays).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"cannot load {path}: no such file")
    if not os.path.isfile(path):
        raise LoadError(f"cannot load {path}: not a regular file")
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path)
        with open(path, "rb") as file:
            if file.read(len(_ZIP_START)) == _ZIP_START:  # a zip's directory is at its end: this one lacks it
                raise LoadError(f"cannot load {path}: a zip archive whose end is missing (cut short while it was "
                                "copied, downloaded or written?)")
            file.seek(0)
            return _load_legacy_torch(file, path)
    except zipfile.BadZipFile as exc:
        raise LoadError(f"cannot load {path}: damaged zip archive ({exc})") from None


_ZIP_START = b"PK\x03\x04"  # every zip archive (.npz, and .pth since PyTorch 1.6) opens with a file header


def _unrecognized(path):
    return LoadError(f"cannot load {path}: unrecognized file format; {_ACCEPTED}")


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        torch_pickles = [name for name in names if name.endswith("/data.pkl")]
        if len(torch_pickles) == 1:
            return _load_torch_zip(archive, torch_pickles[0][: -len("data.pkl")], path)
        if all(name.endswith(".npy") for name in names):
            return _load_npz(archive, path)
    raise _unrecognized(path)


def _load_npz(archive, path):
    """Each member by its exact name less ".npy", not by NpzFile's lookup, which would read member "x.npy"
    (key "x") for key "x.npy" (member "x.npy.npy") of a numpy.savez file or an older minigrad.save file."""
    arrays = {}
    try:
        for name in archive.namelist():
            with archive.open(name) as member:
                arrays[name[:-len(".npy")]] = np.lib.format.read_array(member, allow_pickle=False)
    except ValueError as exc:  # e.g. an object array, which would need pickle, or a damaged header
        raise LoadError(f"cannot load {path}: {exc}") from None
    if _META_KEY not in arrays:  # a plain numpy.savez archive
        return arrays
    meta = arrays.pop(_META_KEY)
    try:
        return _decode(json.loads(meta.item())["tree"], arrays)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LoadError(f"cannot load {path}: malformed {_META_KEY} entry ({exc!r})") from None


def _decode(node, arrays):
    """Inverse of `_encode`."""
    if not isinstance(node, dict):
        return node
    ((kind, content),) = node.items()
    if kind == "array":
        return arrays[content]
    if kind == "dict":
        return {key: _decode(value, arrays) for key, value in content}
    if kind == "list":
        return [_decode(value, arrays) for value in content]
    if kind == "tuple":
        return tuple(_decode(value, arrays) for value in content)
    raise ValueError(f"unknown node kind {kind!r}")


# ----------------------------------------------------------------------------- PyTorch files

class _DtypeRef(NamedTuple):
    """What the unpickler returns for a torch storage class or dtype: the NumPy dtype it names.

    A tuple, so a hostile pickle cannot change it with a BUILD instruction."""
    dtype: np.dtype


class _Storage(NamedTuple):
    raw: np.ndarray  # the storage's bytes, uint8
    dtype: np.dtype  # element type of the storage class named in the pickle
    byteorder: str   # "<" or ">", as the file was written


# torch.save names the dtype itself (with an untyped storage) for the newer integer types, which have
# no storage class
_TORCH_DTYPES = {"uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64}
_STORAGE_DTYPES = {f"{name}Storage": dtype for dtype, name in SCALAR_TYPE_NAMES.items()
                   if dtype not in _TORCH_DTYPES.values()}

_TORCH_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch.storage", "UntypedStorage"): _DtypeRef(np.dtype(np.uint8)),
    **{("torch", name): _DtypeRef(np.dtype(dtype)) for name, dtype in _STORAGE_DTYPES.items()},
    **{("torch", name): _DtypeRef(np.dtype(dtype)) for name, dtype in _TORCH_DTYPES.items()},
}
_REBUILDERS = {"_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter"}


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch.save pickle into NumPy arrays, allowing only tensors, storages and dicts.

    `read_storage(key, nbytes)` returns the bytes of storage `key` (a `.pth` keeps tensor data
    outside the pickle); `byteorder` is the byte order the file was written in.
    """

    def __init__(self, file, source, read_storage, byteorder="<"):
        super().__init__(file)
        self._source = source
        self._read_storage = read_storage
        self._byteorder = byteorder
        self._raw_storages = {}  # key -> uint8 array; several tensors may share one storage

    def find_class(self, module, name):
        if (module, name) in _TORCH_GLOBALS:
            return _TORCH_GLOBALS[module, name]
        if module == "torch._utils" and name in _REBUILDERS:
            return getattr(self, name)
        if module == "torch" and (name.endswith("Storage") or name == "bfloat16" or name.startswith("float8")):
            raise LoadError(f"cannot load {self._source}: it holds tensors of type torch.{name}, "
                            "which has no NumPy dtype; convert them in PyTorch first (e.g. tensor.float())")
        raise UnsafePickleError(f"cannot load {self._source}: it asks for {module}.{name}, which could run code; a "
                                ".pth file is read only where it holds tensors, storages and dicts")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _DtypeRef) and isinstance(pid[4], int) and pid[4] >= 0):
            raise LoadError(f"cannot load {self._source}: unexpected persistent id {pid!r}")
        _, dtype_ref, key, _location, numel, *view = pid
        if view not in ([], [None]):
            raise LoadError(f"cannot load {self._source}: storage views (PyTorch < 0.4 files) are not supported")
        key = str(key)
        if key not in self._raw_storages:
            self._raw_storages[key] = self._read_storage(key, numel * dtype_ref.dtype.itemsize)
        return _Storage(self._raw_storages[key], dtype_ref.dtype, self._byteorder)

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
        return self._tensor(storage, storage.dtype, storage_offset, size, stride)

    def _rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                           metadata=None):
        if not isinstance(dtype, _DtypeRef):
            raise LoadError(f"cannot load {self._source}: bad tensor dtype {dtype!r}")
        return self._tensor(storage, dtype.dtype, storage_offset, size, stride)

    def _rebuild_parameter(self, data, requires_grad, backward_hooks):
        return data

    def _tensor(self, storage, dtype, offset, size, stride):
        """A C-contiguous copy of the strided view (offset/size/stride in elements) of `storage`."""
        if not isinstance(storage, _Storage) or not _is_layout(offset, size, stride):
            raise LoadError(f"cannot load {self._source}: malformed tensor record")
        elements = storage.raw.view(dtype.newbyteorder(storage.byteorder))
        if 0 in size:
            return np.zeros(size, dtype)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= elements.size:  # as_strided would read outside the buffer
            raise LoadError(f"cannot load {self._source}: a tensor extends past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            elements[offset:], shape=size, strides=[s * dtype.itemsize for s in stride], writeable=False)
        return np.array(view, dtype=dtype, order="C")


def _is_layout(offset, size, stride):
    def naturals(values):
        return isinstance(values, tuple) and all(isinstance(v, int) and v >= 0 for v in values)

    return naturals((offset,)) and naturals(size) and naturals(stride) and len(size) == len(stride)


def _load_torch_zip(archive, prefix, source):
    """torch >= 1.6 format: `<prefix>data.pkl` plus one `<prefix>data/<key>` member per storage."""
    names = set(archive.namelist())
    byteorder = archive.read(prefix + "byteorder") if prefix + "byteorder" in names else b"little"

    def read_storage(key, nbytes):
        member = f"{prefix}data/{key}"
        if member not in names:
            raise LoadError(f"cannot load {source}: storage {member} is missing")
        return np.frombuffer(archive.read(member), dtype=np.uint8)

    with archive.open(prefix + "data.pkl") as file:
        unpickler = _TorchUnpickler(file, source, read_storage, "<" if byteorder == b"little" else ">")
        return _unpickle(unpickler, source)


def _unpickle(unpickler, source):
    """Run `unpickler`, turning anything a damaged file can raise into a LoadError."""
    try:
        return unpickler.load()
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"cannot load {source}: damaged PyTorch checkpoint ({type(exc).__name__}: {exc})") from None


# Legacy (torch < 1.6, or _use_new_zipfile_serialization=False) layout, all in one stream:
# pickled magic number, protocol version, sys_info; the object pickle; the pickled list of
# storage keys; then for each key an int64 element count followed by the raw bytes.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _LegacyLayoutScan(_TorchUnpickler):
    """A first pass over a legacy object pickle that only records each storage's size in bytes:
    the storage bytes follow the pickle, so their boundaries are unknown until it has been read."""

    def __init__(self, file, source):
        super().__init__(file, source, read_storage=self._record)
        self.storage_nbytes = {}

    def _record(self, key, nbytes):
        self.storage_nbytes[key] = nbytes
        return np.empty(0, np.uint8)

    def _tensor(self, storage, dtype, offset, size, stride):
        return None


def _load_legacy_torch(file, source):
    def no_storage(key, nbytes):
        raise LoadError(f"cannot load {source}: tensor data inside the file header")

    def load_header():
        try:
            return _TorchUnpickler(file, source, no_storage).load()
        except UnsafePickleError:  # a hostile plain pickle is reported as such
            raise
        except Exception:  # any other file (an image, say) read as a pickle fails in its own odd way
            raise _unrecognized(source) from None

    if load_header() != _LEGACY_MAGIC:
        raise _unrecognized(source)
    if load_header() != _LEGACY_PROTOCOL:
        raise LoadError(f"cannot load {source}: unsupported legacy PyTorch protocol version")
    sys_info = load_header()
    if not isinstance(sys_info, dict):
        raise LoadError(f"cannot load {source}: damaged legacy PyTorch header")
    byteorder = "<" if sys_info.get("little_endian", True) else ">"

    object_start = file.tell()
    scan = _LegacyLayoutScan(file, source)
    _unpickle(scan, source)
    storage_keys = _unpickle(_TorchUnpickler(file, source, no_storage), source)
    if not isinstance(storage_keys, list):
        raise LoadError(f"cannot load {source}: damaged legacy PyTorch storage index")
    file_size = os.fstat(file.fileno()).st_size
    raw = {}
    for key in storage_keys:
        nbytes = scan.storage_nbytes.get(str(key))
        if nbytes is None or file.tell() + 8 + nbytes > file_size:
            raise LoadError(f"cannot load {source}: storage {key} is missing or truncated")
        file.read(8)  # the element count; the size in bytes is known from the scan
        raw[str(key)] = np.frombuffer(file.read(nbytes), dtype=np.uint8)

    file.seek(object_start)
    unpickler = _TorchUnpickler(file, source, lambda key, nbytes: raw[key], byteorder)
    return _unpickle(unpickler, source)
