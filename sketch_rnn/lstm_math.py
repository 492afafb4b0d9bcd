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
"""The arithmetic of Magenta's LSTM step, forwards and backwards.

The cells' one-step `step` (rnn) and the whole-sequence loops with hand-written
backprop (bptt) both use these, so the gate order (i, j, f, o), the forget bias
inside sigmoid(f + 1) and the layer norm are written once. It imports neither
module: rnn imports bptt, and both import this.
"""

import tensorflow as tf

LN_EPSILON = 1e-3
FORGET_BIAS = 1.0


def matmul(a, b, dtype=tf.float32, **kwargs):
  """a @ b with the product in `dtype` (bfloat16: oneDNN / tensor cores), f32 out.

  Only the product is in low precision; its sum into float32 state is not.
  """
  if dtype == tf.float32:
    return tf.matmul(a, b, **kwargs)
  return tf.cast(tf.matmul(tf.cast(a, dtype), tf.cast(b, dtype), **kwargs),
                 tf.float32)


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


def lstm_gates(gates, c, mask=None):
  """The LSTM arithmetic from the gate pre-activations [B, 4n] to the new c.

  mask: recurrent dropout on the candidate g (Semeniuta et al.: no memory loss).
  Returns (new c, saved): saved holds c_prev and the activations i, g, f, o (and
  gm, the masked g, where there is a mask) that lstm_gates_grad reads.
  """
  i, j, f, o = tf.split(gates, 4, axis=-1)
  i, g = tf.sigmoid(i), tf.tanh(j)
  f, o = tf.sigmoid(f + FORGET_BIAS), tf.sigmoid(o)
  saved = dict(c_prev=c, i=i, g=g, f=f, o=o)
  if mask is not None:
    g = saved['gm'] = g * mask
  return c * f + i * g, saved


def lstm_gates_grad(dh, dc, s, mask=None):
  """The backward of lstm_gates for h = tc * o: (d gates [B, 4n], d c_prev).

  dh: the gradient of h; dc: that of the new c, the path through tc included;
  s: lstm_gates' saved values plus tc.
  """
  sigmoid_grad, tanh_grad = tf.raw_ops.SigmoidGrad, tf.raw_ops.TanhGrad
  d_o = sigmoid_grad(y=s['o'], dy=dh * s['tc'])
  d_i = sigmoid_grad(y=s['i'], dy=dc * s.get('gm', s['g']))
  d_j = tanh_grad(y=s['g'], dy=dc * s['i'])
  if mask is not None:
    d_j *= mask
  d_f = sigmoid_grad(y=s['f'], dy=dc * s['c_prev'])
  return tf.concat([d_i, d_j, d_f, d_o], axis=-1), dc * s['f']
