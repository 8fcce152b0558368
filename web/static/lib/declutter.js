// Keeping a map's names apart, the same way on every page with a map. Three kinds of marks:
// pins always show as drawn (what one clicks: a callout, the point an alarm is for); names
// that can shrink to a dot (a unit's pin: its name is then in its tooltip) are placed in
// order, each a dot (class "compact") when it would cover a pin or a name placed before it;
// the map's place names (towns', then municipalities') are hidden (class "crowded") when
// they would cover any of those or a place name placed before them. Zoomed in far enough,
// everything fits and every name is back.

const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** The place names shown on the map in ``box``: the towns' (the permanent labels of
 * roads.js, not a name shown while the pointer is on a town), then the municipalities'. */
export function placeLabels(box) {
  return [...box.querySelectorAll(".mae-place-label.permanent"), ...box.querySelectorAll(".border-name span")];
}

/** One pass over elements on screen now: ``pins`` stay, ``names`` in order become dots where
 * in the way, ``labels`` in order are hidden where in the way. */
export function declutter({ pins = [], names = [], labels = [] }) {
  // Measured in batches (all reads after all writes), so the browser lays out a few times,
  // not once per label.
  for (const name of names) name.classList.remove("compact");
  for (const label of labels) label.classList.remove("crowded");
  const taken = pins.map((e) => e.getBoundingClientRect());
  const dots = [];
  for (const [i, r] of names.map((e) => e.getBoundingClientRect()).entries()) {
    if (taken.some((a) => overlap(a, r))) dots.push(names[i]);
    else taken.push(r);
  }
  for (const name of dots) name.classList.add("compact"); // under the pins: those take the clicks
  taken.push(...dots.map((e) => e.getBoundingClientRect()));
  const crowded = [];
  for (const [i, r] of labels.map((e) => e.getBoundingClientRect()).entries()) {
    if (taken.some((a) => overlap(a, r))) crowded.push(labels[i]);
    else if (r.width > 0) taken.push(r);
  }
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
      declutter({ ...marks(box), labels: placeLabels(box) });
    });
  };
  map.on("zoomend moveend", later);
  return later;
}
