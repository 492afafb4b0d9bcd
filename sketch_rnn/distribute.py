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
"""Data-parallel training with tf.distribute: several GPUs, several hosts.

`batch_size` stays the global batch. Every worker draws the same global batch (the
data loader is seeded alike everywhere) and each replica takes its slice, so the
batches are those of a single-device run with the same seed. The costs keep
Magenta's definitions over the global batch: r_cost is the mean over all B * N
steps, the KL the mean over all B * z entries, and the floor max(KL, kl_tolerance)
applies to the global KL (not per replica). Each replica draws its own eps and
dropout masks (the model's generator is created in the strategy's scope).
"""

import json
import os

import numpy as np
import tensorflow as tf

from sketch_rnn import model as sketch_rnn_model
from sketch_rnn.errors import SketchRNNError
from sketch_rnn.errors import UsageError

STRATEGIES = ('auto', 'one_device', 'mirrored', 'multi_worker')
SUM = tf.distribute.ReduceOp.SUM


def make_strategy(name, collective_timeout=None):
  """The tf.distribute strategy for --distribution_strategy=name."""
  if name not in STRATEGIES:
    raise UsageError('--distribution_strategy=%s: expected one of %s' % (
        name, ', '.join(STRATEGIES)))
  if name == 'multi_worker':
    if not os.environ.get('TF_CONFIG'):
      raise UsageError('--distribution_strategy=multi_worker needs the TF_CONFIG '
                       'environment variable (cluster and task)')
    try:
      json.loads(os.environ['TF_CONFIG'])
    except ValueError as e:
      raise UsageError('TF_CONFIG is not JSON: %s' % e) from None
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=collective_timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
  # Physical, not logical: listing logical devices would start the runtime.
  gpus = tf.config.list_physical_devices('GPU')
  if name == 'mirrored' or (name == 'auto' and len(gpus) > 1):
    return tf.distribute.MirroredStrategy()
  return tf.distribute.OneDeviceStrategy('/gpu:0' if gpus else '/cpu:0')


def is_chief(strategy):
  """True on the one worker that writes checkpoints, events and model_config.json."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return True
  cluster = resolver.cluster_spec().as_dict()
  if 'chief' in cluster:
    return resolver.task_type == 'chief'
  return resolver.task_type == 'worker' and resolver.task_id == 0


def _local_terms(model, x, s, eps, dropout, mask_pen):
  """This replica's sums of the reconstruction loss and of the KL integrand."""
  out = model(x, s, dropout=dropout, mask_pen=mask_pen, eps=eps)
  r_sum = tf.reduce_sum(out['loss_s_step'] + out['loss_p_step'])
  if model.hps.conditional:
    kl_sum = tf.reduce_sum(
        sketch_rnn_model.kl_divergence(out['mean'], out['presig']))
  else:
    kl_sum = tf.zeros([])
  return r_sum, kl_sum


