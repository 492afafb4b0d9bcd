"""The cells against independent numpy maths, their variables and initialisers."""

import numpy as np
import pytest
import tensorflow as tf

from reference_loop import randomize
from sketch_rnn import rnn


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def np_layer_norm(x, gamma, beta, eps=1e-3):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  return gamma * (x - mean) / np.sqrt(var + eps) + beta


def np_ln_all(gates, n, gamma, beta):
  b = gates.reshape(len(gates), 4, n)
  b = np_layer_norm(b, 1.0, 0.0)
  return gamma * b.reshape(len(gates), 4 * n) + beta


def np_lstm(cell, x, c, h):
  w = np.concatenate([cell.W_xh.numpy(), cell.W_hh.numpy()])
  gates = np.concatenate([x, h], 1) @ w + cell.bias.numpy()
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  return np.tanh(new_c) * sigmoid(o), new_c


def np_ln_lstm(cell, x, h, c):
  n = cell.num_units
  w = np.concatenate([cell.W_xh.numpy(), cell.W_hh.numpy()])
  gates = np_ln_all(np.concatenate([x, h], 1) @ w, n, cell.ln_all_gamma.numpy(),
                    cell.ln_all_beta.numpy())
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  new_h = np.tanh(np_layer_norm(new_c, cell.ln_c_gamma.numpy(),
                                cell.ln_c_beta.numpy())) * sigmoid(o)
  return new_h, new_c


def np_hyper(cell, x, h, hh_, c, hc):
  """Magenta's HyperLSTMCell.__call__, written out with numpy."""
  n = cell.num_units
  hyper_h, hyper_c = np_ln_lstm(cell.hyper_cell, np.concatenate([x, h], 1), hh_, hc)
  xh = x @ cell.W_xh.numpy()
  hh = h @ cell.W_hh.numpy()
  parts = []
  for k in range(8):
    layer = (xh if k < 4 else hh)[:, (k % 4) * n:(k % 4 + 1) * n]
    zw = hyper_h @ cell.zw_w[k].numpy() + cell.zw_b[k].numpy()
    out = (zw @ cell.alpha_w[k].numpy()) * layer
    if k >= 4:
      out = out + (hyper_h @ cell.zb_w[k - 4].numpy()) @ cell.beta_w[k - 4].numpy()
    parts.append(out)
  bias = np.split(cell.bias.numpy(), 4)
  gates = np.concatenate([parts[k] + parts[k + 4] + bias[k] for k in range(4)], 1)
  gates = np_ln_all(gates, n, cell.ln_all_gamma.numpy(), cell.ln_all_beta.numpy())
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  new_h = np.tanh(np_layer_norm(new_c, cell.ln_c_gamma.numpy(),
                                cell.ln_c_beta.numpy())) * sigmoid(o)
  return new_h, hyper_h, new_c, hyper_c


