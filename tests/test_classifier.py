"""The sample classifier: rasterising, the CNN on the bundled data, its cache, and
the scores (Frechet distance, class spread) against closed forms."""

import importlib.util
import math
import os

import numpy as np
import pytest

from sketch_rnn import classifier
from sketch_rnn import errors

from conftest import BUNDLED, BUNDLED_SET, REPO

# make_bundled_dataset.py's defaults: its main() draws each split from its own
# stream of SeedSequence(seed), in this order.
SEED, SIZES = 0, dict(train=2500, valid=250, test=250)


def make_bundled_dataset():
  path = os.path.join(REPO, 'scripts', 'make_bundled_dataset.py')
  spec = importlib.util.spec_from_file_location('make_bundled_dataset', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.fixture(scope='module')
def bundled():
  """{split: (sketches, labels)} of shapes.npz, regenerated with their labels, and
  the class names."""
  script = make_bundled_dataset()
  names = list(script.CLASSES)
  streams = np.random.SeedSequence(SEED).spawn(len(SIZES))
  splits = {}
  with np.load(os.path.join(BUNDLED, BUNDLED_SET), allow_pickle=True,
               encoding='latin1') as data:
    for (split, n), stream in zip(SIZES.items(), streams):
      if split == 'valid':
        continue  # its own stream: leaving it out changes nothing else
      sketches, label_names = script.make_split(n, np.random.default_rng(stream))
      labels = np.array([names.index(name) for name in label_names])
      # The labels are only worth as much as the sketches are the file's.
      assert len(sketches) == len(data[split])
      assert all(np.array_equal(a, b) for a, b in zip(sketches, data[split]))
      if split + '_labels' in data.files:
        np.testing.assert_array_equal(data[split + '_labels'], labels)
      splits[split] = (list(data[split]), labels)
    if 'class_names' in data.files:
      assert [str(n) for n in data['class_names']] == names
  return splits, names


@pytest.fixture(scope='module')
def trained(bundled):
  splits, names = bundled
  return classifier.train(*splits['train'], names, seed=0)


def small(bundled, n=96):
  """n training sketches of the bundled data, their labels and the class names."""
  splits, names = bundled
  sketches, labels = splits['train']
  return sketches[:n], labels[:n], names


# -- rasterize -------------------------------------------------------------------------

def lit(image):
  return {tuple(p) for p in np.argwhere(image > 0)}


def test_horizontal_line_lights_one_row_across_the_image():
  # Three pen-down segments along one line, then a pen-up move down that must not
  # widen the box or show.
  sketch = np.array([[5, 5, 0], [7, 0, 0], [13, 0, 0], [6, 0, 1], [0, 40, 1]])
  image = classifier.rasterize([sketch], size=28)[0]
  half = 27 // 2 - classifier.MARGIN
  assert lit(image) == {(14, c) for c in range(14 - half, 14 + half + 1)}
  assert image.dtype == np.float32 and set(np.unique(image)) == {0.0, 1.0}


def test_diagonal_line_has_no_gaps():
  # From (0, 0) to (10, 7): 24 pixels wide, 16.8 high about the centre (14, 14).
  image = classifier.rasterize([np.array([[0, 0, 0], [10, 7, 1]])], size=28)[0]
  assert {c for _, c in lit(image)} == set(range(2, 27))
  assert {r for r, _ in lit(image)} == set(range(6, 23))


def test_pen_up_moves_are_not_drawn():
  # Two vertical strokes, joined by a pen-up move from the first's bottom to the
  # second's top.
  sketch = np.array([[0, 0, 0], [0, 10, 1], [10, -10, 0], [0, 10, 1]])
  image = classifier.rasterize([sketch], size=28)[0]
  assert {c for _, c in lit(image)} == {2, 26}
  assert {r for r, _ in lit(image)} == set(range(2, 27))


def test_image_ignores_translation_and_units(bundled):
  splits, _ = bundled
  sketches = splits['train'][0]  # all of them: exact ties are rare, not absent
  hand = np.array([[3, 4, 0], [10, 0, 0], [-5, 8, 1], [12, -3, 0], [2, 9, 0],
                   [-1, 1, 1]], dtype=np.float64)
  base = classifier.rasterize([hand] + sketches)
  for scale, shift in ((1 / 37.3, (123.4, -56.7)), (3.7, (-1e3, 2e3)), (1e-4, (0, 0))):
    moved = []
    for sketch in [hand] + sketches:
      sketch = sketch.astype(np.float64) * [scale, scale, 1]
      sketch[0, :2] += shift  # the first offset is the start point
      moved.append(sketch)
    np.testing.assert_array_equal(classifier.rasterize(moved), base)


def test_degenerate_sketches_never_fail():
  degenerate = [
      np.zeros((0, 3)),                                   # empty
      np.array([[3.0, 4.0, 1.0]]),                        # one point
      np.array([[3.0, 4.0, 0.0]]),                        # one point, pen down
      np.array([[1, 2, 1], [5, 5, 1], [-3, 2, 1]]),       # all pen up
      np.array([[1e300, 0, 0], [1e300, 1, 0], [-1e308, 5, 1]]),  # huge offsets
      np.array([[1e-300, 0, 0], [1e-310, 1e-310, 1]]),    # next to nothing
      [],                                                 # not even an array
  ]
  images = classifier.rasterize(degenerate, size=28)
  assert images.shape == (len(degenerate), 28, 28)
  assert np.all((images >= 0) & (images <= 1))
  for i in (0, 1, 2, 3, 6):
    assert not images[i].any(), i
  # A stroke that does not move is a dot in the middle.
  dot = classifier.rasterize([np.array([[7, 7, 0], [0, 0, 1]])], size=28)[0]
  assert lit(dot) == {(14, 14)}
  assert classifier.rasterize([]).shape == (0, 28, 28)


def test_rasterize_refuses_what_is_not_stroke_3():
  with pytest.raises(errors.SketchRNNError, match='stroke-3'):
    classifier.rasterize([np.zeros((4, 2))])


# -- the CNN on the bundled data ---------------------------------------------------

def test_well_above_chance_on_the_bundled_test_set(bundled, trained):
  splits, names = bundled
  sketches, labels = splits['test']
  assert len(names) == 12 and trained.class_names == names
  # In normalised units, as a model's samples come: the classifier does not mind.
  normalised = [s * [1 / 37.3, 1 / 37.3, 1] for s in sketches]
  assert classifier.accuracy(trained, normalised, labels) >= 0.8


def test_predictions_and_features_shapes(bundled, trained):
  splits, names = bundled
  sketches = splits['test'][0][:10] + [np.zeros((0, 3)), np.array([[1, 1, 1]])]
  probs = trained.predict_proba(sketches, batch_size=5)
  assert probs.shape == (12, len(names))
  np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
  features = trained.embed(sketches)
  assert features.shape == (12, classifier.FEATURES) and np.all(features >= 0)
  images = classifier.rasterize(sketches)
  np.testing.assert_allclose(trained.features(images).numpy(), features, rtol=1e-5,
                             atol=1e-6)
  assert trained.predict_proba([]).shape == (0, len(names))
  assert trained.embed([]).shape == (0, classifier.FEATURES)


def test_training_is_deterministic_for_a_seed(bundled):
  sketches, labels, names = small(bundled)
  runs = [classifier.train(sketches, labels, names, seed=seed, steps=15, batch_size=16)
          for seed in (3, 3, 4)]
  same = [np.array_equal(a.numpy(), b.numpy())
          for a, b in zip(runs[0].weights, runs[1].weights)]
  assert all(same)
  assert not np.array_equal(runs[0].weights[0].numpy(), runs[2].weights[0].numpy())


@pytest.mark.parametrize('labels, names, match', [
    ([0, 0, 0, 0], ['a', 'b'], 'at least 2 classes'),
    ([0, 1, 0, 1], ['a'], 'not one of the 1 classes'),
    ([0, 1, 2, 1], ['a', 'b'], 'label 2 is not one of the 2 classes'),
    ([0, -1, 0, 1], ['a', 'b'], 'label -1'),
    ([0.0, 1.0, 0.0, 1.0], ['a', 'b'], 'integer'),
    ([0, 1, 0], ['a', 'b'], '3 labels for 4 sketches'),
])
def test_train_refuses_bad_labels(labels, names, match):
  sketches = [np.array([[0, 0, 0], [5, i, 1]]) for i in range(4)]
  with pytest.raises(errors.SketchRNNError, match=match) as info:
    classifier.train(sketches, labels, names, steps=1)
  assert '\n' not in str(info.value)


# -- save, load and the cache ------------------------------------------------------

def test_save_load_round_trip(bundled, trained, tmp_path):
  splits, _ = bundled
  path = str(tmp_path / 'clf.npz')
  classifier.save(trained, path, 'abc123')
  assert os.listdir(tmp_path) == ['clf.npz']  # no temporary file left beside it
  loaded, fingerprint = classifier.load(path)
  assert fingerprint == 'abc123'
  assert loaded.class_names == trained.class_names and loaded.size == trained.size
  sketches = splits['test'][0][:50]
  np.testing.assert_array_equal(loaded.predict_proba(sketches),
                                trained.predict_proba(sketches))


def test_load_refuses_unusable_files(trained, tmp_path):
  good = str(tmp_path / 'good.npz')
  classifier.save(trained, good, 'f')
  with open(good, 'rb') as f:
    payload = f.read()
  garbage, truncated = str(tmp_path / 'garbage.npz'), str(tmp_path / 'cut.npz')
  with open(garbage, 'wb') as f:
    f.write(b'not a zip file at all')
  with open(truncated, 'wb') as f:
    f.write(payload[:len(payload) // 2])
  old = str(tmp_path / 'old.npz')
  with np.load(good) as data:
    arrays = dict(data)
  np.savez(old, **dict(arrays, format_version=np.int64(0)))
  misshapen = str(tmp_path / 'misshapen.npz')
  np.savez(misshapen, **dict(arrays, w0=np.zeros((2, 2), np.float32)))
  for path in (garbage, truncated, old, misshapen, str(tmp_path / 'missing.npz')):
    with pytest.raises(errors.SketchRNNError) as info:
      classifier.load(path)
    assert path in str(info.value) and '\n' not in str(info.value)
  with pytest.raises(errors.SketchRNNError, match='version 0'):
    classifier.load(old)


def test_fingerprint_follows_data_labels_names_and_settings(bundled):
  sketches, labels, names = small(bundled)
  base = classifier.fingerprint(sketches, labels, names, steps=5)
  assert base == classifier.fingerprint(list(sketches), list(labels), names, steps=5)
  assert len(base) == 16 and int(base, 16) >= 0
  moved = [sketches[0].copy()]
  moved[0][0, 0] += 1
  others = [
      classifier.fingerprint(moved + sketches[1:], labels, names, steps=5),
      classifier.fingerprint(sketches, np.roll(labels, 1), names, steps=5),
      classifier.fingerprint(sketches, labels, names[::-1], steps=5),
      classifier.fingerprint(sketches, labels, names, steps=6),
  ]
  assert base not in others and len(set(others)) == len(others)


def test_load_or_train_uses_a_fresh_cache_and_replaces_a_stale_one(bundled, tmp_path):
  sketches, labels, names = small(bundled)
  path = str(tmp_path / 'cache.npz')
  settings = dict(steps=10, batch_size=16)
  first, trained_now = classifier.load_or_train(path, sketches, labels, names,
                                                **settings)
  assert trained_now and os.path.exists(path)
  cached, trained_now = classifier.load_or_train(path, sketches, labels, names,
                                                 **settings)
  assert not trained_now
  np.testing.assert_array_equal(cached.predict_proba(sketches[:8]),
                                first.predict_proba(sketches[:8]))
  # Other labels, another seed: stale; each retrains and takes over the file.
  _, trained_now = classifier.load_or_train(path, sketches, np.roll(labels, 1), names,
                                            **settings)
  assert trained_now
  _, trained_now = classifier.load_or_train(path, sketches, labels, names, seed=1,
                                            **settings)
  assert trained_now
  _, trained_now = classifier.load_or_train(path, sketches, labels, names, seed=1,
                                            **settings)
  assert not trained_now
  # A corrupt cache is as good as none.
  with open(path, 'wb') as f:
    f.write(b'junk')
  _, trained_now = classifier.load_or_train(path, sketches, labels, names, **settings)
  assert trained_now
  assert classifier.load(path)[0].class_names == names
  _, trained_now = classifier.load_or_train(None, sketches, labels, names, **settings)
  assert trained_now and os.listdir(tmp_path) == ['cache.npz']


# -- frechet_distance --------------------------------------------------------------

def hadamard(n):
  """An n x n matrix of +-1 with orthogonal columns, the first all ones."""
  h = np.ones((1, 1))
  while len(h) < n:
    h = np.block([[h, h], [h, -h]])
  return h


def with_moments(mean, variances, columns):
  """Rows whose np.cov is exactly diag(variances) and whose mean is mean.

  Columns of a Hadamard matrix other than the first sum to 0 and are orthogonal,
  so they are uncorrelated samples with mean 0 and variance n / (n - 1).
  """
  h = hadamard(16)[:, columns]
  n = len(h)
  return np.asarray(mean) + h * np.sqrt(np.asarray(variances) * (n - 1) / n)


def test_frechet_distance_of_diagonal_covariances():
  mean_a, var_a = np.array([0.0, 1.0, -2.0]), np.array([1.0, 4.0, 0.25])
  mean_b, var_b = np.array([1.0, 1.0, 0.5]), np.array([9.0, 1.0, 0.25])
  a = with_moments(mean_a, var_a, [1, 2, 3])
  b = with_moments(mean_b, var_b, [5, 9, 12])
  np.testing.assert_allclose(np.cov(a, rowvar=False), np.diag(var_a), atol=1e-12)
  expected = (np.sum((mean_a - mean_b) ** 2)
              + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2))
  assert classifier.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_against_the_eigenvalues_of_the_product():
  rng = np.random.RandomState(0)
  a = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
  b = rng.normal(1.0, 2.0, size=(150, 5)) @ rng.normal(size=(5, 5))
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  # The eigenvalues of C_a C_b are those of a PSD matrix: real and >= 0.
  trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))
  expected = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b)
              - 2 * trace_sqrt)
  assert classifier.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
  assert classifier.frechet_distance(b, a) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_equal_and_shifted_sets():
  rng = np.random.RandomState(1)
  a = rng.normal(size=(100, 8))
  b = rng.normal(0.5, 1.5, size=(80, 8))
  assert classifier.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
  shift = rng.normal(size=8)
  assert classifier.frechet_distance(a, a + shift) == pytest.approx(
      np.sum(shift ** 2), rel=1e-8)
  assert classifier.frechet_distance(a + shift, b + shift) == pytest.approx(
      classifier.frechet_distance(a, b), rel=1e-8)
  # Rank-deficient covariances (fewer rows than features) still work.
  assert classifier.frechet_distance(a[:3], b[:4]) > 0


