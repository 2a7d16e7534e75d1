// The panel's Orders tab, drawn from the OrderStore (the book per buyer, exports),
// and the connector states of the Controls tab, drawn from the ConnectorStore.
// Every piece of user text goes through h() (textContent), never innerHTML.
import { $, act, formatQty, formatVnd, h, t } from "./common.js";

const STEPS = ["confirmed", "paid", "packed", "shipped"];

export function mountOrders(store, token) {
  renderExportLinks(token);
  const render = () => {
    const cards = store.orders.map(buyerCard);
    $("orders").replaceChildren(...(cards.length ? cards : [h("p", { class: "why" }, t("panel.no_orders"))]));
  };
  store.subscribe(render);
  render();
}

export function mountConnectors(store) {
  const render = () => $("connectors").replaceChildren(...store.list().map(connectorItem));
  store.subscribe(render);
  render();
}

// -- orders --------------------------------------------------------------------------

function renderExportLinks(token) {
  const key = encodeURIComponent(token);
  const links = [
    ["panel.export_lines", `/api/orders/export.csv?by=line&token=${key}`],
    ["panel.export_buyers", `/api/orders/export.csv?by=buyer&token=${key}`],
    ["panel.export_xlsx", `/api/orders/export.xlsx?token=${key}`],
    ["panel.slips_a4", `/api/orders/slips?paper=a4&token=${key}`],
    ["panel.slips_80mm", `/api/orders/slips?paper=80mm&token=${key}`],
  ];
  $("exports").replaceChildren(...links.map(([label, href]) => h("a", { href, target: "_blank", rel: "noopener" }, t(label))));
}

function lineRow(line) {
  const promote = line.status === "waitlist"
    ? h("button", { type: "button", onclick: () => act("POST", `/api/orders/waitlist/${encodeURIComponent(line.code)}/promote`) }, t("panel.promote"))
    : null;
  return h(
    "li",
    { class: `line status-${line.status}` },
    `${line.code} ${line.name}${line.variant_name ? ` · ${line.variant_name}` : ""} × ${formatQty(line.qty)} ${line.unit} · ${formatVnd(line.amount)} · `,
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

// -- connectors ----------------------------------------------------------------------

// Whole minutes until an ISO time (the token expiry the "token_expiring" risk names).
function minutesLeft(iso) {
  return iso ? Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 60000)) : "?";
}

function connectorItem(c) {
  return h(
    "article",
    { class: `item connector status-${c.status}` },
    h("div", { class: "who" }, `${c.name}: ${t(`connector.${c.status}`)}`),
    h("div", { class: "why" }, t("panel.comments_count", { n: c.comments })),
    c.last_error ? h("div", { class: "why error" }, c.last_error) : null,
    c.risk && c.risk !== "ok"
      ? h(
          "div",
          { class: `why risk-${c.risk}` },
          (c.risk_reasons || [])
            .map((r) => t(`connector.risk.${r}`, { n: minutesLeft(c.token_expires_at) }))
            .join(" · "),
        )
      : null,
  );
}
