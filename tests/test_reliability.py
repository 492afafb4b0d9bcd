"""Preemption, crashes, non-finite steps and hostile input (the reliability issue)."""

import io
import os
import pickle
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile

from absl import flags
import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import data as sketch_data
from sketch_rnn import npz
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sketch_rnn_train

from conftest import BUNDLED, BUNDLED_SET, REPO, tiny_text

TINY = tiny_text(batch_size=32)
TRAIN_LINE = re.compile(r'step: (\d+), lr: (\d+\.\d{6}), klw: (\d+\.\d{4}), ')
SAVED = re.compile(r'(?:saving model|saving final model|saved) \S*vector-(\d+)')
RESUMED = re.compile(r'Resumed \S+ at step (\d+)')


def start(log_root, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONUNBUFFERED='1')
  return subprocess.Popen(
      [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=' + log_root,
       '--data_dir=' + BUNDLED, '--num_samples=0', *args],
      cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(proc, pattern, timeout=240):
  """Lines up to and including the first that matches pattern (or to the end)."""
  lines, deadline = [], time.time() + timeout
  for line in proc.stdout:
    lines.append(line)
    if re.search(pattern, line) or time.time() > deadline:
      break
  return ''.join(lines)


def restored_step(log_root):
  hps = checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())
  model = sketch_rnn_model.Model(hps, seed=0)
  run = checkpoints.RunCheckpoint(log_root, model,
                                  sketch_rnn_model.Adam(model.trainable_variables))
  step = run.restore()[0]
  assert all(np.isfinite(v.numpy()).all() for v in model.trainable_variables)
  return step


# --- stopping and crashing ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize('sig,code', [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signal_saves_the_step_reached_and_resume_continues(tmp_path, sig, code):
  log_root = str(tmp_path / 'run')
  proc = start(log_root, '--seed=1', '--hparams=%s,num_steps=100000,save_every=1000'
               % TINY)
  out = read_until(proc, r'step: 40, ')
  proc.send_signal(sig)
  out += proc.communicate(timeout=120)[0]
  assert proc.returncode == code, out
  name = signal.Signals(sig).name
  match = re.search(r'received %s: saved (\S+)vector-(\d+) at step (\d+); exiting'
                    % name, out)
  assert match, out
  reached = int(match.group(3))
  assert int(match.group(2)) == reached >= 41
  assert restored_step(log_root) == reached
  assert 'Traceback' not in out
  assert 'best_valid_cost: ' not in out  # a stopped run saves at once, unscored

  stop_at = (reached // 20 + 1) * 20 + 1
  proc = start(log_root, '--resume_training', '--hparams=num_steps=%d' % stop_at)
  out = proc.communicate(timeout=240)[0]
  assert proc.returncode == 0, out
  assert 'Resumed %svector-%d at step %d' % (match.group(1), reached, reached) in out
  line = TRAIN_LINE.search(out)
  step = int(line.group(1))
  assert step == stop_at - 1
  hps = sketch_rnn_model.get_default_hparams()  # what an uninterrupted run logs
  assert line.group(2) == '%.6f' % sketch_rnn_model.learning_rate(hps, step)
  assert line.group(3) == '%0.4f' % sketch_rnn_model.kl_weight(hps, step)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_a_completed_save(tmp_path):
  log_root = str(tmp_path / 'run')
  # Enough steps for the 5 kills asserted below: a run advances 20-50 steps
  # between two kills, and one that finishes first ends the test short.
  num_steps = 300
  hparams = '--hparams=%s,num_steps=%d,save_every=3' % (TINY, num_steps)
  rng = random.Random(0)
  last_saved, kills, during_save = 0, 0, 0
  while kills < 10:
    resume = checkpoints.latest_checkpoint(log_root) is not None
    proc = start(log_root, '--seed=2', *(['--resume_training'] if resume else []),
                 hparams)
    if kills % 2:  # just after a validation, when a save is likely under way
      out = read_until(proc, r'best_valid_cost: ')
      time.sleep(rng.uniform(0.0, 0.3))
      during_save += 1
    else:  # anywhere in training, once it is under way
      out = read_until(proc, r'step: \d+, lr: ')
      time.sleep(rng.uniform(0.0, 2.0))
    proc.kill()
    out += proc.communicate(timeout=60)[0]
    kills += 1
    if kills > 1:  # the killed run's lock is taken over
      assert re.search(r'Took over the lock of PID \d+ on host', out), out[-2000:]
    if resume:
      resumed = RESUMED.search(out)
      assert resumed, out[-2000:]
      assert int(resumed.group(1)) >= last_saved  # never back past a completed save
    saves = [int(n) for n in SAVED.findall(out)]
    if saves:
      last_saved = max(saves)
    if checkpoints.latest_checkpoint(log_root):
      assert restored_step(log_root) >= last_saved  # loadable, and not behind
    if 'Done: %d steps' % num_steps in out:
      break
  assert kills >= 5 and during_save >= 2
  assert last_saved > 0
  proc = start(log_root, '--resume_training', hparams)
  out = proc.communicate(timeout=300)[0]
  assert proc.returncode == 0, out[-2000:]
  assert 'Done: %d steps' % num_steps in out
  assert restored_step(log_root) == num_steps
  # what the kills left mid-save was removed at a start, and rotation covers
  # every checkpoint, also one saved just before a kill left it out of the pointer
  assert not [f for f in os.listdir(log_root) if '_temp' in f or 'tmp' in f]
  assert len(checkpoints.checkpoints_on_disk(log_root)) <= checkpoints.MAX_TO_KEEP
  assert not os.path.exists(os.path.join(log_root, 'train.lock'))


def test_newest_unreadable_checkpoint_falls_back_to_an_older_one(tmp_path):
  log_root = str(tmp_path / 'run')
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  model = sketch_rnn_model.Model(hps, seed=0)
  run = checkpoints.RunCheckpoint(log_root, model)
  run.save(5, 1.0)
  newest = run.save(9, 0.5)
  with open(newest + '.data-00000-of-00001', 'wb') as f:
    f.write(b'garbage')
  again = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=1))
  assert again.restore() == (5, 1.0)
  assert again.restored_path.endswith('vector-5') and len(again.skipped) == 1


