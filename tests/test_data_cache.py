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
"""The memory-mapped cache (the loaders it gives are the .npz's, bit for bit; it is
rebuilt when stale or corrupt), the chunked float32 std and the O(B) sampler."""

import os
import subprocess
import sys

import numpy as np
import pytest

from sketch_rnn import data
from sketch_rnn import data_cache
from sketch_rnn import flat
from sketch_rnn import utils
from sketch_rnn.errors import SketchRNNError

from conftest import tiny_hparams


def obj(sketches):
  a = np.empty(len(sketches), dtype=object)
  for i, s in enumerate(sketches):
    a[i] = s
  return a


def write(path, seed=0, n=(60, 20, 20), dtype=np.int16, big=False, labels=False):
  gen = np.random.default_rng(seed)
  arrays = {}
  for split, count in zip(utils.SPLITS, n):
    sketches = []
    for length in gen.integers(1, 40, size=count):
      s = gen.integers(-60, 61, size=(int(length), 3)).astype(dtype)
      s[:, 2] = gen.random(int(length)) < 0.2
      s[-1, 2] = 1
      if big and gen.random() < 0.1:
        s[0, 1] = -5000  # beyond the loader's limit: clamped in a copy
      sketches.append(s)
    arrays[split] = obj(sketches)
    if labels:
      arrays[split + '_labels'] = gen.integers(0, 3, size=count)
  if labels:
    arrays['class_names'] = np.array(['a', 'b', 'c'])
  np.savez(path, **arrays)
  return path


def loaders(folder, names, cache, **kw):
  hps = tiny_hparams(data_set=names, batch_size=10, random_scale_factor=0.15,
                     augment_stroke_prob=0.1)
  return utils.load_dataset(str(folder), hps, seed=3, cache=cache, **kw)


def assert_same(a, b):
  """Two load_dataset results: the same sketches, classes, factor and batches."""
  assert a[3].max_seq_len == b[3].max_seq_len
  for x, y in zip(a[:3], b[:3]):
    np.testing.assert_array_equal(x.source_index, y.source_index)
    np.testing.assert_array_equal(x.labels, y.labels)
    assert x.class_names == y.class_names
    assert x.scale_factor == y.scale_factor and x.scale_factor.dtype == np.float32
    for i in range(0, len(x), 7):
      np.testing.assert_array_equal(x.strokes[i], y.strokes[i])
    for i in range(x.num_batches):
      np.testing.assert_array_equal(x.get_batch(i)[1], y.get_batch(i)[1])
  for _ in range(4):
    (xs, xb, xl), (ys, yb, yl) = a[0].random_batch(), b[0].random_batch()
    np.testing.assert_array_equal(xb, yb)
    np.testing.assert_array_equal(xl, yl)
    for u, v in zip(xs, ys):
      np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize('kind', ['int16', 'clamped', 'float64', 'labels'])
def test_cached_loaders_are_the_npz_loaders(tmp_path, kind):
  write(tmp_path / 'a.npz', dtype=np.float64 if kind == 'float64' else np.int16,
        big=kind == 'clamped', labels=kind == 'labels')
  cached = loaders(tmp_path, ['a.npz'], cache=True)
  assert os.listdir(tmp_path / data_cache.FOLDER)
  assert_same(cached, loaders(tmp_path, ['a.npz'], cache=False))
  # int16 within the limit: the loader reads the memory map, copying nothing
  assert cached[0]._points.flags.writeable == (kind in ('clamped', 'float64'))  # pylint: disable=protected-access
  assert_same(loaders(tmp_path, ['a.npz'], cache=True),  # now read from the cache
              loaders(tmp_path, ['a.npz'], cache=False))


def test_several_files_and_a_given_factor(tmp_path):
  write(tmp_path / 'a.npz', seed=1, labels=True)
  write(tmp_path / 'b.npz', seed=2, n=(30, 10, 40))
  for kw in ({}, dict(scale_factor=np.float32(7.5))):
    assert_same(loaders(tmp_path, ['a.npz', 'b.npz'], cache=True, **kw),
                loaders(tmp_path, ['a.npz', 'b.npz'], cache=False, **kw))


