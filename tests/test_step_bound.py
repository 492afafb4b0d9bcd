"""scripts/step_bound.py: its list of the step's products against independent
counts, its bound's arithmetic, and one tiny run (never its speed)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sketch_rnn.model import get_default_hparams

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
import step_bound  # pylint: disable=g-import-not-at-top,wrong-import-position

KINDS = [dict(), dict(dec_model='layer_norm'), dict(dec_model='hyper'),
         dict(enc_model='hyper', dec_rnn_size=64), dict(conditional=False),
         dict(batch_size=37, enc_rnn_size=48, z_size=16, num_mixture=5)]


def _hps(**overrides):
  hps = get_default_hparams()
  for key, value in overrides.items():
    setattr(hps, key, value)
  return hps


@pytest.mark.parametrize('overrides', KINDS)
def test_forward_products_are_what_the_benchmark_counts_as_executed(overrides):
  """benchmark.step_flops counts cell by cell from the model's sizes; the list
  names every product: the forward FLOPs of both agree."""
  hps = _hps(**overrides)
  prods = step_bound.products(hps, 250)
  executed = benchmark.step_flops(hps, 250, executed=True)
  assert step_bound.flops(prods, backward=False) == executed['forward']


def test_backward_products_of_the_default_lstm_step_by_hand():
  """Per cell: each step's d h [B, 4n] x [4n, n], then d W_hh and d W_xh over all
  steps (the data needs no gradient); the linear layers twice their forward."""
  hps = get_default_hparams()
  t, b = 250, 100

  def cell(x, n):
    return t * 2 * b * 4 * n * n + 2 * n * t * b * 4 * n + 2 * x * t * b * 4 * n

  linear = 2 * (2 * b * 512 * 128 * 2 + 2 * b * 128 * 1024 + 2 * b * 128 * 2048
                + 2 * t * b * 512 * 123)
  expected = 2 * cell(5, 256) + cell(5, 512) + linear
  prods = step_bound.products(hps, t)
  assert step_bound.flops(prods, backward=True) == expected
  assert step_bound.flops(prods) == (step_bound.flops(prods, backward=False)
                                     + expected)


def test_the_bound_is_the_benchmarks_efficiency_of_a_step_that_long():
  # 4 GFLOP at a 2 GFLOP/s ceiling: 2 s of ceiling work, in 1 s of products
  # and 3 s with the elementwise work.
  assert step_bound.bound(4e9, 2e9, 1.0, 2.0) == (2.0, pytest.approx(2.0 / 3.0))
  assert step_bound.bound(4e9, 2e9, 1.0) == (2.0, None)


@pytest.fixture(scope='module')
def kernel(tmp_path_factory):
  binary = step_bound.build_kernel(str(tmp_path_factory.mktemp('kernel')))
  if binary is None:
    pytest.skip('no C compiler builds scripts/lstm_elementwise.c')
  return binary


@pytest.mark.slow
@pytest.mark.parametrize('layer_norm', [False, True])
def test_the_hand_written_kernel_is_the_cells_arithmetic(kernel, layer_norm):
  """Its check run (T=2, B=2, n=3, inputs written in the C source) against
  bptt's own steps forward and backward: h, c, the gates' gradients, c_0's and
  (layer norm) the gammas' and betas' per row."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from sketch_rnn import bptt  # pylint: disable=g-import-not-at-top
  # pylint: disable=protected-access
  out = subprocess.run([kernel, 'check'] + (['ln'] if layer_norm else []),
                       capture_output=True, text=True, check=True).stdout
  got = {}
  for line in out.splitlines():
    key, value = line.split()
    got.setdefault(key, []).append(float(value))
  t, b, n = 2, 2, 3
  s = b * n
  a = (np.arange(4 * s * t) * 7919 % 1000 / 500.0 - 1.0).reshape(t, b, 4 * n)
  mask = np.where(np.arange(s * t) % 10, 1.25, 0.0).reshape(t, b, n)
  c = (0.1 * (np.arange(s) % 7) - 0.3).reshape(b, n)
  dh = (0.01 * (np.arange(s) % 5) - 0.02).reshape(b, n)
  g = 0.9 + 0.05 * (np.arange(10 * n) % 6)
  f32 = lambda x: tf.constant(x, tf.float32)
  ln = bptt.LayerNorms(f32(g[:4 * n]), f32(g[4 * n:8 * n]), f32(g[8 * n:9 * n]),
                       f32(g[9 * n:]))
  if layer_norm:
    forward, backward = bptt._ln_lstm_forward, bptt._ln_lstm_backward
    acc = bptt._ln_zeros(n, b)
  else:
    forward, backward, acc = bptt._lstm_forward, bptt._lstm_backward, ()
  hs, cs, saved = [], [], []
  for step in range(t):
    h, c, kept = forward(f32(a[step]), f32(c), f32(mask[step]), ln)
    hs.append(h.numpy())
    cs.append(c.numpy())
    saved.append(kept)
  das, dc = [None] * t, tf.zeros([b, n])
  for step in reversed(range(t)):
    das[step], dc, acc = backward(f32(dh), dc, saved[step], f32(mask[step]), ln, acc)
  want = dict(h=hs, c=cs, da=[d.numpy() for d in das], dc=dc.numpy())
  if layer_norm:  # per row: gamma's and beta's [4n], then c's [n]
    want['acc'] = np.concatenate([x.numpy() for x in acc], axis=1)
  assert sorted(got) == sorted(want)
  for key, value in want.items():
    np.testing.assert_allclose(got[key], np.ravel(value), rtol=1e-4, atol=1e-6,
                               err_msg=key)


