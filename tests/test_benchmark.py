"""scripts/benchmark.py: its fields, its FLOP count and its loop choice; the
baselines of benchmark_sampling.py and benchmark_metrics.py (never their speed)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sketch_rnn.model import get_default_hparams

from conftest import REPO, tiny_hparams

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_flops_of_the_default_lstm_step():
  hps = get_default_hparams()
  flops = benchmark.step_flops(hps, 250)
  # Hand count, Magenta's products: encoder 2 directions x 250 steps x
  # 2*100*(5+256)*1024 and mu, presig; decoder 250 x 2*100*(5+128+512)*2048 and the
  # initial state; the output layer 2*100*250*512*123; backward twice the forward.
  enc = 2 * 250 * 2 * 100 * 261 * 1024 + 2 * 2 * 100 * 512 * 128
  dec = 250 * 2 * 100 * 645 * 2048 + 2 * 100 * 128 * 1024
  out = 2 * 100 * 250 * 512 * 123
  assert flops['forward'] == enc + dec + out
  assert flops['total'] == 3 * (enc + dec + out)
  assert flops['total'] == pytest.approx(288e9, rel=0.01)  # the figure
  # What this code multiplies: z's share once per sketch, not per step.
  executed = benchmark.step_flops(hps, 250, executed=True)
  dec_run = 250 * 2 * 100 * 517 * 2048 + 2 * 100 * 128 * (1024 + 2048)
  assert executed['forward'] == enc + dec_run + out


TINY_BENCH = 'dec_rnn_size=16,enc_rnn_size=16,z_size=8,batch_size=4,num_mixture=3'


def run_benchmark(tmp_path, *flags):
  """benchmark.py on the tiny configuration, 1 thread, 2 steps: (stdout, results)."""
  out = tmp_path / 'bench.json'
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO, 'scripts', 'benchmark.py'), '--configs=',
       '--hparams=' + TINY_BENCH, '--threads=1', '--steps=2', '--warmup=0',
       '--json=%s' % out, *flags],
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  return proc.stdout, json.load(open(out))


def busy_processes():
  """The pids whose command line holds the competing load's marker."""
  found = []
  for pid in os.listdir('/proc'):
    try:
      with open('/proc/%s/cmdline' % pid, 'rb') as f:
        if benchmark.BUSY_MARKER.encode() in f.read():
          found.append(int(pid))
    except (OSError, ValueError):  # not a process, or it has just ended
      pass
  return found


@pytest.mark.slow
@pytest.mark.parametrize('impl', benchmark.IMPLS)
def test_benchmark_prints_every_field(impl, tmp_path):
  stdout, results = run_benchmark(tmp_path, '--impl=' + impl)
  header = stdout.splitlines()[0].split()
  assert header[:3] == ['config', 'thr', 's/step'] and 'eff' in header
  row = stdout.splitlines()[2].split()
  assert row[0] == {'project': 'custom', 'plain': 'custom/plain'}[impl]
  (r,) = results
  assert r['impl'] == impl and r['load'] is False and 'load_core' not in r
  for key in ('median_step_s', 'sketches_per_s', 'first_step_s', 'peak_rss_mb',
              'gflop_per_step', 'ceiling_gflops', 'efficiency'):
    assert r[key] > 0, key
  assert r['sketches_per_s'] == pytest.approx(4 / r['median_step_s'])
  assert len(r['step_times_s']) == len(r['ceilings_gflops']) == 2
  assert r['median_step_s'] == pytest.approx(np.median(r['step_times_s']))
  assert r['ceiling_gflops'] == pytest.approx(np.median(r['ceilings_gflops']))
  assert r['efficiency'] == pytest.approx(np.median(
      [r['gflop_per_step'] / c / t
       for c, t in zip(r['ceilings_gflops'], r['step_times_s'])]))
  if impl == 'project':
    assert 0 < r['executed_gflop'] < r['gflop_per_step']
  else:  # the baseline multiplies z at every step, as the model count does
    assert r['executed_gflop'] == r['gflop_per_step'] and r['loops'] == 'plain'
  hps = get_default_hparams().parse(TINY_BENCH)
  assert r['gflop_per_step'] == pytest.approx(
      benchmark.step_flops(hps, r['seq_len'])['total'] / 1e9)


