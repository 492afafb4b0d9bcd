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
"""Sketch-RNN training, run as Magenta's sketch_rnn_train.py is run.

  python sketch_rnn/sketch_rnn_train.py --log_root=runs/shapes --data_dir=datasets \
      --hparams="data_set=[shapes.npz],num_steps=2000"

Flags and the loop only: the maths lives in model.py, checkpoints in checkpoints.py.
"""

import os
import sys

if __package__ in (None, ''):
  # Run as a file: import the package, not sibling modules from this folder.
  _here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _here]
  sys.path.insert(0, os.path.dirname(_here))

import time  # pylint: disable=g-import-not-at-top,wrong-import-position

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import draw
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample
from sketch_rnn import utils

FLAGS = flags.FLAGS
cli.define_common()
cli.define('boolean', 'resume_training', False,
           'Set to true to load previous checkpoint')
cli.define('boolean', 'jit_compile', False,
           'Compile the train step with XLA (slower on CPU; measure before using).')
cli.define('integer', 'num_samples', 16,
           'Prior samples drawn into TensorBoard at each validation and into '
           'samples.svg at the end (0: none).')

TRAIN_FORMAT = ('step: %d, lr: %.6f, klw: %0.4f, cost: %.4f, '
                'recon: %.4f, kl: %.4f, train_time_taken: %.4f')
VALID_FORMAT = ('best_valid_cost: %0.4f, valid_cost: %.4f, valid_recon: '
                '%.4f, valid_kl: %.4f, valid_time_taken: %.4f')
EVAL_FORMAT = ('eval_cost: %.4f, eval_recon: %.4f, '
               'eval_kl: %.4f, eval_time_taken: %.4f')
LOG_EVERY = 20


def _scalars(writer, step, values):
  with writer.as_default(step=step):
    for tag, value in values.items():
      tf.summary.scalar(tag, float(value))
  writer.flush()


def _samples_image(writer, step, model, num, seq_len):
  strokes5, _ = sample.sample_batch(model, num=num, temperature=0.5, seq_len=seq_len)
  pixels = draw.grid_pixels(sample.to_strokes3(strokes5))
  with writer.as_default(step=step):
    tf.summary.image('Samples', pixels[None, :, :, None], step=step)
  writer.flush()


def _eta(seconds):
  seconds = int(max(seconds, 0))
  return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def train(model, optimizer, datasets, hps, eval_hps, run, log_root, start_step,
          best_valid_cost, data_rng, jit_compile=False, num_samples=16):
  """Magenta's train(): log every 20 steps, validate every save_every steps, save
  when the validation cost is the best so far, then evaluate on the test set."""
  train_set, valid_set, test_set = datasets
  writer = tf.summary.create_file_writer(log_root)

  count_t_vars = 0
  for var in model.trainable_variables:
    num_param = int(np.prod(var.shape))
    count_t_vars += num_param
    logging.info('%s %s %i', var.name.split(':')[0], var.shape.as_list(), num_param)
  logging.info('Total trainable variables %i.', count_t_vars)
  _scalars(writer, 0, {'Num_Trainable_Params': count_t_vars})

  step_fn = tf.function(sketch_rnn_model.train_step, jit_compile=jit_compile)
  eval_fn = tf.function(sketch_rnn_model.eval_costs)
  # The eval model keeps its own KL weight variable, never fed: kl_weight_start.
  eval_kl_weight = eval_hps.kl_weight_start

  start = time.time()
  run_start, run_start_step = start, start_step
  step = start_step
  while step < hps.num_steps:
    curr_learning_rate = sketch_rnn_model.learning_rate(hps, step)
    curr_kl_weight = sketch_rnn_model.kl_weight(hps, step)
    _, x, s = train_set.random_batch()
    # Tensors, not Python floats: a new float would retrace the step.
    train_cost, r_cost, kl_cost = step_fn(
        model, optimizer, x, s, tf.constant(curr_learning_rate, tf.float32),
        tf.constant(curr_kl_weight, tf.float32))
    train_step = step + 1

    if step % LOG_EVERY == 0 and step > 0:
      end = time.time()
      time_taken = end - start
      rate = (train_step - run_start_step) / max(end - run_start, 1e-9)
      _scalars(writer, train_step, {
          'Train_Cost': train_cost, 'Train_Reconstr_Cost': r_cost,
          'Train_KL_Cost': kl_cost, 'Learning_Rate': curr_learning_rate,
          'KL_Weight': curr_kl_weight, 'Time_Taken_Train': time_taken})
      logging.info(TRAIN_FORMAT + ', steps_per_sec: %.2f, eta: %s',
                   step, curr_learning_rate, curr_kl_weight, float(train_cost),
                   float(r_cost), float(kl_cost), time_taken, rate,
                   _eta((hps.num_steps - train_step) / rate))
      start = time.time()

    if step % hps.save_every == 0 and step > 0:
      valid_cost, valid_r_cost, valid_kl_cost = sketch_rnn_model.evaluate_model(
          eval_fn, model, valid_set, eval_kl_weight)
      end = time.time()
      time_taken_valid = end - start
      start = time.time()
      _scalars(writer, train_step, {
          'Valid_Cost': valid_cost, 'Valid_Reconstr_Cost': valid_r_cost,
          'Valid_KL_Cost': valid_kl_cost, 'Time_Taken_Valid': time_taken_valid})
      logging.info(VALID_FORMAT, min(best_valid_cost, valid_cost), valid_cost,
                   valid_r_cost, valid_kl_cost, time_taken_valid)
      if num_samples:
        _samples_image(writer, train_step, model, num_samples, hps.max_seq_len)

      if valid_cost < best_valid_cost:
        best_valid_cost = valid_cost
        path = run.save(train_step, best_valid_cost, data_rng)
        logging.info('saving model %s.', path)
        end = time.time()
        time_taken_save = end - start
        start = time.time()
        logging.info('time_taken_save %4.4f.', time_taken_save)
        _scalars(writer, train_step, {'Best_Valid_Cost': best_valid_cost})

        eval_cost, eval_r_cost, eval_kl_cost = sketch_rnn_model.evaluate_model(
            eval_fn, model, test_set, eval_kl_weight)
        end = time.time()
        time_taken_eval = end - start
        start = time.time()
        _scalars(writer, train_step, {
            'Eval_Cost': eval_cost, 'Eval_Reconstr_Cost': eval_r_cost,
            'Eval_KL_Cost': eval_kl_cost, 'Time_Taken_Eval': time_taken_eval})
        logging.info(EVAL_FORMAT, eval_cost, eval_r_cost, eval_kl_cost,
                     time_taken_eval)
    step = train_step

  # Magenta stops without saving; we keep the last steps too, so that nothing
  # trained is lost and a longer run can resume from here.
  if run.manager.latest_checkpoint is None or int(run.global_step.numpy()) != step:
    path = run.save(step, best_valid_cost, data_rng)
    logging.info('saving final model %s.', path)
  return step, best_valid_cost


