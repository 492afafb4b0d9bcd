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
"""The latent-noise study: trains sketch-rnn at several `scale`s and writes the report.

  scale_sweep --data_dir=datasets --out=runs/scale_study --scales=0.5,1,2,4 \
      --seeds=1,2,3 --hparams="data_set=[shapes.npz],num_steps=2000"

Every (scale, seed) is an ordinary training run, `sketch_rnn_train` in a child
process, in <out>/scale-<s>/seed-<k> (its output in train.log there), so each can
be resumed and inspected like any other run. Then a second child scores the run's
last checkpoint on the test set (sketch_rnn.metrics) into metrics.json and draws
grid.svg. Last, the parent writes <out>/report.md, results.csv, results.json,
curves.csv and, with matplotlib, the plots.

Started again, the sweep skips runs whose checkpoint has reached num_steps and
whose metrics are current, resumes the others (--resume_training), and rewrites
the report. A run that fails is reported with the end of its log once the others
are done, and the sweep exits with 1. SIGTERM or SIGINT is passed on to the runs
(each saves a checkpoint and stops); the sweep then exits like the trainer (0 on
SIGTERM, 130 on SIGINT) and the same command continues.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
import collections
import csv
import dataclasses
import datetime
import glob
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf
from tensorflow.core.util import event_pb2

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import hparams
from sketch_rnn import metrics
from sketch_rnn import sample
from sketch_rnn import utils

FLAGS = flags.FLAGS
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLAG_NAMES = ('out', 'data_dir', 'hparams', 'scales', 'seeds', 'jobs', 'gpus',
              'diversity_samples', 'eval_sketches', 'eval_seed', 'evaluate_run')
cli.define_flags(FLAG_NAMES)

CURVE_TAGS = ('Train_Reconstr_Cost', 'Train_KL_Cost', 'Valid_Reconstr_Cost',
              'Valid_KL_Cost')
METRICS_FILE = 'metrics.json'
GRID_FILE = 'grid.svg'
RUN_RECORD = 'sweep.json'  # the sweep's own notes on a run: training wall time
LOG_TAIL_LINES = 15
GRID_COLUMNS = 8


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def scale_name(scale):
  return 'scale-%g' % scale


def parse_scales(text):
  """'0.5,1,2,4' -> [0.5, 1.0, 2.0, 4.0]; a UsageError names a bad item."""
  items = [t.strip() for t in (text or '').split(',') if t.strip()]
  if not items:
    raise errors.UsageError('--scales: give at least one value, e.g. 0.5,1,2,4')
  scales = []
  for item in items:
    try:
      value = float(item)
    except ValueError:
      raise errors.UsageError('--scales: %r is not a number' % item) from None
    if not math.isfinite(value) or value < 0:
      raise errors.UsageError('--scales: %r must be a finite number >= 0' % item)
    if scale_name(value) in map(scale_name, scales):
      raise errors.UsageError('--scales: %s is given twice' % item)
    scales.append(value)
  return scales


def parse_seeds(text):
  """'1,2,3' -> [1, 2, 3]."""
  items = [t.strip() for t in (text or '').split(',') if t.strip()]
  if not items:
    raise errors.UsageError('--seeds: give at least one seed, e.g. 1 or 1,2,3')
  seeds = []
  for item in items:
    if not re.fullmatch(r'\d+', item) or int(item) >= 2**32:
      raise errors.UsageError('--seeds: %r is not an integer in [0, 2^32)' % item)
    if int(item) in seeds:
      raise errors.UsageError('--seeds: %s is given twice' % item)
    seeds.append(int(item))
  return seeds


def hparam_names(text):
  """The names an --hparams string sets (the values are left to HParams.parse)."""
  # A list's items hold no '=', so only real names match.
  return re.findall(r'(?:^|,)\s*([a-zA-Z][\w.]*)\s*=', text)


def shared_hparams(text):
  """Checks the shared --hparams: (cleaned text, HParams with them, scale unset)."""
  text = (text or '').strip().rstrip(',').strip()
  hps = hparams.get_default_hparams().parse(text)
  names = hparam_names(text)
  if 'scale' in names:
    raise errors.UsageError('--hparams: leave scale out; --scales sets it per run')
  if 'num_steps' not in names:
    raise errors.UsageError(
        '--hparams must set num_steps (the default, %d, never finishes), e.g. '
        '--hparams="data_set=[shapes.npz],num_steps=2000"' % hps.num_steps)
  if not hps.conditional:
    raise errors.UsageError('--hparams: conditional=False has no latent z, so scale '
                           'changes nothing; the study needs conditional=True')
  hparams.validate_hparams(hps)
  return text, hps


def run_hparams(text, scale):
  return '%s,scale=%r' % (text, float(scale)) if text else 'scale=%r' % float(scale)


def detect_gpus(spec):
  """The GPU ids to hand out, one per job (empty: leave the devices alone)."""
  spec = (spec or '').strip().lower()
  if spec in ('', 'none'):
    return []
  if spec != 'auto':
    ids = [g.strip() for g in spec.split(',') if g.strip()]
    if not all(re.fullmatch(r'[\w:-]+', g) for g in ids):
      raise errors.UsageError('--gpus: expected auto, none or ids like 0,1,2; got %r'
                             % spec)
    return ids
  visible = os.environ.get('CUDA_VISIBLE_DEVICES')
  if visible is not None:
    return [g.strip() for g in visible.split(',') if g.strip() not in ('', '-1')]
  try:
    proc = subprocess.run(['nvidia-smi', '--query-gpu=index', '--format=csv,noheader'],
                          capture_output=True, text=True, timeout=60, check=False)
  except (OSError, subprocess.SubprocessError):
    return []
  if proc.returncode != 0:
    return []
  return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


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
  """One (scale, seed) of the study and what became of it."""
  scale: float
  seed: int
  folder: str
  status: str = 'pending'  # then done, failed or stopped
  trained: bool = False  # by this sweep (else it had finished before)
  error: str = None
  log: str = None

  @property
  def name(self):
    return '%s/seed-%d' % (scale_name(self.scale), self.seed)

  def fail(self, error, log=None):
    self.status, self.error, self.log = 'failed', error, log


def check_run_config(run, hps):
  """Refuses to mix runs of other hyperparameters into the study."""
  config = read_json(os.path.join(run.folder, checkpoints.MODEL_CONFIG))
  if not isinstance(config, dict):
    return
  wanted = hps.copy()
  wanted.scale = run.scale
  # num_steps may grow (the runs then resume); max_seq_len comes from the data.
  for name, value in wanted.values().items():
    if name in ('num_steps', 'max_seq_len') or name not in config:
      continue
    if config[name] != value:
      raise errors.SketchRNNError(
          '%s was trained with %s=%r, this sweep asks for %r; use another --out, '
          'or the --hparams it was started with' % (run.folder, name, config[name],
                                                    value))


# ---------------------------------------------------------------------------
# Training and evaluating the runs, --jobs at a time
# ---------------------------------------------------------------------------


class Sweep:
  """Trains and scores the runs in child processes, `jobs` at a time."""

  def __init__(self, runs, data_dir, hparams_text, num_steps, eval_options, jobs=1,
               gpus=()):
    self.runs = runs
    self.data_dir = data_dir
    self.hparams_text = hparams_text
    self.num_steps = num_steps
    self.eval_options = eval_options
    self.jobs = jobs
    self.gpus = list(gpus)
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
           '--seed=%d' % run.seed, '--num_samples=0',
           '--hparams=' + run_hparams(self.hparams_text, run.scale)]
    return cmd + ['--resume_training'] if resume else cmd

  def evaluate_command(self, run):
    o = self.eval_options
    return [sys.executable, '-m', 'sketch_rnn.scale_sweep',
            '--evaluate_run=' + run.folder, '--data_dir=' + self.data_dir,
            '--diversity_samples=%d' % o['diversity_samples'],
            '--eval_sketches=%d' % o['eval_sketches'],
            '--eval_seed=%d' % o['eval_seed']]

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
      logging.info('%s: evaluated.', run.name)
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
# One run's evaluation (the child process behind --evaluate_run)
# ---------------------------------------------------------------------------


def draw_run_grid(model, hps, test_set, path, seed=0, ncols=GRID_COLUMNS):
  """Three rows: prior samples (T = 0.5); test sketches 0-3 of the file, each beside
  the greedy decoding of its mu; test sketch 0, the greedy decodings along the slerp
  between the mus of test sketches 0 and 1, test sketch 1."""
  seq_len = hps.max_seq_len
  strokes5, _ = sample.sample_batch(model, num=ncols, temperature=0.5,
                                    seq_len=seq_len, seed=seed)
  sketches = sample.to_strokes3(strokes5)
  titles = ['prior T=0.5'] * ncols
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


def evaluate_run(folder, data_dir, options):
  """Scores the latest checkpoint of a run folder; writes metrics.json, grid.svg."""
  seed = options['eval_seed']
  run = checkpoints.open_run(folder, data_dir, seed=seed)
  model, test_set = run.model, run.data[2]
  start = time.time()
  result = metrics.evaluate(model, test_set, num_samples=options['diversity_samples'],
                            max_sketches=options['eval_sketches'], seed=seed)
  draw_run_grid(model, model.hps, test_set, os.path.join(folder, GRID_FILE), seed)
  for m in metrics.METRICS:
    logging.info('%s: %s', m.title, result[m.key])
  record = dict(checkpoint=os.path.basename(run.prefix), global_step=run.step,
                scale=run.hps.scale, options=options, seconds=time.time() - start,
                metrics=result)
  # Python's json writes inf (kl_sampled at scale 0) as Infinity and reads it back.
  utils.write_text_atomic(os.path.join(folder, METRICS_FILE),
                          json.dumps(record, indent=1))
  return record


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def read_scalars(folder, tags=CURVE_TAGS):
  """{tag: {step: value}} from a run's TensorBoard events.

  Files are read oldest first, so where a resumed run logged a step again (the
  steps after its last checkpoint), the later value wins. A file cut short by a
  kill is read up to the cut.
  """
  scalars = {tag: {} for tag in tags}
  for path in sorted(glob.glob(os.path.join(folder, 'events.out.tfevents.*'))):
    try:
      for record in tf.data.TFRecordDataset(path):
        event = event_pb2.Event.FromString(record.numpy())
        for value in event.summary.value:
          if value.tag in scalars:
            number = (float(tf.make_ndarray(value.tensor))
                      if value.HasField('tensor') else value.simple_value)
            scalars[value.tag][int(event.step)] = number
    except tf.errors.DataLossError:
      pass
  return scalars


def collect(runs):
  """One row per done run: scale, seed, step, timing, metrics, learning curves."""
  rows = []
  for run in runs:
    if run.status != 'done':  # a failed run's metrics.json may be of an older state
      continue
    record = read_json(os.path.join(run.folder, METRICS_FILE))
    if not isinstance(record, dict) or 'metrics' not in record:
      continue
    result = record['metrics']
    timing = read_json(os.path.join(run.folder, RUN_RECORD)) or {}
    row = dict(scale=run.scale, seed=run.seed, global_step=record['global_step'],
               checkpoint=record['checkpoint'],
               train_seconds=timing.get('train_seconds'))
    row.update({k: result[k] for k in metrics.METRIC_KEYS})
    for k in ('z_size', 'num_test_sketches', 'num_fidelity_sketches',
              'latent_variances'):
      row[k] = result.get(k)
    row['curves'] = read_scalars(run.folder)
    rows.append(row)
  return rows


def aggregate(rows, scales):
  """{scale: {metric: (mean, std or None, n)}} over the seeds of each scale."""
  summary = {}
  for scale in scales:
    mine = [r for r in rows if r['scale'] == scale]
    summary[scale] = {}
    for key in metrics.METRIC_KEYS:
      values = np.array([r[key] for r in mine], np.float64)
      with np.errstate(invalid='ignore'):
        mean = float(np.mean(values))
        std = float(np.std(values, ddof=1)) if len(values) > 1 else None
      summary[scale][key] = (mean, std if std is None or math.isfinite(std) else None,
                             len(values))
  return summary


def _fmt(value, key=None):
  if value is None:
    return 'n/a'
  if not math.isfinite(value):
    return 'inf' if value > 0 else ('-inf' if value < 0 else 'nan')
  if key == 'active_units' and float(value).is_integer():
    return '%d' % value
  return '%.4f' % value


def _cell(stat, key):
  mean, std, _ = stat
  return _fmt(mean, key) + (' ± %s' % _fmt(std) if std is not None else '')


def best_scales(summary, scales):
  """{metric: [best scales]} by each metric's direction (ties kept; finite means)."""
  best = {}
  for m in metrics.METRICS:
    means = {s: summary[s][m.key][0] for s in scales
             if math.isfinite(summary[s][m.key][0])}
    if means:
      target = (min if m.better == 'lower' else max)(means.values())
      best[m.key] = [s for s in scales if means.get(s) == target]
  return best


