"""Browser models (.gen.json / .vae.json): the format, export, import, and Magenta.js
(@magenta/sketch in js/, run by node) on this project's export and Google's
pretrained models."""

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
from unittest import mock

from absl import flags
import numpy as np
import pytest

from sketch_rnn import browser
from sketch_rnn import checkpoints
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sketch_rnn_eval
from sketch_rnn import sketch_rnn_export
from sketch_rnn import sketch_rnn_sample
from sketch_rnn import sketch_rnn_train
from sketch_rnn import utils

from conftest import BUNDLED, REPO, shared_path, tiny_hparams

JS_SCRIPT = os.path.join(REPO, 'tests', 'sketch_rnn_js.js')
JS_PACKAGE = os.path.join(REPO, 'js', 'node_modules', '@magenta', 'sketch')
STEP = 10 / 32767  # one int16 step of the format
PARAMS = ('pi', 'mu1', 'mu2', 'sigma1', 'sigma2', 'corr', 'pen')


def train_run(log_root, **overrides):
  """A tiny run trained for 4 steps by the trainer, as the quick start trains."""
  hps = tiny_hparams(num_mixture=20, num_steps=4, save_every=2, **overrides)
  code = sketch_rnn_train.trainer(hps, sketch_rnn_train.Options(
      data_dir=BUNDLED, log_root=log_root, seed=1, num_samples=0))
  assert code == 0
  return log_root


@pytest.fixture(scope='module')
def gen_run(tmp_path_factory):
  return train_run(str(tmp_path_factory.mktemp('gen') / 'run'), conditional=False)


@pytest.fixture(scope='module')
def vae_run(tmp_path_factory):
  return train_run(str(tmp_path_factory.mktemp('vae') / 'run'))


@pytest.fixture(scope='module')
def gen_file(gen_run, tmp_path_factory):
  path = str(tmp_path_factory.mktemp('gen_out') / 'shapes.gen.json')
  sketch_rnn_export.export(gen_run, path)
  return path


