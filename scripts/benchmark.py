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
"""Training-step speed: seconds per step against the machine's own ceiling.

  python scripts/benchmark.py                       # every configuration, 1 and all threads
  python scripts/benchmark.py --configs=lstm512 --threads=2 --steps=20 --json=bench.json
  python scripts/benchmark.py --hparams="dec_model=hyper,dec_rnn_size=256"
  python scripts/benchmark.py --configs=hyper512 --loops=plain   # no XLA loops
  python scripts/benchmark.py --configs=lstm512 --impl=plain --load

Each configuration and thread count runs in its own process (thread pools are fixed
when TensorFlow starts, and the peak memory is then that configuration's), on
batches of 100 sketches: aaron_sheep from ../shared when it is there (250 points at
most), else random strokes of that shape. Per configuration it prints the median
seconds per training step after warm-up, sketches per second, the time to the first
step (tracing included), the peak resident memory, the step's matrix-product FLOPs,
the ceiling and the efficiency = (FLOPs / ceiling) / step time.

FLOPs are the model's, counted as Magenta writes its products ([x, z, h] @ W at
every decoder step; backward twice the forward), whatever this code does to skip
some (it multiplies z once per sketch): efficiency is then comparable with any
implementation's. `executed_gflop` in the JSON counts what this code multiplies.
The ceiling is the median rate of the step's dominant product (the decoder's
[B, 645] x [645, 2048] for lstm512) in the step's precision on all the threads,
timed in a burst of CEILING_BURST_FLOP or more after every timed step, so that a
machine whose speed drifts (shared cloud cores do) moves both alike; efficiency
is the median of the per-step ratios. --threads is the cores a run gets; its
thread pools are the trainer's for that precision (runtime.configure_threads).
--loops: the recurrent loops as runtime.use_xla chooses (auto), all XLA
functions (xla) or none (plain).
On a GPU the same code runs unchanged (scripts/gpu_benchmark.sh runs the table).

--impl=plain times scripts/plain_loop.py instead of the project's step: a step of
the same shape (its loss a stand-in) written as plain tf.while_loops under
tf.GradientTape in one tf.function (no XLA), always of LSTM cells at the
configuration's sizes, on the same batches, against the same ceiling, its FLOPs
those of the LSTM configuration (it multiplies z at every step, so its
`executed_gflop` is that count too); its rows are named config/plain.

--load measures every configuration and thread count twice, each in its own
process, alone and then with a competing load: a busy loop pinned to one core
(core 0, or the first this process may use) that starts after the warm-up and
runs only while the timed steps and their ceiling bursts do. The table's load
column and the closing lines give each pair's ratio of median step times (loaded /
unloaded). Every result holds `impl` and `load`; a loaded one also
`loaded_over_unloaded`, `load_core` and the load's CPU and wall seconds
(`load_cpu_s`, `load_wall_s`: how much of its core it took).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_DATA = os.path.join(os.path.dirname(REPO), 'shared', 'datasets')

_LSTM512 = 'dec_rnn_size=512,enc_rnn_size=256,z_size=128'
CONFIGS = {
    'lstm512': _LSTM512,
    'layer_norm512': 'dec_model=layer_norm,' + _LSTM512,
    'hyper512': 'dec_model=hyper,' + _LSTM512,
    'small': 'dec_rnn_size=128,enc_rnn_size=64,z_size=32',
    # the README's quick start: the bundled data's model, at its batch
    'quick_start': 'dec_rnn_size=192,enc_rnn_size=96,z_size=32,batch_size=64',
    'lstm512_bf16': _LSTM512 + ',precision=bfloat16',
}
# The least work of one ceiling burst (run_one).
CEILING_BURST_FLOP = 4_000_000_000
# Magenta's TF1 code (float32) on TensorFlow 2.21, this machine class, seconds per
# step (issue "Speed", batch 100 on aaron_sheep): {threads: seconds}.
MAGENTA = {'lstm512': {1: 4.2, 2: 3.14}, 'layer_norm512': {1: 4.7},
           'hyper512': {1: 8.2, 2: 6.02}, 'small': {1: 0.6, 2: 0.39},
           'lstm512_bf16': {1: 4.2, 2: 3.14}}


# The hyper cell's own LSTM and embedding sizes (rnn.make_cell's defaults).
HYPER_UNITS, HYPER_EMBEDDING = 256, 32


def cell_flops(kind, units, x_size, batch):
  """2 x multiply-adds of one cell step's matrix products, input x_size wide."""
  n4 = 4 * units
  flops = 2 * batch * (x_size + units) * n4
  if kind == 'hyper':
    hyper, emb = HYPER_UNITS, HYPER_EMBEDDING
    flops += 2 * batch * (x_size + units + hyper) * 4 * hyper  # the hyper LSTM
    flops += 2 * batch * hyper * 12 * emb  # zw and zb
    flops += 2 * batch * 12 * emb * units  # alpha and beta
  return flops


