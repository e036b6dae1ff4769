"""`python -m imagenet_custom.export FORMAT --data_dir=DIR [--config=NAME] --out=OUT`.

Reads a built `imagenet_custom` (any config) and writes it as:
  folders     OUT/<split>/<wnid>/<file name>, as stored, with <split>_map.txt
              label files. Needs as much free disk as the images: checked
              before anything is written.
  inception   OUT/train-00000-of-01024 ... validation-00000-of-00128: the
              tf.train.Examples of inception's build_imagenet_data.py, with
              synsets.txt and imagenet_metadata.txt. --train_splits (default
              train) and --validation_splits (default test, the original val
              set) choose which splits become train and validation.
  webdataset  OUT/<split>-000000.tar ...: .jpg/.cls/.json per sample, keyed
              by file name, with a wids index OUT/<split>.json.
  dali        OUT/<shard>.idx: DALI's index of every TFRecord shard of the
              build (or of --tfrecord_dir, e.g. an inception export).

Every export runs on worker processes, shows images done of total, rate and
ETA, writes into OUT.partial and renames it to OUT when done (an interrupted
export leaves no OUT), writes the same bytes when run again, and ends with
OUT/export_report.json (what was written) and a summary on stdout.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import os
import sys
import time
from typing import Any

from imagenet_custom.errors import InputError
from imagenet_custom.tools.export import dali
from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import folders
from imagenet_custom.tools.export import inception
from imagenet_custom.tools.export import output
from imagenet_custom.tools.export import webdataset


def _split_list(text: str) -> tuple[str, ...]:
  return tuple(part for part in text.split(',') if part)


def _folders(args: argparse.Namespace, built: dataset_lib.BuiltDataset | None) -> Callable[[str], dict[str, Any]]:
  assert built is not None
  folders.check_space(built, args.out)
  return lambda folder: folders.export(built, folder, args.num_workers)


def _inception_outputs(
    args: argparse.Namespace, built: dataset_lib.BuiltDataset
) -> dict[str, tuple[tuple[str, ...], int]]:
  """The build's splits each inception output takes, checked."""
  chosen = {
      'train': (args.train_splits, 'train', args.train_shards),
      'validation': (args.validation_splits, 'test', args.validation_shards),
  }
  outputs = {}
  for name, (given, default, shards) in chosen.items():
    splits = _split_list(given) if given is not None else (
        (default,) if default in built.splits else ()
    )
    missing = [split for split in splits if split not in built.splits]
    if missing:
      raise InputError(
          f'--{name}_splits names {missing}, which {built.directory} lacks'
          f' (its splits: {", ".join(built.splits)}).'
      )
    if splits:
      if shards < 1:
        raise InputError(f'--{name}_shards must be at least 1, not {shards}.')
      outputs[name] = (splits, shards)
  if not outputs:
    raise InputError(f'{built.directory}: none of the chosen splits is in the build.')
  return outputs


def _inception(args: argparse.Namespace, built: dataset_lib.BuiltDataset | None) -> Callable[[str], dict[str, Any]]:
  assert built is not None
  outputs = _inception_outputs(args, built)
  return lambda folder: inception.export(built, folder, args.num_workers, outputs, args.dali_index)


def _webdataset(args: argparse.Namespace, built: dataset_lib.BuiltDataset | None) -> Callable[[str], dict[str, Any]]:
  assert built is not None
  if args.samples_per_shard is not None and args.shard_size_mb is not None:
    raise InputError('Give --samples_per_shard or --shard_size_mb, not both.')
  samples = webdataset.DEFAULT_SAMPLES_PER_SHARD if args.samples_per_shard is None else args.samples_per_shard
  if samples < 1:
    raise InputError(f'--samples_per_shard must be at least 1, not {samples}.')
  if args.shard_size_mb is not None and args.shard_size_mb <= 0:
    raise InputError(f'--shard_size_mb must be more than 0, not {args.shard_size_mb}.')
  shard_bytes = None if args.shard_size_mb is None else round(args.shard_size_mb * 1e6)
  return lambda folder: webdataset.export(built, folder, args.num_workers, samples, shard_bytes)


