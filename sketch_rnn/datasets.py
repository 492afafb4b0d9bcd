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
"""Drawings to a sketch-rnn .npz, as QuickDraw made its `sketchrnn` files. numpy only.

A drawing is a list of strokes, each an (n, 2) polyline of absolute points. The
pipeline (`to_stroke3`) works on many drawings at once, held flat: every point in
one array, with the stroke and drawing boundaries as offsets, so a chunk of tens of
thousands of drawings costs a few numpy passes, not a Python loop per point:

  1. align each drawing to its top-left corner and scale its larger side to 255,
     keeping the aspect ratio;
  2. simplify every stroke by Ramer-Douglas-Peucker with `epsilon` (2.0 in QuickDraw);
  3. round to integers, drop points repeated by the rounding, and write int16
     stroke-3 rows (dx, dy, pen lifted after this point), the first row being the
     first point's offset from the corner (Magenta's `lines_to_strokes`).

Readers (`read_ndjson`, `read_svg_folder`, `read_strokes_json`) yield (place, class
name, strokes) with a place (`file line N`) for the one-line errors, a bad drawing's
BadDrawing in place of its strokes (so --skip_bad can go on); `build`, `split` and
`write_npz` do the rest.
"""

import gc
import json
import os

import numpy as np

from sketch_rnn import files
from sketch_rnn.errors import SketchRNNError

SIDE = 255.0  # QuickDraw's simplified drawings span 0-255
QUICKDRAW_SPLIT = (70000, 2500, 2500)
SPLITS = ('train', 'valid', 'test')


class BadDrawing(SketchRNNError):
  """One drawing (a line, a file) that cannot be read; --skip_bad counts these."""


# ---------------------------------------------------------------------------
# Ramer-Douglas-Peucker, all strokes at once
# ---------------------------------------------------------------------------


def rdp_keep(xy, offsets, epsilon):
  """Which points Ramer-Douglas-Peucker keeps, for many polylines at once.

  xy: float [N, 2]; polyline k is xy[offsets[k]:offsets[k + 1]]. Returns a bool [N].
  Each round takes every interval still open (of every polyline), finds its point
  farthest from the chord (the first such, as the recursive algorithm does) and
  splits there if that distance exceeds epsilon, so the Python loop runs once per
  level of the recursion, not once per point or per polyline.
  """
  xy = np.asarray(xy, dtype=np.float64)
  offsets = np.asarray(offsets, dtype=np.int64)
  keep = np.zeros(len(xy), dtype=bool)
  nonempty = offsets[1:] > offsets[:-1]
  keep[offsets[:-1][nonempty]] = True
  keep[offsets[1:][nonempty] - 1] = True
  lo, hi = offsets[:-1][nonempty], offsets[1:][nonempty] - 1
  while True:
    open_ = hi - lo >= 2
    lo, hi = lo[open_], hi[open_]
    if not len(lo):
      return keep
    inner = hi - lo - 1
    first = np.cumsum(inner) - inner  # where each interval's points start below
    total = int(inner.sum())
    seg = np.repeat(np.arange(len(lo)), inner)
    pos = np.arange(total) - np.repeat(first - lo - 1, inner)
    a = xy[lo]
    chord = xy[hi] - a
    length = np.hypot(chord[:, 0], chord[:, 1])
    # A closed stroke's chord has no direction: the distance is to its end point.
    degenerate = length == 0
    # Per interval, (ux, uy) is the unit normal (or 0 when degenerate), so the
    # distance is |rel . n|, or |rel| for the degenerate ones.
    scale = np.where(degenerate, 0.0, 1.0 / np.where(degenerate, 1.0, length))
    rel = xy[pos] - np.repeat(a, inner, axis=0)
    dist = np.abs(rel[:, 1] * np.repeat(chord[:, 0] * scale, inner) -
                  rel[:, 0] * np.repeat(chord[:, 1] * scale, inner))
    if degenerate.any():
      on = np.repeat(degenerate, inner)
      dist[on] = np.hypot(rel[on, 0], rel[on, 1])
    dmax = np.maximum.reduceat(dist, first)
    at_max = np.flatnonzero(dist == np.repeat(dmax, inner))
    first_max = at_max[np.r_[True, seg[at_max][1:] != seg[at_max][:-1]]]
    split = dmax > epsilon
    mid = pos[first_max][split]
    keep[mid] = True
    # (lo, mid) and (mid, hi) side by side keep the intervals in order.
    lo = np.stack([lo[split], mid], axis=1).ravel()
    hi = np.stack([mid, hi[split]], axis=1).ravel()


