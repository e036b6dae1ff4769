"""Tests of `imagenet_custom.testing.spec`: the presets and their checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from imagenet_custom.testing import spec as spec_lib


def test_realistic_spec_sizes_add_up_and_pin_the_real_name_pairs() -> None:
  spec = spec_lib.realistic_spec(num_train=1_000, num_val=500, num_classes=20)
  assert spec.num_train == 1_000 and len(spec.class_sizes) == 20
  wnids = [wnid for wnid, _ in spec.class_sizes]
  assert wnids == sorted(wnids)
  assert set(spec_lib.REALISTIC_PINNED_WNIDS) <= set(wnids)
  # 1,762 of 50,000 real val images are blacklisted: 17.62 of 500.
  assert spec.num_blacklisted == 18
  assert spec.preset == 'realistic' and spec.realistic


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(num_classes=0), 'num_classes'),
        (dict(num_classes=1_001), 'num_classes'),
        (dict(num_train=5, num_classes=10), 'at least num_classes'),
        (dict(num_val=50_001), 'num_val'),
    ],
)
def test_realistic_spec_rejects_impossible_counts(
    kwargs: dict[str, Any], message: str
) -> None:
  with pytest.raises(ValueError, match=message):
    spec_lib.realistic_spec(**kwargs)


def test_split_count_is_uneven_positive_and_exact() -> None:
  sizes = spec_lib.split_count(np.random.default_rng(0), 10_000, 30)
  assert sum(sizes) == 10_000 and min(sizes) >= 1
  assert max(sizes) / min(sizes) > 1.2
  assert spec_lib.split_count(np.random.default_rng(0), 3, 3) == [1, 1, 1]


@pytest.mark.parametrize(
    'changes, message',
    [
        (dict(class_sizes=(('n99999999', 1),)), 'not ILSVRC2012 WNIDs'),
        (dict(class_sizes=(('n01440764', 0),)), 'at least one train image'),
        (dict(num_blacklisted=25), 'num_blacklisted'),
        (dict(layouts=('tars',)), 'layouts'),
    ],
)
def test_check_spec_names_the_problem(
    changes: dict[str, Any], message: str
) -> None:
  spec = dataclasses.replace(spec_lib.dummy_spec(), **changes)
  with pytest.raises(ValueError, match=message):
    spec_lib.check_spec(spec)


def test_all_wnids_are_the_1000_sorted_classes() -> None:
  wnids = spec_lib.all_wnids()
  assert len(wnids) == 1_000 and wnids[0] == 'n01440764'
