"""The study's runner: parsing the plan (--sweep axes, seeds, the shared --hparams),
the run folders, the children's commands and GPUs, a restart that skips finished
runs, a failed run, one run's evaluation (sketch_rnn_eval --metrics), and a sweep
over two axes."""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from sketch_rnn import cli
from sketch_rnn import data_source
from sketch_rnn import errors
from sketch_rnn import metrics
from sketch_rnn import study
from sketch_rnn import study_plan

from conftest import BUNDLED, BUNDLED_SET, GRID_AXES, REPO, run_folders, sweep
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
  # The script in scripts/ is the same program; without --data_dir it takes the
  # runs' own data (not Magenta's default URL, which holds no shapes.npz).
  code, log = sweep(out, script=True, data_dir=None)
  assert code == 0, log
  assert [data_source.read(f) for f in run_folders(out)] == [BUNDLED] * len(SCALES)
  assert json.load(open(os.path.join(out, 'results.json')))['study'][
      'data_dir'] == BUNDLED
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
  # The study's classifier (one trained elsewhere may differ in the last bits:
  # the float sums of another thread count).
  cached = os.path.join(tiny_sweep[0], study.CLASSIFIER_FILE)
  mtime = os.path.getmtime(cached)
  code, out = eval_cli('--metrics', '--log_root=' + folder, '--data_dir=' + BUNDLED,
                       '--seed=0', '--diversity_samples=6', '--eval_sketches=12',
                       '--results_json=' + result, '--grid=' + grid,
                       '--classifier=' + cached)
  assert code == 0, out
  assert os.path.getmtime(cached) == mtime  # loaded, not trained again
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


DEFAULT_AXES = study_plan.parse_sweep(None)


def test_parse_seeds():
  assert study_plan.parse_seeds('1,2,3') == [1, 2, 3]
  for bad in ('', '1.5', '-2', '1,1'):
    with pytest.raises(errors.UsageError):
      study_plan.parse_seeds(bad)


def test_parse_sweep_values_take_the_hyperparameters_types():
  assert DEFAULT_AXES == [('scale', (0.5, 1.0, 2.0, 4.0))]
  assert cli.FLAG_TABLE['sweep'].default == [study_plan.DEFAULT_SWEEP]  # --help's
  axes = study_plan.parse_sweep(['scale:0.5, 2', 'kl_weight:0.25,1',
                                 'z_size:16,32', 'use_input_dropout:True,0',
                                 'enc_model:lstm,layer_norm'])
  assert axes == [('scale', (0.5, 2.0)), ('kl_weight', (0.25, 1.0)),
                  ('z_size', (16, 32)), ('use_input_dropout', (True, False)),
                  ('enc_model', ('lstm', 'layer_norm'))]
  assert [type(v) for _, values in axes for v in values[:1]] == [
      float, float, int, bool, str]
  # --scales is the first axis, --sweep=scale:...; alone, a study without scale.
  assert study_plan.parse_sweep(['kl_weight:1'], '0.5,2') == [
      ('scale', (0.5, 2.0)), ('kl_weight', (1.0,))]
  assert study_plan.parse_sweep([], '1') == [('scale', (1.0,))]
  assert study_plan.parse_sweep(['kl_tolerance:0.05,0.2']) == [
      ('kl_tolerance', (0.05, 0.2))]


@pytest.mark.parametrize('sweeps,scales,message', [
    (['kl_wieght:1'], None, "unknown hyperparameter 'kl_wieght' (did you mean "
                            "kl_weight or kl_weight_start?)"),
    (['data_set:a.npz,b.npz'], None, 'data_set is a list'),
    (['num_steps:10,20'], None, 'num_steps cannot be an axis'),
    (['max_seq_len:100'], None, 'max_seq_len cannot be an axis'),
    (['kl_weight:1', 'kl_weight:2'], None, 'kl_weight is given twice'),
    (['scale:1'], '2', 'scale is given twice (--scales is --sweep=scale:...)'),
    (['kl_weight:1,1.0'], None, 'kl_weight=1.0 is given twice (folder kl_weight-1)'),
    (['use_input_dropout:True,1'], None, 'use_input_dropout=1 is given twice'),
    (['kl_weight:'], None, 'give at least one value of kl_weight'),
    (['kl_weight: , '], None, 'give at least one value of kl_weight'),
    ([], '', 'give at least one value of scale'),
    (['kl_weight'], None, 'expected NAME:v1,v2,...'),
    (['kl_weight:x'], None, "hyperparameter 'kl_weight' expects a float, got 'x'"),
    (['z_size:1.5'], None, "hyperparameter 'z_size' expects an int, got '1.5'"),
    (['conditional:maybe'], None, "'conditional' expects a bool"),
    ([], '0.5,x', "--scales: hyperparameter 'scale' expects a float, got 'x'"),
])
def test_parse_sweep_refused(sweeps, scales, message):
  with pytest.raises(errors.UsageError, match=re.escape(message)) as e:
    study_plan.parse_sweep(sweeps, scales)
  assert '\n' not in str(e.value)


