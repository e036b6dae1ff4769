"""Renders a grid of examples of a built dataset, with boxes and class names.

  python -m imagenet_custom.tools.show --data_dir OUT --split train --n 16 \\
      --out samples.png

Each tile shows the image (scaled to fit, grayscale shown as such), its boxes
outlined, its class name (with the WNID appended for the names that two
classes share: 'crane', 'maillot') and its file name. Pillow only: it reads
the built dataset through TFDS and draws with `PIL.ImageDraw`.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence
import dataclasses
import io
import math
import pathlib
import sys

from absl import logging
import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont
import tensorflow_datasets as tfds

DATASET_NAME = 'imagenet_custom'
DEFAULT_TILE = 224
DEFAULT_COLUMNS = 0  # 0: about square.
FONT_SIZE = 13
TITLE_FONT_SIZE = 16
PADDING = 6
CAPTION_LINES = 2
LINE_SPACING = 3
BACKGROUND = (24, 24, 28)
TILE_BACKGROUND = (48, 48, 54)
TEXT_COLOUR = (235, 235, 235)
MUTED_TEXT_COLOUR = (160, 160, 170)
# Boxes: a bright outline on a dark one, visible on any image.
BOX_COLOUR = (255, 0, 255)
BOX_SHADOW = (0, 0, 0)
BOX_WIDTH = 2
ELLIPSIS = '…'
SHUFFLE_BUFFER = 10_000


@dataclasses.dataclass(frozen=True)
class Shown:
  """One example to draw.

  Attributes:
    image: the decoded image (RGB or L).
    label: the class index.
    file_name: the example's file name.
    boxes: float `[N, 4]` normalised `ymin, xmin, ymax, xmax`.
  """

  image: Image.Image
  label: int
  file_name: str
  boxes: np.ndarray


def display_names(wnids: Sequence[str], names: Sequence[str]) -> list[str]:
  """Class names for display, made unique with the WNID where they repeat.

  Args:
    wnids: the WNIDs in label order.
    names: the human-readable names in label order.

  Returns:
    One name per label: `crane (n02012849)` for a shared name, else the name.
  """
  counts = collections.Counter(names)
  return [
      f'{name} ({wnid})' if counts[name] > 1 else name
      for wnid, name in zip(wnids, names, strict=True)
  ]


def load_examples(
    data_dir: str, split: str, n: int, shuffle_seed: int | None = None
) -> tuple[list[Shown], list[str]]:
  """Reads `n` examples of a split and the display names of the classes.

  Args:
    data_dir: the `--data_dir` the dataset was built into.
    split: the split (any TFDS split expression).
    n: how many examples.
    shuffle_seed: draw from the whole split with this seed; None for the
      first `n` in file order.

  Returns:
    The examples and the display name of every label.
  """
  builder = tfds.builder(DATASET_NAME, data_dir=data_dir)
  wnids = builder.info.features['label'].names
  names = builder.info.metadata.get('class_names') or wnids
  ds = builder.as_dataset(
      split=split,
      shuffle_files=shuffle_seed is not None,
      decoders={'image': tfds.decode.SkipDecoding()},
      read_config=tfds.ReadConfig(shuffle_seed=shuffle_seed),
  )
  if shuffle_seed is not None:
    ds = ds.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed)
  shown = []
  for example in tfds.as_numpy(ds.take(n)):
    image = Image.open(io.BytesIO(example['image']))
    image.load()
    shown.append(
        Shown(
            image=image,
            label=int(example['label']),
            file_name=example['file_name'].decode(),
            boxes=np.asarray(example['bboxes'], np.float32).reshape(-1, 4),
        )
    )
  logging.info('Read %d examples of %s[%s] from %s', len(shown), DATASET_NAME, split, data_dir)
  return shown, display_names(wnids, names)


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
  """Pillow's bundled font at `size` px (a bitmap font without FreeType).

  Args:
    size: pixel size.

  Returns:
    The font.
  """
  return ImageFont.load_default(size=size)


def fit_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    width: int,
) -> str:
  """Shortens `text` with an ellipsis until it fits in `width` pixels.

  Args:
    draw: a drawing context (for measuring).
    text: the text.
    font: its font.
    width: available pixels.

  Returns:
    `text`, or a prefix of it ending in an ellipsis.
  """
  if draw.textlength(text, font=font) <= width:
    return text
  low, high = 0, len(text)
  while low < high:
    middle = (low + high + 1) // 2
    if draw.textlength(text[:middle] + ELLIPSIS, font=font) <= width:
      low = middle
    else:
      high = middle - 1
  return text[:low] + ELLIPSIS


def box_rectangles(
    boxes: np.ndarray, left: int, top: int, width: int, height: int
) -> list[tuple[int, int, int, int]]:
  """Pixel rectangles of normalised boxes drawn over an image placed on a tile.

  Args:
    boxes: float `[N, 4]` normalised `ymin, xmin, ymax, xmax`.
    left: x of the image's left edge on the tile.
    top: y of its top edge.
    width: its drawn width.
    height: its drawn height.

  Returns:
    `(x0, y0, x1, y1)` per box, inside the drawn image.
  """
  rectangles = []
  for ymin, xmin, ymax, xmax in np.clip(boxes, 0.0, 1.0):
    x0 = left + round(float(xmin) * (width - 1))
    y0 = top + round(float(ymin) * (height - 1))
    x1 = left + round(float(xmax) * (width - 1))
    y1 = top + round(float(ymax) * (height - 1))
    rectangles.append((x0, y0, max(x0, x1), max(y0, y1)))
  return rectangles


def render_tile(
    shown: Shown,
    caption: str,
    tile: int,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> Image.Image:
  """One example: the image fitted in a `tile` square, boxes, two caption lines.

  Args:
    shown: the example.
    caption: its class's display name.
    tile: side of the image area in pixels.
    font: caption font.

  Returns:
    An RGB image `tile` wide.
  """
  line_height = FONT_SIZE + LINE_SPACING
  canvas = Image.new('RGB', (tile, tile + CAPTION_LINES * line_height + PADDING), TILE_BACKGROUND)
  image = shown.image.convert('RGB')
  scale = min(tile / image.width, tile / image.height)
  width = max(1, round(image.width * scale))
  height = max(1, round(image.height * scale))
  image = image.resize((width, height), Image.Resampling.BICUBIC)
  left = (tile - width) // 2
  top = (tile - height) // 2
  canvas.paste(image, (left, top))
  draw = ImageDraw.Draw(canvas)
  for rectangle in box_rectangles(shown.boxes, left, top, width, height):
    draw.rectangle(rectangle, outline=BOX_SHADOW, width=BOX_WIDTH + 2)
    draw.rectangle(rectangle, outline=BOX_COLOUR, width=BOX_WIDTH)
  text_top = tile + PADDING // 2
  text_width = tile - 2 * PADDING // 2
  draw.text(
      (PADDING // 2, text_top),
      fit_text(draw, f'{shown.label}: {caption}', font, text_width),
      fill=TEXT_COLOUR,
      font=font,
  )
  mode = '' if shown.image.mode == 'RGB' else f' [{shown.image.mode}]'
  boxes = f'{len(shown.boxes)} box{"" if len(shown.boxes) == 1 else "es"}'
  details = f'{boxes}{mode}: {shown.file_name}'
  draw.text(
      (PADDING // 2, text_top + line_height),
      fit_text(draw, details, font, text_width),
      fill=MUTED_TEXT_COLOUR,
      font=font,
  )
  return canvas


def render_grid(
    examples: Sequence[Shown],
    names: Sequence[str],
    title: str,
    tile: int = DEFAULT_TILE,
    columns: int = DEFAULT_COLUMNS,
) -> Image.Image:
  """All examples as a grid of tiles under a title.

  Args:
    examples: what to draw.
    names: display name of every label.
    title: the heading.
    tile: side of each image area.
    columns: tiles per row; 0 for about square.

  Returns:
    The RGB grid.

  Raises:
    ValueError: no examples.
  """
  if not examples:
    raise ValueError('nothing to show: the split has no examples')
  columns = columns or math.ceil(math.sqrt(len(examples)))
  rows = math.ceil(len(examples) / columns)
  font = load_font(FONT_SIZE)
  tiles = [render_tile(ex, names[ex.label], tile, font) for ex in examples]
  tile_width, tile_height = tiles[0].size
  header = TITLE_FONT_SIZE + 2 * PADDING
  grid = Image.new(
      'RGB',
      (
          columns * tile_width + (columns + 1) * PADDING,
          header + rows * tile_height + rows * PADDING,
      ),
      BACKGROUND,
  )
  draw = ImageDraw.Draw(grid)
  draw.text(
      (PADDING, PADDING),
      fit_text(draw, title, load_font(TITLE_FONT_SIZE), grid.width - 2 * PADDING),
      fill=TEXT_COLOUR,
      font=load_font(TITLE_FONT_SIZE),
  )
  for index, image in enumerate(tiles):
    row, column = divmod(index, columns)
    grid.paste(
        image,
        (PADDING + column * (tile_width + PADDING), header + row * (tile_height + PADDING)),
    )
  return grid


def show(
    data_dir: str,
    split: str,
    n: int,
    out: pathlib.Path,
    tile: int = DEFAULT_TILE,
    columns: int = DEFAULT_COLUMNS,
    shuffle_seed: int | None = None,
) -> Image.Image:
  """Renders `n` examples of a split to a PNG file.

  Args:
    data_dir: the `--data_dir` the dataset was built into.
    split: the split.
    n: how many examples.
    out: the PNG to write.
    tile: side of each image area in pixels.
    columns: tiles per row; 0 for about square.
    shuffle_seed: draw at random with this seed; None for the first `n`.

  Returns:
    The rendered grid.
  """
  examples, names = load_examples(data_dir, split, n, shuffle_seed)
  boxed = sum(1 for ex in examples if len(ex.boxes))
  title = (
      f'{DATASET_NAME} [{split}]: {len(examples)} examples, {boxed} with boxes'
      f' (magenta) - {data_dir}'
  )
  grid = render_grid(examples, names, title, tile, columns)
  out.parent.mkdir(parents=True, exist_ok=True)
  grid.save(out, format='PNG')
  return grid


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      description='Render examples of a built imagenet_custom dataset to a PNG.'
  )
  parser.add_argument('--data_dir', required=True, help='where the dataset was built')
  parser.add_argument('--split', default='train')
  parser.add_argument('--n', type=int, default=16, help='examples to show')
  parser.add_argument('--out', type=pathlib.Path, default=pathlib.Path('samples.png'))
  parser.add_argument('--tile', type=int, default=DEFAULT_TILE, help='pixels per image')
  parser.add_argument('--columns', type=int, default=DEFAULT_COLUMNS, help='0: about square')
  parser.add_argument('--shuffle_seed', type=int, default=None,
                      help='draw at random with this seed (default: the first N)')
  return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point.

  Args:
    argv: arguments without the program name; None for `sys.argv[1:]`.

  Returns:
    The exit code.
  """
  args = _parse_args(argv)
  if args.n < 1:
    print('--n must be at least 1', file=sys.stderr)
    return 2
  grid = show(
      args.data_dir, args.split, args.n, args.out, args.tile, args.columns,
      args.shuffle_seed,
  )
  print(f'Wrote {args.out} ({grid.width}x{grid.height})')
  return 0


if __name__ == '__main__':
  sys.exit(main())
