"""Planning a fake download: every random choice, from the spec's seed.

The order of the random draws is part of the output: changing it changes the
bytes of `dummy_data/` (which `tests/test_fake_imagenet.py` compares).
"""

from __future__ import annotations

from collections.abc import Sequence
import colorsys
import dataclasses

import numpy as np

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import names
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import quirks
from imagenet_custom.testing import spec as spec_lib

# The real meta.mat has 1,860 synsets: 1,000 leaves and 860 inner nodes; a
# few inner nodes are enough to exercise the readers.
NUM_INNER_NODES = 20
FIRST_INNER_ID = spec_lib.NUM_CLASSES + 1
# Made-up WNIDs for the inner nodes (`n099990NN`), none an ILSVRC class.
INNER_WNID_BASE = 9_999_000
# Realistic preset: how many objects an annotated image holds, and how often.
REALISTIC_OBJECT_COUNTS = (1, 2, 3)
REALISTIC_OBJECT_WEIGHTS = (0.7, 0.2, 0.1)


def plan_dataset(spec: spec_lib.FakeSpec) -> plan_types.DatasetPlan:
  """Makes every random choice of a fake download from the spec's seed.

  Args:
    spec: what to generate.

  Returns:
    The plan.

  Raises:
    ValueError: the spec names unknown classes, or is too small to hold the
      dummy quirks.
  """
  spec_lib.check_spec(spec)
  rng = np.random.default_rng(spec.seed)
  classes = _plan_classes(rng)
  colours = _class_colours(spec)
  train = _plan_train_images(rng, spec, colours)
  val = _plan_val_images(rng, spec, colours)
  train = _annotate_some(rng, train, spec.train_box_fraction)
  val = _annotate_some(rng, val, 1.0)
  orphans: tuple[plan_types.OrphanAnnotation, ...] = ()
  if spec.realistic:
    train, val = quirks.plant_realistic_formats(rng, train, val)
  else:
    train = quirks.plant_train_format_quirks(rng, train)
    train = quirks.plant_train_box_quirks(rng, train)
    val = quirks.plant_val_quirks(rng, val)
    orphans = (quirks.plan_orphan(rng, train),)
  return plan_types.DatasetPlan(
      spec=spec,
      classes=classes,
      inner_nodes=_plan_inner_nodes(classes, spec),
      train=tuple(train),
      val=tuple(val),
      orphans=orphans,
      junk=() if spec.realistic else quirks.plan_junk(spec, train, val),
      apple_double_train=None if spec.realistic else train[0].file_name,
      apple_double_val=None if spec.realistic else val[0].file_name,
  )


def _plan_classes(rng: np.random.Generator) -> tuple[plan_types.ClassInfo, ...]:
  """Gives the 1,000 WNIDs seeded-random ILSVRC IDs and names.

  Args:
    rng: the random stream.

  Returns:
    The classes in sorted WNID order; IDs 1..1000 are a random permutation.
  """
  ids = rng.permutation(spec_lib.NUM_CLASSES) + 1
  classes = []
  for wnid, ilsvrc_id in zip(spec_lib.all_wnids(), ids, strict=True):
    words = spec_lib.REAL_CLASS_WORDS.get(
        wnid, f'synthetic class {ilsvrc_id}, fake synset {ilsvrc_id}'
    )
    gloss = f'a made-up class for testing ({wnid})'
    classes.append(plan_types.ClassInfo(wnid, int(ilsvrc_id), words, gloss))
  return tuple(classes)


def _plan_inner_nodes(
    classes: Sequence[plan_types.ClassInfo], spec: spec_lib.FakeSpec
) -> tuple[plan_types.InnerNode, ...]:
  """Builds a small fake hierarchy above the leaves for `meta.mat`.

  Node `FIRST_INNER_ID` is the root; each other inner node holds the leaves
  whose ILSVRC ID falls in its residue class.

  Args:
    classes: the 1,000 leaves.
    spec: the spec (for the leaves' train image counts).

  Returns:
    The inner nodes, by ID.
  """
  sizes = dict(spec.class_sizes)
  groups = NUM_INNER_NODES - 1
  children: list[list[int]] = [[] for _ in range(groups)]
  images = [0] * groups
  for info in sorted(classes, key=lambda c: c.ilsvrc_id):
    group = (info.ilsvrc_id - 1) % groups
    children[group].append(info.ilsvrc_id)
    images[group] += sizes.get(info.wnid, 0)
  root = plan_types.InnerNode(
      wnid=f'n{INNER_WNID_BASE:08d}',
      ilsvrc_id=FIRST_INNER_ID,
      children=tuple(
          range(FIRST_INNER_ID + 1, FIRST_INNER_ID + NUM_INNER_NODES)
      ),
      wordnet_height=2,
      num_train_images=spec.num_train,
  )
  nodes = [root]
  for group in range(groups):
    nodes.append(
        plan_types.InnerNode(
            wnid=f'n{INNER_WNID_BASE + group + 1:08d}',
            ilsvrc_id=FIRST_INNER_ID + group + 1,
            children=tuple(children[group]),
            wordnet_height=1,
            num_train_images=images[group],
        )
    )
  return tuple(nodes)


