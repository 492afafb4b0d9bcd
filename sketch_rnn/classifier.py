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
"""A small sketch classifier that scores a sketch-rnn model's samples.

The study compares models trained at different latent noise levels by what their
samples look like to an independent judge: a small CNN trained on the labelled
data set. Its class probabilities say how recognisable and how varied the samples
are (`class_spread`), its penultimate activations give a Frechet distance between
samples and real sketches (`frechet_distance`, numpy only).

Sketches are rasterised fitted to their own bounding box, so the classifier does
not care whether offsets are in pixels or in the data set's normalised units. A
trained classifier is cached in one .npz (`load_or_train`), keyed by a fingerprint
of its training data and settings.
"""

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from sketch_rnn import files
from sketch_rnn.errors import SketchRNNError

FORMAT_VERSION = 1
SIZE = 28
MARGIN = 1  # pixels left blank on each side of the longer side
FEATURES = 64
STEPS = 600
BATCH_SIZE = 64
LEARNING_RATE = 2e-3


# -- Rasterising: numpy only ---------------------------------------------------------

def _rasterize_one(sketch, image):
  """Draws one stroke-3 sketch into image (zeros, [size, size]) in place."""
  size = image.shape[0]
  rows = np.asarray(sketch, dtype=np.float64)
  if rows.size == 0:
    return
  if rows.ndim != 2 or rows.shape[1] < 3:
    raise SketchRNNError('expected a stroke-3 sketch of shape (n, 3), got shape %s'
                         % (rows.shape,))
  with np.errstate(all='ignore'):  # absurd offsets only drop their segments
    points = np.cumsum(rows[:, :2], axis=0)
    drawn = rows[:-1, 2] < 0.5  # a segment leaves every point the pen stays on
    start, end = points[:-1][drawn], points[1:][drawn]
    finite = np.isfinite(start).all(axis=1) & np.isfinite(end).all(axis=1)
    start, end = start[finite], end[finite]
    if not len(start):
      return
    ends = np.concatenate([start, end])
    lo, hi = ends.min(axis=0), ends.max(axis=0)
    longest = (hi - lo).max()
    half = (size - 1) // 2 - MARGIN
    scale = 2.0 * half / longest if 0 < longest < np.inf else 0.0
    # size // 2 is a pixel centre, so a flat line lands inside one row, not on
    # the border between two.
    centre = lo / 2 + hi / 2
    u0 = (start - centre) * scale + size // 2
    u1 = (end - centre) * scale + size // 2
  keep = np.isfinite(u0).all(axis=1) & np.isfinite(u1).all(axis=1)
  u0, u1 = u0[keep], u1[keep]
  # Samples at most half a pixel apart leave no gaps between lit pixels. Integer
  # sketches bring many exact ties (a length of whole half pixels, a sample half-way
  # between two pixels); nudges far above rounding error settle them alike wherever
  # the sketch lies and whatever its units.
  length = np.linalg.norm(u1 - u0, axis=1)
  counts = np.ceil(length / 0.5 + 1e-6).astype(np.int64) + 1
  segment = np.repeat(np.arange(len(counts)), counts)
  step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
  t = (step / np.maximum(counts - 1, 1)[segment])[:, None]
  samples = u0[segment] + t * (u1 - u0)[segment]
  pixels = np.clip(np.rint(samples + 1e-6).astype(np.int64), 0, size - 1)
  image[pixels[:, 1], pixels[:, 0]] = 1.0  # y grows downwards, as rows do


def rasterize(sketches, size=SIZE):
  """Stroke-3 sketches -> float32 [N, size, size] images of 0s and 1s.

  Each sketch is centred and scaled so that its longer side fills the image less
  a one-pixel margin, keeping its aspect ratio. Only pen-down segments are drawn
  and fix the box: a sketch with none (empty, one point, all pen up) gives a blank
  image; one whose segments have no extent gives a dot in the centre.
  """
  images = np.zeros((len(sketches), size, size), dtype=np.float32)
  for sketch, image in zip(sketches, images):
    _rasterize_one(sketch, image)
  return images


