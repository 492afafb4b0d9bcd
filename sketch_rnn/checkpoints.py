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
"""Reading Magenta's TF1 sketch-rnn checkpoints into this project's Model.

Magenta saves every variable under `vector_rnn/`; the model's variables carry the
same names, so the map is the identity. Adam's slots sit under a doubled prefix
(`vector_rnn/vector_rnn/<path>/Adam` for m, `.../Adam_1` for v).
"""

import os

import tensorflow as tf

from sketch_rnn.utils import SketchRNNError


def magenta_checkpoint_path(path):
  """A checkpoint prefix from a run folder (its latest) or a prefix itself."""
  if os.path.isdir(path):
    prefix = tf.train.latest_checkpoint(path)
    if prefix is None:
      raise SketchRNNError('%s: no checkpoint in this folder' % path)
    return prefix
  if not tf.io.gfile.exists(path + '.index'):
    raise SketchRNNError('%s: no such checkpoint' % path)
  return path


def is_magenta_checkpoint(path):
  try:
    reader = tf.train.load_checkpoint(magenta_checkpoint_path(path))
  except (SketchRNNError, tf.errors.OpError, ValueError):
    return False
  return reader.has_tensor('vector_rnn/global_step')


def _slot_name(name, slot):
  return 'vector_rnn/' + name + '/' + slot


def load_magenta_checkpoint(path, model, optimizer=None):
  """Loads weights (and, with an optimizer, Adam's m, v and beta powers).

  path: a Magenta run folder or a checkpoint prefix such as .../vector-300.
  Returns Magenta's global step. Raises SketchRNNError when a variable is
  missing or has another shape (another model size or cell type).
  """
  prefix = magenta_checkpoint_path(path)
  reader = tf.train.load_checkpoint(prefix)
  shapes = reader.get_variable_to_shape_map()
  wanted = model.magenta_variables()
  for name, var in wanted.items():
    if name not in shapes:
      raise SketchRNNError(
          '%s has no variable %s: the checkpoint is of another model '
          '(check enc_model, dec_model, conditional)' % (prefix, name))
    if list(shapes[name]) != var.shape.as_list():
      raise SketchRNNError(
          '%s: %s has shape %s, the model expects %s (check the sizes in '
          'the hyperparameters)' % (prefix, name, shapes[name], var.shape.as_list()))
  for name, var in wanted.items():
    var.assign(reader.get_tensor(name))
  if optimizer is not None:
    variables = model.trainable_variables
    for var, m, v in zip(variables, optimizer.m, optimizer.v):
      name = var.name.split(':')[0]
      for slot, target in (('Adam', m), ('Adam_1', v)):
        slot_name = _slot_name(name, slot)
        if slot_name not in shapes:
          raise SketchRNNError('%s has no Adam slot %s' % (prefix, slot_name))
        target.assign(reader.get_tensor(slot_name))
    optimizer.beta1_power.assign(reader.get_tensor('vector_rnn/beta1_power'))
    optimizer.beta2_power.assign(reader.get_tensor('vector_rnn/beta2_power'))
  return int(reader.get_tensor('vector_rnn/global_step'))
