"""The cells against independent numpy maths, the initialisers, and the loop."""

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn import rnn


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def np_layer_norm(x, gamma, beta, eps=1e-3):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  return gamma * (x - mean) / np.sqrt(var + eps) + beta


def np_ln_all(gates, n, gamma, beta):
  b = gates.reshape(len(gates), 4, n)
  b = np_layer_norm(b, 1.0, 0.0)
  return gamma * b.reshape(len(gates), 4 * n) + beta


def randomize(cell, rng):
  for v in cell.trainable_variables:
    v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))


def np_lstm(cell, x, c, h):
  w = np.concatenate([cell.W_xh.numpy(), cell.W_hh.numpy()])
  gates = np.concatenate([x, h], 1) @ w + cell.bias.numpy()
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  return np.tanh(new_c) * sigmoid(o), new_c


def np_ln_lstm(cell, x, h, c):
  n = cell.num_units
  w = np.concatenate([cell.W_xh.numpy(), cell.W_hh.numpy()])
  gates = np_ln_all(np.concatenate([x, h], 1) @ w, n, cell.ln_all_gamma.numpy(),
                    cell.ln_all_beta.numpy())
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  new_h = np.tanh(np_layer_norm(new_c, cell.ln_c_gamma.numpy(),
                                cell.ln_c_beta.numpy())) * sigmoid(o)
  return new_h, new_c


def np_hyper(cell, x, h, hh_, c, hc):
  """Magenta's HyperLSTMCell.__call__, written out with numpy."""
  n = cell.num_units
  hyper_h, hyper_c = np_ln_lstm(cell.hyper_cell, np.concatenate([x, h], 1), hh_, hc)
  xh = x @ cell.W_xh.numpy()
  hh = h @ cell.W_hh.numpy()
  parts = []
  for k in range(8):
    layer = (xh if k < 4 else hh)[:, (k % 4) * n:(k % 4 + 1) * n]
    zw = hyper_h @ cell.zw_w[k].numpy() + cell.zw_b[k].numpy()
    out = (zw @ cell.alpha_w[k].numpy()) * layer
    if k >= 4:
      out = out + (hyper_h @ cell.zb_w[k - 4].numpy()) @ cell.beta_w[k - 4].numpy()
    parts.append(out)
  bias = np.split(cell.bias.numpy(), 4)
  gates = np.concatenate([parts[k] + parts[k + 4] + bias[k] for k in range(4)], 1)
  gates = np_ln_all(gates, n, cell.ln_all_gamma.numpy(), cell.ln_all_beta.numpy())
  i, j, f, o = np.split(gates, 4, axis=1)
  new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
  new_h = np.tanh(np_layer_norm(new_c, cell.ln_c_gamma.numpy(),
                                cell.ln_c_beta.numpy())) * sigmoid(o)
  return new_h, hyper_h, new_c, hyper_c


