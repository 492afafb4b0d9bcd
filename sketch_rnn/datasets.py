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
pipeline (`to_stroke3_flat`) works on many drawings at once, held flat: every point in
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
BadDrawing in place of its strokes (so --skip_bad can go on); `build`,
`split_indices` and `write_splits` do the rest. (The builder reads ndjson with
ndjson.py, which gives read_ndjson's drawings faster, and writes with npz_write.py.)
"""

import gc
import itertools
import json
import os

import numpy as np

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
  level of the recursion, not once per point or per polyline. The distance is the
  recursion's own sum, |dx (y - ay) - dy (x - ax)| / hypot(dx, dy), so ties and
  the epsilon test fall as they do there.
  """
  xy = np.asarray(xy, dtype=np.float64)
  offsets = np.asarray(offsets, dtype=np.int64)
  return _rdp_keep(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]),
                   offsets, epsilon)


def _rdp_keep(x, y, offsets, epsilon):
  keep = np.zeros(len(x), dtype=bool)
  # Polylines a block at a time: each round's temporaries then stay in the CPU's
  # caches (a third faster than one pass over a chunk's millions of points).
  a = 0
  while a < len(offsets) - 1:
    b = max(a + 1, int(np.searchsorted(offsets, offsets[a] + RDP_BLOCK, 'right')) - 1)
    lo, hi = offsets[a], offsets[b]
    keep[lo:hi] = _rdp_block(x[lo:hi], y[lo:hi], offsets[a:b + 1] - lo, epsilon)
    a = b
  return keep


RDP_BLOCK = 1 << 16  # points simplified at a time


def _rdp_block(x, y, offsets, epsilon):
  keep = np.zeros(len(x), dtype=bool)
  nonempty = offsets[1:] > offsets[:-1]
  lo, hi = offsets[:-1][nonempty], offsets[1:][nonempty] - 1
  keep[lo] = True
  keep[hi] = True
  while True:
    open_ = hi - lo >= 2
    lo, hi = lo[open_], hi[open_]
    if not len(lo):
      return keep
    inner = hi - lo - 1
    first = np.cumsum(inner) - inner  # where each interval's points start below
    pos = np.arange(int(inner.sum())) + np.repeat(lo + 1 - first, inner)
    ax, ay = x[lo], y[lo]
    dx, dy = x[hi] - ax, y[hi] - ay
    length = np.hypot(dx, dy)
    rx = x[pos] - np.repeat(ax, inner)
    ry = y[pos] - np.repeat(ay, inner)
    dist = np.repeat(dx, inner) * ry
    dist -= np.repeat(dy, inner) * rx
    np.abs(dist, out=dist)
    # A closed stroke's chord has no direction: the distance is to its end point.
    degenerate = length == 0
    with np.errstate(divide='ignore', invalid='ignore'):
      dist /= np.repeat(length, inner)
    if degenerate.any():
      on = np.repeat(degenerate, inner)
      dist[on] = np.hypot(rx[on], ry[on])
    dmax = np.maximum.reduceat(dist, first)
    split = dmax > epsilon
    if not split.any():
      return keep
    # The first point at its interval's maximum: the first of those at or after
    # each interval's start.
    at_max = np.flatnonzero(dist == np.repeat(dmax, inner))
    mid = pos[at_max[np.searchsorted(at_max, first[split])]]
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
    """(x [N], y [N], stroke_offsets [S + 1] into them, drawing_offsets [D + 1]
    into the strokes), or None when some value is not a finite number."""
    # numpy would take True as 1 and '12' as 12: only numbers are numbers.
    if not all(type(v) in (int, float) for v in itertools.chain(self.xs, self.ys)):  # pylint: disable=unidiomatic-typecheck
      return None
    try:
      x = np.array(self.xs, dtype=np.float64)
      y = np.array(self.ys, dtype=np.float64)
    except OverflowError:  # an integer beyond float64's range
      return None
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
      return None
    stroke_offsets = np.concatenate([[0], np.cumsum(self.stroke_lengths)])
    drawing_offsets = np.concatenate([[0], np.cumsum(self.drawing_strokes)])
    return x, y, stroke_offsets.astype(np.int64), drawing_offsets.astype(np.int64)


