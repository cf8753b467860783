#!/usr/bin/env python3
"""Make assets/map/land.txt from Natural Earth land polygons (world-atlas TopoJSON).

Re-run (Debian 12; shapely from Debian, not pip):

    apt-get install -y python3-shapely          # shapely 1.8.5 on bookworm
    cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    cd /work/main
    /usr/bin/python3 assets/map/make_land.py /tmp/package/land-50m.json assets/map/land.txt

Steps (all in degrees, lon/lat treated as plane coordinates):
  1. decode the TopoJSON object `land` (quantized, delta-encoded arcs) into polygons;
     keep those touching the bbox; repair invalid ones with buffer(0) (Afro-Eurasia's
     ring touches itself, so it comes out as several polygons);
  2. drop polygons whose area inside the bbox, before simplification, is < MIN_AREA
     square degrees; MIN_AREA sits just below Malta's area (0.0219), so Malta stays and
     Gozo (0.0056) goes;
  3. Douglas-Peucker simplify each polygon (shapely `simplify`, preserve_topology=True)
     with TOLERANCE; a polygon whose outer ring would keep fewer than 4 points is retried
     with half the tolerance (a safety net; at 0.05 no polygon needs it);
  4. clip to the bbox; drop pieces < MIN_AREA of a polygon that the bbox cuts in several;
  5. holes: the only hole inside the bbox is the Caspian Sea.  Dropping it would paint
     the Caspian as land, so a polygon that still has a hole is split along a U-shaped
     line (see seam_line): down a meridian from the bbox's top edge into the hole, across
     it, and up a second meridian SEAM_WIDTH east.  The hole becomes a bay, the land
     between the meridians north of it becomes its own ring, and every piece is a plain
     outer ring.  Neighbouring pieces share the seam edges exactly (same coordinates);
  6. round to 2 decimals, remove repeated points, drop rings with < 4 distinct points,
     orient counter-clockwise (lon = x to the right, lat = y up), sort by area, largest
     first, and write one ring per line, NOT closed (the last point is not a repeat
     of the first; close it when drawing).
It then checks that a point of Malta, Crete, Cyprus, Sicily, Sardinia,
Corsica, Rhodes, the Nile delta and the Sinai lies inside some ring, and that points in
the Mediterranean, Red Sea, Gulf and Caspian do not.
"""
import json
import sys

from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient
from shapely.ops import split

BBOX = (-15.0, -2.0, 63.0, 52.0)  # lon_min, lat_min, lon_max, lat_max
TOLERANCE = 0.05                  # Douglas-Peucker tolerance, degrees
MIN_AREA = 0.02                   # square degrees; Malta is 0.0219, Gozo 0.0056
DECIMALS = 2
SEAM_WIDTH = 0.5                  # degrees between the two meridians of a seam

MUST_BE_LAND = {
    "Malta": (14.45, 35.90), "Crete": (24.9, 35.25), "Cyprus": (33.2, 35.05),
    "Sicily": (14.2, 37.5), "Sardinia": (9.0, 40.0), "Corsica": (9.1, 42.1),
    "Rhodes": (28.0, 36.2), "Nile delta": (31.0, 30.8), "Sinai": (33.8, 29.8),
    "Tehran": (51.4, 35.7), "Mogadishu": (45.3, 2.05), "Normandy": (0.0, 49.0),
}
MUST_BE_SEA = {
    "Ionian Sea": (18.5, 37.0), "Red Sea": (38.0, 21.0), "Persian Gulf": (51.0, 27.0),
    "Caspian Sea": (51.0, 42.0), "Black Sea": (34.0, 43.0), "Bay of Biscay": (-4.0, 45.0),
}


def decode_topojson(path, name="land"):
    topo = json.load(open(path))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)

    def ring(indexes):
        out = []
        for i in indexes:
            pts = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(pts if not out else pts[1:])
        return out

    def geoms(g):
        if g["type"] == "GeometryCollection":
            for h in g["geometries"]:
                yield from geoms(h)
        elif g["type"] == "Polygon":
            yield [ring(r) for r in g["arcs"]]
        elif g["type"] == "MultiPolygon":
            for p in g["arcs"]:
                yield [ring(r) for r in p]

    return list(geoms(topo["objects"][name]))


def polygons_of(geom):
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [p for g in getattr(geom, "geoms", []) for p in polygons_of(g)]


def rounded_ring(poly):
    pts = []
    for x, y in list(orient(poly, 1.0).exterior.coords)[:-1]:
        p = (round(x, DECIMALS), round(y, DECIMALS))
        if not pts or pts[-1] != p:
            pts.append(p)
    while len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def simplify(poly, tol):
    while True:
        s = poly.simplify(tol, preserve_topology=True) if tol > 0 else poly
        parts = polygons_of(s)
        if tol <= 0.001 or (parts and min(len(rounded_ring(q)) for q in parts) >= 4):
            return s, tol
        tol /= 2