# -- The CNN -------------------------------------------------------------------------

class Classifier(tf.Module):
  """conv 3x3x16, max pool, conv 3x3x32, max pool, dense 64 ("features"), dense."""

  def __init__(self, class_names, size=SIZE, seed=0):
    super().__init__(name='sketch_classifier')
    self.class_names = [str(name) for name in class_names]
    self.size = int(size)
    rng = np.random.RandomState(seed)
    flat = (self.size // 4) ** 2 * 32

    def he(shape, fan_in):  # He et al. 2015's scale suits the ReLUs
      return tf.Variable(rng.normal(0, np.sqrt(2 / fan_in), shape), dtype=tf.float32)

    def zeros(n):
      return tf.Variable(tf.zeros(n))

    self.conv1_w, self.conv1_b = he((3, 3, 1, 16), 9), zeros(16)
    self.conv2_w, self.conv2_b = he((3, 3, 16, 32), 9 * 16), zeros(32)
    self.dense_w, self.dense_b = he((flat, FEATURES), flat), zeros(FEATURES)
    self.out_w = he((FEATURES, len(self.class_names)), FEATURES)
    self.out_b = zeros(len(self.class_names))
    spec = tf.TensorSpec([None, self.size, self.size], tf.float32)
    self._features_fn = tf.function(self.features, input_signature=[spec])
    self._logits_fn = tf.function(self.logits, input_signature=[spec])

  @property
  def weights(self):
    """The variables in a fixed order, the order save writes them in."""
    return [self.conv1_w, self.conv1_b, self.conv2_w, self.conv2_b, self.dense_w,
            self.dense_b, self.out_w, self.out_b]

  def features(self, images):
    """[N, size, size] images -> [N, 64] penultimate activations (after ReLU)."""
    x = tf.convert_to_tensor(images, tf.float32)[..., None]
    for w, b in ((self.conv1_w, self.conv1_b), (self.conv2_w, self.conv2_b)):
      x = tf.nn.relu(tf.nn.conv2d(x, w, 1, 'SAME') + b)
      x = tf.nn.max_pool2d(x, 2, 2, 'VALID')
    x = tf.reshape(x, [-1, self.dense_w.shape[0]])
    return tf.nn.relu(tf.matmul(x, self.dense_w) + self.dense_b)

  def logits(self, images):
    return tf.matmul(self.features(images), self.out_w) + self.out_b

  def _batched(self, fn, sketches, batch_size):
    images = rasterize(sketches, self.size)
    if not len(images):  # TensorFlow's CPU convolution refuses an empty batch
      return fn(np.zeros((1, self.size, self.size), np.float32)).numpy()[:0]
    return np.concatenate([fn(images[i:i + batch_size]).numpy()
                           for i in range(0, len(images), batch_size)])

  def predict_proba(self, sketches, batch_size=256):
    """Stroke-3 sketches -> numpy [N, num_classes] class probabilities."""
    return tf.nn.softmax(self._batched(self._logits_fn, sketches, batch_size)).numpy()

  def embed(self, sketches, batch_size=256):
    """Stroke-3 sketches -> numpy [N, 64] features, for frechet_distance."""
    return self._batched(self._features_fn, sketches, batch_size)


# -- Training, scoring, caching ------------------------------------------------------

def _check_labels(sketches, labels, class_names):
  labels = np.asarray(labels)
  if labels.ndim != 1 or len(labels) != len(sketches):
    raise SketchRNNError('%d labels for %d sketches' % (labels.size, len(sketches)))
  if len(labels) and not np.issubdtype(labels.dtype, np.integer):
    raise SketchRNNError('labels must be integer class indices, got %s' % labels.dtype)
  outside = labels[(labels < 0) | (labels >= len(class_names))]
  if len(outside):
    raise SketchRNNError('label %d is not one of the %d classes (0..%d)' % (
        outside[0], len(class_names), len(class_names) - 1))
  if len(class_names) < 2 or len(np.unique(labels)) < 2:
    raise SketchRNNError('a classifier needs at least 2 classes, got %d label(s) '
                         'of %d class name(s)' % (len(np.unique(labels)),
                                                  len(class_names)))
  return labels.astype(np.int64)


def _jitter(sketches, rng):
  """Copies turned by up to 10 degrees and stretched by up to 20% on one axis."""
  out = []
  for sketch in sketches:
    turn, stretch = np.radians(rng.uniform(-10, 10)), np.exp(rng.uniform(-0.2, 0.2))
    c, s = np.cos(turn), np.sin(turn)
    rows = np.array(sketch, dtype=np.float64).reshape(-1, 3)
    rows[:, :2] = rows[:, :2] @ (np.array([[c, -s], [s, c]]) * [stretch, 1 / stretch]).T
    out.append(rows)  # offsets turn as the points do: the map is linear
  return out


def train(sketches, labels, class_names, seed=0, steps=STEPS, batch_size=BATCH_SIZE,
          size=SIZE, learning_rate=LEARNING_RATE, augment=True):
  """A Classifier trained with Adam on stroke-3 sketches and integer labels.

  augment adds a randomly turned and stretched copy of each sketch: a model's
  samples are rarely as neat as the data. The same inputs and seed give the same
  weights: initial weights, copies and batches all come from numpy streams of it.
  """
  labels = _check_labels(sketches, labels, class_names)
  model = Classifier(class_names, size=size, seed=seed)
  rng = np.random.RandomState([seed, 1])  # apart from the weights' RandomState(seed)
  images = rasterize(sketches, size)
  if augment:
    images = np.concatenate([images, rasterize(_jitter(sketches, rng), size)])
    labels = np.concatenate([labels, labels])
  images, targets = tf.constant(images), tf.constant(labels)
  # Whole epochs in shuffled order, so every sketch is seen as often as the next.
  epochs = -(-steps * batch_size // len(labels))
  order = np.concatenate([rng.permutation(len(labels)) for _ in range(epochs)])
  batches = order[:steps * batch_size].reshape(steps, batch_size)

  variables = model.weights
  moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v)))
             for v in variables]
  beta1, beta2, eps = 0.9, 0.999, 1e-7

  @tf.function(input_signature=[tf.TensorSpec([batch_size], tf.int64),
                                tf.TensorSpec([], tf.float32)])
  def step(index, t):
    with tf.GradientTape() as tape:
      logits = model.logits(tf.gather(images, index))
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
          tf.gather(targets, index), logits))
    grads = tape.gradient(loss, variables)
    rate = learning_rate * tf.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for var, grad, (m, v) in zip(variables, grads, moments):
      m.assign(beta1 * m + (1 - beta1) * grad)
      v.assign(beta2 * v + (1 - beta2) * tf.square(grad))
      var.assign_sub(rate * m / (tf.sqrt(v) + eps))
    return loss

  for t, index in enumerate(batches, start=1):
    step(tf.constant(index), tf.constant(t, tf.float32))
  return model


