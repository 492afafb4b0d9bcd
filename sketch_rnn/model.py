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
"""Sketch-RNN: the VAE (encoder, decoder, mixture density output), its losses and
the train step.

Ported from Magenta's sketch_rnn/model.py (Ha & Eck 2017, arXiv:1704.03477), plus this
fork's `scale`: the standard deviation of eps in z = mu + sigma * eps.
"""

import os

import numpy as np
import tensorflow as tf

from sketch_rnn import bptt
from sketch_rnn import hparams
from sketch_rnn import rnn
from sketch_rnn import runtime
from sketch_rnn.errors import SketchRNNError

# Where code written against Magenta's model.py looks for them.
get_default_hparams = hparams.get_default_hparams
HParams = hparams.HParams

# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


def get_mixture_coef(output):
  """Splits the decoder output [N, 3 + 6M] into the mixture density parameters."""
  # One split: the gradient of a slice fills a zero tensor of the whole output.
  m = (output.shape[1] - 3) // 6
  pen_logits, pi, mu1, mu2, sigma1, sigma2, corr = tf.split(
      output, [3] + [m] * 6, axis=1)
  return dict(
      pi=tf.nn.softmax(pi),
      mu1=mu1,
      mu2=mu2,
      sigma1=tf.exp(sigma1),
      sigma2=tf.exp(sigma2),
      corr=tf.tanh(corr),
      pen=tf.nn.softmax(pen_logits),
      pen_logits=pen_logits)


def tf_2d_normal(x1, x2, mu1, mu2, s1, s2, rho):
  """Density of (x1, x2) under a bivariate normal (eq. 24 of Graves 2013)."""
  norm1 = x1 - mu1
  norm2 = x2 - mu2
  s1s2 = s1 * s2
  z = (tf.square(norm1 / s1) + tf.square(norm2 / s2) -
       2 * (rho * (norm1 * norm2)) / s1s2)
  neg_rho = 1 - tf.square(rho)
  result = tf.exp(-z / (2 * neg_rho))
  denom = 2 * np.pi * (s1s2 * tf.sqrt(neg_rho))
  return result / denom


def reconstruction_losses(params, target, mask_pen):
  """Per-step L_s and L_p, each [N, 1], for targets [N, 5] in stroke-5.

  L_s is zeroed after the end of each sketch; L_p is zeroed there only when
  mask_pen (Magenta's is_training=False), which the training loop never sets.
  """
  x1, x2, pen_data = target[:, 0:1], target[:, 1:2], target[:, 2:5]
  density = tf_2d_normal(x1, x2, params['mu1'], params['mu2'],
                         params['sigma1'], params['sigma2'], params['corr'])
  epsilon = 1e-6  # keeps log() finite where the density underflows
  loss_s = -tf.math.log(
      tf.reduce_sum(density * params['pi'], axis=1, keepdims=True) + epsilon)
  fs = 1.0 - pen_data[:, 2:3]  # 0 past the last stroke of the sketch
  loss_s = loss_s * fs
  loss_p = tf.nn.softmax_cross_entropy_with_logits(
      labels=pen_data, logits=params['pen_logits'])[:, None]
  if mask_pen:
    loss_p = loss_p * fs
  return loss_s, loss_p


def log_likelihood(output, targets, lengths):
  """log p(x | z) of each sketch, in nats: [B].

  output: the decoder's [B*T, 3+6M] (rows b * T + t), targets: the stroke-5
  targets [B, T, 5], lengths: points per sketch [B]. The sum over a sketch's
  points of the offsets' mixture log-density, plus the pen's log-probability at
  each point and at the end-of-sketch step after them (the padding beyond says
  nothing about the sketch). Unlike Magenta's r_cost (a mean over all steps, with
  1e-6 added inside the log), a likelihood: comparable across models and papers.
  Offsets are in the data's normalised units.
  """
  batch, steps = tf.shape(targets)[0], tf.shape(targets)[1]
  m = (output.shape[1] - 3) // 6
  pen_logits, pi, mu1, mu2, log_s1, log_s2, corr = tf.split(
      output, [3] + [m] * 6, axis=1)
  flat = tf.reshape(targets, [-1, 5])
  n1 = (flat[:, 0:1] - mu1) * tf.exp(-log_s1)
  n2 = (flat[:, 1:2] - mu2) * tf.exp(-log_s2)
  rho = tf.tanh(corr)
  # tanh rounds to +-1 in float32 for |corr| > 9: a floor keeps the log finite.
  one_minus_rho2 = tf.maximum(1 - tf.square(rho), 1e-12)
  log_normal = (-np.log(2 * np.pi) - log_s1 - log_s2 - 0.5 * tf.math.log(one_minus_rho2)
                - (tf.square(n1) + tf.square(n2) - 2 * rho * n1 * n2) /
                (2 * one_minus_rho2))
  log_offsets = tf.reduce_logsumexp(tf.nn.log_softmax(pi) + log_normal, axis=1)
  log_pen = -tf.nn.softmax_cross_entropy_with_logits(labels=flat[:, 2:5],
                                                     logits=pen_logits)
  step = tf.range(steps)[None, :]
  lengths = tf.cast(lengths, tf.int32)[:, None]
  per_step = (tf.where(step < lengths, tf.reshape(log_offsets, [batch, steps]), 0.0) +
              tf.where(step <= lengths, tf.reshape(log_pen, [batch, steps]), 0.0))
  return tf.reduce_sum(per_step, axis=1)


