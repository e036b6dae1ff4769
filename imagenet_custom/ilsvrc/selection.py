"""Which classes and train images a build keeps: `classes` and `train_subset`.

Rules (the same on every machine, run and layout):

* `classes` (a WNID list file, or the name of a list shipped in
  `class_lists/`, e.g. `imagenet100_cmc`): only these classes are built, in
  every split.
  Labels stay the 1,000-way sorted-WNID index unless `relabel` is set; then
  they are the index in the sorted subset.
* `train_subset` as a fraction f: within each class of n images, ranked by the
  same keyed hash as the train/validation split (`splits.split_rank_key`),
  validation takes the first `round(0.2 n)` exactly as in a full build, and
  train takes the next `round(f n)` (at least 1, at most what is left). So
  validation is the full build's, the subset never overlaps it, and a smaller
  fraction's subset is inside a larger one's (1% is inside 10%).
* `train_subset` as a file list (the published 1%/10% format, one
  `nXXXXXXXX_N.JPEG` per line): train is exactly the listed images of the
  built classes; validation is the full build's validation minus any listed
  image (a listed image is never held out). A listed image missing from the
  input is an error that names it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
import dataclasses
import functools
import re

from etils import epath

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import splits

# Class lists shipped with the package, usable by name (`classes`).
SHIPPED_CLASS_LISTS = 'class_lists'
_TRAIN_NAME_RE = re.compile(r'^(n\d{8})_\d+\.JPEG$')
# How many missing or bad names an error lists.
_MAX_LISTED = 10


@dataclasses.dataclass(frozen=True)
class Selection:
  """What a build keeps. The default keeps everything.

  Attributes:
    classes: the WNIDs built, sorted; None for all 1,000.
    relabel: labels index the sorted `classes` instead of the 1,000.
    train_fraction: keep this share of each class's images in train.
    train_list: the train images to keep, by WNID (from a file list).
    train_list_origin: the file list's path, for errors.
  """

  classes: tuple[str, ...] | None = None
  relabel: bool = False
  train_fraction: float | None = None
  train_list: dict[str, frozenset[str]] | None = None
  train_list_origin: str = ''

  def keeps_class(self, wnid: str) -> bool:
    """Whether a class is built."""
    return self.classes is None or wnid in self._class_set

  @functools.cached_property
  def _class_set(self) -> frozenset[str]:
    return frozenset(self.classes or ())

  def label_names(self) -> tuple[str, ...]:
    """The `ClassLabel` names: the subset when relabelling, else all 1,000."""
    if self.relabel and self.classes is not None:
      return self.classes
    return metadata.wnids()

  def to_metadata(self) -> dict[str, object]:
    """What `info.metadata['selection']` records."""
    return {
        'classes': list(self.classes) if self.classes is not None else None,
        'relabel': self.relabel,
        'label_of_wnid': (
            {wnid: i for i, wnid in enumerate(self.classes)}
            if self.relabel and self.classes is not None else None
        ),
        'train_subset_fraction': self.train_fraction,
        'train_subset_list': self.train_list_origin or None,
        'train_subset_list_images': (
            sum(len(v) for v in self.train_list.values())
            if self.train_list is not None else None
        ),
    }


@dataclasses.dataclass(frozen=True)
class ClassSplit:
  """One class's train images divided by the split and the subset.

  Attributes:
    train: the images written to `train`.
    validation: the images written to `validation`.
    left_out: images in neither (not in the train subset).
  """

  train: frozenset[str]
  validation: frozenset[str]
  left_out: frozenset[str]


def parse_class_list(text: str, source: str) -> tuple[str, ...]:
  """Parses a WNID list, one a line (`#` comments and blank lines allowed).

  Args:
    text: the file's content.
    source: its path, for errors.

  Returns:
    The WNIDs, sorted.

  Raises:
    InputError: a line is not one of the 1,000 WNIDs, a WNID repeats, or the
      list is empty.
  """
  wnids: dict[str, int] = {}
  for line_number, line in enumerate(text.splitlines(), start=1):
    token = line.split('#', 1)[0].strip()
    if not token:
      continue
    metadata.check_known_wnid(token, f'{source}, line {line_number}')
    if token in wnids:
      raise InputError(
          f'{source}, line {line_number}: {token} is listed twice (first on'
          f' line {wnids[token]}). List each class once.'
      )
    wnids[token] = line_number
  if not wnids:
    raise InputError(
        f'{source}: no WNIDs. The classes file lists one WNID (e.g. n01440764)'
        ' per line.'
    )
  return tuple(sorted(wnids))


def parse_train_list(text: str, source: str) -> dict[str, frozenset[str]]:
  """Parses a train file list in the published 1%/10% format.

  Args:
    text: one `nXXXXXXXX_N.JPEG` per line.
    source: its path, for errors.

  Returns:
    The listed file names by WNID.

  Raises:
    InputError: a line is not a train image name of one of the 1,000 classes,
      or the list is empty.
  """
  by_class: dict[str, set[str]] = {}
  for line_number, line in enumerate(text.splitlines(), start=1):
    name = line.strip()
    if not name:
      continue
    match = _TRAIN_NAME_RE.match(name)
    if match is None:
      raise InputError(
          f'{source}, line {line_number}: {name!r} is not a train image name'
          ' (nXXXXXXXX_N.JPEG, one a line, as in the published 1% and 10%'
          ' lists).'
      )
    metadata.check_known_wnid(match.group(1), f'{source}, line {line_number}')
    by_class.setdefault(match.group(1), set()).add(name)
  if not by_class:
    raise InputError(f'{source}: the train subset list names no image.')
  return {wnid: frozenset(names) for wnid, names in sorted(by_class.items())}


def shipped_class_lists() -> dict[str, epath.Path]:
  """The class lists shipped in `class_lists/`, by name (file stem)."""
  directory = epath.Path(__file__).parent / SHIPPED_CLASS_LISTS
  return {path.stem: path for path in sorted(directory.glob('*.txt'))}


def class_list_path(classes: str) -> epath.Path:
  """The file a `classes` value names: a path, or a shipped list's name.

  Args:
    classes: the config value.

  Returns:
    The path.

  Raises:
    InputError: neither a file nor a shipped list.
  """
  path = epath.Path(classes)
  if path.exists():
    return path
  shipped = shipped_class_lists()
  if classes in shipped:
    return shipped[classes]
  raise InputError(
      f'classes: {path} does not exist. Give the path of a file listing one'
      f' WNID a line, or the name of a shipped list ({", ".join(shipped)}).'
  )


def make_selection(
    classes: str | None,
    relabel: bool,
    train_subset: float | str | None,
) -> Selection:
  """Reads the config's `classes`, `relabel` and `train_subset`.

  Args:
    classes: path of a WNID list or name of a shipped one; None for all.
    relabel: index labels within `classes`.
    train_subset: a fraction in (0, 1], a path of a file list, or None.

  Returns:
    The selection.

  Raises:
    InputError: a file is missing or malformed, or a value is out of range.
  """
  wnids = None
  if classes:
    path = class_list_path(classes)
    wnids = parse_class_list(path.read_text(), str(path))
  elif relabel:
    raise InputError(
        'relabel needs a `classes` file: without one the labels are already'
        ' the dense 1,000-way index.'
    )
  fraction = train_list = None
  origin = ''
  if isinstance(train_subset, bool):
    raise InputError(f'train_subset: {train_subset!r} is neither a fraction nor a path.')
  if isinstance(train_subset, (int, float)):
    fraction = float(train_subset)
    if not 0.0 < fraction <= 1.0:
      raise InputError(
          f'train_subset: {train_subset} is not a fraction in (0, 1]'
          ' (e.g. 0.01 for 1% of each class).'
      )
  elif train_subset:
    path = epath.Path(train_subset)
    if not path.exists():
      raise InputError(
          f'train_subset: {path} does not exist. Give a fraction as a number'
          ' (e.g. 0.01) or the path of a file list (one nXXXXXXXX_N.JPEG a'
          ' line).'
      )
    train_list = parse_train_list(path.read_text(), str(path))
    origin = str(path)
  return Selection(wnids, relabel, fraction, train_list, origin)


def subset_count(num_images: int, fraction: float, available: int) -> int:
  """How many train images a fraction keeps in a class.

  Args:
    num_images: the class's images (train + validation).
    fraction: the train subset fraction.
    available: images not in validation.

  Returns:
    `round(fraction * num_images)` (halves up), at least 1, at most
    `available`.
  """
  return min(max(splits.round_half_up(fraction * num_images), 1), available)


def check_listed_classes(selection: Selection, train_classes: Collection[str]) -> None:
  """Fails when the file list names a class with no train images in the input.

  Args:
    selection: the build's selection.
    train_classes: the WNIDs with train images in the input.

  Raises:
    InputError: naming the first listed images of the missing classes.
  """
  if selection.train_list is None:
    return
  present = frozenset(train_classes)
  missing = sorted(
      name
      for wnid, names in selection.train_list.items()
      if selection.keeps_class(wnid) and wnid not in present
      for name in names
  )
  if missing:
    raise InputError(
        f'{selection.train_list_origin}: {len(missing)} listed images are'
        f' missing from the input (their class has no train images):'
        f' {", ".join(missing[:_MAX_LISTED])}. Use the list that matches your'
        ' download, or add the missing class folders / inner tars.'
    )


def split_class(
    wnid: str,
    names: Iterable[str],
    validation_fraction: float,
    split_seed: str,
    selection: Selection,
    origin: str,
) -> ClassSplit:
  """Divides one class's train images into train, validation and left out.

  Args:
    wnid: the class.
    names: all its image file names.
    validation_fraction: the config's validation fraction.
    split_seed: the config's split seed.
    selection: the build's selection.
    origin: where the class is, for errors.

  Returns:
    The division (see the module docstring for the rules).

  Raises:
    InputError: a listed image is not in the class.
  """
  names = frozenset(names)
  validation = splits.select_validation(names, validation_fraction, split_seed)
  rest = names - validation
  if selection.train_list is not None:
    listed = selection.train_list.get(wnid, frozenset())
    missing = sorted(listed - names)
    if missing:
      raise InputError(
          f'{selection.train_list_origin}: {len(missing)} listed images are'
          f' missing from {origin}: {", ".join(missing[:_MAX_LISTED])}. Use the'
          ' list that matches your download, or restore those images.'
      )
    train = listed
    validation = validation - listed
  elif selection.train_fraction is not None:
    ranked = splits.rank(rest, split_seed)
    count = subset_count(len(names), selection.train_fraction, len(ranked))
    train = frozenset(ranked[:count])
  else:
    train = rest
  return ClassSplit(train, validation, names - train - validation)
