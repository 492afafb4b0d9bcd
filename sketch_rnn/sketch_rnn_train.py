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
  sketch_rnn_train --init_from=bird.gen.json --log_root=runs/birds \
      --data_dir=datasets --hparams="data_set=[bird.npz],num_steps=500"

--init_from fine-tunes a browser model (.gen.json / .vae.json) in a new run: its
architecture and weights, the data normalised by its scale_factor, a fresh optimiser.

Flags and the loop only: the maths lives in model.py, checkpoints in checkpoints.py.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import quiet
quiet.import_tensorflow()  # first: its start-up lines off the terminal
import dataclasses
import os
import shutil
import signal
import tempfile
import time

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from sketch_rnn import browser
from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import data_source
from sketch_rnn import distribute
from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import final_grids
from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import npz
from sketch_rnn import run_folder
from sketch_rnn import runtime
from sketch_rnn import sample
from sketch_rnn import utils

FLAGS = flags.FLAGS
FLAG_NAMES = ('data_dir', 'log_root', 'resume_training', 'overwrite', 'hparams',
              'seed', 'num_samples', 'jit_compile', 'max_nonfinite_steps',
              'max_sketch_points', 'distribution_strategy', 'collective_timeout',
              'init_from', 'batch_sampler')
cli.define_flags(FLAG_NAMES)

TRAIN_FORMAT = ('step: %d, lr: %.6f, klw: %0.4f, cost: %.4f, '
                'recon: %.4f, kl: %.4f, train_time_taken: %.4f')
VALID_FORMAT = ('best_valid_cost: %0.4f, valid_cost: %.4f, valid_recon: '
                '%.4f, valid_kl: %.4f, valid_time_taken: %.4f')
EVAL_FORMAT = ('eval_cost: %.4f, eval_recon: %.4f, '
               'eval_kl: %.4f, eval_time_taken: %.4f')
LOG_EVERY = 20


class StopRequested(BaseException):
  """A SIGTERM or SIGINT before training: a BaseException, so that no `except
  Exception` of the data loading takes it for a bad file."""


class StopSignals:
  """SIGTERM and SIGINT ask the loop to save and stop after the current step.

  A second signal exits at once; checkpoint files are written aside and renamed
  in, and the pointer to the latest moves last, so that cannot corrupt them.
  While `interrupt` is set (loading, before training), a signal raises
  StopRequested at once instead: there is nothing to save yet.
  """

  EXIT_CODES = {signal.SIGTERM: 0, signal.SIGINT: 130}

  def __init__(self, interrupt=False):
    self.received = None
    self.interrupt = interrupt
    self._previous = {}

  def _handle(self, signum, unused_frame):
    if self.received is not None:
      os._exit(128 + signum)  # pylint: disable=protected-access
    self.received = signum
    if self.interrupt:
      raise StopRequested()

  def __enter__(self):
    for signum in self.EXIT_CODES:
      self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *unused):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)

  @property
  def exit_code(self):
    return self.EXIT_CODES.get(self.received, 0)


