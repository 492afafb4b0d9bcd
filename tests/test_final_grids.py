"""What a finished run draws: which test sketches, the reconstruction grid's cells
and captions, and the recognition figure against the classifier's own verdicts."""

import glob
import os
import re
import types

import numpy as np
import pytest

from sketch_rnn import classifier
from sketch_rnn import final_grids
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import sample
from sketch_rnn import utils

from conftest import BUNDLED, tiny_hparams


def test_pick_takes_the_first_of_each_kind_in_order():
  labels = np.array([2, 0, 2, 1, 0, 2, 2, 1, 0, 0])
  picked = final_grids.pick(labels, len(labels), per_class=2)
  want = []
  for kind in sorted(set(labels.tolist())):
    want += [i for i, label in enumerate(labels) if label == kind][:2]
  assert picked.tolist() == want
  assert final_grids.pick(None, 30).tolist() == list(range(final_grids.UNLABELLED))
  assert final_grids.pick(None, 5).tolist() == list(range(5))


def test_classifier_data_keeps_at_most_per_class_of_each_kind():
  labels = np.repeat([0, 1, 2], [7, 2, 5])
  train_set = types.SimpleNamespace(
      labels=labels, strokes=[np.full((1, 3), i) for i in range(len(labels))])
  sketches, kept = final_grids._classifier_data(train_set, 3, seed=0)
  assert np.bincount(kept).tolist() == [3, 2, 3]
  indices = [int(s[0, 0]) for s in sketches]
  assert indices == sorted(indices)  # the train split's order, a subset of it
  assert (labels[indices] == kept).all()


@pytest.fixture(scope='module')
def loaded():
  train_set, valid_set, test_set, hps = utils.load_dataset(
      BUNDLED, tiny_hparams(), seed=0)[:4]
  return (train_set, valid_set, test_set), hps


def test_reconstruction_grid_and_recognition_figure(loaded, tmp_path, monkeypatch):
  monkeypatch.setenv('SKETCH_RNN_CACHE', str(tmp_path / 'cache'))
  data, hps = loaded
  model = sketch_rnn_model.Model(hps, seed=0)
  result = final_grids.write_reconstructions(model, data, str(tmp_path), 40,
                                             per_class=2)
  test_set = data[2]
  names = test_set.class_names
  chosen = final_grids.pick(test_set.labels, len(test_set.strokes), 2)
  assert len(chosen) == 2 * len(names)
  svg = open(result['path']).read()
  assert len(re.findall(r'<g id="cell-\d+"', svg)) == 2 * len(chosen)
  captions = re.findall(r'<text[^>]*>([^<]*)</text>', svg)
  assert captions[0::2] == [names[test_set.labels[i]] for i in chosen]

  # The figure is the cached classifier's verdict on the same greedy decodings.
  cached = glob.glob(str(tmp_path / 'cache' / 'classifiers' / '*.npz'))
  assert len(cached) == 1
  judge, _ = classifier.load(cached[0])
  sketches = [test_set.strokes[i] for i in chosen]
  decoded = sample.decode(model, sample.encode_all(model, sketches), greedy=True,
                          seq_len=40)
  seen = judge.predict_proba(decoded).argmax(axis=1)
  right = int(np.sum(seen == test_set.labels[chosen]))
  assert result['count'] == len(chosen)
  assert result['recognised'] == right
  assert sum(not c.endswith('(wrong)') for c in captions[1::2]) == right
  assert captions[1::2] == [
      'seen as %s' % names[s] + ('' if s == test_set.labels[i] else ' (wrong)')
      for s, i in zip(seen, chosen)]
  assert result['classifier_accuracy'] == pytest.approx(
      classifier.accuracy(judge, test_set.strokes, test_set.labels))
  # A second run on the same data reuses the cached classifier: same verdicts.
  mtime = os.path.getmtime(cached[0])
  again = final_grids.write_reconstructions(model, data, str(tmp_path), 40,
                                            per_class=2)
  assert again['recognised'] == right and os.path.getmtime(cached[0]) == mtime
