"""The official ILSVRC2012 archives, read in place without extracting."""

from __future__ import annotations

from collections.abc import Collection, Iterator
import functools
import os
import threading
from typing import Any, BinaryIO, NamedTuple

from absl import logging
from etils import epath

from imagenet_custom.archives import tario
from imagenet_custom.archives.base import file_span
from imagenet_custom.archives.base import is_junk
from imagenet_custom.archives.base import RawFile
from imagenet_custom.archives.base import Span
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts import box_archives
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts

TRAIN_TAR = 'ILSVRC2012_img_train.tar'
VAL_TAR = 'ILSVRC2012_img_val.tar'
# First bytes of each image kept with its listing: a header check (the
# pre-flight check's 8 bytes) reads no more.
HEAD_BYTES = 16


class _Member(NamedTuple):
  name: str
  offset: int
  size: int
  head: bytes


def _members(tar: tario.Stream, origin: str) -> tuple[list[_Member], list[str]]:
  """Lists a tar's files (name, data offset, size, first bytes), separating junk."""
  members, junk = [], []
  for file in tario.list_files(tar, origin, HEAD_BYTES):
    name = file.name.rsplit('/', 1)[-1]
    if is_junk(name):
      junk.append(name)
    else:
      members.append(_Member(name, file.offset, file.size, file.head))
  return members, junk


