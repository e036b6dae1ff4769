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

The archives are read in place when they are not extracted (a split's
extracted folder wins when both are there): gzip cannot be read from the
middle, so the archive is indexed once (`tar_gz`: one pass that costs what
decompressing it costs, kept in an index file under the reader's
`cache_dir`), and each class or chunk of val images is then read from the
access point before it (`archives/tar_gz_tree.py`). The archive's folders are
listed with the same code as the extracted folders, and give byte-identical
shards. Val images are listed in archive order (by class folder), so that a
chunk of val images is one stretch of the archive.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
import dataclasses
import functools

from absl import logging
from etils import epath

from imagenet_custom.archives.base import file_span
from imagenet_custom.archives.tar_gz_tree import read_in_order
from imagenet_custom.archives.tar_gz_tree import TarGzTree
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts import folders
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.directories import list_directory
from imagenet_custom.layouts.directories import read_head

TRAIN_DIR = 'train_blurred'
VAL_DIR = 'val_blurred'
TRAIN_ARCHIVE = 'train_blurred.tar.gz'
VAL_ARCHIVE = 'val_blurred.tar.gz'
# The reference list of all train images that makes missing ones countable.
TRAIN_REFERENCE = 'train_cls.txt'
BLURRED_SUFFIX = '.jpg'
ORIGINAL_SUFFIX = '.JPEG'
ARCHIVE_OF = {TRAIN_DIR: TRAIN_ARCHIVE, VAL_DIR: VAL_ARCHIVE}
# Index files of the archives, under the reader's `cache_dir`.
INDEX_FOLDER = 'tar_gz_index'


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
blurred (the face-blurred ImageNet from image-net.org):
     {TRAIN_ARCHIVE} or its folder {TRAIN_DIR}/<wnid>/*.jpg (optional:
     evaluation-only without it) and {VAL_ARCHIVE} or {VAL_DIR}/<wnid>/*.jpg
     (archives read in place, not extracted); {devkit.DEVKIT_2012} or
     {devkit.LOC_VAL_SOLUTION} beside them for the blacklist and to count
     missing val images, {TRAIN_REFERENCE} to count missing train images,
     and the box archives if you have them."""

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return super().detect(root) or any(
        (root / archive).exists() for archive in ARCHIVE_OF.values()
    )

  def _archive(self, folder: str) -> epath.Path | None:
    """The archive a split is read from: None when its folder is extracted."""
    archive = self.root / ARCHIVE_OF[folder]
    if (self.root / folder).is_dir() or not archive.exists():
      return None
    return archive

  def _folder(self, name: str) -> epath.Path:
    archive = self._archive(name)
    if archive is None:
      return self.root / name
    index_dir = None if self.cache_dir is None else self.cache_dir / INDEX_FOLDER
    top = TarGzTree(archive, '', index_dir)
    if not (top / name).is_dir():
      held = ', '.join(child.name for child in list(top.iterdir())[:5]) or 'nothing'
      raise InputError(
          f'{archive}: expected the folder {name}/ inside (as the archive from'
          f' image-net.org holds), found at its top: {held}.'
      )
    return top / name  # A path the folder code lists alike.

  def sources(self) -> Sources:
    found = super().sources()
    images = {}
    for field, folder, extracted in (
        ('train_images', TRAIN_DIR, found.train_images),
        ('val_images', VAL_DIR, found.val_images),
    ):
      archive = self.root / ARCHIVE_OF[folder]
      if self._archive(folder) is not None:
        images[field] = str(archive)
      elif extracted is not None and archive.exists():
        logging.info('%s: reading the extracted %s/; %s is not read.', self.root, folder, archive.name)
    reference = self.root / TRAIN_REFERENCE
    if reference.exists():
      images['train_reference'] = str(reference)
    return dataclasses.replace(found, **images)

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
    files, _ = self._images(self._folder(TRAIN_DIR) / wnid)
    return _read(sorted((name, files[name]) for name in names))

  def list_val(self) -> Listing:
    """The val images; from an archive, in archive order (see the module docstring)."""
    files, junk = self._val_listing
    names = sorted(files)
    if self._archive(VAL_DIR) is not None:
      names.sort(key=lambda name: files[name][0].member().offset)
    return Listing(tuple(names), junk)

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    files = self._val_listing[0]
    return _read(sorted((name, files[name][0]) for name in names))

  def missing_images(self) -> tuple[str, ...]:
    """Originals without a blurred image (see the module docstring)."""
    missing = []
    reference = self.root / TRAIN_REFERENCE
    if reference.exists() and self.sources().train_images is not None:
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
      # The class folders label only the images present.
      if source.kind is not LabelKind.CLASS_FOLDERS:
        labelled.update(source.labels)
    missing.extend(
        f'ILSVRC2012_val_{number:08d}{ORIGINAL_SUFFIX}'
        for number in sorted(labelled - found_val)
    )
    return tuple(missing)



def _read(files: list[tuple[str, epath.Path | TarGzTree]]) -> Iterator[ImageSource]:
  """Images by example name: from folders in the order given, from an archive
  in archive order, each read as it is yielded (one forward pass)."""
  if not files or not isinstance(files[0][1], TarGzTree):
    for name, path in files:
      yield ImageSource(
          name, str(path), path.read_bytes, functools.partial(read_head, path),
          file_span(path),
      )
    return
  # Inflated here, so the bytes lie in no file as they are: no span.
  name_of = {path: name for name, path in files}
  for path, data in read_in_order(path for _, path in files):
    yield ImageSource(
        name_of[path], str(path), functools.partial(_bytes, data),
        functools.partial(_head_of, data),
    )


def _bytes(data: bytes) -> bytes:
  return data


def _head_of(data: bytes, size: int) -> bytes:
  return data[:size]
