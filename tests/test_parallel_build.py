"""The plain build on worker processes: same shards for any worker count,
dead workers and Ctrl-C end the build cleanly, a rerun gives identical shards."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from imagenet_custom.ilsvrc import metadata

from builds import build
from builds import DUMMY
from builds import REPO

TFDS = str(pathlib.Path(sys.executable).parent / 'tfds')
# Copies of each dummy train image in the larger input, so that a build runs
# long enough (several seconds) for a test to act on its workers.
COPIES = 60


def _shards(data_dir: pathlib.Path) -> dict[str, bytes]:
  version_dir = next(data_dir.glob('imagenet_custom/*/*/dataset_info.json')).parent
  return {p.name: p.read_bytes() for p in version_dir.iterdir() if '.tfrecord' in p.name}


def _env() -> dict[str, str]:
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')])
  return env


@pytest.fixture(scope='module')
def default_shards(tmp_path_factory) -> dict[str, bytes]:
  out = tmp_path_factory.mktemp('default')
  build(DUMMY / 'archives', out)
  return _shards(out)


@pytest.mark.parametrize('num_workers, spill_images', [(1, False), (2, False), (4, False), (2, True)])
def test_shards_are_byte_identical_for_any_worker_count(
    num_workers, spill_images, default_shards, tmp_path
):
  build(DUMMY / 'archives', tmp_path, num_workers=num_workers, spill_images=spill_images)
  assert _shards(tmp_path) == default_shards
  # The workers' spill files are gone with their directory.
  assert not [p for p in tmp_path.rglob('*') if 'spill' in p.name]


@pytest.fixture(scope='module')
def larger_input(tmp_path_factory) -> pathlib.Path:
  """The dummy folders layout with each train image linked COPIES times."""
  root = tmp_path_factory.mktemp('larger')
  source = DUMMY / 'folders'
  for entry in source.iterdir():
    if entry.name != 'train':
      os.symlink(entry, root / entry.name)
  for image in (source / 'train').glob('n*/n*_*.*'):
    target = root / 'train' / image.parent.name
    target.mkdir(parents=True, exist_ok=True)
    stem, suffix = image.name.rsplit('.', 1)
    wnid, number = stem.split('_')
    for copy in range(COPIES):
      os.link(image, target / f'{wnid}_{int(number) * 100 + copy}.{suffix}')
  return root


def _worker_pids(parent: int) -> list[int]:
  """Build workers (children running _worker_main.py) of a process."""
  pids = []
  for entry in pathlib.Path('/proc').iterdir():
    if not entry.name.isdigit():
      continue
    try:
      cmdline = (entry / 'cmdline').read_bytes()
      stat = (entry / 'stat').read_text()
    except OSError:
      continue
    ppid = int(stat.rsplit(')', 1)[1].split()[1])
    if ppid == parent and b'_worker_main.py' in cmdline:
      pids.append(int(entry.name))
  return pids


def _start_build(
    manual_dir: pathlib.Path, data_dir: pathlib.Path, max_file_size: int | None = None
) -> subprocess.Popen[str]:
  """`tfds build` with 2 workers; `max_file_size` limits every file it writes."""
  command = [
      TFDS, 'build', 'imagenet_custom', f'--manual_dir={manual_dir}',
      f'--data_dir={data_dir}', '--config={"name": "w2", "num_workers": 2}',
  ]
  if max_file_size is not None:  # RLIMIT_FSIZE, set before `tfds` starts.
    command = [sys.executable, '-c', _LIMITED.format(max_file_size), *command]
  return subprocess.Popen(
      command, cwd=REPO, env=_env(), stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True, start_new_session=True,
  )


_LIMITED = (
    'import os, resource, sys;'
    ' resource.setrlimit(resource.RLIMIT_FSIZE,'
    ' ({}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]));'
    ' os.execv(sys.argv[1], sys.argv[1:])'
)


def _wait_for_workers(process: subprocess.Popen[str], count: int) -> list[int]:
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline:
    assert process.poll() is None, process.communicate()[0][-3000:]
    pids = _worker_pids(process.pid)
    if len(pids) >= count:
      return pids
    time.sleep(0.02)
  raise AssertionError('the build started no workers')


def _gone(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  return pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] == 'Z'


def _finished_datasets(data_dir: pathlib.Path) -> list[pathlib.Path]:
  return [
      p for p in data_dir.glob('imagenet_custom/*/*/dataset_info.json')
      if 'incomplete' not in str(p)
  ]


def test_a_killed_worker_ends_the_build_and_a_rerun_gives_identical_shards(larger_input, tmp_path):
  process = _start_build(larger_input, tmp_path / 'out')
  victim = _wait_for_workers(process, 2)[0]
  os.kill(victim, signal.SIGKILL)
  output, _ = process.communicate(timeout=300)
  assert process.returncode != 0
  assert f'(pid {victim}) was killed by SIGKILL' in output, output[-3000:]
  assert 'No dataset was written' in output
  assert not _finished_datasets(tmp_path / 'out')

  rerun = _start_build(larger_input, tmp_path / 'out')
  assert rerun.wait(timeout=600) == 0, rerun.communicate()[0][-3000:]
  fresh = _start_build(larger_input, tmp_path / 'fresh')
  assert fresh.wait(timeout=600) == 0
  assert _shards(tmp_path / 'out') == _shards(tmp_path / 'fresh')
  examples = sum(1 for _ in (larger_input / 'train').glob('*/*.JPEG'))
  assert examples == 41 * COPIES


def test_a_full_disk_ends_the_build_naming_the_shard_and_a_rerun_gives_identical_shards(
    larger_input, tmp_path
):
  # The train shard (~4 MB) does not fit under the limit; the spill files,
  # the other shards and the dataset's metadata (<200 kB) do.
  process = _start_build(larger_input, tmp_path / 'out', max_file_size=1 << 20)
  output, _ = process.communicate(timeout=600)
  assert process.returncode != 0
  assert (
      'ShardWriteError: Could not write shard'
      ' imagenet_custom-train.tfrecord-00000-of-00001'
  ) in output, output[-3000:]
  assert 'incomplete.' in output and 'File too large' in output
  assert not _finished_datasets(tmp_path / 'out')
  rerun = _start_build(larger_input, tmp_path / 'out')
  assert rerun.wait(timeout=600) == 0, rerun.communicate()[0][-3000:]
  fresh = _start_build(larger_input, tmp_path / 'fresh')
  assert fresh.wait(timeout=600) == 0
  assert _shards(tmp_path / 'out') == _shards(tmp_path / 'fresh')


def _incomplete_shards(data_dir: pathlib.Path) -> list[pathlib.Path]:
  return list(data_dir.glob('imagenet_custom/*/incomplete.*/*.tfrecord-*'))


def test_workers_killed_while_shards_are_written_end_the_build_cleanly(larger_input, tmp_path):
  process = _start_build(larger_input, tmp_path / 'out')
  pids = _wait_for_workers(process, 2)
  deadline = time.monotonic() + 300
  while not _incomplete_shards(tmp_path / 'out') and time.monotonic() < deadline:
    assert process.poll() is None, process.communicate()[0][-3000:]
    time.sleep(0.005)
  for pid in pids:  # As the out-of-memory killer would, mid-write.
    os.kill(pid, signal.SIGKILL)
  output, _ = process.communicate(timeout=300)
  assert process.returncode != 0
  assert 'was killed by SIGKILL' in output and 'No dataset was written' in output, output[-3000:]
  assert not _finished_datasets(tmp_path / 'out')
  assert not list((tmp_path / 'out').glob('imagenet_custom/*/incomplete.*'))
  rerun = _start_build(larger_input, tmp_path / 'out')
  assert rerun.wait(timeout=600) == 0, rerun.communicate()[0][-3000:]
  assert sum(1 for _ in _shards(tmp_path / 'out')) == 4


def test_ctrl_c_stops_the_build_and_every_worker(larger_input, tmp_path):
  process = _start_build(larger_input, tmp_path)
  pids = _wait_for_workers(process, 2)
  started = time.monotonic()
  os.killpg(process.pid, signal.SIGINT)  # What Ctrl-C in a terminal sends.
  output, _ = process.communicate(timeout=60)
  assert time.monotonic() - started < 30
  assert process.returncode != 0
  assert 'KeyboardInterrupt' in output
  deadline = time.monotonic() + 10
  while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
    time.sleep(0.05)
  assert all(_gone(pid) for pid in pids), 'orphan workers left'
  assert not _finished_datasets(tmp_path)


def test_progress_line_counts_every_image(larger_input, tmp_path):
  process = _start_build(larger_input, tmp_path)
  output, _ = process.communicate(timeout=600)
  assert process.returncode == 0, output[-3000:]
  total = 41 * COPIES + 24
  assert f'imagenet_custom: {total:,} images in' in output
  assert 'Images per split:' in output


def test_max_examples_per_split_stops_each_split_early(tmp_path):
  """TFDS stops consuming each split; the next split gets fresh workers."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  import imagenet_custom  # pylint: disable=g-import-not-at-top

  builder = imagenet_custom.Builder(
      data_dir=str(tmp_path),
      config=imagenet_custom.ImagenetCustomConfig(name='w2', num_workers=2),
  )
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(
          manual_dir=str(DUMMY / 'archives'), max_examples_per_split=2
      )
  )
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == {
      'train': 2, 'validation': 2, 'test': 2, 'test_blacklisted': 2,
  }


