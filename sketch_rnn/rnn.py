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
"""The three recurrent cells of sketch-rnn and the loop that runs them.

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
    by hand (`run_sequence`): the backward loop multiplies per step only what the
    recurrence needs, the big weight gradients are one product each after it,
    float32 sequences of 64+ units are compiled with XLA (XLA_MIN_UNITS), and on
    a CPU the batch is split into one independent loop per thread (loop_chains).
    `step` (sampling) and `run` (the reference the tests hold them to) keep the
    plain one-step-at-a-time form.
"""

import os

import numpy as np
import tensorflow as tf

LN_EPSILON = 1e-3
FORGET_BIAS = 1.0


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


def layer_norm_parts(x, blocks, gamma, beta):
  """Magenta's layer norm of each of `blocks` equal blocks of x [B, blocks * n]
  over its own units, then gamma, beta. Returns (y, xhat, rstd [B, blocks, 1]):
  the normalised x and 1 / std are what the hand-written backward reads."""
  shape = tf.shape(x)
  xb = tf.reshape(x, [shape[0], blocks, -1])
  xc = xb - tf.reduce_mean(xb, axis=2, keepdims=True)
  rstd = tf.math.rsqrt(tf.reduce_mean(tf.square(xc), axis=2, keepdims=True)
                       + LN_EPSILON)
  xhat = tf.reshape(xc * rstd, shape)
  return gamma * xhat + beta, xhat, rstd


def layer_norm_grad(dy, xhat, rstd, gamma, blocks):
  """The gradient for x of layer_norm_parts(x, blocks, gamma, ...)[0], given dy."""
  shape = tf.shape(dy)
  g = tf.reshape(dy * gamma, [shape[0], blocks, -1])
  xb = tf.reshape(xhat, [shape[0], blocks, -1])
  dx = rstd * (g - tf.reduce_mean(g, axis=2, keepdims=True)
               - xb * tf.reduce_mean(g * xb, axis=2, keepdims=True))
  return tf.reshape(dx, shape)


def layer_norm_all(h, num_blocks, gamma, beta):
  """Normalises each of num_blocks gate blocks over its own units, then gamma, beta."""
  return layer_norm_parts(h, num_blocks, gamma, beta)[0]


def layer_norm(x, gamma, beta):
  return layer_norm_parts(x, 1, gamma, beta)[0]


def lstm_update(gates, c, drop_mask):
  """The LSTM arithmetic after the gates: new c and the output gate's sigmoid."""
  i, j, f, o = tf.split(gates, 4, axis=-1)
  g = tf.tanh(j)
  if drop_mask is not None:
    g = g * drop_mask  # recurrent dropout on the candidate: no memory loss
  new_c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * g
  return new_c, tf.sigmoid(o)


PRECISIONS = {'float32': tf.float32, 'bfloat16': tf.bfloat16}


def matmul(a, b, dtype=tf.float32, **kwargs):
  """a @ b with the product in `dtype` (bfloat16: oneDNN / tensor cores), f32 out.

  Only the product is in low precision; its sum into float32 state is not.
  """
  if dtype == tf.float32:
    return tf.matmul(a, b, **kwargs)
  return tf.cast(tf.matmul(tf.cast(a, dtype), tf.cast(b, dtype), **kwargs),
                 tf.float32)


def recurrent_weight(w, dtype):
  """(w, w^T) in the product dtype, made once per sequence for recurrent_product."""
  w = tf.cast(w, dtype)
  return w, tf.transpose(w)


@tf.custom_gradient
def recurrent_product(a, w, w_t):
  """a @ w (float32 out) for a step inside a loop that autodiff runs backwards.

  Its gradient for a is d @ w_t with w_t = w^T made before the loop: the plain
  gradient, d @ w with transpose_b, runs ~2.3x slower in oneDNN (measured).
  """
  dtype = w.dtype
  a_in = a if dtype == tf.float32 else tf.cast(a, dtype)
  out = tf.cast(a_in @ w, tf.float32)

  def grad(d):
    d_in = d if dtype == tf.float32 else tf.cast(d, dtype)
    return (tf.cast(d_in @ w_t, tf.float32),
            tf.matmul(a_in, d_in, transpose_a=True), None)

  return out, grad


# ---------------------------------------------------------------------------
# Whole-sequence loops with backprop through time by hand: the LSTM
# ---------------------------------------------------------------------------


class _Saved:
  """What a forward loop keeps for its backward, read back one step at a time:
  its TensorArrays, or under XLA their stacked tensors (a TensorArray may not
  leave an XLA function; stacking is free inside one, a copy outside)."""

  def __init__(self, tas, stack):
    self._tas = tas
    self._stacked = {k: ta.stack() for k, ta in tas.items()} if stack else None

  def read(self, name, t):
    if self._stacked is not None:
      return self._stacked[name][t]
    return self._tas[name].read(t)

  def stack(self, name):
    if self._stacked is not None:
      return self._stacked[name]
    return self._tas[name].stack()


def _forward_loop(body, state, names, steps, size, xla):
  """Runs body(t, *state, tas) -> (t + 1, *state, tas) for `steps` steps, each step
  writing the TensorArrays `names` (of `size` rows). Returns (final state, _Saved).
  """
  out = tf.while_loop(
      lambda t, *_: t < steps, body,
      (tf.constant(0),) + tuple(state)
      + (_arrays(names, size, clear_after_read=False),),
      maximum_iterations=size)
  return out[1:-1], _Saved(out[-1], xla)


