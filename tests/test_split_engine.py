"""The schedule of a plain build: every split spilled and written, shards overlapping generation."""

from __future__ import annotations

import os
import pathlib

import pytest
import tensorflow as tf

from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import shard_writer
from imagenet_custom.build import spill
from imagenet_custom.build import split_engine
from imagenet_custom.build import workers
from imagenet_custom.errors import InputError

import worker_tasks

TESTS = pathlib.Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _tasks_importable_in_workers(monkeypatch):
  monkeypatch.setenv(
      'PYTHONPATH', os.pathsep.join([str(TESTS), os.environ.get('PYTHONPATH', '')])
  )


class _Recording:
  """A pool that records which task each message came from, in order."""

  def __init__(self, pool: workers.WorkerPool):
    self.pool = pool
    self.finished: list[tuple[str, str]] = []

  def run(self, tasks):
    for message in self.pool.run(tasks):
      if isinstance(message, workers.Finished):
        self.finished.append((type(message.task).__name__, message.task.split))  # type: ignore[attr-defined]
      yield message


def _planner(out: pathlib.Path, shards: int) -> split_engine.ShardPlanner:
  def plan(split: str, count: int, size: int) -> split_engine.ShardLayout:
    del size
    n = min(shards, count)
    return split_engine.ShardLayout(
        [str(out / f'{split}-{i}-of-{n}') for i in range(n)],
        [round(count * i / n) for i in range(1, n + 1)],
    )
  return plan


def _keys(prefix: str, count: int) -> list[str]:
  return [f'{prefix}_{i}.JPEG' for i in range(count)]


def test_any_split_names_are_built_and_a_split_is_written_while_the_next_is_generated(tmp_path):
  spill_dir, out = tmp_path / 'spill', tmp_path / 'out'
  spill_dir.mkdir()
  out.mkdir()
  tasks = {
      'imagenet_a': [worker_tasks.SpillKeys('imagenet_a', tuple(_keys('a', 30)))],
      'train': [
          worker_tasks.SpillKeys('train', tuple(_keys(f't{i}', 5)), seconds=0.3)
          for i in range(8)
      ],
  }
  with workers.WorkerPool(2, state=str(spill_dir)) as pool:
    recording = _Recording(pool)
    written = split_engine.build_splits(
        recording, tasks, _planner(out, 3), shard_writer.TFRECORD,  # type: ignore[arg-type]
        report_lib.BuildReport(), progress_lib.Progress(70),
    )
  assert written == [
      split_engine.SplitWritten('imagenet_a', [10, 10, 10], sum(len(k) for k in _keys('a', 30))),
      split_engine.SplitWritten(
          'train', [13, 14, 13], sum(len(k) for i in range(8) for k in _keys(f't{i}', 5))
      ),
  ]
  for split, keys in (('imagenet_a', _keys('a', 30)), ('train', [
      k for i in range(8) for k in _keys(f't{i}', 5)
  ])):
    records = [
        r.numpy() for i in range(3)
        for r in tf.data.TFRecordDataset(str(out / f'{split}-{i}-of-3'))
    ]
    assert records == [k.encode() for k in sorted(keys, key=lambda k: spill.hash_key(split, k))]
  # imagenet_a's shards were written before train's generation ended.
  last_train_task = max(
      i for i, (kind, split) in enumerate(recording.finished)
      if kind == 'SpillKeys' and split == 'train'
  )
  shard_a = [i for i, f in enumerate(recording.finished) if f == ('WriteShard', 'imagenet_a')]
  assert len(shard_a) == 3 and max(shard_a) < last_train_task
  assert not os.listdir(spill_dir)


def test_max_examples_per_split_keeps_the_first_that_arrive(tmp_path):
  spill_dir, out = tmp_path / 'spill', tmp_path / 'out'
  spill_dir.mkdir()
  out.mkdir()
  tasks = {'test': [worker_tasks.SpillKeys('test', tuple(_keys(f'v{i}', 4))) for i in range(3)]}
  with workers.WorkerPool(1, state=str(spill_dir)) as pool:
    [written] = split_engine.build_splits(
        pool, tasks, _planner(out, 2), shard_writer.TFRECORD,
        report_lib.BuildReport(), progress_lib.Progress(12), max_examples_per_split=5,
    )
  assert written.shard_lengths == [2, 3]


def test_a_split_left_with_no_examples_is_an_error_naming_it(tmp_path):
  spill_dir = tmp_path / 'spill'
  spill_dir.mkdir()
  tasks = {'test': [worker_tasks.SpillKeys('test', ('v.JPEG',))]}
  with workers.WorkerPool(1, state=str(spill_dir)) as pool:
    with pytest.raises(InputError, match="Split 'test' has no examples"):
      split_engine.build_splits(
          pool, tasks, _planner(tmp_path, 1), shard_writer.TFRECORD,
          report_lib.BuildReport(), progress_lib.Progress(1), max_examples_per_split=0,
      )
