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
    train_names, test_names, label_key = _MEMBERS[which]
    name, _, md5 = ARCHIVES[which]
    if path.is_file() and path.name == name and md5sum(path) != md5:
        raise TrainDataError(f"{path}: MD5 differs from the official {name}")
    raw = _read_members(path, train_names + test_names)

    def batch(names: list[str]) -> Arrays:
        images, labels = [], []
        for member in names:
            obj = loads_arrays(raw[member], f"{path}:{member}")
            if not isinstance(obj, dict) or b"data" not in obj or label_key not in obj:
                raise TrainDataError(f"{path}:{member}: not a {which} batch")
            images.append(
                np.asarray(obj[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            )
            labels.append(np.asarray(obj[label_key], dtype=np.int64))
        return np.concatenate(images), np.concatenate(labels)

    return batch(train_names), batch(test_names), 100 if which == "cifar100" else 10


def _read_members(path: Path, names: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if path.is_dir():
        for n in names:
            if not (path / n).is_file():
                raise TrainDataError(f"{path}: missing {n}")
            out[n] = (path / n).read_bytes()
        return out
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if base in names and member.isfile():
                    fh = tar.extractfile(member)
                    if fh is not None:
                        out[base] = fh.read()
    except (tarfile.TarError, OSError) as exc:
        raise TrainDataError(f"{path}: not a readable tar archive ({exc})") from None
    missing = sorted(set(names) - set(out))
    if missing:
        raise TrainDataError(f"{path}: archive lacks {', '.join(missing)}")
    return out
