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
"""Draws sketches from a trained model into an SVG (or PNG) grid.

  sketch_rnn_sample --log_root=runs/shapes --mode=prior --num=16 --out=prior.svg
  sketch_rnn_sample --log_root=runs/shapes --data_dir=datasets --mode=reconstruct
  sketch_rnn_sample --log_root=runs/shapes --data_dir=datasets --mode=interpolate

Works on run folders of this project and of Magenta. Modes: prior (num sketches
from z ~ N(0, I), or from an unconditional model), reconstruct (the first num test
sketches, each next to the decoding of its posterior mean), interpolate (two test
sketches and num decodings of the slerp between their posterior means).
"""

import os
import sys

if __package__ in (None, ''):
  _here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _here]
  sys.path.insert(0, os.path.dirname(_here))

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging
import numpy as np

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import draw
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample
from sketch_rnn import utils

FLAGS = flags.FLAGS
MODES = ('prior', 'reconstruct', 'interpolate')

cli.define_common()
cli.define('string', 'checkpoint', None,
           'A checkpoint prefix (e.g. runs/x/vector-500); default: the latest in '
           '--log_root.')
if 'mode' not in FLAGS:
  flags.DEFINE_enum('mode', 'prior', MODES,
                    'prior: sketches from z ~ N(0, I); reconstruct: test sketches '
                    'and their decodings; interpolate: slerp between two test '
                    'sketches.')
cli.define('integer', 'num', 16,
           'Sketches (prior), test sketches (reconstruct) or interpolation steps.')
cli.define('float', 'temperature', 0.5, 'Sampling temperature (> 0).')
cli.define('boolean', 'greedy', False,
           'Greedy decoding: the most likely component and pen state, its mean.')
cli.define('string', 'out', None,
           'The grid to write: .svg, or .png for pixels; default '
           '<log_root>/sample_<mode>.svg.')
cli.define('integer', 'index_a', 0, 'interpolate: the first test sketch (file order).')
cli.define('integer', 'index_b', 1, 'interpolate: the second test sketch (file order).')
cli.define('integer', 'seq_len', None,
           'Points drawn per sketch at most; default the model\'s max_seq_len.')
cli.define('integer', 'ncols', None, 'Cells per row of the grid (default: square-ish).')


def load_model(log_root, overrides='', checkpoint=None, seed=0):
  """The run's model for sampling: (model, hps, checkpoint prefix, global step)."""
  prefix, hps = checkpoints.open_run(
      log_root, sketch_rnn_model.get_default_hparams(), overrides, checkpoint)
  # Magenta's sample model: one sketch per row, no dropout.
  hps.batch_size = 1
  hps.use_recurrent_dropout = False
  hps.use_input_dropout = False
  hps.use_output_dropout = False
  hps.is_training = False
  model = sketch_rnn_model.Model(hps, seed=seed)
  step = checkpoints.restore_weights(prefix, model)
  logging.info('Loaded %s (global step %d).', prefix, step)
  return model, hps, prefix, step


def _test_sketches(data_dir, hps, indices, seed):
  """Test sketches by their index in the files (normalised as in training)."""
  _, _, test_set, _, _, _ = utils.load_dataset(data_dir, hps, seed=seed)
  # The loader sorts by length; source_index gives each sketch's place in the file.
  order = np.argsort(test_set.source_index, kind='stable')
  for i in indices:
    if not 0 <= i < len(order):
      raise utils.SketchRNNError('test sketch %d: the test split has %d sketches' %
                                 (i, len(order)))
  return [test_set.strokes[order[i]] for i in indices]


def draw_samples(model, hps, mode, num=16, temperature=0.5, greedy=False,
                 data_dir=None, index_a=0, index_b=1, seq_len=None, seed=0):
  """(sketches, titles, ncols) of a grid for the mode."""
  if num < 1:
    raise utils.SketchRNNError('--num must be at least 1, got %d' % num)
  seq_len = seq_len or hps.max_seq_len
  decode_args = dict(temperature=temperature, greedy=greedy, seq_len=seq_len,
                     seed=seed)
  if mode == 'prior':
    strokes5, _ = sample.sample_batch(model, num=num, **decode_args)
    return sample.to_strokes3(strokes5), None, None
  if not hps.conditional:
    raise utils.SketchRNNError(
        '--mode=%s needs the encoder, and this model is unconditional '
        '(conditional=False); use --mode=prior' % mode)
  if mode == 'reconstruct':
    originals = _test_sketches(data_dir, hps, range(num), seed)
    decoded = sample.decode(model, sample.encode(model, originals), **decode_args)
    sketches = [s for pair in zip(originals, decoded) for s in pair]
    titles = [t for i in range(num) for t in ('test %d' % i, 'decoded')]
    return sketches, titles, 2
  if mode == 'interpolate':
    originals = _test_sketches(data_dir, hps, [index_a, index_b], seed)
    z0, z1 = sample.encode(model, originals)
    decoded = sample.decode(model, sample.interpolate(z0, z1, num), **decode_args)
    sketches = [originals[0]] + decoded + [originals[1]]
    titles = (['test %d' % index_a] + ['t=%.2f' % t for t in np.linspace(0, 1, num)] +
              ['test %d' % index_b])
    return sketches, titles, min(len(sketches), 12)
  raise utils.SketchRNNError('--mode must be one of %s, got %r' % (
      ', '.join(MODES), mode))


def write_grid(sketches, path, titles=None, ncols=None):
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise utils.SketchRNNError('--out %s: no such folder %s' % (path, folder))
  if path.lower().endswith('.png'):
    draw.grid_png(sketches, path, ncols=ncols)
  else:
    draw.grid_svg(sketches, ncols=ncols, path=path, titles=titles)


def main(unused_argv):
  seed = FLAGS.seed if FLAGS.seed is not None else 0
  if not FLAGS.greedy and FLAGS.temperature <= 0:
    raise utils.SketchRNNError('--temperature must be > 0, got %s (or use --greedy)'
                               % FLAGS.temperature)
  model, hps, _, _ = load_model(FLAGS.log_root, FLAGS.hparams, FLAGS.checkpoint,
                                seed)
  sketches, titles, ncols = draw_samples(
      model, hps, FLAGS.mode, num=FLAGS.num, temperature=FLAGS.temperature,
      greedy=FLAGS.greedy, data_dir=FLAGS.data_dir, index_a=FLAGS.index_a,
      index_b=FLAGS.index_b, seq_len=FLAGS.seq_len, seed=seed)
  out = FLAGS.out or os.path.join(FLAGS.log_root, 'sample_%s.svg' % FLAGS.mode)
  write_grid(sketches, out, titles, FLAGS.ncols or ncols)
  how = 'greedy' if FLAGS.greedy else 'temperature %g' % FLAGS.temperature
  print('wrote %d sketches (%s, %s) to %s' % (len(sketches), FLAGS.mode, how, out))


def run_main():
  cli.run(main, 'sketch_rnn_sample')


if __name__ == '__main__':
  run_main()
