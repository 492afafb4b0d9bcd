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
"""The study's report: tables, plots and report.md from the runs' files.

Reads each done run's metrics.json (written by `sketch_rnn_eval --metrics`), its
sweep.json (training wall time) and its TensorBoard events (the learning curves),
averages the metrics over the seeds of each setting (a point of the --sweep grid,
the tuple ((name, value), ...) that keys everything here), and writes report.md,
results.csv, results.json, curves.csv, the grids and, with matplotlib, the plots
into the study folder.
"""

import csv
import datetime
import glob
import json
import math
import os
import shutil

from absl import logging
import numpy as np
import tensorflow as tf
from tensorflow.core.util import event_pb2

from sketch_rnn import hparams
from sketch_rnn import metrics
from sketch_rnn import study
from sketch_rnn import study_plan
from sketch_rnn import study_plots
from sketch_rnn import utils

CURVE_TAGS = ('Train_Reconstr_Cost', 'Train_KL_Cost', 'Valid_Reconstr_Cost',
              'Valid_KL_Cost')


def read_scalars(folder, tags=CURVE_TAGS):
  """{tag: {step: value}} from a run's TensorBoard events.

  Files are read oldest first, so where a resumed run logged a step again (the
  steps after its last checkpoint), the later value wins. A file cut short by a
  kill is read up to the cut.
  """
  scalars = {tag: {} for tag in tags}
  for path in sorted(glob.glob(os.path.join(folder, 'events.out.tfevents.*'))):
    try:
      for record in tf.data.TFRecordDataset(path):
        event = event_pb2.Event.FromString(record.numpy())
        for value in event.summary.value:
          if value.tag in scalars:
            number = (float(tf.make_ndarray(value.tensor))
                      if value.HasField('tensor') else value.simple_value)
            scalars[value.tag][int(event.step)] = number
    except tf.errors.DataLossError:
      pass
  return scalars


def collect(runs):
  """One row per done run: setting (and its scale), seed, step, timing, metrics,
  learning curves."""
  rows = []
  for run in runs:
    if run.status != 'done':  # a failed run's metrics.json may be of an older state
      continue
    record = study.read_json(os.path.join(run.folder, study.METRICS_FILE))
    if not isinstance(record, dict) or 'metrics' not in record:
      continue
    result = record['metrics']
    timing = study.read_json(os.path.join(run.folder, study.RUN_RECORD)) or {}
    row = dict(setting=run.setting, scale=run.scale, seed=run.seed,
               global_step=record['global_step'],
               checkpoint=record['checkpoint'],
               train_seconds=timing.get('train_seconds'),
               eval_seconds=record.get('seconds'),
               classifier=record.get('classifier'))
    row.update({k: result.get(k) for k in metrics.METRIC_KEYS})
    for k in ('z_size', 'num_test_sketches', 'num_scored_sketches', 'iwae_samples',
              'latent_variances', 'signal_ratios'):
      row[k] = result.get(k)
    row['curves'] = read_scalars(run.folder)
    rows.append(row)
  return rows


def aggregate(rows, settings):
  """{setting: {metric: (mean, std or None, n)}} over the seeds of each setting."""
  summary = {}
  for setting in settings:
    mine = [r for r in rows if r['setting'] == setting]
    summary[setting] = {}
    for key in metrics.METRIC_KEYS:
      # None (a classifier's score without a classifier) counts as nan.
      values = np.array([np.nan if r[key] is None else r[key] for r in mine],
                        np.float64)
      with np.errstate(invalid='ignore'):
        mean = float(np.mean(values))
        std = float(np.std(values, ddof=1)) if len(values) > 1 else None
      summary[setting][key] = (
          mean, std if std is None or math.isfinite(std) else None, len(values))
  return summary


def _fmt(value, key=None):
  if value is None:
    return 'n/a'
  if not math.isfinite(value):
    return 'inf' if value > 0 else ('-inf' if value < 0 else 'nan')
  if key in ('active_units', 'active_units_free') and float(value).is_integer():
    return '%d' % value
  return '%.4f' % value