def _pad_rows(d_x, x, steps, padded, xla):
  """d_x with all of x's T rows: zeros past `steps` (already so under XLA)."""
  if padded and not xla:
    return tf.pad(d_x, [[0, tf.shape(x)[0] - steps], [0, 0], [0, 0]])
  return d_x


def _loop_size(x, steps, xla):
  """The loops' TensorArray size: `steps`, or under XLA all T (XLA needs a size
  known when it compiles; the rows past `steps` stay zero)."""
  return tf.shape(x)[0] if xla else steps


def _input_share(x, w_x, xla):
  """t -> x[t] @ w_x, the input's share of the gates at step t.

  Under XLA the product is taken step by step inside the loop, fused with the
  step's other work (one product over all steps beforehand wrote and read back
  a [T, B, 4n] tensor: whole steps 1.04-1.06x slower, same-process A/Bs). In a
  TensorFlow loop one more op per step costs more than that (lstm512 on one
  thread 0.986x): there it is one product over all steps, read per step.
  """
  if xla:
    return lambda t: x[t] @ w_x
  shape = tf.concat([tf.shape(x)[:2], [w_x.shape[-1]]], axis=0)
  xw = tf.reshape(tf.reshape(x, [-1, x.shape[-1]]) @ w_x, shape)
  return lambda t: xw[t]


def _input_grads(x, w_x, d_gates, steps, padded, xla):
  """The gradients of x [T, B, X] and w_x [X, G] of the gates' share x[t] @ w_x,
  from the gates' gradients d_gates [S, B, G] of the S steps the loop ran (S is
  T under XLA): (d_x [T, B, X], d_w_x), each one product over all steps."""
  x_run = x[:steps] if padded and not xla else x
  d_flat = tf.reshape(d_gates, [-1, d_gates.shape[-1]])
  d_x = tf.reshape(tf.matmul(d_flat, tf.transpose(w_x)), tf.shape(x_run))
  d_w_x = tf.matmul(tf.reshape(x_run, [-1, x.shape[-1]]), d_flat, transpose_a=True)
  return _pad_rows(d_x, x, steps, padded, xla), d_w_x


def _or_zeros(grads, likes):
  """The incoming gradients of a sequence's outputs, zeros for those unused."""
  return tuple(tf.zeros_like(like) if d is None else d
               for d, like in zip(grads, likes))


def _arrays(names, steps, **kwargs):
  return {k: tf.TensorArray(tf.float32, size=steps, **kwargs) for k in names}


def _lstm_sequence(has_mask, dtype, padded, xla=False):
  """The LSTM over all steps with backprop through time written out by hand.

  Autodiff of a while loop multiplies one small weight gradient per step; here
  the backward loop does only dGates @ W_hh^T per step, and the weight gradient is
  ONE product H_prev^T @ dGates over all steps after it (PERF-NOTES.md).

  The gates at step t are x[t] @ w_x + const + h @ w_hh: x [T, B, X] is the
  input (_input_share), const [B or 1, 4n] the share that is the same at every
  step (z's product and the bias), added per step rather than broadcast over all
  T beforehand (its gradient is summed in the loop: a sum over T afterwards is
  slow on CPU).
  c0, h0 [B, n], w_hh [n, 4n]. Only `steps` <= T steps run; when `padded`, the
  outputs stop there (under XLA they keep all T rows, zeros past `steps`).
  """

  @tf.custom_gradient
  def sequence(x, w_x, const, c0, h0, w_hh, mask, steps):
    size = _loop_size(x, steps, xla)
    w = tf.cast(w_hh, dtype)
    x_share = _input_share(x, w_x, xla)
    # What the backward pass reads, one TensorArray each: writes and reads keep
    # the step's tensor as it is (no split of a stacked gate tensor, no copy).
    names = ('h', 'c_prev', 'i', 'g', 'gm', 'f', 'o', 'tc') if has_mask else (
        'h', 'c_prev', 'i', 'g', 'f', 'o', 'tc')

    def body(t, c, h, tas):
      gates = x_share(t) + const + matmul(h, w, dtype)
      i, j, f, o = tf.split(gates, 4, axis=-1)
      i, g = tf.sigmoid(i), tf.tanh(j)
      f, o = tf.sigmoid(f + FORGET_BIAS), tf.sigmoid(o)
      gm = g * mask[t] if has_mask else g
      c_prev, c = c, c * f + i * gm
      tc = tf.tanh(c)
      h = tc * o
      values = dict(h=h, c_prev=c_prev, i=i, g=g, gm=gm, f=f, o=o, tc=tc)
      return t + 1, c, h, {k: tas[k].write(t, values[k]) for k in names}

    (c, h), saved = _forward_loop(body, (c0, h0), names, steps, size, xla)
    hs = saved.stack('h')

    def grad(d_hs, d_c, d_h):
      d_hs, dc_next, dh_next = _or_zeros((d_hs, d_c, d_h), (hs, c0, h0))
      w_t = tf.linalg.matrix_transpose(w)
      sigmoid_grad, tanh_grad = tf.raw_ops.SigmoidGrad, tf.raw_ops.TanhGrad

      def back(t, dh_next, dc_next, d_const, dgates):
        a = {k: saved.read(k, t) for k in names if k != 'h'}
        dh = d_hs[t] + dh_next
        dc = dc_next + tanh_grad(y=a['tc'], dy=dh * a['o'])
        d_i = sigmoid_grad(y=a['i'], dy=dc * a['gm' if has_mask else 'g'])
        d_j = tanh_grad(y=a['g'], dy=dc * a['i'])
        if has_mask:
          d_j *= mask[t]
        d_f = sigmoid_grad(y=a['f'], dy=dc * a['c_prev'])
        d_o = sigmoid_grad(y=a['o'], dy=dh * a['tc'])
        dg = tf.concat([d_i, d_j, d_f, d_o], axis=-1)
        return (t - 1, matmul(dg, w_t, dtype), dc * a['f'], d_const + dg,
                dgates.write(t, dg))

      _, dh0, dc0, d_const, dgates = tf.while_loop(
          lambda t, *_: t >= 0, back,
          (steps - 1, dh_next, dc_next, tf.zeros([tf.shape(h0)[0], w_hh.shape[1]]),
           tf.TensorArray(tf.float32, size=size)),
          maximum_iterations=size)
      if const.shape[0] == 1:
        d_const = tf.reduce_sum(d_const, axis=0, keepdims=True)
      dgates = dgates.stack()
      h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
      n = h0.shape[-1]
      d_w = matmul(tf.reshape(h_prev, [-1, n]), tf.reshape(dgates, [-1, 4 * n]),
                   dtype, transpose_a=True)
      d_x, d_w_x = _input_grads(x, w_x, dgates, steps, padded, xla)
      return d_x, d_w_x, d_const, dc0, dh0, d_w, None, None

    return (hs, c, h), grad

  return sequence