def to_stroke3(xy, stroke_offsets, drawing_offsets, epsilon=2.0):
  """Flat drawings to a list of int16 stroke-3 arrays (module docstring, 1-3)."""
  xy = np.asarray(xy, dtype=np.float64)
  rows, lengths = to_stroke3_flat(xy[:, 0], xy[:, 1], stroke_offsets,
                                  drawing_offsets, epsilon)
  return np.split(rows, np.cumsum(lengths)[:-1]) if len(lengths) else []


def to_stroke3_flat(x, y, stroke_offsets, drawing_offsets, epsilon=2.0):
  """Flat drawings (points x, y; stroke k is [stroke_offsets[k],
  stroke_offsets[k + 1]), drawing d its strokes [drawing_offsets[d],
  drawing_offsets[d + 1]), none empty) to int16 stroke-3 rows [R, 3], drawing
  after drawing, and each drawing's number of rows."""
  x = np.ascontiguousarray(x, dtype=np.float64)
  y = np.ascontiguousarray(y, dtype=np.float64)
  stroke_offsets = np.asarray(stroke_offsets, dtype=np.int64)
  drawing_offsets = np.asarray(drawing_offsets, dtype=np.int64)
  n_drawings = len(drawing_offsets) - 1
  if n_drawings < 1:
    return np.zeros((0, 3), np.int16), np.zeros(0, np.int64)
  first_point = stroke_offsets[drawing_offsets]
  counts = np.diff(first_point)
  first_point = first_point[:-1]
  low_x, low_y = np.minimum.reduceat(x, first_point), np.minimum.reduceat(y, first_point)
  span = np.maximum(np.maximum.reduceat(x, first_point) - low_x,
                    np.maximum.reduceat(y, first_point) - low_y)
  factor = np.repeat(np.where(span > 0, SIDE / np.where(span > 0, span, 1.0), 1.0),
                     counts)
  x = (x - np.repeat(low_x, counts)) * factor
  y = (y - np.repeat(low_y, counts)) * factor
  keep = (_rdp_keep(x, y, stroke_offsets, epsilon) if epsilon > 0 else
          np.ones(len(x), dtype=bool))
  kept = np.flatnonzero(keep)
  # Simplification keeps every stroke's first point, so counting those among the
  # kept points numbers their strokes and drawings.
  starts = np.zeros(len(x), dtype=bool)
  starts[stroke_offsets[:-1]] = True
  stroke = np.cumsum(starts[kept])
  starts[:] = False
  starts[first_point] = True
  new_drawing = starts[kept]
  ix = np.round(x[kept]).astype(np.int64)
  iy = np.round(y[kept]).astype(np.int64)
  # Rounding can put two kept points of a stroke on one pixel: keep the first.
  same = np.zeros(len(kept), dtype=bool)
  same[1:] = (stroke[1:] == stroke[:-1]) & (ix[1:] == ix[:-1]) & (iy[1:] == iy[:-1])
  if same.any():
    ix, iy, stroke, new_drawing = ix[~same], iy[~same], stroke[~same], new_drawing[~same]
  rows = np.empty((len(ix), 3), dtype=np.int16)
  rows[0, 0:2] = ix[0], iy[0]
  rows[1:, 0] = np.diff(ix)
  rows[1:, 1] = np.diff(iy)
  rows[new_drawing, 0] = ix[new_drawing]  # from the corner, not the last drawing
  rows[new_drawing, 1] = iy[new_drawing]
  rows[:-1, 2] = stroke[1:] != stroke[:-1]
  rows[-1, 2] = 1
  return rows, np.bincount(np.cumsum(new_drawing) - 1, minlength=n_drawings)


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


def check_values(strokes, place):
  """Raises BadDrawing at the first value that is not a finite number."""
  for k, (xs, ys) in enumerate(strokes):
    for value in xs + ys:
      if (not isinstance(value, (int, float)) or isinstance(value, bool) or
          value != value or abs(value) == float('inf') or not _fits(value)):
        raise BadDrawing('%s: stroke %d holds %r, not a finite number' %
                         (place, k, value))


def _fits(value):
  try:
    float(value)  # an integer beyond float64's range
  except OverflowError:
    return False
  return True


