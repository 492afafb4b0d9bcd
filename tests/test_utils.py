"""The stroke helpers, safe .npz loading and Magenta's data pipeline."""

import functools
import http.server
import json
import os
import threading

import numpy as np
import pytest

from sketch_rnn import errors
from sketch_rnn import utils
from sketch_rnn.model import get_default_hparams
from sketch_rnn.errors import SketchRNNError

from conftest import BUNDLED, BUNDLED_SET, shared_path


def random_sketch(rng, n, lift_prob=0.2):
  s = np.zeros((n, 3), dtype=np.int16)
  s[:, 0:2] = rng.integers(-30, 31, size=(n, 2))
  s[:, 2] = rng.random(n) < lift_prob
  s[-1, 2] = 1
  return s


def write_npz(path, train, valid, test):
  def obj(sketches):
    a = np.empty(len(sketches), dtype=object)
    for i, s in enumerate(sketches):
      a[i] = s
    return a
  np.savez(path, train=obj(train), valid=obj(valid), test=obj(test))
  return path


def some_sketches(n, length=4, seed=0):
  gen = np.random.default_rng(seed)
  return [random_sketch(gen, length) for _ in range(n)]


def tiny_hparams(**kw):
  hps = get_default_hparams()
  hps.batch_size = 4
  for k, v in kw.items():
    hps.set_hparam(k, v)
  return hps


# --- stroke helpers ---------------------------------------------------------


def test_lines_strokes_round_trip():
  rng = np.random.default_rng(0)
  s = random_sketch(rng, 40).astype(float)
  lines = utils.strokes_to_lines(s)
  assert sum(len(line) for line in lines) == 40
  assert len(lines) == int(s[:, 2].sum())
  np.testing.assert_array_equal(utils.lines_to_strokes(lines), s)
  # absolute positions are the running sums of the offsets
  np.testing.assert_allclose(np.concatenate(lines), np.cumsum(s[:, 0:2], axis=0))


def test_big_strokes_round_trip():
  rng = np.random.default_rng(1)
  s = random_sketch(rng, 17).astype(float)
  big = utils.to_big_strokes(s, max_len=30)
  assert big.shape == (30, 5)
  np.testing.assert_array_equal(big[:17, 2] + big[:17, 3], 1)
  np.testing.assert_array_equal(big[17:, 4], 1)
  np.testing.assert_array_equal(utils.to_normal_strokes(big), s)


def test_get_bounds_and_interpolation():
  s = np.array([[10, 0, 0], [0, -20, 0], [-30, 5, 1]], dtype=float)
  assert utils.get_bounds(s, factor=1) == (-20, 10, -20, 0)
  p0, p1 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
  np.testing.assert_allclose(utils.slerp(p0, p1, 0.0), p0, atol=1e-12)
  np.testing.assert_allclose(utils.slerp(p0, p1, 1.0), p1, atol=1e-12)
  np.testing.assert_allclose(utils.lerp(p0, p1, 0.25), [0.75, 0.5])


def test_clean_strokes():
  big = np.array([[0.011, -0.02, 1, 0, 0], [0.5, 0.25, 0, 1, 0], [0, 0, 0, 0, 1],
                  [9, 9, 1, 0, 0]])
  assert utils.clean_strokes(big) == [[1, -2, 1, 0, 0], [50, 25, 0, 1, 0],
                                      [0, 0, 0, 0, 1]]


# --- augmentation -------------------------------------------------------------


def magenta_augment_strokes(strokes, prob, rng):
  """Magenta's loop, line for line, as the reference."""
  result = []
  prev_stroke = [0, 0, 1]
  count = 0
  stroke = [0, 0, 1]
  for i in range(len(strokes)):
    candidate = [strokes[i][0], strokes[i][1], strokes[i][2]]
    if candidate[2] == 1 or prev_stroke[2] == 1:
      count = 0
    else:
      count += 1
    urnd = rng.rand()
    if candidate[2] == 0 and prev_stroke[2] == 0 and count > 2 and urnd < prob:
      stroke[0] += candidate[0]
      stroke[1] += candidate[1]
    else:
      stroke = candidate
      prev_stroke = stroke
      result.append(stroke)
  return np.array(result)


