"""The types of a fake download's plan: every random choice, made up front.

`planning.plan_dataset` fills a `DatasetPlan`; rendering and the layout
writers then read it and make no random choice of their own.
"""

from __future__ import annotations

import dataclasses

from imagenet_custom.testing import names
from imagenet_custom.testing import spec as spec_lib


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
    return self.file_name.removesuffix(names.IMAGE_SUFFIX)


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

  spec: spec_lib.FakeSpec
  classes: tuple[ClassInfo, ...]
  inner_nodes: tuple[InnerNode, ...]
  train: tuple[ImagePlan, ...]
  val: tuple[ImagePlan, ...]
  orphans: tuple[OrphanAnnotation, ...]
  junk: tuple[JunkFile, ...]
  apple_double_train: str | None
  apple_double_val: str | None
