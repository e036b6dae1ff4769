"""Times the pre-flight check on a full-scale official-archive layout.

  python benchmarks/check_benchmark.py --out /work/bench/fullscale [--repeats 3]
      [--cache evict|none] [--profile FILE]

The first run writes, in `OUT/archives` (reused after: `OUT/stamp.json`
records what was written), the official ILSVRC2012 layout at full scale with
tiny images:

* `ILSVRC2012_img_train.tar`: 1,000 per-class tars `<wnid>.tar` holding
  1,281,167 train images (the real total; 717 to 1,281 a class, seeded, as
  real classes hold 732 to 1,300), named as real ones are (`<wnid>_<n>.JPEG`,
  sparse numbers);
* `ILSVRC2012_img_val.tar`: the 50,000 `ILSVRC2012_val_%08d.JPEG`;
* `ILSVRC2012_devkit_t12.tar.gz`: `meta.mat` (the generator's seeded IDs),
  the val ground truth (every class at least once) and a blacklist of 1,762.

Every image is the same 1x1 JPEG (a few hundred bytes, one 512-byte tar
block), so the tars hold the real number of members and headers in 1.4 GB
instead of 155 GB. The check reads headers and listings, the first bytes of
each image and 32 whole images, so its work is the real one except the disk:
on real tars the headers are 110 KB apart (one disk read each when the page
cache is cold), here they are 1 KB apart.

Then it runs `python -m imagenet_custom.check --manual_dir=OUT/archives
--data_dir=OUT/data` (which writes nothing) `--repeats` times: the first
after evicting the input from the page cache (`--cache evict`, the default),
the others warm, and prints the wall time of each.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import pathlib
import pstats
import subprocess
import sys
import time

if __name__ == '__main__':
  # Run as a script: make the checkout importable.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np  # pylint: disable=g-import-not-at-top
from PIL import Image  # pylint: disable=g-import-not-at-top

from benchmarks.build import page_cache  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import names  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import official_archives  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import plan_types  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import planning  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import spec as spec_lib  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import tars  # pylint: disable=g-import-not-at-top

REPO = pathlib.Path(__file__).resolve().parent.parent
# The real ILSVRC2012 counts.
FULL_TRAIN_IMAGES = 1_281_167
FULL_VAL_IMAGES = 50_000
LAYOUT_DIR = 'archives'
STAMP = 'stamp.json'


@dataclasses.dataclass(frozen=True)
class Scale:
  """What to write (the defaults are ILSVRC2012's counts).

  Attributes:
    classes: classes with train images (all hold val images too).
    train_images: total train images.
    val_images: val images.
    seed: seed of the class sizes, file numbers and val labels.
  """

  classes: int = spec_lib.NUM_CLASSES
  train_images: int = FULL_TRAIN_IMAGES
  val_images: int = FULL_VAL_IMAGES
  seed: int = 0


def tiny_jpeg() -> bytes:
  """A 1x1 grey baseline JPEG (deterministic for a given Pillow)."""
  out = io.BytesIO()
  Image.new('RGB', (1, 1), (128, 128, 128)).save(out, format='JPEG', quality=75)
  return out.getvalue()


def _val_plans(
    spec: spec_lib.FakeSpec, rng: np.random.Generator
) -> tuple[plan_types.ImagePlan, ...]:
  """The val images' labels and blacklist, as the devkit needs them."""
  wnids = sorted(wnid for wnid, _ in spec.class_sizes)
  labels = wnids[: spec.num_val] + [
      wnids[i] for i in rng.choice(len(wnids), size=spec.num_val - min(len(wnids), spec.num_val))
  ]
  labels = [labels[i] for i in rng.permutation(spec.num_val)]
  blacklist = {int(n) + 1 for n in rng.choice(spec.num_val, size=spec.num_blacklisted, replace=False)}
  return tuple(
      plan_types.ImagePlan(
          file_name=names.VAL_STEM_FORMAT.format(number) + names.IMAGE_SUFFIX,
          wnid=wnid, split='val', val_index=number, blacklisted=number in blacklist,
          planted='RGB', width=1, height=1, colour=(128, 128, 128), noise_seed=0,
          realistic=False,
      )
      for number, wnid in enumerate(labels, start=1)
  )


def write_layout(directory: pathlib.Path, scale: Scale) -> dict[str, int]:
  """Writes the official-archive layout with tiny images.

  Args:
    directory: the manual dir to write (created).
    scale: the counts.

  Returns:
    Train images, val images and blacklisted val images written.
  """
  spec = spec_lib.realistic_spec(
      scale.train_images, scale.val_images, scale.classes, scale.seed, (names.ARCHIVES,)
  )
  rng = np.random.default_rng(scale.seed)
  # The classes' IDs and names, and meta.mat's inner nodes, from a plan of
  # one image per class (planning every image would hold 1.3 million plans).
  small = planning.plan_dataset(dataclasses.replace(
      spec, class_sizes=tuple((wnid, 1) for wnid, _ in spec.class_sizes), num_val=1,
      num_blacklisted=0,
  ))
  plan = dataclasses.replace(small, spec=spec, train=(), val=_val_plans(spec, rng))
  image = tiny_jpeg()
  directory.mkdir(parents=True, exist_ok=True)
  with tars.DeterministicTar.create(directory / names.TRAIN_TAR) as train_tar:
    for wnid, size in sorted(spec.class_sizes):
      numbers = sorted(rng.choice(spec_lib.train_number_range(size), size=size, replace=False) + 1)
      inner = io.BytesIO()
      with tars.DeterministicTar(inner, compress=False, owns_file=False) as class_tar:
        for number in numbers:
          class_tar.add_bytes(f'{wnid}_{number}{names.IMAGE_SUFFIX}', image)
      train_tar.add_bytes(f'{wnid}.tar', inner.getvalue())
  with tars.DeterministicTar.create(directory / names.VAL_TAR) as val_tar:
    for val_image in plan.val:
      val_tar.add_bytes(val_image.file_name, image)
  data = names.DEVKIT_DATA
  with tars.DeterministicTar.create(directory / names.DEVKIT_TAR, compress=True) as devkit:
    devkit.add_directory(f'{data.split("/")[0]}/')
    devkit.add_directory(f'{data}/')
    devkit.add_bytes(f'{data}/{names.META_MAT}', official_archives.meta_mat_bytes(plan))
    devkit.add_bytes(
        f'{data}/{names.GROUND_TRUTH_2012}',
        official_archives.ground_truth_text(plan).encode('ascii'),
    )
    devkit.add_bytes(
        f'{data}/{names.BLACKLIST_2012}',
        official_archives.blacklist_text(plan).encode('ascii'),
    )
  return {
      'train': spec.num_train,
      'val': spec.num_val,
      'blacklisted': spec.num_blacklisted,
  }


def ensure_layout(out: pathlib.Path, scale: Scale) -> pathlib.Path:
  """The layout in `out`, written unless a stamp says it already is.

  Args:
    out: the benchmark's folder.
    scale: the counts.

  Returns:
    The manual dir.
  """
  stamp = out / STAMP
  wanted = dataclasses.asdict(scale)
  if stamp.exists() and json.loads(stamp.read_text()).get('scale') == wanted:
    return out / LAYOUT_DIR
  stamp.unlink(missing_ok=True)
  started = time.perf_counter()
  written = write_layout(out / LAYOUT_DIR, scale)
  stamp.write_text(json.dumps({'scale': wanted, 'written': written}, indent=1) + '\n')
  print(f'wrote {written} to {out / LAYOUT_DIR} in {time.perf_counter() - started:.0f} s')
  return out / LAYOUT_DIR


def check_command(manual_dir: pathlib.Path, data_dir: pathlib.Path) -> list[str]:
  """The pre-flight check's command line."""
  return [
      sys.executable, '-m', 'imagenet_custom.tools.check',
      f'--manual_dir={manual_dir}', f'--data_dir={data_dir}',
  ]


def time_check(manual_dir: pathlib.Path, data_dir: pathlib.Path) -> tuple[float, int, str]:
  """Runs the check once as its own process.

  Args:
    manual_dir: the layout.
    data_dir: the check's `--data_dir` (not created).

  Returns:
    Wall seconds, exit status and output.
  """
  started = time.perf_counter()
  done = subprocess.run(
      check_command(manual_dir, data_dir), cwd=REPO, capture_output=True, text=True
  )
  return time.perf_counter() - started, done.returncode, done.stdout + done.stderr


def profile_check(manual_dir: pathlib.Path, data_dir: pathlib.Path, path: pathlib.Path) -> str:
  """Profiles one check in this process (cProfile); writes the stats to `path`.

  Returns:
    The top of the profile, by cumulative time.
  """
  from imagenet_custom.tools import check  # pylint: disable=g-import-not-at-top

  profiler = cProfile.Profile()
  profiler.runcall(check.run_check, manual_dir, data_dir)
  profiler.dump_stats(path)
  text = io.StringIO()
  pstats.Stats(profiler, stream=text).sort_stats('cumulative').print_stats(25)
  return text.getvalue()


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--out', type=pathlib.Path, required=True, help='where the layout is written (once)')
  parser.add_argument('--repeats', type=int, default=3, help='checks run: the first cold, the others warm')
  parser.add_argument('--cache', choices=('evict', 'none'), default='evict')
  parser.add_argument('--profile', type=pathlib.Path, help='also profile one warm check (cProfile stats file)')
  parser.add_argument('--classes', type=int, default=Scale.classes)
  parser.add_argument('--train_images', type=int, default=Scale.train_images)
  parser.add_argument('--val_images', type=int, default=Scale.val_images)
  args = parser.parse_args(argv)
  manual_dir = ensure_layout(args.out, Scale(args.classes, args.train_images, args.val_images))
  data_dir = args.out / 'data'
  print('command:', ' '.join(check_command(manual_dir, data_dir)))
  times = []
  for repeat in range(args.repeats):
    cold = repeat == 0 and args.cache == 'evict'
    if cold:
      page_cache.evict_from_page_cache([manual_dir])
    seconds, status, output = time_check(manual_dir, data_dir)
    times.append(seconds)
    print(f'check {repeat + 1} ({"cold" if cold else "warm"} page cache): {seconds:.1f} s, exit status {status}')
    if status != 0 or repeat == 0:
      print(output)
  if args.profile:
    print(profile_check(manual_dir, data_dir, args.profile))
  warm = times[1:] if args.cache == 'evict' else times
  if warm:
    print(f'warm: median {sorted(warm)[len(warm) // 2]:.1f} s of {len(warm)}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
