"""The study's report: report.md, its summary and tables, the plots, from the tiny
study's runs."""

import csv
import glob
import json
import os
import re
import shutil
import sys

import pytest

from sketch_rnn import metrics
from sketch_rnn import study
from sketch_rnn import study_plots
from sketch_rnn import study_report

from conftest import BUNDLED, GRID_AXES, report_table
from conftest import SWEEP_HPARAMS as TINY
from conftest import SWEEP_SCALES as SCALES


@pytest.mark.slow
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
  assert text.count('| metric | better | scale 0.5 | scale 2 |') == 2
  # The invariant metrics first, then the coordinate-bound ones.
  invariant, bound = text.split('### Invariant metrics', 1)[1].split(
      "### Tied to z's coordinates", 1)
  for m in metrics.METRICS:
    assert ('| %s |' % m.title in invariant) == m.invariant, m.title
    assert ('| %s |' % m.title in bound.split('\n## ')[0]) != m.invariant, m.title
  findings = text.split('## Findings', 1)[1].split('\n## ', 1)[0]
  for key in study_report.FINDINGS_KEYS:
    m = study_report.METRIC[key]
    assert re.search(r'\*\*%s\*\* \(%s is better\): scale [\d.]+ is best at' % (
        re.escape(m.title), m.better), findings), m.title
  assert 'test accuracy' in text and 'IWAE with k = 64' in text
  results = json.load(open(os.path.join(out, 'results.json')))
  assert sorted(r['scale'] for r in results['runs']) == list(SCALES)
  for r in results['runs']:
    assert r['global_step'] == 30
    for key in metrics.METRIC_KEYS:
      assert isinstance(r[key], (int, float)), key  # the classifier's too
    assert r['classifier']['test_accuracy'] > 0.5
  assert [s['label'] for s in results['summary']] == ['scale 0.5', 'scale 2']
  assert [s['setting'] for s in results['summary']] == [{'scale': s} for s in SCALES]
  assert results['study']['axes'] == [dict(name='scale', values=list(SCALES))]
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
  assert tags == {(s, t) for s in SCALES for t in study_report.CURVE_TAGS}
  grid = open(os.path.join(out, 'grid-scale-2.svg')).read()
  assert grid.count('<g id="cell-') == 40
  assert 'slerp t=0.00' in grid and 'greedy from mu' in grid


@pytest.mark.slow
def test_plots(tiny_sweep):
  pytest.importorskip('matplotlib')
  out, _ = tiny_sweep
  for name in ('curves.png', 'curves.svg', 'metrics.png', 'metrics.svg',
               'rate_distortion.png', 'rate_distortion.svg'):
    assert os.path.getsize(os.path.join(out, name)) > 1000, name
  text = open(os.path.join(out, 'report.md')).read()
  assert '![learning curves](curves.png)' in text
  assert '![rate and distortion](rate_distortion.png)' in text
  assert '![metrics against scale](metrics.png)' in text


@pytest.mark.slow
def test_report_without_matplotlib(tiny_sweep, tmp_path, monkeypatch):
  out = str(tmp_path / 'study')
  shutil.copytree(tiny_sweep[0], out)
  for path in glob.glob(os.path.join(out, '*.png')) + glob.glob(
      os.path.join(out, '*.svg')):
    os.remove(path)
  monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import fails
  runs = [study.Run((('scale', s),), 1, os.path.join(out, 'scale-%g' % s, 'seed-1'),
                    status='done') for s in SCALES]
  info = dict(data_dir=BUNDLED, hparams=TINY, num_steps=30,
              axes=[('scale', SCALES)], scale=1.0,
              seeds=[1], eval_options=dict(diversity_samples=6, eval_sketches=12,
                                           eval_seed=0), command='test')
  path = study_report.write_report(out, runs, info)
  text = open(path).read()
  assert 'No plots: matplotlib is not installed' in text
  assert not glob.glob(os.path.join(out, '*.png'))
  assert os.path.exists(os.path.join(out, 'grid-scale-0.5.svg'))
  assert len(report_table(text)) == len(metrics.METRICS)


def hand_made_summary(settings, values, std):
  """{setting: {metric: (mean, std, 3)}}: values[i] for setting i on every metric."""
  return {s: {k: (v, std, 3) for k in metrics.METRIC_KEYS}
          for s, v in zip(settings, values)}


