"""What a fake download holds (`FakeSpec`) and the two presets.

`dummy_spec` is the small preset checked in as `dummy_data/`, with every quirk
planted; `realistic_spec` writes real-sized JPEGs in many classes for
benchmarks.
"""

from __future__ import annotations

import dataclasses
import importlib.resources

import numpy as np

from imagenet_custom.testing import names

NUM_CLASSES = 1000
# Real facts planted on purpose: two pairs of classes share a name.
REAL_CLASS_WORDS = {
    'n01440764': 'tench, Tinca tinca',
    'n02012849': 'crane',
    'n03126707': 'crane',
    'n03710637': 'maillot',
    'n03710721': 'maillot, tank suit',
}
# The real val set has 50,000 images, numbered 1..50,000.
MAX_VAL_IMAGES = 50_000

# The dummy preset: classes of 1 to 10 images (a 1-image class and a 3-image
# class test the split's edge cases), both crane and maillot pairs.
DUMMY_CLASS_SIZES = (
    ('n01440764', 10),
    ('n01530575', 9),
    ('n02012849', 10),
    ('n03126707', 8),
    ('n03710637', 1),
    ('n03710721', 3),
)
DUMMY_NUM_VAL = 24
DUMMY_NUM_BLACKLISTED = 3
DUMMY_SIDE_RANGE = (40, 64)
DUMMY_TRAIN_BOX_FRACTION = 0.5

DEFAULT_REALISTIC_TRAIN = 18_000
DEFAULT_REALISTIC_VAL = 2_000
DEFAULT_REALISTIC_CLASSES = 100
# Around the real average of about 400x350 px.
REALISTIC_WIDTH_RANGE = (340, 500)
REALISTIC_HEIGHT_RANGE = (290, 430)
# 544,546 of the 1,281,167 real train images have a box annotation.
REALISTIC_TRAIN_BOX_FRACTION = 0.4
# 1,762 of the 50,000 real val images are blacklisted.
REAL_BLACKLIST_FRACTION = 1762 / 50_000
# Real classes hold 732 to 1,300 train images: relative sizes 0.56 to 1.
REALISTIC_CLASS_WEIGHT_RANGE = (0.56, 1.0)
# Classes the realistic preset always includes (when it has room).
REALISTIC_PINNED_WNIDS = tuple(sorted(REAL_CLASS_WORDS))


@dataclasses.dataclass(frozen=True)
class FakeSpec:
  """What to generate.

  Attributes:
    seed: seed of every random choice; same spec and seed, same bytes.
    class_sizes: `(wnid, number of train images)` for the classes that have
      images.
    num_val: val images, numbered 1..num_val.
    num_blacklisted: how many of them the devkit blacklists.
    width_range: inclusive range of image widths in pixels.
    height_range: inclusive range of image heights in pixels.
    train_box_fraction: share of train images that get a box annotation (all
      val images get one).
    realistic: real-sized noisy JPEGs and only a few CMYK/PNG quirks, instead
      of tiny class-coloured images with every quirk planted.
    layouts: which of `archives`, `kaggle`, `folders` to write.
  """

  seed: int
  class_sizes: tuple[tuple[str, int], ...]
  num_val: int
  num_blacklisted: int
  width_range: tuple[int, int]
  height_range: tuple[int, int]
  train_box_fraction: float
  realistic: bool = False
  layouts: tuple[str, ...] = names.ALL_LAYOUTS

  @property
  def preset(self) -> str:
    """`dummy` or `realistic`."""
    return 'realistic' if self.realistic else 'dummy'

  @property
  def num_train(self) -> int:
    """Total train images."""
    return sum(size for _, size in self.class_sizes)


def all_wnids() -> tuple[str, ...]:
  """The 1,000 ILSVRC2012 WNIDs, sorted, from the package's `wnids.txt`.

  Returns:
    The WNIDs.

  Raises:
    ValueError: `wnids.txt` is not 1,000 sorted WNIDs.
  """
  text = (
      importlib.resources.files('imagenet_custom.ilsvrc')
      .joinpath('wnids.txt')
      .read_text()
  )
  wnids = tuple(line.strip() for line in text.splitlines() if line.strip())
  if len(wnids) != NUM_CLASSES or list(wnids) != sorted(set(wnids)):
    raise ValueError('imagenet_custom/ilsvrc/wnids.txt is not 1,000 sorted WNIDs')
  return wnids


