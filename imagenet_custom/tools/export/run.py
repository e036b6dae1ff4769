"""Export tasks run on the build's worker processes, with a progress line.

A task is what `imagenet_custom.build.workers.WorkerPool` runs: a picklable
callable `task(state, emit) -> result` with `describe()`, defined in a module
without TensorFlow. Export tasks emit the number of images they finished now
and then, and return a small result (what they wrote). `run_tasks` is the one
place the export meets the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import workers

# Images between two progress messages of one task.
PROGRESS_EVERY = 64


class ExportTask(Protocol):
  """One unit of an export (e.g. one output shard)."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    """Writes its files; emits image counts; returns what it wrote."""

  def describe(self) -> str:
    """What the task reads and writes, for errors."""


def run_tasks(tasks: Sequence[ExportTask], total_images: int, num_workers: int) -> list[Any]:
  """Runs tasks on worker processes, showing images done of total.

  Args:
    tasks: each must emit ints (images done) and return its result.
    total_images: for the progress line.
    num_workers: worker processes; 0 means one per core.

  Returns:
    The tasks' results, in the order of `tasks`.
  """
  if not tasks:
    return []
  progress = progress_lib.Progress(total_images)
  indexed = [_Indexed(index, task) for index, task in enumerate(tasks)]
  results: list[Any] = [None] * len(tasks)
  with workers.WorkerPool(min(num_workers, len(tasks)) if num_workers else 0, None) as pool:
    for message in pool.run(indexed):
      if isinstance(message, workers.Emitted):
        progress.advance(message.payload)
      else:
        index, result = message.result
        results[index] = result
  progress.finish()
  return results


class _Indexed:
  """A task that returns its position with its result (tasks end in any order)."""

  def __init__(self, index: int, task: ExportTask):
    self.index = index
    self.task = task

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> tuple[int, Any]:
    return self.index, self.task(state, emit)

  def describe(self) -> str:
    return self.task.describe()


class Counter:
  """Counts images in a task and emits the count every `PROGRESS_EVERY`."""

  def __init__(self, emit: Callable[[Any], None]):
    self._emit = emit
    self._pending = 0

  def add(self, images: int = 1) -> None:
    self._pending += images
    if self._pending >= PROGRESS_EVERY:
      self.flush()

  def flush(self) -> None:
    if self._pending:
      self._emit(self._pending)
      self._pending = 0