@pytest.mark.parametrize('a, b', [
    (np.zeros((1, 4)), np.zeros((5, 4))),
    (np.zeros((5, 4)), np.zeros((5, 3))),
    (np.zeros(5), np.zeros(5)),
])
def test_frechet_distance_refuses_too_little(a, b):
  with pytest.raises(errors.SketchRNNError, match='frechet_distance'):
    classifier.frechet_distance(a, b)


# -- class_spread ------------------------------------------------------------------

def test_class_spread_even_over_the_classes():
  spread = classifier.class_spread(np.eye(5)[[0, 1, 2, 3, 4] * 3])
  assert spread['entropy'] == pytest.approx(math.log(5))
  assert spread['classes_seen'] == 5 and spread['confidence'] == pytest.approx(1.0)


def test_class_spread_all_one_class():
  probs = np.tile([0.1, 0.7, 0.1, 0.1], (6, 1))
  assert classifier.class_spread(probs) == pytest.approx(
      dict(entropy=0.0, classes_seen=1, confidence=0.7))


def test_class_spread_of_a_mix():
  probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.4, 0.6, 0.0],
                    [0.5, 0.3, 0.2]])
  spread = classifier.class_spread(probs)
  # Half the samples go to each of two classes; uniform guesses count as class 0.
  assert spread['entropy'] == pytest.approx(math.log(2))
  assert spread['classes_seen'] == 2
  assert spread['confidence'] == pytest.approx((0.9 + 0.8 + 0.6 + 0.5) / 4)
  uniform = classifier.class_spread(np.full((4, 4), 0.25))
  assert uniform['entropy'] == 0.0 and uniform['confidence'] == pytest.approx(0.25)
  with pytest.raises(errors.SketchRNNError):
    classifier.class_spread(np.zeros((0, 3)))
