"""The scale study's metrics, each against a value worked out by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils

from conftest import BUNDLED, tiny_hparams



@pytest.fixture(scope='module')
def data():
  """A tiny model's eval hyperparameters and 32 normalised test sketches."""
  hps = tiny_hparams(use_recurrent_dropout=False)
  _, _, test_set, hps, eval_hps, _ = utils.load_dataset(BUNDLED, hps, seed=0)
  # Already normalised: a loader over them with scale factor 1 keeps them as they are.
  small = utils.DataLoader(test_set.strokes[::7][:32], batch_size=8,
                           max_seq_length=hps.max_seq_len)
  return eval_hps, small


def make_model(hps, scale=1.0, seed=0):
  """A model whose encoder output is far from its tiny initial weights."""
  hps = hps.copy()
  hps.scale = scale
  model = sketch_rnn_model.Model(hps, seed=seed)
  rng = np.random.RandomState(seed)
  for var, std in ((model.mu_w, 1.0), (model.mu_b, 0.5), (model.presig_w, 0.5),
                   (model.presig_b, 0.5)):
    var.assign(rng.normal(0, std, var.shape).astype(np.float32))
  return model


# -- distances ------------------------------------------------------------------


def test_chamfer_on_hand_made_point_sets():
  assert metrics.chamfer([[0, 0]], [[3, 4]]) == pytest.approx(5.0)
  # A -> B: (0 + 2) / 2 = 1; B -> A: 0; averaged: 0.5.
  assert metrics.chamfer([[0, 0], [2, 0]], [[0, 0]]) == pytest.approx(0.5)
  assert metrics.chamfer([[0, 0]], [[0, 0], [2, 0]]) == pytest.approx(0.5)
  # Each point's nearest is its own shifted copy, 1 away.
  assert metrics.chamfer([[0, 0], [10, 0]], [[0, 1], [10, 1]]) == pytest.approx(1.0)
  a = np.random.RandomState(1).rand(7, 2)
  assert metrics.chamfer(a, a) == 0.0
  with pytest.raises(errors.SketchRNNError):
    metrics.chamfer(np.zeros((0, 2)), a)


def test_points_are_absolute_and_an_empty_sketch_is_the_origin():
  strokes = np.array([[1, 0, 0], [0, 2, 1], [3, 0, 0]])
  np.testing.assert_array_equal(metrics.points(strokes), [[1, 0], [1, 2], [4, 2]])
  np.testing.assert_array_equal(metrics.points(np.zeros((0, 3))), [[0, 0]])
  # (1,0),(2,0) against (1,1): A -> B (1 + sqrt 2) / 2, B -> A 1.
  d = metrics.sketch_distance([[1, 0, 0], [1, 0, 1]], [[1, 1, 1]])
  assert d == pytest.approx(0.5 * ((1 + math.sqrt(2)) / 2 + 1))


def test_diversity_of_identical_samples_is_zero():
  sketch = np.array([[1.0, 2.0, 0], [0.5, -1.0, 1], [2.0, 0.0, 1]])
  assert metrics.mean_pairwise_distance([sketch] * 5) == 0.0
  # Single points at (0,0), (3,4), (6,8): pairs 5, 10, 5.
  singles = [[[0, 0, 1]], [[3, 4, 1]], [[6, 8, 1]]]
  assert metrics.mean_pairwise_distance(singles) == pytest.approx(20 / 3)
  with pytest.raises(errors.SketchRNNError):
    metrics.mean_pairwise_distance([sketch])


def test_reconstruction_fidelity_is_the_mean_over_pairs():
  a, b = [[3, 4, 1]], [[0, 0, 1]]
  assert metrics.reconstruction_fidelity([a, a], [a, b]) == pytest.approx(2.5)


def test_spaced_indices_cover_the_length_order():
  np.testing.assert_array_equal(metrics.spaced_indices(10, 0), np.arange(10))
  np.testing.assert_array_equal(metrics.spaced_indices(10, 20), np.arange(10))
  np.testing.assert_array_equal(metrics.spaced_indices(9, 3), [0, 4, 8])


# -- KL and latent units -----------------------------------------------------------


