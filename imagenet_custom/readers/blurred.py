"""The face-blurred ImageNet (Yang et al. 2021), as image-net.org distributes it.

"A Study of Face Obfuscation in ImageNet" (ICML 2022,
github.com/princetonvisualai/imagenet-face-obfuscation) blurred the faces in
ILSVRC2012 and re-saved every image with PIL as `<stem>.jpg`. image-net.org
ships them as `train_blurred.tar.gz` and `val_blurred.tar.gz`
(https://image-net.org/data/ILSVRC/blurred/), which extract to
`train_blurred/<wnid>/<stem>.jpg` and `val_blurred/<wnid>/ILSVRC2012_val_N.jpg`:
val too is in class folders, so labels come from the folder names (and from
the devkit or `LOC_val_solution.csv` when they lie beside, which must agree).

Names: each image keeps its original name, `<stem>.JPEG`, as its key and
`file_name`. The train/validation split hashes these names, so an image goes
to the same side as in a build of the originals; only in a class that lost
images can the validation count (`round(0.2 n)`) differ by one.

Some originals have no blurred version (104, per the issue that asked for
this layout). They are counted in the build report, not fatal: val images
missing against the devkit's or CSV's labels, train images missing against
`train_cls.txt` (`<wnid>/<stem> <n>` a line, as in the Kaggle download's
`ILSVRC/ImageSets/CLS-LOC/`) when it lies beside; without it they cannot be
counted, and the report says so.

The archives are gzip-compressed tars: gzip cannot be read from the middle,
so reading one class would decompress everything before it. They are
detected, and the error asks to extract them in place.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
import functools

from absl import logging
from etils import epath

from imagenet_custom import metadata
from imagenet_custom.errors import InputError
from imagenet_custom.readers import devkit
from imagenet_custom.readers import folders
from imagenet_custom.readers.base import file_span
from imagenet_custom.readers.base import ImageSource
from imagenet_custom.readers.directories import list_directory
from imagenet_custom.readers.directories import read_head

TRAIN_DIR = 'train_blurred'
VAL_DIR = 'val_blurred'
TRAIN_ARCHIVE = 'train_blurred.tar.gz'
VAL_ARCHIVE = 'val_blurred.tar.gz'
# The reference list of all train images that makes missing ones countable.
TRAIN_REFERENCE = 'train_cls.txt'
BLURRED_SUFFIX = '.jpg'
ORIGINAL_SUFFIX = '.JPEG'


def original_name(blurred_name: str) -> str:
  """The original file name of a blurred image: `<stem>.jpg` -> `<stem>.JPEG`."""
  return metadata.file_stem(blurred_name) + ORIGINAL_SUFFIX


def parse_train_reference(text: str, source: str) -> frozenset[str]:
  """Parses `train_cls.txt`: one `<wnid>/<stem> <number>` a line.

  Args:
    text: the file's content.
    source: its path, for errors.

  Returns:
    The original file names (`<stem>.JPEG`) listed.

  Raises:
    InputError: a line is not `<wnid>/<stem> <number>`.
  """
  names = set()
  for line_number, line in enumerate(text.splitlines(), start=1):
    fields = line.split()
    if not fields:
      continue
    wnid, _, stem = fields[0].partition('/')
    if not stem or not metadata.is_wnid(wnid) or not stem.startswith(wnid):
      raise InputError(
          f'{source}, line {line_number}: {line!r} is not'
          ' `<wnid>/<wnid>_<n> <number>` (the format of the Kaggle'
          f' download\'s ILSVRC/ImageSets/CLS-LOC/{TRAIN_REFERENCE}).'
      )
    names.add(stem + ORIGINAL_SUFFIX)
  return frozenset(names)


class BlurredReader(folders.FolderReader):
  """Reads `train_blurred/<wnid>/*.jpg` and `val_blurred/<wnid>/*.jpg`."""

  layout = 'blurred'
  face_blurred = True
  train_dir = TRAIN_DIR
  val_dir = VAL_DIR
  help_text = f"""\
blurred (the face-blurred ImageNet from image-net.org, extracted):
     {TRAIN_DIR}/<wnid>/*.jpg (optional: evaluation-only without it) and
     {VAL_DIR}/<wnid>/*.jpg, from {TRAIN_ARCHIVE} and {VAL_ARCHIVE};
     {devkit.DEVKIT_2012} or {devkit.LOC_VAL_SOLUTION} beside them for
     the blacklist and to count missing val images, {TRAIN_REFERENCE} to
     count missing train images, and the box archives if you have them."""

  def __init__(self, root: epath.Path):
    super().__init__(root)
    packed = [
        archive
        for archive, folder in ((TRAIN_ARCHIVE, TRAIN_DIR), (VAL_ARCHIVE, VAL_DIR))
        if (root / archive).exists() and not (root / folder).is_dir()
    ]
    if packed:
      raise InputError(
          f'{root}: {" and ".join(packed)} must be extracted first. They are'
          ' gzip-compressed tars, which cannot be read from the middle, so'
          ' each class would decompress everything before it. Run `tar -xzf'
          f' {packed[0]}` in {root} (it makes {TRAIN_DIR}/ or {VAL_DIR}/;'
          ' the archive can then be deleted), or move the archive out of the'
          ' manual dir.'
      )

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return super().detect(root) or any(
        (root / archive).exists() for archive in (TRAIN_ARCHIVE, VAL_ARCHIVE)
    )

  def sources(self) -> dict[str, str]:
    found = super().sources()
    reference = self.root / TRAIN_REFERENCE
    if reference.exists():
      found['train reference list'] = str(reference)
    return found

  def _images(
      self, directory: epath.Path
  ) -> tuple[dict[str, epath.Path], tuple[str, ...]]:
    listing = list_directory(directory)
    files: dict[str, epath.Path] = {}
    junk = list(listing.junk)
    for name in listing.names:
      original = original_name(name)
      kept = files.get(original)
      if kept is not None:
        # Two files for one image: the `.jpg` is the blurred one.
        if name.endswith(BLURRED_SUFFIX):
          kept, files[original] = files[original], directory / name
        else:
          kept = directory / name
        logging.warning('%s: a second file for %s, ignored.', kept, original)
        junk.append(kept.name)
        continue
      files[original] = directory / name
    return dict(sorted(files.items())), tuple(junk)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    files, _ = self._images(self.root / TRAIN_DIR / wnid)
    for name in sorted(names):
      path = files[name]
      yield ImageSource(
          name, str(path), path.read_bytes, functools.partial(read_head, path),
          file_span(path),
      )

  def missing_images(self) -> tuple[str, ...]:
    """Originals without a blurred image (see the module docstring)."""
    missing = []
    reference = self.root / TRAIN_REFERENCE
    if reference.exists() and (self.root / TRAIN_DIR).is_dir():
      listed = parse_train_reference(reference.read_text(), str(reference))
      found = {
          name
          for wnid in self.train_classes().names
          for name in self.list_train_class(wnid).names
      }
      missing.extend(sorted(listed - found))
    found_val = {metadata.val_index(name) for name in self.list_val().names}
    labelled: set[int] = set()
    for source in self.val_metadata().label_sources:
      if not source.name.startswith(VAL_DIR):
        labelled.update(source.labels)
    missing.extend(
        f'ILSVRC2012_val_{number:08d}{ORIGINAL_SUFFIX}'
        for number in sorted(labelled - found_val)
    )
    return tuple(missing)

  def counts_missing_train(self) -> bool:
    """Whether missing train images can be counted (`train_cls.txt` is here)."""
    return (self.root / TRAIN_REFERENCE).exists()

