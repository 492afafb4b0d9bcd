"""Sampling (Magenta's loop and the batched one), encode/decode/interpolate, the CLI."""

import json
import os
import subprocess
import sys
from unittest import mock

from absl import flags
import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample
from sketch_rnn import sketch_rnn_sample
from sketch_rnn import utils

from conftest import BUNDLED, REPO, shared_path, tiny_hparams


def tiny_model(seed=0, pen_down_bias=3.0, **overrides):
  """A small model with random weights, recurrent dropout off.

  Random weights end most sketches at once; pen_down_bias favours the pen-down
  state so that sketches run on.
  """
  values = dict(dec_rnn_size=32, batch_size=4, max_seq_len=30,
                use_recurrent_dropout=False)
  values.update(overrides)
  hps = tiny_hparams(**values)
  model = sketch_rnn_model.Model(hps, seed=seed)
  bias = model.output_b.numpy()
  bias[0] += pen_down_bias
  model.output_b.assign(bias)
  return model


def z_batch(model, n, seed=0):
  return np.random.RandomState(seed).randn(n, model.hps.z_size).astype(np.float32)


def first_end(strokes5):
  ends = np.flatnonzero(strokes5[:, 4] == 1)
  return int(ends[0]) if len(ends) else len(strokes5)


# --- Magenta's own sample() output ---------------------------------------------


@pytest.fixture(scope='module')
def magenta_lstm():
  ref_path = shared_path('fixtures', 'sampling_reference.json')
  root = shared_path('fixtures', 'magenta_lstm')
  with open(ref_path) as f:
    ref = json.load(f)
  hps = checkpoints.read_model_config(root, sketch_rnn_model.get_default_hparams())
  hps.batch_size = 1
  hps.use_recurrent_dropout = False
  hps.is_training = False
  model = sketch_rnn_model.Model(hps, seed=0)
  checkpoints.restore_weights(checkpoints.latest_checkpoint(root), model)
  return model, ref


def test_greedy_sample_reproduces_magentas(magenta_lstm):
  model, ref = magenta_lstm
  z = np.array(ref['z'], np.float32).reshape(1, -1)
  strokes, params = sample.sample(model, seq_len=60, greedy_mode=True, z=z)
  want = np.array(ref['strokes5'], np.float32)
  assert strokes.shape == (60, 5) and strokes.dtype == np.float32
  np.testing.assert_allclose(strokes[:, :2], want[:, :2], atol=1e-4, rtol=0)
  np.testing.assert_array_equal(strokes[:, 2:], want[:, 2:])
  np.testing.assert_allclose(
      np.asarray(model.initial_state(z))[0], ref['initial_state'], atol=1e-5)
  assert len(params) == 60 and all(len(p) == 7 for p in params)
  for t, step in enumerate(ref['steps']):
    for k, name in enumerate(sample.PARAM_NAMES):
      np.testing.assert_allclose(params[t][k], step[name], rtol=1e-4, atol=1e-5,
                                 err_msg='step %d %s' % (t, name))
    assert int(np.argmax(params[t][0])) == step['chosen_component']
  np.testing.assert_allclose(utils.to_normal_strokes(strokes), ref['strokes3'],
                             atol=1e-4)


def test_batched_greedy_reproduces_magentas(magenta_lstm):
  model, ref = magenta_lstm
  z = np.repeat(np.array(ref['z'], np.float32).reshape(1, -1), 3, axis=0)
  strokes, lengths = sample.sample_batch(model, z=z, seq_len=60, greedy=True)
  want = np.array(ref['strokes5'], np.float32)
  assert list(lengths) == [60, 60, 60]  # no end-of-sketch within 60 steps
  for row in strokes:
    np.testing.assert_allclose(row[:, :2], want[:, :2], atol=1e-4, rtol=0)
    np.testing.assert_array_equal(row[:, 2:], want[:, 2:])


# --- the batched loop against Magenta's loop --------------------------------------


