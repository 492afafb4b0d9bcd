"""sketch_rnn_sample --mode=complete and --mode=encode, the highlighted prefix in the
grids, and the reconstruct grid's column labels."""

import os
import re
import sys
from unittest import mock

from absl import flags
import numpy as np
import pytest

from sketch_rnn import checkpoints
from sketch_rnn import draw
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample
from sketch_rnn import sketch_rnn_sample
from sketch_rnn import utils

from conftest import BUNDLED, tiny_hparams

SCALE = 4.0  # the made-up runs' normalising factor


def make_run(log_root, **overrides):
  hps = tiny_hparams(max_seq_len=40, **overrides)
  model = sketch_rnn_model.Model(hps, seed=2)
  os.makedirs(log_root, exist_ok=True)
  checkpoints.RunCheckpoint(log_root, model).save(3, 1.0)
  checkpoints.write_model_config(log_root, hps)
  checkpoints.write_scale_factor(log_root, SCALE)
  return log_root


@pytest.fixture(scope='module')
def vae_run(tmp_path_factory):
  return make_run(str(tmp_path_factory.mktemp('vae') / 'run'))


@pytest.fixture(scope='module')
def uncond_run(tmp_path_factory):
  return make_run(str(tmp_path_factory.mktemp('uncond') / 'run'), conditional=False)


@pytest.fixture(scope='module')
def mine(tmp_path_factory):
  """A user's .npz: one array of five pixel-unit sketches, the last 60 points."""
  rng = np.random.RandomState(0)
  sketches = np.empty(5, dtype=object)
  for i, n in enumerate((12, 20, 15, 30, 60)):
    s = np.zeros([n, 3], np.float32)
    s[:, :2] = rng.randint(-20, 20, [n, 2])
    s[::5, 2] = 1
    s[-1, 2] = 1
    sketches[i] = s
  path = str(tmp_path_factory.mktemp('mine') / 'mine.npz')
  np.savez(path, sketches=sketches)
  return path, list(sketches)


def sample_cli(*args):
  flags.FLAGS.unparse_flags()  # what an earlier run in this process set
  with mock.patch.object(sys, 'argv', ['sketch_rnn_sample', *args]):
    with pytest.raises(SystemExit) as e:
      sketch_rnn_sample.run_main()
  return e.value.code or 0


def paths_of(svg):
  """(stroke colour, number of points) of each <path>."""
  return [(color, len(re.findall(r'[ML]', d))) for d, color in re.findall(
      r'<path d="([^"]*)"[^>]*stroke="([^"]*)"', svg)]


def test_the_given_points_are_drawn_in_another_colour():
  strokes = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [1, 1, 0], [1, 1, 1]],
                     np.float32)
  svg = draw.grid_svg([strokes], highlight=[2])
  # points 0-1 red; the segment into point 2 and the rest of the stroke black
  assert paths_of(svg) == [(draw.HIGHLIGHT, 2), ('black', 3), ('black', 2)]
  assert paths_of(draw.grid_svg([strokes], highlight=[5])) == [
      (draw.HIGHLIGHT, 4), (draw.HIGHLIGHT, 2), ('black', 2)]  # a dot: 2 points
  assert [c for c, _ in paths_of(draw.grid_svg([strokes]))] == ['black', 'black']
  pixels = draw.grid_pixels([strokes], highlight=[2])
  assert pixels.shape[2] == 3
  red = (pixels[..., 0] > 150) & (pixels[..., 1] < 100)
  black = pixels.max(axis=2) < 60
  assert red.sum() > 10 and black.sum() > 10
  assert draw.grid_pixels([strokes]).ndim == 2


def test_completions_continue_the_given_points(uncond_run):
  run = checkpoints.open_run(uncond_run, sampling=True)
  rng = np.random.RandomState(1)
  sketches = [np.concatenate([rng.normal(0, 1, [n, 2]), np.zeros([n, 1])], 1)
              for n in (9, 14)]
  cells, titles, highlight = sample.completions(
      run.model, sketches, 6, 3, ['a', 'b'], seq_len=30, seed=5, temperature=0.5)
  assert len(cells) == 8 and highlight == [6] * 8
  assert titles[:4] == ['a: 6 points', 'completion 1', 'completion 2', 'completion 3']
  for i, sketch in enumerate(sketches):
    np.testing.assert_allclose(cells[4 * i], sketch[:6])
    for cell in cells[4 * i + 1:4 * i + 4]:
      np.testing.assert_allclose(cell[:6], sketch[:6], atol=1e-6)
  # continuations (an untrained model may end at once), each of its own
  drawn = [c[6:] for k, c in enumerate(cells) if k % 4]
  assert sum(len(d) for d in drawn) > 6
  long = [d for d in drawn if len(d)]
  assert len({d.tobytes() for d in long}) == len(long)
  with pytest.raises(Exception, match='a has 9 points, not more than the 9 given'):
    sample.completions(run.model, sketches, 9, 2, ['a', 'b'], seq_len=30)


