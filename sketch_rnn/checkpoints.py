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
"""Run folders and checkpoints: this project's, and Magenta's TF1 ones.

A run folder holds model_config.json (every hyperparameter) and tf.train
checkpoints `vector-<step>` (RunCheckpoint). Magenta saves every variable under
`vector_rnn/`; the model's variables carry the same names, so the map is the
identity. Adam's slots sit under a doubled prefix (`vector_rnn/vector_rnn/<path>/Adam`
for m, `.../Adam_1` for v). `open_run` is how every reader of a trained run (the
eval and sample CLIs, the study, the export) gets its model back, from a run folder
or from a browser model (browser.py's .gen.json / .vae.json).
"""

import dataclasses
import errno
import json
import os
import re
import shutil

from absl import logging
import numpy as np
import tensorflow as tf
from tensorflow.python.checkpoint import checkpoint_management  # pylint: disable=g-direct-tensorflow-import

from sketch_rnn import browser
from sketch_rnn import files
from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import runtime
from sketch_rnn import utils
from sketch_rnn.errors import CheckpointMismatchError
from sketch_rnn.errors import KeyOnlyConfigError
from sketch_rnn.errors import NoCheckpointError
from sketch_rnn.errors import SketchRNNError


def magenta_checkpoint_path(path):
  """A checkpoint prefix from a run folder (its latest) or a prefix itself."""
  if os.path.isdir(path):
    prefix = latest_checkpoint(path)
    if prefix is None:
      raise SketchRNNError('%s: no checkpoint in this folder' % path)
    return prefix
  if not tf.io.gfile.exists(path + '.index'):
    raise SketchRNNError('%s: no such checkpoint' % path)
  return path


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


# ---------------------------------------------------------------------------
# This project's runs: model_config.json and tf.train checkpoints
# ---------------------------------------------------------------------------

MODEL_CONFIG = 'model_config.json'
# The train split's normalising factor: what a browser export needs without the data.
SCALE_FACTOR = 'scale_factor.json'
CHECKPOINT_NAME = 'vector'  # files vector-<step>.*, as Magenta names them
MAX_TO_KEEP = 5  # Magenta's Saver default
_PREFIX = re.compile(re.escape(CHECKPOINT_NAME) + r'-(\d+)\.index$')


def checkpoints_on_disk(log_root):
  """The prefixes of log_root's complete checkpoints (an .index is renamed in
  last), oldest first by step, whatever the `checkpoint` pointer file says."""
  if not os.path.isdir(log_root):
    return []
  found = []
  for name in os.listdir(log_root):
    match = _PREFIX.match(name)
    if match:
      found.append((int(match.group(1)), os.path.join(log_root, name[:-6])))
  return [p for _, p in sorted(found)]


def pointer_problem(log_root):
  """Why log_root's `checkpoint` pointer file cannot be trusted, or None."""
  path = os.path.join(log_root, 'checkpoint')
  if not os.path.exists(path):
    return 'no checkpoint pointer file'
  try:
    state = tf.train.get_checkpoint_state(log_root)
  except (ValueError, tf.errors.OpError) as e:
    return 'pointer file %s unreadable (%s)' % (path, str(e).splitlines()[0][:100])
  if state is None or not state.model_checkpoint_path:
    return 'pointer file %s is empty' % path
  prefix = state.model_checkpoint_path
  if not os.path.isabs(prefix):
    prefix = os.path.join(log_root, prefix)
  if not tf.io.gfile.exists(prefix + '.index'):
    return 'pointer file %s names %s, which is missing' % (
        path, os.path.basename(prefix))
  return None


