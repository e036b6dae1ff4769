"""Read-speed benchmark: our tf.data pipelines against Keras loaders and the limit.

One command, one process. It writes a realistic fake ImageNet (real-sized
~110 KB JPEGs, ~400x350) with the project's generator, builds
`imagenet_custom` from it in-process, writes the train split's JPEGs out as a
class-folder tree, then measures images/s into float32 batches of
64 x 224 x 224 x 3 for:

  (a) tf_keras `ImageDataGenerator.flow_from_directory` on the class folders;
  (b) `tf.keras.utils.image_dataset_from_directory` on the class folders;
  (c) `imagenet_custom.pipeline.load_train` (box-guided crop, flip, resize);
  (d) `imagenet_custom.pipeline.load_eval` on the same split (centre crop);
  (e) the limit: `decode_jpeg` + `resize` of the same JPEG bytes held in
      memory (tf.data over a list of bytes, batched).

All five read the same images. Each is an endless stream of batches; after a
warm-up, the methods are timed one epoch at a time in turn (a, b, c, d, e, a,
...) for `--rounds` rounds. The ratios use each method's fastest epoch (other
load only slows epochs down); medians, the process's CPU time per image
(robust to other load) and the share of the machine other processes used
meanwhile are printed beside them. A profile of the stages (read,
parse, crop sampling, decode, resize, batching) follows.

Usage (from the repository root):

  python benchmarks/read_benchmark.py [--images 2000] [--rounds 5]
      [--work_dir DIR] [--keep] [--no_profile] [--no_variants]

The default run takes about 3-4 minutes on 2 cores. TensorFlow's BFC
allocator is switched on for the process (`TF_CPU_ALLOCATOR_USE_BFC=true`)
unless the variable is already set: with the default allocator every 38 MB
float batch is a fresh mmap whose page faults cost more than the resize; run
with `TF_CPU_ALLOCATOR_USE_BFC=false` to see it.
"""

from __future__ import annotations

import os

# Must be set before TensorFlow allocates anything; see the module docstring.
os.environ.setdefault('TF_CPU_ALLOCATOR_USE_BFC', 'true')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# pylint: disable=g-import-not-at-top,wrong-import-position
import argparse
from collections.abc import Callable, Iterator, Sequence
import contextlib
import dataclasses
import functools
import gc
import io
import math
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

from absl import logging
import numpy as np
import psutil
import tensorflow as tf
import tensorflow_datasets as tfds

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
  sys.path.insert(0, str(PROJECT_DIR))

import imagenet_custom  # noqa: F401  Registers the builder.
from imagenet_custom import pipeline
from imagenet_custom.testing import fake_imagenet

try:
  import tf_keras
except ImportError:  # Reported as method (a) being unavailable.
  tf_keras = None
# pylint: enable=g-import-not-at-top,wrong-import-position

DEFAULT_IMAGES = 2000
DEFAULT_CLASSES = 20
BATCH_SIZE = 64
IMAGE_SIZE = 224
SEED = 0
MIN_WARMUP_BATCHES = 5
TF_KERAS_HINT = 'pip install --no-deps tf-keras==2.21.0'

