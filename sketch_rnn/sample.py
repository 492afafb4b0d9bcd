# Copyright 2024 The Magenta Authors.
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
"""Drawing sketches from a trained model, encoding sketches, interpolating.

`sample` is Magenta's `sample()`: one sketch, one point at a time, the choices made
in numpy from the mixture that one compiled decoder step returns. `sample_batch`
draws many sketches in one compiled loop (each with its own z and temperature,
stopping once every sketch has ended) from the same distribution. The rules, from
Magenta: temperature T applied to the mixture weights and the pen states
(p <- exp(log p / T), renormalised), both sigmas multiplied by T, greedy mode taking
the argmax and the chosen component's mean.

`encode`, `decode` and `interpolate` are the helpers of Magenta's notebook.
"""

import weakref

import numpy as np
import tensorflow as tf

from sketch_rnn import errors
from sketch_rnn import utils

START_TOKEN = (0.0, 0.0, 1.0, 0.0, 0.0)
END_ROW = (0.0, 0.0, 0.0, 0.0, 1.0)
# The per-step mixture parameters, in the order Magenta's sample() returns them.
PARAM_NAMES = ('pi', 'mu1', 'mu2', 'sigma1', 'sigma2', 'corr', 'pen')


def _check_temperature(temperature, greedy):
  if not greedy and np.any(np.asarray(temperature, np.float64) <= 0):
    raise errors.SketchRNNError(
        'temperature must be > 0 (got %s); use greedy mode for the most likely '
        'sketch' % (temperature,))


# ---------------------------------------------------------------------------
# Magenta's sample(): one sketch, one point at a time
# ---------------------------------------------------------------------------


def adjust_temp(pi_pdf, temp):
  """p <- exp(log p / T), renormalised (Magenta's adjust_temp)."""
  with np.errstate(divide='ignore'):  # a probability that underflowed to 0 stays 0
    pi_pdf = np.log(pi_pdf) / temp
  pi_pdf -= pi_pdf.max()
  pi_pdf = np.exp(pi_pdf)
  pi_pdf /= pi_pdf.sum()
  return pi_pdf


def get_pi_idx(x, pdf, temp=1.0, greedy=False):
  """The first index whose cumulative probability reaches x (Magenta's get_pi_idx)."""
  if greedy:
    return int(np.argmax(pdf))
  pdf = adjust_temp(np.copy(pdf), temp)
  accumulate = 0
  for i in range(0, pdf.size):
    accumulate += pdf[i]
    if accumulate >= x:
      return i
  # Rounding left the total below x. Magenta returns -1 here, which then indexes
  # the last component (and the end-of-sketch pen state): the same choice.
  return pdf.size - 1


def sample_gaussian_2d(mu1, mu2, s1, s2, rho, temp=1.0, greedy=False, rng=None):
  """A draw from the bivariate normal; temp scales the sigmas by temp^2."""
  if greedy:
    return mu1, mu2
  mean = [mu1, mu2]
  # Magenta passes sqrt(T) and squares it: each sigma is multiplied by T.
  s1 *= temp * temp
  s2 *= temp * temp
  cov = [[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]]
  x = rng.multivariate_normal(mean, cov, 1)
  return x[0][0], x[0][1]


# One traced decoder step per model. Weak keys, so that a dropped model frees its
# step; the step reaches the model through a weak reference for the same reason.
_STEP_FNS = weakref.WeakKeyDictionary()


def decoder_step_fn(model):
  """The model's compiled decoder step: (x [B, 5], z, flat state) -> (params, state).

  params is [B, 6M + 3]: pi, mu1, mu2, sigma1, sigma2, corr (M columns each) and
  pen (3), so one tensor crosses into numpy per step. Traced once per model.
  """
  fn = _STEP_FNS.get(model)
  if fn is not None:
    return fn
  model_ref = weakref.ref(model)
  cell = model.dec

  @tf.function(input_signature=[
      tf.TensorSpec([None, 5], tf.float32),
      tf.TensorSpec([None, model.hps.z_size], tf.float32),
      tf.TensorSpec([None, cell.state_size], tf.float32)])
  def step(x, z, state):
    m = model_ref()
    params, new_state = m.decode_step(x, z, m.dec.unflat_state(state))
    return (tf.concat([params[k] for k in PARAM_NAMES], axis=1),
            m.dec.flat_state(new_state))

  _STEP_FNS[model] = step
  return step