def point_in_ring(x, y, ring):
    inside = False
    n = len(ring)
    for i in range(n):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def seam_line(hole):
    """A U-shaped cut from the bbox's top edge down into the hole and back up.

    Splitting along it turns the hole into a bay: one piece is the narrow strip between
    the two meridians north of the hole, the other is the rest of the polygon.  (A
    single meridian through the hole would also cut Iran and Arabia in two.)
    """
    x1 = round(hole.centroid.x, 1)
    x2 = round(x1 + SEAM_WIDTH, 1)
    ends, shores = [], []
    for x in (x1, x2):
        cut = LineString([(x, BBOX[1] - 1), (x, BBOX[3] + 1)]).intersection(hole)
        top = max(y for g in getattr(cut, "geoms", [cut]) for _, y in g.coords)
        ends.append((x, top - 0.3))
        shores.append((x, top))
    bottom = LineString(ends)
    assert hole.contains(bottom), "seam: pick other meridians"
    return LineString([(x1, BBOX[3] + 1), ends[0], ends[1], (x2, BBOX[3] + 1)]), shores


def main(src, dst, tol=TOLERANCE):
    clip = box(*BBOX)
    out = []
    seams = []
    raws = []
    reduced_tol = dropped_small = dropped_points = 0
    for rings in decode_topojson(src):
        raw = Polygon(rings[0], rings[1:])
        if raw.intersects(clip):
            # Afro-Eurasia is not valid (its ring touches itself); buffer(0) repairs it
            # into several polygons, each simplified on its own below
            raws += polygons_of(raw if raw.is_valid else raw.buffer(0))
    for raw in raws:
        if raw.intersection(clip).area < MIN_AREA:  # judged before simplification
            dropped_small += 1
            continue
        simp, used = simplify(raw, tol)
        reduced_tol += used < tol
        todo = polygons_of(simp.intersection(clip))
        pieces = []
        while todo:
            poly = todo.pop()
            if poly.interiors:
                hole = Polygon(poly.interiors[0])
                line, shores = seam_line(hole)
                seams += shores
                todo.extend(polygons_of(split(poly, line)))
            else:
                pieces.append(poly)
        for poly in pieces:
            # slivers cut off by the bbox from a polygon that is mostly outside
            if len(pieces) > 1 and poly.area < MIN_AREA:
                dropped_small += 1
                continue
            ring = rounded_ring(poly)
            if len(ring) < 4:
                dropped_points += 1
                continue
            out.append((abs(Polygon(ring).area), ring))
    out.sort(key=lambda t: (-t[0], t[1]))

    problems = []
    for name, (x, y) in MUST_BE_LAND.items():
        if not any(point_in_ring(x, y, r) for _, r in out):
            problems.append("missing land: " + name)
    for name, (x, y) in MUST_BE_SEA.items():
        if sum(point_in_ring(x, y, r) for _, r in out) % 2:
            problems.append("land in sea: " + name)
    if problems:
        sys.exit("\n".join(problems))

    npts = sum(len(r) for _, r in out)
    seam_lons = " or ".join("%.2f" % x for x, _ in seams) or "none"
    seam_lat = min((y for _, y in seams), default=BBOX[3])
    seam_txt = " and ".join("lon %.2f from lat %.2f" % xy for xy in seams) or "none"
    header = f"""\
# land.txt - land polygons for a small map of the Mediterranean and Middle East
# Source: Natural Earth 1:50m land (v4.1.0), via npm package world-atlas@2.0.2, file land-50m.json
# License: public domain, Natural Earth. "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com"
# Made by assets/map/make_land.py (shapely {__import__('shapely').__version__}):
#   apt-get install -y python3-shapely
#   cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
#   /usr/bin/python3 assets/map/make_land.py /tmp/package/land-50m.json assets/map/land.txt
# bbox: lon {BBOX[0]}..{BBOX[2]}, lat {BBOX[1]}..{BBOX[3]} (degrees, WGS84); rings are clipped to it
# Douglas-Peucker tolerance: {tol} degrees (smaller for tiny islands that would fall under 4 points)
# Dropped: holes (none remain, see seam), pieces < {MIN_AREA} square degrees (Malta 0.022 kept, Gozo dropped), rings < 4 points
# Seam: the Caspian Sea was a hole; to make it a bay the land north of it is cut along
#   {seam_txt} (its north shore) up to lat {BBOX[3]}; the strip between is its own ring
# Artificial edges (not coastline; skip them if you stroke outlines): segments with both ends on the same
#   bbox edge, and seam segments: both ends at the same seam lon ({seam_lons}) with lat >= {seam_lat:.2f}
#   (a real coastline segment may lie on a seam lon further south: the lat test tells them apart)
# Format: after these '#' lines, one outer ring per line: "lon,lat lon,lat ..." ({DECIMALS} decimals,
#   space-separated points, comma between lon and lat); rings are NOT closed (last point != first,
#   close them when drawing); counter-clockwise with lat up; at least 4 points; largest ring first
# Rings: {len(out)}, points: {npts}
"""
    with open(dst, "w") as f:
        f.write(header)
        for _, ring in out:
            f.write(" ".join(f"{x:.{DECIMALS}f},{y:.{DECIMALS}f}" for x, y in ring) + "\n")
    print(f"{dst}: {len(out)} rings, {npts} points; dropped {dropped_small} small, "
          f"{dropped_points} under 4 points; seams: {seam_txt}; "
          f"tolerance reduced for {reduced_tol} polygons")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: make_land.py land-50m.json land.txt [tolerance]")
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else TOLERANCE)