METHODS = {
    'a': 'Keras ImageDataGenerator.flow_from_directory',
    'b': 'tf.keras image_dataset_from_directory',
    'c': 'imagenet_custom training pipeline',
    'd': 'imagenet_custom evaluation pipeline',
    'e': 'limit: decode_jpeg+resize of bytes in memory',
}
VARIANTS = {
    'c-seeded': 'c, seeded (deterministic order and crops)',
    'c-uint8': 'c, uint8 batches cast to float32 after batching',
    'c-shuf1k': 'c, shuffle buffer 1,000 instead of 10,000',
    'e-opts': "e, with the pipeline's tf.data options",
}
# (numerator, denominator, target) of the ratios printed.
RATIOS = (('c', 'a', 2.0), ('c', 'b', 1.1), ('c', 'e', 0.9), ('d', 'e', 1.0))


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One timed run.

  Attributes:
    images: images delivered.
    seconds: wall time.
    cpu_seconds: CPU time of this process (all threads).
    others_share: share of all cores used by other processes meanwhile.
  """

  images: int
  seconds: float
  cpu_seconds: float
  others_share: float

  @property
  def rate(self) -> float:
    return self.images / self.seconds

  @property
  def cpu_ms(self) -> float:
    return 1000.0 * self.cpu_seconds / self.images


@dataclasses.dataclass
class Method:
  """A way of producing `(images, labels)` batches, and its timed epochs.

  Attributes:
    key: short name (`a`..`e` or a variant's).
    label: what it is.
    make: starts a fresh endless stream of batches; None when unavailable.
    unavailable: why it is unavailable.
    runs: the timed epochs.
  """

  key: str
  label: str
  make: Callable[[], Iterator[Any]] | None
  unavailable: str = ''
  runs: list[Measurement] = dataclasses.field(default_factory=list)

  def median(self) -> Measurement | None:
    """The run with the median rate, or None before any run."""
    if not self.runs:
      return None
    ordered = sorted(self.runs, key=Measurement.rate.fget)
    return ordered[(len(ordered) - 1) // 2]

  def best(self) -> Measurement | None:
    """The fastest run (the least disturbed by other load), or None."""
    return max(self.runs, key=Measurement.rate.fget, default=None)


@dataclasses.dataclass(frozen=True)
class Corpus:
  """The benchmark's images in their three forms.

  Attributes:
    data_dir: where `imagenet_custom` was built.
    folders: class-folder tree of the train split (`<wnid>/<file>`).
    jpegs: the train split's JPEG bytes, in memory.
    boxed: how many of them have boxes.
    mean_side: mean (height, width) of the images.
  """

  data_dir: pathlib.Path
  folders: pathlib.Path
  jpegs: list[bytes]
  boxed: int
  mean_side: tuple[float, float]


def _busy_seconds() -> float:
  """CPU seconds all cores have spent busy since boot."""
  times = psutil.cpu_times()
  return sum(times) - times.idle - getattr(times, 'iowait', 0.0)


def measure(batches: Iterator[Any], num_batches: int) -> Measurement:
  """Times `num_batches` batches of a stream.

  Args:
    batches: yields `(images, labels)` with images `[B, H, W, 3]`.
    num_batches: how many batches to take.

  Returns:
    The measurement.
  """
  busy = _busy_seconds()
  cpu = time.process_time()
  start = time.perf_counter()
  images = 0
  for _ in range(num_batches):
    batch, _ = next(batches)
    images += int(batch.shape[0])
  seconds = time.perf_counter() - start
  cpu_seconds = time.process_time() - cpu
  others = max(0.0, _busy_seconds() - busy - cpu_seconds)
  return Measurement(
      images, seconds, cpu_seconds, others / seconds / (os.cpu_count() or 1)
  )


def check_batch(batches: Iterator[Any], key: str) -> None:
  """Checks that a stream gives float32 `[B, 224, 224, 3]` batches.

  Args:
    batches: the stream.
    key: its name, for the error.

  Raises:
    AssertionError: another shape or dtype.
  """
  images, _ = next(batches)
  dtype = np.dtype(getattr(images.dtype, 'as_numpy_dtype', images.dtype))
  shape = tuple(images.shape)
  if dtype != np.float32 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
    raise AssertionError(f'({key}) gives {dtype} {shape}, not float32 batches')


def make_corpus(work_dir: pathlib.Path, num_images: int, num_classes: int) -> Corpus:
  """Generates the fake download, builds the dataset, writes the class folders.

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
  generated = time.perf_counter() - start
  data_dir = work_dir / 'data'
  builder = tfds.builder('imagenet_custom', data_dir=str(data_dir))
  report = io.StringIO()
  with contextlib.redirect_stdout(report):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(work_dir / 'input' / fake_imagenet.FOLDERS)
        )
    )
  logging.info('Build report:\n%s', report.getvalue())
  built = time.perf_counter() - start - generated
  folders = work_dir / 'class_folders'
  label_feature = builder.info.features['label']
  jpegs = []
  boxed = 0
  sides = []
  split = builder.as_dataset(
      split='train', decoders={'image': tfds.decode.SkipDecoding()}
  )
  for example in tfds.as_numpy(split):
    wnid = label_feature.int2str(int(example['label']))
    path = folders / wnid / example['file_name'].decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(example['image'])
    jpegs.append(example['image'])
    boxed += int(len(example['bboxes']) > 0)
  for data in jpegs[:200]:
    sides.append(tf.image.extract_jpeg_shape(data).numpy()[:2])
  mean_side = tuple(float(x) for x in np.mean(sides, axis=0))
  print(
      f'Corpus: generated {num_images} train images in {generated:.0f} s, built'
      f' in {built:.0f} s; the train split has {len(jpegs)} JPEGs'
      f' ({np.mean([len(j) for j in jpegs]) / 1024:.0f} KiB and'
      f' {mean_side[0]:.0f}x{mean_side[1]:.0f} px on average, {boxed} with'
      ' boxes).',
      flush=True,
  )
  return Corpus(data_dir, folders, jpegs, boxed, mean_side)


