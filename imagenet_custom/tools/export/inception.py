"""`inception`: the TPU / inception TFRecord layout of `build_imagenet_data.py`.

  OUT/train-00000-of-01024 ... OUT/validation-00127-of-00128
  OUT/synsets.txt             the label names (WNIDs) in label order, as the
                              script's `--labels_file`
  OUT/imagenet_metadata.txt   `<wnid>\\t<words>` of those classes, as its
                              `--imagenet_metadata_file`

Each record is a `tf.train.Example` with the keys and types that
tensorflow/models `research/inception/inception/data/build_imagenet_data.py`
writes (`_convert_to_example`):
  image/encoded bytes      the JPEG bytes as stored in the build
  image/format bytes       b'JPEG'
  image/class/label int64  label index + 1 (0 is the background class)
  image/class/synset bytes the WNID
  image/class/text bytes   the WordNet words (`class_table.tsv`)
  image/height, image/width int64   of the JPEG (its header)
  image/colorspace bytes   b'RGB'; image/channels int64 3 (the script writes
                           these constants: it re-encodes CMYK and PNG files
                           to RGB JPEG, as the build does, and keeps
                           grayscale JPEGs' bytes)
  image/filename bytes     the original file name
  image/object/bbox/{xmin,ymin,xmax,ymax} float  the boxes, in [0, 1]
  image/object/bbox/label int64  the image's label, once per box
The build's splits named by `--train_splits` (default `train`) become the
`train-*` shards and those of `--validation_splits` (default `test`, the
original val set, which the script writes as `validation`); their images keep
the build's shard order (the build's shuffle) and shard i holds images
[i*n//k, (i+1)*n//k) of the n.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import dataclasses
import io
import os
from typing import Any

import numpy as np
import PIL.Image

from imagenet_custom.build import dali_index
from imagenet_custom.build import drop_behind
from imagenet_custom.build import example_proto
from imagenet_custom.ilsvrc import class_table
from imagenet_custom.ilsvrc import images
from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import records
from imagenet_custom.tools.export import run

DEFAULT_TRAIN_SHARDS = 1024
DEFAULT_VALIDATION_SHARDS = 128
_K = example_proto.Kind
SPECS = tuple(
    example_proto.FieldSpec(name, kind)
    for name, kind in (
        ('image/encoded', _K.BYTES),
        ('image/format', _K.BYTES),
        ('image/class/label', _K.INT64),
        ('image/class/synset', _K.BYTES),
        ('image/class/text', _K.BYTES),
        ('image/height', _K.INT64),
        ('image/width', _K.INT64),
        ('image/colorspace', _K.BYTES),
        ('image/channels', _K.INT64),
        ('image/filename', _K.BYTES),
        ('image/object/bbox/xmin', _K.FLOAT_LIST),
        ('image/object/bbox/ymin', _K.FLOAT_LIST),
        ('image/object/bbox/xmax', _K.FLOAT_LIST),
        ('image/object/bbox/ymax', _K.FLOAT_LIST),
        ('image/object/bbox/label', _K.INT64_LIST),
    )
)


# The keys in the order deterministic serialisation writes them
# (`example_proto.entry_order` of SPECS; a test checks it): `Encoder` writes
# its entries in this order.
ENTRY_ORDER = (
    'image/channels', 'image/class/label', 'image/class/synset', 'image/class/text',
    'image/colorspace', 'image/encoded', 'image/filename', 'image/format', 'image/height',
    'image/object/bbox/label', 'image/object/bbox/xmax', 'image/object/bbox/xmin',
    'image/object/bbox/ymax', 'image/object/bbox/ymin', 'image/width',
)
_KEYS = {name: example_proto.key_part(name) for name in ENTRY_ORDER}


def _bytes_entry(name: str, value: bytes) -> bytes:
  return example_proto.bytes_entry_header(_KEYS[name], len(value)) + value


def _int_entry(name: str, value: int) -> bytes:
  return example_proto.small_entry(_KEYS[name], example_proto.int64_feature([value]))


def _float_entry(name: str, payload: bytes) -> bytes:
  return example_proto.small_entry(_KEYS[name], example_proto.float_feature(payload))


_CHANNELS = _int_entry('image/channels', 3)
_COLORSPACE = _bytes_entry('image/colorspace', b'RGB')
_FORMAT = _bytes_entry('image/format', b'JPEG')


class Encoder:
  """The inception `tf.train.Example` of built examples.

  The bytes equal `example_proto.serialize(SPECS, values)` for the values
  the module's docstring lists (a test checks it), written from entries: the
  constant ones and each class's (label, synset, text) are made once, the
  image's sizes once per value, and the rest per image.
  """

  def __init__(self, label_names: Sequence[str], texts: Sequence[str]):
    self._label_names = label_names
    self._texts = texts
    self._classes: dict[int, bytes] = {}
    self._ints: dict[tuple[str, int], bytes] = {}
    self._box_labels: dict[tuple[int, int], bytes] = {}

  def parts(self, example: records.StoredExample) -> tuple[bytes, bytes, bytes]:
    """The example's bytes in three parts to be joined: before the image, the image, after."""
    image = example.image
    size = images.jpeg_size(image)
    if size is None:  # Not found in the header: decode as the script would.
      with PIL.Image.open(io.BytesIO(image)) as opened:
        size = opened.size
    width, height = size
    label = example.label + 1
    boxes = example.bboxes
    count = 4 * len(boxes)
    # TFDS boxes are [ymin, xmin, ymax, xmax]: the columns, one after another.
    columns = np.ascontiguousarray(boxes.T, '<f4').tobytes()
    tail = b''.join((
        _bytes_entry('image/filename', example.file_name.encode('utf-8')),
        _FORMAT,
        self._int('image/height', height),
        self._box_labels.get((label, count)) or self._box_label(label, count),
        _float_entry('image/object/bbox/xmax', columns[3 * count:]),
        _float_entry('image/object/bbox/xmin', columns[count:2 * count]),
        _float_entry('image/object/bbox/ymax', columns[2 * count:3 * count]),
        _float_entry('image/object/bbox/ymin', columns[:count]),
        self._int('image/width', width),
    ))
    head = (self._classes.get(label) or self._class(label)) + example_proto.bytes_entry_header(
        _KEYS['image/encoded'], len(image)
    )
    return example_proto.example_header(len(head) + len(image) + len(tail)) + head, image, tail

  def _class(self, label: int) -> bytes:
    """The entries before the image: channels, the class's three, colorspace."""
    index = label - 1
    self._classes[label] = b''.join((
        _CHANNELS,
        _int_entry('image/class/label', label),
        _bytes_entry('image/class/synset', self._label_names[index].encode('utf-8')),
        _bytes_entry('image/class/text', self._texts[index].encode('utf-8')),
        _COLORSPACE,
    ))
    return self._classes[label]

  def _int(self, name: str, value: int) -> bytes:
    entry = self._ints.get((name, value))
    if entry is None:
      entry = self._ints[(name, value)] = _int_entry(name, value)
    return entry

  def _box_label(self, label: int, count: int) -> bytes:
    """`image/object/bbox/label`: the label once per box (`count` is 4 per box)."""
    entry = example_proto.small_entry(
        _KEYS['image/object/bbox/label'], example_proto.int64_feature([label] * (count // 4))
    )
    self._box_labels[(label, count)] = entry
    return entry


@dataclasses.dataclass(frozen=True)
class ShardTask:
  """Writes one inception shard from its stretch of the build's records.

  Attributes:
    path: the output shard.
    segments: where its images are in the build.
    file_format: the build's.
    label_names: WNIDs in label order.
    texts: WordNet words in label order.
    dali_index: also write DALI's index beside it (`<path>.idx`).
  """

  path: str
  segments: tuple[dataset_lib.Segment, ...]
  file_format: str
  label_names: tuple[str, ...]
  texts: tuple[str, ...]
  dali_index: bool

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> dict[str, int]:
    """Writes the shard; returns its image count and size."""
    del state
    counter = run.Counter(emit)
    encoder = Encoder(self.label_names, self.texts)
    images = size = 0
    with drop_behind.DropBehindFile(self.path) as stream:
      for segment in self.segments:
        rows = records.iter_records(segment.path, self.file_format, segment.start, segment.stop)
        for offset, data in enumerate(rows, segment.start):
          example = records.decode_stored(data, f'{segment.path} record {offset}')
          size += stream.writev(records.record_buffers(encoder.parts(example)))
          images += 1
          counter.add()
    if self.dali_index:
      dali_index.write_index(self.path)
    counter.flush()
    return {'images': images, 'bytes': size}

  def describe(self) -> str:
    return f'{self.segments[0].path if self.segments else "no records"} (writing {self.path})'


def shard_name(name: str, index: int, count: int) -> str:
  """`train-00000-of-01024`, as `build_imagenet_data.py` names its shards."""
  return f'{name}-{index:05d}-of-{count:05d}'


def _tasks(
    built: dataset_lib.BuiltDataset, folder: str, name: str, splits: Sequence[str],
    num_shards: int, dali: bool,
) -> list[ShardTask]:
  """One task per output shard of `name`, over the concatenated `splits`."""
  total = sum(built.num_examples(split) for split in splits)
  names = class_table.names()
  texts = tuple(names[wnid] for wnid in built.label_names)
  tasks = []
  bounds = [index * total // num_shards for index in range(num_shards + 1)]
  for index in range(num_shards):
    segments: list[dataset_lib.Segment] = []
    offset = 0
    for split in splits:
      size = built.num_examples(split)
      low, high = max(bounds[index], offset), min(bounds[index + 1], offset + size)
      if low < high:
        segments += built.segments(split, low - offset, high - offset)
      offset += size
    tasks.append(ShardTask(
        os.path.join(folder, shard_name(name, index, num_shards)), tuple(segments),
        built.file_format, built.label_names, texts, dali,
    ))
  return tasks


def export(
    built: dataset_lib.BuiltDataset,
    folder: str,
    num_workers: int,
    outputs: Mapping[str, tuple[Sequence[str], int]],
    dali: bool = False,
) -> dict[str, Any]:
  """Writes the inception shards and class files into `folder` (which exists).

  Args:
    built: the build.
    folder: the output folder.
    num_workers: worker processes.
    outputs: for `train` and `validation`, the build's splits it takes and
      its shard count.
    dali: write a DALI index beside every shard.

  Returns:
    What was written, for the report.
  """
  tasks: list[ShardTask] = []
  for name, (splits, num_shards) in outputs.items():
    tasks += _tasks(built, folder, name, splits, num_shards, dali)
  total = sum(built.num_examples(s) for splits, _ in outputs.values() for s in splits)
  results = run.run_tasks(tasks, total, num_workers)
  with open(os.path.join(folder, 'synsets.txt'), 'w') as stream:
    stream.writelines(f'{wnid}\n' for wnid in built.label_names)
  names = class_table.names()
  with open(os.path.join(folder, 'imagenet_metadata.txt'), 'w') as stream:
    stream.writelines(f'{wnid}\t{names[wnid]}\n' for wnid in built.label_names)
  written = {}
  for name, (splits, num_shards) in outputs.items():
    mine = [r for t, r in zip(tasks, results, strict=True) if os.path.basename(t.path).startswith(name + '-')]
    written[name] = {
        'from_splits': list(splits), 'shards': num_shards,
        'images': sum(r['images'] for r in mine),
    }
  return {'outputs': written, 'dali_index': dali, 'label_offset': 1}


