"""What the tests hold the cells' loops to: an autodiff loop of cell.step, and
random weights for a cell (its initial ones are too regular to show a slip)."""

import numpy as np
import tensorflow as tf


def randomize(cell, rng):
  for v in cell.trainable_variables:
    v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))


def run(step, inputs, state, lengths=None, num_steps=None, collect=True):
  """Runs `step(inputs_t, state) -> (output_t, state)` over time in a tf.while_loop.

  The reference loop: one cell.step per time step, differentiated by autodiff,
  that the tests hold the cells' run_sequence (hand-written backprop) against.

  inputs: a nest of time-major tensors [T, ...]; state: a nest of [B, ...] tensors.
  lengths [B]: where given, a sequence's state stops changing after its length (as
  dynamic_rnn's sequence_length does), so the final state is the state at its end.
  num_steps: how many steps to run (default T). Returns (outputs [T, B, ...] when
  collect, else None; the final state).
  """
  flat_inputs = tf.nest.flatten(inputs)
  size = flat_inputs[0].shape[0] or tf.shape(flat_inputs[0])[0]
  if num_steps is None:
    num_steps = size
  input_tas = [tf.TensorArray(x.dtype, size=size).unstack(x) for x in flat_inputs]

  def advance(t, state):
    x_t = tf.nest.pack_sequence_as(inputs, [ta.read(t) for ta in input_tas])
    out, new_state = step(x_t, state)
    if lengths is not None:
      alive = (t < lengths)[:, None]
      new_state = tf.nest.map_structure(
          lambda new, old: tf.where(alive, new, old), new_state, state)
    return out, new_state

  if not collect:
    # No TensorArray rides along unwritten: XLA rejects that. The bound on the
    # iterations lets XLA size the gradient's accumulators.
    _, state = tf.while_loop(
        lambda t, _: t < num_steps,
        lambda t, s: (t + 1, advance(t, s)[1]),
        (tf.constant(0), state), maximum_iterations=size)
    return None, state

  def body(t, state, out_ta):
    out, new_state = advance(t, state)
    return t + 1, new_state, out_ta.write(t, out)

  out_ta = tf.TensorArray(tf.float32, size=size)
  _, state, out_ta = tf.while_loop(
      lambda t, *_: t < num_steps, body, (tf.constant(0), state, out_ta),
      maximum_iterations=size)  # XLA's gradient needs a bound
  return out_ta.stack(), state
