# Copyright 2024 The Magenta Authors.
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
"""Drawing sketches from a trained model.

`sample_batch` draws many sketches in one compiled loop (each with its own z and
temperature, stopping once every sketch has ended). Its maths is Magenta's
`sample()`: temperature T applied to the mixture weights and pen states
(p <- p^(1/T), renormalised), both sigmas multiplied by T, greedy mode taking the
argmax and the component's mean.
"""

import numpy as np
import tensorflow as tf

from sketch_rnn import utils

START_TOKEN = (0.0, 0.0, 1.0, 0.0, 0.0)
END_ROW = (0.0, 0.0, 0.0, 0.0, 1.0)


def _categorical(generator, probs, temperature, greedy):
  """Index drawn from probs^(1/T) (renormalised), or the argmax when greedy."""
  if greedy:
    return tf.argmax(probs, axis=1, output_type=tf.int32)
  logits = tf.math.log(probs) / temperature[:, None]
  # Gumbel-max: a categorical draw from the model's own seeded generator.
  gumbel = -tf.math.log(-tf.math.log(
      generator.uniform(tf.shape(logits), minval=1e-20, maxval=1.0)))
  return tf.argmax(logits + gumbel, axis=1, output_type=tf.int32)


@tf.function(reduce_retracing=True)
def _sample_loop(model, z, temperature, seq_len, greedy):
  batch = tf.shape(z)[0]
  state = model.dec.unflat_state(model.initial_state(z))
  prev = tf.tile(tf.constant([START_TOKEN]), [batch, 1])
  ended = tf.zeros([batch], tf.bool)
  lengths = tf.fill([batch], seq_len)
  out_ta = tf.TensorArray(tf.float32, size=seq_len)
  gen = model.generator
  temp = temperature[:, None]

  def body(t, prev, state, ended, lengths, out_ta):
    p, state = model.decode_step(prev, z, state)
    idx = _categorical(gen, p['pi'], temperature, greedy)
    pen = _categorical(gen, p['pen'], temperature, greedy)
    pick = lambda a: tf.gather(a, idx, axis=1, batch_dims=1)[:, None]
    mu1, mu2, rho = pick(p['mu1']), pick(p['mu2']), pick(p['corr'])
    if greedy:
      x1, x2 = mu1, mu2
    else:
      s1, s2 = pick(p['sigma1']) * temp, pick(p['sigma2']) * temp
      n = gen.normal([batch, 2])
      x1 = mu1 + s1 * n[:, 0:1]
      x2 = mu2 + s2 * (rho * n[:, 0:1] + tf.sqrt(1 - rho * rho) * n[:, 1:2])
    row = tf.concat([x1, x2, tf.one_hot(pen, 3)], axis=1)
    row = tf.where(ended[:, None], tf.constant([END_ROW]), row)
    lengths = tf.where(~ended & (pen == 2), t, lengths)
    ended = ended | (pen == 2)
    return t + 1, row, state, ended, lengths, out_ta.write(t, row)

  t, _, _, _, lengths, out_ta = tf.while_loop(
      lambda t, prev, state, ended, *_: (t < seq_len) & ~tf.reduce_all(ended),
      body, (tf.constant(0), prev, state, ended, lengths, out_ta))
  strokes = out_ta.gather(tf.range(t))
  return tf.transpose(strokes, [1, 0, 2]), lengths


def sample_batch(model, z=None, num=None, temperature=1.0, seq_len=None,
                 greedy=False):
  """Draws sketches in one compiled loop.

  z: [B, z_size] latent vectors (default: B = num draws from N(0, I), as Magenta's
  sample() does whatever `scale` is). temperature: a number or one per sketch.
  Returns (strokes5 float32 [B, seq_len, 5], each ending in end-of-sketch rows;
  lengths [B], the number of points before the end of each sketch).
  """
  hps = model.hps
  seq_len = int(seq_len or hps.max_seq_len)
  if z is None:
    z = model.generator.normal([int(num or 1), hps.z_size])
  z = tf.convert_to_tensor(z, tf.float32)
  batch = int(z.shape[0])
  temperature = tf.broadcast_to(tf.cast(temperature, tf.float32), [batch])
  strokes, lengths = _sample_loop(model, z, temperature, tf.constant(seq_len),
                                  bool(greedy))
  strokes, lengths = strokes.numpy(), lengths.numpy()
  padded = np.tile(np.array(END_ROW, np.float32), (batch, seq_len, 1))
  padded[:, :strokes.shape[1]] = strokes
  return padded, lengths


def to_strokes3(strokes5):
  """Stroke-5 samples to a list of stroke-3 sketches, each cut at its end."""
  return [utils.to_normal_strokes(s) for s in strokes5]
