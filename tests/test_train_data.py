"""Training data and protocols: sources, NB201 splits, the CIFAR archive reader, augmentation, schedules."""

from __future__ import annotations

import io
import json
import math
import pickle  # only to write fixtures in the official CIFAR format; reading uses the restricted unpickler
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from nasbench_suite.errors import NasbenchError
from nasbench_suite.train import cifar
from nasbench_suite.train.data import load_training_data, nb201_splits, stratified_halves, synthetic_data
from nasbench_suite.train.errors import TrainConfigError, TrainDataError
from nasbench_suite.train.protocols import available, load_protocol, protocol_from_dict


def _png(colour: tuple[int, int, int], size: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_zip(path: Path, splits: dict[str, int], classes: int = 10) -> Path:
    """A zip of cifar10/<split>/<class>/<n>.png; image colour encodes (class, n) for checks."""
    with zipfile.ZipFile(path, "w") as zf:
        for split, per_class in splits.items():
            for c in range(classes):
                for n in range(per_class):
                    zf.writestr(f"cifar10/{split}/class{c}/{n}.png", _png((20 * c, 10 * n, 7)))
    return path


def test_stratified_halves_are_fixed_disjoint_and_balanced():
    labels = np.repeat(np.arange(10), 7)  # odd count per class
    a, b = stratified_halves(labels)
    assert len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == len(labels)
    assert np.bincount(labels[a]).tolist() == [3] * 10 and np.bincount(labels[b]).tolist() == [4] * 10
    a2, b2 = stratified_halves(labels)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)


def test_nb201_split_conventions():
    data = synthetic_data(n_train=100, n_valid=10, n_test=40)
    split = nb201_splits("cifar10-valid", data.train, data.test, 10, "x")
    assert (len(split.train), len(split.valid), len(split.test)) == (50, 50, 40)
    assert np.bincount(split.train.labels).tolist() == np.bincount(split.valid.labels).tolist()
    full = nb201_splits("cifar100", data.train, data.test, 10, "x")
    assert (len(full.train), len(full.valid), len(full.test)) == (100, 20, 40)
    with pytest.raises(TrainConfigError, match="split convention"):
        nb201_splits("ImageNet16-120", data.train, data.test, 10, "x")


def test_synthetic_source():
    data = load_training_data("synthetic", "synthetic:40")
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 20, 20)
    assert data.train.images.dtype == np.uint8 and data.train.images.shape[1:] == (8, 8, 3)
    with pytest.raises(TrainConfigError, match="synthetic:N"):
        load_training_data("synthetic", "synthetic:3")


def test_image_zip_and_folder_of_zips_with_cache(tmp_path: Path):
    one = _image_zip(tmp_path / "all.zip", {"train": 4, "test": 2})
    cache = tmp_path / "cache"
    data = load_training_data("cifar10-valid", one, cache_dir=cache)
    assert (len(data.train), len(data.valid), len(data.test)) == (20, 20, 20)
    # Classes are numbered in sorted folder order; the colour encodes the class.
    assert np.all(data.train.images[:, 0, 0, 0] == 20 * data.train.labels)
    assert len(list(cache.iterdir())) == 1
    again = load_training_data("cifar10-valid", one, cache_dir=cache)  # from the cache (memory-mapped)
    assert isinstance(again.train.images, np.ndarray)
    np.testing.assert_array_equal(np.asarray(again.train.images), data.train.images)

    folder = tmp_path / "folder"
    folder.mkdir()
    _image_zip(folder / "cifar10-train-jpeg.zip", {"train": 4})
    _image_zip(folder / "cifar10-test-jpeg.zip", {"test": 2})
    split = load_training_data("cifar10", folder, cache_dir=cache)
    assert (len(split.train), len(split.valid), len(split.test)) == (40, 10, 20)


