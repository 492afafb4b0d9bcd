"""The training and evaluation CLIs, end to end, as a user runs them."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from unittest import mock

from absl import flags
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from sketch_rnn import checkpoints
from sketch_rnn import cli as sketch_rnn_cli
from sketch_rnn import data_source
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sketch_rnn_eval
from sketch_rnn import sketch_rnn_sample
from sketch_rnn import utils

from conftest import BUNDLED, BUNDLED_SET, REPO, shared_path, tiny_hparams, tiny_text
from conftest import train_losses

TINY = tiny_text(num_steps=45, save_every=20, dec_rnn_size=24)
# Magenta's log lines, byte for byte (anything of ours comes after them).
TRAIN_LINE = re.compile(
    r'step: (\d+), lr: (\d+\.\d{6}), klw: (\d+\.\d{4}), cost: (-?\d+\.\d{4}), '
    r'recon: (-?\d+\.\d{4}), kl: (\d+\.\d{4}), train_time_taken: (\d+\.\d{4})')
VALID_LINE = re.compile(
    r'best_valid_cost: (-?\d+\.\d{4}), valid_cost: (-?\d+\.\d{4}), valid_recon: '
    r'(-?\d+\.\d{4}), valid_kl: (\d+\.\d{4}), valid_time_taken: (\d+\.\d{4})')
EVAL_LINE = re.compile(
    r'eval_cost: (-?\d+\.\d{4}), eval_recon: (-?\d+\.\d{4}), '
    r'eval_kl: (\d+\.\d{4}), eval_time_taken: (\d+\.\d{4})')
TAGS = {'Num_Trainable_Params', 'Train_Cost', 'Train_Reconstr_Cost', 'Train_KL_Cost',
        'Learning_Rate', 'KL_Weight', 'Time_Taken_Train', 'Valid_Cost',
        'Valid_Reconstr_Cost', 'Valid_KL_Cost', 'Time_Taken_Valid', 'Best_Valid_Cost',
        'Eval_Cost', 'Eval_Reconstr_Cost', 'Eval_KL_Cost', 'Time_Taken_Eval'}


def cli(module, *args, cwd=None, timeout=600):
  """Runs `python -m sketch_rnn.<module> args`; returns (exit code, output)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run([sys.executable, '-m', 'sketch_rnn.' + module, *args],
                        cwd=cwd or REPO, env=env, capture_output=True, text=True,
                        timeout=timeout, check=False)
  return proc.returncode, proc.stdout + proc.stderr


def events(log_root):
  """{tag: {step: value}} of the scalars, and the set of image tags."""
  scalars, images = {}, set()
  for path in glob.glob(os.path.join(log_root, 'events.out.tfevents.*')):
    for record in tf.data.TFRecordDataset(path):
      event = event_pb2.Event.FromString(record.numpy())
      for value in event.summary.value:
        if value.metadata.plugin_data.plugin_name == 'images':
          images.add(value.tag)
          continue
        number = float(tf.make_ndarray(value.tensor)) if value.HasField(
            'tensor') else value.simple_value
        scalars.setdefault(value.tag, {})[event.step] = number
  return scalars, images


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  log_root = str(tmp_path_factory.mktemp('run') / 'tiny')
  code, out = cli('sketch_rnn_train', '--log_root=' + log_root,
                  '--data_dir=' + BUNDLED, '--seed=3', '--num_samples=4',
                  '--hparams=' + TINY)
  assert code == 0, out
  return log_root, out


@pytest.mark.slow
def test_log_lines_are_magentas(tiny_run):
  _, out = tiny_run
  steps = [int(m.group(1)) for m in TRAIN_LINE.finditer(out)]
  assert steps == [20, 40]
  # after steps 21 and 41 (save_every=20), then the last one, 45
  assert len(VALID_LINE.findall(out)) == 3
  assert len(EVAL_LINE.findall(out)) >= 1
  assert 'Total trainable variables' in out
  assert re.search(r'Training on CPU; seed 3\.', out)
  first = TRAIN_LINE.search(out)
  hps = sketch_rnn_model.get_default_hparams()
  assert float(first.group(2)) == pytest.approx(
      sketch_rnn_model.learning_rate(hps, 20), abs=1e-6)
  assert float(first.group(3)) == pytest.approx(
      sketch_rnn_model.kl_weight(hps, 20), abs=1e-4)