@pytest.mark.slow
def test_load_runs_each_configuration_alone_then_loaded(tmp_path):
  assert not busy_processes()
  stdout, results = run_benchmark(tmp_path, '--load')
  assert not busy_processes()  # killed after the timed steps
  alone, loaded = results
  assert [alone['load'], loaded['load']] == [False, True]
  assert alone['config'] == loaded['config'] == 'custom'
  assert alone['threads'] == loaded['threads'] == 1
  assert 'loaded_over_unloaded' not in alone and 'load_core' not in alone
  ratio = loaded['median_step_s'] / alone['median_step_s']
  assert loaded['loaded_over_unloaded'] == pytest.approx(ratio)
  assert loaded['load_core'] == min(os.sched_getaffinity(0))
  # It spun while the steps ran: a good part of a core, never more than one.
  assert 0.1 * loaded['load_wall_s'] < loaded['load_cpu_s']
  assert loaded['load_cpu_s'] <= 1.05 * loaded['load_wall_s'] + 0.02
  assert loaded['load_wall_s'] >= sum(loaded['step_times_s'])
  lines = stdout.splitlines()
  assert lines[0].split()[-1] == 'load'
  assert lines[2].split()[-1] == 'no' and lines[3].split()[-1] == '%.2fx' % ratio
  (summary,) = [l for l in lines if l.startswith('loaded / unloaded:')]
  assert summary == 'loaded / unloaded: custom 1 thread: %.3f / %.3f s = %.2fx' % (
      loaded['median_step_s'], alone['median_step_s'], ratio)


@pytest.mark.slow
def test_load_spins_on_its_core_and_ends_with_its_parent():
  proc = benchmark.start_load(core=benchmark.load_core(), limit_s=60)
  try:
    assert busy_processes() == [proc.pid]
    with open('/proc/%d/status' % proc.pid) as f:
      allowed = [l.split()[1] for l in f if l.startswith('Cpus_allowed_list')]
    assert allowed == [str(benchmark.load_core())]
    used = benchmark.cpu_seconds(proc.pid)
    time.sleep(0.5)
    assert benchmark.cpu_seconds(proc.pid) - used > 0.05  # it spins, not sleeps
  finally:
    spinning, _ = benchmark.stop_load(proc)
  assert spinning and not busy_processes()
  # A parent that dies without killing it (a child killed on its timeout): the
  # load ends by itself, long before its time limit. (Its stderr is not a pipe
  # here, or run would wait for the load, which holds that pipe, to end.)
  parent = subprocess.run(
      [sys.executable, '-c', 'import os, sys; sys.path.insert(0, %r); '
       'import benchmark; print(benchmark.start_load(limit_s=600).pid); '
       'os._exit(0)' % os.path.join(REPO, 'scripts')],
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=60,
      check=True)
  pid = int(parent.stdout)
  deadline = time.time() + 10
  while busy_processes() and time.time() < deadline:
    time.sleep(0.05)
  left = busy_processes()
  for stray in left:
    os.kill(stray, signal.SIGKILL)
  assert not left, pid


