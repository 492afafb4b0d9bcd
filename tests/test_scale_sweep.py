"""The scale study end to end: a tiny sweep, its report, a restart, a failed run."""

import csv
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
from sketch_rnn import scale_sweep

from conftest import BUNDLED, BUNDLED_SET, REPO, tiny_text

TINY = tiny_text(num_steps=30, save_every=15)
SCALES = (0.5, 2.0)


def sweep(out, *args, scales='0.5,2', script=False):
  """Runs the sweep as a user does; returns (exit code, output)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  program = ([os.path.join(REPO, 'scripts', 'scale_sweep.py')] if script
             else ['-m', 'sketch_rnn.scale_sweep'])
  proc = subprocess.run(
      [sys.executable, *program, '--out=' + out, '--data_dir=' + BUNDLED,
       '--scales=' + scales, '--hparams=' + TINY, '--diversity_samples=6',
       '--eval_sketches=12', *args],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
  return proc.returncode, proc.stdout + proc.stderr


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


def run_folders(out):
  return [os.path.join(out, 'scale-%g' % s, 'seed-1') for s in SCALES]


@pytest.fixture(scope='module')
def tiny_sweep(tmp_path_factory):
  out = str(tmp_path_factory.mktemp('sweep') / 'study')
  code, log = sweep(out, '--jobs=2')
  assert code == 0, log
  return out, log


def report_table(text):
  """{metric title: [cells]} of report.md's results table."""
  section = text.split('## Results', 1)[1].split('\n## ', 1)[0]
  rows = {}
  for line in section.splitlines():
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) > 2 and cells[0] not in ('metric', '---'):
      rows[cells[0]] = cells[2:]
  return rows


def test_tiny_sweep_writes_every_file(tiny_sweep):
  out, log = tiny_sweep
  for name in ('report.md', 'results.csv', 'results.json', 'curves.csv',
               'grid-scale-0.5.svg', 'grid-scale-2.svg'):
    assert os.path.getsize(os.path.join(out, name)) > 0, name
  for folder in run_folders(out):
    for name in ('train.log', 'eval.log', 'metrics.json', 'grid.svg',
                 'model_config.json', 'vector-30.index'):
      assert os.path.exists(os.path.join(folder, name)), (folder, name)
    config = json.load(open(os.path.join(folder, 'model_config.json')))
    assert config['scale'] == float(folder.split('scale-')[1].split('/')[0])
    assert config['dec_rnn_size'] == 16 and config['num_steps'] == 30
    assert 'step: 20, lr:' in open(os.path.join(folder, 'train.log')).read()
  assert log.count('starting training') == 2


