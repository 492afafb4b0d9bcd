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
"""Writes a trained run as a browser model for Magenta.js and sketch-rnn-js.

  sketch_rnn_export --log_root=runs/shapes --out=shapes.gen.json
  sketch_rnn_export --log_root=runs/shapes_vae --out=shapes.vae.json
  sketch_rnn_export --log_root=magenta_run --data_dir=datasets --out=cat.gen.json

A .gen.json is an unconditional decoder (conditional=False), the kind
@magenta/sketch runs; a .vae.json holds encoder and decoder. Both need LSTM cells
and num_mixture=20, what the browser loaders fix. The data's normalising factor
comes from the run's scale_factor.json (written by the trainer); for older runs and
Magenta's, --data_dir recomputes it from the train split. The data (--data_dir, or
the run's own: its data_source.json) adds the validation costs to the file's info.
See docs/browser.md.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import quiet
quiet.import_tensorflow()  # first: its start-up lines off the terminal
import os

from absl import flags
import tensorflow as tf

from sketch_rnn import browser
from sketch_rnn import checkpoints
from sketch_rnn import cli
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model

FLAGS = flags.FLAGS
FLAG_NAMES = ('log_root', 'checkpoint', 'out', 'data_dir', 'hparams')
cli.define_flags(FLAG_NAMES)


def export(log_root, out, checkpoint=None, data_dir=None, overrides=''):
  """Writes the run's checkpoint to out (NAME.gen.json or NAME.vae.json); returns
  the file's info."""
  conditional = browser.kind_of(out)
  folder = os.path.dirname(os.path.abspath(out))
  if not os.path.isdir(folder):
    raise errors.SketchRNNError('--out %s: no such folder %s' % (out, folder))
  # The cheap refusals first: they need only the run's hyperparameters.
  if os.path.isdir(log_root):
    hps = checkpoints.run_hparams(log_root, overrides, key_only_ok=bool(overrides))
    browser.check_exportable(hps, conditional)
  run = checkpoints.open_run(log_root, data_dir, overrides, checkpoint)
  browser.check_exportable(run.hps, conditional)
  if run.scale_factor is None:
    raise errors.SketchRNNError(
        '%s has no %s (a run from before it was saved, or Magenta\'s): give '
        '--data_dir to recompute it from the train split' % (
            log_root, checkpoints.SCALE_FACTOR))
  r_loss = kl_loss = None
  if run.data is not None:
    _, r_loss, kl_loss = sketch_rnn_model.evaluate_model(
        tf.function(sketch_rnn_model.eval_costs), run.model, run.data[1],
        run.model.hps.kl_weight_start)
    r_loss, kl_loss = float(r_loss), float(kl_loss)
  name = os.path.basename(out).rsplit('.', 2)[0]
  data = browser.to_json(run.model, run.scale_factor, name, conditional,
                         training_steps=run.step, r_loss=r_loss, kl_loss=kl_loss)
  browser.write_json(out, data)
  return data[0]


def main(unused_argv):
  if not FLAGS.out:
    raise errors.UsageError('--out is required: NAME.gen.json or NAME.vae.json')
  # The data only adds the validation costs: a run's own, when it is still there.
  data_dir = cli.run_data_dir(FLAGS.log_root, optional=True)
  info = export(FLAGS.log_root, FLAGS.out, FLAGS.checkpoint, data_dir, FLAGS.hparams)
  print('wrote %s (%s, step %d, scale_factor %.6g, max_seq_len %d)' % (
      FLAGS.out, 'decoder only' if info['mode'] == browser.GEN_MODE else 'VAE',
      info['training_steps'], info['scale_factor'], info['max_seq_len']))


def run_main(argv=None):
  cli.run(main, 'sketch_rnn_export', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
