"""The plain build's schedule: every split generated, spilled and written by the workers.

One run of the worker pool builds every split. The tasks that generate and
spill the splits' examples (`parallel_build`) go in split after split; as
soon as one split's examples are all spilled, its shards are decided (by the
`ShardPlanner` the caller gives, TFDS's rule) and their `WriteShard` tasks go
ahead of the next split's remaining generation, so the shards of a split
are written while the next one is generated. The parent only collects where
the examples went (`spill.SpillIndex`), the report's counts and each
shard's length; it never touches an example.

It logs TFDS's phase lines (`Generating <split> examples...` when a split's
generation starts, `Shuffling <shard>...` when its shards are decided,
`Done writing <shard>.` when they are written), which overlap.

The engine knows nothing of split names: any mapping of splits to their
tasks is built the same way.

This module runs without TensorFlow or TFDS (the caller plans the shards).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
import contextlib
import dataclasses
import itertools
import os
import shutil
from typing import NamedTuple

from absl import logging

from imagenet_custom.build import eval_examples
from imagenet_custom.build import parallel_build
from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import shard_writer
from imagenet_custom.build import spill as spill_lib
from imagenet_custom.build import workers
from imagenet_custom.errors import InputError


class ShardLayout(NamedTuple):
  """A split's shards as TFDS's writer would make them.

  Attributes:
    paths: each shard's file, in order.
    boundaries: each shard's end (exclusive) among the split's examples in
      hashed-key order; the last is the number of examples.
  """

  paths: list[str]
  boundaries: list[int]


# `(split, number of examples, total bytes of the serialised examples)` ->
# its shards.
ShardPlanner = Callable[[str, int, int], ShardLayout]


class SplitWritten(NamedTuple):
  """What TFDS's `SplitInfo` records of a split written."""

  name: str
  shard_lengths: list[int]
  num_bytes: int


@dataclasses.dataclass
class _Split:
  """One split's progress through the build."""

  name: str
  generating: int
  cap: int | None
  index: spill_lib.SpillIndex = dataclasses.field(default_factory=spill_lib.SpillIndex)
  # Per shard path, its examples once written (None while pending).
  shards: dict[str, int | None] = dataclasses.field(default_factory=dict)
  planned: list[int] = dataclasses.field(default_factory=list)

  def take(self, records: Sequence[tuple[str, spill_lib.Spilled]]) -> int:
    """Takes a batch's records, up to the cap; returns how many."""
    if self.cap is not None:
      records = records[: max(0, self.cap - self.index.count)]
    for _, spilled in records:
      self.index.add(spilled)
    return len(records)


def build_splits(
    pool: workers.WorkerPool,
    tasks: Mapping[str, Iterable[workers.Task]],
    planner: ShardPlanner,
    file_format: str,
    report: report_lib.BuildReport,
    progress: progress_lib.Progress,
    max_examples_per_split: int | None = None,
) -> list[SplitWritten]:
  """Generates, spills and writes every split on the pool.

  Every task (each split's, and the `WriteShard`s made here) has a `split`
  attribute naming its split.

  Args:
    pool: the workers.
    tasks: each split's generation tasks (`parallel_build.split_tasks`).
    planner: decides a split's shards once its examples are counted.
    file_format: `shard_writer.TFRECORD` or `shard_writer.ARRAY_RECORD`.
    report: where the tasks' counters go.
    progress: advanced for every image written or skipped.
    max_examples_per_split: keep only the first examples of each split
      that arrive, as TFDS's option of that name does.

  Returns:
    Each split written, in the order of `tasks`.

  Raises:
    InputError: a split ended with no examples.
    The errors of the tasks (`workers.WorkerPool.run`).
  """
  listed = {name: list(split_tasks) for name, split_tasks in tasks.items()}
  splits = {
      name: _Split(name, len(split_tasks), max_examples_per_split)
      for name, split_tasks in listed.items()
  }
  feed = workers.TaskFeed(itertools.chain.from_iterable(listed.values()), open=True)
  if splits:
    _log_phase('Generating %s examples...', next(iter(splits)))
  try:
    _close_when_planned(splits, feed)
    for split in splits.values():
      if split.generating == 0:
        _generated(split, splits, planner, file_format, feed)
    for message in pool.run(feed):
      split = splits[message.task.split]  # type: ignore[attr-defined]
      if isinstance(message, workers.Emitted):
        progress.advance(split.take(message.payload.records))
      elif isinstance(message.task, shard_writer.WriteShard):
        split.shards[message.result.path] = message.result.num_examples
        if None not in split.shards.values():
          _log_phase('Done writing %s.', next(iter(split.shards)))
      else:
        _task_done(split, message.result, report, progress)
        if split.generating == 0:
          _generated(split, splits, planner, file_format, feed)
  finally:
    feed.cancel()
  return [_written(split) for split in splits.values()]