def accuracy(classifier, sketches, labels):
  """The fraction of sketches whose most probable class is their label."""
  if not len(labels):
    raise SketchRNNError('accuracy of no sketches')
  return float(np.mean(classifier.predict_proba(sketches).argmax(axis=1)
                       == np.asarray(labels)))


def fingerprint(sketches, labels, class_names, **settings):
  """A short hex digest of the training data and settings: a cache's key."""
  digest = hashlib.sha256()
  for sketch in sketches:
    rows = np.ascontiguousarray(sketch, dtype=np.float64)
    digest.update(np.asarray(rows.shape, np.int64).tobytes() + rows.tobytes())
  digest.update(np.asarray(labels, np.int64).tobytes())
  digest.update(json.dumps([[str(n) for n in class_names], FORMAT_VERSION,
                            sorted(settings.items())], default=str).encode())
  return digest.hexdigest()[:16]


def save(classifier, path, fingerprint):  # pylint: disable=redefined-outer-name
  """Writes the weights and metadata to one .npz, atomically."""
  arrays = {'w%d' % i: v.numpy() for i, v in enumerate(classifier.weights)}
  arrays.update(format_version=np.int64(FORMAT_VERSION), size=np.int64(classifier.size),
                class_names=np.array(classifier.class_names, dtype=str),
                fingerprint=np.array(str(fingerprint)))
  with files.atomic_write(path, 'wb') as f:
    np.savez(f, **arrays)


