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
"""A plain tf.while_loop + autodiff training step, the baseline of benchmark.py.

The computation has the shape of sketch-rnn's training step, written the way a
first TensorFlow 2 port would write it and nothing more: no XLA, no chains, no
hand-written backward, no z hoisted out of the decoder loop.

- a bidirectional LSTM encoder (enc_rnn_size) over the 5-wide strokes x[:, 1:],
  each direction one tf.while_loop that keeps its state past a sketch's end (so
  the backward one starts at the end, as Magenta's reverse_sequence does); its
  final h's -> mu and presig (z_size) -> z = mu + exp(presig / 2) * eps;
- a decoder LSTM (dec_rnn_size) fed [x_t, z] at every step, Magenta's way: one
  product [x, z, h] @ W per step; its initial state tanh(z @ W_init);
- the output layer to 3 + 6 * num_mixture over every step's h;
- a stand-in loss of the same reach: softmax cross entropy of the 3 pen logits
  against the target pen states, the mean square of the other 6 * num_mixture
  outputs and KL_WEIGHT (the benchmark's kl_w) times Magenta's KL term (the
  mixture density's maths is not what the baseline times);
- gradients by tf.GradientTape through the three while_loops (inputs and
  outputs in TensorArrays), clipped per element at grad_clip, then TF1's Adam.

Whatever the configuration's cells (dec_model, enc_model), the baseline is made of
plain LSTMs at its sizes (lstm_hparams): for hyper512 or layer_norm512 it times an
lstm512-sized LSTM step, so compare it with the project's step of the LSTM
configuration. Products run in hps.precision (bfloat16: the operands cast, the
sums and states float32); recurrent dropout is off. The model must be conditional
(the VAE's step: there is no baseline for a decoder alone).
"""

import numpy as np
import tensorflow as tf

from sketch_rnn.lstm_math import FORGET_BIAS
from sketch_rnn.lstm_math import matmul
from sketch_rnn.model import Adam
from sketch_rnn.rnn import PRECISIONS

KL_WEIGHT = 0.01


def lstm_hparams(hps):
  """A copy of hps with both cells plain LSTMs: what the baseline computes, and
  so what its FLOPs are counted at."""
  hps = hps.copy()
  hps.dec_model = 'lstm'
  hps.enc_model = 'lstm'
  return hps


def lstm_cell(inputs, c, w, b, dtype):
  """One LSTM step on inputs = [x, h] (one product): (h, c)."""
  gates = matmul(inputs, w, dtype) + b
  i, j, f, o = tf.split(gates, 4, axis=1)
  c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
  return tf.tanh(c) * tf.sigmoid(o), c


def output_size(hps):
  return 3 + 6 * hps.num_mixture


def stand_in_loss(output, x_out, mu, presig, kl_weight=KL_WEIGHT):
  """The loss on the output layer [B * T, 3 + 6M] and the encoder's (mu, presig);
  x_out [B, T, 5] holds the targets."""
  pen = tf.reshape(x_out[:, :, 2:5], [-1, 3])
  pen_loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
      labels=pen, logits=output[:, :3]))
  rest = tf.reduce_mean(tf.square(output[:, 3:]))
  kl = -0.5 * tf.reduce_mean(1 + presig - tf.square(mu) - tf.exp(presig))
  return pen_loss + rest + kl_weight * kl