@pytest.mark.slow
def test_events_hold_magentas_tags(tiny_run):
  log_root, out = tiny_run
  scalars, images = events(log_root)
  assert TAGS <= set(scalars), TAGS - set(scalars)
  assert scalars['Num_Trainable_Params'][0] == float(
      re.search(r'Total trainable variables (\d+)', out).group(1))
  assert sorted(scalars['Train_Cost']) == [21, 41]  # written at global step
  assert sorted(scalars['Valid_Cost']) == sorted(scalars['Time_Taken_Valid']) == [
      21, 41, 45]
  cost = float(TRAIN_LINE.search(out).group(4))
  assert scalars['Train_Cost'][21] == pytest.approx(cost, abs=1e-4)
  assert 'Samples' in images


@pytest.mark.slow
def test_checkpoints_and_model_config_round_trip(tiny_run):
  log_root, out = tiny_run
  names = sorted(os.path.basename(p) for p in glob.glob(log_root + '/vector-*.index'))
  assert names == ['vector-21.index', 'vector-41.index', 'vector-45.index']
  assert os.path.exists(os.path.join(log_root, 'samples.svg'))
  # The recognition figure is the grid's captions: 10 test sketches of each kind.
  svg = open(os.path.join(log_root, 'reconstructions.svg')).read()
  decoded = re.findall(r'<text[^>]*>([^<]*)</text>', svg)[1::2]
  right, count = map(int, re.search(r'recognises (\d+) of (\d+) greedy', out).groups())
  assert count == len(decoded) == 120
  assert right == sum(not c.endswith('(wrong)') for c in decoded)
  config = json.load(open(os.path.join(log_root, 'model_config.json')))
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  hps.max_seq_len = utils.get_max_len(
      sum(utils.load_npz(os.path.join(BUNDLED, BUNDLED_SET)).values(), []))
  assert config == hps.values()  # the whole dict, not Magenta's keys only
  back = checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())
  assert back == hps
  model = sketch_rnn_model.Model(back, seed=0)
  assert checkpoints.restore_weights(os.path.join(log_root, 'vector-41'), model) == 41


@pytest.mark.slow
def test_resume_continues_where_it_stopped(tiny_run, tmp_path):
  log_root = str(tmp_path / 'resumed')
  shutil.copytree(tiny_run[0], log_root)
  # No --data_dir, from another folder: the run goes on with its own data.
  code, out = cli('sketch_rnn_train', '--log_root=' + log_root, '--resume_training',
                  '--num_samples=0', '--hparams=num_steps=65', cwd=str(tmp_path))
  assert code == 0, out
  assert 'Resumed %s at step 45 (best valid cost' % os.path.join(log_root,
                                                               'vector-45') in out
  assert 'Training on CPU; the random states come from the checkpoint.' in out
  assert '; seed ' not in out  # no fresh seed to wonder about
  steps = [int(m.group(1)) for m in TRAIN_LINE.finditer(out)]
  assert steps == [60]  # 20 more steps to num_steps=65 in all, not 65 more
  hps = sketch_rnn_model.get_default_hparams()
  line = TRAIN_LINE.search(out)
  assert float(line.group(2)) == pytest.approx(sketch_rnn_model.learning_rate(hps, 60),
                                               abs=1e-6)
  assert float(line.group(3)) == pytest.approx(sketch_rnn_model.kl_weight(hps, 60),
                                               abs=1e-4)
  # the best cost came back: the first validation compares against it
  before = [float(m.group(2)) for m in VALID_LINE.finditer(tiny_run[1])]
  best = float(VALID_LINE.search(out).group(1))
  assert best == pytest.approx(min(before + [float(VALID_LINE.search(out).group(2))]))
  run = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(
      checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())))
  assert run.restore(data_rng=np.random.RandomState())[0] == 65
  assert run.data_sampler == 'magenta'  # 'auto' on a small split, as saved
  # validated after step 61 and after the last, 65, before its save
  assert len(VALID_LINE.findall(out)) == 2
  saved = re.search(r'saving (final )?model %s\.' % re.escape(
      os.path.join(log_root, 'vector-65')), out)
  assert saved and list(VALID_LINE.finditer(out))[-1].start() < saved.start(), out
  assert sorted(s for s in events(log_root)[0]['Valid_Cost'] if s > 45) == [61, 65]


