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
"""npz.load_flat's fast reader: the sketches np.load reads, in the DataLoader's
order, from every pickle layout (numpy's own, Python 2's as QuickDraw's files
are, protocol 2's, the builder's); the plain reader's result or error for
anything else; and a peak of memory under twice the points."""

import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from sketch_rnn import npz
from sketch_rnn import npz_write
from sketch_rnn.errors import SketchRNNError

from conftest import REPO, shared_path


def sketches(gen, n, dtype=np.int16, longest=60, shortest=1):
  out = []
  for length in gen.integers(shortest, longest, size=n):
    s = gen.integers(-200, 201, size=(int(length), 3)).astype(dtype)
    s[:, 2] = gen.random(int(length)) < 0.3
    out.append(s)
  return out


def obj(items):
  a = np.empty(len(items), dtype=object)
  for i, s in enumerate(items):
    a[i] = s
  return a


def py2_pickle(items):
  """An object array of int16 sketches as Python 2's numpy pickled them
  (QuickDraw's and aaron_sheep's files): BINSTRING data, each array memoized."""
  out = [b'\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02'
         b'K\x00\x85U\x01b\x87Rq\x03(K\x01J' + struct.pack('<i', len(items)) +
         b'\x85cnumpy\ndtype\nq\x04U\x02O8K\x00K\x01\x87Rq\x05(K\x03U\x01|NNN'
         b'J\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89]q\x06(']
  for k, s in enumerate(items):
    data = s.astype('<i2').tobytes()
    out.append(b'h\x01h\x02K\x00\x85U\x01b\x87Rr' + struct.pack('<I', 9 + k) +
               b'(K\x01J' + struct.pack('<i', len(s)) + b'K\x03\x86' +
               (b'h\x04U\x02i2K\x00K\x01\x87Rq\x08(K\x03U\x01<NNNJ\xff\xff\xff\xff'
                b'J\xff\xff\xff\xffK\x00tb' if k == 0 else b'h\x08') +
               b'\x89T' + struct.pack('<I', len(data)) + data + b'tb')
  out.append(b'etb.')
  return b''.join(out)


def write(path, splits, layout):
  """splits {name: list of sketches} in one of the layouts."""
  if layout == 'numpy':  # np.save's protocol 4, every bytes object memoized
    np.savez(path, **{k: obj(v) for k, v in splits.items()})
    return
  if layout == 'builder':
    flat = {}
    for k, v in splits.items():
      lengths = np.array([len(s) for s in v], np.int64)
      flat[k] = (np.concatenate(v) if v else np.zeros((0, 3), np.int16),
                 np.cumsum(lengths) - lengths, lengths)
    npz_write.write(path, flat)
    return
  with zipfile.ZipFile(path, 'w') as z:
    for k, v in splits.items():
      header = {'descr': '|O', 'fortran_order': False, 'shape': (len(v),)}
      with z.open(k + '.npy', 'w') as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(py2_pickle(v) if layout == 'python2' else
                     pickle.dumps(obj(v), protocol=2))  # _codecs.encode


def fast(path, split='train'):
  """The fast reader's FlatSplit of a split, or None where it reads the plain way."""
  with zipfile.ZipFile(path) as z:
    return npz._read_flat(z, split + '.npy', 'x')  # pylint: disable=protected-access


def check_flat(flat_split, want):
  points, starts, lengths, max_abs = flat_split
  assert lengths.tolist() == [len(s) for s in want]
  for s, a, n in zip(want, starts, lengths):
    got = points[a:a + n]
    assert got.dtype == s.dtype and np.array_equal(got, s)
  # in the loader's order: its argsort of the lengths, back to back
  order = np.argsort(lengths)
  assert np.array_equal(starts[order], np.cumsum(lengths[order]) - lengths[order])
  assert max_abs == max([float(np.abs(s[:, 0:2]).max()) for s in want], default=0.0)


@pytest.mark.parametrize('layout', ['numpy', 'builder', 'protocol2', 'python2'])
def test_every_layout_reads_fast_as_np_load_reads_it(tmp_path, layout):
  gen = np.random.default_rng(1)
  splits = {'train': sketches(gen, 300), 'valid': sketches(gen, 40),
            'test': [sketches(gen, 1)[0]]}
  path = str(tmp_path / 'a.npz')
  write(path, splits, layout)
  numpy_read = np.load(path, allow_pickle=True, encoding='latin1')
  for split, want in splits.items():
    assert all(np.array_equal(a, b) for a, b in zip(numpy_read[split], want))
    check_flat(fast(path, split), want)  # the fast reader, not the plain one
  loaded = npz.load_flat(path)
  for split, want in splits.items():
    check_flat(loaded[split], want)
    assert all(np.array_equal(a, b) for a, b in
               zip(npz.load_npz(path)[split], want))


def test_the_real_files_read_fast(tmp_path):
  for name in ('aaron_sheep.npz', 'short_kanji.npz'):
    path = shared_path('datasets', name)
    numpy_read = np.load(path, allow_pickle=True, encoding='latin1')
    for split in npz.SPLITS:
      check_flat(fast(path, split), list(numpy_read[split]))