# --- non-finite steps -------------------------------------------------------------


def _tiny_model():
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  hps.max_seq_len = 10
  model = sketch_rnn_model.Model(hps, seed=0)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  x = np.zeros((32, 11, 5), np.float32)
  x[:, 0, 2] = 1
  x[:, 1:6, 0:2] = np.random.RandomState(0).normal(size=(32, 5, 2))
  x[:, 1:6, 2] = 1
  x[:, 6:, 4] = 1
  return model, adam, x, np.full(32, 5, np.int32)


def _state(model, adam):
  variables = (list(model.trainable_variables) + list(adam.m) + list(adam.v) +
               [adam.beta1_power, adam.beta2_power])
  return [v.numpy().copy() for v in variables]


@pytest.mark.parametrize('poison', ['nan_in_batch', 'nan_in_gradient'])
def test_non_finite_step_is_skipped_without_touching_anything(poison):
  model, adam, x, lengths = _tiny_model()
  step = tf.function(sketch_rnn_model.train_step)
  assert bool(step(model, adam, x, lengths, tf.constant(1e-3), tf.constant(0.5))[3])
  before = _state(model, adam)
  bad = x.copy()
  if poison == 'nan_in_batch':
    bad[3, 2, 0] = np.nan
  else:  # a far-away point: the density underflows, the cost stays finite, and
    bad[3, 2, 0] = 1e30  # its gradient is 0 * inf = nan
  cost, _, _, finite = step(model, adam, bad, lengths, tf.constant(1e-3),
                            tf.constant(0.5))
  assert not bool(finite)
  assert np.isfinite(float(cost)) == (poison == 'nan_in_gradient')
  for a, b in zip(before, _state(model, adam)):
    np.testing.assert_array_equal(a, b)
  assert bool(step(model, adam, x, lengths, tf.constant(1e-3), tf.constant(0.5))[3])


