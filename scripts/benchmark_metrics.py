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
printed apart). Then each family of the metrics as evaluate() runs it, on its
sketches (the --sketches test sketches spread over the split), against its own
baseline, and the whole scoring; each the median of --repeats runs after one
untimed run (tracing):

- posterior pass: the encoder and Magenta's three teacher-forced reconstruction
  costs of every full test batch (no baseline: it is three forward passes);
- importance pass: IWAE-k, k decoder sequences a sketch; baseline: the training
  step's teacher-forced forward pass (the train benchmark's, without gradients) at
  the run's batch size, in sequences a second divided by k;
- greedy reconstructions and prior samples (2 x the sketches, N(0, I) and
  N(0, scale^2 I), T = 1), the diversity's 2 x --diversity_samples (T = 1, 0.5):
  baseline: the decoder's per-step products alone (benchmark_sampling's ceiling)
  for as many steps at the same batches as the sampler ran (it stops a batch once
  every sketch in it has ended);
- classifier: its scores of the sketches, reconstructions and prior samples;
  baseline: its CNN passes alone on images already rasterised.
"""

import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'scripts'))

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import classifier
from sketch_rnn import hparams
from sketch_rnn import metrics
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import runtime
from sketch_rnn import sample
from sketch_rnn import utils
import benchmark_sampling

QUICK_START = ('data_set=[shapes.npz],dec_rnn_size=192,enc_rnn_size=96,z_size=32,'
               'batch_size=64')
DECODE_CHUNK = 128  # metrics.decode_all's


def timed(fn, repeats):
  fn()  # tracing
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times), times


class Ceiling:
  """Seconds of the decoder's per-step products alone for decodes that ran
  given steps at given batches (benchmark_sampling.products_loop, timed per step
  once per batch size)."""

  def __init__(self, model, repeats):
    self.model, self.repeats, self.per_step = model, repeats, {}

  def seconds(self, runs):
    """runs: [(batch, steps)] -> seconds, or None (a decoder it has no loop for)."""
    total = 0.0
    for batch, steps in runs:
      if batch not in self.per_step:
        seq_len = self.model.hps.max_seq_len
        loop = benchmark_sampling.products_loop(self.model, batch, seq_len)
        if loop is None:
          return None
        self.per_step[batch] = timed(loop, self.repeats)[0] / seq_len
      total += self.per_step[batch] * steps
    return total


def decode_runs(decoded, seq_len, chunk=DECODE_CHUNK):
  """[(batch, steps run)] of decode_all's chunks: each stops once all its
  sketches have ended (the step that draws the last end included)."""
  return [(len(part), min(seq_len, max(len(s) for s in part) + 1))
          for part in (decoded[i:i + chunk] for i in range(0, len(decoded), chunk))]


def families(model, test_set, judge, num_sketches, iwae_samples, diversity_samples,
             repeats, seed=0):
  """[(family, sketches, median s, baseline name, baseline s or None)]: the costs
  of evaluate()'s parts, called as it calls them."""
  hps = model.hps
  seq_len = hps.max_seq_len
  chosen = metrics.spaced_indices(len(test_set), num_sketches)
  originals = [test_set.strokes[i] for i in chosen]
  n = len(originals)
  ceiling = Ceiling(model, repeats)
  rows = []

  full = test_set.num_batches * test_set.batch_size
  rows.append(('posterior pass (encoder, 3 reconstruction costs a batch)', full,
               timed(lambda: metrics.posterior_pass(model, test_set, seed),
                     repeats)[0], None, None))

  scored = metrics.importance_pass(model, originals, iwae_samples, seed)
  forward = tf.function(lambda x, l: model(x, l, dropout=False)['r_cost'])
  _, x, lengths = test_set.get_batch(0)
  per_sequence = timed(lambda: float(forward(x, lengths)), repeats)[0] / len(x)
  rows.append(('importance pass, IWAE-%d' % iwae_samples, n,
               timed(lambda: metrics.importance_pass(model, originals, iwae_samples,
                                                     seed), repeats)[0],
               'teacher-forced forward pass, batch %d' % len(x),
               per_sequence * n * iwae_samples))

  mu = scored['mu'].astype(np.float32)
  decoded = metrics.decode_all(model, mu, seq_len, greedy=True)
  rows.append(('greedy reconstructions', n,
               timed(lambda: metrics.decode_all(model, mu, seq_len, greedy=True),
                     repeats)[0],
               'decoder products alone', ceiling.seconds(decode_runs(decoded, seq_len))))

  normal = np.random.RandomState(seed).standard_normal((n, hps.z_size)).astype(np.float32)
  prior_z = (normal, normal * np.float32(hps.scale))
  prior = lambda: [metrics.decode_all(model, z, seq_len, temperature=1.0, seed=seed)
                   for z in prior_z]
  priors = prior()
  rows.append(('prior samples, T = 1', 2 * n, timed(prior, repeats)[0],
               'decoder products alone',
               ceiling.seconds(sum((decode_runs(p, seq_len) for p in priors), []))))

  def diversity():
    return [sample.sample_batch(model, num=diversity_samples, temperature=t,
                                seq_len=seq_len, seed=seed) for t in (1.0, 0.5)]
  # sample_batch stops when every sketch has ended: the step after the last end.
  runs = [(diversity_samples, min(seq_len, int(lengths.max()) + 1))
          for _, lengths in diversity()]
  rows.append(('diversity samples, T = 1 and 0.5', 2 * diversity_samples,
               timed(diversity, repeats)[0], 'decoder products alone',
               ceiling.seconds(runs)))

  if judge is not None and test_set.labels is not None:
    labels = test_set.labels[chosen]
    scores = lambda: metrics.classifier_metrics(judge, originals, labels, decoded,
                                                *priors)
    # classifier_metrics embeds all four sets and also classifies the last three.
    images = [classifier.rasterize(s, judge.size)
              for s in (originals, decoded) + tuple(priors)]

    def cnn_alone():
      for i, batch in enumerate(images):
        for fn in ([judge._features_fn] + ([judge._logits_fn] if i else [])):  # pylint: disable=protected-access
          for start in range(0, len(batch), 256):
            fn(batch[start:start + 256]).numpy()
    rows.append(('classifier (sketches, reconstructions, 2 x prior)', 4 * n,
                 timed(scores, repeats)[0], 'its CNN alone, images ready',
                 timed(cnn_alone, repeats)[0]))

  rows.append(('every metric, evaluate()', n, timed(
      lambda: metrics.evaluate(model, test_set, num_samples=diversity_samples,
                               max_sketches=num_sketches, iwae_samples=iwae_samples,
                               classifier=judge, seed=seed), repeats)[0], None, None))
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--log_root', default='', help='a trained run (default: none)')
  parser.add_argument('--hparams', default=QUICK_START)
  parser.add_argument('--scale', type=float, default=1.0)
  parser.add_argument('--sketches', type=int, default=256)
  parser.add_argument('--iwae_samples', type=int, default=metrics.IWAE_SAMPLES)
  parser.add_argument('--diversity_samples', type=int, default=32,
                      help="evaluate()'s num_samples")
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--threads', type=int, default=0, help='0: every core')
  args = parser.parse_args()
  data_dir = os.path.join(REPO, 'datasets')
  hps = (checkpoints.run_hparams(args.log_root) if args.log_root
         else hparams.get_default_hparams().parse(args.hparams))
  # The trainer's pools for the run's precision, before TensorFlow starts.
  runtime.configure_threads(hps.precision, args.threads or None)
  if args.log_root:
    run = checkpoints.open_run(args.log_root, data_dir)
    model, (train_set, _, test_set) = run.model, run.data[:3]
  else:
    hps.scale = args.scale
    train_set, _, test_set, hps, eval_hps, _ = utils.load_dataset(data_dir, hps,
                                                                  seed=0)
    model = sketch_rnn_model.Model(eval_hps, seed=0)
  start = time.perf_counter()
  judge = classifier.train(train_set.strokes, train_set.labels,
                           train_set.class_names)
  print('classifier training: %.1f s' % (time.perf_counter() - start))
  print('%s: decoder %s %d, z %d, batch %d, max_seq_len %d, scale %g; threads %s, '
        'median of %d; TensorFlow %s' % (
            args.log_root or 'random weights', model.hps.dec_model,
            model.hps.dec_rnn_size, model.hps.z_size, model.hps.batch_size,
            model.hps.max_seq_len, model.hps.scale, args.threads or 'all',
            args.repeats, tf.__version__))
  print()
  print('| family | sketches | median s | sketches/s | baseline | baseline sketches/s '
        '| of baseline |')
  print('|---|---|---|---|---|---|---|')
  for name, count, seconds, base_name, base in families(
      model, test_set, judge, args.sketches, args.iwae_samples,
      args.diversity_samples, args.repeats):
    baseline = ('%s | %.1f | %.2f' % (base_name, count / base, base / seconds)
                if base else '- | - | -')
    print('| %s | %d | %.2f | %.1f | %s |' % (name, count, seconds, count / seconds,
                                              baseline), flush=True)


if __name__ == '__main__':
  main()
