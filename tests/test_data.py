"""data/: layouts on tiny trees written with Pillow, image formats, degradation, built-in set, loader.

Oracles: the arrays written to disk, Pillow's own palette, scipy.ndimage filters, and statistics of
the noise models (means and standard deviations worked out by hand).
"""
import json
import os
import socket
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import REPO_ROOT

import data
from data import builtin, procedural
from data.degrade import PRESETS, PER_CHANNEL, motion_kernel

H, W = 24, 32


def _rgb(seed, shape=(H, W, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(path)
    return array


def _mask_array(seed):
    mask = np.zeros((H, W), np.uint8)
    mask[seed % 10:seed % 10 + 5, 3:9] = 255
    return mask


# ----------------------------------------------------------------------------- layouts

def _kla_tree(root):
    """bottle/Train: "broken" with masks, "contamination" without a Defect_mask folder; bottle/Val: one pair."""
    written = {}
    for split, defect, names in (("Train", "broken", ("000", "001")), ("Train", "contamination", ("000",)),
                                 ("Val", "broken", ("005",))):
        base = root / "bottle" / split
        for i, name in enumerate(names):
            seed = 2 * len(written)
            clean = _save(base / "GT_clean_image" / defect / f"{name}.png", _rgb(seed))
            degraded = _save(base / "Degraded_image" / defect / f"{name}.png", _rgb(seed + 1))
            mask = None
            if defect == "broken":
                mask = _save(base / "Defect_mask" / defect / f"{name}_mask.png", _mask_array(i + 2))
            written[f"bottle/{defect}/{name}"] = (degraded, clean, mask)
    return written


def test_kla_layout_pairs_masks_and_names(tmp_path):
    written = _kla_tree(tmp_path)
    assert data.detect_layout(tmp_path) == "kla"
    train = data.open_dataset(str(tmp_path), split="train")
    assert isinstance(train, data.KLADataset)
    assert [item.name for item in train.items] == ["bottle/broken/000", "bottle/broken/001",
                                                   "bottle/contamination/000"]
    for index in range(len(train)):
        sample = train[index]
        degraded, clean, mask = written[sample["name"]]
        np.testing.assert_allclose(sample["degraded"], degraded / 255.0, atol=1e-6)
        np.testing.assert_allclose(sample["clean"], clean / 255.0, atol=1e-6)
        assert sample["category"] == "bottle"
        assert sample["defect"] == sample["name"].split("/")[1]
        assert sample["params"] is None and sample["info"].mode == "RGB"
        if mask is None:
            assert sample["mask"] is None
        else:
            np.testing.assert_array_equal(sample["mask"], mask > 0)
    val = data.open_dataset(tmp_path, split="val")
    assert [item.name for item in val.items] == ["bottle/broken/005"]
    one_category = data.KLADataset(tmp_path / "bottle", split="train", size=16)
    assert len(one_category) == 3 and one_category[0]["degraded"].shape == (16, 16, 3)
    assert one_category[0]["mask"].shape == (16, 16)


def test_kla_unpaired_files_are_listed(tmp_path):
    _kla_tree(tmp_path)
    (tmp_path / "bottle/Train/Degraded_image/broken/001.png").unlink()
    with pytest.raises(data.DataError, match=r"broken/001"):
        data.open_dataset(tmp_path)


def test_kla_tree_with_lowercase_split_folders_is_still_kla(tmp_path):
    """Not taken for MVTec (whose splits are lowercase), which would train on degraded images as clean."""
    written = _kla_tree(tmp_path)
    for upper, lower in (("Train", "train"), ("Val", "val")):
        (tmp_path / "bottle" / upper).rename(tmp_path / "bottle" / lower)
    (tmp_path / "bottle" / "test").mkdir()  # an MVTec marker too: the KLA folders must win
    assert data.detect_layout(tmp_path) == "kla"
    train = data.open_dataset(tmp_path, split="train")
    assert [item.name for item in train.items] == ["bottle/broken/000", "bottle/broken/001",
                                                   "bottle/contamination/000"]
    degraded, clean, mask = written["bottle/broken/001"]
    np.testing.assert_allclose(train[1]["clean"], clean / 255.0, atol=1e-6)
    np.testing.assert_array_equal(train[1]["mask"], mask > 0)
    assert [item.name for item in data.open_dataset(tmp_path, split="val").items] == ["bottle/broken/005"]


def test_categories_without_the_split_folder_are_named(tmp_path):
    """A misspelt split folder would leave a category out of that split unnoticed."""
    _kla_tree(tmp_path / "kla")
    (tmp_path / "kla" / "cable" / "Train" / "GT_clean_image").mkdir(parents=True)  # no Val: a KLA category still
    with pytest.warns(UserWarning, match=r"1 category of .*kla without a Val folder, left out of that split: cable"):
        assert data.open_dataset(tmp_path / "kla", split="val").categories == ["bottle"]
    written = _mvtec_tree(tmp_path / "mvtec")
    _save(tmp_path / "mvtec" / "bottle" / "ground_truth" / "crack" / "099_mask.png", _mask_array(1))
    assert written  # an orphan mask of the test split is named when the test split is opened, not the train split
    with pytest.warns(UserWarning, match=r"1 mask\(s\) in .*bottle.ground_truth match no image .*: crack/099$"):
        data.open_dataset(tmp_path / "mvtec", split="test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.open_dataset(tmp_path / "mvtec", split="train")


def test_a_missing_split_folder_is_named(tmp_path):
    _kla_tree(tmp_path)
    (tmp_path / "bottle" / "Val").rename(tmp_path / "bottle" / "Validation")
    with pytest.raises(data.DataError, match=r"no category of .* has a Val folder \(looked in bottle\)"):
        data.open_dataset(tmp_path, split="val")
    _save(tmp_path / "mvtec" / "screw" / "train" / "good" / "000.png", _rgb(0))
    with pytest.raises(data.DataError, match=r"no category of .*mvtec has a test folder \(looked in screw\)"):
        data.open_dataset(tmp_path / "mvtec", split="test")


def _mvtec_tree(root):
    written = {}
    for category, mode in (("bottle", "RGB"), ("grid", "L")):
        base = root / category
        for split, defect, name in (("train", "good", "000"), ("train", "good", "001"),
                                    ("test", "good", "000"), ("test", "crack", "000")):
            array = _rgb(len(written))
            array = array if mode == "RGB" else array[..., 0]
            written[f"{category}/{split}/{defect}/{name}"] = _save(base / split / defect / f"{name}.png", array)
        written[f"{category}/crack/000_mask"] = _save(base / "ground_truth/crack/000_mask.png", _mask_array(4))
    return written


def test_mvtec_layout_grayscale_masks_and_seeded_degradation(tmp_path):
    written = _mvtec_tree(tmp_path)
    assert data.detect_layout(tmp_path) == "mvtec"
    test = data.open_dataset(tmp_path, split="val", seed=3)
    assert isinstance(test, data.MVTecDataset) and test.categories == ["bottle", "grid"]
    names = [item.name for item in test.items]
    assert names == ["bottle/crack/000", "bottle/good/000", "grid/crack/000", "grid/good/000"]
    for index, name in enumerate(names):
        sample = test[index]
        category, defect, stem = name.split("/")
        file_pixels = written[f"{category}/test/{defect}/{stem}"] / 255.0
        expected = file_pixels if file_pixels.ndim == 3 else np.repeat(file_pixels[..., None], 3, axis=2)
        np.testing.assert_allclose(sample["clean"], expected, atol=1e-6)
        assert sample["info"].grayscale == (category == "grid")
        if category == "grid":  # a gray camera's image is degraded as one channel: no colour cast
            assert len(sample["params"]["gain"]) == 1
            np.testing.assert_array_equal(sample["degraded"][..., 1:], sample["degraded"][..., :1].repeat(2, axis=2))
        assert sample["defect"] == defect
        if defect == "good":
            assert sample["mask"] is None
        else:
            np.testing.assert_array_equal(sample["mask"], written[f"{category}/crack/000_mask"] > 0)
        assert not np.allclose(sample["degraded"], sample["clean"], atol=0.01)
        json.dumps(sample["params"])  # plain Python numbers only

    # Each sample is reproducible whatever the order, and another instance agrees.
    backwards = [test[i]["degraded"] for i in reversed(range(len(test)))][::-1]
    again = data.MVTecDataset(tmp_path, split="test", seed=3)
    for index in range(len(test)):
        np.testing.assert_array_equal(test[index]["degraded"], backwards[index])
        np.testing.assert_array_equal(again[index]["degraded"], backwards[index])
        assert test.load(index, epoch=0)["params"] == test.load(index, epoch=7)["params"]  # val: fixed
    assert test[0]["params"] != test[1]["params"]
    assert data.MVTecDataset(tmp_path, split="test", seed=4)[0]["params"] != test[0]["params"]

    train = data.open_dataset(tmp_path, layout="mvtec", split="train", degradation="noise")
    assert len(train) == 4 and all(sample_mask is None for sample_mask in (train[i]["mask"] for i in range(4)))
    assert train.load(0, epoch=0)["params"] == train.load(0, epoch=0)["params"]
    assert train.load(0, epoch=0)["params"] != train.load(0, epoch=1)["params"]  # fresh each epoch


def _degraded_by_name(root, split="test", epoch=None):
    dataset = data.open_dataset(root, split=split, seed=3)
    return {item.name: dataset.load(index, epoch)["degraded"] for index, item in enumerate(dataset.items)}


def test_an_mvtec_image_is_degraded_alike_whatever_else_its_folder_holds(tmp_path, monkeypatch):
    """Seeded by its place in the folder, an image's degraded input (and its scores) changed with one more
    category or image: the whole root and one category alone scored the same images differently."""
    _mvtec_tree(tmp_path)
    whole, train = _degraded_by_name(tmp_path), _degraded_by_name(tmp_path, "train", epoch=2)
    grid_alone = _degraded_by_name(tmp_path / "grid")
    assert grid_alone.keys() == {"grid/crack/000", "grid/good/000"}
    monkeypatch.chdir(tmp_path / "grid")
    from_inside = _degraded_by_name(".")  # named as from the root, so seeded alike
    assert from_inside.keys() == grid_alone.keys()
    for name, image in from_inside.items():
        np.testing.assert_array_equal(grid_alone[name], image)
    for split in ("train", "test"):  # a category, and an image, that come first
        _save(tmp_path / "aaa" / split / "good" / "000.png", _rgb(50))
        _save(tmp_path / "grid" / split / "crack" / "0.png", _rgb(51))
    grown, grown_train = _degraded_by_name(tmp_path), _degraded_by_name(tmp_path, "train", epoch=2)
    assert len(grown) == len(whole) + 2 and len(grown_train) == len(train) + 2
    for name, image in whole.items():
        np.testing.assert_array_equal(grown[name], image)
    for name, image in grid_alone.items():
        np.testing.assert_array_equal(whole[name], image)
    for name, image in train.items():
        np.testing.assert_array_equal(grown_train[name], image)

    # The same in another process, whose str hash() is salted otherwise.
    code = ("import sys, data; d = data.open_dataset(sys.argv[1], split='test', seed=3); "
            "print([d[i]['params'] for i in range(len(d))])")
    printed = {subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                              cwd=REPO_ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout for hash_seed in ("1", "2")}
    assert len(printed) == 1


def test_a_layout_named_for_a_tree_of_the_other_layout_is_refused(tmp_path):
    """Folder names match in any case, so --layout mvtec took a KLA tree's masks and degraded images for clean
    images, restored them and exited 0 (or, for the test split, named a test folder the tree has no need of)."""
    _kla_tree(tmp_path / "kla")
    _mvtec_tree(tmp_path / "mvtec")
    _kla_tree(tmp_path / "mixed")
    _save(tmp_path / "mixed" / "screw" / "test" / "good" / "000.png", _rgb(0))
    for root in (tmp_path / "kla", tmp_path / "kla" / "bottle", tmp_path / "mixed"):
        for split in ("train", "test"):
            with pytest.raises(data.DataError, match=r"is in the KLA layout, not MVTec AD \(categories bottle\): "
                                                     r"pass --layout kla or --layout auto$"):
                data.open_dataset(root, layout="mvtec", split=split)
    for root, categories in ((tmp_path / "mvtec", "bottle, grid"), (tmp_path / "mvtec" / "grid", "grid")):
        with pytest.raises(data.DataError, match=rf"is in the MVTec AD layout, not KLA \(categories {categories}\): "
                                                 r"pass --layout mvtec or --layout auto$"):
            data.open_dataset(root, layout="kla")
    assert isinstance(data.open_dataset(tmp_path / "kla", layout="kla"), data.KLADataset)
    assert isinstance(data.open_dataset(tmp_path / "mvtec", layout="mvtec"), data.MVTecDataset)
    with pytest.warns(UserWarning, match=r"mixed also holds screw in the MVTec AD layout, left out of this KLA"):
        mixed = data.open_dataset(tmp_path / "mixed", layout="kla")
    assert {item.name.split("/")[0] for item in mixed.items} == {"bottle"}


def test_folders_layout_pairs_inference_and_unpaired_listing(tmp_path):
    degraded_dir, clean_dir, masks_dir = tmp_path / "deg", tmp_path / "clean", tmp_path / "masks"
    for i in range(3):
        _save(degraded_dir / f"img{i}.png", _rgb(i))
        _save(clean_dir / f"img{i}.png", _rgb(10 + i))
    mask = _save(masks_dir / "img1_mask.png", _mask_array(1))
    paired = data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, masks_dir=masks_dir)
    assert isinstance(paired, data.FolderDataset) and len(paired) == 3
    sample = paired[1]
    assert sample["name"] == "img1"
    np.testing.assert_allclose(sample["clean"], _rgb(11) / 255.0, atol=1e-6)
    np.testing.assert_array_equal(sample["mask"], mask > 0)
    assert paired[0]["mask"] is None

    inference = data.open_dataset(degraded_dir=degraded_dir)
    assert inference[2]["clean"] is None
    np.testing.assert_allclose(inference[2]["degraded"], _rgb(2) / 255.0, atol=1e-6)

    for i in range(12):
        _save(degraded_dir / f"lonely{i:02d}.png", _rgb(i))
    _save(clean_dir / "orphan.png", _rgb(0))
    with pytest.raises(data.DataError) as error:
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir)
    message = str(error.value)
    assert "lonely00" in message and "lonely09" in message and "lonely11" not in message
    assert "and 2 more" in message and "orphan" in message


def test_a_clean_folder_alone_is_degraded_on_the_fly_seeded_by_name(tmp_path):
    """One's own clean images with no degraded copies (--clean DIR alone), degraded as MVTec's are: the
    first folder is the category, masks match by name, training draws afresh each epoch, and an image is
    degraded alike whatever else the folder holds."""
    clean_dir, masks_dir = tmp_path / "clean", tmp_path / "masks"
    for i, folder in enumerate(["", "screws", "screws"]):
        _save(clean_dir / folder / f"img{i}.png", _rgb(i))
    mask = _save(masks_dir / "screws" / "img1_mask.png", _mask_array(1))
    dataset = data.open_dataset(clean_dir=clean_dir, masks_dir=masks_dir, split="val", degradation="noise", seed=4)
    assert isinstance(dataset, data.CleanFolderDataset) and dataset.synthetic and dataset.layout == "folders"
    assert [item.name for item in dataset.items] == ["img0", "screws/img1", "screws/img2"]
    assert dataset.categories == ["images", "screws"]
    sample = dataset[1]
    np.testing.assert_allclose(sample["clean"], _rgb(1) / 255.0, atol=1e-6)
    np.testing.assert_array_equal(sample["mask"], mask > 0)
    assert dataset[0]["mask"] is None and set(sample["params"]) == {"noise_sigma"}  # the noise preset's
    assert not np.array_equal(sample["degraded"], sample["clean"])
    np.testing.assert_array_equal(dataset[1]["degraded"], sample["degraded"])  # the same every time

    train = data.open_dataset(clean_dir=clean_dir, degradation="noise", seed=4)
    assert train.load(1, epoch=0)["params"] != train.load(1, epoch=1)["params"]  # fresh each epoch

    _save(clean_dir / "aaa.png", _rgb(9))  # one more image, listed first
    grown = data.open_dataset(clean_dir=clean_dir, masks_dir=masks_dir, split="val", degradation="noise", seed=4)
    assert len(grown) == 4 and grown.items[2].name == "screws/img1"
    np.testing.assert_array_equal(grown[2]["degraded"], sample["degraded"])
    other_seed = data.open_dataset(clean_dir=clean_dir, split="val", degradation="noise", seed=5)
    assert not np.array_equal(other_seed[2]["degraded"], sample["degraded"])


def test_a_clean_folder_is_refused_with_a_layout_of_data_sets_and_masks_need_images(tmp_path):
    clean_dir = tmp_path / "clean"
    _save(clean_dir / "img0.png", _rgb(0))
    with pytest.raises(data.DataError, match="--layout kla reads --data FOLDER"):
        data.open_dataset(layout="kla", clean_dir=clean_dir)
    with pytest.raises(data.DataError, match="or --clean DIR alone"):
        data.open_dataset(masks_dir=clean_dir)


def test_masks_that_match_no_image_are_named_in_a_warning(tmp_path):
    degraded_dir, masks_dir = tmp_path / "deg", tmp_path / "masks"
    for i in range(2):
        _save(degraded_dir / f"img{i}.png", _rgb(i))
    _save(masks_dir / "img0_mask.png", _mask_array(0))
    _save(masks_dir / "img1-mask.png", _mask_array(1))  # misnamed: it would be left out silently
    with pytest.warns(UserWarning, match=r"1 mask\(s\) in .*masks match no image .*: img1-mask$"):
        folders = data.open_dataset(degraded_dir=degraded_dir, masks_dir=masks_dir)
    assert folders[0]["mask"] is not None and folders[1]["mask"] is None


def test_resized_pairs_fit_up_to_a_pixel_of_rounding_not_a_crop(tmp_path):
    """A half-resolution copy rounded to whole pixels (33x32 of 65x64) is the same scene; three rows cut
    from four hundred are a crop, misaligned by resizing however small the cut."""
    degraded_dir, clean_dir = tmp_path / "deg", tmp_path / "clean"
    _save(degraded_dir / "rounded.png", _rgb(1, (32, 33, 3)))
    _save(clean_dir / "rounded.png", _rgb(2, (64, 65, 3)))
    data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, size=16)
    _save(degraded_dir / "crop.png", _rgb(3, (397, 400, 3)))
    _save(clean_dir / "crop.png", _rgb(4, (400, 400, 3)))
    with pytest.raises(data.DataError, match=r"^1 pair\(s\) .*differ in shape: crop \(degraded 400x397, clean 400x400\)"):
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, size=16)


