"""Seeded fake ImageNet downloads in three layouts, for tests and benchmarks.

One call writes the same images (byte for byte) as three complete `manual_dir`s:

* `archives/`: the official ILSVRC2012 tars (train tar of per-class tars, flat
  val tar, box tars, devkit with `meta.mat`);
* `kaggle/`: the Kaggle "ImageNet Object Localization Challenge" tree
  (`ILSVRC/Data/CLS-LOC/...`, `LOC_*.csv`, the 2015 devkit text files);
* `folders/`: extracted class folders (`train/<wnid>/`, `val/<wnid>/`) beside
  the official box and devkit archives.

Metadata always describes all 1,000 classes, with ILSVRC IDs given in a seeded
random order (never the sorted-WNID index); images exist for a few classes.
The `dummy` preset plants the quirks of real ImageNet (CMYK and grayscale
JPEGs, a PNG named `.JPEG`, broken box annotations, junk files); every planted
quirk and the expected normalised boxes are recorded in `manifest.json`.
The `realistic` preset writes real-sized JPEGs for benchmarks.

Usage:
  python -m imagenet_custom.testing.fake_imagenet --out DIR [--seed N]
      [--preset dummy|realistic] [--train-images N --val-images N --classes N]

Output is byte-identical for the same spec and seed (fixed tar metadata,
gzip mtime 0, sorted members, a fixed `meta.mat` header).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Sequence
import colorsys
import dataclasses
import gzip
import hashlib
import importlib.resources
import io
import json
import multiprocessing
import os
import pathlib
import shutil
import struct
import sys
import tarfile
import tempfile
import time
from typing import Any, BinaryIO

import numpy as np
from PIL import Image
import scipy.io

# --- Layouts and file names -------------------------------------------------

ARCHIVES = 'archives'
KAGGLE = 'kaggle'
FOLDERS = 'folders'
ALL_LAYOUTS = (ARCHIVES, KAGGLE, FOLDERS)
MANIFEST_NAME = 'manifest.json'
MANIFEST_VERSION = 1

TRAIN = 'train'
VAL = 'val'

TRAIN_TAR = 'ILSVRC2012_img_train.tar'
VAL_TAR = 'ILSVRC2012_img_val.tar'
BBOX_TRAIN_TAR = 'ILSVRC2012_bbox_train_v2.tar.gz'
BBOX_VAL_TAR = 'ILSVRC2012_bbox_val_v3.tgz'
DEVKIT_TAR = 'ILSVRC2012_devkit_t12.tar.gz'
DEVKIT_DATA = 'ILSVRC2012_devkit_t12/data'
META_MAT = 'meta.mat'
GROUND_TRUTH_2012 = 'ILSVRC2012_validation_ground_truth.txt'
BLACKLIST_2012 = 'ILSVRC2012_validation_blacklist.txt'

KAGGLE_IMAGES = 'ILSVRC/Data/CLS-LOC'
KAGGLE_ANNOTATIONS = 'ILSVRC/Annotations/CLS-LOC'
KAGGLE_IMAGE_SETS = 'ILSVRC/ImageSets/CLS-LOC'
KAGGLE_DEVKIT_DATA = 'ILSVRC/devkit/data'
KAGGLE_SYNSET_MAPPING = 'LOC_synset_mapping.txt'
KAGGLE_TRAIN_SOLUTION = 'LOC_train_solution.csv'
KAGGLE_VAL_SOLUTION = 'LOC_val_solution.csv'
KAGGLE_MAP_CLSLOC = 'map_clsloc.txt'
GROUND_TRUTH_2015 = 'ILSVRC2015_clsloc_validation_ground_truth.txt'
BLACKLIST_2015 = 'ILSVRC2015_clsloc_validation_blacklist.txt'
LOC_SOLUTION_HEADER = 'ImageId,PredictionString'

IMAGE_SUFFIX = '.JPEG'
ANNOTATION_SUFFIX = '.xml'
VAL_STEM_FORMAT = 'ILSVRC2012_val_{:08d}'
APPLE_DOUBLE_PREFIX = '._'
# `member_path` separator in manifest junk locations: `archive:member`.
MEMBER_SEPARATOR = ':'

# --- Classes ----------------------------------------------------------------

NUM_CLASSES = 1000
# Real facts planted on purpose: two pairs of classes share a name.
REAL_CLASS_WORDS = {
    'n01440764': 'tench, Tinca tinca',
    'n02012849': 'crane',
    'n03126707': 'crane',
    'n03710637': 'maillot',
    'n03710721': 'maillot, tank suit',
}
# A breed/common name used as `<name>` instead of the WNID in one train XML.
BREED_NAMES = {'n01440764': 'tench'}
# The real meta.mat has 1,860 synsets: 1,000 leaves and 860 inner nodes.
NUM_INNER_NODES = 20
FIRST_INNER_ID = NUM_CLASSES + 1
# Made-up WNIDs for the inner nodes (`n099990NN`), none an ILSVRC class.
INNER_WNID_BASE = 9_999_000
META_MAT_FIELDS = (
    'ILSVRC2012_ID', 'WNID', 'words', 'gloss', 'num_children', 'children',
    'wordnet_height', 'num_train_images',
)
# scipy.io.savemat writes the current time into the 116-byte text header.
MAT_HEADER_BYTES = 116
MAT_HEADER_TEXT = (
    b'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: fake_imagenet'
)

# --- Images -----------------------------------------------------------------

MODE_RGB = 'RGB'
MODE_L = 'L'
MODE_CMYK = 'CMYK'
MODE_PNG = 'PNG'
JPEG_QUALITY = 90
# Real train file numbers look like n01440764_10026: sparse, up to ~5 digits.
MIN_TRAIN_NUMBER_RANGE = 20_000
TRAIN_NUMBER_RANGE_FACTOR = 4
CLASS_COLOUR_SATURATION = 0.75
CLASS_COLOUR_VALUE = 0.85
# Dummy images: a class colour plus mild noise, so a tiny CNN can learn them.
DUMMY_LUMA_NOISE_STD = 12.0
DUMMY_CHROMA_NOISE_STD = 4.0
# Realistic images: strong noise sized so that a ~420x360 JPEG at quality 90
# is ~110 KB, like real ImageNet.
REALISTIC_LUMA_NOISE_SPAN = 176
REALISTIC_CHROMA_NOISE_SPAN = 32
REALISTIC_BASE_RANGE = (60, 196)

# --- Boxes and quirks -------------------------------------------------------

ANNOTATION_DATABASE = 'ILSVRC_2012'
ANNOTATION_DEPTH = 3
FILENAME_PLACEHOLDER = '%s'
SIZE_MISMATCH_SCALE = 2
OUTSIDE_OVERHANG = 9
OUTSIDE_BOX_WIDTH = 15
FLOAT_XMIN = 12.5
FLOAT_YMIN = 3.25
FLOAT_MARGIN = 4.5
SEVERAL_OBJECTS = 3
# Realistic preset: how many objects an annotated image holds, and how often.
REALISTIC_OBJECT_COUNTS = (1, 2, 3)
REALISTIC_OBJECT_WEIGHTS = (0.7, 0.2, 0.1)

QUIRK_CMYK = 'cmyk_jpeg'
QUIRK_PNG = 'png_named_jpeg'
QUIRK_GRAYSCALE = 'grayscale_jpeg'
QUIRK_SIZE_MISMATCH = 'annotation_size_differs_from_jpeg'
QUIRK_REVERSED = 'box_xmin_greater_than_xmax'
QUIRK_PARTLY_OUTSIDE = 'box_partly_outside'
QUIRK_ENTIRELY_OUTSIDE = 'box_entirely_outside'
QUIRK_FLOAT = 'float_coordinates'
QUIRK_FILENAME = 'filename_placeholder'
QUIRK_BREED_NAME = 'name_is_breed_not_wnid'
QUIRK_SEVERAL = 'several_objects'
QUIRK_ORPHAN = 'orphan_annotation'
QUIRK_JUNK = 'junk_file'
QUIRK_BLACKLISTED = 'blacklisted'

# --- Junk files -------------------------------------------------------------

DS_STORE = '.DS_Store'
THUMBS_DB = 'Thumbs.db'
DS_STORE_BYTES = b'\x00\x00\x00\x01Bud1' + bytes(56)
# An OLE2 compound file signature, as Thumbs.db starts.
THUMBS_DB_BYTES = bytes.fromhex('d0cf11e0a1b11ae1') + bytes(504)
# AppleDouble header: magic, version, "Mac OS X" filler, no entries.
APPLE_DOUBLE_BYTES = struct.pack(
    '>II16sH', 0x00051607, 0x00020000, b'Mac OS X        ', 0
)

# --- Archives ---------------------------------------------------------------

# 2012-05-01, about when ILSVRC2012 was released.
TAR_MTIME = 1_335_830_400
TAR_OWNER = 'root'
TAR_FILE_MODE = 0o644
TAR_DIR_MODE = 0o755
GZIP_LEVEL = 9

# --- Presets and execution --------------------------------------------------

PRESET_DUMMY = 'dummy'
PRESET_REALISTIC = 'realistic'
DUMMY_CLASS_SIZES = (
    ('n01440764', 10),
    ('n01530575', 9),
    ('n02012849', 10),
    ('n03126707', 8),
    ('n03710637', 1),
    ('n03710721', 3),
)
DUMMY_NUM_VAL = 24
DUMMY_NUM_BLACKLISTED = 3
DUMMY_SIDE_RANGE = (40, 64)
DUMMY_TRAIN_BOX_FRACTION = 0.5
DEFAULT_REALISTIC_TRAIN = 18_000
DEFAULT_REALISTIC_VAL = 2_000
DEFAULT_REALISTIC_CLASSES = 100
REALISTIC_WIDTH_RANGE = (340, 500)
REALISTIC_HEIGHT_RANGE = (290, 430)
REALISTIC_TRAIN_BOX_FRACTION = 0.4
# 1,762 of the 50,000 real val images are blacklisted.
REAL_BLACKLIST_FRACTION = 1762 / 50_000
MAX_VAL_IMAGES = 50_000
# Real classes hold 732 to 1,300 train images: relative sizes 0.56 to 1.
REALISTIC_CLASS_WEIGHT_RANGE = (0.56, 1.0)
REALISTIC_CMYK_TRAIN = 3
REALISTIC_CMYK_VAL = 1
REALISTIC_PNG_TRAIN = 1
# Classes the realistic preset always includes (when it has room).
REALISTIC_PINNED_WNIDS = tuple(sorted(REAL_CLASS_WORDS))
# Below this many images, rendering in one process is faster than a pool.
PARALLEL_THRESHOLD = 500
RENDER_BATCH_PER_WORKER = 64
POOL_START_METHOD = 'spawn'
# Separate random streams derived from the seed (a stable purpose code each).
CSV_ORDER_STREAM = 1


@dataclasses.dataclass(frozen=True)
class FakeSpec:
  """What to generate.

  Attributes:
    seed: seed of every random choice; same spec and seed, same bytes.
    class_sizes: `(wnid, number of train images)` for the classes that have
      images.
    num_val: val images, numbered 1..num_val.
    num_blacklisted: how many of them the devkit blacklists.
    width_range: inclusive range of image widths in pixels.
    height_range: inclusive range of image heights in pixels.
    train_box_fraction: share of train images that get a box annotation (all
      val images get one).
    realistic: real-sized noisy JPEGs and only a few CMYK/PNG quirks, instead
      of tiny class-coloured images with every quirk planted.
    layouts: which of `archives`, `kaggle`, `folders` to write.
  """

  seed: int
  class_sizes: tuple[tuple[str, int], ...]
  num_val: int
  num_blacklisted: int
  width_range: tuple[int, int]
  height_range: tuple[int, int]
  train_box_fraction: float
  realistic: bool = False
  layouts: tuple[str, ...] = ALL_LAYOUTS

  @property
  def preset(self) -> str:
    """`dummy` or `realistic`."""
    return PRESET_REALISTIC if self.realistic else PRESET_DUMMY

  @property
  def num_train(self) -> int:
    """Total train images."""
    return sum(size for _, size in self.class_sizes)


@dataclasses.dataclass(frozen=True)
class BoxObject:
  """One `<object>` as written in the XML (pixels, maybe broken)."""

  name: str
  xmin: float
  ymin: float
  xmax: float
  ymax: float


@dataclasses.dataclass(frozen=True)
class AnnotationPlan:
  """One Pascal-VOC-like box annotation as it will be written.

  Attributes:
    folder: `<folder>` (the WNID for train, `val` for val).
    filename: `<filename>`: the image stem, or `%s` as in some real files.
    width: `<size><width>`, which may differ from the JPEG's width.
    height: `<size><height>`.
    objects: the boxes.
  """

  folder: str
  filename: str
  width: int
  height: int
  objects: tuple[BoxObject, ...]


@dataclasses.dataclass(frozen=True)
class ImagePlan:
  """Everything needed to render one image and describe it.

  Attributes:
    file_name: `<wnid>_<N>.JPEG` or `ILSVRC2012_val_%08d.JPEG`.
    wnid: the image's class.
    split: `train` or `val`.
    val_index: the 1-based val number, None for train.
    blacklisted: whether the devkit blacklists it.
    planted: `RGB`, `L`, `CMYK` (JPEG modes) or `PNG` (PNG data).
    width: pixels.
    height: pixels.
    colour: the class's base colour.
    noise_seed: seed of this image's pixel noise.
    realistic: render real-sized noisy content.
    annotation: its box annotation, if any.
    quirks: the planted quirks.
  """

  file_name: str
  wnid: str
  split: str
  val_index: int | None
  blacklisted: bool
  planted: str
  width: int
  height: int
  colour: tuple[int, int, int]
  noise_seed: int
  realistic: bool
  annotation: AnnotationPlan | None = None
  quirks: tuple[str, ...] = ()

  @property
  def stem(self) -> str:
    """The file name without `.JPEG`."""
    return self.file_name.removesuffix(IMAGE_SUFFIX)


@dataclasses.dataclass(frozen=True)
class ClassInfo:
  """One of the 1,000 classes as the devkits describe it."""

  wnid: str
  ilsvrc_id: int
  words: str
  gloss: str

  @property
  def name(self) -> str:
    """The first of the comma-separated words, e.g. `maillot`."""
    return self.words.split(',')[0].strip()


@dataclasses.dataclass(frozen=True)
class InnerNode:
  """A non-leaf synset of `meta.mat` (ID above 1,000)."""

  wnid: str
  ilsvrc_id: int
  children: tuple[int, ...]
  wordnet_height: int
  num_train_images: int


@dataclasses.dataclass(frozen=True)
class OrphanAnnotation:
  """A train annotation whose image does not exist."""

  wnid: str
  stem: str
  annotation: AnnotationPlan


@dataclasses.dataclass(frozen=True)
class JunkFile:
  """A junk file in a layout directory (not inside an archive)."""

  layout: str
  path: str
  content: bytes


@dataclasses.dataclass(frozen=True)
class DatasetPlan:
  """The full seeded plan; writing it involves no more random choices.

  Attributes:
    spec: what was asked for.
    classes: the 1,000 classes in sorted WNID order.
    inner_nodes: the non-leaf synsets of `meta.mat`.
    train: train images sorted by WNID then file name.
    val: val images by val number.
    orphans: annotations without an image.
    junk: junk files written into layout directories.
    apple_double_train: train file whose `._` twin is put in its class tar.
    apple_double_val: val file whose `._` twin is put in the val tar.
  """

  spec: FakeSpec
  classes: tuple[ClassInfo, ...]
  inner_nodes: tuple[InnerNode, ...]
  train: tuple[ImagePlan, ...]
  val: tuple[ImagePlan, ...]
  orphans: tuple[OrphanAnnotation, ...]
  junk: tuple[JunkFile, ...]
  apple_double_train: str | None
  apple_double_val: str | None


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


# === Presets =================================================================


def dummy_spec(seed: int = 0) -> FakeSpec:
  """The small preset whose output is checked in as `dummy_data/`.

  Args:
    seed: the generator seed.

  Returns:
    ~40 train images in 6 classes (sizes 1 to 10), 24 val images, 3
    blacklisted, 40-64 px per side, every quirk planted.
  """
  return FakeSpec(
      seed=seed,
      class_sizes=DUMMY_CLASS_SIZES,
      num_val=DUMMY_NUM_VAL,
      num_blacklisted=DUMMY_NUM_BLACKLISTED,
      width_range=DUMMY_SIDE_RANGE,
      height_range=DUMMY_SIDE_RANGE,
      train_box_fraction=DUMMY_TRAIN_BOX_FRACTION,
  )


def realistic_spec(
    num_train: int = DEFAULT_REALISTIC_TRAIN,
    num_val: int = DEFAULT_REALISTIC_VAL,
    num_classes: int = DEFAULT_REALISTIC_CLASSES,
    seed: int = 0,
    layouts: tuple[str, ...] = ALL_LAYOUTS,
) -> FakeSpec:
  """A benchmark preset: real-sized JPEGs in many classes.

  Args:
    num_train: total train images, split unevenly over the classes.
    num_val: val images.
    num_classes: classes with images (the crane and maillot pairs and
      n01440764 first, then seeded random others).
    seed: the generator seed.
    layouts: which layouts to write.

  Returns:
    The spec.

  Raises:
    ValueError: impossible counts.
  """
  if not 1 <= num_classes <= NUM_CLASSES:
    raise ValueError(
        f'num_classes must be in 1..{NUM_CLASSES}, not {num_classes}'
    )
  if num_train < num_classes:
    raise ValueError(
        f'num_train ({num_train}) must be at least num_classes ({num_classes})'
    )
  if not 1 <= num_val <= MAX_VAL_IMAGES:
    raise ValueError(f'num_val must be in 1..{MAX_VAL_IMAGES}, not {num_val}')
  rng = np.random.default_rng(seed)
  wnids = _pick_realistic_classes(rng, num_classes)
  sizes = _split_count(rng, num_train, len(wnids))
  return FakeSpec(
      seed=seed,
      class_sizes=tuple(zip(wnids, sizes)),
      num_val=num_val,
      num_blacklisted=round(num_val * REAL_BLACKLIST_FRACTION),
      width_range=REALISTIC_WIDTH_RANGE,
      height_range=REALISTIC_HEIGHT_RANGE,
      train_box_fraction=REALISTIC_TRAIN_BOX_FRACTION,
      realistic=True,
      layouts=layouts,
  )


def _pick_realistic_classes(
    rng: np.random.Generator, num_classes: int
) -> list[str]:
  """Chooses the classes that get images, pinned classes first.

  Args:
    rng: the random stream.
    num_classes: how many.

  Returns:
    Sorted WNIDs.
  """
  pinned = list(REALISTIC_PINNED_WNIDS[:num_classes])
  others = [wnid for wnid in all_wnids() if wnid not in pinned]
  extra = rng.choice(len(others), size=num_classes - len(pinned), replace=False)
  return sorted(pinned + [others[i] for i in extra])


def _split_count(
    rng: np.random.Generator, total: int, parts: int
) -> list[int]:
  """Splits `total` into `parts` uneven positive sizes, as real classes vary.

  Args:
    rng: the random stream.
    total: the sum wanted.
    parts: how many sizes.

  Returns:
    Sizes, each at least 1, summing to `total`.
  """
  weights = rng.uniform(*REALISTIC_CLASS_WEIGHT_RANGE, size=parts)
  extra = total - parts
  shares = weights / weights.sum() * extra
  sizes = np.floor(shares).astype(int)
  remainder = extra - int(sizes.sum())
  largest_fractions = np.argsort(sizes - shares, kind='stable')[:remainder]
  sizes[largest_fractions] += 1
  return [int(size) + 1 for size in sizes]


# === Planning ================================================================


def all_wnids() -> tuple[str, ...]:
  """The 1,000 ILSVRC2012 WNIDs, sorted, from the package's `wnids.txt`.

  Returns:
    The WNIDs.
  """
  text = (
      importlib.resources.files('imagenet_custom')
      .joinpath('wnids.txt')
      .read_text()
  )
  wnids = tuple(line.strip() for line in text.splitlines() if line.strip())
  if len(wnids) != NUM_CLASSES or list(wnids) != sorted(set(wnids)):
    raise ValueError('imagenet_custom/wnids.txt is not 1,000 sorted WNIDs')
  return wnids


def plan_dataset(spec: FakeSpec) -> DatasetPlan:
  """Makes every random choice of a fake download from the spec's seed.

  Args:
    spec: what to generate.

  Returns:
    The plan.

  Raises:
    ValueError: the spec names unknown classes, or is too small to hold the
      dummy quirks.
  """
  _check_spec(spec)
  rng = np.random.default_rng(spec.seed)
  classes = _plan_classes(rng)
  colours = _class_colours(spec)
  train = _plan_train_images(rng, spec, colours)
  val = _plan_val_images(rng, spec, colours)
  train = _annotate_some(rng, train, spec.train_box_fraction)
  val = _annotate_some(rng, val, 1.0)
  orphans: tuple[OrphanAnnotation, ...] = ()
  if spec.realistic:
    train, val = _plant_realistic_formats(rng, train, val)
  else:
    train = _plant_train_format_quirks(rng, train)
    train = _plant_train_box_quirks(rng, train)
    val = _plant_val_quirks(rng, val)
    orphans = (_plan_orphan(rng, train),)
  return DatasetPlan(
      spec=spec,
      classes=classes,
      inner_nodes=_plan_inner_nodes(classes, spec),
      train=tuple(train),
      val=tuple(val),
      orphans=orphans,
      junk=() if spec.realistic else _plan_junk(spec, train, val),
      apple_double_train=None if spec.realistic else train[0].file_name,
      apple_double_val=None if spec.realistic else val[0].file_name,
  )


def _check_spec(spec: FakeSpec) -> None:
  """Raises ValueError for a spec that cannot be generated.

  Args:
    spec: the spec.
  """
  known = set(all_wnids())
  unknown = [wnid for wnid, _ in spec.class_sizes if wnid not in known]
  if unknown:
    raise ValueError(f'not ILSVRC2012 WNIDs: {unknown}')
  if any(size < 1 for _, size in spec.class_sizes) or not spec.class_sizes:
    raise ValueError('every class needs at least one train image')
  if not 1 <= spec.num_val <= MAX_VAL_IMAGES:
    raise ValueError(f'num_val must be in 1..{MAX_VAL_IMAGES}')
  if not 0 <= spec.num_blacklisted <= spec.num_val:
    raise ValueError('num_blacklisted must be in 0..num_val')
  bad_layouts = set(spec.layouts) - set(ALL_LAYOUTS)
  if bad_layouts or not spec.layouts:
    raise ValueError(f'layouts must be a subset of {ALL_LAYOUTS}')


def _plan_classes(rng: np.random.Generator) -> tuple[ClassInfo, ...]:
  """Gives the 1,000 WNIDs seeded-random ILSVRC IDs and names.

  Args:
    rng: the random stream.

  Returns:
    The classes in sorted WNID order; IDs 1..1000 are a random permutation.
  """
  ids = rng.permutation(NUM_CLASSES) + 1
  classes = []
  for wnid, ilsvrc_id in zip(all_wnids(), ids):
    words = REAL_CLASS_WORDS.get(
        wnid, f'synthetic class {ilsvrc_id}, fake synset {ilsvrc_id}'
    )
    gloss = f'a made-up class for testing ({wnid})'
    classes.append(ClassInfo(wnid, int(ilsvrc_id), words, gloss))
  return tuple(classes)


def _plan_inner_nodes(
    classes: Sequence[ClassInfo], spec: FakeSpec
) -> tuple[InnerNode, ...]:
  """Builds a small fake hierarchy above the leaves for `meta.mat`.

  Node `FIRST_INNER_ID` is the root; each other inner node holds the leaves
  whose ILSVRC ID falls in its residue class.

  Args:
    classes: the 1,000 leaves.
    spec: the spec (for the leaves' train image counts).

  Returns:
    The inner nodes, by ID.
  """
  sizes = dict(spec.class_sizes)
  groups = NUM_INNER_NODES - 1
  children: list[list[int]] = [[] for _ in range(groups)]
  images = [0] * groups
  for info in sorted(classes, key=lambda c: c.ilsvrc_id):
    group = (info.ilsvrc_id - 1) % groups
    children[group].append(info.ilsvrc_id)
    images[group] += sizes.get(info.wnid, 0)
  root = InnerNode(
      wnid=f'n{INNER_WNID_BASE:08d}',
      ilsvrc_id=FIRST_INNER_ID,
      children=tuple(
          range(FIRST_INNER_ID + 1, FIRST_INNER_ID + NUM_INNER_NODES)
      ),
      wordnet_height=2,
      num_train_images=spec.num_train,
  )
  nodes = [root]
  for group in range(groups):
    nodes.append(
        InnerNode(
            wnid=f'n{INNER_WNID_BASE + group + 1:08d}',
            ilsvrc_id=FIRST_INNER_ID + group + 1,
            children=tuple(children[group]),
            wordnet_height=1,
            num_train_images=images[group],
        )
    )
  return tuple(nodes)


def _class_colours(spec: FakeSpec) -> dict[str, tuple[int, int, int]]:
  """A distinct base colour per class with images (evenly spread hues).

  Args:
    spec: the spec.

  Returns:
    RGB colour by WNID.
  """
  colours = {}
  num_classes = len(spec.class_sizes)
  for index, (wnid, _) in enumerate(sorted(spec.class_sizes)):
    hue = index / num_classes
    rgb = colorsys.hsv_to_rgb(hue, CLASS_COLOUR_SATURATION, CLASS_COLOUR_VALUE)
    colours[wnid] = tuple(round(channel * 255) for channel in rgb)
  return colours


def _random_size(
    rng: np.random.Generator, spec: FakeSpec
) -> tuple[int, int]:
  """Draws an image size from the spec's ranges.

  Args:
    rng: the random stream.
    spec: the spec.

  Returns:
    `(width, height)`.
  """
  width = int(rng.integers(spec.width_range[0], spec.width_range[1] + 1))
  height = int(rng.integers(spec.height_range[0], spec.height_range[1] + 1))
  return width, height


def _plan_train_images(
    rng: np.random.Generator,
    spec: FakeSpec,
    colours: dict[str, tuple[int, int, int]],
) -> list[ImagePlan]:
  """Plans the train images: sparse file numbers, sizes, noise seeds.

  Args:
    rng: the random stream.
    spec: the spec.
    colours: base colour by WNID.

  Returns:
    Plain RGB images, sorted by WNID then file name.
  """
  images = []
  for wnid, size in sorted(spec.class_sizes):
    number_range = max(MIN_TRAIN_NUMBER_RANGE, TRAIN_NUMBER_RANGE_FACTOR * size)
    numbers = rng.choice(number_range, size=size, replace=False) + 1
    names = sorted(f'{wnid}_{number}{IMAGE_SUFFIX}' for number in numbers)
    for file_name in names:
      width, height = _random_size(rng, spec)
      images.append(
          ImagePlan(
              file_name=file_name,
              wnid=wnid,
              split=TRAIN,
              val_index=None,
              blacklisted=False,
              planted=MODE_RGB,
              width=width,
              height=height,
              colour=colours[wnid],
              noise_seed=int(rng.integers(2**63)),
              realistic=spec.realistic,
          )
      )
  return images


def _plan_val_labels(
    rng: np.random.Generator, wnids: Sequence[str], num_val: int
) -> list[str]:
  """Draws val labels from the classes with images, each at least once.

  Args:
    rng: the random stream.
    wnids: the classes with images.
    num_val: how many labels.

  Returns:
    The label of val image 1, 2, ...
  """
  first = list(wnids)[:num_val]
  rest = rng.choice(len(wnids), size=num_val - len(first))
  labels = first + [wnids[i] for i in rest]
  return [labels[i] for i in rng.permutation(num_val)]


def _plan_val_images(
    rng: np.random.Generator,
    spec: FakeSpec,
    colours: dict[str, tuple[int, int, int]],
) -> list[ImagePlan]:
  """Plans the val images `ILSVRC2012_val_%08d.JPEG`, numbered from 1.

  Args:
    rng: the random stream.
    spec: the spec.
    colours: base colour by WNID.

  Returns:
    Plain RGB images by val number, some blacklisted.
  """
  wnids = sorted(wnid for wnid, _ in spec.class_sizes)
  labels = _plan_val_labels(rng, wnids, spec.num_val)
  drawn = rng.choice(spec.num_val, size=spec.num_blacklisted, replace=False)
  blacklist = {int(n) + 1 for n in drawn}
  images = []
  for index, wnid in enumerate(labels, start=1):
    width, height = _random_size(rng, spec)
    images.append(
        ImagePlan(
            file_name=VAL_STEM_FORMAT.format(index) + IMAGE_SUFFIX,
            wnid=wnid,
            split=VAL,
            val_index=index,
            blacklisted=index in blacklist,
            planted=MODE_RGB,
            width=width,
            height=height,
            colour=colours[wnid],
            noise_seed=int(rng.integers(2**63)),
            realistic=spec.realistic,
            quirks=(QUIRK_BLACKLISTED,) if index in blacklist else (),
        )
    )
  return images


def _random_box(
    rng: np.random.Generator, width: int, height: int, name: str
) -> BoxObject:
  """Draws a box inside a `width` x `height` frame, integer pixel corners.

  Args:
    rng: the random stream.
    width: frame width.
    height: frame height.
    name: the object's `<name>`.

  Returns:
    A box covering at least a quarter of each side.
  """
  xmin = int(rng.integers(0, width // 2))
  ymin = int(rng.integers(0, height // 2))
  xmax = int(rng.integers(xmin + width // 4, width))
  ymax = int(rng.integers(ymin + height // 4, height))
  return BoxObject(name, xmin, ymin, xmax, ymax)


def _new_annotation(
    rng: np.random.Generator, image: ImagePlan, num_objects: int
) -> AnnotationPlan:
  """A clean annotation for `image`, sized like the image.

  Args:
    rng: the random stream.
    image: the image.
    num_objects: how many boxes.

  Returns:
    The annotation.
  """
  folder = image.wnid if image.split == TRAIN else VAL
  objects = tuple(
      _random_box(rng, image.width, image.height, image.wnid)
      for _ in range(num_objects)
  )
  return AnnotationPlan(folder, image.stem, image.width, image.height, objects)


def _annotate_some(
    rng: np.random.Generator, images: list[ImagePlan], fraction: float
) -> list[ImagePlan]:
  """Gives a seeded `fraction` of the images a clean box annotation.

  Realistic images get 1 to 3 boxes, dummy images one.

  Args:
    rng: the random stream.
    images: the images.
    fraction: share to annotate.

  Returns:
    The images, some with an annotation.
  """
  count = round(len(images) * fraction)
  drawn = rng.choice(len(images), size=count, replace=False)
  chosen = {int(i) for i in drawn}
  annotated = []
  for index, image in enumerate(images):
    if index in chosen:
      num_objects = 1
      if image.realistic:
        num_objects = int(
            rng.choice(REALISTIC_OBJECT_COUNTS, p=REALISTIC_OBJECT_WEIGHTS)
        )
      image = dataclasses.replace(
          image, annotation=_new_annotation(rng, image, num_objects)
      )
    annotated.append(image)
  return annotated


def _pick(
    rng: np.random.Generator,
    images: Sequence[ImagePlan],
    quirk: str,
    needs_annotation: bool = False,
    wnids: Iterable[str] | None = None,
) -> int:
  """Chooses an image with no quirk yet (never a blacklisted one).

  Args:
    rng: the random stream.
    images: the candidates.
    quirk: the quirk to plant, for the error message.
    needs_annotation: only consider annotated images.
    wnids: only consider these classes.

  Returns:
    The chosen index.

  Raises:
    ValueError: no image qualifies (the spec is too small).
  """
  allowed = None if wnids is None else set(wnids)
  candidates = [
      index
      for index, image in enumerate(images)
      if not image.quirks
      and (image.annotation is not None or not needs_annotation)
      and (allowed is None or image.wnid in allowed)
  ]
  if not candidates:
    raise ValueError(f'no image left to plant {quirk!r}: the spec is too small')
  return candidates[int(rng.integers(len(candidates)))]


def _with_quirk(image: ImagePlan, quirk: str, **changes: Any) -> ImagePlan:
  """Returns `image` with `changes` applied and `quirk` recorded.

  Args:
    image: the image.
    quirk: the quirk name.
    **changes: fields to replace.

  Returns:
    The new image plan.
  """
  return dataclasses.replace(image, quirks=image.quirks + (quirk,), **changes)


def _plant_train_format_quirks(
    rng: np.random.Generator, train: list[ImagePlan]
) -> list[ImagePlan]:
  """Makes one train image CMYK, one PNG named `.JPEG`, one grayscale.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The images with the quirks planted.
  """
  train = list(train)
  for quirk, planted in (
      (QUIRK_CMYK, MODE_CMYK),
      (QUIRK_PNG, MODE_PNG),
      (QUIRK_GRAYSCALE, MODE_L),
  ):
    index = _pick(rng, train, quirk)
    train[index] = _with_quirk(train[index], quirk, planted=planted)
  return train


def _replace_objects(
    annotation: AnnotationPlan, *objects: BoxObject, **changes: Any
) -> AnnotationPlan:
  """Returns `annotation` with new objects (and other fields) replaced.

  Args:
    annotation: the annotation.
    *objects: the new objects; the old ones are kept if none are given.
    **changes: other fields to replace.

  Returns:
    The new annotation.
  """
  if objects:
    changes['objects'] = objects
  return dataclasses.replace(annotation, **changes)


def _plant_train_box_quirks(
    rng: np.random.Generator, train: list[ImagePlan]
) -> list[ImagePlan]:
  """Breaks some train annotations the way real ones are broken.

  Plants: a `<size>` twice the JPEG's, xmin > xmax, a box entirely outside
  (dropped after clipping), `<filename>%s</filename>`, a breed `<name>`, and
  an image with several objects.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The images with the quirks planted.
  """
  train = list(train)

  index = _pick(rng, train, QUIRK_SIZE_MISMATCH, needs_annotation=True)
  image = train[index]
  width = image.width * SIZE_MISMATCH_SCALE
  height = image.height * SIZE_MISMATCH_SCALE
  box = _random_box(rng, width, height, image.wnid)
  annotation = _replace_objects(
      image.annotation, box, width=width, height=height
  )
  train[index] = _with_quirk(image, QUIRK_SIZE_MISMATCH, annotation=annotation)

  index = _pick(rng, train, QUIRK_REVERSED, needs_annotation=True)
  image = train[index]
  box = image.annotation.objects[0]
  reversed_box = dataclasses.replace(box, xmin=box.xmax, xmax=box.xmin)
  annotation = _replace_objects(image.annotation, reversed_box)
  train[index] = _with_quirk(image, QUIRK_REVERSED, annotation=annotation)

  index = _pick(rng, train, QUIRK_ENTIRELY_OUTSIDE, needs_annotation=True)
  image = train[index]
  left = image.annotation.width + OUTSIDE_OVERHANG
  bottom = image.annotation.height // 2
  outside = BoxObject(image.wnid, left, 0, left + OUTSIDE_BOX_WIDTH, bottom)
  annotation = _replace_objects(
      image.annotation, *image.annotation.objects, outside
  )
  train[index] = _with_quirk(
      image, QUIRK_ENTIRELY_OUTSIDE, annotation=annotation
  )

  index = _pick(rng, train, QUIRK_FILENAME, needs_annotation=True)
  image = train[index]
  annotation = _replace_objects(image.annotation, filename=FILENAME_PLACEHOLDER)
  train[index] = _with_quirk(image, QUIRK_FILENAME, annotation=annotation)

  index = _pick(rng, train, QUIRK_BREED_NAME, wnids=BREED_NAMES)
  image = train[index]
  breed = BREED_NAMES[image.wnid]
  if image.annotation is None:
    annotation = _new_annotation(rng, image, 1)
    image = dataclasses.replace(image, annotation=annotation)
  named = tuple(
      dataclasses.replace(box, name=breed) for box in image.annotation.objects
  )
  annotation = _replace_objects(image.annotation, *named)
  train[index] = _with_quirk(image, QUIRK_BREED_NAME, annotation=annotation)

  index = _pick(rng, train, QUIRK_SEVERAL, needs_annotation=True)
  image = train[index]
  annotation = _new_annotation(rng, image, SEVERAL_OBJECTS)
  train[index] = _with_quirk(image, QUIRK_SEVERAL, annotation=annotation)
  return train


def _plant_val_quirks(
    rng: np.random.Generator, val: list[ImagePlan]
) -> list[ImagePlan]:
  """Plants val quirks on non-blacklisted images.

  Plants: a CMYK JPEG, a grayscale JPEG, float coordinates (`12.5`) and a box
  partly outside `<size>` (clipped to [0, 1]).

  Args:
    rng: the random stream.
    val: the val images (all annotated).

  Returns:
    The images with the quirks planted.
  """
  val = list(val)
  for quirk, planted in ((QUIRK_CMYK, MODE_CMYK), (QUIRK_GRAYSCALE, MODE_L)):
    index = _pick(rng, val, quirk)
    val[index] = _with_quirk(val[index], quirk, planted=planted)

  index = _pick(rng, val, QUIRK_FLOAT, needs_annotation=True)
  image = val[index]
  box = BoxObject(
      image.wnid,
      FLOAT_XMIN,
      FLOAT_YMIN,
      image.width - FLOAT_MARGIN,
      image.height - FLOAT_MARGIN,
  )
  annotation = _replace_objects(image.annotation, box)
  val[index] = _with_quirk(image, QUIRK_FLOAT, annotation=annotation)

  index = _pick(rng, val, QUIRK_PARTLY_OUTSIDE, needs_annotation=True)
  image = val[index]
  box = image.annotation.objects[0]
  overhanging = dataclasses.replace(box, xmax=image.width + OUTSIDE_OVERHANG)
  annotation = _replace_objects(image.annotation, overhanging)
  val[index] = _with_quirk(image, QUIRK_PARTLY_OUTSIDE, annotation=annotation)
  return val


def _plan_orphan(
    rng: np.random.Generator, train: Sequence[ImagePlan]
) -> OrphanAnnotation:
  """An annotation for a train image of the first class that does not exist.

  Args:
    rng: the random stream.
    train: the train images.

  Returns:
    The orphan annotation.
  """
  wnid = train[0].wnid
  used = {image.stem for image in train}
  number_range = max(
      MIN_TRAIN_NUMBER_RANGE, TRAIN_NUMBER_RANGE_FACTOR * len(train)
  )
  stem = ''
  while not stem or stem in used:
    stem = f'{wnid}_{int(rng.integers(number_range)) + 1}'
  width, height = train[0].width, train[0].height
  box = _random_box(rng, width, height, wnid)
  return OrphanAnnotation(
      wnid, stem, AnnotationPlan(wnid, stem, width, height, (box,))
  )


def _plant_realistic_formats(
    rng: np.random.Generator, train: list[ImagePlan], val: list[ImagePlan]
) -> tuple[list[ImagePlan], list[ImagePlan]]:
  """Makes a few realistic images CMYK or PNG, as in real ImageNet.

  Args:
    rng: the random stream.
    train: the train images.
    val: the val images.

  Returns:
    `(train, val)` with the formats planted.
  """
  train, val = list(train), list(val)
  plants = (
      (train, QUIRK_CMYK, MODE_CMYK, REALISTIC_CMYK_TRAIN),
      (train, QUIRK_PNG, MODE_PNG, REALISTIC_PNG_TRAIN),
      (val, QUIRK_CMYK, MODE_CMYK, REALISTIC_CMYK_VAL),
  )
  for images, quirk, planted, count in plants:
    for _ in range(min(count, len(images) // 2)):
      index = _pick(rng, images, quirk)
      images[index] = _with_quirk(images[index], quirk, planted=planted)
  return train, val


def _plan_junk(
    spec: FakeSpec, train: Sequence[ImagePlan], val: Sequence[ImagePlan]
) -> tuple[JunkFile, ...]:
  """Junk files (`.DS_Store`, `Thumbs.db`, AppleDouble) in the directories.

  Args:
    spec: the spec (for its layouts).
    train: the train images.
    val: the val images.

  Returns:
    The junk files of the requested layouts.
  """
  first = train[0]
  twin = APPLE_DOUBLE_PREFIX + first.file_name
  junk = (
      JunkFile(KAGGLE, f'{KAGGLE_IMAGES}/{TRAIN}/{DS_STORE}', DS_STORE_BYTES),
      JunkFile(
          KAGGLE, f'{KAGGLE_IMAGES}/{TRAIN}/{first.wnid}/{twin}',
          APPLE_DOUBLE_BYTES,
      ),
      JunkFile(KAGGLE, f'{KAGGLE_IMAGES}/{VAL}/{THUMBS_DB}', THUMBS_DB_BYTES),
      JunkFile(FOLDERS, f'{TRAIN}/{DS_STORE}', DS_STORE_BYTES),
      JunkFile(FOLDERS, f'{TRAIN}/{first.wnid}/{twin}', APPLE_DOUBLE_BYTES),
      JunkFile(FOLDERS, f'{VAL}/{val[0].wnid}/{THUMBS_DB}', THUMBS_DB_BYTES),
      JunkFile(FOLDERS, f'{VAL}/{DS_STORE}', DS_STORE_BYTES),
  )
  return tuple(item for item in junk if item.layout in spec.layouts)


# === Rendering ===============================================================


def _dummy_pixels(rng: np.random.Generator, image: ImagePlan) -> np.ndarray:
  """Class colour plus mild seeded noise: small and easy to classify.

  Args:
    rng: the image's random stream.
    image: the image.

  Returns:
    `(height, width, 3)` uint8 pixels.
  """
  shape = (image.height, image.width)
  luma = rng.normal(0.0, DUMMY_LUMA_NOISE_STD, size=shape + (1,))
  chroma = rng.normal(0.0, DUMMY_CHROMA_NOISE_STD, size=shape + (3,))
  pixels = np.asarray(image.colour, dtype=np.float64) + luma + chroma
  return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _realistic_pixels(
    rng: np.random.Generator, image: ImagePlan
) -> np.ndarray:
  """Class-tinted strong noise that compresses like a real photo's size.

  Args:
    rng: the image's random stream.
    image: the image.

  Returns:
    `(height, width, 3)` uint8 pixels.
  """
  shape = (image.height, image.width)
  low, high = REALISTIC_BASE_RANGE
  base = low + np.asarray(image.colour, dtype=np.int16) * (high - low) // 255
  luma_half = REALISTIC_LUMA_NOISE_SPAN // 2
  chroma_half = REALISTIC_CHROMA_NOISE_SPAN // 2
  luma = rng.integers(-luma_half, luma_half, size=shape + (1,), dtype=np.int16)
  chroma = rng.integers(
      -chroma_half, chroma_half, size=shape + (3,), dtype=np.int16
  )
  return np.clip(base + luma + chroma, 0, 255).astype(np.uint8)


def _encode(pixels: np.ndarray, planted: str) -> bytes:
  """Encodes RGB pixels as the planted format.

  Args:
    pixels: `(height, width, 3)` uint8.
    planted: `RGB`, `L` or `CMYK` for a JPEG in that mode, `PNG` for PNG.

  Returns:
    The file bytes.
  """
  image = Image.fromarray(pixels)
  buffer = io.BytesIO()
  if planted == MODE_PNG:
    image.save(buffer, format='PNG')
  else:
    image.convert(planted).save(
        buffer, format='JPEG', quality=JPEG_QUALITY, optimize=False,
        progressive=False,
    )
  return buffer.getvalue()


def render_image(image: ImagePlan) -> bytes:
  """Renders one planned image. Deterministic; safe to run in a worker.

  Args:
    image: the plan.

  Returns:
    The file bytes.
  """
  rng = np.random.default_rng(image.noise_seed)
  if image.realistic:
    pixels = _realistic_pixels(rng, image)
  else:
    pixels = _dummy_pixels(rng, image)
  return _encode(pixels, image.planted)


def _batches(
    images: Sequence[ImagePlan], size: int
) -> list[Sequence[ImagePlan]]:
  """Cuts `images` into consecutive batches.

  Args:
    images: the images.
    size: batch size.

  Returns:
    The batches, in order.
  """
  return [images[start : start + size] for start in range(0, len(images), size)]


def _render_stream(
    images: Sequence[ImagePlan], workers: int
) -> Iterator[tuple[ImagePlan, bytes]]:
  """Renders images in order, in a process pool when `workers` > 1.

  At most two batches are in memory: the one being written and the one being
  rendered.

  Args:
    images: the images, in writing order.
    workers: processes to render with.

  Yields:
    `(plan, bytes)` in the order of `images`.
  """
  if workers <= 1:
    for image in images:
      yield image, render_image(image)
    return
  batches = _batches(images, workers * RENDER_BATCH_PER_WORKER)
  context = multiprocessing.get_context(POOL_START_METHOD)
  with context.Pool(workers) as pool:
    pending = pool.map_async(render_image, batches[0])
    for number, batch in enumerate(batches):
      rendered = pending.get()
      if number + 1 < len(batches):
        pending = pool.map_async(render_image, batches[number + 1])
      yield from zip(batch, rendered)


# === Archives and files ======================================================


def _tar_info(name: str, size: int, directory: bool = False) -> tarfile.TarInfo:
  """A tar header with fixed time, owner and mode.

  Args:
    name: member name.
    size: member size in bytes.
    directory: a directory entry rather than a file.

  Returns:
    The header.
  """
  info = tarfile.TarInfo(name)
  info.size = 0 if directory else size
  info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
  info.mode = TAR_DIR_MODE if directory else TAR_FILE_MODE
  info.mtime = TAR_MTIME
  info.uid = info.gid = 0
  info.uname = info.gname = TAR_OWNER
  return info


class _DeterministicTar:
  """Writes a tar (optionally gzipped) member by member, reproducibly."""

  def __init__(
      self, fileobj: BinaryIO, compress: bool, owns_file: bool
  ) -> None:
    self._file = fileobj
    self._owns_file = owns_file
    self._gzip = None
    if compress:
      self._gzip = gzip.GzipFile(
          filename='', mode='wb', fileobj=fileobj, compresslevel=GZIP_LEVEL,
          mtime=0,
      )
    self._tar = tarfile.open(
        fileobj=self._gzip or fileobj, mode='w', format=tarfile.GNU_FORMAT
    )

  @classmethod
  def create(
      cls, path: pathlib.Path, compress: bool = False
  ) -> _DeterministicTar:
    """Opens a new tar file at `path`.

    Args:
      path: where to write.
      compress: gzip it (gzip header mtime 0, no file name).

    Returns:
      The writer.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return cls(open(path, 'wb'), compress, owns_file=True)

  def add_bytes(self, name: str, data: bytes) -> None:
    """Adds a file member holding `data`."""
    self._tar.addfile(_tar_info(name, len(data)), io.BytesIO(data))

  def add_directory(self, name: str) -> None:
    """Adds a directory entry (`name` ends with `/`)."""
    self._tar.addfile(_tar_info(name, 0, directory=True))

  def add_stream(self, name: str, fileobj: BinaryIO, size: int) -> None:
    """Adds a file member copied from the next `size` bytes of `fileobj`."""
    self._tar.addfile(_tar_info(name, size), fileobj)

  def close(self) -> None:
    """Ends the tar (and gzip stream); closes the file if it opened it."""
    self._tar.close()
    if self._gzip is not None:
      self._gzip.close()
    if self._owns_file:
      self._file.close()

  def __enter__(self) -> _DeterministicTar:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


def _write_file(path: pathlib.Path, data: bytes) -> None:
  """Writes `data` to `path`, creating parent directories.

  Args:
    path: the file.
    data: its content.
  """
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(data)


class _ImageWriter:
  """Writes each rendered image into every requested layout as it arrives.

  Train images must arrive grouped by class: each class is collected in a
  temporary per-class tar, appended to the train tar when the class ends.
  """

  def __init__(self, out_dir: pathlib.Path, plan: DatasetPlan) -> None:
    self._out = out_dir
    self._layouts = plan.spec.layouts
    self._apple_double_train = plan.apple_double_train
    self._apple_double_val = plan.apple_double_val
    self._train_tar: _DeterministicTar | None = None
    self._val_tar: _DeterministicTar | None = None
    self._class_file: BinaryIO | None = None
    self._class_tar: _DeterministicTar | None = None
    self._class_wnid: str | None = None
    if ARCHIVES in self._layouts:
      self._train_tar = _DeterministicTar.create(out_dir / ARCHIVES / TRAIN_TAR)
      self._val_tar = _DeterministicTar.create(out_dir / ARCHIVES / VAL_TAR)

  def write(self, image: ImagePlan, data: bytes) -> None:
    """Writes one image everywhere it belongs.

    Args:
      image: its plan.
      data: its bytes.
    """
    if image.split == TRAIN:
      self._write_train(image, data)
    else:
      self._write_val(image, data)

  def _write_train(self, image: ImagePlan, data: bytes) -> None:
    """Writes a train image to its class tar and class folders."""
    if ARCHIVES in self._layouts:
      if image.wnid != self._class_wnid:
        self._finish_class_tar()
        self._start_class_tar(image.wnid)
      if image.file_name == self._apple_double_train:
        self._class_tar.add_bytes(
            APPLE_DOUBLE_PREFIX + image.file_name, APPLE_DOUBLE_BYTES
        )
      self._class_tar.add_bytes(image.file_name, data)
    relative = f'{image.wnid}/{image.file_name}'
    if KAGGLE in self._layouts:
      _write_file(self._out / KAGGLE / KAGGLE_IMAGES / TRAIN / relative, data)
    if FOLDERS in self._layouts:
      _write_file(self._out / FOLDERS / TRAIN / relative, data)

  def _write_val(self, image: ImagePlan, data: bytes) -> None:
    """Writes a val image to the val tar, Kaggle val and class folders."""
    if ARCHIVES in self._layouts:
      if image.file_name == self._apple_double_val:
        self._val_tar.add_bytes(
            APPLE_DOUBLE_PREFIX + image.file_name, APPLE_DOUBLE_BYTES
        )
      self._val_tar.add_bytes(image.file_name, data)
    if KAGGLE in self._layouts:
      _write_file(
          self._out / KAGGLE / KAGGLE_IMAGES / VAL / image.file_name, data
      )
    if FOLDERS in self._layouts:
      _write_file(
          self._out / FOLDERS / VAL / image.wnid / image.file_name, data
      )

  def _start_class_tar(self, wnid: str) -> None:
    """Starts collecting a class's images in a temporary tar."""
    self._class_file = tempfile.TemporaryFile(dir=self._out / ARCHIVES)
    self._class_tar = _DeterministicTar(
        self._class_file, compress=False, owns_file=False
    )
    self._class_wnid = wnid

  def _finish_class_tar(self) -> None:
    """Appends the current class tar, if any, to the train tar."""
    if self._class_tar is None:
      return
    self._class_tar.close()
    size = self._class_file.tell()
    self._class_file.seek(0)
    self._train_tar.add_stream(
        f'{self._class_wnid}.tar', self._class_file, size
    )
    self._class_file.close()
    self._class_file = self._class_tar = self._class_wnid = None

  def close(self) -> None:
    """Finishes the last class and closes the image tars."""
    self._finish_class_tar()
    for archive in (self._train_tar, self._val_tar):
      if archive is not None:
        archive.close()

  def __enter__(self) -> _ImageWriter:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


def _format_coordinate(value: float) -> str:
  """Writes a coordinate like real annotations: `12`, or `12.5` if fractional.

  Args:
    value: the coordinate.

  Returns:
    Its text.
  """
  return str(int(value)) if float(value).is_integer() else repr(float(value))


def annotation_xml(annotation: AnnotationPlan) -> bytes:
  """Writes an annotation exactly like the real ILSVRC box XMLs.

  Tab-indented, no XML declaration, no newline after `</annotation>`.

  Args:
    annotation: the annotation.

  Returns:
    The XML bytes.
  """
  lines = [
      '<annotation>',
      f'\t<folder>{annotation.folder}</folder>',
      f'\t<filename>{annotation.filename}</filename>',
      '\t<source>',
      f'\t\t<database>{ANNOTATION_DATABASE}</database>',
      '\t</source>',
      '\t<size>',
      f'\t\t<width>{annotation.width}</width>',
      f'\t\t<height>{annotation.height}</height>',
      f'\t\t<depth>{ANNOTATION_DEPTH}</depth>',
      '\t</size>',
      '\t<segmented>0</segmented>',
  ]
  for box in annotation.objects:
    lines += [
        '\t<object>',
        f'\t\t<name>{box.name}</name>',
        '\t\t<pose>Unspecified</pose>',
        '\t\t<truncated>0</truncated>',
        '\t\t<difficult>0</difficult>',
        '\t\t<bndbox>',
        f'\t\t\t<xmin>{_format_coordinate(box.xmin)}</xmin>',
        f'\t\t\t<ymin>{_format_coordinate(box.ymin)}</ymin>',
        f'\t\t\t<xmax>{_format_coordinate(box.xmax)}</xmax>',
        f'\t\t\t<ymax>{_format_coordinate(box.ymax)}</ymax>',
        '\t\t</bndbox>',
        '\t</object>',
    ]
  lines.append('</annotation>')
  return '\n'.join(lines).encode('ascii')


def _train_annotations(
    plan: DatasetPlan,
) -> list[tuple[str, str, AnnotationPlan]]:
  """All train annotations, orphans included.

  Args:
    plan: the plan.

  Returns:
    `(wnid, stem, annotation)` sorted by WNID then stem.
  """
  items = [
      (image.wnid, image.stem, image.annotation)
      for image in plan.train
      if image.annotation is not None
  ]
  items += [
      (orphan.wnid, orphan.stem, orphan.annotation) for orphan in plan.orphans
  ]
  return sorted(items, key=lambda item: (item[0], item[1]))


def _val_annotations(
    plan: DatasetPlan,
) -> list[tuple[str, str, AnnotationPlan]]:
  """All val annotations.

  Args:
    plan: the plan.

  Returns:
    `(wnid, stem, annotation)` by val number.
  """
  return [
      (image.wnid, image.stem, image.annotation)
      for image in plan.val
      if image.annotation is not None
  ]


def _write_bbox_train_tar(path: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes `ILSVRC2012_bbox_train_v2.tar.gz`: `<wnid>/<wnid>_<N>.xml`.

  Args:
    path: the archive to write.
    plan: the plan.
  """
  with _DeterministicTar.create(path, compress=True) as archive:
    folder = None
    for wnid, stem, annotation in _train_annotations(plan):
      if wnid != folder:
        archive.add_directory(f'{wnid}/')
        folder = wnid
      archive.add_bytes(
          f'{wnid}/{stem}{ANNOTATION_SUFFIX}', annotation_xml(annotation)
      )


def _write_bbox_val_tar(path: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes `ILSVRC2012_bbox_val_v3.tgz`: `val/ILSVRC2012_val_%08d.xml`.

  Args:
    path: the archive to write.
    plan: the plan.
  """
  with _DeterministicTar.create(path, compress=True) as archive:
    archive.add_directory(f'{VAL}/')
    for _, stem, annotation in _val_annotations(plan):
      archive.add_bytes(
          f'{VAL}/{stem}{ANNOTATION_SUFFIX}', annotation_xml(annotation)
      )


def _mat_uint(value: int) -> np.ndarray:
  """A MATLAB 1x1 uint16, or uint32 past 65,535 (reads back as a Python int).

  Args:
    value: the number.

  Returns:
    The array.
  """
  dtype = np.uint16 if value <= np.iinfo(np.uint16).max else np.uint32
  return np.array([[value]], dtype=dtype)


def _mat_ids(values: Sequence[int]) -> np.ndarray:
  """A MATLAB 1xN uint16 row (0x0 when empty, as leaves' `children`).

  Args:
    values: the numbers.

  Returns:
    The array.
  """
  if not values:
    return np.zeros((0, 0), dtype=np.uint16)
  return np.array([list(values)], dtype=np.uint16)


def meta_mat_bytes(plan: DatasetPlan) -> bytes:
  """Writes the devkit's `meta.mat`: a 1-column struct array `synsets`.

  The 1,000 leaves come first in ILSVRC ID order (as in the real file), then
  the inner nodes. The text header's timestamp is replaced by a fixed text.

  Args:
    plan: the plan.

  Returns:
    The MATLAB v5 file bytes.
  """
  sizes = dict(plan.spec.class_sizes)
  leaves = sorted(plan.classes, key=lambda info: info.ilsvrc_id)
  synsets = np.zeros(
      (len(leaves) + len(plan.inner_nodes), 1),
      dtype=[(field, object) for field in META_MAT_FIELDS],
  )
  for row, info in enumerate(leaves):
    synsets[row, 0] = (
        _mat_uint(info.ilsvrc_id), info.wnid, info.words, info.gloss,
        _mat_uint(0), _mat_ids(()), _mat_uint(0),
        _mat_uint(sizes.get(info.wnid, 0)),
    )
  for row, node in enumerate(plan.inner_nodes, start=len(leaves)):
    words = f'synthetic group {node.ilsvrc_id}'
    synsets[row, 0] = (
        _mat_uint(node.ilsvrc_id), node.wnid, words,
        f'a made-up group of classes ({node.wnid})',
        _mat_uint(len(node.children)), _mat_ids(node.children),
        _mat_uint(node.wordnet_height), _mat_uint(node.num_train_images),
    )
  buffer = io.BytesIO()
  scipy.io.savemat(buffer, {'synsets': synsets}, format='5')
  data = buffer.getvalue()
  header = MAT_HEADER_TEXT.ljust(MAT_HEADER_BYTES, b' ')
  return header + data[MAT_HEADER_BYTES:]


def _ground_truth_text(plan: DatasetPlan) -> str:
  """Line i is the ILSVRC ID (not the sorted index) of val image i.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  ids = {info.wnid: info.ilsvrc_id for info in plan.classes}
  return ''.join(f'{ids[image.wnid]}\n' for image in plan.val)


def _blacklist_text(plan: DatasetPlan) -> str:
  """Blacklisted 1-based val numbers, sorted, one a line.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(
      f'{image.val_index}\n' for image in plan.val if image.blacklisted
  )


def _write_devkit_tar(path: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes `ILSVRC2012_devkit_t12.tar.gz` (meta.mat, ground truth, blacklist).

  Args:
    path: the archive to write.
    plan: the plan.
  """
  top = DEVKIT_DATA.split('/')[0]
  with _DeterministicTar.create(path, compress=True) as archive:
    archive.add_directory(f'{top}/')
    archive.add_directory(f'{DEVKIT_DATA}/')
    archive.add_bytes(f'{DEVKIT_DATA}/{META_MAT}', meta_mat_bytes(plan))
    archive.add_bytes(
        f'{DEVKIT_DATA}/{GROUND_TRUTH_2012}',
        _ground_truth_text(plan).encode('ascii'),
    )
    archive.add_bytes(
        f'{DEVKIT_DATA}/{BLACKLIST_2012}', _blacklist_text(plan).encode('ascii')
    )


def _write_official_metadata(
    directory: pathlib.Path, plan: DatasetPlan
) -> None:
  """Writes the box and devkit archives shared by `archives/` and `folders/`.

  Args:
    directory: the layout directory.
    plan: the plan.
  """
  _write_bbox_train_tar(directory / BBOX_TRAIN_TAR, plan)
  _write_bbox_val_tar(directory / BBOX_VAL_TAR, plan)
  _write_devkit_tar(directory / DEVKIT_TAR, plan)


def _write_text(path: pathlib.Path, text: str) -> None:
  """Writes ASCII text with `\\n` line ends, creating parent directories.

  Args:
    path: the file.
    text: its content.
  """
  _write_file(path, text.encode('ascii'))


def _synset_mapping_text(plan: DatasetPlan) -> str:
  """Kaggle `LOC_synset_mapping.txt`: `wnid words`, sorted WNID order.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(f'{info.wnid} {info.words}\n' for info in plan.classes)


def _map_clsloc_text(plan: DatasetPlan) -> str:
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


def _loc_solution_text(
    items: Sequence[tuple[str, str, AnnotationPlan]], seed: int
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
  rows = []
  for wnid, stem, annotation in items:
    boxes = ''.join(
        f'{wnid} {_format_coordinate(box.xmin)} {_format_coordinate(box.ymin)}'
        f' {_format_coordinate(box.xmax)} {_format_coordinate(box.ymax)} '
        for box in annotation.objects
    )
    rows.append(f'{stem},{boxes}\n')
  order = rng.permutation(len(rows))
  return LOC_SOLUTION_HEADER + '\n' + ''.join(rows[i] for i in order)


def _train_cls_text(plan: DatasetPlan) -> str:
  """Kaggle `train_cls.txt`: `<wnid>/<stem> <k>`, k counting from 1.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  stems = sorted(f'{image.wnid}/{image.stem}' for image in plan.train)
  return ''.join(f'{stem} {k}\n' for k, stem in enumerate(stems, start=1))


def _val_list_text(plan: DatasetPlan) -> str:
  """Kaggle `val.txt`: `<stem> <k>`, k counting from 1.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(
      f'{image.stem} {k}\n' for k, image in enumerate(plan.val, start=1)
  )


def _write_kaggle_annotations(root: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes `ILSVRC/Annotations/CLS-LOC/{train/<wnid>,val}/<stem>.xml`.

  Args:
    root: the Kaggle layout directory.
    plan: the plan.
  """
  annotations = root / KAGGLE_ANNOTATIONS
  for wnid, stem, annotation in _train_annotations(plan):
    _write_file(
        annotations / TRAIN / wnid / f'{stem}{ANNOTATION_SUFFIX}',
        annotation_xml(annotation),
    )
  for _, stem, annotation in _val_annotations(plan):
    _write_file(
        annotations / VAL / f'{stem}{ANNOTATION_SUFFIX}',
        annotation_xml(annotation),
    )


def _write_kaggle_metadata(root: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes every Kaggle file except the images.

  Args:
    root: the Kaggle layout directory.
    plan: the plan.
  """
  seed = plan.spec.seed
  _write_kaggle_annotations(root, plan)
  image_sets = root / KAGGLE_IMAGE_SETS
  _write_text(image_sets / 'train_cls.txt', _train_cls_text(plan))
  _write_text(image_sets / 'val.txt', _val_list_text(plan))
  _write_text(root / KAGGLE_SYNSET_MAPPING, _synset_mapping_text(plan))
  _write_text(
      root / KAGGLE_TRAIN_SOLUTION,
      _loc_solution_text(_train_annotations(plan), seed),
  )
  _write_text(
      root / KAGGLE_VAL_SOLUTION,
      _loc_solution_text(_val_annotations(plan), seed),
  )
  devkit = root / KAGGLE_DEVKIT_DATA
  _write_text(devkit / KAGGLE_MAP_CLSLOC, _map_clsloc_text(plan))
  _write_text(devkit / GROUND_TRUTH_2015, _ground_truth_text(plan))
  _write_text(devkit / BLACKLIST_2015, _blacklist_text(plan))


def _write_junk(out_dir: pathlib.Path, plan: DatasetPlan) -> None:
  """Writes the junk files planned in layout directories.

  Args:
    out_dir: the output directory.
    plan: the plan.
  """
  for junk in plan.junk:
    _write_file(out_dir / junk.layout / junk.path, junk.content)


# === Manifest ================================================================


def _clip_unit(value: float) -> float:
  """Clips to [0, 1].

  Args:
    value: a normalised coordinate.

  Returns:
    The clipped value.
  """
  return min(1.0, max(0.0, value))


def expected_boxes(annotation: AnnotationPlan) -> list[list[float]]:
  """The boxes a correct reader must produce from what was planted.

  Coordinates are divided by the annotation's `<size>` (not the JPEG's),
  reversed min/max are swapped, values clipped to [0, 1], and boxes with no
  area left are dropped.

  Args:
    annotation: the planted annotation.

  Returns:
    `[ymin, xmin, ymax, xmax]` per kept box.
  """
  boxes = []
  for box in annotation.objects:
    xmin, xmax = sorted((box.xmin, box.xmax))
    ymin, ymax = sorted((box.ymin, box.ymax))
    normalised = [
        _clip_unit(ymin / annotation.height),
        _clip_unit(xmin / annotation.width),
        _clip_unit(ymax / annotation.height),
        _clip_unit(xmax / annotation.width),
    ]
    if normalised[2] > normalised[0] and normalised[3] > normalised[1]:
      boxes.append(normalised)
  return boxes


def _image_record(image: ImagePlan, data: bytes) -> ImageRecord:
  """Describes one written image for the manifest.

  Args:
    image: its plan.
    data: its bytes.

  Returns:
    The record.
  """
  boxes = None
  if image.annotation is not None:
    boxes = expected_boxes(image.annotation)
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


def _junk_locations(plan: DatasetPlan) -> list[str]:
  """Where every junk file is, archive members included.

  Args:
    plan: the plan.

  Returns:
    Sorted `layout/path` strings; members as `layout/archive:member`.
  """
  locations = [f'{junk.layout}/{junk.path}' for junk in plan.junk]
  if ARCHIVES in plan.spec.layouts and plan.apple_double_train:
    (wnid,) = {
        image.wnid
        for image in plan.train
        if image.file_name == plan.apple_double_train
    }
    locations.append(
        MEMBER_SEPARATOR.join((
            f'{ARCHIVES}/{TRAIN_TAR}', f'{wnid}.tar',
            APPLE_DOUBLE_PREFIX + plan.apple_double_train,
        ))
    )
  if ARCHIVES in plan.spec.layouts and plan.apple_double_val:
    locations.append(
        MEMBER_SEPARATOR.join((
            f'{ARCHIVES}/{VAL_TAR}', APPLE_DOUBLE_PREFIX + plan.apple_double_val
        ))
    )
  return sorted(locations)


def _counts(plan: DatasetPlan) -> dict[str, Any]:
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
      'num_train_annotations': len(_train_annotations(plan)),
      'num_train_annotated_images': sum(
          image.annotation is not None for image in plan.train
      ),
      'num_val_annotations': len(_val_annotations(plan)),
      'num_inner_synsets': len(plan.inner_nodes),
  }


def _quirk_index(
    plan: DatasetPlan, records: Sequence[ImageRecord], junk: Sequence[str]
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
    quirks[QUIRK_ORPHAN] = [orphan.stem for orphan in plan.orphans]
  if junk:
    quirks[QUIRK_JUNK] = list(junk)
  return {quirk: sorted(names) for quirk, names in sorted(quirks.items())}


def _build_manifest(
    plan: DatasetPlan, records: list[ImageRecord]
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
  _write_text(path, text + '\n')


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
  """Reads a manifest written by `write_fake_imagenet`.

  Args:
    path: the `manifest.json` file (or the directory holding it).

  Returns:
    The manifest.
  """
  path = pathlib.Path(path)
  if path.is_dir():
    path = path / MANIFEST_NAME
  fields = json.loads(path.read_text())
  fields['images'] = [ImageRecord(**image) for image in fields['images']]
  return Manifest(**fields)


# === Entry points ============================================================


def _prepare_out_dir(
    out_dir: pathlib.Path, layouts: Sequence[str], overwrite: bool
) -> None:
  """Makes sure generated paths do not exist, removing them if `overwrite`.

  Only the layout directories and the manifest are touched; other files
  (such as a README) are left alone.

  Args:
    out_dir: the output directory.
    layouts: the layouts about to be written.
    overwrite: remove existing output instead of refusing.

  Raises:
    FileExistsError: output exists and `overwrite` is False.
  """
  targets = [out_dir / name for name in ALL_LAYOUTS + (MANIFEST_NAME,)]
  existing = [path for path in targets if path.exists()]
  if existing and not overwrite:
    raise FileExistsError(
        f'{", ".join(map(str, existing))} already exist; pass overwrite=True'
        ' (--overwrite) to replace them'
    )
  for path in existing:
    if path.is_dir():
      shutil.rmtree(path)
    else:
      path.unlink()
  for layout in layouts:
    (out_dir / layout).mkdir(parents=True)


def _default_workers(num_images: int) -> int:
  """One process for small outputs, all CPUs for large ones.

  Args:
    num_images: how many images will be rendered.

  Returns:
    The number of worker processes.
  """
  if num_images < PARALLEL_THRESHOLD:
    return 1
  return os.cpu_count() or 1


def write_fake_imagenet(
    out_dir: str | os.PathLike[str],
    spec: FakeSpec,
    workers: int | None = None,
    overwrite: bool = False,
) -> Manifest:
  """Writes a fake ImageNet download in the spec's layouts, plus its manifest.

  Images are rendered (in a process pool for large specs) and streamed to
  every layout one at a time; no layout is held in memory.

  Args:
    out_dir: where to write `archives/`, `kaggle/`, `folders/` and
      `manifest.json`.
    spec: what to generate.
    workers: rendering processes; by default 1 for small specs and one per
      CPU for large ones. The output does not depend on it.
    overwrite: replace existing layouts and manifest in `out_dir`.

  Returns:
    The manifest, also written to `out_dir/manifest.json`.
  """
  out = pathlib.Path(out_dir)
  plan = plan_dataset(spec)
  _prepare_out_dir(out, spec.layouts, overwrite)
  images = plan.train + plan.val
  if workers is None:
    workers = _default_workers(len(images))
  records = []
  with _ImageWriter(out, plan) as writer:
    for image, data in _render_stream(images, workers):
      writer.write(image, data)
      records.append(_image_record(image, data))
  for layout in (ARCHIVES, FOLDERS):
    if layout in spec.layouts:
      _write_official_metadata(out / layout, plan)
  if KAGGLE in spec.layouts:
    _write_kaggle_metadata(out / KAGGLE, plan)
  _write_junk(out, plan)
  manifest = _build_manifest(plan, records)
  save_manifest(manifest, out / MANIFEST_NAME)
  return manifest


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  """Parses the command line.

  Args:
    argv: arguments without the program name (None: `sys.argv[1:]`).

  Returns:
    The parsed arguments.
  """
  parser = argparse.ArgumentParser(
      prog='python -m imagenet_custom.testing.fake_imagenet',
      description='Writes a seeded fake ImageNet download in three layouts.',
  )
  parser.add_argument('--out', required=True, type=pathlib.Path)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument(
      '--preset', choices=(PRESET_DUMMY, PRESET_REALISTIC), default=PRESET_DUMMY
  )
  parser.add_argument(
      '--train-images', type=int,
      help=f'realistic only (default {DEFAULT_REALISTIC_TRAIN})',
  )
  parser.add_argument(
      '--val-images', type=int,
      help=f'realistic only (default {DEFAULT_REALISTIC_VAL})',
  )
  parser.add_argument(
      '--classes', type=int,
      help=f'realistic only (default {DEFAULT_REALISTIC_CLASSES})',
  )
  parser.add_argument(
      '--layouts', default=','.join(ALL_LAYOUTS),
      help='comma-separated subset of ' + ','.join(ALL_LAYOUTS),
  )
  parser.add_argument('--workers', type=int, help='rendering processes')
  parser.add_argument(
      '--overwrite', action='store_true',
      help='replace existing layouts and manifest in --out',
  )
  args = parser.parse_args(argv)
  sizes = (args.train_images, args.val_images, args.classes)
  if args.preset == PRESET_DUMMY and any(size is not None for size in sizes):
    parser.error(
        '--train-images/--val-images/--classes need --preset realistic'
    )
  return args


def _spec_from_args(args: argparse.Namespace) -> FakeSpec:
  """Builds the spec the command line asks for.

  Args:
    args: parsed arguments.

  Returns:
    The spec.
  """
  layouts = tuple(layout for layout in args.layouts.split(',') if layout)
  if args.preset == PRESET_DUMMY:
    return dataclasses.replace(dummy_spec(args.seed), layouts=layouts)
  return realistic_spec(
      num_train=args.train_images or DEFAULT_REALISTIC_TRAIN,
      num_val=args.val_images or DEFAULT_REALISTIC_VAL,
      num_classes=args.classes or DEFAULT_REALISTIC_CLASSES,
      seed=args.seed,
      layouts=layouts,
  )


def _summary(manifest: Manifest, out_dir: pathlib.Path, seconds: float) -> str:
  """A one-paragraph report of what was written.

  Args:
    manifest: the manifest.
    out_dir: the output directory.
    seconds: how long it took.

  Returns:
    The text.
  """
  counts = manifest.counts
  return (
      f'Wrote {manifest.preset} fake ImageNet to {out_dir}'
      f' ({", ".join(manifest.layouts)}) in {seconds:.1f} s:'
      f' {counts["num_train_images"]} train images in'
      f' {counts["num_classes_with_images"]} classes,'
      f' {counts["num_val_images"]} val images'
      f' ({counts["num_val_blacklisted"]} blacklisted),'
      f' {counts["num_train_annotations"]} train and'
      f' {counts["num_val_annotations"]} val annotations.'
  )


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point.

  Args:
    argv: arguments without the program name.

  Returns:
    The exit status.
  """
  args = _parse_args(argv)
  spec = _spec_from_args(args)
  started = time.monotonic()
  manifest = write_fake_imagenet(
      args.out, spec, workers=args.workers, overwrite=args.overwrite
  )
  print(_summary(manifest, args.out, time.monotonic() - started))
  return 0


if __name__ == '__main__':
  sys.exit(main())
