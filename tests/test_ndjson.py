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
"""The fast ndjson path (sketch_rnn/ndjson.py) against the plain one: json.loads
per line, the textbook RDP recursion and stroke-3 made one drawing at a time;
the same drawings, words, skipped counts and first errors, with any number of
workers; and the writer's .npz as np.load reads it."""

import json
import os

import numpy as np
import pytest

from sketch_rnn import datasets
from sketch_rnn import ndjson
from sketch_rnn import npz
from sketch_rnn import npz_write

from conftest import REPO, run_data_tool
from test_datasets import reference_rdp

DATA = os.path.join(REPO, 'tests', 'data')


def reference_stroke3(strokes, epsilon):
  """One drawing, the plain way: scaled to 0-255, each stroke simplified by the
  recursion, rounded, repeats dropped, as stroke-3 rows."""
  lines = [np.stack([np.asarray(xs, float), np.asarray(ys, float)], 1)
           for xs, ys in strokes]
  points = np.concatenate(lines)
  low = points.min(axis=0)
  span = (points.max(axis=0) - low).max()
  factor = 255.0 / span if span > 0 else 1.0
  rows, previous = [], None
  for line in lines:
    line = (line - low) * factor
    kept = reference_rdp(line, epsilon) if epsilon > 0 else range(len(line))
    pixels = np.round(line[list(kept)]).astype(np.int64)
    pixels = [p for k, p in enumerate(pixels) if k == 0 or (p != pixels[k - 1]).any()]
    for k, p in enumerate(pixels):
      d = p if previous is None else p - previous
      rows.append([d[0], d[1], int(k == len(pixels) - 1)])
      previous = p
  return np.array(rows, np.int16)


def plain(path, epsilon=2.0, recognized_only=False):
  """Every drawing of an ndjson file by json.loads and reference_stroke3."""
  sketches, words = [], []
  for line in open(path, encoding='utf-8'):
    if line.strip():
      record = json.loads(line)
      if not (recognized_only and record.get('recognized') is False):
        sketches.append(reference_stroke3(
            [(s[0], s[1]) for s in record['drawing']], epsilon))
        words.append(record.get('word'))
  return sketches, words


def fast(paths, **kw):
  built = ndjson.build(paths if isinstance(paths, list) else [paths], **kw)
  return (np.split(built.rows, np.cumsum(built.lengths)[:-1]) if len(built.lengths)
          else []), built.words, built.skipped


def same(a, b):
  return len(a) == len(b) and all(np.array_equal(x, y) and x.dtype == y.dtype
                                  for x, y in zip(a, b))


@pytest.mark.parametrize('name', ['cat_raw.ndjson', 'cat_simplified.ndjson'])
@pytest.mark.parametrize('epsilon', [2.0, 0.0, 7.0])
def test_fast_path_gives_the_plain_paths_drawings_on_the_fixtures(name, epsilon):
  path = os.path.join(DATA, name)
  for recognized_only in (False, True):
    sketches, words = plain(path, epsilon, recognized_only)
    got, got_words, skipped = fast(path, epsilon=epsilon,
                                   recognized_only=recognized_only)
    assert same(got, sketches) and got_words == words and skipped == 0


def random_drawing(gen, raw):
  strokes = []
  for _ in range(int(gen.integers(1, 6))):
    n = int(gen.integers(1, 30))
    xy = np.cumsum(gen.integers(-9, 10, size=(n, 2)), axis=0) + 300
    stroke = [xy[:, 0].tolist(), xy[:, 1].tolist()]
    if raw:
      stroke.append(np.cumsum(gen.integers(0, 50, n)).tolist())
    strokes.append(stroke)
  return strokes


def test_fast_path_gives_the_plain_paths_drawings_on_generated_files(tmp_path):
  gen = np.random.default_rng(4)
  for raw in (False, True):
    path = tmp_path / ('gen_%d.ndjson' % raw)
    with open(path, 'w') as f:
      for i in range(400):
        f.write(json.dumps({'word': 'ab'[i % 2], 'recognized': bool(i % 3),
                            'drawing': random_drawing(gen, raw)},
                           separators=(',', ':')) + '\n')
    for recognized_only in (False, True):
      sketches, words = plain(str(path), 2.0, recognized_only)
      got, got_words, _ = fast(str(path), recognized_only=recognized_only)
      assert same(got, sketches) and got_words == words