@pytest.mark.parametrize('hparams,sweeps,message', [
    ('data_set=[%s]' % BUNDLED_SET, None, 'must set num_steps'),
    ('num_steps=5,scale=2', None, 'leave scale out'),
    ('num_steps=5,kl_weight=2', ['scale:1', 'kl_weight:0.5,1'],
     '--hparams: leave kl_weight out; --sweep varies it (kl_weight 0.5, 1)'),
    ('num_steps=5,conditional=0', None, 'conditional=False'),
    ('num_steps=5,scal=2', None, "did you mean 'scale'"),
    # Every point of the grid is checked before any run starts.
    ('num_steps=5', ['scale:1', 'kl_weight:0.5,-1'],
     '--sweep, at scale 1, kl_weight -1: hyperparameter kl_weight=-1.0: must not '
     'be negative'),
    ('num_steps=5', ['scale:inf'], 'scale=inf: must be a finite number'),
    ('num_steps=5', ['enc_model:lstm,gru'], "enc_model='gru': must be one of"),
    ('num_steps=5', ['conditional:True,False'], 'at conditional False: '
                                                'conditional=False'),
])
def test_shared_hparams_refused(hparams, sweeps, message):
  with pytest.raises(errors.UsageError, match=re.escape(message)):
    study_plan.shared_hparams(hparams, study_plan.parse_sweep(sweeps))


def test_the_shared_hparams_may_set_scale_when_it_is_not_an_axis():
  axes = study_plan.parse_sweep(['kl_weight:0.25,1'])
  text, hps = study_plan.shared_hparams('num_steps=5,scale=2, ', axes)
  assert text == 'num_steps=5,scale=2' and hps.scale == 2.0
  runs = study.make_runs('/x', axes, [1], hps)
  assert [r.name for r in runs] == ['kl_weight-0.25/seed-1', 'kl_weight-1/seed-1']
  assert [(r.scale, r.label) for r in runs] == [(2.0, 'kl_weight 0.25'),
                                                (2.0, 'kl_weight 1')]


def test_run_folders_one_level_per_axis():
  _, hps = study_plan.shared_hparams('num_steps=5', DEFAULT_AXES)
  # The default study's folders, which existing studies hold.
  runs = study.make_runs('/x', DEFAULT_AXES, [1, 2], hps)
  assert [r.name for r in runs] == ['scale-%s/seed-%d' % (s, k) for s in (
      '0.5', '1', '2', '4') for k in (1, 2)]
  assert runs[0].folder == '/x/scale-0.5/seed-1' and runs[0].scale == 0.5
  assert runs[0].setting == (('scale', 0.5),) and runs[0].label == 'scale 0.5'
  axes = study_plan.parse_sweep(['scale:0.5,2', 'kl_weight:0.25,1'])
  runs = study.make_runs('/x', axes, [1], hps)
  assert [r.folder for r in runs] == [
      '/x/scale-0.5/kl_weight-0.25/seed-1', '/x/scale-0.5/kl_weight-1/seed-1',
      '/x/scale-2/kl_weight-0.25/seed-1', '/x/scale-2/kl_weight-1/seed-1']
  assert runs[2].setting == (('scale', 2.0), ('kl_weight', 0.25))
  assert runs[2].scale == 2.0 and runs[2].label == 'scale 2, kl_weight 0.25'
  # In the order given: kl_weight outermost.
  axes = study_plan.parse_sweep(['kl_weight:0.25', 'use_input_dropout:1,0'])
  assert [r.name for r in study.make_runs('/x', axes, [3], hps)] == [
      'kl_weight-0.25/use_input_dropout-True/seed-3',
      'kl_weight-0.25/use_input_dropout-False/seed-3']


def test_a_study_started_again_takes_its_runs_data(tmp_path):
  axes = study_plan.parse_sweep(['scale:0.5,2'])
  runs = study.make_runs(str(tmp_path), axes, [1],
                         study_plan.shared_hparams(TINY, axes)[1])
  assert study.runs_data_dir(runs) is None  # a new study: the flag's default
  for run in runs:
    os.makedirs(run.folder)
    data_source.write(run.folder, BUNDLED)
  assert study.runs_data_dir(runs) == BUNDLED
  other = tmp_path / 'other'
  other.mkdir()
  data_source.write(runs[1].folder, str(other))
  both = ', '.join(re.escape(d) for d in sorted([BUNDLED, str(other)]))
  with pytest.raises(errors.SketchRNNError, match=r'the runs of this study were '
                     r'trained on different data \(%s\): pass --data_dir' % both):
    study.runs_data_dir(runs)


