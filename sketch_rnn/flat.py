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
"""Splits held flat, and the numerics of the flat DataLoader that need no loader:
its ranges and point dropping, its O(batch) sampler, and numpy's float32
standard deviation a chunk at a time.
numpy only."""

import collections

import numpy as np

# Values summed at a time by float32_std: bounds its temporary memory.
CHUNK = 1 << 20
SAMPLERS = ('auto', 'magenta', 'distinct')
# 'auto' permutes the split, as Magenta does, up to this many sketches (the
# permutation's cost grows with the split; docs/performance.md has its figures),
# and draws distinct indices beyond: the same distribution, in O(batch).
MAGENTA_SAMPLER_UP_TO = 100000


class FlatSplit(collections.namedtuple(
    'FlatSplit', 'points starts lengths max_abs', defaults=(None,))):
  """A split held flat: sketch k of the file is points[starts[k]:starts[k] +
  lengths[k]]. max_abs: the largest |dx|, |dy| (None: not known). A DataLoader uses
  points as they are, copying nothing, when they are int16, within its limit and
  already in its sorted order (as data_cache stores them)."""


def from_sketches(sketches, order=None):
  """A list of sketches as a FlatSplit, the points laid out in `order` (default:
  the list's). Empties the list as it copies, so its arrays are freed as the
  flat copy grows: the peak is about one copy, not two."""
  lengths = np.array([len(x) for x in sketches], dtype=np.int64)
  order = np.arange(len(sketches)) if order is None else order
  dtype = (np.result_type(*{x.dtype for x in sketches}) if sketches else np.int16)
  points = np.empty((int(lengths.sum()), 3), dtype=dtype)
  starts = np.empty_like(lengths)
  starts[order] = np.cumsum(lengths[order]) - lengths[order]
  for i in order.tolist():
    points[starts[i]:starts[i] + lengths[i]] = sketches[i]
    sketches[i] = None
  return FlatSplit(points, starts, lengths)


def concatenate(flats):
  """Several files' splits as one, the files one after another."""
  if len(flats) == 1:
    return flats[0]
  points = np.concatenate([f.points for f in flats])
  sizes = np.cumsum([len(f.points) for f in flats]) - [len(f.points) for f in flats]
  bounds = [f.max_abs for f in flats]
  return FlatSplit(
      points, np.concatenate([np.asarray(f.starts) + o for f, o in zip(flats, sizes)]),
      np.concatenate([f.lengths for f in flats]),
      None if None in bounds else max(bounds))


def ranges(starts, lengths):
  """The indices starts[k] .. starts[k] + lengths[k] - 1 of every k, concatenated."""
  lengths = np.asarray(lengths, dtype=np.int64)
  total = int(lengths.sum())
  first = np.cumsum(lengths) - lengths
  return np.arange(total, dtype=np.int64) + np.repeat(
      np.asarray(starts, dtype=np.int64) - first, lengths)


def _augment(data, lengths, urnd, prob):
  """utils.augment_strokes on every sketch of a batch at once (the same rule and
  the same float32 sums, in the same order)."""
  n = len(data)
  pen = data[:, 2]
  sketch_start = np.zeros(n, dtype=bool)
  sketch_start[np.cumsum(lengths)[:-1]] = True
  sketch_start[:1] = True
  prev_pen = np.concatenate([[1], pen[:-1]])
  prev_pen[sketch_start] = 1
  reset = (pen == 1) | (prev_pen == 1)
  at = np.arange(n)
  count = at - np.maximum.accumulate(np.where(reset, at, 0))
  drop = (pen == 0) & (prev_pen == 0) & (count > 2) & (urnd < prob)
  keep = ~drop
  result = data[keep]
  owner = np.cumsum(keep) - 1  # the kept row each dropped one merges into
  # A run of drops merges into one kept row: added one rank at a time, as
  # Magenta's loop adds them, so the float32 sums round the same way.
  rank = at - np.maximum.accumulate(np.where(keep, at, 0))
  for r in range(1, int(rank.max()) + 1 if n else 1):
    rows = np.flatnonzero(drop & (rank == r))
    result[owner[rows], 0:2] += data[rows, 0:2]
  sketch = np.repeat(np.arange(len(lengths)), lengths)
  return result, np.bincount(sketch[keep], minlength=len(lengths)).astype(np.int64)


def resolve_sampler(sampler, n):
  """The sampler random_batch() uses for a split of n sketches: 'magenta' or
  'distinct' (sampler 'auto' picks by n)."""
  if sampler == 'auto':
    return 'magenta' if n <= MAGENTA_SAMPLER_UP_TO else 'distinct'
  return sampler


def distinct(rng, n, k):
  """k distinct indices in [0, n), uniform, in O(k): as drawing one at a time and
  redrawing repeats, a batch of draws at a time."""
  idx = np.zeros(0, dtype=np.int64)
  while len(idx) < k:
    drawn = np.concatenate([idx, rng.randint(0, n, size=k - len(idx))])
    _, first = np.unique(drawn, return_index=True)
    idx = drawn[np.sort(first)]
  return idx


def pairwise_sum(values, a, n):
  """np.add.reduce of the float32 values [a, a + n), bit for bit: numpy's pairwise
  summation splits n at n // 2 rounded down to a multiple of 8, so summing the
  halves apart, down to chunks, adds the same numbers in the same order."""
  if n <= max(CHUNK, 128):  # numpy sums up to 128 values in one block
    return np.add.reduce(values(a, a + n))
  half = n // 2
  half -= half % 8
  return pairwise_sum(values, a, half) + pairwise_sum(values, a + half, n - half)


def float32_std(values, n):
  """np.std of a float32 array of n values, values(a, b) giving [a, b); numpy's
  own steps (numpy/_core/_methods.py _var): the mean divided by an intp count,
  the squared deviations, their sum, divided the same way, the square root."""
  count = np.intp(n)
  mean = np.float32(pairwise_sum(values, 0, n) / count)
  squares = lambda a, b: np.square(values(a, b) - mean)
  return np.sqrt(np.float32(pairwise_sum(squares, 0, n) / count))

