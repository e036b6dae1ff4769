"""The inception export's `Encoder` writes what the general serialiser writes for its values.

`example_proto.serialize` is itself checked against TFDS (test_example_proto);
here the encoder's cached entries must give the same bytes for every case of
value: any label, no box or several, a long image, a non-ASCII file name, a
file whose size is not in its JPEG header.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
import pytest

from imagenet_custom.build import example_proto
from imagenet_custom.ilsvrc import class_table
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.tools.export import inception
from imagenet_custom.tools.export import records

_WNIDS = metadata.wnids()
_TEXTS = tuple(class_table.names()[wnid] for wnid in _WNIDS)


def _jpeg(size: tuple[int, int], mode: str = 'RGB') -> bytes:
  buffer = io.BytesIO()
  Image.new(mode, size, 99).save(buffer, 'JPEG')
  return buffer.getvalue()


def _png(size: tuple[int, int]) -> bytes:
  buffer = io.BytesIO()
  Image.new('RGB', size, 5).save(buffer, 'PNG')
  return buffer.getvalue()


def _expected(example: records.StoredExample, width: int, height: int) -> bytes:
  """The inception example by the general serialiser, from the script's values."""
  label = example.label + 1
  boxes = example.bboxes
  wnid = _WNIDS[example.label]
  return example_proto.serialize(inception.SPECS, {
      'image/encoded': example.image, 'image/format': b'JPEG',
      'image/class/label': label, 'image/class/synset': wnid,
      'image/class/text': class_table.names()[wnid],
      'image/height': height, 'image/width': width,
      'image/colorspace': b'RGB', 'image/channels': 3,
      'image/filename': example.file_name,
      'image/object/bbox/xmin': boxes[:, 1], 'image/object/bbox/ymin': boxes[:, 0],
      'image/object/bbox/xmax': boxes[:, 3], 'image/object/bbox/ymax': boxes[:, 2],
      'image/object/bbox/label': [label] * len(boxes),
  })


_CASES = [
    # (file name, label, image, (width, height), boxes)
    ('n01440764_1.JPEG', 0, _jpeg((4, 3)), (4, 3), np.zeros((0, 4), np.float32)),
    ('n15075141_9.JPEG', 999, _jpeg((300, 200), 'L'), (300, 200),
     np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 1.0], [1 / 3, 2 / 3, 0.7, 0.9]], np.float32)),
    ('ILSVRC2012_val_00000001_é.JPEG', 65, _jpeg((2000, 17000)), (2000, 17000),
     np.array([[0.5, 0.25, 0.75, 1.0]], np.float32)),
    # Bytes after the header make the image long (multi-byte lengths); a PNG
    # has no JPEG header, so the size comes from decoding it.
    ('n03126707_2.JPEG', 517, _jpeg((640, 480)) + bytes(range(256)) * 1200, (640, 480),
     np.array([[0.0, 0.0, 0.5, 0.5]] * 20, np.float32)),
    ('n02105855_2550.JPEG', 229, _png((33, 44)), (33, 44), np.zeros((0, 4), np.float32)),
]


@pytest.mark.parametrize('case', _CASES, ids=['no_box', 'three_boxes', 'tall', 'long', 'png'])
def test_the_encoder_writes_the_general_serialisers_bytes(case):
  name, label, image, (width, height), boxes = case
  example = records.StoredExample(file_name=name, label=label, image=image, bboxes=boxes)
  encoder = inception.Encoder(_WNIDS, _TEXTS)
  for _ in range(2):  # Once making its cached entries, once using them.
    parts = encoder.parts(example)
    assert parts[1] is image
    assert b''.join(parts) == _expected(example, width, height)


def test_one_encoder_keeps_each_class_and_size_apart():
  encoder = inception.Encoder(_WNIDS, _TEXTS)
  examples = [
      records.StoredExample(f'x_{i}.JPEG', label, _jpeg(size), np.full((boxes, 4), 0.5, np.float32))
      for i, (label, size, boxes) in enumerate(
          [(3, (10, 20), 1), (4, (20, 10), 2), (3, (20, 10), 2), (4, (10, 20), 1), (3, (10, 20), 0)]
      )
  ]
  for example in examples:
    width, height = Image.open(io.BytesIO(example.image)).size
    assert b''.join(encoder.parts(example)) == _expected(example, width, height)


def test_the_entry_order_is_deterministic_serialisations():
  assert inception.ENTRY_ORDER == tuple(example_proto.entry_order([s.name for s in inception.SPECS]))
