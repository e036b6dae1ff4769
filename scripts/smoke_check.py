"""Reads a built dummy dataset with `tfds.load` and checks its split sizes.

Run by scripts/smoke.sh in a venv made from the wheel, outside the repository:

  python scripts/smoke_check.py --data_dir DATA_DIR

Prints the versions it ran with, then one line per split; exits non-zero
when a split is missing or has another size, or when a second TensorFlow
distribution is installed beside `tensorflow`.
"""

from __future__ import annotations

import argparse
from importlib import metadata
import sys

# The bundled dummy data (dummy_data/README.md): 41 train images in 6 classes,
# 24 val images of which 3 are on the devkit's blacklist.
EXPECTED_SPLITS = {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}

# Distributions whose versions the smoke run prints.
REPORTED = (
    'tensorflow', 'tensorflow-datasets', 'apache-beam', 'numpy', 'protobuf',
    'pyarrow', 'lxml', 'pillow', 'scipy', 'etils', 'mlcroissant',
    'imagenet_custom',
)

# Distributions that write the same `tensorflow/` package as `tensorflow`.
OTHER_TENSORFLOWS = ('tensorflow-cpu', 'tensorflow-intel', 'tensorflow-macos')


def installed_version(name: str) -> str | None:
  """The installed version of a distribution.

  Args:
    name: the distribution's name, as pip spells it.

  Returns:
    Its version, or None when it is not installed.
  """
  try:
    return metadata.version(name)
  except metadata.PackageNotFoundError:
    return None


def check_one_tensorflow() -> list[str]:
  """Problems with the installed TensorFlow distributions.

  Returns:
    One message per problem: `tensorflow` missing, or another distribution
    of the same package installed beside it.
  """
  problems = []
  if installed_version('tensorflow') is None:
    problems.append('`tensorflow` is not installed (the package asks for it).')
  for name in OTHER_TENSORFLOWS:
    version = installed_version(name)
    if version is not None:
      problems.append(
          f'{name}=={version} is installed beside tensorflow: two'
          ' distributions writing one `tensorflow/` package.'
      )
  return problems


def check_splits(data_dir: str) -> list[str]:
  """Loads every split of the built dataset and compares its size.

  Args:
    data_dir: the `--data_dir` the dataset was built into.

  Returns:
    One message per split that is missing or has another size.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  builder = tfds.builder('imagenet_custom', data_dir=data_dir)
  problems = []
  for split, expected in EXPECTED_SPLITS.items():
    if split not in builder.info.splits:
      problems.append(f'split {split!r} is missing from {builder.data_dir}')
      continue
    dataset = tfds.load(
        'imagenet_custom', split=split, data_dir=data_dir,
        decoders={'image': tfds.decode.SkipDecoding()},
    )
    count = sum(1 for _ in dataset)
    print(f'  {split}: {count} examples (expected {expected})')
    if count != expected:
      problems.append(f'split {split!r}: {count} examples, expected {expected}')
  return problems


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--data_dir', required=True)
  args = parser.parse_args()
  print(f'python {sys.version.split()[0]}')
  for name in REPORTED:
    print(f'{name}=={installed_version(name) or "(not installed)"}')
  problems = check_one_tensorflow() + check_splits(args.data_dir)
  for problem in problems:
    print(f'SMOKE FAILED: {problem}', file=sys.stderr)
  if not problems:
    print('smoke: OK')
  return 1 if problems else 0


if __name__ == '__main__':
  sys.exit(main())
