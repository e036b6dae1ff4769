"""Sizes and SHA-256 of the official archives, from `checksums.tsv`."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import threading
from typing import NamedTuple

from absl import logging
from etils import epath

from imagenet_custom.errors import InputError


class Expected(NamedTuple):
  """An official archive's published size and checksum."""

  size: int
  sha256: str


@functools.cache
def expected_archives() -> dict[str, Expected]:
  """The archives listed in the package's `checksums.tsv`, by file name.

  Returns:
    Size and SHA-256 by file name (TFDS format: url, size, sha256, name).
  """
  text = (
      importlib.resources.files('imagenet_custom')
      .joinpath('checksums.tsv')
      .read_text()
  )
  table = {}
  for line in text.splitlines():
    if not line.strip() or line.startswith('#'):
      continue
    _, size, sha256, name = line.split('\t')
    table[name] = Expected(int(size), sha256)
  return table


def check_sizes(archives: dict[str, epath.Path]) -> list[str]:
  """Compares archive sizes with the published ones (instant).

  Args:
    archives: official archives found, by file name.

  Returns:
    One warning per archive whose size differs (also logged).
  """
  warnings = []
  for name, path in sorted(archives.items()):
    expected = expected_archives().get(name)
    if expected is None:
      continue
    size = path.stat().length
    if size != expected.size:
      warnings.append(
          f'{path} is {size:,} bytes; the official {name} is'
          f' {expected.size:,}. It is truncated, corrupt or not the official'
          ' file: the build stops if its content is damaged. Build with'
          ' config verify_checksums=True to check it fully.'
      )
      logging.warning('%s', warnings[-1])
  return warnings


def verify(digests: dict[str, str]) -> None:
  """Fails the build when a computed SHA-256 differs from the published one.

  Args:
    digests: SHA-256 by archive file name, computed while reading.

  Raises:
    InputError: a digest differs.
  """
  for name, digest in sorted(digests.items()):
    expected = expected_archives().get(name)
    if expected is not None and digest != expected.sha256:
      raise InputError(
          f'{name}: SHA-256 {digest} differs from the official'
          f' {expected.sha256} (checksums.tsv). The archive is corrupt;'
          ' download it again. No dataset was written.'
      )
    logging.info('%s: SHA-256 verified (%s).', name, digest)


class BackgroundHash:
  """SHA-256 of some files, computed by a thread while the build runs.

  The build's workers read archives out of order, in several processes; the
  hash is computed here instead, in one sequential pass per archive (hashlib
  releases the GIL, so the thread costs the writer little).
  """

  def __init__(self, paths: dict[str, epath.Path], chunk: int = 8 << 20):
    """Starts hashing.

    Args:
      paths: the files by name.
      chunk: bytes read at a time.
    """
    self._digests: dict[str, str] = {}
    self._error: BaseException | None = None
    self._thread = threading.Thread(
        target=self._run, args=(dict(paths), chunk), daemon=True,
        name='imagenet_custom-sha256',
    )
    self._thread.start()

  def _run(self, paths: dict[str, epath.Path], chunk: int) -> None:
    try:
      for name, path in sorted(paths.items()):
        digest = hashlib.sha256()
        with path.open('rb') as f:
          while block := f.read(chunk):
            digest.update(block)
        self._digests[name] = digest.hexdigest()
    except BaseException as e:  # pylint: disable=broad-except
      self._error = e

  def digests(self) -> dict[str, str]:
    """Waits for the hashes and returns them by file name."""
    self._thread.join()
    if self._error is not None:
      raise InputError(
          f'Cannot read an archive to verify its checksum: {self._error}'
      ) from self._error
    return dict(self._digests)
