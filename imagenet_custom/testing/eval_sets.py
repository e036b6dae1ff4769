"""Seeded fakes of each evaluation set's download, in its exact distributed form.

Each fake has the release's archive name and type, top folder, class-folder
names (V2: the indices `0`..`999`; A/O/R: the 200 WNIDs of their lists;
Sketch: the 1,000 WNIDs; ObjectNet: 313 folders, 113 mapped) and file names
(A/O: names with spaces and a `README.txt` beside the class folders; R: the
same `art_0.jpg` in every class; V2: 40-hex names; Sketch: `sketch_<n>.JPEG`;
ObjectNet: PNGs with a 1-pixel red border). Every class has one tiny image,
some two, so that the class counts are the release's and a build is quick.
Grayscale (Sketch, some of R), CMYK JPEGs (R) and all-black images (Sketch)
are planted.

ObjectNet is written extracted, with its four `mappings/` files; its
`imagenet_to_label_2012_v2` lists the classes in a seeded order, so a reader
that skips `pytorch_to_imagenet_2012_id.json` or reads its lines as 1-based
gets wrong labels.

`write_eval_sets` returns what each split must hold: file name -> labels.

Usage: python -m imagenet_custom.testing.eval_sets --out DIR [--seed N]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
import hashlib
import io
import json
import pathlib
import random
import tarfile
import zipfile

from PIL import Image

from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import objectnet
from imagenet_custom.testing import tars

# The folder `fake_imagenet --eval-sets` writes them to, beside the layouts.
FOLDER = 'eval_sets'
# Expected content: split -> file name -> its sorted-1,000 labels.
Expected = dict[str, dict[str, tuple[int, ...]]]
_SIDE = 8
_ZIP_TIME = (2019, 5, 1, 0, 0, 0)
# ObjectNet: classes in total, classes mapped to ImageNet, and how many of
# those map to two ImageNet classes.
_OBJECTNET_FOLDERS = 313
_OBJECTNET_MAPPED = 113
_OBJECTNET_DOUBLE = 12
_README = b'The images of this set, one folder per class. (Fake, for tests.)\n'


def extract(archive: pathlib.Path, into: pathlib.Path) -> None:
  """Extracts one of the fake archives written here, as a user would with `tar -xf`.

  Written out by hand rather than with `TarFile.extractall(filter='data')`: the `filter`
  argument only exists from Python 3.11.4 and 3.10.12, and this project supports 3.10 on.
  The archives are the tests' own, so only regular files and folders occur.
  """
  with tarfile.open(archive) as tar:
    for member in tar:
      target = into / member.name
      if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
      elif member.isfile():
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None, member.name
        target.write_bytes(source.read())
      else:
        raise ValueError(f'{archive}:{member.name}: only files and folders are expected here')


def _jpeg(colour: tuple[int, int, int], mode: str = 'RGB') -> bytes:
  image = Image.new('RGB', (_SIDE, _SIDE), colour)
  buffer = io.BytesIO()
  image.convert(mode).save(buffer, format='JPEG', quality=90)
  return buffer.getvalue()


def _colour(rng: random.Random) -> tuple[int, int, int]:
  return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _images_in_class(rng: random.Random) -> int:
  """One image per class, two for about one class in seven."""
  return 2 if rng.random() < 1 / 7 else 1


def _write_tar(path: pathlib.Path, files: Iterable[tuple[str, bytes]], compress: bool) -> None:
  with tars.DeterministicTar.create(path, compress=compress) as tar:
    folders: set[str] = set()
    for name, data in files:
      parts = name.split('/')
      for depth in range(1, len(parts)):
        folder = '/'.join(parts[:depth]) + '/'
        if folder not in folders:
          folders.add(folder)
          tar.add_directory(folder)
      tar.add_bytes(name, data)


def _v2_files(eval_set: facts.EvalSet, rng: random.Random, expected: Expected) -> list[tuple[str, bytes]]:
  files = []
  split = expected.setdefault(eval_set.split, {})
  # Folders in archive order as `tar` lists them (not numeric): `0, 1, 10, ...`.
  for index in sorted(range(1000), key=str):
    for number in range(_images_in_class(rng)):
      name = hashlib.sha1(f'{eval_set.split}/{index}/{number}'.encode()).hexdigest() + '.jpeg'
      files.append((f'{eval_set.folder}/{index}/{name}', _jpeg(_colour(rng))))
      split[f'{index}/{name}'] = (index,)
  return files


def _wnid_files(eval_set: facts.EvalSet, rng: random.Random, expected: Expected) -> list[tuple[str, bytes]]:
  files = [] if eval_set.class_list is None else [(f'{eval_set.folder}/README.txt', _README)]
  split = expected.setdefault(eval_set.split, {})
  position = {wnid: i for i, wnid in enumerate(metadata.wnids())}
  for wnid in facts.class_wnids(eval_set.split):
    for number in range(_images_in_class(rng)):
      if eval_set.split == 'imagenet_r':
        name = f'art_{number}.jpg'  # The same names in every class.
        data = _jpeg(_colour(rng), rng.choice(('RGB', 'L', 'CMYK')))
      elif eval_set.split == 'imagenet_sketch':
        name = f'sketch_{number}.JPEG'
        grey = 0 if rng.random() < 0.1 else rng.randrange(256)  # Some all black.
        data = _jpeg((grey, grey, grey), 'L')
      else:
        name = f'{rng.randrange(10**6):06d}_{wnid} photo {number}.jpg'  # Spaces, as A and O.
        data = _jpeg(_colour(rng))
      files.append((f'{eval_set.folder}/{wnid}/{name}', data))
      split[f'{wnid}/{name}'] = (position[wnid],)
  return files


def _write_zip(path: pathlib.Path, files: list[tuple[str, bytes]]) -> None:
  with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
    for name, data in files:
      archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, zipfile.ZIP_DEFLATED)


def objectnet_png(rng: random.Random) -> bytes:
  """A small PNG with ObjectNet's 1-pixel red border."""
  image = Image.new('RGB', (_SIDE + 2, _SIDE + 2), (255, 0, 0))
  red, green, blue = _colour(rng)
  # Never red inside, so a test can tell the border was cropped.
  image.paste(Image.new('RGB', (_SIDE, _SIDE), (red, 96 + green // 2, blue)), (1, 1))
  buffer = io.BytesIO()
  image.save(buffer, format='PNG')
  return buffer.getvalue()


def _objectnet_mappings(rng: random.Random, folders: list[str]) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
  """The four mapping files' texts, and each mapped folder's labels."""
  wnids = metadata.wnids()
  lines = list(range(1000))  # Line of each class's name, in a seeded order.
  rng.shuffle(lines)
  names = [f'imagenet class {wnid}' for wnid in wnids]
  by_line = [''] * 1000
  for index, line in enumerate(lines):
    by_line[line] = names[index]
  picked = rng.sample(range(1000), _OBJECTNET_MAPPED + _OBJECTNET_DOUBLE)
  mapped_folders = rng.sample(folders, _OBJECTNET_MAPPED)
  to_imagenet, labels = {}, {}
  for number, folder in enumerate(mapped_folders):
    indices = [picked[number]]
    if number < _OBJECTNET_DOUBLE:
      indices.append(picked[_OBJECTNET_MAPPED + number])
    to_imagenet[f'Label of {folder}'] = '; '.join(names[i] for i in indices)
    labels[folder] = tuple(sorted(indices))
  texts = {
      objectnet.FOLDER_TO_LABEL: json.dumps({f: f'Label of {f}' for f in folders}, indent=1),
      objectnet.LABEL_TO_IMAGENET: json.dumps(to_imagenet, indent=1),
      objectnet.IMAGENET_NAMES: ''.join(f'{name}\n' for name in by_line),
      objectnet.INDEX_TO_LINE: json.dumps({str(i): lines[i] for i in range(1000)}),
  }
  return texts, labels


def _write_objectnet(out: pathlib.Path, rng: random.Random, expected: Expected) -> None:
  top = out / facts.by_split()[facts.OBJECTNET].folder
  folders = [f'object_{number:03d}' for number in range(_OBJECTNET_FOLDERS)]
  texts, labels = _objectnet_mappings(rng, folders)
  for name, text in texts.items():
    tars.write_file(top / 'mappings' / name, text.encode())
  split = expected.setdefault(facts.OBJECTNET, {})
  for folder in folders:
    for number in range(_images_in_class(rng)):
      name = hashlib.sha1(f'{folder}/{number}'.encode()).hexdigest()[:16] + '.png'
      tars.write_file(top / 'images' / folder / name, objectnet_png(rng))
      if folder in labels:
        split[f'{folder}/{name}'] = labels[folder]


def write_eval_sets(
    out_dir: pathlib.Path, seed: int = 0, splits: Iterable[str] | None = None
) -> Expected:
  """Writes fakes of the evaluation sets' downloads into `out_dir`.

  Args:
    out_dir: the manual dir to write into (created).
    seed: the seed; the same seed writes the same bytes.
    splits: the sets to write (default: all).

  Returns:
    For each split, the images it must hold: file name -> labels.
  """
  out_dir.mkdir(parents=True, exist_ok=True)
  wanted = facts.SPLITS if splits is None else tuple(splits)
  expected: Expected = {}
  for eval_set in facts.EVAL_SETS:
    if eval_set.split not in wanted:
      continue
    rng = random.Random(f'{seed}/{eval_set.split}')
    if eval_set.split == facts.OBJECTNET:
      _write_objectnet(out_dir, rng, expected)
      continue
    if eval_set.folder_names is facts.FolderNames.INDEX:
      files = _v2_files(eval_set, rng, expected)
    else:
      files = _wnid_files(eval_set, rng, expected)
    path = out_dir / eval_set.downloads[0]
    if path.name.endswith('.zip'):
      _write_zip(path, files)
    else:
      _write_tar(path, files, compress=path.name.endswith('.gz'))
  return expected


def main() -> None:
  parser = argparse.ArgumentParser(prog='python -m imagenet_custom.testing.eval_sets')
  parser.add_argument('--out', required=True, type=pathlib.Path)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  expected = write_eval_sets(args.out, args.seed)
  print(', '.join(f'{split}: {len(images)} images' for split, images in expected.items()))


if __name__ == '__main__':
  main()