def split_params(params, num_mixture):
  """A [.., 6M + 3] row of decoder_step_fn into Magenta's list of 7 arrays."""
  m = num_mixture
  return [params[..., k * m:(k + 1) * m] for k in range(6)] + [params[..., 6 * m:]]


def sample(model, seq_len=250, temperature=1.0, greedy_mode=False, z=None,
           rng=None):
  """Samples one sketch from the model, as Magenta's sample() does.

  Starts from (0, 0, 1, 0, 0) and, at each of seq_len steps, picks a mixture
  component and a pen state (after the temperature adjustment), draws the offset
  from the component's bivariate normal with both sigmas times T, and feeds the
  point back. Like Magenta it runs all seq_len steps; to_normal_strokes cuts the
  sketch at its first end-of-sketch.

  z: [1, z_size] or [z_size] (default: N(0, I) from rng; unused by an
  unconditional model). rng: a numpy RandomState, or a seed for one.
  Returns (strokes float32 [seq_len, 5], mixture_params: one list per step of
  [pi, mu1, mu2, sigma1, sigma2, corr, pen]).
  """
  _check_temperature(temperature, greedy_mode)
  if rng is None or isinstance(rng, (int, np.integer)):
    rng = np.random.RandomState(rng)
  hps = model.hps
  if z is None:
    z = rng.randn(1, hps.z_size)  # drawn (and unused) by unconditional models too
  z = np.asarray(z, np.float32).reshape(1, hps.z_size)
  step = decoder_step_fn(model)
  z_t = tf.constant(z)
  state = model.initial_state(z_t)

  prev_x = np.array([START_TOKEN], np.float32)
  strokes = np.zeros((seq_len, 5), dtype=np.float32)
  mixture_params = []
  greedy = greedy_mode
  temp = temperature
  for i in range(seq_len):
    params, state = step(prev_x, z_t, state)
    o_pi, o_mu1, o_mu2, o_sigma1, o_sigma2, o_corr, o_pen = split_params(
        params.numpy()[0], hps.num_mixture)
    # Magenta draws its uniforms from Python's `random`; one seedable stream here.
    x_pi = 0.0 if greedy else rng.random_sample()
    x_pen = 0.0 if greedy else rng.random_sample()
    idx = get_pi_idx(x_pi, o_pi, temp, greedy)
    idx_eos = get_pi_idx(x_pen, o_pen, temp, greedy)
    eos = [0, 0, 0]
    eos[idx_eos] = 1
    next_x1, next_x2 = sample_gaussian_2d(
        o_mu1[idx], o_mu2[idx], o_sigma1[idx], o_sigma2[idx], o_corr[idx],
        np.sqrt(temp), greedy, rng)
    strokes[i, :] = [next_x1, next_x2, eos[0], eos[1], eos[2]]
    mixture_params.append([o_pi, o_mu1, o_mu2, o_sigma1, o_sigma2, o_corr, o_pen])
    prev_x = strokes[i:i + 1].copy()
  return strokes, mixture_params


# ---------------------------------------------------------------------------
# Many sketches in one compiled loop
# ---------------------------------------------------------------------------


def _pick(probs, u, temperature, greedy):
  """Per row, get_pi_idx: the first index whose cumulative adjusted p reaches u."""
  if greedy:
    return tf.argmax(probs, axis=1, output_type=tf.int32)
  adjusted = tf.nn.softmax(tf.math.log(probs) / temperature[:, None])
  below = tf.cast(tf.cumsum(adjusted, axis=1) < u[:, None], tf.int32)
  # Rounding can leave the total below u: the last index, as in get_pi_idx.
  return tf.minimum(tf.reduce_sum(below, axis=1), tf.shape(probs)[1] - 1)