def summary_lines(summary, scales, num_seeds):
  """The automatic summary: per metric, the best scale and every scale's number."""
  lines = []
  best = best_scales(summary, scales)
  for m in metrics.METRICS:
    if m.key not in best:
      lines.append('- **%s**: no finite value.' % m.title)
      continue
    winners = best[m.key]
    stat = summary[winners[0]][m.key]
    if len(winners) == 1:
      which = 'scale %g, %s' % (winners[0], _cell(stat, m.key))
    else:
      which = 'a tie, scales %s at %s' % (' and '.join('%g' % s for s in winners),
                                         _cell(stat, m.key))
    others = ['scale %g: %s' % (s, _cell(summary[s][m.key], m.key))
              for s in scales if s not in winners]
    line = '- **%s** (%s is better): best is %s%s.' % (
        m.title, m.better, which, ' (%s)' % '; '.join(others) if others else '')
    rest = [summary[s][m.key] for s in scales
            if s not in winners and math.isfinite(summary[s][m.key][0])]
    if num_seeds > 1 and len(winners) == 1 and rest:
      runner = (min if m.better == 'lower' else max)(rest, key=lambda t: t[0])
      if abs(stat[0] - runner[0]) <= max(stat[1] or 0.0, runner[1] or 0.0):
        line += ' The runner-up is within one standard deviation of it.'
    lines.append(line)
  if num_seeds == 1:
    lines.append('\nOne seed per scale: there are no error bars and small '
                 'differences may be noise; more seeds (--seeds=1,2,3) tell.')
  return lines


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  return pyplot


