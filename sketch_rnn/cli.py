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
"""What the command-line tools share: every flag, defined once; `--help`; how an
error ends a run.

Each tool names the flags it takes (`define_flags`), so a flag means the same in
every tool and its help does not depend on which tool was imported first.
Exit codes: 0 done, 1 a user error (bad data, hyperparameters, run folder) shown as
one line, 2 a usage error (an unknown or malformed flag).
"""

import collections
import os
import sys
import textwrap

from absl import app
from absl import flags
from absl import logging

from sketch_rnn import data_source
from sketch_rnn import errors

FLAGS = flags.FLAGS

MAGENTA_DATA_URL = (
    'https://github.com/hardmaru/sketch-rnn-datasets/raw/master/aaron_sheep')
HPARAMS_GRAMMAR = (
    'comma-separated name=value pairs, a list as name=[a,b]; whitespace after a '
    'comma is allowed; the names and defaults are in sketch_rnn/hparams.py')

# kind: absl's DEFINE_<kind>; help: one text, or {tool: text} where the flag
# means something else to a tool (its --help shows that tool's text).
Flag = collections.namedtuple('Flag', 'kind default help choices', defaults=(None,))
CHECKPOINT_HELP = ('A checkpoint prefix (e.g. runs/x/vector-500); default: the latest '
                   'in --log_root.')
DIVERSITY_HELP = 'Prior samples per temperature for the diversity metric (at least 2).'
EVAL_SKETCHES_HELP = ('Test sketches scored by the likelihoods, the fidelity and the '
                      'classifier, spread over the test set (0: all).')
IWAE_HELP = 'Importance samples per test sketch for the IWAE bound (at least 1).'
CLASSIFIER_HELP = ('The sketch classifier\'s cache (.npz): loaded when it was trained '
                   'on this data, else trained (seconds) and saved there. '
                   'Default: trained in memory. Only for data of several classes.')