def test_non_finite_weights_are_never_saved(tmp_path):
  model, adam, _, _ = _tiny_model()
  run = checkpoints.RunCheckpoint(str(tmp_path), model, adam)
  good = run.save(1, 1.0)
  model.output_b.assign(tf.fill(model.output_b.shape, np.inf))
  with pytest.raises(errors.SketchRNNError, match='refusing to save step 2: '
                     'non-finite weights in vector_rnn/RNN/output_b; the last good '
                     'checkpoint is ' + re.escape(good)):
    run.save(2, 0.5)
  assert run.manager.latest_checkpoint == good


@pytest.mark.slow
def test_a_run_of_non_finite_steps_stops_with_the_last_good_checkpoint(tmp_path):
  log_root = str(tmp_path / 'run')
  proc = start(log_root, '--seed=4', '--hparams=%s,num_steps=30,save_every=10' % TINY)
  out = proc.communicate(timeout=240)[0]
  assert proc.returncode == 0, out
  good = checkpoints.latest_checkpoint(log_root)
  files = sorted(os.listdir(log_root))
  # A learning rate that blows the weights up: every step after the first is NaN.
  proc = start(log_root, '--resume_training', '--max_nonfinite_steps=5',
               '--hparams=num_steps=60,learning_rate=1e30')
  out = proc.communicate(timeout=240)[0]
  assert proc.returncode == 1, out
  errors = [l for l in out.splitlines() if 'sketch_rnn_train: error:' in l]
  assert len(errors) == 1 and re.search(
      r'sketch_rnn_train: error: stopped at step \d+ after 5 steps in a row with a '
      r'non-finite cost or gradients; the last good checkpoint is ' + re.escape(good),
      errors[0]), out
  assert 'step skipped, weights untouched (1 in a row)' in out
  assert checkpoints.latest_checkpoint(log_root) == good
  assert [f for f in sorted(os.listdir(log_root)) if 'vector' in f] == [
      f for f in files if 'vector' in f]
  assert restored_step(log_root) == 30


# --- broken input: one line, the right exit code, nothing written ---------------------


def _obj(sketches):
  a = np.empty(len(sketches), dtype=object)
  for i, s in enumerate(sketches):
    a[i] = s
  return a


def _good(n=40, seed=0):
  rng = np.random.RandomState(seed)
  out = []
  for _ in range(n):
    s = np.zeros((rng.randint(3, 9), 3), np.int16)
    s[:, 0:2] = rng.randint(-20, 20, size=(len(s), 2))
    s[-1, 2] = 1
    out.append(s)
  return out


class _Evil:
  def __reduce__(self):
    return (os.system, ('echo pwned',))


