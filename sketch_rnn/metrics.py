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
"""What a trained model has learnt, measured on the test set: the scale study's metrics.

The metrics themselves are small numpy functions of arrays (posterior means and
log-variances, point sets), so each can be checked on a hand-made case; `evaluate`
runs a model over a test DataLoader and feeds them.

Conventions, those of Magenta's evaluation during training: dropout off, the pen
loss not masked after each sketch's end, costs averaged over the loader's full
batches (the last, partial batch is left out, as Magenta's evaluate_model does).
Distances are in the dataset's normalised units (offsets divided by the train
split's standard deviation).
"""

import collections

import numpy as np
import tensorflow as tf

from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016's cut-off for an active latent unit
IWAE_SAMPLES = 64

# key, title, which direction is better, invariant (the same number for a model
# at scale s and its rescaled scale-1 twin, docs/study.md), definition. In the
# report's order: the invariant metrics first.
Metric = collections.namedtuple('Metric', 'key title better invariant definition')
METRICS = (
    # -- invariant: likelihoods in nats, information, coordinate-free counts
    Metric('nelbo_scaled', 'Negative ELBO, prior N(0, s^2 I)', 'lower', True,
           'Per test sketch, in nats: E_q[-log p(x|z)] + KL(q || N(0, s^2 I)) with '
           'q = N(mu, (s sigma)^2), the posterior training sampled, and the prior '
           'in the decoder\'s own coordinates. Mean over sketches.'),
    Metric('iwae_scaled', 'IWAE bound on -log p(x), prior N(0, s^2 I)', 'lower', True,
           'Per test sketch, in nats: -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), '
           'z_i ~ q, with k importance samples (Burda et al. 2016); an upper bound '
           'on the negative log-likelihood, tighter than the ELBO.'),
    Metric('distortion', 'Distortion (reconstruction nats)', 'lower', True,
           'E_q[-log p(x|z)] per test sketch in nats, over the k samples of q: the '
           'offsets\' mixture log-density and the pen, summed over the sketch\'s '
           'points and its end.'),
    Metric('rate', 'Rate, KL of q to N(0, s^2 I)', None, True,
           'The information the code carries, in nats per sketch: the KL of q '
           'against the prior in the decoder\'s coordinates (the rescaled twin\'s '
           'KL). Neither direction is better: read it with the distortion.'),
    Metric('mutual_info', 'Mutual information I(x; z)', 'higher', True,
           'Under q, x uniform over the scored test sketches (He et al. 2019): '
           'mean over sketches and samples of log q(z|x) - log q(z), q(z) the '
           'aggregate posterior of those sketches; at most log N, floored at 0.'),
    Metric('active_units_free', 'Active units, coordinate-free', 'higher', True,
           'z dimensions whose posterior mean varies across sketches relative to '
           'the posterior\'s own spread: Var_x(mu_d) / E_x[(s sigma_d)^2] above '
           '%g. The same under any rescaling of z.' % ACTIVE_THRESHOLD),
    Metric('recon_mu', 'Reconstruction cost, z = mu', 'lower', True,
           'Magenta\'s r_cost on the test split (mixture NLL of the offsets plus '
           'the pen cross-entropy, mean over all steps) decoding from z = mu.'),
    Metric('recon_eps_scale', 'Reconstruction cost, eps ~ N(0, s^2)', 'lower', True,
           'The same with z = mu + sigma * eps, eps ~ N(0, s^2): the noise the '
           'model was trained with.'),
    Metric('fidelity_chamfer', 'Reconstruction fidelity (Chamfer)', 'lower', True,
           'Symmetric Chamfer distance between each test sketch\'s points and '
           'those of the greedy decoding of its mu, mean over test sketches.'),
    Metric('recon_recognition', 'Reconstructions recognised', 'higher', True,
           'The share of greedy reconstructions that the sketch classifier puts in '
           'their input\'s class.'),
    Metric('fd_recon', 'Frechet distance, reconstructions', 'lower', True,
           'Between the classifier\'s features of the test sketches and of their '
           'greedy reconstructions.'),
    Metric('fd_prior_scaled', 'Frechet distance, prior N(0, s^2 I)', 'lower', True,
           'Between the classifier\'s features of the test sketches and of prior '
           'samples with z ~ N(0, s^2 I), temperature 1.'),
    Metric('classes_prior_scaled', 'Class entropy, prior N(0, s^2 I)', 'higher', True,
           'Entropy (nats) of the histogram of the classes the classifier gives '
           'those samples: log C when every class is drawn equally.'),
    Metric('confidence_prior_scaled', 'Classifier confidence, prior N(0, s^2 I)',
           'higher', True,
           'Mean over those samples of the classifier\'s top probability.'),
    # -- raw: tied to z's coordinates (N(0, I) is narrower than the z the
    #    decoder saw at s > 1), or Magenta's means
    Metric('nelbo_unit', 'Negative ELBO, prior N(0, I)', 'lower', False,
           'As the first, against N(0, I), the prior Magenta\'s sampler uses.'),
    Metric('iwae_unit', 'IWAE bound on -log p(x), prior N(0, I)', 'lower', False,
           'As the IWAE bound above, against N(0, I).'),
    Metric('rate_unit', 'Rate, KL of q to N(0, I)', None, False,
           'The KL of q against N(0, I), nats per sketch.'),
    Metric('rate_paid', 'Rate paid in training', None, False,
           'KL(N(mu, sigma^2) || N(0, I)) in nats per sketch: the KL the training '
           'loss charges (before its mean over z and the kl_tolerance floor). At '
           'scale s it is the twin\'s rate plus 0.5 (s^2 - 1) sum((mu/s)^2).'),
    Metric('active_units', 'Active units, raw', 'higher', False,
           'z dimensions with Var_x(mu_d) above %g (Burda et al. 2016): tied to z\'s '
           'units, so mu/s at scale s shrinks it.' % ACTIVE_THRESHOLD),
    Metric('recon_eps1', 'Reconstruction cost, eps ~ N(0, 1)', 'lower', False,
           'r_cost with z = mu + sigma * eps, eps ~ N(0, 1): Magenta\'s posterior.'),
    Metric('kl_term', 'KL term as trained', 'lower', False,
           'max(KL, kl_tolerance) per test batch, mean over batches: the kl_cost '
           'of the training loss.'),
    Metric('kl', 'KL, unclipped', 'lower', False,
           'KL(N(mu, sigma^2) || N(0, I)), mean over sketches and z dimensions.'),
    Metric('kl_sampled', 'KL of the sampled posterior', 'lower', False,
           'KL(N(mu, (s sigma)^2) || N(0, I)), mean over sketches and z '
           'dimensions. Infinite at scale 0 (a point mass).'),
    Metric('fd_prior_unit', 'Frechet distance, prior N(0, I)', 'lower', False,
           'As above, for prior samples with z ~ N(0, I), temperature 1.'),
    Metric('classes_prior_unit', 'Class entropy, prior N(0, I)', 'higher', False,
           'As above, for those samples.'),
    Metric('confidence_prior_unit', 'Classifier confidence, prior N(0, I)', 'higher',
           False, 'As above, for those samples.'),
    Metric('diversity_t1', 'Prior sample diversity, T = 1', 'higher', False,
           'Mean pairwise symmetric Chamfer distance of prior samples '
           '(z ~ N(0, I)) at temperature 1. Positions are absolute (not centred '
           'or resized), so size and drift count, and noise is diverse too: read '
           'it with the grids.'),
    Metric('diversity_t05', 'Prior sample diversity, T = 0.5', 'higher', False,
           'The same at temperature 0.5.'),
)
METRIC_KEYS = tuple(m.key for m in METRICS)
CLASSIFIER_KEYS = ('recon_recognition', 'fd_recon', 'fd_prior_scaled',
                   'classes_prior_scaled', 'confidence_prior_scaled',
                   'fd_prior_unit', 'classes_prior_unit', 'confidence_prior_unit')