def test_rebuilt_when_the_npz_changes_or_the_cache_is_corrupt(tmp_path, capsys):
  path = write(tmp_path / 'a.npz', seed=1)
  loaders(tmp_path, ['a.npz'], cache=True)
  root = tmp_path / data_cache.FOLDER
  first = os.listdir(root)
  write(path, seed=2)  # a new file of the same name: a new cache, the old one gone
  assert_same(loaders(tmp_path, ['a.npz'], cache=True),
              loaders(tmp_path, ['a.npz'], cache=False))
  (second,) = os.listdir(root)
  assert first != [second]
  assert 'its .npz changed' in capsys.readouterr().err
  points = root / second / 'train_points.npy'
  with open(points, 'r+b') as f:
    f.truncate(os.path.getsize(points) - 6)
  meta = root / second / 'meta.json'
  for damage in (lambda: None, lambda: meta.write_text('{"version": 1')):
    damage()
    assert_same(loaders(tmp_path, ['a.npz'], cache=True),
                loaders(tmp_path, ['a.npz'], cache=False))
    err = capsys.readouterr().err
    assert 'rebuilding it' in err and len(err.strip().splitlines()) == 1
  assert os.listdir(root) == [second]


def test_falls_back_to_the_user_cache_when_the_folder_is_not_writable(
    tmp_path, monkeypatch):
  (tmp_path / 'data').mkdir()
  write(tmp_path / 'data' / 'a.npz')
  (tmp_path / 'data' / data_cache.FOLDER).write_text('in the way')  # cannot mkdir
  monkeypatch.setenv('SKETCH_RNN_CACHE', str(tmp_path / 'home'))
  assert_same(loaders(tmp_path / 'data', ['a.npz'], cache=True),
              loaders(tmp_path / 'data', ['a.npz'], cache=False))
  assert len(os.listdir(tmp_path / 'home' / 'npz')) == 1
  (tmp_path / 'data' / 'b.npz').write_bytes(b'not a zip')
  with pytest.raises(SketchRNNError, match='b.npz: not a readable .npz'):
    data_cache.load(str(tmp_path / 'data' / 'b.npz'))


@pytest.mark.parametrize('chunk', [128, 1000, 4096])
def test_chunked_std_is_numpys_bit_for_bit(monkeypatch, chunk):
  monkeypatch.setattr(flat, 'CHUNK', chunk)
  gen = np.random.default_rng(chunk)
  for n in (1, 2, 127, 129, 5000, 33333):
    points = gen.integers(-300, 301, size=(n, 3)).astype(np.int16)
    loader = utils.DataLoader(flat.FlatSplit(points, [0], [n]), batch_size=1,
                              max_seq_length=n)
    loader.normalize(np.float32(gen.random() * 30 + 0.5))
    values = points[:, 0:2].astype(np.float32)
    for divisor in loader._divisors:  # pylint: disable=protected-access
      values /= divisor
    expected = np.std(values.reshape(-1))
    got = loader.calculate_normalizing_scale_factor()
    assert got == expected and got.dtype == expected.dtype


def test_distinct_sampler_draws_distinct_uniform_seeded_batches():
  n, k, draws = 40, 8, 4000
  rng = np.random.RandomState(0)
  counts, firsts = np.zeros(n), np.zeros(n)
  for _ in range(draws):
    idx = flat.distinct(rng, n, k)
    assert len(np.unique(idx)) == k and idx.min() >= 0 and idx.max() < n
    counts[np.asarray(idx)] += 1
    firsts[idx[0]] += 1
  # chi-square, n - 1 = 39 degrees of freedom: mean 39, sd about 8.8
  for observed, total in ((counts, draws * k), (firsts, draws)):
    chi2 = ((observed - total / n) ** 2 / (total / n)).sum()
    assert 10 < chi2 < 39 + 6 * 8.8
  assert sorted(flat.distinct(np.random.RandomState(1), 5, 5)) == list(range(5))
  np.testing.assert_array_equal(flat.distinct(np.random.RandomState(4), 10**9, 100),
                                flat.distinct(np.random.RandomState(4), 10**9, 100))
  sketches = [np.array([[1, 2, 0], [3, 4, 1]] * (i % 5 + 1), np.int16)
              for i in range(30)]
  loader = utils.DataLoader(sketches, batch_size=30, sampler='distinct',
                            rng=np.random.RandomState(2))
  lengths = sorted(loader.random_batch()[2])
  assert lengths == sorted(len(s) for s in sketches)  # all of them, once each
  with pytest.raises(SketchRNNError, match="sampler 'fast': expected one of"):
    utils.DataLoader(sketches, sampler='fast')