FLAG_TABLE = {
    # Magenta's flags
    'data_dir': Flag('string', MAGENTA_DATA_URL,
                     'The folder, or http(s) URL, holding the data_set files; a URL '
                     'is fetched once and cached. For a trained run (eval, sample, '
                     'export, a resume, a study started again) the default is the '
                     'one it was trained on (its data_source.json), if it has one.'),
    'log_root': Flag('string', '/tmp/sketch_rnn/models/default',
                     'The run folder: checkpoints, TensorBoard events, '
                     'model_config.json.'),
    'hparams': Flag('string', '', {
        None: 'Hyperparameters: ' + HPARAMS_GRAMMAR + '.',
        'scale_sweep': 'Hyperparameters shared by every run (' + HPARAMS_GRAMMAR +
                       '); must set num_steps and none of the --sweep axes (each '
                       'run adds name=<value> for every axis).'}),
    'resume_training': Flag('boolean', False,
                            'Continue from the newest checkpoint in --log_root that '
                            'loads (older ones are tried in turn).'),
    # this project's
    'overwrite': Flag('boolean', False,
                      'Start a new run in a --log_root that holds one: the old run '
                      'is moved into <log_root>/replaced-<date>/, never deleted. '
                      'Without it such a start is refused.'),
    'max_sketch_points': Flag('integer', 10000,
                              'Refuse data with a sketch longer than this many '
                              'points (QuickDraw\'s are far shorter): max_seq_len, '
                              'and so every batch, follows the longest.'),
    'seed': Flag('integer', None, {
        None: 'Seed for the weights, the data order and augmentation, eps and '
              'dropout. Default: a fresh one (training) or 0 (evaluation, '
              'sampling).',
        'sketch_rnn_data': 'Seed of the shuffle that splits the drawings (default '
                           '0).'}),
    'checkpoint': Flag('string', None, CHECKPOINT_HELP),
    'jit_compile': Flag('boolean', False,
                        'Compile the whole train step with XLA (slower on a CPU; '
                        'measure before using).'),
    'num_samples': Flag('integer', 16,
                        'Prior samples drawn into TensorBoard at each validation and '
                        'into samples.svg at the end, which also draws '
                        'reconstructions.svg (0: neither).'),
    'distribution_strategy': Flag(
        'string', 'auto',
        'auto: one device, or MirroredStrategy when several GPUs are visible; '
        'one_device; mirrored; multi_worker (MultiWorkerMirroredStrategy set up by '
        'the TF_CONFIG environment variable).'),
    'collective_timeout': Flag('float', 600.0,
                               'multi_worker: seconds a step waits for the other '
                               'workers before the run fails with a clear message.'),
    'batch_sampler': Flag(
        'enum', 'auto',
        'How each training batch\'s sketches are drawn: magenta (a permutation '
        'of the train split per batch, so a seed gives Magenta\'s batches; its cost '
        'grows with the split, about 10 ms at a million sketches), distinct (the '
        'same distribution, batch_size distinct sketches uniformly at random, in '
        'O(batch_size); other draws), or auto (magenta up to 100,000 train '
        'sketches, distinct beyond). A resumed run keeps its checkpoint\'s.',
        ('auto', 'magenta', 'distinct')),
    'max_nonfinite_steps': Flag('integer', 20,
                                'Stop after this many steps in a row whose loss or '
                                'gradients are not finite (each is skipped, leaving '
                                'weights and optimiser untouched).'),
    'results_json': Flag('string', None,
                         'Also write the numbers, unrounded, to this JSON file.'),
    'mode': Flag('enum', 'prior',
                 'prior: sketches from z ~ N(0, prior_scale^2 I); posterior: from '
                 'the aggregate posterior (one z ~ q(z|x) of each of num random '
                 'test sketches); reconstruct: test sketches and their decodings; '
                 'interpolate: slerp between two test sketches; complete: the '
                 'first prefix_points points of num test sketches (or of '
                 '--sketches), each continued `completions` times; encode: the '
                 'posterior means of every sketch of --sketches, to --out (.npy).',
                 ('prior', 'posterior', 'reconstruct', 'interpolate', 'complete',
                  'encode')),
    'sketches': Flag('string', None,
                     'complete, encode: a stroke-3 .npz of your own sketches, in the '
                     'units of the training data (normalised by the model\'s '
                     'scale_factor): Magenta\'s layout (train, valid, test, taken '
                     'in that order) or a single array of sketches.'),
    'prefix_points': Flag('integer', 10,
                          'complete: the points of each sketch given to the model; '
                          'sketches not longer are skipped (test) or refused.'),
    'completions': Flag('integer', 4, 'complete: continuations drawn per prefix.'),
    'truncate': Flag('boolean', False,
                     'encode: cut a sketch longer than the model\'s max_seq_len to '
                     'it, instead of refusing the file.'),
    'prior_scale': Flag('string', '1',
                        'The prior\'s standard deviation in --mode=prior: a number '
                        '(1: N(0, I), Magenta\'s sampler), or "model" for the '
                        'run\'s scale, N(0, scale^2 I), the spread of the z its '
                        'decoder saw in training.'),
    'num': Flag('integer', 16,
                'Sketches (prior), test sketches (reconstruct) or interpolation '
                'steps.'),
    'temperature': Flag('float', 0.5, 'Sampling temperature (> 0).'),
    'greedy': Flag('boolean', False,
                   'Greedy decoding: the most likely component and pen state, its '
                   'mean.'),
    'out': Flag('string', None, {
        'sketch_rnn_data': 'The .npz to write (ndjson, svg, strokes).',
        'sketch_rnn_sample': 'The grid to write: .svg, or .png for pixels; default '
                             '<log_root>/sample_<mode>.svg (with --model_json: '
                             'sample_<mode>.svg here). --mode=encode: the .npy of '
                             'posterior means (required).',
        'sketch_rnn_export': 'The browser model to write: NAME.gen.json (an '
                             'unconditional decoder, what @magenta/sketch runs) or '
                             'NAME.vae.json (encoder and decoder).',
        'scale_sweep': 'The study folder: runs in <out>/<name>-<value>/.../'
                       'seed-<k>, one level per --sweep axis (<out>/scale-<s>/'
                       'seed-<k> by default), report.md and results beside them.'}),
    'index_a': Flag('integer', 0, 'interpolate: the first test sketch (file order).'),
    'index_b': Flag('integer', 1, 'interpolate: the second test sketch (file order).'),
    'seq_len': Flag('integer', None,
                    'Points drawn per sketch at most; default the model\'s '
                    'max_seq_len.'),
    'ncols': Flag('integer', None, 'Cells per row of the grid (default: square-ish).'),
    'sweep': Flag('multi_string', ['scale:0.5,1,2,4'],
                  'An axis of the study, NAME:v1,v2,... (e.g. kl_weight:0.25,1): a '
                  'hyperparameter and its values, each parsed as --hparams parses '
                  'name=value; several axes give their grid, one folder level each, '
                  'in the order given. The default applies without --sweep and '
                  '--scales.'),
    'scales': Flag('string', None,
                   'Comma-separated values of scale: the same as '
                   '--sweep=scale:<scales>, the first axis.'),
    'seeds': Flag('string', '1',
                  'Comma-separated seeds; each setting is trained once per seed '
                  '(several give error bars).'),
    'jobs': Flag('integer', 0,
                 'Runs trained at the same time, each in its own process; 0: one '
                 'per GPU, or 1 without a GPU.'),
    'gpus': Flag('string', 'auto',
                 'GPUs to spread the runs over, one per job through '
                 'CUDA_VISIBLE_DEVICES: auto (CUDA_VISIBLE_DEVICES, else '
                 'nvidia-smi), a list such as 0,1,2,3, or none (leave '
                 'CUDA_VISIBLE_DEVICES alone).'),
    'diversity_samples': Flag('integer', 32, {
        None: DIVERSITY_HELP,
        'sketch_rnn_eval': 'With --metrics: ' + DIVERSITY_HELP.lower()}),
    'eval_sketches': Flag('integer', 256, {
        None: EVAL_SKETCHES_HELP,
        'sketch_rnn_eval': 'With --metrics: ' + EVAL_SKETCHES_HELP.lower()}),
    'iwae_samples': Flag('integer', 64, {
        None: IWAE_HELP, 'sketch_rnn_eval': 'With --metrics: ' + IWAE_HELP.lower()}),
    'classifier': Flag('string', None, 'With --metrics: ' + CLASSIFIER_HELP.lower()),
    'eval_seed': Flag('integer', 0,
                      'Seed of eps and of the prior samples in the evaluation (the '
                      'same for every run, so runs are compared on the same '
                      'draws); passed to sketch_rnn_eval --metrics as --seed.'),
    'metrics': Flag('boolean', False,
                    'Score the checkpoint on the scale study\'s metrics '
                    '(sketch_rnn/metrics.py, the test split) instead of the valid '
                    'and test costs: --results_json gets the record of a study '
                    'run\'s metrics.json, --seed seeds eps and the prior samples.'),
    'model_json': Flag('string', None,
                       'A browser model (NAME.gen.json or NAME.vae.json, as '
                       'Magenta.js loads it) to use instead of --log_root; data is '
                       'normalised by its scale_factor.'),
    'init_from': Flag('string', None,
                      'Start a new run from a browser model (NAME.gen.json or '
                      'NAME.vae.json): its architecture and weights, a fresh '
                      'optimiser; --hparams may change everything but the '
                      'architecture.'),
    'grid': Flag('string', None,
                 'With --metrics: also draw prior samples, reconstructions and an '
                 'interpolation into this SVG (a study run\'s grid.svg).'),
    # sketch_rnn_data's
    'epsilon': Flag('float', 2.0,
                    'Ramer-Douglas-Peucker tolerance in units of the 0-255 box '
                    '(QuickDraw: 2.0; 0 keeps every point).'),
    'split': Flag('string', '70000,2500,2500',
                  'train,valid,test per class: counts (QuickDraw\'s, scaled down '
                  'together when a class has fewer drawings) or fractions such as '
                  '0.9,0.05,0.05.'),
    'recognized_only': Flag('boolean', False,
                            'ndjson: keep only drawings QuickDraw\'s classifier '
                            'recognised ("recognized": true).'),
    'workers': Flag('integer', 0,
                    'ndjson: processes that read the files, a chunk of lines '
                    'each at a time (0: one per core); the .npz is the same for '
                    'any number.'),
    'skip_bad': Flag('boolean', False,
                     'Leave out unreadable drawings (lines, files) and count them, '
                     'instead of stopping at the first.'),
}
HELP_ARGS = ('-h', '-help', '--help', '--helpshort', '-?')


