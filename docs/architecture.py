#!/usr/bin/env python3
"""Writes docs/architecture.svg, the deployment diagram of docs/operations.md.

Python 3 standard library only (no graphviz): every box and arrow is placed by hand below, and
the script refuses to write a diagram whose boxes or labels overlap.

    python3 docs/architecture.py            # writes docs/architecture.svg next to this file
    python3 docs/architecture.py OUT.svg    # writes OUT.svg
"""

import sys
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 1400, 1000
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

# Node containers: A on the left, B mirrored on the right; the shared task directory sits between.
NODE_W = 500
NODE_A_X, NODE_B_X = 40, 860
NODE_Y, NODE_H = 330, 400

COLOURS = {
    "client": ("#eef4fb", "#3b6ea8"),
    "lb": ("#f3eefb", "#6b4fa8"),
    "nginx": ("#eaf6ec", "#2f7d3b"),
    "app": ("#fdf3e6", "#b86e12"),
    "metrics": ("#fbeef0", "#a83b52"),
    "storage": ("#eef1f4", "#44505c"),
}


class Diagram:
    def __init__(self):
        self.parts = []
        self.boxes = []   # (name, x, y, w, h): must not overlap one another
        self.labels = []  # (text, x0, y0, x1, y1, owner): must not overlap boxes other than owner

    # Text extents are estimated (about 0.58 em per character in a sans-serif font, 0.62 bold);
    # good enough to keep labels apart, since every gap below is generous.
    @staticmethod
    def text_width(text, size, bold=False):
        return len(text) * size * (0.62 if bold else 0.58)

    def text(self, x, y, text, size=12, bold=False, anchor="middle", colour="#1d1d1d", owner=None, italic=False):
        width = self.text_width(text, size, bold)
        x0 = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        self.labels.append((text, x0, y - size * 0.8, x0 + width, y + size * 0.25, owner))
        weight = ' font-weight="bold"' if bold else ""
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{weight}{style} '
            f'fill="{colour}">{escape(text)}</text>')

    def box(self, name, x, y, w, h, kind, title, lines=(), title_size=14, line_size=12):
        fill, stroke = COLOURS[kind]
        self.boxes.append((name, x, y, w, h))
        self.parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" ry="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.6"/>')
        total = title_size + len(lines) * (line_size + 5)
        ty = y + (h - total) / 2 + title_size * 0.85
        self.text(x + w / 2, ty, title, size=title_size, bold=True, owner=name)
        for i, line in enumerate(lines):
            self.text(x + w / 2, ty + (i + 1) * (line_size + 5), line, size=line_size, owner=name, colour="#333333")
        for label in self.labels[-(len(lines) + 1):]:
            if label[3] - label[1] > w - 8:
                raise SystemExit(f"text '{label[0]}' is wider than its box {name}")

    def container(self, x, y, w, h, title):
        self.parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="12" ry="12" fill="#fafafa" '
            f'stroke="#8a8a8a" stroke-width="1.4" stroke-dasharray="7 5"/>')
        self.text(x + 16, y + 24, title, size=15, bold=True, anchor="start", owner="container")

    def arrow(self, x1, y1, x2, y2, colour="#404040", dashed=False):
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.parts.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.8"{dash} '
            f'marker-end="url(#head)"/>')

    def check(self):
        def overlap(a, b, gap=0):
            return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap
        rects = [(n, (x, y, x + w, y + h)) for n, x, y, w, h in self.boxes]
        for i, (na, a) in enumerate(rects):
            for nb, b in rects[i + 1:]:
                if overlap(a, b, gap=10):
                    raise SystemExit(f"boxes {na} and {nb} overlap (or are closer than 10 px)")
        for text, *extent, owner in self.labels:
            label = tuple(extent)
            if not (0 <= label[0] and label[2] <= WIDTH and 0 <= label[1] and label[3] <= HEIGHT):
                raise SystemExit(f"label '{text}' runs off the drawing")
            for name, rect in rects:
                if name != owner and overlap(label, rect, gap=2):
                    raise SystemExit(f"label '{text}' overlaps box {name}")
        for i, a in enumerate(self.labels):
            for b in self.labels[i + 1:]:
                if (a[5] is None or b[5] is None or a[5] != b[5]) and a[0] and b[0] and overlap(a[1:5], b[1:5]):
                    raise SystemExit(f"labels '{a[0]}' and '{b[0]}' overlap")

    def svg(self):
        head = f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}">
  <title>ATR Export: two-node deployment (a single host is one node with SQLite)</title>
  <defs>
    <marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
      <path d="M 0 0 L 10 5 L 0 10 z" fill="#404040"/>
    </marker>
  </defs>
  <rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>
