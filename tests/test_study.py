"""The study's runner: parsing the plan, the children's commands and GPUs, a
restart that skips finished runs, a failed run, and one run's evaluation
(sketch_rnn_eval --metrics)."""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import study

from conftest import BUNDLED, BUNDLED_SET, REPO, run_folders, sweep
from conftest import SWEEP_HPARAMS as TINY
from conftest import SWEEP_SCALES as SCALES


def fingerprint(folder):
  """{file: (size, mtime, sha256)} of everything under folder."""
  result = {}
  for path in sorted(glob.glob(os.path.join(folder, '**', '*'), recursive=True)):
    if os.path.isfile(path):
      with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
      result[os.path.relpath(path, folder)] = (os.path.getsize(path),
                                               os.stat(path).st_mtime_ns, digest)
  return result


@pytest.mark.slow
def test_restart_skips_finished_runs(tiny_sweep):
  out, _ = tiny_sweep
  before = [fingerprint(f) for f in run_folders(out)]
  code, log = sweep(out, script=True)  # and the script in scripts/ is the same program
  assert code == 0, log
  for s in SCALES:
    name = 'scale-%g/seed-1' % s
    assert '%s: finished (step 30 of 30); skipped.' % name in log
    assert '%s: metrics current; skipped.' % name in log
  assert 'starting training' not in log and 'resuming training' not in log
  assert [fingerprint(f) for f in run_folders(out)] == before
  assert 'finished before; skipped' in open(os.path.join(out, 'report.md')).read()


@pytest.mark.slow
def test_a_failed_run_is_reported_after_the_others(tiny_sweep, tmp_path):
  out = str(tmp_path / 'study')
  shutil.copytree(tiny_sweep[0], out)
  broken = os.path.join(out, 'scale-4', 'seed-1')
  os.makedirs(broken)
  # A checkpoint pointer to a file that is not a checkpoint: the resume fails.
  with open(os.path.join(broken, 'checkpoint'), 'w') as f:
    f.write('model_checkpoint_path: "vector-5"\nall_model_checkpoint_paths: '
            '"vector-5"\n')
  for suffix in ('.index', '.data-00000-of-00001'):
    with open(os.path.join(broken, 'vector-5' + suffix), 'wb') as f:
      f.write(b'not a checkpoint')
  os.remove(os.path.join(out, 'report.md'))
  code, log = sweep(out, '--jobs=1', scales='4,0.5,2')
  assert code == 1, log
  assert 'scale-4/seed-1: resuming training' in log
  assert ('scale-4/seed-1 failed: training exited with code 1; the end of its '
          'log:' in log)
  assert 'sketch_rnn_train: error: ' in log  # the tail of its train.log
  errors = [line for line in log.splitlines() if 'scale_sweep: error:' in line]
  assert len(errors) == 1 and '1 of 3 runs failed (scale-4/seed-1)' in errors[0], log
  # The runs after it were still done and reported.
  assert log.index('scale-4/seed-1: resuming') < log.index(
      'scale-2/seed-1: metrics current')
  text = open(os.path.join(out, 'report.md')).read()
  assert '**Missing from the tables**: scale-4/seed-1 (training exited' in text
  assert '| metric | better | scale 0.5 | scale 2 |' in text
  results = json.load(open(os.path.join(out, 'results.json')))
  assert results['failed'][0]['run'] == 'scale-4/seed-1'


def eval_cli(*args):
  """Runs `python -m sketch_rnn.sketch_rnn_eval args`; returns (exit code, output)."""
  # One thread, as the sweep's children had with --jobs=2: the same sums.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', TF_NUM_INTRAOP_THREADS='1',
             TF_NUM_INTEROP_THREADS='1')
  proc = subprocess.run([sys.executable, '-m', 'sketch_rnn.sketch_rnn_eval', *args],
                        cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=600, check=False)
  return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_eval_metrics_writes_a_runs_metrics_json_and_grid(tiny_sweep, tmp_path):
  # By hand, on a run of the tiny study: the record the sweep's own child wrote.
  folder = str(tmp_path / 'run')
  shutil.copytree(run_folders(tiny_sweep[0])[1], folder)
  result, grid = str(tmp_path / 'metrics.json'), str(tmp_path / 'grid.svg')
  code, out = eval_cli('--metrics', '--log_root=' + folder, '--data_dir=' + BUNDLED,
                       '--seed=0', '--diversity_samples=6', '--eval_sketches=12',
                       '--results_json=' + result, '--grid=' + grid)
  assert code == 0, out
  record = json.load(open(result))
  swept = json.load(open(os.path.join(folder, study.METRICS_FILE)))
  assert set(record) == set(swept) == {'checkpoint', 'global_step', 'scale',
                                       'options', 'seconds', 'classifier',
                                       'metrics'}
  assert record['checkpoint'] == swept['checkpoint'] == 'vector-30'
  assert record['global_step'] == 30 and record['scale'] == 2.0
  assert record['options'] == swept['options'] == dict(
      diversity_samples=6, eval_sketches=12, eval_seed=0, iwae_samples=64,
      metrics_version=study.METRICS_VERSION)
  # The sweep's classifier (its cache) and this one, trained in memory, agree.
  assert swept['classifier']['test_accuracy'] == record['classifier']['test_accuracy']
  assert record['classifier']['classes'] == ['house', 'sun', 'face', 'cat', 'star',
                                             'tree', 'fish', 'cup', 'car', 'flower',
                                             'umbrella', 'ladder']
  assert record['classifier']['test_accuracy'] > 0.5  # chance: 1/12
  for m in metrics.METRICS:
    assert record['metrics'][m.key] == pytest.approx(
        swept['metrics'][m.key], rel=1e-5), m.key
    assert '%s: ' % m.title in out
  text = open(grid).read()
  assert text.count('<g id="cell-') == 40
  for title in ('prior N(0, I)', 'prior N(0, s^2 I)', 'aggregate posterior',
                'slerp t=0.00', 'greedy from mu'):
    assert title in text, title
  # --grid belongs to --metrics: alone it is a usage error, before any work.
  code, out = eval_cli('--log_root=' + folder, '--grid=' + grid)
  assert code == 2 and 'sketch_rnn_eval: error: --grid needs --metrics' in out, out


