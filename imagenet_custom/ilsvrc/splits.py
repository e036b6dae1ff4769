"""The split rule: which split every image goes to. Pure.

The original val set goes to `test`, or to `test_blacklisted` for the images
on the devkit's blacklist (`val_split_of`).

The original train set is split into `train` and `validation`. TFDS's guide
asks builders not to invent splits; ImageNet users need one (the original val
set is their test set), so it is made here, reproducibly:
within each class the images are ranked by a keyed BLAKE2b hash of their file
name, and the first `round(fraction * n)` go to validation. The result depends
only on the file names, the fraction and the seed: not on listing order,
machine, run, Python's salted `hash()` or the input layout.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
import hashlib
import math

DEFAULT_VALIDATION_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 'imagenet_custom-v1'

# The splits made from the original train set, and from the original val set.
TRAIN_SPLITS = ('train', 'validation')
VAL_SPLITS = ('test', 'test_blacklisted')


def split_rank_key(file_name: str, seed: str) -> bytes:
  """The keyed hash that orders a class's images for the split.

  Args:
    file_name: e.g. `n01440764_10026.JPEG`.
    seed: the split seed; another seed gives another, equally fair split.

  Returns:
    16 bytes, uniformly distributed over file names.
  """
  return hashlib.blake2b(
      file_name.encode('utf-8'), digest_size=16, key=seed.encode('utf-8')[:64]
  ).digest()


def rank(file_names: Iterable[str], seed: str) -> list[str]:
  """A class's image names in split order: by keyed hash, ties by name.

  The validation split takes the first images of this order, and a train
  subset the next (`selection.split_class`).

  Args:
    file_names: image file names (duplicates count once).
    seed: the split seed.

  Returns:
    The names, ordered.
  """
  return sorted(set(file_names), key=lambda name: (split_rank_key(name, seed), name))


def round_half_up(value: float) -> int:
  """`value` rounded to the nearest integer, halves up (not to even, as `round` does)."""
  return math.floor(value + 0.5)


def validation_count(num_images: int, fraction: float) -> int:
  """How many of a class's images go to validation.

  `round(fraction * n)`, halves rounded up; a class with two or more images
  keeps at least one image on each side.

  Args:
    num_images: the class's image count.
    fraction: the validation fraction, in [0, 1].

  Returns:
    The number of validation images.
  """
  if not 0.0 <= fraction <= 1.0:
    raise ValueError(f'validation fraction {fraction} is outside [0, 1]')
  count = round_half_up(fraction * num_images)
  if num_images >= 2 and 0.0 < fraction < 1.0:
    count = min(max(count, 1), num_images - 1)
  return count


def select_validation(
    file_names: Iterable[str], fraction: float, seed: str
) -> frozenset[str]:
  """The file names of one class that go to the validation split.

  Args:
    file_names: all image file names of one class (order does not matter).
    fraction: the validation fraction.
    seed: the split seed.

  Returns:
    The validation subset; the rest is train.
  """
  names = rank(file_names, seed)
  return frozenset(names[: validation_count(len(names), fraction)])


def val_split_of(number: int, blacklist: Collection[int]) -> str:
  """The split of an original val image: `test`, or `test_blacklisted`.

  The devkit's blacklist names val images whose boxes are unreliable; they
  keep their labels but go to a split of their own, so that the test split
  matches the one papers report on.

  Args:
    number: the val image number, e.g. 1 for `ILSVRC2012_val_00000001`.
    blacklist: blacklisted val image numbers (empty without a devkit).

  Returns:
    The split's name, one of `VAL_SPLITS`.
  """
  return 'test_blacklisted' if number in blacklist else 'test'