def _write(folder, name, kind):
  """Writes data file `name` broken in the way `kind` says."""
  path = os.path.join(folder, name)
  good = _good()
  splits = dict(train=_obj(good), valid=_obj(good), test=_obj(good))
  def sketch(s):
    return dict(splits, valid=_obj(good[:5] + [s] + good[6:]))
  if kind == 'not_zip':
    open(path, 'w').write('this is not a zip file')
    return
  if kind == 'empty_file':
    open(path, 'wb').close()
    return
  if kind == 'directory':
    os.mkdir(path)
    return
  if kind == 'truncated':
    np.savez(path, **splits)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 3])
    return
  if kind == 'missing_test':
    del splits['test']
  elif kind == 'pickled_code':
    splits['train'] = _obj(good[:3] + [_Evil()])
  elif kind == 'nan':
    s = good[5].astype(np.float32)
    s[1, 1] = np.nan
    splits = sketch(s)
  elif kind == 'inf':
    s = good[5].astype(np.float64)
    s[0, 0] = np.inf
    splits = sketch(s)
  elif kind == 'two_columns':
    splits = sketch(good[5][:, :2])
  elif kind == 'zero_points':
    splits = sketch(np.zeros((0, 3), np.int16))
  elif kind == 'strings':
    splits = sketch(np.array([['a', 'b', 'c']]))
  elif kind == 'not_sketches':
    splits['train'] = np.arange(12.0)
  elif kind == 'empty_train':
    splits['train'] = _obj([])
  elif kind == 'few_valid':
    splits['valid'] = _obj(good[:3])
  elif kind == 'absurd':
    s = good[5].copy().astype(np.int64)
    s[2, 0] = 10 ** 9
    splits = sketch(s)
  elif kind == 'pen_value':
    s = good[5].copy()
    s[1, 2] = 7
    splits = sketch(s)
  elif kind == 'flat':
    flat = [np.array([[1, 1, 0], [1, 1, 1]], np.int16)] * 40
    splits = dict(train=_obj(flat), valid=_obj(flat), test=_obj(flat))
  elif kind == 'too_long':  # above the limit the test sets, --max_sketch_points=500
    s = np.zeros((501, 3), np.int16)
    s[-1, 2] = 1
    splits = sketch(s)
  elif kind == 'zip_bomb':  # 3 MB of zeros in a few kB; the test lowers the limit
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
      for split in ('valid', 'test'):
        z.writestr(split + '.npy', _npy_bytes(splits[split]))
      z.writestr('train.npy', _npy_bytes(np.zeros((250000, 4, 3), np.int16)))
    return
  elif kind == 'lying_header':  # declares 10^12 points in a member of 1 kB
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, dict(
        descr='<i2', fortran_order=False, shape=(10 ** 12, 3)))
    header = out.getvalue() + b'\0' * 600
    with zipfile.ZipFile(path, 'w') as z:
      for split in ('valid', 'test'):
        z.writestr(split + '.npy', _npy_bytes(splits[split]))
      z.writestr('train.npy', header)
    return
  np.savez(path, **splits)


def _npy_bytes(array):
  out = io.BytesIO()
  np.save(out, array, allow_pickle=True)
  return out.getvalue()


FILE_CASES = [
    ('not_zip', r'bad.npz: not a readable .npz file'),
    ('empty_file', r'bad.npz: not a readable .npz file'),
    ('directory', r'bad.npz: not a readable .npz file'),
    ('truncated', r'bad.npz: not a readable .npz file'),
    ('missing_test', r'bad.npz: missing split\(s\) test \(found: train, valid\)'),
    ('pickled_code', r'bad.npz\[train\]: refused to unpickle (posix|os)\.system; only '
                     r'numpy arrays of numbers are accepted'),
    ('nan', r'bad.npz\[valid\] sketch 5: has a non-finite value at point 1'),
    ('inf', r'bad.npz\[valid\] sketch 5: has a non-finite value at point 0'),
    ('two_columns', r'bad.npz\[valid\] sketch 5: expected an \(n, 3\) array of numbers'),
    ('zero_points', r'bad.npz\[valid\] sketch 5: is empty \(0 points\)'),
    ('strings', r'bad.npz\[valid\] sketch 5: expected an \(n, 3\) array of numbers, '
                r'got <U1'),
    ('not_sketches', r'bad.npz\[train\]: expected an array of \(n, 3\) sketches'),
    ('empty_train', r'train split has 0 sketches, fewer than batch_size=4'),
    ('few_valid', r'valid split has 3 sketches, fewer than batch_size=4'),
    ('absurd', r'bad.npz\[valid\] sketch 5: offset \[1000000000, \d+\] at point 2 is '
               r'absurd'),
    ('pen_value', r'bad.npz\[valid\] sketch 5: pen value 7 at point 1'),
    ('flat', r"the train split's dx, dy have standard deviation 0.0"),
    ('too_long', r'bad.npz\[valid\] sketch 5: 501 points, more than the limit of 500 '
                 r'\(--max_sketch_points\)'),
    ('zip_bomb', r'bad.npz\[train\]: inflates to 6.0 MB, over the limit of 4.2 MB for '
                 r'one split'),
    ('lying_header', r'bad.npz\[train\]: its header declares 6000000000000 bytes of '
                     r'data, the member holds'),
]

