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
  sketch_rnn_sample --log_root=runs/shapes --mode=prior --prior_scale=model
  sketch_rnn_sample --log_root=runs/shapes --data_dir=datasets --mode=posterior
  sketch_rnn_sample --log_root=runs/shapes --data_dir=datasets --mode=reconstruct
  sketch_rnn_sample --log_root=runs/shapes --data_dir=datasets --mode=interpolate
  sketch_rnn_sample --model_json=bird.gen.json --out=birds.png

Works on run folders of this project and of Magenta, and on browser models
(--model_json: .gen.json or .vae.json). Modes: prior (num sketches
from z ~ N(0, prior_scale^2 I), or from an unconditional model), posterior (from
the aggregate posterior: one z ~ N(mu, (scale sigma)^2) from each of num random
test sketches, the z the decoder saw in training), reconstruct (the first num test
sketches, each next to the decoding of its posterior mean), interpolate (two test
sketches and num decodings of the slerp between their posterior means).
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
import os

from absl import flags
import numpy as np

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import sample

FLAGS = flags.FLAGS
MODES = cli.FLAG_TABLE['mode'].choices

FLAG_NAMES = ('log_root', 'mode', 'num', 'temperature', 'greedy', 'out', 'data_dir',
              'hparams', 'checkpoint', 'seed', 'index_a', 'index_b', 'seq_len',
              'ncols', 'prior_scale', 'model_json')
cli.define_flags(FLAG_NAMES)


def parse_prior_scale(text, hps):
  """--prior_scale: a number >= 0, or 'model' (the run's scale)."""
  text = str(text).strip()
  if text == 'model':
    return float(hps.scale)
  try:
    value = float(text)
  except ValueError:
    value = float('nan')
  if not value >= 0 or value == float('inf'):
    raise errors.UsageError('--prior_scale must be a number >= 0 or "model" (the '
                            'run\'s scale), got %r' % text)
  return value


def draw_samples(run, mode, num=16, temperature=0.5, greedy=False, index_a=0,
                 index_b=1, seq_len=None, seed=0, prior_scale=1.0):
  """(sketches, titles, ncols) of a grid for the mode, from an opened run (with
  its data for posterior, reconstruct and interpolate)."""
  model, hps = run.model, run.hps
  if num < 1:
    raise errors.SketchRNNError('--num must be at least 1, got %d' % num)
  seq_len = seq_len or hps.max_seq_len
  decode_args = dict(temperature=temperature, greedy=greedy, seq_len=seq_len,
                     seed=seed)
  if mode == 'prior':
    strokes5, _ = sample.sample_batch(model, num=num, prior_scale=prior_scale,
                                      **decode_args)
    return sample.to_strokes3(strokes5), None, None
  if not hps.conditional:
    raise errors.SketchRNNError(
        '--mode=%s needs the encoder, and this model is unconditional '
        '(conditional=False); use --mode=prior' % mode)
  test_set = run.data[2]
  if mode == 'posterior':
    chosen = np.random.RandomState(seed).choice(len(test_set), num,
                                                replace=num > len(test_set))
    z = sample.posterior_z(model, [test_set.strokes[i] for i in chosen], seed)
    return sample.decode(model, z, **decode_args), None, None
  if mode == 'reconstruct':
    sketches, titles = sample.reconstructions(
        model, test_set.in_file_order(range(num)),
        ['test %d' % i for i in range(num)], **decode_args)
    return sketches, titles, 2
  if mode == 'interpolate':
    a, b = test_set.in_file_order([index_a, index_b])
    sketches, titles = sample.interpolation(
        model, a, b, num, ['test %d' % index_a, 'test %d' % index_b], **decode_args)
    return sketches, titles, min(len(sketches), 12)
  raise errors.SketchRNNError('--mode must be one of %s, got %r' % (
      ', '.join(MODES), mode))


def write_grid(sketches, path, titles=None, ncols=None):
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise errors.SketchRNNError('--out %s: no such folder %s' % (path, folder))
  if path.lower().endswith('.png'):
    draw.grid_png(sketches, path, ncols=ncols)
  else:
    draw.grid_svg(sketches, ncols=ncols, path=path, titles=titles)


def main(unused_argv):
  seed = FLAGS.seed if FLAGS.seed is not None else 0
  if not FLAGS.greedy and FLAGS.temperature <= 0:
    raise errors.SketchRNNError('--temperature must be > 0, got %s (or use --greedy)'
                                % FLAGS.temperature)
  # Prior samples need no data: only the other modes load it.
  data_dir = None if FLAGS.mode == 'prior' else FLAGS.data_dir
  log_root, model_json = cli.run_source()
  run = checkpoints.open_run(log_root, data_dir, FLAGS.hparams,
                             FLAGS.checkpoint, seed, sampling=True,
                             model_json=model_json)
  prior_scale = parse_prior_scale(FLAGS.prior_scale, run.hps)
  sketches, titles, ncols = draw_samples(
      run, FLAGS.mode, num=FLAGS.num, temperature=FLAGS.temperature,
      greedy=FLAGS.greedy, index_a=FLAGS.index_a, index_b=FLAGS.index_b,
      seq_len=FLAGS.seq_len, seed=seed, prior_scale=prior_scale)
  out = FLAGS.out or os.path.join(log_root or '', 'sample_%s.svg' % FLAGS.mode)
  write_grid(sketches, out, titles, FLAGS.ncols or ncols)
  how = 'greedy' if FLAGS.greedy else 'temperature %g' % FLAGS.temperature
  if FLAGS.mode == 'prior':
    how += ', z ~ N(0, %g^2 I)' % prior_scale
  print('wrote %d sketches (%s, %s) to %s' % (len(sketches), FLAGS.mode, how, out))


def run_main():
  cli.run(main, 'sketch_rnn_sample', FLAG_NAMES)


if __name__ == '__main__':
  run_main()
