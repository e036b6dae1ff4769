"""Tests of `benchmarks.build.inputs`, `page_cache` and `programs`."""

from __future__ import annotations

import os
import pathlib

from benchmarks.build import inputs
from benchmarks.build import page_cache
from benchmarks.build.programs import copy_tars


def test_split_counts() -> None:
  assert inputs.split_counts(20_000) == (18_000, 2_000, 100)
  assert inputs.split_counts(200) == (180, 20, 100)
  assert inputs.split_counts(1_000_000) == (950_000, 50_000, 100)


def test_input_dir_names_the_scale_kind_and_seed() -> None:
  root = pathlib.Path('/w')
  assert inputs.input_dir(root, 200, True, 3) == root / 'input-small64-200-seed3'
  assert inputs.input_dir(root, 5, False, 0) == root / 'input-realistic-5-seed0'


def test_evict_skips_symlinks(tmp_path: pathlib.Path) -> None:
  (tmp_path / 'a').write_bytes(b'x' * 5000)
  (tmp_path / 'sub').mkdir()
  (tmp_path / 'sub' / 'b').write_bytes(b'y' * 300)
  os.symlink(tmp_path / 'a', tmp_path / 'sub' / 'link')
  files = sorted(p.name for p in page_cache.iter_files([tmp_path]))
  assert files == ['a', 'b']
  assert page_cache.evict_from_page_cache([tmp_path]) == 5300


def test_copy_tars_concatenates_its_inputs(tmp_path: pathlib.Path) -> None:
  sources = []
  for name, size in (('one', 3 << 20), ('two', 5)):
    path = tmp_path / name
    path.write_bytes(name.encode() * size)
    sources.append(str(path))
  out = tmp_path / 'copy.tar'
  assert copy_tars.main([str(out), *sources]) == 0
  assert out.read_bytes() == b'one' * (3 << 20) + b'two' * 5
  assert copy_tars.main([str(out)]) == 2
