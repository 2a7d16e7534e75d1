// The panel's Comments tab, drawn from the CommentStore: the review queue, the
// questions and the live feed, plus the typing box. The show/hide buttons follow
// the comment on air (LiveStore). Every piece of user text goes through h()
// (textContent), never innerHTML.
import { $, act, formatQty, h, t } from "./common.js";

export function mountComments(store, live) {
  let shownId = null;
  const render = () => renderComments(store, shownId);
  store.subscribe(render);
  live.subscribe((state) => {
    const id = state.shown_comment ? state.shown_comment.id : null;
    if (id === shownId) return;
    shownId = id;
    render(); // the show/hide buttons follow what is on air
  });
  mountManualForm();
  render();
}

function renderComments(store, shownId) {
  const review = store.review();
  $("review").replaceChildren(...(review.length ? review.map((c) => reviewItem(c, shownId)) : [h("p", { class: "why" }, t("panel.nothing"))]));
  $("questions").replaceChildren(...store.questions().map((c) => commentItem(c, shownId)));
  $("feed").replaceChildren(...store.feed().map((c) => commentItem(c, shownId)));
  $("tab-comments").setAttribute("aria-busy", store.busy ? "true" : "false");
}

function mountManualForm() {
  $("manual-name").placeholder = t("panel.manual_name");
  $("manual-text").placeholder = t("panel.manual_text");
  $("manual").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("manual-text").value.trim();
    if (!text) return;
    const reply = await act("POST", "/api/comments/manual", { text, nickname: $("manual-name").value.trim() });
    if (reply.ok) $("manual-text").value = "";
  });
}

// -- one comment ---------------------------------------------------------------------

function itemsText(items) {
  return (items || []).map((i) => `${i.code}${i.variant ? `/${i.variant}` : ""} × ${i.qty === null ? t("panel.all") : formatQty(i.qty)}`).join(", ");
}

function kindClass(c) {
  if (c.status === "review") return "review";
  if (c.intent === "question") return "question";
  if (c.intent === "order" || c.intent === "cancel") return "order";
  return "";
}

function showButton(c, shownId) {
  const shown = shownId === c.id;
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

function commentItem(c, shownId, extra = []) {
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
    h("div", { class: "actions" }, showButton(c, shownId), h("button", { type: "button", onclick: () => explain(c, why) }, t("panel.why")), extra),
    why,
  );
}

function reviewItem(c, shownId) {
  const form = h("form", { class: "manual hidden" });
  const first = c.items[0] || {};
  const code = h("input", { placeholder: t("panel.code"), value: first.variant ? `${first.code}/${first.variant}` : first.code || "", maxlength: 40, autocomplete: "off" });
  const qty = h("input", { type: "number", inputmode: "decimal", min: "0", step: "any", placeholder: t("panel.qty"), value: first.qty ?? 1 });
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
  const item = commentItem(c, shownId, buttons);
  item.append(form);
  return item;
}
