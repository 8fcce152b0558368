// The job card and the route (small Leaflet map and step list) of the crew page. Everything from
// the server is written with textContent, never as HTML.
import { t, lang } from "/static/lib/i18n.js";
import { addRoads } from "/static/lib/roads.js";
import { stockholmClock } from "/static/lib/time.js";
import { roadName } from "/static/lib/vocab.js";

const $ = (id) => document.getElementById(id);

function locale() {
  return lang() === "sv" ? "sv-SE" : "en-GB";
}

/** HH:MM in Swedish time (Europe/Stockholm), whatever zone the phone is set to. */
export function fmtTime(iso) {
  return stockholmClock(iso, locale());
}

/** A link for the phone's own navigation app to ``lat``, ``lon`` (a geo: URI, RFC 5870),
 * labelled ``label`` when given. */
export function geoLink(lat, lon, label = "") {
  const at = `${(+lat).toFixed(6)},${(+lon).toFixed(6)}`;
  return label ? `geo:${at}?q=${at}(${encodeURIComponent(label)})` : `geo:${at}`;
}

export function fmtKm(metres) {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })
    .format((metres || 0) / 1000);
}

/** "2,3 km" or "450 m" (metres rounded to tens below a kilometre). */
export function fmtDist(metres) {
  if (metres >= 950) return `${fmtKm(metres)} km`;
  return `${Math.max(0, Math.round((metres || 0) / 10) * 10)} m`;
}

/** A route step in the page's words: [what (the road, or start / arrive), how far and long]. */
export function stepParts(s) {
  if (s.kind === "depart" || s.kind === "arrive") {
    const offRoad = s.distance_m >= 1;
    return [t(`route.${s.kind}${offRoad ? ".offroad" : ""}`, { dist: fmtDist(s.distance_m) }), ""];
  }
  return [roadName(t, s.road) || t("route.unnamed"),
    t("route.leg", { dist: fmtDist(s.distance_m), min: Math.max(1, Math.round(s.duration_s / 60)) })];
}

function fill(el, parts) {
  el.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
}

function chip(text, cls) {
  const s = document.createElement("span");
  s.className = `badge ${cls}`;
  s.textContent = text;
  return s;
}

/** The callout statuses after arrival: the ETA has nothing more to say. */
const ARRIVED = new Set(["on_scene", "transporting"]);

function etaText(job, now) {
  if (job.eta_at) {
    const min = Math.max(0, Math.round((new Date(job.eta_at).getTime() - now.getTime()) / 60000));
    return t("job.eta.value", { time: fmtTime(job.eta_at), min });
  }
  if (typeof job.eta_s === "number") return `${Math.round(job.eta_s / 60)} min`;
  return t("job.eta.unknown");
}

/** The acknowledgement line under the card: the deadline while the job is unacknowledged, and
 * a warning while an acknowledgement waits in the outbox (dispatch has not got it: the server
 * takes the job from the unit at the deadline, and takes no acknowledgement after it). */
function deadlineText(job, now) {
  if (!job.ack_deadline || !(job.status === "assigned" || job.ack_unsent)) return ["", ""];
  const time = fmtTime(job.ack_deadline);
  if (!job.ack_unsent) return [t("job.ack.deadline", { time }), ""];
  const late = now.getTime() >= new Date(job.ack_deadline).getTime();
  return late ? [t("job.ack.unsent_late", { time }), "late"] : [t("job.ack.unsent_deadline", { time }), "unsent"];
}

/** Fill the job card from a callout view (as the crew socket sends it, with the page's
 * ``ack_unsent`` laid over it); ``now`` is the service's time (the minutes to arrival count
 * from it, not from the phone's clock); ``connected``: whether the outbox is sending now. */
