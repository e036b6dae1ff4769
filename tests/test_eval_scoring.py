"""Scoring (`tools.evaluate`): each set the way its authors score it, and the
classic mistakes, each shown to change the score."""

from __future__ import annotations

import pathlib

from etils import epath
import numpy as np
import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import objectnet
from imagenet_custom.layouts import eval_sets as layout
from imagenet_custom.testing import eval_sets as fakes
from imagenet_custom.tools import evaluate


@pytest.fixture(scope='module')
def downloads(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  out = tmp_path_factory.mktemp('scoring_downloads')
  fakes.write_eval_sets(out, splits=['imagenet_v2_matched_frequency', 'imagenet_a', 'objectnet'])
  return out


@pytest.fixture(scope='module')
def sets(downloads: pathlib.Path) -> dict[str, layout.Listed]:
  found, _ = layout.find_eval_sets(epath.Path(downloads))
  return {source.split: layout.list_eval_set(source) for source in found}


def _perfect(truth: dict[str, tuple[int, ...]], distractor: int | None = None) -> dict[str, np.ndarray]:
  """Logits with each image's (first) label highest, or `distractor` above it."""
  logits = {}
  for name, labels in truth.items():
    row = np.zeros(1000, np.float32)
    row[labels[0]] = 5.0
    if distractor is not None:
      row[distractor] = 10.0
    logits[name] = row
  return logits


def _truth(listed: layout.Listed) -> dict[str, tuple[int, ...]]:
  return {image.file_name: image.labels for image in listed.images}


def test_string_sorted_v2_folders_give_wrong_labels(sets):
  truth = _truth(sets['imagenet_v2_matched_frequency'])
  model = _perfect(truth)
  split = 'imagenet_v2_matched_frequency'
  assert evaluate.score_split(split, model, truth, None) == 1.0
  # ImageFolder's mistake: folder `10` is taken as the third class.
  as_strings = sorted(str(i) for i in range(1000))
  string_sorted = {name: (as_strings.index(name.split('/')[0]),) for name in truth}
  assert evaluate.score_split(split, model, string_sorted, None) < 0.05


def test_imagenet_a_is_scored_over_its_200_classes(sets):
  truth = _truth(sets['imagenet_a'])
  mask = facts.class_mask(facts.class_wnids('imagenet_a'))
  outside = next(i for i in range(1000) if i not in mask)
  # A model whose highest logit is a class ImageNet-A does not have.
  model = _perfect(truth, distractor=outside)
  assert evaluate.score_split('imagenet_a', model, truth, mask) == 1.0
  assert evaluate.accuracy(np.stack([model[n] for n in truth]), list(truth.values())) == 0.0


def test_objectnet_lines_read_as_1_based_give_wrong_labels(sets, downloads: pathlib.Path):
  truth = _truth(sets['objectnet'])
  mask = sorted({label for labels in truth.values() for label in labels})
  model = _perfect(truth)
  assert evaluate.score_split('objectnet', model, truth, mask) == 1.0
  # Any mapped class counts: predicting an image's second class is right too.
  double = {n: labels for n, labels in truth.items() if len(labels) == 2}
  second = {n: np.eye(1000, dtype=np.float32)[labels[1]] for n, labels in double.items()}
  assert evaluate.score_split('objectnet', second, double, mask) == 1.0
  # A reader that takes the line numbers as 1-based reads each class's name
  # one line early: the same as shifting the names file down by one line.
  mappings = downloads / 'objectnet-1.0' / 'mappings'
  texts = {name: (mappings / name).read_text() for name in objectnet.MAPPING_FILES}
  lines = texts[objectnet.IMAGENET_NAMES].splitlines()
  texts[objectnet.IMAGENET_NAMES] = '\n'.join([lines[-1], *lines[:-1]]) + '\n'
  shifted = objectnet.parse_mappings(texts, str(mappings))
  wrong = {name: shifted[name.split('/')[0]] for name in truth}
  assert wrong != truth
  assert evaluate.score_split('objectnet', model, wrong, mask) < 0.1


def test_real_accuracy_leaves_out_images_without_labels():
  truth = {'a': (1,), 'b': (2, 3), 'c': ()}
  model = {'a': np.eye(1000)[1], 'b': np.eye(1000)[3], 'c': np.eye(1000)[0]}
  assert evaluate.score_split(evaluate.REAL, model, truth, None) == 1.0
  counted_as_wrong = {name: labels or (-1,) for name, labels in truth.items()}
  assert evaluate.score_split('test', model, counted_as_wrong, None) == pytest.approx(2 / 3)


def test_average_precision_of_a_known_ranking():
  scores = np.array([0.9, 0.8, 0.7, 0.6])
  positive = np.array([True, False, True, False])
  assert evaluate.average_precision(scores, positive) == pytest.approx((1 + 2 / 3) / 2)
  assert evaluate.average_precision(scores, ~positive) == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_imagenet_o_aupr_ranks_unconfident_images_as_out_of_distribution():
  mask = facts.class_mask(facts.class_wnids('imagenet_o'))
  confident = np.zeros((4, 1000))
  confident[:, mask[0]] = 10.0
  flat = np.zeros((3, 1000))
  assert evaluate.ood_aupr(flat, confident, mask) == 1.0
  # Swapped: the OOD images look the most confident, the worst ranking.
  assert evaluate.ood_aupr(confident[:3], flat, mask) < 0.5


def test_a_missing_prediction_is_an_error_naming_it(sets):
  truth = _truth(sets['imagenet_a'])
  model = _perfect(truth)
  missing = sorted(truth)[0]
  del model[missing]
  with pytest.raises(InputError, match=f'lack 1 of the {len(truth)} images of imagenet_a'):
    evaluate.score_split('imagenet_a', model, truth, facts.class_mask(facts.class_wnids('imagenet_a')))
