"""Dataset loaders: the offline files in ../shared/data, synthetic files in
torchvision's formats, the search path and the not-found message.  Nothing is
downloaded."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from oracle.data.catalog import DATASETS
from oracle.data import locations as where
from oracle.data import readers
from oracle.data.dataset import Dataset
from oracle.data.datasets import load_dataset, subset, subset_of_whole
from oracle.data.locations import DatasetNotFound, data_search_path
from oracle.data.cifar10_jpeg import CIFAR10_CLASSES, CIFAR10_ORIGINAL_ORDER, CIFAR10_TARBALL, load_cifar10_jpeg
from oracle.data.readers import read_idx

SHARED = next((r.path for r in where.shared_data_dirs()), None)
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data not found")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No user settings leak in; caches go to a temporary folder."""
    for var in (where.ENV_DATA, where.ENV_DOWNLOAD, "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(where.ENV_CACHE, str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def no_shared(monkeypatch):
    """Pretend there is no ../shared/data anywhere."""
    monkeypatch.setattr(where, "shared_data_dirs", lambda: [])


# --------------------------------------------------------------------------
# names and the record


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        load_dataset("imagenet")
    for name in DATASETS:
        assert name in str(err.value)
    assert str(err.value).startswith("unknown dataset 'imagenet': known datasets are ")


def test_dataset_record_validates_and_is_read_only():
    x = np.zeros((4, 2, 2, 1), np.uint8)
    y = np.array([0, 1, 0, 1])
    ds = Dataset("toy", x, y, x[:2], y[:2], 2, ("a", "b"))
    assert ds.shape == (2, 2, 1) and ds.y_train.dtype == np.int64 and ds.description == "toy"
    assert not ds.x_train.flags.writeable and x.flags.writeable  # caller's array untouched
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0, 0, 0] = 1
    xs, ys = ds.whole()
    assert xs.shape == (6, 2, 2, 1) and ys.tolist() == [0, 1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"x_train has dtype float32"):
        Dataset("toy", x.astype(np.float32), y, x, y, 2, ("a", "b"))
    with pytest.raises(ValueError, match=r"y_train\[2\]=2 is out of range: allowed \[0, 1\]"):
        Dataset("toy", x, np.array([0, 1, 2, 0]), x, y, 2, ("a", "b"))
    with pytest.raises(ValueError, match="class_names has 1 names"):
        Dataset("toy", x, y, x, y, 2, ("a",))
    other = Dataset("toy", x, y, x[:2], np.array([1, 1]), 2, ("a", "b"))
    assert ds.fingerprint() != other.fingerprint() and len(ds.fingerprint()) == 64


# --------------------------------------------------------------------------
# the offline files in ../shared/data


@needs_shared
def test_mnist_from_shared():
    ds = load_dataset("mnist")
    assert (ds.n_train, ds.n_test, ds.shape, ds.num_classes) == (60000, 10000, (28, 28, 1), 10)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    with np.load(SHARED / "mnist_full_lossless.npz", allow_pickle=False) as z:
        assert np.array_equal(ds.x_test[..., 0], z["x_test"]) and np.array_equal(ds.y_train, z["y_train"])
    assert ds.source.endswith("mnist_full_lossless.npz")
    assert (DATASETS["mnist"].num_classes, DATASETS["mnist"].n_images) == (ds.num_classes, ds.n_train + ds.n_test)


@needs_shared
def test_fashion_mnist_from_shared():
    ds = load_dataset("fashion_mnist")  # underscores and case are normalised
    assert ds.name == "fashion-mnist" and ds.description == "Fashion-MNIST"
    assert (ds.n_train, ds.n_test, ds.shape) == (60000, 10000, (28, 28, 1))
    assert np.bincount(ds.y_train).tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert (DATASETS["fashion-mnist"].num_classes, DATASETS["fashion-mnist"].n_images) == (ds.num_classes, ds.n_train + ds.n_test)
    assert 0 < ds.x_train.mean() < 255


