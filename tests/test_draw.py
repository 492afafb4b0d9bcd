"""SVG and PNG grids of stroke-3 sketches."""

import re
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image
import pytest

from sketch_rnn import draw
from sketch_rnn import errors
from sketch_rnn import utils

SVG = '{http://www.w3.org/2000/svg}'


def stroke3(*strokes):
  """Stroke-3 from lists of (dx, dy) per stroke; the pen lifts after each stroke."""
  rows = []
  for stroke in strokes:
    for i, (dx, dy) in enumerate(stroke):
      rows.append([dx, dy, 1 if i == len(stroke) - 1 else 0])
  return np.array(rows, np.float32).reshape(-1, 3)


def cells(text):
  root = ET.fromstring(text)  # parses as XML
  return [g for g in root.iter(SVG + 'g') if g.get('id', '').startswith('cell-')]


def path_points(path):
  return [tuple(map(float, p)) for p in re.findall(r'[ML]([-\d.]+),([-\d.]+)',
                                                   path.get('d'))]


def test_one_path_per_stroke_and_one_cell_per_sketch():
  sketches = [
      stroke3([(0, 0), (1, 0), (0, 1)]),  # one stroke
      stroke3([(0, 0), (2, 0)], [(1, 1), (0, 2), (1, 0)], [(3, 3), (1, 1)]),  # three
      np.zeros((0, 3)),  # empty: a cell with no path
      stroke3([(0, 0), (1, 1)], [(5, 0)]),  # a one-point stroke: a dot
  ]
  text = draw.grid_svg(sketches, ncols=3)
  groups = cells(text)
  assert [g.get('id') for g in groups] == ['cell-0', 'cell-1', 'cell-2', 'cell-3']
  assert [len(g.findall(SVG + 'path')) for g in groups] == [1, 3, 0, 2]
  # Strokes keep their points (a dot is a zero-length segment).
  assert [len(path_points(p)) for p in groups[1].findall(SVG + 'path')] == [2, 3, 2]
  root = ET.fromstring(text)
  assert (root.get('width'), root.get('height')) == ('384', '256')  # 3 x 2 cells
  assert groups[3].get('transform') == 'translate(0,128)'


def test_points_after_the_last_pen_lift_are_a_stroke():
  # A sample cut at its end-of-sketch with the pen still down.
  sketch = stroke3([(0, 0), (1, 0)])
  sketch = np.concatenate([sketch, [[0, 1, 0], [1, 1, 0]]]).astype(np.float32)
  paths = cells(draw.sketch_svg(sketch))[0].findall(SVG + 'path')
  assert [len(path_points(p)) for p in paths] == [2, 2]
  # utils.strokes_to_lines (Magenta's) drops them; the drawing must not.
  assert len(utils.strokes_to_lines(sketch)) == 1


def test_sketches_fill_their_cells_in_proportion():
  sketch = stroke3([(0, 0), (10, 0), (0, 5)])
  paths = cells(draw.grid_svg([sketch], cell=100, margin=10))[0].findall(SVG + 'path')
  points = np.array(path_points(paths[0]))
  np.testing.assert_allclose(points.min(0), [10, 30], atol=0.01)
  np.testing.assert_allclose(points.max(0), [90, 70], atol=0.01)


@pytest.mark.parametrize('n, ncols, shape', [(1, None, (1, 1)), (5, None, (3, 2)),
                                             (9, None, (3, 3)), (7, 7, (7, 1)),
                                             (0, None, (1, 1))])
def test_the_grid_has_the_requested_cells(n, ncols, shape):
  sketches = [stroke3([(0, 0), (1, 1)])] * n
  text = draw.grid_svg(sketches, ncols=ncols, cell=10)
  root = ET.fromstring(text)
  assert len(cells(text)) == n
  assert (int(root.get('width')), int(root.get('height'))) == (shape[0] * 10,
                                                               shape[1] * 10)


def test_titles_and_file(tmp_path):
  sketches = [stroke3([(0, 0), (1, 1)])] * 2
  path = tmp_path / 'grid.svg'
  text = draw.grid_svg(sketches, titles=['a', 'b & c'], path=str(path))
  assert path.read_text() == text
  assert [t.text for t in ET.fromstring(text).iter(SVG + 'text')] == ['a', 'b & c']
  with pytest.raises(errors.SketchRNNError, match='3 titles for 2 sketches'):
    draw.grid_svg(sketches, titles=['a', 'b', 'c'])


def test_non_finite_points_are_left_out():
  sketch = stroke3([(0, 0), (1, 1), (np.inf, 0)], [(np.nan, 1), (1, 1)])
  text = draw.sketch_svg(sketch)
  assert 'nan' not in text.lower() and 'inf' not in text.lower()
  ET.fromstring(text)


def test_png_grid(tmp_path):
  sketches = [stroke3([(0, 0), (10, 0)], [(0, 10), (-10, 0)]), np.zeros((0, 3)),
              stroke3([(0, 0), (5, 5)])]
  path = tmp_path / 'grid.png'
  pixels = draw.grid_png(sketches, str(path), ncols=2, cell=50)
  with Image.open(path) as image:
    assert image.format == 'PNG' and image.size == (100, 100)
    np.testing.assert_array_equal(np.asarray(image), pixels)
  assert pixels.dtype == np.uint8 and pixels.shape == (100, 100)
  assert (pixels[:50, :50] == 0).any()  # ink in cell 0
  assert (pixels[:50, 50:] == 255).all()  # cell 1 is empty
  assert (pixels[50:, :50] == 0).any()  # ink in cell 2
  assert list(tmp_path.iterdir()) == [path]  # no temporary file left
