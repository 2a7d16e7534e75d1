// The panel's comments and orders tabs: live feed, review queue, questions, the order
// book per buyer, exports and connector states.
// Data comes over REST on every (re)connect; small panel-only pushes keep it fresh.
// Every piece of user text goes through h() (textContent), never innerHTML.
import { formatQty, formatVnd, h, t } from "./common.js";
import { panel } from "./panel.js";

const $ = (id) => document.getElementById(id);
const FEED_SIZE = 100;
const STEPS = ["confirmed", "paid", "packed", "shipped"];
const comments = new Map(); // id -> comment view, newest ids highest
let orders = [];
let connectors = [];
let ordersTimer = null;

// -- data ----------------------------------------------------------------------------

async function loadComments() {
  const [recent, review, questions] = await Promise.all([
    panel.api("GET", `/api/comments?limit=${FEED_SIZE}`),
    panel.api("GET", "/api/comments?status=review&limit=200"),
    panel.api("GET", "/api/comments?intent=question&limit=50"),
  ]);
  comments.clear();
  for (const reply of [recent, review, questions]) {
    if (reply.ok) reply.data.forEach((c) => comments.set(c.id, c));
  }
  renderComments();
}

async function loadOrders() {
  const reply = await panel.api("GET", "/api/orders");
  if (reply.ok) orders = reply.data;
  renderOrders();
}

async function loadConnectors() {
  const reply = await panel.api("GET", "/api/connectors");
  if (reply.ok) connectors = reply.data;
  renderConnectors();
}

function refreshAll() {
  loadComments();
  loadOrders();
  loadConnectors();
}

function ordersSoon() {
  clearTimeout(ordersTimer);
  ordersTimer = setTimeout(loadOrders, 300); // a burst of orders costs one fetch
}

async function act(method, path, body) {
  const reply = await panel.api(method, path, body);
  if (!reply.ok) panel.notify(t("panel.command_failed", { error: reply.data.error || reply.status }));
  return reply;
}

// -- comments ------------------------------------------------------------------------

function itemsText(items) {
  return (items || []).map((i) => `${i.code} × ${i.qty === null ? t("panel.all") : formatQty(i.qty)}`).join(", ");
}

function kindClass(c) {
  if (c.status === "review") return "review";
  if (c.intent === "question") return "question";
  if (c.intent === "order" || c.intent === "cancel") return "order";
  return "";
}

function showButton(c) {
  const shown = panel.state && panel.state.shown_comment && panel.state.shown_comment.id === c.id;
  return h(
    "button",
    {
      type: "button",
      class: shown ? "primary show-comment" : "show-comment",
      onclick: () => act("POST", shown ? "/api/comments/hide" : `/api/comments/${c.id}/show`),
    },
    shown ? t("panel.hide") : t("panel.show"),
  );
}

function whyButton(c, box) {
  return h("button", { type: "button", onclick: () => explain(c, box) }, t("panel.why"));
}

async function explain(c, box) {
  if (box.childElementCount) {
    box.replaceChildren();
    return;
  }
  const reply = await act("GET", `/api/comments/${c.id}`);
  if (!reply.ok) return;
  const parse = reply.data.parse || {};
  const lines = (parse.evidence || []).map((e) =>
    h("li", {}, h("b", {}, e.kind), " ", e.text ? `“${e.text}”` : "", e.note ? ` → ${e.note}` : ""),
  );
  const confidence = typeof parse.confidence === "number" ? Math.round(parse.confidence * 100) : "?";
  box.replaceChildren(
    h("div", {}, t("panel.confidence", { n: confidence }), parse.error ? ` · ${parse.error}` : ""),
    h("ul", {}, lines),
  );
}

function commentItem(c, extra = []) {
  const why = h("div", { class: "why" });
  const parsed = c.items && c.items.length ? itemsText(c.items) : "";
  return h(
    "article",
    { class: `item ${kindClass(c)}`, dataset: { comment: c.id } },
    h(
      "div",
      { class: "who" },
      h("span", { class: "nick" }, c.nickname || c.handle),
      c.bom ? h("span", { class: "badge-bom" }, t("panel.bom")) : null,
      " ",
      h("span", { class: "why" }, t(`comment.${c.status}`)),
    ),
    h("div", { class: "text" }, c.text),
    parsed ? h("div", { class: "why" }, `${t(`intent.${c.intent}`)}: ${parsed}`) : null,
    h("div", { class: "actions" }, showButton(c), whyButton(c, why), extra),
    why,
  );
}

function reviewItem(c) {
  const form = h("form", { class: "manual hidden" });
  const code = h("input", { placeholder: t("panel.code"), value: (c.items[0] || {}).code || "", maxlength: 17, autocomplete: "off" });
  const qty = h("input", { type: "number", inputmode: "decimal", min: "0", step: "any", placeholder: t("panel.qty"), value: (c.items[0] || {}).qty ?? 1 });
  form.append(code, qty, h("button", { type: "submit", class: "primary" }, t("panel.confirm_order")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const items = [{ code: code.value.trim(), qty: Number(qty.value) }];
    act("POST", `/api/comments/${c.id}/confirm`, { intent: "order", items });
  });
  const buttons = [
    h("button", { type: "button", class: "primary", disabled: !c.items.length, onclick: () => act("POST", `/api/comments/${c.id}/confirm`, {}) }, t("panel.confirm")),
    h("button", { type: "button", onclick: () => form.classList.toggle("hidden") }, t("panel.edit_order")),
    h("button", { type: "button", onclick: () => act("POST", `/api/comments/${c.id}/reject`) }, t("panel.reject")),
  ];
  const item = commentItem(c, buttons);
  item.append(form);
  return item;
}

