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
"""A stroke-3 .npz in QuickDraw's layout, written from flat int16 points.

Each split is an object array of int16 [n, 3] arrays, pickled as numpy pickles
them (protocol 3, numpy.core.multiarray._reconstruct, which every numpy version
loads; np.load(allow_pickle=True) and npz.load_npz read it), but the pickle is
written here, a sketch at a time, from one flat array: pickling tens of thousands
of small arrays through ndarray.__reduce__ cost more than building them. Nothing
in it is memoized but the shared globals and dtypes, so a reader holds one
sketch's bytes at a time. Deflate at level 1: a few percent larger than
np.savez_compressed's level 6, several times faster.
"""

import struct
import zipfile

import numpy as np

from sketch_rnn import files

COMPRESSLEVEL = 1
_APPENDS = 1000  # elements per APPENDS, as pickle batches them

# The globals (memo 1, 2, 5), the (0,) and b'b' of _reconstruct (3, 4) and
# dtype('int16') (6, defined once and popped).
_HEAD = (b'\x80\x03'
         b'cnumpy.core.multiarray\n_reconstruct\nq\x01'
         b'cnumpy\nndarray\nq\x02'
         b'K\x00\x85q\x03C\x01bq\x04'
         b'cnumpy\ndtype\nq\x05'
         b'X\x02\x00\x00\x00i2\x89\x88\x87Rq\x06'
         b'(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb0')
_OUTER = (b'h\x01h\x02h\x03h\x04\x87R(K\x01J%s\x85'
          b'h\x05X\x02\x00\x00\x00O8\x89\x88\x87R'
          b'(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb'
          b'\x89]')
_TAIL = b'tb.'
_BEFORE_N = b'h\x01h\x02h\x03h\x04\x87R(K\x01J'
_BETWEEN = b'K\x03\x86h\x06\x89B'
_AFTER = b'tb'


def pickled_sketches(rows, starts, lengths):
  """The pickle of an object array of int16 [n, 3] sketches, sketch k being
  rows[starts[k]:starts[k] + lengths[k]], as bytes blocks."""
  rows = np.ascontiguousarray(rows, dtype='<i2')
  data = memoryview(rows).cast('B')
  yield _HEAD + _OUTER % struct.pack('<i', len(lengths))
  pack_n, pack_bytes = struct.Struct('<i').pack, struct.Struct('<I').pack
  starts = (np.asarray(starts, np.int64) * 6).tolist()
  sizes = (np.asarray(lengths, np.int64) * 6).tolist()
  for a in range(0, len(sizes), _APPENDS):
    block = [b'(']
    for start, size in zip(starts[a:a + _APPENDS], sizes[a:a + _APPENDS]):
      block += [_BEFORE_N, pack_n(size // 6), _BETWEEN, pack_bytes(size),
                data[start:start + size], _AFTER]
    block.append(b'e')
    yield b''.join(block)
  yield _TAIL


def _member(archive, name):
  return archive.open(name + '.npy', 'w', force_zip64=True)


def write(path, splits, arrays=None):
  """Writes path (atomically): splits {name: (rows, starts, lengths)} as object
  arrays of int16 sketches, arrays {name: array} as plain .npy members."""
  with files.atomic_write(path, 'wb') as f:
    with zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_DEFLATED,
                         compresslevel=COMPRESSLEVEL) as archive:
      for name, (rows, starts, lengths) in splits.items():
        with _member(archive, name) as member:
          np.lib.format.write_array_header_1_0(member, {
              'descr': '|O', 'fortran_order': False, 'shape': (len(lengths),)})
          for block in pickled_sketches(rows, starts, lengths):
            member.write(block)
      for name, array in (arrays or {}).items():
        with _member(archive, name) as member:
          np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