def keras_generator_stream(folders: pathlib.Path) -> Iterator[Any]:
  """(a): `ImageDataGenerator().flow_from_directory`, float32, bilinear.

  Args:
    folders: the class-folder tree.

  Returns:
    The endless batch iterator (it reshuffles every epoch).
  """
  assert tf_keras is not None
  generator = tf_keras.preprocessing.image.ImageDataGenerator()
  return generator.flow_from_directory(
      str(folders),
      target_size=(IMAGE_SIZE, IMAGE_SIZE),
      batch_size=BATCH_SIZE,
      class_mode='sparse',
      interpolation='bilinear',
      shuffle=True,
      seed=SEED,
  )


def keras_dataset_stream(folders: pathlib.Path) -> Iterator[Any]:
  """(b): `tf.keras.utils.image_dataset_from_directory`, repeated, prefetched.

  Args:
    folders: the class-folder tree.

  Returns:
    The endless batch iterator.
  """
  ds = tf.keras.utils.image_dataset_from_directory(
      str(folders),
      labels='inferred',
      label_mode='int',
      batch_size=BATCH_SIZE,
      image_size=(IMAGE_SIZE, IMAGE_SIZE),
      shuffle=True,
      seed=SEED,
      verbose=False,
  )
  return iter(ds.repeat().prefetch(tf.data.AUTOTUNE))


def decode_and_resize(image_bytes: tf.Tensor) -> tf.Tensor:
  """The limit's per-image work: full decode, resize to 224x224 float32.

  Args:
    image_bytes: scalar string, a JPEG.

  Returns:
    float32 `[224, 224, 3]`.
  """
  image = tf.io.decode_jpeg(image_bytes, channels=3)
  return tf.image.resize(image, [IMAGE_SIZE, IMAGE_SIZE])


def limit_dataset(jpegs: Sequence[bytes], options: tf.data.Options | None) -> tf.data.Dataset:
  """(e): the JPEG bytes in memory, decoded and resized, batched.

  Args:
    jpegs: the JPEG bytes.
    options: tf.data options, or None for the defaults.

  Returns:
    Endless `(images, zero labels)` batches.
  """
  ds = tf.data.Dataset.from_tensor_slices(tf.constant(list(jpegs)))
  ds = ds.repeat().map(
      decode_and_resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False
  )
  ds = ds.batch(BATCH_SIZE).map(_with_zero_labels).prefetch(tf.data.AUTOTUNE)
  return ds if options is None else ds.with_options(options)


