"""The VAE, its losses, `scale`, the optimiser and the train step (no ../shared)."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import errors
from sketch_rnn import hparams
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import runtime
from sketch_rnn.model import get_default_hparams

import conftest


def tiny_hparams(**overrides):
  return conftest.tiny_hparams(**dict(dict(dec_rnn_size=24, batch_size=4,
                                           max_seq_len=12), **overrides))


def tiny_batch(hps, seed=0):
  """A padded stroke-5 batch [B, N+1, 5] with random lengths."""
  rng = np.random.RandomState(seed)
  b, n = hps.batch_size, hps.max_seq_len
  lengths = rng.randint(2, n + 1, size=b).astype(np.int32)
  lengths[0] = n
  x = np.zeros((b, n + 1, 5), np.float32)
  x[:, 0, 2] = 1
  for i, length in enumerate(lengths):
    x[i, 1:length + 1, 0:2] = rng.normal(size=(length, 2))
    lift = rng.rand(length) < 0.3
    lift[-1] = True
    x[i, 1:length + 1, 3] = lift
    x[i, 1:length + 1, 2] = ~lift
    x[i, length + 1:, 4] = 1
  return x, lengths


# --- the mixture density loss ---------------------------------------------------


def np_losses(output, target, mask_pen):
  m = (output.shape[1] - 3) // 6
  logits = output[:, :3].astype(np.float64)
  pi, mu1, mu2, s1, s2, rho = np.split(output[:, 3:].astype(np.float64), 6, axis=1)
  pi = np.exp(pi - pi.max(1, keepdims=True))
  pi /= pi.sum(1, keepdims=True)
  s1, s2, rho = np.exp(s1), np.exp(s2), np.tanh(rho)
  dx, dy = target[:, 0:1], target[:, 1:2]
  zx, zy = (dx - mu1) / s1, (dy - mu2) / s2
  q = (zx ** 2 + zy ** 2 - 2 * rho * zx * zy) / (1 - rho ** 2)
  density = np.exp(-q / 2) / (2 * np.pi * s1 * s2 * np.sqrt(1 - rho ** 2))
  not_end = 1 - target[:, 4:5]
  loss_s = -np.log((pi * density).sum(1, keepdims=True) + 1e-6) * not_end
  log_pen = logits - logits.max(1, keepdims=True)
  log_pen -= np.log(np.exp(log_pen).sum(1, keepdims=True))
  loss_p = -(target[:, 2:5] * log_pen).sum(1, keepdims=True)
  if mask_pen:
    loss_p *= not_end
  assert m > 0
  return loss_s, loss_p


@pytest.mark.parametrize('mask_pen', [False, True])
def test_mixture_loss_matches_numpy(mask_pen):
  rng = np.random.RandomState(0)
  n, m = 64, 5
  output = rng.normal(0, 1, size=(n, 3 + 6 * m)).astype(np.float32)
  target = np.zeros((n, 5), np.float32)
  target[:, 0:2] = rng.normal(0, 1.5, size=(n, 2))
  target[np.arange(n), 2 + rng.randint(0, 3, size=n)] = 1
  params = sketch_rnn_model.get_mixture_coef(tf.constant(output))
  loss_s, loss_p = sketch_rnn_model.reconstruction_losses(params, tf.constant(target),
                                                          mask_pen)
  ref_s, ref_p = np_losses(output, target, mask_pen)
  np.testing.assert_allclose(loss_s.numpy(), ref_s, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(loss_p.numpy(), ref_p, rtol=1e-4, atol=1e-5)
  assert np.all(loss_s.numpy()[target[:, 4] == 1] == 0)


def test_masking_past_the_end_of_each_sketch():
  hps = tiny_hparams(use_recurrent_dropout=False)
  model = sketch_rnn_model.Model(hps, seed=0)
  x, lengths = tiny_batch(hps)
  train = model(x, lengths, mask_pen=False, eps=tf.zeros([4, 8]))
  evaluation = model(x, lengths, mask_pen=True, eps=tf.zeros([4, 8]))
  n = hps.max_seq_len
  past_end = (np.arange(n)[None, :] >= lengths[:, None]).reshape(-1)
  loss_s = train['loss_s_step'].numpy()[:, 0]
  assert np.all(loss_s[past_end] == 0) and np.all(loss_s[~past_end] != 0)
  assert np.all(train['loss_p_step'].numpy()[past_end] > 0)
  assert np.all(evaluation['loss_p_step'].numpy()[past_end] == 0)
  np.testing.assert_allclose(evaluation['loss_p_step'].numpy()[~past_end],
                             train['loss_p_step'].numpy()[~past_end])
  # r_cost divides by all B * N steps, masked or not (as the paper does)
  total = train['loss_s_step'].numpy().sum() + train['loss_p_step'].numpy().sum()
  assert float(train['r_cost']) == pytest.approx(total / (4 * n), rel=1e-5)


# --- scale and the KL -------------------------------------------------------------


def test_scale_zero_gives_z_equal_mu():
  hps = tiny_hparams(scale=0.0)
  model = sketch_rnn_model.Model(hps, seed=1)
  x, lengths = tiny_batch(hps)
  out = model(x, lengths, dropout=True)
  np.testing.assert_array_equal(out['batch_z'].numpy(), out['mean'].numpy())


@pytest.mark.parametrize('scale', [0.5, 1.0, 2.0, 4.0])
def test_eps_has_standard_deviation_scale(scale):
  model = sketch_rnn_model.Model(tiny_hparams(scale=scale), seed=2)
  mu = tf.fill([4000, 8], 0.3)
  presig = tf.fill([4000, 8], -1.0)
  z = model.reparameterize(mu, presig).numpy()
  eps = (z - 0.3) / np.exp(-0.5)
  # the sample std of 32000 normals is within 1.5% of the truth with room to spare
  assert eps.std() == pytest.approx(scale, rel=0.015)
  assert abs(eps.mean()) < 4 * scale / np.sqrt(eps.size)


def test_kl_does_not_depend_on_scale():
  x, lengths = tiny_batch(tiny_hparams())
  kls = []
  for scale in (0.5, 1.0, 4.0):
    model = sketch_rnn_model.Model(tiny_hparams(scale=scale), seed=3)
    rng = np.random.RandomState(0)  # weights that make the KL of order 1
    for w in (model.mu_w, model.presig_w):
      w.assign(rng.normal(0, 0.5, w.shape).astype(np.float32))
    out = model(x, lengths)
    kls.append(float(out['kl_raw']))
    mu, presig = out['mean'].numpy(), out['presig'].numpy()
    ref = -0.5 * np.mean(1 + presig - mu ** 2 - np.exp(presig))
    assert kls[-1] == pytest.approx(ref, rel=1e-5)
  assert kls[0] == kls[1] == kls[2]


def test_kl_tolerance_floor():
  hps = tiny_hparams(kl_tolerance=5.0)
  model = sketch_rnn_model.Model(hps, seed=4)
  x, lengths = tiny_batch(hps)
  out = model(x, lengths)
  assert float(out['kl_raw']) < 5.0 and float(out['kl_cost']) == 5.0


# --- every architecture trains ------------------------------------------------------

ARCHS = [(enc, dec, True) for enc, dec in itertools.product(
    ['lstm', 'layer_norm', 'hyper'], repeat=2)] + [
        (None, dec, False) for dec in ['lstm', 'layer_norm', 'hyper']]


@pytest.mark.parametrize('enc,dec,conditional', ARCHS)
def test_every_cell_combination_trains(enc, dec, conditional):
  hps = tiny_hparams(enc_model=enc or 'lstm', dec_model=dec, conditional=conditional,
                     use_input_dropout=True, use_output_dropout=True, max_seq_len=6)
  model = sketch_rnn_model.Model(hps, seed=5)
  adam = sketch_rnn_model.Adam(model.trainable_variables)
  x, lengths = tiny_batch(hps)
  sketch_rnn_model.train_step(model, adam, x, lengths, 0.01, 0.5)
  # After one update (Magenta's hyper init gives zb an exactly zero first gradient)
  # every weight receives gradient.
  cost, out, grads = sketch_rnn_model.compute_gradients(model, x, lengths, 0.5)
  assert np.isfinite(float(cost))
  for var, grad in zip(model.trainable_variables, grads):
    assert grad is not None and np.abs(grad.numpy()).max() > 0, var.name
  assert out['final_state'].shape == (4, model.dec.state_size)
  names = model.magenta_variables()
  assert ('vector_rnn/ENC_RNN_mu/super_linear_w' in names) == conditional


def test_same_seed_same_run():
  hps = tiny_hparams()
  x, lengths = tiny_batch(hps)
  def losses(seed):
    model = sketch_rnn_model.Model(hps, seed=seed)
    adam = sketch_rnn_model.Adam(model.trainable_variables)
    step = tf.function(sketch_rnn_model.train_step)
    return [float(step(model, adam, x, lengths, 0.01, 0.3)[0]) for _ in range(4)]
  first = losses(7)
  assert first == losses(7)
  assert first != losses(8)
  assert len(set(first)) == 4  # it trains: the loss moves


def test_decoder_masks_are_drawn_after_the_encoders():
  """The encoder's loops need their dropout masks first: the decoder's draw waits
  for them (a control dependency), so TensorFlow cannot draw it first."""
  hps = tiny_hparams()
  x, lengths = tiny_batch(hps)
  model = sketch_rnn_model.Model(hps, seed=0)
  graph = tf.function(lambda x, s: model(x, s, dropout=True)['r_cost']
                      ).get_concrete_function(x, lengths).graph
  # The recurrent masks [T, B, n]: one call of the hashed-mask function each.
  draws = [op for op in graph.get_operations()
           if op.type in ('PartitionedCall', 'StatefulPartitionedCall')
           and 'hashed_masks' in op.get_attr('f').name]
  units = [op.outputs[0].shape[-1] for op in draws]
  assert sorted(units) == [16, 16, 24]  # encoder fw, bw; decoder

  def ancestors(op, seen):
    for parent in [t.op for t in op.inputs] + list(op.control_inputs):
      if parent not in seen:
        seen.add(parent)
        ancestors(parent, seen)
    return seen

  decoder = draws[units.index(24)]
  before = ancestors(decoder, set())
  assert all(op in before for op in draws if op is not decoder)
  assert not any(decoder in ancestors(op, set()) for op in draws if op is not decoder)


@pytest.mark.parametrize('enc,dec', [('layer_norm', 'hyper'), ('lstm', 'lstm')])
def test_xla_gives_the_same_numbers(enc, dec):
  hps = tiny_hparams(dec_model=dec, enc_model=enc,
                     use_recurrent_dropout=False, scale=0.0)
  x, lengths = tiny_batch(hps)
  results = []
  for jit in (False, True):
    model = sketch_rnn_model.Model(hps, seed=9)
    grads = tf.function(sketch_rnn_model.compute_gradients, jit_compile=jit)(
        model, x, lengths, 0.3)[2]
    adam = sketch_rnn_model.Adam(model.trainable_variables)
    step = tf.function(sketch_rnn_model.train_step, jit_compile=jit)
    costs = [float(step(model, adam, x, lengths, 0.01, 0.3)[0]) for _ in range(3)]
    results.append((costs, [g.numpy() for g in grads]))
  np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
  for a, b in zip(results[0][1], results[1][1]):
    assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a)) + 1e-8


@pytest.mark.parametrize('enc,dec', [('layer_norm', 'hyper'), ('lstm', 'lstm')])
def test_xla_loops_give_the_same_numbers(enc, dec, monkeypatch):
  """Float32 cells of runtime.XLA_MIN_UNITS or more run their loops as XLA functions
  inside the plain step: the same cost and gradients as the plain loops (here on
  tiny cells, the threshold lowered), recurrent dropout on."""
  hps = tiny_hparams(dec_model=dec, enc_model=enc)
  assert hps.use_recurrent_dropout
  x, lengths = tiny_batch(hps)
  results = []
  for min_units in (10**9, 1):
    monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', min_units)
    model = sketch_rnn_model.Model(hps, seed=9)
    cost, _, grads = tf.function(sketch_rnn_model.compute_gradients)(
        model, x, lengths, 0.3)
    results.append((float(cost), [g.numpy() for g in grads]))
  (c_plain, g_plain), (c_xla, g_xla) = results
  assert c_xla == pytest.approx(c_plain, rel=1e-5)
  for a, b in zip(g_plain, g_xla):
    assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a)) + 1e-8


def test_loop_chains_give_the_same_numbers(monkeypatch):
  """The batch split into independent loops (runtime.loop_chains: one per CPU
  thread) gives one loop's cost and gradients, recurrent dropout on, XLA loops
  (test_bptt holds every cell's chains to autodiff)."""
  hps = tiny_hparams(batch_size=5)
  x, lengths = tiny_batch(hps)
  monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', 1)
  results, calls = [], []
  for chains in (1, 3):
    monkeypatch.setattr(runtime, 'loop_chains', lambda batch, loops=1, k=chains: (
        calls.append((batch, loops)) or k))
    model = sketch_rnn_model.Model(hps, seed=9)
    cost, _, grads = tf.function(sketch_rnn_model.compute_gradients)(
        model, x, lengths, 0.3)
    results.append((float(cost), [g.numpy() for g in grads]))
  assert sorted(set(calls)) == [(5, 1), (5, 2)]  # the decoder's and the encoder's
  for c, g in results[1:]:
    assert c == pytest.approx(results[0][0], rel=1e-6)
    for a, b in zip(results[0][1], g):
      assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(a)) + 1e-8


