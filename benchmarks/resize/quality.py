"""The quality figure: PSNR against a float Lanczos resize of the full image.

The reference is Lanczos-3 computed in float64 from the fully decoded
original, with the filter stretched by the scale factor (an antialiasing
resize, as PIL's) and the same pixel-centre convention as PIL, and neither
rounded nor clipped. PIL's own Lanczos differs from it only by its 8-bit
fixed-point arithmetic; every other method differs by its kernel, its
shortcuts (a box `reduce`, libjpeg's scaled decoding) and its colour space.
"""

from __future__ import annotations

import math

import numpy as np

# Lanczos lobes, as PIL's LANCZOS.
LOBES = 3
# PSNR of identical images.
IDENTICAL_DB = math.inf


def _lanczos(x: np.ndarray) -> np.ndarray:
  """The Lanczos-3 kernel, zero outside [-3, 3]."""
  return np.where(np.abs(x) < LOBES, np.sinc(x) * np.sinc(x / LOBES), 0.0)


def lanczos_matrix(in_size: int, out_size: int) -> np.ndarray:
  """The weights of a 1-D antialiasing Lanczos resize, as a dense matrix.

  Output pixel `i` is centred on input coordinate `(i + 0.5) * scale` (input
  pixel `j` covers [j, j + 1)); when shrinking, the kernel is stretched by
  `scale`, so it averages over the input pixels the output pixel covers.
  Each row sums to 1.

  Args:
    in_size: input pixels.
    out_size: output pixels.

  Returns:
    `(out_size, in_size)` float64 weights.
  """
  scale = in_size / out_size
  stretch = max(scale, 1.0)
  centres = (np.arange(out_size) + 0.5) * scale
  distances = (np.arange(in_size)[None, :] + 0.5 - centres[:, None]) / stretch
  weights = _lanczos(distances)
  return weights / weights.sum(axis=1, keepdims=True)


def reference_resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """A float Lanczos resize of a whole image.

  Args:
    pixels: `(height, width)` or `(height, width, channels)` values.
    size: `(width, height)` of the output.

  Returns:
    float64 `(height, width[, channels])`, neither rounded nor clipped.
  """
  rows = lanczos_matrix(pixels.shape[0], size[1])
  columns = lanczos_matrix(pixels.shape[1], size[0])
  values = pixels.astype(np.float64)
  planes = values.reshape(values.shape[0], values.shape[1], -1).transpose(2, 0, 1)
  resized = rows @ planes @ columns.T  # One `(height, width)` product a channel.
  return resized.transpose(1, 2, 0).reshape((size[1], size[0]) + values.shape[2:])


def psnr(result: np.ndarray, reference: np.ndarray) -> float:
  """Peak signal-to-noise ratio of 8-bit pixels against a reference, in dB.

  Args:
    result: the pixels measured.
    reference: the reference, same shape (any float values).

  Returns:
    `10 log10(255^2 / MSE)`; infinity for identical images.
  """
  error = result.astype(np.float64) - reference
  mse = float(np.mean(error * error))
  if mse == 0.0:
    return IDENTICAL_DB
  return 10.0 * math.log10(255.0 * 255.0 / mse)
