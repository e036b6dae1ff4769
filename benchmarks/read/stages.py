"""The profile: each stage of the pipelines alone, over the train split."""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import functools

import tensorflow as tf
import tensorflow_datasets as tfds

from benchmarks.read import inputs
from benchmarks.read import methods
from benchmarks.read import scaled as scaled_lib
from benchmarks.read.measure import BATCH_SIZE
from benchmarks.read.measure import IMAGE_SIZE
from benchmarks.read.measure import measure_stage
from imagenet_custom import pipeline

# A training size where scaled decoding applies to ~400 px originals (crops of
# at least 256 px): FFCV-style low-resolution training epochs.
SMALL_SIZE = 128

_Fn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Stage:
  """One profiled stage: a finite dataset of small elements or batches."""

  label: str
  make: Callable[[], tf.data.Dataset]


def _tiny(image: tf.Tensor) -> tf.Tensor:
  """One pixel of an image as float32: forces the work, moves no data."""
  return tf.cast(image[0, 0, 0], tf.float32)


def _length(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the JPEG's length (no image work)."""
  del bboxes
  return tf.cast(tf.strings.length(image_bytes), tf.float32)


def _shape_and_window(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the JPEG's shape and a sampled train crop window."""
  window = pipeline.random_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), bboxes, IMAGE_SIZE
  )
  return tf.cast(window[0], tf.float32)


def _decode(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: a full decode."""
  del bboxes
  return _tiny(tf.io.decode_jpeg(image_bytes, channels=3))


def _crop_train(
    image_bytes: tf.Tensor, bboxes: tf.Tensor, image_size: int, scaled: bool
) -> tf.Tensor:
  """Stage: decode of a sampled train crop, scaled when it pays or never."""
  window = pipeline.random_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), bboxes, image_size
  )
  decode = (
      scaled_lib.scaled_decode_crop if scaled
      else scaled_lib.full_scale_decode_crop
  )
  return _tiny(decode(image_bytes, window, image_size))


def _crop_eval(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: decode of the eval centre crop."""
  del bboxes
  window = pipeline.center_crop_window(
      tf.image.extract_jpeg_shape(image_bytes), IMAGE_SIZE
  )
  return _tiny(tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3))