_SEQUENCES = {}


def lstm_sequence(x, w_x, const, state, w_hh, drop_mask=None, steps=None,
                  dtype=tf.float32):
  """Runs an LSTM (Magenta's maths) with gates x[t] @ w_x + const + h @ w_hh.

  x [T, B, X], w_x [X, 4n], const [B or 1, 4n], state (c, h). Returns (h for
  every step run [steps, B, n] (all T rows under XLA, zeros past `steps`), final
  (c, h)). steps: run only the first `steps` (a scalar tensor); default all T.
  """
  c, h = state
  hs, c, h = _run_sequence(_lstm_sequence, (x, w_x, const, c, h, w_hh, ()),
                           drop_mask, steps, dtype, x, w_hh.shape[0])
  return hs, (c, h)


def bidirectional_final_h(fw, bw, x, x_rev, lengths, masks=(None, None),
                          dtype=tf.float32, chains=1):
  """The final outputs of two cells over x and x_rev, run as two loops.

  x, x_rev [T, B, X]: the input forwards and reversed within each length. The
  final output of a sequence is its output at step length - 1 (later steps never
  reach it), as dynamic_rnn's final state with sequence_length is; so the loops
  need no per-step length mask, and they stop at the longest length. The two
  loops are independent, so TensorFlow runs them side by side (faster than one
  batched loop on CPU), each as `chains` loops over parts of the batch.
  Returns (h_fw, h_bw), each [B, n].
  """
  lengths = tf.cast(lengths, tf.int32)
  steps = tf.reduce_max(lengths)
  batch = tf.shape(x)[1]
  index = tf.stack([tf.maximum(lengths - 1, 0), tf.range(batch)], axis=1)
  finals = []
  for cell, inputs, mask in ((fw, x, masks[0]), (bw, x_rev, masks[1])):
    zero = cell.unflat_state(tf.zeros([batch, cell.state_size]))
    hs, _ = cell.run_sequence(inputs, zero, None, mask, steps, dtype, chains)
    finals.append(tf.where((lengths > 0)[:, None], tf.gather_nd(hs, index), 0.0))
  return tuple(finals)


# ---------------------------------------------------------------------------
# Hand-written backprop through time for the layer-norm and hyper cells
# ---------------------------------------------------------------------------

_LN_SAVED = ('c_prev', 'i', 'g', 'f', 'o', 'xhat', 'rstd', 'xhat_c', 'rstd_c', 'tc')


def _ln_zeros(n, batch):
  zero_4n, zero_n = tf.zeros([batch, 4 * n]), tf.zeros([batch, n])
  return (zero_4n, zero_4n, zero_n, zero_n)


def _row_sums(acc):
  return tuple(tf.reduce_sum(a, axis=0) for a in acc)


def _ln_lstm_forward(a, c, mask, ln):
  """A LayerNormLSTM step from its gate pre-activations a [B, 4n]:
  (h, c, what its backward reads). ln = (gamma_all, beta_all, gamma_c, beta_c)."""
  y, xhat, rstd = layer_norm_parts(a, 4, ln[0], ln[1])
  i, j, f, o = tf.split(y, 4, axis=-1)
  i, g = tf.sigmoid(i), tf.tanh(j)
  f, o = tf.sigmoid(f + FORGET_BIAS), tf.sigmoid(o)
  saved = dict(c_prev=c, i=i, g=g, f=f, o=o, xhat=xhat, rstd=rstd)
  if mask is not None:
    g = saved['gm'] = g * mask  # recurrent dropout on the candidate
  c = c * f + i * g
  yc, saved['xhat_c'], saved['rstd_c'] = layer_norm_parts(c, 1, ln[2], ln[3])
  tc = saved['tc'] = tf.tanh(yc)
  return tc * o, c, saved


