"""Extracted folder trees, read in place (shared by the kaggle and folders layouts)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
import functools

from etils import epath

from imagenet_custom.archives.base import file_span
from imagenet_custom.archives.base import is_junk
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing


def list_directory(directory: epath.Path) -> Listing:
  """Lists the files of a folder, sorted, separating junk.

  Args:
    directory: the folder.

  Returns:
    Its regular files (and junk entries) by name.
  """
  names, junk = [], []
  for child in sorted(directory.iterdir(), key=lambda p: p.name):
    if is_junk(child.name):
      junk.append(child.name)
    elif not child.is_dir():
      names.append(child.name)
  return Listing(tuple(names), tuple(junk))


def class_folders(directory: epath.Path, origin: str) -> Listing:
  """The class folders of a train (or val) tree, checked to be WNIDs.

  Args:
    directory: the folder holding one folder per class.
    origin: its name for errors.

  Returns:
    The sorted WNIDs and the other entries beside them (ignored as junk).
  """
  wnids, junk = [], []
  for child in sorted(directory.iterdir(), key=lambda p: p.name):
    if is_junk(child.name):
      junk.append(child.name)
      continue
    if not child.is_dir():
      junk.append(child.name)
      continue
    metadata.check_known_wnid(child.name, f'{origin}/{child.name}')
    wnids.append(child.name)
  return Listing(tuple(wnids), tuple(junk))


def read_folder(
    directory: epath.Path, names: Collection[str]
) -> Iterator[ImageSource]:
  """The named files of a folder, in sorted order.

  Args:
    directory: the folder.
    names: the file names to read.

  Yields:
    Each file, read when asked.
  """
  for name in sorted(names):
    path = directory / name
    yield ImageSource(
        name, str(path), path.read_bytes, functools.partial(read_head, path),
        file_span(path),
    )


def read_head(path: epath.Path, size: int) -> bytes:
  """The first `size` bytes of a file (fewer if it is shorter).

  Args:
    path: the file (an `epath.Path`, or a `ZipTree` entry).
    size: how many bytes.

  Returns:
    The bytes.
  """
  with path.open('rb') as f:
    return f.read(size)
