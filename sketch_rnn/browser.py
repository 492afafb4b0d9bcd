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
"""The browser models of sketch-rnn-js and Magenta.js: `.gen.json` and `.vae.json`.

A file is a JSON array [info, shapes, weights]. `info` holds version, max_seq_len,
scale_factor (the train split's normalising factor), name, mode (2: decoder only)
and optionally training_steps, r_loss, kl_loss. `shapes` and `weights` follow
Magenta's trainable-variable order (MAGENTA_ORDER); each tensor is flattened
row-major, clipped to +-10, scaled by 32767/10, rounded to int16 and written as
base64 of its little-endian bytes.

The loaders fix more than the file says: LSTM cells (forget bias 1, gates i, j, f,
o; the VAE's initial state split c then h), Magenta's output layout and, in
@magenta/sketch, 20 mixture components (its NMIXTURE). `check_exportable` refuses
anything else. See docs/browser.md.
"""

import base64
import json
import os

from absl import logging
import numpy as np

from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils
from sketch_rnn.errors import SketchRNNError

MAX_WEIGHT = 10.0
STEPS_PER_UNIT = 32767 / MAX_WEIGHT
VERSION = 6  # the loaders' newest: z enters the decoder as is, not through tanh
GEN_MODE = 2
VAE_MODE = 0
# @magenta/sketch's SketchRNN.NMIXTURE: getPDF splits the output as 20 components.
JS_NUM_MIXTURE = 20
SUFFIXES = {'.gen.json': False, '.vae.json': True}  # suffix: conditional

_LSTM = ('W_xh', 'W_hh', 'bias')
DECODER_ORDER = (['vector_rnn/RNN/output_w', 'vector_rnn/RNN/output_b'] +
                 ['vector_rnn/RNN/LSTMCell/' + n for n in _LSTM])
# The order in which Magenta's graph creates its trainable variables (the
# encoder's directions, its two heads, z -> initial state, then the decoder's).
VAE_ORDER = (['vector_rnn/ENC_RNN/fw/LSTMCell/' + n for n in _LSTM] +
             ['vector_rnn/ENC_RNN/bw/LSTMCell/' + n for n in _LSTM] +
             ['vector_rnn/ENC_RNN_mu/super_linear_w',
              'vector_rnn/ENC_RNN_mu/super_linear_b',
              'vector_rnn/ENC_RNN_sigma/super_linear_w',
              'vector_rnn/ENC_RNN_sigma/super_linear_b',
              'vector_rnn/linear/super_linear_w', 'vector_rnn/linear/super_linear_b'] +
             DECODER_ORDER)
# What a browser file fixes; the rest of the hyperparameters are training's.
ARCHITECTURE = ('conditional', 'dec_model', 'enc_model', 'dec_rnn_size',
                'enc_rnn_size', 'z_size', 'num_mixture')


def magenta_order(conditional):
  return VAE_ORDER if conditional else DECODER_ORDER


def quantize(value):
  """Float weights -> the int16 steps a browser file stores."""
  steps = np.round(np.clip(np.asarray(value, np.float64), -MAX_WEIGHT, MAX_WEIGHT)
                   * STEPS_PER_UNIT)
  return steps.astype('<i2')


def dequantize(steps):
  """int16 steps -> float32 weights, as the loaders compute them."""
  return (MAX_WEIGHT * np.asarray(steps, np.float32) / 32767).astype(np.float32)


def encode_tensor(value):
  return base64.b64encode(quantize(value).ravel().tobytes()).decode('ascii')


def decode_tensor(text, shape, label='weight'):
  try:
    raw = base64.b64decode(text, validate=True)
  except (ValueError, TypeError):
    raise SketchRNNError('%s is not base64' % label) from None
  size = int(np.prod(shape))
  if len(raw) != 2 * size:
    raise SketchRNNError('%s holds %d bytes, its shape %s needs %d' % (
        label, len(raw), list(shape), 2 * size))
  return dequantize(np.frombuffer(raw, '<i2')).reshape(shape)


def kind_of(path):
  """True for a .vae.json path, False for a .gen.json one; else a one-line error."""
  for suffix, conditional in SUFFIXES.items():
    if path.endswith(suffix):
      return conditional
  raise SketchRNNError('%s: a browser model is NAME.gen.json (decoder only) or '
                       'NAME.vae.json (encoder and decoder)' % path)


