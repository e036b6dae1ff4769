"""The benchmark's input: a seeded synthetic download, generated once.

It is written with the project's fake ImageNet generator
(`imagenet_custom.testing.fake_imagenet`) in the archive layout (and the
Kaggle tree when a contender needs it), and reused by later runs.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import importlib
import pathlib
import sys
import time
from types import ModuleType

from benchmarks.build import measuring

# Share of the images that are val images (real ImageNet: 50,000 of 1.33M,
# but a larger share exercises the val path at small scales).
VAL_SHARE = 0.1
MAX_VAL_IMAGES = 50_000
MAX_CLASSES = 100
SMALL_SIDE = 64
MB = measuring.MB

TRAIN_TAR = 'ILSVRC2012_img_train.tar'
VAL_TAR = 'ILSVRC2012_img_val.tar'
ARCHIVES = 'archives'
KAGGLE = 'kaggle'
MANIFEST = 'manifest.json'
TFDS_MANUAL = 'tfds_manual'


@dataclasses.dataclass(frozen=True)
class BenchInput:
  """A generated synthetic download.

  Attributes:
    root: the generator's output directory.
    small: 64x64 images instead of realistic ones.
    num_train: train images.
    num_val: val images.
    num_classes: classes with images.
    train_tar_bytes: size of `ILSVRC2012_img_train.tar`.
    val_tar_bytes: size of `ILSVRC2012_img_val.tar`.
  """

  root: pathlib.Path
  small: bool
  num_train: int
  num_val: int
  num_classes: int
  train_tar_bytes: int
  val_tar_bytes: int

  @property
  def archives(self) -> pathlib.Path:
    """The archive layout (`--manual_dir` of the archive builds)."""
    return self.root / ARCHIVES

  @property
  def kaggle(self) -> pathlib.Path:
    """The Kaggle tree."""
    return self.root / KAGGLE

  @property
  def tfds_manual(self) -> pathlib.Path:
    """A folder with only the two image tars (symlinks), for imagenet2012."""
    return self.root / TFDS_MANUAL

  @property
  def images(self) -> int:
    """Train + val images."""
    return self.num_train + self.num_val

  @property
  def archive_bytes(self) -> int:
    """The two image tars' size: the reference for bytes read."""
    return self.train_tar_bytes + self.val_tar_bytes


def load_generator(project_dir: pathlib.Path) -> ModuleType:
  """Imports the project's fake ImageNet generator.

  Args:
    project_dir: the checkout holding `imagenet_custom/testing/`.

  Returns:
    The `imagenet_custom.testing.fake_imagenet` module.
  """
  if str(project_dir) not in sys.path:
    sys.path.insert(0, str(project_dir))
  return importlib.import_module('imagenet_custom.testing.fake_imagenet')


def split_counts(images: int) -> tuple[int, int, int]:
  """How a total number of images is generated.

  Args:
    images: train + val images wanted.

  Returns:
    `(train, val, classes)`.
  """
  num_val = min(MAX_VAL_IMAGES, max(1, round(images * VAL_SHARE)))
  num_train = max(1, images - num_val)
  return num_train, num_val, min(MAX_CLASSES, num_train)


def input_dir(
    work_dir: pathlib.Path, images: int, small: bool, seed: int
) -> pathlib.Path:
  """Where the input of a scale is generated.

  Args:
    work_dir: the benchmark's work directory.
    images: total images.
    small: 64x64 images.
    seed: the generator seed.

  Returns:
    The directory.
  """
  kind = f'small{SMALL_SIDE}' if small else 'realistic'
  return work_dir / f'input-{kind}-{images}-seed{seed}'


def prepare_input(
    project_dir: pathlib.Path,
    work_dir: pathlib.Path,
    images: int,
    small: bool,
    seed: int,
    layouts: Sequence[str],
) -> BenchInput:
  """Generates a synthetic download, or reuses the one already in `work_dir`.

  Args:
    project_dir: the checkout whose generator is used.
    work_dir: the benchmark's work directory.
    images: total images (train + val).
    small: 64x64 images instead of realistic ~400x350 ones.
    seed: the generator seed.
    layouts: the layouts needed (`archives`, `kaggle`).

  Returns:
    The input.
  """
  root = input_dir(work_dir, images, small, seed)
  fake = load_generator(project_dir)
  complete = (root / MANIFEST).exists() and all(
      (root / layout).is_dir() for layout in layouts
  )
  if complete:
    print(f'Reusing the input in {root}', flush=True)
  else:
    num_train, num_val, num_classes = split_counts(images)
    spec = fake.realistic_spec(
        num_train=num_train, num_val=num_val, num_classes=num_classes,
        seed=seed, layouts=tuple(layouts),
    )
    if small:
      side = (SMALL_SIDE, SMALL_SIDE)
      spec = dataclasses.replace(spec, width_range=side, height_range=side)
    print(f'Generating {images:,} images in {root} ...', flush=True)
    started = time.monotonic()
    fake.write_fake_imagenet(root, spec, overwrite=True)
    print(f'  generated in {time.monotonic() - started:.0f} s', flush=True)
  counts = fake.load_manifest(root / MANIFEST).counts
  manual = root / TFDS_MANUAL
  manual.mkdir(exist_ok=True)
  for name in (TRAIN_TAR, VAL_TAR):
    link = manual / name
    if not link.is_symlink():
      link.symlink_to(root / ARCHIVES / name)
  return BenchInput(
      root=root,
      small=small,
      num_train=counts['num_train_images'],
      num_val=counts['num_val_images'],
      num_classes=counts['num_classes_with_images'],
      train_tar_bytes=(root / ARCHIVES / TRAIN_TAR).stat().st_size,
      val_tar_bytes=(root / ARCHIVES / VAL_TAR).stat().st_size,
  )


def input_summary(inp: BenchInput) -> str:
  """Describes an input's size.

  Args:
    inp: the input.

  Returns:
    Two or three lines of text.
  """
  kind = f'{SMALL_SIDE}x{SMALL_SIDE}' if inp.small else 'realistic ~400x350'
  usage = measuring.dir_usage
  lines = [
      f'Input: {inp.images:,} {kind} JPEGs ({inp.num_train:,} train in'
      f' {inp.num_classes} classes, {inp.num_val:,} val), seeded, in'
      f' {inp.root}',
      f'  archives: {TRAIN_TAR} {inp.train_tar_bytes / MB:,.1f} MB +'
      f' {VAL_TAR} {inp.val_tar_bytes / MB:,.1f} MB ='
      f' {inp.archive_bytes / MB:,.1f} MB'
      f' ({inp.archive_bytes / inp.images / 1024:.1f} KiB/image);'
      f' whole archives/ dir {usage(inp.archives) / MB:,.1f} MB on disk',
  ]
  if inp.kaggle.is_dir():
    lines.append(f'  kaggle/ tree {usage(inp.kaggle) / MB:,.1f} MB on disk')
  return '\n'.join(lines)
