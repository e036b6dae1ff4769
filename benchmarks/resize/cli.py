"""The command line: make the images, time the stages and candidates, print tables."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
import dataclasses
import io
import os
import pathlib
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np
import PIL
from PIL import features
from PIL import Image

from benchmarks.resize import inputs
from benchmarks.resize import measuring
from benchmarks.resize import quality
from benchmarks.resize import recipes
from imagenet_custom.ilsvrc import images

DEFAULT_IMAGES = 200
DEFAULT_LARGE = 40
DEFAULT_PASSES = 5
DEFAULT_SHORTER_SIDE = 256


@dataclasses.dataclass
class Scored:
  """One candidate's quality on one set of images (means over the images).

  Attributes:
    resize_db: PSNR of the shrunk image, before encoding, against the reference.
    stored_db: PSNR of the stored JPEG, decoded, against the reference.
    kib: the stored JPEG's size.
  """

  resize_db: float
  stored_db: float
  kib: float


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=DEFAULT_IMAGES,
                      help='realistic and photo-like images (each)')
  parser.add_argument('--large', type=int, default=DEFAULT_LARGE,
                      help='large photo-like images (900-1600 px)')
  parser.add_argument('--passes', type=int, default=DEFAULT_PASSES,
                      help='timed passes; the best is printed')
  parser.add_argument('--shorter_side', type=int, default=DEFAULT_SHORTER_SIDE)
  parser.add_argument('--photos', type=pathlib.Path, default=None,
                      help='a folder of JPEGs (e.g. real ImageNet) to time and score too'
                           ' (up to --images of those a build would resize)')
  return parser.parse_args(argv)


def _environment() -> str:
  load = ', '.join(f'{x:.1f}' for x in os.getloadavg())
  return (
      f'Python {platform.python_version()}, Pillow {PIL.__version__}, libjpeg-turbo'
      f' {features.version("libjpeg_turbo")}, numpy {np.__version__};'
      f' {os.cpu_count()} cores, load average {load}'
  )


def _describe(name: str, jpegs: Sequence[bytes]) -> str:
  sizes = [Image.open(io.BytesIO(data)).size for data in jpegs]
  return (
      f'{name}: {len(jpegs)} JPEGs, mean {statistics.mean(w for w, _ in sizes):.0f}x'
      f'{statistics.mean(h for _, h in sizes):.0f} px,'
      f' {statistics.mean(len(data) for data in jpegs) / 1024:.0f} KiB'
  )


def _rgb(image: Image.Image) -> np.ndarray:
  return np.asarray(image if image.mode == 'RGB' else image.convert('RGB'))


def _score(
    recipe: recipes.Recipe, jpegs: Sequence[bytes], references: Sequence[np.ndarray],
    shorter_side: int,
) -> Scored:
  """A recipe's mean PSNRs and stored size over a set of JPEGs."""
  resize_db, stored_db, kib = [], [], []
  for data, reference in zip(jpegs, references, strict=True):
    shrunk, stored = recipe.run(data, shorter_side)
    resize_db.append(quality.psnr(_rgb(shrunk), reference))
    stored_db.append(quality.psnr(_rgb(Image.open(io.BytesIO(stored))), reference))
    kib.append(len(stored) / 1024)
  return Scored(statistics.mean(resize_db), statistics.mean(stored_db), statistics.mean(kib))


def _references(jpegs: Sequence[bytes], shorter_side: int) -> list[np.ndarray]:
  """The float Lanczos resize of each fully decoded JPEG."""
  references = []
  for data in jpegs:
    image = Image.open(io.BytesIO(data)).convert('RGB')
    size = images.resized_size(image.width, image.height, shorter_side)
    references.append(quality.reference_resize(np.asarray(image), size))
  return references


def _check_build_matches(jpegs: Sequence[bytes], shorter_side: int) -> None:
  """Fails unless `recipes.BUILD` writes the bytes the build writes."""
  for data in jpegs:
    image = Image.open(io.BytesIO(data))
    prepared = images.PreparedImage(data, images.Fix.KEPT, 'JPEG', *image.size)
    built = images.resize_to_shorter_side(prepared, shorter_side, images.DEFAULT_JPEG_QUALITY)
    if built.data != recipes.BUILD.run(data, shorter_side)[1]:
      raise AssertionError('recipes.BUILD no longer matches images.resize_to_shorter_side')


