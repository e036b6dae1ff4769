"""Trains a tiny PyTorch CNN on imagenet_custom read by random access.

  tfds build imagenet_custom --manual_dir=DIR --data_dir=OUT \\
      --file_format=array_record
  python examples/train_torch.py --data_dir OUT [--steps 60] [--image_size 64]
      [--batch_size 16] [--num_workers 2]

`tfds.data_source(...)` opens the ArrayRecord files for random access; a
`torch.utils.data.Dataset` decodes each JPEG with Pillow in `__getitem__`
(grayscale ones converted to RGB) and a `DataLoader` with worker processes
batches them. Prints the loss every few steps and the accuracy on the `test`
split as `test accuracy: 0.xxx`. TensorFlow is not needed at run time.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import io
import math
import sys
import time
from typing import Any

from absl import logging
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds
import torch
from torch import nn
from torch.utils import data as torch_data

DATASET_NAME = 'imagenet_custom'
NUM_CLASSES = 1000
LEARNING_RATE = 3e-3
LOG_EVERY = 10
# Crop ratio of evaluation (224 of 256).
EVAL_CROP_FRACTION = 0.875
# Smallest share of the image area a training crop keeps.
MIN_CROP_AREA = 0.35
MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32) * 255
STD_RGB = np.array([0.229, 0.224, 0.225], np.float32) * 255


class JpegDataset(torch_data.Dataset):
  """A split of imagenet_custom by random access, JPEGs decoded with Pillow.

  The data source is opened lazily in each process, so the dataset pickles
  cheaply into `DataLoader` workers.
  """

  def __init__(self, data_dir: str, split: str, image_size: int, train: bool):
    """Describes the split (opening it once to count it).

    Args:
      data_dir: where the dataset was built with `--file_format=array_record`.
      split: the split.
      image_size: side of the output images.
      train: random crop and flip (else a centre crop).
    """
    self.data_dir = data_dir
    self.split = split
    self.image_size = image_size
    self.train = train
    self._source: Sequence[Any] | None = None
    self._generator: np.random.Generator | None = None
    self._length = len(self.source)

  @property
  def source(self) -> Sequence[Any]:
    """The `tfds.data_source`, opened on first use in this process."""
    if self._source is None:
      self._source = tfds.data_source(
          DATASET_NAME,
          split=self.split,
          data_dir=self.data_dir,
          download=False,
          decoders={'image': tfds.decode.SkipDecoding()},
      )
    return self._source

  @property
  def rng(self) -> np.random.Generator:
    """This process's augmentation randomness.

    Seeded from `torch.initial_seed()`, which the `DataLoader` sets per
    worker from its generator: reproducible for a seed, and it runs on across
    epochs (persistent workers), so each epoch draws new crops.
    """
    if self._generator is None:
      self._generator = np.random.default_rng(torch.initial_seed())
    return self._generator

  def __getstate__(self) -> dict[str, Any]:
    state = dict(self.__dict__)
    state['_source'] = None
    state['_generator'] = None
    return state

  def __len__(self) -> int:
    return self._length

  def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
    """Reads, decodes and preprocesses one example.

    Args:
      index: position in the split.

    Returns:
      `(image float32 [3, S, S] normalised, label)`.
    """
    record = self.source[index]
    image = Image.open(io.BytesIO(record['image']))
    # Decode at a reduced scale (JPEG DCT scaling) when even the smallest crop
    # keeps at least `image_size` pixels a side.
    smallest_crop = math.sqrt(MIN_CROP_AREA) if self.train else EVAL_CROP_FRACTION
    draft = math.ceil(self.image_size / smallest_crop)
    image.draft('RGB', (draft, draft))
    image = image.convert('RGB')
    if self.train:
      image = random_crop(image, self.rng)
      if self.rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    else:
      image = center_crop(image)
    image = image.resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
    pixels = (np.asarray(image, np.float32) - MEAN_RGB) / STD_RGB
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy()), int(record['label'])


def random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
  """A random crop of `MIN_CROP_AREA`-100% of the area, aspect ratio 3/4 to 4/3.

  Args:
    image: the image.
    rng: randomness.

  Returns:
    The crop (the whole image when no such crop fits).
  """
  width, height = image.size
  area = width * height * rng.uniform(MIN_CROP_AREA, 1.0)
  aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
  crop_width = min(width, max(1, round(np.sqrt(area * aspect))))
  crop_height = min(height, max(1, round(np.sqrt(area / aspect))))
  left = int(rng.integers(0, width - crop_width + 1))
  top = int(rng.integers(0, height - crop_height + 1))
  return image.crop((left, top, left + crop_width, top + crop_height))


def center_crop(image: Image.Image) -> Image.Image:
  """The centre square of `EVAL_CROP_FRACTION` of the shorter side.

  Args:
    image: the image.

  Returns:
    The crop.
  """
  width, height = image.size
  side = max(1, int(EVAL_CROP_FRACTION * min(width, height)))
  left = (width - side + 1) // 2
  top = (height - side + 1) // 2
  return image.crop((left, top, left + side, top + side))


class TinyCnn(nn.Module):
  """Three strided conv blocks, global average pooling, a linear head."""

  def __init__(self, num_classes: int = NUM_CLASSES):
    """Creates the layers.

    Args:
      num_classes: outputs (logits).
    """
    super().__init__()
    layers: list[nn.Module] = []
    channels = 3
    for filters in (16, 32, 64):
      layers += [
          nn.Conv2d(channels, filters, 3, stride=2, padding=1, bias=False),
          nn.BatchNorm2d(filters),
          nn.ReLU(inplace=True),
      ]
      channels = filters
    self.features = nn.Sequential(*layers)
    self.head = nn.Linear(channels, num_classes)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    """Logits of a batch `[B, 3, S, S]`."""
    return self.head(self.features(images).mean(dim=(2, 3)))


def make_loader(dataset: JpegDataset, batch_size: int, num_workers: int, train: bool, seed: int) -> torch_data.DataLoader:
  """A `DataLoader` over the dataset with `num_workers` worker processes.

  Args:
    dataset: the dataset.
    batch_size: images per batch.
    num_workers: worker processes (0 reads in this process).
    train: shuffle and drop the last partial batch.
    seed: seed of the shuffle.

  Returns:
    The loader.
  """
  generator = torch.Generator()
  generator.manual_seed(seed)
  return torch_data.DataLoader(
      dataset,
      batch_size=batch_size,
      shuffle=train,
      drop_last=train and len(dataset) >= batch_size,
      num_workers=num_workers,
      persistent_workers=num_workers > 0,
      generator=generator,
  )


def evaluate(model: nn.Module, loader: torch_data.DataLoader) -> float:
  """Top-1 accuracy of the model over a loader.

  Args:
    model: the model.
    loader: the evaluation batches.

  Returns:
    The accuracy.
  """
  model.eval()
  correct = total = 0
  with torch.no_grad():
    for images, labels in loader:
      correct += int((model(images).argmax(dim=1) == labels).sum())
      total += int(labels.numel())
  return correct / max(1, total)


def train(args: argparse.Namespace) -> float:
  """Trains for `args.steps` steps, printing the loss; returns test accuracy.

  Args:
    args: the parsed command line.

  Returns:
    Top-1 accuracy on `args.test_split`.
  """
  torch.manual_seed(args.seed)
  train_set = JpegDataset(args.data_dir, 'train', args.image_size, True)
  test_set = JpegDataset(args.data_dir, args.test_split, args.image_size, False)
  print(f'train: {len(train_set)} examples, {args.test_split}: {len(test_set)}', flush=True)
  train_loader = make_loader(train_set, args.batch_size, args.num_workers, True, args.seed)
  model = TinyCnn()
  optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
  loss_fn = nn.CrossEntropyLoss()
  step = 0
  start = time.perf_counter()
  while step < args.steps:
    model.train()
    for images, labels in train_loader:
      logits = model(images)
      loss = loss_fn(logits, labels)
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
      step += 1
      if step % LOG_EVERY == 0 or step == args.steps:
        accuracy = float((logits.argmax(dim=1) == labels).float().mean())
        print(f'step {step}: loss {loss.item():.4f}, batch accuracy {accuracy:.3f}', flush=True)
      if step >= args.steps:
        break
  logging.info('Trained %d steps in %.1f s', step, time.perf_counter() - start)
  test_loader = make_loader(test_set, args.batch_size, args.num_workers, False, args.seed)
  return evaluate(model, test_loader)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--data_dir', required=True,
                      help='where the dataset was built with --file_format=array_record')
  parser.add_argument('--steps', type=int, default=60)
  parser.add_argument('--image_size', type=int, default=64)
  parser.add_argument('--batch_size', type=int, default=16)
  parser.add_argument('--num_workers', type=int, default=2)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--test_split', default='test')
  parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
  return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point.

  Args:
    argv: arguments without the program name; None for `sys.argv[1:]`.

  Returns:
    The exit code.
  """
  args = _parse_args(argv)
  if args.num_workers < 1:
    print('--num_workers must be at least 1 (this example shows worker processes)', file=sys.stderr)
    return 2
  torch.set_num_threads(args.threads)
  accuracy = train(args)
  print(f'test accuracy: {accuracy:.3f}', flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