def _sample_loop(model, z, temperature, seq_len, key, prefix, prefix_len,
                 greedy, early_stop, collect):
  """The batched loop; see sample_batch. prefix is time-major [>=1, B, 5]."""
  batch = tf.shape(z)[0]
  cell = model.dec
  state = cell.unflat_state(model.initial_state(z))
  prev = tf.tile(tf.constant([START_TOKEN]), [batch, 1])
  ended = tf.zeros([batch], tf.bool)
  lengths = tf.fill([batch], seq_len)
  tas = [tf.TensorArray(tf.float32, size=seq_len)]
  if collect:  # (XLA refuses a TensorArray carried through the loop unwritten)
    tas.append(tf.TensorArray(tf.float32, size=seq_len))
  temp = temperature[:, None]
  last_prefix = tf.shape(prefix)[0] - 1

  def body(t, prev, state, ended, lengths, tas_in):
    p, state = model.decode_step(prev, z, state)
    if greedy:
      u_pi = u_pen = None
    else:
      seed = tf.random.experimental.stateless_fold_in(key, t)
      seeds = tf.random.experimental.stateless_split(seed, 2)
      u = tf.random.stateless_uniform([batch, 2], seeds[0])
      u_pi, u_pen = u[:, 0], u[:, 1]
    idx = _pick(p['pi'], u_pi, temperature, greedy)
    pen = _pick(p['pen'], u_pen, temperature, greedy)
    pick = lambda a: tf.gather(a, idx, axis=1, batch_dims=1)[:, None]
    mu1, mu2 = pick(p['mu1']), pick(p['mu2'])
    if greedy:
      x1, x2 = mu1, mu2
    else:
      s1, s2, rho = pick(p['sigma1']) * temp, pick(p['sigma2']) * temp, pick(p['corr'])
      n = tf.random.stateless_normal([batch, 2], seeds[1])
      # The Cholesky factor of Magenta's covariance [[s1^2, rho s1 s2], [., s2^2]].
      x1 = mu1 + s1 * n[:, 0:1]
      x2 = mu2 + s2 * (rho * n[:, 0:1] + tf.sqrt(1 - rho * rho) * n[:, 1:2])
    row = tf.concat([x1, x2, tf.one_hot(pen, 3)], axis=1)
    # A given prefix overrides the draws: its points are the ones fed back.
    forced = tf.gather(prefix, tf.minimum(t, last_prefix))
    row = tf.ensure_shape(tf.where(t < prefix_len, forced, row), prev.shape)
    pen = tf.argmax(row[:, 2:5], axis=1, output_type=tf.int32)
    lengths = tf.where(~ended & (pen == 2), t, lengths)
    ended = ended | (pen == 2)
    # Like Magenta, the drawn point is fed back even after the end; the output
    # holds clean end-of-sketch rows from the end on, as the data's padding does.
    tas = [tas_in[0].write(t, tf.where(ended[:, None], tf.constant([END_ROW]), row))]
    if collect:
      tas.append(tas_in[1].write(t, tf.concat([p[k] for k in PARAM_NAMES], axis=1)))
    return t + 1, row, state, ended, lengths, tas

  def cond(t, prev, state, ended, *_):
    if early_stop:
      return (t < seq_len) & ~tf.reduce_all(ended)
    return t < seq_len

  t, _, _, _, lengths, tas = tf.while_loop(
      cond, body, (tf.constant(0), prev, state, ended, lengths, tas))
  # All seq_len rows (those never written are zeros) and the steps run, t: XLA
  # needs static shapes, so the cut happens outside.
  stacked = [tf.transpose(ta.stack(), [1, 0, 2]) for ta in tas]
  params = stacked[1] if collect else tf.zeros([batch, 0, 0])
  return stacked[0], lengths, params, t


_LOOPS = {
    False: tf.function(_sample_loop, reduce_retracing=True),
    # XLA needs the TensorArray sizes at compile time: seq_len is a Python int there.
    True: tf.function(_sample_loop, jit_compile=True),
}