def _ln_lstm_backward(dh, dc, s, mask, ln, acc):
  """The step's backward from dh, dc and its saved values s: (da, dc_prev, acc).

  acc: the layer norms' (gamma_all, beta_all, gamma_c, beta_c) gradients so far,
  per batch row ([B, 4n] twice, [B, n] twice); this step's are added.
  """
  sigmoid_grad, tanh_grad = tf.raw_ops.SigmoidGrad, tf.raw_ops.TanhGrad
  d_o = sigmoid_grad(y=s['o'], dy=dh * s['tc'])
  d_yc = tanh_grad(y=s['tc'], dy=dh * s['o'])
  dc = dc + layer_norm_grad(d_yc, s['xhat_c'], s['rstd_c'], ln[2], 1)
  d_i = sigmoid_grad(y=s['i'], dy=dc * s.get('gm', s['g']))
  d_j = tanh_grad(y=s['g'], dy=dc * s['i'])
  if mask is not None:
    d_j *= mask
  d_f = sigmoid_grad(y=s['f'], dy=dc * s['c_prev'])
  dy = tf.concat([d_i, d_j, d_f, d_o], axis=-1)
  da = layer_norm_grad(dy, s['xhat'], s['rstd'], ln[0], 4)
  acc = (acc[0] + dy * s['xhat'], acc[1] + dy, acc[2] + d_yc * s['xhat_c'],
         acc[3] + d_yc)
  return da, dc * s['f'], acc


def _ln_sequence(has_mask, dtype, padded, xla=False):
  """The LayerNormLSTM over all steps, backprop through time by hand.

  Gates x[t] @ w_x + const + h @ w_hh, as _lstm_sequence; the layer norms'
  backward is written out (layer_norm_grad) and their gamma/beta gradients summed
  in the loop.
  """
  names = ('h',) + _LN_SAVED + (('gm',) if has_mask else ())

  @tf.custom_gradient
  def sequence(x, w_x, const, h0, c0, w_hh, mask, steps, *ln):
    size = _loop_size(x, steps, xla)
    w = tf.cast(w_hh, dtype)
    n = h0.shape[-1]
    x_share = _input_share(x, w_x, xla)

    def body(t, h, c, tas):
      a = x_share(t) + const + matmul(h, w, dtype)
      h, c, saved = _ln_lstm_forward(a, c, mask[t] if has_mask else None, ln)
      saved['h'] = h
      return t + 1, h, c, {k: tas[k].write(t, saved[k]) for k in names}

    (h, c), saved = _forward_loop(body, (h0, c0), names, steps, size, xla)
    hs = saved.stack('h')

    def grad(d_hs, d_h, d_c):
      d_hs, dh, dc = _or_zeros((d_hs, d_h, d_c), (hs, h0, c0))
      w_t = tf.linalg.matrix_transpose(w)
      batch = tf.shape(h0)[0]

      def back(t, dh, dc, d_const, acc, d_as):
        s = {k: saved.read(k, t) for k in names if k != 'h'}
        da, dc, acc = _ln_lstm_backward(d_hs[t] + dh, dc, s,
                                        mask[t] if has_mask else None, ln, acc)
        return (t - 1, matmul(da, w_t, dtype), dc, d_const + da, acc,
                d_as.write(t, da))

      _, dh0, dc0, d_const, acc, d_as = tf.while_loop(
          lambda t, *_: t >= 0, back,
          (steps - 1, dh, dc, tf.zeros([batch, 4 * n]), _ln_zeros(n, batch),
           tf.TensorArray(tf.float32, size=size)),
          maximum_iterations=size)
      d_as = d_as.stack()
      h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
      d_w = matmul(tf.reshape(h_prev, [-1, n]), tf.reshape(d_as, [-1, 4 * n]),
                   dtype, transpose_a=True)
      if const.shape[0] == 1:
        d_const = tf.reduce_sum(d_const, axis=0, keepdims=True)
      d_x, d_w_x = _input_grads(x, w_x, d_as, steps, padded, xla)
      return (d_x, d_w_x, d_const, dh0, dc0, d_w, None, None) + _row_sums(acc)

    return (hs, h, c), grad

  return sequence