@pytest.mark.parametrize('dec_model', ['lstm', 'layer_norm', 'hyper'])
def test_batched_greedy_equals_one_at_a_time(dec_model):
  model = tiny_model(dec_model=dec_model, dec_rnn_size=16 if dec_model == 'hyper'
                     else 32)
  z = z_batch(model, 4)
  batched, lengths = sample.sample_batch(model, z=z, seq_len=25, greedy=True)
  for i in range(4):
    one, _ = sample.sample(model, seq_len=25, greedy_mode=True, z=z[i])
    n = first_end(one)
    assert lengths[i] == n
    np.testing.assert_allclose(batched[i, :n], one[:n], atol=1e-5, rtol=0)
    assert (batched[i, n:] == sample.END_ROW).all()


def test_mixture_parameters_agree_for_the_same_prefix():
  model = tiny_model()
  z = z_batch(model, 3, seed=1)
  drawn = [sample.sample(model, seq_len=20, temperature=1.0, z=z[i], rng=i)
           for i in range(3)]
  prefix = np.stack([strokes for strokes, _ in drawn])
  strokes, _, params = sample.sample_batch(
      model, z=z, seq_len=20, prefix=prefix, early_stop=False, return_params=True)
  for i, (one, one_params) in enumerate(drawn):
    n = first_end(one)
    np.testing.assert_array_equal(strokes[i, :n], one[:n])  # the prefix, fed back
    for k, name in enumerate(sample.PARAM_NAMES):
      np.testing.assert_allclose(params[name][i],
                                 np.stack([p[k] for p in one_params]),
                                 rtol=1e-5, atol=1e-6, err_msg=name)
  # Not the same draws every time: the prefix really is a sample.
  assert np.abs(prefix[0, :, :2] - prefix[1, :, :2]).max() > 0.1


def test_the_choice_rule_is_magentas():
  rng = np.random.RandomState(0)
  pdfs = rng.dirichlet(np.ones(6), size=500).astype(np.float32)
  uniforms = rng.rand(500).astype(np.float32)
  temps = rng.choice([0.1, 0.5, 1.0, 2.0], size=500).astype(np.float32)
  picks = sample._pick(tf.constant(pdfs), tf.constant(uniforms),
                       tf.constant(temps), greedy=False).numpy()
  checked = 0
  for pdf, u, temp, got in zip(pdfs, uniforms, temps, picks):
    cum = np.cumsum(sample.adjust_temp(pdf.astype(np.float64), temp))
    if np.abs(cum - u).min() < 1e-5:
      continue  # on a boundary: float32 and float64 sums may disagree
    assert got == sample.get_pi_idx(u, pdf.astype(np.float64), temp)
    checked += 1
  assert checked > 480
  greedy = sample._pick(tf.constant(pdfs), None, None, greedy=True).numpy()
  np.testing.assert_array_equal(greedy, pdfs.argmax(1))


def _mixture_moments(params, t, temp):
  """Pen frequencies and offset mean/covariance of one step's mixture at temp."""
  pi, mu1, mu2, s1, s2, rho, pen = [np.asarray(p, np.float64) for p in params]
  q = sample.adjust_temp(pi, temp)
  s1, s2 = s1 * temp, s2 * temp
  mean = np.array([q @ mu1, q @ mu2])
  second = np.array([[q @ (s1 ** 2 + mu1 ** 2), q @ (rho * s1 * s2 + mu1 * mu2)],
                     [0, q @ (s2 ** 2 + mu2 ** 2)]])
  second[1, 0] = second[0, 1]
  return sample.adjust_temp(pen, temp), mean, second - np.outer(mean, mean)