def load(path):
  """(Classifier, fingerprint) from a file save wrote; SketchRNNError if unusable."""
  try:
    with np.load(path, allow_pickle=False) as data:
      version = int(data['format_version'])
      if version != FORMAT_VERSION:
        raise SketchRNNError('%s: classifier format version %d, expected %d' % (
            path, version, FORMAT_VERSION))
      classifier = Classifier(data['class_names'].tolist(), size=int(data['size']))
      for i, var in enumerate(classifier.weights):
        var.assign(data['w%d' % i])  # a wrong shape raises, and is reported below
      return classifier, str(data['fingerprint'])
  except SketchRNNError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    raise SketchRNNError('%s: not a readable classifier file (%s: %s)' % (
        path, type(e).__name__, e)) from None


def training_settings(seed=0, **settings):
  """train's settings as load_or_train fills them in: part of a cache's key."""
  return dict(dict(steps=STEPS, batch_size=BATCH_SIZE, size=SIZE,
                   learning_rate=LEARNING_RATE, augment=True), **settings, seed=seed)


def load_or_train(path, sketches, labels, class_names, seed=0, **settings):
  """(classifier, trained_now): the cache at path if its fingerprint matches.

  Otherwise trains (settings go to train) and saves to path; a missing, stale or
  unreadable cache is simply replaced. path None trains in memory only.
  """
  labels = _check_labels(sketches, labels, class_names)
  settings = training_settings(seed, **settings)
  key = fingerprint(sketches, labels, class_names, **settings)
  if path is not None and os.path.exists(path):
    try:
      classifier, cached = load(path)
      if cached == key:
        return classifier, False
    except SketchRNNError:
      pass
  classifier = train(sketches, labels, class_names, **settings)
  if path is not None:
    save(classifier, path, key)
  return classifier, True


# -- Scores of a set of samples: numpy only ------------------------------------------

def frechet_distance(features_a, features_b):
  """|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two [N, D] feature sets.

  The Frechet distance between Gaussians fitted to each set (Heusel et al. 2017's
  FID on the classifier's features).
  """
  a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
    raise SketchRNNError('frechet_distance needs two [N, D] arrays of one D, N >= 2, '
                         'got shapes %s and %s' % (a.shape, b.shape))
  cov_a, cov_b = (np.atleast_2d(np.cov(x, rowvar=False)) for x in (a, b))
  # C_a C_b = S (S C_b S) S^-1 with S = C_a^(1/2): the same eigenvalues as the
  # symmetric S C_b S, whose eigh is stable where C_a C_b's eig is not.
  values, vectors = np.linalg.eigh(cov_a)
  root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
  values = np.linalg.eigvalsh(root @ cov_b @ root)
  trace_sqrt = np.sqrt(np.clip(values, 0.0, None)).sum()
  distance = (np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(cov_a)
              + np.trace(cov_b) - 2.0 * trace_sqrt)
  return float(max(distance, 0.0))  # rounding can take equal sets a hair below 0


def class_spread(probs):
  """How a set of samples spreads over the classes, from [N, C] probabilities.

  entropy: entropy in nats of the histogram of argmax classes normalised to sum
    to 1; 0 when every sample is one class, log C when they are evenly spread.
  classes_seen: the number of distinct argmax classes.
  confidence: the mean over samples of the largest class probability, how sure
    the classifier is of what it sees (1 / C for uniform guesses).
  """
  probs = np.asarray(probs, np.float64)
  if probs.ndim != 2 or not len(probs):
    raise SketchRNNError('class_spread needs [N, C] probabilities with N > 0, got '
                         'shape %s' % (probs.shape,))
  histogram = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
  seen = histogram[histogram > 0]
  return dict(entropy=float(-np.sum(seen * np.log(seen))),
              classes_seen=int(len(seen)),
              confidence=float(probs.max(axis=1).mean()))