def test_pairs_of_different_sizes_are_all_listed_before_any_image_is_read(tmp_path, monkeypatch):
    """From the headers, upright: a phone photo stored sideways with its EXIF turn matches its clean image."""
    degraded_dir, clean_dir, masks_dir = tmp_path / "deg", tmp_path / "clean", tmp_path / "masks"
    for name in ("fine", "small", "bad_mask", "phone"):
        _save(clean_dir / f"{name}.png", _rgb(0))
    _save(degraded_dir / "fine.png", _rgb(1))
    _save(degraded_dir / "small.png", _rgb(2, (H // 2, W // 2, 3)))
    _save(degraded_dir / "bad_mask.png", _rgb(3))
    _save(masks_dir / "bad_mask_mask.png", _mask_array(1)[:, :W - 8])
    sideways = Image.fromarray(_rgb(4, (W, H, 3)))  # stored W tall and H wide, shown H tall after the turn
    exif = sideways.getexif()
    exif[0x0112] = 6
    sideways.save(degraded_dir / "phone.jpg", exif=exif)
    monkeypatch.setattr(data.datasets, "read_image", lambda path: pytest.fail(f"{path} was decoded"))
    with pytest.raises(data.DataError) as error:
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, masks_dir=masks_dir)
    assert str(error.value) == (
        f"2 pair(s) whose images or masks differ in size: bad_mask (degraded {W}x{H}, clean {W}x{H}, mask "
        f"{W - 8}x{H}), small (degraded {W // 2}x{H // 2}, clean {W}x{H}); make each degraded image, its clean "
        "image and its mask the same size (or, for pairs of one shape at two resolutions, pass --size to resize "
        "them alike)")
    with pytest.raises(data.DataError) as error:  # resized alike, one scene at two resolutions fits; a crop does not
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, masks_dir=masks_dir, size=16)
    assert str(error.value) == (
        f"1 pair(s) whose images or masks differ in shape: bad_mask (degraded {W}x{H}, clean {W}x{H}, mask "
        f"{W - 8}x{H}); resizing to --size would stretch them unlike, not align them: give each pair one shape")
    monkeypatch.undo()
    (masks_dir / "bad_mask_mask.png").unlink()
    resized = data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir, masks_dir=masks_dir, size=16)
    small = resized[[item.name for item in resized.items].index("small")]
    assert small["degraded"].shape == small["clean"].shape == (16, 16, 3)


