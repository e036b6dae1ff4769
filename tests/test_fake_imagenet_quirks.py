"""Tests of `imagenet_custom.testing.quirks` and the plan they change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imagenet_custom.testing import planning
from imagenet_custom.testing import quirks
from imagenet_custom.testing import spec as spec_lib


def test_dummy_plan_carries_each_image_quirk_once_per_split() -> None:
  plan = planning.plan_dataset(spec_lib.dummy_spec())
  for split, images, expected in (
      ('train', plan.train, {'cmyk_jpeg': 'CMYK', 'png_named_jpeg': 'PNG',
                             'grayscale_jpeg': 'L'}),
      ('val', plan.val, {'cmyk_jpeg': 'CMYK', 'grayscale_jpeg': 'L'}),
  ):
    for quirk, planted in expected.items():
      carriers = [image for image in images if quirk in image.quirks]
      assert len(carriers) == 1, (split, quirk)
      assert carriers[0].planted == planted
  assert not any(
      set(image.quirks) - {'blacklisted'} for image in plan.val if image.blacklisted
  )
  (orphan,) = plan.orphans
  assert orphan.stem not in {image.stem for image in plan.train}


def test_realistic_plan_plants_only_format_quirks() -> None:
  spec = spec_lib.realistic_spec(num_train=40, num_val=10, num_classes=4)
  plan = planning.plan_dataset(spec)
  planted = [quirk for image in plan.train + plan.val for quirk in image.quirks]
  assert sorted(planted) == ['cmyk_jpeg'] * 4 + ['png_named_jpeg']
  assert not plan.orphans and not plan.junk


def test_with_quirk_rejects_a_name_not_in_quirks() -> None:
  image = planning.plan_dataset(spec_lib.dummy_spec()).train[0]
  with pytest.raises(ValueError, match='add it to QUIRKS'):
    quirks.with_quirk(image, 'cmyk')


def test_pick_says_when_the_spec_is_too_small() -> None:
  plan = planning.plan_dataset(spec_lib.dummy_spec())
  taken = [quirks.with_quirk(image, 'cmyk_jpeg') for image in plan.train]
  with pytest.raises(ValueError, match='spec is too small'):
    quirks.pick(np.random.default_rng(0), taken, 'grayscale_jpeg')


def test_junk_follows_the_requested_layouts() -> None:
  spec = dataclasses.replace(spec_lib.dummy_spec(), layouts=('kaggle',))
  plan = planning.plan_dataset(spec)
  assert plan.junk and {junk.layout for junk in plan.junk} == {'kaggle'}
