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
"""scripts/gpu_benchmark.sh and gpu_table.py: the table's rows, its budget, the GPU
check, and the CPU dry run (never their speed)."""

import itertools
import json
import math
import os
import subprocess
import sys

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
import gpu_table  # pylint: disable=g-import-not-at-top,wrong-import-position

SCRIPT = os.path.join(REPO, 'scripts', 'gpu_benchmark.sh')
EVERY = set(itertools.product(gpu_table.CONFIGS, gpu_table.PRECISIONS,
                              gpu_table.LOOPS))


def parse_table(text):
  """The markdown table's rows as dicts keyed by its header."""
  lines = [l for l in text.splitlines() if l.startswith('|')]
  header = [c.strip() for c in lines[0].strip('|').split('|')]
  assert lines[1].startswith('|---')
  return [dict(zip(header, [c.strip() for c in l.strip('|').split('|')]))
          for l in lines[2:]]


def test_the_plan_is_every_configuration_precision_and_loop_choice():
  runs = gpu_table.plan(gpu_table.CONFIGS, gpu_table.PRECISIONS, gpu_table.LOOPS)
  assert len(runs) == len(EVERY) == 20
  assert {run[:3] for run in runs} == EVERY
  for name, precision, _, hparams in runs:
    assert hparams.endswith('precision=' + precision)
    assert hparams.startswith(gpu_table.CONFIGS[name])
  quick = dict(p.split('=') for p in gpu_table.CONFIGS['quick_start'].split(','))
  assert quick == dict(dec_rnn_size='192', enc_rnn_size='96', z_size='32',
                       batch_size='64')
  # --cpu's batch_size=4 replaces the quick start's 64 (the parser refuses both).
  (run,) = gpu_table.plan(['quick_start'], ['float32'], ['xla'], 'batch_size=4')
  assert run[3].split(',') == ['dec_rnn_size=192', 'enc_rnn_size=96', 'z_size=32',
                               'precision=float32', 'batch_size=4']


def test_a_run_that_fails_times_out_or_does_not_fit_is_a_row_saying_so(monkeypatch):
  calls = []

  def child(spec, timeout=None):
    calls.append((spec, timeout))
    if spec['loops'] == 'plain':
      raise benchmark.ChildFailed('timed out after %.0f s' % timeout, timed_out=True)
    if spec['hparams'].endswith('bfloat16'):
      raise benchmark.ChildFailed('ValueError: no | bfloat16', 'traceback')
    return dict(config=spec['name'], loops=spec['loops'], default_loops='xla',
                median_step_s=0.02, sketches_per_s=200.0, first_step_s=3.0,
                ceiling_gflops=50.0, efficiency=0.5)

  monkeypatch.setattr(benchmark, 'run_child', child)
  settings = dict(gpu_table.GPU_SIZE, timeout=7)
  runs = gpu_table.plan(['small'], gpu_table.PRECISIONS, gpu_table.LOOPS)
  rows = parse_table('\n'.join(gpu_table.table(
      gpu_table.measure(runs, settings, 2, jobs=2))))
  assert [(r['config'], r['precision'], r['loops']) for r in rows] == [
      run[:3] for run in runs]  # the plan's order, whatever finished first
  by = {(r['config'], r['precision'], r['loops']): r for r in rows}
  done = by['small', 'float32', 'xla']
  assert (done['ms/step'], done['steps/s'], done['sketches/s']) == ('20.0', '50.00',
                                                                    '200.0')
  assert (done["runtime's choice"], done['efficiency'], done['note']) == ('yes', '0.50',
                                                                         '')
  assert by['small', 'float32', 'plain']['note'] == 'timed out after 7 s'
  assert by['small', 'float32', 'plain']['ms/step'] == '-'
  assert by['small', 'bfloat16', 'xla']['note'] == 'failed: ValueError: no / bfloat16'
  assert all(timeout <= 7 for _, timeout in calls)
  assert calls[0][0]['threads'] == 2 and calls[0][0]['num_steps'] == 10

  calls.clear()
  skipped = gpu_table.measure(runs, dict(settings, budget=0), 2)
  assert not calls
  assert [r['note'] for r in skipped] == ['skipped: over the 0 s budget'] * 4


@pytest.mark.slow
def test_without_a_gpu_it_stops_with_one_line():
  proc = subprocess.run(
      [SCRIPT, '--no_install', '--current'], capture_output=True, text=True,
      timeout=120, check=False,
      env=dict(os.environ, PYTHON=sys.executable, CUDA_VISIBLE_DEVICES='-1'))
  assert proc.returncode == 2, proc.stdout + proc.stderr
  assert proc.stdout == ''
  (line,) = proc.stderr.strip().splitlines()
  assert line.startswith('gpu_benchmark: no GPU visible to TensorFlow') and '--cpu' in line


@pytest.mark.slow
def test_cpu_dry_run_has_a_row_for_every_precision_and_loop_choice(tmp_path):
  out = tmp_path / 'table.json'
  # Two at a time: CI's two cores, and the runs are mostly tracing, one core each.
  proc = subprocess.run(
      [SCRIPT, '--cpu', '--no_install', '--current', '--configs=small', '--jobs=2',
       '--json=%s' % out], capture_output=True, text=True, timeout=600, check=False,
      env=dict(os.environ, PYTHON=sys.executable))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert proc.stdout.startswith('CPU (')
  rows = parse_table(proc.stdout)
  by = {(r['config'], r['precision'], r['loops']): r for r in rows}
  assert len(rows) == len(by)
  assert set(by) == {k for k in EVERY if k[0] == 'small'}
  for key, row in by.items():
    if row['note'].startswith('skipped: '):
      continue
    assert row['note'] == '', (key, row['note'])
    ms = float(row['ms/step'])
    assert math.isfinite(ms) and ms > 0, key
    # ms/step is printed to 0.1 ms: the rates agree with it within that rounding.
    rounding = 0.01 + 0.051 / ms
    assert float(row['steps/s']) == pytest.approx(1e3 / ms, rel=rounding)
    assert float(row['sketches/s']) == pytest.approx(4 * 1e3 / ms, rel=rounding)  # batch 4
    assert float(row['ceiling GFLOP/s']) > 0 and float(row['efficiency']) > 0
  # runtime.use_xla picks one of the two for each precision: XLA for float32.
  for precision, default in (('float32', 'xla'), ('bfloat16', 'plain')):
    assert [l for l in gpu_table.LOOPS
            if by['small', precision, l]["runtime's choice"] == 'yes'] == [default]
  results = json.load(open(out))['results']
  assert [(r['loops'], r['batch_size'], r['seq_len'], r['data']) for r in results] == [
      (l, 4, 8, 'random') for _ in gpu_table.PRECISIONS for l in gpu_table.LOOPS]
