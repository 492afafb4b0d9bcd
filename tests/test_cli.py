"""The command-line helpers: one definition per flag, --help, errors as one line."""

import glob
import os
import re
import subprocess
import sys
from unittest import mock

from absl import flags
import pytest

from sketch_rnn import cli
from sketch_rnn import errors
from sketch_rnn import scale_sweep
from sketch_rnn import sketch_rnn_data
from sketch_rnn import sketch_rnn_eval
from sketch_rnn import sketch_rnn_export
from sketch_rnn import sketch_rnn_sample
from sketch_rnn import sketch_rnn_train

from conftest import REPO

TOOLS = {'sketch_rnn_train': sketch_rnn_train, 'sketch_rnn_eval': sketch_rnn_eval,
         'sketch_rnn_sample': sketch_rnn_sample, 'scale_sweep': scale_sweep,
         'sketch_rnn_export': sketch_rnn_export,
         'sketch_rnn_data': sketch_rnn_data}


def help_of(tool, capsys):
  with mock.patch.object(sys, 'argv', [tool, '--help']):
    with pytest.raises(SystemExit) as e:
      TOOLS[tool].run_main()
  assert e.value.code == 0
  return capsys.readouterr().out


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_help_lists_the_tools_own_flags_with_defaults(tool, capsys):
  text = help_of(tool, capsys)
  listed = re.findall(r'^  --(\w+)', text, re.M)
  assert listed == list(TOOLS[tool].FLAG_NAMES)
  for name in listed:
    default = cli.FLAG_TABLE[name].default
    shown = 'none' if default is None else repr(default)
    assert '  --%s' % name in text and '(default: %s)' % shown in text, name
  # not absl's nor TensorFlow's own flags
  assert '--logtostderr' not in text and '--verbosity' not in text
  assert '--helpfull' in text
  # the usage, from the tool's docstring
  assert text.startswith(TOOLS[tool].__doc__.strip().splitlines()[0])


def test_hparams_help_states_the_grammar(capsys):
  text = help_of('sketch_rnn_train', capsys)
  assert 'no whitespace' not in text
  assert 'whitespace after a comma is allowed' in ' '.join(text.split())
  assert 'name=[a,b]' in text


def test_a_flag_means_what_its_tool_says():
  assert 'study folder' in cli.flag_help('out', 'scale_sweep')
  assert 'grid' in cli.flag_help('out', 'sketch_rnn_sample')
  assert 'shared by every run' in cli.flag_help('hparams', 'scale_sweep')
  assert cli.flag_help('hparams', 'sketch_rnn_eval') == cli.flag_help('hparams')


def test_every_flag_is_defined_once_from_the_table():
  # The tools were all imported: each flag they take is the table's, whatever
  # the order of the imports.
  for module in TOOLS.values():
    for name in module.FLAG_NAMES:
      assert flags.FLAGS[name].default == cli.FLAG_TABLE[name].default, name
      assert cli.flag_help(name, None) in flags.FLAGS[name].help or isinstance(
          cli.FLAG_TABLE[name].help, dict), name
  # and nothing in the package defines a flag elsewhere
  for path in glob.glob(os.path.join(REPO, 'sketch_rnn', '*.py')):
    if os.path.basename(path) == 'cli.py':
      continue
    text = open(path).read()
    assert 'DEFINE_' not in text and 'cli.define(' not in text, path


def test_every_flag_the_readme_names_exists():
  known = set(cli.FLAG_TABLE) | {'helpfull', 'help'}
  for path in [os.path.join(REPO, 'README.md')] + glob.glob(
      os.path.join(REPO, 'docs', '*.md')):
    text = open(path).read()
    for tool in TOOLS:
      for line in text.splitlines():
        if tool not in line:
          continue
        for name in re.findall(r'(?<![\w-])--([a-z_]+)', line):
          assert name in known, (path, name, line)


def run_with(main, tool='sketch_rnn_x'):
  with mock.patch.object(sys, 'argv', [tool]):
    with pytest.raises(SystemExit) as e:
      cli.run(main, tool, ())
  return e.value.code


def test_user_errors_are_one_line_with_their_exit_code(capsys):
  def bad_data(unused_argv):
    raise errors.SketchRNNError('datasets/x.npz: no such file')

  def bad_flag(unused_argv):
    raise errors.UsageError('--num must be at least 1')

  assert run_with(bad_data) == 1
  assert capsys.readouterr().err == 'sketch_rnn_x: error: datasets/x.npz: no such file\n'
  assert run_with(bad_flag) == 2
  assert capsys.readouterr().err == 'sketch_rnn_x: error: --num must be at least 1\n'
  # typed errors are user errors too
  assert run_with(lambda argv: (_ for _ in ()).throw(
      errors.CheckpointMismatchError('x'))) == 1


def test_an_unknown_flag_is_exit_code_2(capsys):
  with mock.patch.object(sys, 'argv', ['sketch_rnn_eval', '--no_such_flag=1']):
    with pytest.raises(SystemExit) as e:
      sketch_rnn_eval.run_main()
  assert e.value.code == 2
  assert "Unknown command line flag 'no_such_flag'" in capsys.readouterr().err


@pytest.mark.slow
def test_each_tool_runs_as_a_file_from_anywhere(tmp_path):
  # As Magenta's users run it: python sketch_rnn/<tool>.py, from another folder.
  for tool in TOOLS:
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'sketch_rnn', tool + '.py'), '--help'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r'^  --(\w+)', proc.stdout, re.M) == list(
        TOOLS[tool].FLAG_NAMES)


@pytest.mark.slow
def test_tensorflows_start_up_lines_stay_off_the_terminal(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  missing = str(tmp_path / 'nope')
  def run(environ):
    return subprocess.run(
        [sys.executable, '-m', 'sketch_rnn.sketch_rnn_eval', '--log_root=' + missing],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=300,
        check=False)
  proc = run(env)
  assert proc.returncode == 1
  # The error is all there is: no oneDNN, CUDA or cuInit line above it.
  assert proc.stderr == 'sketch_rnn_eval: error: --log_root %s: no such folder\n' % (
      missing)
  # TensorFlow's own variable wins: set, TensorFlow prints as it would.
  loud = run(dict(env, TF_CPP_MIN_LOG_LEVEL='0'))
  assert loud.returncode == 1 and len(loud.stderr.splitlines()) > 1
