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
r"""The latent-noise study: trains sketch-rnn over a grid of hyperparameters (by
default `scale` 0.5, 1, 2, 4) and writes the report.

  scale_sweep --data_dir=datasets --out=runs/scale_study --seeds=1,2,3 \
      --sweep=scale:0.5,1,2,4 --hparams="data_set=[shapes.npz],num_steps=2000"
  scale_sweep --data_dir=datasets --out=runs/beta_study \
      --sweep=scale:1,2 --sweep=kl_weight:0.25,1 \
      --hparams="data_set=[shapes.npz],num_steps=2000"

Each --sweep=NAME:v1,v2,... is an axis: a hyperparameter and its values, parsed as
--hparams parses name=value (--scales=0.5,1 is --sweep=scale:0.5,1). Every setting
of the axes' grid and seed is an ordinary training run, `sketch_rnn_train` in a
child process with the shared --hparams plus the setting, in
<out>/<name>-<value>/.../seed-<k>, one level per axis in the order given (e.g.
<out>/scale-2/kl_weight-0.25/seed-1; by default <out>/scale-<s>/seed-<k>), its
output in train.log there, so each can be resumed and inspected like any other
run. Then a second child, `sketch_rnn_eval --metrics`, scores the run's last
checkpoint on the test set (sketch_rnn.metrics) into metrics.json and draws
grid.svg (its output in eval.log). Last, the parent writes <out>/report.md,
results.csv, results.json, curves.csv and, with matplotlib, the plots, a column
per setting.

Started again, the sweep skips runs whose checkpoint has reached num_steps and
whose metrics are current, resumes the others (--resume_training), and rewrites
the report; without --data_dir it takes the data its runs were trained on. A run that fails is reported with the end of its log once the others
are done, and the sweep exits with 1. SIGTERM or SIGINT is passed on to the runs
(each saves a checkpoint and stops); the sweep then exits like the trainer (0 on
SIGTERM, 130 on SIGINT) and the same command continues.
"""

if __package__ in (None, ''):  # run as a file: python sketch_rnn/<tool>.py
  import _checkout  # pylint: disable=unused-import

# pylint: disable=g-import-not-at-top,wrong-import-position
from sketch_rnn import quiet
quiet.import_tensorflow()  # first: its start-up lines off the terminal
import os
import shlex
import signal
import sys
import time

from absl import flags
from absl import logging
import tensorflow as tf

from sketch_rnn import cli
from sketch_rnn import errors
from sketch_rnn import study
from sketch_rnn import study_plan
from sketch_rnn import study_report
from sketch_rnn import utils

FLAGS = flags.FLAGS

FLAG_NAMES = ('out', 'data_dir', 'hparams', 'sweep', 'scales', 'seeds', 'jobs',
              'gpus', 'diversity_samples', 'eval_sketches', 'eval_seed',
              'iwae_samples', 'batch_sampler')
cli.define_flags(FLAG_NAMES)


def main(unused_argv):
  if not FLAGS.out:
    raise errors.UsageError('--out is required: the folder of the study')
  # This process only reads files: the GPUs are the runs'.
  tf.config.set_visible_devices([], 'GPU')
  # Given, --sweep replaces its default; --scales alone must not meet that default.
  axes = study_plan.parse_sweep(FLAGS.sweep if FLAGS['sweep'].present else None,
                                FLAGS.scales)
  seeds = study_plan.parse_seeds(FLAGS.seeds)
  text, hps = study_plan.shared_hparams(FLAGS.hparams, axes)
  if FLAGS.jobs < 0:
    raise errors.UsageError('--jobs must be 0 (auto) or more, got %d' % FLAGS.jobs)
  eval_options = study.eval_options(FLAGS.diversity_samples, FLAGS.eval_sketches,
                                    FLAGS.eval_seed, FLAGS.iwae_samples)
  gpus = study_plan.detect_gpus(FLAGS.gpus)
  jobs = FLAGS.jobs or max(len(gpus), 1)
  out = os.path.abspath(FLAGS.out)
  if os.path.exists(out) and not os.path.isdir(out):
    raise errors.SketchRNNError('--out %s is not a folder' % out)
  runs = study.make_runs(out, axes, seeds, hps)
  # Started again without --data_dir, the study goes on with its runs' data.
  data_dir = FLAGS.data_dir
  if not FLAGS['data_dir'].present:
    data_dir = study.runs_data_dir(runs) or data_dir
  if not utils.is_url(data_dir):
    data_dir = os.path.abspath(data_dir)
  # Once here: a bad data set is one error, not one per run, and a URL's files are
  # downloaded before the runs would all fetch them at once.
  data = utils.load_dataset(data_dir, hps)
  os.makedirs(out, exist_ok=True)
  # Here, once: the runs' evaluations (children, perhaps several at once) load it.
  classifier_path = os.path.join(out, study.CLASSIFIER_FILE)
  start = time.time()
  judge, accuracy, trained = study.sketch_classifier(data, classifier_path)
  if judge is None:
    classifier_path = None
    logging.info('one class in the data: no sketch classifier, no class scores.')
  else:
    logging.info('sketch classifier (%d classes) %s: test accuracy %.3f.',
                 len(judge.class_names), 'trained in %.0f s' % (time.time() - start)
                 if trained else 'loaded from ' + classifier_path, accuracy)
  logging.info('%d runs (%s x seeds %s), %d at a time%s, in %s.', len(runs),
               study_plan.axes_text(axes), ', '.join(map(str, seeds)), jobs,
               ' on GPUs %s' % ', '.join(gpus) if gpus else '', out)
  sweep = study.Sweep(runs, data_dir, text, hps.num_steps, eval_options, jobs, gpus,
                      classifier_path, FLAGS.batch_sampler)
  stopped = sweep.run()
  if stopped is not None:
    logging.info('stopped by %s; run the same command to continue.',
                 signal.Signals(stopped).name)
    return 130 if stopped == signal.SIGINT else 0
  info = dict(data_dir=data_dir, hparams=text, num_steps=hps.num_steps,
              axes=axes, scale=hps.scale, seeds=seeds, eval_options=eval_options,
              command=' '.join(shlex.quote(a) for a in ['scale_sweep'] + sys.argv[1:]))
  report = study_report.write_report(out, runs, info)
  if report:
    logging.info('wrote %s', report)
  failed = [r for r in runs if r.status == 'failed']
  for run in failed:
    print('%s failed: %s; the end of its log:\n%s' % (run.name, run.error,
                                                      (run.log or '').rstrip()),
          file=sys.stderr)
  if failed:
    raise errors.SketchRNNError('%d of %d runs failed (%s); the others are in %s' % (
        len(failed), len(runs), ', '.join(r.name for r in failed),
        report or 'no report'))
  return 0


def run_main(argv=None):
  cli.run(main, 'scale_sweep', FLAG_NAMES, argv)


if __name__ == '__main__':
  run_main()
