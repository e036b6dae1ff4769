"""Parsers for ImageNet class and label metadata. Pure: no TFDS, no I/O.

Each parser takes the file's content and a `source` string naming where the
content came from (a path, or `archive:member`), used in error messages.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import importlib.resources
import io
import re

import numpy as np

from imagenet_custom.errors import InputError

NUM_CLASSES = 1000
# ILSVRC2012 val images are numbered 1..50,000 (`ILSVRC2012_val_00000001`).
NUM_VAL_IMAGES = 50_000

_WNID_RE = re.compile(r'^n\d{8}$')
_VAL_NAME_RE = re.compile(r'^ILSVRC2012_val_(\d{8})(?:\.[A-Za-z]+)?$')


@dataclasses.dataclass(frozen=True)
class Synset:
  """One ILSVRC class as a devkit describes it.

  Attributes:
    wnid: WordNet ID such as `n01440764`.
    ilsvrc_id: the devkit's 1-based class ID (not the sorted-WNID index).
    name: human-readable name, e.g. `tench`; two pairs of classes share one
      (`crane`, `maillot`).
  """

  wnid: str
  ilsvrc_id: int
  name: str


@functools.cache
def wnids() -> tuple[str, ...]:
  """The 1,000 ILSVRC2012 class WNIDs in sorted order.

  The position in this tuple is the label index used by TFDS imagenet2012,
  Keras and torchvision.

  Returns:
    The WNIDs, sorted.
  """
  text = (
      importlib.resources.files('imagenet_custom.ilsvrc')
      .joinpath('wnids.txt')
      .read_text()
  )
  names = tuple(line.strip() for line in text.splitlines() if line.strip())
  assert len(names) == NUM_CLASSES and list(names) == sorted(set(names))
  return names


def is_wnid(text: str) -> bool:
  """Whether `text` looks like a WNID (`n` and eight digits)."""
  return bool(_WNID_RE.match(text))


def check_known_wnid(wnid: str, source: str) -> None:
  """Raises `InputError` unless `wnid` is one of the 1,000 classes.

  Args:
    wnid: the class folder, inner tar or label to check.
    source: where it was found, for the message.
  """
  if wnid not in _wnid_set():
    raise InputError(
        f'{source}: {wnid!r} is not one of the 1,000 ILSVRC2012 class WNIDs.'
        ' Remove or rename it: every class folder / inner tar must be named'
        ' by its WNID (e.g. n01440764), not by a class name.'
    )


@functools.cache
def _wnid_set() -> frozenset[str]:
  return frozenset(wnids())


def val_index(file_name: str) -> int | None:
  """The 1-based number of a val image from its name, or None if not one.

  Args:
    file_name: e.g. `ILSVRC2012_val_00000001.JPEG` (a stem works too).

  Returns:
    The number, e.g. 1.
  """
  match = _VAL_NAME_RE.match(file_name)
  return int(match.group(1)) if match else None


def file_stem(file_name: str) -> str:
  """A file's name without folders and extension: how images and XMLs pair.

  Args:
    file_name: e.g. `n01440764_10026.JPEG`, or an archive member such as
      `val/ILSVRC2012_val_00000001.xml`.

  Returns:
    The stem, e.g. `n01440764_10026` or `ILSVRC2012_val_00000001`.
  """
  return file_name.rsplit('/', 1)[-1].rsplit('.', 1)[0]


def _check_synsets(
    synsets: list[Synset], source: str
) -> dict[int, Synset]:
  """Checks a devkit class list is exactly the 1,000 classes, IDs 1..1000."""
  if len(synsets) != NUM_CLASSES:
    raise InputError(
        f'{source}: expected {NUM_CLASSES} classes, found {len(synsets)}.'
        ' The file is truncated or not an ILSVRC2012 devkit file; download the'
        ' devkit again.'
    )
  by_id: dict[int, Synset] = {}
  for synset in synsets:
    if not 1 <= synset.ilsvrc_id <= NUM_CLASSES:
      raise InputError(
          f'{source}: class {synset.wnid} has ILSVRC ID {synset.ilsvrc_id},'
          f' outside 1..{NUM_CLASSES}. Download the devkit again.'
      )
    if synset.ilsvrc_id in by_id:
      raise InputError(
          f'{source}: ILSVRC ID {synset.ilsvrc_id} is given to both'
          f' {by_id[synset.ilsvrc_id].wnid} and {synset.wnid}.'
          ' Download the devkit again.'
      )
    check_known_wnid(synset.wnid, source)
    by_id[synset.ilsvrc_id] = synset
  return by_id


def parse_map_clsloc(text: str, source: str) -> dict[int, Synset]:
  """Parses the ILSVRC2015 devkit's `map_clsloc.txt`.

  Args:
    text: lines `WNID ILSVRC_ID name`, e.g. `n02119789 1 kit_fox`.
    source: where the text came from, for errors.

  Returns:
    The 1,000 synsets by ILSVRC ID. Underscores in names become spaces.
  """
  synsets = []
  for line_number, line in enumerate(text.splitlines(), start=1):
    if not line.strip():
      continue
    parts = line.split()
    if len(parts) != 3 or not parts[1].isdigit():
      raise InputError(
          f'{source}, line {line_number}: expected "WNID ILSVRC_ID name",'
          f' got {line!r}. Download the devkit again.'
      )
    synsets.append(
        Synset(parts[0], int(parts[1]), parts[2].replace('_', ' '))
    )
  return _check_synsets(synsets, source)


def parse_meta_mat(data: bytes, source: str) -> dict[int, Synset]:
  """Parses the ILSVRC2012 devkit's `data/meta.mat`.

  Keeps only the 1,000 leaf synsets (`num_children == 0`); the file also lists
  the 860 inner nodes of the hierarchy.

  Args:
    data: the MATLAB v5 file's bytes.
    source: where the bytes came from, for errors.

  Returns:
    The 1,000 synsets by ILSVRC ID; the name is the first of `words`.
  """
  import scipy.io  # pylint: disable=g-import-not-at-top  # Only devkit 2012.
  import scipy.io.matlab  # pylint: disable=g-import-not-at-top

  try:
    records = scipy.io.loadmat(io.BytesIO(data), squeeze_me=True)['synsets']
  except (
      ValueError, KeyError, TypeError, OSError, scipy.io.matlab.MatReadError
  ) as e:
    raise InputError(
        f'{source}: cannot read the MATLAB synset table ({e}). The devkit'
        ' archive is corrupt; download ILSVRC2012_devkit_t12.tar.gz again.'
    ) from e
  synsets = []
  for record in np.atleast_1d(records):
    if int(record['num_children']) != 0:
      continue
    words = str(record['words'])
    synsets.append(
        Synset(
            str(record['WNID']),
            int(record['ILSVRC2012_ID']),
            words.split(',')[0].strip(),
        )
    )
  return _check_synsets(synsets, source)


def parse_synset_mapping(text: str, source: str) -> dict[str, str]:
  """Parses Kaggle's `LOC_synset_mapping.txt`.

  Args:
    text: lines `WNID description`, e.g. `n01440764 tench, Tinca tinca`.
    source: where the text came from, for errors.

  Returns:
    The first name of each description by WNID, e.g. `tench`.
  """
  names = {}
  for line_number, line in enumerate(text.splitlines(), start=1):
    if not line.strip():
      continue
    wnid, _, description = line.strip().partition(' ')
    if not is_wnid(wnid) or not description:
      raise InputError(
          f'{source}, line {line_number}: expected "WNID description", got'
          f' {line!r}. Download LOC_synset_mapping.txt again.'
      )
    check_known_wnid(wnid, f'{source}, line {line_number}')
    names[wnid] = description.split(',')[0].strip()
  if len(names) != NUM_CLASSES:
    raise InputError(
        f'{source}: expected {NUM_CLASSES} classes, found {len(names)}.'
        ' Download LOC_synset_mapping.txt again.'
    )
  return names


def parse_ground_truth(
    text: str, source: str, synsets: dict[int, Synset]
) -> dict[int, str]:
  """Parses a devkit validation ground truth file.

  Line i holds the ILSVRC ID of val image i (`ILSVRC2012_val_%08d` = i). The
  ID is mapped to a WNID through the devkit's own class table: it is not the
  sorted-WNID label index.

  Args:
    text: one ILSVRC ID per line.
    source: where the text came from, for errors.
    synsets: the devkit's class table by ILSVRC ID.

  Returns:
    The WNID of each val image by its 1-based number.
  """
  labels = {}
  lines = text.split()
  if len(lines) > NUM_VAL_IMAGES:
    raise InputError(
        f'{source}: {len(lines)} lines, more than the {NUM_VAL_IMAGES} val'
        ' images. This is not an ILSVRC2012 ground truth file.'
    )
  for index, token in enumerate(lines, start=1):
    if not token.isdigit() or int(token) not in synsets:
      raise InputError(
          f'{source}, line {index}: {token!r} is not an ILSVRC class ID'
          f' (1..{NUM_CLASSES}). Download the devkit again.'
      )
    labels[index] = synsets[int(token)].wnid
  return labels


def parse_blacklist(text: str, source: str) -> frozenset[int]:
  """Parses a devkit validation blacklist (1-based val numbers, one a line).

  Args:
    text: the file's content.
    source: where the text came from, for errors.

  Returns:
    The blacklisted val image numbers.
  """
  numbers = set()
  for line_number, token in enumerate(text.split(), start=1):
    if not token.isdigit() or not 1 <= int(token) <= NUM_VAL_IMAGES:
      raise InputError(
          f'{source}, line {line_number}: {token!r} is not a val image number'
          f' (1..{NUM_VAL_IMAGES}). Download the devkit again.'
      )
    numbers.add(int(token))
  return frozenset(numbers)


def parse_loc_solution(
    text: str, source: str
) -> dict[str, list[tuple[str, float, float, float, float]]]:
  """Parses Kaggle's `LOC_{train,val}_solution.csv`.

  Args:
    text: CSV with header `ImageId,PredictionString`, the string holding
      `WNID xmin ymin xmax ymax` groups in pixels.
    source: where the text came from, for errors.

  Returns:
    Objects `(wnid, xmin, ymin, xmax, ymax)` by image stem.
  """
  reader = csv.reader(io.StringIO(text))
  header = next(reader, None)
  if header != ['ImageId', 'PredictionString']:
    raise InputError(
        f'{source}: expected the header "ImageId,PredictionString", got'
        f' {header!r}. Download the Kaggle LOC_*_solution.csv files again.'
    )
  objects = {}
  for row_number, row in enumerate(reader, start=2):
    if not row:
      continue
    tokens = row[1].split() if len(row) == 2 else []
    if len(row) != 2 or not tokens or len(tokens) % 5:
      raise InputError(
          f'{source}, row {row_number}: expected "ImageId,WNID xmin ymin xmax'
          f' ymax ...", got {",".join(row)!r}.'
      )
    try:
      objects[row[0]] = [
          (
              tokens[i],
              float(tokens[i + 1]),
              float(tokens[i + 2]),
              float(tokens[i + 3]),
              float(tokens[i + 4]),
          )
          for i in range(0, len(tokens), 5)
      ]
    except ValueError as e:
      raise InputError(
          f'{source}, row {row_number}: a box coordinate is not a number'
          f' ({e}).'
      ) from e
  return objects


def val_labels_from_solution(
    objects: dict[str, list[tuple[str, float, float, float, float]]],
    source: str,
) -> dict[int, str]:
  """The val label of each image from `LOC_val_solution.csv` objects.

  Args:
    objects: the output of `parse_loc_solution` for the val file.
    source: where it came from, for errors.

  Returns:
    The WNID by val image number.
  """
  labels = {}
  for stem, image_objects in objects.items():
    number = val_index(stem)
    classes = {wnid for wnid, *_ in image_objects}
    if number is None or len(classes) != 1:
      raise InputError(
          f'{source}: row {stem!r} does not name one val image of one class'
          f' (classes {sorted(classes)}).'
      )
    wnid = classes.pop()
    check_known_wnid(wnid, f'{source}, row {stem}')
    labels[number] = wnid
  return labels