class DistributedSteps:
  """The train, eval and gradient steps of model.py, run on every replica."""

  def __init__(self, strategy, model, optimizer, global_batch):
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
      raise UsageError('batch_size=%d does not split over %d replicas' % (
          global_batch, replicas))
    self.strategy = strategy
    self.model = model
    self.optimizer = optimizer
    self.global_batch = global_batch
    self.per_replica = global_batch // replicas
    self._train = tf.function(self._train_step)
    self._eval = tf.function(self._eval_step)
    self._grads = tf.function(self._gradient_step)

  def distribute(self, array):
    """Each replica's slice of a global batch that every worker holds whole."""
    n = self.per_replica
    return self.strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(array[ctx.replica_id_in_sync_group * n:
                                      (ctx.replica_id_in_sync_group + 1) * n]))

  def _replica_gradients(self, x, s, eps, kl_w):
    """Cost terms of the global batch and the gradient of its cost, all-reduced."""
    model, hps = self.model, self.model.hps
    ctx = tf.distribute.get_replica_context()
    steps = tf.cast(tf.shape(x)[1] - 1, tf.float32)
    rows = self.global_batch * steps
    with tf.GradientTape() as tape:
      r_sum, kl_sum = _local_terms(model, x, s, eps, True, not hps.is_training)
      r_cost = ctx.all_reduce(SUM, tf.stop_gradient(r_sum)) / rows
      kl_raw = ctx.all_reduce(SUM, tf.stop_gradient(kl_sum)) / (
          self.global_batch * hps.z_size)
      # The floor applies to the global KL; below it the KL sends no gradient.
      above = tf.cast(kl_raw > hps.kl_tolerance, tf.float32)
      local = (r_sum / rows +
               kl_w * above * kl_sum / (self.global_batch * hps.z_size))
    grads = ctx.all_reduce(SUM, tape.gradient(local, model.trainable_variables))
    kl_cost = self._kl_cost(kl_raw)
    return r_cost + kl_w * kl_cost, r_cost, kl_cost, grads

  def _kl_cost(self, kl_raw):
    hps = self.model.hps
    return tf.maximum(kl_raw, hps.kl_tolerance) if hps.conditional else kl_raw

  def _first(self, value):
    return tf.nest.map_structure(
        lambda v: self.strategy.experimental_local_results(v)[0], value)

  def _gradient_step(self, x, s, eps, kl_w):
    return self._first(self.strategy.run(self._replica_gradients,
                                         args=(x, s, eps, kl_w)))

  def _train_step(self, x, s, lr, kl_w):
    cost, r_cost, kl_cost, grads = self._gradient_step(x, s, None, kl_w)
    finite = sketch_rnn_model.apply_gradients(self.model, self.optimizer, cost,
                                              grads, lr)
    return cost, r_cost, kl_cost, finite

  def _eval_step(self, x, s, kl_w):
    model, hps = self.model, self.model.hps

    def replica(x, s):
      ctx = tf.distribute.get_replica_context()
      r_sum, kl_sum = _local_terms(model, x, s, None, False, not hps.is_training)
      rows = self.global_batch * tf.cast(tf.shape(x)[1] - 1, tf.float32)
      r_cost = ctx.all_reduce(SUM, r_sum) / rows
      kl_raw = ctx.all_reduce(SUM, kl_sum) / (self.global_batch * hps.z_size)
      kl_cost = self._kl_cost(kl_raw)
      return r_cost + kl_w * kl_cost, r_cost, kl_cost

    return self._first(self.strategy.run(replica, args=(x, s)))

  # -- the interface of model.train_step / eval_costs / compute_gradients ---------

  def train_step(self, model, optimizer, x, s, lr, kl_w):
    del model, optimizer  # bound at construction
    return self._train(self.distribute(x), self.distribute(s), lr, kl_w)

  def eval_costs(self, model, x, s, kl_w):
    del model
    return self._eval(self.distribute(x), self.distribute(s),
                      tf.constant(kl_w, tf.float32))

  def gradients(self, x, s, kl_w, eps=None):
    """(cost, r_cost, kl_cost, grads) of the global batch; eps [B, z] optional."""
    eps_dist = None if eps is None else self.distribute(np.asarray(eps, np.float32))
    return self._grads(self.distribute(x), self.distribute(s), eps_dist,
                       tf.constant(kl_w, tf.float32))


def worker_error(error):
  """A collective that failed because a peer died, as one line for the user."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  # TensorFlow's first line is generic; the one naming the task says what broke.
  telling = [l for l in lines if '/job:' in l or 'unhealthy' in l or 'timed out' in l
             or 'Deadline' in l]
  detail = ' '.join((telling or lines or [''])[:2])
  return SketchRNNError('a worker of the cluster failed or stopped answering (%s: '
                        '%s); restart all workers with --resume_training' % (
                            type(error).__name__, detail[:300]))