def test_both_samplers_draw_every_ordered_batch_equally_often():
  """Magenta's draw (a permutation's first k) and 'distinct' give each ordered
  k-tuple of distinct sketches probability (n - k)! / n!: chi-square over the
  ordered pairs at the front and at the back of the batch."""
  n, k, draws = 8, 3, 5600
  pairs = n * (n - 1)
  for name in ('magenta', 'distinct'):
    rng = np.random.RandomState(3)
    front, back = np.zeros((n, n)), np.zeros((n, n))
    for _ in range(draws):
      idx = (rng.permutation(n)[:k] if name == 'magenta'
             else flat.distinct(rng, n, k))
      assert len(set(idx.tolist())) == k
      front[idx[0], idx[1]] += 1
      back[idx[k - 2], idx[k - 1]] += 1
    for observed in (front, back):
      assert np.trace(observed) == 0  # never the same sketch twice
      cells = observed[~np.eye(n, dtype=bool)]
      chi2 = ((cells - draws / pairs) ** 2 / (draws / pairs)).sum()
      # 55 degrees of freedom: mean 55, sd about 10.5
      assert 15 < chi2 < 55 + 6 * 10.5, (name, chi2)


def test_auto_sampler_is_magentas_up_to_its_limit_then_distinct(monkeypatch):
  sketches = [np.array([[1, 2, 0], [3, 4, 1]] * (i % 7 + 1), np.int16)
              for i in range(50)]

  def batches(sampler):
    loader = utils.DataLoader(sketches, batch_size=5, sampler=sampler,
                              random_scale_factor=0.1, augment_stroke_prob=0.2,
                              rng=np.random.RandomState(9))
    return loader.batch_sampler, [loader.random_batch()[1] for _ in range(3)]

  def same(a, b):
    return a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1], b[1]))

  assert batches('auto')[0] == 'magenta' and same(batches('auto'), batches('magenta'))
  monkeypatch.setattr(flat, 'MAGENTA_SAMPLER_UP_TO', 49)
  assert batches('auto')[0] == 'distinct' and same(batches('auto'),
                                                   batches('distinct'))
  assert not same(batches('magenta'), batches('distinct'))


def test_the_gather_and_the_flat_copy_a_block_at_a_time(monkeypatch):
  gen = np.random.default_rng(7)
  sketches = [gen.integers(-2000, 2000, size=(int(n), 3)).astype(np.int16)
              for n in gen.integers(1, 90, size=200)]
  for s in sketches:
    s[:, 2] = s[:, 0] > 0
  whole = utils.DataLoader(sketches, batch_size=5, max_seq_length=80)
  monkeypatch.setattr(data, 'CHUNK', 37)  # rows per block: smaller than a sketch
  split = flat.from_sketches(list(sketches), np.argsort(
      [len(s) for s in sketches]))
  for blocks in (utils.DataLoader(sketches, batch_size=5, max_seq_length=80),
                 utils.DataLoader(split, batch_size=5, max_seq_length=80)):
    np.testing.assert_array_equal(blocks.source_index, whole.source_index)
    np.testing.assert_array_equal(blocks._points, whole._points)  # pylint: disable=protected-access
  for k in (0, 17, 199):
    np.testing.assert_array_equal(
        split.points[split.starts[k]:split.starts[k] + split.lengths[k]], sketches[k])


@pytest.mark.slow
def test_processes_building_one_cache_at_once_all_get_it(tmp_path):
  write(tmp_path / 'a.npz', n=(3000, 100, 100))
  code = ('import sys; from sketch_rnn import data_cache; c = data_cache.load('
          'sys.argv[1]); print(float(c["train_factor"]), int(c["splits"]'
          '["train"].lengths.sum()))')
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
             SKETCH_RNN_CACHE=str(tmp_path / 'home'))
  procs = [subprocess.Popen([sys.executable, '-c', code, str(tmp_path / 'a.npz')],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env) for _ in range(3)]
  outs = [p.communicate(timeout=120) for p in procs]
  assert [p.returncode for p in procs] == [0, 0, 0], outs
  assert len({out for out, _ in outs}) == 1 and not any(err for _, err in outs)
  assert len(os.listdir(tmp_path / data_cache.FOLDER)) == 1  # no half-built one
  assert not os.path.exists(tmp_path / 'home')  # a lost race is no fallback
  assert_same(loaders(tmp_path, ['a.npz'], cache=True),
              loaders(tmp_path, ['a.npz'], cache=False))
