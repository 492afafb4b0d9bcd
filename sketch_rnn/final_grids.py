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
"""What a finished training run draws in its folder.

`samples.svg`: sketches from the prior at temperature 0.5. `reconstructions.svg`
(models with an encoder): test sketches, each beside the greedy decoding of its
posterior mean, up to PER_CLASS of each kind. Where the data has kinds (several
`data_set` files, or a labelled .npz such as the bundled shapes), the study's
sketch classifier says which kind each decoding looks like, and the run reports
how many it recognises as their input's: the quickest check that z carries what
the sketch is, which prior samples cannot show.
"""

import os

import numpy as np

from sketch_rnn import classifier
from sketch_rnn import draw
from sketch_rnn import sample

SAMPLES_FILE = 'samples.svg'
RECONSTRUCTIONS_FILE = 'reconstructions.svg'
PER_CLASS = 10
UNLABELLED = 12  # test sketches drawn when the data has no kinds
CLASSIFIER_TRAIN_PER_CLASS = 2000  # keeps its images small for QuickDraw-sized sets
SAMPLE_TEMPERATURE = 0.5


def write_samples(model, log_root, num, seq_len, temperature=SAMPLE_TEMPERATURE):
  """num prior samples as a grid in log_root; returns its path."""
  strokes5, _ = sample.sample_batch(model, num=num, temperature=temperature,
                                    seq_len=seq_len)
  path = os.path.join(log_root, SAMPLES_FILE)
  draw.grid_svg(sample.to_strokes3(strokes5), path=path)
  return path


def pick(labels, count, per_class=PER_CLASS, unlabelled=UNLABELLED):
  """Indices of the test sketches to draw: the first per_class of each kind, kind
  by kind (labels None: the first `unlabelled`), of count sketches."""
  if labels is None:
    return np.arange(min(unlabelled, count))
  labels = np.asarray(labels)[:count]
  return np.concatenate([np.flatnonzero(labels == c)[:per_class]
                         for c in np.unique(labels)]).astype(np.int64)


def _classifier_data(train_set, per_class, seed):
  """The train split's sketches and labels, at most per_class of each kind."""
  labels = np.asarray(train_set.labels)
  rng = np.random.RandomState(seed)
  keep = []
  for c in np.unique(labels):
    members = np.flatnonzero(labels == c)
    if len(members) > per_class:
      members = np.sort(rng.choice(members, per_class, replace=False))
    keep.append(members)
  keep = np.sort(np.concatenate(keep))
  return [train_set.strokes[i] for i in keep], labels[keep]


def _user_cache():
  return os.environ.get('SKETCH_RNN_CACHE') or os.path.join(
      os.path.expanduser('~'), '.cache', 'sketch_rnn')


def judge(data, cache=True, per_class=CLASSIFIER_TRAIN_PER_CLASS, seed=0):
  """(the sketch classifier of the data's kinds, its test accuracy), or (None,
  None) when the data has fewer than two kinds.

  cache: keep it under $SKETCH_RNN_CACHE (or ~/.cache/sketch_rnn)/classifiers,
  named by its training data and settings, so that every run on the same data
  shares one (trained in seconds, but runs are many in a study or a test suite).
  """
  train_set, _, test_set = data[:3]
  if train_set.labels is None or len(train_set.class_names or ()) < 2:
    return None, None
  sketches, labels = _classifier_data(train_set, per_class, seed)
  names = [str(n) for n in train_set.class_names]
  path = None
  if cache:
    key = classifier.fingerprint(sketches, labels, names,
                                 **classifier.training_settings(seed))
    path = os.path.join(_user_cache(), 'classifiers', key + '.npz')
    try:
      os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
      path = None  # an unwritable home: train in memory
  try:
    model, _ = classifier.load_or_train(path, sketches, labels, names, seed=seed)
  except OSError:
    model, _ = classifier.load_or_train(None, sketches, labels, names, seed=seed)
  return model, classifier.accuracy(model, test_set.strokes, test_set.labels)


def write_reconstructions(model, data, log_root, seq_len, per_class=PER_CLASS):
  """The reconstruction grid of a run with an encoder, one row per kind: each test
  sketch beside the greedy decoding of its posterior mean, captioned with its
  kind and, where there is a classifier, the kind its decoding is seen as.

  Returns a dict: path, and with kinds recognised (how many decodings the
  classifier puts in their input's kind), count, classifier_accuracy (on the
  whole test split).
  """
  test_set = data[2]
  labels = test_set.labels
  chosen = pick(labels, len(test_set.strokes), per_class)
  cells, _ = sample.reconstructions(model, [test_set.strokes[i] for i in chosen],
                                    [''] * len(chosen), greedy=True, seq_len=seq_len)
  decoded = cells[1::2]
  result = dict(path=os.path.join(log_root, RECONSTRUCTIONS_FILE))
  names = test_set.class_names
  if labels is None:
    inputs = ['test %d' % i for i in chosen]
    outputs = ['greedy decoding'] * len(chosen)
  else:
    kinds = np.asarray(labels)[chosen]
    inputs = [str(names[k]) for k in kinds]
    outputs = ['decoded'] * len(chosen)
    model_judge, accuracy = judge(data)
    if model_judge is not None:
      seen = model_judge.predict_proba(decoded).argmax(axis=1)
      outputs = [('seen as %s' % names[s]) + ('' if s == k else ' (wrong)')
                 for s, k in zip(seen, kinds)]
      result.update(recognised=int(np.sum(seen == kinds)), count=len(chosen),
                    classifier_accuracy=accuracy)
  titles = [t for pair in zip(inputs, outputs) for t in pair]
  ncols = 2 * (per_class if labels is not None else 4)
  draw.grid_svg(cells, ncols=min(ncols, len(cells)), cell=96, margin=6,
                titles=titles, path=result['path'])
  return result
