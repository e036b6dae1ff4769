"""A built `imagenet_custom` as files: its splits, shards and label names. Pure.

Read from the dataset folder TFDS writes (`DATA_DIR/imagenet_custom/CONFIG/
VERSION/`): `dataset_info.json` (file format, splits, shard lengths, the
shard file name template) and `label.labels.txt` (the `label` feature's
names, WNIDs, in label order). Nothing of the builder is imported.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import json
import os

from imagenet_custom.errors import InputError

_NAME = 'imagenet_custom'
_INFO = 'dataset_info.json'
_LABELS = 'label.labels.txt'


@dataclasses.dataclass(frozen=True)
class Shard:
  """One shard file and how many examples it holds."""

  path: str
  num_examples: int


@dataclasses.dataclass(frozen=True)
class Segment:
  """Records `start` to `stop` (exclusive) of one shard: part of a task."""

  path: str
  start: int
  stop: int


@dataclasses.dataclass(frozen=True)
class BuiltDataset:
  """What an export needs of a build.

  Attributes:
    directory: the `.../CONFIG/VERSION` folder.
    config: the config name.
    file_format: `tfrecord` or `array_record`.
    label_names: the `label` feature's names (WNIDs) in label order.
    splits: shards of each split, in TFDS's order.
  """

  directory: str
  config: str
  file_format: str
  label_names: tuple[str, ...]
  splits: dict[str, tuple[Shard, ...]]

  def num_examples(self, split: str) -> int:
    return sum(shard.num_examples for shard in self.splits[split])

  def segments(self, split: str, start: int, stop: int) -> tuple[Segment, ...]:
    """Where examples `start` to `stop` of a split (in shard order) are stored."""
    segments, offset = [], 0
    for shard in self.splits[split]:
      low, high = max(start, offset), min(stop, offset + shard.num_examples)
      if low < high:
        segments.append(Segment(shard.path, low - offset, high - offset))
      offset += shard.num_examples
    return tuple(segments)


def _dataset_dir(data_dir: str, config: str | None) -> str:
  """The build folder of `config` (or the only one) under a TFDS data dir."""
  if os.path.exists(os.path.join(data_dir, _INFO)):
    return data_dir
  root = os.path.join(data_dir, _NAME)
  configs = sorted(
      name for name in (os.listdir(root) if os.path.isdir(root) else [])
      if not name.startswith('.')
  )
  if config is None:
    config = 'default' if 'default' in configs or len(configs) != 1 else configs[0]
  if config not in configs:
    raise InputError(
        f'No built {_NAME}/{config} under {data_dir} (built configs:'
        f' {", ".join(configs) or "none"}). Pass --data_dir of a `tfds build`'
        ' and --config of one of its configs.'
    )
  versions = sorted(
      (v for v in os.listdir(os.path.join(root, config))
       if os.path.exists(os.path.join(root, config, v, _INFO))),
      key=lambda v: tuple(int(p) for p in v.split('.') if p.isdigit()),
  )
  if not versions:
    raise InputError(f'{root}/{config} holds no finished build ({_INFO} missing); build it again.')
  return os.path.join(root, config, versions[-1])


def _shard_paths(directory: str, split: dict, file_format: str) -> Iterator[Shard]:
  lengths = [int(n) for n in split.get('shardLengths', [])]
  template = split.get('filepathTemplate', '{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}')
  for index, length in enumerate(lengths):
    name = (
        template.replace('{DATASET}', _NAME)
        .replace('{SPLIT}', split['name'])
        .replace('{FILEFORMAT}', file_format)
        .replace('{SHARD_X_OF_Y}', f'{index:05d}-of-{len(lengths):05d}')
    )
    yield Shard(os.path.join(directory, name), length)


def open_dataset(data_dir: str, config: str | None = None) -> BuiltDataset:
  """The build of `config` under a TFDS data dir (or the build folder itself).

  Args:
    data_dir: `--data_dir` of the `tfds build`, or its `.../CONFIG/VERSION`.
    config: the config name; None takes `default`, or the only one built.

  Returns:
    The dataset, its shards checked to exist.

  Raises:
    InputError: no such build, or a shard missing.
  """
  directory = _dataset_dir(os.fspath(data_dir), config)
  with open(os.path.join(directory, _INFO)) as stream:
    info = json.load(stream)
  if info.get('name') != _NAME:
    raise InputError(f'{directory} holds {info.get("name")!r}, not an {_NAME} build.')
  file_format = info.get('fileFormat', 'tfrecord')
  labels_path = os.path.join(directory, _LABELS)
  if not os.path.exists(labels_path):
    raise InputError(f'{labels_path} is missing: the build is incomplete; build it again.')
  with open(labels_path) as stream:
    label_names = tuple(line.strip() for line in stream if line.strip())
  splits = {
      split['name']: tuple(_shard_paths(directory, split, file_format))
      for split in info.get('splits', [])
  }
  for shards in splits.values():
    for shard in shards:
      if not os.path.exists(shard.path):
        raise InputError(f'{shard.path} is missing: the build is incomplete; build it again.')
  return BuiltDataset(directory, info.get('configName', ''), file_format, label_names, splits)
