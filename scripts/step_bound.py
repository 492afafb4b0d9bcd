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
"""How near a training step could come to the ceiling: a bound and an estimate.

  python scripts/step_bound.py                          # every benchmark configuration
  python scripts/step_bound.py --configs=small,quick_start --bench=bench.json
  python scripts/step_bound.py --configs=small --list   # the step's products, one a line

On one thread it times every matrix product this code's step executes
(products()), each at its own shape's rate: a burst of that product alone, in
the step's precision. With benchmark.py's FLOPs and ceiling (the same burst of
the decoder's product as Magenta runs it), `products only` = (FLOPs / ceiling)
/ products is more than benchmark.py's one-thread efficiency can read for any
step that does these products: it leaves out all the rest.

`fused cells` adds the cells' elementwise work as a hand-written fused kernel
would do it: scripts/lstm_elementwise.c (LSTM and layer-norm LSTM), built with
the C compiler ($CC, else cc) at -O3 for this CPU, one loop a step over each
step's [B, n] in cache, forward then backward; a hyper cell as its two
layer-norm LSTMs, its scalings left out. That is an estimate, not a bound (a
better kernel could be quicker), of what a step could reach with its
elementwise work in one kernel a step and nothing else to do: no mixture loss,
no Adam, no dispatch ('-' where no compiler builds the kernel).

Every timing is the quickest of its bursts, followed by ceiling bursts whose
quickest it is scaled by: both as the machine runs undisturbed, and the
machine's drift during the run cancels. Each
configuration runs in its own process. --bench: a benchmark.py --json file,
whose one-thread unloaded efficiencies are printed beside, with their share of
the products-only bound.
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
sys.path.insert(0, benchmark.REPO)

HYPER_UNITS, HYPER_EMBEDDING = benchmark.HYPER_UNITS, benchmark.HYPER_EMBEDDING
# The steps scripts/lstm_elementwise.c runs per pass (its T).
KERNEL_STEPS = 250

# One product, `count` times a step: [m, k] x [k, n] (each operand as it is
# stored: transposed when transpose_a / transpose_b), in the step's forward or
# backward pass.
Product = collections.namedtuple('Product',
                                 'name count m k n transpose_a transpose_b backward')


def _p(name, count, m, k, n, ta=False, tb=False, backward=False):
  return Product(name, count, m, k, n, ta, tb, backward)


def cell_products(prefix, kind, steps, batch, x_size, units, x_grad=False):
  """The products of a cell's loop (bptt) over `steps` steps of `batch` rows."""
  rows, n4 = steps * batch, 4 * units
  if kind == 'hyper':
    hn, emb = HYPER_UNITS, HYPER_EMBEDDING
    hn4 = 4 * hn
    out = [
        _p('x share', 1, rows, x_size, n4 + hn4),
        _p('h @ [W_xh hyper, W_hh]', steps, batch, units, hn4 + n4),
        _p('hyper_h @ W_hh hyper', steps, batch, hn, hn4),
        _p('hyper_h @ [zw, zb]', steps, batch, hn, 12 * emb),
        _p('alpha, beta', 12 * steps, batch, emb, units),
        _p('d h', steps, batch, hn4 + n4, units, tb=True, backward=True),
        _p('d hyper_h', steps, batch, hn4, hn, tb=True, backward=True),
        _p('d [zw, zb]', steps, batch, 12 * emb, hn, tb=True, backward=True),
        _p('d alpha, d beta: their input', 12 * steps, batch, units, emb, tb=True,
           backward=True),
        _p('d alpha_w, d beta_w', 12 * steps, emb, batch, units, ta=True,
           backward=True),
        _p('d [W_xh hyper, W_hh]', 1, units, rows, hn4 + n4, ta=True, backward=True),
        _p('d W_hh hyper', 1, hn, rows, hn4, ta=True, backward=True),
        _p('d [zw, zb] weights', 1, hn, rows, 12 * emb, ta=True, backward=True),
        _p('d x share weights', 1, x_size, rows, n4 + hn4, ta=True, backward=True)]
    if x_grad:
      out.append(_p('d x', 1, rows, n4 + hn4, x_size, tb=True, backward=True))
  else:  # lstm and layer_norm: the layer norms multiply nothing
    out = [
        _p('x share', 1, rows, x_size, n4),
        _p('h @ W_hh', steps, batch, units, n4),
        _p('d h', steps, batch, n4, units, tb=True, backward=True),
        _p('d W_hh', 1, units, rows, n4, ta=True, backward=True),
        _p('d W_xh', 1, x_size, rows, n4, ta=True, backward=True)]
    if x_grad:
      out.append(_p('d x', 1, rows, n4, x_size, tb=True, backward=True))
  return [p._replace(name='%s: %s' % (prefix, p.name)) for p in out]


