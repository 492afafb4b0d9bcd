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
"""Stroke-3 .npz files read safely: no arbitrary unpickling, every sketch checked,
memory bounded (a member's size and a sketch's length are limited before reading).

`load_flat` is the one reader: each split as one flat array of points with each
sketch's start and length (a data.FlatSplit), which the loader (data.py) and the
cache (data_cache.py) build on; `load_npz` gives the same sketches as a list of
arrays (views of it).

A split's pickled object array is read by `_FlatUnpickler`, numpy's globals
replaced: every sketch unpickles to one shared placeholder whose state (shape,
dtype, the bytes of its points) is kept aside, not made into an array. Once the
member is read, the bytes are copied into the flat array a sketch at a time, in
the order they were made, and let go, their memory given back as the copy goes
(malloc_trim), so the peak is about one copy of the points. (They cannot go
sooner: the unpickler's memo keeps every bytes object of numpy's own pickles to
the end.) The copy goes to the DataLoader's order, which a loader and the cache
then take as it is: sketches by length, first in the file's order within each
length, so every length's region fills from its start as the bytes empty from
theirs, then each length's sketches put in the loader's (unstable) order in
place. A member that is anything else than numeric (n, 3) sketches of one
dtype, or that fails in any way, is read again by the plain reader (numpy's
arrays, `_check_sketches`), whose result or error is then the one given: the
fast reader only ever makes the same FlatSplit with less memory.
"""

import ctypes
import mmap
import os
import pickle
import zipfile

import numpy as np

from sketch_rnn import flat
from sketch_rnn.errors import SketchRNNError

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


def _check_latin1(text, encoding):
  if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
    raise pickle.UnpicklingError('refused to unpickle _codecs.encode(%s, %r)' % (
        type(text).__name__, encoding))


def _latin1_encode(text, encoding='latin1'):  # protocol 2's bytes; no other codec
  _check_latin1(text, encoding)
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
  array}) and 'class_names'. The sketches are views of load_flat's arrays.
  """
  result = load_flat(path, labels)
  for split in SPLITS:
    points, starts, lengths, _ = result[split]
    result[split] = [points[a:a + n] for a, n in zip(starts.tolist(), lengths.tolist())]
  return result


def load_flat(path, labels=False):
  """load_npz's splits as FlatSplits: points in the DataLoader's order (its
  argsort of the lengths), each sketch's start in them and length in the file's
  order, and the largest |dx|, |dy|."""
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
      result[split] = _read_flat(archive, members[split], label)
      if result[split] is None:  # the plain way
        sketches = _read_sketches(archive, members[split], label)
        _check_sketches(sketches, label)
        lengths = np.array([len(x) for x in sketches], dtype=np.int64)
        points, starts, lengths, _ = flat.from_sketches(sketches, np.argsort(lengths))
        result[split] = flat.FlatSplit(points, starts, lengths, _max_abs(points))
    if labels and (any(s + '_labels' in members for s in SPLITS) or
                   'class_names' in members):
      result.update(_read_labels(archive, members, name,
                                 {s: len(result[s].lengths) for s in SPLITS}))
  return result


def _read_sketches(archive, member_name, label):
  """A split's sketches, numpy's way: the list of its arrays."""
  try:
    array = _read_member(archive, member_name, label)
  except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
    if isinstance(e, SketchRNNError):
      raise
    raise SketchRNNError('%s: unreadable (%s)' % (label, e)) from None
  if array.dtype.hasobject:
    if array.ndim != 1:
      raise SketchRNNError('%s: expected a 1-D array of sketches, got shape %s'
                           % (label, array.shape))
    return list(array)
  if array.ndim == 3:  # equal-length sketches stored as one numeric block
    return list(array)
  raise SketchRNNError('%s: expected an array of (n, 3) sketches, got %s %s'
                       % (label, array.dtype, array.shape))


def _max_abs(points):
  """The largest |dx|, |dy|, a block at a time."""
  top = 0.0
  for a in range(0, len(points), CHUNK):
    block = points[a:a + CHUNK, 0:2]
    top = max(top, float(np.max(np.abs(block), initial=0)))
  return top


# ---------------------------------------------------------------------------
# The fast reader: a split's pickle straight into one flat array
# ---------------------------------------------------------------------------

CHUNK = 1 << 20  # rows checked at a time
# Copied between two returns of freed memory: a thirty-second of the split (a
# trim walks the heap), at least 8 MB.
TRIM_PARTS, TRIM_BYTES = 32, 1 << 23


class _Sketch:
  """What every array of a split unpickles to: its state goes to the _Collector."""
  __slots__ = ('collector',)

  def __setstate__(self, state):
    self.collector.add(state)


class _Latin1:
  """_codecs.encode(text, 'latin1'), as protocol 2 writes bytes: the text, to be
  encoded when its sketch is copied (the memo keeps the text anyway)."""
  __slots__ = ('text',)

  def __init__(self, text):
    self.text = text


def _latin1_later(text, encoding='latin1'):
  _check_latin1(text, encoding)
  return _Latin1(text)


class _Collector:
  """The states of a split's sketches, in the order they unpickle."""

  def __init__(self):
    self.sketch = _Sketch()
    self.sketch.collector = self
    self.data, self.lengths, self.outer = [], [], []
    self.dtype, self.row_bytes = None, 0
    self.made = 0  # arrays made: one per sketch and the split's own
    self.odd = False  # something only numpy's own reading can judge

  def reconstruct(self, subtype, shape, dtype):
    if type(dtype) is _Latin1:  # pylint: disable=unidiomatic-typecheck
      dtype = dtype.text.encode('latin1')
    if subtype is np.ndarray and shape == (0,) and dtype in (b'b', 'b'):
      self.made += 1
      return self.sketch
    self.odd = True
    return _multiarray._reconstruct(subtype, shape, dtype)  # pylint: disable=protected-access

  def add(self, state):
    # numpy's array state: (1, shape, dtype, Fortran order, the data).
    if type(state) is tuple and len(state) == 5:  # pylint: disable=unidiomatic-typecheck
      version, shape, dtype, fortran, data = state
      if version == 1 and fortran is False and type(shape) is tuple:  # pylint: disable=unidiomatic-typecheck
        if len(shape) == 2:
          n = shape[0]
          if (shape[1] == 3 and type(n) is int and n >= 1 and  # pylint: disable=unidiomatic-typecheck
              (dtype is self.dtype or self._first(dtype))):
            raw = data.text if type(data) is _Latin1 else data  # pylint: disable=unidiomatic-typecheck
            if type(raw) in (bytes, str) and len(raw) == n * self.row_bytes:  # pylint: disable=unidiomatic-typecheck
              self.data.append(data)
              self.lengths.append(n)
              return
        elif (len(shape) == 1 and type(data) is list and  # pylint: disable=unidiomatic-typecheck
              isinstance(dtype, np.dtype) and dtype.hasobject):
          self.outer.append((shape, data))
          return
    self.odd = True

  def _first(self, dtype):
    """Whether dtype is the split's one numeric dtype (the first sets it)."""
    if (self.dtype is not None or not isinstance(dtype, np.dtype) or
        dtype.kind not in 'iuf'):
      return False
    self.dtype, self.row_bytes = dtype, 3 * dtype.itemsize
    return True

  def sketches(self):
    """The (lengths, data) of a split of numeric sketches of one dtype, or None.
    Every array made has had one state, each sketch is in the split once."""
    if (self.odd or len(self.outer) != 1 or self.made != len(self.data) + 1 or
        self.outer[0][0] != (len(self.data),) or
        self.outer[0][1].count(self.sketch) != len(self.data)):
      return None
    return np.array(self.lengths, dtype=np.int64), self.data