def step_flops(hps, steps, executed=False):
  """Forward FLOPs of the step's matrix products; backward is twice that.

  executed=False: the model's count, as Magenta multiplies ([x, z, h] @ W every
  decoder step). executed=True: what this code multiplies (z once per sketch).
  """
  b, z = hps.batch_size, (hps.z_size if hps.conditional else 0)  # z: no encoder
  hyper = HYPER_UNITS if hps.dec_model == 'hyper' else 0
  enc = 2 * steps * cell_flops(hps.enc_model, hps.enc_rnn_size, 5, b) if z else 0
  enc += 2 * 2 * b * 2 * hps.enc_rnn_size * z  # mu, presig
  dec = steps * cell_flops(hps.dec_model, hps.dec_rnn_size,
                           5 + (0 if executed else z), b)
  dec += 2 * b * z * (2 * hps.dec_rnn_size + 2 * hyper)  # the initial state
  if executed:  # z's share, once (the hyper cell's own LSTM takes z too)
    dec += 2 * b * z * (4 * hps.dec_rnn_size + 4 * hyper)
  out = 2 * b * steps * hps.dec_rnn_size * (3 + 6 * hps.num_mixture)
  return dict(encoder=enc, decoder=dec, output=out, forward=enc + dec + out,
              total=3 * (enc + dec + out))


LOOPS = ('auto', 'xla', 'plain')


def _batches(hps, np, utils, seq_len=None):
  """Four training batches and their name: aaron_sheep, or random strokes (always
  when seq_len, their length, is given)."""
  if seq_len is None and os.path.exists(os.path.join(SHARED_DATA, 'aaron_sheep.npz')):
    train_set = utils.load_dataset(SHARED_DATA, hps, seed=0)[0]
    hps.max_seq_len = train_set.max_seq_length
    return [train_set.random_batch()[1:] for _ in range(4)], 'aaron_sheep'
  length = seq_len or 250
  rng = np.random.RandomState(0)
  hps.max_seq_len = length
  batches = []
  for _ in range(4):
    x = np.zeros((hps.batch_size, length + 1, 5), np.float32)
    x[:, 0, 2] = 1
    x[:, 1:, 0:2] = rng.normal(size=(hps.batch_size, length, 2))
    x[:, 1:, 2] = 1
    x[:, 1:, 2][rng.rand(hps.batch_size, length) < 0.1] = 0
    x[:, 1:, 3] = 1 - x[:, 1:, 2]
    batches.append((x, np.full(hps.batch_size, length, np.int32)))
  return batches, 'random'


def _choose_loops(runtime, rnn, hps, loops):
  """Makes every recurrent loop XLA or not (loops: LOOPS) and returns what
  runtime.use_xla alone picks for the decoder's ('xla' or 'plain')."""
  chosen = runtime.use_xla
  default = 'xla' if chosen(hps.dec_model, rnn.PRECISIONS[hps.precision],
                            hps.dec_rnn_size) else 'plain'
  if loops != 'auto':
    # The one place that decides it (bptt.run asks it at tracing), so the whole
    # model follows; the library has no switch for this because the choice
    # never changes the numbers, only the speed this benchmark compares.
    runtime.use_xla = lambda kind, dtype, units: loops == 'xla'
  return default


# The competing load: a pure-Python spin on one core. It says when it spins, and
# it ends by itself when its parent is gone (a child killed on a timeout) or after
# limit seconds, so that no run can leave it behind.
BUSY_MARKER = 'sketch_rnn_benchmark_busy_load'
_BUSY = """
import os, sys, time
parent, core = int(sys.argv[1]), int(sys.argv[2])
limit = time.monotonic() + float(sys.argv[3])
os.sched_setaffinity(0, {core})
print('spinning', flush=True)
while os.getppid() == parent and time.monotonic() < limit:
  for _ in range(20000):
    pass
"""


def load_core():
  """The core the load spins on: core 0, or the first this process may use."""
  return min(os.sched_getaffinity(0))


