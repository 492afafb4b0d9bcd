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
"""The study's runner: one training run per (setting, seed), then its evaluation.

A setting is one point of the grid of the --sweep axes (scale by default); each run
is a child process of `sketch_rnn_train` in <out>/<name>-<value>/.../seed-<k>, then
one of `sketch_rnn_eval --metrics`, which scores its last checkpoint into
metrics.json and draws grid.svg (`evaluate_run`, `draw_run_grid`). `Sweep` starts
them --jobs at a time, one GPU each; a run whose checkpoint has reached num_steps
and whose metrics are current is skipped, any other resumed from its checkpoint.
The plan (axes, settings, folder names, shared --hparams) is sketch_rnn/study_plan.py.
"""

import collections
import dataclasses
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time

from absl import logging

from sketch_rnn import checkpoints
from sketch_rnn import classifier
from sketch_rnn import data_source
from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import sample
from sketch_rnn import study_plan
from sketch_rnn import utils

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

METRICS_FILE = 'metrics.json'
METRICS_VERSION = 2  # 2: the invariant metrics and the classifier's scores
CLASSIFIER_FILE = 'classifier.npz'  # in the study folder, shared by its runs
GRID_FILE = 'grid.svg'
RUN_RECORD = 'sweep.json'  # the sweep's own notes on a run: training wall time
LOG_TAIL_LINES = 15
GRID_COLUMNS = 8


# ---------------------------------------------------------------------------
# A run's state on disk
# ---------------------------------------------------------------------------


def checkpoint_step(folder):
  """(latest checkpoint prefix, the global step inside it); (None, None) when none.

  The step is -1 when the latest checkpoint does not read: the trainer's resume
  then falls back to the one before.
  """
  prefix = checkpoints.latest_checkpoint(folder)
  if prefix is None:
    return None, None
  try:
    return prefix, checkpoints.checkpoint_step(prefix)
  except Exception:  # pylint: disable=broad-except
    return prefix, -1


def read_json(path):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def log_tail(path, lines=LOG_TAIL_LINES):
  try:
    with open(path, errors='replace') as f:
      return ''.join(collections.deque(f, maxlen=lines))
  except OSError:
    return '(no log at %s)\n' % path


@dataclasses.dataclass
class Run:
  """One (setting, seed) of the study and what became of it.

  setting: ((name, value), ...), the axes in the order given; shared_scale: the
  scale of --hparams, the run's when scale is not an axis.
  """
  setting: tuple
  seed: int
  folder: str
  shared_scale: float = 1.0
  status: str = 'pending'  # then done, failed or stopped
  trained: bool = False  # by this sweep (else it had finished before)
  error: str = None
  log: str = None

  @property
  def scale(self):
    return dict(self.setting).get('scale', self.shared_scale)

  @property
  def name(self):
    """The folder relative to the study's: scale-2/kl_weight-0.25/seed-1."""
    return study_plan.run_name(self.setting, self.seed)

  @property
  def label(self):
    return study_plan.setting_label(self.setting)

  def fail(self, error, log=None):
    self.status, self.error, self.log = 'failed', error, log


def check_run_config(run, hps):
  """Refuses to mix runs of other hyperparameters into the study."""
  config = read_json(os.path.join(run.folder, checkpoints.MODEL_CONFIG))
  if not isinstance(config, dict):
    return
  wanted = study_plan.setting_hparams(hps, run.setting)
  # num_steps may grow (the runs then resume); max_seq_len comes from the data.
  for name, value in wanted.values().items():
    if name in ('num_steps', 'max_seq_len') or name not in config:
      continue
    if config[name] != value:
      raise errors.SketchRNNError(
          '%s was trained with %s=%r, this sweep asks for %r; use another --out, '
          'or the --hparams and --sweep it was started with' % (
              run.folder, name, config[name], value))


def make_runs(out, axes, seeds, hps):
  """The study's Runs, setting by setting (the grid of the axes), each in
  <out>/<name>-<value>/.../seed-<k>; refuses a folder trained with other
  hyperparameters."""
  runs = [Run(setting, seed,
              os.path.join(out, *study_plan.run_name(setting, seed).split('/')),
              shared_scale=hps.scale)
          for setting in study_plan.settings(axes) for seed in seeds]
  for run in runs:
    check_run_config(run, hps)
  return runs


