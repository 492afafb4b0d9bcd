"""The scale study's metrics, each against a value worked out by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils

import conftest
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
  result = metrics.evaluate(model, test_set, num_samples=4, max_sketches=5, seed=0,
                            iwae_samples=3)
  for key in metrics.METRIC_KEYS:
    if key in metrics.CLASSIFIER_KEYS:
      assert result[key] is None, key  # no classifier given
    else:
      assert np.isfinite(result[key]), key
  assert result['num_scored_sketches'] == 5 and result['num_test_sketches'] == 32
  assert result['active_units'] == sum(v > 0.01 for v in result['latent_variances'])
  assert result['active_units_free'] == sum(v > 0.01 for v in result['signal_ratios'])
  assert result['iwae_scaled'] <= result['nelbo_scaled'] + 1e-9
  assert result['nelbo_scaled'] == pytest.approx(result['distortion'] + result['rate'])


# -- likelihoods in nats ------------------------------------------------------------


def numpy_log_likelihood(output, targets, lengths):
  """log p(x|z) per sketch the long way: the 2 x 2 covariance of each component
  inverted and its determinant taken by numpy."""
  b, t = targets.shape[:2]
  m = (output.shape[1] - 3) // 6
  total = np.zeros(b)
  for i in range(b):
    for j in range(t):
      row, target = output[i * t + j].astype(np.float64), targets[i, j]
      pen_logits, pi = row[:3], row[3:3 + m]
      mu1, mu2, s1, s2, corr = (row[3 + m * (1 + c):3 + m * (2 + c)] for c in range(5))
      weights = np.exp(pi - pi.max()) / np.exp(pi - pi.max()).sum()
      density = 0.0
      for c in range(m):
        sx, sy, r = np.exp(s1[c]), np.exp(s2[c]), np.tanh(corr[c])
        cov = np.array([[sx * sx, r * sx * sy], [r * sx * sy, sy * sy]])
        d = target[:2] - [mu1[c], mu2[c]]
        density += weights[c] * np.exp(-0.5 * d @ np.linalg.solve(cov, d)) / (
            2 * np.pi * np.sqrt(np.linalg.det(cov)))
      pen = np.exp(pen_logits - pen_logits.max())
      pen /= pen.sum()
      if j < lengths[i]:
        total[i] += np.log(density)
      if j <= lengths[i]:
        total[i] += np.log(pen[np.argmax(target[2:])])
  return total


def test_log_likelihood_against_numpy():
  rng = np.random.RandomState(0)
  b, t, m = 3, 6, 2
  output = rng.normal(0, 0.7, (b * t, 3 + 6 * m)).astype(np.float32)
  targets = np.zeros((b, t, 5), np.float32)
  targets[:, :, :2] = rng.normal(0, 1, (b, t, 2))
  lengths = np.array([2, 5, 6])  # the last fills the steps: no end row
  for i, n in enumerate(lengths):
    targets[i, np.arange(n), 2 + rng.randint(0, 2, n)] = 1  # pen down or up
    targets[i, n:, :] = [0, 0, 0, 0, 1]  # end of sketch, then padding
  got = sketch_rnn_model.log_likelihood(tf.constant(output), tf.constant(targets),
                                        tf.constant(lengths)).numpy()
  np.testing.assert_allclose(got, numpy_log_likelihood(output, targets, lengths),
                             rtol=1e-5)
  # The padding after the end row is not the sketch's: changing it changes nothing.
  output2 = output.copy()
  output2[0 * t + 4] += 3.0  # sketch 0 has 2 points: step 4 is padding
  again = sketch_rnn_model.log_likelihood(tf.constant(output2), tf.constant(targets),
                                          tf.constant(lengths)).numpy()
  assert again[0] == got[0] and again[1] == got[1]


def test_kl_to_prior_against_the_textbook_formula():
  rng = np.random.RandomState(1)
  mu, log_var = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
  for prior_var in (1.0, 0.25, 16.0):
    want = np.sum(0.5 * np.log(prior_var / np.exp(log_var)) +
                  (np.exp(log_var) + mu ** 2) / (2 * prior_var) - 0.5, axis=1)
    np.testing.assert_allclose(metrics.kl_to_prior(mu, log_var, np.log(prior_var)),
                               want, rtol=1e-12)
  # Magenta's per-element KL, summed over z, at the unit prior.
  np.testing.assert_allclose(
      metrics.kl_to_prior(mu, log_var),
      np.sum(sketch_rnn_model.kl_divergence(mu, log_var), axis=1), rtol=1e-12)


def linear_gaussian(n=2000, k=64, noise=0.5, shift=0.0, seed=0):
  """x = z + N(0, noise), z ~ N(0, 1): log p(x) = log N(x; 0, 1 + noise) is known.
  q is the true posterior N(x / (1 + noise), noise / (1 + noise)), its mean moved
  by shift. Returns (log w [n, k], log p(x) [n], log p(x|z) [n, k])."""
  rng = np.random.RandomState(seed)
  x = rng.normal(0, np.sqrt(1 + noise), n)
  mu = (x / (1 + noise) + shift)[:, None]
  log_var = np.full((n, 1), np.log(noise / (1 + noise)))
  z = mu[:, None] + np.exp(log_var / 2)[:, None] * rng.normal(size=(n, k, 1))
  log_px_z = -0.5 * (np.log(2 * np.pi * noise) + (x[:, None] - z[..., 0]) ** 2 / noise)
  log_w = metrics.importance_log_weights(log_px_z, z, mu, log_var, 0.0)
  log_px = -0.5 * (np.log(2 * np.pi * (1 + noise)) + x ** 2 / (1 + noise))
  return log_w, log_px, log_px_z


def test_iwae_is_exact_with_the_true_posterior():
  log_w, log_px, _ = linear_gaussian()
  for k in (1, 8, 64):
    np.testing.assert_allclose(metrics.iwae_nll(log_w[:, :k]), -log_px, atol=1e-9)


def test_iwae_bounds_the_likelihood_tighter_with_k():
  log_w, log_px, _ = linear_gaussian(shift=0.6)
  bounds = [np.mean(metrics.iwae_nll(log_w[:, :k])) for k in (1, 2, 8, 64)]
  assert np.all(np.diff(bounds) < 0)  # non-increasing in k, here strictly
  assert bounds[-1] > np.mean(-log_px)  # never below the true -log p(x)
  assert bounds[-1] - np.mean(-log_px) < 0.2 * (bounds[0] - np.mean(-log_px))
  # With the same draws, never above the sampled negative ELBO (Jensen).
  assert np.all(metrics.iwae_nll(log_w) <= -np.mean(log_w, axis=1) + 1e-12)
  np.testing.assert_allclose(metrics.iwae_nll(log_w[:, :1]), -log_w[:, 0])


def test_mutual_information_on_posteriors_with_known_information():
  rng = np.random.RandomState(2)
  n, k, d = 8, 200, 2
  def draws(mu, log_var):
    return mu[:, None] + np.exp(log_var / 2)[:, None] * rng.normal(size=(n, k, d))
  # The same posterior for every sketch: z says nothing about x.
  mu, log_var = np.tile(rng.normal(size=d), (n, 1)), np.zeros((n, d))
  assert metrics.mutual_information(draws(mu, log_var), mu, log_var) == pytest.approx(
      0.0, abs=1e-12)
  # Posteriors far apart: z names its sketch, log N nats.
  mu = np.arange(n)[:, None] * 100.0 + np.zeros((n, d))
  assert metrics.mutual_information(draws(mu, log_var), mu, log_var) == pytest.approx(
      np.log(n), abs=1e-9)
  # Two overlapping unit Gaussians at -a and a, in 1-D: H(mixture) - H(component),
  # integrated on a grid.
  a, grid = 0.8, np.linspace(-12, 12, 200001)
  pdf = lambda m: np.exp(-0.5 * (grid - m) ** 2) / np.sqrt(2 * np.pi)
  mix = 0.5 * (pdf(-a) + pdf(a))
  want = -np.sum(mix * np.log(mix)) * (grid[1] - grid[0]) - 0.5 * np.log(2 * np.pi * np.e)
  mu2, lv2 = np.array([[-a], [a]]), np.zeros((2, 1))
  z = mu2[:, None] + rng.normal(size=(2, 50000, 1))
  assert metrics.mutual_information(z, mu2, lv2) == pytest.approx(want, abs=0.01)
  # Random posteriors: between 0 and log N.
  for seed in range(5):
    r = np.random.RandomState(seed)
    mu, log_var = r.normal(0, 2, (n, d)), r.normal(-1, 1, (n, d))
    mi = metrics.mutual_information(draws(mu, log_var), mu, log_var)
    assert 0 <= mi <= np.log(n)


def test_the_coordinate_free_active_units_ignore_a_rescaling():
  rng = np.random.RandomState(3)
  mu = rng.normal(0, [0.3, 0.05, 1.0, 0.0], (500, 4))
  presig = np.log(rng.uniform(0.05, 0.1, (500, 4)))
  for s in (0.5, 2.0, 4.0):
    # z = s z': the scale-s model's q = N(mu, (s sigma)^2) is its twin's N(mu/s, sigma^2).
    np.testing.assert_allclose(metrics.latent_signal_ratio(mu, presig, s),
                               metrics.latent_signal_ratio(mu / s, presig, 1.0))
  ratio = np.var(mu, 0) / np.mean(np.exp(presig), 0)
  np.testing.assert_allclose(metrics.latent_signal_ratio(mu, presig, 1.0), ratio)
  assert metrics.active_units_free(mu, presig, 1.0) == int(np.sum(ratio > 0.01))
  # The raw count is tied to z's units: var(mu / 4) = var(mu) / 16.
  assert metrics.active_units(mu) == 2 and metrics.active_units(mu / 4) == 1


@pytest.mark.parametrize('scale', [0.5, 2.0, 4.0])
def test_invariant_metrics_agree_with_the_rescaled_twin(data, scale):
  hps, test_set = data
  model = make_model(hps, scale=scale)
  twin = conftest.rescaled_twin(model, scale)
  sketches = test_set.strokes[:12]
  mine = metrics.likelihood_metrics(metrics.importance_pass(model, sketches, 6, 0),
                                    scale)
  theirs = metrics.likelihood_metrics(metrics.importance_pass(twin, sketches, 6, 0),
                                      1.0)
  invariant = [m.key for m in metrics.METRICS if m.invariant and m.key in mine]
  assert set(invariant) == {'nelbo_scaled', 'iwae_scaled', 'distortion', 'rate',
                            'mutual_info', 'active_units_free'}
  for key in invariant:
    assert mine[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-4), key
  # The twin's own coordinates are its N(0, I): its two ELBOs are one.
  assert theirs['nelbo_unit'] == pytest.approx(theirs['nelbo_scaled'], rel=1e-12)
  # What the training pays: the twin's rate plus the means-only penalty.
  mu = metrics.importance_pass(model, sketches, 1, 0)['mu']
  penalty = 0.5 * (scale ** 2 - 1) * np.mean(np.sum(np.square(mu / scale), axis=1))
  assert mine['rate_paid'] - theirs['rate_paid'] == pytest.approx(penalty, rel=1e-4)
  # z's coordinates: the raw active units see mu, the twin's mu / scale.
  assert mine['active_units'] == metrics.active_units(mu)
  assert theirs['active_units'] == metrics.active_units(mu / scale)
  if scale == 4.0:
    assert mine['active_units'] > theirs['active_units']
    assert mine['nelbo_unit'] != pytest.approx(theirs['nelbo_unit'], rel=1e-3)


class FakeClassifier:
  """Calls a sketch's class its number of points mod 3; its features are the
  number of points and the first offset."""
  class_names = ['a', 'b', 'c']

  def predict_proba(self, sketches):
    return np.eye(3)[[len(s) % 3 for s in sketches]]

  def embed(self, sketches):
    return np.array([[len(s), s[0][0] if len(s) else 0.0] for s in sketches], float)


def test_classifier_metrics_score_each_set_of_sketches():
  from sketch_rnn import classifier  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(4)
  tests = [rng.normal(size=(n, 3)) for n in (3, 4, 5, 6, 7, 8)]
  labels = [len(s) % 3 for s in tests]
  recon = [s[:-1] if i < 2 else s for i, s in enumerate(tests)]  # 2 lose a point
  unit = [rng.normal(size=(3, 3)) for _ in range(5)]  # all class 0
  scaled = [rng.normal(size=(n, 3)) for n in (3, 4, 5, 3, 4, 5)]
  result = metrics.classifier_metrics(FakeClassifier(), tests, labels, recon, unit,
                                      scaled)
  assert result['recon_recognition'] == pytest.approx(4 / 6)
  assert result['classes_prior_unit'] == 0.0
  assert result['classes_prior_scaled'] == pytest.approx(np.log(3))
  assert result['confidence_prior_unit'] == result['confidence_prior_scaled'] == 1.0
  embed = FakeClassifier().embed
  for key, sketches in (('fd_recon', recon), ('fd_prior_unit', unit),
                        ('fd_prior_scaled', scaled)):
    assert result[key] == pytest.approx(
        classifier.frechet_distance(embed(tests), embed(sketches))), key