# Lines the fast path must read as json.loads does, or leave to it.
GOOD = [
    '{"word":"a","drawing":[[[1,2,3],[4,5,6]]]}',
    '{"word":"a","recognized":true,"drawing":[[[7],[8]],[[1,1],[2,2]]]}',  # 1 point
    '{ "word" : "b" , "drawing" : [ [ [ 1 , 20 ] , [ 3 , 40 ] ] ] }',  # spaces
    '\t{"word":"a",\t"drawing":[[[1,\t2],[3,4]]]}  ',
    '{"word":"caf\u00e9","drawing":[[[1,2],[3,4]]]}',  # UTF-8 written as is
    '{"word":"caf\\u00e9","drawing":[[[1,2],[3,4]]]}',  # and escaped
    '{"word":"a","drawing":[[[1.5,-2.25e1,3E+2,-0.5],[4e-1,5,0.0,-0]]]}',
    '{"word":"a","drawing":[[[-0,0,-7],[1,-1,12345678]]]}',
    '{"word":"a","drawing":[[[123456789012345,2],[3,4]]]}',  # 15 digits
    '{"word":"a","drawing":[[[1234567890123456789,2],[3,4]]]}',  # 19: json.loads
    '{"word":"a","drawing":[[[1,2],[3,4],[]]]}',  # empty times
    '{"word":"a","drawing":[[[1,2],[3,4],[10,20,30]]]}',  # times of another length
    '{"word":"a","drawing":[[[1,2],[3,4],["t","u"]]]}',  # times unchecked
    '{"drawing":[[[1,2],[3,4]]],"word":"z"}',  # drawing first
    '{"drawing":[[[1,2],[3,4]]],"word":"]"}',  # a ']' after it
    '{"drawing":[[[1,2],[3,4]]],"word":"a","list":[1]}',
    '{"word":"a","drawin\\u0067":0,"drawing":[[[1,2],[3,4]]]}',  # escaped key
    '{"word":"a","meta":{"drawing":1},"drawing":[[[1,2],[3,4]]]}',  # nested
    '{"word":"NaN","drawing":[[[1,2],[3,4]]]}',
    '{"word":"a","recognized":false,"drawing":[[[9,8],[7,6]]]}',
    '{"word":"a","recognized":null,"drawing":[[[9,8],[7,6]]]}',
    '{"key_id":"1","word":"cat","countrycode":"US","timestamp":"t","recognized":'
    'true,"drawing":[[[0,5],[5,0],[0,1]]]}',
    '{"word":"cat","countrycode":"US","timestamp":"t","recognized":false,'
    '"key_id":"2","drawing":[[[0,5,9],[5,0,9]]]}',
    '{"word":"x\\"drawing","drawing":[[[1,2],[3,4]]]}',
    '   ',
    '',
]
BAD = [
    '{"word":"a","drawing":[]}',  # no strokes
    '{"word":"a","drawing":[[]]}',
    '{"word":"a","drawing":[[[],[]]]}',  # empty stroke
    '{"word":"a","drawing":[[[1,2],[3]]]}',  # x, y lengths differ
    '{"word":"a","drawing":[[[1,2]]]}',  # one list
    '{"word":"a","drawing":[[[1],[2],[3],[4]]]}',  # four
    '{"word":"a","drawing":[[[1,"2"],[3,4]]]}',  # a string
    '{"word":"a","drawing":[[[1,true],[3,4]]]}',  # a boolean
    '{"word":"a","drawing":[[[1,null],[3,4]]]}',
    '{"word":"a","drawing":[[[1,NaN],[3,4]]]}',  # json.loads reads NaN
    '{"word":"a","drawing":[[[1,-Infinity],[3,4]]]}',
    '{"word":"a","drawing":[[[1,1e999],[3,4]]]}',  # inf
    '{"word":"a","drawing":[[[1,%s],[3,4]]]}' % ('9' * 400),  # beyond float64
    '{"word":"a","drawing":[[[01,2],[3,4]]]}',  # leading zero: not JSON
    '{"word":"a","drawing":[[[1.,2],[3,4]]]}',
    '{"word":"a","drawing":[[[.5,2],[3,4]]]}',
    '{"word":"a","drawing":[[[+1,2],[3,4]]]}',
    '{"word":"a","drawing":[[[1-2,2],[3,4]]]}',
    '{"word":"a","drawing":[[[1 2],[3,4]]]}',
    '{"word":"a","drawing":[[[1,2,],[3,4]]]}',
    '{"word":"a","drawing":[[[1,2][3,4]]]}',
    '{"word":"a","drawing":[[[1,2],[3,4]]]',  # truncated
    '{"word":"a","drawing":[[[1,2],[3,4]]]}}',
    '{"word":"a","drawing":[[[1,2],[3,4]]],"drawing":5}',  # the last one counts
    '{"word":"a","drawing":[[[1,2],[3,4]]],"drawin\\u0067":5}',
    '{"word":"a"}',
    '[1,2]',
    '{"word":"a","drawing":[[[1,2],[3,4]]]} x',
    '{"word":"a\u0001","drawing":[[[1,2],[3,4]]]}',  # a control character
]