def _save(plt, fig, out, stem):
  fig.tight_layout()
  for ext in ('png', 'svg'):
    fig.savefig(os.path.join(out, '%s.%s' % (stem, ext)), dpi=120)
  plt.close(fig)


def plot_curves(rows, scales, out):
  """curves.png/.svg: recon and KL against step, per scale (mean over seeds)."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
  for ax, (title, kind) in zip(axes, (('Reconstruction cost', 'Reconstr'),
                                      ('KL cost', 'KL'))):
    for i, scale in enumerate(scales):
      colour = colours[i % len(colours)]
      # Valid points are few (one per save_every steps): marked, to be seen.
      for split, style in (('Train', '-'), ('Valid', '--o')):
        tag = '%s_%s_Cost' % (split, kind)
        runs = [r['curves'][tag] for r in rows if r['scale'] == scale]
        # The steps every seed logged, so each point averages the same seeds.
        steps = sorted(set.intersection(*[set(c) for c in runs])) if runs else []
        if not steps:
          continue
        values = np.array([[c[s] for s in steps] for c in runs])
        ax.plot(steps, values.mean(0), style, color=colour, markersize=4,
                label='scale %g, %s' % (scale, split.lower()))
        if len(runs) > 1:
          std = values.std(0, ddof=1)
          ax.fill_between(steps, values.mean(0) - std, values.mean(0) + std,
                          color=colour, alpha=0.15)
    ax.set_title(title)
    ax.set_xlabel('step')
    ax.legend(fontsize=7)
  _save(plt, fig, out, 'curves')


def plot_metrics(summary, scales, out):
  """metrics.png/.svg: each metric against scale, error bars one std over seeds."""
  plt = _pyplot()
  ncols = 5
  nrows = -(-len(metrics.METRICS) // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows),
                           squeeze=False)
  for ax, m in zip(axes.flat, metrics.METRICS):
    points = [(s,) + summary[s][m.key][:2] for s in scales
              if math.isfinite(summary[s][m.key][0])]
    if points:
      xs, ys, errs = zip(*points)
      ax.errorbar(xs, ys, yerr=[e or 0.0 for e in errs], marker='o', capsize=3)
    if len(scales) > 1 and min(scales) > 0:
      ax.set_xscale('log', base=2)  # the study's scales double
    ax.set_xticks(scales)
    ax.set_xticklabels(['%g' % s for s in scales])
    ax.set_title('%s\n(%s is better)' % (m.title, m.better), fontsize=8)
    ax.set_xlabel('scale', fontsize=8)
    ax.tick_params(labelsize=7)
  for ax in list(axes.flat)[len(metrics.METRICS):]:
    ax.axis('off')
  _save(plt, fig, out, 'metrics')


def _json_safe(value):
  """Non-finite floats as the strings 'inf', '-inf', 'nan' (JSON has none)."""
  if isinstance(value, float) and not math.isfinite(value):
    return _fmt(value)
  if isinstance(value, dict):
    return {k: _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  return value


def write_tables(out, rows, summary, scales, info, runs):
  """results.csv (one row per run), curves.csv, results.json (all of it)."""
  columns = ['scale', 'seed', 'global_step', 'train_seconds'] + list(
      metrics.METRIC_KEYS)
  with open(os.path.join(out, 'results.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for r in rows:
      writer.writerow([_json_safe(r[c]) for c in columns])
  with open(os.path.join(out, 'curves.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['scale', 'seed', 'tag', 'step', 'value'])
    for r in rows:
      for tag in CURVE_TAGS:
        for step, value in sorted(r['curves'][tag].items()):
          writer.writerow([r['scale'], r['seed'], tag, step, value])
  best = best_scales(summary, scales)
  results = dict(
      study=dict(data_dir=info['data_dir'], hparams=info['hparams'],
                 num_steps=info['num_steps'], scales=info['scales'],
                 seeds=info['seeds'], evaluation=info['eval_options']),
      metrics={m.key: dict(title=m.title, better=m.better, definition=m.definition)
               for m in metrics.METRICS},
      runs=[{k: v for k, v in r.items() if k != 'curves'} for r in rows],
      summary={'%g' % s: {k: dict(mean=v[0], std=v[1], n=v[2])
                          for k, v in summary[s].items()} for s in scales},
      best={k: v for k, v in best.items()},
      failed=[dict(run=r.name, error=r.error) for r in runs if r.status == 'failed'],
      note='Non-finite numbers are the strings "inf", "-inf", "nan".')
  utils.write_text_atomic(os.path.join(out, 'results.json'), json.dumps(
      _json_safe(results), indent=1, allow_nan=False))


def copy_grids(out, rows, scales, runs):
  """<out>/grid-scale-<s>.svg from each scale's first seed: {scale: (file, seed)}."""
  grids = {}
  for scale in scales:
    seeds = [r['seed'] for r in rows if r['scale'] == scale]
    for run in runs:
      src = os.path.join(run.folder, GRID_FILE)
      if run.scale == scale and run.seed in seeds and os.path.exists(src):
        name = 'grid-%s.svg' % scale_name(scale)
        shutil.copyfile(src, os.path.join(out, name))
        grids[scale] = (name, run.seed)
        break
  return grids