def test_complete_cli_on_test_sketches_and_on_a_users_npz(uncond_run, mine, tmp_path):
  out = str(tmp_path / 'complete.svg')
  assert sample_cli('--log_root=' + uncond_run, '--mode=complete', '--num=2',
                    '--completions=2', '--prefix_points=5', '--seq_len=25',
                    '--data_dir=' + BUNDLED, '--out=' + out) == 0
  svg = open(out).read()
  assert svg.count('id="cell-') == 6 and 'test 0: 5 points' in svg
  assert draw.HIGHLIGHT in svg
  path, _ = mine
  assert sample_cli('--log_root=' + uncond_run, '--mode=complete', '--num=3',
                    '--completions=1', '--prefix_points=10', '--seq_len=25',
                    '--sketches=' + path, '--out=' + out) == 0
  svg = open(out).read()
  assert svg.count('id="cell-') == 6 and 'sketch 2: 10 points' in svg


def test_encode_writes_the_posterior_means_of_every_sketch(vae_run, mine, tmp_path,
                                                          capsys):
  path, sketches = mine
  out = str(tmp_path / 'z.npy')
  assert sample_cli('--log_root=' + vae_run, '--mode=encode', '--sketches=' + path,
                    '--out=' + out) == 1
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert err.endswith("sketch 4 has 60 points, more than the model's max_seq_len 40: "
                      'give --truncate to cut such sketches')
  assert not os.path.exists(out)
  assert sample_cli('--log_root=' + vae_run, '--mode=encode', '--sketches=' + path,
                    '--out=' + out, '--truncate') == 0
  z = np.load(out)
  assert z.shape == (5, 8)
  # by hand: pixel offsets / the run's factor, the long one cut, one at a time
  model = checkpoints.open_run(vae_run).model
  for i, sketch in enumerate(sketches):
    normalised = np.array(sketch[:40], np.float32)
    normalised[:, :2] /= SCALE
    mu, _ = model.encode(sample.pad_strokes([normalised])[0][:, 1:], [len(normalised)])
    np.testing.assert_allclose(z[i], mu.numpy()[0], atol=1e-5, err_msg=str(i))


def test_encode_needs_an_encoder_and_its_flags(uncond_run, mine, tmp_path, capsys):
  path, _ = mine
  out = str(tmp_path / 'z.npy')
  assert sample_cli('--log_root=' + uncond_run, '--mode=encode', '--sketches=' + path,
                    '--out=' + out) == 1
  assert 'needs the encoder' in capsys.readouterr().err
  assert sample_cli('--log_root=' + uncond_run, '--mode=encode', '--out=' + out) == 2
  assert '--mode=encode needs --sketches=PATH.npz' in capsys.readouterr().err


def test_reconstruct_grid_labels_its_columns(vae_run, tmp_path):
  out = str(tmp_path / 'r.svg')
  assert sample_cli('--log_root=' + vae_run, '--mode=reconstruct', '--num=2',
                    '--seq_len=20', '--data_dir=' + BUNDLED, '--out=' + out) == 0
  svg = open(out).read()
  titles = re.findall(r'<text[^>]*>([^<]*)</text>', svg)
  assert titles == ['input: test 0', 'decoded', 'input: test 1', 'decoded']


def test_a_users_npz_in_magentas_layout_is_read_whole(tmp_path):
  data = utils.load_npz(os.path.join(BUNDLED, 'shapes.npz'))
  got = sketch_rnn_sample.read_sketches(os.path.join(BUNDLED, 'shapes.npz'), 2.0)
  every = data['train'] + data['valid'] + data['test']
  assert len(got) == len(every)
  np.testing.assert_allclose(got[-1][:, :2], every[-1][:, :2] / 2.0)
  with pytest.raises(Exception, match='give --data_dir'):
    sketch_rnn_sample.read_sketches(os.path.join(BUNDLED, 'shapes.npz'), None)