class _FlatUnpickler(_ArrayUnpickler):
  """_ArrayUnpickler, sketches collected by `collector` rather than made."""

  def __init__(self, file, collector):
    super().__init__(file, encoding='latin1')
    self.collector = collector

  def find_class(self, module, name):
    found = super().find_class(module, name)
    if found is _multiarray._reconstruct:  # pylint: disable=protected-access
      return self.collector.reconstruct
    if found is _latin1_encode:
      return _latin1_later
    return found


def _libc_trim():
  """glibc's malloc_trim: gives freed heap pages back, those between live
  blocks too. Elsewhere nothing (the memory is kept for reuse)."""
  try:
    trim = ctypes.CDLL(None).malloc_trim
  except (AttributeError, OSError):
    return lambda pad: 0
  trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
  return trim


_trim = _libc_trim()


def _read_flat(archive, member_name, label):
  """A split as a FlatSplit, the fast way; None to read it the plain way."""
  size = archive.getinfo(member_name).file_size
  if size > MAX_MEMBER_BYTES:
    return None  # the plain reader says so
  collector = _Collector()
  try:
    with archive.open(member_name) as member:
      version = np.lib.format.read_magic(member)
      if version != (1, 0):
        return None
      shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
      if not dtype.hasobject or len(shape) != 1 or fortran:
        return None
      top = _FlatUnpickler(member, collector).load()
      if member.read(1):
        return None
  except Exception:  # pylint: disable=broad-except
    return None  # the plain reader's error, then
  found = collector.sketches()
  if top is not collector.sketch or found is None or shape != (len(found[0]),):
    return None
  lengths, data = found
  dtype = collector.dtype or np.dtype(np.int16)
  del collector, top
  big = np.flatnonzero(lengths > MAX_SKETCH_POINTS)
  if len(big):
    raise SketchRNNError('%s sketch %d: %d points, more than the limit of %d '
                         '(--max_sketch_points)' % (label, big[0], lengths[big[0]],
                                                   MAX_SKETCH_POINTS))
  order, by_length = np.argsort(lengths), np.argsort(lengths, kind='stable')
  sorted_lengths = lengths[order]
  starts = np.empty_like(lengths)
  starts[by_length] = np.cumsum(sorted_lengths) - sorted_lengths
  points = _pages((int(lengths.sum()), 3), dtype)
  _copy(data, starts * 3 * dtype.itemsize, points)
  _reorder(points, sorted_lengths, order, by_length)
  starts[order] = np.cumsum(sorted_lengths) - sorted_lengths
  bad, max_abs = _scan(points, np.cumsum(sorted_lengths), order)
  if bad is not None:
    _check_sketch(points[starts[bad]:starts[bad] + lengths[bad]],
                  '%s sketch %d' % (label, bad))
  return flat.FlatSplit(points, starts, lengths, max_abs)