def _generated(
    split: _Split,
    splits: Mapping[str, _Split],
    planner: ShardPlanner,
    file_format: str,
    feed: workers.TaskFeed,
) -> None:
  """A split's examples are all spilled: its shards go first in the feed."""
  names = list(splits)
  later = names[names.index(split.name) + 1 :]
  if later:
    _log_phase('Generating %s examples...', later[0])
  _plan_shards(split, planner, file_format, feed)
  _close_when_planned(splits, feed)


def spill_dir_of(data_dir: str) -> str:
  """Where the workers spill a build's examples: in its (temporary) directory."""
  return os.path.join(data_dir, 'spill')


@contextlib.contextmanager
def spill_directory(data_dir: str) -> Iterator[str]:
  """Makes `spill_dir_of(data_dir)`; deletes it, with anything left in it, on exit."""
  path = spill_dir_of(data_dir)
  os.makedirs(path, exist_ok=True)
  try:
    yield path
  finally:
    shutil.rmtree(path, ignore_errors=True)


def _log_phase(line: str, subject: str) -> None:
  """Logs a phase line worded as TFDS's writer words it (the build benchmark reads them)."""
  logging.info(line, subject)


def _task_done(
    split: _Split,
    result: parallel_build.TaskResult,
    report: report_lib.BuildReport,
    progress: progress_lib.Progress,
) -> None:
  split.generating -= 1
  report.merge(result.counts, result.skipped)
  skipped_key: str
  if split.name in report_lib.TRAIN_SPLITS:
    skipped_key = report_lib.TRAIN_SKIPPED
  elif split.name in report_lib.VAL_SPLITS:
    skipped_key = report_lib.VAL_SKIPPED
  else:  # An evaluation set's split (issue 17).
    skipped_key = eval_examples.counter(split.name, 'skipped')
  progress.advance(result.counts.get(skipped_key, 0))


def _plan_shards(
    split: _Split, planner: ShardPlanner, file_format: str, feed: workers.TaskFeed
) -> None:
  """Decides a split's shards and puts their tasks first in the feed."""
  index = split.index
  if not index.count:
    raise InputError(
        f'Split {split.name!r} has no examples: every one of its images was'
        ' skipped (see the build report\'s skipped files). No dataset was'
        ' written.'
    )
  layout = planner(split.name, index.count, index.size)
  _log_phase('Shuffling %s...', layout.paths[0])
  lengths = index.bucket_lengths
  starts = [0, *layout.boundaries[:-1]]
  for path, start, end, pieces in zip(
      layout.paths, starts, layout.boundaries,
      shard_writer.shard_slices(layout.boundaries, lengths),
      strict=True,
  ):
    split.shards[path] = None
    split.planned.append(end - start)
    feed.put(shard_writer.WriteShard(
        split.name, path, file_format,
        tuple(
            shard_writer.BucketSlice(
                index.bucket_files(bucket), skip, take, take == lengths[bucket]
            )
            for bucket, skip, take in pieces
        ),
    ), urgent=True)


def _close_when_planned(splits: Mapping[str, _Split], feed: workers.TaskFeed) -> None:
  if all(split.shards for split in splits.values()):
    feed.close()


def _written(split: _Split) -> SplitWritten:
  """The split's record, once its shards are written; removes its spill files."""
  lengths = list(split.shards.values())
  if any(length is None for length in lengths) or lengths != split.planned:
    raise AssertionError(
        f'imagenet_custom: split {split.name!r} wrote shards of {lengths}'
        f' examples where {split.planned} were planned.'
    )
  for path in split.index.paths():
    if os.path.exists(path):
      os.remove(path)
  return SplitWritten(split.name, [int(n) for n in lengths if n is not None], split.index.size)