function renderComments() {
  const all = [...comments.values()].sort((a, b) => b.id - a.id);
  const feed = all.slice(0, FEED_SIZE);
  for (const c of all.slice(FEED_SIZE)) if (c.status !== "review" && c.intent !== "question") comments.delete(c.id);
  const review = all.filter((c) => c.status === "review").reverse(); // oldest first: fair queue
  const questions = all.filter((c) => c.intent === "question").slice(0, 30);
  $("review").replaceChildren(...(review.length ? review.map(reviewItem) : [h("p", { class: "why" }, t("panel.nothing"))]));
  $("questions").replaceChildren(...questions.map((c) => commentItem(c)));
  $("feed").replaceChildren(...feed.map((c) => commentItem(c)));
}

$("manual-name").placeholder = t("panel.manual_name");
$("manual-text").placeholder = t("panel.manual_text");
$("manual").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("manual-text").value.trim();
  if (!text) return;
  const reply = await act("POST", "/api/comments/manual", { text, nickname: $("manual-name").value.trim() });
  if (reply.ok) $("manual-text").value = "";
});

// -- orders --------------------------------------------------------------------------

function exportLinks() {
  const token = encodeURIComponent(panel.token);
  const links = [
    ["panel.export_lines", `/api/orders/export.csv?by=line&token=${token}`],
    ["panel.export_buyers", `/api/orders/export.csv?by=buyer&token=${token}`],
    ["panel.export_xlsx", `/api/orders/export.xlsx?token=${token}`],
    ["panel.slips_a4", `/api/orders/slips?paper=a4&token=${token}`],
    ["panel.slips_80mm", `/api/orders/slips?paper=80mm&token=${token}`],
  ];
  $("exports").replaceChildren(...links.map(([key, href]) => h("a", { href, target: "_blank", rel: "noopener" }, t(key))));
}

function lineRow(line) {
  const promote = line.status === "waitlist"
    ? h("button", { type: "button", onclick: () => act("POST", `/api/orders/waitlist/${encodeURIComponent(line.code)}/promote`) }, t("panel.promote"))
    : null;
  return h(
    "li",
    { class: `line status-${line.status}` },
    `${line.code} ${line.name} × ${formatQty(line.qty)} ${line.unit} · ${formatVnd(line.amount)} · `,
    h("b", {}, t(`order.${line.status}`)),
    promote ? " " : null,
    promote,
  );
}

function buyerCard(buyer) {
  const move = (status) => {
    if (status === "cancelled" && !confirm(t("panel.confirm_cancel_buyer", { name: buyer.nickname || buyer.handle }))) return;
    act("POST", `/api/orders/buyers/${buyer.id}/status`, { status });
  };
  const bom = () => act("PATCH", `/api/customers/${buyer.id}`, { bom: !buyer.bom });
  return h(
    "article",
    { class: `item order${buyer.bom ? " review" : ""}`, dataset: { customer: buyer.id } },
    h(
      "div",
      { class: "who" },
      h("span", { class: "nick" }, buyer.nickname || buyer.handle),
      buyer.bom ? h("span", { class: "badge-bom" }, t("panel.bom")) : null,
      h("span", { class: "why" }, ` ${buyer.platform} · ${buyer.handle}`),
    ),
    buyer.phone ? h("div", {}, `☎ ${buyer.phone}`) : null,
    buyer.address ? h("div", { class: "why" }, buyer.address) : null,
    h("ul", { class: "lines" }, buyer.lines.map(lineRow)),
    h("div", { class: "total" }, t("panel.total", { amount: formatVnd(buyer.total) })),
    h(
      "div",
      { class: "actions" },
      STEPS.map((status) => h("button", { type: "button", onclick: () => move(status) }, t(`order.${status}`))),
      h("button", { type: "button", onclick: () => move("cancelled") }, t("panel.cancel_order")),
      h("button", { type: "button", onclick: bom }, buyer.bom ? t("panel.unmark_bom") : t("panel.mark_bom")),
    ),
  );
}

function renderOrders() {
  const cards = orders.map(buyerCard);
  $("orders").replaceChildren(...(cards.length ? cards : [h("p", { class: "why" }, t("panel.no_orders"))]));
}

// -- connectors ----------------------------------------------------------------------

function renderConnectors() {
  $("connectors").replaceChildren(
    ...connectors.map((c) =>
      h(
        "article",
        { class: `item connector status-${c.status}` },
        h("div", { class: "who" }, `${c.name}: ${t(`connector.${c.status}`)}`),
        h("div", { class: "why" }, t("panel.comments_count", { n: c.comments })),
        c.last_error ? h("div", { class: "why error" }, c.last_error) : null,
      ),
    ),
  );
}

// -- wiring --------------------------------------------------------------------------

let shownId = null;

panel.hooks.push({
  render(state) {
    const id = state.shown_comment ? state.shown_comment.id : null;
    if (id !== shownId) {
      shownId = id;
      renderComments(); // the show/hide buttons follow what is on air
    }
  },
  message(message) {
    if (message.type === "snapshot") refreshAll();
    else if (message.type === "comments") {
      message.items.forEach((c) => comments.set(c.id, c));
      renderComments();
    } else if (message.type === "orders_changed") ordersSoon();
    else if (message.type === "connectors") {
      connectors = message.items;
      renderConnectors();
    }
  },
});

exportLinks();
if (panel.socket && panel.socket.state) refreshAll(); // the snapshot came before we loaded
