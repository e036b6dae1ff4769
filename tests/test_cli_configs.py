"""`tfds build imagenet_custom` builds the `default` config only; others when named."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import tensorflow_datasets as tfds

import imagenet_custom

from builds import DUMMY
from builds import REPO

TFDS = str(pathlib.Path(sys.executable).parent / 'tfds')


def _tfds_build(*args: str) -> subprocess.CompletedProcess[str]:
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')])
  return subprocess.run(
      [TFDS, 'build', 'imagenet_custom', f'--manual_dir={DUMMY / "folders"}', *args],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
  )


def _configs_built(data_dir: pathlib.Path) -> list[str]:
  return sorted(
      p.parent.parent.name for p in data_dir.glob('imagenet_custom/*/*/dataset_info.json')
  )


def test_the_missions_command_builds_the_default_config_only(tmp_path):
  result = _tfds_build(f'--data_dir={tmp_path}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert _configs_built(tmp_path) == ['default']


def test_a_named_config_is_built_and_loaded_by_name(tmp_path):
  result = _tfds_build(f'--data_dir={tmp_path}', '--config=s256')
  assert result.returncode == 0, result.stderr[-3000:]
  assert _configs_built(tmp_path) == ['s256']
  dataset = tfds.load('imagenet_custom/s256', data_dir=str(tmp_path), split='train')
  assert sum(1 for _ in dataset) == 32


def test_every_predefined_config_is_found_by_name():
  assert set(imagenet_custom.Builder.builder_configs) == {'default', 's256'}
  assert [c.name for c in imagenet_custom.Builder.BUILDER_CONFIGS] == ['default']
  assert imagenet_custom.Builder(config='s256').builder_config.shorter_side == 256
