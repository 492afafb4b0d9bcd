# Copyright 2026 The sketch-rnn-tf2 Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Stroke-3 sketches to SVG (svgwrite), one path per stroke, and to pixels (Pillow)."""

import numpy as np
import svgwrite

from sketch_rnn import utils


def _polylines(strokes, cell, margin):
  """The sketch's strokes as absolute polylines fitted into a cell x cell square."""
  lines = utils.strokes_to_lines(np.asarray(strokes, dtype=np.float64))
  if not lines:
    return [], 1.0
  points = np.concatenate([np.asarray(line) for line in lines])
  low, high = points.min(0), points.max(0)
  span = max(float((high - low).max()), 1e-6)
  factor = (cell - 2 * margin) / span
  offset = margin + ((cell - 2 * margin) - (high - low) * factor) / 2 - low * factor
  return [np.asarray(line) * factor + offset for line in lines], factor


def grid_svg(sketches, ncols=None, cell=128, margin=8, stroke_width=1.5,
             path=None, titles=None):
  """A grid of stroke-3 sketches as one SVG; each stroke is one <path>.

  Returns the SVG text and, when path is given, writes it there (atomically).
  """
  n = len(sketches)
  ncols = ncols or int(np.ceil(np.sqrt(max(n, 1))))
  nrows = int(np.ceil(n / ncols)) if n else 1
  dwg = svgwrite.Drawing(size=(ncols * cell, nrows * cell))
  dwg.add(dwg.rect(insert=(0, 0), size=(ncols * cell, nrows * cell), fill='white'))
  for k, strokes in enumerate(sketches):
    row, col = divmod(k, ncols)
    group = dwg.g(id='cell-%d' % k, transform='translate(%d,%d)' % (col * cell,
                                                                     row * cell))
    for line in _polylines(strokes, cell, margin)[0]:
      d = 'M%.2f,%.2f ' % tuple(line[0]) + ' '.join(
          'L%.2f,%.2f' % tuple(p) for p in line[1:])
      group.add(dwg.path(d=d, stroke='black', fill='none',
                         stroke_width=stroke_width, stroke_linecap='round'))
    if titles is not None:
      group.add(dwg.text(titles[k], insert=(4, 12), font_size=10, fill='gray'))
    dwg.add(group)
  text = dwg.tostring()
  if path:
    utils.write_text_atomic(path, text)
  return text


def sketch_svg(strokes, size=256, path=None):
  """One sketch as an SVG of size x size."""
  return grid_svg([strokes], ncols=1, cell=size, path=path)


def grid_pixels(sketches, ncols=None, cell=96, margin=6, width=2):
  """A grid of sketches as a uint8 [H, W] array (black on white) through Pillow."""
  from PIL import Image, ImageDraw  # pylint: disable=g-import-not-at-top
  n = len(sketches)
  ncols = ncols or int(np.ceil(np.sqrt(max(n, 1))))
  nrows = int(np.ceil(n / ncols)) if n else 1
  image = Image.new('L', (ncols * cell, nrows * cell), color=255)
  pen = ImageDraw.Draw(image)
  for k, strokes in enumerate(sketches):
    row, col = divmod(k, ncols)
    for line in _polylines(strokes, cell, margin)[0]:
      points = [(float(x) + col * cell, float(y) + row * cell) for x, y in line]
      if len(points) == 1:
        points = points * 2
      pen.line(points, fill=0, width=width, joint='curve')
  return np.asarray(image)
