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
"""The three cells' whole-sequence loops, with backprop through time by hand.

Magenta's maths (lstm_math), run over all steps at once for training. Autodiff
of a while loop multiplies one small weight gradient per step; these backward
loops multiply per step only what the recurrence needs, and each big weight
gradient is ONE product over all steps after the loop.

Each sequence takes x [T, B, X], its weights as a named tuple (LSTMWeights,
LNWeights, HyperWeights), the cell's state tuple, an optional recurrent-dropout
mask [T, B, n] and how many steps to run; it returns (h for every step, final
state). Its gradients come back in the same shapes: the weights' as the same
named tuple type (tf.custom_gradient flattens and packs the nests itself).
Whether a loop is compiled with XLA and how the batch is split into chains is
runtime's policy.
"""

import collections
import functools

import tensorflow as tf

from sketch_rnn import runtime
from sketch_rnn.lstm_math import layer_norm_grad
from sketch_rnn.lstm_math import layer_norm_parts
from sketch_rnn.lstm_math import lstm_gates
from sketch_rnn.lstm_math import lstm_gates_grad
from sketch_rnn.lstm_math import matmul

# The gates at step t are x[t] @ w_x + const + h @ w_hh: const [B or 1, 4n] is the
# share that is the same at every step (z's product and the bias), added per
# step rather than broadcast over all T beforehand (its gradient is summed in the
# loop: a sum over T afterwards is slow on CPU).
LSTMWeights = collections.namedtuple('LSTMWeights', 'w_x const w_hh')
# A layer-norm LSTM's gammas and betas: of the 4 gate blocks, then of c.
LayerNorms = collections.namedtuple('LayerNorms',
                                    'all_gamma all_beta c_gamma c_beta')
# The layer-norm LSTM's: gates as the LSTM's (its const holds no bias), then
# the layer norms ln, LayerNorms.
LNWeights = collections.namedtuple('LNWeights', 'w_x const w_hh ln')
# hh_w [n, 4 hn + 4n]: h's rows of the hyper cell's W_xh, then W_hh (h feeds both
# LSTMs: one product per step). z_w [hn, 12 emb]: the 8 zw then the 4 zb
# projections; alpha_w [8, emb, n], beta_w [4, emb, n]. hyper: the hyper
# LayerNormLSTM's own (w_x: x's rows of its W_xh; w_hh: its W_hh on hyper_h).
HyperWeights = collections.namedtuple(
    'HyperWeights', 'w_x const hh_w z_w zw_b alpha_w beta_w bias ln hyper')


# ---------------------------------------------------------------------------
# What the three loops share
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


def _flat(a):
  """a [S, B, N] as [S * B, N]: the rows of all steps for one product."""
  return tf.reshape(a, [-1, a.shape[-1]])


def _input_share(x, w_x, xla):
  """t -> x[t] @ w_x, the input's share of the gates at step t.

  Under XLA the product is taken step by step inside the loop, fused with the
  step's other work: one product over all steps beforehand would write a
  [T, B, 4n] tensor and read it back. In a TensorFlow loop one more op per step
  costs more than that: there it is one product over all steps, read per step.
  """
  if xla:
    return lambda t: x[t] @ w_x
  shape = tf.concat([tf.shape(x)[:2], [w_x.shape[-1]]], axis=0)
  xw = tf.reshape(_flat(x) @ w_x, shape)
  return lambda t: xw[t]


def _input_grads(x, w_x, d_gates, steps, padded, xla, x_grad=True):
  """The gradients of x [T, B, X] and w_x [X, G] of the gates' share x[t] @ w_x,
  from the gates' gradients d_gates [S, B, G] of the S steps the loop ran (S is
  T under XLA): (d_x [T, B, X] or None without x_grad, d_w_x), each one product
  over all steps."""
  x_run = x[:steps] if padded and not xla else x
  d_flat = _flat(d_gates)
  d_w_x = tf.matmul(_flat(x_run), d_flat, transpose_a=True)
  if not x_grad:
    return None, d_w_x
  d_x = tf.reshape(tf.matmul(d_flat, tf.transpose(w_x)), tf.shape(x_run))
  return _pad_rows(d_x, x, steps, padded, xla), d_w_x


def _h_prev(h0, hs):
  """h[t - 1] of every step run, [S * B, n], from h0 [B, n] and hs [S, B, n]."""
  return _flat(tf.concat([h0[None], hs[:-1]], axis=0))


def _const_grad(d_const, const):
  """d_const summed over the batch where const was one row for all of it."""
  if const.shape[0] == 1:
    return tf.reduce_sum(d_const, axis=0, keepdims=True)
  return d_const


