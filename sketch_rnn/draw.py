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
"""Stroke-3 sketches to SVG (svgwrite) and to pixels or PNG (Pillow).

A grid has one <g id="cell-K"> per sketch (empty sketches too), and each stroke
of a sketch is one <path>. A stroke ends where the pen lifts (p = 1); points after
the last lift (a sample cut at its end-of-sketch with the pen down) are a stroke
too, as Magenta's draw_strokes draws them.
"""


import numpy as np
import svgwrite

from sketch_rnn import files
from sketch_rnn import errors
from sketch_rnn import utils


HIGHLIGHT = '#d62728'  # a completion's given points (red)


def strokes_to_polylines(strokes):
  """Stroke-3 offsets to absolute polylines, the trailing unlifted stroke included."""
  strokes = np.asarray(strokes, dtype=np.float64).reshape(-1, 3)
  if not len(strokes):
    return []
  points = np.cumsum(strokes[:, 0:2], axis=0)
  # utils.strokes_to_lines drops the points after the last pen lift; keep them.
  ends = list(np.flatnonzero(strokes[:, 2] == 1) + 1)
  if not ends or ends[-1] != len(strokes):
    ends.append(len(strokes))
  starts = [0] + ends[:-1]
  return [points[a:b] for a, b in zip(starts, ends)]


def _split_at_point(lines, count):
  """(line, is_prefix) pairs: the strokes split where point `count` begins (the
  segment into that point belongs to what follows)."""
  pieces, start = [], 0
  for line in lines:
    cut = count - start
    if cut >= len(line):
      pieces.append((line, True))
    elif cut <= 0:
      pieces.append((line, False))
    else:
      pieces += [(line[:cut], True), (line[cut - 1:], False)]
    start += len(line)
  return pieces


def _polylines(strokes, cell, margin, highlight=0):
  """The sketch's strokes as absolute polylines fitted into a cell x cell square,
  each with whether it belongs to the first `highlight` points."""
  lines = strokes_to_polylines(strokes)
  if not lines:
    return [], 1.0
  points = np.concatenate(lines)
  finite = points[np.isfinite(points).all(1)]
  if not len(finite):
    return [], 1.0
  low, high = finite.min(0), finite.max(0)
  span = max(float((high - low).max()), 1e-6)
  factor = (cell - 2 * margin) / span
  offset = margin + ((cell - 2 * margin) - (high - low) * factor) / 2 - low * factor
  # A diverged sample can hold inf or nan; such points are left out, not drawn.
  pieces = [(line[np.isfinite(line).all(1)], flag)
            for line, flag in _split_at_point(lines, int(highlight or 0))]
  return [(line * factor + offset, flag) for line, flag in pieces if len(line)], factor


def _grid_shape(n, ncols):
  ncols = int(ncols or np.ceil(np.sqrt(max(n, 1))))
  if ncols < 1:
    raise errors.SketchRNNError('ncols must be at least 1, got %d' % ncols)
  return ncols, max(int(np.ceil(n / ncols)), 1)


def _highlights(highlight, n):
  if highlight is None:
    return [0] * n
  if len(highlight) != n:
    raise errors.SketchRNNError('%d highlights for %d sketches' % (len(highlight), n))
  return list(highlight)


def grid_svg(sketches, ncols=None, cell=128, margin=8, stroke_width=1.5,
             path=None, titles=None, highlight=None, highlight_color=HIGHLIGHT):
  """A grid of stroke-3 sketches as one SVG; each stroke is one <path>.

  Cell k (row-major, ncols per row, default a square-ish grid) is the group
  <g id="cell-k">, present even when sketch k is empty. titles: one caption per
  sketch (or None). highlight: per sketch, how many of its first points to draw
  in highlight_color (a completion's given prefix). Returns the SVG text and,
  when path is given, writes it there (atomically).
  """
  n = len(sketches)
  if titles is not None and len(titles) != n:
    raise errors.SketchRNNError('%d titles for %d sketches' % (len(titles), n))
  highlight = _highlights(highlight, n)
  ncols, nrows = _grid_shape(n, ncols)
  dwg = svgwrite.Drawing(size=(ncols * cell, nrows * cell))
  dwg.add(dwg.rect(insert=(0, 0), size=(ncols * cell, nrows * cell), fill='white'))
  for k, strokes in enumerate(sketches):
    row, col = divmod(k, ncols)
    group = dwg.g(id='cell-%d' % k, transform='translate(%d,%d)' % (col * cell,
                                                                     row * cell))
    for line, given in _polylines(strokes, cell, margin, highlight[k])[0]:
      if len(line) == 1:
        line = np.concatenate([line, line])  # a dot: a zero-length segment, round cap
      d = 'M%.2f,%.2f ' % tuple(line[0]) + ' '.join(
          'L%.2f,%.2f' % tuple(p) for p in line[1:])
      group.add(dwg.path(d=d, stroke=highlight_color if given else 'black',
                         fill='none',
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


def grid_pixels(sketches, ncols=None, cell=96, margin=6, width=2, highlight=None,
                highlight_color=HIGHLIGHT):
  """A grid of sketches as a uint8 [H, W] array (black on white) through Pillow;
  with highlight (as in grid_svg), an RGB [H, W, 3] array."""
  from PIL import Image, ImageDraw  # pylint: disable=g-import-not-at-top
  n = len(sketches)
  counts = _highlights(highlight, n)
  ncols, nrows = _grid_shape(n, ncols)
  mode, white, black = ('RGB', (255, 255, 255), (0, 0, 0)) if highlight else (
      'L', 255, 0)
  image = Image.new(mode, (ncols * cell, nrows * cell), color=white)
  pen = ImageDraw.Draw(image)
  for k, strokes in enumerate(sketches):
    row, col = divmod(k, ncols)
    for line, given in _polylines(strokes, cell, margin, counts[k])[0]:
      points = [(float(x) + col * cell, float(y) + row * cell) for x, y in line]
      if len(points) == 1:
        points = points * 2
      pen.line(points, fill=highlight_color if given else black, width=width,
               joint='curve')
  return np.asarray(image)


def grid_png(sketches, path, ncols=None, cell=96, margin=6, width=2, highlight=None):
  """grid_pixels written to path as a PNG (atomically); returns the pixels."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  pixels = grid_pixels(sketches, ncols=ncols, cell=cell, margin=margin, width=width,
                       highlight=highlight)
  with files.atomic_write(path, 'wb') as f:
    Image.fromarray(pixels).save(f, format='PNG')
  return pixels