def read_record(line, place, recognized_only=False):
  """One ndjson line to (word, strokes); None for a drawing recognized_only
  leaves out. A line that is not a drawing raises BadDrawing."""
  try:
    record = json.loads(line)
  except ValueError as e:
    raise BadDrawing('%s: not JSON (%s)' % (place, e)) from None
  if not isinstance(record, dict) or 'drawing' not in record:
    raise BadDrawing('%s: no "drawing" field' % place)
  if recognized_only and record.get('recognized') is False:
    return None
  return record.get('word'), _check_strokes(record['drawing'], place)


def read_ndjson(path, recognized_only=False):
  """QuickDraw's ndjson, raw ([[xs], [ys], [ts]] per stroke) or simplified
  ([[xs], [ys]]), a json.loads per line. Yields (place, word, strokes);
  `recognized: false` drawings are left out with recognized_only. (The builder
  reads ndjson through ndjson.py, which gives the same drawings faster.)"""
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
        drawing = read_record(line, place, recognized_only)
        if drawing is not None:
          yield (place,) + drawing
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
          check_values(strokes, place)
        except BadDrawing:
          if not skip_bad:
            raise
          skipped += 1
          continue
        good.add(place, word, strokes)
      if len(good):
        convert(good)
      return
    rows, lengths = to_stroke3_flat(*arrays, epsilon=epsilon)
    sketches.extend(np.split(rows, np.cumsum(lengths)[:-1]))
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


def split_indices(words, split=QUICKDRAW_SPLIT, seed=0):
  """Shuffled splits of the drawings, each class split on its own as QuickDraw's
  files are: ({'train': indices, 'valid': ..., 'test': ...} (sorted), each
  drawing's class index or None with one class, the class names or None)."""
  names = sorted({w for w in words if w is not None})
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
  chosen = {s: np.sort(np.concatenate(chosen[s]).astype(np.int64)) for s in SPLITS}
  if len(names) > 1:
    return chosen, labels, names
  return chosen, None, None


def split(sketches, words, split=QUICKDRAW_SPLIT, seed=0):
  """split_indices' splits of a list of sketches: {'train': [...], 'valid':
  [...], 'test': [...]} and, with several classes, '<split>_labels' and
  'class_names'."""
  chosen, labels, names = split_indices(words, split, seed)
  out = {}
  for s in SPLITS:
    out[s] = [sketches[i] for i in chosen[s]]
    if labels is not None:
      out[s + '_labels'] = labels[chosen[s]]
  if names is not None:
    out['class_names'] = names
  return out


def write_npz(path, data):
  """The splits (lists of int16 [n, 3]) as QuickDraw's layout, and the labels,
  written beside path and renamed in, so a half-written file never looks done."""
  flat = {}
  for s in SPLITS:
    lengths = np.array([len(x) for x in data[s]], dtype=np.int64)
    rows = (np.concatenate(data[s]) if data[s] else np.zeros((0, 3), np.int16))
    if rows.dtype != np.int16:
      raise SketchRNNError('write_npz: sketches must be int16, not %s' % rows.dtype)
    flat[s] = (rows, np.cumsum(lengths) - lengths, lengths)
  _write(path, flat, {k: v for k, v in data.items() if k not in SPLITS})


def write_splits(path, rows, starts, lengths, chosen, labels=None,
                 class_names=None):
  """The sketches rows[starts[k]:starts[k] + lengths[k]] of each split's indices
  (split_indices' three), with their labels, as write_npz writes them."""
  flat = {s: (rows, starts[chosen[s]], lengths[chosen[s]]) for s in SPLITS}
  arrays = {}
  if labels is not None:
    arrays = {s + '_labels': labels[chosen[s]] for s in SPLITS}
    arrays['class_names'] = class_names
  _write(path, flat, arrays)


def _write(path, flat, arrays):
  from sketch_rnn import npz_write  # pylint: disable=g-import-not-at-top
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise SketchRNNError('--out %s: no such folder' % path)
  npz_write.write(path, flat, {k: np.asarray(v) for k, v in arrays.items()})


def lengths_summary(sketches):
  """'n sketches, points per sketch: median a, 90% b, 99% c, max d'."""
  return summary_of_lengths(np.array([len(s) for s in sketches], dtype=np.int64))


def summary_of_lengths(lengths):
  """lengths_summary of the sketches' lengths."""
  if not len(lengths):
    return '0 sketches'
  p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
  return '%d sketches, points per sketch: median %g, 90%% %g, 99%% %g, max %d' % (
      len(lengths), p50, p90, p99, lengths.max())
