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
"""The memory-mapped cache of a stroke .npz (docs/data.md, "The cache").

Built once from what npz.load_flat read and checked, next to the .npz (in
`.sketch_rnn_cache/`), or under $SKETCH_RNN_CACHE or ~/.cache/sketch_rnn when that
folder is not writable. Each split is kept as .npy files: its points, in the order
the DataLoader sorts them into, and each sketch's start and length in the file's
order, so a loader maps the points and copies nothing, and every process of a
study on one host shares one copy in the page cache.

A cache is named and checked by a key: the format version, the .npz's size and its
zip directory (member names, sizes, CRC-32s; read without decompressing), so a
changed .npz gets a new cache. Opening checks every file's size and the hash of
the small arrays; a cache that fails is rebuilt, with a log line. A cache is
written in a temporary folder and renamed into place, so no process sees half of
one.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

from sketch_rnn import data
from sketch_rnn import flat
from sketch_rnn import npz
from sketch_rnn.errors import SketchRNNError

# Raised when what is stored, or how, changes: old caches are then rebuilt.
FORMAT_VERSION = 1
FOLDER = '.sketch_rnn_cache'


def _log(message):
  print('sketch_rnn data cache: %s' % message, file=sys.stderr, flush=True)


def npz_key(path):
  """The hash that names path's cache: changes whenever the .npz does."""
  digest = hashlib.sha256(b'sketch_rnn cache %d\n' % FORMAT_VERSION)
  digest.update(b'%d\n' % os.path.getsize(path))
  try:
    with zipfile.ZipFile(path) as archive:
      for info in archive.infolist():
        digest.update(('%s %d %d %d\n' % (info.filename, info.file_size,
                                          info.compress_size, info.CRC)).encode())
  except (zipfile.BadZipFile, OSError) as e:
    raise SketchRNNError('%s: not a readable .npz file (%s)' % (path, e)) from None
  return digest.hexdigest()


def _roots(path):
  """Where path's cache may live, in order of preference."""
  beside = os.path.join(os.path.dirname(os.path.abspath(path)), FOLDER)
  home = os.environ.get('SKETCH_RNN_CACHE') or os.path.join(
      os.path.expanduser('~'), '.cache', 'sketch_rnn')
  return [beside, os.path.join(home, 'npz')]


def _name(path, key):
  where = hashlib.sha256(os.path.abspath(path).encode('utf-8')).hexdigest()[:8]
  return '%s-%s-%s' % (os.path.basename(path), where, key[:16])


def _hash_arrays(arrays):
  digest = hashlib.sha256()
  for array in arrays:
    digest.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data)
  return digest.hexdigest()


def _build(path, folder):
  """Reads path with load_flat and writes its cache as `folder`."""
  loaded = npz.load_flat(path, labels=True)
  labels = loaded.get('labels') or {}
  flats = {}
  for split in data.SPLITS:
    flats[split] = tuple(loaded.pop(split)) + (labels.get(split),)
  _write(path, folder, flats, loaded.get('class_names'))


def _write(path, folder, flats, class_names):
  """Writes a cache as `folder`, atomically. flats: {split: (points, file-order
  starts, lengths, max |dx|, |dy|, labels or None)}; the points are written in
  the loaders' order."""
  parent = os.path.dirname(folder)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix='.building-')
  try:
    meta = dict(version=FORMAT_VERSION, npz=os.path.abspath(path),
                key=os.path.basename(folder), splits={}, files={},
                class_names=class_names)
    small = []
    for split in data.SPLITS:
      points, starts, lengths, max_abs, labels = flats.pop(split)
      starts = _save_points(os.path.join(tmp, '%s_points.npy' % split), points,
                            np.asarray(starts, np.int64), lengths)
      arrays = dict(starts=starts, lengths=lengths)
      if labels is not None:
        arrays['labels'] = labels
      for kind, array in arrays.items():
        np.save(os.path.join(tmp, '%s_%s.npy' % (split, kind)), array)
      small += [arrays[k] for k in sorted(arrays)]
      meta['splits'][split] = dict(n=len(lengths), points=len(points),
                                   dtype=points.dtype.str, max_abs=max_abs)
      del points
      if split == 'train':
        # load_dataset's factor for this file alone, computed once here.
        meta['train_factor'] = float(_factor(os.path.join(tmp, 'train'), max_abs))
    meta['hash'] = _hash_arrays(small)
    for name in sorted(os.listdir(tmp)):
      meta['files'][name] = os.path.getsize(os.path.join(tmp, name))
    with open(os.path.join(tmp, 'meta.json'), 'w') as f:
      json.dump(meta, f, indent=1)
    try:
      os.rename(tmp, folder)
    except OSError:
      if not os.path.isdir(folder):
        raise
      # Another process built it first: theirs is the same, keep it.
  finally:
    if os.path.isdir(tmp):
      shutil.rmtree(tmp, ignore_errors=True)