def test_a_folder_trained_with_another_axis_value_is_refused(tmp_path):
  axes = study_plan.parse_sweep(['scale:2', 'kl_weight:0.25'])
  _, hps = study_plan.shared_hparams('num_steps=5', axes)
  folder = tmp_path / 'scale-2' / 'kl_weight-0.25' / 'seed-1'
  folder.mkdir(parents=True)
  config = study_plan.setting_hparams(hps, (('scale', 2.0), ('kl_weight', 0.25)))
  (folder / 'model_config.json').write_text(config.to_json())
  study.make_runs(str(tmp_path), axes, [1], hps)  # its own values: fine
  config.kl_weight = 1.0
  (folder / 'model_config.json').write_text(config.to_json())
  with pytest.raises(errors.SketchRNNError, match='was trained with kl_weight=1.0, '
                     'this sweep asks for 0.25'):
    study.make_runs(str(tmp_path), axes, [1], hps)


def test_each_job_gets_its_own_gpu_and_the_trainers_command(monkeypatch):
  for name in ('TF_FORCE_GPU_ALLOW_GROWTH', 'TF_NUM_INTRAOP_THREADS',
               'TF_NUM_INTEROP_THREADS'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '2,3')
  assert study_plan.detect_gpus('auto') == ['2', '3']
  assert study_plan.detect_gpus('none') == []
  assert study_plan.detect_gpus('0,1') == ['0', '1']
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
  run = study.Run((('scale', 2.0),), 7, '/x/scale-2/seed-7')
  assert sweep.train_command(run, resume=False)[1:] == [
      '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=/x/scale-2/seed-7',
      '--data_dir=' + BUNDLED, '--seed=7', '--num_samples=0',
      '--hparams=' + TINY + ',scale=2.0']
  assert sweep.train_command(run, resume=True)[-1] == '--resume_training'
  distinct = study.Sweep([], BUNDLED, TINY, 30, {}, batch_sampler='distinct')
  assert distinct.train_command(run, resume=True)[-3:] == [
      '--batch_sampler=distinct', '--hparams=' + TINY + ',scale=2.0',
      '--resume_training']
  # Every axis' value, in the --hparams grammar, after the shared ones.
  run = study.Run((('scale', 0.5), ('kl_weight', 0.25), ('use_input_dropout', True),
                   ('z_size', 16), ('enc_model', 'layer_norm')), 1, '/x/y')
  sweep = study.Sweep([], BUNDLED, 'num_steps=30', 30, {})
  text = sweep.train_command(run, resume=False)[-1]
  assert text == ('--hparams=num_steps=30,scale=0.5,kl_weight=0.25,'
                  'use_input_dropout=True,z_size=16,enc_model=layer_norm')
  _, hps = study_plan.shared_hparams('num_steps=30', [])
  assert hps.copy().parse(text.split('=', 1)[1]) == study_plan.setting_hparams(
      hps, run.setting)
  assert study_plan.with_setting('', (('kl_tolerance', 0.05),)) == (
      'kl_tolerance=0.05')


def test_the_evaluation_child_is_sketch_rnn_eval_metrics():
  options = study.eval_options(6, 12, 3, 5)
  assert options == dict(diversity_samples=6, eval_sketches=12, eval_seed=3,
                         iwae_samples=5, metrics_version=study.METRICS_VERSION)
  sweep = study.Sweep([], BUNDLED, TINY, 30, options, classifier_path='/x/c.npz')
  run = study.Run((('scale', 2.0),), 7, '/x/scale-2/seed-7')
  assert sweep.evaluate_command(run)[1:] == [
      '-m', 'sketch_rnn.sketch_rnn_eval', '--metrics', '--log_root=/x/scale-2/seed-7',
      '--data_dir=' + BUNDLED, '--seed=3', '--diversity_samples=6',
      '--eval_sketches=12', '--iwae_samples=5',
      '--results_json=/x/scale-2/seed-7/metrics.json',
      '--grid=/x/scale-2/seed-7/grid.svg', '--classifier=/x/c.npz']
  for bad in ((1, 12, 0), (6, -1, 0), (6, 12, 0, 0)):
    with pytest.raises(errors.UsageError):
      study.eval_options(*bad)


# -- a sweep over two axes ------------------------------------------------------------


@pytest.mark.slow
def test_a_sweep_over_two_axes_trains_their_grid(tiny_grid):
  out, log = tiny_grid
  assert '4 runs (scale 0.5, 2 x kl_weight 0.5, 1 x seeds 1)' in log
  assert sorted(f for f in os.listdir(out) if os.path.isdir(os.path.join(out, f))) == [
      'scale-0.5', 'scale-2']
  for scale in GRID_AXES[0][1]:
    assert sorted(os.listdir(os.path.join(out, 'scale-%g' % scale))) == [
        'kl_weight-0.5', 'kl_weight-1']
    for kl_weight in GRID_AXES[1][1]:
      folder = os.path.join(out, 'scale-%g' % scale, 'kl_weight-%g' % kl_weight,
                            'seed-1')
      config = json.load(open(os.path.join(folder, 'model_config.json')))
      assert (config['scale'], config['kl_weight']) == (scale, kl_weight), folder
      assert config['num_steps'] == 4 and config['dec_rnn_size'] == 16
      record = json.load(open(os.path.join(folder, study.METRICS_FILE)))
      assert record['checkpoint'] == 'vector-4' and record['scale'] == scale
  assert log.count('starting training') == 4