def start_load(core=None, limit_s=3600.0):
  """Starts the busy loop pinned to `core` (default load_core()) and returns its
  process once it spins."""
  core = load_core() if core is None else core
  proc = subprocess.Popen(
      [sys.executable, '-c', _BUSY, str(os.getpid()), str(core), str(limit_s),
       BUSY_MARKER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
  try:
    said = proc.stdout.readline().strip()
  except BaseException:
    stop_load(proc)
    raise
  if said != 'spinning':
    stop_load(proc)
    raise RuntimeError('the competing load did not start (exit status %s)'
                       % proc.returncode)
  return proc


def cpu_seconds(pid):
  """The user and system CPU seconds of process pid so far (Linux's /proc)."""
  with open('/proc/%d/stat' % pid) as f:
    fields = f.read().rsplit(')', 1)[1].split()  # after the name, which may hold ' '
  return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def stop_load(proc):
  """Kills the busy loop; returns (whether it was still spinning, the CPU seconds
  it had: how much of its core it took from the run)."""
  spinning = proc.poll() is None
  cpu = cpu_seconds(proc.pid) if spinning else 0.0
  proc.kill()
  proc.wait()
  proc.stdout.close()
  return spinning, cpu


IMPLS = ('project', 'plain')


def _train_step(impl, hps, tf):
  """step(x, s) -> loss of one training step of `impl` (IMPLS) at hps, and the
  hyperparameters its FLOPs are counted at."""
  if impl == 'plain':
    sys.path.insert(0, HERE)
    import plain_loop  # pylint: disable=g-import-not-at-top
    plain_step, _ = plain_loop.make_train_step(hps, seed=0)
    lr = tf.constant(1e-3)
    return (lambda x, s: plain_step(x, s, lr)), plain_loop.lstm_hparams(hps)
  from sketch_rnn import model as sketch_rnn_model  # pylint: disable=g-import-not-at-top
  model = sketch_rnn_model.Model(hps, seed=0)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  step_fn = tf.function(sketch_rnn_model.train_step)
  lr, kl_w = tf.constant(1e-3), tf.constant(0.01)
  return (lambda x, s: step_fn(model, adam, x, s, lr, kl_w)[0]), hps


def product_burst(tf, a, w, reps, side_by_side=1, **kwargs):
  """A tf.function of `reps` chained products a @ w (tf.matmul's kwargs), as
  `side_by_side` bursts on distinct inputs at once (none is merged away)."""
  dtype = a.dtype

  @tf.function
  def burst(a, w):
    sums = []
    for k in range(side_by_side):
      a_k = a + tf.cast(k, dtype)
      sums.append(tf.foldl(
          lambda acc, _, a_k=a_k: acc + tf.cast(tf.matmul(a_k, w, **kwargs)[0, 0],
                                                tf.float32),
          tf.range(reps), initializer=0.0))
    return tf.add_n(sums)

  return lambda: float(burst(a, w))


def ceiling(tf, runtime, hps, dtype):
  """() -> the ceiling in FLOP/s, timed now: the decoder's recurrent product as
  Magenta runs it, [x, z, h] @ W, in `dtype`, in a burst of CEILING_BURST_FLOP
  or more (25 to 1000 products: less work at the tests' toy sizes), as many
  bursts side by side as ops run at once (one per core when each op has one
  thread: runtime.configure_threads), so it is all the cores' rate. A shorter burst at
  the small sizes measures the pool waking up as much as the product
  (docs/performance.md, "The ceiling at the small sizes")."""
  width = 5 + (hps.z_size if hps.conditional else 0) + hps.dec_rnn_size
  a = tf.cast(tf.random.normal([hps.batch_size, width]), dtype)
  w = tf.cast(tf.random.normal([width, 4 * hps.dec_rnn_size]), dtype)
  product_flops = 2 * hps.batch_size * width * 4 * hps.dec_rnn_size
  reps = min(1000, max(25, -(-CEILING_BURST_FLOP // product_flops)))
  side_by_side = max(1, runtime.cpu_threads()
                     // max(1, tf.config.threading.get_intra_op_parallelism_threads()))
  if tf.config.list_physical_devices('GPU'):
    side_by_side = 1
  burst = product_burst(tf, a, w, reps, side_by_side)
  burst()

  def rate():
    start = time.perf_counter()
    burst()
    return side_by_side * reps * product_flops / (time.perf_counter() - start)

  return rate


def run_one(name, hparams, threads, num_steps, warmup, loops='auto', seq_len=None,
            impl='project', load=False):
  """Measures one configuration in this process; returns a dict of figures.

  impl: the project's training step or the plain baseline (IMPLS). load: the
  timed steps (and their ceiling bursts) run beside a busy loop on one core.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, REPO)
  from sketch_rnn import hparams as hparams_lib  # pylint: disable=g-import-not-at-top
  from sketch_rnn import rnn  # pylint: disable=g-import-not-at-top
  from sketch_rnn import runtime  # pylint: disable=g-import-not-at-top
  from sketch_rnn import utils  # pylint: disable=g-import-not-at-top

  hps = hparams_lib.get_default_hparams().parse(hparams)
  # The trainer's thread pools for this precision, on `threads` cores.
  runtime.configure_threads(hps.precision, threads)
  default_loops = _choose_loops(runtime, rnn, hps, loops)
  batches, data = _batches(hps, np, utils, seq_len)
  steps = hps.max_seq_len

  start = time.perf_counter()
  step, flop_hps = _train_step(impl, hps, tf)

  def one(i):
    x, s = batches[i % len(batches)]
    return float(step(x, s))

  one(0)
  first = time.perf_counter() - start

  rate = ceiling(tf, runtime, hps, rnn.PRECISIONS[hps.precision])
  for i in range(warmup):
    one(i + 1)
  flops = step_flops(flop_hps, steps)
  # The plain baseline multiplies z at every decoder step, as the model count does.
  executed = step_flops(flop_hps, steps, executed=impl == 'project')
  times, ceilings = [], []
  busy = start_load() if load else None
  loaded_from = time.perf_counter()
  try:
    for i in range(num_steps):
      t = time.perf_counter()
      one(i)
      times.append(time.perf_counter() - t)
      ceilings.append(rate())
  finally:
    load_wall = time.perf_counter() - loaded_from
    spun, load_cpu = stop_load(busy) if busy else (True, 0.0)
  if not spun:
    raise RuntimeError('the competing load ended before the timed steps')
  median = float(np.median(times))
  efficiency = float(np.median([flops['total'] / c / t
                                for c, t in zip(ceilings, times)]))
  result = dict(
      config=name, hparams=hparams, threads=threads, data=data,
      # The baseline's loops are never XLA functions.
      loops='plain' if impl == 'plain' else default_loops if loops == 'auto' else loops,
      default_loops=default_loops,
      precision=hps.precision, seq_len=steps, batch_size=hps.batch_size,
      steps_timed=num_steps, median_step_s=median,
      sketches_per_s=hps.batch_size / median, first_step_s=first,
      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
      gflop_per_step=flops['total'] / 1e9,
      executed_gflop=executed['total'] / 1e9,
      ceiling_gflops=float(np.median(ceilings)) / 1e9, efficiency=efficiency,
      step_times_s=times, ceilings_gflops=[c / 1e9 for c in ceilings],
      device='GPU' if tf.config.list_physical_devices('GPU') else 'CPU',
      impl=impl, load=bool(load))
  if load:
    result.update(load_core=load_core(), load_cpu_s=load_cpu, load_wall_s=load_wall)
  magenta = MAGENTA.get(name, {}).get(threads)
  # Magenta's figure is for that configuration's own hyperparameters, batches and
  # cells (the baseline is an LSTM whatever the configuration's), unloaded.
  same_model = impl == 'project' or (hps.dec_model, hps.enc_model) == ('lstm', 'lstm')
  if (magenta and result['device'] == 'CPU' and hparams == CONFIGS.get(name)
      and seq_len is None and same_model and not load):
    result['vs_magenta'] = magenta / median
  return result


class ChildFailed(Exception):
  """A run's process failed (message: its error's last line; detail: the end of
  its stderr) or ran out of time (timed_out)."""

  def __init__(self, message, detail='', timed_out=False):
    super().__init__(message)
    self.message, self.detail, self.timed_out = message, detail, timed_out


def run_child(spec, timeout=None, script=__file__):
  """run_one(**spec) in a process of its own (or what `script --_one SPEC`
  prints last); returns its figures or raises ChildFailed."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  try:
    proc = subprocess.run([sys.executable, script, '--_one', json.dumps(spec)],
                          capture_output=True, text=True, env=env, check=False,
                          timeout=timeout)
  except subprocess.TimeoutExpired as e:
    raise ChildFailed('timed out after %.0f s' % timeout, timed_out=True) from e
  if proc.returncode:
    lines = proc.stderr.strip().splitlines() or ['exit status %d' % proc.returncode]
    raise ChildFailed(lines[-1], proc.stderr[-2000:])
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--configs', default=','.join(CONFIGS),
                      help='comma-separated names from: %s' % ', '.join(CONFIGS))
  parser.add_argument('--hparams', default=None,
                      help='one more configuration, as --hparams of the trainer')
  parser.add_argument('--threads', default='1,%d' % os.cpu_count(),
                      help='comma-separated thread counts')
  parser.add_argument('--steps', type=int, default=20, help='timed steps (median)')
  parser.add_argument('--warmup', type=int, default=3)
  parser.add_argument('--loops', default='auto', choices=LOOPS,
                      help='recurrent loops as runtime.use_xla picks, all XLA, or none')
  parser.add_argument('--seq_len', type=int, default=None,
                      help='random strokes of this many points (default: aaron_sheep '
                      'from ../shared, else 250 random points)')
  parser.add_argument('--impl', default='project', choices=IMPLS,
                      help="the project's training step, or the plain tf.while_loop "
                      'baseline of scripts/plain_loop.py at the same sizes')
  parser.add_argument('--load', action='store_true',
                      help='measure each run twice, alternately: alone, then beside '
                      'a busy loop on core %d' % load_core())
  parser.add_argument('--json', default=None, help='also write the results here')
  parser.add_argument('--_one', default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()

  if args._one:  # pylint: disable=protected-access
    spec = json.loads(args._one)  # pylint: disable=protected-access
    print(json.dumps(run_one(**spec)))
    return 0

  jobs = [(name, CONFIGS[name]) for name in args.configs.split(',') if name]
  unknown = [name for name, _ in jobs if name not in CONFIGS]
  if unknown:
    parser.error('unknown configuration %s' % unknown)
  if args.impl == 'plain' and args.loops != 'auto':
    parser.error('--loops is for the project\'s step: the plain baseline has no XLA')
  if args.hparams:
    jobs.append(('custom', args.hparams))
  suffix = '' if args.impl == 'project' else '/' + args.impl
  width = max([14] + [len(name + suffix) for name, _ in jobs])
  columns = ' %6s' % 'load' if args.load else ''
  results, pairs = [], []
  header = ('%-*s %3s %9s %10s %8s %8s %8s %9s %6s %7s%s' % (
      width, 'config', 'thr', 's/step', 'sketch/s', 'first s', 'RSS MB', 'GFLOP',
      'ceil GF/s', 'eff', 'x Mag.', columns))
  print(header)
  print('-' * len(header))
  for name, hparams in jobs:
    for threads in [int(t) for t in args.threads.split(',')]:
      # Alone, then loaded, one after the other: a machine whose speed drifts
      # moves both of a pair alike.
      for load in (False, True) if args.load else (False,):
        spec = dict(name=name, hparams=hparams, threads=threads,
                    num_steps=args.steps, warmup=args.warmup, loops=args.loops,
                    seq_len=args.seq_len, impl=args.impl, load=load)
        try:
          r = run_child(spec)
        except ChildFailed as e:
          print('%s, %d threads%s: failed\n%s' % (
              name + suffix, threads, ', loaded' if load else '',
              e.detail or e.message))
          return 1
        if load:
          r['loaded_over_unloaded'] = r['median_step_s'] / results[-1]['median_step_s']
          pairs.append((name + suffix, threads, r, results[-1]))
        results.append(r)
        print('%-*s %3d %9.3f %10.1f %8.1f %8.0f %8.1f %9.1f %6.2f %7s%s' % (
            width, name + suffix, threads, r['median_step_s'], r['sketches_per_s'],
            r['first_step_s'], r['peak_rss_mb'], r['gflop_per_step'],
            r['ceiling_gflops'], r['efficiency'],
            '%.2f' % r['vs_magenta'] if 'vs_magenta' in r else '-',
            (' %6s' % ('%.2fx' % r['loaded_over_unloaded'] if load else 'no'))
            if args.load else ''), flush=True)
  for label, threads, loaded, alone in pairs:
    print('loaded / unloaded: %s %d thread%s: %.3f / %.3f s = %.2fx' % (
        label, threads, '' if threads == 1 else 's', loaded['median_step_s'],
        alone['median_step_s'], loaded['loaded_over_unloaded']))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == '__main__':
  sys.exit(main())