def _with_zero_labels(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Pairs a batch with dummy labels, like the other streams."""
  return images, tf.zeros(tf.shape(images)[:1], tf.int64)


def _to_float(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Casts a uint8 batch to float32."""
  return tf.cast(images, tf.float32), labels


def variant_stream(key: str, corpus: Corpus) -> Iterator[Any]:
  """A tuning variant's stream (see `VARIANTS`).

  Args:
    key: the variant.
    corpus: the images.

  Returns:
    The endless batch iterator.
  """
  data_dir = str(corpus.data_dir)
  if key == 'c-seeded':
    return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, seed=SEED))
  if key == 'c-uint8':
    ds = pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, dtype=tf.uint8)
    return iter(ds.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE))
  if key == 'c-shuf1k':
    return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, shuffle_buffer=1000))
  if key == 'e-opts':
    return iter(limit_dataset(corpus.jpegs, pipeline.pipeline_options(False)))
  raise ValueError(f'unknown variant {key!r}')


def train_stream(data_dir: str) -> Iterator[Any]:
  """(c): `pipeline.load_train`, endless."""
  return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE))


def eval_stream(data_dir: str) -> Iterator[Any]:
  """(d): `pipeline.load_eval` on the train split, repeated."""
  ds = pipeline.load_eval(data_dir, BATCH_SIZE, IMAGE_SIZE, split='train')
  return iter(ds.repeat())


def limit_stream(jpegs: Sequence[bytes]) -> Iterator[Any]:
  """(e): `limit_dataset` with the default tf.data options."""
  return iter(limit_dataset(jpegs, None))


def make_methods(corpus: Corpus, variants: bool) -> list[Method]:
  """Sets up (a)..(e) and, optionally, the tuning variants.

  Args:
    corpus: the images.
    variants: whether to add `VARIANTS`.

  Returns:
    The methods, in measuring order.
  """
  data_dir = str(corpus.data_dir)
  if tf_keras is None:
    methods = [Method(
        'a', METHODS['a'], None, f'tf_keras not installed ({TF_KERAS_HINT})'
    )]
  else:
    methods = [Method(
        'a', METHODS['a'], functools.partial(keras_generator_stream, corpus.folders)
    )]
  methods += [
      Method('b', METHODS['b'], functools.partial(keras_dataset_stream, corpus.folders)),
      Method('c', METHODS['c'], functools.partial(train_stream, data_dir)),
      Method('d', METHODS['d'], functools.partial(eval_stream, data_dir)),
      Method('e', METHODS['e'], functools.partial(limit_stream, corpus.jpegs)),
  ]
  if variants:
    methods += [
        Method(key, label, functools.partial(variant_stream, key, corpus))
        for key, label in VARIANTS.items()
    ]
  return methods


