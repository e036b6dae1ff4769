"""The dummy data as the face-blurred ImageNet (`train_blurred/`, `val_blurred/`).

Post-processes the folders layout that `fake_imagenet` wrote: every image is
opened, converted to RGB, blurred (the whole image: the dummy images have no
faces) and saved as `<stem>.jpg` in a class folder, as the face-obfuscation
project's `experiments/blurring.py` saved its images with PIL. Val images go
to `val_blurred/<wnid>/`. Junk files are copied as they are.

Planted, as in the real release:
* some originals have no blurred version (`MISSING_PER_SPLIT` per split:
  the first train image, by name, of the first classes, and the last val
  images);
* the devkit and box archives lie beside, and `train_cls.txt` (the Kaggle
  format) lists every original train image, so the missing ones are counted.

With `archives=True` (`--archives`) the two folders are packed as image-net.org
ships them, `train_blurred.tar.gz` and `val_blurred.tar.gz` (what `tar -czf`
of each folder gives: a folder entry, then its files, sorted), and the folders
are not kept. The gzip streams use small deflate blocks (zlib memory level 1:
a block every 128 symbols) so that the tiny dummy archives hold hundreds of
block boundaries, as a real one does, and reading a class starts mid-stream.

Deterministic: the same dummy data gives the same files.

Usage: python -m imagenet_custom.testing.blurred --folders_dir=dummy_data/folders --out=DIR [--archives]
"""

from __future__ import annotations

import argparse
import io
import pathlib
import shutil
import zlib

from PIL import Image
from PIL import ImageFilter

from imagenet_custom.archives import base as archive_base
from imagenet_custom.layouts import blurred
from imagenet_custom.testing import tars

# Originals left without a blurred version, in each split.
MISSING_PER_SPLIT = 2
BLUR_RADIUS = 1.5
JPEG_QUALITY = 90
# zlib's smallest memory level: a deflate block every 128 symbols.
ARCHIVE_MEM_LEVEL = 1
# Files copied from the folders layout as they are.
_BESIDE = (
    'ILSVRC2012_devkit_t12.tar.gz',
    'ILSVRC2012_bbox_train_v2.tar.gz',
    'ILSVRC2012_bbox_val_v3.tgz',
)


def blur_image(data: bytes) -> bytes:
  """An image blurred and re-saved as an RGB JPEG.

  Args:
    data: the original file's bytes (JPEG, CMYK JPEG or PNG).

  Returns:
    The blurred JPEG's bytes.
  """
  image = Image.open(io.BytesIO(data)).convert('RGB')
  out = io.BytesIO()
  image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)).save(
      out, format='JPEG', quality=JPEG_QUALITY
  )
  return out.getvalue()


def _missing(folders_dir: pathlib.Path) -> frozenset[str]:
  """The originals planted without a blurred version."""
  first_of_class = [
      min(p.name for p in wnid_dir.iterdir() if not archive_base.is_junk(p.name))
      for wnid_dir in sorted((folders_dir / 'train').iterdir())
      if wnid_dir.is_dir()
  ]
  val_names = sorted(
      p.name for p in (folders_dir / 'val').glob('*/*') if not archive_base.is_junk(p.name)
  )
  return frozenset(
      first_of_class[:MISSING_PER_SPLIT] + val_names[-MISSING_PER_SPLIT:]
  )


def write_blurred(
    folders_dir: pathlib.Path, out: pathlib.Path, archives: bool = False
) -> dict[str, object]:
  """Writes the face-blurred layout made from the dummy folders layout.

  Args:
    folders_dir: e.g. `dummy_data/folders` (val in class folders).
    out: the manual dir to write (created).
    archives: write `train_blurred.tar.gz` and `val_blurred.tar.gz` instead
      of the extracted folders.

  Returns:
    What was written: `missing` (original names without a blurred
    version, sorted), `train` and `val` (blurred image counts).
  """
  missing = _missing(folders_dir)
  counts = {'train': 0, 'val': 0}
  reference = []
  for split, target in (('train', blurred.TRAIN_DIR), ('val', blurred.VAL_DIR)):
    for path in sorted((folders_dir / split).rglob('*')):
      if path.is_dir():
        continue
      relative = path.relative_to(folders_dir / split)
      if archive_base.is_junk(path.name):
        destination = out / target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        continue
      stem = path.name.rsplit('.', 1)[0]
      if split == 'train':
        reference.append(f'{relative.parent.as_posix()}/{stem}')
      if path.name in missing:
        continue
      destination = out / target / relative.parent / (stem + blurred.BLURRED_SUFFIX)
      destination.parent.mkdir(parents=True, exist_ok=True)
      destination.write_bytes(blur_image(path.read_bytes()))
      counts[split] += 1
  (out / blurred.TRAIN_REFERENCE).write_text(
      ''.join(f'{line} {n}\n' for n, line in enumerate(sorted(reference), start=1))
  )
  for name in _BESIDE:
    if (folders_dir / name).exists():
      shutil.copyfile(folders_dir / name, out / name)
  if archives:
    for folder, archive in blurred.ARCHIVE_OF.items():
      pack_folder(out / folder, out / archive)
      shutil.rmtree(out / folder)
  return {'missing': sorted(missing), **counts}


def pack_folder(folder: pathlib.Path, archive: pathlib.Path) -> None:
  """Writes a folder as a `.tar.gz` of it (entries named `<folder>/...`).

  Folders come before their files, everything sorted; tar headers are fixed
  (`tars.DeterministicTar`), the gzip header has no name and mtime 0, and the
  deflate blocks are small (`ARCHIVE_MEM_LEVEL`).

  Args:
    folder: the folder to pack.
    archive: the `.tar.gz` to write.
  """
  plain = io.BytesIO()
  with tars.DeterministicTar(plain, compress=False, owns_file=False) as tar:
    tar.add_directory(f'{folder.name}/')
    for path in sorted(folder.rglob('*')):
      name = f'{folder.name}/{path.relative_to(folder).as_posix()}'
      if path.is_dir():
        tar.add_directory(f'{name}/')
      else:
        tar.add_bytes(name, path.read_bytes())
  compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + 15, ARCHIVE_MEM_LEVEL)
  archive.write_bytes(compressor.compress(plain.getvalue()) + compressor.flush())


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--folders_dir', type=pathlib.Path, required=True)
  parser.add_argument('--out', type=pathlib.Path, required=True)
  parser.add_argument(
      '--archives', action='store_true',
      help='write train_blurred.tar.gz and val_blurred.tar.gz instead of the folders',
  )
  args = parser.parse_args()
  print(write_blurred(args.folders_dir, args.out, args.archives))


if __name__ == '__main__':
  main()