def test_report_has_every_metric_for_every_scale(tiny_sweep):
  out, _ = tiny_sweep
  text = open(os.path.join(out, 'report.md')).read()
  table = report_table(text)
  for m in metrics.METRICS:
    assert m.title in table, m.title
    cells = table[m.title]
    assert len(cells) == len(SCALES)
    for cell in cells:
      assert re.fullmatch(r'\**-?\d+(\.\d+)?\**', cell), (m.title, cell)
  assert '| metric | better | scale 0.5 | scale 2 |' in text
  summary = text.split('## Summary', 1)[1].split('\n## ', 1)[0]
  for m in metrics.METRICS:
    assert re.search(r'\*\*%s\*\* \(%s is better\): best is (scale|a tie)' % (
        re.escape(m.title), m.better), summary), m.title
  results = json.load(open(os.path.join(out, 'results.json')))
  assert sorted(r['scale'] for r in results['runs']) == list(SCALES)
  for r in results['runs']:
    assert r['global_step'] == 30
    for key in metrics.METRIC_KEYS:
      assert isinstance(r[key], (int, float)), key
  assert set(results['summary']) == {'0.5', '2'}
  with open(os.path.join(out, 'results.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [float(r['scale']) for r in rows] == list(SCALES)
  assert set(metrics.METRIC_KEYS) <= set(rows[0])
  # The numbers in the table are those of the runs (one seed: the run's own).
  cells = report_table(text)['Reconstruction cost, z = mu']
  for r, cell in zip(results['runs'], cells):
    assert float(cell.strip('*')) == pytest.approx(r['recon_mu'], abs=1e-4)
  with open(os.path.join(out, 'curves.csv')) as f:
    tags = {(float(r['scale']), r['tag']) for r in csv.DictReader(f)}
  assert tags == {(s, t) for s in SCALES for t in scale_sweep.CURVE_TAGS}
  grid = open(os.path.join(out, 'grid-scale-2.svg')).read()
  assert grid.count('<g id="cell-') == 24
  assert 'slerp t=0.00' in grid and 'greedy from mu' in grid


def test_plots(tiny_sweep):
  pytest.importorskip('matplotlib')
  out, _ = tiny_sweep
  for name in ('curves.png', 'curves.svg', 'metrics.png', 'metrics.svg'):
    assert os.path.getsize(os.path.join(out, name)) > 1000, name
  text = open(os.path.join(out, 'report.md')).read()
  assert '![learning curves](curves.png)' in text
  assert '![metrics against scale](metrics.png)' in text


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


def test_report_without_matplotlib(tiny_sweep, tmp_path, monkeypatch):
  out = str(tmp_path / 'study')
  shutil.copytree(tiny_sweep[0], out)
  for path in glob.glob(os.path.join(out, '*.png')) + glob.glob(
      os.path.join(out, '*.svg')):
    os.remove(path)
  monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import fails
  runs = [scale_sweep.Run(s, 1, os.path.join(out, 'scale-%g' % s, 'seed-1'),
                          status='done') for s in SCALES]
  info = dict(data_dir=BUNDLED, hparams=TINY, num_steps=30, scales=list(SCALES),
              seeds=[1], eval_options=dict(diversity_samples=6, eval_sketches=12,
                                           eval_seed=0), command='test')
  path = scale_sweep.write_report(out, runs, info)
  text = open(path).read()
  assert 'No plots: matplotlib is not installed' in text
  assert not glob.glob(os.path.join(out, '*.png'))
  assert os.path.exists(os.path.join(out, 'grid-scale-0.5.svg'))
  assert len(report_table(text)) == len(metrics.METRICS)


# -- the command line and the summary, without training -----------------------------


def test_parse_scales_and_seeds():
  assert scale_sweep.parse_scales('0.5, 1,2,4') == [0.5, 1.0, 2.0, 4.0]
  assert scale_sweep.parse_seeds('1,2,3') == [1, 2, 3]
  for bad in ('', 'a', '-1', 'inf', '1,1.0'):
    with pytest.raises(errors.UsageError):
      scale_sweep.parse_scales(bad)
  for bad in ('', '1.5', '-2', '1,1'):
    with pytest.raises(errors.UsageError):
      scale_sweep.parse_seeds(bad)
  assert scale_sweep.run_hparams('num_steps=5', 2) == 'num_steps=5,scale=2.0'


@pytest.mark.parametrize('hparams,message', [
    ('data_set=[%s]' % BUNDLED_SET, 'must set num_steps'),
    ('num_steps=5,scale=2', 'leave scale out'),
    ('num_steps=5,conditional=0', 'conditional=False'),
    ('num_steps=5,scal=2', "did you mean 'scale'"),
])
def test_shared_hparams_refused(hparams, message):
  with pytest.raises(errors.UsageError, match=re.escape(message)):
    scale_sweep.shared_hparams(hparams)


def test_bad_command_line_is_one_line_and_exit_2(tmp_path):
  out = str(tmp_path / 'never')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run(
      [sys.executable, '-m', 'sketch_rnn.scale_sweep', '--out=' + out,
       '--data_dir=' + BUNDLED, '--scales=0.5,x', '--hparams=num_steps=5'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 2, proc.stderr
  assert "scale_sweep: error: --scales: 'x' is not a number" in proc.stderr
  assert 'Traceback' not in proc.stderr and not os.path.exists(out)


def test_summary_names_the_best_scale_in_each_direction():
  summary = {}
  for scale, value in ((0.5, 3.0), (1.0, 1.0), (2.0, 2.0)):
    summary[scale] = {k: (value, 0.5, 3) for k in metrics.METRIC_KEYS}
  lines = '\n'.join(scale_sweep.summary_lines(summary, [0.5, 1.0, 2.0], 3))
  # lower is better: scale 1 (1.0); higher is better: scale 0.5 (3.0).
  assert ('**Reconstruction cost, z = mu** (lower is better): best is scale 1, '
          '1.0000 ± 0.5000 (scale 0.5: 3.0000 ± 0.5000; scale 2: 2.0000 ± 0.5000).'
          in lines)
  assert '**Active latent units** (higher is better): best is scale 0.5, 3 ±' in lines
  assert 'within one standard deviation' not in lines
  summary[2.0]['recon_mu'] = (1.0, 0.5, 3)
  summary[0.5]['kl_sampled'] = (float('inf'), None, 3)
  lines = '\n'.join(scale_sweep.summary_lines(summary, [0.5, 1.0, 2.0], 3))
  assert 'best is a tie, scales 1 and 2 at 1.0000 ± 0.5000' in lines
  assert 'scale 0.5: inf' in lines


def test_each_job_gets_its_own_gpu_and_the_trainers_command(monkeypatch):
  for name in ('TF_FORCE_GPU_ALLOW_GROWTH', 'TF_NUM_INTRAOP_THREADS',
               'TF_NUM_INTEROP_THREADS'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '2,3')
  assert scale_sweep.detect_gpus('auto') == ['2', '3']
  assert scale_sweep.detect_gpus('none') == []
  assert scale_sweep.detect_gpus('0,1') == ['0', '1']
  sweep = scale_sweep.Sweep([], BUNDLED, TINY, 30, {}, jobs=2, gpus=['2', '3'])
  assert [sweep.env(k)['CUDA_VISIBLE_DEVICES'] for k in range(4)] == ['2', '3'] * 2
  assert 'TF_FORCE_GPU_ALLOW_GROWTH' not in sweep.env(0)
  shared = scale_sweep.Sweep([], BUNDLED, TINY, 30, {}, jobs=4, gpus=['2', '3'])
  assert shared.env(0)['TF_FORCE_GPU_ALLOW_GROWTH'] == 'true'  # two runs a GPU
  cpu = scale_sweep.Sweep([], BUNDLED, TINY, 30, {}, jobs=2, gpus=[])
  env = cpu.env(1)
  assert env['CUDA_VISIBLE_DEVICES'] == '2,3'  # left alone
  assert env['TF_NUM_INTRAOP_THREADS'] == str(max(1, (os.cpu_count() or 1) // 2))
  assert env['PYTHONPATH'].split(os.pathsep)[0] == REPO
  run = scale_sweep.Run(2.0, 7, '/x/scale-2/seed-7')
  assert sweep.train_command(run, resume=False)[1:] == [
      '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=/x/scale-2/seed-7',
      '--data_dir=' + BUNDLED, '--seed=7', '--num_samples=0',
      '--hparams=' + TINY + ',scale=2.0']
  assert sweep.train_command(run, resume=True)[-1] == '--resume_training'