def rebuild_pointer(log_root, latest):
  """Points log_root's `checkpoint` file at latest, listing the checkpoints on
  disk up to it: rotation then covers every one of the run's (also one a kill
  left out of the pointer), and never the newer ones that did not load."""
  steps = {p: int(_PREFIX.match(os.path.basename(p) + '.index').group(1))
           for p in checkpoints_on_disk(log_root)}
  limit = steps.get(latest)
  kept = [p for p, n in steps.items() if limit is None or n <= limit]
  if latest not in kept:
    kept.append(latest)
  # CheckpointManager rotates those stamped after last_preserved_timestamp: this
  # project's, by their files' times; Magenta's are stamped as preserved, so
  # that a resumed Magenta run never deletes a checkpoint Magenta wrote.
  stamps = [os.path.getmtime(p + '.index') for p in kept]
  preserved = min(stamps) - 1
  stamps = [preserved if is_magenta_prefix(p) else t for p, t in zip(kept, stamps)]
  # What CheckpointManager writes itself (the public tf.train API has no writer).
  checkpoint_management.update_checkpoint_state_internal(
      log_root, os.path.join(log_root, os.path.basename(latest)),
      all_model_checkpoint_paths=[os.path.join(log_root, os.path.basename(p))
                                  for p in kept],
      save_relative_paths=True, all_model_checkpoint_timestamps=stamps,
      last_preserved_timestamp=preserved)


def write_model_config(log_root, hps):
  """Writes the whole hyperparameter dict (Magenta wrote only the keys)."""
  utils.write_text_atomic(os.path.join(log_root, MODEL_CONFIG), hps.to_json(indent=1))


def write_scale_factor(log_root, scale_factor):
  utils.write_text_atomic(os.path.join(log_root, SCALE_FACTOR), json.dumps(
      {'scale_factor': float(scale_factor)}))


def read_scale_factor(log_root):
  """The factor the run's data was normalised by; None for runs from before it
  was saved (and Magenta's)."""
  value = files.read_json_value(os.path.join(log_root, SCALE_FACTOR), 'scale_factor',
                                'remove it and give --data_dir')
  return None if value is None else float(value)


def read_model_config(log_root, hps):
  """hps updated from log_root/model_config.json; hps unchanged when there is none.

  A Magenta file that holds only the names (what its trainer wrote) raises a
  KeyOnlyConfigError that says so.
  """
  path = os.path.join(log_root, MODEL_CONFIG)
  if not os.path.exists(path):
    return hps
  with open(path) as f:
    text = f.read()
  try:
    return hps.copy().parse_json(text)
  except SketchRNNError as e:
    raise type(e)('%s: %s' % (path, e)) from None


def run_hparams(log_root, overrides='', key_only_ok=True):
  """A run's hyperparameters: its model_config.json with `overrides` (--hparams)
  on top. Where it is Magenta's key-only file and key_only_ok, the defaults stand
  in for it, with a warning (the overrides then must say it all)."""
  try:
    hps = read_model_config(log_root, hparams.get_default_hparams())
  except KeyOnlyConfigError as e:
    if not key_only_ok:
      raise
    logging.warning('%s; taking the hyperparameters from --hparams.', e)
    hps = hparams.get_default_hparams()
  return hps.parse(overrides)


def checkpoint_step(prefix):
  """The training steps a checkpoint of this project holds (its global step)."""
  reader = tf.train.load_checkpoint(prefix)
  return int(reader.get_tensor(_GLOBAL_STEP_KEY))


def rng_state_to_text(rng, sampler=None):
  """The data RNG's state as text; with the batch sampler it feeds, since the
  same state drawn by another sampler gives other batches."""
  kind, keys, pos, has_gauss, cached = rng.get_state()
  state = [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]
  return json.dumps(state + ([sampler] if sampler else []))


def rng_state_from_text(rng, text):
  """Sets rng from rng_state_to_text's text; returns the sampler it names
  ('magenta' for checkpoints from before the samplers, which all used it)."""
  state = json.loads(text)
  kind, keys, pos, has_gauss, cached = state[:5]
  rng.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
  return state[5] if len(state) > 5 else 'magenta'


def _is_disk_full(error):
  if isinstance(error, OSError):
    return error.errno in (errno.ENOSPC, errno.EDQUOT)
  return (isinstance(error, tf.errors.ResourceExhaustedError) or
          'No space left' in str(error) or 'quota exceeded' in str(error).lower())


# Where tf.train.Checkpoint files RunCheckpoint's `global_step`.
_GLOBAL_STEP_KEY = 'global_step/.ATTRIBUTES/VARIABLE_VALUE'