def test_digits():
    ds = load_dataset("digits")
    assert (ds.n_train, ds.n_test, ds.shape) == (1438, 359, (8, 8, 1))
    assert (DATASETS["digits"].num_classes, DATASETS["digits"].n_images) == (ds.num_classes, ds.n_train + ds.n_test)
    from sklearn.datasets import load_digits

    raw = load_digits()
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    assert set(np.unique(ds.x_train)) <= set(np.rint(np.arange(17) * 255 / 16).astype(int))
    # every image is one of sklearn's, rescaled
    flat = np.rint(raw.images * 255 / 16).astype(np.uint8).reshape(len(raw.images), -1)
    both = np.concatenate((ds.x_train, ds.x_test)).reshape(1797, -1)
    assert np.array_equal(np.sort(flat.view("V64").ravel()), np.sort(both.view("V64").ravel()))
    # seeded, stratified 80/20
    assert np.array_equal(load_dataset("digits").y_test, ds.y_test)
    assert np.abs(np.bincount(ds.y_test, minlength=10) - np.bincount(raw.target) * 0.2).max() <= 2


@pytest.mark.slow
@needs_shared
def test_cifar10_real_tarball_limited(tmp_path):
    tarball = SHARED / CIFAR10_TARBALL
    t0 = time.perf_counter()
    ds = load_cifar10_jpeg(tarball, cache_dir=tmp_path, limit_per_class=20)
    first = time.perf_counter() - t0
    assert (ds.n_train, ds.n_test, ds.shape) == (200, 200, (32, 32, 3))
    assert ds.class_names == CIFAR10_CLASSES and ds.description == "CIFAR-10 (JPEG re-encoding)"
    assert ds.y_train.tolist() == np.repeat(np.arange(10), 20).tolist()  # class-sorted when limited
    with tarfile.open(tarball, "r|gz") as tf:  # stream to one early member
        member = next(m for m in tf if m.name == "test/automobile/0003.jpg")
        blob = tf.extractfile(member).read()
    assert np.array_equal(ds.x_test[1 * 20 + 3], np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")))
    cached = list(tmp_path.glob("cifar10_jpg-v1-*-limit20.npz"))
    assert len(cached) == 1
    t0 = time.perf_counter()
    again = load_cifar10_jpeg(tarball, cache_dir=tmp_path, limit_per_class=20)
    assert time.perf_counter() - t0 < first
    assert np.array_equal(again.x_test, ds.x_test)


@pytest.mark.slow
@needs_shared
def test_cifar10_full_decode_original_order(tmp_path):
    ds = load_dataset("cifar10", cache_dir=tmp_path)
    assert (ds.n_train, ds.n_test, ds.shape) == (50000, 10000, (32, 32, 3))
    assert (DATASETS["cifar10"].num_classes, DATASETS["cifar10"].n_images) == (ds.num_classes, ds.n_train + ds.n_test)
    with np.load(SHARED / CIFAR10_ORIGINAL_ORDER, allow_pickle=False) as z:
        assert np.array_equal(ds.y_train, z["y_train"]) and np.array_equal(ds.y_test, z["y_test"])
    assert load_dataset("cifar10", cache_dir=tmp_path).fingerprint() == ds.fingerprint()


# --------------------------------------------------------------------------
# CIFAR-10 tarball: decode, cache, re-decode on change (tiny synthetic tarball)


def _jpeg(rng) -> tuple[bytes, np.ndarray]:
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    blob = buf.getvalue()
    return blob, np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))


def _write_tarball(path: Path, seed: int, n_train: int = 3, n_test: int = 2) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    members, truth = [], {"train": [], "test": []}
    for split, n in (("train", n_train), ("test", n_test)):
        for label, cls in enumerate(CIFAR10_CLASSES):
            for k in range(n):
                blob, img = _jpeg(rng)
                members.append((f"{split}/{cls}/{k:04d}.jpg", blob))
                truth[split].append((label, img))
    order = rng.permutation(len(members))  # archive order must not matter
    with tarfile.open(path, "w:gz") as tf:
        for i in order:
            name, blob = members[i]
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return truth