def runs_data_dir(runs):
  """The data folder or URL the study's runs were trained on (their
  data_source.json), for a sweep started again without --data_dir; None when no
  run remembers one."""
  found = {d for d in (data_source.read(r.folder) for r in runs) if d is not None}
  if len(found) > 1:
    raise errors.SketchRNNError('the runs of this study were trained on different '
                                'data (%s): pass --data_dir' % ', '.join(sorted(found)))
  return found.pop() if found else None


# ---------------------------------------------------------------------------
# Training and evaluating the runs, --jobs at a time
# ---------------------------------------------------------------------------


class Sweep:
  """Trains and scores the runs in child processes, `jobs` at a time."""

  def __init__(self, runs, data_dir, hparams_text, num_steps, eval_options, jobs=1,
               gpus=(), classifier_path=None, batch_sampler='auto'):
    self.runs = runs
    self.batch_sampler = batch_sampler  # each trainer's --batch_sampler
    self.data_dir = data_dir
    self.hparams_text = hparams_text
    self.num_steps = num_steps
    self.eval_options = eval_options
    self.jobs = jobs
    self.gpus = list(gpus)
    self.classifier_path = classifier_path
    self.signal = None
    self.procs = {}

  # -- the children -------------------------------------------------------------

  def env(self, slot):
    env = dict(os.environ)
    # The children import this package even when it is not installed.
    env['PYTHONPATH'] = os.pathsep.join(
        [PACKAGE_ROOT] + [p for p in [env.get('PYTHONPATH')] if p])
    if self.gpus:
      env['CUDA_VISIBLE_DEVICES'] = self.gpus[slot % len(self.gpus)]
      if self.jobs > len(self.gpus):  # runs share a GPU: no grabbing all its memory
        env.setdefault('TF_FORCE_GPU_ALLOW_GROWTH', 'true')
    elif self.jobs > 1:
      # Runs on the CPU would each start one thread per core and fight over them.
      threads = str(max(1, (os.cpu_count() or 1) // self.jobs))
      env.setdefault('TF_NUM_INTRAOP_THREADS', threads)
      env.setdefault('TF_NUM_INTEROP_THREADS', threads)
    return env

  def spawn(self, run, cmd, env, log_name):
    os.makedirs(run.folder, exist_ok=True)
    path = os.path.join(run.folder, log_name)
    with open(path, 'a') as log:
      log.write('=== scale_sweep %s: %s\n' % (
          datetime.datetime.now().isoformat(timespec='seconds'),
          ' '.join(shlex.quote(c) for c in cmd)))
      log.flush()
      # Its own session: a Ctrl-C reaches the sweep alone, which passes on one
      # SIGTERM (a second one would make the trainer exit without saving).
      proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                              cwd=os.getcwd(), start_new_session=True)
    return proc

  def train_command(self, run, resume):
    cmd = [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train',
           '--log_root=' + run.folder, '--data_dir=' + self.data_dir,
           '--seed=%d' % run.seed, '--num_samples=0']
    if self.batch_sampler != 'auto':  # the trainer's default
      cmd.append('--batch_sampler=' + self.batch_sampler)
    cmd.append('--hparams=' + study_plan.with_setting(self.hparams_text,
                                                      run.setting))
    return cmd + ['--resume_training'] if resume else cmd

  def evaluate_command(self, run):
    o = self.eval_options
    return [sys.executable, '-m', 'sketch_rnn.sketch_rnn_eval', '--metrics',
            '--log_root=' + run.folder, '--data_dir=' + self.data_dir,
            '--seed=%d' % o['eval_seed'],
            '--diversity_samples=%d' % o['diversity_samples'],
            '--eval_sketches=%d' % o['eval_sketches'],
            '--iwae_samples=%d' % o['iwae_samples'],
            '--results_json=' + os.path.join(run.folder, METRICS_FILE),
            '--grid=' + os.path.join(run.folder, GRID_FILE)] + (
                ['--classifier=' + self.classifier_path] if self.classifier_path
                else [])

  def metrics_current(self, run):
    record = read_json(os.path.join(run.folder, METRICS_FILE))
    prefix = checkpoints.latest_checkpoint(run.folder)
    return (isinstance(record, dict) and prefix is not None and
            record.get('checkpoint') == os.path.basename(prefix) and
            record.get('options') == self.eval_options and
            os.path.exists(os.path.join(run.folder, GRID_FILE)))

  def job(self, run, env):
    """One run's work, as a generator: yields each child, receives its exit code."""
    prefix, step = checkpoint_step(run.folder)
    if step is not None and step >= self.num_steps:
      logging.info('%s: finished (step %d of %d); skipped.', run.name, step,
                   self.num_steps)
    else:
      resume = prefix is not None
      logging.info('%s: %s training (log: %s).', run.name,
                   'resuming' if resume else 'starting',
                   os.path.join(run.folder, 'train.log'))
      start = time.time()
      code = yield self.spawn(run, self.train_command(run, resume), env, 'train.log')
      record_train_time(run.folder, time.time() - start)
      run.trained = True
      log = os.path.join(run.folder, 'train.log')
      if self.signal is not None:
        run.status = 'stopped'
        return
      if code != 0:
        run.fail('training exited with code %d' % code, log_tail(log))
        return
      _, step = checkpoint_step(run.folder)
      if step is None or step < self.num_steps:
        run.fail('training stopped at step %s of %d' % (step, self.num_steps),
                 log_tail(log))
        return
      logging.info('%s: trained to step %d.', run.name, step)
    if self.metrics_current(run):
      logging.info('%s: metrics current; skipped.', run.name)
    else:
      code = yield self.spawn(run, self.evaluate_command(run), env, 'eval.log')
      if self.signal is not None:
        run.status = 'stopped'
        return
      if code != 0:
        run.fail('evaluation exited with code %d' % code,
                 log_tail(os.path.join(run.folder, 'eval.log')))
        return
      record = read_json(os.path.join(run.folder, METRICS_FILE)) or {}
      logging.info('%s: evaluated in %.0f s (every metric, IWAE-%d on %s test '
                   'sketches).', run.name, record.get('seconds', float('nan')),
                   self.eval_options['iwae_samples'],
                   record.get('metrics', {}).get('num_scored_sketches', '?'))
    run.status = 'done'

  # -- the loop ------------------------------------------------------------------

  def _advance(self, run, gen, code):
    try:
      return gen.send(code)
    except StopIteration:
      return None
    except Exception as e:  # pylint: disable=broad-except
      # One run's surprise must not strand the others' children.
      run.fail('%s: %s' % (type(e).__name__, e))
      return None

  def _on_signal(self, signum, unused_frame):
    first = self.signal is None
    self.signal = signum
    logging.warning('received %s: %s', signal.Signals(signum).name,
                    'stopping the runs (each saves a checkpoint)' if first
                    else 'stopping the runs now')
    for proc in self.procs.values():
      if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)

  def run(self):
    """Runs every job; returns the signal that stopped the sweep, or None."""
    handlers = {s: signal.signal(s, self._on_signal)
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
      pending = collections.deque(self.runs)
      free = list(range(self.jobs))
      active = {}
      while (pending and self.signal is None) or active:
        while free and pending and self.signal is None:
          slot, run = free.pop(0), pending.popleft()
          gen = self.job(run, self.env(slot))
          proc = self._advance(run, gen, None)
          if proc is None:
            free.append(slot)
          else:
            active[slot] = (run, gen)
            self.procs[slot] = proc
        for slot in list(active):
          code = self.procs[slot].poll()
          if code is None:
            continue
          run, gen = active[slot]
          proc = self._advance(run, gen, code)
          if proc is None:
            del active[slot], self.procs[slot]
            free.append(slot)
          else:
            self.procs[slot] = proc
        time.sleep(0.2)
      for run in pending:
        run.status = 'stopped'
    finally:
      for s, handler in handlers.items():
        signal.signal(s, handler)
    return self.signal


def record_train_time(folder, seconds):
  path = os.path.join(folder, RUN_RECORD)
  record = read_json(path) or {}
  record['train_seconds'] = record.get('train_seconds', 0.0) + seconds
  record['train_attempts'] = record.get('train_attempts', 0) + 1
  os.makedirs(folder, exist_ok=True)
  utils.write_text_atomic(path, json.dumps(record, indent=1))


# ---------------------------------------------------------------------------
# One run's evaluation (the child process: sketch_rnn_eval --metrics)
# ---------------------------------------------------------------------------


def eval_options(diversity_samples, eval_sketches, eval_seed,
                 iwae_samples=metrics.IWAE_SAMPLES):
  """The evaluation's options, as metrics.json records them (a UsageError if bad).

  `metrics_version` too: a metrics.json of an older set of metrics is not current.
  """
  if diversity_samples < 2:
    raise errors.UsageError('--diversity_samples must be at least 2')
  if eval_sketches < 0:
    raise errors.UsageError('--eval_sketches must be 0 (all) or more')
  if iwae_samples < 1:
    raise errors.UsageError('--iwae_samples must be at least 1')
  return dict(diversity_samples=diversity_samples, eval_sketches=eval_sketches,
              eval_seed=eval_seed, iwae_samples=iwae_samples,
              metrics_version=METRICS_VERSION)


def draw_run_grid(model, hps, test_set, path, seed=0, ncols=GRID_COLUMNS):
  """Five rows, each from the same draws for every run: prior samples (T = 0.5)
  from N(0, I), then from N(0, s^2 I); decodings (T = 0.5) of the aggregate
  posterior, one z ~ q(z|x) of each of ncols random test sketches; test sketches
  0-3 of the file, each beside the greedy decoding of its mu; test sketch 0, the
  greedy decodings along the slerp between the mus of test sketches 0 and 1, test
  sketch 1."""
  seq_len = hps.max_seq_len
  sketches, titles = [], []
  for prior_scale, title in ((1.0, 'N(0, I)'), (hps.scale, 'N(0, s^2 I)')):
    strokes5, _ = sample.sample_batch(model, num=ncols, temperature=0.5,
                                      seq_len=seq_len, seed=seed,
                                      prior_scale=prior_scale)
    sketches += sample.to_strokes3(strokes5)
    titles += ['prior %s' % title] + [''] * (ncols - 1)
  z = sample.aggregate_posterior_z(model, test_set.strokes, ncols, seed)
  sketches += sample.decode(model, z, temperature=0.5, seq_len=seq_len, seed=seed)
  titles += ['aggregate posterior'] + [''] * (ncols - 1)
  count = min(ncols // 2, len(test_set))
  tests = test_set.in_file_order(range(count))
  cells, labels = sample.reconstructions(
      model, tests, ['test %d' % i for i in range(count)], 'greedy from mu',
      greedy=True, seq_len=seq_len)
  sketches += cells + [[]] * (ncols - len(cells))
  titles += labels + [''] * (ncols - len(cells))
  if count >= 2:
    cells, labels = sample.interpolation(
        model, tests[0], tests[1], ncols - 2, ['test 0', 'test 1'], 'slerp t=%.2f',
        greedy=True, seq_len=seq_len)
    sketches += cells
    titles += labels
  draw.grid_svg(sketches, ncols=ncols, path=path, titles=titles)


def sketch_classifier(data, path=None, seed=0):
  """(classifier, its accuracy on the test split, trained now) for the classes of
  a run's data (train, valid, test loaders), or (None, None, False) when the data
  has fewer than two classes. path: the cache (None: train in memory)."""
  train_set, _, test_set = data[:3]
  if train_set.labels is None or len(train_set.class_names or ()) < 2:
    return None, None, False
  model, trained = classifier.load_or_train(path, train_set.strokes, train_set.labels,
                                            train_set.class_names, seed=seed)
  return model, classifier.accuracy(model, test_set.strokes, test_set.labels), trained


def evaluate_run(run, options, grid=None, classifier_path=None):
  """The record of a run's metrics.json: its checkpoint scored by metrics.evaluate.

  run: a TrainedRun from checkpoints.open_run, with its data, opened with the seed
  options['eval_seed']; options: from eval_options. With grid, a path: also draws
  the run's grid there (draw_run_grid). classifier_path: the sketch classifier's
  cache (sketch_classifier), for data of several classes.
  """
  if not run.hps.conditional:
    raise errors.SketchRNNError(
        '%s: the metrics need the encoder, and this model is unconditional '
        '(conditional=False)' % run.log_root)
  seed = options['eval_seed']
  model, test_set = run.model, run.data[2]
  start = time.time()
  judge, accuracy, _ = sketch_classifier(run.data, classifier_path)
  result = metrics.evaluate(model, test_set, num_samples=options['diversity_samples'],
                            max_sketches=options['eval_sketches'], seed=seed,
                            iwae_samples=options['iwae_samples'], classifier=judge)
  if grid:
    draw_run_grid(model, model.hps, test_set, grid, seed)
  judged = None if judge is None else dict(
      classes=judge.class_names, test_accuracy=accuracy,
      num_test_sketches=len(test_set))
  return dict(checkpoint=os.path.basename(run.prefix), global_step=run.step,
              scale=run.hps.scale, options=options, seconds=time.time() - start,
              classifier=judged, metrics=result)