def _or_zeros(grads, likes):
  """The incoming gradients of a sequence's outputs, zeros for those unused."""
  return tuple(tf.zeros_like(like) if d is None else d
               for d, like in zip(grads, likes))


def _arrays(names, steps, **kwargs):
  return {k: tf.TensorArray(tf.float32, size=steps, **kwargs) for k in names}


# ---------------------------------------------------------------------------
# The LSTM and the layer-norm LSTM: one loop, two steps
# ---------------------------------------------------------------------------

_LSTM_SAVED = ('c_prev', 'i', 'g', 'f', 'o', 'tc')
_LN_SAVED = ('c_prev', 'i', 'g', 'f', 'o', 'xhat', 'rstd', 'xhat_c', 'rstd_c', 'tc')


def _lstm_forward(a, c, mask, unused_ln):
  """An LSTM step from its gate pre-activations a [B, 4n]:
  (h, c, what its backward reads)."""
  c, saved = lstm_gates(a, c, mask)
  tc = saved['tc'] = tf.tanh(c)
  return tc * saved['o'], c, saved


def _lstm_backward(dh, dc, s, mask, unused_ln, acc):
  """The step's backward from dh, dc and its saved values s: (da, dc_prev, acc);
  acc (nothing: the LSTM has no weights of its own in the step) is passed on."""
  dc = dc + tf.raw_ops.TanhGrad(y=s['tc'], dy=dh * s['o'])
  da, dc_prev = lstm_gates_grad(dh, dc, s, mask)
  return da, dc_prev, acc


def _ln_zeros(n, batch):
  zero_4n, zero_n = tf.zeros([batch, 4 * n]), tf.zeros([batch, n])
  return LayerNorms(zero_4n, zero_4n, zero_n, zero_n)


def _row_sums(acc):
  return LayerNorms(*(tf.reduce_sum(a, axis=0) for a in acc))


def _ln_lstm_forward(a, c, mask, ln):
  """A LayerNormLSTM step from its gate pre-activations a [B, 4n]:
  (h, c, what its backward reads). ln: LayerNorms."""
  y, xhat, rstd = layer_norm_parts(a, 4, ln.all_gamma, ln.all_beta)
  c, saved = lstm_gates(y, c, mask)
  saved.update(xhat=xhat, rstd=rstd)
  yc, saved['xhat_c'], saved['rstd_c'] = layer_norm_parts(c, 1, ln.c_gamma,
                                                          ln.c_beta)
  tc = saved['tc'] = tf.tanh(yc)
  return tc * saved['o'], c, saved


def _ln_lstm_backward(dh, dc, s, mask, ln, acc):
  """The step's backward from dh, dc and its saved values s: (da, dc_prev, acc).

  acc: the layer norms' gradients so far (LayerNorms), per batch row ([B, 4n]
  twice, [B, n] twice); this step's are added.
  """
  d_yc = tf.raw_ops.TanhGrad(y=s['tc'], dy=dh * s['o'])
  dc = dc + layer_norm_grad(d_yc, s['xhat_c'], s['rstd_c'], ln.c_gamma, 1)
  dy, dc_prev = lstm_gates_grad(dh, dc, s, mask)
  da = layer_norm_grad(dy, s['xhat'], s['rstd'], ln.all_gamma, 4)
  acc = LayerNorms(acc.all_gamma + dy * s['xhat'], acc.all_beta + dy,
                   acc.c_gamma + d_yc * s['xhat_c'], acc.c_beta + d_yc)
  return da, dc_prev, acc