def kl_divergence(mu, presig):
  """KL(N(mu, exp(presig)) || N(0, 1)) of each entry: Magenta's kl_cost before its
  mean over the batch and z (and the kl_tolerance floor). Works on numpy arrays
  too, in their precision."""
  return -0.5 * (1 + presig - tf.square(mu) - tf.exp(presig))


class Model(tf.Module):
  """Sketch-RNN (Ha & Eck 2017): bidirectional RNN encoder, latent z, RNN decoder
  with a Gaussian mixture output.

  Variables carry Magenta's names (vector_rnn/...), so Magenta checkpoints map onto
  them one to one. Randomness (eps, dropout masks) comes from `self.generator`, a
  seeded tf.random.Generator that checkpoints save.
  """

  def __init__(self, hps, seed=None):
    super().__init__(name='sketch_rnn')
    self.hps = hps.copy()
    hparams.check_choices(hps)
    # The dtype of the big matrix products; weights, state and loss stay float32.
    self.dtype = rnn.PRECISIONS[hps.precision]
    rng = np.random.RandomState(seed)
    self.generator = (tf.random.Generator.from_seed(seed) if seed is not None
                      else tf.random.Generator.from_non_deterministic_state())
    dropout_args = dict(use_recurrent_dropout=hps.use_recurrent_dropout,
                        dropout_keep_prob=hps.recurrent_dropout_prob, dtype=self.dtype)
    z_size = hps.z_size
    if hps.conditional:
      self.enc_fw = rnn.make_cell(hps.enc_model, hps.enc_rnn_size, 5, rng,
                                  'vector_rnn/ENC_RNN/fw', **dropout_args)
      self.enc_bw = rnn.make_cell(hps.enc_model, hps.enc_rnn_size, 5, rng,
                                  'vector_rnn/ENC_RNN/bw', **dropout_args)
      self.mu_w, self.mu_b = rnn.super_linear(
          'vector_rnn/ENC_RNN_mu', 2 * hps.enc_rnn_size, z_size, rng,
          init_w='gaussian', weight_start=0.001)
      self.presig_w, self.presig_b = rnn.super_linear(
          'vector_rnn/ENC_RNN_sigma', 2 * hps.enc_rnn_size, z_size, rng,
          init_w='gaussian', weight_start=0.001)
    dec_input = 5 + z_size if hps.conditional else 5
    self.dec = rnn.make_cell(hps.dec_model, hps.dec_rnn_size, dec_input, rng,
                             'vector_rnn/RNN', **dropout_args)
    if hps.conditional:
      self.init_w, self.init_b = rnn.super_linear(
          'vector_rnn/linear', z_size, self.dec.state_size, rng,
          init_w='gaussian', weight_start=0.001)
    n_out = 3 + hps.num_mixture * 6  # pen logits, then M each of 6 parameters
    self.output_w = rnn.make_variable(
        'vector_rnn/RNN/output_w', rnn.glorot_uniform([hps.dec_rnn_size, n_out], rng))
    self.output_b = rnn.make_variable(
        'vector_rnn/RNN/output_b', rnn.glorot_uniform([n_out], rng))

  def magenta_variables(self):
    """{Magenta variable name: tf.Variable} for every trainable weight."""
    return {v.name.split(':')[0]: v for v in self.trainable_variables}

  def _masks(self, cell, steps, batch, dropout, after=()):
    """The cell's recurrent-dropout masks [steps, batch, n], or None; drawn once
    the masks `after` are (the numbers are the same in any order: the
    generator's state advances in program order)."""
    if not (dropout and cell.use_recurrent_dropout):
      return None
    with tf.control_dependencies([m for m in after if m is not None]):
      return rnn.dropout_masks(self.generator, cell.dropout_keep_prob,
                               [steps, batch, cell.num_units])

  # -- the three parts of the VAE --------------------------------------------

  def encode(self, x, lengths, dropout=False, drawn=None):
    """x [B, T, 5] (the targets), lengths [B] -> mu, presig [B, z_size].

    drawn: a list to which the dropout masks drawn here are added (decode).
    """
    xt = tf.transpose(x, [1, 0, 2])
    steps, batch = xt.shape[0], tf.shape(xt)[1]
    lengths = tf.cast(lengths, tf.int32)
    # The backward RNN reads each sketch reversed within its own length.
    xt_rev = tf.reverse_sequence(xt, lengths, seq_axis=0, batch_axis=1)
    fw, bw = self.enc_fw, self.enc_bw
    masks = dict(fw=self._masks(fw, steps, batch, dropout),
                 bw=self._masks(bw, steps, batch, dropout))
    if drawn is not None:
      drawn.extend(masks.values())
    with tf.name_scope('encoder_loops'):  # named in a profile (profile_step.py)
      last_h = tf.concat(bptt.bidirectional_final_h(
          fw, bw, xt, xt_rev, lengths, (masks['fw'], masks['bw']), self.dtype,
          runtime.loop_chains(xt.shape[1], loops=2)), axis=1)
    mu = rnn.matmul(last_h, self.mu_w, self.dtype) + self.mu_b
    presig = rnn.matmul(last_h, self.presig_w, self.dtype) + self.presig_b
    return mu, presig

  def reparameterize(self, mu, presig, eps=None):
    """z = mu + sigma * eps with eps ~ N(0, scale^2): this fork's `scale`."""
    if eps is None:
      eps = self.generator.normal(tf.shape(mu)) * self.hps.scale
    return mu + tf.exp(presig / 2.0) * eps

  def initial_state(self, z):
    """The decoder's flat initial state (Magenta's layout) from z."""
    if not self.hps.conditional:
      return tf.zeros([tf.shape(z)[0], self.dec.state_size])
    return tf.tanh(z @ self.init_w + self.init_b)

  def decode(self, x_in, z, initial_state, dropout=False, after=()):
    """x_in [B, T, 5], z [B, z_size] -> (output [B*T, 3+6M], final flat state).

    Rows of the output are ordered b * T + t, as in Magenta. after: the
    encoder's dropout masks, which TensorFlow is to draw before the decoder's
    (it would draw them in any order, and the decoder's drawn first leave the
    encoder's loops waiting for theirs).
    """
    hps = self.hps
    cell = self.dec
    xt = tf.transpose(x_in, [1, 0, 2])
    steps, batch = xt.shape[0], tf.shape(xt)[1]
    const = z if hps.conditional else None
    if dropout and hps.use_input_dropout:
      # Per-step masks cover z too, so z cannot be projected once per sequence.
      if const is not None:
        xt = tf.concat([xt, tf.tile(const[None], [steps, 1, 1])], axis=2)
        const = None
      xt = xt * rnn.dropout_masks(self.generator, hps.input_dropout_prob,
                                  tf.shape(xt))
    mask = self._masks(cell, steps, batch, dropout, after)
    state = cell.unflat_state(initial_state)
    # x is data, unless it carries z (input dropout): then z's gradient is in it.
    with tf.name_scope('decoder_loop'):
      outputs, state = cell.run_sequence(xt, state, const, mask,
                                         chains=runtime.loop_chains(xt.shape[1]),
                                         x_grad=hps.conditional and const is None)
    outputs = tf.reshape(tf.transpose(outputs, [1, 0, 2]), [-1, hps.dec_rnn_size])
    if dropout and hps.use_output_dropout:
      outputs = outputs * rnn.dropout_masks(self.generator, hps.output_dropout_prob,
                                            tf.shape(outputs))
    output = rnn.matmul(outputs, self.output_w, self.dtype) + self.output_b
    return output, cell.flat_state(state)

  def decode_step(self, x_t, z, state):
    """One decoder step for sampling: x_t [B, 5], z [B, z_size], state a tuple.

    Returns (mixture parameters of the next point, new state).
    """
    cell = self.dec
    xw = cell.project(x_t[None], z if self.hps.conditional else None)
    xw = tf.nest.map_structure(lambda a: a[0], xw)
    h, state = cell.step(xw, state, None, cell.prepare())
    output = h @ self.output_w + self.output_b
    return get_mixture_coef(output), state

  # -- everything together -------------------------------------------------------

  def __call__(self, input_data, sequence_lengths, dropout=False, mask_pen=False,
               eps=None):
    """The forward pass of Magenta's graph on a stroke-5 batch [B, N+1, 5].

    dropout: use the dropouts the hyperparameters switch on (training).
    mask_pen: mask the pen loss after each sketch's end (Magenta's
    is_training=False). eps: the reparameterisation noise, drawn when None.
    Returns a dict of Magenta's tensors (mean, presig, sigma, batch_z,
    initial_state, pi, mu1, mu2, sigma1, sigma2, corr, pen, pen_logits,
    final_state, loss_s_step, loss_p_step, r_cost, kl_raw, kl_cost).
    """
    hps = self.hps
    input_data = tf.convert_to_tensor(input_data, tf.float32)
    x_in = input_data[:, :-1]  # fed to the decoder, starting with the start token
    x_out = input_data[:, 1:]  # the targets
    batch = tf.shape(input_data)[0]
    result, drawn = {}, []
    if hps.conditional:
      mu, presig = self.encode(x_out, sequence_lengths, dropout, drawn)
      z = self.reparameterize(mu, presig, eps)
      kl_raw = tf.reduce_mean(kl_divergence(mu, presig))
      result.update(mean=mu, presig=presig, sigma=tf.exp(presig / 2.0),
                    kl_raw=kl_raw, kl_cost=tf.maximum(kl_raw, hps.kl_tolerance))
    else:
      z = tf.zeros([batch, hps.z_size])
      result.update(kl_cost=tf.zeros([]))
    init = self.initial_state(z)
    output, final_state = self.decode(x_in, z, init, dropout, drawn)
    params = get_mixture_coef(output)
    loss_s, loss_p = reconstruction_losses(params, tf.reshape(x_out, [-1, 5]),
                                           mask_pen)
    result.update(params)
    result.update(batch_z=z, initial_state=init, final_state=final_state,
                  loss_s_step=loss_s, loss_p_step=loss_p,
                  r_cost=tf.reduce_mean(loss_s + loss_p))
    return result


