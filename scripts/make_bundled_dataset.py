#!/usr/bin/env python3
"""Make the small bundled sketch dataset, datasets/shapes.npz.

sketch-rnn is normally trained on Google's QuickDraw data, which is large and
has to be downloaded. This script draws simple objects (houses, suns, faces,
cats, stars, trees, fish, cups, cars, flowers, umbrellas, ladders) with a
random hand so that the project ships a dataset that is small, deterministic
and entirely its own, good enough for tests, demos and quick training runs.

The output uses the same layout as the QuickDraw "sketchrnn" .npz files: keys
``train``, ``valid`` and ``test``, each a 1-D object array of int16 arrays of
shape (n, 3) in stroke-3 format. Row (dx, dy, p) is the offset from the
previous point (the first row is the offset from (0, 0)), and p = 1 means the
pen is lifted after that point, so p = 1 ends a stroke. Coordinates live in a
box of about 0..255 with y growing downwards.

Regenerate the bundled file (numpy only, no TensorFlow needed) with:

    python scripts/make_bundled_dataset.py

which is the same as

    python scripts/make_bundled_dataset.py --out datasets/shapes.npz \\
        --seed 0 --train 2500 --valid 250 --test 250
"""

import argparse
import math
import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "datasets" / "shapes.npz"

# The longest sketch bounds the RNN's unrolled length during training, so it
# is kept short; a drawing that comes out longer is simply redrawn.
MAX_ROWS = 150
# Objects are fitted into the QuickDraw-like 0..255 box, leaving a margin so
# that jitter never pushes a point outside it.
CANVAS = 255.0
MARGIN = 10.0

TAU = 2.0 * math.pi


# ---------------------------------------------------------------------------
# Drawing primitives. Every class function draws in a "unit frame" where the
# object spans roughly [-1, 1] on each axis and y points down; place() later
# scales, rotates and moves the whole drawing onto the canvas.
# ---------------------------------------------------------------------------


def line(*points):
    """A polyline through the given (x, y) points."""
    return np.array(points, dtype=float)


def arc(cx, cy, rx, ry, a0, a1, n):
    """n points on an ellipse from angle a0 to a1, both ends included.

    With y pointing down, angles grow clockwise on screen: pi/2 is the bottom
    of the ellipse and -pi/2 the top.
    """
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def ellipse(cx, cy, rx, ry, n, start=0.0, tilt=0.0):
    """A closed ellipse of n distinct points (plus the closing point).

    `start` is where the pen starts on the outline, `tilt` turns the ellipse's
    own axes, which petals and leaves need.
    """
    t = np.linspace(start, start + TAU, n + 1)
    u, v = rx * np.cos(t), ry * np.sin(t)
    c, s = math.cos(tilt), math.sin(tilt)
    return np.stack([cx + c * u - s * v, cy + s * u + c * v], axis=1)


