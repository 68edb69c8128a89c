"""minigrad.io: .npz round trips, atomic saves, and reading PyTorch files without PyTorch.

PyTorch files are written by torch.save and read back by torch.load(weights_only=True),
which is the oracle for the torch-free reader.
"""
import json
import os
import pathlib
import pickle
import sys
import zipfile

import numpy as np
import pytest

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
    with pytest.raises(mgio.UnsafePickleError, match=f"refusing to load .*{refused} from .*evil.pth"):
        mgio.load(path)
    assert not marker.exists()


def test_hostile_object_next_to_real_tensors_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(3), "hook": RunsCode(marker)}, path)
    with pytest.raises(mgio.UnsafePickleError, match="only tensors, storages and dicts"):
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
