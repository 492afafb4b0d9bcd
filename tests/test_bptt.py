"""The loops with hand-written backprop (bptt) against the autodiff reference loop:
outputs and every gradient, with dropout masks, chains and XLA."""

import numpy as np
import pytest
import tensorflow as tf

from reference_loop import randomize
from reference_loop import run
from sketch_rnn import bptt
from sketch_rnn import rnn
from sketch_rnn import runtime


def test_run_stops_each_sequence_at_its_length():
  rng = np.random.RandomState(1)
  cell = rnn.make_cell('lstm', 6, 3, rng, 'r')
  x = rng.normal(size=(9, 4, 3)).astype(np.float32)  # [T, B, X]
  lengths = np.array([9, 1, 5, 3], dtype=np.int32)
  xw = cell.project(tf.constant(x))
  zero = cell.unflat_state(tf.zeros([4, 12]))
  step = lambda x_t, s: cell.step(x_t, s)
  outs, state = run(step, xw, zero, lengths=tf.constant(lengths))
  assert outs.shape == (9, 4, 6)
  final = cell.flat_state(state).numpy()
  for b, n in enumerate(lengths):  # each equals a run over its own prefix
    _, alone = run(step, cell.project(tf.constant(x[:n, b:b + 1])),
                       cell.unflat_state(tf.zeros([1, 12])))
    np.testing.assert_allclose(final[b], cell.flat_state(alone).numpy()[0],
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('with_mask,with_const,chains,xla', [
    (False, False, 1, False), (False, True, 1, False), (True, False, 1, False),
    (True, True, 1, False), (True, True, 2, False), (False, True, 3, False),
    (True, True, 1, True), (False, False, 2, True)])
def test_hand_written_backprop_equals_autodiff(kind, with_mask, with_const, chains,
                                               xla, monkeypatch):
  """Outputs, final state and every gradient; under XLA the loops keep only
  the gates' pre-activations and c, and the backward recomputes the rest."""
  if xla:
    monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', 1)
  rng = np.random.RandomState(2)
  width = 4 if with_const else 0  # a z-like input, the same at every step
  cell = rnn.make_cell(kind, 8, 5 + width, rng, 'bptt', hyper_num_units=6,
                       hyper_embedding_size=3) if kind == 'hyper' else rnn.make_cell(
                           kind, 8, 5 + width, rng, 'bptt')
  randomize(cell, rng)
  steps, batch = 7, 3
  x = tf.constant(rng.normal(size=(steps, batch, 5)).astype(np.float32))
  const = tf.constant(rng.normal(size=(batch, width)).astype(np.float32))
  flat = tf.constant(rng.normal(size=(batch, cell.state_size)).astype(np.float32))
  mask = None
  if with_mask:
    mask = rnn.dropout_masks(tf.random.Generator.from_seed(0), 0.7, [steps, batch, 8])
  weights = tf.constant(rng.normal(size=(steps, batch, 8)).astype(np.float32))
  const_arg = const if with_const else None

  def loss(use_hand):
    with tf.GradientTape() as tape:
      tape.watch([flat, const, x])  # x too: the input's product is in the loop
      state = cell.unflat_state(flat)
      if use_hand:
        outs, state = cell.run_sequence(x, state, const_arg, mask, chains=chains)
      else:
        inputs = dict(x=cell.project(x, const_arg),
                      **({'mask': mask} if with_mask else {}))
        outs, state = run(lambda i, s: cell.step(i['x'], s, i.get('mask')),
                              inputs, state)
      # every part of the final state reaches the loss, each differently
      final = cell.flat_state(state)
      value = (tf.reduce_sum(outs * weights) + tf.reduce_sum(final * final)
               + tf.reduce_sum(final[:, ::2]))
    sources = [flat, const, x] + list(cell.trainable_variables)
    return value, tape.gradient(value, sources)

  (v_hand, g_hand), (v_auto, g_auto) = loss(True), loss(False)
  assert float(v_hand) == pytest.approx(float(v_auto), rel=1e-6)
  assert len(g_hand) == len(g_auto) > 2
  for a, b in zip(g_hand, g_auto):
    if not with_const and b is None:
      continue
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('with_mask,xla,chains', [
    (False, False, 1), (True, False, 1), (True, True, 1), (True, False, 2),
    (False, False, 3)])
def test_bidirectional_final_h_equals_length_masked_loop(kind, with_mask, xla,
                                                         chains, monkeypatch):
  """The encoder's unmasked loops, gathered at length - 1, against dynamic_rnn-
  style masking (the reference run with lengths): outputs and every gradient. Under XLA
  the loops keep all T rows and stop at the longest length; with chains, each
  loop is split over parts of the batch."""
  if xla:
    monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', 1)
  rng = np.random.RandomState(3)
  extra = dict(hyper_num_units=5, hyper_embedding_size=3) if kind == 'hyper' else {}
  fw = rnn.make_cell(kind, 6, 5, rng, 'fw', **extra)
  bw = rnn.make_cell(kind, 6, 5, rng, 'bw', **extra)
  randomize(fw, rng)
  randomize(bw, rng)
  steps, batch = 9, 4
  lengths = tf.constant([8, 1, 5, 3], tf.int32)  # the longest stops before T
  x = tf.constant(rng.normal(size=(steps, batch, 5)).astype(np.float32))
  masks = (None, None)
  if with_mask:
    gen = tf.random.Generator.from_seed(1)
    masks = tuple(rnn.dropout_masks(gen, 0.7, [steps, batch, 6]) for _ in range(2))
  weights = tf.constant(rng.normal(size=(2, batch, 6)).astype(np.float32))

  def loss(use_hand):
    with tf.GradientTape() as tape:
      tape.watch(x)
      x_rev = tf.reverse_sequence(x, lengths, seq_axis=0, batch_axis=1)
      if use_hand:
        finals = bptt.bidirectional_final_h(fw, bw, x, x_rev, lengths, masks,
                                           chains=chains)
      else:
        finals = []
        for cell, inputs, mask in ((fw, x, masks[0]), (bw, x_rev, masks[1])):
          feed = dict(x=cell.project(inputs), **({'m': mask} if with_mask else {}))
          _, state = run(lambda i, s, c=cell: c.step(i['x'], s, i.get('m')),
                             feed, cell.unflat_state(tf.zeros([batch, cell.state_size])),
                             lengths=lengths)
          finals.append(cell.output(state))
      value = tf.reduce_sum(tf.stack(finals) * weights)
    return finals, tape.gradient(
        value, [x] + list(fw.trainable_variables + bw.trainable_variables))

  (f_hand, g_hand), (f_auto, g_auto) = loss(True), loss(False)
  assert g_hand[0] is None and g_auto[0] is not None  # strokes are data: no d_x
  for a, b in zip(list(f_hand) + list(g_hand[1:]), list(f_auto) + list(g_auto[1:])):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('xla', [False, True])
def test_without_x_grad_only_x_loses_its_gradient(kind, xla, monkeypatch):
  """x_grad=False (x is data) skips x's gradient and changes no other number."""
  if xla:
    monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', 1)
  rng = np.random.RandomState(4)
  extra = dict(hyper_num_units=5, hyper_embedding_size=3) if kind == 'hyper' else {}
  cell = rnn.make_cell(kind, 6, 9, rng, 'xg', **extra)
  randomize(cell, rng)
  x = tf.constant(rng.normal(size=(7, 3, 5)).astype(np.float32))
  const = tf.constant(rng.normal(size=(3, 4)).astype(np.float32))
  flat = tf.constant(rng.normal(size=(3, cell.state_size)).astype(np.float32))
  weights = tf.constant(rng.normal(size=(7, 3, 6)).astype(np.float32))

  def grads(x_grad):
    with tf.GradientTape() as tape:
      tape.watch([x, flat, const])
      outs, state = cell.run_sequence(x, cell.unflat_state(flat), const,
                                      x_grad=x_grad)
      value = tf.reduce_sum(outs * weights) + tf.reduce_sum(
          cell.flat_state(state) ** 2)
    return tape.gradient(value, [x, flat, const] + list(cell.trainable_variables))

  with_x, without_x = grads(True), grads(False)
  assert with_x[0] is not None and without_x[0] is None
  assert len(with_x) > 4
  for a, b in zip(with_x[1:], without_x[1:]):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
def test_xla_compiled_sequence_equals_plain(kind, monkeypatch):
  """Big float32 decoders run their sequence as an XLA function (XLA_MIN_UNITS):
  same outputs and gradients as the TensorArray version."""
  rng = np.random.RandomState(4)
  extra = dict(hyper_num_units=6, hyper_embedding_size=3) if kind == 'hyper' else {}
  cell = rnn.make_cell(kind, 8, 9, rng, 'xla', **extra)
  randomize(cell, rng)
  steps, batch = 6, 3
  x = tf.constant(rng.normal(size=(steps, batch, 5)).astype(np.float32))
  const = tf.constant(rng.normal(size=(batch, 4)).astype(np.float32))
  flat = tf.constant(rng.normal(size=(batch, cell.state_size)).astype(np.float32))
  mask = rnn.dropout_masks(tf.random.Generator.from_seed(2), 0.7, [steps, batch, 8])
  weights = tf.constant(rng.normal(size=(steps, batch, 8)).astype(np.float32))

  @tf.function
  def loss():
    with tf.GradientTape() as tape:
      tape.watch([flat, const])
      outs, state = cell.run_sequence(x, cell.unflat_state(flat), const, mask)
      final = cell.flat_state(state)
      value = tf.reduce_sum(outs * weights) + tf.reduce_sum(final * final)
    return value, tape.gradient(value, [flat, const] + list(cell.trainable_variables))

  results = []
  for min_units in (10**9, 1):
    monkeypatch.setattr(runtime, 'XLA_MIN_UNITS', min_units)
    results.append(loss.python_function())  # traced anew under each setting
    graph = tf.function(loss.python_function).get_concrete_function().graph
    compiled = any(op.get_attr('_XlaMustCompile') for op in graph.get_operations()
                   if op.type in ('StatefulPartitionedCall', 'PartitionedCall')
                   and '_XlaMustCompile' in op.node_def.attr)
    assert compiled == (min_units == 1)
  (v_plain, g_plain), (v_xla, g_xla) = results
  assert float(v_xla) == pytest.approx(float(v_plain), rel=1e-5)
  for a, b in zip(g_xla, g_plain):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kind,weights_type', [
    ('lstm', bptt.LSTMWeights), ('layer_norm', bptt.LNWeights),
    ('hyper', bptt.HyperWeights)])
