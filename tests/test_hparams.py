"""HParams: Magenta's defaults and the TF HParams grammar of --hparams."""

import json

import pytest

from sketch_rnn import hparams
from sketch_rnn.errors import SketchRNNError
from sketch_rnn.model import get_default_hparams

SEED_STRING = (
    'data_set=[apple.npz, donut.npz, bus.npz, table.npz, calculator.npz, '
    'power_outlet.npz],scale=1.0, num_steps=10000,save_every=100,'
    'use_recurrent_dropout=0,kl_decay_rate=0.9999,min_learning_rate=0.0001')

MAGENTA_DEFAULTS = {
    'data_set': ['aaron_sheep.npz'], 'num_steps': 10000000, 'save_every': 500,
    'max_seq_len': 250, 'dec_rnn_size': 512, 'dec_model': 'lstm',
    'enc_rnn_size': 256, 'enc_model': 'lstm', 'z_size': 128, 'kl_weight': 0.5,
    'kl_weight_start': 0.01, 'kl_tolerance': 0.2, 'batch_size': 100,
    'grad_clip': 1.0, 'num_mixture': 20, 'learning_rate': 0.001,
    'decay_rate': 0.9999, 'kl_decay_rate': 0.99995, 'min_learning_rate': 0.00001,
    'use_recurrent_dropout': True, 'recurrent_dropout_prob': 0.90,
    'use_input_dropout': False, 'input_dropout_prob': 0.90,
    'use_output_dropout': False, 'output_dropout_prob': 0.90,
    'random_scale_factor': 0.15, 'augment_stroke_prob': 0.10,
    'conditional': True, 'is_training': True, 'scale': 1.0,
}
# This fork's hyperparameters beyond Magenta's table and `scale`, after them.
DEFAULTS = dict(MAGENTA_DEFAULTS, precision='float32')


def test_defaults_are_magentas_plus_scale_and_precision():
  values = get_default_hparams().values()
  assert values == DEFAULTS
  assert list(values) == list(DEFAULTS)  # Magenta's order, then this fork's
  assert len(values) == 31
  for name, value in values.items():
    assert type(value) is type(DEFAULTS[name]), name


def test_seed_string_parses_exactly():
  hps = get_default_hparams().parse(SEED_STRING)
  expected = dict(DEFAULTS)
  expected.update(
      data_set=['apple.npz', 'donut.npz', 'bus.npz', 'table.npz',
                'calculator.npz', 'power_outlet.npz'],
      scale=1.0, num_steps=10000, save_every=100, use_recurrent_dropout=False,
      kl_decay_rate=0.9999, min_learning_rate=0.0001)
  assert hps.values() == expected
  assert type(hps.num_steps) is int and type(hps.scale) is float
  assert hps.use_recurrent_dropout is False


@pytest.mark.parametrize('text,expected', [
    ('0', False), ('1', True), ('2', True), ('-1', True), ('true', True),
    ('false', False), ('True', True), ('False', False), ('TRUE', True),
    ('fAlSe', False)])
def test_bool_values(text, expected):
  hps = get_default_hparams().parse('conditional=%s' % text)
  assert hps.conditional is expected


def test_types_cast_to_default():
  hps = get_default_hparams().parse('scale=2,z_size=32,dec_model=hyper,'
                                    'data_set=a.npz')
  assert hps.scale == 2.0 and type(hps.scale) is float
  assert hps.z_size == 32 and type(hps.z_size) is int
  assert hps.dec_model == 'hyper'
  assert hps.data_set == ['a.npz']  # a bare value for a list: one item


def test_list_split_on_commas_and_spaces():
  hps = get_default_hparams().parse('data_set=[a.npz b.npz,c.npz ,  d.npz]')
  assert hps.data_set == ['a.npz', 'b.npz', 'c.npz', 'd.npz']


def test_empty_string_is_no_op():
  assert get_default_hparams().parse('') == get_default_hparams()


