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
"""Sketch-RNN: hyperparameters, the VAE (encoder, decoder, mixture density output),
its losses and the train step.

Ported from Magenta's sketch_rnn/model.py (Ha & Eck 2017, arXiv:1704.03477), plus this
fork's `scale`: the standard deviation of eps in z = mu + sigma * eps.
"""

import difflib
import json
import re

import numpy as np
import tensorflow as tf

from sketch_rnn import bptt
from sketch_rnn import rnn
from sketch_rnn import runtime
from sketch_rnn.utils import SketchRNNError
from sketch_rnn.utils import UsageError

# ---------------------------------------------------------------------------
# Hyperparameters
# ---------------------------------------------------------------------------


def get_default_hparams():
  """Magenta's hyperparameters, in Magenta's order, plus this fork's `scale`."""
  return HParams(
      data_set=['aaron_sheep.npz'],  # Our dataset: .npz files, splits concatenated.
      num_steps=10000000,  # Total number of steps of training.
      save_every=500,  # Number of batches per checkpoint creation.
      max_seq_len=250,  # Not used. Will be changed by model. [Eliminate?]
      dec_rnn_size=512,  # Size of decoder.
      dec_model='lstm',  # Decoder: lstm, layer_norm or hyper.
      enc_rnn_size=256,  # Size of encoder.
      enc_model='lstm',  # Encoder: lstm, layer_norm or hyper.
      z_size=128,  # Size of latent vector z. Recommend 32, 64 or 128.
      kl_weight=0.5,  # KL weight of loss equation. Recommend 0.5 or 1.0.
      kl_weight_start=0.01,  # KL start weight when annealing.
      kl_tolerance=0.2,  # Level of KL loss at which to stop optimizing for KL.
      batch_size=100,  # Minibatch size. Recommend leaving at 100.
      grad_clip=1.0,  # Gradient clipping (per element). Recommend leaving at 1.0.
      num_mixture=20,  # Number of mixtures in Gaussian mixture model.
      learning_rate=0.001,  # Learning rate.
      decay_rate=0.9999,  # Learning rate decay per minibatch.
      kl_decay_rate=0.99995,  # KL annealing decay rate per minibatch.
      min_learning_rate=0.00001,  # Minimum learning rate.
      use_recurrent_dropout=True,  # Dropout with memory loss. Recommended.
      recurrent_dropout_prob=0.90,  # Probability of recurrent dropout keep.
      use_input_dropout=False,  # Input dropout. Recommend leaving False.
      input_dropout_prob=0.90,  # Probability of input dropout keep.
      use_output_dropout=False,  # Output dropout. Recommend leaving False.
      output_dropout_prob=0.90,  # Probability of output dropout keep.
      random_scale_factor=0.15,  # Random scaling data augmentation proportion.
      augment_stroke_prob=0.10,  # Point dropping augmentation proportion.
      conditional=True,  # When False, use unconditional, decoder-only model.
      is_training=True,  # Is model training? Recommend keeping true.
      scale=1.0,  # This fork: eps ~ N(0, scale^2) in z = mu + sigma * eps.
      precision='float32',  # This fork: bfloat16 = bf16 matrix products, f32 rest.
  )


def validate_hparams(hps):
  """Refuses values that cannot train, one UsageError naming the first culprit."""
  def fail(name, rule):
    raise UsageError('hyperparameter %s=%r: %s' % (name, getattr(hps, name), rule))
  for name, value in hps.values().items():
    if isinstance(value, float) and not np.isfinite(value):
      fail(name, 'must be a finite number')
  for name in ('num_steps', 'save_every', 'max_seq_len', 'dec_rnn_size',
               'enc_rnn_size', 'z_size', 'batch_size', 'num_mixture'):
    if getattr(hps, name) < 1:
      fail(name, 'must be at least 1')
  for name in ('recurrent_dropout_prob', 'input_dropout_prob', 'output_dropout_prob',
               'decay_rate', 'kl_decay_rate'):
    if not 0 < getattr(hps, name) <= 1:
      fail(name, 'must be in (0, 1]')
  if not 0 <= hps.augment_stroke_prob <= 1:
    fail('augment_stroke_prob', 'must be in [0, 1]')
  if not 0 <= hps.random_scale_factor < 1:
    fail('random_scale_factor', 'must be in [0, 1)')
  for name in ('learning_rate', 'grad_clip'):
    if getattr(hps, name) <= 0:
      fail(name, 'must be positive')
  for name in ('min_learning_rate', 'kl_weight', 'kl_weight_start', 'kl_tolerance',
               'scale'):
    if getattr(hps, name) < 0:
      fail(name, 'must not be negative')
  for name in ('enc_model', 'dec_model'):
    if getattr(hps, name) not in rnn.CELLS:
      fail(name, 'must be one of %s' % ', '.join(rnn.CELLS))
  if hps.precision not in rnn.PRECISIONS:
    fail('precision', 'must be one of %s' % ', '.join(rnn.PRECISIONS))
  if not hps.data_set or not all(hps.data_set):
    fail('data_set', 'must name at least one .npz file')
  return hps