def time_epoch(method: Method, steps: int, check: bool) -> Measurement:
  """Starts a fresh stream, warms it up, times one epoch, stops it.

  A fresh stream per timed epoch keeps the other methods' background threads
  from working (and banking batches) while one method is timed.

  Args:
    method: an available method.
    steps: batches per epoch.
    check: check the batches' shape and dtype first.

  Returns:
    The timed epoch.
  """
  assert method.make is not None
  batches = method.make()
  if check:
    check_batch(batches, method.key)
  measure(batches, max(MIN_WARMUP_BATCHES, steps // 4))
  run = measure(batches, steps)
  del batches
  gc.collect()
  return run


def run_rounds(methods: list[Method], steps: int, rounds: int) -> None:
  """Times one epoch of each method in turn, `rounds` times.

  Args:
    methods: the methods; their `runs` are filled in.
    steps: batches per epoch.
    rounds: timed epochs per method.
  """
  for round_index in range(rounds):
    for method in methods:
      if method.make is None:
        continue
      run = time_epoch(method, steps, check=round_index == 0)
      method.runs.append(run)
      logging.info(
          'round %d (%s): %.0f img/s, %.2f CPU ms/img, others %.0f%%',
          round_index, method.key, run.rate, run.cpu_ms, 100 * run.others_share,
      )
    print(f'Round {round_index + 1}/{rounds} done.', flush=True)


def format_results(methods: Sequence[Method]) -> str:
  """The results table and the ratios against their targets.

  Ratios use each method's fastest epoch: other load on the machine only ever
  slows an epoch down, so the best of several is the closest to the method's
  own speed (as `timeit` takes the minimum). Medians are shown beside them.

  Args:
    methods: measured methods.

  Returns:
    Printable text.
  """
  lines = [
      f'{"":10} {"method":50} {"best":>6} {"median":>6} {"CPU ms/img":>10}'
      f' {"others":>6}',
  ]
  best = {}
  medians = {}
  for method in methods:
    fastest, median = method.best(), method.median()
    if fastest is None or median is None:
      lines.append(f'({method.key:8}) {method.label:50} unavailable: {method.unavailable}')
      continue
    best[method.key] = fastest
    medians[method.key] = median
    cpu_ms = statistics.median(run.cpu_ms for run in method.runs)
    others = statistics.median(run.others_share for run in method.runs)
    lines.append(
        f'({method.key:8}) {method.label:50} {fastest.rate:6.0f} {median.rate:6.0f}'
        f' {cpu_ms:10.2f} {100 * others:5.0f}%'
    )
  lines.append('')
  lines.append('ratio     best img/s  target           median img/s  CPU (1/ms)')
  for top, bottom, target in RATIOS:
    if top not in best or bottom not in best:
      lines.append(f'({top})/({bottom})  n/a         >= {target:.1f}')
      continue
    ratio = best[top].rate / best[bottom].rate
    median_ratio = medians[top].rate / medians[bottom].rate
    cpu_ratio = (
        statistics.median(run.cpu_ms for run in _method(methods, bottom).runs)
        / statistics.median(run.cpu_ms for run in _method(methods, top).runs)
    )
    verdict = 'met' if ratio >= target else 'MISSED'
    lines.append(
        f'({top})/({bottom})  {ratio:5.2f}       >= {target:.1f} {verdict:7}'
        f' {median_ratio:8.2f}     {cpu_ratio:7.2f}'
    )
  return '\n'.join(lines)


def _method(methods: Sequence[Method], key: str) -> Method:
  """The method with `key`."""
  return next(method for method in methods if method.key == key)


@dataclasses.dataclass(frozen=True)
class Stage:
  """One profiled stage: a finite dataset of small elements or batches."""

  label: str
  make: Callable[[], tf.data.Dataset]


def _tiny(image: tf.Tensor) -> tf.Tensor:
  """One pixel of an image as float32: forces the work, moves no data."""
  return tf.cast(image[0, 0, 0], tf.float32)


def _stage_shape(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the JPEG's shape and a sampled train crop window."""
  return tf.cast(
      pipeline.random_crop_window(
          tf.image.extract_jpeg_shape(image_bytes), bboxes, IMAGE_SIZE
      )[0],
      tf.float32,
  )


def _stage_decode(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: a full decode."""
  del bboxes
  return _tiny(tf.io.decode_jpeg(image_bytes, channels=3))


def _stage_crop_train(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: fused decode of a sampled train crop."""
  window = pipeline.random_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), bboxes, IMAGE_SIZE
  )
  return _tiny(tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3))


def _stage_crop_eval(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: fused decode of the eval centre crop."""
  del bboxes
  window = pipeline.center_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), IMAGE_SIZE
  )
  return _tiny(tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3))


def _stage_crop_resize(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: train crop decode and resize, output not kept."""
  window = pipeline.random_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), bboxes, IMAGE_SIZE
  )
  image = tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3)
  return _tiny(tf.image.resize(image, [IMAGE_SIZE, IMAGE_SIZE]))


