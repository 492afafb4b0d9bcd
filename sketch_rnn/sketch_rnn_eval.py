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

Works on run folders of this project and of Magenta. Prints Magenta's lines
`valid_cost: ..., valid_recon: ..., valid_kl: ...` and `eval_cost: ...` (the test
split), with the eval model as Magenta's training builds it: dropout off, pen loss
unmasked, KL weight kl_weight_start.
"""

import json
import os
import sys

if __package__ in (None, ''):
  _here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _here]
  sys.path.insert(0, os.path.dirname(_here))

import time  # pylint: disable=g-import-not-at-top,wrong-import-position

from absl import flags
from absl import logging
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import runtime
from sketch_rnn import utils

FLAGS = flags.FLAGS
cli.define_common()
cli.define('string', 'checkpoint', None,
           'A checkpoint prefix (e.g. runs/x/vector-500); default: the latest in '
           '--log_root.')
cli.define('string', 'results_json', None,
           'Also write the six numbers, unrounded, to this JSON file.')


def evaluate(log_root, data_dir, overrides='', checkpoint=None, seed=0):
  """Returns {'valid_cost', 'valid_recon', 'valid_kl', 'eval_cost', ...}."""
  prefix, hps = checkpoints.open_run(
      log_root, sketch_rnn_model.get_default_hparams(), overrides, checkpoint)
  sketch_rnn_model.validate_hparams(hps)
  runtime.configure_threads(hps.precision)
  _, valid_set, test_set, hps, eval_hps, _ = utils.load_dataset(data_dir, hps,
                                                                seed=seed)
  model = sketch_rnn_model.Model(eval_hps, seed=seed)
  step = checkpoints.restore_weights(prefix, model)
  logging.info('Loaded %s (global step %d).', prefix, step)
  eval_fn = tf.function(sketch_rnn_model.eval_costs)
  results = {'checkpoint': prefix, 'global_step': step}
  for split, data_set in (('valid', valid_set), ('eval', test_set)):
    start = time.time()
    cost, recon, kl = sketch_rnn_model.evaluate_model(
        eval_fn, model, data_set, eval_hps.kl_weight_start)
    results.update({split + '_cost': cost, split + '_recon': recon,
                    split + '_kl': kl, split + '_time_taken': time.time() - start})
  return results


def main(unused_argv):
  r = evaluate(FLAGS.log_root, FLAGS.data_dir, FLAGS.hparams, FLAGS.checkpoint,
               FLAGS.seed or 0)
  print('valid_cost: %.4f, valid_recon: %.4f, valid_kl: %.4f, valid_time_taken: %.4f'
        % (r['valid_cost'], r['valid_recon'], r['valid_kl'], r['valid_time_taken']))
  print('eval_cost: %.4f, eval_recon: %.4f, eval_kl: %.4f, eval_time_taken: %.4f'
        % (r['eval_cost'], r['eval_recon'], r['eval_kl'], r['eval_time_taken']))
  if FLAGS.results_json:
    with open(FLAGS.results_json, 'w') as f:
      json.dump(r, f, indent=1)


def run_main(argv=None):
  cli.run(main, 'sketch_rnn_eval', argv)


if __name__ == '__main__':
  run_main()