# ---------------------------------------------------------------------------
# Drawings (flat) to stroke-3
# ---------------------------------------------------------------------------


class Flat:
  """Drawings gathered for to_stroke3: their points in flat lists."""

  def __init__(self):
    self.drawings, self.words = [], []
    self.xs, self.ys, self.stroke_lengths, self.drawing_strokes = [], [], [], []

  def add(self, place, word, strokes):
    """strokes: a list of (xs, ys) pairs of equal-length number lists."""
    self.drawings.append((place, word, strokes))
    self.words.append(word)
    for xs, ys in strokes:
      self.xs.extend(xs)
      self.ys.extend(ys)
      self.stroke_lengths.append(len(xs))
    self.drawing_strokes.append(len(strokes))

  def __len__(self):
    return len(self.drawing_strokes)

  def arrays(self):
    """(xy [N, 2], stroke_offsets [S + 1] into xy, drawing_offsets [D + 1] into
    the strokes), or None when some value is not a finite number."""
    xy = np.empty((len(self.xs), 2), dtype=np.float64)
    try:
      xy[:, 0] = self.xs
      xy[:, 1] = self.ys
    except (TypeError, ValueError):
      return None
    if not np.isfinite(xy).all():
      return None
    stroke_offsets = np.concatenate([[0], np.cumsum(self.stroke_lengths)])
    drawing_offsets = np.concatenate([[0], np.cumsum(self.drawing_strokes)])
    return xy, stroke_offsets.astype(np.int64), drawing_offsets.astype(np.int64)


def to_stroke3(xy, stroke_offsets, drawing_offsets, epsilon=2.0):
  """Flat drawings to a list of int16 stroke-3 arrays (module docstring, 1-3)."""
  xy = np.asarray(xy, dtype=np.float64)
  n_drawings = len(drawing_offsets) - 1
  if not n_drawings:
    return []
  point_drawing = np.repeat(np.arange(n_drawings),
                            np.diff(stroke_offsets[drawing_offsets]))
  first_point = stroke_offsets[drawing_offsets[:-1]]
  low = np.minimum.reduceat(xy, first_point, axis=0)
  high = np.maximum.reduceat(xy, first_point, axis=0)
  span = (high - low).max(axis=1)
  factor = np.where(span > 0, SIDE / np.where(span > 0, span, 1.0), 1.0)
  xy = (xy - low[point_drawing]) * factor[point_drawing, None]
  keep = rdp_keep(xy, stroke_offsets, epsilon) if epsilon > 0 else np.ones(
      len(xy), dtype=bool)
  point_stroke = np.repeat(np.arange(len(stroke_offsets) - 1), np.diff(stroke_offsets))
  ixy = np.round(xy).astype(np.int64)
  # Rounding can put two kept points of a stroke on one pixel: keep the first.
  kept = np.flatnonzero(keep)
  same = np.r_[False, (point_stroke[kept][1:] == point_stroke[kept][:-1]) &
               (ixy[kept][1:] == ixy[kept][:-1]).all(axis=1)]
  kept = kept[~same]
  stroke = point_stroke[kept]
  drawing = point_drawing[kept]
  last_of_stroke = np.r_[stroke[1:] != stroke[:-1], True]
  first_of_drawing = np.r_[True, drawing[1:] != drawing[:-1]]
  pts = ixy[kept]
  rows = np.empty((len(kept), 3), dtype=np.int16)
  delta = pts - np.concatenate([[[0, 0]], pts[:-1]])
  delta[first_of_drawing] = pts[first_of_drawing]
  rows[:, 0:2] = delta
  rows[:, 2] = last_of_stroke
  bounds = np.searchsorted(drawing, np.arange(1, n_drawings))
  return np.split(rows, bounds)


# ---------------------------------------------------------------------------
# Readers: each yields (place, class name or None, strokes as (xs, ys) pairs)
# ---------------------------------------------------------------------------


def _check_strokes(strokes, place):
  """The structure of a drawing; the values are checked a chunk at a time."""
  if not isinstance(strokes, list) or not strokes:
    raise BadDrawing('%s: a drawing is a non-empty list of strokes' % place)
  out = []
  for k, stroke in enumerate(strokes):
    if (not isinstance(stroke, list) or len(stroke) not in (2, 3) or
        not isinstance(stroke[0], list) or not isinstance(stroke[1], list) or
        len(stroke[0]) != len(stroke[1]) or not stroke[0]):
      raise BadDrawing('%s: stroke %d is not [[x...], [y...]] (or with [t...]) of '
                       'equal, non-zero lengths' % (place, k))
    out.append((stroke[0], stroke[1]))
  return out


