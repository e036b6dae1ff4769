"""Prints what a built imagenet_custom dataset holds.

Usage: python -m imagenet_custom.tools.summary --data_dir=OUT
"""

from __future__ import annotations

import argparse
import collections

from etils import epath
import tensorflow_datasets as tfds

from imagenet_custom.build import report as report_lib


def find_dataset_dir(data_dir: str) -> epath.Path:
  """The newest built `imagenet_custom/<config>/<version>` under `data_dir`."""
  candidates = sorted(
      epath.Path(data_dir).glob('imagenet_custom/*/*/dataset_info.json')
  )
  if not candidates:
    raise SystemExit(f'No built imagenet_custom dataset under {data_dir}.')
  return candidates[-1].parent


def summarize(dataset_dir: epath.Path) -> str:
  """A few lines on splits, classes and the build report.

  Args:
    dataset_dir: a built dataset's version folder.

  Returns:
    The summary text.
  """
  builder = tfds.builder_from_directory(dataset_dir)
  info = builder.info
  lines = [f'Dataset: {dataset_dir}']
  for name, split in sorted(info.splits.items()):
    lines.append(
        f'  {name:17s} {split.num_examples:>9,} examples in'
        f' {split.num_shards} shard(s)'
    )
  names = info.metadata.get('class_names', [])
  wnids = info.features['label'].names
  duplicates = [
      f'{name} ({", ".join(w for w, n in zip(wnids, names, strict=True) if n == name)})'
      for name, count in collections.Counter(names).items()
      if count > 1
  ]
  lines.append(
      f'  {len(wnids)} classes; names shared by two classes, kept distinct:'
      f' {"; ".join(duplicates) or "none"}'
  )
  if 'build_report' in info.metadata:
    report = report_lib.BuildReport.from_dict(info.metadata['build_report'])
    lines.append(report.format())
  return '\n'.join(lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--data_dir', required=True)
  args = parser.parse_args()
  print(summarize(find_dataset_dir(args.data_dir)))


if __name__ == '__main__':
  main()
