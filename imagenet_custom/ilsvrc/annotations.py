"""Bounding box annotations: safe XML parsing and box normalisation. Pure."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from lxml import etree

from imagenet_custom.errors import BadFileError

# Annotations come from the internet: never resolve entities (XXE), never touch
# the network, never load a DTD, and refuse documents past libxml2's default
# size and depth limits (huge_tree=False).
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
# A real box annotation is a few KB; anything far larger is not one.
MAX_ANNOTATION_BYTES = 1 << 20


class RawBox(NamedTuple):
  """One `<object>` as written: pixel coordinates, maybe reversed or outside."""

  name: str
  xmin: float
  ymin: float
  xmax: float
  ymax: float


@dataclasses.dataclass(frozen=True)
class Annotation:
  """A parsed annotation file.

  Attributes:
    width: `<size><width>`, which can differ from the JPEG's own width.
    height: `<size><height>`.
    objects: the boxes as written.
  """

  width: float
  height: float
  objects: tuple[RawBox, ...]


class NormalizedBoxes(NamedTuple):
  """Boxes ready for `tfds.features.BBoxFeature`, with what was fixed.

  Attributes:
    boxes: `(ymin, xmin, ymax, xmax)` in [0, 1], min <= max, non-zero area.
    swapped: boxes whose min and max were reversed.
    clipped: boxes that reached outside the image.
    dropped: boxes with no area left after clipping.
  """

  boxes: tuple[tuple[float, float, float, float], ...]
  swapped: int
  clipped: int
  dropped: int


def _children(element: etree._Element | None) -> dict[str, etree._Element]:
  """An element's child elements by tag, the first of each tag (as `find` gives)."""
  children: dict[str, etree._Element] = {}
  if element is not None:
    for child in element:
      if isinstance(child.tag, str):
        children.setdefault(child.tag, child)
  return children


def _text(children: dict[str, etree._Element], tag: str, path: str, origin: str) -> str:
  """The stripped text of child `tag` (written `path` in errors)."""
  found = children.get(tag)
  if found is None or found.text is None or not found.text.strip():
    raise BadFileError(origin, f'annotation has no <{path}>')
  return found.text.strip()


def _number(children: dict[str, etree._Element], tag: str, path: str, origin: str) -> float:
  text = _text(children, tag, path, origin)
  try:
    return float(text)
  except ValueError:
    raise BadFileError(
        origin, f'<{path}> is {text!r}, not a number'
    ) from None


def _box(obj: etree._Element, origin: str) -> RawBox:
  """One `<object>`: its `<name>` and `<bndbox>` corners."""
  fields = _children(obj)
  corners = _children(fields.get('bndbox'))
  return RawBox(
      _text(fields, 'name', 'name', origin),
      *(_number(corners, tag, f'bndbox/{tag}', origin) for tag in ('xmin', 'ymin', 'xmax', 'ymax')),
  )


def parse_annotation(data: bytes, origin: str) -> Annotation:
  """Parses one Pascal-VOC-style ImageNet box annotation safely.

  The image an annotation belongs to is known from its path, so `<filename>`
  (sometimes `%s`) and `<folder>` are ignored, and `<name>` is kept as written
  (sometimes a breed name rather than a WNID).

  Args:
    data: the XML file's bytes.
    origin: the file or archive member, for errors.

  Returns:
    The annotation's size and boxes.

  Raises:
    BadFileError: the XML does not parse, holds a DTD, or lacks size or box
      coordinates.
  """
  if len(data) > MAX_ANNOTATION_BYTES:
    raise BadFileError(
        origin, f'annotation is {len(data)} bytes, not a box annotation'
    )
  try:
    root = etree.fromstring(data, parser=_PARSER)
  except etree.XMLSyntaxError as e:
    raise BadFileError(origin, f'XML does not parse ({e})') from None
  # Box annotations never declare a DTD; one that does is refused outright
  # rather than parsed around (entity tricks: XXE, billion laughs).
  if root.getroottree().docinfo.internalDTD is not None:
    raise BadFileError(
        origin, 'annotation declares a DTD (<!DOCTYPE ...>), refused for safety'
    )
  if root.tag != 'annotation':
    raise BadFileError(origin, f'root element is <{root.tag}>, not <annotation>')
  objects = tuple(_box(obj, origin) for obj in root.iterfind('object'))
  size = _children(_children(root).get('size'))
  width = _number(size, 'width', 'size/width', origin)
  height = _number(size, 'height', 'size/height', origin)
  if width <= 0 or height <= 0:
    raise BadFileError(origin, f'<size> is {width}x{height}, not positive')
  return Annotation(width, height, objects)


def _clip01(value: float) -> float:
  return min(1.0, max(0.0, value))


def normalize_boxes(annotation: Annotation) -> NormalizedBoxes:
  """Normalises boxes by the annotation's `<size>`, fixing what real data breaks.

  Reversed min/max are swapped, coordinates are clipped to [0, 1], and boxes
  with no area after clipping are dropped.

  Args:
    annotation: a parsed annotation.

  Returns:
    The boxes as `(ymin, xmin, ymax, xmax)` and the counts of fixes.
  """
  boxes = []
  swapped = clipped = dropped = 0
  for obj in annotation.objects:
    xmin, xmax = obj.xmin, obj.xmax
    ymin, ymax = obj.ymin, obj.ymax
    if xmin > xmax or ymin > ymax:
      swapped += 1
      xmin, xmax = min(xmin, xmax), max(xmin, xmax)
      ymin, ymax = min(ymin, ymax), max(ymin, ymax)
    corners = (
        ymin / annotation.height,
        xmin / annotation.width,
        ymax / annotation.height,
        xmax / annotation.width,
    )
    clipped_corners = tuple(_clip01(value) for value in corners)
    if clipped_corners != corners:
      clipped += 1
    box_ymin, box_xmin, box_ymax, box_xmax = clipped_corners
    if box_ymax <= box_ymin or box_xmax <= box_xmin:
      dropped += 1
      continue
    boxes.append((box_ymin, box_xmin, box_ymax, box_xmax))
  return NormalizedBoxes(tuple(boxes), swapped, clipped, dropped)


def annotation_label(annotation: Annotation) -> set[str]:
  """The distinct `<name>`s of an annotation's objects."""
  return {obj.name for obj in annotation.objects}