class RunCheckpoint:
  """Save and restore of a training run with tf.train.CheckpointManager.

  A checkpoint holds the weights and the model's random generator, Adam's state,
  the global step, the best validation cost so far and the data loader's numpy
  random state: everything a resumed run needs to continue as if never stopped.
  """

  def __init__(self, log_root, model, optimizer=None, max_to_keep=MAX_TO_KEEP):
    self.log_root = log_root
    self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.best_valid_cost = tf.Variable(1e8, dtype=tf.float32, trainable=False)
    self.data_rng_state = tf.Variable('', dtype=tf.string, trainable=False)
    parts = dict(model=model, global_step=self.global_step,
                 best_valid_cost=self.best_valid_cost,
                 data_rng_state=self.data_rng_state)
    if optimizer is not None:
      parts['optimizer'] = optimizer
    self.checkpoint = tf.train.Checkpoint(**parts)
    try:
      self._manager = tf.train.CheckpointManager(
          self.checkpoint, log_root, max_to_keep=max_to_keep,
          checkpoint_name=CHECKPOINT_NAME)
    except (ValueError, tf.errors.OpError):
      # A broken pointer file: restore() scans the disk and needs no manager; the
      # trainer rebuilds the pointer (rebuild_pointer) before it saves.
      self._manager = None

  @property
  def manager(self):
    if self._manager is None:
      raise SketchRNNError('%s: %s' % (self.log_root, pointer_problem(self.log_root)))
    return self._manager

  def save(self, global_step, best_valid_cost, data_rng=None):
    """Saves as vector-<global_step>, named after the train steps it holds.

    (Magenta names it after the step it validated at, one less. Naming by the
    steps held means a name never repeats, so a save never overwrites the
    checkpoint a run resumed from.)
    """
    bad = [v.name for v in self.checkpoint.model.trainable_variables
           if not np.isfinite(v.numpy()).all()]
    if bad:
      raise SketchRNNError(
          'refusing to save step %d: non-finite weights in %s; the last good '
          'checkpoint is %s' % (global_step, bad[0].split(':')[0],
                                self.manager.latest_checkpoint))
    self.global_step.assign(global_step)
    self.best_valid_cost.assign(best_valid_cost)
    if data_rng is not None:
      self.data_rng_state.assign(rng_state_to_text(
          data_rng, getattr(data_rng, 'batch_sampler', None)))
    previous = self.manager.latest_checkpoint
    try:
      return self.manager.save(checkpoint_number=global_step)
    except (tf.errors.OpError, OSError) as e:
      if not _is_disk_full(e):
        raise
      prefix = os.path.join(self.log_root, '%s-%d' % (CHECKPOINT_NAME, global_step))
      remove_temporaries(self.log_root, prefix)
      need = 3 * 4 * sum(int(np.prod(v.shape)) for v in
                         self.checkpoint.model.trainable_variables) + (1 << 20)
      raise SketchRNNError(
          '%s: disk full while saving step %d (a checkpoint needs about %.1f MB, '
          '%.1f MB free); %s; free some space and continue with '
          '--resume_training' % (
              self.log_root, global_step, need / 1e6,
              shutil.disk_usage(self.log_root).free / 1e6,
              'the previous checkpoint %s is intact' % previous if previous
              else 'no checkpoint was saved')) from None

  def restore(self, path=None, data_rng=None):
    """Restores path, or else the newest checkpoint that loads.

    Returns (step, best_valid_cost). Older checkpoints are tried when the newest
    is unreadable, so a run killed at a bad moment still resumes.
    """
    # The disk, not the pointer file: a checkpoint a kill left out of it, or one
    # a broken pointer hides, is still found.
    candidates = [path] if path else list(reversed(checkpoints_on_disk(self.log_root)))
    if not candidates:
      raise NoCheckpointError('%s: no checkpoint to resume from' % self.log_root)
    errors, mismatched = [], []
    for candidate in candidates:
      try:
        status = self.checkpoint.restore(candidate)
        status.expect_partial()  # the optimizer and run state may be unwanted
      # A damaged file fails in many ways (OpError, ValueError, IndexError from
      # the reader, ...); each means "try the one before".
      except Exception as e:  # pylint: disable=broad-except
        errors.append('%s (%s)' % (candidate, str(e).splitlines()[0][:200]))
        continue
      try:
        # Every weight of this model must come from the file: a checkpoint of
        # another architecture (say an LSTM under dec_model=layer_norm) is refused
        # rather than leaving some weights at their initial values.
        status.assert_existing_objects_matched()
      except AssertionError as e:
        errors.append('%s (%s)' % (candidate, str(e).splitlines()[0][:200]))
        mismatched.append(candidate)
        continue
      break
    else:
      kind = (CheckpointMismatchError if len(mismatched) == len(candidates)
              else NoCheckpointError)
      raise kind('no loadable checkpoint: %s' % '; '.join(errors))
    self.restored_path = candidate
    self.skipped = errors
    # The sampler the restored RNG state fed (None: no data state saved).
    self.data_sampler = None
    if data_rng is not None and self.data_rng_state.numpy():
      self.data_sampler = rng_state_from_text(data_rng,
                                              self.data_rng_state.numpy().decode())
    return int(self.global_step.numpy()), float(self.best_valid_cost.numpy())