def int16_steps(text):
  """The format's int16 steps, read with struct (not numpy) as little-endian."""
  raw = base64.b64decode(text)
  return np.array(struct.unpack('<%dh' % (len(raw) // 2), raw))


def by_hand(value):
  """The format's steps of a weight, computed in plain Python."""
  return np.array([int(round(min(max(float(v), -10.0), 10.0) * 3276.7))
                   for v in np.ravel(value)])


def test_quantisation_is_the_formats():
  rng = np.random.RandomState(0)
  w = np.concatenate([rng.normal(0, 3, 200), [10.0, -10.0, 12.5, -40.0, 0.0]])
  steps = int16_steps(browser.encode_tensor(w))
  np.testing.assert_array_equal(steps, by_hand(w))
  assert steps.max() == 32767 and steps.min() == -32767
  back = browser.decode_tensor(browser.encode_tensor(w), [len(w)])
  np.testing.assert_array_equal(back, (steps * 10 / 32767).astype(np.float32))
  inside = np.abs(w) <= 10
  assert np.abs(back - w)[inside].max() <= STEP / 2 + 1e-7
  with pytest.raises(errors.SketchRNNError, match='holds 410 bytes'):
    browser.decode_tensor(browser.encode_tensor(w), [3, 5])


def test_export_writes_the_format_in_magentas_order(gen_run, gen_file):
  with open(gen_file) as f:
    info, shapes, texts = json.load(f)
  run = checkpoints.open_run(gen_run)
  # the normalising factor saved at training time, without the data
  data = utils.load_dataset(BUNDLED, run.hps, seed=0)
  assert info['scale_factor'] == pytest.approx(data[0].scale_factor, rel=1e-6)
  assert info['version'] == 6 and info['mode'] == 2 and info['name'] == 'shapes'
  assert info['max_seq_len'] == data[3].max_seq_len and info['training_steps'] == 4
  order = ['RNN/output_w', 'RNN/output_b', 'RNN/LSTMCell/W_xh', 'RNN/LSTMCell/W_hh',
           'RNN/LSTMCell/bias']
  weights = run.model.magenta_variables()
  for name, shape, text in zip(order, shapes, texts):
    value = weights['vector_rnn/' + name].numpy()
    assert shape == list(value.shape), name
    np.testing.assert_array_equal(int16_steps(text), by_hand(value), err_msg=name)
  assert shapes[0] == [16, 123] and shapes[2] == [5, 64]


def test_data_dir_recomputes_the_factor_of_an_older_run(gen_run, tmp_path):
  old = str(tmp_path / 'old')
  shutil.copytree(gen_run, old)
  os.remove(os.path.join(old, checkpoints.SCALE_FACTOR))
  out = str(tmp_path / 'old.gen.json')
  with pytest.raises(errors.SketchRNNError, match='give --data_dir'):
    sketch_rnn_export.export(old, out)
  info = sketch_rnn_export.export(old, out, data_dir=BUNDLED)
  assert info['scale_factor'] == pytest.approx(
      checkpoints.read_scale_factor(gen_run), rel=1e-6)
  assert info['kl_loss'] == 0 and info['r_loss'] > 0


@pytest.mark.parametrize('overrides, out, message', [
    (dict(num_mixture=3, conditional=False), 'x.gen.json',
     'num_mixture=3: the browser'),
    (dict(num_mixture=20, conditional=False, dec_model='layer_norm'), 'x.gen.json',
     'dec_model=layer_norm: the browser loaders run only LSTM'),
    (dict(num_mixture=20, enc_model='hyper'), 'x.vae.json', 'enc_model=hyper'),
    (dict(num_mixture=20), 'x.gen.json', 'a .gen.json is an unconditional decoder'),
    (dict(num_mixture=20, conditional=False), 'x.vae.json', 'needs an encoder'),
    (dict(num_mixture=20), 'x.json', 'NAME.gen.json'),
])
def test_what_the_loaders_cannot_run_is_refused_in_one_line(tmp_path, overrides, out,
                                                           message):
  log_root = str(tmp_path / 'run')
  os.makedirs(log_root)
  checkpoints.write_model_config(log_root, tiny_hparams(**overrides))
  with pytest.raises(errors.SketchRNNError, match=message) as e:
    sketch_rnn_export.export(log_root, str(tmp_path / out))
  assert '\n' not in str(e.value)
  assert not os.path.exists(str(tmp_path / out))


def test_export_cli_refusal_is_one_line_exit_1(vae_run, tmp_path, capsys):
  out = str(tmp_path / 'v.gen.json')
  with pytest.raises(SystemExit) as e:
    sketch_rnn_export.run_main(['sketch_rnn_export', '--log_root=' + vae_run,
                                '--out=' + out])
  assert e.value.code == 1
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert err.startswith('sketch_rnn_export: error: a .gen.json is an unconditional')


def decoder_params(model, points):
  """This project's mixture parameters after each stroke-5 point (the first the
  start token) of an unconditional decoder, as arrays [T, M] (pen [T, 3])."""
  x = np.asarray(points, np.float32)[None]
  z = np.zeros([1, model.hps.z_size], np.float32)
  output, _ = model.decode(x, z, model.initial_state(z))
  params = sketch_rnn_model.get_mixture_coef(output)
  return {k: params[k].numpy() for k in PARAMS}


def sketch_points(scale_factor, count=40):
  """A fixed stroke-5 sequence: the start token and the first points of the first
  test sketch of the bundled data, normalised by the model's factor."""
  strokes = utils.load_npz(os.path.join(BUNDLED, 'shapes.npz'))['test'][0][:count]
  points = np.zeros([len(strokes) + 1, 5])
  points[0, 2] = 1
  points[1:, :2] = strokes[:, :2] / scale_factor
  points[1:, 2] = 1 - strokes[:, 2]
  points[1:, 3] = strokes[:, 2]
  return points


def run_magenta_js(model_path, points, tmp_path):
  if shutil.which('node') is None:
    pytest.skip('node is not installed')
  if not os.path.isdir(JS_PACKAGE):
    pytest.skip('@magenta/sketch is not installed (cd js && npm ci)')
  strokes, out = str(tmp_path / 'points.json'), str(tmp_path / 'pdf.json')
  with open(strokes, 'w') as f:
    json.dump(np.asarray(points).tolist(), f)
  proc = subprocess.run(['node', JS_SCRIPT, model_path, strokes, out],
                        capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr
  with open(out) as f:
    result = json.load(f)
  return {k: np.array([s[k] for s in result['steps']]) for k in PARAMS}, result


def max_differences(a, b):
  return {k: float(np.abs(a[k] - b[k]).max()) for k in PARAMS}


@pytest.mark.slow
def test_magenta_js_computes_this_projects_mixture_on_its_export(gen_run, gen_file,
                                                                 tmp_path):
  run = checkpoints.open_run(gen_run)
  points = sketch_points(run.scale_factor)
  js, result = run_magenta_js(gen_file, points, tmp_path)
  assert result['num_units'] == 16 and result['scale_factor'] == 1
  # against the float weights: within what the int16 rounding moves them
  mine = decoder_params(run.model, points)
  diffs = max_differences(js, mine)
  for k in PARAMS:
    assert diffs[k] < 2e-3, (k, diffs)
  assert max(diffs.values()) > 1e-7  # the quantisation is there to see
  # against the imported file: the same numbers, up to float32 arithmetic
  imported, _, _ = browser.load_model(gen_file)
  exact = max_differences(js, decoder_params(imported, points))
  for k in PARAMS:
    assert exact[k] < 5e-6, (k, exact)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['bird', 'sheep'])
def test_magenta_js_computes_this_projects_mixture_on_googles_models(name, tmp_path):
  path = shared_path('models', name + '.gen.json')
  model, hps, info = browser.load_model(path)
  assert (hps.dec_rnn_size, hps.num_mixture, hps.conditional) == (512, 20, False)
  points = sketch_points(info['scale_factor'])
  js, _ = run_magenta_js(path, points, tmp_path)
  mine = decoder_params(model, points)
  diffs = max_differences(js, mine)
  for k in PARAMS:
    # relative for sigma, which exp() makes large where the model is unsure
    scale = np.maximum(np.abs(mine[k]), 1.0) if k.startswith('sigma') else 1.0
    assert np.abs((js[k] - mine[k]) / scale).max() < 2e-5, (k, diffs)


def vae_outputs(model, batch):
  _, x, lengths = batch
  mu, presig = model.encode(x[:, 1:], lengths)
  output, _ = model.decode(x[:, :-1], mu, model.initial_state(mu))
  return mu.numpy(), presig.numpy(), output.numpy()


def test_vae_round_trip_is_byte_identical_and_keeps_the_model(vae_run, tmp_path):
  first = str(tmp_path / 'a.vae.json')
  info = sketch_rnn_export.export(vae_run, first)
  assert info['mode'] == 0 and info['version'] == 6
  with open(first) as f:
    shapes = json.load(f)[1]
  assert len(shapes) == 17 and shapes[6] == [32, 8] and shapes[10] == [8, 32]
  model, hps, _ = browser.load_model(first)
  assert (hps.enc_rnn_size, hps.dec_rnn_size, hps.z_size) == (16, 16, 8)
  second = str(tmp_path / 'a2.vae.json')
  browser.write_json(second, browser.to_json(model, info['scale_factor'], 'a', True,
                                             info['training_steps']))
  with open(first, 'rb') as f, open(second, 'rb') as g:
    assert f.read() == g.read()
  run = checkpoints.open_run(vae_run, BUNDLED)
  batch = run.data[2].get_batch(0)
  for name, a, b in zip(('mu', 'presig', 'output'), vae_outputs(run.model, batch),
                        vae_outputs(model, batch)):
    assert np.abs(a - b).max() < 5e-3, name
    assert np.abs(a - b).max() > 0, name


def test_open_run_takes_a_browser_model_and_its_scale_factor(gen_run, gen_file):
  run = checkpoints.open_run(None, BUNDLED, 'data_set=[shapes.npz]',
                             model_json=gen_file)
  assert run.scale_factor == run.data[0].scale_factor == run.data[2].scale_factor
  assert run.scale_factor == pytest.approx(checkpoints.read_scale_factor(gen_run))
  with pytest.raises(errors.SketchRNNError, match='cannot change it'):
    checkpoints.open_run(None, None, 'dec_rnn_size=32', model_json=gen_file)
  mine = sketch_rnn_eval.evaluate(gen_run, BUNDLED)
  # the same batches: a browser file does not know the run's batch size
  imported = sketch_rnn_eval.evaluate(None, BUNDLED, 'data_set=[shapes.npz],'
                                      'batch_size=8', model_json=gen_file)
  assert imported['eval_cost'] == pytest.approx(mine['eval_cost'], abs=1e-2)


def sample_cli(*args):
  """sketch_rnn_sample in this process; returns its exit code."""
  flags.FLAGS.unparse_flags()  # what an earlier run in this process set
  with mock.patch.object(sys, 'argv', ['sketch_rnn_sample', *args]):
    with pytest.raises(SystemExit) as e:
      sketch_rnn_sample.run_main()
  return e.value.code


def test_run_folder_or_browser_model_not_both(gen_file, capsys):
  assert sample_cli('--log_root=/tmp/x', '--model_json=' + gen_file) == 2
  assert 'not both' in capsys.readouterr().err


def test_fine_tune_from_a_browser_model_starts_a_new_run(gen_file, tmp_path):
  log_root = str(tmp_path / 'tuned')
  with open(gen_file) as f:
    info = json.load(f)[0]
  hps = tiny_hparams(num_steps=1, save_every=1)
  code = sketch_rnn_train.trainer(hps, sketch_rnn_train.Options(
      data_dir=BUNDLED, log_root=log_root, seed=1, num_samples=0,
      init_from=gen_file, hparams='data_set=[shapes.npz],num_steps=1,batch_size=8'))
  assert code == 0
  assert checkpoints.read_scale_factor(log_root) == info['scale_factor']
  run = checkpoints.open_run(log_root)
  assert run.step == 1 and run.hps.num_mixture == 20 and not run.hps.conditional
  start, _, _ = browser.load_model(gen_file)
  moved = [np.abs(v.numpy() - start.magenta_variables()[k].numpy()).max()
           for k, v in run.model.magenta_variables().items()]
  # one Adam step from a fresh optimiser moves each weight by about the rate
  assert 0 < max(moved) < 3e-3
  with pytest.raises(errors.UsageError, match='--init_from starts a new run'):
    sketch_rnn_train.trainer(hps, sketch_rnn_train.Options(
        data_dir=BUNDLED, log_root=log_root, init_from=gen_file,
        resume_training=True))


@pytest.mark.parametrize('name', ['bird', 'sheep'])
def test_googles_models_sample_evaluate_and_fine_tune(name, tmp_path):
  path = shared_path('models', name + '.gen.json')
  out = str(tmp_path / (name + '.png'))
  assert sample_cli('--model_json=' + path, '--num=9', '--out=' + out,
                    '--temperature=0.3', '--seed=3') in (0, None)
  assert os.path.getsize(out) > 1000
  r = sketch_rnn_eval.evaluate(None, BUNDLED, 'data_set=[shapes.npz]',
                               model_json=path)
  assert np.isfinite(r['eval_cost']) and r['eval_kl'] == 0
  code = sketch_rnn_train.trainer(None, sketch_rnn_train.Options(
      data_dir=BUNDLED, log_root=str(tmp_path / 'tuned'), seed=1, num_samples=0,
      init_from=path, hparams='data_set=[shapes.npz],num_steps=1,batch_size=4'))
  assert code == 0