def test_a_mask_of_another_size_than_its_image_is_refused_at_any_size(tmp_path):
    _save(tmp_path / "deg" / "part.png", _rgb(0))
    _save(tmp_path / "masks" / "part_mask.png", _mask_array(0)[:H - 4])
    for size in (None, 16):
        with pytest.raises(data.DataError, match=rf"^1 pair\(s\) .*: part \(degraded {W}x{H}, mask {W}x{H - 4}\); "):
            data.open_dataset(degraded_dir=tmp_path / "deg", masks_dir=tmp_path / "masks", size=size)


def test_images_of_one_name_are_all_restored_but_refused_where_names_pair(tmp_path):
    """x.bmp and x.jpeg: restoring alone keeps both (their outputs keep their suffix); matching by name
    lists every such name at once, in whichever folder."""
    degraded_dir, clean_dir, masks_dir = tmp_path / "deg", tmp_path / "clean", tmp_path / "masks"
    for name in ("x.bmp", "x.jpeg", "sub/y.png", "sub/y.tif", "z.png"):
        _save(degraded_dir / name, _rgb(len(name)))
    for name in ("x.png", "sub/y.png", "z.png", "z.tif"):
        _save(clean_dir / name, _rgb(0))
    restore_only = data.open_dataset(degraded_dir=degraded_dir)
    assert [(item.name, item.source.name) for item in restore_only.items] == [
        ("sub/y", "y.png"), ("sub/y", "y.tif"), ("x", "x.bmp"), ("x", "x.jpeg"), ("z", "z.png")]
    assert restore_only[1]["name"] == "sub/y" and restore_only[1]["info"].mode == "RGB"
    with pytest.raises(data.DataError) as error:
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir)
    assert str(error.value) == (f"2 name(s) in {degraded_dir} taken by more than one image, which cannot be matched "
                                "by name: sub/y (sub/y.png, sub/y.tif), x (x.bmp, x.jpeg); rename or remove all but "
                                "one of each")
    _save(masks_dir / "z_mask.png", _mask_array(0))
    with pytest.raises(data.DataError, match=r"^2 name\(s\) in .*deg taken by more than one image"):
        data.open_dataset(degraded_dir=degraded_dir, masks_dir=masks_dir)  # masks pair by name too
    for name in ("x.bmp", "sub/y.tif"):
        (degraded_dir / name).unlink()
    with pytest.raises(data.DataError, match=r"^1 name\(s\) in .*clean taken .*: z \(z.png, z.tif\);"):
        data.open_dataset(degraded_dir=degraded_dir, clean_dir=clean_dir)