# ---------------------------------------------------------------------------
# The metrics: numpy only
# ---------------------------------------------------------------------------


def kl_divergence(mu, presig):
  """KL(N(mu, exp(presig)) || N(0, I)), mean over batch and z (Magenta's kl_raw)."""
  mu, presig = np.asarray(mu, np.float64), np.asarray(presig, np.float64)
  return float(np.mean(sketch_rnn_model.kl_divergence(mu, presig)))


def kl_term(batch_kls, kl_tolerance):
  """The trained KL term over an evaluation: mean over batches of max(KL, tol)."""
  return float(np.mean(np.maximum(np.asarray(batch_kls, np.float64), kl_tolerance)))


def sampled_posterior_kl(mu, presig, scale):
  """KL(N(mu, (scale * sigma)^2) || N(0, I)), mean over batch and z.

  0.5 * mean(scale^2 sigma^2 + mu^2 - 1 - log(scale^2 sigma^2)), sigma^2 =
  exp(presig). At scale 0 the posterior is a point mass and the KL is +inf.
  """
  if scale < 0:
    raise errors.SketchRNNError('scale must not be negative, got %s' % scale)
  if scale == 0:
    return float('inf')
  # log(scale^2 sigma^2) as a sum: exp(presig) can underflow where presig cannot.
  return kl_divergence(mu, 2.0 * np.log(scale) + np.asarray(presig, np.float64))


