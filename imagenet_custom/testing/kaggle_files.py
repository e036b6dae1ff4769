"""The Kaggle tree's files other than images: XMLs, CSVs, lists, devkit text."""

from __future__ import annotations

from collections.abc import Sequence
import pathlib

import numpy as np

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import names
from imagenet_custom.testing import official_archives
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import tars

# The random stream (beside the seed) that orders the LOC_*_solution.csv rows.
CSV_ORDER_STREAM = 1


def write_kaggle_metadata(
    root: pathlib.Path, plan: plan_types.DatasetPlan
) -> None:
  """Writes every Kaggle file except the images.

  Args:
    root: the Kaggle layout directory.
    plan: the plan.
  """
  seed = plan.spec.seed
  _write_kaggle_annotations(root, plan)
  image_sets = root / names.KAGGLE_IMAGE_SETS
  tars.write_text(image_sets / 'train_cls.txt', _train_cls_text(plan))
  tars.write_text(image_sets / 'val.txt', _val_list_text(plan))
  tars.write_text(root / names.KAGGLE_SYNSET_MAPPING, _synset_mapping_text(plan))
  tars.write_text(
      root / names.KAGGLE_TRAIN_SOLUTION,
      loc_solution_text(box_annotations.train_annotations(plan), seed),
  )
  tars.write_text(
      root / names.KAGGLE_VAL_SOLUTION,
      loc_solution_text(box_annotations.val_annotations(plan), seed),
  )
  devkit = root / names.KAGGLE_DEVKIT_DATA
  tars.write_text(devkit / names.KAGGLE_MAP_CLSLOC, _map_clsloc_text(plan))
  tars.write_text(
      devkit / names.GROUND_TRUTH_2015,
      official_archives.ground_truth_text(plan),
  )
  tars.write_text(
      devkit / names.BLACKLIST_2015, official_archives.blacklist_text(plan)
  )


def _synset_mapping_text(plan: plan_types.DatasetPlan) -> str:
  """Kaggle `LOC_synset_mapping.txt`: `wnid words`, sorted WNID order.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(f'{info.wnid} {info.words}\n' for info in plan.classes)


def _map_clsloc_text(plan: plan_types.DatasetPlan) -> str:
  """2015 devkit `map_clsloc.txt`: `wnid id name` in ID order, `_` for spaces.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  by_id = sorted(plan.classes, key=lambda info: info.ilsvrc_id)
  return ''.join(
      f'{info.wnid} {info.ilsvrc_id} {info.name.replace(" ", "_")}\n'
      for info in by_id
  )


def loc_solution_text(
    items: Sequence[box_annotations.AnnotationItem], seed: int
) -> str:
  """Kaggle `LOC_*_solution.csv`: raw XML pixel boxes, rows in seeded order.

  Each row is `stem,` then `WNID xmin ymin xmax ymax ` per object (with the
  trailing space of the real file). The WNID is the image's class even where
  the XML's `<name>` is a breed name. Coordinates are as written in the XML.

  Args:
    items: `(wnid, stem, annotation)` of the annotated images.
    seed: the generator seed (rows are shuffled like the real files).

  Returns:
    The file text.
  """
  rng = np.random.default_rng([seed, CSV_ORDER_STREAM])
  coordinate = box_annotations.format_coordinate
  rows = []
  for wnid, stem, annotation in items:
    boxes = ''.join(
        f'{wnid} {coordinate(box.xmin)} {coordinate(box.ymin)}'
        f' {coordinate(box.xmax)} {coordinate(box.ymax)} '
        for box in annotation.objects
    )
    rows.append(f'{stem},{boxes}\n')
  order = rng.permutation(len(rows))
  return names.LOC_SOLUTION_HEADER + '\n' + ''.join(rows[i] for i in order)


def _train_cls_text(plan: plan_types.DatasetPlan) -> str:
  """Kaggle `train_cls.txt`: `<wnid>/<stem> <k>`, k counting from 1.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  stems = sorted(f'{image.wnid}/{image.stem}' for image in plan.train)
  return ''.join(f'{stem} {k}\n' for k, stem in enumerate(stems, start=1))


def _val_list_text(plan: plan_types.DatasetPlan) -> str:
  """Kaggle `val.txt`: `<stem> <k>`, k counting from 1.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(
      f'{image.stem} {k}\n' for k, image in enumerate(plan.val, start=1)
  )


def _write_kaggle_annotations(
    root: pathlib.Path, plan: plan_types.DatasetPlan
) -> None:
  """Writes `ILSVRC/Annotations/CLS-LOC/{train/<wnid>,val}/<stem>.xml`.

  Args:
    root: the Kaggle layout directory.
    plan: the plan.
  """
  xml_dir = root / names.KAGGLE_ANNOTATIONS
  for wnid, stem, annotation in box_annotations.train_annotations(plan):
    tars.write_file(
        xml_dir / 'train' / wnid / f'{stem}.xml',
        box_annotations.annotation_xml(annotation),
    )
  for _, stem, annotation in box_annotations.val_annotations(plan):
    tars.write_file(
        xml_dir / 'val' / f'{stem}.xml', box_annotations.annotation_xml(annotation)
    )
