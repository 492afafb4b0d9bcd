"""Shared test fixtures: the ../shared locator, the bundled data, tiny hyperparameters,
and the tiny scale study that test_scale_sweep, test_study and test_study_report
read, and a tiny two-axis study (each trained once per session).

Tests that start processes carry the `slow` marker (`-m "not slow"` leaves them
out); a test that starts one without it fails, so the marker stays true.
"""

import contextlib
import os
import subprocess
import sys
import tempfile

import pytest

from sketch_rnn import hparams

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), 'shared')
BUNDLED = os.path.join(REPO, 'datasets')
BUNDLED_SET = 'shapes.npz'

# The smallest model worth testing, on the bundled data; each test file overrides
# what it needs (a bigger batch, a run's num_steps, ...).
TINY = dict(data_set=[BUNDLED_SET], enc_rnn_size=16, dec_rnn_size=16, z_size=8,
            num_mixture=3, batch_size=8)


def tiny_values(**overrides):
  values = dict(TINY)
  values.update(overrides)
  return values


def tiny_hparams(**overrides):
  """The default hyperparameters with TINY and the overrides set."""
  hps = hparams.get_default_hparams()
  for name, value in tiny_values(**overrides).items():
    hps.set_hparam(name, value)
  return hps


def tiny_text(**overrides):
  """TINY and the overrides as an --hparams string."""
  def text(value):
    if isinstance(value, list):
      return '[%s]' % ','.join(value)
    return str(value)
  return ','.join('%s=%s' % (k, text(v)) for k, v in tiny_values(**overrides).items())


def run_data_tool(*argv):
  """sketch_rnn_data's exit code for argv, run in this process."""
  from unittest import mock  # pylint: disable=g-import-not-at-top
  from sketch_rnn import sketch_rnn_data  # pylint: disable=g-import-not-at-top
  with mock.patch.object(sys, 'argv', ['sketch_rnn_data', *argv]):
    with pytest.raises(SystemExit) as e:
      sketch_rnn_data.run_main()
  return e.value.code


@pytest.fixture
def reset_flags():
  """sketch_rnn_data's flags back to their defaults after the test."""
  yield
  from absl import flags  # pylint: disable=g-import-not-at-top
  from sketch_rnn import sketch_rnn_data  # pylint: disable=g-import-not-at-top
  for name in sketch_rnn_data.FLAG_NAMES:
    flags.FLAGS[name].unparse()


@pytest.fixture
def tiny_hps():
  return tiny_hparams()


def train_losses(train_set, hps, steps, seed=0):
  """The costs of `steps` train steps (Magenta's schedules) of a fresh model on
  random batches of train_set."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from sketch_rnn import model as sketch_rnn_model  # pylint: disable=g-import-not-at-top
  model = sketch_rnn_model.Model(hps, seed=seed)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  step = tf.function(sketch_rnn_model.train_step)
  losses = []
  for s in range(steps):
    _, x, lengths = train_set.random_batch()
    losses.append(float(step(model, adam, x, lengths,
                             tf.constant(sketch_rnn_model.learning_rate(hps, s)),
                             tf.constant(sketch_rnn_model.kl_weight(hps, s)))[0]))
  return losses


def rescaled_twin(model, scale):
  """The scale-1 model equivalent to `model` at `scale` (docs/study.md): with
  z = scale z', mu's head divided by scale and every weight that z meets (the
  initial state's, the z rows of the decoder's input weights and, in the hyper
  cell, of the hyper LSTM's) multiplied by it."""
  from sketch_rnn import model as sketch_rnn_model  # pylint: disable=g-import-not-at-top
  hps = model.hps.copy()
  hps.scale = 1.0
  twin = sketch_rnn_model.Model(hps, seed=0)
  mine = model.magenta_variables()
  for name, var in twin.magenta_variables().items():
    var.assign(mine[name])
  twin.mu_w.assign(model.mu_w / scale)
  twin.mu_b.assign(model.mu_b / scale)
  twin.init_w.assign(model.init_w * scale)
  z_rows = slice(5, 5 + hps.z_size)  # the decoder's input is [x (stroke-5), z]
  kernels = [twin.dec.W_xh] + ([twin.dec.hyper_cell.W_xh]
                               if hasattr(twin.dec, 'hyper_cell') else [])
  for w in kernels:
    w[z_rows].assign(w[z_rows] * scale)
  return twin


def shared_path(*parts):
  """A path under ../shared, or skip the test when that folder is absent."""
  path = os.path.join(SHARED, *parts)
  if not os.path.exists(path):
    pytest.skip('../shared/%s is absent' % '/'.join(parts))
  return path


# -- the tiny scale study ------------------------------------------------------------

SWEEP_HPARAMS = tiny_text(num_steps=30, save_every=15)
SWEEP_SCALES = (0.5, 2.0)


def sweep(out, *args, scales='0.5,2', script=False, hparams=SWEEP_HPARAMS,
          data_dir=BUNDLED):
  """Runs the sweep as a user does (scales=None: no --scales, data_dir=None: no
  --data_dir); returns (exit code, output)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  program = ([os.path.join(REPO, 'scripts', 'scale_sweep.py')] if script
             else ['-m', 'sketch_rnn.scale_sweep'])
  proc = subprocess.run(
      [sys.executable, *program, '--out=' + out,
       *(['--data_dir=' + data_dir] if data_dir is not None else []),
       *(['--scales=' + scales] if scales is not None else []),
       '--hparams=' + hparams, '--diversity_samples=6', '--eval_sketches=12',
       *args],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
  return proc.returncode, proc.stdout + proc.stderr


def run_folders(out):
  return [os.path.join(out, 'scale-%g' % s, 'seed-1') for s in SWEEP_SCALES]


def report_table(text):
  """{metric title: [cells]} of report.md's results table."""
  section = text.split('## Results', 1)[1].split('\n## ', 1)[0]
  rows = {}
  for line in section.splitlines():
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) > 2 and cells[0] not in ('metric', '---'):
      rows[cells[0]] = cells[2:]
  return rows


