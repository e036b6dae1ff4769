"""Label maps: one class in every index convention frameworks use.

Usage:
  python -m imagenet_custom.tools.labels [--manual_dir=DIR] [--format=csv|json]
  python -m imagenet_custom.tools.labels --data_dir=OUT   # the table a build stored

For each of the 1,000 classes, in label order:
  index          the sorted-WNID index 0..999 (this dataset's `label`, TFDS
                 `imagenet2012`, Keras, torchvision, ReaL's `real.json`);
  wnid           the WordNet ID, e.g. n01440764;
  ilsvrc2012_id  the devkit's class ID 1..1000 (`ILSVRC2012_ID` of the 2012
                 devkit's `data/meta.mat`, the ID its val ground truth uses;
                 1 = n02119789 kit fox). The 2015 devkit's `map_clsloc.txt`
                 numbers the classes the same way: the 2012 and 2015 val
                 ground truth files are byte-identical and both give the same
                 labels through their own tables. Not a label index;
  tf_slim_index  TF-slim's 1,001-class index, background at 0: the sorted
                 index + 1 (tensorflow/models research/slim/datasets/
                 imagenet.py numbers the sorted synsets from 1);
  name           the class name (devkit or LOC_synset_mapping.txt); two pairs
                 of classes share one (crane, maillot).

The ILSVRC IDs and names are read from the devkit in `--manual_dir` (the 2012
devkit archive, the Kaggle tree's ILSVRC2015 devkit, or a `map_clsloc.txt` in
the folder); without one they come from the table shipped with the package
(`ilsvrc/class_table.py`), and stderr says which was read.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
from typing import Any

from etils import epath

from imagenet_custom import layouts
from imagenet_custom.ilsvrc import class_table
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts.devkit import DevkitFacts

COLUMNS = ('index', 'wnid', 'ilsvrc2012_id', 'tf_slim_index', 'name')
# TF-slim's classifiers have 1,001 outputs, 0 being "background".
TF_SLIM_OFFSET = 1
__all__ = ['DevkitFacts', 'LabelRow', 'format_rows', 'label_map', 'read_devkit_facts', 'to_records']


@dataclasses.dataclass(frozen=True)
class LabelRow:
  """One class in every convention.

  Attributes:
    index: sorted-WNID index, 0..999.
    wnid: e.g. `n01440764`.
    ilsvrc2012_id: devkit class ID 1..1000, None without a devkit.
    tf_slim_index: `index + 1`.
    name: class name, None without a name source.
  """

  index: int
  wnid: str
  ilsvrc2012_id: int | None
  tf_slim_index: int
  name: str | None


def read_devkit_facts(manual_dir: epath.PathLike) -> DevkitFacts:
  """Reads ILSVRC IDs and class names from the devkit files in a manual dir.

  The layout found in the dir says which files it reads
  (`Reader.devkit_facts`: the 2012 devkit archive's `meta.mat`, the Kaggle
  tree's or zip's `ILSVRC/devkit/data/map_clsloc.txt`, a `map_clsloc.txt`
  beside; names from `LOC_synset_mapping.txt` when present). A dir that
  holds no layout is read as a folder of loose devkit files
  (`ILSVRC2012_devkit_t12.tar.gz` or `map_clsloc.txt`, and
  `LOC_synset_mapping.txt`).

  Args:
    manual_dir: the folder holding the user's ImageNet download.

  Returns:
    The facts found; empty tables when there is no devkit.
  """
  root = epath.Path(manual_dir)
  found = layouts.detect_layouts(root)
  if found:
    # Several layouts read the same devkit files; the first is asked.
    return layouts.reader_of(found[0], root).devkit_facts()
  return devkit.read_devkit_facts(
      (root / devkit.DEVKIT_2012, root / devkit.MAP_CLSLOC),
      root / devkit.LOC_SYNSET_MAPPING,
  )


def label_map(
    ilsvrc_ids: dict[str, int] | None = None,
    names: dict[str, str] | None = None,
) -> list[LabelRow]:
  """The 1,000 classes in label order, in every index convention.

  Args:
    ilsvrc_ids: devkit class ID by WNID, if known.
    names: class name by WNID, if known.

  Returns:
    One row per class, row i for label index i.
  """
  ilsvrc_ids = ilsvrc_ids or {}
  names = names or {}
  return [
      LabelRow(
          index=index,
          wnid=wnid,
          ilsvrc2012_id=ilsvrc_ids.get(wnid),
          tf_slim_index=index + TF_SLIM_OFFSET,
          name=names.get(wnid),
      )
      for index, wnid in enumerate(metadata.wnids())
  ]


def to_records(rows: list[LabelRow]) -> list[dict[str, Any]]:
  """The rows as JSON-ready dicts (stored as `info.metadata['label_map']`)."""
  return [dataclasses.asdict(row) for row in rows]


def format_rows(rows: list[LabelRow], output_format: str) -> str:
  """The table as CSV (header first, empty cells for unknowns) or JSON."""
  if output_format == 'json':
    return json.dumps(to_records(rows), indent=1)
  if output_format != 'csv':
    raise ValueError(f'unknown format {output_format!r}: choose csv or json')
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(COLUMNS)
  for row in rows:
    writer.writerow(['' if value is None else value for value in dataclasses.astuple(row)])
  return out.getvalue()


def stored_label_map(data_dir: str) -> list[LabelRow]:
  """The table stored in a built dataset's `info.metadata['label_map']`.

  Args:
    data_dir: the TFDS data dir holding an `imagenet_custom` build.

  Returns:
    Its rows.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  # Slow.

  from imagenet_custom.tools import summary  # pylint: disable=g-import-not-at-top

  dataset_dir = summary.find_dataset_dir(data_dir)
  stored = tfds.builder_from_directory(dataset_dir).info.metadata.get('label_map')
  if stored is None:
    raise SystemExit(f'{dataset_dir} was built without a label map; rebuild it.')
  return [LabelRow(**row) for row in stored]


def main(argv: list[str] | None = None) -> None:
  """Prints the label map."""
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
  )
  parser.add_argument(
      '--manual_dir', help='the ImageNet download whose devkit gives IDs and names'
  )
  parser.add_argument(
      '--data_dir', help='print the table stored in this built dataset instead'
  )
  parser.add_argument('--format', choices=('csv', 'json'), default='csv')
  args = parser.parse_args(argv)
  if args.data_dir:
    print(format_rows(stored_label_map(args.data_dir), args.format), end='')
    return
  facts = devkit.NO_FACTS
  if args.manual_dir:
    if not epath.Path(args.manual_dir).exists():
      raise SystemExit(f'--manual_dir {args.manual_dir} does not exist.')
    facts = read_devkit_facts(args.manual_dir)
  if not facts.ilsvrc_ids or not facts.names:
    # Without a devkit, the public facts shipped with the package (issue 18).
    facts = DevkitFacts(
        facts.ilsvrc_ids or class_table.ilsvrc_ids(), facts.names or class_table.names(),
        facts.sources + ('the shipped imagenet_custom/ilsvrc/class_table.tsv',),
    )
  if facts.sources:
    print(f'Read: {", ".join(facts.sources)}', file=sys.stderr)
  print(format_rows(label_map(facts.ilsvrc_ids, facts.names), args.format), end='')


if __name__ == '__main__':
  main()
