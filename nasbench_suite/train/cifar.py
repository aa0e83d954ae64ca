"""The official CIFAR-10/100 python archives: download with a checksum, or read a local copy.

The archives hold pickled batches; they are read with the project's restricted
unpickler, which admits only the numpy array reconstruction they need. This module
hands back plain arrays; ``train.data`` turns them into splits (and imports this
module, never the other way round).
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import numpy as np

from nasbench_suite.train.errors import TrainDataError

#: Official archives: file name, URL, MD5 (as published on the CIFAR page).
ARCHIVES = {
    "cifar10": (
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
    ),
    "cifar100": (
        "cifar-100-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
    ),
}
_MEMBERS = {
    "cifar10": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": (["train"], ["test"], b"fine_labels"),
}


def is_cifar_archive(path: Path) -> bool:
    """True for an official CIFAR python archive or its extracted folder."""
    if path.is_file():
        return path.name.endswith((".tar.gz", ".tgz", ".tar"))
    return (path / "batches.meta").exists() or ((path / "meta").exists() and (path / "train").is_file())


def md5sum(path: Path) -> str:
    """MD5 of a file (the checksum the CIFAR page publishes)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(which: str, folder: Path) -> Path:
    """Download the official archive of ``which`` into ``folder`` and check its MD5.

    Raises:
        TrainDataError: no network, or a checksum mismatch (the file is then deleted).
    """
    import urllib.request

    name, url, md5 = ARCHIVES[which]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and md5sum(target) == md5:
        return target
    tmp = target.with_name(name + ".part")
    try:
        urllib.request.urlretrieve(url, tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainDataError(f"cannot download {url} ({exc}); pass a local copy with --data") from None
    if md5sum(tmp) != md5:
        tmp.unlink(missing_ok=True)
        raise TrainDataError(f"{url}: MD5 mismatch, download corrupt")
    tmp.replace(target)
    return target


#: Largest batch file read (the official CIFAR-100 train batch is 155 MB).
MAX_MEMBER_BYTES = 512 << 20

#: Images ``(N, 32, 32, 3)`` uint8 (HWC) and labels ``(N,)`` int64 of one set.
Arrays = tuple[np.ndarray, np.ndarray]


def load_cifar(path: Path, dataset: str) -> tuple[Arrays, Arrays, int]:
    """Read the train and test sets of a CIFAR archive (``.tar.gz`` or extracted folder).

    Returns:
        ((train images, train labels), (test images, test labels), number of classes).

    Raises:
        TrainDataError: wrong archive for ``dataset``, a bad checksum, unreadable batches.
    """
    from nasbench_suite.safe_pickle import loads_arrays

    which = "cifar100" if dataset == "cifar100" else "cifar10"
    classes = 100 if which == "cifar100" else 10
    train_names, test_names, label_key = _MEMBERS[which]
    name, _, md5 = ARCHIVES[which]
    if path.is_file() and path.name == name and md5sum(path) != md5:
        raise TrainDataError(f"{path}: MD5 differs from the official {name}")
    raw = _read_members(path, train_names + test_names)

    def batch(names: list[str]) -> Arrays:
        images, labels = [], []
        for member in names:
            obj = loads_arrays(raw[member], f"{path}:{member}")
            images.append(_batch_images(obj, label_key, f"{path}:{member}: not a {which} batch"))
            labels.append(_batch_labels(obj, label_key, len(images[-1]), classes, f"{path}:{member}"))
        return np.concatenate(images), np.concatenate(labels)

    return batch(train_names), batch(test_names), classes


def _batch_images(obj: object, label_key: bytes, what: str) -> np.ndarray:
    """``(N, 32, 32, 3)`` uint8 images of a batch dict whose ``data`` is ``(N, 3072)`` uint8."""
    if not isinstance(obj, dict) or b"data" not in obj or label_key not in obj:
        raise TrainDataError(what)
    data = obj[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise TrainDataError(f"{what} ('data' is not an (N, 3072) uint8 array)")
    return np.asarray(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _batch_labels(obj: dict, label_key: bytes, n: int, classes: int, where: str) -> np.ndarray:
    """The ``(n,)`` int64 labels of a batch, each in ``[0, classes)``."""
    raw = obj[label_key]
    ok = isinstance(raw, (list, np.ndarray)) and len(raw) == n
    if ok and isinstance(raw, list):
        ok = all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < classes for v in raw)
    labels = np.asarray(raw, dtype=np.int64) if ok else np.zeros(0, dtype=np.int64)
    if not ok or labels.shape != (n,) or (n and (labels.min() < 0 or labels.max() >= classes)):
        raise TrainDataError(f"{where}: labels are not {n} class numbers in [0, {classes})")
    return labels


def _read_members(path: Path, names: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if path.is_dir():
        for n in names:
            if not (path / n).is_file():
                raise TrainDataError(f"{path}: missing {n}")
            if (path / n).stat().st_size > MAX_MEMBER_BYTES:
                raise TrainDataError(f"{path}: {n} is larger than {MAX_MEMBER_BYTES:,} bytes")
            out[n] = (path / n).read_bytes()
        return out
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if base in names and member.isfile():
                    if member.size > MAX_MEMBER_BYTES:
                        raise TrainDataError(f"{path}: {member.name} exceeds {MAX_MEMBER_BYTES:,} bytes")
                    fh = tar.extractfile(member)
                    if fh is not None:
                        out[base] = fh.read()
    except (tarfile.TarError, OSError) as exc:
        raise TrainDataError(f"{path}: not a readable tar archive ({exc})") from None
    missing = sorted(set(names) - set(out))
    if missing:
        raise TrainDataError(f"{path}: archive lacks {', '.join(missing)}")
    return out
