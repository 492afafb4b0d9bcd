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

# key -> (title, which direction is better, definition), in the report's order.
Metric = collections.namedtuple('Metric', 'key title better definition')
METRICS = (
    Metric('recon_mu', 'Reconstruction cost, z = mu', 'lower',
           'Test reconstruction cost (mixture NLL of the offsets plus the pen '
           'cross-entropy, mean over all steps) decoding from z = mu.'),
    Metric('recon_eps1', 'Reconstruction cost, eps ~ N(0, 1)', 'lower',
           'The same with z = mu + sigma * eps, eps ~ N(0, 1) (one draw per '
           'sketch): Magenta\'s posterior.'),
    Metric('recon_eps_scale', 'Reconstruction cost, eps ~ N(0, scale^2)', 'lower',
           'The same with eps ~ N(0, scale^2): the noise the model was trained '
           'with (the same standard normal draws times scale).'),
    Metric('kl_term', 'KL term as trained', 'lower',
           'max(KL, kl_tolerance) per test batch, mean over batches: the '
           'kl_cost of the training loss.'),
    Metric('kl', 'KL, unclipped', 'lower',
           'KL(N(mu, sigma^2) || N(0, I)), mean over sketches and z dimensions, '
           'without the kl_tolerance floor.'),
    Metric('kl_sampled', 'KL of the sampled posterior', 'lower',
           'KL(N(mu, (scale sigma)^2) || N(0, I)) = 0.5 * mean(scale^2 sigma^2 + '
           'mu^2 - 1 - log(scale^2 sigma^2)): the posterior training actually '
           'drew z from. Infinite at scale 0 (a point mass).'),
    Metric('active_units', 'Active latent units', 'higher',
           'z dimensions whose posterior mean varies across the test set: '
           'variance over sketches of mu_d above %g.' % ACTIVE_THRESHOLD),
    Metric('fidelity_chamfer', 'Reconstruction fidelity (Chamfer)', 'lower',
           'Symmetric Chamfer distance between each test sketch\'s points and '
           'those of the greedy decoding of its mu, mean over test sketches.'),
    Metric('diversity_t1', 'Prior sample diversity, T = 1', 'higher',
           'Mean pairwise symmetric Chamfer distance of prior samples '
           '(z ~ N(0, I)) at temperature 1. Positions are absolute (not centred '
           'or resized), so size and drift count, and noise is diverse too: read '
           'it with the grids.'),
    Metric('diversity_t05', 'Prior sample diversity, T = 0.5', 'higher',
           'The same at temperature 0.5.'),
)
METRIC_KEYS = tuple(m.key for m in METRICS)


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


def greedy_reconstructions(model, z, seq_len=None, chunk=128):
  """The greedy decoding of each latent vector, as stroke-3 sketches."""
  decoded = []
  for start in range(0, len(z), chunk):
    decoded += sample.decode(model, z[start:start + chunk], greedy=True,
                             seq_len=seq_len)
  return decoded


def evaluate(model, test_set, num_samples=32, max_sketches=256, seed=0,
             seq_len=None):
  """Every metric of METRICS for a model (built with dropout off) on a test loader.

  num_samples: prior samples per temperature for the diversity. max_sketches: test
  sketches decoded for the fidelity, spread evenly over the loader's length order
  (0: all). seed: eps and the prior samples (the same for every model, so that
  models are compared on the same draws). Returns a dict of the metrics plus
  latent_variances, num_test_sketches, num_fidelity_sketches, z_size.
  """
  hps = model.hps
  seq_len = seq_len or hps.max_seq_len
  passed = posterior_pass(model, test_set, seed)
  mu, presig = passed['mu'], passed['presig']
  result = {
      'recon_mu': float(np.mean(passed['recon_mu'])),
      'recon_eps1': float(np.mean(passed['recon_eps1'])),
      'recon_eps_scale': float(np.mean(passed['recon_eps_scale'])),
      'kl_term': kl_term(passed['kl'], hps.kl_tolerance),
      'kl': kl_divergence(mu, presig),
      'kl_sampled': sampled_posterior_kl(mu, presig, hps.scale),
      'active_units': active_units(mu),
  }
  chosen = spaced_indices(len(mu), max_sketches)
  originals = [test_set.strokes[i] for i in chosen]
  decoded = greedy_reconstructions(model, mu[chosen], seq_len)
  result['fidelity_chamfer'] = reconstruction_fidelity(originals, decoded)
  for key, temperature in (('diversity_t1', 1.0), ('diversity_t05', 0.5)):
    # The same seed at both temperatures: the same z, only T differs.
    strokes5, _ = sample.sample_batch(model, num=num_samples, temperature=temperature,
                                      seq_len=seq_len, seed=seed)
    result[key] = mean_pairwise_distance(sample.to_strokes3(strokes5))
  result.update(latent_variances=latent_variances(mu).tolist(),
                num_test_sketches=int(len(mu)),
                num_fidelity_sketches=int(len(chosen)), z_size=int(hps.z_size))
  return result