@pytest.mark.parametrize('temp', [0.5, 1.0])
def test_both_samplers_draw_magentas_distribution(temp):
  """First-point pen frequencies and offset moments of both samplers at T."""
  model = tiny_model(pen_down_bias=0.0, num_mixture=2)
  bias = model.output_b.numpy()
  bias[1] += 1.0  # pen down and up about as likely,
  bias[2] -= 30.0  # and no end (its rows have their offsets zeroed)
  bias[3 + 5 * 2:] += [1.5, -1.0]  # rho = corr of each component: far from 0
  model.output_b.assign(bias)
  n = 4000
  z = np.repeat(z_batch(model, 1, seed=3), n, axis=0)
  strokes, _, params = sample.sample_batch(model, z=z, seq_len=1, temperature=temp,
                                           seed=7, return_params=True)
  step = [params[name][0, 0] for name in sample.PARAM_NAMES]
  pen_p, mean, cov = _mixture_moments(step, 0, temp)
  # Magenta's helpers on the same mixture, with numpy's generator.
  rng = np.random.RandomState(11)
  ref = np.zeros((n, 5))
  for i in range(n):
    idx = sample.get_pi_idx(rng.random_sample(), step[0], temp)
    eos = sample.get_pi_idx(rng.random_sample(), step[6], temp)
    ref[i, :2] = sample.sample_gaussian_2d(
        step[1][idx], step[2][idx], step[3][idx], step[4][idx], step[5][idx],
        np.sqrt(temp), False, rng)
    ref[i, 2 + eos] = 1
  for drawn in (strokes[:, 0], ref):
    freq = drawn[:, 2:5].mean(0)
    assert np.all(np.abs(freq - pen_p) < 5 * np.sqrt(pen_p * (1 - pen_p) / n) + 1e-3)
    got_mean = drawn[:, :2].mean(0)
    assert np.all(np.abs(got_mean - mean) < 5 * np.sqrt(np.diag(cov) / n))
    got_cov = np.cov(drawn[:, :2].T)
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.all(np.abs(got_cov - cov) < 0.1 * scale), (got_cov, cov)


def test_temperature_near_zero_approaches_greedy(magenta_lstm):
  model, ref = magenta_lstm
  z = np.array(ref['z'], np.float32).reshape(1, -1)
  want = np.array(ref['strokes5'], np.float32)
  cold, _ = sample.sample(model, seq_len=60, temperature=0.01, z=z, rng=0)
  np.testing.assert_array_equal(cold[:, 2:], want[:, 2:])
  np.testing.assert_allclose(cold[:, :2], want[:, :2], atol=0.05)
  cold, _ = sample.sample_batch(model, z=np.repeat(z, 2, 0), seq_len=60,
                                temperature=0.01, seed=0)
  np.testing.assert_array_equal(cold[:, :, 2:], np.stack([want[:, 2:]] * 2))
  np.testing.assert_allclose(cold[:, :, :2], np.stack([want[:, :2]] * 2), atol=0.05)


def test_temperature_near_zero_approaches_greedy_tiny():
  # Random weights leave near ties in pi (top-2 ratio 1.004): T must be smaller.
  model = tiny_model()
  z = z_batch(model, 4, seed=2)
  greedy, _ = sample.sample_batch(model, z=z, seq_len=20, greedy=True)
  errors = [np.abs(sample.sample_batch(model, z=z, seq_len=20, temperature=t,
                                       seed=1)[0] - greedy).max()
            for t in (1.0, 1e-3, 1e-4)]
  assert errors[0] > 0.5 and errors[1] < 0.01 and errors[2] < 0.001, errors
  one_greedy, _ = sample.sample(model, seq_len=20, greedy_mode=True, z=z[0])
  one_cold, _ = sample.sample(model, seq_len=20, temperature=1e-3, z=z[0], rng=0)
  np.testing.assert_array_equal(one_cold[:, 2:], one_greedy[:, 2:])
  np.testing.assert_allclose(one_cold[:, :2], one_greedy[:, :2], atol=0.01)


def test_each_sketch_has_its_own_temperature():
  model = tiny_model()
  z = np.repeat(z_batch(model, 1), 2, axis=0)
  greedy, _ = sample.sample_batch(model, z=z[:1], seq_len=15, greedy=True)
  mixed, _ = sample.sample_batch(model, z=z, seq_len=15, temperature=[0.001, 1.5],
                                 seed=3)
  np.testing.assert_allclose(mixed[0], greedy[0], atol=0.01)
  assert np.abs(mixed[1, :, :2] - greedy[0, :, :2]).max() > 0.5