def _check_values(strokes, place):
  """Raises BadDrawing at the first value that is not a finite number."""
  for k, (xs, ys) in enumerate(strokes):
    for value in xs + ys:
      if (not isinstance(value, (int, float)) or isinstance(value, bool) or
          value != value or abs(value) == float('inf')):
        raise BadDrawing('%s: stroke %d holds %r, not a finite number' %
                         (place, k, value))


def read_ndjson(path, recognized_only=False):
  """QuickDraw's ndjson, raw ([[xs], [ys], [ts]] per stroke) or simplified
  ([[xs], [ys]]). Yields (place, word, strokes); `recognized: false` drawings are
  left out with recognized_only."""
  name = os.path.basename(path)
  try:
    f = open(path, encoding='utf-8')
  except OSError as e:
    raise SketchRNNError('%s: cannot read (%s)' % (path, e.strerror)) from None
  with f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      place = '%s line %d' % (name, number)
      try:
        try:
          record = json.loads(line)
        except ValueError as e:
          raise BadDrawing('%s: not JSON (%s)' % (place, e)) from None
        if not isinstance(record, dict) or 'drawing' not in record:
          raise BadDrawing('%s: no "drawing" field' % place)
        if recognized_only and record.get('recognized') is False:
          continue
        yield place, record.get('word'), _check_strokes(record['drawing'], place)
      except BadDrawing as e:
        yield place, None, e


def read_strokes_json(path):
  """A JSON list of drawings, each a list of strokes of [x, y] points (or one
  drawing: a list of strokes). Yields (place, None, strokes)."""
  name = os.path.basename(path)
  try:
    with open(path, encoding='utf-8') as f:
      data = json.load(f)
  except OSError as e:
    raise SketchRNNError('%s: cannot read (%s)' % (path, e.strerror)) from None
  except ValueError as e:
    raise SketchRNNError('%s: not JSON (%s)' % (name, e)) from None
  def depth(x):
    d = 0
    while isinstance(x, list) and x:
      x, d = x[0], d + 1
    return d
  if not isinstance(data, list) or not data:
    raise SketchRNNError('%s: expected a list of drawings' % name)
  drawings = [data] if depth(data) == 3 else data
  for i, drawing in enumerate(drawings):
    place = '%s drawing %d' % (name, i)
    try:
      yield place, None, _check_strokes(_point_lists(drawing, place), place)
    except BadDrawing as e:
      yield place, None, e


def _point_lists(drawing, place):
  """A drawing of [x, y] point lists to [[xs], [ys]] per stroke."""
  if not isinstance(drawing, list) or not drawing:
    raise BadDrawing('%s: a drawing is a non-empty list of strokes' % place)
  strokes = []
  for k, stroke in enumerate(drawing):
    if (not isinstance(stroke, list) or not stroke or
        not all(isinstance(p, list) and len(p) >= 2 for p in stroke)):
      raise BadDrawing('%s: stroke %d is not a non-empty list of [x, y] points'
                       % (place, k))
    strokes.append([[p[0] for p in stroke], [p[1] for p in stroke]])
  return strokes


def read_svg_folder(folder):
  """Each .svg file of a folder (sorted by name) as one drawing: every path,
  polyline, polygon and line, each subpath a stroke. Yields (place, None, strokes)."""
  from sketch_rnn import svg  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(folder):
    raise SketchRNNError('%s: no such folder' % folder)
  names = sorted(n for n in os.listdir(folder) if n.lower().endswith('.svg'))
  if not names:
    raise SketchRNNError('%s: no .svg files' % folder)
  for name in names:
    try:
      polylines = svg.read_polylines(os.path.join(folder, name))
      strokes = [[line[:, 0].tolist(), line[:, 1].tolist()] for line in polylines]
      yield name, None, _check_strokes(strokes, name)
    except SketchRNNError as e:
      yield name, None, BadDrawing(str(e))


# ---------------------------------------------------------------------------
# Building: drawings -> stroke-3, split, .npz
# ---------------------------------------------------------------------------


def build(drawings, epsilon=2.0, skip_bad=False, chunk=20000):
  """Runs the readers' drawings through to_stroke3, `chunk` at a time.

  Returns (sketches: list of int16 [n, 3], words: list of class names or None,
  skipped: how many bad drawings skip_bad left out).
  """
  sketches, words = [], []
  # The parsed JSON is millions of small lists, none in a cycle: the collector's
  # passes over them cost more than the parsing.
  collecting = gc.isenabled()
  gc.disable()
  try:
    return _build(drawings, epsilon, skip_bad, chunk, sketches, words)
  finally:
    if collecting:
      gc.enable()