def test_a_resume_keeps_the_sampler_its_random_state_fed(caplog):
  from sketch_rnn import sketch_rnn_train  # pylint: disable=g-import-not-at-top
  train = utils.DataLoader([np.ones((3, 3), np.int16)] * 10, batch_size=2)
  assert train.batch_sampler == 'magenta'
  sketch_rnn_train._keep_sampler(train, 'distinct', 'auto')  # pylint: disable=protected-access
  assert train.batch_sampler == 'distinct'
  sketch_rnn_train._keep_sampler(train, None, 'auto')  # no data state saved  # pylint: disable=protected-access
  assert train.batch_sampler == 'distinct'
  train.sampler = 'magenta'
  sketch_rnn_train._keep_sampler(train, 'distinct', 'magenta')  # pylint: disable=protected-access
  assert train.batch_sampler == 'magenta'
  assert 'differ from those of an uninterrupted run' in caplog.text


@pytest.mark.slow
def test_thread_pools_are_set_for_the_runs_precision_before_tensorflow_starts(
    tiny_run, tmp_path, monkeypatch):
  """On resume the precision is the run's (model_config.json), known before the
  strategy starts TensorFlow's runtime, whose thread pools are then fixed."""
  from sketch_rnn import distribute, runtime, sketch_rnn_train  # pylint: disable=g-import-not-at-top
  log_root = str(tmp_path / 'bf16')
  shutil.copytree(tiny_run[0], log_root)
  path = os.path.join(log_root, 'model_config.json')
  config = json.load(open(path))
  config['precision'] = 'bfloat16'
  json.dump(config, open(path, 'w'))
  calls = []

  class Started(Exception):
    pass

  def make_strategy(*unused):
    calls.append('strategy')
    raise Started()

  monkeypatch.setattr(runtime, 'configure_threads', lambda p: calls.append(p))
  monkeypatch.setattr(distribute, 'make_strategy', make_strategy)
  with pytest.raises(Started):
    sketch_rnn_train.trainer(
        sketch_rnn_model.get_default_hparams(),
        sketch_rnn_train.Options(data_dir=BUNDLED, log_root=log_root,
                                 resume_training=True, hparams='num_steps=50'))
  assert calls == ['bfloat16', 'strategy']


def test_same_seed_same_first_30_losses():
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  def losses(seed):
    train_set, _, _, h, _, _ = utils.load_dataset(BUNDLED, hps, seed=seed)
    return train_losses(train_set, h, 30, seed)
  first = losses(11)
  assert first == losses(11)
  assert first != losses(12)


@pytest.mark.parametrize('args,message,code', [
    (['--no_such_flag=1'], "Unknown command line flag 'no_such_flag'", 2),
    (['--seed=abc'], "flag --seed=abc: invalid literal", 2),
    (['--hparams=data_set=[missing.npz]'], 'missing.npz: no such file', 1),
    (['--hparams=data_set=[%s],scal=2' % BUNDLED_SET],
     "unknown hyperparameter 'scal' (did you mean 'scale'?)", 2),
    (['--hparams=data_set=[%s],dec_model=gru' % BUNDLED_SET], "dec_model='gru'", 2),
    (['--resume_training', '--hparams=data_set=[%s]' % BUNDLED_SET],
     '--resume_training: no checkpoint', 1),
])
@pytest.mark.slow
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message, code):
  log_root = str(tmp_path / 'untouched')
  status, out = cli('sketch_rnn_train', '--log_root=' + log_root,
                    '--data_dir=' + BUNDLED, *args)
  assert status == code, out
  assert 'Traceback' not in out
  errors = [line for line in out.splitlines() if ': error: ' in line]
  assert len(errors) == 1 and message in errors[0], out
  assert not os.path.exists(log_root)


