"""Box annotations: drawing them, writing them as ILSVRC XML, expected boxes."""

from __future__ import annotations

import numpy as np

from imagenet_custom.testing import plan_types

# One `(wnid, stem, annotation)` per annotation file.
AnnotationItem = tuple[str, str, plan_types.AnnotationPlan]


def random_box(
    rng: np.random.Generator, width: int, height: int, name: str
) -> plan_types.BoxObject:
  """Draws a box inside a `width` x `height` frame, integer pixel corners.

  Args:
    rng: the random stream.
    width: frame width.
    height: frame height.
    name: the object's `<name>`.

  Returns:
    A box covering at least a quarter of each side.
  """
  xmin = int(rng.integers(0, width // 2))
  ymin = int(rng.integers(0, height // 2))
  xmax = int(rng.integers(xmin + width // 4, width))
  ymax = int(rng.integers(ymin + height // 4, height))
  return plan_types.BoxObject(name, xmin, ymin, xmax, ymax)


def new_annotation(
    rng: np.random.Generator, image: plan_types.ImagePlan, num_objects: int
) -> plan_types.AnnotationPlan:
  """A clean annotation for `image`, sized like the image.

  Args:
    rng: the random stream.
    image: the image.
    num_objects: how many boxes.

  Returns:
    The annotation.
  """
  folder = image.wnid if image.split == 'train' else 'val'
  objects = tuple(
      random_box(rng, image.width, image.height, image.wnid)
      for _ in range(num_objects)
  )
  return plan_types.AnnotationPlan(
      folder, image.stem, image.width, image.height, objects
  )


def format_coordinate(value: float) -> str:
  """Writes a coordinate like real annotations: `12`, or `12.5` if fractional.

  Args:
    value: the coordinate.

  Returns:
    Its text.
  """
  return str(int(value)) if float(value).is_integer() else repr(float(value))


def annotation_xml(annotation: plan_types.AnnotationPlan) -> bytes:
  """Writes an annotation exactly like the real ILSVRC box XMLs.

  Tab-indented, no XML declaration, no newline after `</annotation>`.

  Args:
    annotation: the annotation.

  Returns:
    The XML bytes.
  """
  lines = [
      '<annotation>',
      f'\t<folder>{annotation.folder}</folder>',
      f'\t<filename>{annotation.filename}</filename>',
      '\t<source>',
      '\t\t<database>ILSVRC_2012</database>',
      '\t</source>',
      '\t<size>',
      f'\t\t<width>{annotation.width}</width>',
      f'\t\t<height>{annotation.height}</height>',
      '\t\t<depth>3</depth>',
      '\t</size>',
      '\t<segmented>0</segmented>',
  ]
  for box in annotation.objects:
    lines += [
        '\t<object>',
        f'\t\t<name>{box.name}</name>',
        '\t\t<pose>Unspecified</pose>',
        '\t\t<truncated>0</truncated>',
        '\t\t<difficult>0</difficult>',
        '\t\t<bndbox>',
        f'\t\t\t<xmin>{format_coordinate(box.xmin)}</xmin>',
        f'\t\t\t<ymin>{format_coordinate(box.ymin)}</ymin>',
        f'\t\t\t<xmax>{format_coordinate(box.xmax)}</xmax>',
        f'\t\t\t<ymax>{format_coordinate(box.ymax)}</ymax>',
        '\t\t</bndbox>',
        '\t</object>',
    ]
  lines.append('</annotation>')
  return '\n'.join(lines).encode('ascii')


def _clip_unit(value: float) -> float:
  """Clips to [0, 1].

  Args:
    value: a normalised coordinate.

  Returns:
    The clipped value.
  """
  return min(1.0, max(0.0, value))


def expected_boxes(annotation: plan_types.AnnotationPlan) -> list[list[float]]:
  """The boxes a correct reader must produce from what was planted.

  Coordinates are divided by the annotation's `<size>` (not the JPEG's),
  reversed min/max are swapped, values clipped to [0, 1], and boxes with no
  area left are dropped.

  Args:
    annotation: the planted annotation.

  Returns:
    `[ymin, xmin, ymax, xmax]` per kept box.
  """
  boxes = []
  for box in annotation.objects:
    xmin, xmax = sorted((box.xmin, box.xmax))
    ymin, ymax = sorted((box.ymin, box.ymax))
    normalised = [
        _clip_unit(ymin / annotation.height),
        _clip_unit(xmin / annotation.width),
        _clip_unit(ymax / annotation.height),
        _clip_unit(xmax / annotation.width),
    ]
    if normalised[2] > normalised[0] and normalised[3] > normalised[1]:
      boxes.append(normalised)
  return boxes


def train_annotations(plan: plan_types.DatasetPlan) -> list[AnnotationItem]:
  """All train annotations, orphans included.

  Args:
    plan: the plan.

  Returns:
    `(wnid, stem, annotation)` sorted by WNID then stem.
  """
  items = [
      (image.wnid, image.stem, image.annotation)
      for image in plan.train
      if image.annotation is not None
  ]
  items += [
      (orphan.wnid, orphan.stem, orphan.annotation) for orphan in plan.orphans
  ]
  return sorted(items, key=lambda item: (item[0], item[1]))


def val_annotations(plan: plan_types.DatasetPlan) -> list[AnnotationItem]:
  """All val annotations.

  Args:
    plan: the plan.

  Returns:
    `(wnid, stem, annotation)` by val number.
  """
  return [
      (image.wnid, image.stem, image.annotation)
      for image in plan.val
      if image.annotation is not None
  ]
