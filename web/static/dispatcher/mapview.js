// The dispatcher's Leaflet map: the loaded roads (vector, from roads.js), unit and callout
// markers, the chosen route and the coverage overlay. Leaflet is the global L from
// /vendor/leaflet/leaflet.js.
import { addRoads, ROAD_STYLE } from "/static/lib/roads.js";
import { t } from "/static/lib/i18n.js";
import { keepApart } from "/static/lib/declutter.js";
import { escapeHtml, fmtAge } from "./format.js";
import { escalation } from "./newalarm.js";
import { storedOpen, storeOpen } from "./fold.js";

const L = window.L;

export const BAND_COLOURS = { b30: "#15803d", b60: "#ca8a04", b90: "#ea580c", beyond: "#b91c1c" };

export function band(minutes) {
  if (minutes === null || minutes === undefined) return "beyond";
  if (minutes <= 30) return "b30";
  if (minutes <= 60) return "b60";
  if (minutes <= 90) return "b90";
  return "beyond";
}

const LEGEND_KEY = "mae.dispatch.legend";

let legendShown = null; // the choice made on this page (kept also where storage is refused)

/** Whether the legend is unfolded: yes, unless the dispatcher folded it away. */
function legendOpen() {
  return legendShown !== null ? legendShown : storedOpen(LEGEND_KEY);
}

/** Whether two rectangles (DOMRect) share any area. */
function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/**
 * The legend's body takes the keyboard's focus (so that it can be scrolled without a mouse) only
 * while it scrolls: where the legend is kept small (dispatcher.css), not where it is shown whole.
 * Checked whenever the body or an entry changes size (the window or the map resized, the legend
 * unfolded, a font loaded); the observer is returned to be disconnected with the legend.
 */
function tabStopWhileScrolling(body, toggle) {
  const check = () => {
    if (body.hidden) return;
    const scrolls = body.scrollHeight > body.clientHeight + 1 || body.scrollWidth > body.clientWidth + 1;
    if (scrolls === body.hasAttribute("tabindex")) return;
    if (scrolls) {
      body.tabIndex = 0;
      return;
    }
    const focused = document.activeElement === body;
    body.removeAttribute("tabindex");
    if (focused) toggle.focus(); // not lost to the page, where Enter would assign
  };
  if (typeof ResizeObserver !== "function") {
    body.tabIndex = 0; // cannot tell: reachable all the same
    return null;
  }
  const watch = new ResizeObserver(check);
  for (const node of [body, ...body.children]) watch.observe(node);
  return watch;
}

export class MapView {
  constructor(element, { onSelectCallout, now = () => new Date() }) {
    this.onSelectCallout = onSelectCallout;
    this.now = now; // the service's time: tooltips write ages when they open, not when drawn
    this.map = L.map(element, { zoomControl: true, attributionControl: false, preferCanvas: false });
    this.map.setView([66.0, 21.0], 7);
    this.units = new Map();
    this.callouts = new Map();
    this.route = null;
    this.coverage = null;
    this.legend = null;
    this.selected = null;
    this.whole = false; // the view is to show the whole loaded map: fitted, not moved since
    this.fitting = false;
    this.map.on("movestart", () => {
      if (!this.fitting) this.whole = false;
    });
    // The map's box changes with the page's layout, not only with the window (the day's visits
    // under it grow, shrink and fold away: fold.js): Leaflet is told, or it would draw for its old size, and the
    // whole map, if nobody has moved it, is fitted to the new box (not while the page is
    // hidden behind the login: a box of no size).
    if (typeof ResizeObserver === "function") {
      let frame = 0;
      new ResizeObserver(() => {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(() => {
          if (!element.clientWidth || !element.clientHeight) return;
          this.map.invalidateSize();
          if (this.whole) this.fitWhole();
        });
      }).observe(element);
    }
    // A callout's or a unit's pin is never left under the open legend (at 1366x768 a new
    // prio-1 alarm at Arvidsjaur was, at 1024x768 Piteå's unit): the legend folds itself,
    // this once. A dispatcher looks at the pins many
    // times a minute and at the legend rarely; folding moves nothing else, whereas panning
    // would take the whole county out of view just as a new alarm comes in, and the legend
    // starting folded everywhere would hide it from the new dispatcher who needs it. The
    // automatic fold is not remembered (the next page opens the legend as the dispatcher left
    // it), and a dispatcher who unfolds it again over the same pins is not overruled: only a
    // pin newly under it (a new alarm, the map moved) folds it again.
    this.legendAuto = false; // folded by guardLegend, not by the dispatcher
    this.legendSeen = new Set(); // the pins under the legend when the dispatcher unfolded it
    let guard = 0;
    this.guardSoon = () => {
      cancelAnimationFrame(guard);
      guard = requestAnimationFrame(() => this.guardLegend());
    };
    this.map.on("moveend zoomend resize", this.guardSoon);
    this.addLegend();
    // The map's names kept apart (after every move, zoom and redraw: this.declutter()): a
    // unit's name that would cover a callout's pin or a name already placed is a small dot
    // (named in its tooltip) until zoomed in enough to fit, and a town's name that would cover
    // any of them is hidden (or, when only a callout's pin is in its way, moved beside it).
    // Units on a callout are placed first.
    this.declutter = keepApart(this.map, (box) => ({
      pins: [...box.querySelectorAll(".callout-marker")],
      names: [...box.querySelectorAll(".unit-pin")]
        .sort((a, b) => Number(Boolean(b.querySelector("em"))) - Number(Boolean(a.querySelector("em")))),
    }));
  }

