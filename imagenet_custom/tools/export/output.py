"""The export's output folder: written whole or not at all, and its report.

An export writes into `OUT.partial` beside `OUT` (marked by a file of its
own) and renames it to `OUT` only when every file is written and the report
is in it: an interrupted export leaves `OUT.partial`, never a folder named
`OUT`. The next export to `OUT` removes a marked `OUT.partial` first.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
import os
import shutil
from typing import Any

from absl import logging

from imagenet_custom.errors import InputError

REPORT = 'export_report.json'
_MARKER = '.imagenet_custom_export_partial'
_SUFFIX = '.partial'


def check_free_space(folder: str, needed: int, what: str) -> None:
  """Raises when the disk of `folder` has less than `needed` bytes free.

  Raises:
    InputError: saying how much is needed and free, and what to do.
  """
  free = shutil.disk_usage(folder).free
  if free < needed:
    raise InputError(
        f'{what} needs {needed / 1e9:,.2f} GB, but {folder} has'
        f' {free / 1e9:,.2f} GB free. Free some space or pass --out on another disk.'
    )


@contextlib.contextmanager
def atomic_output(out: str) -> Iterator[str]:
  """Yields the temporary folder to write; renames it to `out` on success.

  Raises:
    InputError: `out` exists already (an export never writes over one), or
      a `out.partial` not made by an export is in the way.
  """
  out = os.path.abspath(out)
  if os.path.lexists(out):
    raise InputError(f'{out} exists already: remove it or choose another --out.')
  parent = os.path.dirname(out)
  os.makedirs(parent, exist_ok=True)
  partial = out + _SUFFIX
  if os.path.lexists(partial):
    if not os.path.exists(os.path.join(partial, _MARKER)):
      raise InputError(f'{partial} is in the way and was not made by an export: remove it.')
    logging.info('Removing %s, left by an interrupted export.', partial)
    shutil.rmtree(partial)
  os.makedirs(partial)
  with open(os.path.join(partial, _MARKER), 'w') as stream:
    stream.write('An unfinished imagenet_custom export; safe to delete.\n')
  try:
    yield partial
  except BaseException:
    shutil.rmtree(partial, ignore_errors=True)
    raise
  os.remove(os.path.join(partial, _MARKER))
  os.rename(partial, out)


def written_files(folder: str) -> dict[str, int]:
  """Size of every file under `folder` by relative path (sorted)."""
  sizes = {}
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    for name in sorted(files):
      path = os.path.join(root, name)
      sizes[os.path.relpath(path, folder)] = os.path.getsize(path)
  return dict(sorted(sizes.items()))


def write_report(folder: str, report: dict[str, Any]) -> dict[str, Any]:
  """Adds the file totals to `report` and writes it as `export_report.json`.

  The report holds no times, so a re-run writes the same bytes.

  Returns:
    The report written.
  """
  sizes = written_files(folder)
  sizes.pop(_MARKER, None)
  report = dict(report, files=len(sizes), bytes=sum(sizes.values()))
  with open(os.path.join(folder, REPORT), 'w') as stream:
    json.dump(report, stream, indent=1, sort_keys=True)
    stream.write('\n')
  return report
