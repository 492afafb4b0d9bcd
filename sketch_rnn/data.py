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
import pickle
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import numpy as np

from sketch_rnn import files
from sketch_rnn.errors import SketchRNNError
from sketch_rnn import flat
from sketch_rnn.flat import FlatSplit, SAMPLERS, _augment, _ranges  # pylint: disable=protected-access
from sketch_rnn.hparams import eval_hparams


def get_max_len(strokes):
  """The number of points of the longest sketch."""
  return max((len(s) for s in strokes), default=0)


# ---------------------------------------------------------------------------
# Safe .npz loading
# ---------------------------------------------------------------------------

# The only callables a stroke .npz may name: what numpy's own pickling of arrays,
# dtypes and scalars uses (numpy 1.x and 2.x module paths). Anything else is refused
# before it is called, so a crafted file cannot run code.
try:
  from numpy._core import multiarray as _multiarray  # numpy >= 2
except ImportError:  # pragma: no cover
  from numpy.core import multiarray as _multiarray  # numpy 1.x

_SAFE_GLOBALS = {}
for _module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
  _SAFE_GLOBALS[(_module, '_reconstruct')] = _multiarray._reconstruct  # pylint: disable=protected-access
  _SAFE_GLOBALS[(_module, 'scalar')] = _multiarray.scalar
_SAFE_GLOBALS[('numpy', 'ndarray')] = np.ndarray
_SAFE_GLOBALS[('numpy', 'dtype')] = np.dtype


def _latin1_encode(text, encoding='latin1'):  # protocol 2's bytes; no other codec
  if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
    raise pickle.UnpicklingError('refused to unpickle _codecs.encode(%s, %r)' % (
        type(text).__name__, encoding))
  return text.encode('latin1')


_SAFE_GLOBALS[('_codecs', 'encode')] = _latin1_encode


class _ArrayUnpickler(pickle.Unpickler):
  """Unpickles numpy arrays and numbers, nothing else."""

  def find_class(self, module, name):
    try:
      return _SAFE_GLOBALS[(module, name)]
    except KeyError:
      raise pickle.UnpicklingError(
          'refused to unpickle %s.%s' % (module, name)) from None


SPLITS = ('train', 'valid', 'test')
# Offsets are clamped to +-1000 for training (Magenta's limit); numbers far beyond
# any drawing's size mean the file is not stroke-3 data.
MAX_OFFSET = 100000
# Refused: a member inflating beyond this (QuickDraw's largest is ~100 MB), before it
# is read; a longer sketch (max_seq_len follows it; --max_sketch_points sets it).
MAX_MEMBER_BYTES, MAX_SKETCH_POINTS = 1 << 30, 10000


def _read_npy(member, label, size=None):
  """Reads one .npy member of a zip (of declared size); objects: _ArrayUnpickler."""
  version = np.lib.format.read_magic(member)
  if version == (1, 0):
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
  elif version in ((2, 0), (3, 0)):
    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
  else:
    raise SketchRNNError('%s: unsupported .npy version %s' % (label, version))
  if not dtype.hasobject:
    count = int(np.prod(shape, dtype=object))
    if size is not None and count * dtype.itemsize > size:  # before allocating
      raise SketchRNNError('%s: its header declares %d bytes of data, the member '
                           'holds %d' % (label, count * dtype.itemsize, size))
    data = member.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
      raise SketchRNNError('%s: truncated array data' % label)
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order='F' if fortran else 'C')
  try:
    array = _ArrayUnpickler(member, encoding='latin1').load()
  except pickle.UnpicklingError as e:
    raise SketchRNNError(
        '%s: %s; only numpy arrays of numbers are accepted' % (label, e)) from None
  except Exception as e:  # pylint: disable=broad-except
    raise SketchRNNError('%s: corrupt pickled data (%s: %s)' %
                         (label, type(e).__name__, e)) from None
  if not isinstance(array, np.ndarray):
    raise SketchRNNError('%s: holds a %s, not an array' %
                         (label, type(array).__name__))
  return array


