"""The model against Magenta's own numbers (../shared/fixtures; skipped when absent).

Each fixture is a real TF1 checkpoint written by Magenta's sketch-rnn, with the
forward tensors, raw gradients and one Adam update that Magenta's graph computed on
a fixed batch of 8 aaron_sheep sketches (dropout off, scale 0, kl_weight 0.25).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import checkpoints
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model

from conftest import shared_path

MODELS = ['lstm', 'layer_norm', 'hyper', 'uncond']
FORWARD_ARRAYS = ['mean', 'presig', 'sigma', 'batch_z', 'initial_state', 'pi', 'mu1',
                  'mu2', 'sigma1', 'sigma2', 'corr', 'pen', 'pen_logits',
                  'final_state', 'loss_s_step', 'loss_p_step']


class Fixture:
  """One Magenta fixture folder, loaded once per session."""

  def __init__(self, name):
    self.folder = shared_path('fixtures', 'magenta_' + name)
    self.golden = json.load(open(os.path.join(self.folder, 'golden.json')))
    self.arrays = dict(np.load(os.path.join(self.folder, 'golden.npz')))
    self.batch = self.arrays['input_data'], self.arrays['sequence_lengths']

  def hparams(self, **overrides):
    text = open(os.path.join(self.folder, 'model_config.json')).read()
    hps = sketch_rnn_model.get_default_hparams().parse_json(text)
    hps.batch_size = 8
    hps.use_recurrent_dropout = False
    hps.use_input_dropout = False
    hps.use_output_dropout = False
    hps.scale = 0.0
    for k, v in overrides.items():
      hps.set_hparam(k, v)
    return hps

  def model(self, optimizer=False, **overrides):
    model = sketch_rnn_model.Model(self.hparams(**overrides), seed=0)
    adam = sketch_rnn_model.Adam(model.trainable_variables) if optimizer else None
    step = checkpoints.load_magenta_checkpoint(self.folder, model, adam)
    assert step == self.golden['checkpoint_global_step']
    return model, adam


_CACHE = {}


@pytest.fixture(scope='module', params=MODELS)
def fx(request):
  if request.param not in _CACHE:
    _CACHE[request.param] = Fixture(request.param)
  return _CACHE[request.param]


@pytest.fixture(scope='module')
def forward(fx):
  """Train-mode and eval-mode outputs of the checkpoint on the fixed batch."""
  model, _ = fx.model()
  call = tf.function(model.__call__)
  x, lengths = fx.batch
  train = {k: v.numpy() for k, v in call(x, lengths, mask_pen=False).items()}
  evaluation = {k: v.numpy() for k, v in call(x, lengths, mask_pen=True).items()}
  return train, evaluation


def assert_close_rel(actual, expected, rtol=1e-4, name=''):
  assert actual == pytest.approx(expected, rel=rtol), name


def test_forward_arrays(fx, forward):
  train, _ = forward
  for name in FORWARD_ARRAYS:
    key = 'train/' + name
    if key not in fx.arrays:
      assert name in ('mean', 'presig', 'sigma') and fx.golden['model_dir'].endswith(
          'uncond')
      continue
    expected = fx.arrays[key]
    np.testing.assert_allclose(train[name].reshape(expected.shape), expected,
                               rtol=1e-4, atol=1e-5, err_msg=name)


def test_costs_train_and_eval(fx, forward):
  train, evaluation = forward
  golden = fx.golden
  for mode, out in (('train', train), ('eval', evaluation)):
    assert_close_rel(float(out['r_cost']), golden[mode]['r_cost'], name=mode)
    assert_close_rel(float(out['kl_cost']), golden[mode]['kl_cost'], name=mode)
    if 'kl_raw' in golden[mode]:
      assert_close_rel(float(out['kl_raw']), golden[mode]['kl_raw'], name=mode)
  cost = float(train['r_cost'] + 0.25 * train['kl_cost'])
  assert_close_rel(cost, golden['train']['cost'])
  np.testing.assert_allclose(evaluation['loss_p_step'], fx.arrays['eval/loss_p_step'],
                             rtol=1e-4, atol=1e-5)
  # eval mode masks the pen loss past the end; training mode does not
  assert float(evaluation['r_cost']) < float(train['r_cost'])


def test_gradients(fx):
  model, _ = fx.model()
  x, lengths = fx.batch
  cost, _, grads = tf.function(sketch_rnn_model.compute_gradients)(
      model, x, lengths, 0.25, dropout=False)
  assert_close_rel(float(cost), fx.golden['train']['cost'])
  names = [v.name.split(':')[0] for v in model.trainable_variables]
  assert sorted(names) == sorted(fx.golden['trainable_variables'])
  for name, grad in zip(names, grads):
    expected = fx.arrays['grad/' + name]
    scale = np.max(np.abs(expected))
    err = np.max(np.abs(grad.numpy() - expected))
    assert err <= 1e-4 * scale + 1e-6, (name, err, scale)


def _assert_update(model, fx, prefix):
  for var in model.trainable_variables:
    name = var.name.split(':')[0]
    np.testing.assert_allclose(var.numpy(), fx.arrays[prefix + name], rtol=0,
                               atol=1e-5, err_msg=name)


def test_one_adam_step_from_fresh_slots(fx):
  model, adam = fx.model(optimizer=True)
  for slot in adam.m + adam.v:  # fresh state, as Magenta's update/ set
    slot.assign(tf.zeros_like(slot))
  adam.beta1_power.assign(0.9)
  adam.beta2_power.assign(0.999)
  x, lengths = fx.batch
  tf.function(sketch_rnn_model.train_step)(model, adam, x, lengths, 0.001, 0.25)
  _assert_update(model, fx, 'update/')
  after = fx.golden['update']
  assert float(adam.beta1_power) == pytest.approx(after['beta1_power_after'], rel=1e-6)
  assert float(adam.beta2_power) == pytest.approx(after['beta2_power_after'], rel=1e-6)


def test_one_adam_step_from_checkpoint_state_with_value_clipping(fx):
  if fx.golden['update_resume'] is None:
    pytest.skip('no update_resume set in this fixture (left out for size)')
  model, adam = fx.model(optimizer=True, grad_clip=0.001)
  info = fx.golden['update_resume']
  assert float(adam.beta1_power) == pytest.approx(info['beta1_power_before'], rel=1e-6)
  x, lengths = fx.batch
  tf.function(sketch_rnn_model.train_step)(model, adam, x, lengths, 0.001, 0.25)
  _assert_update(model, fx, 'update_resume/')


def test_checkpoint_of_another_model_is_refused():
  fx = Fixture('lstm')
  hps = fx.hparams(dec_rnn_size=64)
  model = sketch_rnn_model.Model(hps, seed=0)
  with pytest.raises(errors.SketchRNNError, match='has shape'):
    checkpoints.load_magenta_checkpoint(fx.folder, model)
  model = sketch_rnn_model.Model(fx.hparams(dec_model='layer_norm'), seed=0)
  with pytest.raises(errors.SketchRNNError, match='has no variable'):
    checkpoints.load_magenta_checkpoint(fx.folder, model)
