"""Procedural industrial-like images with synthetic defects and their masks, from one integer seed.

Why they exist (docs/design.md §6): to undo a colour cast the network must know what clean
inspection images look like -- uniform dark or bright backgrounds, true blacks and whites, metal
greys, saturated part colours -- and to restore structure it must see fine periodic textures and
small defects. Photographs alone did not teach that. Every surface and defect below draws all of
its randomness from the generator it is given, so `generate(kind, seed)` is reproducible.
"""
import colorsys
from functools import lru_cache

import numpy as np
from scipy import ndimage

GOOD_FRACTION = 1 / 6  # share of samples without a defect (their mask is None)
OPTICS_SIGMA = 0.5     # every camera blurs a little: no procedural edge is perfectly sharp


def generate(kind, seed, size=256):
    """One sample -> (image HxWx3 float32 in [0, 1], defect mask HxW bool or None, defect name).

    `kind` is a key of SURFACES; the defect is drawn from DEFECTS ("good" means none).
    """
    rng = np.random.default_rng(seed)
    image = SURFACES[kind](rng, size)
    mask, defect = None, "good"
    if rng.random() >= GOOD_FRACTION:
        defect = DEFECT_NAMES[rng.integers(len(DEFECT_NAMES))]
        image, mask = DEFECTS[defect](image, rng)
    image = ndimage.gaussian_filter(image, (OPTICS_SIGMA, OPTICS_SIGMA, 0), mode="reflect")
    return np.clip(image, 0.0, 1.0).astype(np.float32), mask, defect


# ----------------------------------------------------------------------------- shared helpers