def test_other_arrays_are_read_the_plain_way(tmp_path):
  gen = np.random.default_rng(2)
  good = sketches(gen, 20)
  mixed = good[:5] + [good[5].astype(np.float32)]  # two dtypes
  fortran = [np.asfortranarray(s) for s in good]
  floats = [s.astype(np.float64) * [0.5, 0.25, 1] for s in good]
  block = np.stack([s[:3] for s in good if len(s) >= 3])  # one numeric array
  shared = [good[0], good[1], good[0]]  # one array twice: pickled once
  for train, is_fast in ((mixed, False), (fortran, False), (floats, True),
                         (shared, False)):
    path = str(tmp_path / 'x.npz')
    np.savez(path, train=obj(train), valid=obj(good), test=obj(good))
    assert (fast(path) is not None) == is_fast
    loaded = npz.load_flat(path)
    points, starts, lengths, _ = loaded['train']
    for s, a, n in zip(train, starts, lengths):
      np.testing.assert_array_equal(points[a:a + n], s)
  np.savez(path, train=block, valid=obj(good), test=obj(good))
  check_flat(npz.load_flat(path)['train'], list(block))


@pytest.mark.parametrize('layout', ['numpy', 'builder', 'python2'])
def test_bad_values_get_the_plain_readers_error(tmp_path, layout, monkeypatch):
  gen = np.random.default_rng(3)
  for bad, message in (
      (lambda s: s.__setitem__((2, 2), 3), r'sketch 7: pen value 3 at point 2;'),
      (lambda s: s.__setitem__((1, 2), -1), r'sketch 7: pen value -1 at point 1;'),
  ):
    train = sketches(gen, 30, longest=20)
    train[7] = np.ones((5, 3), np.int16)
    train[12] = np.ones((5, 3), np.int16)
    bad(train[7])
    bad(train[12])  # the first in the file's order is named
    path = str(tmp_path / ('b_%s.npz' % layout))
    write(path, {'train': train, 'valid': train[:2], 'test': train[:2]}, layout)
    with pytest.raises(SketchRNNError, match=r'b_%s.npz\[train\] %s' % (layout, message)):
      npz.load_flat(path)
  monkeypatch.setattr(npz, 'MAX_SKETCH_POINTS', 15)
  train = [np.ones((n, 3), np.int16) for n in (3, 16, 20)]
  write(path, {'train': train, 'valid': train[:1], 'test': train[:1]}, layout)
  with pytest.raises(SketchRNNError, match=r'\[train\] sketch 1: 16 points, more than'):
    npz.load_flat(path)


def test_offsets_and_floats_are_checked(tmp_path):
  good = [np.ones((4, 3), np.float32)] * 3
  for value, message in ((np.inf, 'has a non-finite value at point 1'),
                         (2e5, r'offset \[200000.0, 1.0\] at point 1 is absurd')):
    bad = np.ones((4, 3), np.float32)
    bad[1, 0] = value
    path = str(tmp_path / 'f.npz')
    np.savez(path, train=obj(good), valid=obj([good[0], bad]), test=obj(good))
    with pytest.raises(SketchRNNError, match=r'f.npz\[valid\] sketch 1: ' + message):
      npz.load_flat(path)


def test_a_crafted_pickle_is_still_refused(tmp_path):
  evil = (b'\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x01\x85R.')
  path = str(tmp_path / 'evil.npz')
  with zipfile.ZipFile(path, 'w') as z:
    for split in npz.SPLITS:
      with z.open(split + '.npy', 'w') as member:
        np.lib.format.write_array_header_1_0(
            member, {'descr': '|O', 'fortran_order': False, 'shape': (1,)})
        member.write(evil)
  assert fast(path) is None
  with pytest.raises(SketchRNNError, match=r'refused to unpickle posix.system'):
    npz.load_flat(path)


PEAK = r'''
import json, sys
from sketch_rnn import npz
def hwm():
  for line in open('/proc/self/status'):
    if line.startswith('VmHWM:'):
      return int(line.split()[1]) * 1024
base = hwm()
loaded = npz.load_flat(sys.argv[1])
print(json.dumps(dict(peak=hwm() - base,
                      points=sum(len(loaded[s].points) for s in npz.SPLITS))))
'''


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists('/proc/self/status'), reason='Linux only')
@pytest.mark.parametrize('layout,most', [('numpy', 2.0), ('python2', 1.8),
                                         ('builder', 1.8)])
def test_a_fresh_npz_peaks_under_twice_its_points(tmp_path, layout, most):
  gen = np.random.default_rng(4)
  # QuickDraw-like: 125 points on average, about 30 MB of them
  train = sketches(gen, 40000, shortest=50, longest=200)
  path = str(tmp_path / 'big.npz')
  write(path, {'train': train, 'valid': train[:100], 'test': train[:100]}, layout)
  out = subprocess.run([sys.executable, '-c', PEAK, path], capture_output=True,
                       text=True, check=True, env=dict(os.environ, PYTHONPATH=REPO))
  r = json.loads(out.stdout)
  # the old reader's was 5 to 7 times: every sketch an array, then all concatenated
  assert r['peak'] < most * 6 * r['points'], (r, r['peak'] / 6 / r['points'])