def _build(drawings, epsilon, skip_bad, chunk, sketches, words):
  skipped = 0

  def convert(flat):
    nonlocal skipped
    arrays = flat.arrays()
    if arrays is None:  # find the bad value's drawing, the slow way
      good = Flat()
      for place, word, strokes in flat.drawings:
        try:
          _check_values(strokes, place)
        except BadDrawing:
          if not skip_bad:
            raise
          skipped += 1
          continue
        good.add(place, word, strokes)
      if len(good):
        convert(good)
      return
    sketches.extend(to_stroke3(*arrays, epsilon=epsilon))
    words.extend(flat.words)

  flat = Flat()
  for place, word, strokes in drawings:
    if isinstance(strokes, BadDrawing):
      if not skip_bad:
        convert(flat)  # a bad value earlier in the file is the one to report
        raise strokes
      skipped += 1
      continue
    flat.add(place, word, strokes)
    if len(flat) >= chunk:
      convert(flat)
      flat = Flat()
  if len(flat):
    convert(flat)
  return sketches, words, skipped


def parse_split(text):
  """'70000,2500,2500' (counts) or '0.9,0.05,0.05' (fractions) to three numbers."""
  try:
    values = [float(v) for v in text.split(',')]
  except ValueError:
    values = []
  if len(values) != 3 or min(values) < 0 or not sum(values):
    raise SketchRNNError('--split %s: expected three counts or fractions, '
                         'train,valid,test (e.g. 70000,2500,2500)' % text)
  if all(v <= 1 for v in values):
    if sum(values) > 1 + 1e-9:
      raise SketchRNNError('--split %s: fractions sum to more than 1' % text)
    return values
  if any(v != int(v) for v in values):
    raise SketchRNNError('--split %s: counts must be whole numbers' % text)
  return [int(v) for v in values]


def split_counts(total, split):
  """How many of `total` drawings go to train, valid, test. Counts beyond what
  there is are scaled down together, keeping at least one per split."""
  if all(isinstance(v, float) for v in split):
    counts = [int(total * v) for v in split]
  else:
    counts = list(split)
    if sum(counts) > total:
      counts = [int(total * c / sum(split)) for c in split]
  if total >= 3:
    counts = [max(c, 1) for c in counts]
  while sum(counts) > total:
    counts[int(np.argmax(counts))] -= 1
  return counts


def split(sketches, words, split=QUICKDRAW_SPLIT, seed=0):
  """Shuffled splits, each class split on its own as QuickDraw's files are.

  Returns {'train': [...], 'valid': [...], 'test': [...]} and, with several
  classes, '<split>_labels' and 'class_names'.
  """
  names = sorted({w for w in words if w is not None})
  labelled = len(names) > 1
  index = {w: i for i, w in enumerate(names)}
  labels = np.array([index.get(w, 0) for w in words], dtype=np.int64)
  rng = np.random.default_rng(seed)
  chosen = {s: [] for s in SPLITS}
  for c in range(max(len(names), 1)):
    members = rng.permutation(np.flatnonzero(labels == c))
    counts = split_counts(len(members), split)
    start = 0
    for s, count in zip(SPLITS, counts):
      chosen[s].append(members[start:start + count])
      start += count
  out = {}
  for s in SPLITS:
    idx = np.sort(np.concatenate(chosen[s]).astype(np.int64))
    out[s] = [sketches[i] for i in idx]
    if labelled:
      out[s + '_labels'] = labels[idx]
  if labelled:
    out['class_names'] = names
  return out


def write_npz(path, data):
  """The splits as QuickDraw's layout (object arrays of int16 [n, 3]), written
  beside path and renamed in, so a half-written file never looks done."""
  arrays = {}
  for key, value in data.items():
    if key in SPLITS:
      array = np.empty(len(value), dtype=object)
      for i, sketch in enumerate(value):
        array[i] = sketch
      arrays[key] = array
    else:
      arrays[key] = np.asarray(value)
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise SketchRNNError('--out %s: no such folder' % path)
  with files.atomic_write(path, 'wb') as f:
    np.savez_compressed(f, **arrays)


def lengths_summary(sketches):
  """'n sketches, points per sketch: median a, 90% b, 99% c, max d'."""
  if not sketches:
    return '0 sketches'
  lengths = np.array([len(s) for s in sketches])
  p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
  return '%d sketches, points per sketch: median %g, 90%% %g, 99%% %g, max %d' % (
      len(lengths), p50, p90, p99, lengths.max())