def _save_points(name, points, starts, lengths):
  """Writes the points as a .npy in the loaders' order (their argsort of the
  lengths), a block of sketches at a time, not a second copy in memory; returns
  each sketch's start there."""
  order = np.argsort(lengths)
  placed = np.empty_like(lengths)
  placed[order] = np.cumsum(lengths[order]) - lengths[order]
  if np.array_equal(placed, starts) and len(points) == lengths.sum():
    np.save(name, points)  # in that order already
    return starts
  with open(name, 'wb') as f:
    np.lib.format.write_array_header_1_0(f, {
        'descr': np.lib.format.dtype_to_descr(points.dtype), 'fortran_order': False,
        'shape': (int(lengths.sum()), 3)})
    ends = np.cumsum(lengths[order])
    a = 0
    while a < len(order):
      b = max(a + 1, int(np.searchsorted(ends, ends[a] + data.CHUNK, 'right')))
      rows = points[flat.ranges(starts[order[a:b]], lengths[order[a:b]])]
      f.write(np.ascontiguousarray(rows).data)
      a = b
  return placed


def _split(prefix, meta_split):
  arrays = {}
  for kind in ('points', 'starts', 'lengths', 'labels'):
    name = '%s_%s.npy' % (prefix, kind)
    if kind == 'labels' and not os.path.exists(name):
      continue
    arrays[kind] = np.load(name, mmap_mode='r', allow_pickle=False)
  return data.FlatSplit(arrays['points'], arrays['starts'], arrays['lengths'],
                        meta_split['max_abs'] if meta_split else None), arrays


def _factor(prefix, max_abs):
  # With the largest offset known, the loader uses the map as it is (no copy).
  split, _ = _split(prefix, dict(max_abs=max_abs))
  loader = data.DataLoader(split, batch_size=1,
                           max_seq_length=int(np.max(split.lengths, initial=0)))
  return loader.calculate_normalizing_scale_factor()


def _open(folder):
  """The cache in folder, checked; SketchRNNError says what is wrong with it."""
  try:
    with open(os.path.join(folder, 'meta.json')) as f:
      meta = json.load(f)
    if meta.get('version') != FORMAT_VERSION or meta.get(
        'key') != os.path.basename(folder):
      raise SketchRNNError('made for another file or format')
    for name, size in meta['files'].items():
      if os.path.getsize(os.path.join(folder, name)) != size:
        raise SketchRNNError('%s has the wrong size' % name)
    result = dict(splits={}, labels={}, class_names=meta['class_names'],
                  train_factor=np.float32(meta['train_factor']))
    small = []
    for split in data.SPLITS:
      flat, arrays = _split(os.path.join(folder, split), meta['splits'][split])
      small += [np.asarray(arrays[k]) for k in sorted(arrays) if k != 'points']
      info = meta['splits'][split]
      if (flat.points.shape != (info['points'], 3) or
          flat.points.dtype.str != info['dtype'] or
          flat.lengths.shape != (info['n'],) or flat.starts.shape != (info['n'],)):
        raise SketchRNNError('%s arrays do not match meta.json' % split)
      result['splits'][split] = flat
      if 'labels' in arrays:
        result['labels'][split] = np.asarray(arrays['labels'])
    if _hash_arrays(small) != meta['hash']:
      raise SketchRNNError('starts, lengths or labels do not match their hash')
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise SketchRNNError('unreadable (%s: %s)' % (type(e).__name__, e)) from None
  return result


def folder_for(path, root=0):
  """Where path's cache goes: beside it (root 0) or in the user cache (root 1)."""
  return os.path.join(_roots(path)[root], _name(path, npz_key(path)))


def load(path):
  """path's splits, from its cache (built first if missing, stale or corrupt).

  Returns {'splits': {split: data.FlatSplit of memory maps}, 'labels': {split:
  int64 array} or {}, 'class_names': list or None, 'train_factor': float32}.
  """
  if not os.path.exists(path):
    raise SketchRNNError('%s: no such file' % path)
  name = _name(path, npz_key(path))
  roots = _roots(path)
  for root in roots:
    folder = os.path.join(root, name)
    if os.path.isdir(folder):
      try:
        return _open(folder)
      except SketchRNNError as e:
        _log('%s: %s; rebuilding it' % (folder, e))
        shutil.rmtree(folder, ignore_errors=True)
  problems = []
  for root in roots:
    folder = os.path.join(root, name)
    try:
      _build(path, folder)
    except OSError as e:  # not writable: the next place
      problems.append('%s (%s)' % (root, e))
      continue
    _remove_stale(root, name)
    return _open(folder)
  raise SketchRNNError('%s: cannot write its cache in %s' % (
      path, ' or '.join(problems)))


def _remove_stale(root, name):
  """Caches of earlier versions of the same .npz: their file changed."""
  stem = name[:name.rindex('-')]
  for other in os.listdir(root):
    if other != name and other.startswith(stem + '-') and len(other) == len(name):
      _log('%s: its .npz changed; removing it' % os.path.join(root, other))
      shutil.rmtree(os.path.join(root, other), ignore_errors=True)
