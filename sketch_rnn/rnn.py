# Copyright 2024 The Magenta Authors.
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
"""The three recurrent cells of sketch-rnn.

Ported from Magenta's sketch_rnn/rnn.py. Each cell keeps Magenta's variable names,
gate order (i, j, f, o), forget bias 1.0 inside sigmoid(f + 1), state layout and
initialisers, so a Magenta checkpoint loads into it. What differs is the shape of
the computation, not its maths:

  * a part of the input that is the same at every step (the decoder's z) is
    multiplied once per sequence, not once per step; the rest (the 5 stroke
    numbers) is multiplied inside the loop, one small product per step (`project`
    does it for all steps at once where the caller wants that: sampling);
  * the state travels through the loop as a tuple of tensors and is concatenated to
    Magenta's flat layout only at the ends (`flat_state` / `unflat_state`);
  * recurrent-dropout masks are drawn for all steps at once from the caller's
    generator, so runs are seeded and XLA-compatible;
  * training runs each cell's whole sequence with backprop through time written
    by hand (`run_sequence`, the loops of bptt; runtime decides whether they are
    compiled with XLA and into how many loops over the batch they split);
    `step` (sampling) keeps the plain one-step-at-a-time form.

The step arithmetic both share (gates, layer norm) is lstm_math's.
"""

import numpy as np
import tensorflow as tf

from sketch_rnn import bptt
from sketch_rnn import lstm_math
from sketch_rnn.lstm_math import layer_norm_parts
from sketch_rnn.lstm_math import lstm_gates


# ---------------------------------------------------------------------------
# Initialisers (numpy, seeded by the caller's RandomState)
# ---------------------------------------------------------------------------


def orthogonal(shape, rng):
  flat_shape = (shape[0], int(np.prod(shape[1:])))
  a = rng.normal(0.0, 1.0, flat_shape)
  u, _, v = np.linalg.svd(a, full_matrices=False)
  q = u if u.shape == flat_shape else v
  return q.reshape(shape)


def lstm_ortho(shape, rng, scale=1.0):
  """Magenta's lstm_ortho_initializer: each of the 4 gate blocks orthogonal."""
  size_x, size_h = shape[0], shape[1] // 4
  return np.concatenate(
      [orthogonal([size_x, size_h], rng) * scale for _ in range(4)], axis=1)


def glorot_uniform(shape, rng):
  """TF1's default initializer (a 1-D shape uses fan_in = fan_out = shape[0])."""
  fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape
  limit = np.sqrt(6.0 / (fan_in + fan_out))
  return rng.uniform(-limit, limit, shape)


def make_variable(name, value):
  return tf.Variable(np.asarray(value, dtype=np.float32), name=name)


def super_linear(name, input_size, output_size, rng, init_w='ortho',
                 weight_start=0.0, use_bias=True, bias_start=0.0):
  """Magenta's super_linear variables: (w, b or None) under scope `name`."""
  shape = [input_size, output_size]
  if init_w == 'zeros':
    w = np.zeros(shape)
  elif init_w == 'constant':
    w = np.full(shape, weight_start)
  elif init_w == 'gaussian':
    w = rng.normal(0.0, weight_start, shape)
  else:
    w = lstm_ortho(shape, rng)
  w = make_variable(name + '/super_linear_w', w)
  b = (make_variable(name + '/super_linear_b', np.full([output_size], bias_start))
       if use_bias else None)
  return w, b



# ---------------------------------------------------------------------------
# Shared pieces of the cells
# ---------------------------------------------------------------------------


def layer_norm_all(h, num_blocks, gamma, beta):
  """Normalises each of num_blocks gate blocks over its own units, then gamma, beta."""
  return layer_norm_parts(h, num_blocks, gamma, beta)[0]


def layer_norm(x, gamma, beta):
  return layer_norm_parts(x, 1, gamma, beta)[0]


PRECISIONS = {'float32': tf.float32, 'bfloat16': tf.bfloat16}
# The model's dense products take the recurrent products' precision too.
matmul = lstm_math.matmul


def recurrent_weight(w, dtype):
  """(w, w^T) in the product dtype, made once per sequence for recurrent_product."""
  w = tf.cast(w, dtype)
  return w, tf.transpose(w)


