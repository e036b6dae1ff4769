"""Tests for imagenet_custom.ilsvrc.splits: the keyed-hash 80/20 split."""

from __future__ import annotations

import pytest

from imagenet_custom.ilsvrc import splits

PINNED = ['n01440764_7.JPEG', 'n01440764_8.JPEG']


@pytest.mark.parametrize(
    'num_images, fraction, expected',
    [
        (1300, 0.2, 260),  # The largest real class.
        (732, 0.2, 146),  # The smallest real class: 146.4 rounds down.
        (1, 0.2, 0),  # One image: it stays in train.
        (2, 0.2, 1),  # 0.4 rounds to 0, but each side keeps one image.
        (3, 0.2, 1),  # 0.6 rounds to 1.
        (5, 0.5, 3),  # Halves round up: 2.5 -> 3.
        (10, 0.0, 0),  # No validation split asked.
        (10, 1.0, 10),  # Everything to validation when asked.
    ],
)
def test_validation_count(num_images, fraction, expected):
  assert splits.validation_count(num_images, fraction) == expected


def test_validation_count_rejects_bad_fraction():
  with pytest.raises(ValueError, match='outside'):
    splits.validation_count(10, 1.5)


def test_split_is_independent_of_order_and_stable():
  names = [f'n01440764_{i}.JPEG' for i in range(1, 1001)]
  forward = splits.select_validation(names, 0.2, 'seed')
  backward = splits.select_validation(reversed(names), 0.2, 'seed')
  assert forward == backward
  assert len(forward) == 200


def test_default_split_is_pinned():
  # Users' splits must never move between releases: a change of hash, key or
  # rounding that reshuffles them fails here.
  names = [f'n01440764_{i}.JPEG' for i in range(1, 11)]
  assert sorted(splits.select_validation(names, 0.2, splits.DEFAULT_SPLIT_SEED)) == PINNED


def test_another_seed_gives_another_split():
  names = [f'n01440764_{i}.JPEG' for i in range(1, 1001)]
  first = splits.select_validation(names, 0.2, 'a')
  second = splits.select_validation(names, 0.2, 'b')
  assert len(first) == len(second) == 200
  assert first != second
  # Independent 20% samples overlap by about 4%.
  assert 10 < len(first & second) < 80


def test_split_is_uniform_over_name_patterns():
  # Names from a few classes, with sequential numbers: each decile of numbers
  # gets about its share of validation images.
  names = [f'n0{c}_{i}.JPEG' for c in range(5) for i in range(1000)]
  validation = splits.select_validation(names, 0.2, splits.DEFAULT_SPLIT_SEED)
  per_decile = [
      sum(1 for n in validation if int(n.split('_')[1].split('.')[0]) // 100 == d)
      for d in range(10)
  ]
  assert sum(per_decile) == 1000
  assert all(60 <= count <= 140 for count in per_decile), per_decile


def test_rank_key_is_not_pythons_salted_hash():
  assert splits.split_rank_key('n01440764_1.JPEG', 'x').hex() == (
      splits.split_rank_key('n01440764_1.JPEG', 'x').hex()
  )
  assert len(splits.split_rank_key('a', 'x')) == 16


def test_split_names():
  assert splits.TRAIN_SPLITS == ('train', 'validation')
  assert splits.VAL_SPLITS == ('test', 'test_blacklisted')


@pytest.mark.parametrize(
    'number, blacklist, expected',
    [
        (1, frozenset({36, 50}), 'test'),
        (36, frozenset({36, 50}), 'test_blacklisted'),
        (36, frozenset(), 'test'),  # No devkit: no blacklist.
        (50_000, {50_000}, 'test_blacklisted'),  # Any collection works.
    ],
)
def test_val_split_of(number, blacklist, expected):
  assert splits.val_split_of(number, blacklist) == expected
  assert splits.val_split_of(number, blacklist) in splits.VAL_SPLITS


def test_rank_orders_by_keyed_hash_and_ignores_input_order():
  names = [f'n01440764_{i}.JPEG' for i in range(50)]
  ranked = splits.rank(names, 'seed')
  assert ranked == splits.rank(reversed(names + names[:5]), 'seed')
  assert sorted(ranked) == sorted(names)
  assert ranked != sorted(names)
  assert ranked != splits.rank(names, 'another seed')
  # Validation takes the head of the order.
  assert splits.select_validation(names, 0.2, 'seed') == frozenset(ranked[:10])


@pytest.mark.parametrize(
    'value, rounded',
    [(0.5, 1), (1.5, 2), (2.5, 3), (2.4999, 2), (0.0, 0), (7.0, 7)],  # halves up, not to even
)
def test_round_half_up(value, rounded):
  assert splits.round_half_up(value) == rounded
