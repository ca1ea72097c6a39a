"""harness.core.mnist: every format round-trips exactly; bad files fail with a message naming them."""

import gzip
import struct

import numpy as np
import pytest
import scipy.io

from harness.core import mnist, paths

T10K_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # published counts


def digits(n, seed=0):
    """``n`` random uint8 28x28 images (with 0 and 255 present) and their labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    return images, rng.integers(0, 10, n).astype(np.uint8)


def idx_bytes(array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder, prefix, images, labels, gz=True):
    suffix = ".gz" if gz else ""
    write = gzip.compress if gz else bytes
    img = folder / f"{prefix}-images-idx3-ubyte{suffix}"
    img.write_bytes(write(idx_bytes(images)))
    (folder / f"{prefix}-labels-idx1-ubyte{suffix}").write_bytes(write(idx_bytes(labels)))
    return img


def assert_loaded(data, images, labels):
    assert data.images.dtype == np.float64 and data.labels.dtype == np.int64
    assert data.images.shape == (len(images), 784)
    np.testing.assert_array_equal(data.images, images.reshape(len(images), 784) / 255.0)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.images.min() == 0 and data.images.max() == 1


# ---- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_idx_images_file_round_trip(tmp_path, gz):
    images, labels = digits(7)
    path = write_idx(tmp_path, "t10k", images, labels, gz)
    data = mnist.load(path)
    assert_loaded(data, images, labels)
    assert str(path) in data.source
    # row-major: pixel (row 2, column 5) of digit 3 is column 2*28 + 5
    assert data.images[3, 2 * 28 + 5] == images[3, 2, 5] / 255


def test_folder_reads_train_then_t10k(tmp_path):
    (tr_x, tr_y), (te_x, te_y) = digits(5, seed=1), digits(4, seed=2)
    write_idx(tmp_path, "train", tr_x, tr_y, gz=False)
    write_idx(tmp_path, "t10k", te_x, te_y, gz=True)
    data = mnist.load(tmp_path)
    assert_loaded(data, np.concatenate([tr_x, te_x]), np.concatenate([tr_y, te_y]))
    assert "train-images" in data.source and "t10k-images" in data.source


def test_folder_with_only_test_files(tmp_path):
    images, labels = digits(3)
    write_idx(tmp_path, "t10k", images, labels, gz=False)
    assert_loaded(mnist.load(str(tmp_path)), images, labels)


def test_mat_round_trip(tmp_path):
    parts = {}
    for split, n in (("train", 3), ("test", 2)):
        for k in range(10):
            parts[f"{split}{k}"] = digits(n, seed=k + 10 * (split == "test"))[0].reshape(n, 784)
    path = tmp_path / "mnist_all.mat"
    scipy.io.savemat(path, parts)
    keys = [f"train{k}" for k in range(10)] + [f"test{k}" for k in range(10)]
    images = np.concatenate([parts[key] for key in keys])
    labels = np.concatenate([[int(key[-1])] * len(parts[key]) for key in keys])
    assert_loaded(mnist.load(path), images, labels)


@pytest.mark.parametrize("flat", [False, True], ids=["n_28_28", "n_784"])
def test_npz_round_trip(tmp_path, flat):
    (tr_x, tr_y), (te_x, te_y) = digits(6, seed=3), digits(2, seed=4)
    shape = (-1, 784) if flat else (-1, 28, 28)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=tr_x.reshape(shape), y_train=tr_y, x_test=te_x.reshape(shape), y_test=te_y)
    assert_loaded(mnist.load(path), np.concatenate([tr_x, te_x]), np.concatenate([tr_y, te_y]))


def test_mnist_is_frozen():
    data = mnist.Mnist(np.zeros((1, 784)), np.zeros(1, dtype=np.int64), "x")
    with pytest.raises(AttributeError):
        data.source = "y"


# ---- bad files ----------------------------------------------------------------------------


def raises_naming(path, *phrases, named=None):
    """``load(path)`` raises MnistError naming the bad file (``named``, default ``path``)."""
    with pytest.raises(mnist.MnistError) as info:
        mnist.load(path)
    message = str(info.value)
    assert str(named or path) in message, message
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_missing_file(tmp_path):
    raises_naming(tmp_path / "nothing-images-idx3-ubyte.gz", "no such file")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_truncated_idx(tmp_path, gz):
    images, labels = digits(4)
    raw = idx_bytes(images)[:-100]
    path = tmp_path / f"t10k-images-idx3-ubyte{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    raises_naming(path, "expected", str(len(raw) + 100), str(len(raw)))


def test_truncated_gzip_stream(tmp_path):
    images, labels = digits(4)
    path = write_idx(tmp_path, "t10k", images, labels)
    path.write_bytes(path.read_bytes()[:200])
    raises_naming(path, "gzipped IDX")


def test_bad_magic(tmp_path):
    images, labels = digits(2)
    path = write_idx(tmp_path, "t10k", images, labels, gz=False)
    path.write_bytes(idx_bytes(images, magic_type=0x0D))  # float32 type code
    raises_naming(path, "0x00000803", "0x00000d03")


def test_labels_file_given_as_images(tmp_path):
    images, labels = digits(2)
    write_idx(tmp_path, "t10k", images, labels, gz=False)
    raises_naming(tmp_path / "t10k-labels-idx1-ubyte", "images")


def test_wrong_image_size(tmp_path):
    _, labels = digits(2)
    path = write_idx(tmp_path, "t10k", np.zeros((2, 14, 14)), labels, gz=False)
    raises_naming(path, "28x28", "14x14")


def test_label_count_differs_from_image_count(tmp_path):
    images, labels = digits(5)
    path = write_idx(tmp_path, "t10k", images, labels[:4], gz=False)
    raises_naming(path, "expected 5 labels", "found 4", named=tmp_path / "t10k-labels-idx1-ubyte")


def test_labels_out_of_range(tmp_path):
    images, labels = digits(3)
    labels[1] = 12
    path = write_idx(tmp_path, "t10k", images, labels)
    raises_naming(path, "0..9", "12", named=tmp_path / "t10k-labels-idx1-ubyte.gz")


def test_missing_labels_file(tmp_path):
    images, labels = digits(3)
    path = write_idx(tmp_path, "t10k", images, labels)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    raises_naming(path, "t10k-labels-idx1-ubyte")


def test_folder_without_idx_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    raises_naming(tmp_path, "found none")


def test_mat_with_wrong_keys(tmp_path):
    path = tmp_path / "mnist_all.mat"
    scipy.io.savemat(path, {f"train{k}": np.zeros((1, 784), np.uint8) for k in range(10)})
    raises_naming(path, "test0", "missing")


def test_mat_with_wrong_shape(tmp_path):
    path = tmp_path / "mnist_all.mat"
    parts = {f"{s}{k}": np.zeros((2, 784), np.uint8) for s in ("train", "test") for k in range(10)}
    parts["test3"] = np.zeros((2, 28), np.uint8)
    scipy.io.savemat(path, parts)
    raises_naming(path, "test3", "(2, 28)")


@pytest.mark.parametrize("suffix", [".mat", ".npz"])
def test_not_a_file_of_that_format(tmp_path, suffix):
    path = tmp_path / f"mnist{suffix}"
    path.write_bytes(b"this is not a data file\n" * 10)
    raises_naming(path, "expected")


def test_npz_with_wrong_keys(tmp_path):
    path = tmp_path / "mnist.npz"
    images, labels = digits(2)
    np.savez(path, x_train=images, y_train=labels, x_val=images, y_val=labels)
    raises_naming(path, "x_test", "missing")


def test_npz_with_float_pixels(tmp_path):
    path = tmp_path / "mnist.npz"
    images, labels = digits(2)
    np.savez(path, x_train=images / 255.0, y_train=labels, x_test=images, y_test=labels)
    raises_naming(path, "integers 0..255", "float64")


# ---- the shipped t10k set -----------------------------------------------------------------


def test_shipped_t10k():
    data = mnist.load()
    assert data.images.shape == (10000, 784) and data.images.dtype == np.float64
    assert data.labels.shape == (10000,) and data.labels.dtype == np.int64
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert np.bincount(data.labels).tolist() == T10K_CLASS_COUNTS
    assert str(paths.MNIST_DIR) in data.source
    # a real digit: dark border, ink in the middle
    digit = data.images[0].reshape(28, 28)
    assert digit[0].max() == 0 and digit[:, 0].max() == 0 and digit[8:20, 8:20].max() > 0.9


def test_shipped_files_are_documented():
    readme = (paths.MNIST_DIR / "README.md").read_text()
    for phrase in (
        "Yann LeCun",
        "Corinna Cortes",
        "Burges",
        "CC BY-SA 3.0",
        "https://creativecommons.org/licenses/by-sa/3.0/",
    ):
        assert phrase in readme
    import hashlib

    for path in paths.MNIST_DIR.glob("*.gz"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in readme, path.name


def test_to_columns():
    images = np.arange(2 * 784, dtype=np.uint8).reshape(2, 784)
    cols = mnist.to_columns(images)
    assert cols.shape == (784, 2) and cols.dtype == np.float64 and cols.flags.c_contiguous
    np.testing.assert_array_equal(cols[:, 1], images[1])
    with pytest.raises(ValueError):
        mnist.to_columns(np.zeros((2, 28, 28)))


# ---- stratified_split -------------------------------------------------------------------


@pytest.mark.parametrize("n_train, n_test", [(3000, 500), (100, 100), (9000, 1000), (0, 10), (7, 0)])
def test_stratified_split_properties(n_train, n_test):
    labels = mnist.load().labels
    train, test = mnist.stratified_split(labels, n_train, n_test, seed=0)
    assert len(train) == n_train and len(test) == n_test
    assert len(np.intersect1d(train, test)) == 0
    assert len(np.unique(train)) == n_train and len(np.unique(test)) == n_test
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted
    share = np.array(T10K_CLASS_COUNTS) / len(labels)
    assert np.abs(np.bincount(labels[train], minlength=10) - share * n_train).max() <= 1
    assert np.abs(np.bincount(labels[test], minlength=10) - share * n_test).max() <= 2
    again = mnist.stratified_split(labels, n_train, n_test, seed=0)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], test)


def test_stratified_split_depends_on_seed_and_rejects_too_many():
    labels = np.repeat(np.arange(10), 30)
    a, _ = mnist.stratified_split(labels, 100, 50, seed=0)
    b, _ = mnist.stratified_split(labels, 100, 50, seed=1)
    assert not np.array_equal(a, b)
    assert np.bincount(labels[a]).tolist() == [10] * 10
    with pytest.raises(ValueError):
        mnist.stratified_split(labels, 200, 101, seed=0)
