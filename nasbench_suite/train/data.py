"""Training data as numpy arrays (torch-free): image folders and zips, CIFAR archives, synthetic.

Every source becomes a :class:`TrainingData` of uint8 images (N, H, W, 3) and
int64 labels, split by the NB201 conventions (``docs/trainer.md``):

- ``cifar10-valid``: the 50k CIFAR-10 training images split into 25k train and
  25k valid, 2,500 of each class on each side, by a fixed generator
  (``SPLIT_SEED``), identical on every machine and run; test = the 10k test set;
- ``cifar10`` / ``cifar100``: train on all 50k; valid = ``x-valid``, half of the
  test set (stratified, the same fixed generator); test = the whole test set;
- ``synthetic``: class prototypes plus noise, learnable in a few steps (tests).

Sources: a folder or zip of ``<split>/<class>/<image>`` (``split`` is ``train``
or ``test``; the layout of ``../shared/data/cifar10``), a folder holding such
zips, or the official CIFAR python archive (``cifar.py``; ``download[:FOLDER]``
fetches it with its MD5 checked). Decoded images are
cached as ``.npy`` files so that worker processes memory-map them.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.train.errors import TrainConfigError, TrainDataError

#: Seed of the fixed generator behind the train/valid and x-valid/x-test splits.
SPLIT_SEED = 201
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class Split:
    """Images (N, H, W, C) uint8 and labels (N,) int64 of one split."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, idx: np.ndarray) -> Split:
        """The images and labels at ``idx``."""
        return Split(self.images[idx], self.labels[idx])


@dataclass
class TrainingData:
    """The splits a run uses: train on ``train``, report ``valid`` and ``test``."""

    name: str
    num_classes: int
    train: Split
    valid: Split
    test: Split
    source: str = ""


