// Keeping a map's names apart, the same way on every page with a map. Three kinds of marks:
// pins always show as drawn (what one clicks: a callout, the point an alarm is for); names
// that can shrink to a dot (a unit's pin: its name is then in its tooltip) are placed in
// order, each a dot (class "compact") when it would cover a pin or a name placed before it;
// the map's place names (towns', then municipalities') are hidden (class "crowded") when
// they would cover any of those or a place name placed before them. A place name that only
// a pin is in the way of (a point chosen, or a callout, right on the town) moves beside that
// pin instead, where it covers nothing: one reads where one clicked. Zoomed in far enough,
// everything fits and every name is back in its place.

const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** ``r`` moved by ``dx``, ``dy`` (a plain rectangle). */
const shifted = (r, dx, dy) => ({ left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy });

/** Pixels between a name moved beside a pin and the pin. */
const GAP = 2;
/** How far (px, each way) a name may move beside a pin: enough to clear a pin standing on its
 * own place (3 px for a chosen point's pin, 10 px for a callout's), not so far that it would
 * read as another place's name (hidden then, as any name in the way). */
const MOST = 20;

/** The place names shown on the map in ``box``: the towns' (the permanent labels of
 * roads.js, not a name shown while the pointer is on a town), then the municipalities'. */
export function placeLabels(box) {
  return [...box.querySelectorAll(".mae-place-label.permanent"), ...box.querySelectorAll(".border-name span")];
}

/** Where the name at ``r`` can go beside the pins ``over`` it (rectangles): to the right of
 * them on the same line, under them, to their left, above them; the first place at most MOST
 * px away that covers nothing ``taken`` and is inside ``bounds`` (when given), as [dx, dy], or
 * null. */
function besidePins(r, over, taken, bounds) {
  const left = Math.min(...over.map((p) => p.left));
  const right = Math.max(...over.map((p) => p.right));
  const top = Math.min(...over.map((p) => p.top));
  const bottom = Math.max(...over.map((p) => p.bottom));
  const moves = [[right + GAP - r.left, 0], [0, bottom + GAP - r.top], [left - GAP - r.right, 0],
    [0, top - GAP - r.bottom]];
  for (const [dx, dy] of moves) {
    if (Math.abs(dx) > MOST || Math.abs(dy) > MOST) continue;
    const spot = shifted(r, dx, dy);
    const inside = !bounds || (spot.left >= bounds.left && spot.right <= bounds.right
      && spot.top >= bounds.top && spot.bottom <= bounds.bottom);
    if (inside && !taken.some((a) => overlap(a, spot))) return [dx, dy];
  }
  return null;
}

/** One pass over elements on screen now: ``pins`` stay, ``names`` in order become dots where
 * in the way, ``labels`` in order move beside a pin in their way or are hidden where in the
 * way; ``bounds`` (the map's rectangle) is where a moved label must stay. */
export function declutter({ pins = [], names = [], labels = [], bounds = null }) {
  // Measured in batches (all reads after all writes), so the browser lays out a few times,
  // not once per label.
  for (const name of names) name.classList.remove("compact");
  for (const label of labels) {
    label.classList.remove("crowded");
    label.style.translate = "";
  }
  const pinBoxes = pins.map((e) => e.getBoundingClientRect());
  const taken = [...pinBoxes];
  const dots = [];
  for (const [i, r] of names.map((e) => e.getBoundingClientRect()).entries()) {
    if (taken.some((a) => overlap(a, r))) dots.push(names[i]);
    else taken.push(r);
  }
  for (const name of dots) name.classList.add("compact"); // under the pins: those take the clicks
  taken.push(...dots.map((e) => e.getBoundingClientRect()));
  const crowded = [];
  const moved = [];
  for (const [i, r] of labels.map((e) => e.getBoundingClientRect()).entries()) {
    if (!taken.some((a) => overlap(a, r))) {
      if (r.width > 0) taken.push(r);
      continue;
    }
    const over = pinBoxes.filter((p) => overlap(p, r));
    const move = over.length && r.width > 0 ? besidePins(r, over, taken, bounds) : null;
    if (move) {
      moved.push([labels[i], move]);
      taken.push(shifted(r, ...move));
    } else {
      crowded.push(labels[i]);
    }
  }
  for (const [label, [dx, dy]] of moved) label.style.translate = `${dx}px ${dy}px`;
  for (const label of crowded) label.classList.add("crowded");
}

/** Keep the names of ``map`` (Leaflet) apart after every move and zoom, and whenever the
 * function returned is called (after a pin or a name was drawn): one pass on the next frame.
 * ``marks(container)`` gives the map's {pins, names} as arrays of elements. */
export function keepApart(map, marks) {
  let frame = 0;
  const later = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const box = map.getContainer();
      declutter({ ...marks(box), labels: placeLabels(box), bounds: box.getBoundingClientRect() });
    });
  };
  map.on("zoomend moveend", later);
  return later;
}
