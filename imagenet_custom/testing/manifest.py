"""`manifest.json`: what a fake download holds and what a reader must get.

Tests compare readers and builds with it: every image with its expected
boxes and planted quirks, the counts, the junk files, the class IDs.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import hashlib
import json
import os
import pathlib
from typing import Any

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import names
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import tars

MANIFEST_VERSION = 1


@dataclasses.dataclass
class ImageRecord:
  """One image as written, with what a reader must get out of it.

  Attributes:
    file_name: the file name in every layout.
    wnid: its class.
    split_source: `train` or `val`.
    val_index: 1-based val number (None for train).
    blacklisted: whether the devkit blacklists it.
    planted: `RGB`, `L`, `CMYK` (JPEG modes) or `PNG` (PNG data).
    width: pixels of the image itself.
    height: pixels.
    sha256: of the file's bytes (the same in every layout).
    boxes: expected `[ymin, xmin, ymax, xmax]` in [0, 1]; None when the image
      has no annotation (an annotation can also yield no box).
    quirks: planted quirks.
  """

  file_name: str
  wnid: str
  split_source: str
  val_index: int | None
  blacklisted: bool
  planted: str
  width: int
  height: int
  sha256: str
  boxes: list[list[float]] | None
  quirks: list[str]


@dataclasses.dataclass
class Manifest:
  """What a fake download holds, written as `manifest.json`.

  Attributes:
    version: manifest format version.
    preset: `dummy` or `realistic`.
    seed: the generator seed.
    layouts: the layout directories written.
    counts: totals (see `_counts`).
    images: every image, train then val.
    orphan_annotations: stems of train annotations without an image.
    junk_files: `layout/path` of junk files; archive members as
      `layout/archive:member[:member]`.
    ilsvrc_ids: the devkit's ILSVRC ID of each of the 1,000 WNIDs.
    class_names: first name of each WNID's words (e.g. `crane`).
    quirks: planted quirk -> file names (or junk locations) carrying it.
  """

  version: int
  preset: str
  seed: int
  layouts: list[str]
  counts: dict[str, Any]
  images: list[ImageRecord]
  orphan_annotations: list[str]
  junk_files: list[str]
  ilsvrc_ids: dict[str, int]
  class_names: dict[str, str]
  quirks: dict[str, list[str]]


def image_record(image: plan_types.ImagePlan, data: bytes) -> ImageRecord:
  """Describes one written image for the manifest.

  Args:
    image: its plan.
    data: its bytes.

  Returns:
    The record.
  """
  boxes = None
  if image.annotation is not None:
    boxes = box_annotations.expected_boxes(image.annotation)
  return ImageRecord(
      file_name=image.file_name,
      wnid=image.wnid,
      split_source=image.split,
      val_index=image.val_index,
      blacklisted=image.blacklisted,
      planted=image.planted,
      width=image.width,
      height=image.height,
      sha256=hashlib.sha256(data).hexdigest(),
      boxes=boxes,
      quirks=list(image.quirks),
  )


def _junk_locations(plan: plan_types.DatasetPlan) -> list[str]:
  """Where every junk file is, archive members included.

  Args:
    plan: the plan.

  Returns:
    Sorted `layout/path` strings; members as `layout/archive:member`.
  """
  locations = [f'{junk.layout}/{junk.path}' for junk in plan.junk]
  archives = names.ARCHIVES
  if archives in plan.spec.layouts and plan.apple_double_train:
    (wnid,) = {
        image.wnid
        for image in plan.train
        if image.file_name == plan.apple_double_train
    }
    locations.append(
        names.MEMBER_SEPARATOR.join((
            f'{archives}/{names.TRAIN_TAR}', f'{wnid}.tar',
            names.APPLE_DOUBLE_PREFIX + plan.apple_double_train,
        ))
    )
  if archives in plan.spec.layouts and plan.apple_double_val:
    locations.append(
        names.MEMBER_SEPARATOR.join((
            f'{archives}/{names.VAL_TAR}',
            names.APPLE_DOUBLE_PREFIX + plan.apple_double_val,
        ))
    )
  return sorted(locations)


def _counts(plan: plan_types.DatasetPlan) -> dict[str, Any]:
  """Totals that tests compare with the files.

  Args:
    plan: the plan.

  Returns:
    The counts.
  """
  per_class: dict[str, int] = {}
  for image in plan.train:
    per_class[image.wnid] = per_class.get(image.wnid, 0) + 1
  val_per_class: dict[str, int] = {}
  for image in plan.val:
    val_per_class[image.wnid] = val_per_class.get(image.wnid, 0) + 1
  return {
      'num_classes': len(plan.classes),
      'num_classes_with_images': len(per_class),
      'num_train_images': len(plan.train),
      'num_val_images': len(plan.val),
      'num_val_blacklisted': sum(image.blacklisted for image in plan.val),
      'train_images_per_class': per_class,
      'val_images_per_class': val_per_class,
      'num_train_annotations': len(box_annotations.train_annotations(plan)),
      'num_train_annotated_images': sum(
          image.annotation is not None for image in plan.train
      ),
      'num_val_annotations': len(box_annotations.val_annotations(plan)),
      'num_inner_synsets': len(plan.inner_nodes),
  }


def _quirk_index(
    plan: plan_types.DatasetPlan,
    records: Sequence[ImageRecord],
    junk: Sequence[str],
) -> dict[str, list[str]]:
  """Lists, per planted quirk, the file names that carry it.

  Args:
    plan: the plan.
    records: the image records.
    junk: junk file locations.

  Returns:
    Quirk -> sorted file names (annotation stems for orphans, locations for
    junk).
  """
  quirks: dict[str, list[str]] = {}
  for record in records:
    for quirk in record.quirks:
      quirks.setdefault(quirk, []).append(record.file_name)
  if plan.orphans:
    quirks['orphan_annotation'] = [orphan.stem for orphan in plan.orphans]
  if junk:
    quirks['junk_file'] = list(junk)
  return {
      quirk: sorted(carriers) for quirk, carriers in sorted(quirks.items())
  }


def build_manifest(
    plan: plan_types.DatasetPlan, records: list[ImageRecord]
) -> Manifest:
  """Assembles the manifest of a written plan.

  Args:
    plan: the plan.
    records: the image records, train then val.

  Returns:
    The manifest.
  """
  junk = _junk_locations(plan)
  return Manifest(
      version=MANIFEST_VERSION,
      preset=plan.spec.preset,
      seed=plan.spec.seed,
      layouts=list(plan.spec.layouts),
      counts=_counts(plan),
      images=records,
      orphan_annotations=[orphan.stem for orphan in plan.orphans],
      junk_files=junk,
      ilsvrc_ids={info.wnid: info.ilsvrc_id for info in plan.classes},
      class_names={info.wnid: info.name for info in plan.classes},
      quirks=_quirk_index(plan, records, junk),
  )


def save_manifest(manifest: Manifest, path: pathlib.Path) -> None:
  """Writes the manifest as stable, sorted JSON.

  Args:
    manifest: the manifest.
    path: the JSON file.
  """
  text = json.dumps(dataclasses.asdict(manifest), indent=1, sort_keys=True)
  tars.write_text(path, text + '\n')


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
  """Reads a manifest written by `write_fake_imagenet`.

  Args:
    path: the `manifest.json` file (or the directory holding it).

  Returns:
    The manifest.
  """
  path = pathlib.Path(path)
  if path.is_dir():
    path = path / names.MANIFEST_NAME
  fields = json.loads(path.read_text())
  fields['images'] = [ImageRecord(**image) for image in fields['images']]
  return Manifest(**fields)