def _stage_table(
    sets: Mapping[str, Sequence[bytes]], shorter_side: int, passes: int
) -> str:
  """CPU ms per image of each stage alone, one column per set."""
  stages = recipes.stages(shorter_side)
  columns = {}
  for set_name, jpegs in sets.items():
    functions = {name: stage.run for name, stage in stages.items()}
    stage_inputs = {
        name: [stage.prepare(data) for data in jpegs] for name, stage in stages.items()
    }
    columns[set_name] = measuring.best_ms_per_item(functions, stage_inputs, passes)
  lines = [f'{"stage":40}' + ''.join(f'{name:>12}' for name in sets)]
  for name in stages:
    lines.append(f'{name:40}' + ''.join(f'{columns[s][name]:12.3f}' for s in sets))
  return '\n'.join(lines)


def _candidate_table(
    timed: Mapping[str, Sequence[bytes]],
    scored: Mapping[str, Sequence[bytes]],
    shorter_side: int,
    passes: int,
) -> str:
  """Each candidate's CPU ms per image and its quality, side by side."""
  def runner(recipe: recipes.Recipe) -> Callable[[Any], Any]:
    return lambda data: recipe.run(data, shorter_side)

  functions = {name: runner(recipe) for name, recipe in recipes.CANDIDATES.items()}
  times = {
      set_name: measuring.best_ms_per_item(
          functions, dict.fromkeys(functions, jpegs), passes
      )
      for set_name, jpegs in timed.items()
  }
  references = {name: _references(jpegs, shorter_side) for name, jpegs in scored.items()}
  quality_of = {
      name: {
          set_name: _score(recipe, jpegs, references[set_name], shorter_side)
          for set_name, jpegs in scored.items()
      }
      for name, recipe in recipes.CANDIDATES.items()
  }
  width = max(len(name) for name in recipes.CANDIDATES) + 1
  header = f'{"":{width}}' + ''.join(f'{"CPU ms/img":>11}' for _ in timed)
  header += ''.join(f'{"PSNR dB " + s:>18}' for s in scored)
  header += f'{"KiB stored":>{10 * len(scored)}}'
  subheader = f'{"candidate":{width}}' + ''.join(f'{s:>11}' for s in timed)
  subheader += ''.join(f'{"resize":>10}{"stored":>8}' for _ in scored)
  subheader += ''.join(f'{s:>10}' for s in scored)
  lines = [header, subheader]
  for name in recipes.CANDIDATES:
    row = f'{name:{width}}' + ''.join(f'{times[s][name]:11.3f}' for s in timed)
    row += ''.join(
        f'{quality_of[name][s].resize_db:10.2f}{quality_of[name][s].stored_db:8.2f}'
        for s in scored
    )
    row += ''.join(f'{quality_of[name][s].kib:10.1f}' for s in scored)
    lines.append(row)
  return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the benchmark and prints its tables.

  Args:
    argv: command-line arguments (without the program name).

  Returns:
    Exit code.
  """
  args = _parse_args(argv)
  started = time.perf_counter()
  print(f'Start: {_environment()}', flush=True)
  sets = {
      'realistic': inputs.realistic_jpegs(args.images),
      'photo': inputs.photo_like_jpegs(args.images),
      'large': inputs.large_jpegs(args.large),
  }
  if args.photos is not None:
    sets['files'] = inputs.folder_jpegs(args.photos, args.images, args.shorter_side)
    if not sets['files']:
      print(f'{args.photos}: no JPEG larger than the target', file=sys.stderr)
      return 2
  for name, jpegs in sets.items():
    print(_describe(name, jpegs), flush=True)
  _check_build_matches(
      [jpeg for jpegs in sets.values() for jpeg in jpegs[:10]], args.shorter_side
  )
  print(
      f'\nEach stage alone, CPU ms per image (one thread, best of {args.passes}'
      f' passes; shorter side {args.shorter_side}):', flush=True,
  )
  timed: dict[str, list[bytes]] = {
      name: sets[name] for name in ('realistic', 'large', 'files') if name in sets
  }
  print(_stage_table(timed, args.shorter_side, args.passes), flush=True)
  print(
      f'\nCandidates, whole resize (open, decode, shrink, encode): CPU ms per image'
      f' (best of {args.passes}); PSNR against a float Lanczos-3 resize of the full'
      ' image, before encoding and of the stored JPEG; stored size:', flush=True,
  )
  print(_candidate_table(timed, sets, args.shorter_side, args.passes), flush=True)
  print(f'\nEnd: {_environment()}; {time.perf_counter() - started:.0f} s in all.')
  return 0


if __name__ == '__main__':
  sys.exit(main())