def latest_checkpoint(log_root):
  """The pointer file's latest checkpoint, or else (no, a broken or a stale
  pointer file) the newest complete one on disk; None when there is none."""
  if not os.path.isdir(log_root):
    return None
  if pointer_problem(log_root) is None:
    return tf.train.latest_checkpoint(log_root)
  found = checkpoints_on_disk(log_root)
  return found[-1] if found else None


def resume_candidates(log_root):
  """(prefixes newest first, notes): what a resume tries, and one line per
  problem with the pointer file (none when there are no checkpoints)."""
  found = list(reversed(checkpoints_on_disk(log_root)))
  problem = pointer_problem(log_root) if found else None
  return found, ([problem + '; using the checkpoints on disk'] if problem else [])


def is_magenta_prefix(prefix):
  """True for a TF1 name-based checkpoint written by Magenta's sketch-rnn."""
  try:
    return tf.train.load_checkpoint(prefix).has_tensor('vector_rnn/global_step')
  except (tf.errors.OpError, ValueError):
    return False


def restore_weights(prefix, model):
  """Weights only, from either kind of checkpoint; returns its global step."""
  if is_magenta_prefix(prefix):
    return load_magenta_checkpoint(prefix, model)
  run = RunCheckpoint(os.path.dirname(prefix) or '.', model)
  try:
    return run.restore(prefix)[0]
  except CheckpointMismatchError:
    raise CheckpointMismatchError(
        '%s does not fit the model of model_config.json and --hparams: some of '
        'the model\'s weights are not in it (check dec_model, enc_model, '
        'conditional)' % prefix) from None
  except SketchRNNError as e:
    reason = str(e).split(prefix, 1)[-1].strip(' ()')
    raise SketchRNNError('%s: cannot load into this model (%s)' % (
        prefix, reason[:300])) from None


@dataclasses.dataclass
class TrainedRun:
  """A trained run, opened: what eval, sample and the study read from a folder."""
  log_root: str
  prefix: str  # the checkpoint restored
  step: int  # its global step
  hps: hparams.HParams  # the run's (max_seq_len from the data, when loaded for eval)
  model: sketch_rnn_model.Model  # built with dropout off, weights restored
  data: tuple = None  # (train, valid, test) DataLoaders, when data_dir was given
  # The data's normalising factor: a browser model's, the run's scale_factor.json,
  # or the loaded train split's; None when none of these is known.
  scale_factor: float = None
  info: dict = None  # a browser model's info