def _cell(stat, key):
  mean, std, _ = stat
  return _fmt(mean, key) + (' ± %s' % _fmt(std) if std is not None else '')


def best_settings(summary, settings):
  """{metric: [best settings]} by each metric's direction (ties kept; finite
  means)."""
  best = {}
  for m in metrics.METRICS:
    if m.better is None:  # a rate: neither direction is better
      continue
    means = {s: summary[s][m.key][0] for s in settings
             if math.isfinite(summary[s][m.key][0])}
    if means:
      target = (min if m.better == 'lower' else max)(means.values())
      best[m.key] = [s for s in settings if means.get(s) == target]
  return best


# The findings' metrics: the invariant ones that answer the study's question.
FINDINGS_KEYS = ('iwae_scaled', 'nelbo_scaled', 'distortion', 'mutual_info',
                 'active_units_free', 'recon_recognition', 'fd_recon',
                 'fd_prior_scaled')
METRIC = {m.key: m for m in metrics.METRICS}


def seed_spread(summary, settings, key):
  """The seed-to-seed standard deviation of a metric, pooled over the settings
  (the root of their mean variance), or None with one seed."""
  stds = [summary[s][key][1] for s in settings if summary[s][key][1] is not None]
  return float(np.sqrt(np.mean(np.square(stds)))) if stds else None


def _values(summary, settings, key):
  return ', '.join('%s %s' % (study_plan.setting_label(s), _fmt(summary[s][key][0], key))
                   for s in settings)


def findings_lines(summary, settings, num_seeds):
  """The findings, written from the numbers: per invariant metric the best setting,
  its lead over the runner-up in units of the seed-to-seed spread, then what the
  coordinate-bound counts say beside the invariant ones."""
  label = study_plan.setting_label
  lines = []
  if len(settings) < 2:
    return ['One setting: nothing to compare.']
  wins = {}
  for key in FINDINGS_KEYS:
    m = METRIC[key]
    ranked = sorted((s for s in settings if math.isfinite(summary[s][key][0])),
                    key=lambda s: summary[s][key][0], reverse=m.better == 'higher')
    if len(ranked) < 2:
      continue
    best, runner = ranked[0], ranked[1]
    gap = abs(summary[best][key][0] - summary[runner][key][0])
    spread = seed_spread(summary, (best, runner), key)  # of the two compared
    line = '- **%s** (%s is better): %s is best at %s, ahead of %s (%s) by %s' % (
        m.title, m.better, label(best), _fmt(summary[best][key][0], key),
        label(runner), _fmt(summary[runner][key][0], key), _fmt(gap))
    if spread is None:
      line += '; one seed, so the noise is unknown.'
    elif gap <= 2 * spread:
      line += (', within twice their seed-to-seed standard deviation (%s): these '
               'seeds do not separate them.' % _fmt(spread))
    else:
      line += ', %.1f times their seed-to-seed standard deviation (%s).' % (
          gap / spread if spread else float('inf'), _fmt(spread))
      wins[best] = wins.get(best, 0) + 1
    lines.append(line + ' Worst: %s (%s).' % (label(ranked[-1]),
                                              _fmt(summary[ranked[-1]][key][0], key)))
  caveat = ('' if num_seeds < 2 else
            ' (a standard deviation of %d seeds is itself rough: "beyond twice" is '
            'a hint, not a test)' % num_seeds)
  if wins:
    lines.insert(0, 'Best beyond twice the seed-to-seed standard deviation of the two '
                 'settings compared%s, on the %d invariant metrics below: %s.\n' % (
                     caveat, len(lines), '; '.join(
                         '%s on %d' % (label(s), n) for s, n in sorted(
                             wins.items(), key=lambda item: -item[1]))))
  elif lines:
    lines.insert(0, 'No setting is best on any invariant metric beyond twice the '
                 'seed-to-seed standard deviation%s.\n' % caveat)
  lines.append('- **Coordinates**: active units, raw (Var(mu_d) > %g): %s; '
               'coordinate-free: %s. The raw count is tied to z\'s units (mu / s at '
               'scale s); read the coordinate-free one.' % (
                   metrics.ACTIVE_THRESHOLD, _values(summary, settings, 'active_units'),
                   _values(summary, settings, 'active_units_free')))
  lines.append('- **Rate and distortion** (nats per sketch, by rate): %s. The rate '
               'paid is the rate plus the means-only penalty of scale.' % '; '.join(
                   '%s: rate %s (paid %s), distortion %s' % (
                       label(s), _fmt(summary[s]['rate'][0]),
                       _fmt(summary[s]['rate_paid'][0]),
                       _fmt(summary[s]['distortion'][0]))
                   for s in sorted(settings, key=lambda s: summary[s]['rate'][0])))
  if num_seeds < 2:
    lines.append('\nOne seed per setting: no error bars, and small differences may '
                 'be noise; more seeds (--seeds=1,2,3) tell.')
  return lines


