"""`dali`: one DALI index file per TFRecord shard (`tfrecord2idx`'s format).

  OUT/<shard file name>.idx   for every shard of the build (TFRecord builds),
                              or every file of `--tfrecord_dir` (e.g. an
                              `inception` export)

DALI reads them with `fn.readers.tfrecord(path=[shards],
index_path=[OUT/<shard>.idx ...])`. The format is `build.dali_index`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import os
from typing import Any

from imagenet_custom.build import dali_index
from imagenet_custom.errors import InputError
from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import run


@dataclasses.dataclass(frozen=True)
class IndexTask:
  """Writes the DALI index of one TFRecord file."""

  tfrecord: str
  index: str

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> dict[str, int]:
    """Writes the index; returns the records it lists."""
    del state
    dali_index.write_index(self.tfrecord, self.index)
    with open(self.index) as stream:
      count = sum(1 for _ in stream)
    emit(count)
    return {'records': count}

  def describe(self) -> str:
    return f'{self.tfrecord} (writing {self.index})'


def built_shards(built: dataset_lib.BuiltDataset) -> list[dataset_lib.Shard]:
  """Every shard of a TFRecord build.

  Raises:
    InputError: an ArrayRecord build (DALI reads TFRecord files).
  """
  if built.file_format != 'tfrecord':
    raise InputError(
        f'{built.directory} is a {built.file_format} build; DALI reads TFRecord'
        ' files: build with --file_format=tfrecord, or export `inception` first.'
    )
  return [shard for shards in built.splits.values() for shard in shards]


def tfrecord_files(folder: str) -> list[str]:
  """The TFRecord files of a folder: every file but indexes and text files.

  Raises:
    InputError: none found.
  """
  skipped = ('.idx', '.txt', '.json')
  files = sorted(
      os.path.join(folder, name) for name in os.listdir(folder)
      if os.path.isfile(os.path.join(folder, name)) and not name.endswith(skipped)
  )
  if not files:
    raise InputError(f'{folder} holds no TFRecord files to index.')
  return files


def export(tfrecords: Sequence[str], folder: str, num_workers: int, total: int) -> dict[str, Any]:
  """Writes one index per TFRecord file into `folder` (which exists)."""
  tasks = [
      IndexTask(path, os.path.join(folder, os.path.basename(path) + dali_index.INDEX_SUFFIX))
      for path in tfrecords
  ]
  names = [os.path.basename(path) for path in tfrecords]
  if len(set(names)) != len(names):
    raise InputError('Two TFRecord files share a name; their indexes would collide.')
  results = run.run_tasks(tasks, total, num_workers)
  return {'indexes': len(tasks), 'records': sum(r['records'] for r in results)}
