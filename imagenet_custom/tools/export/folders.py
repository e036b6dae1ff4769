"""`folders`: one folder per split, one per WNID inside, the images as stored.

  OUT/<split>/<wnid>/<original file name>    the image bytes as stored
  OUT/<split>_map.txt                         `<wnid>/<file name> <label>` a line
  OUT/synsets.txt                             the label names (WNIDs), label order
  OUT/synset_words.txt                        `<wnid> <words>`, label order

Every split of the build is a folder (`test` is the original val set, its
blacklisted images are `test_blacklisted`). Every split holds a folder for
every class of the build, empty or not, so that a reader that numbers the
sorted folders (Keras `image_dataset_from_directory`, torchvision
`ImageFolder`) gives each image the build's label. Folders are WNIDs, never
class names (`crane` and `maillot` name two classes each). A map file lists
its split's images in the build's shard order, with the build's label; its
lines are what MLPerf's `val_map.txt` holds, with the path under the split
folder.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import os
from typing import Any

from imagenet_custom.build import drop_behind
from imagenet_custom.ilsvrc import class_table
from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import output
from imagenet_custom.tools.export import records
from imagenet_custom.tools.export import run

# Disk a small file takes beyond its bytes, on average (half a 4 KiB block).
_FILE_OVERHEAD = 2048
# Images a worker writes per task (~55 MB of ImageNet): builds of few shards
# still spread over every worker.
IMAGES_PER_TASK = 512


@dataclasses.dataclass(frozen=True)
class FolderTask:
  """Writes the images of a stretch of a split into their class folders.

  Attributes:
    segments: the records read (a stretch of one split).
    file_format: the build's.
    split_dir: the split's output folder.
    map_part: where its lines of the map file go.
    label_names: WNIDs in label order.
  """

  segments: tuple[dataset_lib.Segment, ...]
  file_format: str
  split_dir: str
  map_part: str
  label_names: tuple[str, ...]

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> dict[str, int]:
    """Writes the images; returns the image count and bytes."""
    del state
    counter = run.Counter(emit)
    images = image_bytes = 0
    with open(self.map_part, 'w') as map_file, drop_behind.DropBehindFiles() as files:
      for segment in self.segments:
        rows = records.iter_records(segment.path, self.file_format, segment.start, segment.stop)
        for offset, data in enumerate(rows, segment.start):
          example = records.decode_stored(data, f'{segment.path} record {offset}')
          relative = f'{self.label_names[example.label]}/{example.file_name}'
          files.write_new(os.path.join(self.split_dir, relative), example.image)
          map_file.write(f'{relative} {example.label}\n')
          images += 1
          image_bytes += len(example.image)
          counter.add()
    counter.flush()
    return {'images': images, 'image_bytes': image_bytes}

  def describe(self) -> str:
    first = self.segments[0]
    return f'{first.path} from record {first.start} (writing {self.split_dir})'


def needed_bytes(built: dataset_lib.BuiltDataset) -> int:
  """Disk the export needs: the shards' size plus a block's overhead per image."""
  return sum(
      os.path.getsize(shard.path) + shard.num_examples * _FILE_OVERHEAD
      for shards in built.splits.values() for shard in shards
  )


def _class_files(folder: str, label_names: tuple[str, ...]) -> None:
  words = class_table.names()
  with open(os.path.join(folder, 'synsets.txt'), 'w') as stream:
    stream.writelines(f'{wnid}\n' for wnid in label_names)
  with open(os.path.join(folder, 'synset_words.txt'), 'w') as stream:
    stream.writelines(f'{wnid} {words[wnid]}\n' for wnid in label_names)


def export(built: dataset_lib.BuiltDataset, folder: str, num_workers: int) -> dict[str, Any]:
  """Writes the class folders of every split into `folder` (which exists).

  Returns:
    Images and image bytes per split, for the report.
  """
  tasks = []
  for split in built.splits:
    split_dir = os.path.join(folder, split)
    for wnid in built.label_names:
      os.makedirs(os.path.join(split_dir, wnid))
    total = built.num_examples(split)
    for index, start in enumerate(range(0, total, IMAGES_PER_TASK)):
      segments = built.segments(split, start, min(start + IMAGES_PER_TASK, total))
      part = os.path.join(folder, f'.{split}_map.{index:06d}')
      tasks.append(FolderTask(segments, built.file_format, split_dir, part, built.label_names))
  total = sum(built.num_examples(split) for split in built.splits)
  results = run.run_tasks(tasks, total, num_workers)
  splits: dict[str, dict[str, int]] = {}
  for task, result in zip(tasks, results, strict=True):
    counts = splits.setdefault(os.path.basename(task.split_dir), {'images': 0, 'image_bytes': 0})
    for key, value in result.items():
      counts[key] += value
  for split in built.splits:
    _join_parts(folder, split, [t.map_part for t in tasks if t.split_dir.endswith(os.sep + split)])
  _class_files(folder, built.label_names)
  return {'splits': splits}


def _join_parts(folder: str, split: str, parts: list[str]) -> None:
  """Concatenates a split's map parts, in shard order, into `<split>_map.txt`."""
  with open(os.path.join(folder, f'{split}_map.txt'), 'wb') as joined:
    for part in parts:
      with open(part, 'rb') as stream:
        while chunk := stream.read(1 << 20):
          joined.write(chunk)
      os.remove(part)


def check_space(built: dataset_lib.BuiltDataset, out: str) -> None:
  """Stops before writing when the disk under `out` cannot hold the images."""
  existing = os.path.dirname(os.path.abspath(out))
  while not os.path.isdir(existing):
    existing = os.path.dirname(existing)
  output.check_free_space(existing, needed_bytes(built), 'The folders export')