def _table(header, lines):
  return ['| %s |' % ' | '.join(header), '|%s' % ('---|' * len(header))] + [
      '| %s |' % ' | '.join(cells) for cells in lines]


def report_markdown(rows, summary, scales, info, runs, grids, plotted):
  """The text of report.md."""
  first = rows[0]
  n_seeds = max(v[2] for s in scales for v in summary[s].values())
  best = best_scales(summary, scales)
  md = ['# The latent-noise study: sketch-rnn at scale %s\n' % ', '.join(
      '%g' % s for s in info['scales'])]
  md.append('`scale` is the standard deviation of eps in z = mu + sigma * eps, '
            'eps ~ N(0, scale^2); scale 1 is Magenta\'s model. Every scale was '
            'trained with the same hyperparameters and seed%s %s.\n' % (
                's' if len(info['seeds']) > 1 else '',
                ', '.join(map(str, info['seeds']))))
  md.append('- data: `%s` in `%s`; test split: %d sketches in full batches, the '
            'fidelity on %d of them' % (
                ', '.join(hparams.get_default_hparams().parse(
                    info['hparams']).data_set), info['data_dir'],
                first['num_test_sketches'], first['num_fidelity_sketches']))
  md.append('- shared hyperparameters: `%s` (z_size %s), %d steps per run' % (
      info['hparams'], first['z_size'], info['num_steps']))
  md.append('- evaluation: eps and prior samples from seed %d (the same draws for '
            'every run); diversity over %d prior samples per temperature' % (
                info['eval_options']['eval_seed'],
                info['eval_options']['diversity_samples']))
  md.append('- written %s by `%s`\n' % (
      datetime.datetime.now().isoformat(timespec='seconds'), info['command']))
  done = {(r['scale'], r['seed']) for r in rows}
  missing = [r for r in runs if (r.scale, r.seed) not in done]
  if missing:
    md.append('**Missing from the tables**: %s.\n' % ', '.join(
        '%s (%s)' % (r.name, r.error or r.status) for r in missing))

  md += ['## Summary\n'] + summary_lines(summary, scales, n_seeds) + ['']

  md.append('## Results\n')
  md.append('Mean ± standard deviation over seeds (%s per scale); bold: the best '
            'scale on each metric. Per run: `results.csv`, `results.json`.\n' % (
                '/'.join(sorted({str(summary[s]['recon_mu'][2]) for s in scales}))
                + ' seed(s)'))
  lines = []
  for m in metrics.METRICS:
    cells = [_cell(summary[s][m.key], m.key) for s in scales]
    if len(scales) > 1:
      cells = ['**%s**' % c if s in best.get(m.key, ()) else c
               for s, c in zip(scales, cells)]
    lines.append([m.title, m.better] + cells)
  md += _table(['metric', 'better'] + ['scale %g' % s for s in scales], lines)
  md.append('\nActive units count out of z_size = %s.\n' % first['z_size'])

  md.append('## What the metrics are\n')
  md.append('On the test split, with the conventions of Magenta\'s evaluation '
            'during training: dropout off, the pen loss not masked after the end, '
            'full batches. Distances are in the dataset\'s normalised units (offsets '
            'divided by the train split\'s standard deviation). A sketch\'s points '
            'are the cumulative sums of its offsets (an empty sketch is the one '
            'point (0, 0)); the symmetric Chamfer distance of two point sets is the '
            'mean distance from a point to the nearest point of the other set, '
            'averaged over both directions.\n')
  md += _table(['metric', 'better', 'definition'],
               [[m.title, m.better, m.definition] for m in metrics.METRICS])
  md.append('')

  md.append('## Learning curves\n')
  md.append('From the runs\' TensorBoard events; every point is in `curves.csv`. '
            'Train values are single batches (every 20 steps, with dropout and the '
            'run\'s own eps), valid values the whole valid split at each '
            'validation.\n')
  if plotted:
    md.append('![learning curves](curves.png)\n\n`curves.svg` too. Mean over seeds; '
              'solid: train, dashed: valid; band: ± one standard deviation.\n')
  lines = []
  for scale in scales:
    cells = ['%g' % scale]
    for tag in CURVE_TAGS:
      logged = [r['curves'][tag] for r in rows if r['scale'] == scale
                and r['curves'][tag]]
      cells.append('%.4f (step %d)' % (np.mean([c[max(c)] for c in logged]),
                                       max(max(c) for c in logged))
                   if logged else 'n/a')
    lines.append(cells)
  md.append('The last logged values (mean over seeds):\n')
  md += _table(['scale'] + list(CURVE_TAGS), lines) + ['']

  md.append('## Metrics against scale\n')
  if plotted:
    md.append('![metrics against scale](metrics.png)\n\n`metrics.svg` too. Error '
              'bars: ± one standard deviation over seeds.\n')
  else:
    md.append('No plots: matplotlib is not installed (`pip install -e ".[report]"`, '
              'then the same command again; finished runs are skipped). The '
              'numbers behind them are in `results.csv` and `curves.csv`.\n')

  md.append('## Samples, reconstructions, interpolation\n')
  md.append('Per scale, from its first seed, with the same test sketches and the '
            'same draws for every scale. Row 1: prior samples, z ~ N(0, I), '
            'temperature 0.5. Row 2: test sketches 0 to 3 (file order), each beside '
            'the greedy decoding of its mu. Row 3: test sketch 0, the greedy '
            'decodings along the slerp from its mu to that of test sketch 1, test '
            'sketch 1.\n')
  for scale in scales:
    if scale in grids:
      name, seed = grids[scale]
      md.append('### scale %g (seed %d)\n\n![scale %g](%s)\n' % (
          scale, seed, scale, name))

  md.append('## Runs\n')
  by_run = {(r['scale'], r['seed']): r for r in rows}
  lines = []
  for run in runs:
    row = by_run.get((run.scale, run.seed))
    seconds = (read_json(os.path.join(run.folder, RUN_RECORD)) or {}).get(
        'train_seconds')
    status = run.status
    if status == 'done':
      status = 'trained' if run.trained else 'finished before; skipped'
    lines.append(['`%s`' % run.name, status,
                  '%s (step %d)' % (row['checkpoint'], row['global_step'])
                  if row else '-', '%.0f s' % seconds if seconds else '-'])
  md += _table(['run', 'status', 'checkpoint', 'training wall time (all attempts)'],
               lines) + ['']
  return '\n'.join(md)


