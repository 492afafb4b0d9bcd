"""Run folders: model_config.json, checkpoints, and open_run (the one way to read a
trained run)."""

import json
import os

import numpy as np
import pytest

from sketch_rnn import checkpoints
from sketch_rnn import errors
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import utils

from conftest import BUNDLED, tiny_hparams


def make_run(log_root, step=7, seed=1, **overrides):
  """A run folder: a tiny model's checkpoint at `step` and its model_config.json."""
  hps = tiny_hparams(**overrides)
  model = sketch_rnn_model.Model(hps, seed=seed)
  os.makedirs(log_root, exist_ok=True)
  checkpoints.RunCheckpoint(log_root, model).save(step, 1.0)
  checkpoints.write_model_config(log_root, hps)
  return model


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  log_root = str(tmp_path_factory.mktemp('checkpoints') / 'run')
  return log_root, make_run(log_root)


def weights(model):
  return {k: v.numpy() for k, v in model.magenta_variables().items()}


def test_open_run_gives_the_eval_model_with_the_saved_weights_and_the_data(run):
  log_root, saved = run
  opened = checkpoints.open_run(log_root, BUNDLED, seed=0)
  assert opened.step == 7 and opened.prefix == os.path.join(log_root, 'vector-7')
  assert opened.log_root == log_root
  for name, value in weights(saved).items():
    np.testing.assert_array_equal(weights(opened.model)[name], value, err_msg=name)
  # Magenta's eval model: dropout off, pen loss unmasked (is_training kept)
  hps = opened.model.hps
  assert not (hps.use_recurrent_dropout or hps.use_input_dropout
              or hps.use_output_dropout)
  assert hps.is_training and hps.batch_size == saved.hps.batch_size
  # the data it was trained on, normalised as in training
  train, valid, test = opened.data
  reference = utils.load_dataset(BUNDLED, saved.hps, seed=0)
  assert train.scale_factor == reference[0].scale_factor
  assert len(valid) == len(reference[1]) and len(test) == len(reference[2])
  np.testing.assert_array_equal(test.strokes[3], reference[2].strokes[3])
  assert opened.hps.max_seq_len == reference[3].max_seq_len


def test_open_run_for_sampling_is_magentas_sample_model(run):
  log_root, saved = run
  opened = checkpoints.open_run(log_root, sampling=True)
  hps = opened.model.hps
  assert hps.batch_size == 1 and not hps.is_training
  assert not hps.use_recurrent_dropout
  assert opened.data is None  # no data_dir: nothing loaded
  for name, value in weights(saved).items():
    np.testing.assert_array_equal(weights(opened.model)[name], value, err_msg=name)


def test_open_run_puts_overrides_on_top_of_the_config(run):
  log_root, _ = run
  opened = checkpoints.open_run(log_root, overrides='scale=2.5,kl_weight=0.25')
  assert opened.hps.scale == 2.5 and opened.model.hps.scale == 2.5
  assert opened.hps.kl_weight == 0.25
  assert opened.hps.dec_rnn_size == tiny_hparams().dec_rnn_size


def test_open_run_takes_a_given_checkpoint(tmp_path):
  log_root = str(tmp_path / 'run')
  first = make_run(log_root, step=3, seed=1)
  make_run(log_root, step=9, seed=2)
  assert checkpoints.open_run(log_root).step == 9
  opened = checkpoints.open_run(log_root, checkpoint=os.path.join(log_root, 'vector-3'))
  assert opened.step == 3
  for name, value in weights(first).items():
    np.testing.assert_array_equal(weights(opened.model)[name], value, err_msg=name)


def test_checkpoint_step_reads_the_global_step(tmp_path):
  log_root = str(tmp_path / 'run')
  make_run(log_root, step=12)
  assert checkpoints.checkpoint_step(os.path.join(log_root, 'vector-12')) == 12


def test_errors_are_typed(tmp_path, run):
  log_root, _ = run
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(errors.NoCheckpointError, match='no checkpoint in this folder'):
    checkpoints.open_run(str(empty))
  with pytest.raises(errors.NoCheckpointError, match='no such checkpoint'):
    checkpoints.open_run(log_root, checkpoint=log_root + '/vector-99')
  # same shapes, other cell: the checkpoint lacks the layer norms' weights
  with pytest.raises(errors.CheckpointMismatchError, match='does not fit the model'):
    checkpoints.open_run(log_root, overrides='dec_model=layer_norm')
  with pytest.raises(errors.SketchRNNError, match='cannot load into this model'):
    checkpoints.open_run(log_root, overrides='dec_rnn_size=40')


def test_key_only_config_needs_the_values_from_hparams(tmp_path):
  log_root = str(tmp_path / 'run')
  saved = make_run(log_root)
  config = os.path.join(log_root, checkpoints.MODEL_CONFIG)
  names = list(json.load(open(config)))
  with open(config, 'w') as f:
    json.dump(names, f)  # what Magenta's trainer writes
  with pytest.raises(errors.KeyOnlyConfigError, match='holds only the names'):
    checkpoints.open_run(log_root)
  with pytest.raises(errors.KeyOnlyConfigError):
    checkpoints.run_hparams(log_root, 'z_size=8', key_only_ok=False)
  sizes = ','.join('%s=%s' % (k, getattr(saved.hps, k)) for k in (
      'enc_rnn_size', 'dec_rnn_size', 'z_size', 'num_mixture'))
  opened = checkpoints.open_run(log_root, overrides=sizes)
  for name, value in weights(saved).items():
    np.testing.assert_array_equal(weights(opened.model)[name], value, err_msg=name)


def test_model_config_round_trips_every_value(tmp_path):
  hps = tiny_hparams(scale=4.0, data_set=['a.npz', 'b.npz'], kl_tolerance=0.05)
  checkpoints.write_model_config(str(tmp_path), hps)
  back = checkpoints.read_model_config(str(tmp_path),
                                       sketch_rnn_model.get_default_hparams())
  assert back == hps
  assert checkpoints.run_hparams(str(tmp_path), 'scale=0.5').scale == 0.5


def test_the_data_state_records_its_sampler_and_old_ones_were_magentas():
  rng = np.random.RandomState(5)
  rng.random_sample(7)
  text = checkpoints.rng_state_to_text(rng, 'distinct')
  back = np.random.RandomState(0)
  assert checkpoints.rng_state_from_text(back, text) == 'distinct'
  assert back.random_sample() == rng.random_sample()
  old = json.dumps(json.loads(text)[:5])  # as saved before the samplers
  assert checkpoints.rng_state_from_text(back, old) == 'magenta'
