"""The dummy Kaggle tree as the unextracted Kaggle download (a zip file).

Post-processes the tree `fake_imagenet` wrote (`dummy_data/kaggle`): every file
becomes an entry of `imagenet-object-localization-challenge.zip`, in sorted
order, with fixed timestamps so that the same tree gives the same bytes.

Usage: python -m imagenet_custom.testing.kaggle_zip --kaggle_dir=dummy_data/kaggle --out=DIR
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import contextlib
import pathlib
import zipfile

from imagenet_custom.layouts import kaggle_zip

# How entries are stored: all deflated (as Kaggle's download), all stored, or
# images stored and the rest deflated (both methods in one archive).
COMPRESSIONS = ('deflated', 'stored', 'mixed')
_FIXED_TIME = (2019, 6, 1, 0, 0, 0)
_IMAGE_SUFFIX = '.JPEG'


def _method(name: str, compression: str) -> int:
  if compression == 'stored' or (
      compression == 'mixed' and name.endswith(_IMAGE_SUFFIX)
  ):
    return zipfile.ZIP_STORED
  return zipfile.ZIP_DEFLATED


def write_kaggle_zip(
    kaggle_dir: pathlib.Path,
    out: pathlib.Path,
    compression: str = 'deflated',
    force_zip64: bool = False,
) -> pathlib.Path:
  """Zips a Kaggle tree as Kaggle's download.

  Args:
    kaggle_dir: e.g. `dummy_data/kaggle`.
    out: the manual dir to write the zip into (created).
    compression: one of `COMPRESSIONS`.
    force_zip64: write zip64 records everywhere (every local and central
      header, and the zip64 end of central directory), as archives over
      4 GiB (the real one is ~166 GB) must.

  Returns:
    The zip's path.
  """
  if compression not in COMPRESSIONS:
    raise ValueError(f'compression {compression!r} is not one of {COMPRESSIONS}')
  out.mkdir(parents=True, exist_ok=True)
  path = out / kaggle_zip.KAGGLE_ZIP
  files = sorted(p for p in kaggle_dir.rglob('*') if p.is_file())
  with contextlib.ExitStack() as stack:
    if force_zip64:
      stack.enter_context(_zip64_everywhere())
    with zipfile.ZipFile(path, 'w') as archive:
      for file in files:
        name = file.relative_to(kaggle_dir).as_posix()
        info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
        info.compress_type = _method(name, compression)
        with archive.open(info, 'w', force_zip64=force_zip64) as entry:
          entry.write(file.read_bytes())
  return path


@contextlib.contextmanager
def _zip64_everywhere() -> Iterator[None]:
  """Makes `zipfile` write zip64 central records for a small archive.

  `zipfile` writes them only past its `ZIP64_LIMIT` (4 GiB); lowering the
  limit while writing gives the records a 166 GB archive has, at test size.
  """
  limit = zipfile.ZIP64_LIMIT
  zipfile.ZIP64_LIMIT = 0  # type: ignore[misc]
  try:
    yield
  finally:
    zipfile.ZIP64_LIMIT = limit  # type: ignore[misc]


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--kaggle_dir', type=pathlib.Path, required=True)
  parser.add_argument('--out', type=pathlib.Path, required=True)
  parser.add_argument('--compression', choices=COMPRESSIONS, default='deflated')
  parser.add_argument('--force_zip64', action='store_true')
  args = parser.parse_args()
  print(write_kaggle_zip(args.kaggle_dir, args.out, args.compression, args.force_zip64))


if __name__ == '__main__':
  main()
