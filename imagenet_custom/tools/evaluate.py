"""Scores a model's 1,000 logits on each evaluation split, as its authors do.

* ImageNetV2, ImageNet-Sketch (and `test`): top-1 over all 1,000 classes.
* ImageNet-A and -R: the argmax over the set's 200 classes only (the logits
  of the other 800 are dropped: hendrycks' `eval.py`); top-1 over 1,000
  inflates the error (timm#176).
* ObjectNet: the argmax over the ImageNet classes its 113 shared classes map
  to; right when it is any of the image's mapped classes.
* ImageNet-O: out-of-distribution detection. Each image's anomaly score is
  minus its highest softmax probability over the 200 classes; AUPR (average
  precision) with ImageNet-O's images as positives against the `test`
  split's images of the same 200 classes (hendrycks' `eval_many_models.py`).
* ReaL (`test` of a build with `real_label`): top-1 counted right when it is
  any of an image's ReaL labels; images with none are left out.

Predictions are keyed by `file_name`, as the splits store it. The class masks
are read from the built dataset's `info.metadata['eval_sets']`.

Usage:
  python -m imagenet_custom.evaluate --data_dir=DIR --predictions=P.npz
      [--config=NAME] [--split=imagenet_a ...]
where P.npz holds `file_names` (N strings) and `logits` (N x 1,000).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
import sys

import numpy as np

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts

REAL = 'real'
TOP1 = facts.Scoring.TOP1


def _masked_argmax(logits: np.ndarray, mask: Sequence[int] | None) -> np.ndarray:
  if mask is None:
    return np.argmax(logits, axis=1)
  columns = np.asarray(mask)
  return columns[np.argmax(logits[:, columns], axis=1)]


def accuracy(
    logits: np.ndarray, labels: Sequence[Sequence[int]], mask: Sequence[int] | None = None
) -> float:
  """Share of images whose (masked) argmax is one of their labels.

  Args:
    logits: N x 1,000.
    labels: each image's labels (one, or several: ObjectNet, ReaL).
    mask: the classes the argmax is taken over (None: all 1,000).

  Returns:
    The accuracy in [0, 1].
  """
  predicted = _masked_argmax(logits, mask)
  return float(np.mean([p in set(image) for p, image in zip(predicted, labels, strict=True)]))


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
  """Average precision (area under the precision-recall curve) of a ranking.

  Args:
    scores: higher means more likely positive.
    positive: True for positives.

  Returns:
    The mean of the precision at each positive, ranked by score (ties
    broken by order, positives last).
  """
  order = np.lexsort((positive, -scores))
  hits = positive[order].astype(np.float64)
  precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
  return float(np.sum(precision * hits) / max(hits.sum(), 1))


def _max_softmax(logits: np.ndarray, mask: Sequence[int]) -> np.ndarray:
  masked = logits[:, np.asarray(mask)]
  shifted = np.exp(masked - masked.max(axis=1, keepdims=True))
  return (shifted / shifted.sum(axis=1, keepdims=True)).max(axis=1)


def ood_aupr(
    out_logits: np.ndarray, in_logits: np.ndarray, mask: Sequence[int]
) -> float:
  """ImageNet-O's AUPR: its images (positives) against in-distribution ones.

  Args:
    out_logits: logits of ImageNet-O's images.
    in_logits: logits of the test split's images of the same 200 classes.
    mask: the 200 classes.

  Returns:
    The AUPR in [0, 1].
  """
  scores = -np.concatenate([_max_softmax(out_logits, mask), _max_softmax(in_logits, mask)])
  positive = np.concatenate([np.ones(len(out_logits), bool), np.zeros(len(in_logits), bool)])
  return average_precision(scores, positive)


def _logits_of(predictions: Mapping[str, np.ndarray], names: Sequence[str], split: str) -> np.ndarray:
  missing = [name for name in names if name not in predictions]
  if missing:
    raise InputError(
        f'The predictions lack {len(missing)} of the {len(names)} images of'
        f' {split} (e.g. {", ".join(missing[:3])}): predict every image, keyed'
        ' by its file_name.'
    )
  return np.stack([predictions[name] for name in names])


def score_split(
    split: str,
    predictions: Mapping[str, np.ndarray],
    truth: Mapping[str, Sequence[int]],
    mask: Sequence[int] | None,
    in_distribution: Mapping[str, Sequence[int]] | None = None,
) -> float:
  """One split's score, the way its authors compute it.

  Args:
    split: an evaluation split, `test`, or `real` (ReaL labels of `test`).
    predictions: 1,000 logits by file name.
    truth: each image's labels by file name (ReaL: possibly empty).
    mask: the split's class mask (`info.metadata['eval_sets']`), or None.
    in_distribution: for `imagenet_o`, the test split's labels by file name.

  Returns:
    The accuracy, or for ImageNet-O the AUPR.

  Raises:
    InputError: an image has no prediction.
  """
  if split == REAL:
    truth = {name: labels for name, labels in truth.items() if len(labels)}
  names = sorted(truth)
  logits = _logits_of(predictions, names, split)
  scoring = facts.by_split()[split].scoring if split in facts.SPLITS else TOP1
  if scoring is facts.Scoring.AUPR:
    assert mask is not None and in_distribution is not None
    kept = set(mask)
    in_names = sorted(n for n, labels in in_distribution.items() if labels[0] in kept)
    return ood_aupr(logits, _logits_of(predictions, in_names, 'test'), mask)
  use_mask = mask if scoring in (facts.Scoring.MASKED_TOP1, facts.Scoring.OBJECTNET) else None
  return accuracy(logits, [truth[name] for name in names], use_mask)


def _read_split(builder, split: str) -> dict[str, tuple[int, ...]]:
  """File name -> labels of a built split (ObjectNet: every mapped label)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  features = builder.info.features
  key = facts.OBJECTNET_FEATURE if split == facts.OBJECTNET else None
  key = 'real_label' if split == REAL else key
  dataset = builder.as_dataset(
      split='test' if split == REAL else split,
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  if key is not None and key not in features:
    raise InputError(f'{builder.data_dir}: this build has no {key} feature.')
  found = {}
  for example in tfds.as_numpy(dataset):
    labels = example[key] if key else [example['label']]
    found[example['file_name'].decode()] = tuple(int(label) for label in labels)
  return found


def evaluate_build(builder, predictions: Mapping[str, np.ndarray], splits: Sequence[str]) -> dict[str, float]:
  """Each named split's score over a built dataset."""
  entries = builder.info.metadata.get('eval_sets', {})
  scores = {}
  for split in splits:
    mask = entries.get(split, {}).get('class_mask')
    in_distribution = _read_split(builder, 'test') if split == 'imagenet_o' else None
    scores[split] = score_split(split, predictions, _read_split(builder, split), mask, in_distribution)
  return scores


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point: prints one `split: score` line a split."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  parser = argparse.ArgumentParser(prog='python -m imagenet_custom.evaluate')
  parser.add_argument('--data_dir', required=True)
  parser.add_argument('--predictions', required=True, help='.npz with file_names and logits')
  parser.add_argument('--config', default='default')
  parser.add_argument('--split', action='append', help='default: every evaluation split built')
  args = parser.parse_args(argv)
  builder = tfds.builder(f'imagenet_custom/{args.config}', data_dir=args.data_dir)
  with np.load(args.predictions) as saved:
    predictions = dict(zip((str(n) for n in saved['file_names']), saved['logits'], strict=True))
  splits = args.split or [s for s in facts.SPLITS if s in builder.info.splits]
  for split, value in evaluate_build(builder, predictions, splits).items():
    name = 'AUPR' if split == 'imagenet_o' else 'accuracy'
    print(f'{split}: {name} {value:.4f}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
