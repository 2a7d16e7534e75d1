// The helper panel: a phone page that sends commands and shows what is on air.
import {
  LiveSocket, currentLang, formatPrice, formatVnd, h, loadI18n, setLang, t, translatePage,
} from "./common.js";
import { OverlayView } from "./overlay-view.js";

const $ = (id) => document.getElementById(id);

function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    localStorage.setItem("chotdon.token", fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return fromHash || localStorage.getItem("chotdon.token") || "";
}

const token = takeToken();
const lang = await loadI18n(currentLang());
translatePage();
$("lang").value = lang;
$("lang").addEventListener("change", (event) => {
  setLang(event.target.value);
  location.reload();
});

export const panel = {
  token,
  state: null,
  hooks: [], // extra renderers (comments, orders) register here
  api: async (method, path, body) => {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  },
};

function notify(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.classList.remove("hidden");
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => notice.classList.add("hidden"), 4000);
}

// Commands go over the socket when it is up (fastest), else over REST.
async function command(op, args = {}) {
  let reply = await socket.command(op, args);
  if (!reply.ok && reply.error === "offline") {
    const rest = await panel.api("POST", `/api/live/${op}`, args);
    reply = rest.ok ? { ok: true } : { ok: false, error: rest.data.error || rest.status };
  }
  if (!reply.ok) notify(t("panel.command_failed", { error: reply.error }));
  return reply;
}
panel.command = command;
panel.notify = notify;

const preview = new OverlayView($("preview"), { layout: "portrait", clock: () => socket.serverNow() });

function setStatus(status) {
  $("status").dataset.status = status;
  $("status-text").textContent = t(`status.${status}`);
  if (status === "unauthorized") notify(t("panel.need_token"));
}

const socket = new LiveSocket(`/ws/panel?token=${encodeURIComponent(token)}`, {
  onStatus: setStatus,
  onState: (state) => render(state),
  onMessage: (message) => panel.hooks.forEach((hook) => hook.message && hook.message(message)),
});
panel.socket = socket;
window.chotdonPanel = panel;

function render(state) {
  panel.state = state;
  preview.render(state);
  renderSession(state);
  renderGrid(state);
  renderElements(state);
  panel.hooks.forEach((hook) => hook.render && hook.render(state));
}

function renderSession(state) {
  const button = $("session");
  button.textContent = state.session ? t("panel.stop_live") : t("panel.start_live");
  button.classList.toggle("on-air", Boolean(state.session));
}

$("session").addEventListener("click", () => {
  const live = panel.state && panel.state.session;
  if (live && !confirm(t("panel.confirm_stop"))) return;
  command(live ? "session/stop" : "session/start", {});
});

function renderGrid(state) {
  const tiles = Object.values(state.products)
    .sort((a, b) => a.position - b.position || a.code.localeCompare(b.code))
    .map((product) => tile(product, product.code === state.pinned));
  $("grid").replaceChildren(...tiles);
}

function tile(product, pinned) {
  const onSale = product.sale_price !== null && product.sale_price !== undefined;
  const price = onSale ? product.sale_price : product.price;
  return h(
    "article",
    { class: `tile${pinned ? " pinned" : ""}${product.stock <= 0 ? " empty" : ""}`, dataset: { code: product.code } },
    h(
      "button",
      {
        class: "tile-pin",
        type: "button",
        "aria-pressed": pinned ? "true" : "false",
        onclick: () => (pinned ? command("unpin") : command("pin", { code: product.code })),
      },
      h("img", { src: product.image_url || "/placeholder.png", alt: "", loading: "lazy" }),
      h("span", { class: "tile-code" }, product.code),
      h("span", { class: "tile-name" }, product.name),
      h("span", { class: "tile-price" }, formatPrice(price, product.unit)),
      h("span", { class: "tile-stock" }, product.stock > 0 ? t("overlay.stock_left", { n: product.stock }) : t("overlay.sold_out")),
    ),
    h("button", { class: "tile-edit", type: "button", "aria-label": t("panel.edit"), onclick: () => openEditor(product.code) }, "✎"),
  );
}

// -- quick edit ------------------------------------------------------------------

let editing = null;

function openEditor(code) {
  const product = panel.state.products[code];
  editing = code;
  $("editor-title").textContent = `${product.code} · ${product.name}`;
  $("edit-price").value = product.price;
  $("edit-sale").value = product.sale_price ?? "";
  $("edit-stock").value = product.stock;
  $("editor-error").textContent = "";
  $("editor").showModal();
}

$("stock-minus").addEventListener("click", () => {
  $("edit-stock").value = Math.max(0, Number($("edit-stock").value) - 1);
});
$("stock-plus").addEventListener("click", () => {
  $("edit-stock").value = Number($("edit-stock").value) + 1;
});
$("edit-cancel").addEventListener("click", () => $("editor").close());

$("editor-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const product = panel.state.products[editing];
  const price = Number($("edit-price").value);
  const saleText = $("edit-sale").value.trim();
  const sale = saleText === "" ? null : Number(saleText);
  const stock = Number($("edit-stock").value);
  if (sale !== null && sale >= price) {
    $("editor-error").textContent = t("panel.sale_below_price");
    return;
  }
  if (price !== product.price || sale !== product.sale_price) {
    const args = { code: editing, price, sale_price: sale, clear_sale_price: sale === null };
    const reply = await command("price", args);
    if (!reply.ok) return;
  }
  if (stock !== product.stock) {
    const reply = await command("stock", { code: editing, stock });
    if (!reply.ok) return;
  }
  $("editor").close();
});

// -- controls --------------------------------------------------------------------

const countdownButtons = [60, 180, 300].map((seconds) =>
  h("button", { type: "button", class: "big", onclick: () => command("countdown", { seconds }) }, t("panel.minutes", { n: seconds / 60 })),
);
countdownButtons.push(h("button", { type: "button", class: "big", onclick: () => command("countdown/stop") }, t("panel.stop")));
$("countdown-buttons").replaceChildren(...countdownButtons);

function renderElements(state) {
  const toggles = Object.entries(state.elements).map(([element, visible]) =>
    h(
      "label",
      { class: "toggle" },
      h("input", {
        type: "checkbox",
        checked: visible,
        dataset: { element },
        onchange: (event) => command("element", { element, visible: event.target.checked }),
      }),
      h("span", {}, t(`element.${element}`)),
    ),
  );
  $("elements").replaceChildren(...toggles);
}

// -- tabs ------------------------------------------------------------------------

for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll("#tabs button")) other.classList.toggle("active", other === button);
    for (const section of document.querySelectorAll(".tab")) {
      section.classList.toggle("hidden", section.id !== `tab-${button.dataset.tab}`);
    }
  });
}

panel.formatVnd = formatVnd;
