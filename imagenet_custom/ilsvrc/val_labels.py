"""Val-label resolution: every source of val labels must agree.

The label of an original val image can come from several files, depending on
the layout and what lies beside it: the devkit's ground truth (ILSVRC2012 or
ILSVRC2015), Kaggle's `LOC_val_solution.csv`, `val/<wnid>/` class folders,
and the `<name>` of the val box annotations. Each reader gathers its sources
(`Reader.val_metadata`); here they are checked against each other: an image
gets a label only if every source that covers it gives the same WNID, and
every val image must be covered by at least one source.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import enum

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import metadata

# How many disagreeing or unlabelled val images an error message lists.
MAX_LISTED = 10
XML_SOURCE_NAME = 'val box annotations (<name>)'


class LabelKind(enum.Enum):
  """What kind of file a val label source is; callers decide by kind, never by name."""

  # The devkit's ground truth (ILSVRC2012 or ILSVRC2015), through its ID table.
  DEVKIT = 'devkit ground truth'
  # Kaggle's `LOC_val_solution.csv`.
  SOLUTION_CSV = 'LOC_val_solution.csv'
  # The `<wnid>/` folders the val images are sorted into: labels of the images
  # present only, so they say nothing about images missing from the input.
  CLASS_FOLDERS = 'val class folders'
  # The `<name>` of the val box annotations.
  BOX_XML = 'val box annotations'


@dataclasses.dataclass(frozen=True)
class LabelSource:
  """One source of val labels.

  Attributes:
    name: where the labels come from, for messages, e.g.
      `ILSVRC2012_devkit_t12.tar.gz:.../ground_truth.txt`.
    labels: WNID by val image number.
    kind: what kind of file it is.
  """

  name: str
  labels: dict[int, str]
  kind: LabelKind


@dataclasses.dataclass(frozen=True)
class ValMetadata:
  """Everything about the val set that comes from metadata files.

  Attributes:
    label_sources: all sources of labels found (they must agree).
    blacklist: blacklisted val image numbers; None when no devkit was found.
    class_names: human-readable name by WNID, when a source has them.
  """

  label_sources: tuple[LabelSource, ...]
  blacklist: frozenset[int] | None
  class_names: dict[str, str] | None


def xml_label_source(
    parsed: dict[int, annotations_lib.Annotation],
) -> LabelSource:
  """Val labels from the val annotations' `<name>`s.

  An annotation gives a label only when its objects name exactly one WNID;
  `<name>`s that are not WNIDs (e.g. class names) are ignored.

  Args:
    parsed: val annotations by val image number.

  Returns:
    The label source, covering the images whose annotation names one WNID.
  """
  labels = {}
  for number, annotation in parsed.items():
    names = {n for n in annotations_lib.annotation_label(annotation) if metadata.is_wnid(n)}
    if len(names) == 1:
      labels[number] = names.pop()
  return LabelSource(XML_SOURCE_NAME, labels, LabelKind.BOX_XML)


def resolve_val_labels(
    numbers: Iterable[int], sources: Iterable[LabelSource]
) -> dict[int, str]:
  """The label of each val image, checked across every source.

  Args:
    numbers: the val image numbers found.
    sources: every label source; each may cover only some images.

  Returns:
    WNID by val number.

  Raises:
    InputError: an image has no label, sources disagree on one, or a label is
      not one of the 1,000 WNIDs.
  """
  sources = list(sources)
  labels, unlabelled, disagreements = {}, [], []
  for number in sorted(numbers):
    found = {s.name: s.labels[number] for s in sources if number in s.labels}
    if not found:
      unlabelled.append(number)
    elif len(set(found.values())) > 1:
      disagreements.append(
          f'ILSVRC2012_val_{number:08d}: '
          + ', '.join(f'{wnid} in {name}' for name, wnid in found.items())
      )
    else:
      labels[number] = next(iter(found.values()))
  if disagreements:
    raise InputError(
        f'Val label sources disagree on {len(disagreements)} images:\n  '
        + '\n  '.join(disagreements[:MAX_LISTED])
        + '\nOne of these files is wrong or from another ImageNet release;'
        ' remove it from the manual dir or replace it with the original.'
    )
  if unlabelled:
    listed = ', '.join(f'ILSVRC2012_val_{n:08d}' for n in unlabelled[:MAX_LISTED])
    raise InputError(
        f'{len(unlabelled)} val images have no label in any source'
        f' ({", ".join(s.name for s in sources) or "no label source found"}):'
        f' {listed}. Provide the devkit ground truth or LOC_val_solution.csv'
        ' covering all val images.'
    )
  for wnid in set(labels.values()):
    metadata.check_known_wnid(wnid, 'val labels')
  return labels