def _key(seed, model):
  """The stateless key of one sample_batch call: from seed, else from the model."""
  if seed is None:
    # Advancing the model's generator: the same model seed gives the same calls.
    return model.generator.make_seeds(1)[:, 0]
  return tf.constant([int(seed), 0x5EED], tf.int64)


def sample_batch(model, z=None, num=None, temperature=1.0, seq_len=None,
                 greedy=False, seed=None, early_stop=True, prefix=None,
                 return_params=False, jit_compile=False, prior_scale=1.0):
  """Draws sketches in one compiled loop (the distribution of Magenta's sample()).

  z: [B, z_size] latent vectors (default: B = num draws from N(0, prior_scale^2 I);
  prior_scale 1 is Magenta's sample(), whatever `scale` is, and prior_scale = scale
  the spread of the z the decoder saw in training; unused by an unconditional
  model).
  temperature: a number or one per sketch. seed: when given, z (if drawn) and all
  choices come from this seed alone; otherwise from the model's seeded generator,
  which each call advances. early_stop: stop once every sketch has ended (False:
  always run seq_len steps). prefix: [B, P, 5] stroke-5 points fed in place of the
  first P draws (a sketch to continue). return_params: also return the per-step
  mixture parameters. jit_compile: compile the loop with XLA (see the benchmark).

  Returns (strokes5 float32 [B, seq_len, 5], each ending in end-of-sketch rows;
  lengths [B], the number of points before the end of each sketch) and, with
  return_params, a dict of per-step arrays pi, mu1, mu2, sigma1, sigma2, corr
  [B, steps, M] and pen [B, steps, 3], steps being the steps run.
  """
  _check_temperature(temperature, greedy)
  hps = model.hps
  seq_len = int(seq_len or hps.max_seq_len)
  key = _key(seed, model)
  if z is None:
    shape = [int(num or 1), hps.z_size]
    if seed is None:
      z = model.generator.normal(shape)
    else:
      z = tf.random.stateless_normal(
          shape, tf.random.experimental.stateless_fold_in(key, -1))
    z = z * prior_scale  # the same draws at every prior_scale
  z = tf.convert_to_tensor(z, tf.float32)
  batch = int(z.shape[0])
  temperature = tf.broadcast_to(tf.cast(temperature, tf.float32), [batch])
  if prefix is None:
    prefix_tm, prefix_len = tf.zeros([1, batch, 5]), 0
  else:
    prefix = np.asarray(prefix, np.float32)
    if prefix.ndim != 3 or prefix.shape[0] != batch or prefix.shape[2] != 5:
      raise errors.SketchRNNError('prefix must be [%d, P, 5], got %s' % (
          batch, prefix.shape))
    prefix_len = prefix.shape[1]
    prefix_tm = tf.constant(np.concatenate(
        [prefix.transpose(1, 0, 2), np.zeros([1, batch, 5], np.float32)]))
  loop = _LOOPS[bool(jit_compile)]
  strokes, lengths, params, steps = loop(
      model, z, temperature, seq_len if jit_compile else tf.constant(seq_len),
      key, prefix_tm, tf.constant(prefix_len), bool(greedy), bool(early_stop),
      bool(return_params))
  steps = int(steps)
  strokes, lengths = strokes.numpy(), lengths.numpy()
  strokes[:, steps:] = END_ROW  # the steps after the early stop
  if not return_params:
    return strokes, lengths
  arrays = split_params(params.numpy()[:, :steps], hps.num_mixture)
  return strokes, lengths, dict(zip(PARAM_NAMES, arrays))


def to_strokes3(strokes5):
  """Stroke-5 samples to a list of stroke-3 sketches, each cut at its end.

  As utils.to_normal_strokes, except that a sample ending at its first row is
  empty (to_normal_strokes, like Magenta's, then keeps every row).
  """
  sketches = []
  for s in strokes5:
    s = np.asarray(s)
    if len(s) and s[0, 4] > 0:
      sketches.append(np.zeros((0, 3)))
    else:
      sketches.append(utils.to_normal_strokes(s))
  return sketches