def _check_sketch(sketch, label):
  if not isinstance(sketch, np.ndarray):
    raise SketchRNNError('%s: is a %s, not a numpy array' %
                         (label, type(sketch).__name__))
  if sketch.dtype.kind not in 'iuf' or sketch.ndim != 2 or sketch.shape[1] != 3:
    raise SketchRNNError('%s: expected an (n, 3) array of numbers, got %s %s' %
                         (label, sketch.dtype, sketch.shape))
  if sketch.shape[0] < 1:
    raise SketchRNNError('%s: is empty (0 points)' % label)
  if sketch.dtype.kind == 'f' and not np.isfinite(sketch).all():
    row = int(np.nonzero(~np.isfinite(sketch).all(axis=1))[0][0])
    raise SketchRNNError('%s: has a non-finite value at point %d' % (label, row))
  big = np.abs(sketch[:, 0:2]) > MAX_OFFSET
  if big.any():
    row = int(np.nonzero(big.any(axis=1))[0][0])
    raise SketchRNNError('%s: offset %s at point %d is absurd (beyond +-%d): not '
                         'stroke-3 data?' % (label, sketch[row, 0:2].tolist(), row,
                                             MAX_OFFSET))
  pen = sketch[:, 2]
  if not np.isin(pen, (0, 1)).all():
    row = int(np.nonzero(~np.isin(pen, (0, 1)))[0][0])
    raise SketchRNNError('%s: pen value %s at point %d; stroke-3 pen values are 0 '
                         'or 1' % (label, pen[row].item(), row))


def _check_sketches(sketches, label):
  """_check_sketch on every sketch: the shapes one by one, the values of all at
  once; the first bad sketch is then checked alone for its message."""
  for i, sketch in enumerate(sketches):
    if (not isinstance(sketch, np.ndarray) or sketch.dtype.kind not in 'iuf' or
        sketch.ndim != 2 or sketch.shape[1] != 3 or sketch.shape[0] < 1):
      _check_sketch(sketch, '%s sketch %d' % (label, i))
    if len(sketch) > MAX_SKETCH_POINTS:
      raise SketchRNNError('%s sketch %d: %d points, more than the limit of %d '
                           '(--max_sketch_points)' % (label, i, len(sketch),
                                                     MAX_SKETCH_POINTS))
  if not sketches:
    return
  points = np.concatenate(sketches)
  bad = np.abs(points[:, 0:2]) > MAX_OFFSET
  bad = bad[:, 0] | bad[:, 1] | ~np.isin(points[:, 2], (0, 1))
  if points.dtype.kind == 'f':
    bad |= ~np.isfinite(points).all(axis=1)
  if bad.any():
    ends = np.cumsum([len(s) for s in sketches])
    i = int(np.searchsorted(ends, np.flatnonzero(bad)[0], side='right'))
    _check_sketch(sketches[i], '%s sketch %d' % (label, i))


def _read_member(archive, member_name, label):
  # zipfile reads a member up to its declared size (then checks the CRC): a bound.
  size = archive.getinfo(member_name).file_size
  if size > MAX_MEMBER_BYTES:
    raise SketchRNNError(
        '%s: inflates to %.1f MB, over the limit of %.1f MB for one split (a zip '
        'bomb, or not stroke data)' % (label, size / 1e6, MAX_MEMBER_BYTES / 1e6))
  with archive.open(member_name) as member:
    return _read_npy(member, label, size)


def load_npz(path, labels=False):
  """Reads a stroke-3 .npz safely: {'train': [...], 'valid': [...], 'test': [...]}.

  Every sketch is checked to be an (n >= 1, 3) array of finite numbers; any problem
  raises SketchRNNError naming the file, the split and the sketch index. labels:
  also read the file's class labels, if it has them, into 'labels' ({split: int64
  array}) and 'class_names'.
  """
  name = os.path.basename(path)
  if not os.path.exists(path):
    raise SketchRNNError('%s: no such file' % path)
  try:
    archive = zipfile.ZipFile(path)
  except (zipfile.BadZipFile, OSError) as e:
    raise SketchRNNError('%s: not a readable .npz file (%s)' % (path, e)) from None
  result = {}
  with archive:
    members = {m[:-4] if m.endswith('.npy') else m: m for m in archive.namelist()}
    missing = [s for s in SPLITS if s not in members]
    if missing:
      raise SketchRNNError('%s: missing split(s) %s (found: %s)' % (
          name, ', '.join(missing), ', '.join(sorted(members)) or 'nothing'))
    for split in SPLITS:
      label = '%s[%s]' % (name, split)
      try:
        array = _read_member(archive, members[split], label)
      except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        if isinstance(e, SketchRNNError):
          raise
        raise SketchRNNError('%s: unreadable (%s)' % (label, e)) from None
      if array.dtype.hasobject:
        if array.ndim != 1:
          raise SketchRNNError('%s: expected a 1-D array of sketches, got shape %s'
                               % (label, array.shape))
        sketches = list(array)
      elif array.ndim == 3:  # equal-length sketches stored as one numeric block
        sketches = list(array)
      else:
        raise SketchRNNError('%s: expected an array of (n, 3) sketches, got %s %s'
                             % (label, array.dtype, array.shape))
      _check_sketches(sketches, label)
      result[split] = sketches
    if labels and (any(s + '_labels' in members for s in SPLITS) or
                   'class_names' in members):
      result.update(_read_labels(archive, members, name, result))
  return result


