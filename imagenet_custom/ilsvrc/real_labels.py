"""ReaL ("reassessed") val labels: `real.json` attached to the test splits.

`real.json` (google-research/reassessed-imagenet) is a list of 50,000 lists:
entry i holds the labels of `ILSVRC2012_val_{i+1:08d}.JPEG` (0-based list
against 1-based file numbers). The labels are the standard 0..999
sorted-WNID indices: TFDS's `imagenet2012_real` builder stores them as a
`ClassLabel` over the same label file as `imagenet2012`
(tensorflow/datasets `datasets/imagenet2012_real/imagenet2012_real_dataset_builder.py`).
An empty entry means the raters found no fitting label: such images are left
out of ReaL accuracy.
"""

from __future__ import annotations

import json

from etils import epath

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata

FEATURE = 'real_label'


def parse_real_json(text: str, source: str) -> tuple[tuple[int, ...], ...]:
  """Parses and checks `real.json`.

  Args:
    text: the file's content.
    source: its path, for errors.

  Returns:
    The labels of val image number n at position n - 1.

  Raises:
    InputError: not JSON, not 50,000 lists, or a label outside 0..999.
  """
  try:
    data = json.loads(text)
  except json.JSONDecodeError as e:
    raise InputError(
        f'{source}: not JSON ({e}). real_labels must be the real.json of'
        ' github.com/google-research/reassessed-imagenet.'
    ) from e
  if not isinstance(data, list) or len(data) != metadata.NUM_VAL_IMAGES:
    found = f'{len(data)} entries' if isinstance(data, list) else type(data).__name__
    raise InputError(
        f'{source}: expected a list of {metadata.NUM_VAL_IMAGES:,} lists (one'
        f' per val image), found {found}. Download real.json again from'
        ' github.com/google-research/reassessed-imagenet.'
    )
  labels = []
  for i, entry in enumerate(data):
    if not isinstance(entry, list) or not all(
        isinstance(x, int) and not isinstance(x, bool)
        and 0 <= x < metadata.NUM_CLASSES
        for x in entry
    ):
      raise InputError(
          f'{source}: entry {i} (ILSVRC2012_val_{i + 1:08d}) is {entry!r}, not a'
          f' list of class indices 0..{metadata.NUM_CLASSES - 1}.'
      )
    labels.append(tuple(entry))
  return tuple(labels)


def load_real_labels(path: str) -> tuple[tuple[int, ...], ...]:
  """Reads `real.json` from a path (see `parse_real_json`)."""
  real = epath.Path(path)
  if not real.exists():
    raise InputError(
        f'real_labels: {real} does not exist. Download real.json from'
        ' github.com/google-research/reassessed-imagenet and give its path.'
    )
  return parse_real_json(real.read_text(), str(real))


def real_label_wnids(
    real: tuple[tuple[int, ...], ...],
    file_name: str,
    label_names: tuple[str, ...],
) -> list[str]:
  """The ReaL labels of one example, as WNIDs of the build's label space.

  Args:
    real: the parsed `real.json`.
    file_name: the example's file name; only val images have ReaL labels.
    label_names: the build's `ClassLabel` names (a relabelled subset drops
      ReaL labels outside it).

  Returns:
    The WNIDs, in `real.json` order; empty for train images and images
    ReaL has no label for.
  """
  number = metadata.val_index(file_name)
  if number is None:
    return []
  wnids = metadata.wnids()
  kept = frozenset(label_names)
  return [wnids[i] for i in real[number - 1] if wnids[i] in kept]