def check_log_root(log_root, bytes_needed):
  """Refuses a --log_root that cannot be created or written, or a full disk."""
  probe = os.path.abspath(log_root)
  while not os.path.exists(probe):
    probe = os.path.dirname(probe)
  if not os.path.isdir(probe):
    raise errors.SketchRNNError('--log_root %s: %s is not a folder' % (log_root, probe))
  if not os.access(probe, os.W_OK | os.X_OK):
    raise errors.SketchRNNError('--log_root %s: %s is not writable' % (log_root, probe))
  free = shutil.disk_usage(probe).free
  if free < bytes_needed:
    raise errors.SketchRNNError(
        '--log_root %s: %.1f MB free, a checkpoint needs about %.1f MB' % (
            log_root, free / 1e6, bytes_needed / 1e6))


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
          best_valid_cost, jit_compile=False, num_samples=16,
          max_nonfinite_steps=20, signals=None, steps=None, write_events=True):
  """Magenta's train(): log every 20 steps, validate every save_every steps, save
  when the validation cost is the best so far, then evaluate on the test set; and
  (this project's) validate the last step too, and save it.

  Returns the step reached. A SIGTERM or SIGINT (see StopSignals) saves and
  returns early; max_nonfinite_steps skipped steps in a row raise SketchRNNError.
  steps: a distribute.DistributedSteps to train on several replicas.
  """
  train_set, valid_set, test_set = datasets
  writer = (tf.summary.create_file_writer(log_root) if write_events
            else tf.summary.create_noop_writer())

  count_t_vars = 0
  for var in model.trainable_variables:
    num_param = int(np.prod(var.shape))
    count_t_vars += num_param
    logging.info('%s %s %i', var.name.split(':')[0], var.shape.as_list(), num_param)
  logging.info('Total trainable variables %i.', count_t_vars)
  _scalars(writer, 0, {'Num_Trainable_Params': count_t_vars})

  if steps is not None:
    step_fn, eval_fn = steps.train_step, steps.eval_costs
  else:
    step_fn = tf.function(sketch_rnn_model.train_step, jit_compile=jit_compile)
    eval_fn = tf.function(sketch_rnn_model.eval_costs)
  # The eval model keeps its own KL weight variable, never fed: kl_weight_start.
  eval_kl_weight = eval_hps.kl_weight_start
  # The next batch is drawn while the step runs; checkpoints hold the data RNG
  # as of the batches used (the Prefetcher's get_state), so resuming is exact.
  with utils.Prefetcher(train_set) as batches:
    return _train_loop(model, optimizer, hps, run, writer, step_fn, eval_fn,
                       eval_kl_weight, valid_set, test_set, batches, start_step,
                       best_valid_cost, num_samples, max_nonfinite_steps, signals)


