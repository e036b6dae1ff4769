"""`webdataset`: tar shards of a chosen number of samples or size, with a wids index.

  OUT/<split>-000000.tar ...   per sample `<key>.jpg` (the image as stored),
                               `<key>.cls` (the label, decimal text) and
                               `<key>.json` (file_name, label, wnid, bboxes as
                               TFDS's [ymin, xmin, ymax, xmax] in [0, 1])
  OUT/<split>.json             the wids index (`wids-shard-index-v1`: url,
                               nsamples, filesize, md5sum of each shard, urls
                               relative to the index)

The key is the file name without its extension (`n01440764_10026`,
`ILSVRC2012_val_00000001`): the same in every run and layout. Samples keep the
build's shard order; shard i of a split holds samples [i*m, (i+1)*m) for m
samples a shard. A size in bytes instead is turned into m per split from the
build's own figures (`samples_for_size`), so shards are about that size and a
re-run cuts them in the same places. Tar members have fixed owner, mode and time, so a re-run
writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import hashlib
import io
import json
import os
import tarfile
from typing import Any

from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import records
from imagenet_custom.tools.export import run

# ~110 MB of ImageNet's JPEGs (110 KB on average) a shard.
DEFAULT_SAMPLES_PER_SHARD = 1000
# What a tar adds to the stored example: a sample's three member headers (512
# bytes each), its `.cls` and `.json` (under 512 bytes, so a block each), and
# on average half a block of padding after its `.jpg`. A tar ends with two zero
# blocks and is padded to 10,240 bytes: on average 6 KB a tar.
TAR_BYTES_PER_SAMPLE = 5 * 512 + 256
TAR_BYTES_PER_SHARD = 1024 + 5120
_INDEX_KIND = 'wids-shard-index-v1'


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
  info = tarfile.TarInfo(name)
  info.size = len(data)
  info.mode = 0o444
  info.mtime = 0
  info.uid = info.gid = 0
  info.uname = info.gname = ''
  tar.addfile(info, io.BytesIO(data))


def sample_key(file_name: str) -> str:
  """The sample's key: the file name before its first dot (WebDataset's rule)."""
  return file_name.split('.', 1)[0]


@dataclasses.dataclass(frozen=True)
class TarTask:
  """Writes one tar shard.

  Attributes:
    path: the tar written.
    segments: where its samples are in the build.
    file_format: the build's.
    label_names: WNIDs in label order.
  """

  path: str
  segments: tuple[dataset_lib.Segment, ...]
  file_format: str
  label_names: tuple[str, ...]

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> dict[str, Any]:
    """Writes the tar; returns its sample count, size and MD5."""
    del state
    counter = run.Counter(emit)
    samples = 0
    with tarfile.open(self.path, 'w', format=tarfile.USTAR_FORMAT) as tar:
      for segment in self.segments:
        rows = records.iter_records(segment.path, self.file_format, segment.start, segment.stop)
        for offset, data in enumerate(rows, segment.start):
          example = records.decode_stored(data, f'{segment.path} record {offset}')
          key = sample_key(example.file_name)
          meta = {
              'file_name': example.file_name,
              'label': example.label,
              'wnid': self.label_names[example.label],
              'bboxes': [[float(v) for v in box] for box in example.bboxes],
          }
          _member(tar, f'{key}.jpg', example.image)
          _member(tar, f'{key}.cls', str(example.label).encode('ascii'))
          _member(tar, f'{key}.json', json.dumps(meta, sort_keys=True).encode('utf-8'))
          samples += 1
          counter.add()
    counter.flush()
    digest = hashlib.md5()
    with open(self.path, 'rb') as stream:
      while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return {'nsamples': samples, 'filesize': os.path.getsize(self.path), 'md5sum': digest.hexdigest()}

  def describe(self) -> str:
    return f'{self.segments[0].path if self.segments else "no records"} (writing {self.path})'


def samples_for_size(built: dataset_lib.BuiltDataset, split: str, shard_bytes: int) -> int:
  """Samples a tar of about `shard_bytes` holds, from the split's mean stored record.

  The build's shard files hold each example's image, label, file name and boxes
  (the tar's `.jpg`, `.cls` and `.json`) with a few bytes of framing; the tar
  adds `TAR_BYTES_PER_SAMPLE` and `TAR_BYTES_PER_SHARD`. At least one sample a
  shard.
  """
  total = built.num_examples(split)
  if total == 0:
    return 1
  stored = sum(os.path.getsize(shard.path) for shard in built.splits[split])
  room = shard_bytes - TAR_BYTES_PER_SHARD
  return max(1, round(room / (stored / total + TAR_BYTES_PER_SAMPLE)))


def export(
    built: dataset_lib.BuiltDataset,
    folder: str,
    num_workers: int,
    samples_per_shard: int,
    shard_bytes: int | None = None,
) -> dict[str, Any]:
  """Writes every split's tar shards and wids index into `folder` (which exists).

  Args:
    built: the build read.
    folder: where the tars and indexes go.
    num_workers: worker processes (0: one per core).
    samples_per_shard: samples in each tar, unless `shard_bytes` is given.
    shard_bytes: the size each tar should have, about; decides the samples per
      shard of each split (`samples_for_size`).

  Returns:
    Samples, shards and samples per shard of each split, for the report.
  """
  tasks: list[tuple[str, TarTask]] = []
  per_shard: dict[str, int] = {}
  for split in built.splits:
    total = built.num_examples(split)
    per_shard[split] = step = (
        samples_for_size(built, split, shard_bytes) if shard_bytes else samples_per_shard
    )
    for index, start in enumerate(range(0, total, step)):
      path = os.path.join(folder, f'{split}-{index:06d}.tar')
      segments = built.segments(split, start, min(start + step, total))
      tasks.append((split, TarTask(path, segments, built.file_format, built.label_names)))
  total_samples = sum(built.num_examples(split) for split in built.splits)
  results = run.run_tasks([task for _, task in tasks], total_samples, num_workers)
  splits: dict[str, dict[str, int]] = {}
  for split in built.splits:
    shardlist = [
        dict(url=os.path.basename(task.path), **result)
        for (name, task), result in zip(tasks, results, strict=True) if name == split
    ]
    index_json: dict[str, Any] = {
        '__kind__': _INDEX_KIND,
        'wids_version': 1,
        'name': f'imagenet_custom-{built.config}-{split}',
        'shardlist': shardlist,
    }
    with open(os.path.join(folder, f'{split}.json'), 'w') as stream:
      json.dump(index_json, stream, indent=1, sort_keys=True)
      stream.write('\n')
    splits[split] = {
        'samples': built.num_examples(split),
        'shards': len(shardlist),
        'samples_per_shard': per_shard[split],
    }
  return {'splits': splits, 'shard_bytes': shard_bytes}
