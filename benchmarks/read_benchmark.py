"""Read-speed benchmark: our tf.data pipelines against Keras loaders and the limit.

One command, one process. It writes a realistic fake ImageNet (real-sized
~110 KB JPEGs, ~400x350) with the project's generator, builds
`imagenet_custom` from it in-process twice (the `default` config and the
resized `s256`), writes the default train split's JPEGs out as a class-folder
tree, then measures images/s into float32 batches of 64 x 224 x 224 x 3 for:

  (a3) Keras 3's `ImageDataGenerator.flow_from_directory` on the folders;
  (a2) tf-keras's `ImageDataGenerator.flow_from_directory` on the folders;
  (b) `tf.keras.utils.image_dataset_from_directory` on the class folders;
  (c) `imagenet_custom.pipeline.load_train` (box-guided crop, flip, resize);
  (d) `imagenet_custom.pipeline.load_eval` on the same split (centre crop);
  (e) the limit: `decode_jpeg` + `resize` of the same JPEG bytes held in
      memory (tf.data over a list of bytes, batched);
  (c256), (d256): (c) and (d) on the `s256` build;

and variants of (c) that undo one change each (`--no_variants` skips them).
(a)..(e) read the same original images. Each is an endless stream of
batches; after a warm-up, the methods are timed one epoch at a time in turn
for `--rounds` rounds. The ratios use each method's fastest epoch (other
load only slows epochs down); medians, the process's CPU time per image
(robust to other load) and the share of the machine other processes used
meanwhile are printed beside them, then a table per config (shard bytes,
build time, training and eval images/s). A profile of the stages (read,
parse, crop sampling, decode, resize, batching) follows. The modules are in
`benchmarks/read/`.

Usage (from the repository root):

  python benchmarks/read_benchmark.py [--images 2000] [--rounds 5]
      [--work_dir DIR] [--keep] [--no_profile] [--no_variants]

The default run takes about 8 minutes on 2 cores. TensorFlow's BFC
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
from collections.abc import Sequence
import math
import pathlib
import shutil
import sys
import tempfile
import time

import tensorflow_datasets as tfds

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
  sys.path.insert(0, str(PROJECT_DIR))

from benchmarks.read import inputs  # noqa: E402 (after the path is set)
from benchmarks.read import measure  # noqa: E402
from benchmarks.read import methods as methods_lib  # noqa: E402
from benchmarks.read import stages  # noqa: E402
from benchmarks.read import tables  # noqa: E402

# pylint: enable=g-import-not-at-top,wrong-import-position


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=inputs.DEFAULT_IMAGES,
                      help='train images to generate (~80%% form the train split)')
  parser.add_argument('--classes', type=int, default=inputs.DEFAULT_CLASSES)
  parser.add_argument('--rounds', type=int, default=5, help='timed epochs per method')
  parser.add_argument('--profile_repeats', type=int, default=2)
  parser.add_argument('--work_dir', type=pathlib.Path, default=None,
                      help='working directory (default: a new temporary one)')
  parser.add_argument('--keep', action='store_true', help='keep the working directory')
  parser.add_argument('--no_profile', action='store_true')
  parser.add_argument('--no_variants', action='store_true')
  return parser.parse_args(argv)


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
  print(f'Start: {tables.environment()}', flush=True)
  work_dir = args.work_dir or pathlib.Path(tempfile.mkdtemp(prefix='read_benchmark_'))
  work_dir.mkdir(parents=True, exist_ok=True)
  try:
    corpus = inputs.make_corpus(work_dir, args.images, args.classes)
    steps = math.ceil(len(corpus.jpegs) / measure.BATCH_SIZE)
    methods = methods_lib.make_methods(corpus, not args.no_variants)
    measure.run_rounds(methods, steps, args.rounds)
    size = measure.IMAGE_SIZE
    print(f'\nImages/s into float32 batches of {measure.BATCH_SIZE}x{size}x{size}x3'
          f' (best and median of {args.rounds} epochs of {steps} batches; CPU'
          ' ms/img: this process\'s CPU time per image, median; others: share'
          ' of the machine that other processes used meanwhile):')
    print(tables.format_results(methods), flush=True)
    print('\nPer config (plain build with threads; best epoch):')
    print(tables.format_configs(corpus, methods), flush=True)
    if not args.no_profile:
      print('\nWhere the time goes (each stage alone, one pass over the split,'
            ' AUTOTUNE parallelism, batches of 64):')
      print(stages.run_profile(corpus, args.profile_repeats), flush=True)
  finally:
    if args.keep:
      print(f'Kept {work_dir}')
    else:
      shutil.rmtree(work_dir)
  print(f'\nEnd: {tables.environment()}; {time.perf_counter() - started:.0f} s in all.')
  return 0


if __name__ == '__main__':
  sys.exit(main())