def run_source():
  """(log_root, model_json) of a tool that opens a trained model: the run folder
  or the browser model, not both."""
  if FLAGS.model_json and FLAGS['log_root'].present:
    raise errors.UsageError('give --log_root (a run folder) or --model_json (a '
                            'browser model), not both')
  return (None if FLAGS.model_json else FLAGS.log_root), FLAGS.model_json


def run_data_dir(log_root, optional=False):
  """The --data_dir of a tool that reads a trained run's data: the flag when given
  (it wins) or for a browser model (log_root None); else the folder or URL the run
  was trained on (its data_source.json); else the flag's default, Magenta's URL.

  optional: the data only adds to the result (the export's validation costs), so
  None stands for the default, and a remembered folder that is gone is a warning.
  """
  if FLAGS['data_dir'].present or log_root is None:
    return FLAGS.data_dir
  try:
    remembered = data_source.read(log_root)
  except errors.SketchRNNError as e:
    if not optional:
      raise
    logging.warning('%s to add the data; going on without it.', e)
    return None
  if remembered is not None:
    return remembered
  return None if optional else FLAGS.data_dir


def flag_help(name, tool=None):
  """The help text of a flag, as `tool` means it."""
  text = FLAG_TABLE[name].help
  if isinstance(text, dict):
    return text.get(tool, text.get(None, ''))
  return text


