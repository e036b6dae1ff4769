"""Making the input cold before each run, so bytes read count disk reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import os
import pathlib

MODES = ('evict', 'drop', 'none')


def iter_files(roots: Iterable[pathlib.Path]) -> Iterator[pathlib.Path]:
  """The regular files under some directories (symlinks not followed).

  Args:
    roots: directories or files.

  Yields:
    Each regular file.
  """
  for root in roots:
    if root.is_file() and not root.is_symlink():
      yield root
      continue
    for directory, _, names in os.walk(root):
      for name in names:
        path = pathlib.Path(directory) / name
        if not path.is_symlink():
          yield path


def evict_from_page_cache(roots: Iterable[pathlib.Path]) -> int:
  """Drops the pages of some files from the page cache.

  Args:
    roots: directories (or files) whose files are evicted.

  Returns:
    The bytes of the files evicted.
  """
  os.sync()
  total = 0
  for path in iter_files(roots):
    fd = os.open(path, os.O_RDONLY)
    try:
      os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
      total += os.fstat(fd).st_size
    finally:
      os.close(fd)
  return total


def drop_all_caches() -> None:
  """Syncs and drops the whole page cache (root only; affects everyone)."""
  os.sync()
  pathlib.Path('/proc/sys/vm/drop_caches').write_text('1\n')


def check_cache_mode(mode: str) -> None:
  """Fails early when the cache mode cannot work here.

  Args:
    mode: `evict`, `drop` or `none`.

  Raises:
    SystemExit: `drop` is not permitted, or `evict` is not supported.
  """
  if mode == 'drop':
    try:
      drop_all_caches()
    except OSError as e:
      raise SystemExit(
          f'--cache=drop: cannot write /proc/sys/vm/drop_caches ({e}); use'
          ' --cache=evict.'
      ) from None
  elif mode == 'evict' and not hasattr(os, 'posix_fadvise'):
    raise SystemExit(
        '--cache=evict needs os.posix_fadvise (Linux); use --cache=none.'
    )


def reset_cache(mode: str, root: pathlib.Path) -> None:
  """Makes the input cold before a run.

  Args:
    mode: `evict`, `drop` or `none`.
    root: the input's directory.
  """
  if mode == 'drop':
    drop_all_caches()
  elif mode == 'evict':
    evict_from_page_cache([root])
