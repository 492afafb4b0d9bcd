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
"""The study report's plots (matplotlib, an optional dependency: `.[report]`).

Each takes the report's rows (one per run) or summary ({setting: {metric: (mean,
std, n)}}) and writes <stem>.png and <stem>.svg into the study folder.
"""

import math
import os

import numpy as np

from sketch_rnn import metrics
from sketch_rnn import study_plan


def available():
  """Whether matplotlib imports."""
  try:
    _pyplot()
  except ImportError:
    return False
  return True


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  return pyplot


def _save(plt, fig, out, stem):
  fig.tight_layout()
  for ext in ('png', 'svg'):
    fig.savefig(os.path.join(out, '%s.%s' % (stem, ext)), dpi=120)
  plt.close(fig)


def plot_curves(rows, settings, out):
  """curves.png/.svg: recon and KL against step, per setting (mean over seeds)."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
  for ax, (title, kind) in zip(axes, (('Reconstruction cost', 'Reconstr'),
                                      ('KL cost', 'KL'))):
    for i, setting in enumerate(settings):
      colour = colours[i % len(colours)]
      # Valid points are few (one per save_every steps): marked, to be seen.
      for split, style in (('Train', '-'), ('Valid', '--o')):
        tag = '%s_%s_Cost' % (split, kind)
        runs = [r['curves'][tag] for r in rows if r['setting'] == setting]
        # The steps every seed logged, so each point averages the same seeds.
        steps = sorted(set.intersection(*[set(c) for c in runs])) if runs else []
        if not steps:
          continue
        values = np.array([[c[s] for s in steps] for c in runs])
        ax.plot(steps, values.mean(0), style, color=colour, markersize=4,
                label='%s, %s' % (study_plan.setting_label(setting),
                                  split.lower()))
        if len(runs) > 1:
          std = values.std(0, ddof=1)
          ax.fill_between(steps, values.mean(0) - std, values.mean(0) + std,
                          color=colour, alpha=0.15)
    ax.set_title(title)
    ax.set_xlabel('step')
    ax.legend(fontsize=7)
  _save(plt, fig, out, 'curves')


def _is_number(value):
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def plot_metrics(summary, settings, out):
  """metrics.png/.svg: each metric against the first axis, one line per setting
  of the other axes; error bars one std over seeds."""
  plt = _pyplot()
  name = settings[0][0][0]
  xs = list(dict.fromkeys(s[0][1] for s in settings))  # the first axis' values
  numeric = all(map(_is_number, xs))
  where = {x: x if numeric else i for i, x in enumerate(xs)}
  lines = list(dict.fromkeys(s[1:] for s in settings))  # the other axes' settings
  ncols = 5
  nrows = -(-len(metrics.METRICS) // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows),
                           squeeze=False)
  for ax, m in zip(axes.flat, metrics.METRICS):
    for rest in lines:
      points = [(where[x],) + summary[s][m.key][:2] for x in xs
                for s in [((name, x),) + rest]
                if s in summary and math.isfinite(summary[s][m.key][0])]
      if points:
        px, ys, errs = zip(*points)
        ax.errorbar(px, ys, yerr=[e or 0.0 for e in errs], marker='o', capsize=3,
                    label=study_plan.setting_label(rest) or None)
    if numeric and len(xs) > 1 and min(xs) > 0:
      ax.set_xscale('log', base=2)  # a study's values usually double
    ax.set_xticks([where[x] for x in xs])
    ax.set_xticklabels([study_plan.value_text(x) for x in xs])
    ax.set_title('%s\n(%s)' % (m.title, '%s is better' % m.better if m.better
                                   else 'neither is better'), fontsize=8)
    ax.set_xlabel(name, fontsize=8)
    ax.tick_params(labelsize=7)
    if len(lines) > 1 and ax is axes.flat[0]:  # one legend says it for all
      ax.legend(fontsize=6)
  for ax in list(axes.flat)[len(metrics.METRICS):]:
    ax.axis('off')
  _save(plt, fig, out, 'metrics')


def plot_rate_distortion(rows, settings, out):
  """rate_distortion.png/.svg: a point per run, distortion against the rate in the
  decoder's coordinates (left) and against the rate training paid (right)."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
  colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
  markers = 'osD^vP*X'
  for ax, key, title in ((axes[0], 'rate', 'Rate, KL of q to N(0, s^2 I) (invariant)'),
                         (axes[1], 'rate_paid', 'Rate paid in training')):
    for i, setting in enumerate(settings):
      mine = [r for r in rows if r['setting'] == setting and
              all(isinstance(r[k], (int, float)) and math.isfinite(r[k])
                  for k in (key, 'distortion'))]
      if mine:
        ax.scatter([r[key] for r in mine], [r['distortion'] for r in mine],
                   color=colours[i % len(colours)], marker=markers[i % len(markers)],
                   label=study_plan.setting_label(setting), s=36)
    ax.set_xlabel('%s (nats per sketch)' % title, fontsize=9)
    ax.grid(alpha=0.3)
  axes[0].set_ylabel('Distortion, E_q[-log p(x|z)] (nats per sketch)', fontsize=9)
  axes[0].legend(fontsize=7)
  _save(plt, fig, out, 'rate_distortion')
