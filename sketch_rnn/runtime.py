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
"""How the recurrent loops run on this machine, decided in one place.

Which loops are compiled with XLA (use_xla), into how many independent loops
over parts of the batch one loop is split (loop_chains, chain_sizes), and
TensorFlow's CPU thread pools for a precision (configure_threads). None of it
changes the numbers a loop computes, only how fast it gets them.
"""

import os

import tensorflow as tf

# A float32 sequence of at least this many units runs as an XLA function: XLA
# fuses each step's elementwise work and the executor's per-op cost goes, which
# makes whole training steps faster at every size the benchmark runs. Smaller
# cells (the tests' 16-24 units) would spend more on compiling than they gain;
# bfloat16 products are slower under XLA on the CPU than oneDNN's, so they stay
# with TensorFlow's kernels.
XLA_MIN_UNITS = 64

# On one CPU thread an LSTM or layer-norm LSTM wider than this runs in
# TensorFlow (use_xla).
ONE_THREAD_LSTM_MAX_XLA_UNITS = 256

# A chain narrower than this multiplies too few rows per step to pay for its loop.
MIN_CHAIN_ROWS = 16


def use_xla(kind, dtype, units):
  """Whether the loop of a `kind` cell (lstm, layer_norm, hyper) of `units` units
  with products in `dtype` runs as an XLA function (see XLA_MIN_UNITS).

  Not an LSTM or layer-norm LSTM of more than ONE_THREAD_LSTM_MAX_XLA_UNITS
  units on a single CPU thread: there its products dominate the step, and XLA's
  one-thread products are slower than oneDNN's, more than XLA's fusion wins
  back (the crossovers are measured in docs/performance.md); the hyper cell has
  more elementwise work per product, and on two or more threads both LSTMs gain
  too.
  """
  if dtype != tf.float32 or units < XLA_MIN_UNITS:
    return False
  return not (kind in ('lstm', 'layer_norm')
              and units > ONE_THREAD_LSTM_MAX_XLA_UNITS
              and cpu_threads() == 1 and not on_gpu())


def loop_chains(batch, loops=1):
  """Into how many chains (independent loops over a part of the batch each) to
  split `loops` concurrent recurrent loops of `batch` rows, so that every CPU
  thread runs one.

  On a CPU one step's product is too small to spread over threads (XLA's
  [100, 128] x [128, 512] runs no faster on two threads than on one), while
  chains on separate threads run side by side; the gain is largest for small
  cells, whose steps are short. A GPU runs one chain.
  """
  if batch is None or on_gpu():
    return 1
  return max(1, min(cpu_threads() // loops, batch // MIN_CHAIN_ROWS))


def chain_sizes(batch, chains):
  """Rows per chain: as even as possible, none empty."""
  chains = min(chains, batch)
  return [batch // chains + (k < batch % chains) for k in range(chains)]


def on_gpu():
  """Whether the loops being traced run on a GPU (one is visible)."""
  return bool(tf.config.list_logical_devices('GPU'))


def cpu_cores():
  """The cores this process may run on."""
  if hasattr(os, 'sched_getaffinity'):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def cpu_threads():
  """How many threads TensorFlow runs ops on: its larger pool (0: all cores)."""
  threading = tf.config.threading
  return max(threading.get_intra_op_parallelism_threads(),
             threading.get_inter_op_parallelism_threads()) or cpu_cores()


def configure_threads(precision, threads=None):
  """Sets TensorFlow's CPU thread pools for a run in `precision` on `threads`
  cores (default: all, and float32 keeps TensorFlow's own setting).

  bfloat16 loops are TensorFlow ops (oneDNN's products, not XLA's): on a CPU each
  op then runs on one thread (intra-op pool 1) and the loop chains run side by
  side, one per core (inter-op pool `threads`), which is faster than each op
  spread over all the threads. float32 loops are XLA functions, which run on the
  intra-op pool: it keeps `threads` (both pools). Call it before TensorFlow runs
  anything; it returns False (and changes nothing) when that is too late.
  """
  # Physical devices: listing logical ones (on_gpu) would start the runtime.
  one_per_op = (precision == 'bfloat16'
                and not tf.config.list_physical_devices('GPU'))
  if threads is None and not one_per_op:
    return True
  threads = threads or cpu_cores()
  try:
    tf.config.threading.set_intra_op_parallelism_threads(1 if one_per_op else threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  except RuntimeError:  # TensorFlow has started: its pools are fixed
    return False
  return True
