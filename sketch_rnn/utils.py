# Copyright 2024 The Magenta Authors.
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
"""Stroke formats, point dropping, the Prefetcher; the data module's loading, re-exported. numpy only.

Formats (Ha & Eck 2017):
  stroke-3: (n, 3) rows of (dx, dy, pen_lifted_after_this_point).
  stroke-5: (n, 5) rows of (dx, dy, p1 pen down, p2 pen up, p3 end of sketch).
"""

import queue
import threading

import numpy as np

# Safe .npz loading, the DataLoader and load_dataset live in data.py; these are
# their names of old (Magenta's scripts use utils.load_dataset and utils.DataLoader).
from sketch_rnn import files
from sketch_rnn import data as _data

MAX_OFFSET = _data.MAX_OFFSET
SPLITS = _data.SPLITS
DataLoader = _data.DataLoader
Strokes = _data.Strokes
get_max_len = _data.get_max_len
is_url = _data.is_url
load_dataset = _data.load_dataset
load_npz = _data.load_npz
load_sketches = _data.load_sketches
_fetch = _data._fetch  # pylint: disable=protected-access


# ---------------------------------------------------------------------------
# Stroke helpers (Magenta's utils.py)
# ---------------------------------------------------------------------------


def get_bounds(data, factor=10):
  """Returns (min_x, max_x, min_y, max_y) of the absolute path, divided by factor."""
  xy = np.cumsum(np.asarray(data, dtype=np.float64)[:, 0:2] / factor, axis=0)
  xy = np.concatenate([np.zeros((1, 2)), xy])  # Magenta starts the box at 0.
  return (xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max())


def slerp(p0, p1, t):
  """Spherical interpolation between two latent vectors."""
  omega = np.arccos(
      np.dot(p0 / np.linalg.norm(p0), p1 / np.linalg.norm(p1)))
  so = np.sin(omega)
  return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def lerp(p0, p1, t):
  """Linear interpolation between two latent vectors."""
  return (1.0 - t) * p0 + t * p1


def strokes_to_lines(strokes):
  """Stroke-3 offsets to a list of polylines of absolute [x, y] points."""
  x = 0.0
  y = 0.0
  lines = []
  line = []
  for i in range(len(strokes)):
    x += float(strokes[i, 0])
    y += float(strokes[i, 1])
    line.append([x, y])
    if strokes[i, 2] == 1:
      lines.append(line)
      line = []
  return lines


def lines_to_strokes(lines):
  """A list of polylines of absolute points to stroke-3 offsets."""
  strokes = [[0, 0, 0]]
  for line in lines:
    for i, point in enumerate(line):
      strokes.append([point[0], point[1], 0 if i < len(line) - 1 else 1])
  strokes = np.array(strokes)
  strokes[1:, 0:2] -= strokes[:-1, 0:2]
  return strokes[1:, :]


def to_big_strokes(stroke, max_len=250):
  """Stroke-3 to stroke-5 of max_len rows, padded with end-of-sketch rows."""
  result = np.zeros((max_len, 5), dtype=float)
  n = len(stroke)
  assert n <= max_len
  result[0:n, 0:2] = stroke[:, 0:2]
  result[0:n, 3] = stroke[:, 2]
  result[0:n, 2] = 1 - result[0:n, 3]
  result[n:, 4] = 1
  return result


def to_normal_strokes(big_stroke):
  """Stroke-5 to stroke-3, cut at the first end-of-sketch row."""
  n = 0
  for i in range(len(big_stroke)):
    if big_stroke[i, 4] > 0:
      n = i
      break
  if n == 0:
    n = len(big_stroke)
  result = np.zeros((n, 3))
  result[:, 0:2] = big_stroke[0:n, 0:2]
  result[:, 2] = big_stroke[0:n, 3]
  return result