def test_image_source_errors(tmp_path: Path):
    with pytest.raises(TrainDataError, match="no such file"):
        load_training_data("cifar10", tmp_path / "missing")
    only_train = _image_zip(tmp_path / "t.zip", {"train": 1})
    with pytest.raises(TrainDataError, match="'train' and 'test'"):
        load_training_data("cifar10", only_train, cache_dir=tmp_path / "c")
    few = _image_zip(tmp_path / "few.zip", {"train": 2, "test": 1}, classes=3)
    with pytest.raises(TrainDataError, match="3 classes"):
        load_training_data("cifar10", few, cache_dir=tmp_path / "c")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(TrainDataError, match="not a zip"):
        load_training_data("cifar10", tmp_path / "bad.zip", cache_dir=tmp_path / "c")


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes, as the official CIFAR batches (cPickle, protocol 2)
    hold them; Python 3's protocol 2 would route bytes through ``_codecs.encode`` instead."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _cifar_batch(rng: np.random.Generator, n: int, label_key: bytes, classes: int) -> bytes:
    data = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    batch = {
        b"batch_label": b"training batch 1 of 5",
        label_key: [int(x) for x in rng.integers(classes, size=n)],
        b"data": data,
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue()


def _cifar_archive(path: Path, which: str) -> Path:
    rng = np.random.default_rng(0)
    if which == "cifar10":
        folder, members, key, k = (
            "cifar-10-batches-py",
            [f"data_batch_{i}" for i in range(1, 6)],
            b"labels",
            10,
        )
        members.append("test_batch")
    else:
        folder, members, key, k = "cifar-100-python", ["train", "test"], b"fine_labels", 100
    with tarfile.open(path, "w:gz") as tar:
        for name in members:
            raw = _cifar_batch(rng, 6, key, k)
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def test_cifar_python_archives(tmp_path: Path):
    archive = _cifar_archive(tmp_path / "c10.tar.gz", "cifar10")
    assert cifar.is_cifar_archive(archive)
    (train_images, train_labels), (test_images, _), classes = cifar.load_cifar(archive, "cifar10-valid")
    assert (train_images.shape, test_images.shape, classes) == ((30, 32, 32, 3), (6, 32, 32, 3), 10)
    assert (train_images.dtype, train_labels.dtype, train_labels.shape) == (np.uint8, np.int64, (30,))
    # Rows are stored channel-major (1024 R, 1024 G, 1024 B); images come back HWC.
    with tarfile.open(archive) as tar:
        member = tar.extractfile("cifar-10-batches-py/data_batch_1")
        assert member is not None
        from nasbench_suite.safe_pickle import loads_arrays

        first = loads_arrays(member.read())[b"data"][0]
    assert train_images[0, 0, 1, 2] == first[2 * 1024 + 1]
    data = load_training_data("cifar10-valid", archive)
    assert (len(data.train), len(data.valid), len(data.test)) <= (15, 15, 6)

    c100 = _cifar_archive(tmp_path / "c100.tgz", "cifar100")
    (_, train_labels), (_, test_labels), classes = cifar.load_cifar(c100, "cifar100")
    assert (len(train_labels), len(test_labels), classes) == (6, 6, 100)
    with pytest.raises(TrainDataError, match="lacks"):
        cifar.load_cifar(c100, "cifar10")


def test_cifar_archive_checks(tmp_path: Path):
    fake_official = _cifar_archive(tmp_path / "cifar-10-python.tar.gz", "cifar10")
    with pytest.raises(TrainDataError, match="MD5"):
        cifar.load_cifar(fake_official, "cifar10")
    # A batch that asks to call a function is refused before anything runs.
    evil = b"cos\nsystem\n(S'echo owned'\ntR."
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(evil)
            tar.addfile(info, io.BytesIO(evil))
    with pytest.raises(NasbenchError, match=r"os\.system"):
        cifar.load_cifar(path, "cifar10")
    (tmp_path / "broken.tar.gz").write_bytes(b"nope")
    with pytest.raises(TrainDataError, match="tar"):
        cifar.load_cifar(tmp_path / "broken.tar.gz", "cifar10")


def test_download_checks_the_checksum(tmp_path: Path, monkeypatch):
    """``--data download``: the archive is fetched (here: copied by a stand-in for urlretrieve),
    kept only when its MD5 matches, and loaded; no network is used."""
    import urllib.request

    served = _cifar_archive(tmp_path / "served.tar.gz", "cifar10")
    name, url, _ = cifar.ARCHIVES["cifar10"]
    fetched: list[str] = []

    def fake_urlretrieve(source: str, target: Path) -> None:
        fetched.append(source)
        Path(target).write_bytes(served.read_bytes())

    monkeypatch.setattr(urllib.request, "urlretrieve", fake_urlretrieve)
    with pytest.raises(TrainDataError, match="MD5 mismatch"):
        load_training_data("cifar10-valid", f"download:{tmp_path / 'dl'}")
    assert not (tmp_path / "dl" / name).exists() and not (tmp_path / "dl" / f"{name}.part").exists()

    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", (name, url, cifar.md5sum(served)))
    data = load_training_data("cifar10-valid", f"download:{tmp_path / 'dl'}")
    assert len(data.test) == 6 and fetched == [url, url]
    load_training_data("cifar10", f"download:{tmp_path / 'dl'}")  # present and valid: not fetched again
    assert len(fetched) == 2

    def offline(source: str, target: Path) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    with pytest.raises(TrainDataError, match="cannot download"):
        load_training_data("cifar100", f"download:{tmp_path / 'dl'}")
    with pytest.raises(TrainConfigError, match="only CIFAR"):
        load_training_data("ImageNet16-120", "download")


def test_shipped_protocols_and_hashes(tmp_path: Path):
    assert {"nb201-200", "nb201-12", "nb201-proxy", "nb201-tiny"} <= set(available())
    full = load_protocol("nb201-200")
    assert (full.epochs, full.batch_size, full.lr, full.momentum, full.nesterov) == (200, 256, 0.1, 0.9, True)
    assert (full.weight_decay, full.min_lr, full.crop_padding, full.flip) == (5e-4, 0.0, 4, True)
    assert full.network == {"width": 16, "cells_per_stage": 5, "input_size": None}
    twelve = load_protocol("nb201-12")
    assert twelve.epochs == 12 and twelve.hash != full.hash
    body = full.to_dict()
    renamed = protocol_from_dict({**body, "name": "other", "description": "same computation"})
    assert renamed.hash == full.hash  # name and description do not change what a run computes
    assert load_protocol("nb201-proxy").eval_epochs() == [10]
    assert load_protocol("nb201-tiny").eval_epochs() == [1, 2]

    path = tmp_path / "p.json"
    path.write_text(json.dumps(body))
    assert load_protocol(path) == full
    for bad, match in [
        ({**body, "epochs": 0}, "epochs"),
        ({**body, "epochs": "200"}, "wrong type"),
        ({**body, "nesterov": 1}, "wrong type"),
        ({**body, "colour": "red"}, "unknown protocol field"),
        ({**body, "hash": "0" * 16}, "does not match"),
        ({**body, "warmup_epochs": 200}, "warmup"),
    ]:
        with pytest.raises(TrainConfigError, match=match):
            protocol_from_dict(bad)
    path.write_text("{")
    with pytest.raises(TrainConfigError, match="cannot read"):
        load_protocol(path)


def test_schedule_subset_and_augmentation(torch_one_thread):
    torch = torch_one_thread
    from nasbench_suite.train.trainer import augment, channel_stats, lr_at, train_subset

    proxy = load_protocol("nb201-proxy")  # lr 0.2, one warm-up epoch
    total, warmup = 100, 10
    assert lr_at(0, total, warmup, proxy) == pytest.approx(0.2 / 10)
    assert lr_at(9, total, warmup, proxy) == pytest.approx(0.2)
    assert lr_at(10, total, warmup, proxy) == pytest.approx(0.2)
    assert lr_at(55, total, warmup, proxy) == pytest.approx(0.1)
    assert lr_at(total, total, warmup, proxy) == pytest.approx(0.0, abs=1e-12)

    subset = train_subset(1000, 0.5)
    assert len(subset) == 500 and np.array_equal(subset, train_subset(1000, 0.5))
    assert len(train_subset(10, 1.0)) == 10

    pixels = np.random.default_rng(1).integers(0, 256, (50, 4, 4, 3), dtype=np.uint8)
    mean, std = channel_stats(pixels, chunk=7)
    np.testing.assert_allclose(mean, pixels.reshape(-1, 3).mean(axis=0) / 255)
    np.testing.assert_allclose(std, pixels.reshape(-1, 3).std(axis=0) / 255)

    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.int64).reshape(2, 3, 6, 6).to(torch.uint8)
    gen = torch.Generator().manual_seed(0)
    flipped = augment(images, 0, True, gen)
    for out, src in zip(flipped, images):
        assert torch.equal(out, src) or torch.equal(out, src.flip(2))
    cropped = augment(images, 2, False, gen)
    assert cropped.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for b in range(2):
        windows = [padded[b, :, y : y + 6, x : x + 6] for y in range(5) for x in range(5)]
        assert any(torch.equal(cropped[b], w) for w in windows)
    assert math.isclose(float(lr_at(0, 1, 0, load_protocol("nb201-tiny"))), 0.05)