@pytest.mark.parametrize('text,message', [
    ('scal=2', "unknown hyperparameter 'scal' (did you mean 'scale'?); valid names: "
               'data_set, num_steps'),
    ('num_steps=ten', "hyperparameter 'num_steps' expects an int, got 'ten'"),
    ('num_steps=1.5', "hyperparameter 'num_steps' expects an int, got '1.5'"),
    ('scale=big', "hyperparameter 'scale' expects a float, got 'big'"),
    ('conditional=maybe', "hyperparameter 'conditional' expects a bool, got 'maybe'"),
    ('scale=1,scale=2', "hyperparameter 'scale' is given twice"),
    ('scale=[1,2]', "hyperparameter 'scale' expects a float, got a list [1, 2]"),
    ('scale', 'malformed --hparams near'),
    ('=3', 'malformed --hparams near'),
])
def test_errors_name_the_culprit(text, message):
  hps = get_default_hparams()
  with pytest.raises(SketchRNNError) as info:
    hps.parse(text)
  assert message in str(info.value)
  assert hps == get_default_hparams()  # a failed parse changes nothing


def test_unknown_name_lists_all_valid_names():
  with pytest.raises(SketchRNNError) as info:
    get_default_hparams().parse('foo=1')
  for name in MAGENTA_DEFAULTS:
    assert name in str(info.value)


def test_attribute_assignment_casts_and_refuses_unknown():
  hps = get_default_hparams()
  hps.max_seq_len = 88
  assert hps.max_seq_len == 88
  hps.learning_rate = 1
  assert type(hps.learning_rate) is float
  with pytest.raises(SketchRNNError):
    hps.max_seq_lenn = 3
  with pytest.raises(SketchRNNError):
    hps.z_size = 'large'


def test_json_round_trip_and_copy():
  hps = get_default_hparams().parse(SEED_STRING)
  text = hps.to_json()
  assert json.loads(text) == hps.values()
  back = get_default_hparams().parse_json(text)
  assert back == hps and back.values() == hps.values()
  clone = hps.copy()
  clone.data_set.append('x.npz')
  clone.scale = 4.0
  assert hps.scale == 1.0 and len(hps.data_set) == 6


def test_json_of_magenta_fixture_loads(tmp_path):
  # Magenta's json.dump(hps.values()) output, bools as true/false.
  text = json.dumps(MAGENTA_DEFAULTS)  # no `precision`: its default stays
  assert get_default_hparams().parse_json(text).values() == DEFAULTS


def test_magenta_key_only_json_is_refused_clearly():
  with pytest.raises(SketchRNNError, match='only the names'):
    get_default_hparams().parse_json(json.dumps(list(MAGENTA_DEFAULTS)))


def test_the_choices_are_the_cells_and_precisions_the_model_has():
  from sketch_rnn import rnn  # pylint: disable=g-import-not-at-top
  assert hparams.CELL_TYPES == tuple(rnn.CELLS)
  assert hparams.PRECISIONS == tuple(rnn.PRECISIONS)


def test_eval_hparams_are_magentas_eval_and_sample_models():
  hps = hparams.get_default_hparams().parse(
      'use_input_dropout=1,use_output_dropout=1,batch_size=32')
  eval_hps = hparams.eval_hparams(hps)
  assert not (eval_hps.use_input_dropout or eval_hps.use_recurrent_dropout
              or eval_hps.use_output_dropout)
  assert eval_hps.is_training and eval_hps.batch_size == 32  # Magenta's quirk
  sample_hps = hparams.eval_hparams(hps, inference_mode=True)
  assert sample_hps.batch_size == 1 and not sample_hps.is_training
  assert hps.use_input_dropout  # the original is untouched
  others = {k: v for k, v in hps.values().items() if k not in (
      'use_input_dropout', 'use_recurrent_dropout', 'use_output_dropout',
      'is_training', 'batch_size')}
  assert {k: eval_hps.values()[k] for k in others} == others