@pytest.fixture(scope='session')
def tiny_sweep(tmp_path_factory):
  """(study folder, the sweep's output) of two scales, one seed, 30 steps."""
  out = str(tmp_path_factory.mktemp('sweep') / 'study')
  code, log = sweep(out, '--jobs=2')
  assert code == 0, log
  return out, log


# Two axes, 2 x 2 settings, one seed, as few steps as train and score.
GRID_AXES = (('scale', (0.5, 2.0)), ('kl_weight', (0.5, 1.0)))
GRID_HPARAMS = tiny_text(num_steps=4, save_every=4)


@pytest.fixture(scope='session')
def tiny_grid(tmp_path_factory):
  """(study folder, the sweep's output) of --sweep=scale:0.5,2
  --sweep=kl_weight:0.5,1, one seed, 4 steps."""
  out = str(tmp_path_factory.mktemp('grid') / 'study')
  # The fewest evaluation draws the metrics take (the later flag wins).
  code, log = sweep(out, '--jobs=2', '--sweep=scale:0.5,2', '--sweep=kl_weight:0.5,1',
                    '--diversity_samples=2', '--eval_sketches=2', scales=None,
                    hparams=GRID_HPARAMS)
  assert code == 0, log
  return out, log


def pytest_configure(config):
  config.addinivalue_line('markers', 'slow: starts processes (train, sweep, ...)')
  # The user cache (the sketch classifier of final_grids, fetched data) of this
  # session only: nothing of the tests' left in ~/.cache, nothing of it read back.
  os.environ['SKETCH_RNN_CACHE'] = tempfile.mkdtemp(prefix='sketch_rnn_cache-')


@contextlib.contextmanager
def _no_processes(item):
  """Starting a process inside fails the test, unless it is marked slow."""
  if item.get_closest_marker('slow') is not None:
    yield
    return
  start = subprocess.Popen._execute_child  # pylint: disable=protected-access
  record = os.environ.get('SKETCH_RNN_RECORD_SLOW')

  def refuse(*args, **kwargs):
    if record:
      with open(record, 'a') as f:
        f.write(item.nodeid + '\n')
      return start(*args, **kwargs)
    raise AssertionError('%s starts a process: mark it @pytest.mark.slow'
                         % item.nodeid)

  subprocess.Popen._execute_child = refuse  # pylint: disable=protected-access
  try:
    yield
  finally:
    subprocess.Popen._execute_child = start  # pylint: disable=protected-access


# The setup too: a module's fixture may start the processes its tests read.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
  with _no_processes(item):
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
  with _no_processes(item):
    yield