HPARAM_CASES = [
    ('scal=2', "unknown hyperparameter 'scal' (did you mean 'scale'?)"),
    ('num_steps=ten', "hyperparameter 'num_steps' expects an int, got 'ten'"),
    ('scale=big', "hyperparameter 'scale' expects a float, got 'big'"),
    ('conditional=maybe', "hyperparameter 'conditional' expects a bool, got 'maybe'"),
    ('scale=1,scale=2', "hyperparameter 'scale' is given twice"),
    ('scale=[1,2]', "hyperparameter 'scale' expects a float, got a list [1, 2]"),
    ('scale', 'malformed --hparams near'),
    ('batch_size=0', 'hyperparameter batch_size=0: must be at least 1'),
    ('dec_rnn_size=-5', 'hyperparameter dec_rnn_size=-5: must be at least 1'),
    ('recurrent_dropout_prob=0', 'recurrent_dropout_prob=0.0: must be in (0, 1]'),
    ('input_dropout_prob=1.5', 'input_dropout_prob=1.5: must be in (0, 1]'),
    ('learning_rate=-0.1', 'learning_rate=-0.1: must be positive'),
    ('decay_rate=2', 'decay_rate=2.0: must be in (0, 1]'),
    ('scale=-1', 'scale=-1.0: must not be negative'),
    ('scale=nan', 'scale=nan: must be a finite number'),
    ('augment_stroke_prob=1.2', 'augment_stroke_prob=1.2: must be in [0, 1]'),
    ('dec_model=gru', "dec_model='gru': must be one of lstm, layer_norm, hyper"),
    ('enc_model=transformer', "enc_model='transformer': must be one of"),
    ('z_size=\uff11\uff12', "hyperparameter 'z_size' expects an int, got '\uff11\uff12'"),
    ('z_size=1_000', "hyperparameter 'z_size' expects an int, got '1_000'"),
    ('scale=1_0.5', "hyperparameter 'scale' expects a float, got '1_0.5'"),
]

# Refused once the data is loaded, before the model is built.
MEMORY_CASES = [
    ('dec_rnn_size=200000', r'the model would need about \d+\.\d GB \(1.6e\+11 '
                            r'parameters; batch_size=16, max_seq_len=\d+\), more than '
                            r'the \d+\.\d GB of memory here'),
    ('dec_rnn_size=2147483648', r'the model would need about \d+\.\d GB \(1.84e\+19 '
                                r'parameters'),
]

FLAG_CASES = [
    (['--no_such_flag=1'], "Unknown command line flag 'no_such_flag'", 2),
    (['--seed=abc'], 'flag --seed=abc: invalid literal', 2),
    (['--resume_training=maybe'], 'flag --resume_training=maybe', 2),
    (['--max_nonfinite_steps=0'], '--max_nonfinite_steps must be at least 1', 2),
    (['--max_sketch_points=0'], '--max_sketch_points must be at least 1', 2),
    (['--overwrite', '--resume_training'], '--overwrite starts a new run; '
                                           '--resume_training continues one', 2),
    (['--resume_training'], '--resume_training: no checkpoint in --log_root', 1),
    (['--data_dir=/no/such/folder'], '--data_dir /no/such/folder: no such folder', 1),
    (['--log_root=/etc/hostname/run'], '--log_root /etc/hostname/run: /etc/hostname '
                                       'is not a folder', 1),
]


def _matches(pattern, text):
  try:
    return re.search(pattern, text) is not None
  except re.error:
    return False


def _run_in_process(argv, capsys):
  flags.FLAGS.unparse_flags()
  with pytest.raises(SystemExit) as info:
    sketch_rnn_train.run_main(['sketch_rnn_train'] + argv)
  return info.value.code, capsys.readouterr().err


def _table():
  cases = [('file:' + k, ['--hparams=data_set=[bad.npz],batch_size=4'], m, 1, k)
           for k, m in FILE_CASES]
  cases += [('hparams:' + h, ['--hparams=data_set=[%s],%s' % (BUNDLED_SET, h)], m, 2,
             None) for h, m in HPARAM_CASES]
  cases += [('flags:' + ' '.join(a), a + ['--hparams=data_set=[%s]' % BUNDLED_SET], m,
             c, None) for a, m, c in FLAG_CASES]
  cases += [('memory:' + h, ['--hparams=data_set=[%s],batch_size=16,%s'
                              % (BUNDLED_SET, h)], m, 1, None) for h, m in MEMORY_CASES]
  cases.append(('file:missing', ['--hparams=data_set=[nope.npz]'],
                'nope.npz: no such file', 1, None))
  return cases