def bezier(p0, p1, p2, n):
    """A quadratic Bezier curve, for gently bent strokes like stems and ribs."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=float) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def mirror_x(strokes):
    """Flip a drawing left-right so asymmetric objects face both ways."""
    return [s * np.array([-1.0, 1.0]) for s in strokes]


# ---------------------------------------------------------------------------
# Object classes. Each takes the random generator and returns a list of
# strokes (float arrays of shape (k, 2)) in the unit frame, in the order a
# person would plausibly draw them.
# ---------------------------------------------------------------------------


def draw_house(rng):
    w = rng.uniform(0.55, 0.85)
    top, bottom = rng.uniform(-0.1, 0.2), 1.0
    height = bottom - top
    strokes = [line((-w, top), (-w, bottom), (w, bottom), (w, top), (-w, top))]

    overhang = rng.uniform(0.0, 0.12)
    peak_x, peak_y = rng.uniform(-0.1, 0.1) * w, top - rng.uniform(0.5, 0.9)
    strokes.append(line((-w - overhang, top), (peak_x, peak_y), (w + overhang, top)))

    door_cx = rng.uniform(-0.25, 0.25) * w
    door_hw = rng.uniform(0.12, 0.2) * w
    door_top = bottom - rng.uniform(0.35, 0.55) * height
    strokes.append(line((door_cx - door_hw, bottom), (door_cx - door_hw, door_top),
                        (door_cx + door_hw, door_top), (door_cx + door_hw, bottom)))

    # Windows sit beside the door, high enough that they never overlap it.
    sides = [[], [int(rng.choice([-1, 1]))], [-1, 1]][rng.integers(0, 3)]
    half = rng.uniform(0.09, 0.125) * w * 2
    wy = top + 0.3 * height
    with_cross = rng.random() < 0.5
    for side in sides:
        wx = side * 0.62 * w
        strokes.append(line((wx - half, wy - half), (wx + half, wy - half),
                            (wx + half, wy + half), (wx - half, wy + half),
                            (wx - half, wy - half)))
        if with_cross:
            strokes.append(line((wx, wy - half), (wx, wy + half)))
            strokes.append(line((wx - half, wy), (wx + half, wy)))

    if rng.random() < 0.4:
        # The chimney's feet have to land on the right-hand roof slope.
        def roof_y(x):
            return top + (peak_y - top) * (w + overhang - x) / (w + overhang - peak_x)

        cx, cw = rng.uniform(0.3, 0.5) * w, rng.uniform(0.12, 0.2) * w
        ch = rng.uniform(0.2, 0.35)
        cap = roof_y(cx) - ch
        strokes.append(line((cx, roof_y(cx)), (cx, cap), (cx + cw, cap),
                            (cx + cw, roof_y(cx + cw))))
    return strokes


def draw_sun(rng):
    r = rng.uniform(0.4, 0.5)
    strokes = [ellipse(0, 0, r, r, rng.integers(16, 23), start=rng.uniform(0, TAU))]

    n_rays = rng.integers(6, 13)
    inner, outer = r * rng.uniform(1.15, 1.3), r * rng.uniform(1.7, 2.1)
    alternate = rng.random() < 0.3
    phase = rng.uniform(0, TAU)
    for k in range(n_rays):
        a = phase + TAU * k / n_rays + rng.uniform(-0.08, 0.08)
        end = outer if not (alternate and k % 2) else inner + 0.55 * (outer - inner)
        strokes.append(line((inner * math.cos(a), inner * math.sin(a)),
                            (end * math.cos(a), end * math.sin(a))))

    if rng.random() < 0.3:
        ex, ey = 0.35 * r, -0.25 * r
        strokes.append(line((-ex, ey - 0.1 * r), (-ex, ey + 0.1 * r)))
        strokes.append(line((ex, ey - 0.1 * r), (ex, ey + 0.1 * r)))
        strokes.append(arc(0, 0.1 * r, 0.5 * r, 0.4 * r, math.pi - 0.3, 0.3, 7))
    return strokes


def draw_face(rng):
    rx, ry = rng.uniform(0.75, 0.9), rng.uniform(0.9, 1.0)
    strokes = [ellipse(0, 0, rx, ry, rng.integers(20, 25), start=rng.uniform(0, TAU))]

    ex, ey = rng.uniform(0.28, 0.4) * rx, -rng.uniform(0.15, 0.3)
    er = rng.uniform(0.08, 0.13)
    round_eyes = rng.random() < 0.6
    for side in (-1, 1):
        if round_eyes:
            strokes.append(ellipse(side * ex, ey, er, er, 8, start=-math.pi / 2))
        else:
            strokes.append(line((side * ex, ey - er), (side * ex, ey + er)))

    if rng.random() < 0.6:
        strokes.append(line((0.0, ey + 0.1), (-0.08, 0.18), (0.04, 0.2)))

    mw, mh = rng.uniform(0.25, 0.45), rng.uniform(0.1, 0.25)
    my = rng.uniform(0.3, 0.42)
    strokes.append(arc(0, my, mw, mh, math.pi - 0.2, 0.2, rng.integers(8, 13)))

    if rng.random() < 0.4:
        # Ears are half-circles bulging outwards from the sides of the head.
        er2 = rng.uniform(0.12, 0.18)
        strokes.append(arc(-rx, 0, er2, 1.5 * er2, -math.pi / 2, -3 * math.pi / 2, 7))
        strokes.append(arc(rx, 0, er2, 1.5 * er2, -math.pi / 2, math.pi / 2, 7))
    return strokes


def draw_cat(rng):
    rx, ry = rng.uniform(0.8, 0.95), rng.uniform(0.7, 0.85)
    strokes = [ellipse(0, 0, rx, ry, rng.integers(18, 23), start=rng.uniform(0, TAU))]

    def on_head(a):
        return rx * math.cos(a), ry * math.sin(a)

    tip_h = rng.uniform(0.35, 0.55)
    tip_x = rng.uniform(0.55, 0.75) * rx
    for side in (-1, 1):
        outer, inner = on_head(-math.pi / 2 + side * 1.0), on_head(-math.pi / 2 + side * 0.3)
        strokes.append(line(outer, (side * tip_x, -ry - tip_h), inner))

    ex, ey = 0.38 * rx, -0.15
    slit = rng.random() < 0.5
    for side in (-1, 1):
        strokes.append(ellipse(side * ex, ey, 0.1, 0.14, 7, start=-math.pi / 2))
        if slit:
            strokes.append(line((side * ex, ey - 0.1), (side * ex, ey + 0.1)))

    strokes.append(line((-0.08, 0.1), (0.08, 0.1), (0.0, 0.2), (-0.08, 0.1)))
    strokes.append(line((-0.22, 0.28), (-0.11, 0.35), (0.0, 0.22), (0.11, 0.35), (0.22, 0.28)))

    n_whiskers = rng.integers(2, 4)
    reach = rng.uniform(1.1, 1.25) * rx
    for side in (-1, 1):
        for k in range(n_whiskers):
            y0 = 0.12 + 0.07 * k
            y1 = y0 + (k - (n_whiskers - 1) / 2) * 0.15
            strokes.append(line((side * 0.35, y0), (side * reach, y1)))
    return strokes


def draw_star(rng):
    n_points = int(rng.choice([5, 5, 5, 6]))
    phase = -math.pi / 2 + rng.uniform(-0.15, 0.15)
    if n_points == 5 and rng.random() < 0.3:
        # The one-stroke pentagram doodle: visit every second tip.
        order = [(2 * k) % 5 for k in range(6)]
        outline = line(*[(math.cos(phase + TAU * i / 5), math.sin(phase + TAU * i / 5))
                         for i in order])
    else:
        inner = rng.uniform(0.38, 0.5)
        radii = [1.0 if k % 2 == 0 else inner for k in range(2 * n_points + 1)]
        angles = [phase + math.pi * k / n_points for k in range(2 * n_points + 1)]
        outline = line(*[(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, angles)])

    if rng.random() < 0.4:
        # People often lift the pen halfway round and carry on from there.
        cut = rng.integers(2, len(outline) - 2)
        strokes = [outline[: cut + 1], outline[cut:]]
    else:
        strokes = [outline]

    if rng.random() < 0.4:
        for _ in range(rng.integers(2, 5)):
            a = rng.uniform(0, TAU)
            d = rng.uniform(1.1, 1.3)
            x, y = d * math.cos(a), d * math.sin(a)
            strokes.append(line((x, y), (x + 0.2 * math.cos(a), y + 0.2 * math.sin(a))))
    return strokes


def draw_tree(rng):
    if rng.random() < 0.6:
        # A leafy crown: a cloud of bumps, |sin| giving the inward cusps
        # between them; four points per bump are enough to read as round.
        cy, r = -0.3, rng.uniform(0.6, 0.75)
        bumps = rng.integers(5, 8)
        t = np.linspace(0, TAU, 4 * bumps + 1) + math.pi / 2
        rad = r * (0.82 + 0.22 * np.abs(np.sin(bumps * (t - math.pi / 2) / 2)))
        strokes = [np.stack([rad * np.cos(t), cy + rad * np.sin(t)], axis=1)]

        tw, trunk_top = rng.uniform(0.1, 0.18), cy + 0.85 * r
        strokes.append(line((-tw, trunk_top), (-1.2 * tw, 1.0)))
        strokes.append(line((tw, trunk_top), (1.2 * tw, 1.0)))
        if rng.random() < 0.3:
            for _ in range(rng.integers(2, 5)):
                a, d = rng.uniform(0, TAU), rng.uniform(0.1, 0.5) * r
                strokes.append(ellipse(d * math.cos(a), cy + d * math.sin(a), 0.07, 0.07, 6))
    else:
        # A pine: overlapping triangles that widen towards the ground.
        tiers = rng.integers(2, 4)
        strokes, y_top = [], -1.0
        step = 1.3 / tiers
        for i in range(tiers):
            hw = 0.35 + 0.45 * (i + 1) / tiers
            yb = y_top + step + 0.25
            strokes.append(line((-hw, yb), (0.0, y_top), (hw, yb), (-hw, yb)))
            y_top += step
        tw = rng.uniform(0.1, 0.16)
        strokes.append(line((-tw, yb), (-tw, 1.0), (tw, 1.0), (tw, yb)))

    if rng.random() < 0.4:
        strokes.append(line((-0.7, 1.0), (0.7, 1.0)))
    return strokes


def draw_fish(rng):
    h = rng.uniform(0.35, 0.55)
    n = rng.integers(9, 12)
    t = np.linspace(0.0, 1.0, n)
    x = -1.0 + 1.5 * t
    # A slightly blunt nose and thin tail: the bulge sits forward of centre.
    bulge = h * np.sin(math.pi * t**0.8)
    top = np.stack([x, -bulge], axis=1)
    bottom = np.stack([x, bulge], axis=1)[::-1]
    strokes = [np.vstack([top, bottom[1:]])]

    tail_h = rng.uniform(0.3, 0.5)
    if rng.random() < 0.5:
        strokes.append(line((0.5, 0), (1.0, -tail_h), (1.0, tail_h), (0.5, 0)))
    else:
        strokes.append(line((0.5, 0), (1.0, -tail_h), (0.82, 0), (1.0, tail_h), (0.5, 0)))

    strokes.append(ellipse(-0.62, -0.12 * h - 0.03, 0.06, 0.06, 8))
    if rng.random() < 0.5:
        strokes.append(arc(-0.6, 0.0, 0.15, 0.7 * h, -1.0, 1.0, 6))
    if rng.random() < 0.5:
        strokes.append(line((-0.25, -0.92 * h), (0.0, -1.45 * h), (0.2, -0.75 * h)))
    if rng.random() < 0.3:
        for k in range(rng.integers(1, 4)):
            r = 0.05 + 0.02 * k
            strokes.append(ellipse(-1.15 - 0.05 * k, -0.35 - 0.25 * k, r, r, 7))

    return mirror_x(strokes) if rng.random() < 0.5 else strokes


def draw_cup(rng):
    wt = rng.uniform(0.5, 0.65)
    wb = wt * rng.uniform(0.75, 1.0)
    top, bottom = -0.55, 0.8
    strokes = [line((-wt, top), (-wb, bottom), (wb, bottom), (wt, top))]
    if rng.random() < 0.5:
        strokes.append(ellipse(0, top, wt, 0.1, rng.integers(12, 17), start=math.pi))
    else:
        strokes.append(line((-wt, top), (wt, top)))

    def side_x(y):
        return wt + (wb - wt) * (y - top) / (bottom - top)

    hy, hry = rng.uniform(-0.05, 0.2), rng.uniform(0.25, 0.35)
    hx = side_x(hy) - 0.03
    strokes.append(arc(hx, hy, rng.uniform(0.22, 0.32), hry, -math.pi / 2, math.pi / 2,
                       rng.integers(9, 12)))

    if rng.random() < 0.5:
        n_steam = rng.integers(2, 4)
        for k in range(n_steam):
            x0 = (k - (n_steam - 1) / 2) * 0.28
            y = np.linspace(top - 0.15, top - 0.7, 8)
            x = x0 + 0.06 * np.sin(np.linspace(0, TAU, 8) + k)
            strokes.append(np.stack([x, y], axis=1))
    if rng.random() < 0.3:
        strokes.append(arc(0, bottom - 0.05, wb + 0.4, 0.15, math.pi, 0.0, 10))

    return mirror_x(strokes) if rng.random() < 0.3 else strokes


def draw_car(rng):
    base = 0.35
    hood = -rng.uniform(0.1, 0.2)
    roof = -rng.uniform(0.5, 0.75)
    front_cab = rng.uniform(-0.6, -0.45)
    rear_cab = rng.uniform(0.4, 0.6)
    slope = rng.uniform(0.2, 0.3)
    strokes = [line((-1.0, base), (-1.0, hood + 0.1), (front_cab, hood),
                    (front_cab + slope, roof), (rear_cab, roof), (rear_cab + slope, hood),
                    (1.0, hood + 0.05), (1.0, base), (-1.0, base))]

    r = rng.uniform(0.18, 0.24)
    n = rng.integers(12, 15)
    for wx in (-0.6 + rng.uniform(-0.05, 0.05), 0.6 + rng.uniform(-0.05, 0.05)):
        strokes.append(ellipse(wx, base, r, r, n, start=-math.pi / 2))

    if rng.random() < 0.7:
        # The window follows the cab outline, pushed inwards.
        wl, wr = front_cab + 0.12, rear_cab + slope - 0.12
        wtop = roof + 0.08
        strokes.append(line((wl, hood - 0.04), (wl + slope * 0.7, wtop),
                            (wr - slope * 0.7, wtop), (wr, hood - 0.04), (wl, hood - 0.04)))
        if rng.random() < 0.6:
            mid = 0.5 * (wl + wr)
            strokes.append(line((mid, wtop), (mid, hood - 0.04)))
    if rng.random() < 0.4:
        strokes.append(ellipse(-0.9, hood + 0.2, 0.06, 0.06, 6))

    return mirror_x(strokes) if rng.random() < 0.5 else strokes


def draw_flower(rng):
    cy, rc = -0.35, rng.uniform(0.12, 0.18)
    strokes = [ellipse(0, cy, rc, rc, rng.integers(10, 13), start=rng.uniform(0, TAU))]

    n_petals = rng.integers(5, 9)
    length = rng.uniform(0.3, 0.45)
    width = min(0.5 * length * rng.uniform(0.5, 0.8),
                (rc + 0.5 * length) * math.sin(math.pi / n_petals) * 1.1)
    phase = rng.uniform(0, TAU)
    for k in range(n_petals):
        a = phase + TAU * k / n_petals
        d = rc + 0.5 * length
        # start=pi puts the pen at the petal's inner end, by the centre.
        strokes.append(ellipse(d * math.cos(a), cy + d * math.sin(a), 0.5 * length, width,
                               rng.integers(8, 10), start=math.pi, tilt=a))

    stem_top = (0.0, cy + rc + 0.7 * length)
    stem_bottom = (rng.uniform(-0.15, 0.15), 1.0)
    bend = (rng.uniform(-0.2, 0.2), 0.5 * (stem_top[1] + 1.0))
    stem = bezier(stem_top, bend, stem_bottom, 6)
    strokes.append(stem)

    for side in rng.permutation([-1, 1])[: rng.integers(0, 3)]:
        sx, sy = stem[rng.integers(2, 5)]
        ll = rng.uniform(0.25, 0.35)
        a = -math.pi / 2 + side * rng.uniform(0.8, 1.2)
        strokes.append(ellipse(sx + 0.5 * ll * math.cos(a), sy + 0.5 * ll * math.sin(a),
                               0.5 * ll, 0.2 * ll, 8, start=math.pi, tilt=a))
    return strokes


def draw_umbrella(rng):
    big_r, big_h = 1.0, rng.uniform(0.55, 0.75)
    canopy = arc(0, 0, big_r, big_h, math.pi, TAU, rng.integers(14, 19))

    # The lower edge runs back from right to left as small upward scallops.
    n_scallops = rng.integers(3, 6)
    joints = np.linspace(big_r, -big_r, n_scallops + 1)
    dip = rng.uniform(0.08, 0.15)
    parts = [canopy]
    for x0, x1 in zip(joints[:-1], joints[1:]):
        half = 0.5 * (x0 - x1)
        parts.append(arc(0.5 * (x0 + x1), 0, half, dip, 0.0, -math.pi, 6)[1:])
    strokes = [np.vstack(parts)]

    hook_r = rng.uniform(0.1, 0.15)
    side = 1 if rng.random() < 0.5 else -1
    hook = arc(-side * hook_r, 0.85, hook_r, hook_r, 0.0 if side > 0 else math.pi,
               math.pi if side > 0 else 0.0, 6)
    strokes.append(np.vstack([line((0.0, -0.02), (0.0, 0.85)), hook[1:]]))

    if rng.random() < 0.6:
        for x in joints[1:-1]:
            strokes.append(bezier((0.0, -big_h), (0.6 * x, -0.9 * big_h), (x, -0.02), 5))
    if rng.random() < 0.5:
        strokes.append(line((0.0, -big_h), (0.0, -big_h - 0.12)))
    return strokes


def draw_ladder(rng):
    w_top = rng.uniform(0.35, 0.55)
    w_bottom = w_top * rng.uniform(1.0, 1.25)
    lean = rng.uniform(-0.25, 0.25) if rng.random() < 0.3 else 0.0

    def rail_x(side, y):
        w = w_top + (w_bottom - w_top) * (y + 1.0) / 2.0
        return side * w + lean * y

    strokes = [line((rail_x(s, -1.0), -1.0), (rail_x(s, 1.0), 1.0)) for s in (-1, 1)]
    n_rungs = rng.integers(4, 9)
    for y in np.linspace(-0.8, 0.8, n_rungs) + rng.uniform(-0.04, 0.04, n_rungs):
        strokes.append(line((rail_x(-1, y), y), (rail_x(1, y), y)))
    return strokes


CLASSES = {
    "house": draw_house,
    "sun": draw_sun,
    "face": draw_face,
    "cat": draw_cat,
    "star": draw_star,
    "tree": draw_tree,
    "fish": draw_fish,
    "cup": draw_cup,
    "car": draw_car,
    "flower": draw_flower,
    "umbrella": draw_umbrella,
    "ladder": draw_ladder,
}


# ---------------------------------------------------------------------------
# From unit-frame drawing to stroke-3.
# ---------------------------------------------------------------------------


def place(strokes, rng):
    """Distort the drawing a little and fit it somewhere on the 0..255 canvas."""
    aspect = math.exp(rng.uniform(-0.15, 0.15))
    theta = math.radians(rng.uniform(-8.0, 8.0))
    c, s = math.cos(theta), math.sin(theta)
    transform = np.array([[c, -s], [s, c]]) @ np.diag([aspect, 1.0 / aspect])
    strokes = [p @ transform.T for p in strokes]

    points = np.vstack(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    # Sizing by the longer side keeps every class about as big as the others,
    # whatever its unit-frame extent.
    scale = rng.uniform(150.0, CANVAS - 2 * MARGIN) / (hi - lo).max()
    extent = (hi - lo) * scale
    corner = np.array([rng.uniform(MARGIN, CANVAS - MARGIN - e) for e in extent])
    return [(p - lo) * scale + corner for p in strokes]


def densify(stroke, step):
    """Split long straight segments so that a hand's wobble can show on them.

    QuickDraw strokes are sampled by a moving finger, so even straight lines
    come as several points; this also keeps offsets small (at most ~step).
    """
    out = [stroke[:1]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        pieces = max(1, math.ceil(np.linalg.norm(b - a) / step))
        t = np.arange(1, pieces + 1)[:, None] / pieces
        out.append(a + t * (b - a))
    return np.vstack(out)


def wobble_and_round(stroke, rng):
    """Add per-stroke and per-point jitter, round, and drop repeated points."""
    stroke = stroke + rng.normal(0.0, 1.5, size=2)
    stroke = stroke + rng.normal(0.0, 0.8, size=stroke.shape)
    stroke = np.rint(stroke).astype(np.int64)
    moved = np.any(stroke[1:] != stroke[:-1], axis=1)
    kept = np.vstack([stroke[:1], stroke[1:][moved]])
    if len(kept) < 2:
        # A stroke that rounding collapsed to a single spot stays a dot, not
        # nothing, so the drawing keeps its structure.
        kept = stroke[[0, -1]]
    return kept


def to_stroke3(strokes):
    """Absolute integer strokes -> (n, 3) int16 rows of (dx, dy, pen_lifted)."""
    points = np.vstack(strokes)
    pen = np.zeros(len(points), dtype=np.int64)
    pen[np.cumsum([len(s) for s in strokes]) - 1] = 1
    offsets = np.diff(points, axis=0, prepend=np.zeros((1, 2), dtype=points.dtype))
    return np.column_stack([offsets, pen]).astype(np.int16)


def make_sketch(name, rng):
    """Draw one sketch of class `name`, redrawing until it is short enough."""
    while True:
        strokes = place(CLASSES[name](rng), rng)
        step = rng.uniform(16.0, 26.0)
        strokes = [wobble_and_round(densify(s, step), rng) for s in strokes]
        sketch = to_stroke3(strokes)
        if len(sketch) <= MAX_ROWS:
            return sketch


def make_split(n, rng):
    """n sketches with classes as balanced as n allows, in shuffled order."""
    names = list(CLASSES)
    labels = rng.permutation(np.arange(n) % len(names))
    sketches = np.empty(n, dtype=object)
    for i, label in enumerate(labels):
        sketches[i] = make_sketch(names[label], rng)
    return sketches, [names[label] for label in labels]


def check(sketches):
    for sketch in sketches:
        assert sketch.dtype == np.int16 and sketch.ndim == 2 and sketch.shape[1] == 3
        assert 2 <= len(sketch) <= MAX_ROWS and sketch[-1, 2] == 1
        assert np.abs(sketch[:, :2]).max() <= 1000
        assert set(np.unique(sketch[:, 2])) <= {0, 1}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output .npz path (default: datasets/shapes.npz in the repo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=2500, help="sketches in train")
    parser.add_argument("--valid", type=int, default=250, help="sketches in valid")
    parser.add_argument("--test", type=int, default=250, help="sketches in test")
    return parser.parse_args()


def main():
    args = parse_args()
    sizes = {"train": args.train, "valid": args.valid, "test": args.test}

    # One independent stream per split, so changing the size of one split
    # leaves the contents of the others unchanged.
    streams = np.random.SeedSequence(args.seed).spawn(len(sizes))
    splits, labels = {}, {}
    for (split, n), stream in zip(sizes.items(), streams):
        splits[split], labels[split] = make_split(n, np.random.default_rng(stream))
        check(splits[split])

    # The labels ride along under keys Magenta's loader ignores, so the file stays
    # a plain sketch-rnn dataset; this project's loader reads them for the study.
    arrays = dict(splits)
    for split in sizes:
        arrays[split + "_labels"] = np.array(
            [list(CLASSES).index(name) for name in labels[split]], dtype=np.int64)
    arrays["class_names"] = np.array(list(CLASSES))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)

    print(f"wrote {args.out}")
    for split, sketches in splits.items():
        lengths = np.array([len(s) for s in sketches] or [0])
        counts = {name: labels[split].count(name) for name in CLASSES}
        print(f"{split:>5}: {len(sketches)} sketches, rows min/mean/max "
              f"{lengths.min()}/{lengths.mean():.1f}/{lengths.max()}")
        print("       " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"file size: {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