def _lstm_sequence(has_mask, dtype, padded, x_grad, xla=False, layer_norm=False):
  """The LSTM over all steps: weights LSTMWeights, state (c, h), both [B, n];
  with layer_norm, the LayerNormLSTM: weights LNWeights, state (h, c), its layer
  norms' backward written out (layer_norm_grad) and their gamma/beta gradients
  summed in the loop.

  Only `steps` <= T steps run; when `padded`, the outputs stop there (under XLA
  they keep all T rows, zeros past `steps`). Without x_grad, x's gradient is
  None (x is data: the product would only be thrown away).
  """
  forward, backward = ((_ln_lstm_forward, _ln_lstm_backward) if layer_norm
                       else (_lstm_forward, _lstm_backward))
  # What the backward pass reads, one TensorArray each: writes and reads keep
  # the step's tensor as it is (no split of a stacked gate tensor, no copy).
  # Under XLA each write is a kernel of its own, which costs more than the
  # arithmetic it saves: the loop keeps only the gates' pre-activations a and c,
  # and the backward runs the forward step again on them, fused into its own
  # kernels.
  if xla:
    names = ('h', 'a', 'c')
  else:
    names = (('h',) + (_LN_SAVED if layer_norm else _LSTM_SAVED)
             + (('gm',) if has_mask else ()))
  # (h, c) from the cell's state layout and back to it: LayerNormLSTMCell's is
  # [h, c], LSTMCell's [c, h], for which one swap goes either way.
  layout = (lambda a, b: (a, b)) if layer_norm else (lambda a, b: (b, a))

  @tf.custom_gradient
  def sequence(x, weights, state, mask, steps):
    h0, c0 = layout(*state)
    ln = weights.ln if layer_norm else None
    size = _loop_size(x, steps, xla)
    w = tf.cast(weights.w_hh, dtype)
    n = h0.shape[-1]
    x_share = _input_share(x, weights.w_x, xla)

    def body(t, h, c, tas):
      a = x_share(t) + weights.const + matmul(h, w, dtype)
      h, c, saved = forward(a, c, mask[t] if has_mask else None, ln)
      saved.update(h=h, a=a, c=c)
      return t + 1, h, c, {k: tas[k].write(t, saved[k]) for k in names}

    (h, c), saved = _forward_loop(body, (h0, c0), names, steps, size, xla)
    hs = saved.stack('h')

    def grad(*d_outputs):
      d_hs, *d_state = _or_zeros(d_outputs, (hs,) + tuple(state))
      dh, dc = layout(*d_state)
      w_t = tf.linalg.matrix_transpose(w)
      batch = tf.shape(h0)[0]

      def back(t, dh, dc, d_const, acc, d_as):
        if xla:
          c_prev = tf.where(t > 0, saved.read('c', tf.maximum(t - 1, 0)), c0)
          s = forward(saved.read('a', t), c_prev, mask[t] if has_mask else None,
                      ln)[2]
        else:
          s = {k: saved.read(k, t) for k in names if k != 'h'}
        da, dc, acc = backward(d_hs[t] + dh, dc, s,
                               mask[t] if has_mask else None, ln, acc)
        return (t - 1, matmul(da, w_t, dtype), dc, d_const + da, acc,
                d_as.write(t, da))

      _, dh0, dc0, d_const, acc, d_as = tf.while_loop(
          lambda t, *_: t >= 0, back,
          (steps - 1, dh, dc, tf.zeros([batch, 4 * n]),
           _ln_zeros(n, batch) if layer_norm else (),
           tf.TensorArray(tf.float32, size=size)),
          maximum_iterations=size)
      d_as = d_as.stack()
      d_w = matmul(_h_prev(h0, hs), _flat(d_as), dtype, transpose_a=True)
      d_const = _const_grad(d_const, weights.const)
      d_x, d_w_x = _input_grads(x, weights.w_x, d_as, steps, padded, xla, x_grad)
      d_weights = dict(w_x=d_w_x, const=d_const, w_hh=d_w)
      d_weights = (LNWeights(ln=_row_sums(acc), **d_weights) if layer_norm
                   else LSTMWeights(**d_weights))
      return d_x, d_weights, layout(dh0, dc0), None, None

    return (hs, layout(h, c)), grad

  return sequence


# ---------------------------------------------------------------------------
# The HyperLSTM
# ---------------------------------------------------------------------------