def test_linked_folders_are_followed_and_a_broken_link_is_read_as_an_unreadable_file(tmp_path):
    """A link to a folder is entered (unless it leads back to a folder holding it, which is named); a broken
    link is an image that cannot be read: it is named when read and skipped like one."""
    _save(tmp_path / "elsewhere" / "inner" / "far.png", _rgb(1))
    degraded_dir = tmp_path / "deg"
    _save(degraded_dir / "near.png", _rgb(2))
    (degraded_dir / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "inner" / "back").symlink_to(degraded_dir)  # a cycle through the link
    (degraded_dir / "broken.png").symlink_to(tmp_path / "missing.png")
    (degraded_dir / "broken.txt").symlink_to(tmp_path / "missing.txt")  # not an image: no word of it
    with pytest.warns(UserWarning) as caught:
        folders = data.open_dataset(degraded_dir=degraded_dir)
    assert [str(warning.message) for warning in caught] == [
        f"{degraded_dir / 'linked' / 'inner' / 'back'} links to {degraded_dir}, which holds it: left out, not to loop"]
    assert [item.name for item in folders.items] == ["broken", "linked/inner/far", "near"]
    np.testing.assert_allclose(folders[1]["degraded"], _rgb(1) / 255.0, atol=1e-6)
    with pytest.raises(data.ImageReadError, match=r"cannot read image .*broken.png: a link to .*missing.png, which "
                                                  r"does not exist"):
        folders[0]  # as an unreadable file: the loader and evaluate.py name it and skip it


def test_images_of_a_kind_not_read_are_named_not_silently_left_out(tmp_path):
    _save(tmp_path / "deg" / "a.png", _rgb(0))
    for name in ("b.gif", "sub/c.GIF", "d.heic"):
        (tmp_path / "deg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "deg" / name).write_bytes(b"not read")
    (tmp_path / "deg" / "notes.txt").write_text("not an image at all: no warning for it")
    with pytest.warns(UserWarning, match=r"deg holds images of a kind not read here \(\.gif, \.heic\), left out"):
        folders = data.open_dataset(degraded_dir=tmp_path / "deg")
    assert [item.name for item in folders.items] == ["a"]


def test_missing_empty_and_unknown_give_clear_errors(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.open_dataset(tmp_path / "nowhere")
    with pytest.raises(data.DataError, match="cannot tell the layout.*kla.*mvtec"):
        data.open_dataset(tmp_path)
    with pytest.raises(data.DataError, match="unknown layout 'coco'.*folders"):
        data.open_dataset(tmp_path, layout="coco")
    (tmp_path / "deg").mkdir()
    with pytest.raises(data.DataError, match="no images found"):
        data.open_dataset(degraded_dir=tmp_path / "deg")
    with pytest.raises(data.DataError, match="no images found"):
        data.open_dataset(clean_dir=tmp_path / "deg")
    (tmp_path / "cat" / "Train" / "GT_clean_image").mkdir(parents=True)
    with pytest.raises(data.DataError, match="Degraded_image does not exist"):
        data.open_dataset(tmp_path)
    with pytest.raises(data.DataError, match="unknown degradation"):
        data.open_dataset("builtin", degradation="fog")
    with pytest.raises(data.DataError, match="--layout kla reads a data set folder"):
        data.open_dataset("builtin", layout="kla")
    with pytest.raises(data.DataError, match="--layout mvtec reads --data FOLDER; --degraded and --clean DIR are the folders"):
        data.open_dataset(layout="mvtec", degraded_dir=tmp_path / "deg")


def test_kept_images_are_read_once_exactly_and_within_the_budget(tmp_path):
    """keep_decoded: a later epoch reads nothing from disk and gets what decoding gave, read-only, while
    synthetic sets still draw a fresh degradation each epoch; images past the budget are read again."""
    _kla_tree(tmp_path / "kla")
    _mvtec_tree(tmp_path / "mvtec")
    kla, mvtec = (data.open_dataset(tmp_path / name, split="train", size=16) for name in ("kla", "mvtec"))
    expected = {name: [data.open_dataset(tmp_path / name, split="train", size=16).load(i, epoch=1)
                       for i in range(len(dataset))] for name, dataset in (("kla", kla), ("mvtec", mvtec))}  # no keeping
    first_epoch = {}
    for name, dataset in (("kla", kla), ("mvtec", mvtec)):
        dataset.keep_decoded(1 << 20)
        first_epoch[name] = [dataset.load(i, epoch=0) for i in range(len(dataset))]
    for path in tmp_path.rglob("*.png"):
        path.unlink()
    for name, dataset in (("kla", kla), ("mvtec", mvtec)):
        for index in range(len(dataset)):
            sample, want = dataset.load(index, epoch=1), expected[name][index]
            for key in ("degraded", "clean", "mask"):
                np.testing.assert_array_equal(sample[key], want[key])
            assert not sample["clean"].flags.writeable
            fresh = not np.array_equal(sample["degraded"], first_epoch[name][index]["degraded"])
            assert fresh == (name == "mvtec")  # KLA pairs come degraded; MVTec is degraded anew

    _kla_tree(tmp_path / "kla")
    partly = data.open_dataset(tmp_path / "kla", split="train", size=16)
    one_pair = sum(array.nbytes for array in partly._read_pair(partly.items[0]) if isinstance(array, np.ndarray))
    partly.keep_decoded(one_pair)
    [partly.load(i) for i in range(len(partly))]
    for path in tmp_path.rglob("*.png"):
        path.unlink()
    partly.load(0)
    with pytest.raises(data.ImageReadError):
        partly.load(1)


# ----------------------------------------------------------------------------- image formats

def test_grayscale_read_and_round_trip(tmp_path):
    pixels = _save(tmp_path / "gray.png", _rgb(1, (H, W)))
    image, info = data.read_image(tmp_path / "gray.png")
    assert image.dtype == np.float32 and image.shape == (H, W, 3)
    np.testing.assert_allclose(image, np.repeat(pixels[..., None] / 255.0, 3, axis=2), atol=1e-6)
    assert (info.mode, info.grayscale, info.bit_depth, info.alpha) == ("L", True, 8, None)
    data.write_image(tmp_path / "out" / "gray.png", image, like=info)
    with Image.open(tmp_path / "out" / "gray.png") as written:
        assert written.mode == "L" and written.size == (W, H)
        np.testing.assert_array_equal(np.asarray(written), pixels)
    restored = _rgb(2) / np.float32(255)  # a network output whose channels differ a little
    data.write_image(tmp_path / "mean.png", restored, like=info)
    with Image.open(tmp_path / "mean.png") as written:
        np.testing.assert_array_equal(np.asarray(written), np.round(_rgb(2).mean(axis=2)).astype(np.uint8))


def test_rgba_keeps_its_alpha(tmp_path):
    pixels = _save(tmp_path / "rgba.png", _rgb(2, (H, W, 4)))
    image, info = data.read_image(tmp_path / "rgba.png")
    np.testing.assert_allclose(image, pixels[..., :3] / 255.0, atol=1e-6)
    np.testing.assert_allclose(info.alpha, pixels[..., 3] / 255.0, atol=1e-6)
    data.write_image(tmp_path / "out.png", image, like=info)
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written), pixels)

    gray_alpha = _rgb(3, (H, W, 2))
    Image.fromarray(gray_alpha, mode="LA").save(tmp_path / "la.png")
    image, info = data.read_image(tmp_path / "la.png")
    assert info.grayscale and info.mode == "LA"
    np.testing.assert_allclose(image[..., 2], gray_alpha[..., 0] / 255.0, atol=1e-6)
    data.write_image(tmp_path / "la_out.png", image, like=info)
    with Image.open(tmp_path / "la_out.png") as written:
        assert written.mode == "LA"
        np.testing.assert_array_equal(np.asarray(written), gray_alpha)


def test_sixteen_bit_png_read_and_round_trip(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 65536, (H, W), dtype=np.uint16)
    _save(tmp_path / "deep.png", pixels)
    image, info = data.read_image(tmp_path / "deep.png")
    assert info.bit_depth == 16 and info.grayscale
    np.testing.assert_allclose(image[..., 1], pixels / 65535.0, atol=1e-7)
    data.write_image(tmp_path / "deep_out.png", image, like=info)
    with Image.open(tmp_path / "deep_out.png") as written:
        assert written.mode.startswith("I") and written.size == (W, H)
        np.testing.assert_array_equal(np.asarray(written).astype(np.int64), pixels)


