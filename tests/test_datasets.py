"""The dataset builder (sketch_rnn_data): readers, RDP, stroke-3, splits, the CLI.

The expected rows of tests/data/*.ndjson were worked out by hand from the formats'
public descriptions (see the comments); RDP is checked against the textbook
recursion."""

import json
import os

import numpy as np
import pytest

from sketch_rnn import datasets
from sketch_rnn import draw
from sketch_rnn import model as sketch_rnn_model
from sketch_rnn import svg
from sketch_rnn import utils
from sketch_rnn.errors import SketchRNNError

from conftest import REPO, run_data_tool, tiny_text, train_losses

DATA = os.path.join(REPO, 'tests', 'data')


def reference_rdp(points, epsilon):
  """The textbook recursion (the `rdp` package's): indices kept."""
  points = np.asarray(points, dtype=np.float64)
  def distance(p, a, b):
    if np.all(a == b):
      return np.hypot(*(p - a))
    d = b - a
    return abs(d[0] * (p - a)[1] - d[1] * (p - a)[0]) / np.hypot(*d)
  def rec(lo, hi):
    dmax, index = 0.0, -1
    for i in range(lo + 1, hi):
      d = distance(points[i], points[lo], points[hi])
      if d > dmax:
        dmax, index = d, i
    if dmax > epsilon:
      return rec(lo, index)[:-1] + rec(index, hi)
    return [lo, hi]
  if len(points) == 1:
    return [0]
  return rec(0, len(points) - 1)


def kept(points, epsilon):
  return list(np.flatnonzero(datasets.rdp_keep(points, [0, len(points)], epsilon)))


def test_rdp_known_answers():
  assert kept([[0, 0], [1, 1], [2, 2], [3, 1], [4, 0]], 0.5) == [0, 2, 4]  # a V
  assert kept([[0, 0], [1, 0.3], [2, -0.3], [3, 0]], 0.5) == [0, 3]  # jitter
  assert kept([[0, 0], [1, 0.3], [2, -0.3], [3, 0]], 0.25) == [0, 1, 2, 3]
  # a closed square: start == end, the first split is at the farthest corner
  assert kept([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], 1) == [0, 1, 2, 3, 4]
  assert kept([[5, 5]], 2) == [0] and kept([[0, 0], [9, 9]], 2) == [0, 1]


def test_rdp_equals_the_recursion_on_many_polylines_at_once():
  gen = np.random.default_rng(0)
  lines = [np.cumsum(gen.normal(size=(int(n), 2)) * 3, axis=0)
           for n in gen.integers(1, 60, size=80)]
  lines.append(np.array([[0, 0], [3, 0], [3, 3], [0, 0]], dtype=float))  # closed
  offsets = np.concatenate([[0], np.cumsum([len(l) for l in lines])])
  keep = datasets.rdp_keep(np.concatenate(lines), offsets, 2.0)
  for k, line in enumerate(lines):
    ours = list(np.flatnonzero(keep[offsets[k]:offsets[k + 1]]))
    assert ours == reference_rdp(line, 2.0), k


def built(path, epsilon=2.0, **kw):
  sketches, words, skipped = datasets.build(
      datasets.read_ndjson(path, **kw), epsilon)
  return [s.tolist() for s in sketches], words, skipped


def test_raw_ndjson_with_timings():
  sketches, words, _ = built(os.path.join(DATA, 'cat_raw.ndjson'))
  assert words == ['cat'] * 3
  # Drawing 1: box 100..200 -> x 2.55; the closed square keeps its 4 corners (the
  # midpoint of its top edge goes); stroke 2 keeps its third point (2.28 from the
  # chord) but not its second (1.14); 76.5 and 178.5 round to even.
  assert sketches[0] == [[0, 0, 0], [255, 0, 0], [0, 255, 0], [-255, 0, 0],
                         [0, -255, 1], [76, 102, 0], [6, 5, 0], [96, 46, 1]]
  # Drawing 2: 510 wide -> x 0.5 (aspect kept); y 127.5 rounds to 128.
  assert sketches[1] == [[0, 0, 0], [255, 0, 1], [-255, 128, 0], [255, 0, 1]]
  # Drawing 3: 40 wide, +-1 jitter -> +-6.4 after scaling: kept at epsilon 2...
  assert sketches[2] == [[0, 0, 0], [64, 6, 0], [64, -6, 0], [63, 6, 0],
                         [64, -6, 1]]
  # ... not at 7
  assert built(os.path.join(DATA, 'cat_raw.ndjson'), 7.0)[0][2] == [
      [0, 0, 0], [255, 0, 1]]
  # recognized_only leaves drawing 2 out
  assert len(built(os.path.join(DATA, 'cat_raw.ndjson'),
                   recognized_only=True)[0]) == 2