def _hyper_sequence(has_mask, dtype, padded, xla=False):
  """The HyperLSTM over all steps, backprop through time by hand.

  Per step: one product h @ [W_xh(h rows) of the hyper cell, W_hh] feeds both
  LSTMs; the hyper LayerNormLSTM (no dropout) gives hyper_h; hyper_h makes the
  per-gate scalings alpha (of x @ W_xh and h @ W_hh) and the bias beta of the
  main LayerNormLSTM. The backward multiplies per step only what the recurrence
  needs; the three big weight gradients are one product each after the loop, the
  small [8, emb, n] ones are summed in it.
  """
  ln_names = _LN_SAVED + (('gm',) if has_mask else ())
  names = (('h', 'hyper_h', 'xh', 'hh', 'alpha', 'zw', 'zb')
           + tuple('m_' + k for k in ln_names) + tuple('y_' + k for k in _LN_SAVED))

  @tf.custom_gradient
  def sequence(x, w_x, const, hyper_w_x, hyper_const, h0, hyper_h0, c0, hyper_c0,
               hh_w, hyper_w_hh, z_w, zw_b, alpha_w, beta_w, bias, mask, steps,
               *lns):
    size = _loop_size(x, steps, xla)
    ln, hyper_ln = lns[:4], lns[4:]
    n, hn = h0.shape[-1], hyper_h0.shape[-1]
    emb = z_w.shape[1] // 12
    batch = tf.shape(h0)[0]
    w_p, hyper_w_p = tf.cast(hh_w, dtype), tf.cast(hyper_w_hh, dtype)
    # x feeds both LSTMs: one product
    x_share = _input_share(x, tf.concat([w_x, hyper_w_x], axis=1), xla)

    def body(t, h, hyper_h, c, hyper_c, tas):
      xw, hyper_xw = tf.split(x_share(t), [4 * n, 4 * hn], axis=1)
      hyper_hh, hh = tf.split(matmul(h, w_p, dtype), [4 * hn, 4 * n], axis=1)
      a = hyper_xw + hyper_const + hyper_hh + matmul(hyper_h, hyper_w_p, dtype)
      hyper_h, hyper_c, hyper_saved = _ln_lstm_forward(a, hyper_c, None, hyper_ln)
      zw, zb = tf.split(hyper_h @ z_w, [8 * emb, 4 * emb], axis=1)
      zw = tf.reshape(zw + zw_b, [-1, 8, emb])
      zb = tf.reshape(zb, [-1, 4, emb])
      alpha = tf.einsum('bke,ken->bkn', zw, alpha_w)  # [B, 8, n]: x's 4, then h's
      alpha_x, alpha_h = tf.split(alpha, 2, axis=1)
      xh = xw + const
      pre = (alpha_x * tf.reshape(xh, [-1, 4, n])
             + (alpha_h * tf.reshape(hh, [-1, 4, n])
                + tf.einsum('bke,ken->bkn', zb, beta_w)))
      h, c, saved = _ln_lstm_forward(tf.reshape(pre, [-1, 4 * n]) + bias, c,
                                     mask[t] if has_mask else None, ln)
      values = dict(h=h, hyper_h=hyper_h, xh=xh, hh=hh, alpha=alpha, zw=zw, zb=zb)
      values.update({'m_' + k: v for k, v in saved.items()})
      values.update({'y_' + k: v for k, v in hyper_saved.items()})
      return t + 1, h, hyper_h, c, hyper_c, {k: tas[k].write(t, values[k])
                                             for k in names}

    (h, hyper_h, c, hyper_c), saved = _forward_loop(
        body, (h0, hyper_h0, c0, hyper_c0), names, steps, size, xla)
    hs, hyper_hs = saved.stack('h'), saved.stack('hyper_h')

    def grad(d_hs, d_h, d_hyper_h, d_c, d_hyper_c):
      d_hs, d_h, d_hyper_h, d_c, d_hyper_c = _or_zeros(
          (d_hs, d_h, d_hyper_h, d_c, d_hyper_c), (hs, h0, hyper_h0, c0, hyper_c0))
      w_t, hyper_w_t = tf.transpose(w_p), tf.transpose(hyper_w_p)
      z_w_t = tf.transpose(z_w)

      def back(t, dh, d_hyper_h, dc, d_hyper_c, acc, d_tas):
        s = {k: saved.read(k, t) for k in names if k not in ('h', 'hyper_h')}
        main = {k[2:]: v for k, v in s.items() if k.startswith('m_')}
        hyper = {k[2:]: v for k, v in s.items() if k.startswith('y_')}
        da, dc, ln_acc = _ln_lstm_backward(d_hs[t] + dh, dc, main,
                                           mask[t] if has_mask else None, ln,
                                           acc['ln'])
        d_pre = tf.reshape(da, [-1, 4, n])
        alpha_x, alpha_h = tf.split(s['alpha'], 2, axis=1)
        d_xh = tf.reshape(d_pre * alpha_x, [-1, 4 * n])
        d_hh = tf.reshape(d_pre * alpha_h, [-1, 4 * n])
        d_alpha = tf.concat([d_pre * tf.reshape(s['xh'], [-1, 4, n]),
                             d_pre * tf.reshape(s['hh'], [-1, 4, n])], axis=1)
        d_zw = tf.reshape(tf.einsum('bkn,ken->bke', d_alpha, alpha_w),
                          [-1, 8 * emb])
        d_zb = tf.reshape(tf.einsum('bkn,ken->bke', d_pre, beta_w), [-1, 4 * emb])
        d_z = tf.concat([d_zw, d_zb], axis=1)
        d_a, d_hyper_c, hyper_acc = _ln_lstm_backward(
            d_z @ z_w_t + d_hyper_h, d_hyper_c, hyper, None, hyper_ln,
            acc['hyper_ln'])
        acc = dict(
            ln=ln_acc, hyper_ln=hyper_acc, const=acc['const'] + d_xh,
            hyper_const=acc['hyper_const'] + d_a, bias=acc['bias'] + da,
            zw_b=acc['zw_b'] + d_zw,
            alpha_w=acc['alpha_w'] + tf.einsum('bke,bkn->ken', s['zw'], d_alpha),
            beta_w=acc['beta_w'] + tf.einsum('bke,bkn->ken', s['zb'], d_pre))
        d_tas = dict(xh=d_tas['xh'].write(t, d_xh), hh=d_tas['hh'].write(t, d_hh),
                     a=d_tas['a'].write(t, d_a), z=d_tas['z'].write(t, d_z))
        dh = matmul(tf.concat([d_a, d_hh], axis=1), w_t, dtype)
        return (t - 1, dh, matmul(d_a, hyper_w_t, dtype), dc, d_hyper_c, acc,
                d_tas)

      acc = dict(ln=_ln_zeros(n, batch), hyper_ln=_ln_zeros(hn, batch),
                 const=tf.zeros([batch, 4 * n]), hyper_const=tf.zeros([batch, 4 * hn]),
                 bias=tf.zeros([batch, 4 * n]), zw_b=tf.zeros([batch, 8 * emb]),
                 alpha_w=tf.zeros_like(alpha_w), beta_w=tf.zeros_like(beta_w))
      _, dh0, d_hyper_h0, dc0, d_hyper_c0, acc, d_tas = tf.while_loop(
          lambda t, *_: t >= 0, back,
          (steps - 1, d_h, d_hyper_h, d_c, d_hyper_c, acc,
           _arrays(('xh', 'hh', 'a', 'z'), size)),
          maximum_iterations=size)
      d_xs, d_hh, d_a, d_z = (d_tas[k].stack() for k in ('xh', 'hh', 'a', 'z'))
      flat = lambda x: tf.reshape(x, [-1, x.shape[-1]])
      h_prev = flat(tf.concat([h0[None], hs[:-1]], axis=0))
      hyper_h_prev = flat(tf.concat([hyper_h0[None], hyper_hs[:-1]], axis=0))
      d_w = tf.concat([matmul(h_prev, flat(d_a), dtype, transpose_a=True),
                       matmul(h_prev, flat(d_hh), dtype, transpose_a=True)], axis=1)
      d_hyper_w = matmul(hyper_h_prev, flat(d_a), dtype, transpose_a=True)
      d_z_w = tf.matmul(flat(hyper_hs), flat(d_z), transpose_a=True)
      d_const, d_hyper_const = acc['const'], acc['hyper_const']
      if const.shape[0] == 1:
        d_const = tf.reduce_sum(d_const, axis=0, keepdims=True)
      if hyper_const.shape[0] == 1:
        d_hyper_const = tf.reduce_sum(d_hyper_const, axis=0, keepdims=True)
      d_x, d_w_x = _input_grads(x, w_x, d_xs, steps, padded, xla)
      d_hyper_x, d_hyper_w_x = _input_grads(x, hyper_w_x, d_a, steps, padded, xla)
      return ((d_x + d_hyper_x, d_w_x, d_const, d_hyper_w_x, d_hyper_const, dh0,
               d_hyper_h0, dc0, d_hyper_c0,
               d_w, d_hyper_w, d_z_w, tf.reduce_sum(acc['zw_b'], axis=0),
               acc['alpha_w'], acc['beta_w'], tf.reduce_sum(acc['bias'], axis=0),
               None, None) + _row_sums(acc['ln']) + _row_sums(acc['hyper_ln']))

    return (hs, h, hyper_h, c, hyper_c), grad

  return sequence


