"""The quirks of real ImageNet, planted on purpose into a plan.

Every planted quirk is recorded on its image (`ImagePlan.quirks`) and listed
in the manifest under its name in `QUIRKS`, so that tests know where to look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
import dataclasses
import struct
from typing import Any

import numpy as np

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import names
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import spec as spec_lib

# Quirk name (as in the manifest) -> what is planted.
QUIRKS = {
    'cmyk_jpeg': 'a JPEG in CMYK mode (real ImageNet has 22 in train)',
    'png_named_jpeg': 'PNG data in a `.JPEG` file (one in the real train set)',
    'grayscale_jpeg': 'a one-channel JPEG',
    'annotation_size_differs_from_jpeg': '`<size>` twice the JPEG\'s size',
    'box_xmin_greater_than_xmax': 'a box with xmin and xmax swapped',
    'box_partly_outside': 'a box past the right edge (clipped to 1)',
    'box_entirely_outside': 'a box right of the image (dropped)',
    'float_coordinates': 'fractional pixel coordinates such as `12.5`',
    'filename_placeholder': '`<filename>%s</filename>`',
    'name_is_breed_not_wnid': '`<name>tench</name>` instead of the WNID',
    'several_objects': 'an image with several boxes',
    'orphan_annotation': 'a train annotation whose image does not exist',
    'junk_file': '`.DS_Store`, `Thumbs.db` and AppleDouble `._` files',
    'blacklisted': 'a val image on the devkit blacklist',
}
# Boxes in the image with the `several_objects` quirk.
SEVERAL_OBJECTS = 3
# Pixels by which the planted outside boxes pass the image's right edge.
OUTSIDE_OVERHANG = 9
# A breed/common name used as `<name>` instead of the WNID in one train XML.
BREED_NAMES = {'n01440764': 'tench'}
# The realistic preset plants a few format quirks (no box quirks), as real
# ImageNet has a few among 1.28M images.
REALISTIC_FORMAT_PLANTS = (
    ('train', 'cmyk_jpeg', 'CMYK', 3),
    ('train', 'png_named_jpeg', 'PNG', 1),
    ('val', 'cmyk_jpeg', 'CMYK', 1),
)

DS_STORE = '.DS_Store'
THUMBS_DB = 'Thumbs.db'
DS_STORE_BYTES = b'\x00\x00\x00\x01Bud1' + bytes(56)
# An OLE2 compound file signature, as Thumbs.db starts.
THUMBS_DB_BYTES = bytes.fromhex('d0cf11e0a1b11ae1') + bytes(504)
# AppleDouble header: magic, version, "Mac OS X" filler, no entries.
APPLE_DOUBLE_BYTES = struct.pack(
    '>II16sH', 0x00051607, 0x00020000, b'Mac OS X        ', 0
)


def pick(
    rng: np.random.Generator,
    images: Sequence[plan_types.ImagePlan],
    quirk: str,
    needs_annotation: bool = False,
    wnids: Iterable[str] | None = None,
) -> int:
  """Chooses an image with no quirk yet (never a blacklisted one).

  Args:
    rng: the random stream.
    images: the candidates.
    quirk: the quirk to plant, for the error message.
    needs_annotation: only consider annotated images.
    wnids: only consider these classes.

  Returns:
    The chosen index.

  Raises:
    ValueError: no image qualifies (the spec is too small).
  """
  allowed = None if wnids is None else set(wnids)
  candidates = [
      index
      for index, image in enumerate(images)
      if not image.quirks
      and (image.annotation is not None or not needs_annotation)
      and (allowed is None or image.wnid in allowed)
  ]
  if not candidates:
    raise ValueError(f'no image left to plant {quirk!r}: the spec is too small')
  return candidates[int(rng.integers(len(candidates)))]


def with_quirk(
    image: plan_types.ImagePlan, quirk: str, **changes: Any
) -> plan_types.ImagePlan:
  """Returns `image` with `changes` applied and `quirk` recorded.

  Args:
    image: the image.
    quirk: a name in `QUIRKS`.
    **changes: fields to replace.

  Returns:
    The new image plan.

  Raises:
    ValueError: `quirk` is not in `QUIRKS`.
  """
  if quirk not in QUIRKS:
    raise ValueError(f'unknown quirk {quirk!r}; add it to QUIRKS')
  return dataclasses.replace(image, quirks=image.quirks + (quirk,), **changes)


def _annotation(image: plan_types.ImagePlan) -> plan_types.AnnotationPlan:
  """The annotation of an image picked with `needs_annotation`.

  Args:
    image: an annotated image.

  Returns:
    Its annotation.

  Raises:
    ValueError: it has none.
  """
  if image.annotation is None:
    raise ValueError(f'{image.file_name} has no annotation to break')
  return image.annotation


def _replace_objects(
    annotation: plan_types.AnnotationPlan,
    *objects: plan_types.BoxObject,
    **changes: Any,
) -> plan_types.AnnotationPlan:
  """Returns `annotation` with new objects (and other fields) replaced.

  Args:
    annotation: the annotation.
    *objects: the new objects; the old ones are kept if none are given.
    **changes: other fields to replace.

  Returns:
    The new annotation.
  """
  if objects:
    changes['objects'] = objects
  return dataclasses.replace(annotation, **changes)


def plant_train_format_quirks(
    rng: np.random.Generator, train: list[plan_types.ImagePlan]
) -> list[plan_types.ImagePlan]:
  """Makes one train image CMYK, one PNG named `.JPEG`, one grayscale.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The images with the quirks planted.
  """
  train = list(train)
  for quirk, planted in (
      ('cmyk_jpeg', 'CMYK'),
      ('png_named_jpeg', 'PNG'),
      ('grayscale_jpeg', 'L'),
  ):
    index = pick(rng, train, quirk)
    train[index] = with_quirk(train[index], quirk, planted=planted)
  return train


def _doubled_size(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  """A `<size>` twice the JPEG's, with a box drawn at that size."""
  width, height = image.width * 2, image.height * 2
  box = box_annotations.random_box(rng, width, height, image.wnid)
  return _replace_objects(_annotation(image), box, width=width, height=height)


