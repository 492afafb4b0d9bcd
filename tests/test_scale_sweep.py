"""The scale_sweep CLI end to end: a tiny sweep and the files it writes, a bad
command line."""

import json
import os
import subprocess
import sys

import pytest

from conftest import BUNDLED, REPO, run_folders


@pytest.mark.slow
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


@pytest.mark.slow
def test_bad_command_line_is_one_line_and_exit_2(tmp_path):
  out = str(tmp_path / 'never')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run(
      [sys.executable, '-m', 'sketch_rnn.scale_sweep', '--out=' + out,
       '--data_dir=' + BUNDLED, '--scales=0.5,x', '--hparams=num_steps=5'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 2, proc.stderr
  assert ("scale_sweep: error: --scales: hyperparameter 'scale' expects a float, "
          "got 'x'" in proc.stderr)
  assert 'Traceback' not in proc.stderr and not os.path.exists(out)