def cell_step(cell, x, flat_state, const=None):
  xw = cell.project(tf.constant(x[None, :, :x.shape[1] - (0 if const is None else
                                                          const.shape[1])]),
                    None if const is None else tf.constant(const))
  xw = tf.nest.map_structure(lambda a: a[0], xw)
  out, state = cell.step(xw, cell.unflat_state(tf.constant(flat_state)))
  return out.numpy(), cell.flat_state(state).numpy()


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('split_const', [False, True])
def test_cell_step_matches_numpy(kind, split_const):
  rng = np.random.RandomState(0)
  n, x_size, batch = 8, 7, 3
  cell = rnn.make_cell(kind, n, x_size, rng, 'test')
  randomize(cell, rng)
  x = rng.normal(size=(batch, x_size)).astype(np.float32)
  flat = rng.normal(size=(batch, cell.state_size)).astype(np.float32)
  const = x[:, 5:] if split_const else None  # z-like part projected once
  out, new_flat = cell_step(cell, x, flat, const)
  if kind == 'lstm':
    c, h = np.split(flat, 2, 1)
    ref_h, ref_c = np_lstm(cell, x, c, h)
    ref_flat = np.concatenate([ref_c, ref_h], 1)  # Magenta's [c, h]
  elif kind == 'layer_norm':
    h, c = np.split(flat, 2, 1)
    ref_h, ref_c = np_ln_lstm(cell, x, h, c)
    ref_flat = np.concatenate([ref_h, ref_c], 1)  # Magenta's [h, c]
  else:
    h, hh, c, hc = np.split(flat, [n, n + 256, 2 * n + 256], axis=1)
    ref_h, ref_hh, ref_c, ref_hc = np_hyper(cell, x, h, hh, c, hc)
    ref_flat = np.concatenate([ref_h, ref_hh, ref_c, ref_hc], 1)
  np.testing.assert_allclose(out, ref_h, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(new_flat, ref_flat, rtol=1e-4, atol=1e-5)


def test_variable_names_and_shapes_are_magentas():
  rng = np.random.RandomState(0)
  cell = rnn.make_cell('hyper', 16, 21, rng, 'vector_rnn/RNN')
  names = {v.name.split(':')[0]: v.shape.as_list() for v in cell.trainable_variables}
  assert names['vector_rnn/RNN/HyperLSTMCell/W_xh'] == [21, 64]
  assert names['vector_rnn/RNN/HyperLSTMCell/LayerNormLSTMCell/W_xh'] == [37, 1024]
  assert names['vector_rnn/RNN/HyperLSTMCell/hyper_ix/zw/super_linear_w'] == [256, 32]
  assert names['vector_rnn/RNN/HyperLSTMCell/hyper_oh/beta/super_linear_w'] == [32, 16]
  assert 'vector_rnn/RNN/HyperLSTMCell/hyper_ix/zb/super_linear_w' not in names
  assert len(names) == 3 + 6 + 4 * 3 + 4 * 5 + 4


def test_initialisers():
  rng = np.random.RandomState(0)
  w = rnn.lstm_ortho([32, 4 * 32], rng)
  for k in range(4):
    block = w[:, k * 32:(k + 1) * 32]
    np.testing.assert_allclose(block.T @ block, np.eye(32), atol=1e-10)
  cell = rnn.make_cell('lstm', 32, 5, rng, 's')
  limit = np.sqrt(6.0 / (5 + 128))
  assert np.abs(cell.W_xh.numpy()).max() <= limit
  assert np.abs(cell.W_xh.numpy()).max() > 0.8 * limit
  np.testing.assert_array_equal(cell.bias.numpy(), 0)
  hyper = rnn.make_cell('hyper', 8, 5, rng, 's')
  np.testing.assert_array_equal(hyper.zw_w[0].numpy(), 0)
  np.testing.assert_array_equal(hyper.zw_b[0].numpy(), 1.0)
  np.testing.assert_allclose(hyper.alpha_w[3].numpy(), 0.1 / 32)
  np.testing.assert_array_equal(hyper.beta_w[0].numpy(), 0)
  assert 0.005 < hyper.zb_w[0].numpy().std() < 0.015


def test_dropout_masks_keep_probability():
  gen = tf.random.Generator.from_seed(0)
  masks = rnn.dropout_masks(gen, 0.9, [200, 50, 20]).numpy()
  assert set(np.unique(masks)) <= {0.0, np.float32(1 / 0.9)}
  assert (masks > 0).mean() == pytest.approx(0.9, abs=0.005)


def test_run_stops_each_sequence_at_its_length():
  rng = np.random.RandomState(1)
  cell = rnn.make_cell('lstm', 6, 3, rng, 'r')
  x = rng.normal(size=(9, 4, 3)).astype(np.float32)  # [T, B, X]
  lengths = np.array([9, 1, 5, 3], dtype=np.int32)
  xw = cell.project(tf.constant(x))
  zero = cell.unflat_state(tf.zeros([4, 12]))
  step = lambda x_t, s: cell.step(x_t, s)
  outs, state = rnn.run(step, xw, zero, lengths=tf.constant(lengths))
  assert outs.shape == (9, 4, 6)
  final = cell.flat_state(state).numpy()
  for b, n in enumerate(lengths):  # each equals a run over its own prefix
    _, alone = rnn.run(step, cell.project(tf.constant(x[:n, b:b + 1])),
                       cell.unflat_state(tf.zeros([1, 12])))
    np.testing.assert_allclose(final[b], cell.flat_state(alone).numpy()[0],
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('kind', ['lstm', 'layer_norm', 'hyper'])
@pytest.mark.parametrize('with_mask,with_const,chains', [
    (False, False, 1), (False, True, 1), (True, False, 1), (True, True, 1),
    (True, True, 2), (False, True, 3)])
def test_hand_written_backprop_equals_autodiff(kind, with_mask, with_const, chains):
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
        outs, state = rnn.run(lambda i, s: cell.step(i['x'], s, i.get('mask')),
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
  style masking (rnn.run with lengths): outputs and every gradient. Under XLA
  the loops keep all T rows and stop at the longest length; with chains, each
  loop is split over parts of the batch."""
  if xla:
    monkeypatch.setattr(rnn, 'XLA_MIN_UNITS', 1)
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
        finals = rnn.bidirectional_final_h(fw, bw, x, x_rev, lengths, masks,
                                           chains=chains)
      else:
        finals = []
        for cell, inputs, mask in ((fw, x, masks[0]), (bw, x_rev, masks[1])):
          feed = dict(x=cell.project(inputs), **({'m': mask} if with_mask else {}))
          _, state = rnn.run(lambda i, s, c=cell: c.step(i['x'], s, i.get('m')),
                             feed, cell.unflat_state(tf.zeros([batch, cell.state_size])),
                             lengths=lengths)
          finals.append(cell.output(state))
      value = tf.reduce_sum(tf.stack(finals) * weights)
    return finals, tape.gradient(
        value, [x] + list(fw.trainable_variables + bw.trainable_variables))

  (f_hand, g_hand), (f_auto, g_auto) = loss(True), loss(False)
  for a, b in zip(list(f_hand) + list(g_hand), list(f_auto) + list(g_auto)):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_loop_chains_one_per_thread_on_a_cpu(monkeypatch):
  threading = tf.config.threading
  for threads, batch, loops, chains in ((1, 100, 1, 1), (2, 100, 1, 2), (2, 100, 2, 1),
                                        (16, 100, 1, 6), (16, 100, 2, 6),
                                        (16, 40, 2, 2), (2, 20, 1, 1), (2, None, 1, 1)):
    monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads',
                        lambda t=threads: t)
    assert rnn.loop_chains(batch, loops) == chains, (threads, batch, loops)
  # bfloat16's pools (rnn.configure_threads): one thread per op, ops side by side
  monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads', lambda: 1)
  monkeypatch.setattr(threading, 'get_inter_op_parallelism_threads', lambda: 2)
  assert rnn.loop_chains(100) == 2 and rnn.loop_chains(100, loops=2) == 1
  monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads', lambda: 0)
  monkeypatch.setattr(threading, 'get_inter_op_parallelism_threads', lambda: 0)
  monkeypatch.setattr(rnn, 'cpu_cores', lambda: 4)
  assert rnn.loop_chains(100) == 4  # TensorFlow's default: all cores
  for batch, chains, sizes in ((100, 2, [50, 50]), (100, 3, [34, 33, 33]),
                               (3, 2, [2, 1]), (2, 5, [1, 1])):
    assert rnn._chain_sizes(batch, chains) == sizes


@pytest.mark.parametrize('precision,threads,gpus,pools', [
    ('bfloat16', None, [], (1, 6)),  # one thread per op, one op per core
    ('bfloat16', 2, [], (1, 2)),
    ('float32', 2, [], (2, 2)),
    ('float32', None, [], None),  # TensorFlow's default: both pools all cores
    ('bfloat16', None, ['GPU:0'], None)])
def test_configure_threads(precision, threads, gpus, pools, monkeypatch):
  threading, set_to = tf.config.threading, {}
  monkeypatch.setattr(threading, 'set_intra_op_parallelism_threads',
                      lambda n: set_to.__setitem__('intra', n))
  monkeypatch.setattr(threading, 'set_inter_op_parallelism_threads',
                      lambda n: set_to.__setitem__('inter', n))
  monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind=None: gpus)
  monkeypatch.setattr(rnn, 'cpu_cores', lambda: 6)
  assert rnn.configure_threads(precision, threads)
  assert set_to == ({} if pools is None else dict(intra=pools[0], inter=pools[1]))


def test_configure_threads_too_late_changes_nothing():
  tf.constant(1.0) + 1.0  # the runtime has started
  before = (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads())
  assert not rnn.configure_threads('bfloat16', before[1] + 3)
  assert (tf.config.threading.get_intra_op_parallelism_threads(),
          tf.config.threading.get_inter_op_parallelism_threads()) == before


def test_which_sequences_xla_compiles(monkeypatch):
  for threads, builder, units, dtype, xla in (
      (2, rnn._lstm_sequence, 512, tf.float32, True),
      (1, rnn._lstm_sequence, 512, tf.float32, False),  # oneDNN's products win
      (1, rnn._lstm_sequence, 128, tf.float32, True),
      (1, rnn._ln_sequence, 512, tf.float32, True),
      (1, rnn._hyper_sequence, 256, tf.float32, True),
      (2, rnn._lstm_sequence, 32, tf.float32, False),  # under XLA_MIN_UNITS
      (2, rnn._hyper_sequence, 512, tf.bfloat16, False)):
    monkeypatch.setattr(rnn, 'cpu_threads', lambda t=threads: t)
    assert rnn._use_xla(builder, dtype, units) == xla, (threads, units)


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
    monkeypatch.setattr(rnn, 'XLA_MIN_UNITS', min_units)
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