# ---------------------------------------------------------------------------
# Optimiser, schedules and the train step
# ---------------------------------------------------------------------------


class Adam(tf.Module):
  """TF1's AdamOptimizer, exactly: beta powers as variables, epsilon on sqrt(v).

  w <- w - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon), the
  form Magenta trained with (Keras puts a 1e-7 epsilon elsewhere by default).
  """

  def __init__(self, variables, beta1=0.9, beta2=0.999, epsilon=1e-8):
    super().__init__(name='adam')
    self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
    self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
    self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
    self.beta1_power = tf.Variable(beta1, dtype=tf.float32, trainable=False)
    self.beta2_power = tf.Variable(beta2, dtype=tf.float32, trainable=False)

  def apply(self, grads, variables, lr):
    lr = tf.cast(lr, tf.float32)
    alpha = lr * tf.sqrt(1 - self.beta2_power) / (1 - self.beta1_power)
    for g, w, m, v in zip(grads, variables, self.m, self.v):
      m.assign_add((g - m) * (1 - self.beta1))
      v.assign_add((tf.square(g) - v) * (1 - self.beta2))
      w.assign_sub((m * alpha) / (tf.sqrt(v) + self.epsilon))
    self.beta1_power.assign(self.beta1_power * self.beta1)
    self.beta2_power.assign(self.beta2_power * self.beta2)