@pytest.mark.parametrize('prob', [0.1, 0.5, 1.0])
def test_augment_equals_magentas_loop(prob):
  gen = np.random.default_rng(2)
  for trial in range(20):
    s = random_sketch(gen, int(gen.integers(1, 80)), 0.1).astype(np.float32)
    s[:, 0:2] /= 7.0
    ours = utils.augment_strokes(s, prob, np.random.RandomState(trial))
    ref = magenta_augment_strokes(s, prob, np.random.RandomState(trial))
    np.testing.assert_array_equal(ours, ref)


def test_augment_invariants():
  gen = np.random.default_rng(3)
  s = random_sketch(gen, 200, 0.05).astype(np.float32)
  out = utils.augment_strokes(s, 1.0, np.random.RandomState(0))
  assert len(out) < len(s)
  # total displacement is kept (integers, so exactly)
  np.testing.assert_array_equal(out[:, 0:2].sum(0), s[:, 0:2].sum(0))
  # every pen lift survives, so the strokes are the same in number
  assert out[:, 2].sum() == s[:, 2].sum()
  # each stroke keeps its first two points and its end point where they were
  # (a dropped point's offset is added to the kept point before it, which is at
  # least the stroke's third point)
  lines_in = utils.strokes_to_lines(s)
  lines_out = utils.strokes_to_lines(out)
  for a, b in zip(lines_in, lines_out):
    assert len(b) >= min(3, len(a))
    np.testing.assert_array_equal(a[:2], b[:2])
    np.testing.assert_array_equal(a[-1], b[-1])
  # prob 0 keeps everything
  np.testing.assert_array_equal(utils.augment_strokes(s, 0.0), s)


def test_random_scale_within_bounds():
  s = np.ones((5, 3), dtype=np.float32)
  loader = utils.DataLoader([s], batch_size=1, random_scale_factor=0.15,
                            rng=np.random.RandomState(0))
  for _ in range(200):
    out = loader.random_scale(loader.strokes[0])
    assert np.all((out[:, 0:2] >= 0.85) & (out[:, 0:2] <= 1.15))
    np.testing.assert_array_equal(out[:, 0], out[0, 0])  # one factor per axis
    np.testing.assert_array_equal(out[:, 2], 1)  # pen column untouched
  np.testing.assert_array_equal(loader.strokes[0], s)  # input not modified


# --- DataLoader -----------------------------------------------------------------


def test_loader_filters_clamps_sorts_and_pads():
  sketches = [
      np.array([[5, 5, 0], [2000, -3000, 1]], dtype=np.int16),  # clamped
      np.array([[1, 2, 0], [3, 4, 0], [5, 6, 1]], dtype=np.int16),
      np.array([[1, 1, 1]], dtype=np.int16),
      np.ones((9, 3), dtype=np.int16),  # longer than max_seq_length: dropped
  ]
  loader = utils.DataLoader(sketches, batch_size=2, max_seq_length=4)
  assert len(loader) == 3 and loader.num_batches == 1
  assert [len(s) for s in loader.strokes] == [1, 2, 3]  # sorted by length
  np.testing.assert_array_equal(loader.source_index, [2, 0, 1])
  np.testing.assert_array_equal(loader.strokes[1], [[5, 5, 0], [1000, -1000, 1]])
  assert loader.strokes[1].dtype == np.float32

  _, x, s = loader.get_batch(0)
  assert x.shape == (2, 5, 5) and x.dtype == np.float32
  np.testing.assert_array_equal(s, [1, 2])
  np.testing.assert_array_equal(x[:, 0], [[0, 0, 1, 0, 0]] * 2)  # start token
  np.testing.assert_array_equal(x[1, 1:3], [[5, 5, 1, 0, 0], [1000, -1000, 0, 1, 0]])
  np.testing.assert_array_equal(x[1, 3:], [[0, 0, 0, 0, 1]] * 2)  # end padding
  np.testing.assert_array_equal(x[0, 1], [1, 1, 0, 1, 0])
  np.testing.assert_array_equal(x[0, 2:], [[0, 0, 0, 0, 1]] * 3)
  with pytest.raises(IndexError):
    loader.get_batch(1)


