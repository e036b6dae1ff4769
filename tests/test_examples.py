"""Runs examples/train_keras.py and examples/train_torch.py on the dummy data."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from builds import REPO

EXAMPLES = REPO / 'examples'
TIMEOUT = 300
ACCURACY = re.compile(r'^test accuracy: ([0-9.]+)$', re.MULTILINE)
LOSS = re.compile(r'^step (\d+): loss ([0-9.]+)', re.MULTILINE)


def _run(script: str, args: list[str], cwd: pathlib.Path) -> str:
  """Runs an example in a fresh interpreter; returns its stdout."""
  env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, str(EXAMPLES / script), *args],
      cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
      check=False,
  )
  assert result.returncode == 0, f'{script} failed:\n{result.stdout}\n{result.stderr[-4000:]}'
  return result.stdout


def test_keras_example_learns_the_separable_classes(training_tfrecord_dir, tmp_path):
  out = _run(
      'train_keras.py',
      ['--data_dir', str(training_tfrecord_dir), '--steps', '60', '--image_size', '32',
       '--batch_size', '16'],
      tmp_path,
  )
  match = ACCURACY.search(out)
  assert match, out
  # 6 classes: chance is 1/6.
  assert float(match.group(1)) >= 0.5, out


def test_torch_example_trains_from_array_record(training_array_record_dir, tmp_path):
  out = _run(
      'train_torch.py',
      ['--data_dir', str(training_array_record_dir), '--steps', '30', '--image_size', '32',
       '--batch_size', '8', '--num_workers', '2'],
      tmp_path,
  )
  losses = [float(loss) for _, loss in LOSS.findall(out)]
  assert len(losses) == 3, out
  assert losses[-1] < losses[0], out
  match = ACCURACY.search(out)
  assert match, out
  assert 0.0 <= float(match.group(1)) <= 1.0
