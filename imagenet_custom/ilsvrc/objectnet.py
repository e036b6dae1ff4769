"""ObjectNet's mapping to ImageNet, parsed from the user's own `mappings/` files.

ObjectNet 1.0 (`objectnet-1.0/mappings/`) maps its 313 class folders to the
1,000 ImageNet classes in four steps, each its own file:

* `folder_to_objectnet_label.json`: class folder -> ObjectNet class name
  (313 entries);
* `objectnet_to_imagenet_1k.json`: ObjectNet class name -> ImageNet class
  names joined by `; ` (113 entries: the classes ImageNet shares; some map to
  several ImageNet classes);
* `imagenet_to_label_2012_v2`: one ImageNet class name a line;
* `pytorch_to_imagenet_2012_id.json`: PyTorch class index (the sorted-WNID
  position, our label) -> the **0-based** line of that class's name in
  `imagenet_to_label_2012_v2`. Reading the lines as 1-based (public readers
  disagree: objectnet-template-pytorch#13, #15) shifts every label by one
  class.

The files are never shipped (ObjectNet's licence): only read here.
"""

from __future__ import annotations

import json
from typing import Any

from imagenet_custom.errors import InputError

FOLDER_TO_LABEL = 'folder_to_objectnet_label.json'
LABEL_TO_IMAGENET = 'objectnet_to_imagenet_1k.json'
IMAGENET_NAMES = 'imagenet_to_label_2012_v2'
INDEX_TO_LINE = 'pytorch_to_imagenet_2012_id.json'
MAPPING_FILES = (FOLDER_TO_LABEL, LABEL_TO_IMAGENET, IMAGENET_NAMES, INDEX_TO_LINE)
# ImageNet names in `objectnet_to_imagenet_1k.json` are joined by this.
_NAME_SEPARATOR = '; '


def _json(text: str, source: str) -> dict[str, Any]:
  try:
    loaded = json.loads(text)
  except json.JSONDecodeError as e:
    raise InputError(f'{source}: not valid JSON ({e}). Restore it from objectnet-1.0.zip.') from None
  if not isinstance(loaded, dict):
    raise InputError(f'{source}: expected a JSON object. Restore it from objectnet-1.0.zip.')
  return loaded


def parse_mappings(texts: dict[str, str], origin: str) -> dict[str, tuple[int, ...]]:
  """The sorted-1,000 labels of each ObjectNet class folder that ImageNet shares.

  Args:
    texts: the text of each of `MAPPING_FILES`, by file name.
    origin: the `mappings/` folder, for errors.

  Returns:
    Class folder -> its ImageNet labels (ascending; one or more). Folders of
    classes ImageNet does not share are absent.

  Raises:
    InputError: a file is malformed, or names a class another file lacks.
  """
  folders = _json(texts[FOLDER_TO_LABEL], f'{origin}/{FOLDER_TO_LABEL}')
  to_imagenet = _json(texts[LABEL_TO_IMAGENET], f'{origin}/{LABEL_TO_IMAGENET}')
  index_to_line = _json(texts[INDEX_TO_LINE], f'{origin}/{INDEX_TO_LINE}')
  lines = [line.strip() for line in texts[IMAGENET_NAMES].splitlines()]
  line_source = f'{origin}/{INDEX_TO_LINE}'
  label_of_name: dict[str, list[int]] = {}
  for index, line in index_to_line.items():
    if not (str(index).isdigit() and 0 <= int(index) < 1000):
      raise InputError(f'{line_source}: {index!r} is not a class index 0..999.')
    if not (isinstance(line, int) and 0 <= line < len(lines)):
      raise InputError(
          f'{line_source}: class {index} points to line {line!r}, outside the'
          f' {len(lines)} lines (0-based) of {IMAGENET_NAMES}.'
      )
    label_of_name.setdefault(lines[line], []).append(int(index))
  if len(index_to_line) != 1000:
    raise InputError(f'{line_source}: {len(index_to_line)} classes, expected 1,000.')
  label_of_folder = {label: folder for folder, label in folders.items()}
  mapped: dict[str, tuple[int, ...]] = {}
  for label, names in to_imagenet.items():
    folder = label_of_folder.get(label)
    if folder is None:
      raise InputError(
          f'{origin}/{LABEL_TO_IMAGENET}: ObjectNet class {label!r} has no'
          f' folder in {FOLDER_TO_LABEL}.'
      )
    indices = []
    for name in str(names).split(_NAME_SEPARATOR):
      found = label_of_name.get(name.strip(), [])
      if len(found) != 1:
        raise InputError(
            f'{origin}/{LABEL_TO_IMAGENET}: ImageNet class name {name!r} (of'
            f' {label!r}) is on {len(found)} lines of {IMAGENET_NAMES}'
            ' reached from the class indices, not exactly one.'
        )
      indices.append(found[0])
    mapped[folder] = tuple(sorted(set(indices)))
  return mapped