def _dali(args: argparse.Namespace, built: dataset_lib.BuiltDataset | None) -> Callable[[str], dict[str, Any]]:
  if built is not None:
    shards = dali.built_shards(built)
    paths, total = [s.path for s in shards], sum(s.num_examples for s in shards)
  else:
    paths, total = dali.tfrecord_files(args.tfrecord_dir), 0
  return lambda folder: dali.export(paths, folder, args.num_workers, total)


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='python -m imagenet_custom.export', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  formats = parser.add_subparsers(dest='format', required=True, metavar='FORMAT')
  helps = {
      'folders': 'class folders (needs free disk as large as the images; checked first)',
      'inception': "inception's build_imagenet_data.py TFRecords",
      'webdataset': 'WebDataset tar shards with a wids index',
      'dali': 'DALI index files of TFRecord shards',
  }
  subparsers = {}
  for name, text in helps.items():
    sub = formats.add_parser(name, help=text, description=text)
    sub.add_argument('--data_dir', help='the --data_dir of the tfds build (or its CONFIG/VERSION folder)')
    sub.add_argument('--config', help='the built config (default: `default`, or the only one)')
    sub.add_argument('--out', required=True, help='the folder to write; must not exist')
    sub.add_argument('--num_workers', type=int, default=0, help='worker processes; 0 = one per core')
    subparsers[name] = sub
  inception_flags = subparsers['inception']
  inception_flags.add_argument('--train_shards', type=int, default=inception.DEFAULT_TRAIN_SHARDS)
  inception_flags.add_argument('--validation_shards', type=int, default=inception.DEFAULT_VALIDATION_SHARDS)
  inception_flags.add_argument(
      '--train_splits', help='comma-separated splits of the build written as train (default: train)')
  inception_flags.add_argument(
      '--validation_splits',
      help='comma-separated splits written as validation (default: test, the original val set)')
  inception_flags.add_argument('--dali_index', action='store_true', help='also write <shard>.idx for DALI')
  subparsers['webdataset'].add_argument(
      '--samples_per_shard', type=int,
      help=f'samples in each tar (the last of a split holds the rest; default'
      f' {webdataset.DEFAULT_SAMPLES_PER_SHARD})')
  subparsers['webdataset'].add_argument(
      '--shard_size_mb', type=float,
      help='or: tars of about this many MB (10^6 bytes), the samples per tar worked out'
      " for each split from the build's mean example size")
  subparsers['dali'].add_argument(
      '--tfrecord_dir', help='index the TFRecord files of this folder instead of a build')
  return parser


_FORMATS = {'folders': _folders, 'inception': _inception, 'webdataset': _webdataset, 'dali': _dali}


def main(argv: list[str] | None = None) -> None:
  """Runs one export."""
  args = _parser().parse_args(argv)
  started = time.monotonic()
  try:
    if args.format == 'dali' and args.tfrecord_dir:
      built = None
    elif args.data_dir:
      built = dataset_lib.open_dataset(args.data_dir, args.config)
    else:
      raise InputError('Pass --data_dir, the folder of a built imagenet_custom.')
    write = _FORMATS[args.format](args, built)
    with output.atomic_output(args.out) as folder:
      details = write(folder)
      report = output.write_report(folder, {
          'format': args.format,
          'source': built.directory if built else os.path.abspath(args.tfrecord_dir),
          'config': built.config if built else None,
          **details,
      })
  except InputError as e:
    sys.exit(f'Error: {e}')
  elapsed = time.monotonic() - started
  print(
      f'Wrote {os.path.abspath(args.out)}: {report["files"]:,} files,'
      f' {report["bytes"] / 1e6:,.1f} MB in {elapsed:,.1f} s'
      f' ({report["bytes"] / 1e6 / max(elapsed, 1e-9):,.1f} MB/s); the report is'
      f' {output.REPORT}.'
  )


if __name__ == '__main__':
  main()