def _linear(name, rows, k, n):
  """y = x @ W of x [rows, k], forward and both gradients."""
  return [_p(name, 1, rows, k, n),
          _p('d ' + name + ' input', 1, rows, n, k, tb=True, backward=True),
          _p('d ' + name + ' weights', 1, k, rows, n, ta=True, backward=True)]


def products(hps, steps):
  """Every matrix product of this code's training step at `hps` over `steps`
  points, as it executes them on one thread (z's share once per sketch, the
  decoder's input data needing no gradient)."""
  b, n, z = hps.batch_size, hps.dec_rnn_size, hps.z_size
  out = []
  if hps.conditional:
    for direction in ('encoder fw', 'encoder bw'):
      out += cell_products(direction, hps.enc_model, steps, b, 5, hps.enc_rnn_size)
    out += _linear('mu', b, 2 * hps.enc_rnn_size, z)
    out += _linear('presig', b, 2 * hps.enc_rnn_size, z)
    hyper = hps.dec_model == 'hyper'
    state = 2 * n + (2 * HYPER_UNITS if hyper else 0)
    out += _linear('initial state', b, z, state)
    out += _linear('z share', b, z, 4 * n + (4 * HYPER_UNITS if hyper else 0))
  out += cell_products('decoder', hps.dec_model, steps, b, 5, n)
  out += _linear('output layer', b * steps, n, 3 + 6 * hps.num_mixture)
  return out


def flops(prods, backward=None):
  """The FLOPs of these products (only the backward's or the forward's when
  backward is True or False)."""
  return sum(2 * p.count * p.m * p.k * p.n for p in prods
             if backward is None or p.backward == backward)


def _product_time(tf, p, dtype, least_flop=2e9):
  """Seconds of one product of p's shape: the quickest of 7 bursts, the one
  least disturbed by anything else on the machine."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  a = tf.cast(tf.random.normal([p.k, p.m] if p.transpose_a else [p.m, p.k]), dtype)
  w = tf.cast(tf.random.normal([p.n, p.k] if p.transpose_b else [p.k, p.n]), dtype)
  reps = int(max(5, min(1000, least_flop // (2 * p.m * p.k * p.n))))
  burst = benchmark.product_burst(tf, a, w, reps, transpose_a=p.transpose_a,
                                  transpose_b=p.transpose_b)
  burst()
  times = []
  for _ in range(7):
    start = time.perf_counter()
    burst()
    times.append((time.perf_counter() - start) / reps)
  return float(np.min(times))


def build_kernel(directory):
  """Builds scripts/lstm_elementwise.c into `directory`; its path, or None where
  there is no C compiler or it fails."""
  compiler = os.environ.get('CC') or shutil.which('cc')
  if not compiler:
    return None
  binary = os.path.join(directory, 'lstm_elementwise')
  proc = subprocess.run(
      [compiler, '-O3', '-march=native', '-ffast-math', '-fopenmp-simd',
       os.path.join(HERE, 'lstm_elementwise.c'), '-o', binary, '-lm'],
      capture_output=True, text=True, check=False)
  return binary if proc.returncode == 0 else None


def fused_cell_seconds(binary, hps):
  """Seconds of every cell's elementwise work in the step, by the hand-written
  kernel (one thread; a hyper cell: its two layer-norm LSTMs, its scalings left
  out), or None without the kernel."""
  if binary is None:
    return None
  cells = [(hps.dec_model, hps.dec_rnn_size)]
  if hps.conditional:
    cells += [(hps.enc_model, hps.enc_rnn_size)] * 2
  runs = []
  for kind, units in cells:
    if kind == 'hyper':
      runs += [(units, 'ln'), (HYPER_UNITS, 'ln')]
    else:
      runs.append((units, 'ln') if kind == 'layer_norm' else (units,))
  total = 0.0
  for args in runs:
    out = subprocess.run([binary, str(hps.batch_size)] + [str(a) for a in args],
                         capture_output=True, text=True, check=True).stdout
    total += float(out) * hps.max_seq_len / KERNEL_STEPS
  return total


def bound(model_flops, ceiling, products_s, elementwise_s=None):
  """(products-only bound, with the elementwise seconds or None) of the
  efficiency, as benchmark.py reckons it."""
  work = model_flops / ceiling
  return (work / products_s,
          None if elementwise_s is None else work / (products_s + elementwise_s))


def measure(name, hparams, listing=False):
  """Figures of one configuration, in this process on one thread. Seconds are
  at the median ceiling: each timing (the quickest of its bursts) scaled by the
  quickest of three ceiling bursts right after it."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from sketch_rnn import hparams as hparams_lib  # pylint: disable=g-import-not-at-top
  from sketch_rnn import rnn  # pylint: disable=g-import-not-at-top
  from sketch_rnn import runtime  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  hps = hparams_lib.get_default_hparams().parse(hparams)
  steps = hps.max_seq_len
  dtype = rnn.PRECISIONS[hps.precision]
  rate = benchmark.ceiling(tf, runtime, hps, dtype)
  prods = products(hps, steps)
  timed = {}  # shape -> (seconds, the ceiling right after)
  for p in prods:
    if p[2:] not in timed:
      timed[p[2:]] = (_product_time(tf, p, dtype), max(rate() for _ in range(3)))
  with tempfile.TemporaryDirectory() as tmp:
    binary = build_kernel(tmp)
    fused = fused_cell_seconds(binary, hps)
    fused_ceiling = max(rate() for _ in range(3))
  ceiling = float(np.median([c for _, c in timed.values()] + [fused_ceiling]))
  at_ceiling = {key: t * c / ceiling for key, (t, c) in timed.items()}
  result = dict(
      config=name, hparams=hparams, threads=1, seq_len=steps,
      ceiling_gflops=ceiling / 1e9,
      gflop_per_step=benchmark.step_flops(hps, steps)['total'] / 1e9,
      executed_gflop=flops(prods) / 1e9,
      products_s=sum(p.count * at_ceiling[p[2:]] for p in prods),
      fused_cells_s=None if fused is None else fused * fused_ceiling / ceiling,
      compiler=binary is not None)
  if listing:
    result['products'] = [dict(p._asdict(), seconds=at_ceiling[p[2:]]) for p in prods]
  return result


