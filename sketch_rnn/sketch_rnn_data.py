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
"""Makes a sketch-rnn .npz from your own drawings, as QuickDraw made its files.

  sketch_rnn_data ndjson FILE.ndjson... --out=cat.npz   (QuickDraw, raw or simplified)
  sketch_rnn_data svg FOLDER --out=mine.npz             (one drawing per .svg file)
  sketch_rnn_data strokes FILE.json --out=mine.npz      (drawings of [x, y] strokes)
  sketch_rnn_data info FILE.npz                         (splits, lengths, scale factor)

Each drawing is scaled to 0-255, simplified by Ramer-Douglas-Peucker (--epsilon)
and written as int16 stroke-3; the drawings are shuffled (--seed) and split
(--split). Several ndjson classes (their "word") get class labels. docs/data.md.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
import os
import time

from absl import flags
import numpy as np

from sketch_rnn import cli
from sketch_rnn import datasets
from sketch_rnn import errors
from sketch_rnn import ndjson
from sketch_rnn import utils

FLAGS = flags.FLAGS
FLAG_NAMES = ('out', 'epsilon', 'split', 'seed', 'recognized_only', 'skip_bad',
              'workers')
cli.define_flags(FLAG_NAMES)
COMMANDS = ('ndjson', 'svg', 'strokes', 'info')


def info(path):
  """Prints a data set's splits, their lengths, classes and normalising factor."""
  data = utils.load_npz(path)
  print(path)
  for split in datasets.SPLITS:
    print('  %s: %s' % (split, datasets.lengths_summary(data[split])))
  if data.get('class_names'):
    counts = np.bincount(data['labels']['train'], minlength=len(data['class_names']))
    print('  %d classes: %s' % (len(counts), ', '.join(
        '%s (%d)' % (c, n) for c, n in zip(data['class_names'], counts))))
  # What load_dataset would divide dx, dy by: nothing is longer than the longest.
  all_sketches = data['train'] + data['valid'] + data['test']
  loader = utils.DataLoader(data['train'],
                            max_seq_length=utils.get_max_len(all_sketches))
  print('  normalising scale factor (train dx, dy standard deviation): %.4f' %
        loader.calculate_normalizing_scale_factor())


def build(command, inputs):
  split = datasets.parse_split(FLAGS.split)
  if FLAGS.epsilon < 0:
    raise errors.UsageError('--epsilon must be at least 0')
  if FLAGS.workers < 0:
    raise errors.UsageError('--workers must be 0 (one per core) or more')
  if not FLAGS.out:
    raise errors.UsageError('%s needs --out=FILE.npz' % command)
  if not FLAGS.out.endswith('.npz'):
    raise errors.UsageError('--out %s: the name must end in .npz' % FLAGS.out)
  if command != 'ndjson' and len(inputs) != 1:
    raise errors.UsageError('%s takes one %s' % (
        command, 'folder' if command == 'svg' else 'file'))
  start = time.time()
  if command == 'ndjson':
    ndjson.keep_freed_memory()
    workers = FLAGS.workers or ndjson.cores()
    rows, lengths, words, skipped = ndjson.build(
        inputs, FLAGS.epsilon, FLAGS.skip_bad, FLAGS.recognized_only, workers)
  else:
    drawings = (datasets.read_svg_folder(inputs[0]) if command == 'svg' else
                datasets.read_strokes_json(inputs[0]))
    sketches, words, skipped = datasets.build(drawings, FLAGS.epsilon, FLAGS.skip_bad)
    lengths = np.array([len(s) for s in sketches], dtype=np.int64)
    rows = np.concatenate(sketches) if sketches else np.zeros((0, 3), np.int16)
  if not len(lengths):
    raise errors.SketchRNNError('no drawings in %s' % ', '.join(inputs))
  if command == 'ndjson' and len(set(words)) > 1 and None in words:
    raise errors.SketchRNNError('some drawings have a "word" and some do not: '
                                'cannot tell their classes')
  chosen, labels, class_names = datasets.split_indices(words, split, FLAGS.seed or 0)
  datasets.write_splits(FLAGS.out, rows, np.cumsum(lengths) - lengths, lengths,
                        chosen, labels, class_names)
  seconds = time.time() - start
  print('%s: %d drawings in %.1f s (%.0f a second, written included)%s' % (
      FLAGS.out, len(lengths), seconds, len(lengths) / max(seconds, 1e-9),
      ', %d bad drawings skipped' % skipped if skipped else ''))
  for s in datasets.SPLITS:
    print('  %s: %s' % (s, datasets.summary_of_lengths(lengths[chosen[s]])))
  if class_names is not None:
    print('  %d classes: %s' % (len(class_names), ', '.join(class_names)))


def main(argv):
  args = argv[1:]
  if not args or args[0] not in COMMANDS:
    raise errors.UsageError('the first argument is the command, one of %s (--help)'
                            % ', '.join(COMMANDS))
  command, inputs = args[0], args[1:]
  if not inputs:
    raise errors.UsageError('%s: name the %s' % (
        command, {'ndjson': 'ndjson files', 'svg': 'folder of .svg files',
                  'strokes': 'JSON file', 'info': '.npz file'}[command]))
  if command == 'info':
    for path in inputs:
      info(path)
    return
  for path in inputs:
    if not os.path.exists(path):
      raise errors.SketchRNNError('%s: no such file or folder' % path)
  build(command, inputs)


def run_main(argv=None):
  cli.run(main, 'sketch_rnn_data', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
