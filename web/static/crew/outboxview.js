// How the outbox is shown: the list of what the crew did that the server has not confirmed
// yet, each item in words with the time it was pressed, and the "unsent" badge in the status
// bar (a tap on it scrolls to the list).
import { t } from "/static/lib/i18n.js";
import { fmtTime } from "/static/crew/jobview.js";

const $ = (id) => document.getElementById(id);

/** An outbox message in the page's words (``visits`` words its own visit items). */
export function itemText(msg, visits) {
  if (msg.type === "ack") return t("item.ack", { id: msg.callout_id });
  if (msg.type === "status") return t("item.status", { status: t(`status.${msg.status}`) });
  if (msg.type === "outcome") return t("item.outcome", { kind: t(`outcome.${msg.kind}`) });
  if (msg.type === "position") return t("item.position", { lat: msg.lat.toFixed(4), lon: msg.lon.toFixed(4) });
  if (msg.type === "shift_start") return t("item.shift_start", { n: msg.crew.length });
  if (msg.type === "assist") return t("item.assist");
  if (msg.type === "message") return t("item.message");
  if (msg.type === "visit") return visits.itemText(msg);
  return msg.type;
}

/** Draw ``outbox``'s unsent items and the badge's count (hidden when nothing waits). */
export function renderOutbox(outbox, visits) {
  const n = outbox.size;
  $("outbox-title").textContent = t("outbox.title", { n });
  $("outbox").dataset.count = String(n);
  $("outbox-hint").textContent = n ? t("outbox.sending") : t("outbox.empty");
  const badge = $("outbox-count");
  badge.hidden = n === 0;
  badge.textContent = t("outbox.title", { n });
  $("outbox-list").replaceChildren(...outbox.items.map((item) => {
    const li = document.createElement("li");
    li.dataset.op = item.op;
    li.dataset.type = item.msg.type;
    const time = document.createElement("span");
    time.className = "muted";
    time.textContent = `${fmtTime(item.at)} `;
    li.append(time, itemText(item.msg, visits));
    return li;
  }));
}