@tf.custom_gradient
def recurrent_product(a, w, w_t):
  """a @ w (float32 out) for a step inside a loop that autodiff runs backwards.

  Its gradient for a is d @ w_t with w_t = w^T made before the loop: the plain
  gradient, d @ w with transpose_b, is slower in oneDNN than a product with a
  weight transposed beforehand.
  """
  dtype = w.dtype
  a_in = a if dtype == tf.float32 else tf.cast(a, dtype)
  out = tf.cast(a_in @ w, tf.float32)

  def grad(d):
    d_in = d if dtype == tf.float32 else tf.cast(d, dtype)
    return (tf.cast(d_in @ w_t, tf.float32),
            tf.matmul(a_in, d_in, transpose_a=True), None)

  return out, grad


def _hash32(x):
  """lowbias32 (Wellons' hash prospector): a bijection of uint32 whose output
  bits each flip with probability ~1/2 when any input bit does."""
  for shift, factor in ((16, 0x7feb352d), (15, 0x846ca68b)):
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, shift))
    x = x * tf.constant(factor, tf.uint32)
  return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


@tf.function(jit_compile=True)
def _hashed_masks(key, shape, threshold, value):
  # One fused XLA kernel from entry index to mask: no random bits in memory.
  index = tf.reshape(tf.cast(tf.range(tf.reduce_prod(shape)), tf.uint32), shape)
  bits = _hash32(tf.bitwise.bitwise_xor(_hash32(index + key[0]), key[1]))
  return tf.where(tf.bitwise.right_shift(bits, 16) < threshold, value, 0.0)


def dropout_masks(generator, keep_prob, shape):
  """Inverted-dropout masks, 1/keep with probability keep and else 0, as
  tf.nn.dropout's, keep rounded to a multiple of 2^-16 (0.9: 0.899994).

  Each call draws one 64-bit key from the generator; an entry's 16 bits are
  then a keyed hash of its index (two rounds of _hash32), a counter-based
  generator as Philox is, but a few integer operations an entry that XLA fuses
  into one kernel: Philox's draws were most of the masks' time.
  """
  keep = float(keep_prob)
  threshold = int(round(keep * 2 ** 16))
  if threshold >= 2 ** 16:
    return tf.ones(shape)
  key = generator.uniform_full_int([2], tf.uint32)
  return _hashed_masks(key, tf.convert_to_tensor(shape, tf.int32),
                       tf.constant(threshold, tf.uint32),
                       tf.constant(1.0 / keep, tf.float32))


# ---------------------------------------------------------------------------
# The cells
# ---------------------------------------------------------------------------


class _Cell(tf.Module):
  """What the three cells share: sizes, recurrent dropout, W_xh (Glorot) and W_hh
  (orthogonal per gate block), the input projection and the flat state."""

  def __init__(self, num_units, input_size, rng, scope,
               use_recurrent_dropout=False, dropout_keep_prob=0.9, dtype=tf.float32):
    super().__init__(name=None)
    self.dtype = dtype  # of the recurrent products (PRECISIONS)
    self.num_units = num_units
    self.input_size = input_size
    self.use_recurrent_dropout = use_recurrent_dropout
    self.dropout_keep_prob = dropout_keep_prob
    n4 = 4 * num_units
    self.W_xh = make_variable(scope + '/W_xh', glorot_uniform([input_size, n4], rng))
    self.W_hh = make_variable(scope + '/W_hh', lstm_ortho([num_units, n4], rng))

  @property
  def state_size(self):
    return 2 * self.num_units

  def _project(self, w_xh, x, const):
    """x @ w_xh[:X] for all steps, plus const @ w_xh[X:] once per sequence."""
    width = x.shape[-1]
    xw = tf.einsum('tbx,xg->tbg', x, w_xh[:width])
    if const is not None:
      xw += (const @ w_xh[width:])[None]
    return xw

  def flat_state(self, state):
    return tf.concat(state, axis=1)

  def run_sequence(self, x, state, const=None, drop_mask=None, steps=None,
                   dtype=None, chains=1, x_grad=True):
    """All steps at once, with backprop through time written out by hand.

    x [T, B, X] the input, state the cell's state tuple, const [B, C] input that
    is the same at every step (appended after x, as in project()), drop_mask
    [T, B, n]. Returns (outputs [T, B, n], final state). chains: the batch split
    into that many independent loops that TensorFlow runs side by side
    (runtime.loop_chains); every row's numbers are those of one loop. x_grad:
    False where x is data (its gradient is then None, and not computed).
    """
    return bptt.in_chains(self._sequence, chains, x, state, const, drop_mask,
                          steps, dtype or self.dtype, x_grad)

  def prepare(self):
    """Per-sequence work done before the loop: weights cast to the product dtype
    and transposed once, not per step (the hyper cell also stacks products)."""
    return dict(W_hh=recurrent_weight(self.W_hh, self.dtype))

  def _mm(self, a, w):
    """a @ w for a weight from prepare(); float32 out."""
    return recurrent_product(a, *w)