def _train_loop(model, optimizer, hps, run, writer, step_fn, eval_fn, eval_kl_weight,
                valid_set, test_set, batches, start_step, best_valid_cost,
                num_samples, max_nonfinite_steps, signals):
  """The steps of train(), on batches from a utils.Prefetcher, which also stands
  for the data RNG in checkpoints (its get_state: as of the batches used)."""
  saved_step = start_step if run.manager.latest_checkpoint else None

  def score(dataset, tag, train_step, start):
    """Magenta's costs of a split and their time since start, also written as the
    scalars <tag>_Cost, <tag>_Reconstr_Cost, <tag>_KL_Cost and Time_Taken_<tag>."""
    cost, r_cost, kl_cost = sketch_rnn_model.evaluate_model(
        eval_fn, model, dataset, eval_kl_weight)
    taken = time.time() - start
    _scalars(writer, train_step, {
        tag + '_Cost': cost, tag + '_Reconstr_Cost': r_cost,
        tag + '_KL_Cost': kl_cost, 'Time_Taken_' + tag: taken})
    return cost, r_cost, kl_cost, taken

  def validate(train_step, start):
    """Magenta's validation after train_step steps; `start`: when its time began.
    Saves and scores the test set when the cost is the best; returns the time the
    next timing starts from."""
    nonlocal best_valid_cost, saved_step
    valid_cost, valid_r_cost, valid_kl_cost, time_taken_valid = score(
        valid_set, 'Valid', train_step, start)
    start = time.time()
    logging.info(VALID_FORMAT, min(best_valid_cost, valid_cost), valid_cost,
                 valid_r_cost, valid_kl_cost, time_taken_valid)
    if num_samples:
      _samples_image(writer, train_step, model, num_samples, hps.max_seq_len)
    if not valid_cost < best_valid_cost:  # a NaN cost is never the best
      return start
    best_valid_cost = valid_cost
    path = run.save(train_step, best_valid_cost, batches)
    saved_step = train_step
    logging.info('saving model %s.', path)
    end = time.time()
    time_taken_save = end - start
    start = time.time()
    logging.info('time_taken_save %4.4f.', time_taken_save)
    _scalars(writer, train_step, {'Best_Valid_Cost': best_valid_cost})

    eval_cost, eval_r_cost, eval_kl_cost, time_taken_eval = score(
        test_set, 'Eval', train_step, start)
    start = time.time()
    logging.info(EVAL_FORMAT, eval_cost, eval_r_cost, eval_kl_cost, time_taken_eval)
    return start

  nonfinite = 0
  start = time.time()
  run_start, run_start_step = start, start_step
  step = start_step
  while step < hps.num_steps:
    if signals is not None and signals.received is not None:
      name = signal.Signals(signals.received).name
      if saved_step == step:
        logging.info('received %s: nothing new since %s; exiting.', name,
                     run.manager.latest_checkpoint)
      else:
        path = run.save(step, best_valid_cost, batches)
        logging.info('received %s: saved %s at step %d; exiting (continue with '
                     '--resume_training).', name, path, step)
      writer.flush()
      return step

    curr_learning_rate = sketch_rnn_model.learning_rate(hps, step)
    curr_kl_weight = sketch_rnn_model.kl_weight(hps, step)
    _, x, s = batches.next()
    # Tensors, not Python floats: a new float would retrace the step.
    train_cost, r_cost, kl_cost, finite = step_fn(
        model, optimizer, x, s, tf.constant(curr_learning_rate, tf.float32),
        tf.constant(curr_kl_weight, tf.float32))
    train_step = step + 1
    if not bool(finite):
      nonfinite += 1
      logging.warning('step %d: non-finite cost or gradients (cost %s); step '
                      'skipped, weights untouched (%d in a row).', step,
                      float(train_cost), nonfinite)
      if nonfinite >= max_nonfinite_steps:
        raise errors.SketchRNNError(
            'stopped at step %d after %d steps in a row with a non-finite cost or '
            'gradients; the last good checkpoint is %s' % (
                step, nonfinite, run.manager.latest_checkpoint))
    else:
      nonfinite = 0

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
      start = validate(train_step, start)
    step = train_step

  # Magenta validates only every save_every steps, so its last steps were never
  # scored: unless the last step just was, a last validation (the same lines,
  # tags and, when best, save and test costs) gives the final checkpoint a known
  # validation cost. Not after a signal: a preempted run saves at once.
  last_validated = (step - 1) % hps.save_every == 0 and step > 1
  if step > start_step and not last_validated and (
      signals is None or signals.received is None):
    validate(step, time.time())
  # Magenta stops without saving; we keep the last steps too, so that nothing
  # trained is lost and a longer run can resume from here.
  if saved_step != step:
    path = run.save(step, best_valid_cost, batches)
    logging.info('saving final model %s.', path)
  return step


def write_final_grids(model, log_root, num, seq_len, sets):
  """samples.svg, and for a model with an encoder reconstructions.svg with, where
  the data has kinds, the classifier's recognition figure (final_grids)."""
  path = final_grids.write_samples(model, log_root, num, seq_len)
  logging.info('wrote %d samples (temperature %g) to %s', num,
               final_grids.SAMPLE_TEMPERATURE, path)
  if not model.hps.conditional:
    return
  made = final_grids.write_reconstructions(model, sets, log_root, seq_len)
  logging.info('wrote test sketches beside their greedy reconstructions to %s',
               made['path'])
  if 'recognised' in made:
    logging.info(
        'The sketch classifier (test accuracy %.3f) recognises %d of %d greedy '
        'reconstructions (%.0f%%) as their input\'s kind.',
        made['classifier_accuracy'], made['recognised'], made['count'],
        100.0 * made['recognised'] / made['count'])


@dataclasses.dataclass
class Options:
  """The training command's flags (see the flag definitions above)."""
  data_dir: str
  log_root: str
  resume_training: bool = False
  seed: int = None
  jit_compile: bool = False
  num_samples: int = 16
  hparams: str = ''
  max_nonfinite_steps: int = 20
  distribution_strategy: str = 'auto'
  collective_timeout: float = 600.0
  init_from: str = None  # a browser model to fine-tune
  overwrite: bool = False  # move a run already in log_root aside
  max_sketch_points: int = npz.MAX_SKETCH_POINTS
  batch_sampler: str = 'auto'  # flat.SAMPLERS: how random_batch() draws