def latent_variances(mu):
  """Per z dimension, the variance over sketches of the posterior mean mu_d."""
  return np.var(np.asarray(mu, np.float64), axis=0)


def active_units(mu, threshold=ACTIVE_THRESHOLD):
  """How many z dimensions have a mu whose variance over sketches exceeds threshold."""
  return int(np.sum(latent_variances(mu) > threshold))


LOG_2PI = float(np.log(2 * np.pi))


def gaussian_log_density(z, mean, log_var):
  """log N(z; mean, diag(exp(log_var))), summed over the last axis (broadcasting)."""
  z, mean, log_var = (np.asarray(a, np.float64) for a in (z, mean, log_var))
  return -0.5 * np.sum(LOG_2PI + log_var + np.square(z - mean) * np.exp(-log_var),
                       axis=-1)


def kl_to_prior(mu, log_var, prior_log_var=0.0):
  """KL(N(mu, exp(log_var)) || N(0, exp(prior_log_var) I)) of each row, in nats
  (summed over z)."""
  mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
  return 0.5 * np.sum(np.exp(log_var - prior_log_var) + np.square(mu) *
                      np.exp(-prior_log_var) - 1 - log_var + prior_log_var, axis=-1)


def importance_log_weights(log_px_z, z, mu, log_var, prior_log_var):
  """log w = log p(x|z) + log p(z) - log q(z|x): [N, k].

  log_px_z [N, k]; z [N, k, D], drawn from q = N(mu, exp(log_var)) with mu,
  log_var [N, D]; the prior N(0, exp(prior_log_var) I).
  """
  mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
  return (np.asarray(log_px_z, np.float64) +
          gaussian_log_density(z, 0.0, prior_log_var) -
          gaussian_log_density(z, mu[:, None], log_var[:, None]))


def logsumexp(a, axis):
  a = np.asarray(a, np.float64)
  top = np.max(a, axis=axis, keepdims=True)
  return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def iwae_nll(log_w):
  """The importance-weighted bound on -log p(x) of each sketch: [N] from log
  weights [N, k]. -log (1/k) sum_i w_i; k = 1 is the one-sample negative ELBO."""
  log_w = np.asarray(log_w, np.float64)
  return np.log(log_w.shape[1]) - logsumexp(log_w, axis=1)