def learning_rate(hps, step):
  """lr = (lr0 - lr_min) * decay_rate^step + lr_min."""
  return ((hps.learning_rate - hps.min_learning_rate) * hps.decay_rate ** step +
          hps.min_learning_rate)


def kl_weight(hps, step):
  """KL weight annealed from kl_weight_start towards kl_weight."""
  return hps.kl_weight - (hps.kl_weight - hps.kl_weight_start) * hps.kl_decay_rate ** step


def compute_gradients(model, input_data, sequence_lengths, kl_w, dropout=True):
  """Costs and the raw (unclipped) gradients of cost = r_cost + kl_w * kl_cost."""
  variables = model.trainable_variables
  with tf.GradientTape() as tape:
    out = model(input_data, sequence_lengths, dropout=dropout,
                mask_pen=not model.hps.is_training)
    cost = out['r_cost'] + tf.cast(kl_w, tf.float32) * out['kl_cost']
  grads = tape.gradient(cost, variables)
  return cost, out, grads


def apply_gradients(model, optimizer, cost, grads, lr):
  """The update of a train step: per-element gradient clipping, then Adam.

  A step whose cost or gradients are not all finite changes nothing (weights and
  Adam's state untouched), so one bad batch cannot poison the run. Returns finite.
  """
  finite = tf.reduce_all([tf.math.is_finite(cost)] +
                         [tf.reduce_all(tf.math.is_finite(g)) for g in grads])
  clip = model.hps.grad_clip

  def apply():
    clipped = [tf.clip_by_value(g, -clip, clip) for g in grads]
    optimizer.apply(clipped, model.trainable_variables, lr)
    return tf.constant(True)

  tf.cond(finite, apply, lambda: tf.constant(False))
  return finite


