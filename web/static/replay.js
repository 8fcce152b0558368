// Replay controls for the dispatcher map (/dispatch?replay=NAME): play/pause, speed and a time
// slider over the log's span. The page's LiveSocket is connected to /ws/replay; this module
// listens to its "clock" messages (the simulated time, speed, whether it plays) and sends
// {type: "play" | "pause"}, {type: "speed", speed} and {type: "seek", at}. A snapshot arriving
// after mounting (a backwards seek, a reconnect) goes to onReset(snapshot) instead of the page.
import { applyI18n, lang, onLangChange, register, t } from "/static/lib/i18n.js";
import { formatStockholm, fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";
import { errorText } from "/static/lib/errors.js";

register({
  sv: {
    "replay.controls": "Uppspelning",
    "replay.play": "Spela",
    "replay.pause": "Pausa",
    "replay.speed": "Hastighet",
    "replay.time": "Simulerad tid",
    "replay.ended": "Slutet av loggen",
    "replay.failed": "Uppspelningen fungerar inte: {message}",
    "replay.refused": "Gick inte: {message}",
    "replay.goto": "Gå till",
    "replay.go": "Gå",
    "replay.outside": "Välj en tid mellan {start} och {end}.",
  },
  en: {
    "replay.controls": "Replay",
    "replay.play": "Play",
    "replay.pause": "Pause",
    "replay.speed": "Speed",
    "replay.time": "Simulated time",
    "replay.ended": "End of the log",
    "replay.failed": "The replay does not work: {message}",
    "replay.refused": "Not done: {message}",
    "replay.goto": "Go to",
    "replay.go": "Go",
    "replay.outside": "Choose a time between {start} and {end}.",
  },
});

export const SPEEDS = [1, 10, 60, 300, 1800];
const POSITIONS = 1000; // slider steps over the log's span (at least one second each)


/** The controls' stylesheet, linked once: a file of the site, as the pages' CSP allows (an
 * inline <style> is refused, and the controls were unstyled). */
function addStyle() {
  if (document.getElementById("mae-replay-style")) return;
  const link = document.createElement("link");
  link.id = "mae-replay-style";
  link.rel = "stylesheet";
  link.href = "/static/replay.css";
  document.head.append(link);
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** A simulated time as the page shows it: weekday, date and time of day (Swedish time). */
export function fmtSimTime(ms) {
  if (!Number.isFinite(ms)) return "";
  return formatStockholm(ms, lang() === "sv" ? "sv-SE" : "en-GB", {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23",
  });
}

/**
 * Mount the replay controls in container. socket: the page's LiveSocket on /ws/replay;
 * onReset(snapshot): clear the page and load a fresh snapshot. Returns {update, destroy}.
 */
export function mountReplay({ socket, container, onReset }) {
  addStyle();
  const play = el("button", { type: "button", "data-replay-play": "" });
  const speed = el("select", { "data-replay-speed": "" },
    SPEEDS.map((s) => el("option", { value: String(s) }, [`${s}×`])));
  const speedLabel = el("label", {}, [el("span", { "data-i18n": "replay.speed" }), " ", speed]);
  const slider = el("input", { type: "range", min: "0", max: "0", step: "1000", value: "0",
    "data-i18n-aria-label": "replay.time" });
  const time = el("output", { "data-replay-time": "" });
  // A time typed to the minute (Swedish time): the slider's steps are a thousandth of the log,
  // almost nine hours in a year's.
  const goto = el("input", { type: "datetime-local", step: "60", "data-replay-goto": "" });
  const gotoForm = el("form", { class: "mae-replay-goto", novalidate: "" }, [
    el("label", {}, [el("span", { "data-i18n": "replay.goto" }), " ", goto]),
    el("button", { type: "submit", "data-i18n": "replay.go" })]);
  const status = el("p", { "data-replay-status": "", role: "status", class: "muted" });
  const box = el("div", { class: "mae-replay", role: "group", "data-i18n-aria-label": "replay.controls" },
    [play, speedLabel, el("div", { class: "mae-replay-slider" }, [slider]), time, gotoForm, status]);
  container.replaceChildren(box);
  container.hidden = false;
  applyI18n(container);

  let clock = null; // the last {at, speed, playing, start, end, name} from the server
  let dragging = false;
  let broken = false;

  const atMs = () => (clock ? Date.parse(clock.at) : NaN);

  function render() {
    const playing = Boolean(clock && clock.playing);
    play.textContent = t(playing ? "replay.pause" : "replay.play");
    play.setAttribute("aria-pressed", String(playing));
    play.disabled = broken || !clock;
    speed.disabled = broken || !clock;
    slider.disabled = broken || !clock;
    goto.disabled = broken || !clock;
    if (!clock) return;
    const start = Date.parse(clock.start);
    const end = Date.parse(clock.end);
    goto.min = toStockholmLocal(start);
    goto.max = toStockholmLocal(end);
    const step = Math.max(1000, Math.round((end - start) / POSITIONS / 1000) * 1000);
    slider.min = String(start);
    slider.max = String(end);
    slider.step = String(step);
    const shown = dragging ? Number(slider.value) : atMs();
    if (!dragging) slider.value = String(shown);
    slider.setAttribute("aria-valuetext", fmtSimTime(shown));
    time.textContent = fmtSimTime(shown);
    // the field starts from the replay's time, unless the planner is typing one
    if (!goto.dataset.edited && document.activeElement !== goto) goto.value = toStockholmLocal(shown);
    const value = String(clock.speed);
    if (![...speed.options].some((o) => o.value === value)) {
      speed.append(el("option", { value }, [`${clock.speed}×`]));
    }
    speed.value = value;
    if (!playing && atMs() >= end && !status.dataset.error) status.textContent = t("replay.ended");
    else if (!status.dataset.error) status.textContent = "";
  }

  function update(msg) {
    if (!msg || typeof msg.at !== "string" || typeof msg.start !== "string") return;
    clock = { at: msg.at, speed: msg.speed, playing: msg.playing, start: msg.start,
      end: msg.end, name: msg.name };
    render();
  }

  function showError(message, key = "replay.refused") {
    status.dataset.error = "1";
    status.textContent = t(key, { message });
  }

  function onReply(reply) {
    if (reply.type === "error") {
      if (reply.field === "name") broken = true;
      showError(errorText(reply), broken ? "replay.failed" : "replay.refused");
      render();
      return;
    }
    delete status.dataset.error;
    update(reply);
  }

  /** Send a control message; quiet: a socket that is not open yet is no error. */
  async function request(obj, { quiet = false } = {}) {
    try {
      onReply(await socket.send(obj));
    } catch (exc) {
      if (!quiet) showError(errorText(exc));
    }
  }

  play.addEventListener("click", () => request({ type: clock && clock.playing ? "pause" : "play" }));
  speed.addEventListener("change", () => request({ type: "speed", speed: Number(speed.value) }));
  slider.addEventListener("input", () => {
    dragging = true;
    render();
  });
  slider.addEventListener("change", () => {
    dragging = false;
    if (!clock) return;
    const value = Number(slider.value);
    // The ends exactly as the server wrote them (a slider step may fall just outside).
    let at = new Date(value).toISOString();
    if (value <= Date.parse(clock.start)) at = clock.start;
    else if (value >= Date.parse(clock.end) - Number(slider.step)) at = clock.end;
    request({ type: "seek", at });
  });

  goto.addEventListener("input", () => { goto.dataset.edited = "1"; });
  gotoForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    delete goto.dataset.edited;
    if (!clock) return;
    const chosen = fromStockholmLocal(goto.value);
    const start = Date.parse(clock.start);
    const end = Date.parse(clock.end);
    // to the minute: the log's first and last minutes take its own ends
    const ms = chosen ? chosen.getTime() : NaN;
    if (!Number.isFinite(ms) || ms < start - 60000 || ms > end) {
      showError(t("replay.outside", { start: fmtSimTime(start), end: fmtSimTime(end) }));
      return;
    }
    request({ type: "seek", at: ms <= start ? clock.start : new Date(ms).toISOString() });
  });

  const previous = socket.onMessage;
  socket.onMessage = (msg) => {
    if (msg.type === "clock") update(msg);
    else if (msg.type === "error" && msg.field === "name") {
      broken = true;
      showError(errorText(msg), "replay.failed");
      render();
    }
    if (msg.type === "snapshot" && onReset) {
      onReset(msg);
      return;
    }
    previous.call(socket, msg);
  };
  const offLang = onLangChange(() => {
    applyI18n(container);
    render();
  });
  render();
  // The first clock message (or the error about the log) may have come before this module
  // loaded: ask again. If the socket is not open yet, they come with the connection anyway.
  request({ type: "clock" }, { quiet: true });

  return {
    update,
    destroy() {
      socket.onMessage = previous;
      offLang();
      container.replaceChildren();
    },
  };
}
