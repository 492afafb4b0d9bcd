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
"""Scores a checkpoint on the valid and test splits, as the training loop does.

  sketch_rnn_eval --log_root=runs/shapes --data_dir=datasets --hparams=scale=0
  sketch_rnn_eval --log_root=runs/shapes --data_dir=datasets --metrics --grid=grid.svg
  sketch_rnn_eval --model_json=bird.gen.json --data_dir=datasets \
      --hparams=data_set=[bird.npz]

Works on run folders of this project and of Magenta, and on browser models
(--model_json; the data normalised by the model's own scale_factor). Without
--data_dir a run folder's own data is read (its data_source.json). Prints Magenta's
lines `valid_cost: ..., valid_recon: ..., valid_kl: ...` and `eval_cost: ...` (the test
split), with the eval model as Magenta's training builds it: dropout off, pen loss
unmasked, KL weight kl_weight_start. With --metrics it scores the scale study's
metrics on the test split instead (what scale_sweep runs after each training) and
prints one line per metric; --results_json then gets the run's metrics.json record
and --grid its grid of samples, reconstructions and an interpolation.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import quiet
quiet.import_tensorflow()  # first: its start-up lines off the terminal
import json
import os
import time

from absl import flags
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import study
from sketch_rnn import utils

FLAGS = flags.FLAGS
FLAG_NAMES = ('log_root', 'data_dir', 'hparams', 'checkpoint', 'seed',
              'results_json', 'metrics', 'grid', 'diversity_samples',
              'eval_sketches', 'iwae_samples', 'classifier', 'model_json')
cli.define_flags(FLAG_NAMES)


def evaluate(log_root, data_dir, overrides='', checkpoint=None, seed=0,
             model_json=None):
  """Returns {'valid_cost', 'valid_recon', 'valid_kl', 'eval_cost', ...}."""
  run = checkpoints.open_run(log_root, data_dir, overrides, checkpoint, seed,
                             model_json=model_json)
  _, valid_set, test_set = run.data
  eval_fn = tf.function(sketch_rnn_model.eval_costs)
  results = {'checkpoint': run.prefix, 'global_step': run.step}
  for split, data_set in (('valid', valid_set), ('eval', test_set)):
    start = time.time()
    cost, recon, kl = sketch_rnn_model.evaluate_model(
        eval_fn, run.model, data_set, run.model.hps.kl_weight_start)
    results.update({split + '_cost': cost, split + '_recon': recon,
                    split + '_kl': kl, split + '_time_taken': time.time() - start})
  return results


def main(unused_argv):
  seed = FLAGS.seed or 0
  if FLAGS.grid and not FLAGS.metrics:
    raise errors.UsageError('--grid needs --metrics')
  # Before the scoring, which takes a while: a mistyped folder fails at once.
  if FLAGS.classifier and not FLAGS.metrics:
    raise errors.UsageError('--classifier needs --metrics')
  for name in ('results_json', 'grid', 'classifier'):
    path = FLAGS[name].value
    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
      raise errors.SketchRNNError('--%s %s: no such folder' % (name, path))
  log_root, model_json = cli.run_source()
  data_dir = cli.run_data_dir(log_root)
  if FLAGS.metrics:
    options = study.eval_options(FLAGS.diversity_samples, FLAGS.eval_sketches, seed,
                                 FLAGS.iwae_samples)
    run = checkpoints.open_run(log_root, data_dir, FLAGS.hparams,
                               FLAGS.checkpoint, seed, model_json=model_json)
    r = study.evaluate_run(run, options, FLAGS.grid, FLAGS.classifier)
    for m in metrics.METRICS:
      print('%s: %s' % (m.title, r['metrics'][m.key]))
    if r['classifier']:
      print('Sketch classifier: %d classes, test accuracy %.4f' % (
          len(r['classifier']['classes']), r['classifier']['test_accuracy']))
    print('Scored in %.1f s' % r['seconds'])
  else:
    r = evaluate(log_root, data_dir, FLAGS.hparams, FLAGS.checkpoint, seed,
                 model_json)
    print('valid_cost: %.4f, valid_recon: %.4f, valid_kl: %.4f, valid_time_taken: '
          '%.4f' % (r['valid_cost'], r['valid_recon'], r['valid_kl'],
                    r['valid_time_taken']))
    print('eval_cost: %.4f, eval_recon: %.4f, eval_kl: %.4f, eval_time_taken: %.4f'
          % (r['eval_cost'], r['eval_recon'], r['eval_kl'], r['eval_time_taken']))
  if FLAGS.results_json:
    # Python's json writes inf (kl_sampled at scale 0) as Infinity and reads it
    # back; written whole or not at all, so a study never reads half a record.
    utils.write_text_atomic(FLAGS.results_json, json.dumps(r, indent=1))


def run_main(argv=None):
  cli.run(main, 'sketch_rnn_eval', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