@pytest.mark.slow
def test_seed_command_runs_verbatim_on_six_quickdraw_files(tmp_path):
  data = tmp_path / 'datasets'
  data.mkdir()
  rng = np.random.default_rng(0)
  names = ['apple', 'donut', 'bus', 'table', 'calculator', 'power_outlet']
  for k, name in enumerate(names):
    splits = {}
    for split, n in (('train', 120), ('valid', 100), ('test', 100)):
      arr = np.empty(n, dtype=object)
      for i in range(n):
        s = np.zeros((int(rng.integers(3, 6 + k)), 3), np.int16)
        s[:, 0:2] = rng.integers(-20, 20, size=(len(s), 2))
        s[-1, 2] = 1
        arr[i] = s
      splits[split] = arr
    np.savez(data / (name + '.npz'), **splits)
  command = [
      sys.executable, os.path.join(REPO, 'sketch_rnn', 'sketch_rnn_train.py'),
      '--log_root=checkpoints', '--data_dir=datasets',
      '--hparams=data_set=[apple.npz, donut.npz, bus.npz, table.npz, calculator.npz, '
      'power_outlet.npz],scale=1.0, num_steps=10000,save_every=100,'
      'use_recurrent_dropout=0,kl_decay_rate=0.9999,min_learning_rate=0.0001']
  proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  lines = []
  deadline = time.time() + 300
  try:
    for line in proc.stdout:
      lines.append(line)
      if TRAIN_LINE.search(line) or time.time() > deadline:
        break
  finally:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
  out = ''.join(lines)
  assert TRAIN_LINE.search(out), out[-3000:]
  assert 'Dataset: 720/600/600 sketches, max_seq_len 10.' in out
  config = json.load(open(tmp_path / 'checkpoints' / 'model_config.json'))
  assert config['data_set'] == [n + '.npz' for n in names]
  assert config['use_recurrent_dropout'] is False and config['num_steps'] == 10000


# --- the first hour: errors first, the run's data remembered, the last step scored ----

# scale 0 (z = mu) makes a validation cost a function of the weights and the data.
FINAL = tiny_text(num_steps=10, save_every=4, scale=0)


@pytest.fixture(scope='module')
def final_run(tmp_path_factory):
  """A run trained as the quick start does, with --data_dir=datasets relative to
  the checkout, validated after steps 5 and 9, and then after the last, 10."""
  log_root = str(tmp_path_factory.mktemp('final') / 'run')
  code, out = cli('sketch_rnn_train', '--log_root=' + log_root, '--data_dir=datasets',
                  '--seed=5', '--num_samples=0', '--hparams=' + FINAL)
  assert code == 0, out
  return log_root, out


def parse_flags(*argv):
  flags.FLAGS.unparse_flags()
  flags.FLAGS(['sketch_rnn_eval', *argv])


def obj(sketches):
  array = np.empty(len(sketches), dtype=object)
  for i, sketch in enumerate(sketches):
    array[i] = sketch
  return array