def _json_safe(value):
  """Non-finite floats as the strings 'inf', '-inf', 'nan' (JSON has none)."""
  if isinstance(value, float) and not math.isfinite(value):
    return _fmt(value)
  if isinstance(value, dict):
    return {k: _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  return value


def write_tables(out, rows, summary, settings, info, runs):
  """results.csv (one row per run), curves.csv, results.json (all of it); a
  column per axis in the CSVs."""
  names = [n for n, _ in info['axes']]
  columns = ['seed', 'global_step', 'train_seconds'] + list(metrics.METRIC_KEYS)
  with open(os.path.join(out, 'results.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(names + columns)
    for r in rows:
      writer.writerow([v for _, v in r['setting']] +
                      [_json_safe(r[c]) for c in columns])
  with open(os.path.join(out, 'curves.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(names + ['seed', 'tag', 'step', 'value'])
    for r in rows:
      for tag in CURVE_TAGS:
        for step, value in sorted(r['curves'][tag].items()):
          writer.writerow([v for _, v in r['setting']] + [r['seed'], tag, step,
                                                          value])
  label = study_plan.setting_label
  best = best_settings(summary, settings)
  results = dict(
      study=dict(data_dir=info['data_dir'], hparams=info['hparams'],
                 num_steps=info['num_steps'],
                 axes=[dict(name=n, values=list(v)) for n, v in info['axes']],
                 scale=info.get('scale') if 'scale' not in names else None,
                 seeds=info['seeds'], evaluation=info['eval_options']),
      metrics={m.key: dict(title=m.title, better=m.better, definition=m.definition)
               for m in metrics.METRICS},
      runs=[dict({k: v for k, v in r.items() if k != 'curves'},
                 setting=dict(r['setting'])) for r in rows],
      summary=[dict(setting=dict(s), label=label(s),
                    metrics={k: dict(mean=v[0], std=v[1], n=v[2])
                             for k, v in summary[s].items()}) for s in settings],
      best={k: [label(s) for s in v] for k, v in best.items()},
      failed=[dict(run=r.name, error=r.error) for r in runs if r.status == 'failed'],
      note='Non-finite numbers are the strings "inf", "-inf", "nan".')
  utils.write_text_atomic(os.path.join(out, 'results.json'), json.dumps(
      _json_safe(results), indent=1, allow_nan=False))


def grid_name(setting):
  """grid-scale-2.svg; with several axes grid-scale-2_kl_weight-0.25.svg."""
  return 'grid-%s.svg' % '_'.join(study_plan.axis_folder(n, v) for n, v in setting)


def copy_grids(out, rows, settings, runs):
  """<out>/grid-<setting>.svg from each setting's first seed: {setting: (file,
  seed)}."""
  grids = {}
  for setting in settings:
    seeds = [r['seed'] for r in rows if r['setting'] == setting]
    for run in runs:
      src = os.path.join(run.folder, study.GRID_FILE)
      if run.setting == setting and run.seed in seeds and os.path.exists(src):
        name = grid_name(setting)
        shutil.copyfile(src, os.path.join(out, name))
        grids[setting] = (name, run.seed)
        break
  return grids


def _seconds(rows):
  seconds = [r['eval_seconds'] for r in rows if r.get('eval_seconds')]
  return ('scoring took %.0f to %.0f s' % (min(seconds), max(seconds)) if seconds
          else 'scoring time not recorded')


def _table(header, lines):
  # A '|' in a cell (p(x|z), KL(q || p)) would end it: escaped, as Markdown wants.
  def row(cells):
    return '| %s |' % ' | '.join(str(c).replace('|', '\\|') for c in cells)
  return [row(header), '|%s' % ('---|' * len(header))] + [row(c) for c in lines]


def report_markdown(rows, summary, settings, info, runs, grids, plotted):
  """The text of report.md."""
  first = rows[0]
  names = [n for n, _ in info['axes']]
  label = study_plan.setting_label
  n_seeds = max(v[2] for s in settings for v in summary[s].values())
  best = best_settings(summary, settings)
  z_size = ('per setting' if 'z_size' in names else '%s' % first['z_size'])
  md = ['# The latent-noise study: sketch-rnn at %s\n' % study_plan.axes_text(
      info['axes'])]
  md.append('`scale` is the standard deviation of eps in z = mu + sigma * eps, '
            'eps ~ N(0, scale^2); scale 1 is Magenta\'s model%s. Every setting '
            'was trained with the same other hyperparameters and seed%s %s.\n' % (
                '' if 'scale' in names else
                '; every run here has scale %g' % info['scale'],
                's' if len(info['seeds']) > 1 else '',
                ', '.join(map(str, info['seeds']))))
  md.append('- axes: %s; %d settings (every combination), a column each below' % (
      '; '.join('`%s` %s' % (n, ', '.join(map(study_plan.value_text, v)))
                for n, v in info['axes']),
      len(study_plan.settings(info['axes']))))
  md.append('- data: `%s` in `%s`; test split: %d sketches in full batches '
            '(Magenta\'s costs), %d of them scored by the rest' % (
                ', '.join(hparams.get_default_hparams().parse(
                    info['hparams']).data_set), info['data_dir'],
                first['num_test_sketches'], first['num_scored_sketches']))
  md.append('- shared hyperparameters: `%s` (z_size %s), %d steps per run' % (
      info['hparams'], z_size, info['num_steps']))
  md.append('- evaluation: eps, importance samples and prior samples from seed %d '
            '(the same draws for every run); IWAE with k = %d; diversity over %d '
            'prior samples per temperature; %s per run' % (
                info['eval_options']['eval_seed'], first['iwae_samples'],
                info['eval_options']['diversity_samples'], _seconds(rows)))
  judged = first.get('classifier')
  md.append('- sketch classifier: %s' % (
      'none (the data has one class): no recognition, class or Frechet scores'
      if not judged else '%d classes (%s), test accuracy %.3f on %d test sketches '
      '(chance %.3f); cached in `%s`' % (
          len(judged['classes']), ', '.join(judged['classes']),
          judged['test_accuracy'], judged['num_test_sketches'],
          1.0 / len(judged['classes']), study.CLASSIFIER_FILE)))
  md.append('- written %s by `%s`\n' % (
      datetime.datetime.now().isoformat(timespec='seconds'), info['command']))
  done = {(r['setting'], r['seed']) for r in rows}
  missing = [r for r in runs if (r.setting, r.seed) not in done]
  if missing:
    md.append('**Missing from the tables**: %s.\n' % ', '.join(
        '%s (%s)' % (r.name, r.error or r.status) for r in missing))

  md += ['## Findings\n'] + findings_lines(summary, settings, n_seeds) + ['']

  md.append('## Results\n')
  md.append('**Which to read.** `scale` changes z\'s coordinates as well as what '
            'is learnt (docs/study.md): the first table\'s metrics are the same for '
            'a model at scale s and its rescaled scale-1 twin, so they compare '
            'settings on what was learnt. The second table\'s are tied to z\'s '
            'coordinates (or are Magenta\'s means): beside them for comparison with '
            'other work, not for ranking scales.\n')
  md.append('Mean ± standard deviation over seeds (%s per setting); bold: the best '
            'setting on each metric with a direction. Nats are per test sketch. Per '
            'run: `results.csv`, `results.json`.\n' % (
                '/'.join(sorted({str(summary[s]['recon_mu'][2]) for s in settings}))
                + ' seed(s)'))
  for invariant, title in ((True, 'Invariant metrics'),
                           (False, 'Tied to z\'s coordinates')):
    lines = []
    for m in metrics.METRICS:
      if m.invariant != invariant:
        continue
      cells = [_cell(summary[s][m.key], m.key) for s in settings]
      if len(settings) > 1:
        cells = ['**%s**' % c if s in best.get(m.key, ()) else c
                 for s, c in zip(settings, cells)]
      lines.append([m.title, m.better or '-'] + cells)
    md += ['### %s\n' % title] + _table(
        ['metric', 'better'] + [label(s) for s in settings], lines) + ['']
  md.append('Active units count out of z_size = %s.\n' % z_size)

  md.append('## Rate and distortion\n')
  if plotted:
    md.append('![rate and distortion](rate_distortion.png)\n\n'
              '`rate_distortion.svg` too. A point per run. Left: the rate in the '
              'decoder\'s coordinates, KL(q || N(0, s^2 I)) (invariant); right: the '
              'KL the training loss paid (the left one plus the means-only penalty '
              '0.5 (s^2 - 1) sum((mu/s)^2)).\n')
  md += _table(['run', 'rate', 'rate paid', 'distortion', 'negative ELBO'], [
      ['%s, seed %d' % (label(r['setting']), r['seed'])] +
      [_fmt(r[k]) for k in ('rate', 'rate_paid', 'distortion', 'nelbo_scaled')]
      for r in rows]) + ['']

  md.append('## What the metrics are\n')
  md.append('On the test split, with the conventions of Magenta\'s evaluation '
            'during training: dropout off, the pen loss not masked after the end, '
            'full batches. Distances are in the dataset\'s normalised units (offsets '
            'divided by the train split\'s standard deviation). A sketch\'s points '
            'are the cumulative sums of its offsets (an empty sketch is the one '
            'point (0, 0)); the symmetric Chamfer distance of two point sets is the '
            'mean distance from a point to the nearest point of the other set, '
            'averaged over both directions.\n')
  md += _table(['metric', 'better', 'invariant', 'definition'],
               [[m.title, m.better or '-', 'yes' if m.invariant else 'no',
                 m.definition] for m in metrics.METRICS])
  md.append('')

  md.append('## Learning curves\n')
  md.append('From the runs\' TensorBoard events; every point is in `curves.csv`. '
            'Train values are single batches (every 20 steps, with dropout and the '
            'run\'s own eps), valid values the whole valid split at each '
            'validation.\n')
  if plotted:
    md.append('![learning curves](curves.png)\n\n`curves.svg` too. Mean over seeds; '
              'solid: train, dashed: valid; band: ± one standard deviation.\n')
  lines = []
  for setting in settings:
    cells = [label(setting)]
    for tag in CURVE_TAGS:
      logged = [r['curves'][tag] for r in rows if r['setting'] == setting
                and r['curves'][tag]]
      cells.append('%.4f (step %d)' % (np.mean([c[max(c)] for c in logged]),
                                       max(max(c) for c in logged))
                   if logged else 'n/a')
    lines.append(cells)
  md.append('The last logged values (mean over seeds):\n')
  md += _table(['setting'] + list(CURVE_TAGS), lines) + ['']

  md.append('## Metrics against %s\n' % names[0])
  if plotted:
    md.append('![metrics against %s](metrics.png)\n\n`metrics.svg` too. Error '
              'bars: ± one standard deviation over seeds%s.\n' % (
                  names[0], '; one line per setting of %s' % ', '.join(names[1:])
                  if len(names) > 1 else ''))
  else:
    md.append('No plots: matplotlib is not installed (`pip install -e ".[report]"`, '
              'then the same command again; finished runs are skipped). The '
              'numbers behind them are in `results.csv` and `curves.csv`.\n')

  md.append('## Samples, reconstructions, interpolation\n')
  md.append('Per setting, from its first seed, with the same test sketches and '
            'the same draws for every setting. Row 1: prior samples, z ~ N(0, I), '
            'temperature 0.5 (Magenta\'s sampler). Row 2: the same draws times s, '
            'z ~ N(0, s^2 I), the spread the decoder saw in training. Row 3: the '
            'aggregate posterior, one z ~ q(z|x) of each of 8 random test sketches, '
            'temperature 0.5. Row 4: test sketches 0 to 3 (file order), each beside '
            'the greedy decoding of its mu. Row 5: test sketch 0, the greedy '
            'decodings along the slerp from its mu to that of test sketch 1, test '
            'sketch 1.\n')
  for setting in settings:
    if setting in grids:
      name, seed = grids[setting]
      md.append('### %s (seed %d)\n\n![%s](%s)\n' % (
          label(setting), seed, label(setting), name))

  md.append('## Runs\n')
  by_run = {(r['setting'], r['seed']): r for r in rows}
  lines = []
  for run in runs:
    row = by_run.get((run.setting, run.seed))
    timing = study.read_json(os.path.join(run.folder, study.RUN_RECORD)) or {}
    seconds = timing.get('train_seconds')
    status = run.status
    if status == 'done':
      status = 'trained' if run.trained else 'finished before; skipped'
    lines.append(['`%s`' % run.name, status,
                  '%s (step %d)' % (row['checkpoint'], row['global_step'])
                  if row else '-', '%.0f s' % seconds if seconds else '-',
                  '%.0f s' % row['eval_seconds'] if row and row.get('eval_seconds')
                  else '-'])
  md += _table(['run', 'status', 'checkpoint', 'training wall time (all attempts)',
                'scoring time'], lines) + ['']
  return '\n'.join(md)


def write_report(out, runs, info):
  """report.md, results.csv, results.json, curves.csv, grid-<setting>.svg and, with
  matplotlib, curves, metrics and rate_distortion .png/.svg.

  runs: the sweep's Runs; info: data_dir, hparams, num_steps, axes ([(name,
  values)], as study_plan.parse_sweep gives them), scale (the shared one), seeds,
  eval_options, command. Returns report.md's path, or None when no run has metrics.
  """
  rows = collect(runs)
  if not rows:
    return None
  done = {r['setting'] for r in rows}
  settings = [s for s in dict.fromkeys(r.setting for r in runs) if s in done]
  summary = aggregate(rows, settings)
  write_tables(out, rows, summary, settings, info, runs)
  grids = copy_grids(out, rows, settings, runs)
  plotted = study_plots.available()
  if plotted:
    study_plots.plot_curves(rows, settings, out)
    study_plots.plot_metrics(summary, settings, out)
    study_plots.plot_rate_distortion(rows, settings, out)
  else:
    logging.warning('matplotlib is not installed: no plots (pip install -e '
                    '".[report]").')
  path = os.path.join(out, 'report.md')
  utils.write_text_atomic(path, report_markdown(rows, summary, settings, info, runs,
                                                grids, plotted))
  return path