def test_normalizing_factor_and_get_batch_order():
  gen = np.random.default_rng(4)
  train = [random_sketch(gen, int(n)) for n in gen.integers(1, 30, size=40)]
  loader = utils.DataLoader(train, batch_size=8, max_seq_length=30)
  factor = loader.calculate_normalizing_scale_factor()
  pooled = np.concatenate([s[:, 0:2] for s in train]).astype(np.float64).ravel()
  assert factor == pytest.approx(np.std(pooled), rel=1e-6)
  loader.normalize(factor)
  assert loader.num_batches == 5
  for b in range(loader.num_batches):
    _, x, lengths = loader.get_batch(b)
    for row in range(8):
      sketch = loader.strokes[b * 8 + row]
      assert lengths[row] == len(sketch)
      np.testing.assert_allclose(x[row, 1:len(sketch) + 1, 0:2], sketch[:, 0:2])
  normalised = np.concatenate([s[:, 0:2] for s in loader.strokes]).ravel()
  assert np.std(normalised.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)


def test_random_batch_is_without_replacement_and_seeded():
  train = [np.full((i % 7 + 1, 3), i, dtype=np.int16) for i in range(30)]
  for s in train:
    s[:, 2] = 0
  def batch(seed):
    loader = utils.DataLoader(train, batch_size=30, max_seq_length=10,
                              random_scale_factor=0.0, rng=np.random.RandomState(seed))
    return loader.random_batch()
  strokes, x, lengths = batch(7)
  ids = sorted(int(s[0, 0]) for s in strokes)
  assert ids == list(range(30))  # every sketch once
  np.testing.assert_array_equal(batch(7)[1], x)  # same seed, same batch
  assert not np.array_equal(batch(8)[1], x)


def test_prefetcher_gives_random_batch_order_and_the_used_rng_state():
  train = some_sketches(40, length=6, seed=3)

  def loader():
    return utils.DataLoader(train, batch_size=8, max_seq_length=10,
                            random_scale_factor=0.1, augment_stroke_prob=0.2,
                            rng=np.random.RandomState(11))

  direct = loader()
  expected, states = [], []
  for _ in range(5):
    expected.append(direct.random_batch())
    states.append(direct.rng.get_state())
  fetched = loader()
  with utils.Prefetcher(fetched, depth=2) as batches:
    for want, state in zip(expected[:3], states):
      got = batches.next()
      np.testing.assert_array_equal(got[1], want[1])
      np.testing.assert_array_equal(got[2], want[2])
      # the state after the batches used, though the thread has drawn more
      np.testing.assert_array_equal(batches.get_state()[1], state[1])
      assert batches.get_state()[2] == state[2]
  # closing leaves the RNG where the used batches left it: the next batch drawn
  # directly is the 4th, as a resumed run would see
  np.testing.assert_array_equal(fetched.random_batch()[1], expected[3][1])


def test_prefetcher_raises_the_workers_error_in_the_caller():
  class Broken:
    rng = np.random.RandomState(0)

    def random_batch(self):
      raise errors.SketchRNNError('bad batch')

  with utils.Prefetcher(Broken()) as batches:
    with pytest.raises(errors.SketchRNNError, match='bad batch'):
      batches.next()


# --- safe loading --------------------------------------------------------------


class _Boom:
  def __reduce__(self):
    return (os.system, ('touch %s' % _Boom.marker,))


def test_crafted_pickle_is_refused_and_not_run(tmp_path):
  marker = tmp_path / 'pwned'
  _Boom.marker = str(marker)
  evil = np.empty(2, dtype=object)
  evil[0] = np.ones((3, 3), dtype=np.int16)
  evil[1] = _Boom()
  ok = np.empty(1, dtype=object)
  ok[0] = np.ones((3, 3), dtype=np.int16)
  path = tmp_path / 'evil.npz'
  np.savez(path, train=evil, valid=ok, test=ok)
  with pytest.raises(SketchRNNError, match=r'evil.npz\[train\]: refused to unpickle '
                     r'(posix|os|nt)\.system'):
    utils.load_npz(str(path))
  assert not marker.exists()