def trainer(hps, opts):
  """Loads data, builds or restores the model, writes model_config.json, trains.

  On resume the run's model_config.json is the base, with opts.hparams on top.
  Returns the exit code: 0, or 130 when stopped by SIGINT.
  """
  with StopSignals(interrupt=True) as signals:
    try:
      return _trainer(hps, opts, signals)
    except StopRequested:
      logging.info('received %s before training started: stopped, no step to '
                   'save.', signal.Signals(signals.received).name)
      return signals.exit_code


def _resume_source(log_root):
  """(prefix, is_magenta, notes) of a resume: the newest checkpoint on disk that
  opens (RunCheckpoint.restore then checks it loads), and why others were not."""
  candidates, notes = checkpoints.resume_candidates(log_root)
  if not candidates:
    raise errors.SketchRNNError(
        '--resume_training: no checkpoint in --log_root %s' % log_root)
  if not os.path.exists(os.path.join(log_root, checkpoints.MODEL_CONFIG)):
    raise errors.SketchRNNError(
        '--resume_training: %s holds checkpoints but no %s, so the model is '
        'unknown; put the run\'s %s back' % (log_root, checkpoints.MODEL_CONFIG,
                                              checkpoints.MODEL_CONFIG))
  for prefix in candidates:
    try:
      tf.train.load_checkpoint(prefix)
    except Exception:  # pylint: disable=broad-except
      continue  # restore() names it among those skipped
    return prefix, checkpoints.is_magenta_prefix(prefix), notes
  return candidates[0], False, notes


