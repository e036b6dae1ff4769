"""The pre-flight check's look at every image: are its first bytes JPEG, PNG, or no image?

Reads the first bytes only: from the listing when the layout read them with
the headers (`Reader.train_heads`, `val_heads`), else one image at a time.
Also picks the images kept whole for the timing sample (`check_estimate`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
import concurrent.futures
import dataclasses
import functools
from typing import TypeVar

from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader

# First bytes of the image formats a build accepts (PNG is re-encoded).
JPEG_MAGIC = b'\xff\xd8\xff'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
HEAD_BYTES = 8
# Threads reading first bytes (disk reads overlap).
HEAD_THREADS = 16
_T = TypeVar('_T')


@dataclasses.dataclass
class HeadFindings:
  """Images whose first bytes are not JPEG.

  Attributes:
    not_images: files whose first bytes are no image, as `origin`.
    reencoded: images in another format that a build re-encodes (PNG).
  """

  not_images: list[str] = dataclasses.field(default_factory=list)
  reencoded: list[str] = dataclasses.field(default_factory=list)

  def extend(self, other: HeadFindings) -> None:
    """Adds another part's findings."""
    self.not_images.extend(other.not_images)
    self.reencoded.extend(other.reencoded)


def spread(items: Sequence[_T], count: int) -> list[_T]:
  """`count` items evenly spread over `items` (all when there are fewer)."""
  if len(items) <= count:
    return list(items)
  step = len(items) / count
  return [items[int(i * step)] for i in range(count)]


def kind_of(head: bytes) -> str:
  """`jpeg`, `png` or `other`, from a file's first bytes."""
  if head.startswith(JPEG_MAGIC):
    return 'jpeg'
  if head.startswith(PNG_MAGIC):
    return 'png'
  return 'other'


def _head(source: ImageSource) -> bytes:
  if source.head is not None:
    return source.head(HEAD_BYTES)
  return source.read()[:HEAD_BYTES]


def _classify(kind: str, origin: str, found: HeadFindings) -> None:
  if kind == 'png':
    found.reencoded.append(origin)
  elif kind == 'other':
    found.not_images.append(origin)


def check_images(
    names: Sequence[str],
    heads: dict[str, bytes] | None,
    read: Callable[[Collection[str]], Iterable[ImageSource]],
    keep: Collection[str],
    found: HeadFindings,
) -> list[ImageSource]:
  """Checks the first bytes of some images; returns those named in `keep`.

  Args:
    names: the images.
    heads: their first bytes when the listing read them (then only the
      images that are not JPEG are read, for their origin), else None: each
      image's head is read, one image at a time.
    read: the reader's `read_train_class` (for one class) or `read_val`.
    keep: images to return (the timing sample).
    found: where findings go.

  Returns:
    The images named in `keep`.
  """
  if heads is not None:
    odd = {name: kind for name in names if (kind := kind_of(heads[name])) != 'jpeg'}
    wanted = set(odd) | set(keep)
    sources = read(wanted) if wanted else ()
    kept = []
    for source in sources:
      if source.name in odd:
        _classify(odd[source.name], source.origin, found)
      if source.name in keep:
        kept.append(source)
    return kept
  kept = []
  for source in read(names):  # One at a time: never a whole class in memory.
    _classify(kind_of(_head(source)), source.origin, found)
    if source.name in keep:
      kept.append(source)
  return kept


def scan_class(
    reader: Reader, wnid: str, sampled: int
) -> tuple[Listing, HeadFindings, list[ImageSource]]:
  """Lists a class and checks its images' first bytes.

  Args:
    reader: the layout.
    wnid: the class.
    sampled: how many of its images the timing sample takes.

  Returns:
    Its listing, the header check's findings, and its images for the timing
    sample.
  """
  listing = reader.list_train_class(wnid)
  keep = set(spread(listing.names, sampled)) if sampled else set()
  found = HeadFindings()
  sample = check_images(
      listing.names, reader.train_heads(wnid),
      functools.partial(reader.read_train_class, wnid), keep, found,
  )
  return listing, found, sample


def check_val(
    reader: Reader, names: Sequence[str], sampled: int, found: HeadFindings
) -> list[ImageSource]:
  """Checks the val images' first bytes; returns the val timing sample.

  Without heads from the listing, threads read stretches of the listing
  (in storage order: a stretch of an archive is read in one pass).

  Args:
    reader: the layout.
    names: the val images.
    sampled: how many of them the timing sample takes.
    found: where findings go.

  Returns:
    The val images of the timing sample.
  """
  keep = set(spread(names, sampled))
  heads = reader.val_heads()
  if heads is not None:
    return check_images(names, heads, reader.read_val, keep, found)
  size = -(-len(names) // HEAD_THREADS) or 1
  stretches = [names[start : start + size] for start in range(0, len(names), size)]
  parts = [HeadFindings() for _ in stretches]
  with concurrent.futures.ThreadPoolExecutor(HEAD_THREADS) as pool:
    samples = list(pool.map(
        lambda stretch, part: check_images(stretch, None, reader.read_val, keep, part),
        stretches, parts,
    ))
  for part in parts:
    found.extend(part)
  return [source for sample in samples for source in sample]
