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
"""What the command-line entry points share: flags and how errors end a run.

Exit codes: 0 done, 1 a user error (bad data, hyperparameters, run folder) shown as
one line, 2 a usage error (an unknown or malformed flag).
"""

import os
import sys

from absl import app
from absl import flags

from sketch_rnn import utils

FLAGS = flags.FLAGS

MAGENTA_DATA_URL = (
    'https://github.com/hardmaru/sketch-rnn-datasets/raw/master/aaron_sheep')


def define(kind, name, default, help_text):
  """Defines a flag once, so the entry points can share names in one process."""
  if name not in FLAGS:
    getattr(flags, 'DEFINE_' + kind)(name, default, help_text)


def define_common():
  define('string', 'data_dir', MAGENTA_DATA_URL,
         'The directory in which to find the dataset specified in model hparams. '
         'If data_dir starts with "http://" or "https://", the file will be '
         'fetched remotely.')
  define('string', 'log_root', '/tmp/sketch_rnn/models/default',
         'Directory to store model checkpoints, tensorboard.')
  define('string', 'hparams', '',
         'Pass in comma-separated key=value pairs such as '
         '\'save_every=40,decay_rate=0.99\' '
         '(no whitespace) to be read into the HParams object defined in model.py')
  define('integer', 'seed', None,
         'Seed for the weights, the data order and augmentation, eps and dropout. '
         'Default: a fresh one (training) or 0 (evaluation, sampling).')


def _parse_flags(argv):
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print('%s: error: %s' % (os.path.basename(argv[0]), e), file=sys.stderr)
    sys.exit(2)


def run(main, prog, argv=None):
  """app.run(main) with a user error as one line on stderr and exit code 1 (2 for
  a bad command line)."""
  try:
    app.run(main, argv=argv, flags_parser=_parse_flags)
  except utils.SketchRNNError as e:
    print('%s: error: %s' % (prog, e), file=sys.stderr)
    sys.exit(2 if isinstance(e, utils.UsageError) else 1)