# ---------------------------------------------------------------------------
# Encode, decode, interpolate (the helpers of Magenta's notebook)
# ---------------------------------------------------------------------------


def pad_strokes(sketches, max_len=None):
  """Stroke-3 sketches to (stroke-5 batch [B, max_len + 1, 5], lengths [B]).

  The padding of Magenta's DataLoader: the start token, then the points, then
  end-of-sketch rows. The sketches must already be normalised (as a DataLoader
  holds them); max_len defaults to the longest.
  """
  sketches = [np.asarray(s, np.float32) for s in sketches]
  lengths = np.array([len(s) for s in sketches], np.int32)
  max_len = int(max_len or lengths.max())
  if lengths.max() > max_len:
    raise errors.SketchRNNError('a sketch has %d points, more than max_len=%d' % (
        lengths.max(), max_len))
  loader = utils.DataLoader([], batch_size=1, max_seq_length=max_len)
  return loader.pad_batch(sketches, max_len), lengths


def _lengths_of(batch):
  """Points before the first end-of-sketch row of a padded stroke-5 batch."""
  ended = batch[:, 1:, 4] > 0
  return np.where(ended.any(1), ended.argmax(1), ended.shape[1]).astype(np.int32)


_ENCODE_FNS = weakref.WeakKeyDictionary()


def _encode_fn(model):
  fn = _ENCODE_FNS.get(model)
  if fn is None:
    model_ref = weakref.ref(model)
    fn = tf.function(lambda x, lengths: model_ref().encode(x, lengths),
                     reduce_retracing=True)
    _ENCODE_FNS[model] = fn
  return fn


def encode(model, sketches, lengths=None, use_mean=True):
  """Sketches to latent vectors z [B, z_size] (numpy).

  sketches: a list of normalised stroke-3 sketches, or a padded stroke-5 batch
  [B, N + 1, 5] as DataLoader.get_batch gives (lengths then from the batch when not
  given). use_mean: the posterior mean mu; False: a posterior sample
  mu + sigma * eps with eps ~ N(0, scale^2) from the model's generator.
  """
  if not model.hps.conditional:
    raise errors.SketchRNNError(
        'the model is unconditional (conditional=False): it has no encoder')
  if isinstance(sketches, np.ndarray) and sketches.ndim == 3:
    batch = sketches.astype(np.float32)
    lengths = _lengths_of(batch) if lengths is None else np.asarray(lengths)
  else:
    batch, lengths = pad_strokes(sketches)
  mu, presig = _encode_fn(model)(tf.constant(batch[:, 1:]),
                                 tf.constant(lengths, tf.int32))
  if use_mean:
    return mu.numpy()
  return model.reparameterize(mu, presig).numpy()


def decode(model, z, temperature=1.0, greedy=False, seq_len=None, seed=None):
  """Latent vectors [B, z_size] to a list of B stroke-3 sketches."""
  strokes5, _ = sample_batch(model, z=np.atleast_2d(z), temperature=temperature,
                             seq_len=seq_len, greedy=greedy, seed=seed)
  return to_strokes3(strokes5)


def interpolate(z0, z1, n, method='slerp'):
  """n latent vectors [n, z_size] from z0 to z1 (both ends included)."""
  z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
  if method not in ('slerp', 'lerp'):
    raise errors.SketchRNNError("method must be 'slerp' or 'lerp', got %r" % method)
  cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-30)
  if method == 'slerp' and abs(cos) < 1 - 1e-7:
    fn = utils.slerp
  else:
    fn = utils.lerp  # parallel vectors: slerp divides by sin(0); lerp is its limit
  return np.stack([fn(z0, z1, t) for t in np.linspace(0.0, 1.0, n)]).astype(
      np.float32)


def posterior_z(model, sketches, seed=0):
  """One draw of z from each sketch's posterior q(z|x) = N(mu, (scale sigma)^2),
  the noise training used: together, draws of the aggregate posterior."""
  if not model.hps.conditional:
    raise errors.SketchRNNError(
        'the model is unconditional (conditional=False): it has no posterior')
  batch, lengths = pad_strokes(sketches)
  mu, presig = _encode_fn(model)(tf.constant(batch[:, 1:]),
                                 tf.constant(lengths, tf.int32))
  eps = np.random.RandomState(seed).standard_normal(mu.shape) * model.hps.scale
  return (mu.numpy() + np.exp(presig.numpy() / 2) * eps).astype(np.float32)



