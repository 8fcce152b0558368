// The crew page's service worker (served as /crew/sw.js, scope /crew). It keeps the app shell
// (the page, its scripts and styles, /static/lib, Leaflet) in a cache named after a fingerprint
// of those files, so the page opens without a connection and a changed file arrives as a new
// worker with a fresh cache (the fingerprint covers the workflow too). The workflow
// (/crew/workflow.json) and the road map (/api/map) are fetched network-first, the cached copy
// only a fallback offline, so a changed workflow is never hidden behind an old copy. Nothing
// else is touched: sockets, /api/route and the rest go to the network.
const VERSION = "__VERSION__";
const CACHE = `mae-crew-shell-${VERSION}`;
const DATA = "mae-crew-data";
const SHELL = __SHELL__;
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys
        .filter((k) => k.startsWith("mae-crew-shell-") && k !== CACHE)
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function fromShell(path, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(path, { ignoreSearch: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) cache.put(path, response.clone());
  return response;
}

async function networkFirst(request, cacheName = DATA, key = request.url) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (exc) {
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    throw exc;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/crew" || url.pathname === "/crew/")) {
    event.respondWith(fromShell("/crew", request));
  } else if (url.pathname === "/crew/workflow.json") {
    event.respondWith(networkFirst(request, CACHE, url.pathname));
  } else if (SHELL_PATHS.has(url.pathname)) {
    event.respondWith(fromShell(url.pathname, request));
  } else if (url.pathname === "/api/map") {
    event.respondWith(networkFirst(request));
  }
});
