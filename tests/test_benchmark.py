"""scripts/benchmark.py: its fields, its FLOP count and its loop choice; the
baselines of benchmark_sampling.py and benchmark_metrics.py (never their speed)."""

import json
import os
import subprocess
import sys

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


@pytest.mark.slow
def test_benchmark_prints_every_field(tmp_path):
  out = tmp_path / 'bench.json'
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO, 'scripts', 'benchmark.py'), '--configs=',
       '--hparams=dec_rnn_size=16,enc_rnn_size=16,z_size=8,batch_size=4,num_mixture=3',
       '--threads=1', '--steps=2', '--warmup=0', '--json=%s' % out],
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  header = proc.stdout.splitlines()[0].split()
  assert header[:3] == ['config', 'thr', 's/step'] and 'eff' in header
  (r,) = json.load(open(out))
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
  assert 0 < r['executed_gflop'] < r['gflop_per_step']


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
