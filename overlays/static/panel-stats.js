// The panel's numbers strip: revenue, orders, the pace per minute, the review queue,
// how many commenters ordered, the best sellers, and a link to the session's report.
// It reads /api/sessions/{id}/stats, counted from the same event log as the report:
// every few seconds, and soon after the server says the order book changed.
import { api, currentLang, formatQty, formatVnd, h, loadI18n, t, useToken } from "./common.js";

const EVERY_MS = 5000;
const SOON_MS = 400;

function cell(key, label, value) {
  return h("div", { class: "stat", dataset: { key } }, h("span", { class: "stat-label" }, label), h("b", { class: "stat-value" }, value));
}

// The last full minute says more about the pace than the one just begun.
function pace(stats) {
  const minutes = stats.per_minute;
  if (!minutes.length) return { orders: 0, comments: 0 };
  return stats.running && minutes.length > 1 ? minutes[minutes.length - 2] : minutes[minutes.length - 1];
}

function render(root, stats) {
  const minute = pace(stats);
  const top = stats.products.slice(0, 3).map((p) => `${p.code} ×${formatQty(p.qty)}`).join(" · ");
  root.replaceChildren(
    cell("revenue", t("stats.revenue"), formatVnd(stats.revenue)),
    cell("orders", t("stats.orders"), String(stats.orders)),
    cell("pace", t("stats.pace"), t("stats.per_minute", { orders: minute.orders, comments: minute.comments })),
    cell("review", t("stats.review"), String(stats.review_queue)),
    cell("ordered", t("stats.ordered"), `${stats.commenters_ordered}/${stats.commenters}`),
    cell("top", t("stats.top"), top || "—"),
    h("a", { class: "stat-report", href: `/report/${stats.session.id}`, target: "_blank", rel: "noopener" }, t("stats.report")),
  );
  root.dataset.session = String(stats.session.id);
  root.dataset.running = String(stats.running);
}

async function refresh(root) {
  // The latest session, running or just stopped: after the live its totals stay up.
  const sessions = await api("GET", "/api/sessions");
  if (!sessions.ok) return;
  const latest = sessions.data[0];
  if (!latest) {
    root.replaceChildren(h("span", { class: "stat-empty" }, t("stats.no_session")));
    return;
  }
  const reply = await api("GET", `/api/sessions/${latest.id}/stats`);
  if (reply.ok) render(root, reply.data);
}

export function mountStats(root) {
  let timer = null;
  let busy = false;
  let soonPending = false;
  let hooked = false;
  const run = async () => {
    clearTimeout(timer);
    soonPending = false;
    hook();
    if (!busy && !document.hidden) {
      // A phone in a pocket asks nothing; coming back asks at once (visibilitychange).
      busy = true;
      try {
        await refresh(root);
      } catch {
        // offline: the next tick tries again
      }
      busy = false;
    }
    timer = setTimeout(run, EVERY_MS);
  };
  // Throttled, not debounced: a busy live pushes often, and the strip must still move.
  const soon = () => {
    if (soonPending) return;
    soonPending = true;
    clearTimeout(timer);
    timer = setTimeout(run, SOON_MS);
  };
  // panel.js publishes its live store once it is up; until then the strip just polls.
  const hook = () => {
    const live = window.chotdonPanel && window.chotdonPanel.live;
    if (hooked || !live) return;
    hooked = true;
    live.on("orders_changed", soon);
    live.on("comments", soon);
    live.subscribe(soon); // a session started or stopped
  };
  document.addEventListener("visibilitychange", soon);
  run();
}

const root = document.getElementById("stats");
if (root) {
  useToken(localStorage.getItem("chotdon.token") || new URLSearchParams(location.hash.slice(1)).get("token") || "");
  await loadI18n(currentLang());
  mountStats(root);
}