@pytest.mark.parametrize('label,argv,message,code,kind', _table(),
                         ids=[c[0] for c in _table()])
def test_broken_input_table(tmp_path, capsys, monkeypatch, label, argv, message, code,
                            kind):
  del label
  data = tmp_path / 'data'
  shutil.copytree(BUNDLED, data)
  if kind:
    _write(str(data), 'bad.npz', kind)
  monkeypatch.setattr(npz, 'MAX_MEMBER_BYTES', 4 << 20)  # shapes.npz: 1.1 MB
  monkeypatch.setattr(npz, 'MAX_SKETCH_POINTS', npz.MAX_SKETCH_POINTS)
  log_root = tmp_path / 'logs'
  argv = ['--data_dir=%s' % data, '--log_root=%s' % log_root,
          '--max_sketch_points=500'] + argv
  status, err = _run_in_process(argv, capsys)
  assert status == code, err
  lines = [l for l in err.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith('sketch_rnn_train: error: '), err
  assert message in lines[0] or _matches(message, lines[0]), lines[0]
  assert not log_root.exists()
  assert len(_table()) >= 40


def test_pickled_code_does_not_run(tmp_path, capsys):
  data = tmp_path / 'data'
  data.mkdir()
  marker = tmp_path / 'ran'
  _Evil.__reduce__ = lambda self: (os.system, ('touch %s' % marker,))
  _write(str(data), 'bad.npz', 'pickled_code')
  status, _ = _run_in_process(['--data_dir=%s' % data, '--log_root=%s' % (tmp_path / 'l'),
                               '--hparams=data_set=[bad.npz],batch_size=4'], capsys)
  assert status == 1 and not marker.exists()


def test_protocol_2_pickles_load_and_other_codecs_are_refused(tmp_path):
  path = str(tmp_path / 'p2.npz')
  good = _good()
  with zipfile.ZipFile(path, 'w') as z:
    for split in ('train', 'valid', 'test'):
      stream = pickle.dumps(_obj(good), protocol=2)
      assert b'_codecs' in stream  # how protocol 2 writes bytes
      z.writestr(split + '.npy', np.lib.format.magic(1, 0) + _object_header(len(good))
                 + stream)
  loaded = sketch_data.load_npz(path)
  for a, b in zip(loaded['valid'], good):
    np.testing.assert_array_equal(a, b)
  # _codecs.encode('x', 'zlib') in a protocol 2 stream: not a re-encoding
  evil = b'\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R.'
  with pytest.raises(errors.SketchRNNError, match=r"x\[y\]: refused to unpickle "
                     r"_codecs.encode\(str, 'zlib'\)"):
    npz._read_npy(io.BytesIO(  # pylint: disable=protected-access
        np.lib.format.magic(1, 0) + _object_header() + evil), 'x[y]')


def _object_header(n=1):
  out = io.BytesIO()
  np.lib.format.write_array_header_1_0(out, dict(descr='|O', fortran_order=False,
                                                 shape=(n,)))
  return out.getvalue()[len(np.lib.format.magic(1, 0)):]


# --- run folders: never destroyed, never shared ------------------------------------


def _files(log_root):
  return sorted(f for f in os.listdir(log_root) if f.startswith('vector-'))


def _error_lines(out):
  return [l for l in out.splitlines() if 'sketch_rnn_train: error:' in l]


@pytest.mark.slow
def test_two_trainers_on_one_folder_and_fresh_starts_on_a_run(tmp_path):
  log_root = str(tmp_path / 'run')
  first = start(log_root, '--seed=1', '--hparams=%s,num_steps=100000,save_every=10'
                % TINY)
  try:
    out = read_until(first, r'saving model')
    assert 'saving model' in out, out[-2000:]
    # a resume, and a fresh start with --overwrite, while it runs: the lock refuses
    for args in (['--resume_training'], ['--overwrite', '--seed=2', '--hparams=' + TINY]):
      proc = start(log_root, *args)
      other = proc.communicate(timeout=240)[0]
      assert proc.returncode == 1, other[-2000:]
      lines = _error_lines(other)
      assert len(lines) == 1 and re.search(
          r'--log_root \S+ is in use by PID %d on host \S+ \(since [\d:T-]+\); wait '
          r'for it, stop it, or use another --log_root' % first.pid, lines[0]), other
  finally:
    first.send_signal(signal.SIGTERM)
    out += first.communicate(timeout=120)[0]
  assert first.returncode == 0, out[-2000:]
  assert not os.path.exists(os.path.join(log_root, 'train.lock'))
  before = {f: os.path.getmtime(os.path.join(log_root, f)) for f in os.listdir(log_root)}
  # a fresh start (another seed) is refused before anything is loaded or written
  proc = start(log_root, '--seed=3', '--hparams=%s,num_steps=5' % TINY)
  other = proc.communicate(timeout=240)[0]
  assert proc.returncode == 1 and len(_error_lines(other)) == 1, other[-2000:]
  assert re.search(r'--log_root \S+ holds a run \((vector-\d+(, )?)+\): continue it '
                   r'with --resume_training, use another --log_root, or pass '
                   r'--overwrite to move it aside', other)
  assert {f: os.path.getmtime(os.path.join(log_root, f))
          for f in os.listdir(log_root)} == before
  # --overwrite moves the old run aside, whole, and starts a new one
  proc = start(log_root, '--overwrite', '--seed=3',
               '--hparams=%s,num_steps=5,save_every=100' % TINY)
  other = proc.communicate(timeout=240)[0]
  assert proc.returncode == 0, other[-2000:]
  aside = [f for f in os.listdir(log_root) if f.startswith('replaced-')]
  assert len(aside) == 1 and '--overwrite: moved the previous run' in other
  assert sorted(os.listdir(os.path.join(log_root, aside[0]))) == sorted(before)
  assert _files(log_root) == ['vector-5.data-00000-of-00001', 'vector-5.index']
  assert restored_step(os.path.join(log_root, aside[0])) >= 11


def test_lock_is_exclusive_and_a_dead_holder_is_taken_over(tmp_path):
  from sketch_rnn import run_folder  # pylint: disable=g-import-not-at-top
  log_root = str(tmp_path)
  with run_folder.RunLock(log_root) as lock:
    with pytest.raises(errors.SketchRNNError, match=r'is in use by PID %d on host'
                       % os.getpid()):
      run_folder.RunLock(log_root).acquire()
  assert not os.path.exists(lock.path)
  dead = int(open('/proc/sys/kernel/pid_max').read()) - 1
  while run_folder._pid_alive(dead):  # pylint: disable=protected-access
    dead -= 1
  host = run_folder.RunLock(log_root).holder['host']
  for other_host, taken in ((host, True), ('elsewhere', False)):
    with open(lock.path, 'w') as f:
      f.write('{"host": "%s", "pid": %d}' % (other_host, dead))
    if taken:
      with run_folder.RunLock(log_root) as again:
        assert run_folder._read_lock(again.path)['pid'] == os.getpid()  # pylint: disable=protected-access
    else:  # another host's PID cannot be checked: removed by hand
      with pytest.raises(errors.SketchRNNError, match=r'in use by PID %d on host '
                         r'elsewhere .*; if that trainer is gone, remove \S+train.lock'
                         % dead):
        run_folder.RunLock(log_root).acquire()


def test_resume_falls_back_past_a_missing_index_and_a_broken_pointer(tmp_path):
  log_root = str(tmp_path / 'run')
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  run = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=0))
  for step in (11, 21, 31):
    run.save(step, 1.0)
  os.remove(os.path.join(log_root, 'vector-31.index'))
  for pointer, note in ((None, r'names vector-31, which is missing'),
                        ('', r'unreadable \(Invalid checkpoint state'),
                        ('model_checkpoint_path: "vector-99"\n', 'names vector-99'),
                        (False, 'no checkpoint pointer file')):
    if pointer is False:
      os.remove(os.path.join(log_root, 'checkpoint'))
    elif pointer is not None:
      with open(os.path.join(log_root, 'checkpoint'), 'w') as f:
        f.write(pointer)
    found, notes = checkpoints.resume_candidates(log_root)
    assert [os.path.basename(p) for p in found] == ['vector-21', 'vector-11']
    assert len(notes) == 1 and re.search(note, notes[0]), notes
    assert checkpoints.latest_checkpoint(log_root) == found[0]
    again = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=1))
    assert again.restore()[0] == 21
  checkpoints.rebuild_pointer(log_root, found[0])
  assert checkpoints.pointer_problem(log_root) is None
  assert checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(
      hps, seed=1)).manager.checkpoints == found[::-1]