def taken(line):
  """Whether the fast path reads this line (else json.loads does)."""
  split = ndjson.split_line(line)
  return split is not None and bool(ndjson.parse_drawings([split[1]])[0][0])


def test_edge_cases_read_as_json_loads_reads_them(tmp_path):
  # the fast path's own lines among them: spaces, escapes, floats, times, ...
  assert [k for k, line in enumerate(GOOD) if taken(line)] == [
      0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 16, 19, 20, 21, 22]
  assert not any(taken(line) for line in BAD)
  path = tmp_path / 'edges.ndjson'
  with open(path, 'w', encoding='utf-8', newline='') as f:
    for k, line in enumerate(GOOD + BAD + GOOD):
      f.write(line + ('\r\n' if k % 4 == 1 else '\n'))
  plain_sketches, plain_words, plain_skipped = datasets.build(
      datasets.read_ndjson(str(path)), skip_bad=True)
  for workers, chunk in ((1, ndjson.CHUNK_BYTES), (2, 100)):
    got, words, skipped = fast(str(path), skip_bad=True, workers=workers,
                               chunk_bytes=chunk)
    assert same(got, plain_sketches) and words == plain_words
    assert skipped == plain_skipped == len(BAD)
  # the first bad line's one error, as the plain reader gives it
  for k, line in enumerate(BAD):
    path = tmp_path / ('bad_%d.ndjson' % k)
    path.write_text('\n'.join(GOOD[:3] + [line] + GOOD[3:]) + '\n', encoding='utf-8')
    with pytest.raises(datasets.BadDrawing) as want:
      datasets.build(datasets.read_ndjson(str(path)))
    with pytest.raises(datasets.BadDrawing) as got:
      fast(str(path))
    assert str(got.value) == str(want.value) and 'line 4' in str(got.value)


def test_json_numbers_convert_as_json_loads_and_float64_do():
  numbers = ['0', '-0', '7', '-7', '12345678', '-99999999', '123456789',
             '999999999999999', '-123456789012345', '0.5', '-0.0', '1e2', '1E-2',
             '2.5e+3', '-1.25E1', '3.141592653589793', '0.1', '1e308', '5e-324']
  texts = ['[[[%s],[%s]]]' % (n, n) for n in numbers]
  ok, x, y, stroke_lengths, drawing_strokes = ndjson.parse_drawings(texts)
  assert ok.all() and stroke_lengths.tolist() == [1] * len(numbers)
  want = np.array([json.loads(n) for n in numbers], dtype=np.float64)
  assert np.array_equal(x.view(np.int64), want.view(np.int64))  # the sign of 0 too
  assert np.array_equal(y.view(np.int64), want.view(np.int64))
  not_json = ['01', '-01', '1.', '.5', '+1', '1e', '1e+', '--1', '1-2', '-', '1.2.3',
              '1e2e3', '0x1', '1_0', 'NaN', '1234567890123456']  # the last: 16 digits
  ok = ndjson.parse_drawings(['[[[%s],[1]]]' % n for n in not_json])[0]
  assert not ok.any()


