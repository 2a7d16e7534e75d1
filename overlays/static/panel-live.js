// The panel's views of the on-air state (the LiveStore): connection status, the
// Start/End live button, the overlay preview, the product grid with its quick
// editor, and the Controls tab (countdowns, what is shown on the overlay).
import { $, formatPrice, formatVnd, h, notify, struckPrice, t } from "./common.js";
import { OverlayView } from "./overlay-view.js";

export function mountLive(live) {
  const preview = new OverlayView($("preview"), { layout: "portrait", clock: () => live.serverNow() });
  live.onStatus(renderStatus);
  renderStatus(live.status);
  mountSessionButton(live);
  mountEditor(live);
  mountCountdowns(live);
  live.subscribe((state) => {
    preview.render(state);
    renderSession(state);
    renderGrid(live, state);
    renderElements(live, state);
  });
}

function renderStatus(status) {
  $("status").dataset.status = status;
  $("status-text").textContent = t(`status.${status}`);
  if (status === "unauthorized") notify(t("panel.need_token"));
}

// -- session ---------------------------------------------------------------------

function mountSessionButton(live) {
  $("session").addEventListener("click", () => {
    const onAir = live.state && live.state.session;
    if (onAir && !confirm(t("panel.confirm_stop"))) return;
    live.command(onAir ? "session/stop" : "session/start", {});
  });
}

function renderSession(state) {
  const button = $("session");
  button.textContent = state.session ? t("panel.stop_live") : t("panel.start_live");
  button.classList.toggle("on-air", Boolean(state.session));
}

// -- product grid ----------------------------------------------------------------

// "Túi xanh · 200.000 ₫ · Còn 3" per variant, so helpers see which one runs out.
function tileVariants(variants) {
  if (!variants || !variants.length) return null;
  return h(
    "ul",
    { class: "tile-variants", "aria-label": t("panel.variants") },
    ...variants.map((v) =>
      h(
        "li",
        { class: v.stock > 0 ? "" : "empty", dataset: { key: v.key } },
        `${v.name} · ${formatVnd(v.price_now)} · `,
        v.stock > 0 ? t("overlay.stock_left", { n: v.stock }) : t("overlay.sold_out"),
      ),
    ),
  );
}

function renderGrid(live, state) {
  const tiles = Object.values(state.products)
    .sort((a, b) => a.position - b.position || a.code.localeCompare(b.code))
    .map((product) => tile(live, product, product.code === state.pinned));
  $("grid").replaceChildren(...tiles);
}

function tile(live, product, pinned) {
  const regular = struckPrice(product);
  const classes = `tile${pinned ? " pinned" : ""}${product.stock <= 0 ? " empty" : ""}`;
  return h(
    "article",
    { class: classes, dataset: { code: product.code } },
    h(
      "button",
      {
        class: "tile-pin",
        type: "button",
        "aria-pressed": pinned ? "true" : "false",
        onclick: () => (pinned ? live.command("unpin") : live.command("pin", { code: product.code })),
      },
      h("img", { src: product.image_url || "/placeholder.png", alt: "", loading: "lazy" }),
      h("span", { class: "tile-code" }, product.code),
      h("span", { class: "tile-name" }, product.name),
      h(
        "span",
        { class: "tile-prices" },
        h("span", { class: "tile-price" }, formatPrice(product.price_now, product.unit)),
        regular === null ? null : h("s", { class: "tile-old-price" }, formatVnd(regular)),
      ),
      h("span", { class: "tile-stock" }, product.stock > 0 ? t("overlay.stock_left", { n: product.stock }) : t("overlay.sold_out")),
      tileVariants(product.variants),
    ),
    h("button", { class: "tile-edit", type: "button", "aria-label": t("panel.edit"), dataset: { code: product.code } }, "✎"),
  );
}

// -- quick edit ------------------------------------------------------------------

function mountEditor(live) {
  let editing = null;
  $("grid").addEventListener("click", (event) => {
    const button = event.target.closest(".tile-edit");
    if (!button) return;
    editing = button.dataset.code;
    openEditor(live.state.products[editing]);
  });
  $("stock-minus").addEventListener("click", () => {
    $("edit-stock").value = Math.max(0, Number($("edit-stock").value) - 1);
  });
  $("stock-plus").addEventListener("click", () => {
    $("edit-stock").value = Number($("edit-stock").value) + 1;
  });
  $("edit-cancel").addEventListener("click", () => $("editor").close());
  $("editor-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await saveEdit(live, editing)) $("editor").close();
  });
}

function openEditor(product) {
  $("editor-title").textContent = `${product.code} · ${product.name}`;
  $("edit-price").value = product.price;
  $("edit-sale").value = product.sale_price ?? "";
  $("edit-stock").value = product.stock;
  // A product with variants has the sum of their stock: each variant's is set on its own.
  $("edit-stock").disabled = Boolean(product.variants && product.variants.length);
  $("editor-error").textContent = "";
  $("editor").showModal();
}

// Sends only what changed; true when everything was accepted.
async function saveEdit(live, code) {
  const product = live.state.products[code];
  const price = Number($("edit-price").value);
  const saleText = $("edit-sale").value.trim();
  const sale = saleText === "" ? null : Number(saleText);
  const stock = Number($("edit-stock").value);
  if (sale !== null && sale >= price) {
    $("editor-error").textContent = t("panel.sale_below_price"); // the server refuses it too
    return false;
  }
  if (price !== product.price || sale !== product.sale_price) {
    const args = { code, price, sale_price: sale, clear_sale_price: sale === null };
    if (!(await live.command("price", args)).ok) return false;
  }
  if (stock !== product.stock && !$("edit-stock").disabled) {
    if (!(await live.command("stock", { code, stock })).ok) return false;
  }
  return true;
}

// -- controls --------------------------------------------------------------------

function mountCountdowns(live) {
  const buttons = [60, 180, 300].map((seconds) =>
    h("button", { type: "button", class: "big", onclick: () => live.command("countdown", { seconds }) }, t("panel.minutes", { n: seconds / 60 })),
  );
  buttons.push(h("button", { type: "button", class: "big", onclick: () => live.command("countdown/stop") }, t("panel.stop")));
  $("countdown-buttons").replaceChildren(...buttons);
}

function renderElements(live, state) {
  const toggles = Object.entries(state.elements).map(([element, visible]) =>
    h(
      "label",
      { class: "toggle" },
      h("input", {
        type: "checkbox",
        checked: visible,
        dataset: { element },
        onchange: (event) => live.command("element", { element, visible: event.target.checked }),
      }),
      h("span", {}, t(`element.${element}`)),
    ),
  );
  $("elements").replaceChildren(...toggles);
}