def open_run(log_root, data_dir=None, overrides='', checkpoint=None, seed=0,
             sampling=False, model_json=None):
  """Opens a run folder (this project's or Magenta's), or a browser model
  (model_json: a .gen.json or .vae.json), into a TrainedRun.

  The hyperparameters are its model_config.json with `overrides` (--hparams) on
  top; for Magenta's key-only model_config.json, overrides must say it all. A
  browser model's are those its shapes and info imply, with overrides on top
  (except the architecture). The model is Magenta's eval model (dropout off, pen
  loss unmasked), or with `sampling` its sample model (one sketch per batch, pen
  loss masked); data_dir: also load the data it was trained on, normalised as in
  training (a browser model: by its own scale_factor).
  """
  if model_json is not None:
    return _open_browser_model(model_json, data_dir, overrides, seed, sampling)
  if not os.path.isdir(log_root):
    raise SketchRNNError('--log_root %s: no such folder' % log_root)
  prefix = checkpoint or latest_checkpoint(log_root)
  if prefix is None:
    raise NoCheckpointError('%s: no checkpoint in this folder' % log_root)
  if not tf.io.gfile.exists(prefix + '.index'):
    raise NoCheckpointError('%s: no such checkpoint' % prefix)
  if not os.path.exists(os.path.join(log_root, MODEL_CONFIG)):
    raise SketchRNNError('%s: no model_config.json; cannot know the model' % log_root)
  hps = hparams.validate_hparams(run_hparams(log_root, overrides, bool(overrides)))
  runtime.configure_threads(hps.precision)  # before TensorFlow runs an op
  model_hps = hparams.eval_hparams(hps, inference_mode=sampling)
  data = None
  if data_dir is not None:
    # The sample model's batch of one: a small test split still loads.
    loaded = utils.load_dataset(data_dir, model_hps if sampling else hps, seed=seed)
    data = tuple(loaded[:3])
    if not sampling:
      hps, model_hps = loaded[3], loaded[4]
  model = sketch_rnn_model.Model(model_hps, seed=seed)
  step = restore_weights(prefix, model)
  logging.info('Loaded %s (global step %d).', prefix, step)
  scale_factor = read_scale_factor(log_root)
  if scale_factor is None and data is not None:
    scale_factor = data[0].scale_factor
  return TrainedRun(log_root, prefix, step, hps, model, data, scale_factor)


def _open_browser_model(path, data_dir, overrides, seed, sampling):
  hps, info, arrays = browser.read_model(path, overrides)
  runtime.configure_threads(hps.precision)  # before TensorFlow runs an op
  model = browser.build_model(hps, arrays, sampling, seed)
  scale_factor = float(info['scale_factor'])
  data = None
  if data_dir is not None:
    model_hps = model.hps
    loaded = utils.load_dataset(data_dir, model_hps if sampling else hps, seed=seed,
                                scale_factor=scale_factor)
    data = tuple(loaded[:3])
    if not sampling:
      # The data's max_seq_len, for the batches; the weights are the file's.
      hps = loaded[3]
      model.hps.max_seq_len = hps.max_seq_len
  logging.info('Loaded browser model %s (%s).', path, info.get('name', ''))
  return TrainedRun(os.path.dirname(os.path.abspath(path)), path,
                    int(info.get('training_steps') or 0), hps, model, data,
                    scale_factor, info)


def is_temporary(name):
  """A file or folder a save in progress writes and a complete save removes."""
  return ((name.startswith(CHECKPOINT_NAME + '-') and '_temp' in name)
          or name.startswith('checkpoint.tmp') or name.startswith('.tmp-'))


def remove_temporaries(log_root, prefix=None):
  """Removes what an interrupted save left in log_root (or, with prefix, what
  that one save left, including its partial files); returns the names removed."""
  removed = []
  if not os.path.isdir(log_root):
    return removed
  stem = os.path.basename(prefix) if prefix else None
  for name in sorted(os.listdir(log_root)):
    if stem is not None:
      mine = name.startswith(stem + '_temp') or name.startswith(stem + '.')
      if not (mine or name.startswith('checkpoint.tmp')):
        continue
    elif not is_temporary(name):
      continue
    path = os.path.join(log_root, name)
    try:
      if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
      else:
        os.remove(path)
      removed.append(name)
    except OSError as e:
      if e.errno != errno.ENOENT:
        logging.warning('Could not remove %s: %s', path, e)
  return removed
