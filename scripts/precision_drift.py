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
"""How far bfloat16 products take training from float32: two runs, one seed.

  python scripts/precision_drift.py                 # 1,000 steps, the README's main job
  python scripts/precision_drift.py --steps=200 --hparams="dec_rnn_size=512" --json=d.json

Trains the same model twice from the same initial weights on the same batches with
the same noise (eps, dropout), once with precision=float32 and once with
precision=bfloat16, and prints, per window of steps, each run's mean training cost
and their difference, then both runs' validation costs (evaluated in float32) and
their seconds per step.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils

MAIN_JOB = ('data_set=[shapes.npz],dec_rnn_size=192,enc_rnn_size=96,z_size=32,'
            'batch_size=64,kl_decay_rate=0.9995')


def train_run(hparams_text, precision, data_dir, steps, seed):
  """Per-step training costs, the validation cost (float32) and s/step."""
  hps = hparams.get_default_hparams().parse(hparams_text)
  hps.precision = precision
  train_set, valid_set, _, hps, eval_hps, _ = utils.load_dataset(data_dir, hps,
                                                                 seed=seed)
  model = sketch_rnn_model.Model(hps, seed=seed)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  step_fn = tf.function(sketch_rnn_model.train_step)
  costs, times = [], []
  for step in range(steps):
    _, x, s = train_set.random_batch()
    t = time.perf_counter()
    cost = step_fn(model, adam, x, s,
                   tf.constant(sketch_rnn_model.learning_rate(hps, step), tf.float32),
                   tf.constant(sketch_rnn_model.kl_weight(hps, step), tf.float32))[0]
    costs.append(float(cost))
    times.append(time.perf_counter() - t)
  # Both runs' weights judged by the same float32 maths.
  eval_hps.precision = 'float32'
  judge = sketch_rnn_model.Model(eval_hps, seed=seed)
  for dst, src in zip(judge.trainable_variables, model.trainable_variables):
    dst.assign(src)
  valid = sketch_rnn_model.evaluate_model(
      tf.function(sketch_rnn_model.eval_costs), judge, valid_set,
      eval_hps.kl_weight_start)
  return dict(costs=costs, valid_cost=valid[0], valid_r_cost=valid[1],
              valid_kl_cost=valid[2], median_step_s=float(np.median(times[10:])))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--hparams', default=MAIN_JOB,
                      help='as --hparams of the trainer (default: the README main job)')
  parser.add_argument('--data_dir', default=os.path.join(REPO, 'datasets'))
  parser.add_argument('--steps', type=int, default=1000)
  parser.add_argument('--window', type=int, default=100)
  parser.add_argument('--seed', type=int, default=1)
  parser.add_argument('--json', default=None, help='also write the results here')
  args = parser.parse_args()

  runs = {p: train_run(args.hparams, p, args.data_dir, args.steps, args.seed)
          for p in ('float32', 'bfloat16')}
  f32, bf16 = (np.array(runs[p]['costs']) for p in ('float32', 'bfloat16'))
  print('%-11s %12s %12s %10s %9s' % ('steps', 'float32', 'bfloat16', 'diff', 'rel'))
  windows = []
  for start in range(0, args.steps, args.window):
    a = float(f32[start:start + args.window].mean())
    b = float(bf16[start:start + args.window].mean())
    windows.append(dict(start=start, float32=a, bfloat16=b))
    print('%4d-%-6d %12.4f %12.4f %+10.4f %8.2f%%' % (
        start, min(start + args.window, args.steps) - 1, a, b, b - a,
        100 * (b - a) / abs(a)))
  step_diff = np.abs(bf16 - f32)
  print('per step |diff|: median %.4f, max %.4f; final window %+.4f' % (
      float(np.median(step_diff)), float(step_diff.max()),
      windows[-1]['bfloat16'] - windows[-1]['float32']))
  for p in ('float32', 'bfloat16'):
    r = runs[p]
    print('%-9s valid cost %.4f (r %.4f, kl %.4f), %.3f s/step' % (
        p, r['valid_cost'], r['valid_r_cost'], r['valid_kl_cost'],
        r['median_step_s']))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(dict(hparams=args.hparams, steps=args.steps, windows=windows,
                     runs=runs), f, indent=1)
  return 0


if __name__ == '__main__':
  sys.exit(main())
