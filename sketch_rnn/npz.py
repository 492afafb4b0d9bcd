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

`load_npz` is the one reader; the loader (data.py) and the cache (data_cache.py)
build on what it returns.
"""

import os
import pickle
import zipfile

import numpy as np

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