def test_workers_give_the_same_drawings_and_errors(tmp_path):
  gen = np.random.default_rng(5)
  lines = [json.dumps({'word': 'xyz'[i % 3], 'drawing': random_drawing(gen, i % 2)})
           for i in range(240)]
  lines[190] = BAD[3]
  path = tmp_path / 'many.ndjson'
  path.write_text('\n'.join(lines) + '\n')
  one = ndjson.build([str(path)], skip_bad=True, workers=1)
  for workers, newline in ((2, '\n'), (3, '\n'), (2, '\r\n'), (2, '\r')):
    path.write_bytes((newline.join(lines) + newline).encode())
    many = ndjson.build([str(path)], skip_bad=True, workers=workers, chunk_bytes=2000)
    assert np.array_equal(many.rows, one.rows) and np.array_equal(many.lengths,
                                                                  one.lengths)
    assert many.words == one.words and many.skipped == one.skipped == 1
    with pytest.raises(datasets.BadDrawing, match='many.ndjson line 191: stroke 0'):
      ndjson.build([str(path)], workers=workers, chunk_bytes=2000)


def test_a_line_that_is_not_utf8_is_one_error(tmp_path):
  path = tmp_path / 'latin.ndjson'
  path.write_bytes(b'{"word":"a","drawing":[[[1,2],[3,4]]]}\n'
                   b'{"word":"caf\xe9","drawing":[[[1,2],[3,4]]]}\n')
  with pytest.raises(datasets.BadDrawing, match='latin.ndjson line 2: not UTF-8'):
    ndjson.build([str(path)])
  assert ndjson.build([str(path)], skip_bad=True).skipped == 1


def test_the_writer_is_numpys_layout(tmp_path):
  gen = np.random.default_rng(6)
  lengths = gen.integers(1, 400, 2100)
  rows = gen.integers(-1000, 1001, size=(int(lengths.sum()), 3)).astype(np.int16)
  rows[:, 2] = gen.random(len(rows)) < 0.2
  starts = np.cumsum(lengths) - lengths
  pick = {'train': gen.permutation(2100)[:2050], 'valid': np.arange(3),
          'test': np.zeros(0, np.int64)}
  path = str(tmp_path / 'w.npz')
  npz_write.write(path, {s: (rows, starts[i], lengths[i]) for s, i in pick.items()},
                  {'class_names': np.array(['a', 'b'])})
  loaded = np.load(path, allow_pickle=True)
  ours = npz.load_npz(path)
  for s, idx in pick.items():
    want = [rows[starts[i]:starts[i] + lengths[i]] for i in idx]
    assert loaded[s].dtype == object and same(list(loaded[s]), want)
    assert same(ours[s], want)
  assert loaded['class_names'].tolist() == ['a', 'b']


def test_the_tools_npz_is_the_plain_paths(tmp_path, capsys, reset_flags):
  paths = [os.path.join(DATA, n) for n in ('cat_raw.ndjson', 'cat_simplified.ndjson')]
  # two classes: the raw file's drawings and the simplified file's, renamed
  with open(tmp_path / 'two.ndjson', 'w') as f:
    for p, word in zip(paths, ('raw', 'simple')):
      for line in open(p):
        record = json.loads(line)
        record['word'] = word
        f.write(json.dumps(record) + '\n')
  sketches, _ = plain(str(tmp_path / 'two.ndjson'))
  words = ['raw'] * 3 + ['simple'] * 2
  want = datasets.split(sketches, words, datasets.parse_split('0.5,0.25,0.25'), 0)
  for workers in ('1', '2'):
    out = str(tmp_path / ('two_%s.npz' % workers))
    assert run_data_tool('ndjson', str(tmp_path / 'two.ndjson'), '--out=' + out,
                    '--split=0.5,0.25,0.25', '--workers=' + workers) in (0, None)
    got = npz.load_npz(out, labels=True)
    for s in datasets.SPLITS:
      assert same(got[s], want[s])
      assert got['labels'][s].tolist() == want[s + '_labels'].tolist()
    assert got['class_names'] == ['raw', 'simple']
  assert 'written included' in capsys.readouterr().out