@pytest.mark.parametrize('dec', ['lstm', 'hyper'])
def test_bfloat16_products_stay_close_to_float32(dec):
  hps = tiny_hparams(dec_model=dec, use_recurrent_dropout=False, scale=0.0,
                     enc_rnn_size=32, dec_rnn_size=64)
  x, lengths = tiny_batch(hps)
  results = {}
  for precision in ('float32', 'bfloat16'):
    hps.precision = precision
    model = sketch_rnn_model.Model(hps, seed=4)
    cost, out, grads = tf.function(sketch_rnn_model.compute_gradients)(
        model, x, lengths, 0.3)
    assert all(v.dtype == tf.float32 for v in model.variables)  # weights stay f32
    assert out['r_cost'].dtype == tf.float32 and grads[0].dtype == tf.float32
    results[precision] = float(cost), [g.numpy() for g in grads]
  (c32, g32), (c16, g16) = results['float32'], results['bfloat16']
  assert c16 != c32  # the products did change precision
  assert c16 == pytest.approx(c32, rel=2e-2)  # bf16 keeps ~3 significant digits
  for a, b in zip(g32, g16):
    assert np.max(np.abs(a - b)) <= 0.1 * np.max(np.abs(a)) + 1e-6


def test_precision_is_validated():
  hps = tiny_hparams()
  with pytest.raises(errors.UsageError, match='precision'):
    hps.parse('precision=float16')
    hparams.validate_hparams(hps)


