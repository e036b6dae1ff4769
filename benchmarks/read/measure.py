"""Timing: epochs of endless batch streams, and passes over finite stages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import dataclasses
import gc
import os
import time
from typing import Any

from absl import logging
import numpy as np
import psutil
import tensorflow as tf

BATCH_SIZE = 64
IMAGE_SIZE = 224
MIN_WARMUP_BATCHES = 5


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One timed run.

  Attributes:
    images: images delivered.
    seconds: wall time.
    cpu_seconds: CPU time of this process (all threads).
    others_share: share of all cores used by other processes meanwhile.
  """

  images: int
  seconds: float
  cpu_seconds: float
  others_share: float

  @property
  def rate(self) -> float:
    return self.images / self.seconds

  @property
  def cpu_ms(self) -> float:
    return 1000.0 * self.cpu_seconds / self.images


@dataclasses.dataclass
class Method:
  """A way of producing `(images, labels)` batches, and its timed epochs.

  Attributes:
    key: short name (`a3`, `c`, `c256`, ... or a variant's).
    label: what it is.
    make: starts a fresh endless stream of batches; None when unavailable.
    unavailable: why it is unavailable.
    runs: the timed epochs.
  """

  key: str
  label: str
  make: Callable[[], Iterator[Any]] | None
  unavailable: str = ''
  runs: list[Measurement] = dataclasses.field(default_factory=list)

  def median(self) -> Measurement | None:
    """The run with the median rate, or None before any run."""
    if not self.runs:
      return None
    ordered = sorted(self.runs, key=lambda run: run.rate)
    return ordered[(len(ordered) - 1) // 2]

  def best(self) -> Measurement | None:
    """The fastest run (the least disturbed by other load), or None."""
    return max(self.runs, key=lambda run: run.rate, default=None)


def _busy_seconds() -> float:
  """CPU seconds all cores have spent busy since boot."""
  times = psutil.cpu_times()
  return sum(times) - times.idle - getattr(times, 'iowait', 0.0)


class _Timer:
  """Wall, process CPU and machine-busy time from construction to `stop`."""

  def __init__(self) -> None:
    self._busy = _busy_seconds()
    self._cpu = time.process_time()
    self._start = time.perf_counter()

  def stop(self, images: int) -> Measurement:
    """The measurement of `images` delivered since construction."""
    seconds = time.perf_counter() - self._start
    cpu_seconds = time.process_time() - self._cpu
    others = max(0.0, _busy_seconds() - self._busy - cpu_seconds)
    return Measurement(
        images, seconds, cpu_seconds, others / seconds / (os.cpu_count() or 1)
    )


def measure(batches: Iterator[Any], num_batches: int) -> Measurement:
  """Times `num_batches` batches of a stream.

  Args:
    batches: yields `(images, labels)` with images `[B, H, W, 3]`.
    num_batches: how many batches to take.

  Returns:
    The measurement.
  """
  timer = _Timer()
  images = 0
  for _ in range(num_batches):
    batch, _ = next(batches)
    images += int(batch.shape[0])
  return timer.stop(images)


def check_batch(batches: Iterator[Any], key: str) -> None:
  """Checks that a stream gives float32 `[B, 224, 224, 3]` batches.

  Args:
    batches: the stream.
    key: its name, for the error.

  Raises:
    AssertionError: another shape or dtype.
  """
  images, _ = next(batches)
  dtype = np.dtype(getattr(images.dtype, 'as_numpy_dtype', images.dtype))
  shape = tuple(images.shape)
  if dtype != np.float32 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
    raise AssertionError(f'({key}) gives {dtype} {shape}, not float32 batches')


def time_epoch(method: Method, steps: int, check: bool) -> Measurement:
  """Starts a fresh stream, warms it up, times one epoch, stops it.

  A fresh stream per timed epoch keeps the other methods' background threads
  from working (and banking batches) while one method is timed.

  Args:
    method: an available method.
    steps: batches per epoch.
    check: check the batches' shape and dtype first.

  Returns:
    The timed epoch.
  """
  assert method.make is not None
  batches = method.make()
  if check:
    check_batch(batches, method.key)
  measure(batches, max(MIN_WARMUP_BATCHES, steps // 4))
  run = measure(batches, steps)
  del batches
  gc.collect()
  return run


def run_rounds(methods: list[Method], steps: int, rounds: int) -> None:
  """Times one epoch of each method in turn, `rounds` times.

  Args:
    methods: the methods; their `runs` are filled in.
    steps: batches per epoch.
    rounds: timed epochs per method.
  """
  for round_index in range(rounds):
    for method in methods:
      if method.make is None:
        continue
      run = time_epoch(method, steps, check=round_index == 0)
      method.runs.append(run)
      logging.info(
          'round %d (%s): %.0f img/s, %.2f CPU ms/img, others %.0f%%',
          round_index, method.key, run.rate, run.cpu_ms, 100 * run.others_share,
      )
    print(f'Round {round_index + 1}/{rounds} done.', flush=True)


def measure_stage(ds: tf.data.Dataset, repeats: int) -> Measurement:
  """Times full passes over a finite dataset; returns the least CPU per image.

  Args:
    ds: the stage's dataset of batches (or of batched scalars).
    repeats: passes.

  Returns:
    The pass with the least CPU time per image.
  """
  best = None
  for _ in range(repeats):
    timer = _Timer()
    images = 0
    for batch in ds:
      images += int(batch.shape[0])
    run = timer.stop(images)
    if best is None or run.cpu_ms < best.cpu_ms:
      best = run
  assert best is not None
  return best
