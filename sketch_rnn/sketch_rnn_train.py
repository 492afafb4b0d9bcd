# Copyright 2024 The Magenta Authors.
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
"""Sketch-RNN training, as Magenta's sketch_rnn_train.py is run.

  python sketch_rnn/sketch_rnn_train.py --data_dir=datasets --hparams="data_set=[shapes.npz]"
"""

import os
import sys

if __package__ in (None, ''):
  # Run as a file: import the package, not sibling modules from this folder.
  _here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _here]
  sys.path.insert(0, os.path.dirname(_here))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils

FLAGS = flags.FLAGS
flags.DEFINE_string(
    'data_dir',
    'https://github.com/hardmaru/sketch-rnn-datasets/raw/master/aaron_sheep',
    'The directory in which to find the dataset specified in model hparams. '
    'If data_dir starts with "http://" or "https://", the file will be fetched '
    'remotely.')
flags.DEFINE_string(
    'log_root', '/tmp/sketch_rnn/models/default',
    'Directory to store model checkpoints, tensorboard.')
flags.DEFINE_boolean(
    'resume_training', False,
    'Set to true to load previous checkpoint')
flags.DEFINE_string(
    'hparams', '',
    'Pass in comma-separated key=value pairs such as '
    '\'save_every=40,decay_rate=0.99\' '
    '(no whitespace) to be read into the HParams object defined in model.py')
flags.DEFINE_integer('seed', None, 'Seed for numpy and TensorFlow randomness.')


def main(unused_argv):
  hps = sketch_rnn_model.get_default_hparams()
  if FLAGS.hparams:
    hps.parse(FLAGS.hparams)
  logging.info('sketch-rnn')
  logging.info('Hyperparams:')
  for key, val in hps.values().items():
    logging.info('%s = %s', key, val)
  logging.info('Loading data files.')
  datasets = utils.load_dataset(FLAGS.data_dir, hps, seed=FLAGS.seed)
  train_set, valid_set, test_set = datasets[:3]
  logging.info('Loaded %d/%d/%d sketches, max_seq_len %d, normalizing_scale_factor %.4f.',
               len(train_set), len(valid_set), len(test_set),
               datasets[3].max_seq_len, train_set.scale_factor)


def run_main():
  """Console-script entry point: user errors become one line and exit code 1."""
  try:
    app.run(main)
  except utils.SketchRNNError as e:
    print('sketch_rnn_train: error: %s' % e, file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  run_main()