class LSTMCell(_Cell):
  """Magenta's LSTMCell: state [c, h]; W_xh Glorot, W_hh orthogonal, bias 0."""

  def __init__(self, num_units, input_size, rng, scope, **kwargs):
    super().__init__(num_units, input_size, rng, scope, **kwargs)
    self.bias = make_variable(scope + '/bias', np.zeros([4 * num_units]))

  def project(self, x, const=None):
    """The input's share of the gates for all steps: x [T, B, X] -> [T, B, 4n].

    const [B, C] is input that is the same at every step (appended after x).
    """
    return self._project(self.W_xh, x, const) + self.bias

  def unflat_state(self, flat):
    c, h = tf.split(flat, 2, axis=1)
    return (c, h)

  def output(self, state):
    return state[1]

  def _sequence(self, x, state, const, drop_mask, steps, dtype, x_grad=True):
    width = x.shape[-1]
    if const is None:
      const = self.bias[None]
    else:
      const = const @ self.W_xh[width:] + self.bias
    weights = bptt.LSTMWeights(w_x=self.W_xh[:width], const=const,
                               w_hh=tf.convert_to_tensor(self.W_hh))
    return bptt.run('lstm', x, weights, state, drop_mask, steps, dtype, x_grad)

  def step(self, xw, state, drop_mask=None, weights=None):  # pylint: disable=unused-argument
    c, h = state
    new_c, acts = lstm_gates(xw + h @ self.W_hh, c, drop_mask)
    new_h = tf.tanh(new_c) * acts['o']
    return new_h, (new_c, new_h)


class LayerNormLSTMCell(_Cell):
  """Magenta's LayerNormLSTMCell: state [h, c]; no bias; LN on the gates and on c."""

  def __init__(self, num_units, input_size, rng, scope, **kwargs):
    super().__init__(num_units, input_size, rng, scope, **kwargs)
    n4 = 4 * num_units
    self.ln_all_gamma = make_variable(scope + '/ln_all/ln_gamma', np.ones([n4]))
    self.ln_all_beta = make_variable(scope + '/ln_all/ln_beta', np.zeros([n4]))
    self.ln_c_gamma = make_variable(scope + '/ln_c/ln_gamma', np.ones([num_units]))
    self.ln_c_beta = make_variable(scope + '/ln_c/ln_beta', np.zeros([num_units]))

  def project(self, x, const=None):
    return self._project(self.W_xh, x, const)

  def unflat_state(self, flat):
    h, c = tf.split(flat, 2, axis=1)
    return (h, c)

  def output(self, state):
    return state[0]

  def _sequence(self, x, state, const, drop_mask, steps, dtype, x_grad=True):
    width = x.shape[-1]
    const = (tf.zeros([1, 4 * self.num_units]) if const is None
             else const @ self.W_xh[width:])
    ln = _layer_norms(self)
    weights = bptt.LNWeights(w_x=self.W_xh[:width], const=const,
                             w_hh=tf.convert_to_tensor(self.W_hh), ln=ln)
    return bptt.run('layer_norm', x, weights, state, drop_mask, steps, dtype, x_grad)

  def step(self, xw, state, drop_mask=None, weights=None):
    weights = weights or self.prepare()
    h, c = state
    gates = layer_norm_all(xw + self._mm(h, weights['W_hh']), 4,
                           self.ln_all_gamma, self.ln_all_beta)
    new_c, acts = lstm_gates(gates, c, drop_mask)
    new_h = tf.tanh(layer_norm(new_c, self.ln_c_gamma, self.ln_c_beta)) * acts['o']
    return new_h, (new_h, new_c)