  /** What the colours mean: unit statuses, callout priorities (and the ring of one that has
   * waited long), the road classes and water. */
  addLegend() {
    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("div", "map-legend");
      div.id = "map-legend";
      const statuses = ["available", "dispatched", "en_route", "on_scene", "returning", "off_duty"];
      const open = legendOpen() && !this.legendAuto;
      // The body scrolls on its own where the legend is kept small (dispatcher.css): it then
      // takes the keyboard's focus (tabStopWhileScrolling).
      div.innerHTML = `<button type="button" id="map-legend-toggle" class="legend-toggle" aria-expanded="${open}"`
        + ` aria-controls="map-legend-body">${escapeHtml(t("legend.title"))}</button>`
        + `<div id="map-legend-body" class="legend-body" role="group" aria-labelledby="map-legend-toggle"`
        + `${open ? "" : " hidden"}>`
        + `<strong>${escapeHtml(t("legend.units"))}</strong>`
        + statuses.map((s) => `<div><span class="dot status-${s}"></span> ${escapeHtml(t(`unit.${s}`))}</div>`).join("")
        + `<strong>${escapeHtml(t("legend.callouts"))}</strong>`
        + [1, 2, 3].map((p) => `<div><span class="prio-badge prio-${p}">${p}</span> ${escapeHtml(t(`prio.${p}`))}</div>`).join("")
        + `<div><span class="ring-swatch"></span> ${escapeHtml(t("legend.waited"))}</div>`
        + `<strong>${escapeHtml(t("legend.roads"))}</strong>`
        + ["motorway", "primary", "secondary", "tertiary"].map((r) => `<div><i data-road="${r}"></i> ${escapeHtml(t(`road.${r}`))}</div>`).join("")
        + `<div><i class="water-swatch"></i> ${escapeHtml(t("legend.water"))}</div></div>`;
      for (const i of div.querySelectorAll("i[data-road]")) { // the CSP refuses style="" attributes
        i.style.background = ROAD_STYLE[i.dataset.road].color;
        i.style.height = `${Math.max(2, ROAD_STYLE[i.dataset.road].weight)}px`;
      }
      const toggle = div.querySelector(".legend-toggle");
      toggle.addEventListener("click", () => {
        const show = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(show));
        div.querySelector(".legend-body").hidden = !show;
        legendShown = show;
        storeOpen(LEGEND_KEY, show);
        this.legendAuto = false;
        this.legendSeen = new Set(show ? this.pinsUnder(div) : []); // the dispatcher has seen these
      });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      legend.watch = tabStopWhileScrolling(div.querySelector(".legend-body"), toggle);
      // the legend changes size with the map's box (dispatcher.css): it may then cover a pin
      legend.sized = typeof ResizeObserver === "function" ? new ResizeObserver(this.guardSoon) : null;
      if (legend.sized) legend.sized.observe(div);
      return div;
    };
    legend.onRemove = () => {
      if (legend.watch) legend.watch.disconnect();
      if (legend.sized) legend.sized.disconnect();
    };
    legend.addTo(this.map);
    this.mapLegend = legend;
    this.guardSoon();
  }

  /** The pins that lie (wholly or in part) under the legend ``div``: callouts' by their ids,
   * units' as "unit:" and the unit's id (a unit hidden under it is as lost to the dispatcher
   * as a callout: at 1024x768 Piteå's was). */
  pinsUnder(div) {
    const box = div.getBoundingClientRect();
    if (!box.width || !box.height) return [];
    const under = [];
    for (const [prefix, markers] of [["", this.callouts], ["unit:", this.units]]) {
      for (const [id, marker] of markers) {
        const icon = marker.getElement(); // a unit's is a box around its pin, of no size
        const pin = icon && (icon.querySelector(".unit-pin") || icon);
        const at = pin && pin.getBoundingClientRect();
        if (at && at.width && overlaps(at, box)) under.push(prefix + id);
      }
    }
    return under;
  }

  /** Fold the open legend, without remembering it, if a pin the dispatcher has not seen
   * under it lies under it (the constructor says why). */
  guardLegend() {
    const div = this.mapLegend && this.mapLegend.getContainer();
    const toggle = div && div.querySelector(".legend-toggle");
    if (!toggle || toggle.getAttribute("aria-expanded") !== "true") return;
    if (!this.pinsUnder(div).some((id) => !this.legendSeen.has(id))) return;
    const body = div.querySelector(".legend-body");
    const focused = body.contains(document.activeElement);
    toggle.setAttribute("aria-expanded", "false");
    body.hidden = true;
    if (focused) toggle.focus(); // not lost to the page, where Enter would assign
    this.legendAuto = true;
    this.legendSeen = new Set();
  }

  /** Redraw the legend in the current language. */
  relabel() {
    if (this.mapLegend) this.mapLegend.remove();
    this.addLegend();
  }

  async loadRoads(token) {
    const { bounds } = await addRoads(this.map, { token });
    this.bounds = bounds;
    if (this.map._maeTiles) L.control.attribution({ prefix: false }).addTo(this.map); // tiles' credits
    this.fitWhole();
    return bounds;
  }

  /** Show the whole loaded map: now, or once the map has a size (hidden, it has none). */
  fitWhole() {
    if (!this.bounds) return;
    this.whole = true;
    const size = this.map.getSize();
    if (!size.x || !size.y) return;
    this.fitting = true;
    try {
      this.map.fitBounds(this.bounds, { padding: [10, 10], animate: false });
    } finally {
      this.fitting = false;
    }
  }

  invalidate() {
    this.map.invalidateSize();
  }

  /** Show the whole loaded map again (after the layout changed between phone and desk). */
  refit() {
    this.map.invalidateSize();
    this.fitWhole();
  }

  setUnit(unit, callout) {
    const off = unit.status === "off_duty";
    const short = unit.name.replace(/^MAE\s+/i, "");
    const label = `${unit.name} – ${t(`unit.${unit.status}`)}`;
    const html = `<span class="unit-pin status-${unit.status}" data-unit="${escapeHtml(unit.unit_id)}"`
      + ` aria-label="${escapeHtml(label)}">${escapeHtml(short)}<small>${escapeHtml(unit.crew_size || "")}</small>`
      + `${unit.callout_id ? `<em>${escapeHtml(unit.callout_id)}</em>` : ""}</span>`;
    const icon = L.divIcon({ className: "unit-marker", html, iconSize: null, iconAnchor: [0, 0] });
    const tip = `<strong>${escapeHtml(unit.name)}</strong><br>${escapeHtml(t(`unit.${unit.status}`))}`
      + ((unit.crew || []).length
        ? `<br>${unit.crew.map((m) => escapeHtml(`${m.name} (${t(`role.${m.role}`)})`)).join("<br>")}`
        : unit.crew_size ? `<br>${escapeHtml(t("unit.crew", { n: unit.crew_size }))}` : "")
      + (callout ? `<br>${escapeHtml(callout.callout_id)}` : "");
    const pos = [unit.position.lat, unit.position.lon];
    let marker = this.units.get(unit.unit_id);
    if (!marker) {
      marker = L.marker(pos, { icon, keyboard: false, zIndexOffset: 500 });
      marker.bindTooltip(tip, { direction: "top", offset: [20, -4] });
      marker.on("click", () => {
        const cur = this.units.get(unit.unit_id);
        if (cur && cur._calloutId) this.onSelectCallout(cur._calloutId);
      });
      marker.addTo(this.map);
      this.units.set(unit.unit_id, marker);
    } else {
      marker.setLatLng(pos);
      // A new icon replaces the pin's element: only when it changed (the board re-renders
      // often; a pin rebuilt every time flickers and loses hover and clicks).
      if (marker._html !== html) marker.setIcon(icon);
      marker.setTooltipContent(tip);
    }
    marker._html = html;
    marker._calloutId = unit.callout_id;
    marker.setOpacity(off ? 0.85 : 1); // its own pale style says off duty (dispatcher.css)
    this.declutter();
    this.guardSoon();
  }

  /** Bring unitId's pin into view, closer in, with its card open. */
  showUnit(unitId) {
    const marker = this.units.get(unitId);
    if (!marker) return;
    this.map.setView(marker.getLatLng(), Math.max(this.map.getZoom(), 10));
    marker.openTooltip();
  }

  removeUnit(unitId) {
    const marker = this.units.get(unitId);
    if (marker) marker.remove();
    this.units.delete(unitId);
  }

  setCallout(callout, now, open) {
    let marker = this.callouts.get(callout.callout_id);
    if (!open) {
      if (marker) marker.remove();
      this.callouts.delete(callout.callout_id);
      this.declutter();
      return;
    }
    const agencies = [...new Set(callout.alarms.map((a) => a.agency))]
      .map((a) => t(`agency.${a}.short`)).join(" ");
    const sel = this.selected === callout.callout_id ? " selected" : "";
    const overdue = callout.ack_overdue ? " overdue" : "";
    const label = `${callout.callout_id}, ${t(`prio.${callout.priority}`)}, ${t(`callout.${callout.status}`)}`;
    // The same escalation as the queue (one function): the pin's ring turns amber, orange, red.
    const html = `<button type="button" class="callout-pin prio-${callout.priority} cstatus-${callout.status}${sel}${overdue}"`
      + ` data-callout="${escapeHtml(callout.callout_id)}" data-escalation="${escalation(callout, now)}"`
      + ` aria-label="${escapeHtml(label)}">`
      + `<b>${callout.priority}</b><small>${escapeHtml(agencies)}</small></button>`;
    const icon = L.divIcon({ className: "callout-marker", html, iconSize: [40, 40], iconAnchor: [20, 20] });
    // Written when the tooltip opens (its age then kept current by the page's tick over
    // [data-age]): a string made when the callout was drawn would show that moment's age.
    const tip = (layer) => {
      const c = layer._callout;
      return `<strong>${escapeHtml(c.callout_id)}</strong> ${escapeHtml(c.location.label || "")}`
        + `<br>${escapeHtml(t(`callout.${c.status}`))} · <span data-age="${escapeHtml(c.created_at)}">`
        + `${escapeHtml(fmtAge(c.created_at, this.now()))}</span>`
        + c.alarms.map((a) => `<br>${escapeHtml(t(`agency.${a.agency}`))} ${escapeHtml(a.reference)}`).join("");
    };
    const pos = [callout.location.lat, callout.location.lon];
    if (!marker) {
      marker = L.marker(pos, { icon, keyboard: false, zIndexOffset: 1000 + (4 - callout.priority) * 100 });
      marker._callout = callout;
      marker.bindTooltip(tip, { direction: "top", offset: [0, -18] });
      marker.on("click", () => this.onSelectCallout(callout.callout_id));
      marker.addTo(this.map);
      this.callouts.set(callout.callout_id, marker);
    } else {
      marker._callout = callout;
      marker.setLatLng(pos);
      marker.setIcon(icon);
      marker.setTooltipContent(tip);
    }
    this.declutter();
    this.guardSoon();
  }

  /** Bring every callout pin's escalation up to ``now`` (a callout escalates by waiting, with
   * no event to redraw it); the pin's element is changed in place. */
  tickEscalation(now) {
    for (const marker of this.callouts.values()) {
      const el = marker.getElement();
      const pin = el && el.querySelector(".callout-pin");
      if (pin && marker._callout) pin.dataset.escalation = String(escalation(marker._callout, now));
    }
  }

  /** Mark calloutId's pin selected; ``zoom`` brings the map to it (``at``: its location, for a
   * finished callout that has no pin), closer in when the map shows the whole county. */
  select(calloutId, { pan = false, zoom = false, at = null } = {}) {
    const before = this.selected;
    this.selected = calloutId;
    for (const id of [before, calloutId]) {
      const el = id && this.callouts.get(id) && this.callouts.get(id).getElement();
      const pin = el && el.querySelector(".callout-pin");
      if (pin) pin.classList.toggle("selected", id === calloutId);
    }
    const marker = calloutId && this.callouts.get(calloutId);
    const where = marker ? marker.getLatLng() : at ? L.latLng(at.lat, at.lon) : null;
    if (zoom && where) {
      this.map.setView(where, Math.max(this.map.getZoom(), 10));
    } else if (pan && marker && !this.map.getBounds().contains(marker.getLatLng())) {
      this.map.panTo(marker.getLatLng());
    }
  }

  showRoute(route) {
    this.clearRoute();
    if (!route || !route.geometry || route.geometry.length < 2) return;
    this.route = L.polyline(route.geometry, { color: "#1d4ed8", weight: 6, opacity: 0.85,
      className: "route-line", interactive: false });
    this.route.addTo(this.map);
    this.route._ids = `${route.unit_id}|${route.callout_id}`;
  }

  routeIds() {
    return this.route ? this.route._ids : null;
  }

  clearRoute() {
    if (this.route) this.route.remove();
    this.route = null;
  }

  showCoverage(data) {
    this.hideCoverage();
    const layer = L.layerGroup();
    for (const place of data.places) {
      const b = band(place.minutes);
      const radius = Math.min(18, 4 + Math.sqrt(Math.max(0, place.population)) / 15);
      const dot = L.circleMarker([place.lat, place.lon], {
        radius, color: "#111", weight: 1, fillColor: BAND_COLOURS[b], fillOpacity: 0.75,
        className: `coverage-dot band-${b}`,
      });
      const mins = place.minutes === null ? "–" : `${Math.round(place.minutes)} min`;
      dot.bindTooltip(`${escapeHtml(place.name)}: ${mins}, ${escapeHtml(t("coverage.people", { pop: place.population }))}`);
      dot.addTo(layer);
    }
    layer.addTo(this.map);
    this.coverage = layer;
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("div", "coverage-legend");
      const bands = data.bands || {};
      const key = { b30: "30", b60: "60", b90: "90", beyond: "beyond" };
      div.innerHTML = `<strong>${escapeHtml(t("coverage.legend"))}</strong>`
        + Object.keys(BAND_COLOURS).map((b) => `<div><i data-colour="${b}"></i>`
          + `${escapeHtml(t(`coverage.${b}`))}: <span data-band="${b}">${escapeHtml(t("coverage.people",
            { pop: (bands[key[b]] ?? 0).toLocaleString("sv-SE") }))}</span></div>`).join("");
      // colours set through the DOM: the page's CSP refuses style="" attributes
      for (const swatch of div.querySelectorAll("i[data-colour]")) swatch.style.background = BAND_COLOURS[swatch.dataset.colour];
      return div;
    };
    legend.addTo(this.map);
    this.legend = legend;
  }

  hideCoverage() {
    if (this.coverage) this.coverage.remove();
    if (this.legend) this.legend.remove();
    this.coverage = null;
    this.legend = null;
  }
}