def load_sketches(path):
  """Every sketch of a user's .npz, checked as load_npz checks them: the train,
  valid and test splits in that order, or the file's one array of sketches."""
  try:
    with zipfile.ZipFile(path) as archive:
      names = [m[:-4] if m.endswith('.npy') else m for m in archive.namelist()]
      single = len(names) == 1 and names[0] not in SPLITS
      if single:
        with archive.open(archive.namelist()[0]) as member:
          array = _read_npy(member, path)
  except (zipfile.BadZipFile, OSError) as e:
    raise SketchRNNError('%s: not a readable .npz file (%s)' % (path, e)) from None
  if not single:
    data = load_npz(path)
    return data['train'] + data['valid'] + data['test']
  if not (array.dtype.hasobject or array.ndim == 3):
    raise SketchRNNError('%s: expected an array of (n, 3) sketches, got %s %s' % (
        path, array.dtype, array.shape))
  _check_sketches(list(array), path)
  return list(array)


def _read_labels(archive, members, name, splits):
  """The optional class labels: {'labels': {split: int64 [n]}, 'class_names': [...]}.

  Keys `<split>_labels` (one class index per sketch) and `class_names`, which
  Magenta's loader ignores; all four or none.
  """
  wanted = [s + '_labels' for s in SPLITS] + ['class_names']
  missing = [k for k in wanted if k not in members]
  if missing:
    raise SketchRNNError('%s: has class labels but not %s' % (name, ', '.join(missing)))
  read = {}
  for key in wanted:
    read[key] = _read_member(archive, members[key], '%s[%s]' % (name, key))
  class_names = [str(c) for c in read['class_names'].reshape(-1)]
  labels = {}
  for split in SPLITS:
    values = read[split + '_labels']
    if (values.dtype.kind not in 'iu' or values.shape != (len(splits[split]),) or
        (len(values) and not 0 <= values.min() <= values.max() < len(class_names))):
      raise SketchRNNError(
          '%s[%s_labels]: expected %d class indices in [0, %d), got %s %s' % (
              name, split, len(splits[split]), len(class_names), values.dtype,
              values.shape))
    labels[split] = values.astype(np.int64)
  return dict(labels=labels, class_names=class_names)


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
  other draws: docs/data.md).
  """

  def __init__(self, strokes, batch_size=100, max_seq_length=250,
               scale_factor=1.0, random_scale_factor=0.0,
               augment_stroke_prob=0.0, limit=1000, rng=None, labels=None,
               class_names=None, sampler='magenta'):
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
      rows = _ranges(starts[a:b], self._lengths[a:b])
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
    data = self._values(self._points[_ranges(self._starts[idx], lengths)])
    owner = np.repeat(np.arange(len(idx)), lengths)
    data[:, 0:2] *= scales[owner]
    if augment:
      urnd = u[_ranges(first + 2, lengths)]
      data, lengths = _augment(data, lengths, urnd, self.augment_stroke_prob)
    seq_len = lengths.astype(np.int32)
    x_batch = np.split(data, np.cumsum(lengths)[:-1])
    return x_batch, self._pad(data, lengths, self.max_seq_length), seq_len

  def random_batch(self):
    """batch_size sketches drawn without replacement, augmented."""
    if self.sampler == 'distinct':
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


CHUNK = 1 << 22  # rows gathered at a time: bounds the temporary memory


def load_dataset(data_dir, hparams, inference_mode=False, seed=None,
                 cache_dir=None, scale_factor=None, cache=True, sampler='magenta'):
  """Magenta's load_dataset: the three DataLoaders and the three hyperparameter sets.

  data_dir is a folder or an http(s) URL under which each of hparams.data_set is
  fetched (and cached). scale_factor: normalise by this (a model's own, e.g. a
  browser model's) rather than by the train split's. cache: read each .npz through
  its memory-mapped cache (data_cache), built on first use; the loaders are the
  same either way. sampler: the train loader's ('magenta' or 'distinct', see
  DataLoader). Returns [train_set, valid_set, test_set, hps, eval_hps,
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
      data = load_npz(path, labels=True)
      data['splits'] = {s: flat.from_sketches(data.pop(s)) for s in SPLITS}
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