"""
        return head + "\n".join("  " + p for p in self.parts) + "\n</svg>\n"


def node(d, x0, name, mirrored):
    """One node: nginx, atr-fcgi, atr-scheduler, a Prometheus agent. Coordinates are node A's,
    mirrored for node B so that nginx and the scheduler face the shared directory in the middle."""
    def mx(lx, w=0):
        return x0 + (NODE_W - lx - w if mirrored else lx)

    d.container(x0, NODE_Y, NODE_W, NODE_H, name)
    key = name.split()[-1].lower()

    # Row 1: Prometheus agent (outer side) scraping nginx's loopback metrics listener (inner side).
    agent_lx, agent_w, agent_y, agent_h = 20, 110, 380, 90
    nginx_lx, nginx_w, nginx_y, nginx_h = 200, 280, 370, 110
    d.box(f"agent-{key}", mx(agent_lx, agent_w), agent_y, agent_w, agent_h, "metrics", "Prometheus",
          ["agent mode,", "remote_write", "to central"], title_size=13, line_size=11)
    d.box(f"nginx-{key}", mx(nginx_lx, nginx_w), nginx_y, nginx_w, nginx_h, "nginx", "nginx",
          ["TLS :443, secure_link /files/,", "auth_request, X-Accel-Redirect", "metrics: 127.0.0.1:9464/metrics"])
    ay = agent_y + agent_h / 2
    gap_left, gap_right = sorted((mx(agent_lx + agent_w), mx(nginx_lx)))
    if mirrored:
        d.arrow(gap_right, ay, gap_left, ay, colour="#a83b52", dashed=True)
    else:
        d.arrow(gap_left, ay, gap_right, ay, colour="#a83b52", dashed=True)
    d.text((gap_left + gap_right) / 2, ay - 8, "scrape", size=11, colour="#a83b52")
    d.text((gap_left + gap_right) / 2, ay + 18, "loopback", size=11, colour="#a83b52")

    # Row 2: atr-fcgi under nginx, atr-scheduler on the inner side next to the task directory.
    row_y, row_h = 570, 90
    fcgi_lx, fcgi_w = 20, 240
    sched_lx, sched_w = 290, 190
    d.box(f"fcgi-{key}", mx(fcgi_lx, fcgi_w), row_y, fcgi_w, row_h, "app", "atr-fcgi",
          ["FHIR API, /auth/token,", "download checks, /metrics"])
    d.box(f"sched-{key}", mx(sched_lx, sched_w), row_y, sched_w, row_h, "app", "atr-scheduler",
          ["claims tasks (leases),", "writes NDJSON files"])
    # nginx -> atr-fcgi over the FastCGI socket: an x both boxes span.
    fx = mx(230)
    d.arrow(fx, nginx_y + nginx_h, fx, row_y)
    lx = fx + 10 if mirrored else fx - 10
    anchor = "start" if mirrored else "end"
    d.text(lx, 516, "FastCGI", size=12, anchor=anchor)
    d.text(lx, 532, "unix socket", size=12, anchor=anchor)

    d.text(x0 + 20, NODE_Y + NODE_H - 34, "systemd: atr-fcgi.socket starts atr-fcgi.service;", size=11,
           anchor="start", colour="#555555", owner="container")
    d.text(x0 + 20, NODE_Y + NODE_H - 16, "atr-scheduler.service (or atr-scheduler.timer)", size=11,
           anchor="start", colour="#555555", owner="container")
    return {
        "nginx": (mx(nginx_lx, nginx_w), nginx_y, nginx_w, nginx_h),
        "sched": (mx(sched_lx, sched_w), row_y, sched_w, row_h),
    }


def build():
    d = Diagram()
    d.text(WIDTH / 2, 34, "ATR Export: two-node deployment", size=20, bold=True)
    d.text(WIDTH / 2, 58, "A single host is one node with SQLite and a local task directory, without the load balancer",
           size=13, colour="#555555", italic=True)

    cx = WIDTH / 2
    d.box("clients", cx - 260, 80, 520, 70, "client", "Provider clients",
          ["SMART Backend Services: token, kick-off, status polls, downloads"])
    d.arrow(cx, 150, cx, 200)
    d.text(cx + 10, 180, "HTTPS", size=12, anchor="start")
    d.box("lb", cx - 260, 200, 520, 70, "lb", "Load balancer",
          ["any node serves any request: no stickiness"])

    a = node(d, NODE_A_X, "Node A", mirrored=False)
    b = node(d, NODE_B_X, "Node B", mirrored=True)

    # Load balancer -> each node's nginx.
    for target, sx, side in ((a, cx - 80, "end"), (b, cx + 80, "start")):
        nx, ny, nw, _ = target["nginx"]
        tx = nx + nw / 2
        d.arrow(sx, 270, tx, ny)
        mid_x, mid_y = (sx + tx) / 2, (270 + ny) / 2
        d.text(mid_x + (-14 if side == "end" else 14), mid_y - 4, "HTTPS :443", size=12, anchor=side)

    # The shared task directory between the nodes: the schedulers write, nginx serves.
    sx0, sx1 = NODE_A_X + NODE_W + 40, NODE_B_X - 40
    d.box("tasks", sx0, 400, sx1 - sx0, 260, "storage", "Shared task directory",
          ["NFS, mounted on every node at", "/var/lib/atr-export/tasks", "(same path, uid and gid)", "",
           "atr-scheduler writes NDJSON;", "nginx serves the files itself", "(/files/, $exportfilerequest)"],
          title_size=14, line_size=11)
    for target, toward in ((a, +1), (b, -1)):
        nx, ny, nw, nh = target["nginx"]
        qx, qy, qw, qh = target["sched"]
        edge_nginx = nx + nw if toward > 0 else nx
        edge_sched = qx + qw if toward > 0 else qx
        edge_tasks = sx0 if toward > 0 else sx1
        d.arrow(edge_tasks, 425, edge_nginx, 425)
        d.text((edge_tasks + edge_nginx) / 2, 417, "reads", size=11)
        d.arrow(edge_sched, 615, edge_tasks, 615)
        d.text((edge_tasks + edge_sched) / 2, 607, "writes", size=11)

    # The database below both nodes.
    db_x, db_y, db_w, db_h = cx - 260, 800, 520, 100
    d.box("db", db_x, db_y, db_w, db_h, "storage", "PostgreSQL (or SQLite on a single host)",
          ["resources and versions, tasks, clients, audit trail",
           "one writer at a time (advisory lock), claims FOR UPDATE SKIP LOCKED,",
           "leases stamped with the database's clock"], title_size=14, line_size=11)
    top = NODE_Y + NODE_H
    for x_from, x_to, side in ((NODE_A_X + NODE_W - 120, db_x + 110, "end"),
                               (NODE_B_X + 120, db_x + db_w - 110, "start")):
        d.arrow(x_from, top, x_to, db_y)
        # The labels sit 16 px beside the line where their first line's top is.
        line_x = x_from + (x_to - x_from) * (752 - top) / (db_y - top)
        lx = line_x - 16 if side == "end" else line_x + 16
        d.text(lx, 762, "SQL: atr-fcgi, atr-scheduler,", size=11, anchor=side)
        d.text(lx, 777, "atrctl (libpq, TLS)", size=11, anchor=side)

    d.text(40, 940, "Secrets (URL signing secret, token signing key) and the rendered secure-link file are "
           "identical on every node, kept locally in /var/lib/atr-export/secrets and /etc/atr-export.",
           size=11, anchor="start", colour="#555555")
    d.text(40, 960, "The metrics listener accepts loopback only: each node runs its own scraper (Prometheus agent "
           "mode) that remote-writes to the central Prometheus.", size=11, anchor="start", colour="#555555")
    d.text(40, 985, "Generated by docs/architecture.py (python3 docs/architecture.py).", size=10, anchor="start",
           colour="#888888")
    d.check()
    return d.svg()


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("architecture.svg")
    out.write_text(build(), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