def _trainer(hps, opts, signals):
  # Up to the strategy nothing runs a TensorFlow op: the thread pools and a
  # multi-worker strategy must be set before the first.
  log_root = opts.log_root
  if opts.init_from and opts.resume_training:
    raise errors.UsageError('--init_from starts a new run; --resume_training '
                            'continues one: give one of them')
  if opts.overwrite and opts.resume_training:
    raise errors.UsageError('--overwrite starts a new run; --resume_training '
                            'continues one: give one of them')
  if opts.max_sketch_points < 1:
    raise errors.UsageError('--max_sketch_points must be at least 1')
  npz.MAX_SKETCH_POINTS = opts.max_sketch_points
  init_weights = scale_factor = None
  if opts.init_from:
    hps, info, init_weights = browser.read_model(opts.init_from, opts.hparams)
    scale_factor = float(info['scale_factor'])
  prefix, magenta_run = None, False
  if opts.resume_training:
    prefix, magenta_run, notes = _resume_source(log_root)
    for note in notes:
      logging.warning('%s.', note)
    hps = checkpoints.run_hparams(log_root, opts.hparams, key_only_ok=magenta_run)
  hparams.validate_hparams(hps)
  runtime.configure_threads(hps.precision)
  strategy = distribute.make_strategy(opts.distribution_strategy,
                                      opts.collective_timeout)
  distributed = strategy.num_replicas_in_sync > 1 or opts.distribution_strategy in (
      'mirrored', 'multi_worker')
  chief = distribute.is_chief(strategy)
  if chief and not opts.resume_training and not opts.overwrite:
    run_folder.check_fresh_start(log_root, overwrite=False)  # refuse before loading
  seed = opts.seed
  if seed is None:
    # Every worker must draw the same global batches: a shared default.
    seed = 0 if distributed else int.from_bytes(os.urandom(4), 'little')

  # Before the long loading: a --log_root that cannot be written fails at once.
  check_log_root(log_root, 0)
  logging.info('Loading data files.')
  tf.random.set_seed(seed)
  datasets = utils.load_dataset(opts.data_dir, hps, seed=seed,
                                scale_factor=scale_factor, sampler=opts.batch_sampler)
  train_set, valid_set, test_set, hps, eval_hps, _ = datasets
  sketch_rnn_model.check_memory(hps)

  with strategy.scope():
    model = sketch_rnn_model.Model(hps, seed=seed)
    optimizer = sketch_rnn_model.Adam(model.trainable_variables)
    if init_weights is not None:
      browser.assign_weights(model, init_weights)
  steps = None
  if distributed:
    steps = distribute.DistributedSteps(strategy, model, optimizer, hps.batch_size)
  # Nothing is written to log_root before the data, the model and the folder are
  # known to be sound. A checkpoint holds the weights and Adam's m and v.
  num_params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
  check_log_root(log_root, 3 * 4 * num_params + (1 << 20))
  # Only the chief writes into log_root, and holds its lock; other workers save
  # (saving may take part in collectives) into a temporary folder they remove.
  write_root = log_root if chief else tempfile.mkdtemp(prefix='sketch_rnn_worker_')
  lock = run_folder.RunLock(log_root)
  try:
    if chief:
      _open_run_folder(log_root, lock, opts)
    start_step, best_valid_cost = 0, 1e8
    if magenta_run:
      start_step = checkpoints.load_magenta_checkpoint(prefix, model, optimizer)
      logging.info('Resumed Magenta checkpoint %s at step %d.', prefix, start_step)
      restored = prefix
    elif prefix is not None:
      reader = checkpoints.RunCheckpoint(log_root, model, optimizer)
      start_step, best_valid_cost = reader.restore(data_rng=train_set.rng)
      _keep_sampler(train_set, reader.data_sampler, opts.batch_sampler)
      for skipped in reader.skipped:
        logging.warning('Skipped unreadable checkpoint %s.', skipped)
      logging.info('Resumed %s at step %d (best valid cost %.4f).',
                   reader.restored_path, start_step, best_valid_cost)
      restored = reader.restored_path
    try:
      if chief and prefix is not None:
        checkpoints.rebuild_pointer(log_root, restored)
      if chief:
        checkpoints.write_model_config(log_root, hps)
        checkpoints.write_scale_factor(log_root, train_set.scale_factor)
        data_source.write(log_root, opts.data_dir)
    except OSError as e:
      raise errors.SketchRNNError('--log_root %s: cannot write (%s)' % (
          log_root, e.strerror or e)) from None
    _log_start(hps, seed, prefix is not None and not magenta_run, strategy, chief,
               distributed, (train_set, valid_set, test_set), opts.init_from,
               opts.batch_sampler)
    run = checkpoints.RunCheckpoint(write_root, model, optimizer)
    num_samples = opts.num_samples if chief else 0

    signals.interrupt = False  # from here a signal saves, then stops
    try:
      step = train(model, optimizer, (train_set, valid_set, test_set), hps,
                   eval_hps, run, write_root, start_step, best_valid_cost,
                   jit_compile=opts.jit_compile,
                   num_samples=num_samples,
                   max_nonfinite_steps=opts.max_nonfinite_steps, signals=signals,
                   steps=steps, write_events=chief)
    except tf.errors.OpError as e:
      if not distributed:
        raise
      raise distribute.worker_error(e) from None
    if signals.received is not None:
      return signals.exit_code
    if num_samples:
      write_final_grids(model, log_root, num_samples, hps.max_seq_len,
                        (train_set, valid_set, test_set))
  finally:
    lock.release()
    if not chief:
      shutil.rmtree(write_root, ignore_errors=True)
  if chief:
    logging.info('Done: %d steps; checkpoints, TensorBoard events and '
                 'model_config.json in %s', step, log_root)
  else:
    logging.info('Done: %d steps (a worker: the chief writes to %s)', step, log_root)
  return 0


def _keep_sampler(train_set, saved, asked):
  """On resume: the restored RNG state gives the uninterrupted run's batches only
  through the sampler it fed, so 'auto' takes the checkpoint's (saved; None when
  it holds no data state); an explicit other one is used, with a warning."""
  if saved is None or saved == train_set.batch_sampler:
    return
  if asked == 'auto':
    train_set.sampler = saved
  else:
    logging.warning('--batch_sampler=%s, but the checkpoint\'s batches were drawn '
                    'by %s: from here the batches differ from those of an '
                    'uninterrupted run.', asked, saved)


