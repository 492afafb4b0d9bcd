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
"""Where a training step's time goes: a profile of its loops and of the rest.

  python scripts/profile_step.py --configs=small --threads=1
  python scripts/profile_step.py --hparams=dec_rnn_size=192,enc_rnn_size=96,z_size=32,batch_size=64

Traces --steps training steps (after warm-up) with TensorFlow's profiler, on
benchmark.py's batches and thread pools, and splits the threads' time per step:
each recurrent loop (the encoder's and the decoder's, forward and backward) into
its matrix products, its other kernels (elementwise work, the writes of what the
backward reads) and the time between kernels (the loop's dispatch, per
iteration), plus the loop's own work after it (the weight gradients' products);
then the TensorFlow ops outside the loops, by type, and the threads' idle time.
Under XLA a kernel is one of XLA's thunks; the dispatch between kernels is the
per-step overhead that no faster product removes. Figures are thread-seconds per
step: on two threads the parts add up to twice the wall time.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

# The model's name scopes of its loops (model.encode, model.decode).
SCOPES = {'encoder_loops': 'encoder loops', 'decoder_loop': 'decoder loop'}


def _is_product(name):
  return name.split('.')[0].lower().startswith(('matmul', 'dot', 'einsum'))


def _stats(ev, sm):
  out = {}
  for x in ev.stats:
    key = sm[x.metadata_id].name
    out[key] = (x.str_value or (sm[x.ref_value].name if x.ref_value else None)
                or x.int64_value or x.uint64_value)
  return out


def summarize(space, steps):
  """The parts of a step from an XSpace: ({part: Counter of seconds a step},
  {TensorFlow op type outside the loops: seconds a step})."""
  events = []  # (absolute start, end, name, stats) of XLA's thunks
  named = []  # (start, end, scope) of the loops' calls
  tf_ops = collections.Counter()
  op_name = re.compile(r'^[\w/.\-]+:(\w+)$')  # TensorFlow's "name:Type"
  for plane in space.planes:
    md, sm = plane.event_metadata, plane.stat_metadata
    for line in plane.lines:
      base = line.timestamp_ns * 1000
      for ev in line.events:
        name = md[ev.metadata_id].name
        start, end = base + ev.offset_ps, base + ev.offset_ps + ev.duration_ps
        st = _stats(ev, sm)
        if name == 'ExecutorState::ProcessAsync::Start':
          scope = str(st.get('name', '')).split('/')[0]
          if scope in SCOPES:
            named.append((start, end, SCOPES[scope]))
        match = op_name.match(name)
        if match and match.group(1) not in ('PartitionedCall',
                                            'StatefulPartitionedCall'):
          tf_ops[match.group(1)] += ev.duration_ps / 1e12 / steps
        if 'program_id' in st and 'hlo_op' in st and not name.startswith('end:'):
          events.append((start, end, name, st))
  modules, whiles = {}, collections.defaultdict(list)
  for start, end, name, st in events:
    modules[st['program_id']] = str(st.get('hlo_module', ''))
    if name.startswith('while'):
      whiles[st['program_id']].append((start, end))
  # A loop's thunks run on any of the pool's threads, and on more than one
  # thread a while thunk only launches its loop: a thunk is in the loop when it
  # runs more often than its function is called.
  calls = collections.Counter()
  runs = collections.Counter()
  for start, end, name, st in events:
    if name.startswith('while'):
      calls[st['program_id']] += 1
    runs[st['program_id'], name] += 1
  parts = collections.defaultdict(collections.Counter)
  for start, end, name, st in events:
    p = st['program_id']
    seconds = (end - start) / 1e12 / steps
    if name.startswith('while'):
      parts[p]['loop'] += seconds
    elif runs[p, name] > calls[p]:
      parts[p]['products' if _is_product(name) else 'kernels'] += seconds
      parts[p]['iterations'] += name.startswith('compare') / steps
    else:
      parts[p]['after'] += seconds
  first = {p: min(start for start, _ in ws) for p, ws in whiles.items()}

  def label(p):
    for start, end, scope in named:
      if p in first and start <= first[p] <= end:
        return scope + ', forward'
    return None

  labels = {p: label(p) for p in parts}
  forwards = {}
  for p, module in modules.items():
    number = re.search(r'forward_sequence_(\d+)', module)
    if number and 'backward' not in module:
      forwards[int(number.group(1))] = p
  for p, module in modules.items():
    number = re.search(r'backward_sequence_\d+_(\d+)', module)
    forward = forwards.get(int(number.group(1)) - 1) if number else None
    if forward is not None and labels.get(forward):
      labels[p] = labels[forward].replace('forward', 'backward')
  rows = collections.OrderedDict()
  order = sorted(parts, key=lambda p: first.get(p, 0))
  for p in order:
    if 'hashed_masks' in modules[p]:  # rnn.dropout_masks: one kernel, no loop
      labels[p] = 'dropout masks (XLA)'
    row = rows.setdefault(labels[p] or 'a loop (%s)' % modules[p],
                          collections.Counter())
    row.update(parts[p])
  return rows, tf_ops


def profile(name, hparams, threads, steps, warmup, loops='auto'):
  """Traces `steps` steps in this process and prints the split."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, benchmark.REPO)
  from sketch_rnn import hparams as hparams_lib  # pylint: disable=g-import-not-at-top
  from sketch_rnn import model as sketch_rnn_model  # pylint: disable=g-import-not-at-top
  from sketch_rnn import rnn  # pylint: disable=g-import-not-at-top
  from sketch_rnn import runtime  # pylint: disable=g-import-not-at-top
  from sketch_rnn import utils  # pylint: disable=g-import-not-at-top

  hps = hparams_lib.get_default_hparams().parse(hparams)
  runtime.configure_threads(hps.precision, threads)
  chosen = benchmark._choose_loops(runtime, rnn, hps, loops)  # pylint: disable=protected-access
  batches, data = benchmark._batches(hps, np, utils)  # pylint: disable=protected-access
  model = sketch_rnn_model.Model(hps, seed=0)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  step_fn = tf.function(sketch_rnn_model.train_step)
  lr, kl_w = tf.constant(1e-3), tf.constant(0.01)

  def one(i):
    x, s = batches[i % len(batches)]
    return float(step_fn(model, adam, x, s, lr, kl_w)[0])

  for i in range(warmup + 1):
    one(i)
  logdir = tempfile.mkdtemp(prefix='profile_step_')
  try:
    tf.profiler.experimental.start(logdir)
    walls = []
    for i in range(steps):
      t = time.perf_counter()
      one(i)
      walls.append(time.perf_counter() - t)
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(glob.glob(os.path.join(logdir, '**', '*.xplane.pb'),
                        recursive=True)[0], 'rb') as f:
      space.ParseFromString(f.read())
  finally:
    shutil.rmtree(logdir, ignore_errors=True)
  wall = float(np.median(walls))
  rows, tf_ops = summarize(space, steps)
  capacity = threads * wall
  print('%s, %d thread%s, loops %s, %s batches of %d: %.3f s a step (median of %d '
        'traced steps), %.3f thread-s' % (
            name, threads, 's' if threads > 1 else '',
            chosen if loops == 'auto' else loops, data, hps.batch_size, wall,
            steps, capacity))
  header = '%-24s %6s %9s %9s %9s %9s %9s %7s %8s' % (
      'part (s a step)', 'iters', 'products', 'kernels', 'between', 'after',
      'total', 'share', 'us/iter')
  print(header)
  print('-' * len(header))
  accounted = 0.0
  for key, r in rows.items():
    in_loop = r['products'] + r['kernels']
    # The while thunk spans its loop only when the loop runs on its thread.
    synchronous = r['loop'] >= in_loop
    between = r['loop'] - in_loop if synchronous else None
    total = max(r['loop'], in_loop) + r['after']
    accounted += total
    print('%-24s %6.0f %9.4f %9.4f %9s %9.4f %9.4f %6.1f%% %8s' % (
        key, r['iterations'], r['products'], r['kernels'],
        '-' if between is None else '%.4f' % between, r['after'], total,
        100 * total / capacity,
        '%.1f' % (between / r['iterations'] * 1e6)
        if between is not None and r['iterations'] else '-'))
  outside = sum(tf_ops.values())
  accounted += outside
  print('%-24s %56.4f %6.1f%%' % ('TensorFlow ops (not XLA)', outside,
                                   100 * outside / capacity))
  for op_type, seconds in tf_ops.most_common(5):
    print('  %-22s %56.4f %6.1f%%' % (op_type, seconds, 100 * seconds / capacity))
  print('%-24s %56.4f %6.1f%%' % ('idle or waiting', capacity - accounted,
                                   100 * (capacity - accounted) / capacity))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--configs', default='small',
                      help='comma-separated names from: %s' % ', '.join(
                          benchmark.CONFIGS))
  parser.add_argument('--hparams', default=None, help='one more configuration')
  parser.add_argument('--threads', default='1', help='comma-separated thread counts')
  parser.add_argument('--steps', type=int, default=3, help='traced steps')
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--loops', default='auto', choices=benchmark.LOOPS)
  parser.add_argument('--_one', nargs=3, default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._one:  # pylint: disable=protected-access
    name, hparams, threads = args._one  # pylint: disable=protected-access
    profile(name, hparams, int(threads), args.steps, args.warmup, args.loops)
    return 0
  jobs = [(n, benchmark.CONFIGS[n]) for n in args.configs.split(',') if n]
  if args.hparams:
    jobs.append(('custom', args.hparams))
  # One process each: the thread pools are fixed when TensorFlow starts.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  for name, hparams in jobs:
    for threads in args.threads.split(','):
      proc = subprocess.run(
          [sys.executable, __file__, '--_one', name, hparams, threads,
           '--steps=%d' % args.steps, '--warmup=%d' % args.warmup,
           '--loops=%s' % args.loops], env=env, check=False,
          capture_output=True, text=True)
      sys.stdout.write(proc.stdout)
      if proc.returncode:
        sys.stderr.write(proc.stderr[-2000:])
        return 1
      print()
  return 0


if __name__ == '__main__':
  sys.exit(main())
