"""Make the console's offline world map: ``harness/src/eventflow_local/console/static/world.svg``.

Source: Natural Earth's 1:110m land polygons (public domain, naturalearthdata.com), as TopoJSON
in the npm package ``world-atlas`` (2.0.2). This script decodes the TopoJSON (quantized, delta-
encoded arcs), projects it equirectangularly (rings across the antimeridian unwrapped, see ``unwrap``; x = longitude + 180, y = 90 - latitude, so the
SVG's viewBox is 0 0 360 180 and a point is placed with the same two sums in the browser), rounds
to a tenth of a degree and writes one ``<path>``. Run it once when the outline should change:

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python tools/world_outline.py package/land-110m.json harness/src/eventflow_local/console/static/world.svg
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADER = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 180" preserveAspectRatio="none">\n'
    "<!-- Natural Earth 1:110m land (public domain), via the world-atlas TopoJSON; "
    "equirectangular: x = lon + 180, y = 90 - lat -->\n"
)


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Each arc as (longitude, latitude) points (TopoJSON: delta-encoded, quantized)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(
    ring: list[int], arcs: list[list[tuple[float, float]]]
) -> list[tuple[float, float]]:
    """A ring's points: its arcs in order (a negative index ~i is arc i reversed)."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc[1:] if points else arc)
    return points


def rings(geometry: dict[str, Any]) -> list[list[int]]:
    if geometry["type"] == "Polygon":
        return list(geometry["arcs"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["arcs"] for ring in polygon]
    if geometry["type"] == "GeometryCollection":
        return [ring for child in geometry["geometries"] for ring in rings(child)]
    return []


def unwrap(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring that crosses the antimeridian, drawn without a stripe across the map.

    Longitudes are made continuous (a step of more than 180 degrees is one across the
    antimeridian), so the ring may reach past 180; a copy shifted by 360 degrees draws the part
    that comes back on the other side (the SVG clips both to the map). A ring around a pole
    (Antarctica) is closed along the pole's latitude.
    """
    out: list[tuple[float, float]] = []
    shift = 0.0
    for lon, lat in points:
        if out:
            step = lon + shift - out[-1][0]
            if step > 180:
                shift -= 360
            elif step < -180:
                shift += 360
        out.append((lon + shift, lat))
    if abs(out[-1][0] - out[0][0]) > 180:  # around a pole
        pole = -90.0 if min(lat for _, lat in out) < 0 else 90.0
        out += [(out[-1][0], pole), (out[0][0], pole)]
    copies = [out]
    if max(lon for lon, _ in out) > 180:
        copies.append([(lon - 360, lat) for lon, lat in out])
    if min(lon for lon, _ in out) < -180:
        copies.append([(lon + 360, lat) for lon, lat in out])
    return copies


def svg_path(points: list[tuple[float, float]]) -> str:
    out: list[str] = []
    last = None
    for lon, lat in points:
        xy = (round(lon + 180, 1), round(90 - lat, 1))
        if xy != last:
            out.append(f"{xy[0]:g},{xy[1]:g}")
            last = xy
    return "M" + "L".join(out) + "Z" if len(out) > 2 else ""


def main(argv: list[str]) -> int:
    source, target = Path(argv[1]), Path(argv[2])
    topology = json.loads(source.read_text())
    arcs = decode_arcs(topology)
    paths = [
        svg_path(copy)
        for obj in topology["objects"].values()
        for ring in rings(obj)
        for copy in unwrap(ring_points(ring, arcs))
    ]
    body = "".join(p for p in paths if p)
    target.write_text(HEADER + f'<path class="land" d="{body}"/>\n</svg>\n')
    print(f"{target}: {len(body)} characters of path")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