def check_exportable(hps, conditional):
  """Refuses, in one line, a model the browser loaders cannot run."""
  kind = 'vae' if conditional else 'gen'
  if conditional and not hps.conditional:
    raise SketchRNNError('a .vae.json needs an encoder, and this model is '
                         'unconditional (conditional=False): write NAME.gen.json')
  if not conditional and hps.conditional:
    raise SketchRNNError(
        'a .gen.json is an unconditional decoder, and this model is conditional '
        '(its decoder reads z at every step): write NAME.vae.json')
  cells = [('dec_model', hps.dec_model)]
  if conditional:
    cells.append(('enc_model', hps.enc_model))
  for name, cell in cells:
    if cell != 'lstm':
      raise SketchRNNError('%s=%s: the browser loaders run only LSTM cells '
                           '(no layer_norm or hyper)' % (name, cell))
  if hps.num_mixture != JS_NUM_MIXTURE:
    raise SketchRNNError(
        'num_mixture=%d: the browser loaders read the output as %d mixture '
        'components (Magenta.js fixes it); a .%s.json of this model would be '
        'misread' % (hps.num_mixture, JS_NUM_MIXTURE, kind))


def to_json(model, scale_factor, name, conditional, training_steps=None,
            r_loss=None, kl_loss=None):
  """The [info, shapes, weights] list of a model; refuses one the loaders cannot
  run (check_exportable)."""
  hps = model.hps
  check_exportable(hps, conditional)
  if not np.isfinite(scale_factor) or scale_factor <= 0:
    raise SketchRNNError('scale_factor must be a positive number, got %r' %
                         scale_factor)
  info = dict(version=VERSION, mode=VAE_MODE if conditional else GEN_MODE,
              name=name, max_seq_len=int(hps.max_seq_len),
              scale_factor=float(scale_factor))
  for key, value in (('training_steps', training_steps), ('r_loss', r_loss),
                     ('kl_loss', kl_loss)):
    if value is not None:
      info[key] = value
  variables = model.magenta_variables()
  shapes, weights, clipped = [], [], 0
  for key in magenta_order(conditional):
    value = variables[key].numpy()
    clipped += int(np.sum(np.abs(value) > MAX_WEIGHT))
    shapes.append(list(value.shape))
    weights.append(encode_tensor(value))
  if clipped:
    logging.warning('%d weights beyond +-%g were clipped to it (the format\'s '
                    'range)', clipped, MAX_WEIGHT)
  return [info, shapes, weights]


def write_json(path, data):
  """Written whole or not at all (a browser fetching it never sees half)."""
  utils.write_text_atomic(path, json.dumps(data, separators=(',', ':')))


def read_json(path):
  """(info, shapes, [float32 arrays]) of a browser file, checked."""
  if not os.path.isfile(path):
    raise SketchRNNError('%s: no such file' % path)
  try:
    with open(path) as f:
      data = json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    raise SketchRNNError('%s: not JSON (%s)' % (path, str(e)[:120])) from None
  if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], dict)
          and all(isinstance(d, list) for d in data[1:])):
    raise SketchRNNError('%s: not a browser model: expected [info, shapes, '
                         'weights]' % path)
  info, shapes, texts = data
  if len(shapes) != len(texts) or len(shapes) not in (len(DECODER_ORDER),
                                                      len(VAE_ORDER)):
    raise SketchRNNError(
        '%s: %d shapes and %d weights; a decoder-only file has %d, a VAE %d' % (
            path, len(shapes), len(texts), len(DECODER_ORDER), len(VAE_ORDER)))
  for key in ('scale_factor', 'max_seq_len'):
    if not isinstance(info.get(key), (int, float)) or info[key] <= 0:
      raise SketchRNNError('%s: info has no positive %s' % (path, key))
  names = magenta_order(len(shapes) == len(VAE_ORDER))
  arrays = [decode_tensor(t, s, '%s: %s' % (path, n.split('vector_rnn/')[1]))
            for t, s, n in zip(texts, shapes, names)]
  return info, [list(s) for s in shapes], arrays


