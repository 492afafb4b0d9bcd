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
"""The study's plan, from the command line: the --sweep axes and the grid of their
settings, the seeds, the shared --hparams, the GPUs.

A setting is one point of the grid, ((name, value), ...) with the axes in the order
given; its runs live in <out>/<name>-<value>/.../seed-<k> (floats as '%g', so the
default study's are <out>/scale-0.5/seed-1) and train with the shared --hparams
plus name=value for each axis.
"""

import difflib
import itertools
import os
import re
import subprocess

from sketch_rnn import errors
from sketch_rnn import hparams

DEFAULT_SWEEP = 'scale:0.5,1,2,4'
# Not axes: each run trains to the shared num_steps (the sweep's finish line),
# and the data overwrites max_seq_len, so its runs would all be the same.
NOT_AXES = {'num_steps': 'every run trains to the num_steps of --hparams',
            'max_seq_len': 'the data sets it, whatever --hparams says'}


def value_text(value):
  """A setting's value as folder names and labels show it: floats as '%g'."""
  if isinstance(value, float):
    return '%g' % value
  return str(value)


def hparam_text(name, value):
  """name=value in the --hparams grammar (a float's repr: no digit lost)."""
  return '%s=%s' % (name, repr(value) if isinstance(value, float) else value)


def axis_folder(name, value):
  return '%s-%s' % (name, value_text(value))


def run_name(setting, seed):
  """The run's folder relative to the study's: <name>-<value>/.../seed-<k>."""
  return '/'.join([axis_folder(n, v) for n, v in setting] + ['seed-%d' % seed])


def setting_label(setting):
  """'scale 2, kl_weight 0.25': how the report names a setting."""
  return ', '.join('%s %s' % (n, value_text(v)) for n, v in setting)


def _seed(item):
  if not re.fullmatch(r'\d+', item) or int(item) >= 2**32:
    raise errors.UsageError('--seeds: %r is not an integer in [0, 2^32)' % item)
  return int(item)


def parse_seeds(text):
  """'1,2,3' -> [1, 2, 3]; none, or one given twice, is refused."""
  items = [t.strip() for t in (text or '').split(',') if t.strip()]
  if not items:
    raise errors.UsageError('--seeds: give at least one seed, e.g. 1 or 1,2,3')
  seeds = []
  for item in items:
    seed = _seed(item)
    if seed in seeds:
      raise errors.UsageError('--seeds: %s is given twice' % item)
    seeds.append(seed)
  return seeds


def parse_axis(text, flag='--sweep'):
  """'kl_weight:0.25,1' -> ('kl_weight', (0.25, 1.0)), each value parsed as --hparams
  parses it; flag: how the messages name where the text came from."""
  name, colon, items = (text or '').partition(':')
  name = name.strip()
  if not colon or not name:
    raise errors.UsageError('%s: expected NAME:v1,v2,..., e.g. kl_weight:0.25,1; '
                            'got %r' % (flag, text))
  defaults = hparams.get_default_hparams()
  if name not in defaults:
    close = difflib.get_close_matches(name, list(defaults.values()), n=3)
    raise errors.UsageError('%s: unknown hyperparameter %r%s' % (
        flag, name, ' (did you mean %s?)' % ' or '.join(close) if close else
        '; the names are in sketch_rnn/hparams.py'))
  if isinstance(getattr(defaults, name), list):
    raise errors.UsageError('%s: %s is a list; a study varies one value at a time '
                            '(set it in --hparams)' % (flag, name))
  if name in NOT_AXES:
    raise errors.UsageError('%s: %s cannot be an axis: %s' % (flag, name,
                                                              NOT_AXES[name]))
  items = [t.strip() for t in items.split(',') if t.strip()]
  if not items:
    raise errors.UsageError('%s: give at least one value of %s, e.g. '
                            '--sweep=%s:0.5,1' % (flag, name, name))
  values = []
  for item in items:
    try:
      value = getattr(hparams.get_default_hparams().parse(
          '%s=%s' % (name, item)), name)
    except errors.UsageError as e:
      raise errors.UsageError('%s: %s' % (flag, e)) from None
    # By folder name: 1 and 1.0, or True and 1, would be the same run.
    if axis_folder(name, value) in [axis_folder(name, v) for v in values]:
      raise errors.UsageError('%s: %s=%s is given twice (folder %s)' % (
          flag, name, item, axis_folder(name, value)))
    values.append(value)
  return name, tuple(values)