# A float32 sequence of at least this many units runs as an XLA function: XLA
# fuses each step's elementwise work and the executor's per-op cost goes. Whole
# training steps, same-process A/Bs (scripts/benchmark.py's configurations, 2
# threads): small (encoder 64, decoder 128) 1.15x, lstm512 1.10x, hyper512 1.20x.
# Smaller cells (the tests' 16-24 units) would spend more on compiling than they
# gain; bfloat16 products are slower under XLA on the CPU (0.77x), so they stay
# with TensorFlow's (oneDNN) kernels.
XLA_MIN_UNITS = 64


def _use_xla(builder, dtype, units):
  """Whether the sequence runs as an XLA function (see XLA_MIN_UNITS).

  Not a plain LSTM of more than 128 units on a single CPU thread: there its
  products dominate, and XLA's one-thread products are slower than oneDNN's
  ([100, 645] x [645, 2048]: 85 against 97 GFLOP/s), so lstm512's step (encoder
  256, decoder 512) ran 0.955x with XLA in a same-process A/B, where small's
  (64, 128) ran 1.07x, hyper512's 1.048x and lstm512's on two threads 1.06x.
  """
  if dtype != tf.float32 or units < XLA_MIN_UNITS:
    return False
  return not (builder is _lstm_sequence and units > 128 and cpu_threads() == 1
              and not _on_gpu())


def _run_sequence(builder, args, mask, steps, dtype, x, units):
  """Calls the sequence made by builder(has_mask, dtype, padded, xla), cached,
  on args (ending in a tuple of extra args) for input x [T, B, X] to a cell of
  `units` units."""
  xla = _use_xla(builder, dtype, units)
  key = (builder, mask is not None, dtype, steps is not None, xla)
  if key not in _SEQUENCES:
    fn = builder(*key[1:])
    _SEQUENCES[key] = tf.function(fn, jit_compile=True) if xla else fn
  mask = mask if mask is not None else tf.zeros([0])
  if steps is None:
    steps = x.shape[0] or tf.shape(x)[0]
  return _SEQUENCES[key](*args[:-1], mask, tf.convert_to_tensor(steps, tf.int32),
                         *args[-1])


