// Municipality borders and names (SCB's, from GET /api/borders) as a quiet base layer under the
// roads, so a map zoomed in on a town is not empty. Names show from city zoom (9) on. The sea
// and lakes (outside SCB's land borders) are filled pale blue in a pane under everything, so
// the coast shows.
import { api } from "./session.js";

const NAME_ZOOM = 9;

/** Draw the borders on ``map`` (Leaflet); resolves to the layer, or null when unavailable
 * (offline, or a service without them): the map works on without. */
export async function addBorders(map, { token } = {}) {
  const L = window.L;
  if (navigator.onLine === false) return null; // not even asked: a failed fetch is a console error
  let data;
  try {
    data = await api("/api/borders", { token });
  } catch {
    return null;
  }
  const layer = L.layerGroup();
  const names = L.layerGroup();
  if ((data.water || []).length) {
    if (!map.getPane("water")) map.createPane("water").style.zIndex = "250"; // tiles 200, shapes 400
    const water = L.layerGroup();
    for (const rings of data.water) {
      L.polygon(rings, { pane: "water", stroke: false, fillColor: "#cfe2f3", fillOpacity: 1,
        interactive: false, className: "water" }).addTo(water);
    }
    water.addTo(map);
  }
  for (const m of data.municipalities || []) {
    L.polygon(m.rings, { color: "#57534e", weight: 1.2, opacity: 0.6, dashArray: "6 4",
      fill: false, interactive: false, className: "border-line" }).addTo(layer);
    const label = document.createElement("span");
    label.textContent = m.name;
    L.marker(m.label, { interactive: false, keyboard: false,
      icon: L.divIcon({ className: "border-name", html: label.outerHTML, iconSize: null }) }).addTo(names);
  }
  layer.addTo(map);
  layer.eachLayer((l) => l.bringToBack && l.bringToBack());
  const showNames = () => {
    if (map.getZoom() >= NAME_ZOOM) names.addTo(map);
    else names.remove();
  };
  map.on("zoomend", showNames);
  showNames();
  return layer;
}