def mutual_information(z, mu, log_var):
  """I(x; z) in nats under q, x uniform over the N posteriors (He et al. 2019).

  z [N, k, D]: k draws from each q(z|x_n) = N(mu_n, exp(log_var_n)). The mean over
  the draws of log q(z|x_n) - log q(z), q(z) = (1/N) sum_m q(z|x_m) the aggregate
  posterior; each term is at most log N, and the estimate is floored at 0 (the
  true value is not negative; the noise of a few draws can be).
  """
  z, mu, log_var = (np.asarray(a, np.float64) for a in (z, mu, log_var))
  n, k, d = z.shape
  flat = z.reshape(n * k, d)
  inv_var = np.exp(-log_var)
  # log q(z_j | x_m) for every draw j and posterior m at once: the square of
  # (z - mu) / sigma expanded into matrix products, [N k, N].
  square = (np.square(flat) @ inv_var.T - 2 * flat @ (mu * inv_var).T +
            np.sum(np.square(mu) * inv_var, axis=1)[None])
  log_q = -0.5 * (d * LOG_2PI + np.sum(log_var, axis=1)[None] + square)
  own = log_q[np.arange(n * k), np.repeat(np.arange(n), k)]
  aggregate = logsumexp(log_q, axis=1) - np.log(n)
  return float(max(np.mean(own - aggregate), 0.0))


def latent_signal_ratio(mu, presig, scale):
  """Per z dimension, Var_x(mu_d) / E_x[(scale sigma_d)^2]: how much of z_d's
  spread says which sketch it came from. No rescaling of z changes it."""
  mu, presig = np.asarray(mu, np.float64), np.asarray(presig, np.float64)
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.var(mu, axis=0) / np.mean(scale ** 2 * np.exp(presig), axis=0)


def active_units_free(mu, presig, scale, threshold=ACTIVE_THRESHOLD):
  """How many z dimensions have a latent_signal_ratio above threshold."""
  return int(np.sum(latent_signal_ratio(mu, presig, scale) > threshold))


def points(strokes3):
  """A stroke-3 sketch's absolute points [n, 2] (cumulative sums of the offsets).

  The pen starts at the origin without drawing, so the origin is not a point,
  except for an empty sketch, which counts as the one point where the pen rests:
  that keeps every distance finite.
  """
  strokes3 = np.asarray(strokes3, np.float64).reshape(-1, 3)
  if not len(strokes3):
    return np.zeros((1, 2))
  return np.cumsum(strokes3[:, 0:2], axis=0)


def chamfer(a, b):
  """Symmetric Chamfer distance of two point sets [n, 2] and [m, 2].

  The mean over A's points of the Euclidean distance to the nearest point of B,
  and the same from B to A, averaged: a set against itself shifted by d gives |d|.
  """
  a = np.asarray(a, np.float64).reshape(-1, 2)
  b = np.asarray(b, np.float64).reshape(-1, 2)
  if not len(a) or not len(b):
    raise errors.SketchRNNError('chamfer needs two non-empty point sets')
  d = np.sqrt(np.sum(np.square(a[:, None, :] - b[None, :, :]), axis=-1))
  return float(0.5 * (d.min(axis=1).mean() + d.min(axis=0).mean()))


def sketch_distance(s1, s2):
  """Symmetric Chamfer distance between two stroke-3 sketches' points."""
  return chamfer(points(s1), points(s2))


def reconstruction_fidelity(originals, decoded):
  """Mean over pairs of the Chamfer distance of a sketch and its reconstruction."""
  if len(originals) != len(decoded) or not len(originals):
    raise errors.SketchRNNError('need as many reconstructions as sketches (got %d '
                               'and %d)' % (len(originals), len(decoded)))
  return float(np.mean([sketch_distance(a, b) for a, b in zip(originals, decoded)]))


