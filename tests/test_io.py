"""minigrad.io: .npz round trips, atomic saves, and reading PyTorch files without PyTorch; data.imageio:
16-bit TIFF colour planes, TIFFs that Pillow cannot open or reads at 8 bits of 16, PNG transparent colours, and
files of several frames.

PyTorch files are written by torch.save and read back by torch.load(weights_only=True),
which is the oracle for the torch-free reader. Image files are built byte by byte here (struct, zlib,
lzma) from known samples, or written by tifffile, and what is written back is read by tifffile, by
Pillow, or from its PNG header.
"""
import importlib.util
import io
import json
import lzma
import os
import pathlib
import pickle
import struct
import sys
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

import data
from data.imageio import upright_size

from conftest import RELEASED_WEIGHTS as RELEASED
from minigrad import io as mgio



def assert_same_tree(actual, expected):
    """Exact equality of nested containers: same container types, key order, dtypes and values."""
    assert type(actual) is type(expected), (type(actual), type(expected))
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same_tree(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same_tree(a, e)
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert np.array_equal(actual, expected)
    else:
        assert actual == expected


def flat_state_dict():
    rng = np.random.default_rng(0)
    return {
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "conv.bias": rng.standard_normal(4),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        "bn.running_mean": np.array(0.25, dtype=np.float32),
        "mask": rng.random((2, 5)) > 0.5,
        "empty": np.zeros((0, 3), np.float32),
    }


# ----------------------------------------------------------------------------- .npz

def test_flat_state_dict_round_trip(tmp_path):
    state = flat_state_dict()
    mgio.save(state, tmp_path / "model.npz")
    assert_same_tree(mgio.load(tmp_path / "model.npz"), state)


def test_nested_checkpoint_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    checkpoint = {
        "model": flat_state_dict(),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": rng.standard_normal(4).astype(np.float32)},
                      1: {"step": 3, "exp_avg": np.zeros((4, 3), np.float32)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1]}],
        },
        "epoch": 12,
        "best_psnr": 31.4159,
        "rng": np.random.default_rng(5).bit_generator.state,  # holds 128-bit ints
        "legacy_rng": np.random.RandomState(3).get_state(),  # a tuple holding an array
        "config": {"name": "kla", "sigma": 1.5, "sizes": [64, 128], "resume": None, "amp": False},
    }
    mgio.save(checkpoint, tmp_path / "ckpt.npz")
    assert_same_tree(mgio.load(tmp_path / "ckpt.npz"), checkpoint)


def test_numpy_scalars_become_python_numbers(tmp_path):
    mgio.save({"loss": np.float32(0.5), "step": np.int64(4), "flag": np.bool_(True)}, tmp_path / "s.npz")
    assert_same_tree(mgio.load(tmp_path / "s.npz"), {"loss": 0.5, "step": 4, "flag": True})


def test_tensor_like_leaves_are_saved_as_arrays(tmp_path):
    class TensorLike:  # the duck type save() accepts: minigrad (and torch) tensors
        def __init__(self, array):
            self.data = array

        def numpy(self):
            return self.data

    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    mgio.save({"w": TensorLike(weight)}, tmp_path / "t.npz")
    assert_same_tree(mgio.load(tmp_path / "t.npz"), {"w": weight})