def test_cifar10_synthetic_tarball_decode_and_cache(tmp_path, no_shared):
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    data_dir.mkdir()
    truth = _write_tarball(data_dir / CIFAR10_TARBALL, seed=0)
    ds = load_dataset("cifar10", data_dir=data_dir, cache_dir=cache, download=False)
    assert (ds.n_train, ds.n_test) == (30, 20) and ds.description == "CIFAR-10 (JPEG re-encoding)"
    assert ds.y_train.tolist() == [lab for lab, _ in truth["train"]]
    assert np.array_equal(ds.x_train, np.stack([img for _, img in truth["train"]]))
    assert np.array_equal(ds.x_test, np.stack([img for _, img in truth["test"]]))
    (cache_file,) = cache.glob("cifar10_jpg-v1-*.npz")
    with np.load(cache_file, allow_pickle=False) as z:  # plain arrays, no pickle
        assert set(z.files) == {"x_train", "y_train", "x_test", "y_test", "class_names"}
    # loads from the cache: remove the tarball's content from the path of decoding
    assert np.array_equal(load_dataset("cifar10", data_dir=data_dir, cache_dir=cache).x_test, ds.x_test)

    # a changed tarball is decoded again, into a new cache entry
    truth2 = _write_tarball(data_dir / CIFAR10_TARBALL, seed=1)
    ds2 = load_dataset("cifar10", data_dir=data_dir, cache_dir=cache, download=False)
    assert np.array_equal(ds2.x_train, np.stack([img for _, img in truth2["train"]]))
    assert len(list(cache.glob("cifar10_jpg-v1-*.npz"))) == 2

    # a corrupt cache file is ignored with a warning and rewritten
    (new_file,) = set(cache.glob("cifar10_jpg-v1-*.npz")) - {cache_file}
    new_file.write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="unreadable cache"):
        ds3 = load_dataset("cifar10", data_dir=data_dir, cache_dir=cache, download=False)
    assert np.array_equal(ds3.x_train, ds2.x_train)
    with np.load(new_file, allow_pickle=False) as z:
        assert z["x_train"].shape == (30, 32, 32, 3)


def test_cifar10_original_order_file(tmp_path, no_shared):
    truth = _write_tarball(tmp_path / CIFAR10_TARBALL, seed=2)
    rng = np.random.default_rng(3)
    y_train = rng.permutation(np.repeat(np.arange(10), 3)).astype(np.uint8)
    y_test = rng.permutation(np.repeat(np.arange(10), 2)).astype(np.uint8)
    np.savez(tmp_path / CIFAR10_ORIGINAL_ORDER, y_train=y_train, y_test=y_test)
    ds = load_cifar10_jpeg(tmp_path / CIFAR10_TARBALL, cache_dir=tmp_path / "c")
    assert ds.y_train.tolist() == y_train.tolist() and ds.source.endswith("(original CIFAR-10 order)")
    # the k-th image of class c in the original order is file k of class c
    sorted_imgs = np.stack([img for _, img in truth["train"]])
    for i in range(y_train.size):
        k = int((y_train[:i] == y_train[i]).sum())
        assert np.array_equal(ds.x_train[i], sorted_imgs[y_train[i] * 3 + k])
    # an order file that does not fit is ignored, with a warning
    np.savez(tmp_path / CIFAR10_ORIGINAL_ORDER, y_train=np.zeros(30, np.uint8), y_test=y_test)
    with pytest.warns(UserWarning, match="does not match"):
        ds = load_cifar10_jpeg(tmp_path / CIFAR10_TARBALL, cache_dir=tmp_path / "c")
    assert ds.y_train.tolist() == sorted(ds.y_train.tolist())


def test_cifar10_tarball_with_wrong_classes(tmp_path):
    path = tmp_path / CIFAR10_TARBALL
    blob, _ = _jpeg(np.random.default_rng(0))
    with tarfile.open(path, "w:gz") as tf:
        for split in ("train", "test"):
            info = tarfile.TarInfo(f"{split}/cat/0000.jpg")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    with pytest.raises(ValueError, match="class folders"):
        load_cifar10_jpeg(path, cache_dir=tmp_path)


# --------------------------------------------------------------------------
# search path and the not-found message