def _class_colours(spec: spec_lib.FakeSpec) -> dict[str, tuple[int, int, int]]:
  """A distinct base colour per class with images (evenly spread hues).

  Args:
    spec: the spec.

  Returns:
    RGB colour by WNID (saturation 0.75, value 0.85: clear, not garish).
  """
  colours = {}
  num_classes = len(spec.class_sizes)
  for index, (wnid, _) in enumerate(sorted(spec.class_sizes)):
    red, green, blue = colorsys.hsv_to_rgb(index / num_classes, 0.75, 0.85)
    colours[wnid] = (round(red * 255), round(green * 255), round(blue * 255))
  return colours


def _random_size(
    rng: np.random.Generator, spec: spec_lib.FakeSpec
) -> tuple[int, int]:
  """Draws an image size from the spec's ranges.

  Args:
    rng: the random stream.
    spec: the spec.

  Returns:
    `(width, height)`.
  """
  width = int(rng.integers(spec.width_range[0], spec.width_range[1] + 1))
  height = int(rng.integers(spec.height_range[0], spec.height_range[1] + 1))
  return width, height


def _plan_train_images(
    rng: np.random.Generator,
    spec: spec_lib.FakeSpec,
    colours: dict[str, tuple[int, int, int]],
) -> list[plan_types.ImagePlan]:
  """Plans the train images: sparse file numbers, sizes, noise seeds.

  Args:
    rng: the random stream.
    spec: the spec.
    colours: base colour by WNID.

  Returns:
    Plain RGB images, sorted by WNID then file name.
  """
  images = []
  for wnid, size in sorted(spec.class_sizes):
    number_range = spec_lib.train_number_range(size)
    numbers = rng.choice(number_range, size=size, replace=False) + 1
    file_names = sorted(
        f'{wnid}_{number}{names.IMAGE_SUFFIX}' for number in numbers
    )
    for file_name in file_names:
      width, height = _random_size(rng, spec)
      images.append(
          plan_types.ImagePlan(
              file_name=file_name,
              wnid=wnid,
              split='train',
              val_index=None,
              blacklisted=False,
              planted='RGB',
              width=width,
              height=height,
              colour=colours[wnid],
              noise_seed=int(rng.integers(2**63)),
              realistic=spec.realistic,
          )
      )
  return images


def _plan_val_labels(
    rng: np.random.Generator, wnids: Sequence[str], num_val: int
) -> list[str]:
  """Draws val labels from the classes with images, each at least once.

  Args:
    rng: the random stream.
    wnids: the classes with images.
    num_val: how many labels.

  Returns:
    The label of val image 1, 2, ...
  """
  first = list(wnids)[:num_val]
  rest = rng.choice(len(wnids), size=num_val - len(first))
  labels = first + [wnids[i] for i in rest]
  return [labels[i] for i in rng.permutation(num_val)]


def _plan_val_images(
    rng: np.random.Generator,
    spec: spec_lib.FakeSpec,
    colours: dict[str, tuple[int, int, int]],
) -> list[plan_types.ImagePlan]:
  """Plans the val images `ILSVRC2012_val_%08d.JPEG`, numbered from 1.

  Args:
    rng: the random stream.
    spec: the spec.
    colours: base colour by WNID.

  Returns:
    Plain RGB images by val number, some blacklisted.
  """
  wnids = sorted(wnid for wnid, _ in spec.class_sizes)
  labels = _plan_val_labels(rng, wnids, spec.num_val)
  drawn = rng.choice(spec.num_val, size=spec.num_blacklisted, replace=False)
  blacklist = {int(n) + 1 for n in drawn}
  images = []
  for index, wnid in enumerate(labels, start=1):
    width, height = _random_size(rng, spec)
    images.append(
        plan_types.ImagePlan(
            file_name=names.VAL_STEM_FORMAT.format(index) + names.IMAGE_SUFFIX,
            wnid=wnid,
            split='val',
            val_index=index,
            blacklisted=index in blacklist,
            planted='RGB',
            width=width,
            height=height,
            colour=colours[wnid],
            noise_seed=int(rng.integers(2**63)),
            realistic=spec.realistic,
            quirks=('blacklisted',) if index in blacklist else (),
        )
    )
  return images


def _annotate_some(
    rng: np.random.Generator,
    images: list[plan_types.ImagePlan],
    fraction: float,
) -> list[plan_types.ImagePlan]:
  """Gives a seeded `fraction` of the images a clean box annotation.

  Realistic images get 1 to 3 boxes, dummy images one.

  Args:
    rng: the random stream.
    images: the images.
    fraction: share to annotate.

  Returns:
    The images, some with an annotation.
  """
  count = round(len(images) * fraction)
  drawn = rng.choice(len(images), size=count, replace=False)
  chosen = {int(i) for i in drawn}
  annotated = []
  for index, image in enumerate(images):
    if index in chosen:
      num_objects = 1
      if image.realistic:
        num_objects = int(
            rng.choice(REALISTIC_OBJECT_COUNTS, p=REALISTIC_OBJECT_WEIGHTS)
        )
      image = dataclasses.replace(
          image,
          annotation=box_annotations.new_annotation(rng, image, num_objects),
      )
    annotated.append(image)
  return annotated
