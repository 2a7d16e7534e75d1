// Shared by the overlay, the panel and the laptop page.
// All user-provided text goes through textContent (see h()), never innerHTML.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

// -- REST and notices ----------------------------------------------------------

let authToken = "";

// The helper token every REST call carries (the panel reads it from its URL once).
export function useToken(token) {
  authToken = token;
}

// The token comes once in the URL's #fragment (from the QR code), then lives in
// localStorage so a reload or a bookmark keeps the helper signed in.
export function takeToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem("chotdon.token", fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return fromHash || localStorage.getItem("chotdon.token") || "";
}

export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${authToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

let noticeTimer = null;

// Shows a short message in the page's #notice box (pages without one ignore it).
export function notify(text) {
  const notice = $("notice");
  if (!notice) return;
  notice.textContent = text;
  notice.classList.remove("hidden");
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => notice.classList.add("hidden"), 4000);
}

// A helper's action over REST: the reply, with a notice when it failed.
export async function act(method, path, body) {
  const reply = await api(method, path, body);
  if (!reply.ok) notify(t("panel.command_failed", { error: reply.data.error || reply.status }));
  return reply;
}

// -- money -----------------------------------------------------------------------

export function formatVnd(amount) {
  const sign = amount < 0 ? "-" : "";
  const digits = String(Math.abs(Math.trunc(amount)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
}

export function formatPrice(amount, unit) {
  return unit ? `${formatVnd(amount)}/${unit}` : formatVnd(amount);
}

// The server decides what a buyer pays now (product.price_now); pages only show it,
// with the regular price struck through beside it when that is higher.
export function struckPrice(product) {
  return product.price_now < product.price ? product.price : null;
}

export function formatQty(qty) {
  return Number.isInteger(qty) ? String(qty) : String(qty).replace(".", ",");
}

// -- translations --------------------------------------------------------------

const LANGS = ["vi", "en", "id"];
let catalog = {};
let fallback = {};

export function currentLang() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  const stored = localStorage.getItem("chotdon.lang");
  const lang = fromUrl || stored || "vi";
  return LANGS.includes(lang) ? lang : "vi";
}

export async function loadI18n(lang = currentLang()) {
  const get = async (code) => (await fetch(`/static/i18n/${code}.json`)).json();
  fallback = await get("vi");
  catalog = lang === "vi" ? fallback : await get(lang);
  document.documentElement.lang = lang;
  return lang;
}

// Load the catalog, translate the page, and let the #lang picker switch and reload.
export async function mountLanguage() {
  const lang = await loadI18n(currentLang());
  translatePage();
  $("lang").value = lang;
  $("lang").addEventListener("change", (event) => {
    setLang(event.target.value);
    location.reload();
  });
  return lang;
}

export function setLang(lang) {
  localStorage.setItem("chotdon.lang", lang);
}

export function t(key, vars = {}) {
  const template = catalog[key] ?? fallback[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// Fill every [data-i18n] element of a static page.
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

// -- the live socket -----------------------------------------------------------

// Holds a snapshot plus numbered updates. Applies an update only when its rev is
// the next one; on a gap it asks the server for a fresh snapshot. Reconnects with
// backoff, and treats missing heartbeats as a dead connection.
export class LiveSocket {
  constructor(path, { onState, onStatus, onMessage } = {}) {
    this.path = path;
    this.onState = onState || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onMessage = onMessage || (() => {});
    this.state = null;
    this.rev = -1;
    this.clockOffset = 0; // server time minus local time, in ms
    this.backoff = 500;
    this.pending = new Map();
    this.nextId = 1;
    this.awaitingSnapshot = false;
    this.closed = false;
    this.heartbeatMs = 15000;
    this.connect();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${this.path}`;
  }

  connect() {
    this.onStatus(this.state ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => {
      clearTimeout(this.watchdog);
      if (this.closed) return;
      if (event.code === 4401 || event.code === 4403) {
        this.onStatus("unauthorized");
        return;
      }
      this.onStatus("offline");
      const wait = Math.min(this.backoff, 8000) * (0.75 + Math.random() * 0.5);
      this.backoff = Math.min(this.backoff * 2, 8000);
      setTimeout(() => this.connect(), wait);
    };
  }

  armWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws.close(), this.heartbeatMs * 2.5);
  }

  receive(text) {
    this.armWatchdog();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.t) this.clockOffset = Date.parse(message.t) - Date.now();
    if (message.type === "snapshot") {
      this.state = message.state;
      this.rev = message.rev;
      this.awaitingSnapshot = false;
      if (message.state.heartbeat) this.heartbeatMs = message.state.heartbeat * 1000;
      this.onStatus("live");
      this.onState(this.state, { snapshot: true });
    } else if (message.type === "update") {
      this.applyUpdate(message);
    } else if (message.type === "ping") {
      if (typeof message.rev === "number" && message.rev > this.rev) this.resync();
    } else if (message.type === "ack") {
      const waiter = this.pending.get(message.id);
      if (waiter) {
        this.pending.delete(message.id);
        waiter(message);
      }
    }
    this.onMessage(message);
  }

  applyUpdate(message) {
    if (this.state === null || message.rev <= this.rev) return;
    if (message.rev !== this.rev + 1) {
      this.resync();
      return;
    }
    Object.assign(this.state, message.set || {});
    for (const [code, product] of Object.entries(message.products || {})) {
      if (product === null) delete this.state.products[code];
      else this.state.products[code] = product;
    }
    this.rev = message.rev;
    this.onState(this.state, { update: message });
  }

  resync() {
    if (this.awaitingSnapshot || this.ws.readyState !== WebSocket.OPEN) return;
    this.awaitingSnapshot = true;
    this.ws.send(JSON.stringify({ type: "resync" }));
  }

  serverNow() {
    return Date.now() + this.clockOffset;
  }

  command(op, args = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ ok: false, error: "offline" });
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: "timeout" });
      }, 8000);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.ws.send(JSON.stringify({ type: "command", id, op, args }));
    });
  }
}