@pytest.mark.slow
@pytest.mark.parametrize('args,message', [
    (['--data_dir=/nonexistent'], '--data_dir /nonexistent: no such folder'),
    # refused once the data has loaded
    (['--data_dir=' + BUNDLED, '--hparams=data_set=[%s],dec_rnn_size=200000'
      % BUNDLED_SET], 'the model would need about'),
])
def test_a_bad_input_ends_the_output_without_the_hyperparameters(tmp_path, args,
                                                                  message):
  # What a user sees: TensorFlow's variable unset.
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  proc = subprocess.run(
      [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train',
       '--log_root=' + str(tmp_path / 'x'), *args],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 1, proc.stderr
  lines = (proc.stdout + proc.stderr).strip().splitlines()
  assert lines[-1].startswith('sketch_rnn_train: error: ') and message in lines[-1]
  assert not [l for l in lines if 'Hyperparams:' in l or ' = ' in l], lines
  assert len(lines) == 2 and lines[0].endswith('] Loading data files.'), lines


@pytest.mark.slow
def test_the_last_step_is_validated_and_is_the_final_checkpoints_cost(final_run,
                                                                     tmp_path):
  log_root, out = final_run
  scalars, _ = events(log_root)
  for tag in ('Valid_Cost', 'Valid_Reconstr_Cost', 'Valid_KL_Cost', 'Time_Taken_Valid'):
    assert sorted(scalars[tag]) == [5, 9, 10], tag
  final = os.path.join(log_root, 'vector-10')
  assert checkpoints.latest_checkpoint(log_root) == final
  lines = VALID_LINE.findall(out)
  assert len(lines) == 3
  saved = re.search(r'saving (final )?model %s\.' % re.escape(final), out)
  assert saved and list(VALID_LINE.finditer(out))[-1].start() < saved.start()
  assert float(lines[-1][4]) >= 0  # valid_time_taken, logged
  # sketch_rnn_eval on the final checkpoint, from another folder, without
  # --data_dir (the run's own data): the cost the training logged for it
  result = tmp_path / 'r.json'
  code, text = cli('sketch_rnn_eval', '--log_root=' + log_root,
                   '--results_json=%s' % result, cwd=str(tmp_path))
  assert code == 0, text
  r = json.load(open(result))
  assert r['checkpoint'] == final and r['global_step'] == 10
  assert r['valid_cost'] == pytest.approx(scalars['Valid_Cost'][10], rel=1e-5)
  assert r['valid_recon'] == pytest.approx(scalars['Valid_Reconstr_Cost'][10],
                                           rel=1e-5)
  assert abs(r['valid_cost'] - float(lines[-1][1])) <= 5e-5 + 1e-6


@pytest.mark.slow
def test_a_run_remembers_its_data_and_an_explicit_data_dir_wins(final_run, tmp_path,
                                                                monkeypatch):
  log_root, _ = final_run
  with open(os.path.join(log_root, data_source.DATA_SOURCE)) as f:
    assert json.load(f) == {'data_dir': BUNDLED}  # 'datasets', made absolute
  # Another folder, whose test split is the bundled one at twice the size.
  other = tmp_path / 'other'
  other.mkdir()
  splits = utils.load_npz(os.path.join(BUNDLED, BUNDLED_SET))
  doubled = [s.copy() for s in splits['test']]
  for s in doubled:
    s[:, :2] *= 2
  np.savez(other / BUNDLED_SET, train=obj(splits['train']),
           valid=obj(splits['valid']), test=obj(doubled))
  monkeypatch.chdir(tmp_path)  # where 'datasets' is nothing
  try:
    parse_flags('--log_root=' + log_root)
    remembered = sketch_rnn_cli.run_data_dir(log_root)
    parse_flags('--log_root=' + log_root, '--data_dir=' + str(other))
    given = sketch_rnn_cli.run_data_dir(log_root)
  finally:
    flags.FLAGS.unparse_flags()
  assert remembered == BUNDLED and given == str(other)

  def test_split(data_dir):  # as --mode=reconstruct opens the run
    test_set = checkpoints.open_run(log_root, data_dir, sampling=True).data[2]
    return test_set.in_file_order(range(len(test_set)))
  mine, explicit, theirs = (test_split(d) for d in (remembered, BUNDLED, given))
  assert len(mine) == len(explicit) == len(splits['test'])
  for a, b in zip(mine, explicit):
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
  for a, b in zip(theirs, mine):
    np.testing.assert_array_equal(a[:, :2], 2 * b[:, :2])

  # The symptom of the issue: reconstruct without --data_dir drew from Magenta's URL.
  grid = tmp_path / 'r.svg'
  with mock.patch.object(sys, 'argv', ['sketch_rnn_sample', '--log_root=' + log_root,
                                       '--mode=reconstruct', '--num=2',
                                       '--out=%s' % grid]):
    flags.FLAGS.unparse_flags()
    with pytest.raises(SystemExit) as e:
      sketch_rnn_sample.run_main()
  flags.FLAGS.unparse_flags()
  assert not e.value.code
  assert open(grid).read().count('<g id="cell-') == 4


@pytest.mark.parametrize('start,num_steps,stop_in_last,validated', [
    (0, 6, False, [5, 6]),  # after step 5 (save_every=4), then the last
    (0, 5, False, [5]),  # the last step was just validated
    (0, 6, True, [5]),  # a signal in the last step: saved at once
    (6, 6, False, []),  # resumed at num_steps: nothing trained, nothing to score
])
def test_which_steps_are_validated(tmp_path, monkeypatch, start, num_steps,
                                   stop_in_last, validated):
  from sketch_rnn import sketch_rnn_train  # pylint: disable=g-import-not-at-top
  hps = tiny_hparams(num_steps=num_steps, save_every=4)
  train_set, valid_set, test_set, hps, eval_hps, _ = utils.load_dataset(
      BUNDLED, hps, seed=0)
  model = sketch_rnn_model.Model(hps, seed=0)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  run = checkpoints.RunCheckpoint(str(tmp_path), model, adam)
  if start:
    run.save(start, 1e8)
  signals = sketch_rnn_train.StopSignals()  # not entered: no handler installed
  scored = []

  class Steps:  # Python around the steps: counts, and stops in the last
    def __init__(self):
      self.done = start
      self.step_fn = tf.function(sketch_rnn_model.train_step)
      self.eval_costs = tf.function(sketch_rnn_model.eval_costs)

    def train_step(self, *args):
      self.done += 1
      if stop_in_last and self.done == num_steps:
        signals.received = signal.SIGTERM
      return self.step_fn(*args)

  def evaluate(eval_fn, m, data_set, kl_w,
               evaluate_model=sketch_rnn_model.evaluate_model):
    if data_set is valid_set:
      scored.append(steps.done)
    return evaluate_model(eval_fn, m, data_set, kl_w)

  steps = Steps()
  monkeypatch.setattr(sketch_rnn_model, 'evaluate_model', evaluate)
  reached = sketch_rnn_train.train(
      model, adam, (train_set, valid_set, test_set), hps, eval_hps, run,
      str(tmp_path), start, 1e8, num_samples=0, signals=signals, steps=steps,
      write_events=False)
  assert reached == num_steps and scored == validated
  assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(str(tmp_path))) == (
      num_steps)