def test_gradients_come_back_as_the_weights_named_tuple(kind, weights_type,
                                                       monkeypatch):
  """A loop takes its weights as a named tuple and gives their gradients as one
  of the same type, each the shape of its weight; the state's as a tuple."""
  rng = np.random.RandomState(5)
  extra = dict(hyper_num_units=6, hyper_embedding_size=3) if kind == 'hyper' else {}
  cell = rnn.make_cell(kind, 8, 9, rng, 'nt', **extra)
  x = tf.constant(rng.normal(size=(4, 3, 5)).astype(np.float32))
  const = tf.constant(rng.normal(size=(3, 4)).astype(np.float32))
  state = cell.unflat_state(tf.constant(
      rng.normal(size=(3, cell.state_size)).astype(np.float32)))
  built, run_loop = [], bptt.run
  monkeypatch.setattr(bptt, 'run', lambda kind, x, weights, *args: (
      built.append(weights) or run_loop(kind, x, weights, *args)))
  cell.run_sequence(x, state, const)
  weights = built[0]
  assert type(weights) is weights_type
  with tf.GradientTape() as tape:
    tape.watch([weights, state])
    hs, final = run_loop(kind, x, weights, state)
    value = tf.reduce_sum(hs) + tf.reduce_sum(cell.flat_state(final) ** 2)
  d_weights, d_state = tape.gradient(value, [weights, state])
  assert type(d_weights) is weights_type and isinstance(d_state, tuple)
  for w, d in zip(tf.nest.flatten([weights, state]),
                  tf.nest.flatten([d_weights, d_state])):
    assert d.shape == w.shape