@pytest.mark.slow
def test_fused_cell_seconds_run_the_kernel_for_every_cell(kernel, monkeypatch):
  calls = []
  real = subprocess.run

  def run(args, **kwargs):
    calls.append(args[1:])
    return real(args, **kwargs)

  monkeypatch.setattr(step_bound.subprocess, 'run', run)
  hps = get_default_hparams().parse(
      'dec_model=hyper,dec_rnn_size=32,enc_rnn_size=16,batch_size=8,max_seq_len=125')
  assert step_bound.fused_cell_seconds(kernel, hps) > 0
  # The hyper decoder's two layer-norm LSTMs, then the encoder's two LSTMs.
  assert calls == [['8', '32', 'ln'], ['8', '256', 'ln'], ['8', '16'], ['8', '16']]
  assert step_bound.fused_cell_seconds(None, hps) is None


TINY = 'dec_rnn_size=16,enc_rnn_size=16,z_size=8,batch_size=4,num_mixture=3'


@pytest.mark.slow
def test_tiny_run_prints_the_bound_beside_the_benchmarks_efficiency(tmp_path):
  bench = tmp_path / 'bench.json'
  bench.write_text(json.dumps([
      dict(config='custom', threads=1, efficiency=0.5, impl='project', load=False),
      dict(config='custom', threads=1, efficiency=0.1, impl='plain', load=False),
      dict(config='custom', threads=2, efficiency=0.2, impl='project', load=False),
      dict(config='custom', threads=1, efficiency=0.3, impl='project', load=True)]))
  out = tmp_path / 'bound.json'
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO, 'scripts', 'step_bound.py'), '--configs=',
       '--hparams=' + TINY, '--bench=%s' % bench, '--json=%s' % out],
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  [r] = json.load(open(out))
  hps = get_default_hparams().parse(TINY)
  assert r['gflop_per_step'] == pytest.approx(
      benchmark.step_flops(hps, hps.max_seq_len)['total'] / 1e9)
  assert r['executed_gflop'] == pytest.approx(
      step_bound.flops(step_bound.products(hps, hps.max_seq_len)) / 1e9)
  assert r['products_s'] > 0
  only, fused = step_bound.bound(r['gflop_per_step'] * 1e9, r['ceiling_gflops'] * 1e9,
                                 r['products_s'], r['fused_cells_s'])
  assert (r['products_only_bound'], r['fused_cells_estimate']) == (only, fused)
  if fused is not None:
    assert fused < only
  # The project's, unloaded, on one thread: not the baseline's nor another's.
  assert r['measured_efficiency'] == 0.5
  row = [line for line in proc.stdout.splitlines() if line.startswith('custom')]
  assert row[0].split()[-2:] == ['0.50', '%.2f' % (0.5 / only)]


@pytest.mark.slow
def test_a_file_that_is_not_a_benchmark_result_is_one_line(tmp_path):
  bench = tmp_path / 'bench.json'
  bench.write_text('{"not": "a list"}')
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO, 'scripts', 'step_bound.py'),
       '--configs=small', '--bench=%s' % bench],
      capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 2
  assert 'not a benchmark.py --json file' in proc.stderr.strip().splitlines()[-1]
  assert 'Traceback' not in proc.stderr