# --- optimiser and schedules ----------------------------------------------------------


def test_adam_is_tf1s_with_value_clipping():
  w0 = np.array([0.5, -1.0, 2.0], np.float32)
  var = tf.Variable(w0)
  adam = sketch_rnn_model.Adam([var])
  m = v = np.zeros(3)
  w = w0.astype(np.float64)
  grads = [np.array([3.0, -0.2, 1e-3]), np.array([-2.0, 0.5, 0.0])]
  for t, g in enumerate(grads, start=1):
    clipped = np.clip(g, -1.0, 1.0)
    adam.apply([tf.clip_by_value(tf.constant(g, tf.float32), -1.0, 1.0)], [var], 0.01)
    m = 0.9 * m + 0.1 * clipped
    v = 0.999 * v + 0.001 * clipped ** 2
    alpha = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    w = w - alpha * m / (np.sqrt(v) + 1e-8)  # epsilon on sqrt(v), uncorrected
    np.testing.assert_allclose(var.numpy(), w, rtol=1e-6)
  assert float(adam.beta1_power) == pytest.approx(0.9 ** 3)


def test_schedules():
  hps = get_default_hparams()
  assert sketch_rnn_model.learning_rate(hps, 0) == pytest.approx(0.001)
  assert sketch_rnn_model.learning_rate(hps, 10000) == pytest.approx(
      (0.001 - 0.00001) * 0.9999 ** 10000 + 0.00001)
  assert sketch_rnn_model.kl_weight(hps, 0) == pytest.approx(0.01)
  assert sketch_rnn_model.kl_weight(hps, 20000) == pytest.approx(
      0.5 - 0.49 * 0.99995 ** 20000)