class PlainLoop(tf.Module):
  """The baseline's weights, Adam's state and its training step (see the module
  docstring). hps: sketch-rnn's hyperparameters (it reads enc_rnn_size,
  dec_rnn_size, z_size, num_mixture, grad_clip, precision and conditional; the
  batch's shape is the data's)."""

  def __init__(self, hps, seed=0, beta1=0.9, beta2=0.999, epsilon=1e-8):
    super().__init__(name='plain_loop')
    if not hps.conditional:
      raise ValueError('the plain baseline is the VAE step: conditional=True')
    self.hps = hps
    self.dtype = PRECISIONS[hps.precision]
    rng = np.random.RandomState(seed)
    e, d, z = hps.enc_rnn_size, hps.dec_rnn_size, hps.z_size

    shapes = {'enc_fw': (5 + e, 4 * e), 'enc_bw': (5 + e, 4 * e),
              'mu': (2 * e, z), 'sigma': (2 * e, z), 'init': (z, 2 * d),
              'dec': (5 + z + d, 4 * d), 'out': (d, output_size(hps))}
    self.params = {}
    for layer, (rows, cols) in sorted(shapes.items()):  # seeded: a fixed order
      w = rng.uniform(-1, 1, [rows, cols]) * np.sqrt(6.0 / (rows + cols))
      self.params[layer + '/W'] = tf.Variable(w.astype(np.float32), name=layer + '/W')
      self.params[layer + '/b'] = tf.Variable(tf.zeros([cols]), name=layer + '/b')
    self.names = sorted(self.params)
    self.variables_list = [self.params[k] for k in self.names]
    self.adam = Adam(self.variables_list, beta1, beta2, epsilon)
    self.train_step = tf.function(self._train_step)
    self.step_with_eps = tf.function(self._step)

  @property
  def beta1_power(self):
    return self.adam.beta1_power

  def _encode(self, xs, lengths, reverse):
    """Final h of one direction of the encoder over xs (a TensorArray of [B, 5])."""
    p, e = self.params, self.hps.enc_rnn_size
    prefix = 'enc_bw/' if reverse else 'enc_fw/'
    w, b = p[prefix + 'W'], p[prefix + 'b']
    steps = xs.size()
    batch = tf.shape(lengths)[0]
    zeros = tf.zeros([batch, e])

    def body(t, h, c):
      k = steps - 1 - t if reverse else t
      h_new, c_new = lstm_cell(tf.concat([xs.read(k), h], 1), c, w, b, self.dtype)
      # Past its end a sketch's state stands still: the forward direction ends on
      # its last point, the backward one starts there from the zero state.
      live = tf.expand_dims(k < lengths, 1)
      return t + 1, tf.where(live, h_new, h), tf.where(live, c_new, c)

    _, h, _ = tf.while_loop(lambda t, h, c: t < steps, body, (0, zeros, zeros))
    return h

  def loss(self, input_data, sequence_lengths, eps):
    """The stand-in loss of a stroke-5 batch [B, T + 1, 5] with the noise eps."""
    p, hps = self.params, self.hps
    input_data = tf.convert_to_tensor(input_data, tf.float32)
    lengths = tf.convert_to_tensor(sequence_lengths, tf.int32)
    x_in, x_out = input_data[:, :-1], input_data[:, 1:]
    steps = tf.shape(x_in)[1]
    batch = tf.shape(x_in)[0]

    # Both directions read it (eager TensorArrays forget what was read).
    enc_in = tf.TensorArray(tf.float32, size=steps, clear_after_read=False).unstack(
        tf.transpose(x_out, [1, 0, 2]))
    last_h = tf.concat([self._encode(enc_in, lengths, False),
                        self._encode(enc_in, lengths, True)], 1)
    mu = matmul(last_h, p['mu/W'], self.dtype) + p['mu/b']
    presig = matmul(last_h, p['sigma/W'], self.dtype) + p['sigma/b']
    z = mu + tf.exp(presig / 2.0) * eps

    state = tf.tanh(matmul(z, p['init/W'], self.dtype) + p['init/b'])
    c0, h0 = tf.split(state, 2, axis=1)
    dec_in = tf.TensorArray(tf.float32, size=steps).unstack(
        tf.transpose(x_in, [1, 0, 2]))
    w, b = p['dec/W'], p['dec/b']

    def body(t, h, c, outputs):
      h, c = lstm_cell(tf.concat([dec_in.read(t), z, h], 1), c, w, b, self.dtype)
      return t + 1, h, c, outputs.write(t, h)

    _, _, _, outputs = tf.while_loop(
        lambda t, h, c, outputs: t < steps, body,
        (0, h0, c0, tf.TensorArray(tf.float32, size=steps)))
    hs = tf.reshape(tf.transpose(outputs.stack(), [1, 0, 2]),
                    [batch * steps, hps.dec_rnn_size])
    output = matmul(hs, p['out/W'], self.dtype) + p['out/b']
    return stand_in_loss(output, x_out, mu, presig)

  def gradients(self, input_data, sequence_lengths, eps):
    """(loss, gradients in the order of self.names)."""
    with tf.GradientTape() as tape:
      loss = self.loss(input_data, sequence_lengths, eps)
    return loss, tape.gradient(loss, self.variables_list)

  def _step(self, input_data, sequence_lengths, lr, eps):
    loss, grads = self.gradients(input_data, sequence_lengths, eps)
    clip = self.hps.grad_clip
    self.adam.apply([tf.clip_by_value(g, -clip, clip) for g in grads],
                    self.variables_list, lr)
    return loss

  def _train_step(self, input_data, sequence_lengths, lr):
    """One step on a batch, the noise drawn inside (as the project's): the loss."""
    batch = tf.shape(input_data)[0]
    eps = tf.random.normal([batch, self.hps.z_size])
    return self._step(input_data, sequence_lengths, tf.cast(lr, tf.float32), eps)


def make_train_step(hps, seed=0):
  """The baseline at hps: (step, module), step(input_data, sequence_lengths, lr)
  one training step in one tf.function that returns the loss."""
  module = PlainLoop(lstm_hparams(hps), seed=seed)
  return module.train_step, module
