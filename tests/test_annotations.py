"""Tests for imagenet_custom.ilsvrc.annotations: safe XML and box normalisation."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from imagenet_custom.errors import BadFileError
from imagenet_custom.ilsvrc import annotations as annotations_lib

REAL_XML = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'imagenet-meta' / 'xml'


def _xml(objects: str, width: str = '100', height: str = '50', filename: str = 'n01440764_1') -> bytes:
  return f"""<annotation>
  <folder>n01440764</folder><filename>{filename}</filename>
  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>
  {objects}
</annotation>""".encode()


def _object(xmin, ymin, xmax, ymax, name='n01440764') -> str:
  return (
      f'<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>'
      f'<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>'
  )


def test_boxes_are_normalised_by_the_xml_size():
  annotation = annotations_lib.parse_annotation(_xml(_object(10, 5, 60, 25)), 'a.xml')
  result = annotations_lib.normalize_boxes(annotation)
  assert result.boxes == ((0.1, 0.1, 0.5, 0.6),)
  assert (result.swapped, result.clipped, result.dropped) == (0, 0, 0)


@pytest.mark.parametrize(
    'box, expected, counts',
    [
        # Reversed min/max are swapped.
        ((60, 25, 10, 5), (0.1, 0.1, 0.5, 0.6), (1, 0, 0)),
        # Partly outside the image: clipped to [0, 1].
        ((-10, 5, 150, 25), (0.1, 0.0, 0.5, 1.0), (0, 1, 0)),
        # Float coordinates are kept.
        ((12.5, 5, 60, 25.5), (0.1, 0.125, 0.51, 0.6), (0, 0, 0)),
        # Entirely outside: no area after clipping, dropped.
        ((120, 5, 150, 25), None, (0, 1, 1)),
        # Zero width: dropped.
        ((10, 5, 10, 25), None, (0, 0, 1)),
    ],
)
def test_box_quirks(box, expected, counts):
  annotation = annotations_lib.parse_annotation(_xml(_object(*box)), 'a.xml')
  result = annotations_lib.normalize_boxes(annotation)
  if expected is None:
    assert result.boxes == ()
  else:
    assert result.boxes == (pytest.approx(expected),)
  assert (result.swapped, result.clipped, result.dropped) == counts


def test_filename_and_breed_names_are_not_trusted():
  annotation = annotations_lib.parse_annotation(
      _xml(_object(1, 1, 2, 2, name='tench'), filename='%s'), 'a.xml'
  )
  assert annotation.objects[0].name == 'tench'
  assert annotations_lib.annotation_label(annotation) == {'tench'}


def test_several_objects_and_no_object():
  annotation = annotations_lib.parse_annotation(
      _xml(_object(1, 1, 2, 2) + _object(3, 3, 4, 4)), 'a.xml'
  )
  assert len(annotations_lib.normalize_boxes(annotation).boxes) == 2
  assert annotations_lib.normalize_boxes(annotations_lib.parse_annotation(_xml(''), 'b')).boxes == ()


@pytest.mark.parametrize(
    'data, message',
    [
        (b'<annotation><size>', 'XML does not parse'),
        (_xml(_object(1, 1, 2, 2), width='0'), 'not positive'),
        (_xml(_object('x', 1, 2, 2)), "<bndbox/xmin> is 'x', not a number"),
        (b'<other/>', 'root element is <other>'),
        (_xml('').replace(b'<width>100</width>', b''), 'annotation has no <size/width>'),
    ],
)
def test_bad_annotations_name_the_file(data, message):
  with pytest.raises(BadFileError, match=message) as error:
    annotations_lib.parse_annotation(data, 'boxes.tar.gz:n01440764/n01440764_1.xml')
  assert error.value.origin == 'boxes.tar.gz:n01440764/n01440764_1.xml'
  assert 'skip_bad_files=True' in str(error.value)


def test_xxe_payload_never_reads_the_file(tmp_path):
  secret = tmp_path / 'secret.txt'
  secret.write_text('TOP-SECRET-CONTENT')
  payload = f"""<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY leak SYSTEM "file://{secret}">]>
<annotation><size><width>10</width><height>10</height></size>
<object><name>&leak;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>
</annotation>""".encode()
  with pytest.raises(BadFileError, match='declares a DTD') as error:
    annotations_lib.parse_annotation(payload, 'evil.xml')
  assert 'TOP-SECRET' not in str(error.value)
  # Even the parser alone never expands the entity.
  root = annotations_lib.etree.fromstring(payload, parser=annotations_lib._PARSER)
  assert b'TOP-SECRET' not in annotations_lib.etree.tostring(root)


_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lollollollollollollollollollol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<annotation><size><width>10</width><height>10</height></size>
<object><name>&lol9;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>
</annotation>"""


def test_billion_laughs_is_refused_with_bounded_memory():
  # Run in a fresh process so its peak RSS measures this parse alone; fully
  # expanded, the payload would be 3 GB.
  code = (
      'import resource, sys\n'
      'from imagenet_custom.ilsvrc import annotations as annotations_lib\n'
      'before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n'
      'try:\n'
      '  annotations_lib.parse_annotation(sys.stdin.buffer.read(), "lol.xml")\n'
      'except annotations_lib.BadFileError as e:\n'
      '  print("refused:", e.problem)\n'
      'print("grew_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n'
  )
  result = subprocess.run(
      [sys.executable, '-c', code], input=_BILLION_LAUGHS, capture_output=True,
      check=True, timeout=60,
  )
  out = result.stdout.decode()
  # libxml2's amplification guard or our DTD refusal: either way refused.
  assert 'refused:' in out
  grew_kb = int(out.split('grew_kb')[1])
  assert grew_kb < 50_000, out


def test_oversized_annotation_is_refused():
  with pytest.raises(BadFileError, match='not a box annotation'):
    annotations_lib.parse_annotation(b' ' * (annotations_lib.MAX_ANNOTATION_BYTES + 1), 'big.xml')


@pytest.mark.skipif(not REAL_XML.exists(), reason='real ImageNet XMLs not available')
def test_real_annotations_parse():
  annotation = annotations_lib.parse_annotation(
      (REAL_XML / 'n01440764_12308.xml').read_bytes(), 'n01440764_12308.xml'
  )
  assert (annotation.width, annotation.height) == (350, 281)
  boxes = annotations_lib.normalize_boxes(annotation).boxes
  assert len(boxes) == 5
  assert boxes[0] == pytest.approx((204 / 281, 184 / 350, 262 / 281, 239 / 350))