@pytest.mark.slow
def test_resume_without_model_config_is_one_line(tmp_path):
  log_root = str(tmp_path / 'run')
  hps = sketch_rnn_model.get_default_hparams().parse(TINY)
  checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=0)).save(3, 1.0)
  proc = start(log_root, '--resume_training')
  out = proc.communicate(timeout=240)[0]
  assert proc.returncode == 1 and _error_lines(out) == [
      'sketch_rnn_train: error: --resume_training: %s holds checkpoints but no '
      'model_config.json, so the model is unknown; put the run\'s model_config.json '
      'back' % log_root], out[-2000:]


@pytest.mark.slow  # mount and umount are processes
def test_disk_full_during_a_save_is_one_line_and_keeps_the_last_checkpoint(tmp_path):
  if os.geteuid() != 0:
    pytest.skip('mounting a small tmpfs needs root')
  folder = tmp_path / 'small'
  folder.mkdir()
  if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', str(folder)],
                    capture_output=True, check=False).returncode:
    pytest.skip('cannot mount a tmpfs here')
  try:
    model, adam, _, _ = _tiny_model()
    log_root = str(folder / 'run')
    run = checkpoints.RunCheckpoint(log_root, model, adam)
    good = run.save(6, 1.0)
    free = shutil.disk_usage(log_root).free
    with open(str(folder / 'filler'), 'wb') as f:  # leave less than a checkpoint
      f.write(b'\0' * (free - 16 * 1024))
    with pytest.raises(errors.SketchRNNError, match=(
        r'%s: disk full while saving step 7 \(a checkpoint needs about \d+\.\d MB, '
        r'0\.0 MB free\); the previous checkpoint %s is intact; free some space and '
        r'continue with --resume_training' % (re.escape(log_root), re.escape(good)))):
      run.save(7, 0.5)
    assert _files(log_root) == ['vector-6.data-00000-of-00001', 'vector-6.index']
    assert not [f for f in os.listdir(log_root) if 'tmp' in f or '_temp' in f]
    assert checkpoints.latest_checkpoint(log_root) == good
    again = checkpoints.RunCheckpoint(log_root, _tiny_model()[0])
    assert again.restore()[0] == 6
  finally:
    subprocess.run(['umount', str(folder)], check=False)


@pytest.mark.slow
def test_sigterm_while_loading_data_exits_0_with_a_line(tmp_path):
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen(1)  # accepts the connection, never answers: loading hangs
  try:
    log_root = str(tmp_path / 'run')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONUNBUFFERED='1',
               SKETCH_RNN_CACHE=str(tmp_path / 'cache'))
    proc = subprocess.Popen(
        [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=' + log_root,
         '--data_dir=http://127.0.0.1:%d/data' % server.getsockname()[1],
         '--hparams=' + TINY], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    out = read_until(proc, r'Loading data files')
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out += proc.communicate(timeout=60)[0]
  finally:
    server.close()
  assert proc.returncode == 0, out[-2000:]
  assert 'received SIGTERM before training started: stopped, no step to save.' in out
  assert 'Traceback' not in out and not os.path.exists(log_root)