def test_a_run_without_data_source_json_or_whose_data_is_gone(tmp_path, capsys):
  old, moved = str(tmp_path / 'old'), str(tmp_path / 'moved')
  os.makedirs(old)
  try:
    parse_flags('--log_root=' + old)
    assert data_source.read(old) is None
    # a run from before the file (or Magenta's): the flag's default, as before
    assert sketch_rnn_cli.run_data_dir(old) == sketch_rnn_cli.MAGENTA_DATA_URL
    assert sketch_rnn_cli.run_data_dir(old, optional=True) is None  # the export: no data
    data_source.write(old, 'https://example.org/data/')
    assert sketch_rnn_cli.run_data_dir(old) == 'https://example.org/data/'  # a URL as given
    os.makedirs(moved)
    data_source.write(old, moved)
    os.rmdir(moved)
    message = ('%s was trained on --data_dir %s (its data_source.json), which no '
               'longer exists; pass --data_dir' % (old, moved))
    with pytest.raises(errors.SketchRNNError) as e:
      sketch_rnn_cli.run_data_dir(old)
    assert str(e.value) == message
    assert sketch_rnn_cli.run_data_dir(old, optional=True) is None  # the export goes on
  finally:
    flags.FLAGS.unparse_flags()
  with pytest.raises(SystemExit) as e:
    sketch_rnn_eval.run_main(['sketch_rnn_eval', '--log_root=' + old])
  flags.FLAGS.unparse_flags()
  assert e.value.code == 1
  assert capsys.readouterr().err == 'sketch_rnn_eval: error: %s\n' % message


# --- Magenta run folders ---------------------------------------------------------


@pytest.mark.parametrize('name', ['lstm', 'layer_norm', 'hyper', 'uncond'])
def test_eval_reproduces_magentas_evaluation(name):
  folder = shared_path('fixtures', 'magenta_' + name)
  golden = json.load(open(os.path.join(folder, 'golden_eval.json')))
  r = sketch_rnn_eval.evaluate(folder, shared_path('datasets'), 'scale=0')
  assert r['global_step'] == golden['global_step']
  for key in ('valid_cost', 'valid_recon', 'valid_kl', 'eval_cost', 'eval_recon',
              'eval_kl'):
    assert r[key] == pytest.approx(golden[key], rel=1e-4, abs=1e-7), key