def infer_hparams(info, shapes, path='model'):
  """The hyperparameters a browser file's shapes and info imply."""
  conditional = len(shapes) == len(VAE_ORDER)
  shape = dict(zip(magenta_order(conditional), shapes))
  out_w = shape['vector_rnn/RNN/output_w']
  n, n_out = out_w
  if (n_out - 3) % 6 or n_out <= 3:
    raise SketchRNNError('%s: output_w has %d columns, not 3 + 6 per mixture '
                         'component' % (path, n_out))
  hps = hparams.get_default_hparams()
  hps.conditional = conditional
  hps.dec_model = hps.enc_model = 'lstm'
  hps.dec_rnn_size = n
  hps.num_mixture = (n_out - 3) // 6
  hps.max_seq_len = int(info['max_seq_len'])
  if conditional:
    if info.get('version', VERSION) != VERSION:
      raise SketchRNNError(
          '%s: version %s; only version %d VAE files are read (older ones pass '
          'z through tanh, which this model does not)' % (path, info.get('version'),
                                                          VERSION))
    hps.enc_rnn_size = shape['vector_rnn/ENC_RNN/fw/LSTMCell/W_hh'][0]
    hps.z_size = shape['vector_rnn/ENC_RNN_mu/super_linear_w'][1]
  expected = _shapes(hps)
  for name, got in zip(magenta_order(conditional), shapes):
    if expected[name] != got:
      raise SketchRNNError(
          '%s: %s has shape %s, an LSTM model of these sizes has %s' % (
              path, name.split('vector_rnn/')[1], got, expected[name]))
  return hps


def _shapes(hps):
  """{Magenta name: shape} of the browser model of these hyperparameters."""
  n, n_out = hps.dec_rnn_size, 3 + 6 * hps.num_mixture
  shapes = {'vector_rnn/RNN/output_w': [n, n_out], 'vector_rnn/RNN/output_b': [n_out],
            'vector_rnn/RNN/LSTMCell/W_xh': [5 + (hps.z_size if hps.conditional
                                                  else 0), 4 * n],
            'vector_rnn/RNN/LSTMCell/W_hh': [n, 4 * n],
            'vector_rnn/RNN/LSTMCell/bias': [4 * n]}
  if hps.conditional:
    e, z = hps.enc_rnn_size, hps.z_size
    for d in ('fw', 'bw'):
      cell = 'vector_rnn/ENC_RNN/%s/LSTMCell/' % d
      shapes.update({cell + 'W_xh': [5, 4 * e], cell + 'W_hh': [e, 4 * e],
                     cell + 'bias': [4 * e]})
    for head in ('mu', 'sigma'):
      shapes.update({'vector_rnn/ENC_RNN_%s/super_linear_w' % head: [2 * e, z],
                     'vector_rnn/ENC_RNN_%s/super_linear_b' % head: [z]})
    shapes.update({'vector_rnn/linear/super_linear_w': [z, 2 * n],
                   'vector_rnn/linear/super_linear_b': [2 * n]})
  return shapes


def merge_hparams(file_hps, overrides, path='model'):
  """file_hps with --hparams on top; an override of the architecture the file
  fixes (ARCHITECTURE) to another value is refused."""
  hps = file_hps.copy().parse(overrides or '')
  for name in ARCHITECTURE:
    if getattr(hps, name) != getattr(file_hps, name):
      raise SketchRNNError('%s fixes %s=%s; --hparams cannot change it' % (
          path, name, getattr(file_hps, name)))
  return hps


def assign_weights(model, arrays):
  """Sets a model's weights from a browser file's arrays (in Magenta's order)."""
  variables = model.magenta_variables()
  for name, value in zip(magenta_order(model.hps.conditional), arrays):
    variables[name].assign(value)


def read_model(path, overrides=''):
  """(hps, info, arrays) of a browser file: its hyperparameters with --hparams on
  top (not the architecture), checked, before any TensorFlow op runs."""
  info, shapes, arrays = read_json(path)
  hps = hparams.validate_hparams(merge_hparams(infer_hparams(info, shapes, path),
                                               overrides, path))
  return hps, info, arrays


def build_model(hps, arrays, sampling=False, seed=0):
  """The eval model of hps (or with sampling the sample model) holding a browser
  file's weights."""
  model = sketch_rnn_model.Model(hparams.eval_hparams(hps, inference_mode=sampling),
                                 seed=seed)
  assign_weights(model, arrays)
  return model


def load_model(path, overrides='', sampling=False, seed=0):
  """(Model, hps, info) from a browser file (see build_model)."""
  hps, info, arrays = read_model(path, overrides)
  return build_model(hps, arrays, sampling, seed), hps, info