def test_findings_weigh_each_lead_against_the_seed_spread():
  settings = [(('scale', s),) for s in (0.5, 1.0, 2.0)]
  summary = hand_made_summary(settings, (3.0, 1.0, 2.0), 0.5)
  summary[settings[1]]['iwae_scaled'] = (-90.0, 0.5, 3)
  lines = '\n'.join(study_report.findings_lines(summary, settings, 3))
  # Lower is better: scale 1, 92 ahead of scale 2, 184 standard deviations; higher
  # is better: scale 0.5, 1 ahead, only 2 standard deviations.
  assert ('**IWAE bound on -log p(x), prior N(0, s^2 I)** (lower is better): scale 1 '
          'is best at -90.0000, ahead of scale 2 (2.0000) by 92.0000, 184.0 times '
          'their seed-to-seed standard deviation (0.5000). Worst: scale 0.5 (3.0000).'
          in lines)
  assert ('**Mutual information I(x; z)** (higher is better): scale 0.5 is best at '
          '3.0000, ahead of scale 2 (2.0000) by 1.0000, within twice their '
          'seed-to-seed standard deviation (0.5000)' in lines)
  assert lines.startswith('Best beyond twice the seed-to-seed standard deviation of '
                          'the two settings compared (a standard deviation of 3 seeds '
                          'is itself rough: "beyond twice" is a hint, not a test), on '
                          'the 8 invariant metrics below: scale 1 on 1.')
  assert ('active units, raw (Var(mu_d) > 0.01): scale 0.5 3, scale 1 1, scale 2 2; '
          'coordinate-free: scale 0.5 3, scale 1 1, scale 2 2' in lines)
  # The rates in increasing order.
  assert ('scale 1: rate 1.0000 (paid 1.0000), distortion 1.0000; scale 2: rate '
          '2.0000 (paid 2.0000), distortion 2.0000; scale 0.5: rate 3.0000' in lines)
  # Unequal spreads pool as the root of the mean variance, of the two compared.
  summary[settings[0]]['mutual_info'] = (3.0, 1.5, 3)
  assert study_report.seed_spread(summary, settings, 'mutual_info') == pytest.approx(
      ((2.25 + 0.25 + 0.25) / 3) ** 0.5)
  lines = '\n'.join(study_report.findings_lines(summary, settings, 3))
  assert ('scale 0.5 is best at 3.0000, ahead of scale 2 (2.0000) by 1.0000, within '
          'twice their seed-to-seed standard deviation (%.4f)' % (
              ((2.25 + 0.25) / 2) ** 0.5) in lines)


def test_findings_with_one_seed_say_the_noise_is_unknown(tmp_path):
  settings = [(('use_input_dropout', d), ('kl_weight', w)) for d in (True, False)
              for w in (0.25, 1.0)]
  summary = {s: {k: (float(i), None, 1) for k in metrics.METRIC_KEYS}
             for i, s in enumerate(settings)}
  lines = '\n'.join(study_report.findings_lines(summary, settings, 1))
  assert ('(lower is better): use_input_dropout True, kl_weight 0.25 is best at '
          '0.0000, ahead of use_input_dropout True, kl_weight 1 (1.0000) by 1.0000; '
          'one seed, so the noise is unknown.' in lines)
  assert 'One seed per setting' in lines
  assert 'No setting is best on any invariant metric' in lines
  assert study_report.grid_name(settings[1]) == (
      'grid-use_input_dropout-True_kl_weight-1.svg')
  pytest.importorskip('matplotlib')
  # A first axis that is not a number: one point per value, a line per kl_weight.
  study_plots.plot_metrics(summary, settings, str(tmp_path))
  svg = open(os.path.join(str(tmp_path), 'metrics.svg')).read()
  assert 'use_input_dropout' in svg and 'kl_weight 0.25' in svg


@pytest.mark.slow
def test_report_of_a_two_axis_grid(tiny_grid):
  out, _ = tiny_grid
  text = open(os.path.join(out, 'report.md')).read()
  labels = ['scale %g, kl_weight %g' % (s, w) for s in GRID_AXES[0][1]
            for w in GRID_AXES[1][1]]
  assert text.startswith('# The latent-noise study: sketch-rnn at scale 0.5, 2 x '
                         'kl_weight 0.5, 1\n')
  assert '- axes: `scale` 0.5, 2; `kl_weight` 0.5, 1; 4 settings' in text
  assert text.count('| metric | better | %s |' % ' | '.join(labels)) == 2
  table = report_table(text)
  assert len(table) == len(metrics.METRICS)
  assert all(len(cells) == 4 for cells in table.values())
  for label in labels:
    assert '| %s |' % label in text  # its row of the learning curves
    assert '### %s (seed 1)' % label in text
  assert '## Metrics against scale' in text
  results = json.load(open(os.path.join(out, 'results.json')))
  assert results['study']['axes'] == [dict(name=n, values=list(v))
                                      for n, v in GRID_AXES]
  assert [s['label'] for s in results['summary']] == labels
  assert [r['setting'] for r in results['runs']] == [
      dict(scale=s, kl_weight=w) for s in GRID_AXES[0][1] for w in GRID_AXES[1][1]]
  with open(os.path.join(out, 'results.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [(float(r['scale']), float(r['kl_weight'])) for r in rows] == [
      (s, w) for s in GRID_AXES[0][1] for w in GRID_AXES[1][1]]
  with open(os.path.join(out, 'curves.csv')) as f:
    assert next(csv.reader(f))[:3] == ['scale', 'kl_weight', 'seed']
  for name in ('grid-scale-0.5_kl_weight-0.5.svg', 'grid-scale-2_kl_weight-1.svg'):
    assert os.path.getsize(os.path.join(out, name)) > 0, name
  pytest.importorskip('matplotlib')
  assert os.path.getsize(os.path.join(out, 'metrics.svg')) > 1000