def _copy(data, offsets, points):
  """Each sketch's bytes into points at its offset, dropping them as it goes:
  in the order they were made, so the pages of the copy fill as fast as those of
  the bytes empty."""
  out = memoryview(points.reshape(-1).view(np.uint8))
  every = max(TRIM_BYTES, points.nbytes // TRIM_PARTS)
  since_trim = 0
  for i, at in enumerate(offsets.tolist()):
    raw = data[i]
    if type(raw) is _Latin1:  # pylint: disable=unidiomatic-typecheck
      raw = raw.text.encode('latin1')
    elif type(raw) is str:  # pylint: disable=unidiomatic-typecheck
      raw = raw.encode('latin1')  # a Python 2 str, as numpy decodes it
    out[at:at + len(raw)] = raw
    data[i] = None
    since_trim += len(raw)
    if since_trim > every:
      _trim(0)
      since_trim = 0
  _trim(0)


def _pages(shape, dtype):
  """np.empty, in an anonymous map of small pages: numpy asks for huge pages
  (2 MB), which a copy filling many places at once would make resident long
  before they are full."""
  size = int(np.prod(shape)) * dtype.itemsize
  if not size:
    return np.empty(shape, dtype)
  return np.frombuffer(mmap.mmap(-1, size), dtype).reshape(shape)


def _reorder(points, sorted_lengths, order, by_length):
  """Each length's sketches, laid out in the file's order (by_length, a stable
  sort), into the loader's (order): one length's block at a time."""
  rows = np.cumsum(sorted_lengths) - sorted_lengths
  bounds = np.concatenate([[0], np.flatnonzero(np.diff(sorted_lengths)) + 1,
                           [len(order)]])
  for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
    if not np.array_equal(order[a:b], by_length[a:b]):
      n = int(sorted_lengths[a])
      block = points[rows[a]:rows[a] + (b - a) * n].reshape(b - a, n, 3)
      block[...] = block[np.searchsorted(by_length[a:b], order[a:b])]


def _scan(points, ends, order):
  """(the first sketch, in the file's order, with a value that _check_sketch
  refuses, or None; the largest |dx|, |dy|), a block at a time. Sketch order[k]
  ends at row ends[k]."""
  first, top = None, 0
  # Integers of two bytes never reach MAX_OFFSET; a pen value that is 0 or 1 as
  # an unsigned integer of its size is 0 or 1.
  small = points.dtype.kind in 'iu' and points.dtype.itemsize <= 2
  for a in range(0, len(points), CHUNK):
    block = points[a:a + CHUNK]
    if len(block):
      top = max(top, block[:, 0:2].max().item(), -block[:, 0:2].min().item())
    if points.dtype.kind in 'iu':
      bad = block[:, 2].view(np.dtype('u%d' % points.dtype.itemsize)) > 1
    else:
      bad = (block[:, 2] != 0) & (block[:, 2] != 1)
      bad |= ~np.isfinite(block).all(axis=1)
    if not small:
      bad |= (np.abs(block[:, 0:2]) > MAX_OFFSET).any(axis=1)
    if bad.any():
      found = int(order[np.searchsorted(ends, np.flatnonzero(bad) + a, 'right')].min())
      first = found if first is None else min(first, found)
  return first, float(top)


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


def _read_labels(archive, members, name, counts):
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
    if (values.dtype.kind not in 'iu' or values.shape != (counts[split],) or
        (len(values) and not 0 <= values.min() <= values.max() < len(class_names))):
      raise SketchRNNError(
          '%s[%s_labels]: expected %d class indices in [0, %d), got %s %s' % (
              name, split, counts[split], len(class_names), values.dtype,
              values.shape))
    labels[split] = values.astype(np.int64)
  return dict(labels=labels, class_names=class_names)
