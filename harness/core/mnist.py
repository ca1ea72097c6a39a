"""Load MNIST digits from the files a course or the grader has, and split them.

``load(path)`` reads, by what ``path`` is:

- ``None``: the original t10k test set shipped in ``harness/data/mnist`` (10,000 digits);
- a folder: its IDX pairs ``train-images-idx3-ubyte`` + ``train-labels-idx1-ubyte`` and
  ``t10k-images-idx3-ubyte`` + ``t10k-labels-idx1-ubyte`` (each gzipped ``.gz`` or raw; the
  ``.gz`` is preferred when both exist), train first then t10k, whichever pairs are present;
- an IDX images file: its labels file beside it, named with ``labels-idx1`` in place of
  ``images-idx3`` (gzipped or raw);
- ``*.mat``: the course's ``mnist_all.mat``, keys ``train0``..``train9`` then ``test0``..``test9``;
- ``*.npz``: ``mnist.npz`` style, ``x_train, y_train, x_test, y_test`` (train then test).

Pixels must be integers 0..255 and are scaled by 1/255; labels must be 0..9. Anything else
raises ``MnistError`` naming the file, what was expected and what was found.
"""

from __future__ import annotations

import gzip
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.core import paths

PIXELS = 784
IDX_UBYTE = 0x08  # the IDX type code of unsigned bytes


class MnistError(ValueError):
    """A missing, truncated or malformed MNIST file."""


@dataclass(frozen=True)
class Mnist:
    """Digits with their labels."""

    images: np.ndarray
    """float64 ``(n, 784)`` in [0, 1]; each row a digit's 28x28 pixels in row-major order."""
    labels: np.ndarray
    """int64 ``(n,)``, values 0..9."""
    source: str
    """The file(s) the digits were read from."""


def load(path: str | Path | None = None) -> Mnist:
    """Load digits from ``path`` (see the module docstring); ``None`` is the shipped t10k set."""
    path = Path(path) if path is not None else paths.MNIST_DIR
    if path.is_dir():
        return _load_folder(path)
    if not path.is_file():
        raise MnistError(f"{path}: no such file or folder (expected MNIST data)")
    if path.suffix == ".mat":
        return _load_mat(path)
    if path.suffix == ".npz":
        return _load_npz(path)
    return _load_idx_pair(path, _labels_beside(path))


def to_columns(images: np.ndarray) -> np.ndarray:
    """``(n, 784)`` images -> ``(784, n)`` float64: the assignment's layout, one digit per column."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2 or images.shape[1] != PIXELS:
        raise ValueError(f"expected images of shape (n, {PIXELS}), got {images.shape}")
    return np.ascontiguousarray(images.T)


def stratified_split(
    labels: np.ndarray, n_train: int, n_test: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint, class-balanced index sets of exactly ``n_train`` and ``n_test`` elements.

    Each class is shuffled (seeded) and its i-th element gets the key ``(i + 0.5) / count``;
    all indices sorted by key form an order in which every prefix holds each class in
    proportion to its frequency: within one of its exact share when the classes are about
    equally frequent, as in MNIST (at most ``0.5 + share * n_classes / 2`` in general).
    Train is the first ``n_train`` of that order, test the next ``n_test`` (within two).
    Both are returned **sorted** ascending; the same arguments always give the same split.
    """
    labels = np.asarray(labels).ravel()
    if n_train < 0 or n_test < 0 or n_train + n_test > len(labels):
        raise ValueError(f"cannot take {n_train} + {n_test} digits out of {len(labels)}")
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels))
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        keys[idx] = (np.arange(len(idx)) + 0.5) / len(idx)
    order = np.lexsort((rng.random(len(labels)), keys))  # ties between classes broken at random
    return np.sort(order[:n_train]), np.sort(order[n_train : n_train + n_test])


# ---- formats ---------------------------------------------------------------------------------


def _load_folder(folder: Path) -> Mnist:
    parts = []
    for prefix in ("train", "t10k"):
        images = _first_existing(folder / f"{prefix}-images-idx3-ubyte")
        if images is not None:
            parts.append(_load_idx_pair(images, _labels_beside(images)))
    if not parts:
        raise MnistError(
            f"{folder}: expected IDX files train-images-idx3-ubyte[.gz] or "
            f"t10k-images-idx3-ubyte[.gz] in this folder, found none"
        )
    return _concat(parts, " + ".join(p.source for p in parts))


def _first_existing(stem: Path) -> Path | None:
    for candidate in (stem.with_name(stem.name + ".gz"), stem):
        if candidate.is_file():
            return candidate
    return None


