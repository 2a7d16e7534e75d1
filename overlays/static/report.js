// The after-live report: numbers and tables drawn here from /api/sessions/{id}/report,
// charts drawn by the server as SVG (every text already escaped there) and parsed as
// XML, never as HTML. The token comes like the panel's: #token=… once, then localStorage.
import { $, api, formatQty, formatVnd, h, mountLanguage, t, takeToken, useToken } from "./common.js";

function fail(error) {
  const notice = $("notice");
  notice.textContent = t("report.load_failed", { error });
  notice.classList.remove("hidden");
}

const hhmm = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });

function cell(label, value, key) {
  return h("div", { class: "cell", dataset: { key } }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

function renderSummary(data) {
  $("summary").replaceChildren(
    cell(t("report.revenue"), formatVnd(data.revenue), "revenue"),
    cell(t("report.orders"), data.orders, "orders"),
    cell(t("report.cancels"), data.cancels, "cancels"),
    cell(t("report.comments"), data.comments, "comments"),
    cell(t("report.questions"), data.questions, "questions"),
    cell(t("report.commenters_ordered"), `${data.commenters_ordered}/${data.commenters}`, "commenters"),
  );
  const session = data.session;
  const end = session.stopped_at ? hhmm(session.stopped_at) : "…";
  const day = new Date(session.started_at).toLocaleDateString("vi-VN");
  $("subtitle").textContent = [t("report.session", { id: session.id }), session.title, `${day} ${hhmm(session.started_at)} – ${end}`]
    .filter(Boolean)
    .join(" · ");
}

function pairs(node, entries) {
  node.replaceChildren(...entries.flatMap(([label, value, key]) => [h("dt", {}, label), h("dd", { dataset: { key } }, value)]));
}

function table(node, headers, rows) {
  if (!rows.length) {
    node.replaceChildren(h("tr", {}, h("td", { class: "empty" }, t("report.none"))));
    return;
  }
  node.replaceChildren(
    h("thead", {}, h("tr", {}, headers.map((label) => h("th", {}, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((value, i) => h("td", { class: i === 0 ? "time" : null }, value))))),
  );
}

const answer = (items) => items.map((item) => `${item.code} × ${item.qty === null ? "?" : formatQty(item.qty)}`).join(", ");

function renderTables(data) {
  pairs($("buyers"), [
    [t("report.new_buyers"), data.buyers.new, "new"],
    [t("report.returning_buyers"), data.buyers.returning, "returning"],
  ]);
  const counts = data.decisions.counts;
  pairs($("decision-counts"), ["confirm", "edit", "reject"].map((k) => [t(`report.decision.${k}`), counts[k] || 0, k]));
  table(
    $("questions"),
    [t("report.time"), t("report.who"), t("report.text")],
    data.questions_list.map((q) => [hhmm(q.t), q.nickname, q.text]),
  );
  table(
    $("decisions"),
    [t("report.time"), t("report.action"), t("report.who"), t("report.text"), t("report.product")],
    data.decisions.items.map((d) => [hhmm(d.t), t(`report.decision.${d.action}`), d.nickname, d.text, answer(d.items)]),
  );
}

// Fetched as text and parsed as SVG: scripts in parsed XML never run, and the CSP forbids them anyway.
async function renderChart(node, url, token) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(String(response.status));
  const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") throw new Error("not an SVG chart");
  node.replaceChildren(document.importNode(svg, true));
}

const token = takeToken();
useToken(token);
const lang = await mountLanguage();
$("print").addEventListener("click", () => window.print());

const sessionId = Number(location.pathname.split("/").pop());
const base = `/api/sessions/${sessionId}/report`;
const query = (extra = {}) => new URLSearchParams({ lang, ...extra }).toString();
$("download-png").href = `${base}.png?${query({ token })}`;
$("download-pdf").href = `${base}.pdf?${query({ token })}`;

const reply = await api("GET", base);
if (!reply.ok) {
  fail(reply.data.error || reply.status);
} else {
  renderSummary(reply.data);
  renderTables(reply.data);
  try {
    await Promise.all([
      renderChart($("timeline"), `${base}/timeline.svg?${query()}`, token),
      renderChart($("products"), `${base}/products.svg?${query()}`, token),
    ]);
    document.body.dataset.ready = "1";
  } catch (error) {
    fail(error.message);
  }
}