def write_report(out, runs, info):
  """report.md, results.csv, results.json, curves.csv, grid-scale-<s>.svg and, with
  matplotlib, curves.png/.svg and metrics.png/.svg.

  runs: the sweep's Runs; info: data_dir, hparams, num_steps, scales, seeds,
  eval_options, command. Returns report.md's path, or None when no run has metrics.
  """
  rows = collect(runs)
  if not rows:
    return None
  scales = [s for s in info['scales'] if any(r['scale'] == s for r in rows)]
  summary = aggregate(rows, scales)
  write_tables(out, rows, summary, scales, info, runs)
  grids = copy_grids(out, rows, scales, runs)
  try:
    _pyplot()
  except ImportError:
    plotted = False
    logging.warning('matplotlib is not installed: no plots (pip install -e '
                    '".[report]").')
  else:
    plot_curves(rows, scales, out)
    plot_metrics(summary, scales, out)
    plotted = True
  path = os.path.join(out, 'report.md')
  utils.write_text_atomic(path, report_markdown(rows, summary, scales, info, runs,
                                                grids, plotted))
  return path


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def sweep_main():
  if not FLAGS.out:
    raise errors.UsageError('--out is required: the folder of the study')
  # This process only reads files: the GPUs are the runs'.
  tf.config.set_visible_devices([], 'GPU')
  scales = parse_scales(FLAGS.scales)
  seeds = parse_seeds(FLAGS.seeds)
  text, hps = shared_hparams(FLAGS.hparams)
  if FLAGS.jobs < 0:
    raise errors.UsageError('--jobs must be 0 (auto) or more, got %d' % FLAGS.jobs)
  if FLAGS.diversity_samples < 2:
    raise errors.UsageError('--diversity_samples must be at least 2')
  if FLAGS.eval_sketches < 0:
    raise errors.UsageError('--eval_sketches must be 0 (all) or more')
  gpus = detect_gpus(FLAGS.gpus)
  jobs = FLAGS.jobs or max(len(gpus), 1)
  out = os.path.abspath(FLAGS.out)
  data_dir = FLAGS.data_dir
  if not utils.is_url(data_dir):
    data_dir = os.path.abspath(data_dir)
  if os.path.exists(out) and not os.path.isdir(out):
    raise errors.SketchRNNError('--out %s is not a folder' % out)
  # Once here: a bad data set is one error, not one per run, and a URL's files are
  # downloaded before the runs would all fetch them at once.
  utils.load_dataset(data_dir, hps)
  runs = [Run(scale, seed, os.path.join(out, scale_name(scale), 'seed-%d' % seed))
          for scale in scales for seed in seeds]
  for run in runs:
    check_run_config(run, hps)
  os.makedirs(out, exist_ok=True)
  eval_options = dict(diversity_samples=FLAGS.diversity_samples,
                      eval_sketches=FLAGS.eval_sketches, eval_seed=FLAGS.eval_seed)
  logging.info('%d runs (scales %s x seeds %s), %d at a time%s, in %s.', len(runs),
               ', '.join('%g' % s for s in scales), ', '.join(map(str, seeds)), jobs,
               ' on GPUs %s' % ', '.join(gpus) if gpus else '', out)
  sweep = Sweep(runs, data_dir, text, hps.num_steps, eval_options, jobs, gpus)
  stopped = sweep.run()
  if stopped is not None:
    logging.info('stopped by %s; run the same command to continue.',
                 signal.Signals(stopped).name)
    return 130 if stopped == signal.SIGINT else 0
  info = dict(data_dir=data_dir, hparams=text, num_steps=hps.num_steps,
              scales=scales, seeds=seeds, eval_options=eval_options,
              command=' '.join(shlex.quote(a) for a in ['scale_sweep'] + sys.argv[1:]))
  report = write_report(out, runs, info)
  if report:
    logging.info('wrote %s', report)
  failed = [r for r in runs if r.status == 'failed']
  for run in failed:
    print('%s failed: %s; the end of its log:\n%s' % (run.name, run.error,
                                                      (run.log or '').rstrip()),
          file=sys.stderr)
  if failed:
    raise errors.SketchRNNError('%d of %d runs failed (%s); the others are in %s' % (
        len(failed), len(runs), ', '.join(r.name for r in failed),
        report or 'no report'))
  return 0


def main(unused_argv):
  if FLAGS.evaluate_run:
    evaluate_run(FLAGS.evaluate_run, FLAGS.data_dir, dict(
        diversity_samples=FLAGS.diversity_samples,
        eval_sketches=FLAGS.eval_sketches, eval_seed=FLAGS.eval_seed))
    return 0
  return sweep_main()


def run_main(argv=None):
  cli.run(main, 'scale_sweep', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