def define_flags(names):
  """Defines these flags of FLAG_TABLE that are not defined yet."""
  for name in names:
    if name in FLAGS:
      continue
    flag = FLAG_TABLE[name]
    text = flag.help
    if isinstance(text, dict):  # absl's --helpfull: every tool's meaning
      text = ' | '.join('%s: %s' % (tool or 'others', t) for tool, t in text.items())
    if flag.kind == 'enum':
      flags.DEFINE_enum(name, flag.default, flag.choices, text)
    else:
      getattr(flags, 'DEFINE_' + flag.kind)(name, flag.default, text)


def help_text(tool, names, doc):
  """A tool's --help: its docstring's usage, then its own flags with defaults."""
  wrap = lambda text, indent: textwrap.fill(
      text, width=88, initial_indent=indent, subsequent_indent=indent)
  lines = (doc or '').strip().splitlines() + ['', 'flags:']
  for name in names:
    flag = FLAG_TABLE[name]
    choices = ' (one of %s)' % ', '.join(flag.choices) if flag.choices else ''
    default = '' if flag.default is None else repr(flag.default)
    repeat = ' (repeatable)' if flag.kind.startswith('multi_') else ''
    lines.append('  --%s%s%s (default: %s)' % (name, choices, repeat,
                                              default or 'none'))
    lines.append(wrap(flag_help(name, tool), '      '))
  lines += ['', 'absl\'s and TensorFlow\'s own flags: --helpfull']
  return '\n'.join(lines)


def _parse_flags(argv, tool, names, doc):
  if any(arg in HELP_ARGS for arg in argv[1:]):
    print(help_text(tool, names, doc))
    sys.exit(0)
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print('%s: error: %s' % (os.path.basename(argv[0]), e), file=sys.stderr)
    sys.exit(2)


def run(main, tool, names, argv=None):
  """app.run(main) with --help for `tool`'s flags, and a user error as one line on
  stderr with exit code 1 (2 for a bad command line)."""
  doc = sys.modules[main.__module__].__doc__
  try:
    app.run(main, argv=argv,
            flags_parser=lambda args: _parse_flags(args, tool, names, doc))
  except errors.SketchRNNError as e:
    print('%s: error: %s' % (tool, e), file=sys.stderr)
    sys.exit(2 if isinstance(e, errors.UsageError) else 1)