def _hyper_sequence(has_mask, dtype, padded, x_grad, xla=False):
  """The HyperLSTM over all steps: weights HyperWeights, state (h, hyper_h, c,
  hyper_c).

  Per step: one product h @ hh_w feeds both LSTMs; the hyper LayerNormLSTM (no
  dropout) gives hyper_h; hyper_h makes the per-gate scalings alpha (of x @ W_xh
  and h @ W_hh) and the bias beta of the main LayerNormLSTM. The backward
  multiplies per step only what the recurrence needs; the three big weight
  gradients are one product each after the loop, the small [8, emb, n] ones are
  summed in it.
  """
  ln_names = _LN_SAVED + (('gm',) if has_mask else ())
  names = ('h', 'hyper_h', 'xh', 'hh', 'alpha', 'zw', 'zb')
  if xla:  # the two LSTMs' pre-activations and c: the rest is recomputed
    names += ('m_a', 'm_c', 'y_a', 'y_c')
  else:
    names += (tuple('m_' + k for k in ln_names)
              + tuple('y_' + k for k in _LN_SAVED))

  @tf.custom_gradient
  def sequence(x, weights, state, mask, steps):
    h0, hyper_h0, c0, hyper_c0 = state
    hyper, ln, hyper_ln = weights.hyper, weights.ln, weights.hyper.ln
    const, hyper_const = weights.const, hyper.const
    z_w, alpha_w, beta_w = weights.z_w, weights.alpha_w, weights.beta_w
    size = _loop_size(x, steps, xla)
    n, hn = h0.shape[-1], hyper_h0.shape[-1]
    emb = z_w.shape[1] // 12
    batch = tf.shape(h0)[0]
    w_p, hyper_w_p = tf.cast(weights.hh_w, dtype), tf.cast(hyper.w_hh, dtype)
    # x feeds both LSTMs: one product
    x_share = _input_share(x, tf.concat([weights.w_x, hyper.w_x], axis=1), xla)

    def body(t, h, hyper_h, c, hyper_c, tas):
      xw, hyper_xw = tf.split(x_share(t), [4 * n, 4 * hn], axis=1)
      hyper_hh, hh = tf.split(matmul(h, w_p, dtype), [4 * hn, 4 * n], axis=1)
      a = hyper_xw + hyper_const + hyper_hh + matmul(hyper_h, hyper_w_p, dtype)
      hyper_h, hyper_c, hyper_saved = _ln_lstm_forward(a, hyper_c, None, hyper_ln)
      hyper_saved.update(a=a, c=hyper_c)
      zw, zb = tf.split(hyper_h @ z_w, [8 * emb, 4 * emb], axis=1)
      zw = tf.reshape(zw + weights.zw_b, [-1, 8, emb])
      zb = tf.reshape(zb, [-1, 4, emb])
      alpha = tf.einsum('bke,ken->bkn', zw, alpha_w)  # [B, 8, n]: x's 4, then h's
      alpha_x, alpha_h = tf.split(alpha, 2, axis=1)
      xh = xw + const
      pre = (alpha_x * tf.reshape(xh, [-1, 4, n])
             + (alpha_h * tf.reshape(hh, [-1, 4, n])
                + tf.einsum('bke,ken->bkn', zb, beta_w)))
      main_a = tf.reshape(pre, [-1, 4 * n]) + weights.bias
      h, c, saved = _ln_lstm_forward(main_a, c, mask[t] if has_mask else None, ln)
      saved.update(a=main_a, c=c)
      values = dict(h=h, hyper_h=hyper_h, xh=xh, hh=hh, alpha=alpha, zw=zw, zb=zb)
      values.update({'m_' + k: v for k, v in saved.items()})
      values.update({'y_' + k: v for k, v in hyper_saved.items()})
      return t + 1, h, hyper_h, c, hyper_c, {k: tas[k].write(t, values[k])
                                             for k in names}

    (h, hyper_h, c, hyper_c), saved = _forward_loop(
        body, (h0, hyper_h0, c0, hyper_c0), names, steps, size, xla)
    hs, hyper_hs = saved.stack('h'), saved.stack('hyper_h')

    def grad(*d_outputs):
      d_hs, d_h, d_hyper_h, d_c, d_hyper_c = _or_zeros(
          d_outputs, (hs, h0, hyper_h0, c0, hyper_c0))
      w_t, hyper_w_t = tf.transpose(w_p), tf.transpose(hyper_w_p)
      z_w_t = tf.transpose(z_w)

      def back(t, dh, d_hyper_h, dc, d_hyper_c, acc, d_tas):
        s = {k: saved.read(k, t) for k in names if k not in ('h', 'hyper_h')}
        if xla:
          before = tf.maximum(t - 1, 0)
          c_prev = tf.where(t > 0, saved.read('m_c', before), c0)
          hyper_c_prev = tf.where(t > 0, saved.read('y_c', before), hyper_c0)
          main = _ln_lstm_forward(s['m_a'], c_prev,
                                  mask[t] if has_mask else None, ln)[2]
          hyper_s = _ln_lstm_forward(s['y_a'], hyper_c_prev, None, hyper_ln)[2]
        else:
          main = {k[2:]: v for k, v in s.items() if k.startswith('m_')}
          hyper_s = {k[2:]: v for k, v in s.items() if k.startswith('y_')}
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
            d_z @ z_w_t + d_hyper_h, d_hyper_c, hyper_s, None, hyper_ln,
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
      h_prev, hyper_h_prev = _h_prev(h0, hs), _h_prev(hyper_h0, hyper_hs)
      d_w = tf.concat([matmul(h_prev, _flat(d_a), dtype, transpose_a=True),
                       matmul(h_prev, _flat(d_hh), dtype, transpose_a=True)], axis=1)
      d_hyper_w = matmul(hyper_h_prev, _flat(d_a), dtype, transpose_a=True)
      d_z_w = tf.matmul(_flat(hyper_hs), _flat(d_z), transpose_a=True)
      d_const = _const_grad(acc['const'], const)
      d_hyper_const = _const_grad(acc['hyper_const'], hyper_const)
      d_x, d_w_x = _input_grads(x, weights.w_x, d_xs, steps, padded, xla, x_grad)
      d_hyper_x, d_hyper_w_x = _input_grads(x, hyper.w_x, d_a, steps, padded, xla,
                                            x_grad)
      d_weights = HyperWeights(
          w_x=d_w_x, const=d_const, hh_w=d_w, z_w=d_z_w,
          zw_b=tf.reduce_sum(acc['zw_b'], axis=0), alpha_w=acc['alpha_w'],
          beta_w=acc['beta_w'], bias=tf.reduce_sum(acc['bias'], axis=0),
          ln=_row_sums(acc['ln']),
          hyper=LNWeights(w_x=d_hyper_w_x, const=d_hyper_const, w_hh=d_hyper_w,
                          ln=_row_sums(acc['hyper_ln'])))
      return (d_x + d_hyper_x if x_grad else None, d_weights,
              (dh0, d_hyper_h0, dc0, d_hyper_c0), None, None)

    return (hs, (h, hyper_h, c, hyper_c)), grad

  return sequence