def write_samples_svg(model, log_root, num, seq_len):
  strokes5, _ = sample.sample_batch(model, num=num, temperature=0.5, seq_len=seq_len)
  path = os.path.join(log_root, 'samples.svg')
  draw.grid_svg(sample.to_strokes3(strokes5), path=path)
  logging.info('wrote %d samples (temperature 0.5) to %s', num, path)


def trainer(hps, data_dir, log_root, resume_training=False, seed=None,
            jit_compile=False, num_samples=16, hparams_text=''):
  """Loads data, builds or restores the model, writes model_config.json, trains.

  hparams_text: the --hparams string, applied on top of the run's own
  model_config.json when resuming.
  """

  if seed is None:
    seed = int.from_bytes(os.urandom(4), 'little')
  prefix = checkpoints.latest_checkpoint(log_root) if resume_training else None
  magenta_run = prefix is not None and checkpoints.is_magenta_prefix(prefix)
  if resume_training:
    if prefix is None:
      raise utils.SketchRNNError(
          '--resume_training: no checkpoint in --log_root %s' % log_root)
    hps = _resume_hparams(log_root, hps, magenta_run, hparams_text)

  logging.info('sketch-rnn')
  logging.info('Hyperparams:')
  for key, val in hps.values().items():
    logging.info('%s = %s', key, val)
  gpus = tf.config.list_physical_devices('GPU')
  logging.info('Training on %s; seed %d.',
               ', '.join(g.name for g in gpus) if gpus else 'CPU', seed)
  logging.info('Loading data files.')
  tf.random.set_seed(seed)
  datasets = utils.load_dataset(data_dir, hps, seed=seed)
  train_set, valid_set, test_set, hps, eval_hps, _ = datasets
  logging.info('Dataset: %d/%d/%d sketches, max_seq_len %d.', len(train_set),
               len(valid_set), len(test_set), hps.max_seq_len)
  logging.info('normalizing_scale_factor %4.4f.', train_set.scale_factor)

  model = sketch_rnn_model.Model(hps, seed=seed)
  optimizer = sketch_rnn_model.Adam(model.trainable_variables)
  # Nothing is written to log_root before the data and the model are sound.
  os.makedirs(log_root, exist_ok=True)
  run = checkpoints.RunCheckpoint(log_root, model, optimizer)
  start_step, best_valid_cost = 0, 1e8
  if magenta_run:
    start_step = checkpoints.load_magenta_checkpoint(prefix, model, optimizer)
    logging.info('Resumed Magenta checkpoint %s at step %d.', prefix, start_step)
  elif prefix is not None:
    start_step, best_valid_cost = run.restore(prefix, train_set.rng)
    logging.info('Resumed %s at step %d (best valid cost %.4f).', prefix,
                 start_step, best_valid_cost)
  checkpoints.write_model_config(log_root, hps)

  step, _ = train(model, optimizer, (train_set, valid_set, test_set), hps, eval_hps,
                  run, log_root, start_step, best_valid_cost, train_set.rng,
                  jit_compile=jit_compile, num_samples=num_samples)
  if num_samples:
    write_samples_svg(model, log_root, num_samples, hps.max_seq_len)
  logging.info('Done: %d steps; checkpoints, TensorBoard events and model_config.json '
               'in %s', step, log_root)


def _resume_hparams(log_root, hps, magenta_run, hparams_text):
  """On resume the run's model_config.json is the base; --hparams applies on top."""
  try:
    base = checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())
  except utils.SketchRNNError as e:
    if not magenta_run or 'only the names' not in str(e):
      raise
    logging.warning('%s; taking the hyperparameters from --hparams.', e)
    return hps
  return base.parse(hparams_text)


def main(unused_argv):
  hps = sketch_rnn_model.get_default_hparams()
  if FLAGS.hparams:
    hps.parse(FLAGS.hparams)
  trainer(hps, FLAGS.data_dir, FLAGS.log_root, FLAGS.resume_training, FLAGS.seed,
          FLAGS.jit_compile, FLAGS.num_samples, FLAGS.hparams)


def run_main():
  cli.run(main, 'sketch_rnn_train')


if __name__ == '__main__':
  run_main()