def clean_strokes(sample_strokes, factor=100):
  """Stroke-5 sample to integer stroke-5 (x factor), ending in one (0,0,0,0,1)."""
  copy_stroke = []
  added_final = False
  for j in range(len(sample_strokes)):
    finish_flag = int(sample_strokes[j][4])
    if finish_flag == 0:
      copy_stroke.append([
          int(round(sample_strokes[j][0] * factor)),
          int(round(sample_strokes[j][1] * factor)),
          int(sample_strokes[j][2]),
          int(sample_strokes[j][3]), finish_flag
      ])
    else:
      copy_stroke.append([0, 0, 0, 0, 1])
      added_final = True
      break
  if not added_final:
    copy_stroke.append([0, 0, 0, 0, 1])
  return copy_stroke


def augment_strokes(strokes, prob=0.0, rng=np.random):
  """Point dropping: merges a point into the previous kept one with probability prob.

  Magenta's rule: a point may go only if neither it nor the previous kept point
  lifts the pen and it is at least the third point of its stroke, so stroke ends
  and pen lifts always survive and the total displacement is unchanged. One
  uniform number is drawn per point, as in Magenta, so a seeded run draws the
  same augmentation.
  """
  strokes = np.asarray(strokes)
  n = len(strokes)
  urnd = rng.rand(n)
  pen = strokes[:, 2]
  # A dropped point has pen 0 and so had its previous kept point, so the previous
  # kept point's pen is always the previous point's pen; Magenta's counter is then
  # the position in the stroke, reset at a lifting point and at the one after it.
  prev_pen = np.concatenate([[1], pen[:-1]])
  reset = (pen == 1) | (prev_pen == 1)
  idx = np.arange(n)
  count = idx - np.maximum.accumulate(np.where(reset, idx, 0))
  drop = (pen == 0) & (prev_pen == 0) & (count > 2) & (urnd < prob)
  keep = ~drop
  result = np.array(strokes[keep], copy=True)
  owner = np.cumsum(keep) - 1  # the kept point each dropped one merges into
  # Sequential accumulation in the data's dtype, as Magenta's `+=` does.
  dropped = np.nonzero(drop)[0]
  for j in dropped:
    result[owner[j], 0] += strokes[j, 0]
    result[owner[j], 1] += strokes[j, 1]
  return result


write_text_atomic = files.write_text  # written whole or not at all


# ---------------------------------------------------------------------------
# Prefetcher
# ---------------------------------------------------------------------------


class Prefetcher:
  """Prepares training batches in a background thread while the step runs.

  Batches come out in the order data_set.random_batch() would give them (one
  thread draws them all from data_set.rng). get_state() is the data RNG's state
  as of the batches handed out so far, not the ones waiting in the queue: what a
  checkpoint must hold for a resumed run to see the same batches next.
  """

  def __init__(self, data_set, depth=2):
    self._data_set = data_set
    # What checkpoints record beside the RNG state (None for a loader without).
    self.batch_sampler = getattr(data_set, 'batch_sampler', None)
    self._state = data_set.rng.get_state()
    self._queue = queue.Queue(maxsize=depth)
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._work, name='batch-prefetch',
                                    daemon=True)
    self._thread.start()

  def _put(self, item):
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.1)
        return
      except queue.Full:
        continue

  def _work(self):
    try:
      while not self._stop.is_set():
        batch = self._data_set.random_batch()
        self._put((batch, self._data_set.rng.get_state(), None))
    except Exception as e:  # pylint: disable=broad-except
      self._put((None, None, e))  # raised in the training thread, not lost

  def next(self):
    """The next batch: (strokes, stroke-5 batch, lengths)."""
    batch, state, error = self._queue.get()
    if error is not None:
      raise error
    self._state = state
    return batch

  def get_state(self):
    return self._state

  def close(self):
    """Stops the thread; the data RNG is left as of the batches handed out."""
    self._stop.set()
    self._thread.join()
    self._data_set.rng.set_state(self._state)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

