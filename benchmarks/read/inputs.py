"""The benchmark's images: a realistic fake download, its builds and folders."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pathlib
import resource
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

import imagenet_custom  # noqa: F401  Registers the builder.
from imagenet_custom.build import report as report_lib
from imagenet_custom.testing import fake_imagenet

DEFAULT_IMAGES = 2000
DEFAULT_CLASSES = 20
SEED = 0
# The builds compared: the originals and the resized build.
CONFIGS = ('default', 's256')
# JPEGs whose shape is read for the mean size.
SIZED_SAMPLE = 200


@dataclasses.dataclass(frozen=True)
class Build:
  """One config built from the fake download.

  Attributes:
    config: the config name.
    seconds: wall time of `download_and_prepare` (plain build, threads).
    cpu_seconds: CPU time of the build: this process (all threads) and its
      worker processes.
    shard_bytes: bytes of the dataset's shard files (all splits).
    resized: images shrunk (resized builds).
    kept: images already small enough (resized builds).
    train_jpegs: the train split's JPEG bytes, in memory.
    boxes: each train JPEG's boxes, float `[N, 4]`.
    mean_kib: mean train JPEG size.
    mean_side: mean (height, width) of the train JPEGs.
  """

  config: str
  seconds: float
  cpu_seconds: float
  shard_bytes: int
  resized: int
  kept: int
  train_jpegs: list[bytes]
  boxes: list[np.ndarray]
  mean_kib: float
  mean_side: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Corpus:
  """The benchmark's images in their forms.

  Attributes:
    data_dir: where every config was built.
    folders: class-folder tree of the default build's train split
      (`<wnid>/<file>`), the original JPEG bytes.
    builds: each config's build, by name.
  """

  data_dir: pathlib.Path
  folders: pathlib.Path
  builds: dict[str, Build]

  @property
  def jpegs(self) -> list[bytes]:
    """The original train JPEGs."""
    return self.builds['default'].train_jpegs


def _shard_bytes(data_dir: pathlib.Path, config: str) -> int:
  """Bytes of a built config's shard files."""
  config_dir = data_dir / 'imagenet_custom' / config
  return sum(
      path.stat().st_size
      for path in config_dir.rglob('imagenet_custom-*')
      if path.is_file() and not path.name.endswith('.json')
  )


def cpu_seconds() -> float:
  """CPU time of this process and of its children that have ended and been waited for.

  A plain build runs its per-image work in worker processes, which it waits
  for when it ends: `time.process_time` alone would leave their time out.
  """
  children = resource.getrusage(resource.RUSAGE_CHILDREN)
  return time.process_time() + children.ru_utime + children.ru_stime


def build_config(
    manual_dir: pathlib.Path, data_dir: pathlib.Path, config: str
) -> tuple[tfds.core.DatasetBuilder, float, float]:
  """Builds one config, its build report logged, not printed.

  Args:
    manual_dir: the fake download.
    data_dir: where to build.
    config: the config name.

  Returns:
    The builder, the build's wall time and its CPU time (its worker
    processes' included).
  """
  builder = tfds.builder(f'imagenet_custom/{config}', data_dir=str(data_dir))
  report = io.StringIO()
  cpu = cpu_seconds()
  start = time.perf_counter()
  with contextlib.redirect_stdout(report):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
  seconds = time.perf_counter() - start
  build_cpu_seconds = cpu_seconds() - cpu
  logging.info('Build report of %s:\n%s', config, report.getvalue())
  return builder, seconds, build_cpu_seconds


def read_train_split(
    builder: tfds.core.DatasetBuilder, folders: pathlib.Path | None
) -> tuple[list[bytes], list[np.ndarray]]:
  """The train split's JPEG bytes and boxes; optionally writes class folders.

  Args:
    builder: a built config.
    folders: where to write `<wnid>/<file name>`, or None.

  Returns:
    The JPEG bytes and boxes, in the split's order.
  """
  label_feature = builder.info.features['label']
  jpegs, boxes = [], []
  split = builder.as_dataset(
      split='train', decoders={'image': tfds.decode.SkipDecoding()}
  )
  for example in tfds.as_numpy(split):
    if folders is not None:
      wnid = label_feature.int2str(int(example['label']))
      path = folders / wnid / example['file_name'].decode()
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_bytes(example['image'])
    jpegs.append(example['image'])
    boxes.append(example['bboxes'].reshape(-1, 4))
  return jpegs, boxes


def make_corpus(work_dir: pathlib.Path, num_images: int, num_classes: int) -> Corpus:
  """Generates the fake download, builds every config, writes the class folders.

  Args:
    work_dir: an empty working directory.
    num_images: train images to generate (about 80% land in the train split).
    num_classes: classes to spread them over.

  Returns:
    The corpus.
  """
  start = time.perf_counter()
  spec = fake_imagenet.realistic_spec(
      num_train=num_images,
      num_val=max(1, num_images // 20),
      num_classes=num_classes,
      seed=SEED,
      layouts=(fake_imagenet.FOLDERS,),
  )
  fake_imagenet.write_fake_imagenet(work_dir / 'input', spec)
  print(f'Generated {num_images} train images in {time.perf_counter() - start:.0f} s.')
  manual_dir = work_dir / 'input' / fake_imagenet.FOLDERS
  data_dir = work_dir / 'data'
  folders = work_dir / 'class_folders'
  builds = {}
  for config in CONFIGS:
    builder, seconds, build_cpu = build_config(manual_dir, data_dir, config)
    counts = builder.info.metadata['build_report']['counts']
    jpegs, boxes = read_train_split(builder, folders if config == 'default' else None)
    sides = [tf.image.extract_jpeg_shape(data).numpy()[:2] for data in jpegs[:SIZED_SAMPLE]]
    mean_side = tuple(float(x) for x in np.mean(sides, axis=0))
    builds[config] = Build(
        config=config,
        seconds=seconds,
        cpu_seconds=build_cpu,
        shard_bytes=_shard_bytes(data_dir, config),
        resized=counts.get(report_lib.RESIZED, 0),
        kept=counts.get(report_lib.RESIZE_KEPT, 0),
        train_jpegs=jpegs,
        boxes=boxes,
        mean_kib=float(np.mean([len(j) for j in jpegs]) / 1024),
        mean_side=(mean_side[0], mean_side[1]),
    )
    print(
        f'Built {config} in {seconds:.0f} s ({build_cpu:.0f} s CPU): the'
        f' train split has {len(jpegs)} JPEGs ({builds[config].mean_kib:.0f} KiB and'
        f' {mean_side[0]:.0f}x{mean_side[1]:.0f} px on average,'
        f' {sum(len(b) > 0 for b in boxes)} with boxes).',
        flush=True,
    )
  return Corpus(data_dir, folders, builds)