@pytest.mark.parametrize('case,message', [
    ('not_zip', 'not a readable .npz file'),
    ('truncated', r'bad.npz: not a readable .npz file \(File is not a zip file'),
    ('missing_split', r'missing split\(s\) test'),
    ('nan', r'bad.npz\[valid\] sketch 1: has a non-finite value at point 2'),
    ('wrong_shape', r'bad.npz\[train\] sketch 0: expected an \(n, 3\) array'),
    ('empty_sketch', r'bad.npz\[test\] sketch 0: is empty'),
    ('list_sketch', r'bad.npz\[train\] sketch 1: is a list, not a numpy array'),
])
def test_broken_files_get_one_clear_error(tmp_path, case, message):
  good = [np.ones((4, 3), dtype=np.int16)] * 2
  path = str(tmp_path / 'bad.npz')
  if case == 'not_zip':
    open(path, 'w').write('hello')
  elif case == 'truncated':
    write_npz(path, good, good, good)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
  elif case == 'missing_split':
    np.savez(path, train=np.ones((2, 4, 3)), valid=np.ones((2, 4, 3)))
  elif case == 'nan':
    bad = np.ones((4, 3), dtype=np.float32)
    bad[2, 1] = np.nan
    write_npz(path, good, [good[0], bad], good)
  elif case == 'wrong_shape':
    write_npz(path, [np.ones((4, 2))], good, good)
  elif case == 'empty_sketch':
    write_npz(path, good, good, [np.zeros((0, 3))])
  elif case == 'list_sketch':
    write_npz(path, [good[0], [[1, 2, 0]]], good, good)
  with pytest.raises(SketchRNNError, match=message):
    utils.load_npz(path)


def test_numeric_block_npz_loads(tmp_path):
  path = str(tmp_path / 'block.npz')
  np.savez(path, train=np.ones((5, 4, 3)), valid=np.ones((2, 4, 3)),
           test=np.ones((2, 4, 3)))
  data = utils.load_npz(path)
  assert len(data['train']) == 5 and data['train'][0].shape == (4, 3)


# --- load_dataset ------------------------------------------------------------


def test_load_dataset_concatenates_and_sets_hparams(tmp_path):
  gen = np.random.default_rng(6)
  def split(n, length):
    return [random_sketch(gen, length) for _ in range(n)]
  write_npz(tmp_path / 'a.npz', split(8, 5), split(4, 6), split(4, 7))
  write_npz(tmp_path / 'b.npz', split(8, 9), split(4, 3), split(4, 12))
  hps = tiny_hparams(data_set=['a.npz', 'b.npz'])
  train, valid, test, hps2, eval_hps, sample_hps = utils.load_dataset(
      str(tmp_path), hps, seed=0)
  assert (len(train), len(valid), len(test)) == (16, 8, 8)
  assert hps2.max_seq_len == 12 and hps.max_seq_len == 250  # input untouched
  assert eval_hps.use_recurrent_dropout is False and eval_hps.is_training is True
  assert (sample_hps.batch_size, sample_hps.max_seq_len) == (1, 1)
  assert valid.scale_factor == train.scale_factor == test.scale_factor
  _, x, _ = train.random_batch()
  assert x.shape == (4, 13, 5)
  _, _, _, _, inf_hps, _ = utils.load_dataset(str(tmp_path), hps, inference_mode=True)
  assert inf_hps.batch_size == 1 and inf_hps.is_training is False


def test_load_dataset_errors(tmp_path):
  with pytest.raises(SketchRNNError, match='no such folder'):
    utils.load_dataset(str(tmp_path / 'nope'), tiny_hparams())
  with pytest.raises(SketchRNNError, match=r'aaron_sheep.npz: no such file'):
    utils.load_dataset(str(tmp_path), tiny_hparams())
  good = some_sketches(4)
  write_npz(tmp_path / 'few.npz', good, good[:2], good)
  with pytest.raises(SketchRNNError, match='valid split has 2 sketches, fewer than '
                     'batch_size=4'):
    utils.load_dataset(str(tmp_path), tiny_hparams(data_set=['few.npz']))


