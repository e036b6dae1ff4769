"""Tests for imagenet_custom.tools.labels: the label map and its CLI."""

from __future__ import annotations

import csv
import io
import json
import pathlib
import subprocess
import sys

import pytest

from imagenet_custom.ilsvrc import metadata
from imagenet_custom.tools import labels

from builds import DUMMY
from builds import REPO

REAL_META = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'imagenet-meta'
needs_real_meta = pytest.mark.skipif(
    not REAL_META.exists(), reason='real ImageNet metadata not available'
)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run(
      [sys.executable, '-m', 'imagenet_custom.tools.labels', *args],
      cwd=REPO, capture_output=True, text=True, timeout=300,
  )


@needs_real_meta
def test_real_devkit_ids_names_and_slim_indices():
  facts = labels.read_devkit_facts(REAL_META)
  rows = labels.label_map(facts.ilsvrc_ids, facts.names)
  assert [r.index for r in rows] == list(range(1000))
  assert [r.wnid for r in rows] == list(metadata.wnids())
  # The devkit IDs are a permutation of 1..1000 that is not the sorted order.
  assert sorted(r.ilsvrc2012_id for r in rows) == list(range(1, 1001))
  assert sum(r.ilsvrc2012_id == r.index + 1 for r in rows) < 10
  by_wnid = {r.wnid: r for r in rows}
  assert (by_wnid['n01440764'].index, by_wnid['n01440764'].ilsvrc2012_id) == (0, 449)
  assert by_wnid['n02119789'].ilsvrc2012_id == 1  # kit fox
  assert by_wnid['n02119789'].name == 'kit fox'
  assert (rows[999].wnid, rows[999].ilsvrc2012_id) == ('n15075141', 889)
  # Every row agrees with map_clsloc.txt's own line.
  for line in (REAL_META / 'map_clsloc.txt').read_text().splitlines():
    wnid, ilsvrc_id, _ = line.split()
    assert by_wnid[wnid].ilsvrc2012_id == int(ilsvrc_id)
  # Names: Kaggle's first names, the duplicates kept as two rows.
  assert [r.wnid for r in rows if r.name == 'crane'] == ['n02012849', 'n03126707']
  assert [r.wnid for r in rows if r.name == 'maillot'] == ['n03710637', 'n03710721']


@needs_real_meta
def test_real_ground_truth_through_the_ids_gives_the_kaggle_labels():
  # What makes the ID column trustworthy: val image i's ground-truth ID,
  # looked up in the table, is the WNID Kaggle's LOC_val_solution.csv gives.
  by_id = {r.ilsvrc2012_id: r.wnid for r in labels.label_map(
      labels.read_devkit_facts(REAL_META).ilsvrc_ids)}
  truth = (REAL_META / 'ILSVRC2012_validation_ground_truth.txt').read_text().split()
  solution = metadata.val_labels_from_solution(
      metadata.parse_loc_solution(
          (REAL_META / 'LOC_val_solution.csv').read_text(), 'csv'
      ), 'csv',
  )
  assert len(truth) == 50_000
  assert all(by_id[int(t)] == solution[i] for i, t in enumerate(truth, start=1))


@needs_real_meta
def test_slim_index_is_sorted_index_plus_one_over_imagenet_metadata():
  # TF-slim numbers the synsets of imagenet_lsvrc_2015_synsets.txt (sorted
  # WNIDs) from 1, 0 being background; imagenet_metadata.txt names them all.
  described = {
      line.split('\t')[0]
      for line in (REAL_META / 'imagenet_metadata.txt').read_text().splitlines()
  }
  rows = labels.label_map()
  assert all(r.wnid in described for r in rows)
  assert [r.tf_slim_index for r in rows] == list(range(1, 1001))
  assert sorted(r.wnid for r in rows) == [r.wnid for r in rows]


def test_dummy_devkit_ids_come_from_its_meta_mat(manifest):
  facts = labels.read_devkit_facts(DUMMY / 'archives')
  assert facts.ilsvrc_ids == manifest['ilsvrc_ids']
  assert facts.sources == (str(DUMMY / 'archives' / 'ILSVRC2012_devkit_t12.tar.gz'),)
  kaggle = labels.read_devkit_facts(DUMMY / 'kaggle')
  assert kaggle.ilsvrc_ids == manifest['ilsvrc_ids']
  assert kaggle.names['n01440764'] == 'tench'


def test_without_a_devkit_ids_and_names_are_empty(tmp_path):
  facts = labels.read_devkit_facts(tmp_path)
  assert facts == labels.DevkitFacts({}, {}, ())
  rows = labels.label_map(facts.ilsvrc_ids, facts.names)
  assert rows[5] == labels.LabelRow(5, metadata.wnids()[5], None, 6, None)


def test_cli_csv_and_json(manifest):
  result = _run_cli(f'--manual_dir={DUMMY / "archives"}')
  assert result.returncode == 0, result.stderr
  table = list(csv.DictReader(io.StringIO(result.stdout)))
  assert len(table) == 1000
  assert table[0] == {
      'index': '0', 'wnid': 'n01440764',
      'ilsvrc2012_id': str(manifest['ilsvrc_ids']['n01440764']),
      'tf_slim_index': '1', 'name': 'tench',
  }
  as_json = json.loads(_run_cli(f'--manual_dir={DUMMY / "archives"}', '--format=json').stdout)
  assert as_json[999]['tf_slim_index'] == 1000
  assert as_json[999]['ilsvrc2012_id'] == manifest['ilsvrc_ids'][as_json[999]['wnid']]


def test_cli_without_devkit_takes_the_shipped_class_table():
  result = _run_cli()
  assert result.returncode == 0
  assert 'class_table.tsv' in result.stderr
  assert result.stdout.splitlines()[1] == '0,n01440764,449,1,"tench, Tinca tinca"'


def test_cli_missing_manual_dir(tmp_path):
  result = _run_cli(f'--manual_dir={tmp_path / "nope"}')
  assert result.returncode != 0
  assert 'does not exist' in result.stderr


def test_cli_prints_the_table_a_build_stored(built, manifest, capsys):
  data_dir = built['archives'].data_path.parents[2]
  labels.main([f'--data_dir={data_dir}'])
  table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
  assert len(table) == 1000
  assert table[0]['ilsvrc2012_id'] == str(manifest['ilsvrc_ids']['n01440764'])
  assert table[0]['name'] == 'tench'