def test_val_tasks_carry_only_their_own_labels_and_boxes(monkeypatch):
  from imagenet_custom import layouts  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import generate  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import parallel_build  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import report  # pylint: disable=g-import-not-at-top

  monkeypatch.setattr(parallel_build, 'VAL_TASK_SIZE', 5)
  reader = layouts.find_reader(DUMMY / 'archives')
  plan = generate.make_plan(reader, generate.Options(), report.BuildReport())
  tasks = list(parallel_build._tasks(plan, 'test'))  # pylint: disable=protected-access
  names = plan.val_split_names('test')
  assert [len(t.names) for t in tasks] == [5, 5, 5, 5, 1]
  assert [n for t in tasks for n in t.names] == names
  for task in tasks:
    numbers = {metadata.val_index(n) for n in task.names}
    assert set(task.labels) == numbers
    assert set(task.annotations) <= numbers
    assert all(task.labels[n] == plan.val_labels[n] for n in numbers)
  assert sum(len(t.annotations) for t in tasks) == len(
      {metadata.val_index(n) for n in names} & plan.val_annotations.keys()
  )
  shipped = parallel_build.worker_plan(plan)
  assert shipped.val_labels == {} and shipped.val_annotations == {}
  assert shipped.reader is plan.reader and shipped.options == plan.options


