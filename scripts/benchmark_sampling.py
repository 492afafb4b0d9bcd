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

The model is Magenta's default size (get_default_hparams(): LSTM decoder 512, z 128,
20 mixtures) with random weights from a fixed seed. Every run draws at temperature
1 for the full seq_len steps (no early stop), so each variant does the same work
whatever the random weights make of the pen. Timings are the median of --repeats
runs after one untimed run (tracing, XLA compilation).
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


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--threads', type=int, default=0,
                      help='TensorFlow intra- and inter-op threads (0: its default)')
  parser.add_argument('--repeats', type=int, default=3, help='timed runs per variant')
  parser.add_argument('--seq_len', type=int, default=250)
  parser.add_argument('--batch', type=int, default=100, help='the large batch')
  parser.add_argument('--xla', action='store_true',
                      help='also time the batched loop compiled with XLA')
  parser.add_argument('--hparams', default='',
                      help='overrides of the default model size, e.g. dec_rnn_size=256')
  parser.add_argument('--json', default=None, help='also write the rows here')
  args = parser.parse_args(argv)
  if args.threads:
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

  hps = hparams.get_default_hparams().parse(args.hparams)
  hps.use_recurrent_dropout = False
  model = sketch_rnn_model.Model(hps, seed=1)
  seq_len = args.seq_len

  variants = [('faithful loop, sample()', 1, lambda: sample.sample(
      model, seq_len=seq_len, temperature=1.0, rng=np.random.RandomState(0)))]
  batches = [1, args.batch]
  for jit in ([False, True] if args.xla else [False]):
    for b in batches:
      name = 'batched, sample_batch()%s' % (' + XLA' if jit else '')
      variants.append((name, b, lambda b=b, jit=jit: sample.sample_batch(
          model, num=b, temperature=1.0, seq_len=seq_len, seed=0,
          early_stop=False, jit_compile=jit)))

  rows = []
  for name, batch, fn in variants:
    seconds = _median_seconds(fn, args.repeats)
    rows.append(dict(variant=name, batch=batch, seconds_per_call=seconds,
                     sketches_per_sec=batch / seconds))
  base = rows[0]['sketches_per_sec']
  for row in rows:
    row['vs_faithful'] = row['sketches_per_sec'] / base

  threads = args.threads or 'default'
  print('Magenta default model (dec LSTM %d, z %d, M %d), seq_len %d, temperature 1, '
        'no early stop, threads %s, median of %d; TensorFlow %s' % (
            hps.dec_rnn_size, hps.z_size, hps.num_mixture, seq_len, threads,
            args.repeats, tf.__version__))
  print()
  print('| sampler | batch | s per call | sketches/s | vs faithful loop |')
  print('|---|---|---|---|---|')
  for row in rows:
    print('| %s | %d | %.3f | %.1f | %.1fx |' % (
        row['variant'], row['batch'], row['seconds_per_call'],
        row['sketches_per_sec'], row['vs_faithful']))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(dict(threads=args.threads, repeats=args.repeats, seq_len=seq_len,
                     hparams=hps.values(), tensorflow=tf.__version__, rows=rows),
                f, indent=1)


if __name__ == '__main__':
  main()
