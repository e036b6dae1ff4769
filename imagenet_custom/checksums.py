"""Sizes and SHA-256 of the official archives, from `checksums.tsv`."""

from __future__ import annotations

import functools
import importlib.resources
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