def read_bench(path):
  """{config: efficiency} of a benchmark.py --json file's one-thread unloaded
  runs of the project's step."""
  with open(path) as f:
    runs = json.load(f)
  if not (isinstance(runs, list) and all(isinstance(r, dict) for r in runs)):
    raise ValueError('not a list of runs')
  return {r['config']: r['efficiency'] for r in runs if r['threads'] == 1
          and r.get('impl', 'project') == 'project' and not r.get('load')}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  names = ', '.join(benchmark.CONFIGS)
  parser.add_argument('--configs', default=','.join(benchmark.CONFIGS),
                      help='comma-separated names from: %s' % names)
  parser.add_argument('--hparams', default=None,
                      help='one more configuration, as --hparams of the trainer')
  parser.add_argument('--bench', default=None,
                      help='a benchmark.py --json file: its efficiencies beside the bounds')
  parser.add_argument('--list', action='store_true',
                      help='print every product with its shape, count and time')
  parser.add_argument('--json', default=None, help='also write the results here')
  parser.add_argument('--_one', default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._one:  # pylint: disable=protected-access
    print(json.dumps(measure(**json.loads(args._one))))  # pylint: disable=protected-access
    return 0

  jobs = [(name, benchmark.CONFIGS.get(name)) for name in args.configs.split(',') if name]
  unknown = [name for name, hparams in jobs if hparams is None]
  if unknown:
    parser.error('unknown configuration %s' % unknown)
  if args.hparams:
    jobs.append(('custom', args.hparams))
  measured = {}
  if args.bench:
    try:
      measured = read_bench(args.bench)
    except (OSError, ValueError, KeyError, TypeError) as e:
      parser.error('--bench %s: not a benchmark.py --json file (%s)' % (args.bench, e))
  header = '%-14s %9s %10s %13s %13s %11s %9s %9s' % (
      'config', 'ceil GF/s', 'products s', 'fused cells s', 'products only',
      'fused cells', 'measured', 'of bound')
  print(header)
  print('-' * len(header))
  results = []
  for name, hparams in jobs:
    try:
      r = benchmark.run_child(dict(name=name, hparams=hparams, listing=args.list),
                              script=__file__)
    except benchmark.ChildFailed as e:
      print('%s: failed\n%s' % (name, e.detail or e.message))
      return 1
    r['products_only_bound'], r['fused_cells_estimate'] = bound(
        r['gflop_per_step'] * 1e9, r['ceiling_gflops'] * 1e9, r['products_s'],
        r['fused_cells_s'])
    eff = measured.get(name)
    if eff is not None:
      r['measured_efficiency'] = eff
    results.append(r)
    fused = r['fused_cells_s'] is not None
    print('%-14s %9.1f %10.3f %13s %13.2f %11s %9s %9s' % (
        name, r['ceiling_gflops'], r['products_s'],
        '%.3f' % r['fused_cells_s'] if fused else '-', r['products_only_bound'],
        '%.2f' % r['fused_cells_estimate'] if fused else '-',
        '-' if eff is None else '%.2f' % eff,
        '-' if eff is None else '%.2f' % (eff / r['products_only_bound'])), flush=True)
    for p in r.get('products', []):
      print('    %-36s x%-4d [%d, %d] x [%d, %d] %9.1f us %5.0f GFLOP/s' % (
          p['name'], p['count'], p['m'], p['k'], p['k'], p['n'], p['seconds'] * 1e6,
          2 * p['m'] * p['k'] * p['n'] / p['seconds'] / 1e9))
  if not all(r['compiler'] for r in results):
    print('(no C compiler built scripts/lstm_elementwise.c: no fused cells figures)')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == '__main__':
  sys.exit(main())