# The grammar of tf.contrib.training.HParams.parse, which Magenta's --hparams used:
# `name=value` or `name=[v1,v2]`, comma separated, whitespace allowed after a comma.
_PARAM_RE = re.compile(r"""
  (?P<name>[a-zA-Z][\w.]*)    # the name
  \s*=\s*
  ((?P<val>[^,\[]*)           # a single value: anything up to the next comma
   |
   \[(?P<vals>[^\]]*)\])      # a list: inside brackets, split on commas and spaces
  ($|,\s*)""", re.VERBOSE)

_TYPE_WORDS = {bool: 'a bool', int: 'an int', float: 'a float', str: 'a string'}


class HParams:
  """A fixed set of typed hyperparameters with Magenta's (TF HParams') grammar.

  The names and types come from the constructor's keyword arguments; assignment,
  `parse` and `parse_json` cast to those types and refuse unknown names.
  """

  def __init__(self, **defaults):
    object.__setattr__(self, '_values', {})
    object.__setattr__(self, '_types', {})
    for name, value in defaults.items():
      if isinstance(value, (list, tuple)):
        kind = (list, type(value[0]) if value else str)
      else:
        kind = type(value)
      self._types[name] = kind
      self._values[name] = self._cast(name, value)

  # -- attribute access ------------------------------------------------------

  def __getattr__(self, name):
    try:
      return self._values[name]
    except KeyError:
      raise AttributeError(self._unknown_message(name)) from None

  def __setattr__(self, name, value):
    self.set_hparam(name, value)

  def set_hparam(self, name, value):
    if name not in self._types:
      raise UsageError(self._unknown_message(name))
    self._values[name] = self._cast(name, value)

  def __contains__(self, name):
    return name in self._values

  def __eq__(self, other):
    return isinstance(other, HParams) and self.values() == other.values()

  def __repr__(self):
    items = ', '.join('%s=%r' % kv for kv in self._values.items())
    return 'HParams(%s)' % items

  def values(self):
    """All hyperparameters as a plain dict (a copy)."""
    return {k: list(v) if isinstance(v, list) else v
            for k, v in self._values.items()}

  def copy(self):
    return HParams(**self.values())

  # -- text forms --------------------------------------------------------------

  def parse(self, text):
    """Sets values from `name=value,name=[a,b]` text; returns self (like TF)."""
    text = (text or '').strip()
    seen = set()
    updates = {}
    pos = 0
    while pos < len(text):
      m = _PARAM_RE.match(text, pos)
      if not m:
        raise UsageError(
            'malformed --hparams near %r: expected name=value or name=[a,b] '
            'separated by commas' % text[pos:pos + 40])
      pos = m.end()
      name = m.group('name')
      if name not in self._types:
        raise UsageError(self._unknown_message(name))
      if name in seen:
        raise UsageError(
            'hyperparameter %r is given twice in --hparams' % name)
      seen.add(name)
      if m.group('vals') is not None:
        items = [v for v in re.split(r'[ ,]', m.group('vals')) if v]
        updates[name] = self._parse_list(name, items)
      else:
        updates[name] = self._parse_text(name, m.group('val'))
    # All or nothing: a bad entry late in the string leaves the set untouched.
    self._values.update(updates)
    return self

  def to_json(self, indent=1, sort_keys=False):
    return json.dumps(self.values(), indent=indent, sort_keys=sort_keys)

  def parse_json(self, text):
    """Sets values from a JSON object (Magenta's model_config.json); returns self."""
    try:
      data = json.loads(text)
    except ValueError as e:
      raise SketchRNNError('hyperparameter JSON does not parse: %s' % e) from None
    if isinstance(data, list) and all(isinstance(k, str) for k in data):
      raise SketchRNNError(
          'hyperparameter JSON holds only the names, not the values (the file '
          'Magenta\'s sketch_rnn_train.py writes); pass the values with --hparams')
    if not isinstance(data, dict):
      raise SketchRNNError('hyperparameter JSON must be an object of name: value')
    updates = {}
    for name, value in data.items():
      if name not in self._types:
        raise SketchRNNError(self._unknown_message(name))
      updates[name] = self._cast(name, value)
    self._values.update(updates)
    return self

  # -- casting -----------------------------------------------------------------

  def _unknown_message(self, name):
    close = difflib.get_close_matches(name, list(self._types), n=1)
    hint = ' (did you mean %r?)' % close[0] if close else ''
    return 'unknown hyperparameter %r%s; valid names: %s' % (
        name, hint, ', '.join(self._types))

  def _type_word(self, name):
    kind = self._types[name]
    if isinstance(kind, tuple):
      return 'a list of %s' % _TYPE_WORDS[kind[1]].split(' ', 1)[1] + 's'
    return _TYPE_WORDS[kind]

  def _fail(self, name, value):
    return UsageError('hyperparameter %r expects %s, got %r' %
                          (name, self._type_word(name), value))

  def _parse_text(self, name, text):
    kind = self._types[name]
    if isinstance(kind, tuple):  # a bare value for a list: a one-item list
      return self._parse_list(name, [text.strip()])
    return self._parse_scalar(name, kind, text.strip())

  def _parse_list(self, name, items):
    kind = self._types[name]
    if not isinstance(kind, tuple):
      raise UsageError('hyperparameter %r expects %s, got a list [%s]' %
                           (name, self._type_word(name), ', '.join(items)))
    return [self._parse_scalar(name, kind[1], item) for item in items]

  def _parse_scalar(self, name, kind, text):
    try:
      if kind is bool:
        if text.lower() in ('true', 'false'):
          return text.lower() == 'true'
        return bool(int(text))
      if kind is str:
        return text
      return kind(text)
    except ValueError:
      raise self._fail(name, text) from None

  def _cast(self, name, value):
    """Casts a Python value (an assignment or JSON) to the hyperparameter's type."""
    kind = self._types[name]
    if isinstance(kind, tuple):
      if isinstance(value, str):
        value = [value]
      if not isinstance(value, (list, tuple)):
        raise self._fail(name, value)
      return [self._cast_scalar(name, kind[1], v) for v in value]
    return self._cast_scalar(name, kind, value)

  def _cast_scalar(self, name, kind, value):
    if isinstance(value, str):
      return self._parse_scalar(name, kind, value.strip())
    if kind is bool and isinstance(value, (bool, int)):
      return bool(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
      return value
    if kind is int and isinstance(value, float) and value.is_integer():
      return int(value)
    if kind is float and isinstance(value, (int, float)) and not isinstance(
        value, bool):
      return float(value)
    if hasattr(value, 'item') and not isinstance(value, (list, tuple)):
      return self._cast_scalar(name, kind, value.item())  # numpy scalars
    raise self._fail(name, value)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


def get_mixture_coef(output):
  """Splits the decoder output [N, 3 + 6M] into the mixture density parameters."""
  # One split: the gradient of a slice fills a zero tensor of the whole output
  # ([B * T, 3 + 6M]: 8 ms per training step at batch 100).
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
    if hps.dec_model not in rnn.CELLS or hps.enc_model not in rnn.CELLS:
      raise UsageError(
          'enc_model=%r / dec_model=%r: each must be one of %s' % (
              hps.enc_model, hps.dec_model, ', '.join(rnn.CELLS)))
    if hps.precision not in rnn.PRECISIONS:
      raise UsageError('precision=%r: must be one of %s' % (
          hps.precision, ', '.join(rnn.PRECISIONS)))
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
    (it would draw them in any order: the decoder's first, while the encoder's
    loops waited for theirs, cost hyper512 ~50 ms a step).
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
    outputs, state = cell.run_sequence(xt, state, const, mask,
                                       chains=runtime.loop_chains(xt.shape[1]))
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
      kl_raw = -0.5 * tf.reduce_mean(1 + presig - tf.square(mu) - tf.exp(presig))
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


def train_step(model, optimizer, input_data, sequence_lengths, lr, kl_w):
  """One Adam step with per-element gradient clipping.

  A step whose cost or gradients are not all finite changes nothing (weights and
  Adam's state untouched). Returns (cost, r_cost, kl_cost, finite).
  """
  cost, out, grads = compute_gradients(model, input_data, sequence_lengths, kl_w)
  finite = tf.reduce_all([tf.math.is_finite(cost)] +
                         [tf.reduce_all(tf.math.is_finite(g)) for g in grads])
  clip = model.hps.grad_clip

  def apply():
    clipped = [tf.clip_by_value(g, -clip, clip) for g in grads]
    optimizer.apply(clipped, model.trainable_variables, lr)
    return tf.constant(True)

  tf.cond(finite, apply, lambda: tf.constant(False))
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