def train_step(model, optimizer, input_data, sequence_lengths, lr, kl_w):
  """One Adam step on a batch: (cost, r_cost, kl_cost, finite)."""
  cost, out, grads = compute_gradients(model, input_data, sequence_lengths, kl_w)
  finite = apply_gradients(model, optimizer, cost, grads, lr)
  return cost, out['r_cost'], out['kl_cost'], finite


def eval_costs(model, input_data, sequence_lengths, kl_w):
  """Costs of the eval model: the same weights, dropout off."""
  out = model(input_data, sequence_lengths, dropout=False,
              mask_pen=not model.hps.is_training)
  return out['r_cost'] + kl_w * out['kl_cost'], out['r_cost'], out['kl_cost']


def evaluate_model(eval_fn, model, data_set, kl_w):
  """Magenta's evaluate_model: mean (cost, r_cost, kl_cost) over all batches in order.

  eval_fn is eval_costs, usually wrapped in tf.function.
  """
  total = np.zeros(3)
  for batch in range(data_set.num_batches):
    _, x, s = data_set.get_batch(batch)
    total += [float(v) for v in eval_fn(model, x, s, kl_w)]
  return tuple(total / data_set.num_batches)


def memory_estimate(hps):
  """(parameters, bytes) a training run of hps needs, roughly, counted before any
  array is made: the weights with their gradients, Adam's m and v and the numpy
  arrays they are initialised from (5 float32 copies), and a batch's activations
  kept for backpropagation (each step's gates, cell and output, twice)."""
  e, d, z = hps.enc_rnn_size, hps.dec_rnn_size, hps.z_size
  out = 6 * hps.num_mixture + 3
  params = 4 * d * (5 + z + d + 1) + d * out + 2 * z * d
  per_step = 8 * d + out
  if hps.dec_model == 'hyper':
    params += 4 * 256 * (5 + z + d + 256 + 1) + 12 * 32 * 4 * d
    per_step += 8 * 256
  if hps.conditional:
    params += 2 * 4 * e * (5 + e + 1) + 2 * 2 * e * z
    per_step += 2 * 8 * e
  activations = 2 * 4 * hps.batch_size * (hps.max_seq_len + 1) * per_step
  return params, 5 * 4 * params + activations


def memory_limit():
  """The bytes this process may use: physical memory, or a cgroup's lower limit."""
  limit = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  for path in ('/sys/fs/cgroup/memory.max',
               '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
    try:
      with open(path) as f:
        limit = min(limit, int(f.read().strip()))
    except (OSError, ValueError):  # absent, or 'max'
      pass
  return limit


def check_memory(hps):
  """Refuses hps whose model would not fit in memory, before anything allocates."""
  params, needed = memory_estimate(hps)
  limit = memory_limit()
  if needed > limit:
    raise SketchRNNError(
        'the model would need about %.1f GB (%.3g parameters; batch_size=%d, '
        'max_seq_len=%d), more than the %.1f GB of memory here: reduce '
        'dec_rnn_size, enc_rnn_size or batch_size' % (
            needed / 1e9, params, hps.batch_size, hps.max_seq_len, limit / 1e9))