class ArchiveReader(Reader):
  """Reads `ILSVRC2012_img_{train,val}.tar`, the box archives and the devkit.

  The train tar holds one tar per class; each is opened by seeking to it in
  the outer tar, and its images are read one by one: an inner tar is never
  held in memory. Listing reads tar headers only, so a split that needs a few
  images of a class reads only those.
  """

  layout = 'archives'
  help_text = f"""\
archives (from image-net.org, ILSVRC2012), not extracted:
     {TRAIN_TAR}            (required, 147,897,477,120 bytes)
     {VAL_TAR}              (required, 6,744,924,160 bytes)
     {devkit.DEVKIT_2012}         (val labels, blacklist, class names)
     {box_archives.BBOX_TRAIN}      (optional: train boxes)
     {box_archives.BBOX_VAL}           (optional: val boxes)"""

  def __init__(self, root: epath.Path):
    super().__init__(root)
    self._local = threading.local()
    self._outer: dict[str, _Member] | None = None
    self._outer_junk: list[str] = []
    self._val: list[_Member] | None = None
    self._val_junk: list[str] = []

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return (root / TRAIN_TAR).exists() or (root / VAL_TAR).exists()

  def __getstate__(self) -> dict[str, Any]:
    state = self.__dict__.copy()
    state['_local'] = None  # Open files stay with the process that opened them.
    return state

  def __setstate__(self, state: dict[str, Any]) -> None:
    self.__dict__.update(state)
    self._local = threading.local()

  def _file(self, name: str) -> BinaryIO:
    """This thread's open handle on an archive."""
    files = self._local.__dict__.setdefault('files', {})
    if name not in files:
      files[name] = tario.open_raw(self.root / name)
    return files[name]

  def _span(self, name: str) -> Span | None:
    """Where an archive is as a local file (see `base.file_span`)."""
    spans = self._local.__dict__.setdefault('spans', {})
    if name not in spans:
      spans[name] = file_span(self.root / name)
    return spans[name]

  def sources(self) -> Sources:
    return Sources.existing(
        train_images=self.root / TRAIN_TAR,
        val_images=self.root / VAL_TAR,
        train_boxes=self.root / box_archives.BBOX_TRAIN,
        val_boxes=self.root / box_archives.BBOX_VAL,
        devkit=self.root / devkit.DEVKIT_2012,
    )

  def devkit_facts(self) -> DevkitFacts:
    return devkit.read_devkit_facts(
        (self.root / devkit.DEVKIT_2012, self.root / devkit.MAP_CLSLOC),
        self.root / devkit.LOC_SYNSET_MAPPING,
    )

  def archives(self) -> dict[str, epath.Path]:
    return {
        name: self.root / name
        for name in (TRAIN_TAR, VAL_TAR)
        if (self.root / name).exists()
    }

  def _outer_index(self) -> dict[str, _Member]:
    if self._outer is None:
      members, self._outer_junk = _members(self._file(TRAIN_TAR), TRAIN_TAR)
      index = {}
      for member in members:
        wnid, _, extension = member.name.partition('.')
        if extension != 'tar':
          raise InputError(
              f'{TRAIN_TAR}:{member.name}: expected only per-class tars'
              ' (`nXXXXXXXX.tar`) in the train archive. Is this'
              f' {TRAIN_TAR} from image-net.org?'
          )
        metadata.check_known_wnid(wnid, f'{TRAIN_TAR}:{member.name}')
        index[wnid] = member
      self._outer = index
    return self._outer

  def train_classes(self) -> Listing:
    return Listing(tuple(self._outer_index()), tuple(self._outer_junk))

  def _inner(self, wnid: str) -> tuple[tario.Window, str]:
    member = self._outer_index()[wnid]
    window = tario.Window(self._file(TRAIN_TAR), member.offset, member.size)
    return window, self.class_origin(wnid)

  def class_origin(self, wnid: str) -> str:
    return f'{TRAIN_TAR}:{self._outer_index()[wnid].name}'

  def _list_class(self, wnid: str) -> tuple[list[_Member], list[str]]:
    """Reads the headers of a class's inner tar; remembers them per thread."""
    window, origin = self._inner(wnid)
    members, junk = _members(window, origin)
    self._local.listed = (wnid, members)
    return members, junk

  def list_train_class(self, wnid: str) -> Listing:
    members, junk = self._list_class(wnid)
    return Listing(tuple(m.name for m in members), tuple(junk))

  def train_heads(self, wnid: str) -> dict[str, bytes]:
    # Listing read them with the headers (one `pread` each).
    listed = getattr(self._local, 'listed', None)
    members = listed[1] if listed is not None and listed[0] == wnid else self._list_class(wnid)[0]
    return {m.name: m.head for m in members}

  def val_heads(self) -> dict[str, bytes]:
    return {m.name: m.head for m in self._val_index()}

  def _source(
      self, archive: str, member: _Member, start: int, origin: str
  ) -> ImageSource:
    """An image at `start + member.offset` of an archive.

    Read later, with `pread`, by whichever thread asks. It is read now
    instead when verifying checksums (so the archive is hashed in order) and
    for remote files, which can only be read by seeking.
    """
    member_origin = f'{origin}:{member.name}'
    archive_file = self._file(archive)
    read = functools.partial(
        tario.read_member,
        archive_file, start + member.offset, member.size, member_origin,
    )
    head = functools.partial(
        _member_head, archive_file, start + member.offset, member.size,
        member_origin, member.head,
    )
    if not tario.supports_pread(archive_file):
      data = read()
      read = functools.partial(_already_read, data)
      head = functools.partial(_head_of, data)
      return ImageSource(member.name, member_origin, read, head)
    archive_span = self._span(archive)
    span = (
        None if archive_span is None
        else archive_span._replace(offset=start + member.offset)
    )
    return ImageSource(member.name, member_origin, read, head, span)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    # Listing then reading a class, as generation does, reads its headers
    # once: this thread's last listing is reused if it is of this class.
    listed = getattr(self._local, 'listed', None)
    if listed is not None and listed[0] == wnid:
      members = listed[1]
    else:
      members, _ = self._list_class(wnid)
    start = self._outer_index()[wnid].offset
    origin = self.class_origin(wnid)
    wanted = names if isinstance(names, (set, frozenset)) else frozenset(names)
    chosen = [member for member in members if member.name in wanted]
    self._will_need(TRAIN_TAR, start, chosen)
    for member in chosen:
      yield self._source(TRAIN_TAR, member, start, origin)

  def _will_need(self, archive: str, start: int, members: list[_Member]) -> None:
    """Asks the OS to read the members' stretch of the archive ahead, at once.

    The images are then read one by one, by several threads, from memory:
    one large read ahead of them keeps a cold disk streaming at full speed.
    """
    fileobj = self._file(archive)
    if not members or not hasattr(os, 'posix_fadvise') or not tario.supports_pread(fileobj):
      return
    first, last = members[0], members[-1]
    os.posix_fadvise(
        fileobj.fileno(), start + first.offset,
        last.offset + last.size - first.offset, os.POSIX_FADV_WILLNEED,
    )

  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    return box_archives.train_annotations(self.root, wnid)

  def annotation_counts(self) -> dict[str, int]:
    return box_archives.annotation_counts(self.root)

  def _val_index(self) -> list[_Member]:
    if self._val is None:
      self._val, self._val_junk = _members(self._file(VAL_TAR), VAL_TAR)
    return self._val

  def list_val(self) -> Listing:
    return Listing(
        tuple(m.name for m in self._val_index()), tuple(self._val_junk)
    )

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    wanted = names if isinstance(names, (set, frozenset)) else frozenset(names)
    chosen = [member for member in self._val_index() if member.name in wanted]
    self._will_need(VAL_TAR, 0, chosen)
    for member in chosen:
      yield self._source(VAL_TAR, member, 0, VAL_TAR)

  def val_annotations(self) -> dict[int, RawFile]:
    return box_archives.val_annotations(self.root)

  def val_metadata(self) -> ValMetadata:
    path = self.root / devkit.DEVKIT_2012
    if not path.exists():
      logging.warning(
          '%s not found in %s: val labels come from the val box annotations'
          ' only, and no blacklist applies.', devkit.DEVKIT_2012, self.root
      )
      return ValMetadata((), None, None)
    labels, blacklist, names = devkit.load_devkit_2012(path)
    return ValMetadata((labels,), blacklist, names)


def _member_head(
    fileobj: BinaryIO, offset: int, size: int, origin: str, listed: bytes, wanted: int
) -> bytes:
  if wanted <= len(listed) or len(listed) == size:
    return listed[:wanted]
  return tario.read_member(fileobj, offset, min(size, wanted), origin)


def _head_of(data: bytes, wanted: int) -> bytes:
  return data[:wanted]


def _already_read(data: bytes) -> bytes:
  return data
