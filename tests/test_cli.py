"""The `tfds` CLI as a user runs it: build, Beam, ArrayRecord, kill and resume."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import tensorflow_datasets as tfds

from builds import build
from builds import DUMMY
from builds import REPO

TFDS = str(pathlib.Path(sys.executable).parent / 'tfds')


def _env() -> dict[str, str]:
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')])
  return env


def _shards(data_dir: pathlib.Path) -> list[tuple[str, bytes]]:
  version_dir = next(data_dir.glob('imagenet_custom/*/*/dataset_info.json')).parent
  return sorted((p.name, p.read_bytes()) for p in version_dir.iterdir() if '.tfrecord' in p.name)


def test_cli_build_from_the_repo_root(tmp_path):
  result = subprocess.run(
      [TFDS, 'build', 'imagenet_custom', f'--manual_dir={DUMMY / "kaggle"}',
       f'--data_dir={tmp_path}'],
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'balance: OK, every image accounted for' in result.stdout
  assert 'written: train 32, validation 9, test 21, test_blacklisted 3' in result.stdout


def test_cli_build_with_imports_from_elsewhere(tmp_path):
  result = subprocess.run(
      [TFDS, 'build', 'imagenet_custom', '--imports', 'imagenet_custom',
       f'--manual_dir={DUMMY / "archives"}', f'--data_dir={tmp_path / "out"}'],
      cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  builder = tfds.builder_from_directory(
      next((tmp_path / 'out').glob('imagenet_custom/*/*/dataset_info.json')).parent
  )
  assert builder.info.splits['test'].num_examples == 21


def test_cli_error_is_readable(tmp_path):
  (tmp_path / 'manual').mkdir()
  (tmp_path / 'manual' / 'x.txt').write_text('x')
  result = subprocess.run(
      [TFDS, 'build', 'imagenet_custom', f'--manual_dir={tmp_path / "manual"}',
       f'--data_dir={tmp_path / "out"}'],
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600,
  )
  assert result.returncode != 0
  assert 'No ImageNet layout found in' in result.stderr
  assert not list((tmp_path / 'out').glob('imagenet_custom/*/*/dataset_info.json'))


def _has_build_workers(parent: int) -> bool:
  """Whether a process has build workers (children running _worker_main.py)."""
  for entry in pathlib.Path('/proc').iterdir():
    if not entry.name.isdigit():
      continue
    try:
      cmdline = (entry / 'cmdline').read_bytes()
      ppid = int((entry / 'stat').read_text().rsplit(')', 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
      continue
    if ppid == parent and b'_worker_main.py' in cmdline:
      return True
  return False


def test_killed_build_resumes_to_the_same_dataset(tmp_path):
  reference = tmp_path / 'reference'
  build(DUMMY / 'archives', reference)
  data_dir = tmp_path / 'out'
  command = [TFDS, 'build', 'imagenet_custom', f'--manual_dir={DUMMY / "archives"}',
             f'--data_dir={data_dir}']
  process = subprocess.Popen(
      command, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
  )
  # Kill it mid-build: once its worker processes run (from the split
  # generators to the last shard), which a poll cannot miss even when the
  # dummy build takes only a few seconds.
  deadline = time.time() + 300
  while time.time() < deadline and not _has_build_workers(process.pid):
    assert process.poll() is None, 'the build ended before it could be killed'
    time.sleep(0.01)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert not list(data_dir.glob('imagenet_custom/*/*/dataset_info.json'))
  result = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert _shards(data_dir) == _shards(reference)


def test_two_builds_are_byte_identical(tmp_path):
  build(DUMMY / 'folders', tmp_path / 'a')
  build(DUMMY / 'folders', tmp_path / 'b')
  assert _shards(tmp_path / 'a') == _shards(tmp_path / 'b')


def test_array_record_build_supports_random_access(tmp_path, examples):
  build(DUMMY / 'archives', tmp_path, file_format='array_record')
  source = tfds.data_source('imagenet_custom', split='train', data_dir=str(tmp_path))
  assert len(source) == 32
  record = source[5]
  expected = examples['archives'][record['file_name'].decode()]
  assert expected.split == 'train'
  assert int(record['label']) == expected.label