# ---------------------------------------------------------------------------
# Running them
# ---------------------------------------------------------------------------

_BUILDERS = {'lstm': _lstm_sequence,
             'layer_norm': functools.partial(_lstm_sequence, layer_norm=True),
             'hyper': _hyper_sequence}
_SEQUENCES = {}


def run(kind, x, weights, state, mask=None, steps=None, dtype=tf.float32,
        x_grad=True):
  """Runs the loop of a `kind` cell (lstm, layer_norm, hyper) over x [T, B, X].

  weights: LSTMWeights, LNWeights or HyperWeights; state: the cell's state tuple;
  mask [T, B, n]: recurrent dropout, or None; steps: run only the first `steps`
  (a scalar tensor), default all T; dtype: that of the recurrent products;
  x_grad: False where x is data, whose gradient nothing reads (then None).
  Returns (h for every step run [steps, B, n] (all T rows under XLA, zeros past
  `steps`), final state). The sequence is built once per kind, mask or none,
  dtype, `steps` or none, x_grad and XLA or not (runtime.use_xla), then reused.
  """
  units = (weights.hh_w if kind == 'hyper' else weights.w_hh).shape[0]
  xla = runtime.use_xla(kind, dtype, units)
  key = (kind, mask is not None, dtype, steps is not None, bool(x_grad), xla)
  if key not in _SEQUENCES:
    fn = _BUILDERS[kind](*key[1:])
    _SEQUENCES[key] = tf.function(fn, jit_compile=True) if xla else fn
  mask = mask if mask is not None else tf.zeros([0])
  if steps is None:
    steps = x.shape[0] or tf.shape(x)[0]
  return _SEQUENCES[key](x, weights, tuple(state), mask,
                         tf.convert_to_tensor(steps, tf.int32))


def in_chains(sequence_fn, chains, x, state, const, mask, *args):
  """sequence_fn(x, state, const, mask, *args) -> (outputs [T, B, n], final state)
  with the batch split into `chains` independent loops that TensorFlow runs side
  by side (runtime.loop_chains); every row's numbers are those of one loop.

  const [B, C] or None: input that is the same at every step; mask [T, B, n] or
  None.
  """
  if chains == 1:
    return sequence_fn(x, state, const, mask, *args)
  sizes = runtime.chain_sizes(x.shape[1], chains)
  chains = len(sizes)

  def rows(a, axis):
    if a is None or (axis == 0 and a.shape[0] == 1):
      return [a] * chains
    return tf.split(a, sizes, axis=axis)

  xs, consts, masks = rows(x, 1), rows(const, 0), rows(mask, 1)
  states = list(zip(*[rows(a, 0) for a in state]))
  runs = [sequence_fn(xs[k], states[k], consts[k], masks[k], *args)
          for k in range(chains)]
  outputs = tf.concat([hs for hs, _ in runs], axis=1)
  final = tuple(tf.concat(parts, axis=0) for parts in zip(*[s for _, s in runs]))
  return outputs, final


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
    hs, _ = cell.run_sequence(inputs, zero, None, mask, steps, dtype, chains,
                              x_grad=False)
    finals.append(tf.where((lengths > 0)[:, None], tf.gather_nd(hs, index), 0.0))
  return tuple(finals)