def unrolled_loss(params, x, lengths, eps, dtype):
  """plain_loop's loss written apart: Python loops, each sketch's encoder run on
  its own points only (the backward direction on them reversed), no TensorArray,
  no while_loop, no mask; Magenta's LSTM cell (forget bias 1)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import plain_loop  # pylint: disable=g-import-not-at-top

  def dense(a, name):
    w = params[name + '/W']
    product = tf.cast(tf.cast(a, dtype) @ tf.cast(w, dtype), tf.float32)
    return product + params[name + '/b']

  def cell(inputs, h, c, name):
    i, j, f, o = tf.split(dense(tf.concat(inputs + [h], 1), name), 4, axis=1)
    c = c * tf.sigmoid(f + 1.0) + tf.sigmoid(i) * tf.tanh(j)
    return tf.tanh(c) * tf.sigmoid(o), c

  x_in, x_out = x[:, :-1], x[:, 1:]
  units = params['enc_fw/W'].shape[1] // 4
  last = []
  for row, n in enumerate(lengths):
    ends = []
    for name, points in (('enc_fw', range(n)), ('enc_bw', reversed(range(n)))):
      h = c = tf.zeros([1, units])
      for t in points:
        h, c = cell([x_out[row:row + 1, t]], h, c, name)
      ends.append(h)
    last.append(tf.concat(ends, 1))
  last = tf.concat(last, 0)
  mu, presig = dense(last, 'mu'), dense(last, 'sigma')
  z = mu + tf.exp(presig / 2) * eps
  c, h = tf.split(tf.tanh(dense(z, 'init')), 2, axis=1)
  pen_loss, rest = 0.0, 0.0
  for t in range(x_in.shape[1]):
    h, c = cell([x_in[:, t], z], h, c, 'dec')
    out = dense(h, 'out')
    pen_loss += tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(
        labels=x_out[:, t, 2:5], logits=out[:, :3]))
    rest += tf.reduce_sum(tf.square(out[:, 3:]))
  points = x_in.shape[0] * x_in.shape[1]
  kl = -0.5 * tf.reduce_mean(1 + presig - tf.square(mu) - tf.exp(presig))
  return (pen_loss / points + rest / (points * (out.shape[1] - 3))
          + plain_loop.KL_WEIGHT * kl)


def tiny_strokes(batch, steps, seed=0):
  rng = np.random.RandomState(seed)
  x = rng.normal(size=(batch, steps + 1, 5)).astype(np.float32)
  x[:, :, 2:] = np.eye(3)[rng.randint(0, 3, (batch, steps + 1))]
  return x


@pytest.mark.parametrize('precision', ['float32', 'bfloat16'])
def test_plain_baseline_is_the_unrolled_step(precision):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import plain_loop  # pylint: disable=g-import-not-at-top
  hps = get_default_hparams().parse(
      TINY_BENCH + ',max_seq_len=6,dec_model=hyper,precision=' + precision)
  step, module = plain_loop.make_train_step(hps, seed=1)
  assert module.hps.dec_model == 'lstm' and hps.dec_model == 'hyper'
  x = tiny_strokes(4, 6)
  lengths = np.array([6, 2, 4, 1], np.int32)  # the longest, and shorter ones
  eps = np.random.RandomState(2).normal(size=(4, 8)).astype(np.float32)
  params = {k: tf.constant(v.numpy()) for k, v in module.params.items()}
  with tf.GradientTape() as tape:
    tape.watch(list(params.values()))
    want = unrolled_loss(params, x, lengths, eps, module.dtype)
  want_grads = tape.gradient(want, [params[k] for k in module.names])
  loss, grads = tf.function(module.gradients)(x, lengths, eps)
  # bfloat16: the reference's encoder products are per sketch, so their
  # gradients are rounded to bfloat16 (8 bits) before the sum over the batch.
  rel = 1e-5 if precision == 'float32' else 1e-2
  assert float(loss) == pytest.approx(float(want), rel=rel)
  for name, g, g_want in zip(module.names, grads, want_grads):
    g, g_want = g.numpy(), g_want.numpy()
    assert np.abs(g_want).max() > 0, name  # every weight shapes the loss
    assert np.abs(g - g_want).max() <= rel * np.abs(g_want).max(), name

  # The update: one step of TF1's Adam (first step: m = g/10, v = g^2/1000) on
  # the gradients clipped per element, with that noise.
  before = [v.numpy() for v in module.variables_list]
  assert float(module.step_with_eps(x, lengths, tf.constant(0.01), eps)) == (
      pytest.approx(float(loss), rel=rel))
  for name, w0, w1, g in zip(module.names, before, module.variables_list, grads):
    g = np.clip(g.numpy(), -hps.grad_clip, hps.grad_clip)
    m, v = 0.1 * g, 0.001 * g * g
    alpha = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(w1.numpy(), w0 - alpha * m / (np.sqrt(v) + 1e-8),
                               rtol=1e-5, atol=1e-7, err_msg=name)
  # The timed step draws its own noise and steps on.
  assert np.isfinite(float(step(x, lengths, tf.constant(0.01))))
  assert int(round(float(np.log(module.beta1_power.numpy()) / np.log(0.9)))) == 3


def test_plain_baseline_is_counted_at_the_lstm_sizes():
  import plain_loop  # pylint: disable=g-import-not-at-top
  hps = get_default_hparams().parse(
      TINY_BENCH + ',dec_model=hyper,enc_model=layer_norm')
  lstm = get_default_hparams().parse(TINY_BENCH)
  module = plain_loop.PlainLoop(plain_loop.lstm_hparams(hps))
  assert hps.dec_model == 'hyper'  # lstm_hparams copies
  flops = benchmark.step_flops(module.hps, 250)
  assert flops == benchmark.step_flops(lstm, 250)
  # The products its weights make: two encoder directions and the decoder at
  # every step, mu and presig, the initial state once, the output layer per step.
  b, t = hps.batch_size, 250
  size = {k: np.prod(v.shape) for k, v in module.params.items() if k.endswith('/W')}
  forward = 2 * b * (t * (size['enc_fw/W'] + size['enc_bw/W'] + size['dec/W'])
                     + size['mu/W'] + size['sigma/W'] + size['init/W']
                     + t * size['out/W'])
  assert flops['forward'] == forward


@pytest.mark.parametrize('loops', benchmark.LOOPS)
def test_loops_choice_overrides_what_runtime_would_pick(loops, monkeypatch):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from sketch_rnn import rnn, runtime  # pylint: disable=g-import-not-at-top
  # The choice runtime.use_xla makes alone: XLA for a float32 lstm of 192 units.
  monkeypatch.setattr(runtime, 'use_xla', lambda kind, dtype, units: (
      dtype == tf.float32 and units >= 64))
  hps = get_default_hparams().parse('dec_rnn_size=192')
  bf16 = get_default_hparams().parse('dec_rnn_size=192,precision=bfloat16')
  assert benchmark._choose_loops(runtime, rnn, bf16, 'auto') == 'plain'  # pylint: disable=protected-access
  assert benchmark._choose_loops(runtime, rnn, hps, loops) == 'xla'  # pylint: disable=protected-access
  expected = {'auto': [True, False], 'xla': [True, True], 'plain': [False, False]}
  assert [runtime.use_xla('lstm', tf.float32, 192),
          runtime.use_xla('hyper', tf.bfloat16, 16)] == expected[loops]


def test_sampling_ceiling_runs_the_decoders_products():
  import benchmark_sampling  # pylint: disable=g-import-not-at-top
  from sketch_rnn import model as sketch_rnn_model  # pylint: disable=g-import-not-at-top
  model = sketch_rnn_model.Model(tiny_hparams(), seed=0)
  for jit in (False, True):
    value = benchmark_sampling.products_loop(model, 3, 4, jit_compile=jit)()
    assert np.isfinite(value) and value != 0
  hyper = sketch_rnn_model.Model(tiny_hparams(dec_model='hyper'), seed=0)
  assert benchmark_sampling.products_loop(hyper, 3, 4) is None  # no ceiling for it


def test_decoding_baseline_counts_the_steps_each_chunk_ran():
  import benchmark_metrics  # pylint: disable=g-import-not-at-top
  # Stroke-3 sketches of 2, 5 and 1 points: the first chunk ran until its longer
  # one ended (capped at seq_len), the second one step past its end.
  decoded = [np.zeros((k, 3)) for k in (2, 5, 1)]
  assert benchmark_metrics.decode_runs(decoded, seq_len=4, chunk=2) == [(2, 4), (1, 2)]