def _stage_train(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the whole train preprocessing, float32."""
  return pipeline.preprocess_train(image_bytes, bboxes, IMAGE_SIZE)


def _stage_train_uint8(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the whole train preprocessing, uint8."""
  return pipeline.preprocess_train(image_bytes, bboxes, IMAGE_SIZE, dtype=tf.uint8)


def _stage_decode_resize(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the limit's decode and resize."""
  del bboxes
  return decode_and_resize(image_bytes)


def _image_length(example: dict[str, tf.Tensor]) -> tf.Tensor:
  """Stage output of a read: the JPEG's length."""
  return tf.strings.length(example['image'])


def _in_memory(
    corpus_ds: tf.data.Dataset,
    fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    post: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tf.data.Dataset:
  """A stage over the in-memory `(bytes, boxes)`: map, batch, optional post."""
  ds = corpus_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  ds = ds.batch(BATCH_SIZE)
  if post is not None:
    ds = ds.map(post, num_parallel_calls=tf.data.AUTOTUNE)
  return ds.prefetch(tf.data.AUTOTUNE)


def _cast_float(images: tf.Tensor) -> tf.Tensor:
  """Casts a batch to float32."""
  return tf.cast(images, tf.float32)


def profile_stages(corpus: Corpus) -> list[Stage]:
  """The stages profiled, cumulative where it reads so.

  Args:
    corpus: the images.

  Returns:
    The stages.
  """
  data_dir = str(corpus.data_dir)
  examples = tfds.load(
      pipeline.DATASET_NAME, split='train', data_dir=data_dir,
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  images, boxes = [], []
  for example in tfds.as_numpy(examples):
    images.append(example['image'])
    boxes.append(example['bboxes'].reshape(-1, 4).tolist())
  ragged = tf.ragged.constant(boxes, dtype=tf.float32, ragged_rank=1, inner_shape=(4,))
  corpus_ds = tf.data.Dataset.from_tensor_slices((tf.constant(images), ragged)).cache()
  files = sorted(
      str(path) for path in corpus.data_dir.rglob('imagenet_custom-train.tfrecord-*')
  )
  return [
      Stage('in memory: iterate the bytes (per-element overhead)',
            lambda: _in_memory(corpus_ds, _image_length_pair)),
      Stage('disk: read records, no parse (TFRecordDataset)',
            lambda: tf.data.TFRecordDataset(files, buffer_size=8 << 20).map(tf.strings.length).batch(BATCH_SIZE)),
      Stage('disk: read + interleave + parse (tfds.load, SkipDecoding)',
            lambda: tfds.load(
                pipeline.DATASET_NAME, split='train', data_dir=data_dir,
                shuffle_files=True,
                decoders={'image': tfds.decode.SkipDecoding()},
                read_config=pipeline.read_config(),
            ).map(_image_length).batch(BATCH_SIZE)),
      Stage('in memory: extract_jpeg_shape + sample crop window',
            lambda: _in_memory(corpus_ds, _stage_shape)),
      Stage('in memory: decode_jpeg, whole image',
            lambda: _in_memory(corpus_ds, _stage_decode)),
      Stage('in memory: decode_and_crop_jpeg, train crop',
            lambda: _in_memory(corpus_ds, _stage_crop_train)),
      Stage('in memory: decode_and_crop_jpeg, eval centre crop',
            lambda: _in_memory(corpus_ds, _stage_crop_eval)),
      Stage('in memory: train crop + resize to float32 (not batched)',
            lambda: _in_memory(corpus_ds, _stage_crop_resize)),
      Stage('in memory: preprocess_train + batch float32',
            lambda: _in_memory(corpus_ds, _stage_train)),
      Stage('in memory: preprocess_train uint8 + batch + cast float32',
            lambda: _in_memory(corpus_ds, _stage_train_uint8, _cast_float)),
      Stage('in memory: decode_jpeg + resize + batch float32 (= e)',
            lambda: _in_memory(corpus_ds, _stage_decode_resize)),
  ]


def _image_length_pair(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the JPEG's length (no image work)."""
  del bboxes
  return tf.cast(tf.strings.length(image_bytes), tf.float32)


def measure_stage(ds: tf.data.Dataset, repeats: int) -> Measurement:
  """Times full passes over a finite dataset; returns the fastest.

  Args:
    ds: the stage's dataset.
    repeats: passes.

  Returns:
    The fastest pass.
  """
  best = None
  for _ in range(repeats):
    busy = _busy_seconds()
    cpu = time.process_time()
    start = time.perf_counter()
    images = 0
    for batch in ds:
      images += int(batch.shape[0])
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    others = max(0.0, _busy_seconds() - busy - cpu_seconds)
    run = Measurement(images, seconds, cpu_seconds, others / seconds / (os.cpu_count() or 1))
    if best is None or run.cpu_ms < best.cpu_ms:
      best = run
  assert best is not None
  return best


def run_profile(corpus: Corpus, repeats: int) -> str:
  """Profiles the stages of the pipelines.

  Args:
    corpus: the images.
    repeats: passes per stage (the one with the least CPU is kept).

  Returns:
    Printable table.
  """
  lines = [f'{"stage":62} {"img/s":>7} {"CPU ms/img":>10} {"others":>6}']
  for stage in profile_stages(corpus):
    ds = stage.make()
    measure_stage(ds.take(2), 1)  # Traces the functions.
    run = measure_stage(ds, repeats)
    lines.append(
        f'{stage.label:62} {run.rate:7.0f} {run.cpu_ms:10.2f}'
        f' {100 * run.others_share:5.0f}%'
    )
  return '\n'.join(lines)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=DEFAULT_IMAGES,
                      help='train images to generate (~80%% form the train split)')
  parser.add_argument('--classes', type=int, default=DEFAULT_CLASSES)
  parser.add_argument('--rounds', type=int, default=5, help='timed epochs per method')
  parser.add_argument('--profile_repeats', type=int, default=2)
  parser.add_argument('--work_dir', type=pathlib.Path, default=None,
                      help='working directory (default: a new temporary one)')
  parser.add_argument('--keep', action='store_true', help='keep the working directory')
  parser.add_argument('--no_profile', action='store_true')
  parser.add_argument('--no_variants', action='store_true')
  return parser.parse_args(argv)


def _environment() -> str:
  load = ', '.join(f'{x:.1f}' for x in os.getloadavg())
  return (
      f'{os.cpu_count()} cores, load average {load}; TensorFlow {tf.__version__},'
      f' TF_CPU_ALLOCATOR_USE_BFC={os.environ.get("TF_CPU_ALLOCATOR_USE_BFC")},'
      f' tf_keras {"not installed" if tf_keras is None else tf_keras.__version__}'
  )


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the benchmark and prints the tables.

  Args:
    argv: command-line arguments (without the program name).

  Returns:
    Exit code.
  """
  args = _parse_args(argv)
  tfds.disable_progress_bar()
  started = time.perf_counter()
  print(f'Start: {_environment()}', flush=True)
  work_dir = args.work_dir or pathlib.Path(tempfile.mkdtemp(prefix='read_benchmark_'))
  work_dir.mkdir(parents=True, exist_ok=True)
  try:
    corpus = make_corpus(work_dir, args.images, args.classes)
    steps = math.ceil(len(corpus.jpegs) / BATCH_SIZE)
    methods = make_methods(corpus, not args.no_variants)
    run_rounds(methods, steps, args.rounds)
    print(f'\nImages/s into float32 batches of {BATCH_SIZE}x{IMAGE_SIZE}x{IMAGE_SIZE}x3'
          f' (best and median of {args.rounds} epochs of {steps} batches; CPU'
          ' ms/img: this process\'s CPU time per image, median; others: share'
          ' of the machine that other processes used meanwhile):')
    print(format_results(methods), flush=True)
    if not args.no_profile:
      print('\nWhere the time goes (each stage alone, one pass over the split,'
            ' AUTOTUNE parallelism, batches of 64):')
      print(run_profile(corpus, args.profile_repeats), flush=True)
  finally:
    if args.keep:
      print(f'Kept {work_dir}')
    else:
      shutil.rmtree(work_dir)
  print(f'\nEnd: {_environment()}; {time.perf_counter() - started:.0f} s in all.')
  return 0


if __name__ == '__main__':
  sys.exit(main())