def _xmin_greater_than_xmax(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  del rng
  box = _annotation(image).objects[0]
  return _replace_objects(
      _annotation(image), dataclasses.replace(box, xmin=box.xmax, xmax=box.xmin)
  )


def _box_entirely_outside(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  del rng
  left = _annotation(image).width + OUTSIDE_OVERHANG
  bottom = _annotation(image).height // 2
  # 15 px wide, from the top to the middle, wholly right of the image.
  outside = plan_types.BoxObject(image.wnid, left, 0, left + 15, bottom)
  return _replace_objects(_annotation(image), *_annotation(image).objects, outside)


def _filename_placeholder(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  del rng
  return _replace_objects(_annotation(image), filename='%s')


def _breed_names(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  """Every `<name>` the class's breed name instead of its WNID."""
  current = image.annotation
  if current is None:
    current = box_annotations.new_annotation(rng, image, 1)
  breed = BREED_NAMES[image.wnid]
  return _replace_objects(
      current, *(dataclasses.replace(box, name=breed) for box in current.objects)
  )


def _several_objects(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> plan_types.AnnotationPlan:
  return box_annotations.new_annotation(rng, image, SEVERAL_OBJECTS)


# The train box quirks, in the order they are planted (the order draws from
# the random stream): name, which images may take it, and its annotation.
_MakeAnnotation = Callable[
    [np.random.Generator, plan_types.ImagePlan], plan_types.AnnotationPlan
]
_TRAIN_BOX_QUIRKS: tuple[tuple[str, dict[str, Any], _MakeAnnotation], ...] = (
    ('annotation_size_differs_from_jpeg', {'needs_annotation': True}, _doubled_size),
    ('box_xmin_greater_than_xmax', {'needs_annotation': True}, _xmin_greater_than_xmax),
    ('box_entirely_outside', {'needs_annotation': True}, _box_entirely_outside),
    ('filename_placeholder', {'needs_annotation': True}, _filename_placeholder),
    ('name_is_breed_not_wnid', {'wnids': BREED_NAMES}, _breed_names),
    ('several_objects', {'needs_annotation': True}, _several_objects),
)


def plant_train_box_quirks(
    rng: np.random.Generator, train: list[plan_types.ImagePlan]
) -> list[plan_types.ImagePlan]:
  """Breaks some train annotations the way real ones are broken.

  Plants: a `<size>` twice the JPEG's, xmin > xmax, a box entirely outside
  (dropped after clipping), `<filename>%s</filename>`, a breed `<name>`, and
  an image with several objects.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The images with the quirks planted.
  """
  train = list(train)
  for quirk, candidates, make_annotation in _TRAIN_BOX_QUIRKS:
    index = pick(rng, train, quirk, **candidates)
    image = train[index]
    train[index] = with_quirk(image, quirk, annotation=make_annotation(rng, image))
  return train


def plant_val_quirks(
    rng: np.random.Generator, val: list[plan_types.ImagePlan]
) -> list[plan_types.ImagePlan]:
  """Plants val quirks on non-blacklisted images.

  Plants: a CMYK JPEG, a grayscale JPEG, float coordinates (`12.5`) and a box
  partly outside `<size>` (clipped to [0, 1]).

  Args:
    rng: the random stream.
    val: the val images (all annotated).

  Returns:
    The images with the quirks planted.
  """
  val = list(val)
  for quirk, planted in (('cmyk_jpeg', 'CMYK'), ('grayscale_jpeg', 'L')):
    index = pick(rng, val, quirk)
    val[index] = with_quirk(val[index], quirk, planted=planted)

  quirk = 'float_coordinates'
  index = pick(rng, val, quirk, needs_annotation=True)
  image = val[index]
  box = plan_types.BoxObject(
      image.wnid, 12.5, 3.25, image.width - 4.5, image.height - 4.5
  )
  annotation = _replace_objects(_annotation(image), box)
  val[index] = with_quirk(image, quirk, annotation=annotation)

  quirk = 'box_partly_outside'
  index = pick(rng, val, quirk, needs_annotation=True)
  image = val[index]
  box = _annotation(image).objects[0]
  overhanging = dataclasses.replace(box, xmax=image.width + OUTSIDE_OVERHANG)
  annotation = _replace_objects(_annotation(image), overhanging)
  val[index] = with_quirk(image, quirk, annotation=annotation)
  return val


def plan_orphan(
    rng: np.random.Generator, train: Sequence[plan_types.ImagePlan]
) -> plan_types.OrphanAnnotation:
  """An annotation for a train image of the first class that does not exist.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The orphan annotation.
  """
  wnid = train[0].wnid
  used = {image.stem for image in train}
  number_range = spec_lib.train_number_range(len(train))
  stem = ''
  while not stem or stem in used:
    stem = f'{wnid}_{int(rng.integers(number_range)) + 1}'
  width, height = train[0].width, train[0].height
  box = box_annotations.random_box(rng, width, height, wnid)
  return plan_types.OrphanAnnotation(
      wnid, stem, plan_types.AnnotationPlan(wnid, stem, width, height, (box,))
  )


def plant_realistic_formats(
    rng: np.random.Generator,
    train: list[plan_types.ImagePlan],
    val: list[plan_types.ImagePlan],
) -> tuple[list[plan_types.ImagePlan], list[plan_types.ImagePlan]]:
  """Makes a few realistic images CMYK or PNG, as in real ImageNet.

  Args:
    rng: the random stream.
    train: the train images.
    val: the val images.

  Returns:
    `(train, val)` with the formats planted.
  """
  by_split = {'train': list(train), 'val': list(val)}
  for split, quirk, planted, count in REALISTIC_FORMAT_PLANTS:
    images = by_split[split]
    for _ in range(min(count, len(images) // 2)):
      index = pick(rng, images, quirk)
      images[index] = with_quirk(images[index], quirk, planted=planted)
  return by_split['train'], by_split['val']


def plan_junk(
    spec: spec_lib.FakeSpec,
    train: Sequence[plan_types.ImagePlan],
    val: Sequence[plan_types.ImagePlan],
) -> tuple[plan_types.JunkFile, ...]:
  """Junk files (`.DS_Store`, `Thumbs.db`, AppleDouble) in the directories.

  Args:
    spec: the spec (for its layouts).
    train: the train images.
    val: the val images.

  Returns:
    The junk files of the requested layouts.
  """
  junk_file = plan_types.JunkFile
  first = train[0]
  twin = names.APPLE_DOUBLE_PREFIX + first.file_name
  kaggle_images = names.KAGGLE_IMAGES
  junk = (
      junk_file(names.KAGGLE, f'{kaggle_images}/train/{DS_STORE}',
                DS_STORE_BYTES),
      junk_file(names.KAGGLE, f'{kaggle_images}/train/{first.wnid}/{twin}',
                APPLE_DOUBLE_BYTES),
      junk_file(names.KAGGLE, f'{kaggle_images}/val/{THUMBS_DB}',
                THUMBS_DB_BYTES),
      junk_file(names.FOLDERS, f'train/{DS_STORE}', DS_STORE_BYTES),
      junk_file(names.FOLDERS, f'train/{first.wnid}/{twin}',
                APPLE_DOUBLE_BYTES),
      junk_file(names.FOLDERS, f'val/{val[0].wnid}/{THUMBS_DB}',
                THUMBS_DB_BYTES),
      junk_file(names.FOLDERS, f'val/{DS_STORE}', DS_STORE_BYTES),
  )
  return tuple(item for item in junk if item.layout in spec.layouts)
