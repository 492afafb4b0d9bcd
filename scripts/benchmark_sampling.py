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
"""Sketches per second: Magenta's one-point-at-a-time loop against the batched one.

  python scripts/benchmark_sampling.py --threads=2 --repeats=3
  python scripts/benchmark_sampling.py --quick_start --batch=100,1000 --repeats=3

The model is Magenta's default size (get_default_hparams(): LSTM decoder 512, z 128,
20 mixtures), or with --quick_start the quick start's (decoder 192, z 32), with
random weights from a fixed seed. Every run draws at temperature 1 for the full
seq_len steps (no early stop), so each variant does the same work whatever the
random weights make of the pen. Timings are the median of --repeats runs after
one untimed run (tracing, XLA compilation).

Each batched row has its ceiling: the same number of decoder steps doing only the
step's matrix products ([x, z] @ W_xh, h @ W_hh, h @ W_out, chained by a tanh
and the output's first 5 columns fed back as the next x), in the same kind of
loop (XLA or not) at the same batch; "of ceiling" is the ceiling's time over the
sampler's. The mixture, the draws and the bookkeeping are what the rest costs.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample


def _median_seconds(fn, repeats):
  fn()  # tracing and compilation are not what is measured
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


QUICK_START = 'dec_rnn_size=192,enc_rnn_size=96,z_size=32'


def products_loop(model, batch, seq_len, jit_compile=False):
  """A function running seq_len steps of the decoder's per-step products alone
  (LSTM and layer-norm decoders), the sampler's ceiling at that batch."""
  hps = model.hps
  if hps.dec_model not in ('lstm', 'layer_norm'):
    return None
  n = hps.dec_rnn_size
  w_xh, w_hh, w_out = (tf.convert_to_tensor(w) for w in (
      model.dec.W_xh, model.dec.W_hh, model.output_w))
  z = tf.random.stateless_normal([batch, hps.z_size], [0, 1])
  conditional = hps.conditional

  # The next step's input comes from this step's output, as in the sampler, so
  # nothing can be hoisted out of the loop or run ahead.
  def body(t, h, x):
    xz = tf.concat([x, z], axis=1) if conditional else x
    h = tf.tanh((xz @ w_xh + h @ w_hh)[:, :n])
    return t + 1, h, (h @ w_out)[:, :5]

  @tf.function(jit_compile=jit_compile)
  def run():
    _, h, x = tf.while_loop(lambda t, *_: t < seq_len, body,
                            (0, tf.zeros([batch, n]), tf.zeros([batch, 5])))
    return h[0, 0] + x[0, 0]

  return lambda: float(run())


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--threads', type=int, default=0,
                      help='TensorFlow intra- and inter-op threads (0: its default)')
  parser.add_argument('--repeats', type=int, default=3, help='timed runs per variant')
  parser.add_argument('--seq_len', type=int, default=250)
  parser.add_argument('--batch', default='100',
                      help='the large batches, comma-separated (e.g. 100,1000)')
  parser.add_argument('--quick_start', action='store_true',
                      help='the quick start\'s model size (%s)' % QUICK_START)
  parser.add_argument('--xla', action='store_true',
                      help='also time the batched loop compiled with XLA')
  parser.add_argument('--hparams', default='',
                      help='overrides of the default model size, e.g. dec_rnn_size=256')
  parser.add_argument('--json', default=None, help='also write the rows here')
  args = parser.parse_args(argv)
  if args.threads:
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

  sizes = ','.join(s for s in (QUICK_START if args.quick_start else '', args.hparams)
                   if s)
  hps = hparams.get_default_hparams().parse(sizes)
  hps.use_recurrent_dropout = False
  model = sketch_rnn_model.Model(hps, seed=1)
  seq_len = args.seq_len

  variants = [('faithful loop, sample()', 1, lambda: sample.sample(
      model, seq_len=seq_len, temperature=1.0, rng=np.random.RandomState(0)), None)]
  batches = [1] + [int(b) for b in args.batch.split(',') if b]
  for jit in ([False, True] if args.xla else [False]):
    for b in batches:
      name = 'batched, sample_batch()%s' % (' + XLA' if jit else '')
      variants.append((name, b, lambda b=b, jit=jit: sample.sample_batch(
          model, num=b, temperature=1.0, seq_len=seq_len, seed=0,
          early_stop=False, jit_compile=jit), products_loop(model, b, seq_len, jit)))

  rows = []
  for name, batch, fn, ceiling in variants:
    seconds = _median_seconds(fn, args.repeats)
    row = dict(variant=name, batch=batch, seconds_per_call=seconds,
               sketches_per_sec=batch / seconds)
    if ceiling is not None:
      row['ceiling_seconds'] = _median_seconds(ceiling, args.repeats)
      row['ceiling_sketches_per_sec'] = batch / row['ceiling_seconds']
      row['of_ceiling'] = row['ceiling_seconds'] / seconds
    rows.append(row)
  base = rows[0]['sketches_per_sec']
  for row in rows:
    row['vs_faithful'] = row['sketches_per_sec'] / base

  threads = args.threads or 'default'
  print('%s model (dec %s %d, z %d, M %d), seq_len %d, temperature 1, '
        'no early stop, threads %s, median of %d; TensorFlow %s' % (
            'Quick-start' if args.quick_start else 'Magenta default', hps.dec_model,
            hps.dec_rnn_size, hps.z_size, hps.num_mixture, seq_len, threads,
            args.repeats, tf.__version__))
  print()
  print('| sampler | batch | s per call | sketches/s | vs faithful loop '
        '| ceiling sketches/s | of ceiling |')
  print('|---|---|---|---|---|---|---|')
  for row in rows:
    ceiling = ('| %.1f | %.2f' % (row['ceiling_sketches_per_sec'], row['of_ceiling'])
               if 'of_ceiling' in row else '| - | -')
    print('| %s | %d | %.3f | %.1f | %.1fx %s |' % (
        row['variant'], row['batch'], row['seconds_per_call'],
        row['sketches_per_sec'], row['vs_faithful'], ceiling))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(dict(threads=args.threads, repeats=args.repeats, seq_len=seq_len,
                     hparams=hps.values(), tensorflow=tf.__version__, rows=rows),
                f, indent=1)


if __name__ == '__main__':
  main()