def cell_step(cell, x, flat_state, const=None):
  xw = cell.project(tf.constant(x[None, :, :x.shape[1] - (0 if const is None else
                                                          const.shape[1])]),
                    None if const is None else tf.constant(const))
  xw = tf.nest.map_structure(lambda a: a[0], xw)
  out, state = cell.step(xw, cell.unflat_state(tf.constant(flat_state)))
  return out.numpy(), cell.flat_state(state).numpy()


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('split_const', [False, True])
def test_cell_step_matches_numpy(kind, split_const):
  rng = np.random.RandomState(0)
  n, x_size, batch = 8, 7, 3
  cell = rnn.make_cell(kind, n, x_size, rng, 'test')
  randomize(cell, rng)
  x = rng.normal(size=(batch, x_size)).astype(np.float32)
  flat = rng.normal(size=(batch, cell.state_size)).astype(np.float32)
  const = x[:, 5:] if split_const else None  # z-like part projected once
  out, new_flat = cell_step(cell, x, flat, const)
  if kind == 'lstm':
    c, h = np.split(flat, 2, 1)
    ref_h, ref_c = np_lstm(cell, x, c, h)
    ref_flat = np.concatenate([ref_c, ref_h], 1)  # Magenta's [c, h]
  elif kind == 'layer_norm':
    h, c = np.split(flat, 2, 1)
    ref_h, ref_c = np_ln_lstm(cell, x, h, c)
    ref_flat = np.concatenate([ref_h, ref_c], 1)  # Magenta's [h, c]
  else:
    h, hh, c, hc = np.split(flat, [n, n + 256, 2 * n + 256], axis=1)
    ref_h, ref_hh, ref_c, ref_hc = np_hyper(cell, x, h, hh, c, hc)
    ref_flat = np.concatenate([ref_h, ref_hh, ref_c, ref_hc], 1)
  np.testing.assert_allclose(out, ref_h, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(new_flat, ref_flat, rtol=1e-4, atol=1e-5)


def test_variable_names_and_shapes_are_magentas():
  rng = np.random.RandomState(0)
  cell = rnn.make_cell('hyper', 16, 21, rng, 'vector_rnn/RNN')
  names = {v.name.split(':')[0]: v.shape.as_list() for v in cell.trainable_variables}
  assert names['vector_rnn/RNN/HyperLSTMCell/W_xh'] == [21, 64]
  assert names['vector_rnn/RNN/HyperLSTMCell/LayerNormLSTMCell/W_xh'] == [37, 1024]
  assert names['vector_rnn/RNN/HyperLSTMCell/hyper_ix/zw/super_linear_w'] == [256, 32]
  assert names['vector_rnn/RNN/HyperLSTMCell/hyper_oh/beta/super_linear_w'] == [32, 16]
  assert 'vector_rnn/RNN/HyperLSTMCell/hyper_ix/zb/super_linear_w' not in names
  assert len(names) == 3 + 6 + 4 * 3 + 4 * 5 + 4


def test_initialisers():
  rng = np.random.RandomState(0)
  w = rnn.lstm_ortho([32, 4 * 32], rng)
  for k in range(4):
    block = w[:, k * 32:(k + 1) * 32]
    np.testing.assert_allclose(block.T @ block, np.eye(32), atol=1e-10)
  cell = rnn.make_cell('lstm', 32, 5, rng, 's')
  limit = np.sqrt(6.0 / (5 + 128))
  assert np.abs(cell.W_xh.numpy()).max() <= limit
  assert np.abs(cell.W_xh.numpy()).max() > 0.8 * limit
  np.testing.assert_array_equal(cell.bias.numpy(), 0)
  hyper = rnn.make_cell('hyper', 8, 5, rng, 's')
  np.testing.assert_array_equal(hyper.zw_w[0].numpy(), 0)
  np.testing.assert_array_equal(hyper.zw_b[0].numpy(), 1.0)
  np.testing.assert_allclose(hyper.alpha_w[3].numpy(), 0.1 / 32)
  np.testing.assert_array_equal(hyper.beta_w[0].numpy(), 0)
  assert 0.005 < hyper.zb_w[0].numpy().std() < 0.015


@pytest.mark.parametrize('keep,shape', [(0.9, [200, 50, 20]), (0.5, [7, 3, 5]),
                                        (0.75, [1001]), (1.0, [4, 6])])
def test_dropout_masks_keep_probability(keep, shape):
  gen = tf.random.Generator.from_seed(0)
  masks = rnn.dropout_masks(gen, keep, shape).numpy()
  assert list(masks.shape) == shape
  assert set(np.unique(masks)) <= {0.0, np.float32(1 / keep)}
  # Bernoulli(keep) masks: the kept share within 4 standard errors
  assert (masks > 0).mean() == pytest.approx(
      keep, abs=4 * np.sqrt(keep * (1 - keep) / masks.size) + 1e-12)


def test_dropout_masks_are_seeded_and_independent():
  first = rnn.dropout_masks(tf.random.Generator.from_seed(3), 0.9, [50, 40, 10])
  again = rnn.dropout_masks(tf.random.Generator.from_seed(3), 0.9, [50, 40, 10])
  np.testing.assert_array_equal(first.numpy(), again.numpy())
  kept = first.numpy().reshape(-1) > 0
  # neighbours (consecutive indices hashed) are independent: P(both kept) = 0.81
  # within 4 standard errors
  both = (kept[:-1] & kept[1:]).mean()
  assert both == pytest.approx(0.81, abs=4 * np.sqrt(0.81 * 0.19 / kept.size))
  gen = tf.random.Generator.from_seed(3)
  a, b = (rnn.dropout_masks(gen, 0.9, [200, 100]).numpy() > 0 for _ in range(2))
  # successive calls (new keys) are independent entry by entry
  assert (a & b).mean() == pytest.approx(0.81, abs=4 * np.sqrt(0.81 * 0.19 / a.size))


def _lowbias32(x):
  x = x.astype(np.uint64)
  for shift, factor in ((16, 0x7feb352d), (15, 0x846ca68b)):
    x = ((x ^ (x >> shift)) * factor) & 0xffffffff
  return x ^ (x >> 16)


def test_dropout_masks_are_a_keyed_hash_of_the_index():
  key = np.array([0xfffffff0, 0x9e3779b9], np.uint32)  # index + key[0] wraps
  got = rnn._hashed_masks(tf.constant(key), tf.constant([3, 7, 5]),  # pylint: disable=protected-access
                          tf.constant(40000, tf.uint32), tf.constant(2.5)).numpy()
  index = np.arange(3 * 7 * 5, dtype=np.uint64)
  bits = _lowbias32(_lowbias32((index + key[0]) & 0xffffffff) ^ key[1])
  want = np.where((bits >> 16) < 40000, 2.5, 0.0).reshape(3, 7, 5)
  np.testing.assert_array_equal(got, want)
