"""scripts/profile_step.py: its split of a trace, on a trace written by hand."""

import os
import sys

import pytest
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import profile_step  # pylint: disable=g-import-not-at-top,wrong-import-position

US = 10 ** 6  # picoseconds


def _space():
  """A forward loop of 2 iterations inside the encoder's call, its backward,
  and one TensorFlow op, with the stats TensorFlow's profiler writes."""
  space = xplane_pb2.XSpace()
  plane = space.planes.add(name='/host:CPU')
  stat_ids = {}

  def stat_id(name):
    if name not in stat_ids:
      stat_ids[name] = len(stat_ids) + 1
      plane.stat_metadata[stat_ids[name]].id = stat_ids[name]
      plane.stat_metadata[stat_ids[name]].name = name
    return stat_ids[name]

  event_ids = {}
  line = plane.lines.add(name='tf_Compute/1', timestamp_ns=0)

  def event(event_name, start_us, length_us, **stats):
    if event_name not in event_ids:
      event_ids[event_name] = len(event_ids) + 1
      plane.event_metadata[event_ids[event_name]].id = event_ids[event_name]
      plane.event_metadata[event_ids[event_name]].name = event_name
    ev = line.events.add(metadata_id=event_ids[event_name], offset_ps=start_us * US,
                         duration_ps=length_us * US)
    for key, value in stats.items():
      s = ev.stats.add(metadata_id=stat_id(key))
      if isinstance(value, str):
        s.ref_value = stat_id(value)
      else:
        s.int64_value = value

  def thunk(name, start, length, program, module):
    event(name, start, length, hlo_op=1, program_id=program, hlo_module=module)

  forward, backward = 'a_forward_sequence_10__.1', 'a_inference___backward_sequence_5_11__.2'
  event('ExecutorState::ProcessAsync::Start', 0, 100,
        name='encoder_loops/PartitionedCall')
  thunk('while.3', 10, 50, 7, forward)
  for t in (10, 30):  # two iterations: a compare, a product, a fusion
    thunk('compare_and_fusion', t, 1, 7, forward)
    thunk('MatMul_1.6', t + 1, 10, 7, forward)
    thunk('add_divide_fusion', t + 11, 5, 7, forward)
  thunk('MatMul.6', 61, 9, 7, forward)  # after the loop: a weight gradient
  thunk('while.3', 110, 40, 8, backward)
  for t in (110, 130):
    thunk('compare_and_fusion', t, 1, 8, backward)
    thunk('MatMul.11', t + 1, 8, 8, backward)
  event('stateful_uniform/StatelessRandomUniformV2:StatelessRandomUniformV2', 160, 7)
  thunk('wrapped_select', 170, 3, 9, 'a_inference__hashed_masks_31__.3')  # no loop
  return space


def test_summarize_splits_each_loop_and_labels_its_backward():
  rows, tf_ops = profile_step.summarize(_space(), steps=1)
  assert list(rows) == ['dropout masks (XLA)', 'encoder loops, forward',
                        'encoder loops, backward']
  assert rows['dropout masks (XLA)']['kernels'] == pytest.approx(3e-6)
  fw, bw = rows['encoder loops, forward'], rows['encoder loops, backward']
  seconds = lambda us: pytest.approx(us * 1e-6)
  assert fw['loop'] == seconds(50) and fw['iterations'] == 2
  assert fw['products'] == seconds(20)  # the two MatMul_1.6
  assert fw['kernels'] == seconds(12)  # compares and fusions
  assert fw['after'] == seconds(9)
  assert bw['loop'] == seconds(40) and bw['products'] == seconds(16)
  assert bw['kernels'] == seconds(2) and bw['after'] == 0
  assert dict(tf_ops) == {'StatelessRandomUniformV2': seconds(7)}


def test_summarize_divides_by_the_steps_traced():
  one, _ = profile_step.summarize(_space(), steps=1)
  two, _ = profile_step.summarize(_space(), steps=2)
  for key in one:
    for part in ('loop', 'products', 'kernels', 'after', 'iterations'):
      assert two[key][part] == pytest.approx(one[key][part] / 2)
