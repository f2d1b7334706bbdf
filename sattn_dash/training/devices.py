"""Which device trains a model: list the CPU and GPUs, and turn a choice into a strategy.

``auto`` uses the GPUs when TensorFlow sees any, else the CPU. Several GPUs train with
``tf.distribute.MirroredStrategy`` (one replica per GPU, batches split between them).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from typing import Any

from sattn_dash.errors import RunError


@dataclass(frozen=True)
class Device:
    """A device a user can pick: ``name`` is what to pass to ``select_device``."""

    name: str
    kind: str  # "cpu" | "gpu"
    description: str


@dataclass(frozen=True)
class DevicePlan:
    """A resolved choice: what it means in words and the strategy to build and fit under."""

    name: str
    description: str
    strategy: Any  # tf.distribute.Strategy
    replicas: int


@functools.cache
def _gpus() -> tuple[Any, ...]:
    import tensorflow as tf

    gpus = tuple(tf.config.list_physical_devices("GPU"))
    for gpu in gpus:
        # Share a GPU with other processes instead of taking all its memory; this fails
        # (harmlessly) when the GPU was initialised already.
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return gpus


def _gpu_description(index: int, gpu: Any) -> str:
    import tensorflow as tf

    try:
        details = tf.config.experimental.get_device_details(gpu)
    except (RuntimeError, ValueError):
        details = {}
    return f"GPU {index}: {details.get('device_name', gpu.name)}"


def list_devices() -> list[Device]:
    """The CPU first, then one entry per GPU TensorFlow can use."""
    devices = [Device("cpu", "cpu", f"CPU ({os.cpu_count() or 1} cores)")]
    for index, gpu in enumerate(_gpus()):
        devices.append(Device(f"gpu:{index}", "gpu", _gpu_description(index, gpu)))
    return devices


def select_device(name: str = "auto") -> DevicePlan:
    """Resolve ``auto``, ``cpu``, ``gpu`` (all GPUs) or ``gpu:N`` to a ``DevicePlan``."""
    import tensorflow as tf

    gpus = _gpus()
    if name == "auto":
        name = "gpu" if gpus else "cpu"
    kind, _, index = name.partition(":")
    if kind == "cpu" and index in ("", "0"):
        # With no GPU the default strategy is the CPU already, at no extra cost.
        strategy = (
            tf.distribute.OneDeviceStrategy("/cpu:0") if gpus else tf.distribute.get_strategy()
        )
        return DevicePlan("cpu", list_devices()[0].description, strategy, 1)
    if kind != "gpu" or (index and not index.isdigit()):
        raise RunError(f"Unknown device {name!r}; choose auto, cpu, gpu or gpu:N.")
    if not gpus:
        raise RunError(
            "No GPU is visible to TensorFlow on this machine; choose device auto or cpu."
        )
    if index:
        if int(index) >= len(gpus):
            raise RunError(
                f"There is no GPU {index}; this machine has {len(gpus)} "
                f"(gpu:0 to gpu:{len(gpus) - 1})."
            )
        position = int(index)
        return DevicePlan(
            name,
            _gpu_description(position, gpus[position]),
            tf.distribute.OneDeviceStrategy(f"/gpu:{position}"),
            1,
        )
    if len(gpus) == 1:
        return DevicePlan("gpu", _gpu_description(0, gpus[0]), tf.distribute.get_strategy(), 1)
    strategy = tf.distribute.MirroredStrategy()
    described = "; ".join(_gpu_description(i, g) for i, g in enumerate(gpus))
    return DevicePlan("gpu", f"{len(gpus)} GPUs mirrored ({described})", strategy, len(gpus))