def mean_pairwise_distance(sketches, distance=sketch_distance):
  """Mean of distance(s_i, s_j) over all pairs i < j: the diversity of a set."""
  n = len(sketches)
  if n < 2:
    raise errors.SketchRNNError('diversity needs at least 2 sketches, got %d' % n)
  total = [distance(sketches[i], sketches[j])
           for i in range(n) for j in range(i + 1, n)]
  return float(np.mean(total))


def spaced_indices(n, count):
  """count indices spread evenly over range(n) (all of them when count is 0 or >= n).

  Loaders sort sketches by length, so the first `count` would be the shortest.
  """
  if not count or count >= n:
    return np.arange(n)
  return np.unique(np.round(np.linspace(0, n - 1, count)).astype(np.int64))


# ---------------------------------------------------------------------------
# A model on a test set
# ---------------------------------------------------------------------------


def _forward_fn(model):
  @tf.function(reduce_retracing=True)
  def forward(x, lengths, eps):
    # Magenta's evaluation during training: dropout off and, its eval model
    # keeping is_training=True, the pen loss unmasked after the end.
    out = model(x, lengths, dropout=False, mask_pen=False, eps=eps)
    return out['r_cost'], out['mean'], out['presig']
  return forward


def posterior_pass(model, test_set, seed=0):
  """Runs the encoder and the three reconstructions over the test batches.

  Returns a dict: mu, presig [N, z_size] for the N sketches of the full batches
  (test_set.strokes[:N], in order) and, per batch, recon_mu, recon_eps1,
  recon_eps_scale and kl (unclipped). eps ~ N(0, 1) comes from a numpy
  RandomState(seed); eps ~ N(0, scale^2) is the same draws times scale, so that
  the two differ only by the scale.
  """
  if not model.hps.conditional:
    raise errors.SketchRNNError('the model is unconditional: it has no posterior')
  forward = _forward_fn(model)
  rng = np.random.RandomState(seed)
  scale = np.float32(model.hps.scale)
  out = collections.defaultdict(list)
  for i in range(test_set.num_batches):
    _, x, lengths = test_set.get_batch(i)
    normal = rng.standard_normal((len(x), model.hps.z_size)).astype(np.float32)
    r_mu, mu, presig = forward(x, lengths, np.zeros_like(normal))
    r_eps1 = forward(x, lengths, normal)[0]
    r_scale = forward(x, lengths, normal * scale)[0]
    mu, presig = mu.numpy(), presig.numpy()
    out['mu'].append(mu)
    out['presig'].append(presig)
    out['recon_mu'].append(float(r_mu))
    out['recon_eps1'].append(float(r_eps1))
    out['recon_eps_scale'].append(float(r_scale))
    out['kl'].append(kl_divergence(mu, presig))
  if not out:
    raise errors.SketchRNNError('the test split has no full batch of %d sketches'
                               % test_set.batch_size)
  result = {k: np.asarray(v) for k, v in out.items()}
  result['mu'] = np.concatenate(out['mu'])
  result['presig'] = np.concatenate(out['presig'])
  return result


def _log_px_z_fn(model):
  @tf.function(reduce_retracing=True)
  def log_px_z(x, lengths, z):
    output, _ = model.decode(x[:, :-1], z, model.initial_state(z))
    return sketch_rnn_model.log_likelihood(output, x[:, 1:], lengths)
  return log_px_z