# A chain narrower than this multiplies too few rows per step to pay for its loop.
MIN_CHAIN_ROWS = 16


def loop_chains(batch, loops=1):
  """Into how many chains (independent loops over a part of the batch each) to
  split `loops` concurrent recurrent loops of `batch` rows, so that every CPU
  thread runs one.

  On a CPU one step's product is too small to spread over threads (XLA's
  [100, 128] x [128, 512] runs no faster on two threads than on one): two chains
  of 50 rows on two threads run the small configuration's decoder 1.67x faster
  than one of 100 (1.08x at 512 units). A GPU runs one chain.
  """
  if batch is None or _on_gpu():
    return 1
  return max(1, min(cpu_threads() // loops, batch // MIN_CHAIN_ROWS))


def _on_gpu():
  """Whether the loops being traced run on a GPU (one is visible)."""
  return bool(tf.config.list_logical_devices('GPU'))


def cpu_cores():
  """The cores this process may run on."""
  if hasattr(os, 'sched_getaffinity'):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def cpu_threads():
  """How many threads TensorFlow runs ops on: its larger pool (0: all cores)."""
  threading = tf.config.threading
  return max(threading.get_intra_op_parallelism_threads(),
             threading.get_inter_op_parallelism_threads()) or cpu_cores()


def configure_threads(precision, threads=None):
  """Sets TensorFlow's CPU thread pools for a run in `precision` on `threads`
  cores (default: all, and float32 keeps TensorFlow's own setting).

  bfloat16 loops are TensorFlow ops (oneDNN's products, not XLA's): on a CPU each
  op then runs on one thread (intra-op pool 1) and the loop chains run side by
  side, one per core (inter-op pool `threads`); on two cores that makes the
  lstm512 step in bfloat16 1.16-1.25x faster than ops spread over both threads,
  the hyper512 step 1.48x. float32 loops are XLA functions, which run on the
  intra-op pool: it keeps `threads` (both pools). Call it before TensorFlow runs
  anything; it returns False (and changes nothing) when that is too late.
  """
  # Physical devices: listing logical ones (_on_gpu) would start the runtime.
  one_per_op = (precision == 'bfloat16'
                and not tf.config.list_physical_devices('GPU'))
  if threads is None and not one_per_op:
    return True
  threads = threads or cpu_cores()
  try:
    tf.config.threading.set_intra_op_parallelism_threads(1 if one_per_op else threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  except RuntimeError:  # TensorFlow has started: its pools are fixed
    return False
  return True


def _chain_sizes(batch, chains):
  """Rows per chain: as even as possible, none empty."""
  chains = min(chains, batch)
  return [batch // chains + (k < batch % chains) for k in range(chains)]


def dropout_masks(generator, keep_prob, shape):
  """Inverted-dropout masks (0 or 1/keep) as tf.nn.dropout draws them."""
  keep = tf.cast(keep_prob, tf.float32)
  return tf.floor(keep + generator.uniform(shape)) / keep


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
                   dtype=None, chains=1):
    """All steps at once, with backprop through time written out by hand.

    x [T, B, X] the input, state the cell's state tuple, const [B, C] input that
    is the same at every step (appended after x, as in project()), drop_mask
    [T, B, n]. Returns (outputs [T, B, n], final state). chains: the batch split
    into that many independent loops that TensorFlow runs side by side
    (loop_chains); every row's numbers are those of one loop.
    """
    dtype = dtype or self.dtype
    if chains == 1:
      return self._sequence(x, state, const, drop_mask, steps, dtype)
    sizes = _chain_sizes(x.shape[1], chains)
    chains = len(sizes)

    def rows(a, axis):
      if a is None or (axis == 0 and a.shape[0] == 1):
        return [a] * chains
      return tf.split(a, sizes, axis=axis)

    xs, consts, masks = rows(x, 1), rows(const, 0), rows(drop_mask, 1)
    states = list(zip(*[rows(a, 0) for a in state]))
    runs = [self._sequence(xs[k], states[k], consts[k], masks[k], steps, dtype)
            for k in range(chains)]
    outputs = tf.concat([hs for hs, _ in runs], axis=1)
    final = tuple(tf.concat(parts, axis=0) for parts in zip(*[s for _, s in runs]))
    return outputs, final

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

  def _sequence(self, x, state, const, drop_mask, steps, dtype):
    width = x.shape[-1]
    if const is None:
      const = self.bias[None]
    else:
      const = const @ self.W_xh[width:] + self.bias
    return lstm_sequence(x, self.W_xh[:width], const, state,
                         tf.convert_to_tensor(self.W_hh), drop_mask, steps, dtype)

  def step(self, xw, state, drop_mask=None, weights=None):  # pylint: disable=unused-argument
    c, h = state
    new_c, o = lstm_update(xw + h @ self.W_hh, c, drop_mask)
    new_h = tf.tanh(new_c) * o
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

  def _sequence(self, x, state, const, drop_mask, steps, dtype):
    width = x.shape[-1]
    const = (tf.zeros([1, 4 * self.num_units]) if const is None
             else const @ self.W_xh[width:])
    ln = [tf.convert_to_tensor(v) for v in (self.ln_all_gamma, self.ln_all_beta,
                                            self.ln_c_gamma, self.ln_c_beta)]
    h, c = state
    args = (x, self.W_xh[:width], const, h, c, tf.convert_to_tensor(self.W_hh), ln)
    hs, h, c = _run_sequence(_ln_sequence, args, drop_mask, steps, dtype, x,
                             self.num_units)
    return hs, (h, c)

  def step(self, xw, state, drop_mask=None, weights=None):
    weights = weights or self.prepare()
    h, c = state
    gates = layer_norm_all(xw + self._mm(h, weights['W_hh']), 4,
                           self.ln_all_gamma, self.ln_all_beta)
    new_c, o = lstm_update(gates, c, drop_mask)
    new_h = tf.tanh(layer_norm(new_c, self.ln_c_gamma, self.ln_c_beta)) * o
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

  def _sequence(self, x, state, const, drop_mask, steps, dtype):
    width = x.shape[-1]
    hyper_w_xh = self.hyper_cell.W_xh[:self.input_size]
    if const is None:
      const = tf.zeros([1, 4 * self.num_units])
      hyper_const = tf.zeros([1, 4 * self.hyper_num_units])
    else:
      const, hyper_const = const @ self.W_xh[width:], const @ hyper_w_xh[width:]
    w = self._stacked()
    cells = (self, self.hyper_cell)
    ln = [tf.convert_to_tensor(getattr(cell, name)) for cell in cells
          for name in ('ln_all_gamma', 'ln_all_beta', 'ln_c_gamma', 'ln_c_beta')]
    h, hyper_h, c, hyper_c = state
    args = (x, self.W_xh[:width], const, hyper_w_xh[:width], hyper_const, h,
            hyper_h, c, hyper_c, w['hh_w'], tf.convert_to_tensor(self.hyper_cell.W_hh),
            w['z_w'], w['zw_b'], w['alpha_w'], w['beta_w'],
            tf.convert_to_tensor(self.bias), ln)
    hs, *state = _run_sequence(_hyper_sequence, args, drop_mask, steps,
                               dtype, x, self.num_units)
    return hs, tuple(state)

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
    new_c, o = lstm_update(gates, c, drop_mask)
    new_h = tf.tanh(layer_norm(new_c, self.ln_c_gamma, self.ln_c_beta)) * o
    return new_h, (new_h, hyper_h, new_c, hyper_c)


CELLS = {'lstm': LSTMCell, 'layer_norm': LayerNormLSTMCell, 'hyper': HyperLSTMCell}
MAGENTA_SCOPES = {'lstm': 'LSTMCell', 'layer_norm': 'LayerNormLSTMCell',
                  'hyper': 'HyperLSTMCell'}


def make_cell(kind, num_units, input_size, rng, scope, **kwargs):
  """A cell of kind lstm / layer_norm / hyper under Magenta's scope name."""
  if kind not in CELLS:
    raise ValueError('unknown cell %r: expected one of %s' % (kind, ', '.join(CELLS)))
  return CELLS[kind](num_units, input_size, rng,
                     '%s/%s' % (scope, MAGENTA_SCOPES[kind]), **kwargs)


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


def run(step, inputs, state, lengths=None, num_steps=None, collect=True):
  """Runs `step(inputs_t, state) -> (output_t, state)` over time in a tf.while_loop.

  The reference loop: one cell.step per time step, differentiated by autodiff,
  that the tests hold the cells' run_sequence (hand-written backprop) against;
  also the way to run a new cell before it has a run_sequence of its own.

  inputs: a nest of time-major tensors [T, ...]; state: a nest of [B, ...] tensors.
  lengths [B]: where given, a sequence's state stops changing after its length (as
  dynamic_rnn's sequence_length does), so the final state is the state at its end.
  num_steps: how many steps to run (default T). Returns (outputs [T, B, ...] when
  collect, else None; the final state).
  """
  flat_inputs = tf.nest.flatten(inputs)
  size = flat_inputs[0].shape[0] or tf.shape(flat_inputs[0])[0]
  if num_steps is None:
    num_steps = size
  input_tas = [tf.TensorArray(x.dtype, size=size).unstack(x) for x in flat_inputs]

  def advance(t, state):
    x_t = tf.nest.pack_sequence_as(inputs, [ta.read(t) for ta in input_tas])
    out, new_state = step(x_t, state)
    if lengths is not None:
      alive = (t < lengths)[:, None]
      new_state = tf.nest.map_structure(
          lambda new, old: tf.where(alive, new, old), new_state, state)
    return out, new_state

  if not collect:
    # No TensorArray rides along unwritten: XLA rejects that. The bound on the
    # iterations lets XLA size the gradient's accumulators.
    _, state = tf.while_loop(
        lambda t, _: t < num_steps,
        lambda t, s: (t + 1, advance(t, s)[1]),
        (tf.constant(0), state), maximum_iterations=size)
    return None, state

  def body(t, state, out_ta):
    out, new_state = advance(t, state)
    return t + 1, new_state, out_ta.write(t, out)

  out_ta = tf.TensorArray(tf.float32, size=size)
  _, state, out_ta = tf.while_loop(
      lambda t, *_: t < num_steps, body, (tf.constant(0), state, out_ta),
      maximum_iterations=size)  # XLA's gradient needs a bound
  return out_ta.stack(), state