export function renderJob(job, now = new Date(), { connected = false } = {}) {
  const alarms = job.alarms || [];
  const first = alarms[0] || {};
  const loc = job.location || {};
  const prio = $("job-priority");
  prio.textContent = t("job.priority", { p: job.priority });
  prio.dataset.priority = String(job.priority);
  $("job-title").textContent = t("job.title", { id: job.callout_id });
  const status = $("job-callout-status");
  status.textContent = !job.ack_unsent ? t(`callout.${job.status}`)
    : t(connected ? "job.ack.sending" : "job.ack.unsent");
  status.classList.toggle("info", !job.ack_unsent);
  status.classList.toggle("warn", Boolean(job.ack_unsent));
  status.dataset.ack = job.ack_unsent ? "unsent" : "";
  $("job-address").textContent = loc.label || loc.resolved_from || `${(+loc.lat).toFixed(5)}, ${(+loc.lon).toFixed(5)}`;
  const coords = Number.isFinite(+loc.lat) && Number.isFinite(+loc.lon) && loc.lat !== null && loc.lon !== null;
  $("job-coords").textContent = coords ? `${(+loc.lat).toFixed(5)}, ${(+loc.lon).toFixed(5)}` : "";
  const caller = alarms.find((a) => a.callback); // a number the alarming agency gave
  const call = $("job-call");
  call.hidden = !caller;
  if (caller) {
    call.href = `tel:${caller.callback.replace(/[ -]/g, "")}`;
    call.textContent = t("job.call", { agency: t(`agency.${caller.agency}`), number: caller.callback });
  }
  const nav = $("job-nav"); // the phone's own navigation app (geo: URI, RFC 5870)
  nav.hidden = !coords;
  if (coords) nav.href = geoLink(loc.lat, loc.lon, loc.label || "");
  const cats = [...new Set(alarms.map((a) => a.category))];
  $("job-category").textContent = cats.map((c) => t(`category.${c}`)).join(", ");
  const arrived = ARRIVED.has(job.status);
  $("job-eta").textContent = arrived ? "" : etaText(job, now);
  $("job-eta").hidden = arrived;
  $("job-eta-label").hidden = arrived;
  const police = alarms.some((a) => a.police_on_scene);
  const ambulance = alarms.some((a) => a.ambulance_on_scene);
  fill($("job-onscene"), [
    chip(`${t("job.onscene.police")}: ${t(police ? "job.onscene.yes" : "job.onscene.no")}`, police ? "ok onscene-police" : "muted onscene-police"),
    " ",
    chip(`${t("job.onscene.ambulance")}: ${t(ambulance ? "job.onscene.yes" : "job.onscene.no")}`, ambulance ? "ok onscene-ambulance" : "muted onscene-ambulance"),
  ]);
  const agencies = [...new Set(alarms.map((a) => a.agency))];
  $("job-agencies").textContent = agencies.map((a) => t(`agency.${a}`)).join(", ");
  const p = first.patient || {};
  $("job-patient").textContent = [
    p.age_band && p.age_band !== "unknown" ? t("patient.age", { age: p.age_band }) : "",
    t(`patient.sex.${p.sex || "unknown"}`),
    t(`patient.children.${p.children || "unknown"}`),
  ].filter(Boolean).join(", ");
  const notes = [
    ...alarms.filter((a) => a.note).map((a) => `${t(`agency.${a.agency}`)}: ${a.note}`),
    ...(job.notes || []).map((n) => `${fmtTime(n.at)}: ${n.text}`),
  ];
  $("job-notes-box").hidden = notes.length === 0;
  $("job-notes").replaceChildren(...notes.map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
  const assigned = job.status === "assigned";
  $("job-new").hidden = !assigned;
  $("ack").hidden = !assigned;
  const [deadline, warn] = deadlineText(job, now);
  $("job-deadline").textContent = deadline;
  $("job-deadline").dataset.warn = warn;
  $("job-deadline").setAttribute("role", warn ? "alert" : "status");
  $("job").dataset.priority = String(job.priority);
  $("job").classList.toggle("is-new", assigned);
}

/** The route of the current job: a small map with the road network, the route and the step list. */
export class RouteView {
  constructor({ token, onFacilities = () => {} }) {
    this.token = token;
    this.onFacilities = onFacilities; // called once the map's facilities are known
    this.map = null;
    this.layer = null;
    this.roadsLoaded = false;
    this.drawn = null;
    this.facilities = []; // the map's facilities ({name, kind, kinds, lat, lon}) once loaded
  }

  _ensureMap() {
    const L = window.L;
    if (!L) return null; // Leaflet not loaded (offline without a cached copy): steps only
    if (!this.map) {
      this.map = L.map($("map"), { zoomControl: true, attributionControl: false });
      this.layer = L.layerGroup().addTo(this.map);
      this.map.setView([65.6, 22.1], 8);
    }
    if (!this.roadsLoaded) {
      this.roadsLoaded = true;
      addRoads(this.map, { token: this.token, labels: false })
        .then(({ data }) => {
          this.layer.eachLayer((l) => l.bringToFront && l.bringToFront());
          this.facilities = data.facilities || [];
          // The facilities of the map, offered when the crew types where it arrived.
          $("facilities").replaceChildren(...(data.facilities || []).map((f) => {
            const option = document.createElement("option");
            option.value = f.name;
            return option;
          }));
          this.onFacilities();
        })
        .catch(() => { this.roadsLoaded = false; });
    }
    return this.map;
  }

  /** Show ``route`` (the GET /api/route reply, or null) for ``job`` and the unit at ``unit``. */
  show(route, job, unit) {
    const stepsEl = $("steps");
    if (!route) {
      $("route-total").textContent = t("route.none");
      stepsEl.replaceChildren();
    } else {
      $("route-total").textContent = t("route.total", {
        km: fmtKm(route.distance_m), min: Math.max(1, Math.round(route.duration_s / 60)),
      });
      stepsEl.replaceChildren(...route.steps.map((s) => {
        const li = document.createElement("li");
        li.dataset.kind = s.kind || "road";
        const [what, how] = stepParts(s);
        const head = document.createElement("strong");
        head.textContent = what;
        const dist = document.createElement("span");
        dist.className = "step-dist";
        dist.textContent = how;
        li.append(head, " ", dist);
        return li;
      }));
    }
    const map = this._ensureMap();
    if (!map) return;
    const L = window.L;
    map.invalidateSize();
    // A map laid out with no size yet (the page still hidden) cannot fit bounds: Leaflet would
    // throw on a NaN zoom. Draw on the next call, when it has a size.
    const size = map.getSize();
    if (!(size.x > 0 && size.y > 0)) {
      this.drawn = null;
      return;
    }
    const pos = unit && unit.position ? `${unit.position.lat},${unit.position.lon}` : "";
    const key = `${job ? job.callout_id : ""}|${route ? `${route.duration_s}|${route.to || ""}` : ""}|${pos}`;
    if (key === this.drawn) return; // unchanged: keep what the crew panned or zoomed to
    this.drawn = key;
    this.layer.clearLayers();
    const points = [];
    if (route && route.geometry && route.geometry.length > 1) {
      L.polyline(route.geometry, { color: "#0b4f9c", weight: 6, opacity: 0.9 }).addTo(this.layer);
      points.push(...route.geometry);
    }
    if (job && job.location) {
      const at = [job.location.lat, job.location.lon];
      L.circleMarker(at, { radius: 10, color: "#111111", weight: 3, fillColor: "#a3120f", fillOpacity: 1 })
        .addTo(this.layer);
      points.push(at);
    }
    if (unit && unit.position) {
      const at = [unit.position.lat, unit.position.lon];
      L.circleMarker(at, { radius: 9, color: "#111111", weight: 3, fillColor: "#ffffff", fillOpacity: 1 })
        .addTo(this.layer);
      points.push(at);
    }
    if (points.length > 1) map.fitBounds(L.latLngBounds(points), { padding: [16, 16] });
    else if (points.length === 1) map.setView(points[0], 12);
  }
}
