"""Tests of `imagenet_custom.testing.rendering`: formats and determinism."""

from __future__ import annotations

import dataclasses
import io

from PIL import Image
import pytest

from imagenet_custom.testing import planning
from imagenet_custom.testing import rendering
from imagenet_custom.testing import spec as spec_lib


@pytest.fixture(scope='module')
def image() -> planning.plan_types.ImagePlan:
  """The first planned dummy train image (plain RGB)."""
  return planning.plan_dataset(spec_lib.dummy_spec()).train[0]


@pytest.mark.parametrize(
    'planted, pil_format, mode',
    [('RGB', 'JPEG', 'RGB'), ('L', 'JPEG', 'L'), ('CMYK', 'JPEG', 'CMYK'),
     ('PNG', 'PNG', 'RGB')],
)
def test_render_image_writes_the_planted_format(
    image: planning.plan_types.ImagePlan, planted: str, pil_format: str, mode: str
) -> None:
  data = rendering.render_image(dataclasses.replace(image, planted=planted))
  with Image.open(io.BytesIO(data)) as opened:
    assert (opened.format, opened.mode) == (pil_format, mode)
    assert opened.size == (image.width, image.height)


def test_render_image_depends_only_on_the_plan(
    image: planning.plan_types.ImagePlan,
) -> None:
  assert rendering.render_image(image) == rendering.render_image(image)
  other = dataclasses.replace(image, noise_seed=image.noise_seed + 1)
  assert rendering.render_image(other) != rendering.render_image(image)


def test_render_stream_keeps_the_order_in_a_pool() -> None:
  images = planning.plan_dataset(spec_lib.dummy_spec()).train[:5]
  one = list(rendering.render_stream(images, workers=1))
  two = list(rendering.render_stream(images, workers=2))
  assert [plan for plan, _ in one] == list(images)
  assert one == two


def test_default_workers_is_one_for_small_outputs() -> None:
  assert rendering.default_workers(rendering.PARALLEL_THRESHOLD - 1) == 1