@pytest.fixture()
def http_folder(tmp_path):
  served = tmp_path / 'served'
  served.mkdir()
  handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                              directory=str(served))
  handler.log_message = lambda *a: None
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield served, 'http://127.0.0.1:%d/sets' % server.server_address[1]
  server.shutdown()
  server.server_close()


def test_load_dataset_from_url_caches(http_folder, tmp_path):
  served, url = http_folder
  (served / 'sets').mkdir()
  good = some_sketches(4)
  write_npz(served / 'sets' / 'web.npz', good, good, good)
  cache = str(tmp_path / 'cache')
  hps = tiny_hparams(data_set=['web.npz'])
  train = utils.load_dataset(url, hps, cache_dir=cache)[0]
  assert len(train) == 4
  # the download, and beside it the memory-mapped cache of what it holds
  download = os.path.basename(utils._fetch(url + '/web.npz', cache))  # pylint: disable=protected-access
  assert sorted(os.listdir(cache)) == ['.sketch_rnn_cache', download]
  os.remove(served / 'sets' / 'web.npz')  # the second load reads the cache
  assert len(utils.load_dataset(url, hps, cache_dir=cache)[0]) == 4
  with pytest.raises(SketchRNNError, match='HTTP 404'):
    utils.load_dataset(url, tiny_hparams(data_set=['missing.npz']), cache_dir=cache)


def test_load_dataset_offline_is_one_clear_error(tmp_path):
  with pytest.raises(SketchRNNError, match='cannot download http://127.0.0.1:9/x/'
                     r'a.npz \(offline\?'):
    utils.load_dataset('http://127.0.0.1:9/x', tiny_hparams(data_set=['a.npz']),
                       cache_dir=str(tmp_path))


def test_load_dataset_refuses_zero_spread(tmp_path):
  flat = [np.ones((4, 3), dtype=np.int16)] * 4
  write_npz(tmp_path / 'flat.npz', flat, flat, flat)
  with pytest.raises(SketchRNNError, match='standard deviation 0.0'):
    utils.load_dataset(str(tmp_path), tiny_hparams(data_set=['flat.npz']))


# --- real data ------------------------------------------------------------------


def test_bundled_dataset_loads_in_one_line():
  data = utils.load_npz(os.path.join(BUNDLED, BUNDLED_SET))
  assert len(data['train']) >= 2000
  lifts = [int(s[:, 2].sum()) for s in data['train']]
  assert np.median(lifts) >= 2  # several strokes per sketch
  assert all(s[-1, 2] == 1 for s in data['train'])
  train = utils.load_dataset(BUNDLED, tiny_hparams(data_set=[BUNDLED_SET]))[0]
  assert len(train) == len(data['train'])


def test_aaron_sheep_matches_magentas_pipeline():
  facts_path = shared_path('fixtures', 'data_pipeline.json')
  golden = np.load(shared_path('fixtures', 'data_pipeline_valid_batch0.npz'))
  facts = json.load(open(facts_path))['by_batch_size']['100']
  train, valid, test, hps, _, _ = utils.load_dataset(
      shared_path('datasets'), get_default_hparams())
  assert hps.max_seq_len == facts['max_seq_len']
  assert train.scale_factor.dtype == np.float32
  assert float(train.scale_factor) == facts['normalizing_scale_factor']
  assert [len(train), len(valid), len(test)] == [
      facts['sketches_kept'][s] for s in utils.SPLITS]
  assert [train.num_batches, valid.num_batches, test.num_batches] == [
      facts['num_batches'][s] for s in utils.SPLITS]
  for name, loader in (('valid', valid), ('test', test)):
    _, x, lengths = loader.get_batch(0)
    np.testing.assert_array_equal(x, golden[name + '_input_data'])
    np.testing.assert_array_equal(lengths, golden[name + '_sequence_lengths'])
    np.testing.assert_array_equal(loader.source_index[:100],
                                  golden[name + '_source_index'])


# --- class labels --------------------------------------------------------------