def test_sampled_posterior_kl_by_hand_and_by_monte_carlo():
  mu = np.array([[0.5, -1.0]])
  presig = np.array([[0.0, math.log(4.0)]])
  # scale 0.5: variances 0.25 and 1; terms 0.25 + 0.25 - 1 - log 0.25 and 1 + 1 - 1 - 0.
  expected = 0.5 * ((0.25 + 0.25 - 1 - math.log(0.25)) + 1.0) / 2
  assert metrics.sampled_posterior_kl(mu, presig, 0.5) == pytest.approx(expected)
  # Monte Carlo E_q[log q(z) - log p(z)] with q = N(mu, (scale sigma)^2).
  rng = np.random.RandomState(0)
  sd = 0.5 * np.exp(presig / 2)
  z = mu + sd * rng.standard_normal((400000, 2))
  log_q = -0.5 * ((z - mu) / sd) ** 2 - np.log(sd)
  log_p = -0.5 * z ** 2
  assert np.mean(log_q - log_p) == pytest.approx(expected, abs=5e-3)  # mean over z too
  assert metrics.sampled_posterior_kl(mu, presig, 0.0) == float('inf')
  with pytest.raises(errors.SketchRNNError):
    metrics.sampled_posterior_kl(mu, presig, -1.0)


def test_sampled_kl_at_scale_1_is_the_trained_kl(data):
  hps, test_set = data
  model = make_model(hps)
  _, x, lengths = test_set.get_batch(0)
  out = model(x, lengths, eps=tf.zeros([len(x), hps.z_size]))
  mu, presig = out['mean'].numpy(), out['presig'].numpy()
  kl_raw = float(out['kl_raw'])
  assert kl_raw > hps.kl_tolerance  # not hidden by the floor
  assert metrics.sampled_posterior_kl(mu, presig, 1.0) == pytest.approx(kl_raw,
                                                                       rel=1e-5)
  assert metrics.kl_divergence(mu, presig) == pytest.approx(kl_raw, rel=1e-5)
  assert metrics.kl_term([metrics.kl_divergence(mu, presig)], hps.kl_tolerance) == (
      pytest.approx(float(out['kl_cost']), rel=1e-5))
  # Other scales move it: not the same number by accident.
  assert metrics.sampled_posterior_kl(mu, presig, 2.0) != pytest.approx(kl_raw)


def test_kl_term_clips_each_batch_then_averages():
  assert metrics.kl_term([0.1, 0.5], 0.2) == pytest.approx(0.35)
  assert metrics.kl_divergence(np.zeros((3, 4)), np.zeros((3, 4))) == 0.0


def test_active_units_by_hand():
  # dimension 0 constant 0, dimension 1 takes 0, 0.2, -0.2 (variance 0.08 / 3),
  # dimension 2 constant 5.
  mu = np.array([[0, 0.0, 5], [0, 0.2, 5], [0, -0.2, 5]])
  np.testing.assert_allclose(metrics.latent_variances(mu), [0, 0.08 / 3, 0])
  assert metrics.active_units(mu) == 1
  assert metrics.active_units(mu, threshold=0.03) == 0


def test_active_units_of_an_encoder_that_ignores_its_input_is_zero(data):
  hps, test_set = data
  model = make_model(hps)
  assert metrics.active_units(metrics.posterior_pass(model, test_set)['mu']) > 0
  model.mu_w.assign(tf.zeros_like(model.mu_w))  # mu = bias, whatever the sketch
  mu = metrics.posterior_pass(model, test_set)['mu']
  np.testing.assert_allclose(mu, np.tile(model.mu_b.numpy(), [len(mu), 1]),
                             atol=1e-6)
  assert metrics.active_units(mu) == 0


# -- reconstruction costs -------------------------------------------------------------


def test_reconstruction_costs_follow_eps(data):
  hps, test_set = data
  model = make_model(hps, scale=1.0)
  passed = metrics.posterior_pass(model, test_set, seed=3)
  # At scale 1 the N(0, scale^2) draws are the N(0, 1) draws.
  np.testing.assert_array_equal(passed['recon_eps1'], passed['recon_eps_scale'])
  assert not np.allclose(passed['recon_mu'], passed['recon_eps1'])
  # z = mu is what the training's eval computes when scale = 0 (eps times 0).
  zero = make_model(hps, scale=0.0)
  for a, b in zip(zero.trainable_variables, model.trainable_variables):
    a.assign(b)
  eval_fn = tf.function(sketch_rnn_model.eval_costs)
  _, recon, _ = sketch_rnn_model.evaluate_model(eval_fn, zero, test_set, 0.01)
  assert np.mean(passed['recon_mu']) == pytest.approx(recon, rel=1e-5)
  assert len(passed['mu']) == 32


def test_evaluate_returns_every_metric(data):
  hps, test_set = data
  model = make_model(hps, scale=2.0)
  result = metrics.evaluate(model, test_set, num_samples=4, max_sketches=5, seed=0)
  for key in metrics.METRIC_KEYS:
    assert np.isfinite(result[key]), key
  assert result['num_fidelity_sketches'] == 5 and result['num_test_sketches'] == 32
  assert result['active_units'] == sum(v > 0.01 for v in result['latent_variances'])