def _labels_beside(images: Path) -> Path:
    if "images-idx3" not in images.name:
        raise MnistError(
            f"{images}: expected an IDX images file named like "
            f"'*-images-idx3-ubyte[.gz]', a .mat, a .npz or a folder"
        )
    stem = images.name.removesuffix(".gz").replace("images-idx3", "labels-idx1")
    found = _first_existing(images.with_name(stem))
    if found is None:
        raise MnistError(f"{images}: expected its labels file {stem}[.gz] beside it, found none")
    return found


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The array in an IDX file of unsigned bytes with ``ndim`` dimensions."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise MnistError(
            f"{path}: expected a {'gzipped ' if path.suffix == '.gz' else ''}"
            f"IDX file, could not read it ({exc})"
        ) from None
    magic = tuple(raw[:4])
    if magic != (0, 0, IDX_UBYTE, ndim):
        found = f"0x{raw[:4].hex()}" if raw else "an empty file"
        raise MnistError(
            f"{path}: expected the IDX magic number 0x{IDX_UBYTE << 8 | ndim:08x} "
            f"(unsigned bytes, {ndim}-D), found {found}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MnistError(f"{path}: truncated: expected a {header}-byte header, found {len(raw)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    if len(raw) != header + int(np.prod(dims)):
        raise MnistError(
            f"{path}: expected {header + int(np.prod(dims))} bytes for dimensions "
            f"{dims}, found {len(raw)} (truncated or padded)"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _load_idx_pair(images_path: Path, labels_path: Path) -> Mnist:
    images, labels = _read_idx(images_path, 3), _read_idx(labels_path, 1)
    if images.shape[1:] != (28, 28):
        raise MnistError(f"{images_path}: expected 28x28 images, found {images.shape[1]}x{images.shape[2]}")
    source = f"{images_path} + {labels_path.name}"
    return _checked(images.reshape(-1, PIXELS), labels, labels_path, source)


def _load_mat(path: Path) -> Mnist:
    from scipy.io import loadmat

    try:
        data = loadmat(path)
    except Exception as exc:  # scipy raises several types for files that are not MATLAB files
        raise MnistError(f"{path}: expected a MATLAB .mat file, could not read it ({exc})") from None
    keys = [f"train{k}" for k in range(10)] + [f"test{k}" for k in range(10)]
    missing = [key for key in keys if key not in data]
    if missing:
        found = sorted(key for key in data if not key.startswith("__"))
        raise MnistError(
            f"{path}: expected keys train0..train9 and test0..test9, missing {missing}, found {found}"
        )
    for key in keys:
        if data[key].ndim != 2 or data[key].shape[1] != PIXELS:
            raise MnistError(f"{path}: expected {key} of shape (n, {PIXELS}), found {data[key].shape}")
    images = np.concatenate([data[key] for key in keys])
    labels = np.concatenate([np.full(len(data[key]), int(key[-1])) for key in keys])
    return _checked(images, labels, path, str(path))


def _load_npz(path: Path) -> Mnist:
    keys = ("x_train", "y_train", "x_test", "y_test")
    if not zipfile.is_zipfile(path):
        raise MnistError(f"{path}: expected an .npz archive (a zip file), found another kind of file")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in keys if key not in data.files]
            if missing:
                raise MnistError(
                    f"{path}: expected arrays {list(keys)}, missing {missing}, found {sorted(data.files)}"
                )
            x_train, y_train, x_test, y_test = (data[key] for key in keys)
    except MnistError:
        raise
    except Exception as exc:  # a damaged zip, a pickled object
        raise MnistError(f"{path}: expected an .npz archive, could not read it ({exc})") from None
    parts = []
    for x, y, name in ((x_train, y_train, "x_train"), (x_test, y_test, "x_test")):
        if x.ndim not in (2, 3) or x.shape[1:] not in ((PIXELS,), (28, 28)):
            raise MnistError(
                f"{path}: expected {name} of shape (n, 28, 28) or (n, {PIXELS}), found {x.shape}"
            )
        parts.append(_checked(x.reshape(len(x), PIXELS), y, path, str(path)))
    return _concat(parts, str(path))


def _checked(images: np.ndarray, labels: np.ndarray, where: Path, source: str) -> Mnist:
    """Validate uint8-valued pixels and 0..9 labels; scale pixels to [0, 1]."""
    if images.dtype.kind not in "ui" or (images.size and (images.min() < 0 or images.max() > 255)):
        raise MnistError(
            f"{where}: expected pixels as integers 0..255, found dtype {images.dtype}"
            + (f" with range [{images.min()}, {images.max()}]" if images.size else "")
        )
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise MnistError(f"{where}: expected 1-D integer labels, found {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise MnistError(f"{where}: expected {len(images)} labels (one per image), found {len(labels)}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise MnistError(f"{where}: expected labels 0..9, found values in [{labels.min()}, {labels.max()}]")
    return Mnist(images.astype(np.float64) / 255, labels.astype(np.int64), source)


def _concat(parts: list[Mnist], source: str) -> Mnist:
    return Mnist(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]), source)
