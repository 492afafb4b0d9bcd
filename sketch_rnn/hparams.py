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
"""Sketch-rnn's hyperparameters: Magenta's table, its `--hparams` grammar, checks.

Ported from Magenta's sketch_rnn/model.py (get_default_hparams) and the grammar of
tf.contrib.training.HParams, plus this fork's `scale` and `precision`.
"""

import difflib
import json
import re

import numpy as np

from sketch_rnn.errors import KeyOnlyConfigError
from sketch_rnn.errors import SketchRNNError
from sketch_rnn.errors import UsageError

# The choices of enc_model / dec_model and of precision; rnn.CELLS and
# rnn.PRECISIONS implement them (a test holds the two lists together).
CELL_TYPES = ('lstm', 'layer_norm', 'hyper')
PRECISIONS = ('float32', 'bfloat16')



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


def check_choices(hps):
  """Refuses a cell type or precision this project does not have (UsageError)."""
  for name, choices in (('enc_model', CELL_TYPES), ('dec_model', CELL_TYPES),
                        ('precision', PRECISIONS)):
    if getattr(hps, name) not in choices:
      raise UsageError('hyperparameter %s=%r: must be one of %s' % (
          name, getattr(hps, name), ', '.join(choices)))


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
  check_choices(hps)
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
      raise KeyOnlyConfigError(
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
      if kind is str:
        return text
      # Python's int() and float() also take '1_000' and non-ASCII digits
      # ('１２'); a number is written in ASCII digits, or it is a typo.
      if not text.isascii() or '_' in text:
        raise ValueError(text)
      if kind is bool:
        if text.lower() in ('true', 'false'):
          return text.lower() == 'true'
        return bool(int(text))
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


def eval_hparams(hps, inference_mode=False):
  """Magenta's eval model's hyperparameters: dropout off; with inference_mode, one
  sketch per batch and the pen loss masked after each sketch's end."""
  eval_hps = hps.copy()
  eval_hps.use_input_dropout = False
  eval_hps.use_recurrent_dropout = False
  eval_hps.use_output_dropout = False
  eval_hps.is_training = True  # Magenta's quirk: the eval model's pen loss is unmasked.
  if inference_mode:
    eval_hps.batch_size = 1
    eval_hps.is_training = False
  return eval_hps