def load_the_old_way(path):
    """minigrad.load before generated member names: NumPy's NpzFile lookup by key, then the skeleton."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return mgio._decode(json.loads(arrays.pop("__meta__").item())["tree"], arrays)


def save_the_old_way(obj, path):
    """minigrad.save before generated member names: each array in member "<"/"-joined path>.npy"."""
    arrays = {}

    def encode(node, keys):
        if isinstance(node, dict):
            return {"dict": [[key, encode(value, keys + (str(key),))] for key, value in node.items()]}
        arrays["/".join(keys)] = node
        return {"array": "/".join(keys)}

    tree = encode(obj, ())
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in {**arrays, "__meta__": np.array(json.dumps({"version": 1, "tree": tree}))}.items():
            with archive.open(key + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def test_saved_file_is_a_standard_npz_at_the_exact_path(tmp_path):
    state = flat_state_dict()
    target = tmp_path / "weights.ckpt"
    mgio.save(state, target)
    assert sorted(os.listdir(tmp_path)) == ["weights.ckpt"]
    assert_same_tree(load_the_old_way(target), state)  # NumPy alone reads it, and so does an older minigrad


TRICKY_KEYS = {
    "x.npy": np.ones(1), "x": np.zeros(1),                   # NpzFile reads member x.npy for key x.npy
    "a/b": np.full(2, 2.0), "a": {"b": np.full(2, 3.0)},    # the same "/"-joined path
    "__meta__": np.arange(3), "arr_0": np.arange(4),         # the names the file itself uses
    "nul\x00cut": np.full(1, 4.0), "nul": np.full(1, 5.0),   # a zip member name ends at a NUL
    "": np.full(1, 6.0), ".npy": np.full(1, 7.0), "../up": np.full(1, 8.0), "ü ✓": np.full(1, 9.0), 3: np.eye(2),
}


def test_any_key_round_trips(tmp_path):
    mgio.save({"model": TRICKY_KEYS, **TRICKY_KEYS}, tmp_path / "k.npz")
    assert_same_tree(mgio.load(tmp_path / "k.npz"), {"model": TRICKY_KEYS, **TRICKY_KEYS})
    assert_same_tree(load_the_old_way(tmp_path / "k.npz"), {"model": TRICKY_KEYS, **TRICKY_KEYS})


def test_files_written_the_old_way_still_load(tmp_path):
    state = {"conv.weight": np.arange(6.0).reshape(2, 3), "x.npy": np.ones(1), "x": np.zeros(1),
             "model": {"head.bias": np.full(2, 0.5, np.float32)}}
    save_the_old_way(state, tmp_path / "old.npz")
    assert_same_tree(mgio.load(tmp_path / "old.npz"), state)
    assert load_the_old_way(tmp_path / "old.npz")["x.npy"][0] == 0  # what the old reader made of it


def test_numpy_savez_keys_ending_in_npy_load(tmp_path):
    np.savez(tmp_path / "plain.npz", **{"x.npy": np.ones(1), "x": np.zeros(1)})
    assert_same_tree(mgio.load(tmp_path / "plain.npz"), {"x.npy": np.ones(1), "x": np.zeros(1)})


@pytest.mark.parametrize("name", ["unet_sca_nl.npz", "unet_sca_nl_mixed.npz"])
def test_shipped_checkpoints_load_unchanged(name):
    path = pathlib.Path(__file__).resolve().parent.parent / "checkpoints" / name
    loaded = mgio.load(path)
    assert_same_tree(loaded, load_the_old_way(path))
    assert len(loaded["model"]) == 80


def test_entry_names_that_are_numpy_savez_keywords(tmp_path):
    state = {"file": np.ones(2), "allow_pickle": np.zeros(1)}
    mgio.save(state, tmp_path / "k.npz")
    assert_same_tree(mgio.load(tmp_path / "k.npz"), state)


def test_plain_numpy_savez_file_loads_flat(tmp_path):
    state = flat_state_dict()
    np.savez(tmp_path / "plain.npz", **state)
    assert_same_tree(mgio.load(tmp_path / "plain.npz"), state)


@pytest.mark.parametrize("bad, match", [
    ({"x": object()}, "object"),
    ({"x": np.array([1, "a"], dtype=object)}, "pickle"),
    ({(1, 2): np.ones(1)}, "keys must be str or int"),
    ([np.ones(1)], "expects a dict"),
])
def test_unsavable_objects_raise_save_error_and_write_nothing(tmp_path, bad, match):
    with pytest.raises(mgio.SaveError, match=match):
        mgio.save(bad, tmp_path / "bad.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mgio.save({"x": np.ones(1)}, tmp_path / "no" / "such" / "dir.npz")


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.npz"
    mgio.save({"w": np.ones(3)}, target)
    old_bytes = target.read_bytes()
    write_array = np.lib.format.write_array

    def write_then_fail(file, array, **kwargs):
        write_array(file, array, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        mgio.save({"w": np.zeros(1000)}, target)
    assert target.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_a_copy_is_whole_or_absent(tmp_path, monkeypatch):
    source, target = tmp_path / "run.npz", tmp_path / "copy.npz"
    source.write_bytes(os.urandom(100_000))
    mgio.copy_atomically(source, target)
    assert target.read_bytes() == source.read_bytes()
    target.unlink()

    def copy_half_then_stop(original, file):
        file.write(original.read(50_000))
        raise KeyboardInterrupt

    monkeypatch.setattr(mgio.shutil, "copyfileobj", copy_half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        mgio.copy_atomically(source, target)
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]
    mgio.write_text_atomically(tmp_path / "log.csv", "épaisseur,1\r\n")
    assert (tmp_path / "log.csv").read_bytes() == "épaisseur,1\r\n".encode("utf-8")


def test_overwrite_keeps_permissions(tmp_path):
    target = tmp_path / "ckpt.npz"
    mgio.save({"w": np.ones(3)}, target)
    os.chmod(target, 0o640)
    mgio.save({"w": np.zeros(3)}, target)
    assert target.stat().st_mode & 0o777 == 0o640
    assert_same_tree(mgio.load(target), {"w": np.zeros(3)})


def test_cupy_leaves_are_copied_to_host(tmp_path):
    from minigrad import backend
    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    weight = np.arange(4, dtype=np.float32)
    mgio.save({"w": backend.cupy_module().asarray(weight)}, tmp_path / "g.npz")
    assert_same_tree(mgio.load(tmp_path / "g.npz"), {"w": weight})


# ----------------------------------------------------------------------------- user errors

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        mgio.load(tmp_path / "absent.pth")


@pytest.mark.parametrize("content", [
    b"",
    np.random.default_rng(0).bytes(300),  # seeded: the same bytes, and test ids, in every process (pytest -n)
    b"just some text\n" * 20,
    pickle.dumps({"a": 1}),  # a pickle, but not a torch checkpoint
], ids=["empty", "random bytes", "text", "a pickle"])
def test_unrecognized_file(tmp_path, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(mgio.LoadError, match="unrecognized file format.*npz.*torch.save") as info:
        mgio.load(path)
    assert str(path) in str(info.value)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(mgio.LoadError, match="unrecognized"):
        mgio.load(path)


def test_truncated_zip(tmp_path):
    path = tmp_path / "cut.npz"
    mgio.save(flat_state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + data[-22:])  # keep the end record so it still looks like a zip
    with pytest.raises(mgio.LoadError, match=str(path)):
        mgio.load(path)


def test_a_zip_cut_short_is_named_as_one(tmp_path):
    """A copy that stopped partway keeps the zip's start but not the directory at its end."""
    path = tmp_path / "cut.npz"
    mgio.save(flat_state_dict(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(mgio.LoadError, match="a zip archive whose end is missing"):
        mgio.load(path)


# ----------------------------------------------------------------------------- .pth without torch

def torch_save(torch, obj, path, **kwargs):
    torch.save(obj, path, **kwargs)
    return torch.load(path, weights_only=True)


def assert_matches_torch(ours, theirs):
    assert list(ours) == list(theirs)
    for key, tensor in theirs.items():
        expected = tensor.numpy()
        assert ours[key].dtype == expected.dtype, key
        assert ours[key].shape == expected.shape, key
        assert np.array_equal(ours[key], expected), key
        assert ours[key].flags.c_contiguous and ours[key].flags.writeable, key


def sample_tensors(torch):
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(5, 6, generator=generator)
    return {
        "float32": base,
        "transposed": base.t(),                  # non-contiguous
        "view_with_offset": base[2:, 1:4],       # storage_offset > 0, shares base's storage
        "row": base[3],                          # another view of the same storage
        "float64": torch.randn(3, generator=generator, dtype=torch.float64),
        "float16": torch.randn(4, generator=generator).half(),
        "int64": torch.arange(-3, 9).reshape(3, 4),
        "int32": torch.arange(5, dtype=torch.int32),
        "int16": torch.arange(5, dtype=torch.int16),
        "int8": torch.arange(-4, 4, dtype=torch.int8),
        "uint8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": base > 0,
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
        "expanded": torch.arange(3.0).expand(4, 3),  # stride 0
    }


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_pth_state_dict_of_many_dtypes(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    path = tmp_path / "sample.pth"
    expected = torch_save(torch, sample_tensors(torch), path, _use_new_zipfile_serialization=zip_format)
    assert_matches_torch(mgio.load(path), expected)


def test_pth_newer_dtypes_and_parameters(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "newer.pth"
    tensors = {"uint16": torch.tensor([0, 1, 65535], dtype=torch.uint16),
               "complex64": torch.tensor([1 + 2j, -3j], dtype=torch.complex64),
               "parameter": torch.nn.Parameter(torch.ones(2, 2))}
    expected = torch_save(torch, tensors, path)
    assert_matches_torch(mgio.load(path), {key: value.detach() for key, value in expected.items()})


def test_pth_module_state_dict_and_nesting(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(4, 2))
    path = tmp_path / "checkpoint.pth"
    expected = torch_save(torch, {"model": model.state_dict(), "epoch": 4, "losses": [0.5, 0.25]}, path)
    ours = mgio.load(path)
    assert list(ours) == ["model", "epoch", "losses"]
    assert ours["epoch"] == 4 and ours["losses"] == [0.5, 0.25]
    assert_matches_torch(ours["model"], expected["model"])


def test_pth_big_endian_file(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "little.pth"
    expected = torch_save(torch, {"w": torch.arange(6, dtype=torch.float32) / 7}, path)
    swapped = tmp_path / "big.pth"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(swapped, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in name:
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            target.writestr(name, data)
    assert_matches_torch(mgio.load(swapped), expected)


def test_pth_bfloat16_is_refused_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "bf16.pth"
    torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}, path)
    with pytest.raises(mgio.LoadError, match="(?i)bfloat16.*no NumPy dtype"):
        mgio.load(path)


def test_pth_is_read_without_importing_torch(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    path = tmp_path / "sample.pth"
    expected = torch_save(torch, sample_tensors(torch), path)
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now raises ImportError
    assert_matches_torch(mgio.load(path), expected)


def test_released_weights_match_torch():
    if not RELEASED.exists():
        pytest.skip(f"released weights not found at {RELEASED}")
    torch = pytest.importorskip("torch")
    ours = mgio.load(RELEASED)
    expected = torch.load(RELEASED, map_location="cpu", weights_only=True)
    assert len(ours) == 80
    assert sum(array.size for array in ours.values()) == 867_842
    assert_matches_torch(ours, expected)


# ----------------------------------------------------------------------------- hostile pickles

class RunsCode:
    """Unpickling this with the standard pickle module executes code (creates `marker`)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


class RunsShell(RunsCode):
    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def torch_zip_with_pickle(path, payload):
    """A file laid out like torch.save's zip format around an arbitrary data.pkl."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")


@pytest.mark.parametrize("payload_type, refused", [(RunsCode, r"\.exec"), (RunsShell, r"\.system")])
def test_hostile_pickle_in_zip_is_refused(tmp_path, payload_type, refused):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pth"
    torch_zip_with_pickle(path, {"w": payload_type(marker)})
    pickle.loads(pickle.dumps(payload_type(tmp_path / "proof")))  # the payload does run with plain pickle
    assert (tmp_path / "proof").exists()
    with pytest.raises(mgio.UnsafePickleError, match=f"cannot load .*evil.pth: it asks for .*{refused}, which could "
                                                     "run code"):
        mgio.load(path)
    assert not marker.exists()


def test_hostile_object_next_to_real_tensors_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(3), "hook": RunsCode(marker)}, path)
    with pytest.raises(mgio.UnsafePickleError, match="read only where it holds tensors, storages and dicts"):
        mgio.load(path)
    assert not marker.exists()


def test_hostile_plain_pickle_is_refused(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    with pytest.raises(mgio.UnsafePickleError):
        mgio.load(path)
    assert not marker.exists()


def test_tensor_record_outside_its_storage_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "w.pth"
    torch.save({"w": torch.ones(4)}, path)
    forged = tmp_path / "forged.pth"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(forged, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if "/data/" in name:
                data = data[:8]  # the pickle still claims 4 float32 elements: only 2 remain
            target.writestr(name, data)
    with pytest.raises(mgio.LoadError, match="past the end of its storage"):
        mgio.load(forged)


def test_an_image_passed_as_a_checkpoint_is_an_unrecognized_format(tmp_path):
    """A PNG's first bytes happen to be pickle opcodes (a persistent id): that must not be the message."""
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(mgio.LoadError, match="photo.png: unrecognized file format; expected an .npz archive"):
        mgio.load(image)


# ----------------------------------------------------------------------------- 16-bit TIFF colour planes

H, W = 6, 9


def _samples(seed, channels):
    """Random 16-bit planes whose high bytes alone would not tell them apart (the low bytes vary too)."""
    return np.random.default_rng(seed).integers(0, 65536, (channels, H, W), dtype=np.uint16)


def _planar_tiff(path, planes, strip=bytes, compression=1, orientation=1, extra_samples=(), predictor=1):
    """A little-endian TIFF written byte by byte (TIFF 6.0, sections 2 and 8): 16-bit RGB samples plus any
    extra ones, each sample a plane of its own (PlanarConfiguration 2) in one strip, `strip` compressing it."""
    count, height, width = planes.shape
    strips = [strip(plane.astype("<u2").tobytes()) for plane in planes]
    tags = {256: ("I", [width]), 257: ("I", [height]), 258: ("H", [16] * count), 259: ("H", [compression]),
            262: ("H", [2]), 273: ("I", [8 + sum(len(s) for s in strips[:i]) for i in range(count)]),
            274: ("H", [orientation]), 277: ("H", [count]), 278: ("I", [height]),
            279: ("I", [len(s) for s in strips]), 284: ("H", [2]), 317: ("H", [predictor])}
    if extra_samples:
        tags[338] = ("H", list(extra_samples))
    ifd_at = 8 + sum(len(s) for s in strips)
    values_at = ifd_at + 2 + 12 * len(tags) + 4  # values longer than 4 bytes follow the directory
    entries, values = [], b""
    for tag, (code, numbers) in sorted(tags.items()):
        packed = struct.pack(f"<{len(numbers)}{code}", *numbers)
        if len(packed) > 4:
            packed, values = struct.pack("<I", values_at + len(values)), values + packed
        entries.append(struct.pack("<HHI", tag, {"H": 3, "I": 4}[code], len(numbers)) + packed.ljust(4, b"\0"))
    path.write_bytes(b"II*\0" + struct.pack("<I", ifd_at) + b"".join(strips)
                     + struct.pack("<H", len(entries)) + b"".join(entries) + bytes(4) + values)


def _packbits(strip):
    """PackBits (TIFF 6.0, section 9) in literal runs alone: a byte n - 1, then n bytes."""
    return b"".join(bytes([len(strip[i:i + 128]) - 1]) + strip[i:i + 128] for i in range(0, len(strip), 128))


def _deflated_differences(strip):
    """Predictor 2 (TIFF 6.0, section 14), then Deflate: each sample stored less the one to its left."""
    plane = np.frombuffer(strip, "<u2").reshape(H, W)
    return zlib.compress(np.diff(plane, axis=1, prepend=np.uint16(0)).astype("<u2").tobytes())


def _lzw(strip):
    """LZW as libtiff compresses a TIFF strip: Pillow saves the bytes as a one-row 8-bit LZW TIFF."""
    buffer = io.BytesIO()
    Image.frombytes("L", (len(strip), 1), strip).save(buffer, "TIFF", compression="tiff_lzw")
    with Image.open(buffer) as one_row:
        (offset,), (size,) = one_row.tag_v2[273], one_row.tag_v2[279]  # StripOffsets, StripByteCounts
    return buffer.getvalue()[offset:offset + size]


PLANE_CODECS = {  # what tifffile decodes without the imagecodecs package: Compression tag, compressor, Predictor tag
    "uncompressed": (1, bytes, 1), "PackBits": (32773, _packbits, 1), "Deflate": (8, zlib.compress, 1),
    "old Deflate tag": (32946, zlib.compress, 1), "LZMA": (34925, lzma.compress, 1),
    "Deflate after a predictor": (8, _deflated_differences, 2),
}


@pytest.mark.parametrize("codec", PLANE_CODECS)
@pytest.mark.parametrize("extra_samples, mode", [((), "RGB"), ((2,), "RGBA"), ((0,), "RGB")],
                         ids=["RGB", "RGBA", "RGB and an unspecified sample"])
def test_sixteen_bit_colour_planes_are_read_at_sixteen_bits(tmp_path, codec, extra_samples, mode):
    """An extra sample is alpha when the file says so (ExtraSamples 2), as Pillow takes it: else it is left out."""
    compression, strip, predictor = PLANE_CODECS[codec]
    samples = _samples(1, 3 + len(extra_samples))
    _planar_tiff(tmp_path / "planes.tif", samples, strip, compression, extra_samples=extra_samples, predictor=predictor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image, info = data.read_image(tmp_path / "planes.tif")
    np.testing.assert_array_equal(np.round(image * 65535), np.moveaxis(samples[:3], 0, 2))
    assert (info.mode, info.bit_depth, info.grayscale) == (mode, 16, False)
    if mode == "RGBA":
        np.testing.assert_array_equal(np.round(info.alpha * 65535), samples[3])
    else:
        assert info.alpha is None


def test_sixteen_bit_colour_planes_in_big_endian_tiles(tmp_path):
    import tifffile
    samples = np.random.default_rng(2).integers(0, 65536, (4, 40, 50), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "tiles.tif", samples, photometric="rgb", planarconfig="separate", byteorder=">",
                     tile=(16, 16), compression="zlib", extrasamples=("unassalpha",))
    image, info = data.read_image(tmp_path / "tiles.tif")
    np.testing.assert_array_equal(np.round(image * 65535), np.moveaxis(samples[:3], 0, 2))
    np.testing.assert_array_equal(np.round(info.alpha * 65535), samples[3])


@pytest.mark.parametrize("orientation, turn", [(3, lambda a: np.rot90(a, 2)), (5, lambda a: a.transpose(1, 0, 2)),
                                               (6, lambda a: np.rot90(a, -1))], ids=["half turn", "transposed", "turned"])
def test_sixteen_bit_colour_planes_are_read_upright(tmp_path, orientation, turn):
    """The Orientation tag (TIFF 6.0, section 8: the same as EXIF's) turns alpha with the colours."""
    samples = _samples(3, 4)
    _planar_tiff(tmp_path / "turned.tif", samples, orientation=orientation, extra_samples=(2,))
    upright = turn(np.moveaxis(samples, 0, 2))
    image, info = data.read_image(tmp_path / "turned.tif")
    np.testing.assert_array_equal(np.round(image * 65535), upright[..., :3])
    np.testing.assert_array_equal(np.round(info.alpha * 65535), upright[..., 3])


@pytest.mark.parametrize("planar", [True, False], ids=["planes", "interleaved"])
def test_sixteen_bit_colours_premultiplied_by_their_alpha_are_divided_by_it(tmp_path, planar):
    """ExtraSamples 1 ("associated alpha"): colours are stored multiplied by alpha, a transparent pixel black.
    Pillow reads such interleaved samples ("RGBa;16") at 8 bits. A restoration is written with plain alpha."""
    import tifffile
    rng = np.random.default_rng(4)
    colours = rng.integers(0, 65536, (3, H, W))
    alpha = rng.integers(16384, 65536, (H, W))  # at least 1/4: a stored colour's rounding, divided, stays small
    alpha[0, :3] = 0
    stored = np.concatenate([np.round(colours * alpha / 65535), alpha[None]]).astype(np.uint16)
    if planar:
        _planar_tiff(tmp_path / "premultiplied.tif", stored, extra_samples=(1,))
    else:
        tifffile.imwrite(tmp_path / "premultiplied.tif", np.moveaxis(stored, 0, 2), photometric="rgb",
                         extrasamples=("assocalpha",), metadata=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image, info = data.read_image(tmp_path / "premultiplied.tif")
    assert (info.mode, info.bit_depth) == ("RGBA", 16)
    np.testing.assert_array_equal(np.round(info.alpha * 65535), alpha)
    np.testing.assert_allclose(image, np.moveaxis(np.where(alpha > 0, colours, 0), 0, 2) / 65535, atol=2 / 65535)

    data.write_image(tmp_path / "out.tif", image, like=info)
    written, (_, extra_samples, _, _) = _tifffile_page(tmp_path / "out.tif")
    assert extra_samples == (2,)
    np.testing.assert_array_equal(written, np.dstack([np.round(image * 65535), alpha]))


def test_lzw_colour_planes_are_read_at_sixteen_bits_only_with_imagecodecs(tmp_path):
    """tifffile decodes LZW with the optional imagecodecs package alone: without it, Pillow's libtiff reads the
    planes at 8 bits (their high bytes), upright too, and a warning says how to keep 16."""
    samples = _samples(5, 3)
    _planar_tiff(tmp_path / "planes.tif", samples, _lzw, 5, orientation=6)
    upright = np.rot90(np.moveaxis(samples, 0, 2), -1)
    if importlib.util.find_spec("imagecodecs") is not None:
        image, info = data.read_image(tmp_path / "planes.tif")
        assert info.bit_depth == 16
        np.testing.assert_array_equal(np.round(image * 65535), upright)
    else:
        with pytest.warns(UserWarning, match=r"planes.tif stores its 16-bit colour channels as separate planes "
                                             r"compressed with tiff_lzw, which are read at 8 bits .*imagecodecs"):
            image, info = data.read_image(tmp_path / "planes.tif")
        assert (info.mode, info.bit_depth) == ("RGB", 8)
        np.testing.assert_array_equal(np.round(image * 255), upright >> 8)


@pytest.mark.parametrize("compression, name", [(50000, "zstd"), (7, "jpeg")])
def test_colour_planes_nothing_here_decodes_are_an_unreadable_file_naming_the_compression(tmp_path, compression, name):
    """Strips that are not valid data of their compression: neither tifffile (with or without imagecodecs) nor
    libtiff decodes them, and Pillow's 8-bit guess at uncompressed bytes is not taken either."""
    _planar_tiff(tmp_path / "planes.tif", _samples(6, 3), compression=compression)
    with pytest.raises(data.ImageReadError, match=f"planes.tif: its 16-bit colour planes, compressed with {name}, "
                                                  r"can be decoded neither at 16 bits \(.+\) nor at 8"):
        data.read_image(tmp_path / "planes.tif")


def test_broken_uncompressed_colour_planes_are_refused_not_scrambled(tmp_path):
    """Pillow would read them, taking each plane's bytes for 8-bit samples."""
    _planar_tiff(tmp_path / "cut.tif", _samples(7, 3), lambda strip: strip[:len(strip) // 2])
    with pytest.raises(data.ImageReadError, match="cut.tif: its 16-bit colour planes cannot be decoded: "):
        data.read_image(tmp_path / "cut.tif")


@pytest.mark.parametrize("extra_samples", [(), (2,)], ids=["RGB", "RGBA"])
def test_restored_colour_planes_are_written_at_sixteen_bits(tmp_path, extra_samples):
    """As evaluate.py --save-images writes a restoration: 16-bit, in one plane of interleaved samples."""
    import tifffile
    samples = _samples(8, 3 + len(extra_samples))
    _planar_tiff(tmp_path / "planes.tif", samples, zlib.compress, 8, extra_samples=extra_samples)
    image, info = data.read_image(tmp_path / "planes.tif")
    data.write_image(tmp_path / "out" / "planes.tif", 1 - image, like=info)
    with tifffile.TiffFile(tmp_path / "out" / "planes.tif") as tiff:
        page = tiff.pages.first
        assert (page.bitspersample, page.samplesperpixel, page.planarconfig) == (16, len(samples), 1)
        written = page.asarray()
    expected = np.moveaxis(samples, 0, 2).copy()
    expected[..., :3] = 65535 - expected[..., :3]
    np.testing.assert_array_equal(written, expected)


# ----------------------------------------------------------------------------- PNG transparent colours

def _png_with_transparent_colour(path, pixels, bit_depth, transparent):
    """A PNG written byte by byte (PNG specification, chapters 5 and 11): gray (HxW) or RGB (HxWx3) rows,
    unfiltered, and a tRNS chunk naming one colour transparent, in 2 bytes a sample at any bit depth."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    rows = b"".join(b"\0" + row.astype(">u2" if bit_depth == 16 else "u1").tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], bit_depth, 0 if pixels.ndim == 2 else 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"tRNS", struct.pack(f">{len(transparent)}H", *transparent))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3], ids=["gray", "RGB"])
def test_a_png_transparent_colour_is_alpha_at_both_bit_depths(tmp_path, bit_depth, channels):
    """Pixels of that colour exactly are transparent, all others opaque (at 16 bits, a pixel differing in its
    low bytes alone too); a restoration is written with the alpha channel it came to."""
    pixels = np.random.default_rng(9).integers(0, 2 ** bit_depth, (H, W, channels))
    transparent = pixels[1, 2].copy()
    pixels[0, 0] = pixels[4, 5] = transparent
    if bit_depth == 16:
        pixels[2, 3], pixels[3, 4] = transparent ^ 1, transparent ^ 256  # the same high bytes; low bytes
    _png_with_transparent_colour(tmp_path / "keyed.png", pixels[..., 0] if channels == 1 else pixels, bit_depth,
                                 transparent.tolist())
    opaque = (pixels != transparent).any(axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image, info = data.read_image(tmp_path / "keyed.png")
    np.testing.assert_array_equal(np.round(image * (2 ** bit_depth - 1)), np.broadcast_to(pixels, (H, W, 3)))
    np.testing.assert_array_equal(info.alpha, opaque)
    assert (info.bit_depth, info.grayscale) == (bit_depth, channels == 1)

    data.write_image(tmp_path / "out.png", image, like=info)
    header = (tmp_path / "out.png").read_bytes()[24:26]  # IHDR's bit depth and colour type
    assert tuple(header) == (bit_depth, 4 if channels == 1 else 6)  # gray + alpha, RGB + alpha
    with Image.open(tmp_path / "out.png") as written:
        alpha_bytes = np.asarray(written)[..., -1]  # Pillow's 8-bit view: alpha's high byte (16-bit gray: its low)
    np.testing.assert_array_equal(alpha_bytes, opaque * 255)


@pytest.mark.parametrize("mode, written_mode", [("RGBA", "RGB"), ("LA", "L")])
def test_an_alpha_opaque_everywhere_is_left_out_as_the_readme_says(tmp_path, mode, written_mode):
    """It says nothing: the restoration is written without it (the README used to say alpha is always kept)."""
    pixels = np.random.default_rng(4).integers(0, 256, (H, W, len(mode)), dtype=np.uint8)
    pixels[..., -1] = 255
    Image.fromarray(pixels, mode=mode).save(tmp_path / "opaque.png")
    image, info = data.read_image(tmp_path / "opaque.png")
    assert info.alpha is None
    data.write_image(tmp_path / "out.png", image, like=info)
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == written_mode
        np.testing.assert_array_equal(np.asarray(written), pixels[..., 0] if mode == "LA" else pixels[..., :3])

@pytest.mark.parametrize("suffix", [".tif", ".jpg", ".png"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_upright_size_is_the_size_the_image_is_read_at(tmp_path, suffix, orientation):
    """Pillow turns a TIFF on opening (its size is already the upright one), other formats on
    exif_transpose: the header-only size must agree with the decoded image either way."""
    from data.imageio import read_image, upright_size

    stored = (np.arange(20 * 30 * 3) % 251).astype(np.uint8).reshape(20, 30, 3)  # stored 30 wide, 20 high
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / f"turned{suffix}", exif=exif)
    pixels, _ = read_image(tmp_path / f"turned{suffix}")
    upright = (20, 30) if orientation in (6, 8) else (30, 20)
    assert (pixels.shape[1], pixels.shape[0]) == upright
    assert upright_size(tmp_path / f"turned{suffix}") == upright


# ----------------------------------------------------------------------------- TIFFs that Pillow cannot open

def _unit(samples, scale):
    """What read_image makes of a file's samples: divided by the value of white, in float32."""
    return samples.astype(np.float32) / np.float32(scale)


def _tifffile_page(path):
    """The first page as tifffile decodes it, and what it says of it."""
    import tifffile
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages.first
        return page.asarray(), (page.photometric, page.extrasamples, page.planarconfig, page.dtype)


TIFFFILE_ONLY = {  # samples (HxWxS, or SxHxW in planes), what tifffile.imwrite is told, the value of white
    "float RGB": (np.random.default_rng(20).random((H, W, 3)).astype(np.float32), {}, 1.0),
    "float RGB to 255": ((np.random.default_rng(21).random((H, W, 3)) * 255).astype(np.float32), {}, 255.0),
    "float RGBA": (np.random.default_rng(22).random((H, W, 4)).astype(np.float32),
                   {"extrasamples": ("unassalpha",)}, 1.0),
    "float RGB planes": (np.random.default_rng(23).random((3, H, W)).astype(np.float32),
                         {"planarconfig": "separate"}, 1.0),
    "float64 RGB": (np.random.default_rng(24).random((H, W, 3)), {}, 1.0),
    "float16 gray": (np.random.default_rng(25).random((H, W, 1)).astype(np.float16), {}, 1.0),
    "16-bit gray + alpha": (np.random.default_rng(26).integers(0, 65536, (H, W, 2), dtype=np.uint16),
                            {"extrasamples": ("unassalpha",)}, 65535),
    "16-bit gray + alpha planes": (np.random.default_rng(27).integers(0, 65536, (2, H, W), dtype=np.uint16),
                                   {"extrasamples": ("unassalpha",), "planarconfig": "separate"}, 65535),
}


@pytest.mark.parametrize("kind", TIFFFILE_ONLY)
def test_tiffs_pillow_cannot_open_are_read_exactly_and_written_back_alike(tmp_path, kind):
    """Float colour or 16-bit gray + alpha: read as tifffile reads them, and a restoration written in the same
    kind of file (floats: 32-bit, in the original's scale, alpha too)."""
    import tifffile
    from PIL import UnidentifiedImageError
    stored, options, scale = TIFFFILE_ONLY[kind]
    samples = np.moveaxis(stored, 0, 2) if options.get("planarconfig") == "separate" else stored
    gray = samples.shape[2] <= 2
    tifffile.imwrite(tmp_path / "in.tif", stored if not gray or samples.shape[2] == 2 else stored[..., 0],
                     photometric="minisblack" if gray else "rgb", metadata=None, **options)
    with pytest.raises(UnidentifiedImageError):
        Image.open(tmp_path / "in.tif")
    image, info = data.read_image(tmp_path / "in.tif")
    colours = 1 if gray else 3
    np.testing.assert_array_equal(image, np.broadcast_to(_unit(samples[..., :colours], scale), (H, W, 3)))
    assert (info.grayscale, info.bit_depth) == (gray, 16 if scale == 65535 else 32)
    assert info.float_scale == (None if scale == 65535 else scale)
    if samples.shape[2] > colours:
        np.testing.assert_array_equal(info.alpha, _unit(samples[..., colours], scale))
    else:
        assert info.alpha is None
    assert upright_size(tmp_path / "in.tif") == (W, H)

    data.write_image(tmp_path / "out.tif", 1 - image, like=info)
    written, (photometric, extra_samples, _, dtype) = _tifffile_page(tmp_path / "out.tif")
    assert (photometric, extra_samples) == (1 if gray else 2, (2,) if samples.shape[2] > colours else ())
    expected = samples.astype(np.float32 if scale != 65535 else np.uint16)
    expected[..., :colours] = scale - expected[..., :colours]
    expected = expected.reshape(written.shape)  # gray alone: HxW
    if scale == 65535:
        assert dtype == np.uint16
        np.testing.assert_array_equal(written, expected)
    else:
        assert dtype == np.float32
        np.testing.assert_allclose(written, expected, rtol=1e-6, atol=1e-6 * scale)


def test_tiffs_pillow_cannot_open_are_read_upright_with_their_colour_profile(tmp_path):
    import tifffile
    samples = np.random.default_rng(28).random((H, W, 4)).astype(np.float32)
    profile = bytes(16) + b"RGB " + bytes(range(108))  # an ICC profile names its colour space at offset 16
    tifffile.imwrite(tmp_path / "turned.tif", samples, photometric="rgb", extrasamples=("unassalpha",),
                     extratags=[(0x0112, "H", 1, 6, True)], iccprofile=profile, metadata=None)
    image, info = data.read_image(tmp_path / "turned.tif")
    upright = np.rot90(samples, -1)
    np.testing.assert_array_equal(image, upright[..., :3])
    np.testing.assert_array_equal(info.alpha, upright[..., 3])
    assert info.icc_profile == profile
    assert upright_size(tmp_path / "turned.tif") == (H, W)
    data.write_image(tmp_path / "out.tif", image, like=info)
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        assert tiff.pages.first.iccprofile == profile


def test_sixteen_bit_rgb_with_an_unspecified_sample_is_read_at_sixteen_bits(tmp_path):
    """Pillow reads it as "RGBX" at 8 bits; the fourth sample is not alpha (ExtraSamples 0): left out."""
    import tifffile
    samples = np.random.default_rng(29).integers(0, 65536, (H, W, 4), dtype=np.uint16)
    for compression in (None, "zlib"):
        tifffile.imwrite(tmp_path / "rgbx.tif", samples, photometric="rgb", extrasamples=("unspecified",),
                         compression=compression, metadata=None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            image, info = data.read_image(tmp_path / "rgbx.tif")
        np.testing.assert_array_equal(np.round(image * 65535), samples[..., :3])
        assert (info.mode, info.bit_depth, info.alpha) == ("RGB", 16, None)
    data.write_image(tmp_path / "out.tif", 1 - image, like=info)
    written, (_, extra_samples, _, _) = _tifffile_page(tmp_path / "out.tif")
    assert extra_samples == ()
    np.testing.assert_array_equal(written, 65535 - samples[..., :3])


def _as_lzw(path):
    """A TIFF written by tifffile in one uncompressed strip, made LZW-compressed (Compression 5): the strip
    compressed is put at the end of the file, and the tags that say where it is and how long, patched."""
    import tifffile
    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages.first.tags
        (offset,), (count,) = tags[273].value, tags[279].value  # StripOffsets, StripByteCounts
        where = {code: (tags[code].valueoffset, {3: "<H", 4: "<I"}[tags[code].dtype]) for code in (259, 273, 279)}
    raw = bytearray(path.read_bytes())
    strip = _lzw(bytes(raw[offset:offset + count]))
    for code, value in ((259, 5), (273, len(raw)), (279, len(strip))):
        struct.pack_into(where[code][1], raw, where[code][0], value)
    path.write_bytes(bytes(raw) + strip)


def test_a_tiff_only_tifffile_reads_is_read_with_imagecodecs_or_named_as_needing_it(tmp_path):
    import tifffile
    samples = np.random.default_rng(30).random((H, W, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "lzw.tif", samples, photometric="rgb", rowsperstrip=H, metadata=None)
    _as_lzw(tmp_path / "lzw.tif")
    if importlib.util.find_spec("imagecodecs") is not None:
        image, _ = data.read_image(tmp_path / "lzw.tif")
        np.testing.assert_array_equal(image, samples)
    else:
        with pytest.raises(data.ImageReadError, match=r"lzw.tif: cannot identify image file, and tifffile decodes it "
                                                      r"only with the optional imagecodecs package \(.+\): install"):
            data.read_image(tmp_path / "lzw.tif")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's own, on the way to failing
def test_a_tiff_neither_reads_is_unreadable_as_before(tmp_path):
    (tmp_path / "broken.tif").write_bytes(b"II*\0" + bytes(range(60)))
    with pytest.raises(data.ImageReadError, match=r"cannot read image .*broken.tif: cannot identify image file$"):
        data.read_image(tmp_path / "broken.tif")
    assert upright_size(tmp_path / "broken.tif") is None


def test_lzw_premultiplied_colours_are_read_at_eight_bits_with_a_warning_without_imagecodecs(tmp_path):
    """Before, such a file was read at 8 bits without a word."""
    import tifffile
    samples = np.random.default_rng(31).integers(0, 65536, (H, W, 4), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "lzw.tif", samples, photometric="rgb", extrasamples=("assocalpha",), rowsperstrip=H,
                     metadata=None)
    _as_lzw(tmp_path / "lzw.tif")
    if importlib.util.find_spec("imagecodecs") is not None:
        _, info = data.read_image(tmp_path / "lzw.tif")
        np.testing.assert_array_equal(np.round(info.alpha * 65535), samples[..., 3])
    else:
        with pytest.warns(UserWarning, match=r"lzw.tif stores its 16-bit colour channels compressed with tiff_lzw, "
                                             r"which are read at 8 bits .*install the imagecodecs package$"):
            _, info = data.read_image(tmp_path / "lzw.tif")
        assert (info.mode, info.bit_depth) == ("RGBA", 8)


@pytest.mark.parametrize("dtype, on", [(np.uint8, 1), (np.uint8, 255), (np.uint16, 1), (np.uint16, 65535), (bool, True)])
def test_masks_of_zero_and_one_are_masks(tmp_path, dtype, on):
    """Label images of 0 and 1 (as many annotation tools write them) are masks, not all-background ones;
    a mask with bright pixels is thresholded at half intensity, so a soft edge below it stays out."""
    from data.imageio import read_mask

    labels = np.zeros((6, 8), dtype=dtype)
    labels[2:4, 3:6] = on
    if on not in (1, True):
        labels[0, 0] = on // 3  # a faint pixel of a soft edge
    Image.fromarray(labels).save(tmp_path / "mask.png")
    expected = np.zeros((6, 8), bool)
    expected[2:4, 3:6] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "very dark image" warning: a mask of 0 and 1 is meant to be dark
        np.testing.assert_array_equal(read_mask(tmp_path / "mask.png"), expected)
    Image.fromarray(np.zeros((6, 8), dtype)).save(tmp_path / "empty.png")
    assert not read_mask(tmp_path / "empty.png").any()


def test_faint_values_in_a_mask_are_not_defects(tmp_path):
    """Only stored values of exactly 0 and 1 are read as labels: a good part's mask with a faint frame, or
    sparse low values, stays empty, and a JPEG's ringing around a defect stays out of it."""
    from data.imageio import read_mask

    framed = np.zeros((64, 64), np.uint8)
    framed[[0, -1], :] = framed[:, [0, -1]] = 40
    sparse = np.zeros((64, 64), np.uint8)
    sparse[::7, ::5] = 3
    for name, mask in (("framed.jpg", framed), ("sparse.png", sparse)):
        Image.fromarray(mask).save(tmp_path / name, quality=90)
        assert not read_mask(tmp_path / name).any(), name
    defect = np.zeros((64, 64), np.uint8)
    defect[20:40, 20:40] = 255
    Image.fromarray(defect).save(tmp_path / "defect.jpg", quality=75)
    assert read_mask(tmp_path / "defect.jpg").sum() == 400


def _frames(count, seed=7):
    return np.random.default_rng(seed).integers(0, 256, (count, 6, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".tif", ".gif", ".png", ".webp"])
def test_a_file_of_several_frames_is_read_as_its_first_with_one_warning_naming_it(tmp_path, suffix):
    """Multi-page TIFFs and animated GIF, PNG and WebP files: one warning per file, however often it is read (a
    training run reads its images every epoch)."""
    frames = _frames(3)
    path = tmp_path / f"frames{suffix}"
    first, *others = [Image.fromarray(frame) for frame in frames]
    first.save(path, save_all=True, append_images=others, **({"lossless": True} if suffix == ".webp" else {}))
    with Image.open(path) as reference:  # the first frame as Pillow decodes it (a GIF's palette rounds colours)
        expected = np.asarray(reference.convert("RGB"), np.float32) / 255
    with pytest.warns(UserWarning) as caught:
        image, _ = data.read_image(path)
        data.read_image(path)
    messages = [str(warning.message) for warning in caught]
    assert messages == [f"{path}: it holds 3 frames (pages); only the first is read"]
    np.testing.assert_array_equal(image, expected)


def test_a_tiff_of_several_pages_that_only_tifffile_reads_is_named_too(tmp_path):
    """Float colour: Pillow cannot open it, so its pages are counted by tifffile."""
    import tifffile
    pages = np.random.default_rng(8).random((2, 6, 5, 3), dtype=np.float32)
    tifffile.imwrite(tmp_path / "pages.tif", pages, photometric="rgb", metadata=None)
    with pytest.warns(UserWarning, match="it holds 2 frames"):
        image, _ = data.read_image(tmp_path / "pages.tif")
    np.testing.assert_allclose(image, pages[0], atol=1e-7)


def test_a_file_of_one_frame_reads_without_a_warning(tmp_path):
    Image.fromarray(_frames(1)[0]).save(tmp_path / "one.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.read_image(tmp_path / "one.gif")
