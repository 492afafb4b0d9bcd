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
"""Stroke formats, safe .npz loading and Magenta's DataLoader. numpy only.

Formats (Ha & Eck 2017):
  stroke-3: (n, 3) rows of (dx, dy, pen_lifted_after_this_point).
  stroke-5: (n, 5) rows of (dx, dy, p1 pen down, p2 pen up, p3 end of sketch).
"""

import hashlib
import os
import pickle
import queue
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import numpy as np

from sketch_rnn.errors import SketchRNNError
from sketch_rnn.hparams import eval_hparams


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


def get_max_len(strokes):
  """The number of points of the longest sketch."""
  return max((len(s) for s in strokes), default=0)


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


def _read_npy(member, label):
  """Reads one .npy member of a zip; object arrays through _ArrayUnpickler."""
  version = np.lib.format.read_magic(member)
  if version == (1, 0):
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
  elif version in ((2, 0), (3, 0)):
    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
  else:
    raise SketchRNNError('%s: unsupported .npy version %s' % (label, version))
  if not dtype.hasobject:
    count = int(np.prod(shape))
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
        with archive.open(members[split]) as member:
          array = _read_npy(member, label)
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
      for i, sketch in enumerate(sketches):
        _check_sketch(sketch, '%s sketch %d' % (label, i))
      result[split] = sketches
    if labels and (any(s + '_labels' in members for s in SPLITS) or
                   'class_names' in members):
      result.update(_read_labels(archive, members, name, result))
  return result


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
    with archive.open(members[key]) as member:
      read[key] = _read_npy(member, '%s[%s]' % (name, key))
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
  fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix='.part')
  with os.fdopen(fd, 'wb') as f:
    f.write(payload)
  os.replace(tmp, path)
  return path


