"""The policy of how the loops run: chains, thread pools, which loops XLA compiles."""

import pytest
import tensorflow as tf

from sketch_rnn import runtime


def test_loop_chains_one_per_thread_on_a_cpu(monkeypatch):
  threading = tf.config.threading
  for threads, batch, loops, chains in ((1, 100, 1, 1), (2, 100, 1, 2), (2, 100, 2, 1),
                                        (16, 100, 1, 6), (16, 100, 2, 6),
                                        (16, 40, 2, 2), (2, 20, 1, 1), (2, None, 1, 1)):
    monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads',
                        lambda t=threads: t)
    assert runtime.loop_chains(batch, loops) == chains, (threads, batch, loops)
  # bfloat16's pools (runtime.configure_threads): one thread per op, ops side by side
  monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads', lambda: 1)
  monkeypatch.setattr(threading, 'get_inter_op_parallelism_threads', lambda: 2)
  assert runtime.loop_chains(100) == 2 and runtime.loop_chains(100, loops=2) == 1
  monkeypatch.setattr(threading, 'get_intra_op_parallelism_threads', lambda: 0)
  monkeypatch.setattr(threading, 'get_inter_op_parallelism_threads', lambda: 0)
  monkeypatch.setattr(runtime, 'cpu_cores', lambda: 4)
  assert runtime.loop_chains(100) == 4  # TensorFlow's default: all cores
  for batch, chains, sizes in ((100, 2, [50, 50]), (100, 3, [34, 33, 33]),
                               (3, 2, [2, 1]), (2, 5, [1, 1])):
    assert runtime.chain_sizes(batch, chains) == sizes


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
  monkeypatch.setattr(runtime, 'cpu_cores', lambda: 6)
  assert runtime.configure_threads(precision, threads)
  assert set_to == ({} if pools is None else dict(intra=pools[0], inter=pools[1]))


def test_configure_threads_too_late_changes_nothing():
  tf.constant(1.0) + 1.0  # the runtime has started
  before = (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads())
  assert not runtime.configure_threads('bfloat16', before[1] + 3)
  assert (tf.config.threading.get_intra_op_parallelism_threads(),
          tf.config.threading.get_inter_op_parallelism_threads()) == before


def test_which_sequences_xla_compiles(monkeypatch):
  for threads, kind, units, dtype, xla in (
      (2, 'lstm', 512, tf.float32, True),
      (1, 'lstm', 512, tf.float32, False),  # oneDNN's products win
      (1, 'lstm', 384, tf.float32, False),
      (1, 'lstm', 256, tf.float32, True),
      (1, 'lstm', 192, tf.float32, True),  # the quick start's: fusion wins
      (1, 'lstm', 128, tf.float32, True),
      (1, 'layer_norm', 512, tf.float32, False),  # as the LSTM
      (1, 'layer_norm', 256, tf.float32, True),
      (2, 'layer_norm', 512, tf.float32, True),
      (1, 'hyper', 512, tf.float32, True),  # more elementwise work: XLA wins
      (1, 'hyper', 256, tf.float32, True),
      (2, 'lstm', 32, tf.float32, False),  # under XLA_MIN_UNITS
      (2, 'hyper', 512, tf.bfloat16, False)):
    monkeypatch.setattr(runtime, 'cpu_threads', lambda t=threads: t)
    assert runtime.use_xla(kind, dtype, units) == xla, (threads, units)