class HyperLSTMCell(_Cell):
  """Magenta's HyperLSTMCell (Ha et al. 2016) with layer norm.

  A 256-unit LayerNorm LSTM (no recurrent dropout) reads [x, h]; its output makes,
  per gate, a scaling of the W_xh and W_hh contributions (and a bias for W_hh).
  State [h, hyper_h, c, hyper_c].
  """

  GATES = ('i', 'j', 'f', 'o')

  def __init__(self, num_units, input_size, rng, scope,
               use_recurrent_dropout=False, dropout_keep_prob=0.9, dtype=tf.float32,
               hyper_num_units=256, hyper_embedding_size=32):
    super().__init__(num_units, input_size, rng, scope, use_recurrent_dropout,
                     dropout_keep_prob, dtype)
    self.hyper_num_units = hyper_num_units
    self.hyper_embedding_size = hyper_embedding_size
    n4 = 4 * num_units
    self.bias = make_variable(scope + '/bias', np.zeros([n4]))
    self.hyper_cell = LayerNormLSTMCell(
        hyper_num_units, input_size + num_units, rng, scope + '/LayerNormLSTMCell',
        dtype=dtype)
    emb = hyper_embedding_size
    init_gamma = 0.10  # recurrent batch norm init trick (arXiv:1603.09025)
    self.zw_w, self.zw_b, self.alpha_w, self.zb_w, self.beta_w = [], [], [], [], []
    for part in ('x', 'h'):
      for gate in self.GATES:
        name = '%s/hyper_%s%s' % (scope, gate, part)
        w, b = super_linear(name + '/zw', hyper_num_units, emb, rng, 'constant', 0.0,
                            bias_start=1.0)
        self.zw_w.append(w)
        self.zw_b.append(b)
        self.alpha_w.append(super_linear(name + '/alpha', emb, num_units, rng,
                                         'constant', init_gamma / emb,
                                         use_bias=False)[0])
        if part == 'h':
          self.zb_w.append(super_linear(name + '/zb', hyper_num_units, emb, rng,
                                        'gaussian', 0.01, use_bias=False)[0])
          self.beta_w.append(super_linear(name + '/beta', emb, num_units, rng,
                                          'constant', 0.0, use_bias=False)[0])
    self.ln_all_gamma = make_variable(scope + '/ln_all/ln_gamma', np.ones([n4]))
    self.ln_all_beta = make_variable(scope + '/ln_all/ln_beta', np.zeros([n4]))
    self.ln_c_gamma = make_variable(scope + '/ln_c/ln_gamma', np.ones([num_units]))
    self.ln_c_beta = make_variable(scope + '/ln_c/ln_beta', np.zeros([num_units]))

  @property
  def state_size(self):
    return 2 * (self.num_units + self.hyper_num_units)

  def project(self, x, const=None):
    """(x @ W_xh, the hyper cell's x share), each for all steps."""
    hyper_w = self.hyper_cell.W_xh[:self.input_size]
    return (self._project(self.W_xh, x, const), self._project(hyper_w, x, const))

  def unflat_state(self, flat):
    n, hn = self.num_units, self.hyper_num_units
    h, hyper_h, c, hyper_c = tf.split(flat, [n, hn, n, hn], axis=1)
    return (h, hyper_h, c, hyper_c)

  def output(self, state):
    return state[0]

  def _stacked(self):
    """The 8 small hyper products stacked into a few big ones, once per sequence."""
    return dict(
        z_w=tf.concat(self.zw_w + self.zb_w, axis=1),  # [hn, 12 * emb]
        zw_b=tf.concat(self.zw_b, axis=0),  # [8 * emb]
        alpha_w=tf.stack(self.alpha_w),  # [8, emb, n]
        beta_w=tf.stack(self.beta_w),  # [4, emb, n]
        # h feeds both LSTMs: one [n, 4 hn + 4n] product per step, not two
        hh_w=tf.concat([self.hyper_cell.W_xh[self.input_size:], self.W_hh], axis=1))

  def prepare(self):
    weights = self._stacked()
    weights['hh_w'] = recurrent_weight(weights['hh_w'], self.dtype)
    weights['hyper'] = self.hyper_cell.prepare()
    return weights

  def _sequence(self, x, state, const, drop_mask, steps, dtype, x_grad=True):
    width = x.shape[-1]
    hyper_w_xh = self.hyper_cell.W_xh[:self.input_size]
    if const is None:
      const = tf.zeros([1, 4 * self.num_units])
      hyper_const = tf.zeros([1, 4 * self.hyper_num_units])
    else:
      const, hyper_const = const @ self.W_xh[width:], const @ hyper_w_xh[width:]
    w = self._stacked()
    ln, hyper_ln = _layer_norms(self), _layer_norms(self.hyper_cell)
    w_x, hyper_w_x = self.W_xh[:width], hyper_w_xh[:width]
    hyper = bptt.LNWeights(w_x=hyper_w_x, const=hyper_const,
                           w_hh=tf.convert_to_tensor(self.hyper_cell.W_hh),
                           ln=hyper_ln)
    weights = bptt.HyperWeights(
        w_x=w_x, const=const, hh_w=w['hh_w'], z_w=w['z_w'], zw_b=w['zw_b'],
        alpha_w=w['alpha_w'], beta_w=w['beta_w'],
        bias=tf.convert_to_tensor(self.bias), ln=ln, hyper=hyper)
    return bptt.run('hyper', x, weights, state, drop_mask, steps, dtype, x_grad)

  def step(self, xw, state, drop_mask=None, weights=None):
    weights = weights or self.prepare()
    main_xw, hyper_xw = xw
    h, hyper_h, c, hyper_c = state
    batch = tf.shape(h)[0]
    emb = self.hyper_embedding_size
    hyper_hh, hh = tf.split(self._mm(h, weights['hh_w']),
                            [4 * self.hyper_num_units, 4 * self.num_units], axis=1)
    hyper_out, (hyper_h, hyper_c) = self.hyper_cell.step(
        hyper_xw + hyper_hh, (hyper_h, hyper_c), weights=weights['hyper'])
    # tf.split, not slicing: a slice's gradient zero-fills the whole input per step
    zw, zb = tf.split(hyper_out @ weights['z_w'], [8 * emb, 4 * emb], axis=1)
    zw = tf.reshape(zw + weights['zw_b'], [batch, 8, emb])
    zb = tf.reshape(zb, [batch, 4, emb])
    alpha_x, alpha_h = tf.split(
        tf.einsum('bke,ken->bkn', zw, weights['alpha_w']), 2, axis=1)  # [B, 4, n]
    beta = tf.einsum('bke,ken->bkn', zb, weights['beta_w'])  # [B, 4, n]
    xh = tf.reshape(main_xw, [batch, 4, self.num_units])
    hh = tf.reshape(hh, [batch, 4, self.num_units])
    gates = alpha_x * xh + (alpha_h * hh + beta)
    gates = tf.reshape(gates, [batch, 4 * self.num_units]) + self.bias
    gates = layer_norm_all(gates, 4, self.ln_all_gamma, self.ln_all_beta)
    new_c, acts = lstm_gates(gates, c, drop_mask)
    new_h = tf.tanh(layer_norm(new_c, self.ln_c_gamma, self.ln_c_beta)) * acts['o']
    return new_h, (new_h, hyper_h, new_c, hyper_c)


def _layer_norms(cell):
  """A layer-norm cell's gammas and betas, as the loops take them."""
  return bptt.LayerNorms(*[tf.convert_to_tensor(v) for v in (
      cell.ln_all_gamma, cell.ln_all_beta, cell.ln_c_gamma, cell.ln_c_beta)])


CELLS = {'lstm': LSTMCell, 'layer_norm': LayerNormLSTMCell, 'hyper': HyperLSTMCell}
MAGENTA_SCOPES = {'lstm': 'LSTMCell', 'layer_norm': 'LayerNormLSTMCell',
                  'hyper': 'HyperLSTMCell'}


def make_cell(kind, num_units, input_size, rng, scope, **kwargs):
  """A cell of kind lstm / layer_norm / hyper under Magenta's scope name."""
  if kind not in CELLS:
    raise ValueError('unknown cell %r: expected one of %s' % (kind, ', '.join(CELLS)))
  return CELLS[kind](num_units, input_size, rng,
                     '%s/%s' % (scope, MAGENTA_SCOPES[kind]), **kwargs)

