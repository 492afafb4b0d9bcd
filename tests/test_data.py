"""The flat DataLoader against the loader it replaced (tests/reference_loader.py):
the same sketches, factor, batches and RNG stream, bit for bit."""

import numpy as np
import pytest

from sketch_rnn import utils

from reference_loader import ReferenceLoader


def sketches(seed, n=300, longest=60, dtype=np.int16):
  gen = np.random.default_rng(seed)
  out = []
  for length in gen.integers(1, longest, size=n):
    s = gen.integers(-40, 41, size=(int(length), 3)).astype(dtype)
    s[:, 2] = gen.random(int(length)) < 0.15
    s[-1, 2] = 1
    if gen.random() < 0.05:
      s[0, 0] = 3000  # clamped to the limit
    out.append(s)
  return out


def pair(data, **kw):
  return [cls(data, rng=np.random.RandomState(5), **kw)
          for cls in (utils.DataLoader, ReferenceLoader)]


@pytest.mark.parametrize('dtype', [np.int16, np.float64])
def test_same_sketches_factor_and_batches_as_before(dtype):
  data = sketches(1, dtype=dtype)
  if dtype == np.float64:
    data = [s + np.where(s[:, 2:3] < 2, 0.25, 0) * [1, 1, 0] for s in data]
  new, old = pair(data, batch_size=32, max_seq_length=50, random_scale_factor=0.15,
                  augment_stroke_prob=0.3)
  np.testing.assert_array_equal(new.source_index, old.source_index)
  assert len(new.strokes) == len(old.strokes)
  factor = new.calculate_normalizing_scale_factor()
  assert factor == old.calculate_normalizing_scale_factor()
  assert factor.dtype == np.float32
  new.normalize(factor)
  old.normalize(factor)
  for i in range(0, len(old.strokes), 13):
    assert new.strokes[i].dtype == np.float32
    np.testing.assert_array_equal(new.strokes[i], old.strokes[i])
  for _ in range(6):
    (a_list, a, a_len), (b_list, b, b_len) = new.random_batch(), old.random_batch()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a_len, b_len)
    for x, y in zip(a_list, b_list):
      np.testing.assert_array_equal(x, y)
  # the batches in order, and the stream after them all
  for b in range(new.num_batches):
    np.testing.assert_array_equal(new.get_batch(b)[1], old.get_batch(b)[1])
  assert new.rng.random_sample() == old.rng.random_sample()
  np.testing.assert_array_equal(new.pad_batch(new.strokes[:3], 60),
                                old.pad_batch(old.strokes[:3], 60))


def test_long_runs_of_dropped_points_add_up_in_magentas_order():
  gen = np.random.default_rng(2)
  data = [np.column_stack([gen.normal(size=(200, 2)) * 1e3, np.zeros(200)])
          for _ in range(20)]
  for s in data:
    s[-1, 2] = 1
  new, old = pair(data, batch_size=20, max_seq_length=200, augment_stroke_prob=0.9)
  (_, a, a_len), (_, b, b_len) = new.random_batch(), old.random_batch()
  np.testing.assert_array_equal(a_len, b_len)
  assert a_len.max() < 100  # most points went, in long runs
  np.testing.assert_array_equal(a, b)


def test_strokes_is_a_sequence():
  new = utils.DataLoader(sketches(3, n=10), batch_size=2, max_seq_length=100)
  assert len(new.strokes) == 10 and len(list(new.strokes)) == 10
  np.testing.assert_array_equal(new.strokes[-1], new.strokes[9])
  assert [len(s) for s in new.strokes[2:5]] == [len(new.strokes[i]) for i in (2, 3, 4)]
  with pytest.raises(IndexError):
    new.strokes[10]  # pylint: disable=pointless-statement
  empty = utils.DataLoader([], batch_size=1)
  assert len(empty) == 0 and empty.calculate_normalizing_scale_factor() == 1.0