@lru_cache(maxsize=4)
def _coords(size):
    """Pixel-centre row and column coordinates (read-only, shared between calls)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def _smooth_noise(rng, size, sigma):
    """White noise low-passed with a Gaussian of `sigma` px (scalar or (rows, cols)), zero mean, unit std."""
    noise = ndimage.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), sigma, mode="wrap")
    return (noise - noise.mean()) / (noise.std() + 1e-8)


def _ramp(rng, size, amplitude):
    """A linear illumination gradient in a random direction, from -amplitude to +amplitude."""
    yy, xx = _coords(size)
    angle = rng.uniform(0, 2 * np.pi)
    return amplitude * ((xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle)) / (size / 2)


def _hsv(hue, saturation, value):
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value), np.float32)


def _colour(rng, family):
    """A colour typical of inspection images: true black/white, metal grey, saturated, earth tones."""
    if family == "black":
        return np.full(3, rng.uniform(0.0, 0.05), np.float32)
    if family == "white":
        return np.full(3, rng.uniform(0.9, 1.0), np.float32)
    if family == "metal":
        return np.clip(rng.uniform(0.35, 0.85) + rng.uniform(-0.03, 0.03, 3), 0, 1).astype(np.float32)
    if family == "saturated":
        return _hsv(rng.random(), rng.uniform(0.65, 1.0), rng.uniform(0.55, 1.0))
    if family == "earth":
        return _hsv(rng.uniform(0.03, 0.12), rng.uniform(0.35, 0.8), rng.uniform(0.2, 0.75))
    raise ValueError(f"unknown colour family {family!r}")


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _disk_alpha(size, cy, cx, radius):
    """Antialiased coverage of a disk."""
    yy, xx = _coords(size)
    return np.clip(radius + 0.5 - np.hypot(yy - cy, xx - cx), 0.0, 1.0)


def _paint(image, alpha, colour):
    """Composite `colour` over `image` with coverage `alpha` (HxW in [0, 1])."""
    a = alpha[..., None]
    return image * (1 - a) + np.asarray(colour, np.float32) * a


def _walk(rng, size, length, turn):
    """A random-walk curve (Nx2 points, 0.5 px apart) starting well inside the image.

    `turn` is the standard deviation of the heading change per pixel: small for scratches, large
    for cracks.
    """
    steps = max(int(2 * length), 2)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0.0, turn * np.sqrt(0.5), steps))
    start = rng.uniform(0.15 * size, 0.85 * size, 2)
    offsets = 0.5 * np.cumsum(np.stack([np.sin(heading), np.cos(heading)], axis=1), axis=0)
    return np.vstack([start, start + offsets])


def _stroke_alpha(points, width, size):
    """Antialiased coverage of a polyline of `width` px, via the distance to its nearest point."""
    rows, cols = np.round(points).astype(int).T
    inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    far = np.ones((size, size), bool)
    far[rows[inside], cols[inside]] = False
    distance = ndimage.distance_transform_edt(far)
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def _shaded(coverage, inner_distance, bevel, rng):
    """Lambert shading of a part whose rim is rounded over `bevel` px (flat top, lit from one side)."""
    height = np.sqrt(np.clip(inner_distance / bevel, 0.0, 1.0))
    dy, dx = np.gradient(height * bevel)
    angle = rng.uniform(0, 2 * np.pi)
    light = np.array([np.sin(angle) * 0.6, np.cos(angle) * 0.6, 0.8])
    normal_len = np.sqrt(dx * dx + dy * dy + 1.0)
    return np.clip((-dy * light[0] - dx * light[1] + light[2]) / normal_len, 0.0, 1.0) * coverage


# ----------------------------------------------------------------------------- surfaces

def brushed_metal(rng, size):
    """Brushed or turned (concentric machining rings) metal under uneven light."""
    yy, xx = _coords(size)
    streaks = _smooth_noise(rng, size, (0.7, rng.uniform(10, 25)))
    if rng.random() < 0.5:
        streaks = streaks.T
    shade = 1 + rng.uniform(0.02, 0.07) * streaks + _ramp(rng, size, rng.uniform(0.0, 0.15))
    if rng.random() < 0.4:
        cy, cx = rng.uniform(-0.5, 1.5, 2) * size
        shade += rng.uniform(0.02, 0.05) * np.sin(2 * np.pi * np.hypot(yy - cy, xx - cx) / rng.uniform(2.5, 8))
    return _colour(rng, "metal") * shade[..., None]


def woven_mesh(rng, size):
    """A plain-weave mesh of round threads (wire cloth, fabric) over a dark or bright background."""
    yy, xx = _coords(size)
    period = rng.uniform(7, 22)
    half_width = rng.uniform(0.45, 0.8) * period / 2
    angle = _pick(rng, (0.0, np.pi / 4)) + rng.uniform(-0.17, 0.17)
    u = (xx * np.cos(angle) + yy * np.sin(angle)) / period
    v = (yy * np.cos(angle) - xx * np.sin(angle)) / period

    def thread(t):  # coverage and rounded height of the threads running across `t`
        distance = np.abs(t - np.floor(t) - 0.5) * period
        return (np.clip(half_width - distance + 0.5, 0, 1),
                np.sqrt(np.clip(1 - (distance / half_width) ** 2, 0, 1)))

    (cover_u, height_u), (cover_v, height_v) = thread(u), thread(v)
    u_on_top = (np.floor(u) + np.floor(v)) % 2 == 0
    top_cover, top_height = np.where(u_on_top, cover_u, cover_v), np.where(u_on_top, height_u, height_v)
    low_cover, low_height = np.where(u_on_top, cover_v, cover_u), np.where(u_on_top, height_v, height_u)
    low_visible = (1 - top_cover) * low_cover
    alpha = top_cover + low_visible
    shade = (top_cover * (0.45 + 0.55 * top_height) + low_visible * (0.3 + 0.4 * low_height)) / np.maximum(alpha, 1e-6)
    background = _colour(rng, _pick(rng, ("black", "white", "black", "earth")))
    thread_colour = _colour(rng, _pick(rng, ("metal", "saturated", "white")))
    image = np.broadcast_to(background, (size, size, 3))
    return _paint(image, alpha, thread_colour * shade[..., None])


def circuit_board(rng, size):
    """A PCB: coloured solder mask, metal tracks with pads, vias and sometimes a black chip."""
    substrate = _pick(rng, (_hsv(rng.uniform(0.28, 0.42), rng.uniform(0.6, 0.9), rng.uniform(0.25, 0.55)),
                            _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.6, 0.9), rng.uniform(0.3, 0.6)),
                            _colour(rng, "black")))
    image = substrate * (1 + 0.05 * _smooth_noise(rng, size, 1.5))[..., None]
    metal = _pick(rng, (_hsv(rng.uniform(0.1, 0.13), rng.uniform(0.45, 0.75), rng.uniform(0.75, 0.95)),
                        _colour(rng, "metal")))
    for _ in range(rng.integers(6, 16)):
        width = int(rng.integers(2, 7))
        y, x = rng.integers(0, size, 2)
        horizontal = rng.random() < 0.5
        for _ in range(rng.integers(1, 4)):
            length = int(rng.integers(size // 8, size // 2)) * _pick(rng, (-1, 1))
            if horizontal:
                x_end = int(np.clip(x + length, 0, size - 1))
                image[max(y - width // 2, 0):y + width - width // 2, min(x, x_end):max(x, x_end) + 1] = metal
                x = x_end
            else:
                y_end = int(np.clip(y + length, 0, size - 1))
                image[min(y, y_end):max(y, y_end) + 1, max(x - width // 2, 0):x + width - width // 2] = metal
                y = y_end
            horizontal = not horizontal
        image = _paint(image, _disk_alpha(size, y, x, width + 2), metal)
    for _ in range(rng.integers(2, 8)):
        cy, cx = rng.uniform(0, size, 2)
        radius = rng.uniform(3, 6)
        image = _paint(image, _disk_alpha(size, cy, cx, radius), metal)
        image = _paint(image, _disk_alpha(size, cy, cx, radius * 0.45), _colour(rng, "black"))
    if rng.random() < 0.5:
        image = _chip(image, rng, metal)
    return image


def _chip(image, rng, pin_colour):
    """A black integrated circuit with pins along its two long sides."""
    size = image.shape[0]
    h, w = rng.integers(size // 6, size // 3, 2)
    y, x = rng.integers(0, size - h), rng.integers(0, size - w)
    pitch, pin = int(rng.integers(6, 12)), int(rng.integers(3, 6))
    for px in range(x + pitch // 2, x + w - pin, pitch):
        image[max(y - pin, 0):y + h + pin, px:px + pin] = pin_colour
    image[y:y + h, x:x + w] = _colour(rng, "black") + 0.04
    return image


def plain_part(rng, size):
    """One shaded part (washer, nut, plate, pill, screw) on a uniform bright or dark background."""
    yy, xx = _coords(size)
    bright = rng.random() < 0.55
    background = _colour(rng, "white" if bright else "black")
    vignette = 1 - rng.uniform(0.0, 0.1) * (np.hypot(yy - size / 2, xx - size / 2) / (size / 2)) ** 2
    image = background * vignette[..., None]
    inner_distance = _part_shape(rng, size)
    coverage = np.clip(inner_distance + 0.5, 0.0, 1.0)
    if bright:  # a soft shadow that the part casts on a bright background
        shift = rng.uniform(-6, 6, 2)
        shadow = ndimage.gaussian_filter(ndimage.shift(coverage, shift, order=1), rng.uniform(2, 6))
        image = image * (1 - rng.uniform(0.1, 0.3) * shadow)[..., None]
    family = _pick(rng, ("metal", "saturated", "saturated", "black" if bright else "white"))
    colour = _colour(rng, family)
    shade = _shaded(coverage, inner_distance, rng.uniform(3, max(3, 0.2 * size)), rng)
    part = colour * (0.35 + 0.65 * shade)[..., None]
    if family == "metal":
        part = part + (0.5 * shade ** 12)[..., None]  # specular highlight on the rim
    return _paint(image, coverage, part)


def _part_shape(rng, size):
    """Signed distance in px (positive inside) of a random part shape centred near the middle."""
    yy, xx = _coords(size)
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    angle = rng.uniform(0, np.pi)
    along = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    across = (yy - cy) * np.cos(angle) - (xx - cx) * np.sin(angle)
    radius = rng.uniform(0.15, 0.32) * size
    r = np.hypot(along, across)
    shape = _pick(rng, ("disk", "washer", "nut", "plate", "pill", "screw"))
    if shape == "disk":
        return radius - r
    if shape == "washer":
        return np.minimum(radius - r, r - radius * rng.uniform(0.3, 0.6))
    if shape == "nut":
        hexagon = np.max([np.abs(along * np.cos(k * np.pi / 3) + across * np.sin(k * np.pi / 3))
                          for k in range(3)], axis=0)
        return np.minimum(radius * 0.9 - hexagon, r - radius * 0.45)
    if shape == "plate":
        half = radius * rng.uniform(0.5, 1.0, 2)
        corner = rng.uniform(2, max(2, 0.4 * half.min()))
        qx, qy = np.abs(along) - half[0] + corner, np.abs(across) - half[1] + corner
        outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
        return corner - outside
    half_length = radius * rng.uniform(0.6, 1.2)
    thickness = radius * (rng.uniform(0.3, 0.5) if shape == "pill" else rng.uniform(0.12, 0.2))
    shaft = thickness - np.hypot(np.maximum(np.abs(along) - half_length, 0), across)
    if shape == "pill":
        return shaft
    thread = 0.15 * thickness * np.sin(2 * np.pi * along / rng.uniform(3, 7))  # screw thread ridges
    head = np.minimum(thickness * 2.2 - np.abs(across), thickness * 0.9 - np.abs(along + half_length))
    return np.maximum(shaft + thread, head)


def textile(rng, size):
    """Carpet (fluffy, looped), leather (grain and creases) or fabric (fine twill)."""
    yy, xx = _coords(size)
    colour = _colour(rng, _pick(rng, ("earth", "saturated", "black", "white", "metal")))
    variant = _pick(rng, ("carpet", "leather", "fabric"))
    if variant == "carpet":
        period = rng.uniform(3, 7)
        loops = np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
        shade = 1 + 0.14 * _smooth_noise(rng, size, 1.0) + 0.08 * _smooth_noise(rng, size, 4) + 0.06 * loops
    elif variant == "leather":
        creases = np.exp(-(_smooth_noise(rng, size, 6) / 0.12) ** 2)
        shade = 1 + 0.06 * _smooth_noise(rng, size, 1.5) - rng.uniform(0.1, 0.25) * creases
    else:
        period = rng.uniform(3, 6)
        twill = np.sin(2 * np.pi * (xx + yy) / period)
        shade = 1 + 0.08 * twill + 0.05 * _smooth_noise(rng, size, (0.7, 6))
    return colour * (shade + _ramp(rng, size, rng.uniform(0.0, 0.1)))[..., None]


def tiles(rng, size):
    """Ceramic or terrazzo tiles with grout lines and slight tile-to-tile variation."""
    yy, xx = _coords(size)
    cell = rng.uniform(28, 90)
    grout_half = rng.uniform(1.0, 2.5)
    oy, ox = rng.uniform(0, cell, 2)
    row, col = np.floor((yy + oy) / cell).astype(int), np.floor((xx + ox) / cell).astype(int)
    edge = np.minimum(np.minimum((yy + oy) % cell, cell - (yy + oy) % cell),
                      np.minimum((xx + ox) % cell, cell - (xx + ox) % cell))
    grout = np.clip(grout_half - edge + 0.5, 0, 1)
    count = int(size / cell) + 2
    jitter = rng.normal(0, 0.04, (count, count)).astype(np.float32)
    colour = _colour(rng, _pick(rng, ("white", "earth", "saturated", "metal", "black")))
    speckles = ndimage.gaussian_filter((rng.random((size, size)) < 0.03).astype(np.float32), 0.8)
    shade = 1 + jitter[row, col] + 0.03 * _smooth_noise(rng, size, 1.0) - rng.uniform(0.5, 2.0) * speckles
    image = colour * shade[..., None]
    return _paint(image, grout, _colour(rng, _pick(rng, ("metal", "black", "white"))) * 0.8)


def wood(rng, size):
    """Wood grain: warped growth rings between a light and a dark tone, plus fibres."""
    yy, xx = _coords(size)
    period = rng.uniform(6, 20)
    warp = rng.uniform(2, 6) * _smooth_noise(rng, size, rng.uniform(12, 20))
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (yy + warp + 0.05 * xx) / period)
    fibres = _smooth_noise(rng, size, (0.6, 10))
    light = _colour(rng, "earth") * rng.uniform(1.1, 1.4)
    dark = light * rng.uniform(0.5, 0.8)
    image = light * (1 - rings[..., None]) + dark * rings[..., None]
    image = image * (1 + 0.05 * fibres)[..., None]
    return np.ascontiguousarray(image.transpose(1, 0, 2)) if rng.random() < 0.5 else image


SURFACES = {
    "brushed_metal": brushed_metal,
    "woven_mesh": woven_mesh,
    "circuit_board": circuit_board,
    "plain_part": plain_part,
    "textile": textile,
    "tiles": tiles,
    "wood": wood,
}


# ----------------------------------------------------------------------------- defects
# Each takes (image, rng) and returns (defective image, bool mask of the defect). The mask is never
# empty: every defect is anchored at a point inside the image.

def scratch(image, rng):
    """A thin, gently curving line, brighter or darker than the surface."""
    size = image.shape[0]
    points = _walk(rng, size, rng.uniform(0.15, 0.7) * size, turn=0.01)
    alpha = _stroke_alpha(points, rng.uniform(0.7, 2.2), size)
    delta = rng.uniform(0.2, 0.5) * _pick(rng, (-1.0, 1.0))
    return image + delta * alpha[..., None], alpha >= 0.5


def crack(image, rng):
    """A jagged dark line, sometimes with a branch."""
    size = image.shape[0]
    points = _walk(rng, size, rng.uniform(0.1, 0.45) * size, turn=0.3)
    if rng.random() < 0.5:
        branch = _walk(rng, size, rng.uniform(0.05, 0.2) * size, turn=0.3)
        points = np.vstack([points, branch - branch[0] + points[rng.integers(len(points))]])
    alpha = _stroke_alpha(points, rng.uniform(0.8, 2.5), size)
    return image * (1 - rng.uniform(0.6, 0.95) * alpha)[..., None], alpha >= 0.5


def stain(image, rng):
    """An irregular blob: dark oil, a coloured stain, or a faint discolouration."""
    size = image.shape[0]
    yy, xx = _coords(size)
    cy, cx = rng.uniform(0.1, 0.9, 2) * size
    a, b = rng.uniform(3, 22, 2)
    angle = rng.uniform(0, np.pi)
    along = ((xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)) / a
    across = ((yy - cy) * np.cos(angle) - (xx - cx) * np.sin(angle)) / b
    inside = 1 - np.hypot(along, across) + 0.35 * np.tanh(_smooth_noise(rng, size, 3))
    coverage = np.clip(inside * min(a, b) + 0.5, 0, 1)
    colour = _colour(rng, _pick(rng, ("black", "earth", "saturated")))
    return _paint(image, rng.uniform(0.4, 0.9) * coverage, colour), coverage >= 0.5


def hole(image, rng):
    """A dark round hole with a bright rim."""
    size = image.shape[0]
    cy, cx = rng.uniform(0.05, 0.95, 2) * size
    radius = rng.uniform(2, 9)
    rim = _disk_alpha(size, cy, cx, radius + rng.uniform(1, 2.5))
    image = _paint(image, rim, np.clip(image[int(cy), int(cx)] + 0.25, 0, 1))
    inner = _disk_alpha(size, cy, cx, radius)
    return _paint(image, inner, _colour(rng, "black")), rim >= 0.5


def contamination(image, rng):
    """A cluster of small particles of any colour, sometimes with a fibre (hair, lint)."""
    size = image.shape[0]
    cy, cx = rng.uniform(0.1, 0.9, 2) * size
    mask = np.zeros((size, size), bool)
    for _ in range(rng.integers(3, 13)):
        py, px = np.clip(np.array([cy, cx]) + rng.normal(0, 12, 2), 0, size - 1)
        alpha = _disk_alpha(size, py, px, rng.uniform(0.8, 3.5))
        image = _paint(image, alpha, _colour(rng, _pick(rng, ("black", "white", "saturated", "earth"))))
        mask |= alpha >= 0.5
    if rng.random() < 0.4:
        alpha = _stroke_alpha(_walk(rng, size, rng.uniform(20, 80), turn=0.06), rng.uniform(0.8, 1.5), size)
        image = _paint(image, alpha, _colour(rng, _pick(rng, ("black", "white", "earth"))))
        mask |= alpha >= 0.5
    return image, mask


DEFECTS = {
    "scratch": scratch,
    "crack": crack,
    "stain": stain,
    "hole": hole,
    "contamination": contamination,
}
DEFECT_NAMES = tuple(DEFECTS)
