// Draws the on-stream overlay from the live state. Used by the overlay page and by
// the panel's preview, so what helpers see is what the audience sees.
import { formatPrice, formatQty, formatVnd, h, struckPrice, t } from "./common.js";

const SIZES = { portrait: [1080, 1920], landscape: [1920, 1080] };

export class OverlayView {
  constructor(root, { layout = "portrait", qrKey = "", clock = () => Date.now() } = {}) {
    this.layout = SIZES[layout] ? layout : "portrait";
    this.qrKey = qrKey;
    this.clock = clock;
    this.stage = h("div", { class: `stage layout-${this.layout}` });
    this.card = h("section", { class: "card hidden", "aria-live": "polite" });
    this.countdown = h("section", { class: "countdown hidden" });
    this.ticker = h("section", { class: "ticker hidden" });
    this.comment = h("section", { class: "shown-comment hidden" });
    this.qr = h("section", { class: "qr hidden" });
    this.stage.append(this.card, this.countdown, this.ticker, this.comment, this.qr);
    this.sales = h("section", { class: "sales hidden" });
    this.stage.append(this.sales);
    root.append(this.stage);
    this.cardKey = "";
    this.timer = setInterval(() => this.tick(), 250);
    this.fit();
    addEventListener("resize", () => this.fit());
  }

  fit() {
    const [width, height] = SIZES[this.layout];
    const parent = this.stage.parentElement;
    const scale = Math.min(parent.clientWidth / width, parent.clientHeight / height) || 1;
    this.stage.style.width = `${width}px`;
    this.stage.style.height = `${height}px`;
    this.stage.style.transform = `scale(${scale})`;
  }

  render(state) {
    this.state = state;
    const shown = state.elements || {};
    this.renderCard(state, shown.card);
    this.renderTicker(state, shown.ticker);
    this.renderComment(state, shown.comment);
    this.renderQr(state, shown.qr);
    this.renderSales(state, shown.sales);
    this.tick();
  }

  // "Đã bán 128 kg": how much of the pinned product has sold, the same count as the card's.
  renderSales(state, visible) {
    const product = state.pinned ? state.products[state.pinned] : null;
    const sold = product && state.sold ? state.sold[product.code] || 0 : 0;
    this.sales.classList.toggle("hidden", !visible || !product || !sold);
    if (!product || !sold) return;
    const text = t("overlay.sold_total", { qty: formatQty(sold), unit: product.unit }).trim();
    if (this.sales.textContent === text) return;
    this.sales.textContent = text;
    this.sales.classList.remove("bump");
    void this.sales.offsetWidth; // restart the CSS animation
    this.sales.classList.add("bump");
  }

  renderCard(state, visible) {
    const product = state.pinned ? state.products[state.pinned] : null;
    this.card.classList.toggle("hidden", !visible || !product);
    if (!product) return;
    const key = JSON.stringify(product);
    if (key === this.cardKey) return;
    const changedProduct = !this.cardKey.includes(`"code":"${product.code}"`);
    this.cardKey = key;
    const regular = struckPrice(product);
    const stars = product.ocop_stars
      ? h("div", { class: "stars" }, "★".repeat(product.ocop_stars), h("span", { class: "ocop" }, "OCOP"))
      : null;
    const stock =
      product.stock > 0
        ? h("span", { class: "stock" }, t("overlay.stock_left", { n: product.stock }))
        : h("span", { class: "stock out" }, t("overlay.sold_out"));
    const sold = state.sold && state.sold[product.code];
    this.card.replaceChildren(
      h("img", { class: "card-image", src: product.image_url || "/placeholder.png", alt: "" }),
      h(
        "div",
        { class: "card-body" },
        h("div", { class: "card-code" }, product.code),
        h("h1", { class: "card-name" }, product.name),
        h(
          "div",
          { class: "card-prices" },
          h("span", { class: "price" }, formatPrice(product.price_now, product.unit)),
          regular === null ? null : h("s", { class: "old-price" }, formatVnd(regular)),
        ),
        variantList(product.variants),
        h(
          "div",
          { class: "card-meta" },
          stars,
          stock,
          sold ? h("span", { class: "sold" }, t("overlay.sold", { n: formatQty(sold) })) : null,
        ),
      ),
    );
    this.card.classList.remove("enter", "bump");
    void this.card.offsetWidth; // restart the CSS animation
    this.card.classList.add(changedProduct ? "enter" : "bump");
  }

  renderTicker(state, visible) {
    const latest = (state.ticker || [])[0];
    this.ticker.classList.toggle("hidden", !visible || !latest);
    if (!latest) return;
    this.ticker.replaceChildren(
      h("img", { class: "ticker-icon", src: "/static/cart.svg", alt: "" }),
      h("span", { class: "ticker-text" }, t("overlay.ticker", {
        name: latest.nickname,
        qty: formatQty(latest.qty),
        unit: latest.unit,
        product: latest.product,
      })),
    );
  }

  renderComment(state, visible) {
    const comment = state.shown_comment;
    this.comment.classList.toggle("hidden", !visible || !comment);
    if (!comment) return;
    this.comment.replaceChildren(
      h("div", { class: "comment-name" }, comment.nickname),
      h("div", { class: "comment-text" }, comment.text),
    );
  }

  renderQr(state, visible) {
    const product = state.pinned ? state.products[state.pinned] : null;
    const show = visible && product && state.payment_qr && this.qrKey;
    this.qr.classList.toggle("hidden", !show);
    if (!show) return;
    const price = product.price_now; // the server builds the QR for this amount
    const src = `/api/qr/payment.svg?code=${encodeURIComponent(product.code)}&key=${encodeURIComponent(this.qrKey)}&p=${price}`;
    const img = this.qr.querySelector("img");
    if (img && img.getAttribute("src") === src) return;
    this.qr.replaceChildren(
      h("img", { src, alt: "" }),
      h("div", { class: "qr-label" }, t("overlay.scan_to_pay", { amount: formatVnd(price) })),
    );
  }

  tick() {
    const countdown = this.state && this.state.countdown;
    const visible = this.state && (this.state.elements || {}).countdown;
    const left = countdown ? Math.ceil((Date.parse(countdown.ends_at) - this.clock()) / 1000) : 0;
    const show = Boolean(visible && countdown && left > 0);
    this.countdown.classList.toggle("hidden", !show);
    if (!show) return;
    const minutes = String(Math.floor(left / 60)).padStart(2, "0");
    const seconds = String(left % 60).padStart(2, "0");
    const label = countdown.label || t("overlay.flash_sale");
    const text = `${minutes}:${seconds}`;
    if (this.countdown.dataset.text === text + label) return;
    this.countdown.dataset.text = text + label;
    this.countdown.replaceChildren(
      h("div", { class: "countdown-label" }, label),
      h("div", { class: "countdown-time" }, text),
    );
    this.countdown.classList.toggle("urgent", left <= 10);
  }
}

// A product's variants on the card: "Túi xanh 200.000 ₫", each with its own price
// (the server's price_now) and greyed out once sold out.
function variantList(variants) {
  if (!variants || !variants.length) return null;
  return h(
    "ul",
    { class: "card-variants" },
    ...variants.map((v) =>
      h(
        "li",
        { class: `variant${v.stock > 0 ? "" : " out"}`, dataset: { key: v.key } },
        h("span", { class: "variant-name" }, v.name),
        h("span", { class: "variant-price" }, formatVnd(v.price_now)),
        v.stock > 0 ? null : h("span", { class: "variant-out" }, t("overlay.sold_out")),
      ),
    ),
  );
}