def aggregate_posterior_z(model, sketches, num, seed=0):
  """num draws of the aggregate posterior: sketches picked at random (seeded; with
  replacement only when num exceeds them), one z ~ q(z|x) of each."""
  chosen = np.random.RandomState(seed).choice(len(sketches), num,
                                              replace=num > len(sketches))
  return posterior_z(model, [sketches[i] for i in chosen], seed)

def reconstructions(model, sketches, labels, decoded_title='decoded', **decode_args):
  """Each sketch beside the decoding of its posterior mean: (cells, titles) for a
  grid of two columns per sketch. decode_args: those of decode()."""
  decoded = decode(model, encode(model, sketches), **decode_args)
  cells = [s for pair in zip(sketches, decoded) for s in pair]
  titles = [t for label in labels for t in (label, decoded_title)]
  return cells, titles


def interpolation(model, sketch_a, sketch_b, steps, labels, step_title='t=%.2f',
                  **decode_args):
  """Sketch a, the decodings of `steps` points on the slerp between the two
  posterior means, sketch b: (cells, titles) for one row of a grid."""
  z0, z1 = encode(model, [sketch_a, sketch_b])
  decoded = decode(model, interpolate(z0, z1, steps), **decode_args)
  titles = ([labels[0]] + [step_title % t for t in np.linspace(0, 1, steps)]
            + [labels[1]])
  return [sketch_a] + decoded + [sketch_b], titles


def to_stroke5(sketch):
  """A stroke-3 sketch [n, 3] as its n stroke-5 rows (no start token, no end)."""
  sketch = np.asarray(sketch, np.float32)
  rows = np.zeros([len(sketch), 5], np.float32)
  rows[:, :2] = sketch[:, :2]
  rows[:, 3] = sketch[:, 2]
  rows[:, 2] = 1 - sketch[:, 2]
  return rows


def completions(model, sketches, prefix_points, per_prefix, labels, prior_scale=1.0,
                **decode_args):
  """Each sketch's first prefix_points points, then per_prefix continuations of
  them: (cells, titles, highlight) for a grid of 1 + per_prefix columns, highlight
  being the given points of each cell. Sketches must be longer than the prefix.
  A conditional model continues from a fresh z ~ N(0, prior_scale^2 I) each time.
  decode_args: those of decode()."""
  for label, sketch in zip(labels, sketches):
    if len(sketch) <= prefix_points:
      raise errors.SketchRNNError('%s has %d points, not more than the %d given' % (
          label, len(sketch), prefix_points))
  prefix = np.stack([to_stroke5(s[:prefix_points]) for s in sketches])
  prefix = np.repeat(prefix, per_prefix, axis=0)
  seed = decode_args.pop('seed', None)
  strokes5, _ = sample_batch(model, num=len(prefix), prefix=prefix, seed=seed,
                             prior_scale=prior_scale, **decode_args)
  drawn = to_strokes3(strokes5)
  cells, titles = [], []
  for i, (label, sketch) in enumerate(zip(labels, sketches)):
    cells.append(np.asarray(sketch[:prefix_points]))
    titles.append('%s: %d points' % (label, prefix_points))
    cells += drawn[i * per_prefix:(i + 1) * per_prefix]
    titles += ['completion %d' % (j + 1) for j in range(per_prefix)]
  return cells, titles, [prefix_points] * len(cells)


def encode_all(model, sketches, chunk=256):
  """Posterior means [len(sketches), z_size] of normalised stroke-3 sketches, a
  chunk at a time (each padded to its own longest)."""
  if not len(sketches):
    return np.zeros([0, model.hps.z_size], np.float32)
  return np.concatenate([encode(model, sketches[i:i + chunk])
                         for i in range(0, len(sketches), chunk)])
