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
  sketch_rnn_sample --model_json=bird.gen.json --mode=complete --sketches=mine.npz
  sketch_rnn_sample --log_root=runs/shapes --mode=encode --sketches=mine.npz --out=z.npy

Works on run folders of this project and of Magenta, and on browser models
(--model_json: .gen.json or .vae.json). Modes: prior (num sketches
from z ~ N(0, prior_scale^2 I), or from an unconditional model), posterior (from
the aggregate posterior: one z ~ N(mu, (scale sigma)^2) from each of num random
test sketches, the z the decoder saw in training), reconstruct (the first num test
sketches, each next to the decoding of its posterior mean), interpolate (two test
sketches and num decodings of the slerp between their posterior means), complete
(the first --prefix_points points of num test sketches or of --sketches, in red,
each continued --completions times), encode (the posterior means of every sketch of
--sketches into --out, a .npy of [sketches, z_size]). The test sketches come from
--data_dir, or without it from the data the run was trained on (data_source.json).
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import files
from sketch_rnn import quiet
quiet.import_tensorflow()  # first: its start-up lines off the terminal
import os

from absl import flags
import numpy as np

from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import sample
from sketch_rnn import utils

FLAGS = flags.FLAGS
MODES = cli.FLAG_TABLE['mode'].choices

FLAG_NAMES = ('log_root', 'mode', 'num', 'temperature', 'greedy', 'out', 'data_dir',
              'hparams', 'checkpoint', 'seed', 'index_a', 'index_b', 'seq_len',
              'ncols', 'prior_scale', 'model_json', 'sketches', 'prefix_points',
              'completions', 'truncate')
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


def read_sketches(path, scale_factor):
  """The sketches of a user's .npz (Magenta's three splits in order, or a single
  array), normalised by the model's scale_factor."""
  if scale_factor is None:
    raise errors.SketchRNNError(
        'the run has no scale_factor.json (trained before it was saved, or '
        'Magenta\'s): give --data_dir to recompute the factor --sketches needs')
  sketches = utils.load_sketches(path)
  if not sketches:
    raise errors.SketchRNNError('%s holds no sketches' % path)
  result = []
  for sketch in sketches:
    sketch = np.array(sketch, np.float32)
    sketch[:, :2] /= scale_factor
    result.append(sketch)
  return result


def fit_length(sketches, max_seq_len, truncate, path):
  """Sketches of at most max_seq_len points: cut (truncate) or refused."""
  for i, sketch in enumerate(sketches):
    if len(sketch) > max_seq_len and not truncate:
      raise errors.SketchRNNError(
          '%s sketch %d has %d points, more than the model\'s max_seq_len %d: '
          'give --truncate to cut such sketches' % (path, i, len(sketch),
                                                      max_seq_len))
  return [s[:max_seq_len] for s in sketches]


def write_npy(path, array):
  """np.save, whole or not at all."""
  with files.atomic_write(path, 'wb') as f:
    np.save(f, array)


def draw_samples(run, mode, num=16, temperature=0.5, greedy=False, index_a=0,
                 index_b=1, seq_len=None, seed=0, prior_scale=1.0, sketches=None,
                 prefix_points=10, completions=4):
  """(sketches, titles, ncols, highlight) of a grid for the mode, from an opened
  run (with its data for posterior, reconstruct and interpolate, and for complete
  without `sketches`, a user's normalised sketches)."""
  model, hps = run.model, run.hps
  if num < 1:
    raise errors.SketchRNNError('--num must be at least 1, got %d' % num)
  seq_len = seq_len or hps.max_seq_len
  decode_args = dict(temperature=temperature, greedy=greedy, seq_len=seq_len,
                     seed=seed)
  if mode == 'prior':
    strokes5, _ = sample.sample_batch(model, num=num, prior_scale=prior_scale,
                                      **decode_args)
    return sample.to_strokes3(strokes5), None, None, None
  if mode == 'complete':
    if prefix_points < 1 or completions < 1:
      raise errors.UsageError('--prefix_points and --completions must be at least 1')
    if sketches is not None:
      chosen = sketches[:num]
      labels = ['sketch %d' % i for i in range(len(chosen))]
    else:  # the first num test sketches (file order) longer than the prefix
      test_set = run.data[2]
      every = test_set.in_file_order(range(len(test_set)))
      places = [i for i, s in enumerate(every) if len(s) > prefix_points][:num]
      if not places:
        raise errors.SketchRNNError('no test sketch has more than %d points' %
                                    prefix_points)
      chosen = [every[i] for i in places]
      labels = ['test %d' % i for i in places]
    cells, titles, highlight = sample.completions(
        model, chosen, prefix_points, completions, labels, prior_scale,
        **decode_args)
    return cells, titles, completions + 1, highlight
  if not hps.conditional:
    raise errors.SketchRNNError(
        '--mode=%s needs the encoder, and this model is unconditional '
        '(conditional=False); use --mode=prior' % mode)
  test_set = run.data[2]
  if mode == 'posterior':
    z = sample.aggregate_posterior_z(model, test_set.strokes, num, seed)
    return sample.decode(model, z, **decode_args), None, None, None
  if mode == 'reconstruct':
    # Column labels: the input, then its decoding.
    sketches, titles = sample.reconstructions(
        model, test_set.in_file_order(range(num)),
        ['input: test %d' % i for i in range(num)], **decode_args)
    return sketches, titles, 2, None
  if mode == 'interpolate':
    a, b = test_set.in_file_order([index_a, index_b])
    sketches, titles = sample.interpolation(
        model, a, b, num, ['test %d' % index_a, 'test %d' % index_b], **decode_args)
    return sketches, titles, min(len(sketches), 12), None
  raise errors.SketchRNNError('--mode must be one of %s, got %r' % (
      ', '.join(MODES), mode))


