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
"""Seconds to score one run with every metric of the study (`metrics.evaluate`).

  python scripts/benchmark_metrics.py --log_root=runs/shapes --repeats=3

The model: a trained run's last checkpoint (--log_root), or else one of the quick
start's size (LSTM decoder 192, encoder 96, z 32) with random weights from a fixed
seed, whose sketches mostly end within a few steps (so its decoding times are
low); the data: the bundled test split. The classifier is trained first (its time
printed apart). Prints the importance pass (IWAE-k on --sketches sketches) alone,
then the whole scoring; each the median of --repeats runs after one untimed run
(tracing).
"""

import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import checkpoints
from sketch_rnn import classifier
from sketch_rnn import hparams
from sketch_rnn import metrics
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import runtime
from sketch_rnn import utils

QUICK_START = ('data_set=[shapes.npz],dec_rnn_size=192,enc_rnn_size=96,z_size=32,'
               'batch_size=64')


def timed(fn, repeats):
  fn()  # tracing
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times), times


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--log_root', default='', help='a trained run (default: none)')
  parser.add_argument('--hparams', default=QUICK_START)
  parser.add_argument('--scale', type=float, default=1.0)
  parser.add_argument('--sketches', type=int, default=256)
  parser.add_argument('--iwae_samples', type=int, default=metrics.IWAE_SAMPLES)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--threads', type=int, default=0, help='0: every core')
  args = parser.parse_args()
  if args.threads:
    runtime.configure_threads(args.threads)
  data_dir = os.path.join(REPO, 'datasets')
  if args.log_root:
    run = checkpoints.open_run(args.log_root, data_dir)
    model, (train_set, _, test_set) = run.model, run.data[:3]
  else:
    hps = hparams.get_default_hparams().parse(args.hparams)
    hps.scale = args.scale
    train_set, _, test_set, hps, eval_hps, _ = utils.load_dataset(data_dir, hps,
                                                                  seed=0)
    model = sketch_rnn_model.Model(eval_hps, seed=0)
  start = time.perf_counter()
  judge = classifier.train(train_set.strokes, train_set.labels,
                           train_set.class_names)
  print('classifier training: %.1f s' % (time.perf_counter() - start))
  chosen = metrics.spaced_indices(len(test_set), args.sketches)
  sketches = [test_set.strokes[i] for i in chosen]
  median, times = timed(
      lambda: metrics.importance_pass(model, sketches, args.iwae_samples), args.repeats)
  print('importance pass, IWAE-%d on %d sketches: median %.1f s (%s)' % (
      args.iwae_samples, len(sketches), median,
      ', '.join('%.1f' % t for t in times)))
  median, times = timed(
      lambda: metrics.evaluate(model, test_set, max_sketches=args.sketches,
                               iwae_samples=args.iwae_samples, classifier=judge),
      args.repeats)
  print('every metric: median %.1f s (%s)' % (
      median, ', '.join('%.1f' % t for t in times)))


if __name__ == '__main__':
  main()