@pytest.mark.slow
def test_eval_cli_prints_magentas_two_lines(tmp_path):
  folder = shared_path('fixtures', 'magenta_uncond')
  result = tmp_path / 'r.json'
  code, out = cli('sketch_rnn_eval', '--log_root=' + folder,
                  '--data_dir=' + shared_path('datasets'), '--hparams=scale=0',
                  '--results_json=%s' % result)
  assert code == 0, out
  golden = json.load(open(os.path.join(folder, 'golden_eval.json')))
  assert re.search(r'^valid_cost: %.4f, valid_recon: %.4f, valid_kl: 0.0000, '
                   r'valid_time_taken: \d+\.\d{4}$' % (golden['valid_cost'],
                                                       golden['valid_recon']),
                   out, re.M), out
  assert re.search(r'^eval_cost: %.4f, eval_recon: ' % golden['eval_cost'], out, re.M)
  assert json.load(open(result))['eval_cost'] == pytest.approx(golden['eval_cost'],
                                                                rel=1e-4)


@pytest.mark.slow
def test_resume_from_magenta_run_folder(tmp_path):
  folder = shared_path('fixtures', 'magenta_lstm')
  log_root = str(tmp_path / 'magenta_run')
  shutil.copytree(folder, log_root)
  for path in glob.glob(log_root + '/*'):
    os.chmod(path, 0o644)
  code, out = cli('sketch_rnn_train', '--log_root=' + log_root, '--resume_training',
                  '--data_dir=' + shared_path('datasets'), '--num_samples=0',
                  '--hparams=num_steps=301')
  assert code == 0, out
  assert 'Resumed Magenta checkpoint %s at step 300.' % os.path.join(
      log_root, 'vector-300') in out
  hps = checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())
  assert hps.dec_rnn_size == 128 and hps.num_steps == 301
  model = sketch_rnn_model.Model(hps, seed=0)
  run = checkpoints.RunCheckpoint(log_root, model)
  assert run.restore()[0] == 301  # one step after Magenta's 300
  reader = tf.train.load_checkpoint(os.path.join(folder, 'vector-300'))
  moved = [np.abs(v.numpy() - reader.get_tensor(n)).max()
           for n, v in model.magenta_variables().items()]
  # one Adam step (lr 1e-3, Magenta's own m and v) from Magenta's weights; a fresh
  # model's weights would be further away than that by orders of magnitude
  assert 0 < max(moved) < 1e-2
  fresh = sketch_rnn_model.Model(hps, seed=0).magenta_variables()
  assert max(np.abs(v.numpy() - reader.get_tensor(n)).max()
             for n, v in fresh.items()) > 0.1


@pytest.mark.slow
def test_eval_errors_are_one_line(tmp_path):
  code, out = cli('sketch_rnn_eval', '--log_root=%s' % (tmp_path / 'nope'))
  assert code == 1 and 'Traceback' not in out
  assert 'sketch_rnn_eval: error: --log_root %s: no such folder' % (
      tmp_path / 'nope') in out


@pytest.mark.slow
def test_resume_from_magenta_folder_with_key_only_config(tmp_path):
  folder = shared_path('fixtures', 'magenta_lstm')
  log_root = str(tmp_path / 'magenta_keys')
  shutil.copytree(folder, log_root)
  for path in glob.glob(log_root + '/*'):
    os.chmod(path, 0o644)
  config = json.load(open(os.path.join(log_root, 'model_config.json')))
  with open(os.path.join(log_root, 'model_config.json'), 'w') as f:
    json.dump(list(config), f)  # what Magenta's trainer really writes
  sizes = 'dec_rnn_size=128,enc_rnn_size=64,z_size=32,num_steps=301'
  code, out = cli('sketch_rnn_train', '--log_root=' + log_root, '--resume_training',
                  '--data_dir=' + shared_path('datasets'), '--num_samples=0',
                  '--hparams=' + sizes)
  assert code == 0, out
  assert re.search(r'model_config.json: hyperparameter JSON holds only the names.*'
                   r'taking the hyperparameters from --hparams', out)
  assert 'Resumed Magenta checkpoint' in out
  rewritten = json.load(open(os.path.join(log_root, 'model_config.json')))
  assert rewritten['dec_rnn_size'] == 128 and rewritten['num_steps'] == 301
