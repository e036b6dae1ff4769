"""A folder tree inside a `.tar.gz`, read in place through its index.

`TarGzTree` offers the part of `epath.Path` that the folder readers list
with (`/`, `name`, `exists`, `is_dir`, `iterdir`, `read_bytes`, `read_text`),
so the face-blurred layout lists `train_blurred.tar.gz` with the same code as
the extracted `train_blurred/` folder (`readers/blurred.py`). The archive is
indexed once per process, or read from an index file (`tar_gz.index_of`).

Reading: `read_bytes` reads one file (inflating from the access point before
it: up to `gzip_index.CHUNK_BYTES` of the archive); `read_in_order` reads many
in archive order, which is how a class or a chunk of val images is read.

Contracts: a `TarGzTree` holds three strings (archive, path inside it, index
folder), so it pickles (worker processes unpickle readers); the index is per
process and shared by its threads; the open archive (a gzip reader) is per
process too, one for each thread reading at a time (`tar_gz.TarGzIndex.read`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from etils import epath

from imagenet_custom.archives import tar_gz
from imagenet_custom.archives.base import ArchivePath
from imagenet_custom.errors import InputError


class TarGzTree(ArchivePath):
  """A file or folder inside a `.tar.gz`: a read-only, picklable path.

  Attributes:
    archive: the archive's path.
    inner: the path inside it, `/`-separated, '' for the top.
    index_dir: where its index file is kept, or None (memory only).
  """

  def __init__(
      self, archive: epath.PathLike, inner: str = '', index_dir: epath.PathLike | None = None
  ):
    super().__init__(archive, inner)
    self.index_dir = None if index_dir is None else str(index_dir)

  def _at(self, inner: str) -> TarGzTree:
    return TarGzTree(self.archive, inner, self.index_dir)

  def index(self) -> tar_gz.TarGzIndex:
    """The archive's index (built on first use in this process)."""
    index_dir = None if self.index_dir is None else epath.Path(self.index_dir)
    return tar_gz.index_of(epath.Path(self.archive), index_dir)

  def member(self) -> tar_gz.Member:
    """The archive member of this file.

    Raises:
      InputError: no such file in the archive.
    """
    found = self.index().member(self.inner)
    if found is None:
      raise InputError(f'{self}: no such file in the archive.')
    return found

  def exists(self) -> bool:
    """Whether the archive has this file or folder."""
    index = self.index()
    return index.is_folder(self.inner) or index.member(self.inner) is not None

  def is_dir(self) -> bool:
    """Whether this is a folder of the archive."""
    return self.index().is_folder(self.inner)

  def iterdir(self) -> Iterator[TarGzTree]:
    """The entries of this folder, sorted by name.

    Raises:
      InputError: this is not a folder of the archive.
    """
    index = self.index()
    if not index.is_folder(self.inner):
      raise InputError(f'{self}: no such folder in the archive.')
    names = set(index.subfolders(self.inner)) | set(index.members(self.inner))
    for name in sorted(names):
      yield self / name

  def read_bytes(self) -> bytes:
    """The file's bytes (inflated from the access point before it)."""
    return next(read_in_order([self]))[1]

  def size(self) -> int:
    """The file's size in bytes."""
    return self.member().size


def read_in_order(files: Iterable[TarGzTree]) -> Iterator[tuple[TarGzTree, bytes]]:
  """Reads files of one archive in archive order, in one forward pass.

  Args:
    files: files of the same archive.

  Yields:
    `(file, bytes)`, in the order they are stored in the archive.

  Raises:
    InputError: a file is not in the archive, or the archive is damaged.
  """
  by_member: dict[tar_gz.Member, TarGzTree] = {}
  index = None
  for file in files:
    if index is None:
      index = file.index()
    elif file.archive != index.archive:
      raise ValueError(f'{file}: not in {index.archive}')
    by_member[file.member()] = file
  if index is None:
    return
  for member, data in index.read(by_member):
    yield by_member[member], data