def _log_start(hps, seed, resumed, strategy, chief, distributed, sets, init_from,
               sampler='auto'):
  """Magenta's opening lines (the hyperparameters as the run uses them, max_seq_len
  from the data) and ours. Logged once every input has loaded and been checked,
  so that a mistake's one-line error is not the end of a long table."""
  logging.info('sketch-rnn')
  logging.info('Hyperparams:')
  for key, val in hps.values().items():
    logging.info('%s = %s', key, val)
  gpus = tf.config.list_physical_devices('GPU')
  # A resumed run takes its generator's and the data order's states from the
  # checkpoint: a fresh seed here would only puzzle.
  logging.info('Training on %s; %s.', ', '.join(g.name for g in gpus) if gpus else 'CPU',
               'the random states come from the checkpoint' if resumed
               else 'seed %d' % seed)
  if distributed:
    logging.info('%s with %d replicas (%s); global batch %d.',
                 type(strategy).__name__, strategy.num_replicas_in_sync,
                 'chief' if chief else 'worker', hps.batch_size)
  train_set, valid_set, test_set = sets
  logging.info('Dataset: %d/%d/%d sketches, max_seq_len %d.', len(train_set),
               len(valid_set), len(test_set), hps.max_seq_len)
  logging.info('normalizing_scale_factor %4.4f.', train_set.scale_factor)
  logging.info('batch sampler: %s%s.', train_set.batch_sampler,
               ' (auto)' if sampler == 'auto' else '')
  if init_from:
    logging.info('Initialised from %s (a fresh optimiser).', init_from)


def _open_run_folder(log_root, lock, opts):
  """Takes log_root's lock, removes what a killed save left, and for a new run
  checks (again, now that no other trainer can write) that no run is there."""
  try:
    os.makedirs(log_root, exist_ok=True)
    lock.acquire()
  except OSError as e:
    raise errors.SketchRNNError('--log_root %s: cannot create its lock (%s)' % (
        log_root, e.strerror or e)) from None
  removed = checkpoints.remove_temporaries(log_root)
  if removed:
    logging.warning('Removed what an interrupted save left: %s.', ', '.join(removed))
  if not opts.resume_training:
    run_folder.check_fresh_start(log_root, opts.overwrite)
    pointer = os.path.join(log_root, 'checkpoint')
    if os.path.exists(pointer):  # it names no checkpoint on disk
      os.remove(pointer)


def main(unused_argv):
  hps = hparams.get_default_hparams()
  if FLAGS.hparams and not FLAGS.init_from:  # else on top of the file's
    hps.parse(FLAGS.hparams)
  if FLAGS.max_nonfinite_steps < 1:
    raise errors.UsageError('--max_nonfinite_steps must be at least 1')
  # A resumed run goes on with the data it was trained on, unless told otherwise.
  data_dir = (cli.run_data_dir(FLAGS.log_root) if FLAGS.resume_training
              else FLAGS.data_dir)
  return trainer(hps, Options(
      data_dir=data_dir, log_root=FLAGS.log_root,
      resume_training=FLAGS.resume_training, seed=FLAGS.seed,
      jit_compile=FLAGS.jit_compile, num_samples=FLAGS.num_samples,
      hparams=FLAGS.hparams, max_nonfinite_steps=FLAGS.max_nonfinite_steps,
      distribution_strategy=FLAGS.distribution_strategy,
      collective_timeout=FLAGS.collective_timeout, init_from=FLAGS.init_from,
      overwrite=FLAGS.overwrite, max_sketch_points=FLAGS.max_sketch_points,
      batch_sampler=FLAGS.batch_sampler))


def run_main(argv=None):
  cli.run(main, 'sketch_rnn_train', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