def test_all_ended_stops_at_once():
  model = tiny_model(pen_down_bias=0.0)
  bias = model.output_b.numpy()
  bias[2] += 50.0  # the end-of-sketch pen state wins every draw
  model.output_b.assign(bias)
  for greedy in (True, False):
    strokes, lengths, params = sample.sample_batch(
        model, num=5, seq_len=30, greedy=greedy, return_params=True)
    assert strokes.shape == (5, 30, 5)
    assert list(lengths) == [0] * 5
    assert (strokes == sample.END_ROW).all()
    assert params['pen'].shape == (5, 1, 3)  # one step run, then the stop
    assert all(len(s) == 0 for s in sample.to_strokes3(strokes))
  strokes, _ = sample.sample(model, seq_len=10, rng=0)
  assert (strokes[:, 4] == 1).all()


def test_a_sketch_ending_in_a_prefix_gets_end_rows_after_it():
  model = tiny_model()
  prefix = np.zeros((2, 6, 5), np.float32)
  prefix[:, :, 0] = 1.0
  prefix[:, :, 2] = 1
  prefix[0, 4] = sample.END_ROW  # sketch 0 ends at its 5th point
  strokes, lengths = sample.sample_batch(model, num=2, seq_len=12, prefix=prefix,
                                         greedy=True, early_stop=False)
  assert lengths[0] == 4 and lengths[1] > 4
  np.testing.assert_array_equal(strokes[0, :4], prefix[0, :4])
  assert (strokes[0, 4:] == sample.END_ROW).all()
  np.testing.assert_array_equal(strokes[1, :6], prefix[1])
  assert len(sample.to_strokes3(strokes)[0]) == 4


def test_unconditional_model_samples_without_z():
  model = tiny_model(conditional=False)
  assert not model.hps.conditional
  a, la = sample.sample_batch(model, num=3, seq_len=20, greedy=True)
  b, _ = sample.sample_batch(model, z=z_batch(model, 3, seed=9), seq_len=20,
                             greedy=True)
  np.testing.assert_array_equal(a, b)  # z is not used
  one, params = sample.sample(model, seq_len=20, greedy_mode=True)
  np.testing.assert_allclose(a[0, :la[0]], one[:la[0]], atol=1e-5)
  assert len(params) == 20
  with pytest.raises(errors.SketchRNNError, match='unconditional'):
    sample.encode(model, [np.ones((3, 3))])


def test_same_seed_same_sketches():
  model = tiny_model()
  a, _ = sample.sample_batch(model, num=4, seq_len=20, seed=5)
  b, _ = sample.sample_batch(model, num=4, seq_len=20, seed=5)
  c, _ = sample.sample_batch(model, num=4, seq_len=20, seed=6)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  # Without a seed: the model's generator, so the same model seed, the same calls.
  first = [sample.sample_batch(tiny_model(seed=2), num=4, seq_len=20)[0]
           for _ in range(2)]
  np.testing.assert_array_equal(first[0], first[1])
  m = tiny_model(seed=2)
  sample.sample_batch(m, num=4, seq_len=20)
  assert not np.array_equal(sample.sample_batch(m, num=4, seq_len=20)[0], first[0])
  x, px = sample.sample(model, seq_len=15, rng=3)
  y, py = sample.sample(model, seq_len=15, rng=np.random.RandomState(3))
  np.testing.assert_array_equal(x, y)
  assert not np.array_equal(x, sample.sample(model, seq_len=15, rng=4)[0])


