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

Deterministic: the same dummy data gives the same files.

Usage: python -m imagenet_custom.testing.blurred --folders_dir=dummy_data/folders --out=DIR
"""

from __future__ import annotations

import argparse
import io
import pathlib
import shutil

from PIL import Image
from PIL import ImageFilter

from imagenet_custom.readers import base
from imagenet_custom.readers import blurred

# Originals left without a blurred version, in each split.
MISSING_PER_SPLIT = 2
BLUR_RADIUS = 1.5
JPEG_QUALITY = 90
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
      min(p.name for p in wnid_dir.iterdir() if not base.is_junk(p.name))
      for wnid_dir in sorted((folders_dir / 'train').iterdir())
      if wnid_dir.is_dir()
  ]
  val_names = sorted(
      p.name for p in (folders_dir / 'val').glob('*/*') if not base.is_junk(p.name)
  )
  return frozenset(
      first_of_class[:MISSING_PER_SPLIT] + val_names[-MISSING_PER_SPLIT:]
  )


def write_blurred(folders_dir: pathlib.Path, out: pathlib.Path) -> dict[str, object]:
  """Writes the face-blurred layout made from the dummy folders layout.

  Args:
    folders_dir: e.g. `dummy_data/folders` (val in class folders).
    out: the manual dir to write (created).

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
      if base.is_junk(path.name):
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
  return {'missing': sorted(missing), **counts}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--folders_dir', type=pathlib.Path, required=True)
  parser.add_argument('--out', type=pathlib.Path, required=True)
  args = parser.parse_args()
  print(write_blurred(args.folders_dir, args.out))


if __name__ == '__main__':
  main()