def check_out_folder(path):
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise errors.SketchRNNError('--out %s: no such folder %s' % (path, folder))


def write_grid(sketches, path, titles=None, ncols=None, highlight=None):
  check_out_folder(path)
  if path.lower().endswith('.png'):
    draw.grid_png(sketches, path, ncols=ncols, highlight=highlight)
  else:
    draw.grid_svg(sketches, ncols=ncols, path=path, titles=titles,
                  highlight=highlight)


def encode_file(run, path, out, truncate=False):
  """--mode=encode: writes the posterior means of every sketch of path to out."""
  if not run.hps.conditional:
    raise errors.SketchRNNError('--mode=encode needs the encoder, and this model '
                                'is unconditional (conditional=False)')
  sketches = fit_length(read_sketches(path, run.scale_factor), run.hps.max_seq_len,
                        truncate, path)
  z = sample.encode_all(run.model, sketches)
  write_npy(out, z)
  return z


def main(unused_argv):
  seed = FLAGS.seed if FLAGS.seed is not None else 0
  if not FLAGS.greedy and FLAGS.temperature <= 0:
    raise errors.SketchRNNError('--temperature must be > 0, got %s (or use --greedy)'
                                % FLAGS.temperature)
  mode = FLAGS.mode
  if mode == 'encode':
    if not FLAGS.sketches or not (FLAGS.out or '').endswith('.npy'):
      raise errors.UsageError('--mode=encode needs --sketches=PATH.npz and '
                              '--out=PATH.npy')
    check_out_folder(FLAGS.out)
  log_root, model_json = cli.run_source()
  # Prior samples need no data, nor do a user's sketches (unless the run's
  # scale_factor must come from it: --data_dir given).
  data_dir = None
  if not (mode == 'prior' or (FLAGS.sketches and not FLAGS['data_dir'].present)):
    data_dir = cli.run_data_dir(log_root)
  run = checkpoints.open_run(log_root, data_dir, FLAGS.hparams,
                             FLAGS.checkpoint, seed, sampling=True,
                             model_json=model_json)
  if mode == 'encode':
    z = encode_file(run, FLAGS.sketches, FLAGS.out, FLAGS.truncate)
    print('wrote the posterior means of %d sketches (%s) to %s' % (
        len(z), 'x'.join(map(str, z.shape)), FLAGS.out))
    return
  prior_scale = parse_prior_scale(FLAGS.prior_scale, run.hps)
  sketches = None
  if mode == 'complete' and FLAGS.sketches:
    sketches = read_sketches(FLAGS.sketches, run.scale_factor)
  sketches, titles, ncols, highlight = draw_samples(
      run, mode, num=FLAGS.num, temperature=FLAGS.temperature,
      greedy=FLAGS.greedy, index_a=FLAGS.index_a, index_b=FLAGS.index_b,
      seq_len=FLAGS.seq_len, seed=seed, prior_scale=prior_scale, sketches=sketches,
      prefix_points=FLAGS.prefix_points, completions=FLAGS.completions)
  out = FLAGS.out or os.path.join(log_root or '', 'sample_%s.svg' % mode)
  write_grid(sketches, out, titles, FLAGS.ncols or ncols, highlight)
  how = 'greedy' if FLAGS.greedy else 'temperature %g' % FLAGS.temperature
  if FLAGS.mode == 'prior' and run.hps.conditional:  # an unconditional one has no z
    how += ', z ~ N(0, %g^2 I)' % prior_scale
  print('wrote %d sketches (%s, %s) to %s' % (len(sketches), FLAGS.mode, how, out))


def run_main():
  cli.run(main, 'sketch_rnn_sample', FLAG_NAMES)


if __name__ == '__main__':
  run_main()