def check_spec(spec: FakeSpec) -> None:
  """Raises ValueError for a spec that cannot be generated.

  Args:
    spec: the spec.
  """
  known = set(all_wnids())
  unknown = [wnid for wnid, _ in spec.class_sizes if wnid not in known]
  if unknown:
    raise ValueError(f'not ILSVRC2012 WNIDs: {unknown}')
  if any(size < 1 for _, size in spec.class_sizes) or not spec.class_sizes:
    raise ValueError('every class needs at least one train image')
  if not 1 <= spec.num_val <= MAX_VAL_IMAGES:
    raise ValueError(f'num_val must be in 1..{MAX_VAL_IMAGES}')
  if not 0 <= spec.num_blacklisted <= spec.num_val:
    raise ValueError('num_blacklisted must be in 0..num_val')
  bad_layouts = set(spec.layouts) - set(names.ALL_LAYOUTS)
  if bad_layouts or not spec.layouts:
    raise ValueError(f'layouts must be a subset of {names.ALL_LAYOUTS}')


def dummy_spec(seed: int = 0) -> FakeSpec:
  """The small preset whose output is checked in as `dummy_data/`.

  Args:
    seed: the generator seed.

  Returns:
    ~40 train images in 6 classes (sizes 1 to 10), 24 val images, 3
    blacklisted, 40-64 px per side, every quirk planted.
  """
  return FakeSpec(
      seed=seed,
      class_sizes=DUMMY_CLASS_SIZES,
      num_val=DUMMY_NUM_VAL,
      num_blacklisted=DUMMY_NUM_BLACKLISTED,
      width_range=DUMMY_SIDE_RANGE,
      height_range=DUMMY_SIDE_RANGE,
      train_box_fraction=DUMMY_TRAIN_BOX_FRACTION,
  )


def realistic_spec(
    num_train: int = DEFAULT_REALISTIC_TRAIN,
    num_val: int = DEFAULT_REALISTIC_VAL,
    num_classes: int = DEFAULT_REALISTIC_CLASSES,
    seed: int = 0,
    layouts: tuple[str, ...] = names.ALL_LAYOUTS,
) -> FakeSpec:
  """A benchmark preset: real-sized JPEGs in many classes.

  Args:
    num_train: total train images, split unevenly over the classes.
    num_val: val images.
    num_classes: classes with images (the crane and maillot pairs and
      n01440764 first, then seeded random others).
    seed: the generator seed.
    layouts: which layouts to write.

  Returns:
    The spec.

  Raises:
    ValueError: impossible counts.
  """
  if not 1 <= num_classes <= NUM_CLASSES:
    raise ValueError(
        f'num_classes must be in 1..{NUM_CLASSES}, not {num_classes}'
    )
  if num_train < num_classes:
    raise ValueError(
        f'num_train ({num_train}) must be at least num_classes ({num_classes})'
    )
  if not 1 <= num_val <= MAX_VAL_IMAGES:
    raise ValueError(f'num_val must be in 1..{MAX_VAL_IMAGES}, not {num_val}')
  rng = np.random.default_rng(seed)
  wnids = _pick_realistic_classes(rng, num_classes)
  sizes = split_count(rng, num_train, len(wnids))
  return FakeSpec(
      seed=seed,
      class_sizes=tuple(zip(wnids, sizes, strict=True)),
      num_val=num_val,
      num_blacklisted=round(num_val * REAL_BLACKLIST_FRACTION),
      width_range=REALISTIC_WIDTH_RANGE,
      height_range=REALISTIC_HEIGHT_RANGE,
      train_box_fraction=REALISTIC_TRAIN_BOX_FRACTION,
      realistic=True,
      layouts=layouts,
  )


def _pick_realistic_classes(
    rng: np.random.Generator, num_classes: int
) -> list[str]:
  """Chooses the classes that get images, pinned classes first.

  Args:
    rng: the random stream.
    num_classes: how many.

  Returns:
    Sorted WNIDs.
  """
  pinned = list(REALISTIC_PINNED_WNIDS[:num_classes])
  others = [wnid for wnid in all_wnids() if wnid not in pinned]
  extra = rng.choice(len(others), size=num_classes - len(pinned), replace=False)
  return sorted(pinned + [others[i] for i in extra])


def split_count(rng: np.random.Generator, total: int, parts: int) -> list[int]:
  """Splits `total` into `parts` uneven positive sizes, as real classes vary.

  Args:
    rng: the random stream.
    total: the sum wanted.
    parts: how many sizes.

  Returns:
    Sizes, each at least 1, summing to `total`.
  """
  weights = rng.uniform(*REALISTIC_CLASS_WEIGHT_RANGE, size=parts)
  extra = total - parts
  shares = weights / weights.sum() * extra
  sizes = np.floor(shares).astype(int)
  remainder = extra - int(sizes.sum())
  largest_fractions = np.argsort(sizes - shares, kind='stable')[:remainder]
  sizes[largest_fractions] += 1
  return [int(size) + 1 for size in sizes]


def train_number_range(num_images: int) -> int:
  """How many file numbers a class's train images are drawn from.

  Real train file numbers are sparse, up to ~5 digits (`n01440764_10026`).

  Args:
    num_images: train images of the class (or of the whole split).

  Returns:
    Numbers are drawn from 1..the returned value.
  """
  return max(20_000, 4 * num_images)
