"""Faces on hover: a small custom component that shows the face under the mouse in a Plotly scatter.

Plotly's own hover labels hold text only. This component (Streamlit custom
components v2: plain JavaScript in the page, no iframe, nothing downloaded)
finds the chart drawn with ``st.plotly_chart(..., key=chart_key)``, listens to
Plotly's hover events and shows a floating card beside the mouse with the
face whose ``customdata`` is ``[row, group, person]``: its picture, file, folder, group and person
(the People page's, named by the ``persons`` list; -1: none).

Pictures reach the browser once per set and are kept there. Up to
:data:`~pages._shared.cached.HOVER_ALL_UP_TO` faces they all come with the first drawing (about 2 KB a
face); above, the card asks for the face under the mouse, and the server
answers with it and its :data:`NEIGHBOURS` nearest points on screen (the
next ones the mouse is likely to reach), in a fragment rerun that redraws
nothing else. Any size works; nothing is sent twice.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import streamlit as st

from facecore import FaceSet, imported_key
from pages._clusters.cached import HOVER_ALL_UP_TO, hover_entries, hover_payload_for

#: Above HOVER_ALL_UP_TO faces, a hovered face comes with this many of its nearest points on screen.
NEIGHBOURS = 48
#: The same for imported encodings, whose crops are cut from their photos (about 12 ms each, where the cache's
#: crops cost nothing): 48 of them made the first picture wait 0.5 s at 10^5 faces.
NEIGHBOURS_CUT = 8

_JS = r"""
export default function ({ data, setTriggerValue }) {
  const chart = data && data.chart;
  let tip = document.getElementById("facecore-hover-face");
  if (!tip) {
    tip = document.createElement("div");
    tip.id = "facecore-hover-face";
    tip.setAttribute("role", "tooltip");
    tip.style.cssText = [
      "position:fixed", "z-index:100000", "display:none", "pointer-events:none",
      "background:#ffffff", "border:1px solid #d1d5db", "border-radius:6px",
      "box-shadow:0 4px 14px rgba(0,0,0,.18)", "padding:4px", "font:12px sans-serif",
      "color:#111827", "max-width:180px",
    ].join(";");
    const img = document.createElement("img");
    img.style.cssText = "display:block;width:96px;height:96px;object-fit:cover;border-radius:4px;background:#e5e7eb";
    img.alt = "face under the mouse";
    const cap = document.createElement("div");
    cap.style.cssText = "margin-top:3px;white-space:pre-line;word-break:break-all;line-height:1.25";
    tip.append(img, cap);
    document.body.appendChild(tip);
    tip.__faces = { set: null, known: new Map(), hovered: null, asked: null, timer: null };
    // Plotly's unhover is lost when the chart is redrawn under the mouse (a click reruns the page):
    // the card also goes as soon as the mouse is over anything but a chart.
    document.addEventListener("mousemove", (e) => {
      tip.__mouse = { x: e.clientX, y: e.clientY };  // 3-D hover events carry no mouse position
      const over = e.target && e.target.closest && e.target.closest(".js-plotly-plot");
      if (!over && tip.style.display !== "none") { tip.style.display = "none"; tip.__faces.hovered = null; }
    }, { passive: true });
  }
  const faces = tip.__faces;
  if (faces.set !== data.set) {
    faces.set = data.set; faces.known = new Map(); faces.asked = null; faces.json = null;
  }
  let add = {};
  if (data.add_json && data.add_json !== faces.json) { faces.json = data.add_json; add = JSON.parse(data.add_json); }
  for (const [row, entry] of Object.entries(add)) faces.known.set(Number(row), entry);

  const place = () => {
    const m = tip.__mouse || { x: 0, y: 0 };
    const x = m.x + 18, y = m.y + 18;
    tip.style.display = "block";
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(x, window.innerWidth - w - 8) + "px";
    tip.style.top = (y + h > window.innerHeight - 8 ? Math.max(8, y - h - 36) : y) + "px";
  };
  const fill = () => {
    const h = faces.hovered;
    if (!h) return;
    const entry = faces.known.get(h.row);
    tip.firstChild.src = entry ? entry[0] : "";
    tip.firstChild.style.visibility = entry ? "visible" : "hidden";
    const names = data.persons || [];
    const person = !names.length ? "" : "\nperson: " + (h.person >= 0 && h.person < names.length
      ? names[h.person] : "not sorted into a person");
    tip.lastChild.textContent = (entry ? entry[1] : "loading the face…") + "\ngroup: " + h.group + person;
    place();
  };
  const hide = () => { tip.style.display = "none"; faces.hovered = null; };
  const show = (ev) => {
    if (!ev || !ev.points || !ev.points.length) { hide(); return; }
    const p = ev.points[0];
    const raw = p.customdata;
    const cd = (Array.isArray(raw) || ArrayBuffer.isView(raw)) ? Array.from(raw, Number) : [Number(raw), ""];
    if (!Number.isInteger(cd[0])) { hide(); return; }
    const e = ev.event || {};
    if (typeof e.clientX === "number") tip.__mouse = { x: e.clientX, y: e.clientY };
    faces.hovered = { row: cd[0], group: cd[1], person: cd.length > 2 ? cd[2] : -1 };
    fill();
    if (!faces.known.has(cd[0]) && data.on_demand) {
      clearTimeout(faces.timer);  // ask once the mouse rests on a point, not for every point it crosses
      faces.timer = setTimeout(() => {
        if (faces.hovered && faces.hovered.row === cd[0] && faces.asked !== cd[0]) {
          faces.asked = cd[0];
          setTriggerValue("want", cd[0]);
        }
      }, 60);
    }
  };
  fill();  // new pictures may have arrived for the face under the mouse
  const attach = () => {
    const host = document.querySelector(".st-key-" + chart);
    const gd = host && host.querySelector(".js-plotly-plot");
    if (!gd || typeof gd.on !== "function" || gd.__facecoreHover) return;
    gd.__facecoreHover = true;
    gd.on("plotly_hover", (ev) => tip.__show && tip.__show(ev));
    gd.on("plotly_unhover", () => tip.__hide && tip.__hide());
    gd.on("plotly_afterplot", () => tip.__hide && tip.__hide());  // redrawn: the point under the mouse changed
    gd.on("plotly_relayouting", () => tip.__hide && tip.__hide());  // a 3-D rotation moves the points
  };
  tip.__show = show;  // the latest render's handlers (they see the latest data)
  tip.__hide = hide;
  attach();
  // The chart is redrawn (and sometimes re-created) on reruns: look again now and then.
  const timer = setInterval(attach, 400);
  return () => { clearInterval(timer); };
}
"""

_component = st.components.v2.component("facecore_hover_faces", js=_JS)


def _answer(key: str, fs: FaceSet, xy: np.ndarray, rows: np.ndarray | None) -> None:
    """The card asked for a face: prepare it and its nearest drawn points for the next drawing."""
    want = getattr(st.session_state.get(key), "want", None)
    if want is None or not 0 <= int(want) < len(fs):
        return
    want = int(want)
    count = NEIGHBOURS if imported_key(fs) is None else NEIGHBOURS_CUT
    pool = np.arange(len(fs)) if rows is None else rows
    gap = xy[pool] - xy[want]
    near = pool[np.argsort(np.einsum("ij,ij->i", gap, gap))[:count]]
    near = np.r_[want, near[near != want][: count - 1]]  # the face under the mouse first
    st.session_state[f"{key}_add"] = hover_entries(fs, near)


@st.fragment
def hover_faces(
    chart_key: str, fs: FaceSet, xy: np.ndarray, rows: np.ndarray | None = None, persons: list[str] | None = None
) -> None:
    """Show the face under the mouse beside it, in the chart drawn with ``st.plotly_chart(key=chart_key)``.

    The chart's points carry ``customdata = [row, group, person]`` and no Plotly label
    (``hoverinfo="none"``: the events still fire). ``xy`` is ``(n, 2)``, the
    points' positions on screen, for picking the neighbours of a hovered face
    among the drawn ``rows`` (default: every face is drawn). ``persons``: the name of
    each person number the points carry (none: the card names no person).
    """
    key = f"{chart_key}_hover_faces"
    on_demand = len(fs) > HOVER_ALL_UP_TO
    # Strings and tuples only: Streamlit looks for data frames in a component's other values, and that check
    # imports pandas (0.5 s of a new server's first Clusters drawing, which needs no pandas otherwise).
    data = {"chart": chart_key, "set": fs.key, "on_demand": on_demand, "persons": tuple(persons or ())}
    if on_demand:  # the faces the card asked for
        data["add_json"] = json.dumps(st.session_state.get(f"{key}_add", {}), separators=(",", ":"))
    else:
        data["add_json"] = hover_payload_for(fs.key, fs)  # every face, serialised once per set
    _component(data=data, key=key, on_want_change=partial(_answer, key, fs, xy, rows))
