// The loaded road map as a Leaflet vector layer (no tile server needed: the service works
// offline). Needs Leaflet's global L: load /vendor/leaflet/leaflet.js with a <script> first.
import { api } from "./session.js";
import { addBorders } from "./borders.js";
import { onLangChange, t } from "./i18n.js";
import "./vocab.js";

// Colour and width per road class (the server's RoadClass names, lowercased).
// Slate greys and blue-greys, darker and wider for bigger roads: no green, orange or red, which
// mean "available" and the priorities on the pins drawn over them.
export const ROAD_STYLE = {
  motorway: { color: "#1e293b", weight: 5 },
  trunk: { color: "#334155", weight: 4.5 },
  primary: { color: "#475569", weight: 4 },
  secondary: { color: "#64748b", weight: 3 },
  tertiary: { color: "#94a3b8", weight: 2.5 },
  unclassified: { color: "#a1a1aa", weight: 2 },
  residential: { color: "#b8bcc4", weight: 1.5 },
  service: { color: "#d4d4d8", weight: 1 },
  track: { color: "#d4d4d8", weight: 1, dashArray: "4 4" },
};
const DRAW_ORDER = Object.keys(ROAD_STYLE).reverse(); // small roads first, big ones on top

const cache = new Map();

/** GET /api/map once per token (the reply is the same for the life of the service). */
export function loadMap({ token } = {}) {
  const key = token || "";
  if (!cache.has(key)) {
    const p = api("/api/map", { token });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return cache.get(key);
}

function leaflet() {
  const L = window.L;
  if (!L) throw new Error("Leaflet is not loaded: add <script src=\"/vendor/leaflet/leaflet.js\">");
  return L;
}

/**
 * Draw the map's roads (coloured by class) and its places on a Leaflet map.
 * Returns {layer, bounds, places, data}: the layer group, the map's L.LatLngBounds, the places
 * [{name, lat, lon, population, kind}] and the whole /api/map reply (bases, facilities...).
 * Options: labels (default true) shows the names of larger places.
 */
export async function addRoads(map, { token, labels = true, minLabelPopulation = 8000 } = {}) {
  const L = leaflet();
  localiseZoom(map);
  const data = await loadMap({ token });
  tileLayerFromConfig(map, data);
  const renderer = L.canvas({ padding: 0.3 });
  const layer = L.layerGroup();
  const byClass = new Map();
  for (const road of data.roads) {
    if (!byClass.has(road.class)) byClass.set(road.class, []);
    byClass.get(road.class).push(road);
  }
  const classes = [...byClass.keys()].sort((a, b) => DRAW_ORDER.indexOf(a) - DRAW_ORDER.indexOf(b));
  for (const cls of classes) {
    const style = ROAD_STYLE[cls] || { color: "#78716c", weight: 2 };
    for (const road of byClass.get(cls)) {
      const line = L.polyline(road.coords, { ...style, renderer, interactive: false, opacity: 0.9 });
      line.addTo(layer);
    }
  }
  for (const place of data.places) {
    const radius = place.population >= 20000 ? 6 : place.population >= 3000 ? 4.5 : 3;
    const dot = L.circleMarker([place.lat, place.lon], {
      renderer, radius, color: "#1c1917", weight: 1, fillColor: "#fafaf9", fillOpacity: 1,
    });
    // An element, not a string: Leaflet puts a string in as HTML, and names come from the map data.
    const label = document.createElement("span");
    label.textContent = place.name;
    // Shown for good (larger places) or while the pointer is on the dot; only the names shown
    // for good are kept apart from pins and other names (lib/declutter.js).
    const permanent = labels && place.population >= minLabelPopulation;
    dot.bindTooltip(label, {
      permanent, direction: "right", offset: [6, 0],
      className: permanent ? "mae-place-label permanent" : "mae-place-label",
    });
    dot.addTo(layer);
  }
  layer.addTo(map);
  addBorders(map, { token }); // under the roads; the map works without them
  const [[s, w], [n, e]] = data.bounds;
  const bounds = L.latLngBounds([s, w], [n, e]);
  return { layer, bounds, places: data.places, data };
}

/** The zoom buttons' titles in the page's language, now and after every switch (Leaflet
 * writes "Zoom in" / "Zoom out"). */
export function localiseZoom(map) {
  const put = () => {
    const box = map.zoomControl && map.zoomControl.getContainer();
    if (!box) return;
    for (const [cls, key] of [["zoom-in", "map.zoom_in"], ["zoom-out", "map.zoom_out"]]) {
      const button = box.querySelector(`.leaflet-control-${cls}`);
      if (!button) continue;
      button.title = t(key);
      button.setAttribute("aria-label", t(key));
    }
  };
  put();
  onLangChange(put);
}

/**
 * Add a raster tile layer under the roads, only when the server has a tile URL configured
 * (Settings.tile_url; config is the /api/map reply or any {tile_url}). Returns the layer or
 * null; calling it twice for one map adds one layer.
 */
export function tileLayerFromConfig(map, config) {
  const url = config && config.tile_url;
  if (!url) return null;
  if (map._maeTiles) return map._maeTiles;
  const L = leaflet();
  map._maeTiles = L.tileLayer(url, { maxZoom: 18, attribution: config.tile_attribution || "" });
  map._maeTiles.addTo(map);
  map._maeTiles.bringToBack();
  return map._maeTiles;
}