def test_bundled_labels_follow_each_sketch_through_the_sort():
  raw = np.load(os.path.join(BUNDLED, BUNDLED_SET), allow_pickle=True)
  train, _, test, *_ = utils.load_dataset(BUNDLED, tiny_hparams(data_set=[BUNDLED_SET]))
  assert test.class_names == [str(c) for c in raw['class_names']]
  assert len(test.class_names) == 12
  for loader, split in ((train, 'train'), (test, 'test')):
    assert len(loader.labels) == len(loader.strokes)
    for i in range(0, len(loader.strokes), 7):
      j = loader.source_index[i]
      np.testing.assert_allclose(loader.strokes[i][:, :2] * loader.scale_factor,
                                 raw[split][j][:, :2], rtol=1e-5)
      assert loader.labels[i] == raw[split + '_labels'][j]
  # The loader sorts by length: the labels are no longer in file order.
  assert not np.array_equal(test.labels, raw['test_labels'])
  assert np.array_equal(np.bincount(test.labels), np.bincount(raw['test_labels']))


def test_files_without_labels_are_one_class_each(tmp_path):
  gen = np.random.default_rng(3)
  def split(n, length):
    return [random_sketch(gen, length) for _ in range(n)]
  write_npz(tmp_path / 'cat.npz', split(8, 5), split(4, 6), split(4, 7))
  write_npz(tmp_path / 'dog.npz', split(8, 9), split(4, 3), split(4, 12))
  train, _, test, *_ = utils.load_dataset(
      str(tmp_path), tiny_hparams(data_set=['cat.npz', 'dog.npz']), seed=0)
  assert test.class_names == ['cat', 'dog']
  # Lengths tell the files apart: cat's test sketches have 7 points, dog's 12.
  assert [int(l) for l in test.labels] == [0 if len(s) == 7 else 1
                                           for s in test.strokes]
  assert sorted(train.labels.tolist()) == [0] * 8 + [1] * 8


def test_labels_of_a_labelled_file_come_after_the_classes_before_it(tmp_path):
  gen = np.random.default_rng(4)
  def split(n):
    return [random_sketch(gen, 5) for _ in range(n)]
  write_npz(tmp_path / 'plain.npz', split(4), split(4), split(4))
  obj = lambda sketches: np.array(sketches + [None], dtype=object)[:-1]
  np.savez(tmp_path / 'two.npz', train=obj(split(4)), valid=obj(split(4)),
           test=obj(split(4)), train_labels=np.array([0, 1, 1, 0]),
           valid_labels=np.array([1, 1, 0, 0]), test_labels=np.array([0, 0, 0, 1]),
           class_names=np.array(['a', 'b']))
  *_, test, _, _, _ = utils.load_dataset(
      str(tmp_path), tiny_hparams(data_set=['plain.npz', 'two.npz']), seed=0)
  assert test.class_names == ['plain', 'a', 'b']
  assert sorted(test.labels.tolist()) == [0, 0, 0, 0, 1, 1, 1, 2]


@pytest.mark.parametrize('extra, message', [
    (dict(train_labels=[0, 1, 0], valid_labels=[0, 1], test_labels=[1, 0],
          class_names=['a', 'b']), r'train_labels\]: expected 4 class indices'),
    (dict(train_labels=[0, 1, 0, 2], valid_labels=[0, 1], test_labels=[1, 0],
          class_names=['a', 'b']), r'in \[0, 2\)'),
    (dict(train_labels=[0, 1, 0, 1]), 'has class labels but not valid_labels'),
])
def test_bad_labels_get_one_clear_error(tmp_path, extra, message):
  gen = np.random.default_rng(5)
  obj = lambda n: np.array([random_sketch(gen, 5) for _ in range(n)] + [None],
                           dtype=object)[:-1]
  path = tmp_path / 'bad.npz'
  np.savez(path, train=obj(4), valid=obj(2), test=obj(2),
           **{k: np.array(v) for k, v in extra.items()})
  with pytest.raises(SketchRNNError, match=message):
    utils.load_npz(str(path), labels=True)
  assert set(utils.load_npz(str(path))) == {'train', 'valid', 'test'}  # not asked
