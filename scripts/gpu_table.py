#!/usr/bin/env python
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
"""The GPU table: every configuration, float32 and bfloat16, XLA loops and plain.

  scripts/gpu_benchmark.sh              # a GPU machine: installs, then runs this
  python scripts/gpu_table.py           # the table, in under 5 minutes on a GPU
  python scripts/gpu_table.py --cpu     # CI-sized, on the CPU

Every configuration x precision x loop choice is one scripts/benchmark.py run in
a process of its own (its run_one: the training step's median time, the ceiling
and the efficiency), given at most --timeout seconds, and all of them together
at most --budget seconds: a run that hangs or does not fit is a row that says so,
and the table still comes. Prints one markdown table; --json keeps the figures.

Without a GPU visible to TensorFlow it stops with a one-line error, unless
--cpu: then the GPU is hidden from the runs, and they are CI-sized (batches of 4
random sketches of 8 points, 2 timed steps), to show the whole path works.
"""

import argparse
import concurrent.futures
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

CONFIGS = {name: benchmark.CONFIGS[name]
           for name in ('lstm512', 'layer_norm512', 'hyper512', 'small', 'quick_start')}
PRECISIONS = ('float32', 'bfloat16')
LOOPS = ('xla', 'plain')
COLUMNS = ('config', 'precision', 'loops', "runtime's choice", 'ms/step', 'steps/s',
           'sketches/s', 'first step s', 'ceiling GFLOP/s', 'efficiency', 'note')

# --cpu: the smallest runs that still build, trace and time every configuration.
CPU_SIZE = dict(hparams='batch_size=4', seq_len=8, steps=2, warmup=0, timeout=300,
                budget=3600)
# A GPU: 20 runs in at most 270 s, the probe included under 5 minutes. A run's
# start (TensorFlow, CUDA, tracing, XLA's compilation) is much of its time,
# and 10 steps are enough for a median.
GPU_SIZE = dict(hparams='', seq_len=None, steps=10, warmup=2, timeout=90, budget=270)


def plan(configs, precisions, loops, extra=''):
  """[(config, precision, loops, hparams)] of every combination, in table order;
  extra: overrides of every configuration's hyperparameters."""
  runs = []
  for name in configs:
    for precision in precisions:
      hparams = merge(CONFIGS[name], 'precision=' + precision, extra)
      runs.extend((name, precision, choice, hparams) for choice in loops)
  return runs


def merge(*texts):
  """--hparams texts into one, a later value of a name replacing an earlier (the
  parser refuses a name given twice)."""
  values = {}
  for text in texts:
    # Commas inside [...] (data_set=[a.npz,b.npz]) do not separate names.
    for item in re.split(r',(?![^\[]*\])', text):
      if item:
        name, value = item.split('=', 1)
        values.pop(name, None)
        values[name] = value
  return ','.join('%s=%s' % item for item in values.items())


def check_device(cpu):
  """(device description, TensorFlow version), or exits with a one-line error
  when no GPU is visible and not `cpu`."""
  probe = ('import json, tensorflow as tf\n'
           'gpus = tf.config.list_physical_devices("GPU")\n'
           'print(json.dumps(dict(tf=tf.__version__, gpus=[\n'
           '    tf.config.experimental.get_device_details(g).get("device_name", g.name)\n'
           '    for g in gpus])))\n')
  # The probe's own log lines (CUDA's, TensorFlow's) would bury the one line.
  proc = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'), check=False)
  if proc.returncode:
    last = (proc.stderr.strip().splitlines() or ['exit status %d' % proc.returncode])
    _fail('TensorFlow does not start (%s)' % last[-1])
  found = json.loads(proc.stdout.strip().splitlines()[-1])
  if cpu:
    return 'CPU (%s, GPU hidden)' % _cpu_name(), found['tf']
  if not found['gpus']:
    smi = ('nvidia-smi sees a GPU, so the CUDA libraries are missing: install '
           'tensorflow[and-cuda]' if shutil.which('nvidia-smi') else
           'no nvidia-smi either')
    _fail('no GPU visible to TensorFlow %s (%s); --cpu runs the table on the CPU'
          % (found['tf'], smi))
  return ', '.join(found['gpus']), found['tf']


def _fail(message):
  print('gpu_benchmark: ' + message, file=sys.stderr)
  sys.exit(2)


def _cores():
  if hasattr(os, 'sched_getaffinity'):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def _cpu_name():
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return '%d cores' % (os.cpu_count() or 1)