def parse_sweep(sweeps, scales=None):
  """The study's axes, [(name, (values...))] in the order given, from --sweep (a
  list of NAME:v1,v2 texts) and --scales (the shorthand of --sweep=scale:...,
  first); neither: DEFAULT_SWEEP."""
  axes = []
  if scales is not None:
    axes.append(parse_axis('scale:' + scales, '--scales'))
  for text in sweeps or ():
    name, values = parse_axis(text)
    if name in [n for n, _ in axes]:
      raise errors.UsageError(
          '--sweep: %s is given twice%s' % (name, ' (--scales is --sweep=scale:...)'
                                           if name == 'scale' and scales is not None
                                           else ''))
    axes.append((name, values))
  return axes or [parse_axis(DEFAULT_SWEEP)]


def axes_text(axes):
  """'scale 0.5, 2 x kl_weight 0.5, 1'."""
  return ' x '.join('%s %s' % (n, ', '.join(map(value_text, v))) for n, v in axes)


def settings(axes):
  """Every point of the grid, as a setting: ((name, value), ...), in the axes'
  order; the first axis varies slowest."""
  names = [n for n, _ in axes]
  return [tuple(zip(names, values))
          for values in itertools.product(*[v for _, v in axes])]


def setting_hparams(hps, setting):
  """A copy of the shared hyperparameters with the setting's values."""
  hps = hps.copy()
  for name, value in setting:
    hps.set_hparam(name, value)
  return hps


def hparam_names(text):
  """The names an --hparams string sets (the values are left to HParams.parse)."""
  # A list's items hold no '=', so only real names match.
  return re.findall(r'(?:^|,)\s*([a-zA-Z][\w.]*)\s*=', text)


def _check_conditional(hps, where):
  if not hps.conditional:
    raise errors.UsageError('%s: conditional=False has no encoder, and the study\'s '
                            'metrics and scale need one; keep conditional=True'
                            % where)


def shared_hparams(text, axes):
  """Checks the shared --hparams against the axes, and every point of the grid
  (before any run starts): (cleaned text, HParams with them)."""
  text = (text or '').strip().rstrip(',').strip()
  hps = hparams.get_default_hparams().parse(text)
  names = hparam_names(text)
  for name, values in axes:
    if name in names:
      raise errors.UsageError('--hparams: leave %s out; --%s varies it (%s)' % (
          name, 'sweep' if name != 'scale' else 'sweep or --scales',
          axes_text([(name, values)])))
  if 'num_steps' not in names:
    raise errors.UsageError(
        '--hparams must set num_steps (the default, %d, never finishes), e.g. '
        '--hparams="data_set=[shapes.npz],num_steps=2000"' % hps.num_steps)
  _check_conditional(hps, '--hparams')
  hparams.validate_hparams(hps)
  for setting in settings(axes):
    point = setting_hparams(hps, setting)
    where = '--sweep, at %s' % setting_label(setting)
    _check_conditional(point, where)
    try:
      hparams.validate_hparams(point)
    except errors.UsageError as e:
      raise errors.UsageError('%s: %s' % (where, e)) from None
  return text, hps


def with_setting(text, setting):
  """The shared --hparams text with this run's setting added."""
  return ','.join([text] * bool(text) + [hparam_text(n, v) for n, v in setting])


def detect_gpus(spec):
  """The GPU ids to hand out, one per job (empty: leave the devices alone)."""
  spec = (spec or '').strip().lower()
  if spec in ('', 'none'):
    return []
  if spec != 'auto':
    ids = [g.strip() for g in spec.split(',') if g.strip()]
    if not all(re.fullmatch(r'[\w:-]+', g) for g in ids):
      raise errors.UsageError('--gpus: expected auto, none or ids like 0,1,2; got %r'
                             % spec)
    return ids
  visible = os.environ.get('CUDA_VISIBLE_DEVICES')
  if visible is not None:
    return [g.strip() for g in visible.split(',') if g.strip() not in ('', '-1')]
  try:
    proc = subprocess.run(['nvidia-smi', '--query-gpu=index', '--format=csv,noheader'],
                          capture_output=True, text=True, timeout=60, check=False)
  except (OSError, subprocess.SubprocessError):
    return []
  if proc.returncode != 0:
    return []
  return [line.strip() for line in proc.stdout.splitlines() if line.strip()]