# -- the plan and the children, without training -------------------------------------


def test_parse_scales_and_seeds():
  assert study.parse_scales('0.5, 1,2,4') == [0.5, 1.0, 2.0, 4.0]
  assert study.parse_seeds('1,2,3') == [1, 2, 3]
  for bad in ('', 'a', '-1', 'inf', '1,1.0'):
    with pytest.raises(errors.UsageError):
      study.parse_scales(bad)
  for bad in ('', '1.5', '-2', '1,1'):
    with pytest.raises(errors.UsageError):
      study.parse_seeds(bad)
  assert study.with_scale('num_steps=5', 2) == 'num_steps=5,scale=2.0'


@pytest.mark.parametrize('hparams,message', [
    ('data_set=[%s]' % BUNDLED_SET, 'must set num_steps'),
    ('num_steps=5,scale=2', 'leave scale out'),
    ('num_steps=5,conditional=0', 'conditional=False'),
    ('num_steps=5,scal=2', "did you mean 'scale'"),
])
def test_shared_hparams_refused(hparams, message):
  with pytest.raises(errors.UsageError, match=re.escape(message)):
    study.shared_hparams(hparams)


def test_each_job_gets_its_own_gpu_and_the_trainers_command(monkeypatch):
  for name in ('TF_FORCE_GPU_ALLOW_GROWTH', 'TF_NUM_INTRAOP_THREADS',
               'TF_NUM_INTEROP_THREADS'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '2,3')
  assert study.detect_gpus('auto') == ['2', '3']
  assert study.detect_gpus('none') == []
  assert study.detect_gpus('0,1') == ['0', '1']
  sweep = study.Sweep([], BUNDLED, TINY, 30, {}, jobs=2, gpus=['2', '3'])
  assert [sweep.env(k)['CUDA_VISIBLE_DEVICES'] for k in range(4)] == ['2', '3'] * 2
  assert 'TF_FORCE_GPU_ALLOW_GROWTH' not in sweep.env(0)
  shared = study.Sweep([], BUNDLED, TINY, 30, {}, jobs=4, gpus=['2', '3'])
  assert shared.env(0)['TF_FORCE_GPU_ALLOW_GROWTH'] == 'true'  # two runs a GPU
  cpu = study.Sweep([], BUNDLED, TINY, 30, {}, jobs=2, gpus=[])
  env = cpu.env(1)
  assert env['CUDA_VISIBLE_DEVICES'] == '2,3'  # left alone
  assert env['TF_NUM_INTRAOP_THREADS'] == str(max(1, (os.cpu_count() or 1) // 2))
  assert env['PYTHONPATH'].split(os.pathsep)[0] == REPO
  run = study.Run(2.0, 7, '/x/scale-2/seed-7')
  assert sweep.train_command(run, resume=False)[1:] == [
      '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=/x/scale-2/seed-7',
      '--data_dir=' + BUNDLED, '--seed=7', '--num_samples=0',
      '--hparams=' + TINY + ',scale=2.0']
  assert sweep.train_command(run, resume=True)[-1] == '--resume_training'


def test_the_evaluation_child_is_sketch_rnn_eval_metrics():
  options = study.eval_options(6, 12, 3, 5)
  assert options == dict(diversity_samples=6, eval_sketches=12, eval_seed=3,
                         iwae_samples=5, metrics_version=study.METRICS_VERSION)
  sweep = study.Sweep([], BUNDLED, TINY, 30, options, classifier_path='/x/c.npz')
  run = study.Run(2.0, 7, '/x/scale-2/seed-7')
  assert sweep.evaluate_command(run)[1:] == [
      '-m', 'sketch_rnn.sketch_rnn_eval', '--metrics', '--log_root=/x/scale-2/seed-7',
      '--data_dir=' + BUNDLED, '--seed=3', '--diversity_samples=6',
      '--eval_sketches=12', '--iwae_samples=5',
      '--results_json=/x/scale-2/seed-7/metrics.json',
      '--grid=/x/scale-2/seed-7/grid.svg', '--classifier=/x/c.npz']
  for bad in ((1, 12, 0), (6, -1, 0), (6, 12, 0, 0)):
    with pytest.raises(errors.UsageError):
      study.eval_options(*bad)
