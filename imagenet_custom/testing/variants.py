"""Inputs for the build variants, made from the generated dummy data.

Post-processes what `fake_imagenet` wrote (its layouts and `manifest.json`):
an evaluation-only copy of a layout, a `real.json` whose entries differ from
one val image to the next, a train file list in the published 1%/10% format
and a class list. Deterministic: the same dummy data gives the same files.

Usage: python -m imagenet_custom.testing.variants --dummy_dir=dummy_data --out=DIR
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
from typing import Any

from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts import box_archives
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts import kaggle
from imagenet_custom.layouts import official_archives

# What an evaluation-only download holds, per layout: the val images, their
# labels and (optionally) boxes; nothing of train.
EVALUATION_ONLY_FILES = {
    'archives': (official_archives.VAL_TAR, devkit.DEVKIT_2012, box_archives.BBOX_VAL),
    'kaggle': (
        f'{kaggle.DATA_DIR}/val', f'{kaggle.ANNOTATIONS_DIR}/val',
        kaggle.DEVKIT_DIR, devkit.LOC_VAL_SOLUTION, devkit.LOC_SYNSET_MAPPING,
    ),
    'folders': ('val', devkit.DEVKIT_2012, box_archives.BBOX_VAL),
}
# Val image numbers whose ReaL entry is planted empty (raters found no label).
REAL_EMPTY_EVERY = 5
# ReaL entries hold a second, number-dependent label so that neighbouring
# entries always differ: an off-by-one in the indexing cannot go unnoticed.
_REAL_SPREAD = 131


def evaluation_only_copy(
    layout_dir: pathlib.Path, layout: str, out: pathlib.Path
) -> pathlib.Path:
  """Copies the val part of a dummy layout (no train) to `out`.

  Args:
    layout_dir: e.g. `dummy_data/kaggle`.
    layout: its layout name.
    out: the new manual dir (created).

  Returns:
    `out`.
  """
  for relative in EVALUATION_ONLY_FILES[layout]:
    source = layout_dir / relative
    target = out / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
      shutil.copytree(source, target)
    else:
      shutil.copy2(source, target)
  return out


def real_entries(manifest: dict[str, Any]) -> list[list[int]]:
  """A `real.json` for the dummy data: 50,000 entries, entry i for val n = i + 1.

  A dummy val image's entry is empty when its number is a multiple of
  `REAL_EMPTY_EVERY`, else its original label (sorted-WNID index) and
  `(n * 131) % 1000`; other entries hold `(n * 131) % 1000` only.

  Args:
    manifest: the dummy data's manifest.

  Returns:
    The entries.
  """
  wnids = metadata.wnids()
  original = {
      metadata.val_index(image['file_name']): wnids.index(image['wnid'])
      for image in manifest['images']
      if image['split_source'] == 'val'
  }
  entries = []
  for number in range(1, metadata.NUM_VAL_IMAGES + 1):
    spread = (number * _REAL_SPREAD) % metadata.NUM_CLASSES
    if number not in original:
      entries.append([spread])
    elif number % REAL_EMPTY_EVERY == 0:
      entries.append([])
    else:
      entries.append(sorted({original[number], spread}))
  return entries


def train_list(manifest: dict[str, Any], per_class: int) -> list[str]:
  """A train file list in the published format: each class's first names.

  Args:
    manifest: the dummy data's manifest.
    per_class: names listed per class (all when the class has fewer).

  Returns:
    `nXXXXXXXX_N.JPEG` names, sorted.
  """
  by_class: dict[str, list[str]] = {}
  for image in manifest['images']:
    if image['split_source'] == 'train':
      by_class.setdefault(image['wnid'], []).append(image['file_name'])
  return sorted(
      name for names in by_class.values() for name in sorted(names)[:per_class]
  )


def write_all(dummy_dir: pathlib.Path, out: pathlib.Path) -> dict[str, pathlib.Path]:
  """Writes every variant input for the dummy data.

  Args:
    dummy_dir: the generated dummy data (with `manifest.json`).
    out: where to write (created).

  Returns:
    The paths written, by name.
  """
  manifest = json.loads((dummy_dir / 'manifest.json').read_text())
  out.mkdir(parents=True, exist_ok=True)
  written = {}
  for layout in EVALUATION_ONLY_FILES:
    written[f'eval_only_{layout}'] = evaluation_only_copy(
        dummy_dir / layout, layout, out / f'eval_only_{layout}'
    )
  written['real_json'] = out / 'real.json'
  written['real_json'].write_text(json.dumps(real_entries(manifest)))
  written['train_list'] = out / 'train_2_per_class.txt'
  written['train_list'].write_text('\n'.join(train_list(manifest, 2)) + '\n')
  written['classes'] = out / 'classes.txt'
  written['classes'].write_text('n03126707\nn01440764\nn03710721\n')
  return written


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--dummy_dir', default='dummy_data')
  parser.add_argument('--out', required=True)
  args = parser.parse_args()
  for name, path in write_all(pathlib.Path(args.dummy_dir), pathlib.Path(args.out)).items():
    print(f'{name}: {path}')


if __name__ == '__main__':
  main()
