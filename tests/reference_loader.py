"""Magenta's DataLoader as this project had it before the flat loader: one float32
array per sketch, a Python loop per sketch. The tests compare the flat loader's
batches with it, and scripts/benchmark_data.py times it."""

import numpy as np

from sketch_rnn.utils import augment_strokes


class ReferenceLoader:
  """Batches of one split, padded to stroke-5, as Magenta's DataLoader makes them.

  `rng` is a numpy RandomState; draws happen in Magenta's order (permutation, then
  per sketch two stretch factors and one number per point for point dropping), so
  the same seed gives Magenta's batches.
  """

  def __init__(self, strokes, batch_size=100, max_seq_length=250,
               scale_factor=1.0, random_scale_factor=0.0,
               augment_stroke_prob=0.0, limit=1000, rng=None, labels=None,
               class_names=None):
    self.batch_size = batch_size
    self.max_seq_length = max_seq_length
    self.scale_factor = scale_factor
    self.random_scale_factor = random_scale_factor
    self.limit = limit
    self.augment_stroke_prob = augment_stroke_prob
    self.start_stroke_token = [0, 0, 1, 0, 0]
    self.rng = rng if rng is not None else np.random.RandomState()
    self.preprocess(strokes)
    # The class of each sketch of self.strokes (the study's classifier), or None.
    self.labels = (None if labels is None else
                   np.asarray(labels, np.int64)[self.source_index])
    self.class_names = class_names

  def preprocess(self, strokes):
    """Drops sketches longer than max_seq_length, clamps, sorts by length."""
    raw_data = []
    seq_len = []
    self.source_index = []
    for i, data in enumerate(strokes):
      if len(data) <= self.max_seq_length:
        data = np.clip(data, -self.limit, self.limit)
        data = np.array(data, dtype=np.float32)
        data[:, 0:2] /= self.scale_factor
        raw_data.append(data)
        seq_len.append(len(data))
        self.source_index.append(i)
    # Magenta's (unstable) default argsort: equal lengths keep numpy's order.
    idx = np.argsort(np.array(seq_len, dtype=np.int64))
    self.strokes = [raw_data[i] for i in idx]
    self.source_index = np.array(self.source_index, dtype=np.int64)[idx]
    self.num_batches = len(self.strokes) // self.batch_size

  def __len__(self):
    return len(self.strokes)

  def random_sample(self):
    return self.strokes[self.rng.randint(0, len(self.strokes))]

  def random_scale(self, data):
    """Stretches x and y by independent factors in [1 - f, 1 + f]."""
    x_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    y_scale_factor = (self.rng.random_sample() - 0.5) * 2 * self.random_scale_factor + 1.0
    result = np.copy(data)
    result[:, 0] *= x_scale_factor
    result[:, 1] *= y_scale_factor
    return result

  def calculate_normalizing_scale_factor(self):
    """Standard deviation of all dx and dy values, pooled, in float32 like Magenta."""
    kept = [s for s in self.strokes if len(s) <= self.max_seq_length]
    if not kept:
      return 1.0
    data = np.concatenate([s[:, 0:2] for s in kept]).reshape(-1)
    return np.std(data)

  def normalize(self, scale_factor=None):
    if scale_factor is None:
      scale_factor = self.calculate_normalizing_scale_factor()
    self.scale_factor = scale_factor
    for s in self.strokes:
      s[:, 0:2] /= self.scale_factor

  def _get_batch_from_indices(self, indices):
    x_batch = []
    seq_len = []
    for i in indices:
      data = self.random_scale(self.strokes[i])
      if self.augment_stroke_prob > 0:
        data = augment_strokes(data, self.augment_stroke_prob, self.rng)
      x_batch.append(data)
      seq_len.append(len(data))
    seq_len = np.array(seq_len, dtype=np.int32)
    return x_batch, self.pad_batch(x_batch, self.max_seq_length), seq_len

  def random_batch(self):
    """batch_size sketches drawn without replacement, augmented."""
    idx = self.rng.permutation(range(0, len(self.strokes)))[0:self.batch_size]
    return self._get_batch_from_indices(idx)

  def get_batch(self, idx):
    """Batch idx in order (sketches idx*B .. idx*B+B-1), as used for evaluation."""
    if not 0 <= idx < self.num_batches:
      raise IndexError('batch %d out of range [0, %d)' % (idx, self.num_batches))
    start_idx = idx * self.batch_size
    return self._get_batch_from_indices(range(start_idx, start_idx + self.batch_size))

  def pad_batch(self, batch, max_len):
    """Stroke-3 sketches to float32 stroke-5 [B, max_len + 1, 5] with the start token."""
    result = np.zeros((len(batch), max_len + 1, 5), dtype=np.float32)
    for i, sketch in enumerate(batch):
      n = len(sketch)
      assert n <= max_len
      result[i, 1:n + 1, 0:2] = sketch[:, 0:2]
      result[i, 1:n + 1, 3] = sketch[:, 2]
      result[i, 1:n + 1, 2] = 1 - sketch[:, 2]
      result[i, n + 1:, 4] = 1
      result[i, 0, 2:5] = self.start_stroke_token[2:5]
    return result
