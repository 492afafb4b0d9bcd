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
"""Safe .npz loading, Magenta's DataLoader on flat arrays, load_dataset. numpy only.

utils re-exports all of it (utils.load_npz, utils.DataLoader, utils.load_dataset),
the names Magenta-style code uses.
"""

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from sketch_rnn import files
from sketch_rnn.errors import SketchRNNError
from sketch_rnn import flat
from sketch_rnn import npz
from sketch_rnn.flat import FlatSplit, SAMPLERS, _augment, ranges  # pylint: disable=protected-access
from sketch_rnn.hparams import eval_hparams


def get_max_len(strokes):
  """The number of points of the longest sketch."""
  return max((len(s) for s in strokes), default=0)


# What npz.py reads, where code written against data.py (and utils.py) looks for it.
SPLITS, MAX_OFFSET = npz.SPLITS, npz.MAX_OFFSET
load_npz, load_sketches = npz.load_npz, npz.load_sketches


def _fetch(url, cache_dir=None, timeout=60.0):
  """Downloads url once into the cache and returns the local path."""
  cache_dir = cache_dir or os.environ.get('SKETCH_RNN_CACHE') or os.path.join(
      os.path.expanduser('~'), '.cache', 'sketch_rnn')
  digest = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
  base = os.path.basename(urllib.parse.urlparse(url).path) or 'data.npz'
  path = os.path.join(cache_dir, '%s-%s' % (digest, base))
  if os.path.exists(path):
    return path
  try:
    os.makedirs(cache_dir, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:
      payload = response.read()
  except urllib.error.HTTPError as e:
    raise SketchRNNError('download of %s failed: HTTP %d %s' %
                         (url, e.code, e.reason)) from None
  except (urllib.error.URLError, OSError) as e:
    reason = getattr(e, 'reason', e)
    raise SketchRNNError('cannot download %s (offline? %s); put the file in a '
                         'folder and pass it as --data_dir' % (url, reason)) from None
  # Written aside and renamed in, so an interrupted download never looks cached.
  with files.atomic_write(path, 'wb') as f:
    f.write(payload)
  return path


def is_url(data_dir):
  return data_dir.startswith('http://') or data_dir.startswith('https://')


# ---------------------------------------------------------------------------
# DataLoader (Magenta's, with its own seeded RandomState), on flat arrays
# ---------------------------------------------------------------------------


class Strokes:
  """A loader's sketches as a read-only sequence: strokes[i] is sketch i of the
  sorted split, a new float32 [n, 3] array, clamped and normalised, as Magenta's
  list held it. No Python object is kept per sketch."""

  def __init__(self, loader):
    self._loader = loader

  def __len__(self):
    return len(self._loader._lengths)  # pylint: disable=protected-access

  def __getitem__(self, i):
    if isinstance(i, slice):
      return [self[j] for j in range(*i.indices(len(self)))]
    n = len(self)
    if not -n <= i < n:
      raise IndexError('sketch %d out of range [0, %d)' % (i, n))
    i = int(i) % n
    loader = self._loader
    start = loader._starts[i]  # pylint: disable=protected-access
    return loader._values(loader._points[start:start + loader._lengths[i]])  # pylint: disable=protected-access

  def __iter__(self):
    for i in range(len(self)):
      yield self[i]


class DataLoader:
  """Batches of one split, padded to stroke-5, as Magenta's DataLoader makes them.

  The split is held flat: every point of the kept sketches, clamped, in one int16
  array in the loader's (sorted) order, with each sketch's start and length, so
  preprocessing and batching are numpy passes over the whole split. `strokes` is a
  sequence view (`Strokes`) giving Magenta's float32 arrays.

  `rng` is a numpy RandomState; draws happen in Magenta's order (permutation, then
  per sketch two stretch factors and one number per point for point dropping), so
  the same seed gives Magenta's batches. sampler='distinct' draws random_batch()'s
  sketches in O(batch_size) rather than permuting the split (the same distribution,
  other draws: docs/data.md); 'auto', the default, permutes up to
  flat.MAGENTA_SAMPLER_UP_TO sketches and draws distinct ones beyond.
  """

  def __init__(self, strokes, batch_size=100, max_seq_length=250,
               scale_factor=1.0, random_scale_factor=0.0,
               augment_stroke_prob=0.0, limit=1000, rng=None, labels=None,
               class_names=None, sampler='auto'):
    if sampler not in SAMPLERS:
      raise SketchRNNError('sampler %r: expected one of %s' % (
          sampler, ', '.join(SAMPLERS)))
    self.sampler = sampler
    self.batch_size = batch_size
    self.max_seq_length = max_seq_length
    self.random_scale_factor = random_scale_factor
    self.limit = limit
    self.augment_stroke_prob = augment_stroke_prob
    self.start_stroke_token = [0, 0, 1, 0, 0]
    self.rng = rng if rng is not None else np.random.RandomState()
    # Magenta divides by the constructor's factor, then by normalize()'s: each
    # division is kept, in float32, in that order.
    self._divisors = [scale_factor]
    self.scale_factor = scale_factor
    self.preprocess(strokes)
    # The class of each sketch of self.strokes (the study's classifier), or None.
    self.labels = (None if labels is None else
                   np.asarray(labels, np.int64)[self.source_index])
    self.class_names = class_names

  def preprocess(self, strokes):
    """Drops sketches longer than max_seq_length, clamps, sorts by length.

    strokes: a list of (n, 3) arrays, a FlatSplit, or (points [N, 3], offsets
    [S + 1]), sketch k being points[offsets[k]:offsets[k + 1]]."""
    max_abs = None
    if isinstance(strokes, FlatSplit):
      points, starts, lengths, max_abs = strokes
      starts = np.asarray(starts, dtype=np.int64)
      lengths = np.asarray(lengths, dtype=np.int64)
    elif isinstance(strokes, tuple):
      points, offsets = strokes
      offsets = np.asarray(offsets, dtype=np.int64)
      starts, lengths = offsets[:-1], np.diff(offsets)
    else:
      lengths = np.array([len(s) for s in strokes], dtype=np.int64)
      starts = np.cumsum(lengths) - lengths
      points = (np.concatenate([np.asarray(s).reshape(-1, 3) for s in strokes])
                if len(strokes) else np.zeros((0, 3), np.int16))
    kept = np.flatnonzero(lengths <= self.max_seq_length)
    # Magenta's (unstable) default argsort of the kept lengths, as int64: equal
    # lengths keep numpy's order, the same as Magenta's.
    idx = np.argsort(lengths[kept].astype(np.int64))
    self.source_index = kept[idx]
    self._lengths = lengths[self.source_index]
    starts = starts[self.source_index]
    self._starts = np.cumsum(self._lengths) - self._lengths
    self.strokes = Strokes(self)
    self.num_batches = len(self._lengths) // self.batch_size
    if (points.dtype == np.int16 and max_abs is not None and max_abs <= self.limit
        and len(points) == self._lengths.sum() and
        np.array_equal(starts, self._starts)):
      # Already clamped and in order (a cache's memory map): shared, not copied.
      self._points = points.view(np.ndarray)
      return
    # Gathered in the sorted order, so a sketch is a slice, and clamped once; a
    # block of sketches at a time, so the row indices never cover the split.
    integral = points.dtype.kind in 'iu' and self.limit <= np.iinfo(np.int16).max
    dtype = np.int16 if integral else np.float32
    ends = np.cumsum(self._lengths)
    self._points = np.empty((int(ends[-1]) if len(ends) else 0, 3), dtype=dtype)
    a = 0
    while a < len(ends):
      b = max(a + 1, int(np.searchsorted(ends, self._starts[a] + CHUNK, 'right')))
      rows = ranges(starts[a:b], self._lengths[a:b])
      self._points[self._starts[a]:ends[b - 1]] = np.clip(
          points[rows], -self.limit, self.limit)
      a = b

  def _values(self, rows):
    """Stored rows to Magenta's float32 values: divided by each factor in turn."""
    data = rows.astype(np.float32)
    for divisor in self._divisors:
      data[:, 0:2] /= divisor
    return data

  def in_file_order(self, indices, split='test'):
    """The sketches at these places of the files' order (the loader sorts by
    length; source_index keeps each sketch's place)."""
    order = np.argsort(self.source_index, kind='stable')
    for i in indices:
      if not 0 <= i < len(order):
        raise SketchRNNError('%s sketch %d: the %s split has %d sketches' % (
            split, i, split, len(order)))
    return [self.strokes[order[i]] for i in indices]

  def __len__(self):
    return len(self._lengths)

  def random_sample(self):
    return self.strokes[self.rng.randint(0, len(self))]

  def random_scale(self, data):
    """Stretches x and y by independent factors in [1 - f, 1 + f]."""
    x_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    y_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    result = np.copy(data)
    result[:, 0] *= x_scale_factor
    result[:, 1] *= y_scale_factor
    return result

  def calculate_normalizing_scale_factor(self):
    """Standard deviation of all dx and dy values, pooled, in float32 like Magenta:
    np.std of the float32 values in the same order, bit for bit, but made a chunk
    at a time (flat.float32_std), so no float32 copy of the split is held."""
    if not len(self):
      return 1.0

    def values(a, b):  # dx, dy as Magenta's float32 array, flattened, [a, b)
      rows = self._points[a // 2:(b + 1) // 2, 0:2].astype(np.float32)
      for divisor in self._divisors:
        rows /= divisor
      return rows.reshape(-1)[a % 2:a % 2 + b - a]
    return flat.float32_std(values, 2 * len(self._points))

  def normalize(self, scale_factor=None):
    if scale_factor is None:
      scale_factor = self.calculate_normalizing_scale_factor()
    self.scale_factor = scale_factor
    self._divisors.append(scale_factor)

  def _get_batch_from_indices(self, indices):
    idx = np.asarray(list(indices), dtype=np.int64)
    lengths = self._lengths[idx]
    augment = self.augment_stroke_prob > 0
    # Magenta draws, sketch after sketch, two stretch factors then (augmenting)
    # one number per point: one call draws the same stream.
    draws = 2 + (lengths if augment else np.zeros_like(lengths))
    first = np.cumsum(draws) - draws
    u = self.rng.random_sample(int(draws.sum()))
    f = self.random_scale_factor
    scales = ((u[np.stack([first, first + 1], 1)] - 0.5) * 2 * f + 1.0).astype(
        np.float32)
    data = self._values(self._points[ranges(self._starts[idx], lengths)])
    owner = np.repeat(np.arange(len(idx)), lengths)
    data[:, 0:2] *= scales[owner]
    if augment:
      urnd = u[ranges(first + 2, lengths)]
      data, lengths = _augment(data, lengths, urnd, self.augment_stroke_prob)
    seq_len = lengths.astype(np.int32)
    x_batch = np.split(data, np.cumsum(lengths)[:-1])
    return x_batch, self._pad(data, lengths, self.max_seq_length), seq_len

  @property
  def batch_sampler(self):
    """What random_batch() draws with: 'magenta' or 'distinct' ('auto' resolved)."""
    return flat.resolve_sampler(self.sampler, len(self))

  def random_batch(self):
    """batch_size sketches drawn without replacement, augmented."""
    if self.batch_sampler == 'distinct':
      idx = flat.distinct(self.rng, len(self), min(self.batch_size, len(self)))
    else:  # Magenta's draws: a permutation of the whole split per batch
      idx = self.rng.permutation(len(self))[0:self.batch_size]
    return self._get_batch_from_indices(idx)

  def get_batch(self, idx):
    """Batch idx in order (sketches idx*B .. idx*B+B-1), as used for evaluation."""
    if not 0 <= idx < self.num_batches:
      raise IndexError('batch %d out of range [0, %d)' % (idx, self.num_batches))
    start_idx = idx * self.batch_size
    return self._get_batch_from_indices(range(start_idx, start_idx + self.batch_size))

  def pad_batch(self, batch, max_len):
    """Stroke-3 sketches to float32 stroke-5 [B, max_len + 1, 5] with the start token."""
    lengths = np.array([len(s) for s in batch], dtype=np.int64)
    data = (np.concatenate([np.asarray(s).reshape(-1, 3) for s in batch])
            if len(batch) else np.zeros((0, 3)))
    return self._pad(data, lengths, max_len)

  def _pad(self, data, lengths, max_len):
    assert not len(lengths) or lengths.max() <= max_len
    result = np.zeros((len(lengths), max_len + 1, 5), dtype=np.float32)
    inside = np.arange(max_len)[None, :] < lengths[:, None]
    body = result[:, 1:]
    body[inside, 0:2] = data[:, 0:2]
    body[inside, 3] = data[:, 2]
    body[inside, 2] = 1 - data[:, 2]
    body[~inside, 4] = 1
    result[:, 0, 2:5] = self.start_stroke_token[2:5]
    return result


CHUNK = 1 << 18  # rows gathered at a time: bounds the temporary memory


def load_dataset(data_dir, hparams, inference_mode=False, seed=None,
                 cache_dir=None, scale_factor=None, cache=True, sampler='auto'):
  """Magenta's load_dataset: the three DataLoaders and the three hyperparameter sets.

  data_dir is a folder or an http(s) URL under which each of hparams.data_set is
  fetched (and cached). scale_factor: normalise by this (a model's own, e.g. a
  browser model's) rather than by the train split's. cache: read each .npz through
  its memory-mapped cache (data_cache), built on first use; the loaders are the
  same either way. sampler: the train loader's ('auto', 'magenta' or 'distinct',
  see DataLoader). Returns [train_set, valid_set, test_set, hps, eval_hps,
  sample_hps]; hps is a copy of `hparams` with max_seq_len set from the data.
  """
  from sketch_rnn import data_cache  # pylint: disable=g-import-not-at-top
  names = hparams.data_set
  if isinstance(names, str):
    names = [names]
  if not names:
    raise SketchRNNError('data_set is empty: name at least one .npz file')
  if not is_url(data_dir) and not os.path.isdir(data_dir):
    raise SketchRNNError('--data_dir %s: no such folder' % data_dir)
  files, class_names, factors = [], [], []
  for name in names:
    if is_url(data_dir):
      path = _fetch('/'.join([data_dir.rstrip('/'), name]), cache_dir)
    else:
      path = os.path.join(data_dir, name)
      if not os.path.exists(path):
        raise SketchRNNError('%s: no such file (data_set names %s in --data_dir %s)'
                             % (path, name, data_dir))
    if cache:
      data = data_cache.load(path)
      factors.append(data['train_factor'])
    else:
      data = npz.load_flat(path, labels=True)
      data['splits'] = {s: data.pop(s) for s in SPLITS}
    # A file without labels is one class, named after it (QuickDraw's files).
    file_labels = data.get('labels') or {
        s: np.zeros(len(data['splits'][s].lengths), np.int64) for s in SPLITS}
    files.append(({s: (data['splits'][s], file_labels[s] + len(class_names))
                   for s in SPLITS}))
    class_names += data.get('class_names') or [os.path.splitext(name)[0]]
  splits = {s: flat.concatenate([f[s][0] for f in files]) for s in SPLITS}
  classes = {s: dict(labels=np.concatenate([f[s][1] for f in files]),
                     class_names=class_names) for s in SPLITS}

  hps = hparams.copy()
  hps.max_seq_len = max(int(np.max(splits[s].lengths, initial=0)) for s in SPLITS)

  eval_hps = eval_hparams(hps, inference_mode)
  sample_hps = eval_hps.copy()
  sample_hps.batch_size = 1  # one sketch at a time
  sample_hps.max_seq_len = 1  # one point at a time

  rng = np.random.RandomState(seed)
  train_set = DataLoader(
      splits['train'], hps.batch_size, max_seq_length=hps.max_seq_len,
      random_scale_factor=hps.random_scale_factor,
      augment_stroke_prob=hps.augment_stroke_prob, rng=rng, sampler=sampler,
      **classes['train'])
  # The loader holds its own copy (or the cache's map): the file's points can go.
  splits['train'] = files = data = None
  if scale_factor is not None:
    normalizing_scale_factor = scale_factor
  elif len(factors) == 1:  # the cache's, computed as below when it was built
    normalizing_scale_factor = factors[0]
  else:
    normalizing_scale_factor = train_set.calculate_normalizing_scale_factor()
  if not np.isfinite(normalizing_scale_factor) or normalizing_scale_factor <= 0:
    raise SketchRNNError(
        'the train split\'s dx, dy have standard deviation %s; cannot normalise '
        '(every offset is the same?)' % normalizing_scale_factor)
  train_set.normalize(normalizing_scale_factor)

  loaders = [train_set]
  for split in ('valid', 'test'):
    loader = DataLoader(
        splits[split], eval_hps.batch_size, max_seq_length=eval_hps.max_seq_len,
        random_scale_factor=0.0, augment_stroke_prob=0.0, rng=rng,
        **classes[split])
    loader.normalize(normalizing_scale_factor)
    loaders.append(loader)
  for split, loader in zip(SPLITS, loaders):
    if loader.num_batches < 1:
      raise SketchRNNError(
          '%s split has %d sketches, fewer than batch_size=%d' %
          (split, len(loader), loader.batch_size))
  return loaders + [hps, eval_hps, sample_hps]