def test_phone_photo_is_read_upright_and_written_with_its_profile(tmp_path):
    """A camera JPEG stores its rotation as an EXIF tag and its colours in an ICC profile (Display P3 on
    phones). The restored file carries neither tag nor rotation, so the pixels must be read upright;
    the profile must be written back, or viewers show other colours."""
    from PIL import ImageCms
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    yy, xx = np.mgrid[0:H, 0:W]
    smooth = np.stack([8 * xx, 10 * yy, 4 * (xx + yy)], axis=2).astype(np.uint8)  # what a restoration looks like
    photo = Image.fromarray(smooth)
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    photo.save(tmp_path / "phone.jpg", exif=exif, icc_profile=profile, quality=100, subsampling=0)
    with Image.open(tmp_path / "phone.jpg") as stored:
        raw = np.asarray(stored, dtype=np.float32) / 255

    image, info = data.read_image(tmp_path / "phone.jpg")
    np.testing.assert_array_equal(image, np.rot90(raw, k=-1))
    assert info.icc_profile == profile

    data.write_image(tmp_path / "out" / "phone.jpg", image, like=info)
    with Image.open(tmp_path / "out" / "phone.jpg") as written:
        assert written.size == (H, W) and written.getexif().get(0x0112) is None
        assert written.info["icc_profile"] == profile
        error = np.abs(np.asarray(written, dtype=np.float32) / 255 - image)
    # 0.65 grey levels on average; Pillow's defaults (quality 75, colour at half resolution) err by 1.7
    assert error.mean() < 1.0 / 255, error.mean() * 255


def _sixteen_bit_png(path, pixels, colour_type=2):
    """A 16-bit PNG written by hand (Pillow writes none with colour or alpha), its rows filtered in
    turn with each of the format's five filters, so that reading must undo every one of them."""
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    def predict(kind, left, up, up_left):
        if kind == 4:  # Paeth
            estimate = left + up - up_left
            distances = [abs(estimate - left), abs(estimate - up), abs(estimate - up_left)]
            return (left, up, up_left)[distances.index(min(distances))]
        return (0, left, up, (left + up) // 2)[kind]

    height, width, channels = pixels.shape
    step = 2 * channels  # bytes a pixel
    rows = [list(row.astype(">u2").tobytes()) for row in pixels]
    stream = bytearray()
    for y, row in enumerate(rows):
        kind = y % 5
        above = rows[y - 1] if y else [0] * len(row)
        stream.append(kind)
        for x, value in enumerate(row):
            left = row[x - step] if x >= step else 0
            up_left = above[x - step] if x >= step else 0
            stream.append((value - predict(kind, left, above[x], up_left)) % 256)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(bytes(stream))) + chunk(b"IEND", b""))


def _sixteen_bit_samples(seed, channels):
    return np.random.default_rng(seed).integers(0, 65536, (H, W, channels), dtype=np.uint16)