def test_simplified_ndjson():
  sketches, _, _ = built(os.path.join(DATA, 'cat_simplified.ndjson'))
  assert sketches == [
      [[0, 0, 0], [255, 0, 0], [0, 255, 0], [-255, 0, 0], [0, -255, 1],
       [60, 120, 0], [40, -60, 0], [40, 60, 1]],
      [[0, 0, 0], [128, 100, 0], [127, -100, 1]]]


def test_svg_paths_polylines_lines_and_transforms():
  a = svg.read_polylines(os.path.join(DATA, 'svg', 'a_square.svg'))
  # translate(10,20) scale(2): p -> 2p + (10, 20); the <rect> is not a stroke
  np.testing.assert_allclose(a[0], [[10, 20], [110, 20], [110, 120], [10, 120],
                                    [10, 20]])
  np.testing.assert_allclose(a[1], [[30, 40], [50, 100], [90, 40]])
  b = svg.read_polylines(os.path.join(DATA, 'svg', 'b_curves.svg'))
  assert len(b) == 3
  np.testing.assert_allclose(b[0], [[10, 10], [90, 10]])  # m, l relative
  line = b[1]  # m -80 20 h 80 v 60, a cubic to (10, 90), z back to (10, 30)
  np.testing.assert_allclose(line[:3], [[10, 30], [90, 30], [90, 90]])
  assert len(line) == 3 + svg.CURVE_POINTS + 1
  np.testing.assert_allclose(line[3 + svg.CURVE_POINTS // 2 - 1], [50, 97.5])  # t=.5
  np.testing.assert_allclose(line[-2:], [[10, 90], [10, 30]])
  np.testing.assert_allclose(b[2], [[5, 5], [5, 55]])  # matrix(1 0 0 1 5 5)
  m = svg.parse_transform('rotate(90) matrix(1 0 0 1 3 4)')
  np.testing.assert_allclose(m @ [1, 0, 1], [-4, 4, 1], atol=1e-12)
  with pytest.raises(SketchRNNError, match='arcs'):
    svg.parse_path('M 0 0 A 5 5 0 0 1 10 0')


def lines_distance(points, lines):
  """The largest distance of points to the nearest segment of lines."""
  segments = np.concatenate([np.stack([l[:-1], l[1:]], 1) for l in lines if len(l) > 1])
  a, b = segments[:, 0], segments[:, 1]
  d = b - a
  t = np.clip(np.einsum('psk,sk->ps', points[:, None] - a, d) /
              np.maximum((d ** 2).sum(1), 1e-12), 0, 1)
  nearest = a + t[..., None] * d
  return np.sqrt(((points[:, None] - nearest) ** 2).sum(-1)).min(1).max()


def test_round_trip_stroke3_to_svg_to_stroke3(tmp_path):
  gen = np.random.default_rng(1)
  folder = tmp_path / 'svgs'
  folder.mkdir()
  originals = []
  for k in range(5):
    lines = [np.cumsum(gen.integers(-12, 13, size=(int(n), 2)), 0)
             for n in gen.integers(2, 25, size=3)]
    points = np.concatenate(lines)
    low, span = points.min(0), (points.max(0) - points.min(0)).max()
    lines = [np.round((l - low) * 255.0 / span) for l in lines]
    originals.append(lines)
    draw.sketch_svg(utils.lines_to_strokes(lines), path=str(folder / ('%d.svg' % k)))
  sketches, _, _ = datasets.build(datasets.read_svg_folder(str(folder)), 2.0)
  for lines, sketch in zip(originals, sketches):
    back = utils.strokes_to_lines(sketch.astype(np.float64))
    assert len(back) == len(lines)
    back = [np.array(l) for l in back]
    # the same box: every original point lies within epsilon (+1 for the
    # rounding) of the rebuilt strokes, and the other way round
    assert lines_distance(np.concatenate(lines), back) <= 2.0 + 1.0
    assert lines_distance(np.concatenate(back), lines) <= 1.0


def test_strokes_json_and_splits_with_classes(tmp_path):
  path = tmp_path / 'mine.json'
  drawings = [[[[0, 0], [10, 10]], [[5, 0], [5, 9], [0, 3]]] for _ in range(10)]
  path.write_text(json.dumps(drawings))
  sketches, words, _ = datasets.build(datasets.read_strokes_json(str(path)))
  assert len(sketches) == 10 and words == [None] * 10
  assert sketches[0].tolist() == [[0, 0, 0], [255, 255, 1], [-127, -255, 0],
                                  [0, 230, 0], [-128, -154, 1]]
  one = tmp_path / 'one.json'  # a single drawing, not a list of them
  one.write_text(json.dumps(drawings[0]))
  assert len(datasets.build(datasets.read_strokes_json(str(one)))[0]) == 1
  # two classes, each split on its own, as QuickDraw's files are
  words = ['cat'] * 40 + ['dog'] * 20
  data = datasets.split([np.full((i + 1, 3), i) for i in range(60)], words,
                        datasets.parse_split('0.5,0.25,0.25'), seed=3)
  assert data['class_names'] == ['cat', 'dog']
  assert [len(data[s]) for s in datasets.SPLITS] == [30, 15, 15]
  assert np.bincount(data['valid_labels']).tolist() == [10, 5]
  ids = sorted(len(s) - 1 for s in sum((data[s] for s in datasets.SPLITS), []))
  assert ids == list(range(60))  # each drawing once
  assert datasets.split_counts(7500, datasets.QUICKDRAW_SPLIT) == [7000, 250, 250]
  assert datasets.split_counts(80000, datasets.QUICKDRAW_SPLIT) == [70000, 2500, 2500]
  with pytest.raises(SketchRNNError, match='three counts'):
    datasets.parse_split('1,2')


def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path, capsys, reset_flags):
  path = tmp_path / 'bad.ndjson'
  lines = open(os.path.join(DATA, 'cat_raw.ndjson')).read().splitlines()
  path.write_text('\n'.join(lines[:2] + ['{"drawing": [[[1, 2], ["x", 3]]]}',
                                         '{not json'] + lines[2:]) + '\n')
  out = str(tmp_path / 'out.npz')
  assert run_data_tool('ndjson', str(path), '--out=' + out) == 1
  err = capsys.readouterr().err
  assert err == ("sketch_rnn_data: error: bad.ndjson line 3: stroke 0 holds 'x', "
                 'not a finite number\n')
  assert not os.path.exists(out)
  assert run_data_tool('ndjson', str(path), '--out=' + out, '--skip_bad',
                  '--split=0.34,0.33,0.33') in (0, None)
  assert '2 bad drawings skipped' in capsys.readouterr().out
  assert run_data_tool('svg', str(tmp_path), '--out=' + out) == 1
  assert 'no .svg files' in capsys.readouterr().err
  assert run_data_tool('bogus') == 2
  assert 'the first argument is the command' in capsys.readouterr().err


def test_built_files_load_train_and_report(tmp_path, capsys, reset_flags):
  # 120 hand-like drawings in the simplified ndjson format, two classes
  gen = np.random.default_rng(2)
  path = tmp_path / 'shapes.ndjson'
  with open(path, 'w') as f:
    for i in range(120):
      strokes = []
      for _ in range(int(gen.integers(1, 4))):
        xy = np.cumsum(gen.integers(-20, 21, size=(int(gen.integers(2, 12)), 2)), 0)
        strokes.append([xy[:, 0].tolist(), xy[:, 1].tolist()])
      f.write(json.dumps({'word': 'ab'[i % 2], 'recognized': True,
                          'drawing': strokes}) + '\n')
  out = str(tmp_path / 'shapes.npz')
  assert run_data_tool('ndjson', str(path), '--out=' + out, '--split=40,5,5') in (0,
                                                                              None)
  text = capsys.readouterr().out
  assert 'train: 80 sketches' in text and '2 classes: a, b' in text
  assert run_data_tool('info', out) in (0, None)
  text = capsys.readouterr().out
  assert 'valid: 10 sketches' in text and 'normalising scale factor' in text
  hps = sketch_rnn_model.get_default_hparams().parse(
      tiny_text(data_set=['shapes.npz'], batch_size=10))
  train_set, valid_set, _, h, _, _ = utils.load_dataset(str(tmp_path), hps, seed=0)
  assert train_set.class_names == ['a', 'b'] and len(valid_set) == 10
  losses = train_losses(train_set, h, 12)
  assert np.isfinite(losses).all() and np.mean(losses[-3:]) < np.mean(losses[:3])