def _train(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the whole train preprocessing, float32."""
  return pipeline.preprocess_train(image_bytes, bboxes, IMAGE_SIZE)


def _train_uint8(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the whole train preprocessing, uint8."""
  return pipeline.preprocess_train(image_bytes, bboxes, IMAGE_SIZE, dtype=tf.uint8)


def _decode_resize(image_bytes: tf.Tensor, bboxes: tf.Tensor) -> tf.Tensor:
  """Stage: the limit's decode and resize."""
  del bboxes
  return methods.decode_and_resize(image_bytes)


def _cast_float(images: tf.Tensor) -> tf.Tensor:
  """Casts a batch to float32."""
  return tf.cast(images, tf.float32)


def _image_length(example: dict[str, tf.Tensor]) -> tf.Tensor:
  """Stage output of a read: the JPEG's length."""
  return tf.strings.length(example['image'])


def _in_memory(
    corpus_ds: tf.data.Dataset,
    fn: _Fn,
    post: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tf.data.Dataset:
  """A stage over the in-memory `(bytes, boxes)`: map, batch, optional post."""
  ds = corpus_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  ds = ds.batch(BATCH_SIZE)
  if post is not None:
    ds = ds.map(post, num_parallel_calls=tf.data.AUTOTUNE)
  return ds.prefetch(tf.data.AUTOTUNE)


def _memory_dataset(build: inputs.Build) -> tf.data.Dataset:
  """A build's train JPEGs and boxes as a cached in-memory dataset."""
  ragged = tf.ragged.constant(
      [boxes.tolist() for boxes in build.boxes], dtype=tf.float32,
      ragged_rank=1, inner_shape=(4,),
  )
  return tf.data.Dataset.from_tensor_slices(
      (tf.constant(build.train_jpegs), ragged)
  ).cache()


def _disk_read(data_dir: str, features: tuple[str, ...] | None) -> tf.data.Dataset:
  """Stage: `tfds.load` of the train split, parsing `features` (None: all)."""
  decoders = {'image': tfds.decode.SkipDecoding()}
  if features is not None:
    decoders = tfds.decode.PartialDecoding(
        dict.fromkeys(features, True), decoders=decoders
    )
  ds = tfds.load(
      pipeline.DATASET_NAME, split='train', data_dir=data_dir, shuffle_files=True,
      decoders=decoders, read_config=pipeline.read_config(),
  )
  return ds.map(_image_length).batch(BATCH_SIZE)


def profile_stages(corpus: inputs.Corpus) -> list[Stage]:
  """The stages profiled.

  Args:
    corpus: the images.

  Returns:
    The stages.
  """
  data_dir = str(corpus.data_dir)
  memory = _memory_dataset(corpus.builds['default'])
  files = sorted(
      str(path)
      for path in (corpus.data_dir / 'imagenet_custom' / 'default').rglob(
          'imagenet_custom-train.tfrecord-*'
      )
  )
  def crop(image_size: int, scaled: bool) -> _Fn:
    return functools.partial(_crop_train, image_size=image_size, scaled=scaled)

  stages = [
      Stage('in memory: iterate the bytes (per-element overhead)',
            lambda: _in_memory(memory, _length)),
      Stage('disk: read records, no parse (TFRecordDataset)',
            lambda: tf.data.TFRecordDataset(files, buffer_size=8 << 20)
            .map(tf.strings.length).batch(BATCH_SIZE)),
      Stage('disk: tfds.load, parse every feature (load_train)',
            lambda: _disk_read(data_dir, None)),
      Stage('disk: tfds.load, parse image+label+bboxes only',
            lambda: _disk_read(data_dir, pipeline.TRAIN_FEATURES)),
      Stage('in memory: extract_jpeg_shape + sample crop window',
            lambda: _in_memory(memory, _shape_and_window)),
      Stage('in memory: decode_jpeg, whole image',
            lambda: _in_memory(memory, _decode)),
      Stage(f'in memory: decode train crop ({IMAGE_SIZE})',
            lambda: _in_memory(memory, crop(IMAGE_SIZE, False))),
      Stage(f'in memory: decode train crop ({IMAGE_SIZE}), scaled if >= 2x',
            lambda: _in_memory(memory, crop(IMAGE_SIZE, True))),
      Stage(f'in memory: decode train crop ({SMALL_SIZE})',
            lambda: _in_memory(memory, crop(SMALL_SIZE, False))),
      Stage(f'in memory: decode train crop ({SMALL_SIZE}), scaled if >= 2x',
            lambda: _in_memory(memory, crop(SMALL_SIZE, True))),
      Stage('in memory: decode eval centre crop (224)',
            lambda: _in_memory(memory, _crop_eval)),
      Stage('in memory: preprocess_train + batch float32',
            lambda: _in_memory(memory, _train)),
      Stage('in memory: preprocess_train uint8 + batch + cast float32',
            lambda: _in_memory(memory, _train_uint8, _cast_float)),
      Stage('in memory: decode_jpeg + resize + batch float32 (= e)',
            lambda: _in_memory(memory, _decode_resize)),
  ]
  if 's256' in corpus.builds:
    small = _memory_dataset(corpus.builds['s256'])
    stages += [
        Stage('s256 in memory: decode_jpeg, whole image',
              lambda: _in_memory(small, _decode)),
        Stage('s256 in memory: preprocess_train + batch float32',
              lambda: _in_memory(small, _train)),
    ]
  return stages


def run_profile(corpus: inputs.Corpus, repeats: int) -> str:
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