def write_text_atomic(path, text):
  """Writes to a temporary file beside path, then renames it into place."""
  folder = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
  with os.fdopen(fd, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def is_url(data_dir):
  return data_dir.startswith('http://') or data_dir.startswith('https://')


# ---------------------------------------------------------------------------
# DataLoader (Magenta's, with its own seeded RandomState)
# ---------------------------------------------------------------------------


class DataLoader:
  """Batches of one split, padded to stroke-5, as Magenta's DataLoader makes them.

  `rng` is a numpy RandomState; draws happen in Magenta's order (permutation, then
  per sketch two stretch factors and one number per point for point dropping), so
  the same seed gives Magenta's batches.
  """

  def __init__(self, strokes, batch_size=100, max_seq_length=250,
               scale_factor=1.0, random_scale_factor=0.0,
               augment_stroke_prob=0.0, limit=1000, rng=None, labels=None,
               class_names=None):
    self.batch_size = batch_size
    self.max_seq_length = max_seq_length
    self.scale_factor = scale_factor
    self.random_scale_factor = random_scale_factor
    self.limit = limit
    self.augment_stroke_prob = augment_stroke_prob
    self.start_stroke_token = [0, 0, 1, 0, 0]
    self.rng = rng if rng is not None else np.random.RandomState()
    self.preprocess(strokes)
    # The class of each sketch of self.strokes (the study's classifier), or None.
    self.labels = (None if labels is None else
                   np.asarray(labels, np.int64)[self.source_index])
    self.class_names = class_names

  def preprocess(self, strokes):
    """Drops sketches longer than max_seq_length, clamps, sorts by length."""
    raw_data = []
    seq_len = []
    self.source_index = []
    for i, data in enumerate(strokes):
      if len(data) <= self.max_seq_length:
        data = np.clip(data, -self.limit, self.limit)
        data = np.array(data, dtype=np.float32)
        data[:, 0:2] /= self.scale_factor
        raw_data.append(data)
        seq_len.append(len(data))
        self.source_index.append(i)
    # Magenta's (unstable) default argsort: equal lengths keep numpy's order.
    idx = np.argsort(np.array(seq_len, dtype=np.int64))
    self.strokes = [raw_data[i] for i in idx]
    self.source_index = np.array(self.source_index, dtype=np.int64)[idx]
    self.num_batches = len(self.strokes) // self.batch_size

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
    return len(self.strokes)

  def random_sample(self):
    return self.strokes[self.rng.randint(0, len(self.strokes))]

  def random_scale(self, data):
    """Stretches x and y by independent factors in [1 - f, 1 + f]."""
    x_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    y_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    result = np.copy(data)
    result[:, 0] *= x_scale_factor
    result[:, 1] *= y_scale_factor
    return result

  def calculate_normalizing_scale_factor(self):
    """Standard deviation of all dx and dy values, pooled, in float32 like Magenta."""
    kept = [s for s in self.strokes if len(s) <= self.max_seq_length]
    if not kept:
      return 1.0
    data = np.concatenate([s[:, 0:2] for s in kept]).reshape(-1)
    return np.std(data)

  def normalize(self, scale_factor=None):
    if scale_factor is None:
      scale_factor = self.calculate_normalizing_scale_factor()
    self.scale_factor = scale_factor
    for s in self.strokes:
      s[:, 0:2] /= self.scale_factor

  def _get_batch_from_indices(self, indices):
    x_batch = []
    seq_len = []
    for i in indices:
      data = self.random_scale(self.strokes[i])
      if self.augment_stroke_prob > 0:
        data = augment_strokes(data, self.augment_stroke_prob, self.rng)
      x_batch.append(data)
      seq_len.append(len(data))
    seq_len = np.array(seq_len, dtype=np.int32)
    return x_batch, self.pad_batch(x_batch, self.max_seq_length), seq_len

  def random_batch(self):
    """batch_size sketches drawn without replacement, augmented."""
    idx = self.rng.permutation(range(0, len(self.strokes)))[0:self.batch_size]
    return self._get_batch_from_indices(idx)

  def get_batch(self, idx):
    """Batch idx in order (sketches idx*B .. idx*B+B-1), as used for evaluation."""
    if not 0 <= idx < self.num_batches:
      raise IndexError('batch %d out of range [0, %d)' % (idx, self.num_batches))
    start_idx = idx * self.batch_size
    return self._get_batch_from_indices(range(start_idx, start_idx + self.batch_size))

  def pad_batch(self, batch, max_len):
    """Stroke-3 sketches to float32 stroke-5 [B, max_len + 1, 5] with the start token."""
    result = np.zeros((len(batch), max_len + 1, 5), dtype=np.float32)
    for i, sketch in enumerate(batch):
      n = len(sketch)
      assert n <= max_len
      result[i, 1:n + 1, 0:2] = sketch[:, 0:2]
      result[i, 1:n + 1, 3] = sketch[:, 2]
      result[i, 1:n + 1, 2] = 1 - sketch[:, 2]
      result[i, n + 1:, 4] = 1
      result[i, 0, 2:5] = self.start_stroke_token[2:5]
    return result


class Prefetcher:
  """Prepares training batches in a background thread while the step runs.

  Batches come out in the order data_set.random_batch() would give them (one
  thread draws them all from data_set.rng). get_state() is the data RNG's state
  as of the batches handed out so far, not the ones waiting in the queue: what a
  checkpoint must hold for a resumed run to see the same batches next.
  """

  def __init__(self, data_set, depth=2):
    self._data_set = data_set
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


def load_dataset(data_dir, hparams, inference_mode=False, seed=None,
                 cache_dir=None, scale_factor=None):
  """Magenta's load_dataset: the three DataLoaders and the three hyperparameter sets.

  data_dir is a folder or an http(s) URL under which each of hparams.data_set is
  fetched (and cached). scale_factor: normalise by this (a model's own, e.g. a
  browser model's) rather than by the train split's. Returns [train_set,
  valid_set, test_set, hps, eval_hps, sample_hps]; hps is a copy of `hparams` with max_seq_len set from the data.
  """
  names = hparams.data_set
  if isinstance(names, str):
    names = [names]
  if not names:
    raise SketchRNNError('data_set is empty: name at least one .npz file')
  if not is_url(data_dir) and not os.path.isdir(data_dir):
    raise SketchRNNError('--data_dir %s: no such folder' % data_dir)
  splits = {s: [] for s in SPLITS}
  labels, class_names = {s: [] for s in SPLITS}, []
  for name in names:
    if is_url(data_dir):
      path = _fetch('/'.join([data_dir.rstrip('/'), name]), cache_dir)
      data = load_npz(path, labels=True)
    else:
      path = os.path.join(data_dir, name)
      if not os.path.exists(path):
        raise SketchRNNError('%s: no such file (data_set names %s in --data_dir %s)'
                             % (path, name, data_dir))
      data = load_npz(path, labels=True)
    # A file without labels is one class, named after it (QuickDraw's files).
    file_labels = data.get('labels') or {s: np.zeros(len(data[s]), np.int64)
                                         for s in SPLITS}
    for s in SPLITS:
      splits[s].extend(data[s])
      labels[s].append(file_labels[s] + len(class_names))
    class_names += data.get('class_names') or [os.path.splitext(name)[0]]

  all_strokes = splits['train'] + splits['valid'] + splits['test']
  hps = hparams.copy()
  hps.max_seq_len = get_max_len(all_strokes)

  eval_hps = eval_hparams(hps, inference_mode)
  sample_hps = eval_hps.copy()
  sample_hps.batch_size = 1  # one sketch at a time
  sample_hps.max_seq_len = 1  # one point at a time

  rng = np.random.RandomState(seed)
  classes = {s: dict(labels=np.concatenate(labels[s]), class_names=class_names)
             for s in SPLITS}
  train_set = DataLoader(
      splits['train'], hps.batch_size, max_seq_length=hps.max_seq_len,
      random_scale_factor=hps.random_scale_factor,
      augment_stroke_prob=hps.augment_stroke_prob, rng=rng, **classes['train'])
  normalizing_scale_factor = (train_set.calculate_normalizing_scale_factor()
                              if scale_factor is None else scale_factor)
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