def test_search_path_order(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    monkeypatch.setenv(where.ENV_DATA, str(env))
    roots = data_search_path(explicit, cache_dir=tmp_path / "c")
    assert roots[0].path == explicit and roots[1].path == env
    assert roots[-1].path == tmp_path / "c" / "torchvision" and "download" in roots[-1].origin
    if SHARED is not None:
        assert SHARED in [r.path for r in roots[2:-1]]


def test_shared_data_found_by_walking_up_from_cwd(tmp_path, monkeypatch):
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    np.savez(shared / "mnist_full_lossless.npz", x_train=x, y_train=np.array([3, 4], np.uint8),
             x_test=x[:1], y_test=np.array([5], np.uint8))  # fmt: skip
    work = tmp_path / "checkout" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert where.shared_data_dirs()[0].path == shared.resolve()
    ds = load_dataset("mnist", download=False)
    assert ds.source == str(shared.resolve() / "mnist_full_lossless.npz")
    assert ds.y_train.tolist() == [3, 4] and ds.shape == (28, 28, 1)


def test_not_found_names_files_and_places(tmp_path, monkeypatch, no_shared):
    empty, env = tmp_path / "empty", tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.setenv(where.ENV_DATA, str(env))
    with pytest.raises(DatasetNotFound) as err:
        load_dataset("svhn", data_dir=empty, cache_dir=tmp_path / "cache", download=False)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError) and "\n" not in msg
    assert "train_32x32.mat" in msg and "test_32x32.mat" in msg
    assert f"{empty} (data_dir / --data-dir)" in msg
    assert f"{env} (BACKFIRE_DATA, does not exist)" in msg
    assert str(tmp_path / "cache" / "torchvision") in msg
    assert "download not attempted" in msg and "BACKFIRE_DATA=" in msg and "--data-dir" in msg
    assert err.value.dataset == "svhn" and len(err.value.searched) == 3


def test_not_found_with_a_missing_file(tmp_path, no_shared):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (raw / stem).write_bytes(b"")  # the test labels are missing
    with pytest.raises(DatasetNotFound) as err:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "mnist_full_lossless.npz or MNIST/raw/train-images-idx3-ubyte" in msg
    assert "MNIST/raw/t10k-labels-idx1-ubyte|MNIST/raw/t10k-labels-idx1-ubyte.gz" in msg


def test_download_failure_is_reported(tmp_path, monkeypatch, no_shared):
    def fail(name, root):
        raise OSError(f"<urlopen error [Errno -2] Name or service not known> for {name}")

    monkeypatch.setattr(readers, "_torchvision_download", fail)
    with pytest.raises(DatasetNotFound, match=r"torchvision download failed: OSError: <urlopen error .* for stl10"):
        load_dataset("stl10", data_dir=tmp_path, cache_dir=tmp_path / "c")  # download on by default
    monkeypatch.setenv(where.ENV_DOWNLOAD, "0")
    with pytest.raises(DatasetNotFound, match="download not attempted"):
        load_dataset("stl10", data_dir=tmp_path, cache_dir=tmp_path / "c")


# --------------------------------------------------------------------------
# torchvision file formats, synthetic


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_idx_reader_and_torchvision_mnist_layout(tmp_path, no_shared):
    rng = np.random.default_rng(0)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    x_tr, y_tr = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5).astype(np.uint8)
    x_te, y_te = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), rng.integers(0, 10, 3).astype(np.uint8)
    _write_idx(raw / "train-images-idx3-ubyte.gz", x_tr)
    _write_idx(raw / "train-labels-idx1-ubyte", y_tr)  # gz or not, either is accepted
    _write_idx(raw / "t10k-images-idx3-ubyte", x_te)
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", y_te)
    assert np.array_equal(read_idx(raw / "train-images-idx3-ubyte.gz"), x_tr)
    ds = load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    assert np.array_equal(ds.x_train[..., 0], x_tr) and np.array_equal(ds.y_test, y_te)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"\x00" * 3)
    with pytest.raises(ValueError, match=r"idx header says \(10,\)"):
        read_idx(short)