@pytest.mark.parametrize("channels, colour_type, mode", [(3, 2, "RGB"), (4, 6, "RGBA"), (2, 4, "LA")])
def test_sixteen_bit_png_keeps_its_sixteen_bits(tmp_path, channels, colour_type, mode):
    samples = _sixteen_bit_samples(7, channels)
    _sixteen_bit_png(tmp_path / "deep.png", samples, colour_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image, info = data.read_image(tmp_path / "deep.png")
    colour = samples[..., :1].repeat(3, axis=2) if mode == "LA" else samples[..., :3]
    np.testing.assert_array_equal(np.round(image * 65535.0), colour)
    assert (info.mode, info.bit_depth, info.grayscale) == (mode, 16, mode == "LA")
    if channels in (2, 4):
        np.testing.assert_array_equal(np.round(info.alpha * 65535.0), samples[..., -1])


@pytest.mark.parametrize("byte_order, compression", [("<", None), (">", None), ("<", "zlib")])
@pytest.mark.parametrize("channels", [3, 4])
def test_sixteen_bit_colour_tiff_keeps_its_sixteen_bits(tmp_path, byte_order, compression, channels):
    """Uncompressed TIFFs are decoded by Pillow itself, compressed ones by libtiff, in native byte order."""
    import tifffile
    samples = _sixteen_bit_samples(8, channels)
    tifffile.imwrite(tmp_path / "deep.tif", samples, photometric="rgb", byteorder=byte_order, compression=compression,
                     extrasamples=("unassalpha",) if channels == 4 else None)
    image, info = data.read_image(tmp_path / "deep.tif")
    np.testing.assert_array_equal(np.round(image * 65535.0), samples[..., :3])
    assert (info.mode, info.bit_depth) == (("RGB", "RGBA")[channels - 3], 16)


def test_sixteen_bit_colour_is_read_upright(tmp_path):
    import tifffile
    samples = _sixteen_bit_samples(9, 3)
    tifffile.imwrite(tmp_path / "turned.tif", samples, photometric="rgb", extratags=[(0x0112, "H", 1, 6, True)])
    image, _ = data.read_image(tmp_path / "turned.tif")
    np.testing.assert_array_equal(np.round(image * 65535.0), np.rot90(samples, k=-1))


@pytest.mark.parametrize("name", ["deep.png", "deep.tif"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA"])
def test_sixteen_bit_images_are_written_back_at_sixteen_bits(tmp_path, name, mode):
    """Read back by Pillow's own decoder: its 8-bit view is the high bytes, and the full read is exact."""
    rng = np.random.default_rng(10)
    values = rng.random((H, W, 3), dtype=np.float32)
    if mode == "LA":
        values = values[..., :1].repeat(3, axis=2)
    alpha = rng.random((H, W), dtype=np.float32) if "A" in mode else None
    profile = _icc_profile(b"RGB " if mode != "LA" else b"GRAY")
    data.write_image(tmp_path / name, values, like=data.ImageInfo(mode, mode == "LA", 16, alpha, profile))
    expected = np.round(values * 65535.0)
    written, info = data.read_image(tmp_path / name)
    assert (info.mode, info.bit_depth, info.icc_profile) == (mode, 16, profile)
    if alpha is not None:
        np.testing.assert_array_equal(np.round(info.alpha * 65535.0), np.round(alpha * 65535.0))
    np.testing.assert_array_equal(np.round(written * 65535.0), expected)
    if mode != "LA":
        with Image.open(tmp_path / name) as eight_bits:
            np.testing.assert_array_equal(np.asarray(eight_bits)[..., :3], (expected.astype(np.uint16) >> 8))


def test_sixteen_bit_png_taller_than_a_block_round_trips(tmp_path):
    """The encoder filters and compresses a few rows at a time: rows at the blocks' edges are predicted
    from the row above them too (a wrong one would show as a streak)."""
    from data.imageio import _PNG_BLOCK_ROWS
    values = np.random.default_rng(11).random((2 * _PNG_BLOCK_ROWS + 1, 3, 3), dtype=np.float32)
    data.write_image(tmp_path / "tall.png", values, like=data.ImageInfo("RGB", False, 16))
    written, _ = data.read_image(tmp_path / "tall.png")
    np.testing.assert_array_equal(np.round(written * 65535.0), np.round(values * 65535.0))


def test_a_plane_is_written_in_colour_as_a_colour_original_was(tmp_path):
    plane = np.random.default_rng(12).random((H, W), dtype=np.float32)
    for name, bit_depth in (("deep.png", 16), ("deep.tif", 16), ("plain.png", 8)):
        data.write_image(tmp_path / name, plane, like=data.ImageInfo("RGB", False, bit_depth))
        written, info = data.read_image(tmp_path / name)
        assert (info.grayscale, info.bit_depth) == (False, bit_depth), name
        np.testing.assert_allclose(written, np.repeat(plane[..., None], 3, axis=2), atol=0.5 / 255)


def test_sixteen_bit_files_holding_twelve_bit_data_are_named_once(tmp_path, monkeypatch):
    from data import imageio
    monkeypatch.setattr(imageio, "_few_bits_warned", set())
    twelve_bit = np.random.default_rng(15).integers(0, 4096, (H, W), dtype=np.uint16)
    twelve_bit[0, 0] = 4095
    for name in ("a.png", "b.png"):
        Image.fromarray(twelve_bit).save(tmp_path / name)
    Image.fromarray(twelve_bit * 16).save(tmp_path / "scaled.png")
    with pytest.warns(UserWarning, match=r"a.png: its 16-bit pixels reach only 4095 of 65535.*12-bit data.*by 16"):
        data.read_image(tmp_path / "a.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.read_image(tmp_path / "b.png")       # once, not once per file
        data.read_image(tmp_path / "scaled.png")  # the full 16-bit range: nothing to say


def _float_pixels(scale):
    """Random float grayscale in [0, scale] that reaches both ends, as float TIFFs store it."""
    pixels = np.random.default_rng(int(scale)).random((H, W), dtype=np.float32) * np.float32(scale)
    pixels[0, 0], pixels[-1, -1] = 0.0, scale
    return pixels


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_float_tiff_is_read_in_its_scale_and_written_back_alike(tmp_path, scale):
    pixels = _float_pixels(scale)
    Image.fromarray(pixels).save(tmp_path / "float.tif")
    image, info = data.read_image(tmp_path / "float.tif")
    assert (info.mode, info.grayscale, info.bit_depth, info.float_scale) == ("F", True, 32, scale)
    np.testing.assert_allclose(image, np.repeat(pixels[..., None] / scale, 3, axis=2), rtol=1e-6)
    data.write_image(tmp_path / "out.tif", image, like=info)
    with Image.open(tmp_path / "out.tif") as written:
        assert written.mode == "F"
        np.testing.assert_allclose(np.asarray(written), pixels, rtol=1e-6)


def test_float_tiff_overshooting_its_range_stays_in_unit_scale(tmp_path):
    pixels = _float_pixels(1.0)
    pixels[0, 0], pixels[-1, -1] = -0.2, 1.3  # noise and bicubic resampling push pixels past [0, 1]
    Image.fromarray(pixels).save(tmp_path / "float.tif")
    image, info = data.read_image(tmp_path / "float.tif")
    assert info.float_scale == 1.0
    np.testing.assert_allclose(image[..., 0], np.clip(pixels, 0, 1), rtol=1e-6)


@pytest.mark.parametrize("outlier", [-1.0, 400.0, np.nan, np.inf])
def test_float_tiff_outside_both_scales_is_refused_with_its_range(tmp_path, outlier):
    pixels = _float_pixels(1.0)
    pixels[3, 4] = outlier
    Image.fromarray(pixels).save(tmp_path / "odd.tif")
    expected = f"odd.tif: float pixels range from {np.min(pixels):g} to {np.max(pixels):g}"
    with pytest.raises(data.ImageReadError, match=expected.replace(".", r"\.")):
        data.read_image(tmp_path / "odd.tif")


def test_thirty_two_bit_integer_tiff_within_sixteen_bits_round_trips(tmp_path):
    """Pillow stores int32 pixels as mode "I" (as some versions open 16-bit PNG): 16-bit values are kept."""
    pixels = np.random.default_rng(9).integers(0, 65536, (H, W), dtype=np.int32)
    pixels[0, 0], pixels[-1, -1] = 0, 65535
    Image.fromarray(pixels).save(tmp_path / "wide.tif")
    image, info = data.read_image(tmp_path / "wide.tif")
    assert (info.mode, info.bit_depth) == ("I", 16)
    np.testing.assert_allclose(image[..., 0], pixels / 65535.0, atol=1e-7)
    data.write_image(tmp_path / "out.tif", image, like=info)
    with Image.open(tmp_path / "out.tif") as written:
        np.testing.assert_array_equal(np.asarray(written).astype(np.int64), pixels)


@pytest.mark.parametrize("outlier", [65536, 1 << 30, -1])
def test_thirty_two_bit_integer_pixels_beyond_sixteen_bits_are_refused(tmp_path, outlier):
    pixels = np.random.default_rng(10).integers(0, 65536, (H, W), dtype=np.int32)
    pixels[5, 6] = outlier
    Image.fromarray(pixels).save(tmp_path / "wide.tif")
    expected = f"range from {pixels.min()} to {pixels.max()}: 32-bit integer pixels are not supported"
    with pytest.raises(data.ImageReadError, match=expected):
        data.read_image(tmp_path / "wide.tif")


def _icc_profile(colour_space):
    """The 128-byte header of an ICC profile: all a file format stores and a reader checks here."""
    header = bytearray(128)
    header[0:4] = len(header).to_bytes(4, "big")
    header[16:20] = colour_space
    header[36:40] = b"acsp"
    return bytes(header)


@pytest.mark.parametrize("mode, colour_space, kept", [
    ("CMYK", b"CMYK", False),  # a print JPEG: restored as RGB, so its profile no longer fits
    ("RGB", b"RGB ", True),
    ("L", b"GRAY", True),
    ("L", b"RGB ", False),  # a mislabelled file: the written grayscale image must not carry it on
])
def test_colour_profile_is_written_back_only_for_its_colour_space(tmp_path, mode, colour_space, kept):
    channels = np.random.default_rng(11).integers(0, 256, (H, W, len(mode)), dtype=np.uint8)
    original = Image.frombytes(mode, (W, H), channels.tobytes())
    original.save(tmp_path / "photo.jpg", icc_profile=_icc_profile(colour_space), quality=100)
    image, info = data.read_image(tmp_path / "photo.jpg")
    data.write_image(tmp_path / "out.jpg", image, like=info)
    with Image.open(tmp_path / "out.jpg") as written:
        assert written.mode == ("L" if mode == "L" else "RGB")
        assert written.info.get("icc_profile") == (_icc_profile(colour_space) if kept else None)


def test_hidden_files_and_folders_are_not_taken_for_images(tmp_path):
    """macOS AppleDouble files ("._" + the name: resource forks copied onto other disks), hidden files,
    and what hidden folders such as .ipynb_checkpoints hold; a data set stored under a hidden folder is fine."""
    pixels = np.random.default_rng(12).integers(0, 256, (H, W, 3), dtype=np.uint8)
    root = tmp_path / ".cache"
    for folder in ("degraded", "clean"):
        (root / folder).mkdir(parents=True)
        Image.fromarray(pixels).save(root / folder / "photo.png")
    Image.fromarray(pixels).save(root / "degraded" / ".hidden.png")
    (root / "degraded" / ".ipynb_checkpoints").mkdir()
    Image.fromarray(pixels).save(root / "degraded" / ".ipynb_checkpoints" / "photo.png")
    (root / "degraded" / "._photo.png").write_bytes(b"\x00\x05\x16\x07" + bytes(78))  # AppleDouble magic
    dataset = data.open_dataset(degraded_dir=root / "degraded", clean_dir=root / "clean")
    assert [item.name for item in dataset.items] == ["photo"]


def test_palette_and_one_bit_images(tmp_path):
    palette = _rgb(4, (16, 3))
    indices = np.random.default_rng(5).integers(0, 16, (H, W), dtype=np.uint8)
    paletted = Image.fromarray(indices, mode="P")
    paletted.putpalette(palette.flatten().tolist())
    paletted.save(tmp_path / "pal.png")
    image, info = data.read_image(tmp_path / "pal.png")
    assert info.mode == "P" and not info.grayscale
    np.testing.assert_allclose(image, palette[indices] / 255.0, atol=1e-6)
    data.write_image(tmp_path / "pal_out.png", image, like=info)
    with Image.open(tmp_path / "pal_out.png") as written:
        assert written.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(written), palette[indices])

    bits = np.random.default_rng(6).random((H, W)) < 0.5
    Image.fromarray(bits).save(tmp_path / "bits.png")
    image, info = data.read_image(tmp_path / "bits.png")
    assert info.bit_depth == 1
    np.testing.assert_array_equal(image[..., 0], bits.astype(np.float32))
    data.write_image(tmp_path / "bits_out.png", image, like=info)
    with Image.open(tmp_path / "bits_out.png") as written:
        assert written.mode == "1"
        np.testing.assert_array_equal(np.asarray(written), bits)


def test_corrupt_file_and_mask_reading(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(data.ImageReadError, match="broken.png") as error:
        data.read_image(tmp_path / "broken.png")
    assert isinstance(error.value, data.DataError)
    assert str(error.value).count("broken.png") == 1  # Pillow's own message names the file again
    with pytest.raises(data.ImageReadError) as error:
        data.read_image(tmp_path / "gone.png")
    assert str(error.value) == f"cannot read image {tmp_path / 'gone.png'}: [Errno 2] No such file or directory"
    mask = _save(tmp_path / "m.png", _mask_array(3))
    read = data.read_mask(tmp_path / "m.png")
    assert read.dtype == bool and read.shape == (H, W)
    np.testing.assert_array_equal(read, mask > 0)


# ----------------------------------------------------------------------------- degradation

def test_degradation_is_deterministic_for_a_seed():
    clean = _rgb(7) / np.float32(255)
    for preset in data.degradation_names():
        first, params = data.degrade(clean, preset, np.random.default_rng(11))
        second, params_again = data.degrade(clean, preset, np.random.default_rng(11))
        np.testing.assert_array_equal(first, second)
        assert params == params_again and first.dtype == np.float32
        other, _ = data.degrade(clean, preset, np.random.default_rng(12))
        assert not np.array_equal(first, other)


def test_sampled_parameters_stay_in_their_ranges():
    rng = np.random.default_rng(0)
    clean = np.full((4, 4, 3), 0.5, np.float32)
    for preset, ranges in PRESETS.items():
        for _ in range(100):
            degraded, params = data.degrade(clean, preset, rng)
            assert set(params) == set(ranges)
            assert 0.0 <= degraded.min() and degraded.max() <= 1.0
            for name, (low, high) in ranges.items():
                values = params[name] if name in PER_CHANNEL else [params[name]]
                assert len(values) == (3 if name in PER_CHANNEL else 1)
                assert all(isinstance(v, float) and low <= v <= high for v in values)


def test_mixed_draws_every_preset_and_applies_it_as_that_preset_would():
    clean = _rgb(9) / np.float32(255)
    drawn = set()
    for seed in range(60):
        degraded, params = data.degrade(clean, "mixed", np.random.default_rng(seed))
        preset = params.pop("preset")
        drawn.add(preset)
        assert set(params) == set(PRESETS[preset])
        for name, (low, high) in PRESETS[preset].items():
            assert all(low <= value <= high for value in np.atleast_1d(params[name]))
        rng = np.random.default_rng(seed)
        rng.integers(len(PRESETS))  # the draw of the preset
        np.testing.assert_array_equal(degraded, data.degrade(clean, preset, rng)[0])
    assert drawn == set(PRESETS)


def test_kla_mean_level_matches_gain_and_offset():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    for seed in range(5):
        degraded, params = data.degrade(flat, "kla", np.random.default_rng(seed))
        expected = np.array(params["gain"]) * 0.5 + np.array(params["offset"])
        tolerance = 5 * params["noise_sigma"] / 96  # five standard errors of a 96x96 mean
        np.testing.assert_allclose(degraded.mean(axis=(0, 1)), expected, atol=tolerance)
        residual = degraded - expected
        np.testing.assert_allclose(residual.std(), params["noise_sigma"], rtol=0.05)


def test_blur_noise_and_poisson_match_their_models():
    clean = ndimage.gaussian_filter(_rgb(8, (64, 64, 3)).astype(np.float32) / 255, (2, 2, 0))
    blurred, params = data.degrade(clean, "blur", np.random.default_rng(1))
    for channel in range(3):
        oracle = ndimage.gaussian_filter(clean[..., channel], params["blur_sigma"], mode="reflect")
        np.testing.assert_allclose(blurred[..., channel], oracle, atol=1e-6)

    grey = np.full((128, 128, 3), 0.5, np.float32)
    noisy, params = data.degrade(grey, "noise", np.random.default_rng(2))
    assert abs(noisy.mean() - 0.5) < 0.003
    np.testing.assert_allclose(noisy.std(), params["noise_sigma"], rtol=0.03)

    counted, params = data.degrade(grey, "poisson", np.random.default_rng(3))
    expected_std = np.sqrt(0.5 / params["photons"] + params["noise_sigma"] ** 2)
    assert abs(counted.mean() - 0.5) < 0.005
    np.testing.assert_allclose(counted.std(), expected_std, rtol=0.05)


def test_motion_kernel_is_a_centred_segment():
    for length in (5.0, 9.5, 15.0):
        horizontal = motion_kernel(length, 0.0)
        centre = horizontal.shape[0] // 2
        assert np.isclose(horizontal.sum(), 1.0)
        np.testing.assert_allclose(horizontal[centre].sum(), 1.0)  # all mass on the centre row
        columns = np.arange(horizontal.shape[1]) - centre
        profile = horizontal[centre]
        assert abs((profile * columns).sum()) < 1e-9
        spread = np.sqrt((profile * columns ** 2).sum())
        assert abs(spread - (length - 1) / np.sqrt(12)) < 0.25  # a uniform segment of that length
        np.testing.assert_allclose(motion_kernel(length, 90.0), horizontal.T, atol=1e-9)
    blurred, params = data.degrade(_rgb(9, (40, 40, 3)) / np.float32(255), "motion", np.random.default_rng(4))
    assert blurred.shape == (40, 40, 3) and 5 <= params["motion_length"] <= 15


# ----------------------------------------------------------------------------- built-in data

def test_builtin_loads_offline_with_a_fixed_split(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    builtin._skimage_image.cache_clear()
    train = data.BuiltinDataset("train", size=32, procedural_count=14)
    val = data.BuiltinDataset("val", size=32)
    assert builtin.skimage_names("train") == list(builtin.SKIMAGE_TRAIN)  # every listed image loads here
    assert builtin.skimage_names("val") == list(builtin.SKIMAGE_VAL)
    train_names = [item.name for item in train.items]
    assert train_names == [item.name for item in data.BuiltinDataset("train", size=32, procedural_count=14).items]
    assert not set(train_names) & {item.name for item in val.items}
    assert len(val) == len(builtin.SKIMAGE_VAL) + builtin.PROCEDURAL_COUNT["val"]
    assert set(val.categories) == {"skimage", *procedural.SURFACES}
    photo = val[0]
    assert photo["name"] == "skimage/camera" and photo["degraded"].shape == (32, 32, 3)
    np.testing.assert_array_equal(photo["clean"][..., 0], photo["clean"][..., 2])  # grayscale expanded


def test_builtin_degradations_are_seeded_by_index_as_they_always_were():
    """Published scores rest on the built-in set's degradations: it keeps its seeding by (seed, stream, [epoch,]
    index), streams 0 (the same every epoch) and 1 (fresh each epoch), where images from disk are seeded by name."""
    val = data.BuiltinDataset("val", degradation="kla", seed=5, size=32)
    train = data.BuiltinDataset("train", degradation="kla", seed=5, size=32, procedural_count=3)
    for dataset, epoch, stream in ((val, 4, [0]), (train, None, [0]), (train, 2, [1, 2])):
        for index in range(len(dataset)):
            sample = dataset.load(index, epoch)
            expected, params = data.degrade(sample["clean"], "kla", np.random.default_rng([5, *stream, index]))
            np.testing.assert_array_equal(sample["degraded"], expected)
            assert sample["params"] == params


@pytest.mark.parametrize("kind", sorted(procedural.SURFACES))
def test_procedural_samples_are_deterministic_with_real_masks(kind):
    seen_defect = False
    for seed in range(8):
        image, mask, defect = procedural.generate(kind, seed, size=64)
        again, mask_again, defect_again = procedural.generate(kind, seed, size=64)
        np.testing.assert_array_equal(image, again)
        assert defect == defect_again
        assert image.dtype == np.float32 and image.shape == (64, 64, 3)
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.005
        if defect == "good":
            assert mask is None
        else:
            seen_defect = True
            assert defect in procedural.DEFECTS and mask.dtype == bool and mask.shape == (64, 64)
            np.testing.assert_array_equal(mask, mask_again)
            assert mask.any() and mask.mean() < 0.5
    assert seen_defect
    assert not np.array_equal(procedural.generate(kind, 0, 64)[0], procedural.generate(kind, 1, 64)[0])


def test_procedural_samples_exist_at_the_smallest_size():
    """`--size 8` (the least the network takes) also resizes the built-in set: every generator must cope."""
    from unet.model import INPUT_MULTIPLE
    for kind in procedural.SURFACES:
        for seed in range(40):
            image, mask, _ = procedural.generate(kind, seed, size=INPUT_MULTIPLE)
            assert image.shape == (INPUT_MULTIPLE, INPUT_MULTIPLE, 3) and np.isfinite(image).all()
            assert mask is None or mask.shape == image.shape[:2]


def test_procedural_parts_include_true_blacks_and_whites():
    borders = []
    for seed in range(16):
        image = procedural.generate("plain_part", seed, size=64)[0]
        borders.append(np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])))
    assert min(borders) < 0.06 and max(borders) > 0.8


# ----------------------------------------------------------------------------- loader

class ArrayDataset(data.Dataset):
    """In-memory samples whose degraded image is the clean one, so any misalignment shows."""

    def __init__(self, images, masks=None, fail_at=None):
        self.images, self.masks, self.fail_at = images, masks, fail_at
        self.items = list(range(len(images)))

    def load(self, index, epoch=None):
        if index == self.fail_at:
            raise RuntimeError(f"broken sample {index}")
        mask = None if self.masks is None else self.masks[index]
        return {"degraded": self.images[index], "clean": self.images[index].copy(), "mask": mask,
                "name": f"s{index}", "category": "c", "defect": None, "info": None, "params": None}


def _numbered_images(count, height=20, width=20):
    """Every pixel value is unique, so a crop identifies where it came from."""
    values = np.arange(count * height * width * 3, dtype=np.float32).reshape(count, height, width, 3)
    return list(values / values.max())


def test_loader_batches_crops_and_augmentations_are_consistent():
    images = _numbered_images(5)
    masks = [image[..., 0] > 0.5 for image in images]
    loader = data.Loader(ArrayDataset(images, masks), batch_size=2, seed=1, patch_size=8)
    assert len(loader) == 3 and len(data.Loader(ArrayDataset(images), batch_size=2, drop_last=True)) == 2
    batches = list(loader)
    assert [len(batch["names"]) for batch in batches] == [2, 2, 1]
    assert sorted(name for batch in batches for name in batch["names"]) == [f"s{i}" for i in range(5)]
    for batch in batches:
        assert batch["degraded"].dtype == np.float32 and batch["degraded"].shape[1:] == (3, 8, 8)
        assert batch["degraded"].flags.c_contiguous
        np.testing.assert_array_equal(batch["degraded"], batch["clean"])
        np.testing.assert_array_equal(batch["mask"], batch["degraded"][:, :1] > 0.5)
        assert batch["has_mask"].all()
        for name, patch in zip(batch["names"], batch["degraded"]):
            assert _is_dihedral_crop(patch.transpose(1, 2, 0), images[int(name[1:])])


def _is_dihedral_crop(patch, image):
    """Whether `patch` is a crop of `image` after some flip and quarter turn."""
    for turns in range(4):
        for flipped in (False, True):
            candidate = np.rot90(patch, -turns)
            candidate = candidate[:, ::-1] if flipped else candidate
            rows, cols = np.nonzero(image[..., 0] == candidate[0, 0, 0])
            for r, c in zip(rows, cols):
                block = image[r:r + patch.shape[0], c:c + patch.shape[1]]
                if block.shape == candidate.shape and np.array_equal(block, candidate):
                    return True
    return False


def test_loader_epochs_are_reproducible_across_instances():
    def epoch_batches(epoch, prefetch, workers=1):
        dataset = data.BuiltinDataset("train", size=32, procedural_count=7)
        loader = data.Loader(dataset, batch_size=4, seed=5, patch_size=16, prefetch=prefetch, workers=workers)
        loader.set_epoch(epoch)
        return list(loader)

    first, later = epoch_batches(2, prefetch=2), epoch_batches(3, prefetch=2)
    for again in (epoch_batches(2, prefetch=0), epoch_batches(2, prefetch=2, workers=3)):
        assert len(first) == len(again)
        for a, b in zip(first, again):
            assert a["names"] == b["names"] and a["params"] == b["params"]
            np.testing.assert_array_equal(a["degraded"], b["degraded"])
            np.testing.assert_array_equal(a["clean"], b["clean"])
    assert [a["names"] for a in first] != [c["names"] for c in later]
    params_by_name = {n: p for batch in first for n, p in zip(batch["names"], batch["params"])}
    later_params = {n: p for batch in later for n, p in zip(batch["names"], batch["params"])}
    assert all(params_by_name[name] != later_params[name] for name in params_by_name)


def test_loader_reraises_errors_and_stops_cleanly():
    images = _numbered_images(8)
    for workers in (1, 2):
        with pytest.raises(RuntimeError, match="broken sample 5"):
            list(data.Loader(ArrayDataset(images, fail_at=5), batch_size=2, shuffle=False, workers=workers))

    for workers in (1, 2):
        for batch in data.Loader(ArrayDataset(images), batch_size=2, prefetch=1, workers=workers):
            break
        iterator = iter(data.Loader(ArrayDataset(images), batch_size=2, prefetch=1, workers=workers))
        next(iterator)
        iterator.close()
    assert not any(thread.name.startswith(("data-prefetch", "data-worker")) for thread in threading.enumerate())


def test_loader_needs_one_size_per_batch():
    images = _numbered_images(2) + _numbered_images(1, height=16)
    with pytest.raises(data.DataError, match="--patch-size or --size"):
        list(data.Loader(ArrayDataset(images), batch_size=3, augment=False))
    assert len(list(data.Loader(ArrayDataset(images), batch_size=1))) == 3
    with pytest.raises(data.DataError, match="smaller than the patch size"):
        list(data.Loader(ArrayDataset(images), batch_size=1, patch_size=18))


def test_whole_images_are_cut_to_sides_the_network_takes():
    """Without a patch size, a sample is cut at the bottom and right to multiples of side_multiple (the
    U-Net's 8): a 21x30 image trains as its top-left 16x24, mask and target alike."""
    images = _numbered_images(1, height=21, width=30)
    masks = [images[0][..., 0] > 0.5]
    (batch,) = data.Loader(ArrayDataset(images, masks), batch_size=1, augment=False, side_multiple=8)
    expected = images[0][:16, :24].transpose(2, 0, 1)
    np.testing.assert_array_equal(batch["degraded"][0], expected)
    np.testing.assert_array_equal(batch["clean"][0], expected)
    np.testing.assert_array_equal(batch["mask"][0, 0], masks[0][:16, :24])
    (uncut,) = data.Loader(ArrayDataset(images), batch_size=1, augment=False)
    assert uncut["degraded"].shape == (1, 3, 21, 30)
    too_small = ArrayDataset(_numbered_images(1, height=15, width=30))  # cut to 8 high, below the 11 px asked
    with pytest.raises(data.DataError, match="s0 is 30x15: whole images train at sides of at least 11 px in multiples of 8"):
        list(data.Loader(too_small, batch_size=1, side_multiple=8, min_side=11))


def test_loader_mask_is_none_or_zero_filled():
    images = _numbered_images(2)
    assert next(iter(data.Loader(ArrayDataset(images), batch_size=2)))["mask"] is None
    masks = [np.ones((20, 20), bool), None]
    batch = next(iter(data.Loader(ArrayDataset(images, masks), batch_size=2, shuffle=False, augment=False)))
    assert batch["mask"].shape == (2, 1, 20, 20) and batch["mask"][0].all() and not batch["mask"][1].any()
    np.testing.assert_array_equal(batch["has_mask"], [True, False])


def test_loader_skips_a_corrupt_image_with_one_warning(tmp_path):
    for i in range(3):
        _save(tmp_path / "deg" / f"img{i}.png", _rgb(i))
        _save(tmp_path / "clean" / f"img{i}.png", _rgb(i))
    (tmp_path / "deg" / "img1.png").write_bytes(b"garbage")
    loader = data.Loader(data.open_dataset(degraded_dir=tmp_path / "deg", clean_dir=tmp_path / "clean"),
                         batch_size=2, shuffle=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [name for epoch in range(2) for batch in loader for name in batch["names"]]
    assert names == ["img0", "img2"] * 2
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "img1.png" in messages[0]