def measure(runs, settings, threads, log=None, jobs=1):
  """benchmark.run_one of every run, each in its own process, `jobs` at a time;
  one dict per run: its figures, or `note` saying why it has none."""
  deadline = time.monotonic() + settings['budget']

  def one(run):
    name, precision, choice, hparams = run
    row = dict(config=name, precision=precision, loops=choice)
    left = deadline - time.monotonic()
    if left < 1:
      row['note'] = 'skipped: over the %d s budget' % settings['budget']
    else:
      spec = dict(name=name, hparams=hparams, threads=threads,
                  num_steps=settings['steps'], warmup=settings['warmup'],
                  loops=choice, seq_len=settings['seq_len'])
      timeout = min(settings['timeout'], left)
      try:
        row.update(benchmark.run_child(spec, timeout=timeout))
      except benchmark.ChildFailed as e:
        row['note'] = e.message if e.timed_out else 'failed: ' + e.message[:160]
    if log:
      log('%s %s %s: %s' % (name, precision, choice, row.get('note') or
                            '%.1f ms/step' % (1e3 * row['median_step_s'])))
    return row

  with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    return list(pool.map(one, runs))


def _cells(row):
  if 'median_step_s' not in row:
    return ['-'] * 7 + [row['note'].replace('|', '/')]
  ms = 1e3 * row['median_step_s']
  return ['yes' if row['loops'] == row['default_loops'] else 'no',
          '%.1f' % ms, '%.2f' % (1e3 / ms), '%.1f' % row['sketches_per_s'],
          '%.1f' % row['first_step_s'], '%.1f' % row['ceiling_gflops'],
          '%.2f' % row['efficiency'], '']


def table(results):
  """The markdown table's lines, one row per run."""
  lines = ['| %s |' % ' | '.join(COLUMNS), '|%s' % ('---|' * len(COLUMNS))]
  for row in results:
    lines.append('| %s |' % ' | '.join(
        [row['config'], row['precision'], row['loops']] + _cells(row)))
  return lines


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--cpu', action='store_true',
                      help='run on the CPU, CI-sized (no GPU needed)')
  parser.add_argument('--configs', default=','.join(CONFIGS),
                      help='comma-separated names from: %s' % ', '.join(CONFIGS))
  parser.add_argument('--precisions', default=','.join(PRECISIONS))
  parser.add_argument('--loops', default=','.join(LOOPS),
                      help='xla: every recurrent loop an XLA function; plain: none')
  parser.add_argument('--hparams', default=None,
                      help='overrides for every configuration (--cpu: batch_size=4)')
  parser.add_argument('--seq_len', type=int, default=None,
                      help='random sketches of this many points (GPU default: '
                      "benchmark.py's batches, 250 points; --cpu: 8)")
  parser.add_argument('--steps', type=int, default=None,
                      help='timed steps a run (default 10; --cpu: 2)')
  parser.add_argument('--warmup', type=int, default=None, help='(default 2; --cpu: 0)')
  parser.add_argument('--timeout', type=float, default=None,
                      help='seconds a run may take (default 90; --cpu: 300)')
  parser.add_argument('--budget', type=float, default=None,
                      help='seconds for all the runs; those that do not fit are '
                      'skipped (default 270; --cpu: 3600)')
  parser.add_argument('--threads', type=int, default=0,
                      help='threads a run (0: every core, shared among --jobs)')
  parser.add_argument('--jobs', type=int, default=1,
                      help='runs at once; only with --cpu (on a GPU they would '
                      'share it)')
  parser.add_argument('--json', default=None, help='also write the results here')
  args = parser.parse_args(argv)

  settings = dict(CPU_SIZE if args.cpu else GPU_SIZE)
  for key in settings:
    if getattr(args, key) is not None:
      settings[key] = getattr(args, key)
  names = [n for n in args.configs.split(',') if n]
  unknown = [n for n in names if n not in CONFIGS]
  unknown += [p for p in args.precisions.split(',') if p not in PRECISIONS]
  unknown += [c for c in args.loops.split(',') if c not in LOOPS]
  if unknown:
    parser.error('unknown %s' % ', '.join(unknown))
  if args.jobs > 1 and not args.cpu:
    parser.error('--jobs needs --cpu: runs sharing a GPU would time each other')
  runs = plan(names, args.precisions.split(','), args.loops.split(','),
              settings['hparams'])

  start = time.monotonic()
  if args.cpu:  # for the probe and every run's process, which inherit it
    os.environ['CUDA_VISIBLE_DEVICES'] = '-1'
  device, version = check_device(args.cpu)
  threads = args.threads or max(1, _cores() // args.jobs)
  log = lambda line: print(line, file=sys.stderr, flush=True)
  results = measure(runs, settings, threads, log, args.jobs)
  done = [r for r in results if 'median_step_s' in r]
  data = sorted({'%s, %d points, batch %d' % (r['data'], r['seq_len'], r['batch_size'])
                 for r in done})
  print('%s; TensorFlow %s; threads %d; median of %d steps after %d warm-up; %s; '
        '%.0f s in all' % (device, version, threads, settings['steps'],
                           settings['warmup'], '; '.join(data) or 'no run finished',
                           time.monotonic() - start))
  print()
  print('\n'.join(table(results)))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(dict(device=device, tensorflow=version, settings=settings,
                     threads=threads, results=results), f, indent=1)
  finite = all(math.isfinite(r['median_step_s']) for r in done)
  return 0 if done and finite else 1


if __name__ == '__main__':
  sys.exit(main())