def test_unknown_cell_is_refused():
  with pytest.raises(errors.SketchRNNError, match="dec_model='gru'"):
    sketch_rnn_model.Model(tiny_hparams(dec_model='gru'))


# -- scale is a change of z's coordinates plus a means-only penalty (docs/study.md) --


@pytest.mark.parametrize('cell', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('scale', [0.5, 2.0, 4.0])
def test_a_model_at_scale_s_is_its_rescaled_twin_plus_a_penalty_on_mu(cell, scale):
  hps = tiny_hparams(dec_model=cell, enc_model=cell, scale=scale,
                     use_recurrent_dropout=False)
  model = sketch_rnn_model.Model(hps, seed=1)
  rng = np.random.RandomState(2)
  # Far from the tiny initial heads, so that mu and sigma matter to the decoder.
  for var, std in ((model.mu_w, 1.0), (model.mu_b, 0.5), (model.presig_w, 0.3),
                   (model.init_w, 0.5)):
    var.assign(rng.normal(0, std, var.shape).astype(np.float32))
  twin = conftest.rescaled_twin(model, scale)
  x, lengths = tiny_batch(hps)
  e = rng.normal(size=(hps.batch_size, hps.z_size)).astype(np.float32)
  out = model(x, lengths, eps=scale * e)  # eps ~ N(0, scale^2), as training draws
  twin_out = twin(x, lengths, eps=e)  # the same draws at scale 1
  np.testing.assert_allclose(out['batch_z'] / scale, twin_out['batch_z'], rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(out['r_cost'], twin_out['r_cost'], rtol=1e-5)
  mu = out['mean'].numpy().astype(np.float64)
  penalty = 0.5 * (scale ** 2 - 1) * np.mean(np.square(mu / scale))
  assert abs(penalty) > 0.01  # the test sees the term
  np.testing.assert_allclose(float(out['kl_raw']) - float(twin_out['kl_raw']),
                             penalty, rtol=1e-4, atol=1e-6)