def synthetic_data(
    num_classes: int = 10,
    n_train: int = 200,
    n_valid: int = 100,
    n_test: int = 100,
    size: int = 8,
    seed: int = 0,
) -> TrainingData:
    """Random class prototypes plus noise: a network learns them above chance within an epoch or two."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(40, 215, (num_classes, size, size, 3))

    def split(n: int) -> Split:
        labels = np.arange(n, dtype=np.int64) % num_classes
        rng.shuffle(labels)
        noise = rng.normal(0, 40, (n, size, size, 3))
        images = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
        return Split(images, labels)

    return TrainingData("synthetic", num_classes, split(n_train), split(n_valid), split(n_test), "synthetic")


def stratified_halves(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two halves of ``labels`` with each class split evenly (odd counts: first half smaller).

    The generator is fixed, so the split is the same on every machine and run.
    """
    rng = np.random.default_rng(seed)
    first, second = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        first.append(idx[: len(idx) // 2])
        second.append(idx[len(idx) // 2 :])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def nb201_splits(dataset: str, train: Split, test: Split, num_classes: int, source: str) -> TrainingData:
    """Apply the NB201 split convention of ``dataset`` to a train and a test set."""
    if dataset == "cifar10-valid":
        a, b = stratified_halves(train.labels)
        return TrainingData(dataset, num_classes, train.take(a), train.take(b), test, source)
    if dataset in ("cifar10", "cifar100"):
        a, _ = stratified_halves(test.labels)
        return TrainingData(dataset, num_classes, train, test.take(a), test, source)
    raise TrainConfigError(f"no split convention for dataset {dataset!r} (cifar10-valid, cifar10, cifar100)")


def load_training_data(dataset: str, source: str | Path, cache_dir: Path | None = None) -> TrainingData:
    """Load ``dataset`` from ``source`` and split it (see the module docstring).

    Args:
        dataset: ``cifar10-valid``, ``cifar10``, ``cifar100`` or ``synthetic``.
        source: ``synthetic[:N]`` (N training images, default 200), an image folder or
            zip, a folder holding ``*-train*.zip`` and ``*-test*.zip``, a CIFAR
            python archive (``.tar.gz``) or its extracted folder, or ``download[:FOLDER]``
            (fetch the official CIFAR archive, MD5-checked, into FOLDER or the cache).
        cache_dir: where decoded arrays are cached (default ``$NASBENCH_CACHE`` or
            ``~/.cache/nasbench-suite``).

    Raises:
        TrainDataError: unreadable source, wrong layout, failed download or checksum.
        TrainConfigError: unknown dataset.
    """
    check_source(dataset, source)
    text = str(source)
    if text.startswith("synthetic"):
        n = _synthetic_count(text)
        return synthetic_data(n_train=n, n_valid=max(n // 2, 10), n_test=max(n // 2, 10))
    from nasbench_suite.train import cifar

    if _is_download(text):
        folder = Path(text.partition(":")[2]) if ":" in text else (cache_dir or _default_cache())
        text = str(cifar.download(_ARCHIVE_OF[dataset], folder))
    path = Path(text)
    if cifar.is_cifar_archive(path):
        train_arrays, test_arrays, num_classes = cifar.load_cifar(path, dataset)
        train, test = Split(*train_arrays), Split(*test_arrays)
    else:
        train, test, classes = _cached_image_folder(path, cache_dir)
        num_classes = len(classes)
    expected = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100}.get(dataset)
    if expected is not None and num_classes != expected:
        raise TrainDataError(f"{path}: {num_classes} classes found, {dataset} has {expected}")
    return nb201_splits(dataset, train, test, num_classes, str(path))


#: Which official archive holds each CIFAR dataset.
_ARCHIVE_OF = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100"}


def _is_download(text: str) -> bool:
    return text == "download" or text.startswith("download:")


def check_source(dataset: str, source: str | Path) -> None:
    """Cheap checks of a data source before any run starts (nothing is read or downloaded).

    Raises:
        TrainConfigError: synthetic data for a real dataset name or the reverse, a bad
            ``synthetic:N``, ``download`` for a dataset without an official archive.
        TrainDataError: a path that does not exist.
    """
    text = str(source)
    synthetic = text.startswith("synthetic")
    if synthetic != (dataset == "synthetic"):
        raise TrainConfigError(
            f"--data {text!r} for dataset {dataset!r}: synthetic data goes with --dataset synthetic only"
        )
    if synthetic:
        _synthetic_count(text)
    elif _is_download(text):
        if dataset not in _ARCHIVE_OF:
            raise TrainConfigError(f"--data download: only CIFAR archives are downloaded, not {dataset!r}")
    elif not Path(text).exists():
        raise TrainDataError(f"{text}: no such file or folder")


def _synthetic_count(text: str) -> int:
    _, _, count = text.partition(":")
    if not count:
        return 200
    if not count.isdigit() or int(count) < 10:
        raise TrainConfigError(f"data source {text!r}: expected synthetic or synthetic:N with N >= 10")
    return int(count)


def _cached_image_folder(path: Path, cache_dir: Path | None) -> tuple[Split, Split, list[str]]:
    stat = path.stat()
    key = hashlib.blake2b(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode(), digest_size=8)
    cache = (cache_dir or _default_cache()) / f"images-{key.hexdigest()}"
    names = ("train_images", "train_labels", "test_images", "test_labels")
    if all((cache / f"{n}.npy").exists() for n in names) and (cache / "classes.txt").exists():
        arrays = [np.load(cache / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in names]
        classes = (cache / "classes.txt").read_text().splitlines()
        return Split(arrays[0], arrays[1]), Split(arrays[2], arrays[3]), classes
    splits, classes = read_image_folder(path)
    if "train" not in splits or "test" not in splits:
        raise TrainDataError(f"{path}: expected 'train' and 'test' splits, found {sorted(splits)}")
    # Whole folder at once: a killed run never leaves half a cache. If another process filled
    # the cache first, ours is identical and is dropped.
    with _atomic.replacing_directory(cache, exists="keep") as tmp:
        for split in ("train", "test"):
            np.save(tmp / f"{split}_images.npy", splits[split].images)
            np.save(tmp / f"{split}_labels.npy", splits[split].labels)
        (tmp / "classes.txt").write_text("\n".join(classes))
    return splits["train"], splits["test"], classes


def _default_cache() -> Path:
    return Path(os.environ.get("NASBENCH_CACHE", Path.home() / ".cache" / "nasbench-suite"))


def read_image_folder(path: Path) -> tuple[dict[str, Split], list[str]]:
    """Decode every image of ``<split>/<class>/<file>`` under a folder, a zip, or a folder of zips.

    Classes are numbered in sorted order of their folder names over all splits.

    Raises:
        TrainDataError: no images, a missing PIL, or an undecodable image.
    """
    try:
        from PIL import Image
    except ImportError:
        raise TrainDataError("reading image folders needs Pillow: pip install pillow") from None
    entries: list[tuple[str, str, bytes]] = []  # (split, class, encoded image)
    zips = [path] if path.is_file() else sorted(path.glob("*.zip"))
    for zpath in zips:
        try:
            with zipfile.ZipFile(zpath) as zf:
                for name in sorted(zf.namelist()):
                    parts = name.split("/")
                    if len(parts) >= 3 and name.lower().endswith(_IMAGE_SUFFIXES):
                        entries.append((parts[-3], parts[-2], zf.read(name)))
        except zipfile.BadZipFile as exc:
            raise TrainDataError(f"{zpath}: not a zip file ({exc})") from None
    if path.is_dir() and not zips:
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in _IMAGE_SUFFIXES:
                entries.append((file.parent.parent.name, file.parent.name, file.read_bytes()))
    if not entries:
        raise TrainDataError(f"{path}: no images in <split>/<class>/<image> layout")
    classes = sorted({c for _, c, _ in entries})
    index = {c: i for i, c in enumerate(classes)}
    out: dict[str, Split] = {}
    for split in sorted({s for s, _, _ in entries}):
        chosen = [(c, raw) for s, c, raw in entries if s == split]
        try:
            images = np.stack([np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")) for _, raw in chosen])
        except (OSError, ValueError) as exc:
            raise TrainDataError(f"{path}: cannot decode an image of split {split!r} ({exc})") from None
        out[split] = Split(images, np.array([index[c] for c, _ in chosen], dtype=np.int64))
    return out, classes
