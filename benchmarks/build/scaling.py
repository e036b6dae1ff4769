"""How the build scales with cores: serial fraction and a projection.

From the generation phase measured with 1 and 2 worker processes, Amdahl's
law gives the serial fraction `s` of that phase: with speedup
`S = T(1) / T(2) = 1 / (s + (1 - s) / 2)`, `s = 2 / S - 1`. The full
ImageNet build on N cores is then projected as

  generation(N) = images x (T(1) / measured images) x (s + (1 - s) / N)
  build(N)      = setup + generation(N) + images x (write phase / image)

(setup is a constant; TFDS's shuffle-and-write phase is serial), and the disk
read rate it needs is the input's bytes over generation(N).
"""

from __future__ import annotations

import dataclasses

MB = 1 << 20
# The full ILSVRC2012 classification set.
FULL_TRAIN_IMAGES = 1_281_167
FULL_VAL_IMAGES = 50_000
FULL_IMAGES = FULL_TRAIN_IMAGES + FULL_VAL_IMAGES
# The official image tars: ILSVRC2012_img_train.tar + ILSVRC2012_img_val.tar.
FULL_ARCHIVE_BYTES = 147_897_477_120 + 6_744_924_160
PROJECTED_CORES = (8, 16, 64)


@dataclasses.dataclass(frozen=True)
class Projection:
  """The full build projected on some cores.

  Attributes:
    cores: worker processes (one per core).
    generate_s: the generation phase.
    build_s: the whole build (setup + generation + shuffle and write).
    read_mb_s: the disk read rate the generation phase needs (MiB/s), with the
      benchmark input's bytes per image.
    real_read_mb_s: the same with real ImageNet's bytes per image.
  """

  cores: int
  generate_s: float
  build_s: float
  read_mb_s: float
  real_read_mb_s: float


def speedup(one_worker_s: float, two_workers_s: float) -> float:
  """The generation phase's speedup from 1 to 2 workers.

  Args:
    one_worker_s: the phase with `num_workers=1`.
    two_workers_s: the phase with `num_workers=2`.

  Returns:
    `one_worker_s / two_workers_s`.

  Raises:
    ValueError: a time is not positive.
  """
  if one_worker_s <= 0 or two_workers_s <= 0:
    raise ValueError(
        f'phase times must be positive, not {one_worker_s} and {two_workers_s}'
    )
  return one_worker_s / two_workers_s


def serial_fraction(two_worker_speedup: float) -> float:
  """Amdahl's serial fraction from the speedup on 2 workers.

  Args:
    two_worker_speedup: T(1) / T(2).

  Returns:
    `2 / speedup - 1`, as measured: below 0 when the speedup is above 2
    (noise, or a cache effect), above 1 when 2 workers are slower.
  """
  return 2 / two_worker_speedup - 1


def amdahl_factor(serial: float, cores: int) -> float:
  """The share of the one-worker time that `cores` workers take.

  Args:
    serial: the serial fraction (clamped to [0, 1]).
    cores: workers.

  Returns:
    `s + (1 - s) / cores`.
  """
  serial = min(1.0, max(0.0, serial))
  return serial + (1 - serial) / cores


def project(
    generate_per_image_s: float,
    serial: float,
    bytes_per_image: float,
    write_per_image_s: float = 0.0,
    setup_s: float = 0.0,
    cores: tuple[int, ...] = PROJECTED_CORES,
    images: int = FULL_IMAGES,
) -> list[Projection]:
  """Projects the full build on several core counts.

  Args:
    generate_per_image_s: generation phase per image with one worker.
    serial: the serial fraction of the generation phase.
    bytes_per_image: input bytes per image of the measured input.
    write_per_image_s: TFDS's shuffle-and-write phase per image (serial).
    setup_s: the time before generation starts (constant).
    cores: the core counts projected.
    images: images of the build projected.

  Returns:
    One projection per core count.
  """
  projections = []
  for count in cores:
    generate = images * generate_per_image_s * amdahl_factor(serial, count)
    projections.append(Projection(
        cores=count,
        generate_s=generate,
        build_s=setup_s + generate + images * write_per_image_s,
        read_mb_s=images * bytes_per_image / generate / MB,
        real_read_mb_s=FULL_ARCHIVE_BYTES / generate / MB,
    ))
  return projections