def test_an_image_stored_unchanged_is_spilled_in_place_others_whole():
  import numpy as np  # pylint: disable=g-import-not-at-top

  import imagenet_custom  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import generate  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import parallel_build  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import spill  # pylint: disable=g-import-not-at-top
  from imagenet_custom.layouts.base import Span  # pylint: disable=g-import-not-at-top
  from imagenet_custom.tfds_glue import tfds_patches  # pylint: disable=g-import-not-at-top

  specs = tfds_patches.field_specs(imagenet_custom.Builder(config='default').info.features)
  image = b'\xff\xd8' + bytes(range(256)) * 40 + b'\xff\xd9'
  example = {'image': image, 'label': 'n01440764', 'file_name': 'n01440764_1.JPEG',
             'bboxes': np.array([[0.1, 0.2, 0.3, 0.4]])}
  whole = parallel_build.spill_record(
      specs, generate.Outcome('n01440764_1.JPEG', example, {}, None)
  )
  assert isinstance(whole, bytes)
  in_place = parallel_build.spill_record(
      specs, generate.Outcome('n01440764_1.JPEG', example, {}, None, Span('/in.tar', 512))
  )
  assert isinstance(in_place, spill.InPlace)
  assert (in_place.path, in_place.offset, in_place.image_size) == ('/in.tar', 512, len(image))
  assert in_place.prefix + image + in_place.suffix == whole
  # Config `spill_images`: the whole example, even for an unchanged image.
  assert parallel_build.spill_record(
      specs, generate.Outcome('n01440764_1.JPEG', example, {}, None, Span('/in.tar', 512)),
      whole=True,
  ) == whole
  assert len(in_place.prefix) + len(in_place.suffix) < 200