def importance_pass(model, sketches, k=IWAE_SAMPLES, seed=0, chunk=1024):
  """The encoder on each sketch, then the decoder on k draws of z from q.

  sketches: normalised stroke-3 sketches (as a DataLoader holds them). q is the
  posterior training sampled, N(mu, (scale sigma)^2). The k draws of a sketch
  share one decoder batch with the draws of other sketches (chunk sequences at a
  time), so the cost is that of N k teacher-forced sequences. Returns a dict:
  mu, presig [N, D], z [N, k, D], log_px_z [N, k] (nats), all float64.
  """
  hps = model.hps
  x, lengths = sample.pad_strokes(sketches, hps.max_seq_len)
  n, d = len(x), hps.z_size
  mu = np.zeros((n, d))
  presig = np.zeros((n, d))
  encode = sample._encode_fn(model)  # pylint: disable=protected-access
  for start in range(0, n, chunk):
    m, p = encode(tf.constant(x[start:start + chunk, 1:]),
                  tf.constant(lengths[start:start + chunk]))
    mu[start:start + chunk], presig[start:start + chunk] = m.numpy(), p.numpy()
  eps = np.random.RandomState(seed).standard_normal((n, k, d))
  # float32, as the decoder sees it, so that the densities are of the same z.
  z = (mu[:, None] + np.exp(presig / 2)[:, None] * hps.scale * eps).astype(np.float32)
  log_px_z = np.zeros((n, k))
  fn = _log_px_z_fn(model)
  per = max(1, chunk // k)
  for start in range(0, n, per):
    stop = min(n, start + per)
    out = fn(tf.constant(np.repeat(x[start:stop], k, axis=0)),
             tf.constant(np.repeat(lengths[start:stop], k)),
             tf.constant(z[start:stop].reshape(-1, d)))
    log_px_z[start:stop] = out.numpy().reshape(stop - start, k)
  return dict(mu=mu, presig=presig, z=z.astype(np.float64), log_px_z=log_px_z)


def likelihood_metrics(passed, scale):
  """The invariant and raw likelihood metrics of an importance_pass, per sketch in
  nats and averaged: nelbo_*, iwae_*, distortion, rate*, mutual_info, the two
  active-unit counts. At scale 0 q is a point mass: those needing log q are nan."""
  mu, presig, z = passed['mu'], passed['presig'], passed['z']
  result = dict(active_units=active_units(mu),
                active_units_free=active_units_free(mu, presig, scale),
                distortion=float(-np.mean(passed['log_px_z'])),
                rate_paid=float(np.mean(kl_to_prior(mu, presig))))
  if scale <= 0:
    for key in ('nelbo_scaled', 'iwae_scaled', 'rate', 'mutual_info', 'nelbo_unit',
                'iwae_unit', 'rate_unit'):
      result[key] = float('nan')
    return result
  log_var = presig + 2 * np.log(scale)  # q's, the posterior training sampled
  for name, prior_log_var in (('scaled', 2 * np.log(scale)), ('unit', 0.0)):
    rate = kl_to_prior(mu, log_var, prior_log_var)
    log_w = importance_log_weights(passed['log_px_z'], z, mu, log_var,
                                   prior_log_var)
    result['rate' if name == 'scaled' else 'rate_unit'] = float(np.mean(rate))
    result['nelbo_' + name] = float(np.mean(-passed['log_px_z'].mean(1) + rate))
    result['iwae_' + name] = float(np.mean(iwae_nll(log_w)))
  result['mutual_info'] = mutual_information(z, mu, log_var)
  return result


def classifier_metrics(classifier, sketches, labels, reconstructions, prior_unit,
                       prior_scaled):
  """The sample-quality scores of CLASSIFIER_KEYS from a trained sketch classifier
  (sketch_rnn.classifier): test sketches with their labels, their reconstructions,
  and prior samples from N(0, I) and from N(0, s^2 I)."""
  from sketch_rnn import classifier as sketch_classifier  # pylint: disable=g-import-not-at-top
  reference = classifier.embed(sketches)
  predicted = np.argmax(classifier.predict_proba(reconstructions), axis=1)
  result = dict(
      recon_recognition=float(np.mean(predicted == np.asarray(labels))),
      fd_recon=sketch_classifier.frechet_distance(
          reference, classifier.embed(reconstructions)))
  for name, samples in (('unit', prior_unit), ('scaled', prior_scaled)):
    spread = sketch_classifier.class_spread(classifier.predict_proba(samples))
    result['fd_prior_' + name] = sketch_classifier.frechet_distance(
        reference, classifier.embed(samples))
    result['classes_prior_' + name] = spread['entropy']
    result['confidence_prior_' + name] = spread['confidence']
  return result


def decode_all(model, z, seq_len=None, chunk=128, **decode_args):
  """The decoding of each latent vector, as stroke-3 sketches, chunk at a time."""
  decoded = []
  for start in range(0, len(z), chunk):
    decoded += sample.decode(model, z[start:start + chunk], seq_len=seq_len,
                             **decode_args)
  return decoded


def evaluate(model, test_set, num_samples=32, max_sketches=256, seed=0,
             seq_len=None, iwae_samples=IWAE_SAMPLES, classifier=None):
  """Every metric of METRICS for a model (built with dropout off) on a test loader.

  num_samples: prior samples per temperature for the diversity. max_sketches: the
  test sketches scored by the likelihoods, the fidelity and the classifier,
  spread evenly over the loader's length order (0: all). seed: eps, the importance
  samples and the prior samples (the same for every model, so that models are
  compared on the same draws). iwae_samples: k of the IWAE bound. classifier: a
  sketch_rnn.classifier.Classifier of the test set's classes, or None (its metrics
  are then None). Returns a dict of the metrics plus latent_variances,
  signal_ratios, num_test_sketches, num_scored_sketches, iwae_samples, z_size.
  """
  hps = model.hps
  seq_len = seq_len or hps.max_seq_len
  passed = posterior_pass(model, test_set, seed)
  result = {
      'recon_mu': float(np.mean(passed['recon_mu'])),
      'recon_eps1': float(np.mean(passed['recon_eps1'])),
      'recon_eps_scale': float(np.mean(passed['recon_eps_scale'])),
      'kl_term': kl_term(passed['kl'], hps.kl_tolerance),
      'kl': kl_divergence(passed['mu'], passed['presig']),
      'kl_sampled': sampled_posterior_kl(passed['mu'], passed['presig'], hps.scale),
  }
  chosen = spaced_indices(len(test_set), max_sketches)
  originals = [test_set.strokes[i] for i in chosen]
  scored = importance_pass(model, originals, iwae_samples, seed)
  result.update(likelihood_metrics(scored, hps.scale))
  mu = scored['mu']
  decoded = decode_all(model, mu.astype(np.float32), seq_len, greedy=True)
  result['fidelity_chamfer'] = reconstruction_fidelity(originals, decoded)
  for key, temperature in (('diversity_t1', 1.0), ('diversity_t05', 0.5)):
    # The same seed at both temperatures: the same z, only T differs.
    strokes5, _ = sample.sample_batch(model, num=num_samples, temperature=temperature,
                                      seq_len=seq_len, seed=seed)
    result[key] = mean_pairwise_distance(sample.to_strokes3(strokes5))
  for key in CLASSIFIER_KEYS:
    result[key] = None
  if classifier is not None and test_set.labels is not None:
    normal = np.random.RandomState(seed).standard_normal(
        (len(chosen), hps.z_size)).astype(np.float32)
    priors = [decode_all(model, z, seq_len, temperature=1.0, seed=seed)
              for z in (normal, normal * np.float32(hps.scale))]
    result.update(classifier_metrics(classifier, originals, test_set.labels[chosen],
                                     decoded, *priors))
  result.update(latent_variances=latent_variances(mu).tolist(),
                signal_ratios=latent_signal_ratio(mu, scored['presig'],
                                                  hps.scale).tolist(),
                num_test_sketches=int(len(passed['mu'])),
                num_scored_sketches=int(len(chosen)),
                iwae_samples=int(iwae_samples), z_size=int(hps.z_size))
  return result
