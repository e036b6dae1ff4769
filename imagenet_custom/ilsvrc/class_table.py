"""The 1,000 ILSVRC2012 classes' public facts, shipped with the package.

`class_table.tsv` (beside this module) holds, in sorted-WNID order (row i is
label index i), each class's WNID, its ILSVRC2012 class ID (1..1000, the
`ILSVRC2012_ID` of the 2012 devkit's `meta.mat`; the 2015 devkit's
`map_clsloc.txt` numbers the classes the same way; 1 = n02119789 kit fox) and
its WordNet words (the text of `LOC_synset_mapping.txt`, identical for these
1,000 synsets to `imagenet_metadata.txt`, which inception's
`build_imagenet_data.py` reads for `image/class/text`). It was made from
`map_clsloc.txt` and `LOC_synset_mapping.txt`; `tests/test_class_table.py`
checks it against those files when they are at hand.

Names are not unique: `crane` is n02012849 (the bird) and n03126707 (the
machine); the first word of n03710637 and n03710721 is `maillot`. Anything
keyed by class uses the WNID.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources

from imagenet_custom.ilsvrc import metadata

_TABLE = 'class_table.tsv'
_HEADER = ('wnid', 'ilsvrc2012_id', 'name')


@dataclasses.dataclass(frozen=True)
class ClassFacts:
  """One class of ILSVRC2012.

  Attributes:
    wnid: e.g. `n01440764`.
    ilsvrc2012_id: the devkit's class ID, 1..1000 (not a label index).
    name: the WordNet words, e.g. `tench, Tinca tinca`.
  """

  wnid: str
  ilsvrc2012_id: int
  name: str


def parse_class_table(text: str, source: str) -> tuple[ClassFacts, ...]:
  """Parses the class table's format.

  Args:
    text: `#` comment lines, the header `wnid<TAB>ilsvrc2012_id<TAB>name`,
      then one tab-separated row per class.
    source: where the text comes from, for errors.

  Returns:
    The rows in file order.

  Raises:
    ValueError: a malformed header or row (naming its line).
  """
  rows = []
  header_seen = False
  for number, line in enumerate(text.splitlines(), 1):
    if not line or line.startswith('#'):
      continue
    cells = tuple(line.split('\t'))
    if not header_seen:
      if cells != _HEADER:
        raise ValueError(f'{source}:{number}: expected the header {_HEADER}, got {cells}')
      header_seen = True
      continue
    if len(cells) != 3 or not cells[1].isdigit():
      raise ValueError(f'{source}:{number}: expected WNID, ID, name; got {line!r}')
    rows.append(ClassFacts(cells[0], int(cells[1]), cells[2]))
  return tuple(rows)


@functools.cache
def class_table() -> tuple[ClassFacts, ...]:
  """The shipped table: 1,000 rows, row i for sorted-WNID label index i."""
  text = importlib.resources.files('imagenet_custom.ilsvrc').joinpath(_TABLE).read_text()
  rows = parse_class_table(text, _TABLE)
  assert tuple(row.wnid for row in rows) == metadata.wnids(), _TABLE
  assert sorted(row.ilsvrc2012_id for row in rows) == list(range(1, metadata.NUM_CLASSES + 1))
  return rows


def ilsvrc_ids() -> dict[str, int]:
  """ILSVRC2012 class ID by WNID, for all 1,000 classes."""
  return {row.wnid: row.ilsvrc2012_id for row in class_table()}


def names() -> dict[str, str]:
  """WordNet words by WNID, for all 1,000 classes."""
  return {row.wnid: row.name for row in class_table()}