def test_prior_scale_spreads_the_same_draws():
  model = tiny_model()
  # The z of a prior sample is the decoder's input: read it back from the params'
  # dependence on z, via the explicit-z path.
  _, _, p1 = sample.sample_batch(model, num=3, seq_len=6, seed=4, greedy=True,
                                 return_params=True)
  z = tf.random.stateless_normal(
      [3, model.hps.z_size],
      tf.random.experimental.stateless_fold_in(sample._key(4, model), -1))
  for prior_scale in (1.0, 3.0):
    _, _, given = sample.sample_batch(model, z=z * prior_scale, seq_len=6, seed=4,
                                      greedy=True, return_params=True)
    _, _, drawn = sample.sample_batch(model, num=3, seq_len=6, seed=4, greedy=True,
                                      return_params=True, prior_scale=prior_scale)
    for key in given:
      np.testing.assert_allclose(drawn[key], given[key], rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(p1['mu1'], sample.sample_batch(
      model, z=z, seq_len=6, seed=4, greedy=True, return_params=True)[2]['mu1'])


def test_posterior_z_draws_with_the_models_noise():
  model = tiny_model()
  model.hps.scale = 3.0
  sketches = _sketches(4)
  batch, lengths = sample.pad_strokes(sketches)
  out = model(batch, lengths)
  mu, sigma = out['mean'].numpy(), out['sigma'].numpy()
  eps = np.random.RandomState(7).standard_normal(mu.shape) * 3.0
  np.testing.assert_allclose(sample.posterior_z(model, sketches, seed=7),
                             mu + sigma * eps, rtol=1e-5, atol=1e-6)


def test_temperature_must_be_positive():
  model = tiny_model()
  with pytest.raises(errors.SketchRNNError, match='temperature'):
    sample.sample_batch(model, num=2, temperature=0.0, seq_len=5)
  with pytest.raises(errors.SketchRNNError, match='temperature'):
    sample.sample(model, temperature=-1.0, seq_len=5)
  sample.sample_batch(model, num=2, temperature=0.0, seq_len=5, greedy=True)


# --- encode, decode, interpolate ------------------------------------------------


def _sketches(n, seed=0):
  rng = np.random.RandomState(seed)
  out = []
  for length in rng.randint(3, 12, size=n):
    s = np.zeros((length, 3), np.float32)
    s[:, :2] = rng.normal(size=(length, 2))
    s[rng.rand(length) < 0.3, 2] = 1
    s[-1, 2] = 1
    out.append(s)
  return out


def test_encode_is_the_encoders_posterior():
  model = tiny_model()
  sketches = _sketches(5)
  batch, lengths = sample.pad_strokes(sketches)
  # DataLoader's own padding of the same sketches.
  assert batch.shape == (5, lengths.max() + 1, 5)
  loader = utils.DataLoader(sketches, batch_size=5, max_seq_length=lengths.max())
  np.testing.assert_array_equal(batch, loader.pad_batch(sketches, lengths.max()))
  mu = sample.encode(model, sketches)
  out = model(batch, lengths)  # the training graph's mean
  np.testing.assert_allclose(mu, out['mean'].numpy(), atol=1e-6)
  np.testing.assert_allclose(sample.encode(model, batch), mu, atol=1e-6)
  np.testing.assert_allclose(sample.encode(model, sketches[2:3]), mu[2:3], atol=1e-6)
  posterior = sample.encode(model, sketches, use_mean=False)
  assert np.abs(posterior - mu).max() > 1e-3
  # This fork's scale: eps ~ N(0, scale^2), so scale 0 makes the sample the mean.
  model.hps.scale = 0.0
  np.testing.assert_allclose(sample.encode(model, sketches, use_mean=False), mu,
                             atol=1e-6)


def test_decode_gives_one_stroke3_sketch_per_z():
  model = tiny_model()
  z = z_batch(model, 3)
  sketches = sample.decode(model, z, temperature=0.5, seed=1, seq_len=20)
  strokes5, lengths = sample.sample_batch(model, z=z, temperature=0.5, seed=1,
                                          seq_len=20)
  assert len(sketches) == 3
  for s, s5, n in zip(sketches, strokes5, lengths):
    assert s.shape == (n, 3)
    np.testing.assert_array_equal(s[:, :2], s5[:n, :2])
    np.testing.assert_array_equal(s[:, 2], s5[:n, 3])
  assert len(sample.decode(model, z[0], greedy=True, seq_len=20)) == 1


def test_interpolate():
  rng = np.random.RandomState(0)
  z0, z1 = rng.randn(8), rng.randn(8)
  path = sample.interpolate(z0, z1, 5)
  assert path.shape == (5, 8)
  np.testing.assert_allclose(path[0], z0, atol=1e-6)
  np.testing.assert_allclose(path[-1], z1, atol=1e-6)
  np.testing.assert_allclose(path[2], utils.slerp(z0, z1, 0.5), atol=1e-6)
  np.testing.assert_allclose(sample.interpolate(z0, z1, 3, 'lerp')[1],
                             (z0 + z1) / 2, atol=1e-6)
  # Parallel vectors: slerp's limit, no division by zero.
  same = sample.interpolate(z0, 2 * z0, 3)
  assert np.isfinite(same).all()
  np.testing.assert_allclose(same[1], 1.5 * z0, atol=1e-5)
  with pytest.raises(errors.SketchRNNError):
    sample.interpolate(z0, z1, 3, 'cubic')


# --- the CLI ----------------------------------------------------------------------

TINY_RUN = dict(enc_rnn_size=16, dec_rnn_size=24, z_size=8, num_mixture=3,
                batch_size=8, max_seq_len=25)


def make_run(log_root, **overrides):
  """A run folder of this project: a tiny model's checkpoint and model_config.json."""
  model = tiny_model(seed=1, pen_down_bias=2.0, **dict(TINY_RUN, **overrides))
  os.makedirs(log_root, exist_ok=True)
  checkpoints.RunCheckpoint(log_root, model).save(7, 1.0)
  checkpoints.write_model_config(log_root, model.hps)
  return model


@pytest.fixture(scope='module')
def run_folder(tmp_path_factory):
  log_root = str(tmp_path_factory.mktemp('sample') / 'run')
  make_run(log_root)
  return log_root


def run_cli(capsys, *args):
  """sketch_rnn_sample in this process; returns (exit code, stdout + stderr)."""
  flags.FLAGS.unparse_flags()
  with mock.patch.object(sys, 'argv', ['sketch_rnn_sample', *args]):
    with pytest.raises(SystemExit) as e:
      sketch_rnn_sample.run_main()
  out = capsys.readouterr()
  return e.value.code or 0, out.out + out.err


def svg_cells(path):
  import xml.etree.ElementTree as ET  # pylint: disable=g-import-not-at-top
  root = ET.parse(path).getroot()
  ns = '{http://www.w3.org/2000/svg}'
  return [g for g in root.iter(ns + 'g') if g.get('id', '').startswith('cell-')]


@pytest.mark.parametrize('mode, num, cells', [
    ('prior', 5, 5), ('posterior', 3, 3), ('reconstruct', 3, 6),
    ('interpolate', 4, 6)])
def test_cli_draws_a_grid_in_each_mode(run_folder, tmp_path, capsys, mode, num,
                                       cells):
  out = str(tmp_path / ('%s.svg' % mode))
  code, text = run_cli(capsys, '--log_root=' + run_folder, '--data_dir=' + BUNDLED,
                       '--mode=' + mode, '--num=%d' % num, '--seed=1', '--out=' + out)
  assert code == 0, text
  how = 'temperature 0.5' + (', z ~ N(0, 1^2 I)' if mode == 'prior' else '')
  assert 'wrote %d sketches (%s, %s) to %s' % (cells, mode, how, out) in text
  assert len(svg_cells(out)) == cells


def test_cli_prior_scale(run_folder, tmp_path, capsys):
  out = str(tmp_path / 'prior.svg')
  args = ['--log_root=' + run_folder, '--num=2', '--out=' + out]
  code, text = run_cli(capsys, *args, '--prior_scale=model')
  scale = checkpoints.run_hparams(run_folder, '', True).scale
  assert code == 0 and 'z ~ N(0, %g^2 I)' % scale in text, text
  code, text = run_cli(capsys, *args, '--prior_scale=wide')
  assert code == 2 and '--prior_scale must be a number >= 0 or "model"' in text


@pytest.mark.slow
def test_cli_writes_png_and_runs_as_a_script(run_folder, tmp_path):
  out = str(tmp_path / 'prior.png')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO, 'sketch_rnn', 'sketch_rnn_sample.py'),
       '--log_root=' + run_folder, '--num=4', '--greedy', '--out=' + out],
      cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300,
      check=False)
  assert proc.returncode == 0, proc.stderr
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(out) as image:
    assert image.format == 'PNG' and image.size == (2 * 96, 2 * 96)
  # Errors: one line, exit code 1, no traceback.
  proc = subprocess.run(
      [sys.executable, '-m', 'sketch_rnn.sketch_rnn_sample',
       '--log_root=' + str(tmp_path / 'nope')],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 1 and 'Traceback' not in proc.stderr
  lines = [l for l in proc.stderr.splitlines() if 'sketch_rnn_sample' in l]
  assert lines == ['sketch_rnn_sample: error: --log_root %s: no such folder' %
                   (tmp_path / 'nope')]


def test_cli_errors_are_one_line(run_folder, tmp_path, capsys):
  empty = tmp_path / 'empty'
  empty.mkdir()
  no_config = str(tmp_path / 'no_config')
  make_run(no_config)
  os.remove(os.path.join(no_config, 'model_config.json'))
  other_cell = str(tmp_path / 'other_cell')
  make_run(other_cell)
  hps = checkpoints.read_model_config(other_cell,
                                      sketch_rnn_model.get_default_hparams())
  hps.dec_model = 'layer_norm'  # same weight shapes, plus layer-norm weights
  checkpoints.write_model_config(other_cell, hps)
  uncond = str(tmp_path / 'uncond')
  make_run(uncond, conditional=False)
  cases = [
      (['--log_root=%s' % (tmp_path / 'nope')], 'no such folder'),
      (['--log_root=%s' % empty], 'no checkpoint in this folder'),
      (['--log_root=%s' % no_config], 'no model_config.json'),
      (['--log_root=' + run_folder, '--hparams=dec_rnn_size=40'],
       'cannot load into this model'),
      (['--log_root=' + other_cell], 'does not fit the model'),
      (['--log_root=' + uncond, '--mode=reconstruct', '--data_dir=' + BUNDLED],
       'unconditional'),
      (['--log_root=' + run_folder, '--checkpoint=%s/vector-99' % run_folder],
       'no such checkpoint'),
      (['--log_root=' + run_folder, '--temperature=0'], 'temperature'),
      (['--log_root=' + run_folder, '--mode=interpolate', '--data_dir=' + BUNDLED,
        '--index_b=100000'], 'test split has'),
      (['--log_root=' + run_folder, '--out=%s/no/such.svg' % tmp_path],
       'no such folder'),
  ]
  for args, message in cases:
    code, text = run_cli(capsys, *args)
    lines = [l for l in text.splitlines() if 'error' in l]
    assert code == 1, (args, text)
    assert len(lines) == 1 and message in lines[0], (args, text)
    assert lines[0].startswith('sketch_rnn_sample: error: ')
    assert 'Traceback' not in text
  code, text = run_cli(capsys, '--log_root=' + run_folder, '--mode=prior_sample')
  assert code == 2 and 'prior_sample' in text


def test_cli_samples_a_magenta_run(tmp_path, capsys):
  root = shared_path('fixtures', 'magenta_lstm')
  out = str(tmp_path / 'magenta.svg')
  code, text = run_cli(capsys, '--log_root=' + root, '--num=2', '--seq_len=40',
                       '--out=' + out)
  assert code == 0, text
  assert len(svg_cells(out)) == 2