def test_svhn_mat_files(tmp_path, no_shared):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    folder = tmp_path / "svhn"
    folder.mkdir()
    truth = {}
    for split, n in (("train", 6), ("test", 4)):
        x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        digits = np.arange(n) % 10
        y = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]  # SVHN writes 0 as 10
        savemat(folder / f"{split}_32x32.mat", {"X": np.transpose(x, (1, 2, 3, 0)), "y": y})
        truth[split] = (x, digits)
    ds = load_dataset("svhn", data_dir=tmp_path, download=False)
    assert ds.shape == (32, 32, 3) and ds.description == "SVHN"
    assert np.array_equal(ds.x_train, truth["train"][0]) and ds.y_train.tolist() == truth["train"][1].tolist()
    assert np.array_equal(ds.x_test, truth["test"][0]) and ds.y_test.tolist() == [0, 1, 2, 3]


def test_stl10_binary_files_match_torchvision(tmp_path, no_shared):
    rng = np.random.default_rng(0)
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    truth = {}
    for split, n in (("train", 3), ("test", 2)):
        x = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
        y = rng.integers(0, 10, n)
        np.ascontiguousarray(x.transpose(0, 3, 2, 1)).tofile(folder / f"{split}_X.bin")  # column-major per channel
        (y + 1).astype(np.uint8).tofile(folder / f"{split}_y.bin")
        truth[split] = (x, y)
    ds = load_dataset("stl10", data_dir=tmp_path, download=False)
    assert ds.shape == (96, 96, 3) and ds.class_names[2] == "car"
    assert np.array_equal(ds.x_train, truth["train"][0]) and np.array_equal(ds.y_test, truth["test"][1])

    # torchvision reads the same files the same way (its private reader; the
    # public class insists on the real files' MD5 sums)
    from torchvision.datasets import STL10

    reader = getattr(STL10, "_STL10__loadfile", None)
    if reader is not None:
        tv = STL10.__new__(STL10)
        tv.root = str(tmp_path)
        images, labels = reader(tv, "train_X.bin", "train_y.bin")
        assert np.array_equal(images.transpose(0, 2, 3, 1), ds.x_train)
        assert np.array_equal(labels, ds.y_train)

    small = load_dataset("stl10", data_dir=tmp_path, download=False, resize=32)
    assert small.shape == (32, 32, 3) and small.description == "STL-10, resized to 32x32"
    assert small.x_train.dtype == np.uint8
    with pytest.raises(ValueError, match=r"resize=0 is out of range: allowed a positive int"):
        load_dataset("stl10", data_dir=tmp_path, download=False, resize=0)


# --------------------------------------------------------------------------
# subset


def test_subset_stratified():
    ds = load_dataset("digits")
    small = subset(ds, 100, 50)
    assert (small.n_train, small.n_test) == (100, 50)
    assert np.abs(np.bincount(small.y_train, minlength=10) - 10).max() <= 1
    assert "subset 100/50 (seed 3407)" in small.description
    again = subset(ds, 100, 50)
    assert np.array_equal(again.x_train, small.x_train)
    assert not np.array_equal(subset(ds, 100, 50, seed=1).y_train, small.y_train)
    plain = subset(ds, 100, 0, stratified=False)
    assert plain.n_test == 0 and plain.x_test.shape == (0, 8, 8, 1)
    with pytest.raises(ValueError, match=r"n_train=5000 is out of range: allowed \[1, 1438\]"):
        subset(ds, 5000, 10)
    with pytest.raises(ValueError, match=r"n_test=-1 is out of range: allowed \[0, "):
        subset(ds, 10, -1)


def test_a_subsets_test_share_rounds_halves_up():
    """n_test = n_images · n_test / total with halves up (strategies.validate.round_half_up): 2 · 2 / 8 = 0.5 -> 1
    (banker's rounding gave 0, an empty test split)."""
    x, y = np.zeros((6, 4, 4, 1), np.uint8), np.array([0, 1, 0, 1, 0, 1])
    ds = Dataset("t", x, y, x[:2].copy(), y[:2].copy(), 2, ("a", "b"), "toy")
    s = subset_of_whole(ds, 2)
    assert (s.n_train, s.n_test) == (1, 1)
