// The laptop's setup page: shop, platforms, bank, OBS, orders. One form, saved with PUT
// /api/setup; each platform has a "test connection" button. Secrets come back only as
// "••••1234": a secret input stays empty and is sent only when the seller types in it.
import { $, api, h, mountLanguage, notify, t, useToken } from "./common.js";

const SECTIONS = [
  { id: "shop", fields: ["shop_name"] },
  { id: "tiktok", fields: ["tiktok_unique_id", "tiktok_sign_api_key"], test: "tiktok" },
  { id: "facebook", fields: ["facebook_page_token"], test: "facebook" },
  {
    id: "shopee",
    fields: [
      "shopee_partner_id",
      "shopee_partner_key",
      "shopee_shop_id",
      "shopee_user_id",
      "shopee_access_token",
      "shopee_refresh_token",
      "shopee_session_id",
    ],
    test: "shopee",
  },
  { id: "bank", fields: ["bank_bin", "bank_account", "bank_account_name"] },
  { id: "obs", fields: ["obs_url", "obs_password"], test: "obs" },
  { id: "studio", fields: ["whisper_model"] },
  { id: "orders", fields: ["order_confidence", "mask_nicknames"] },
];

let fields = {}; // name -> what GET /api/setup said about it
const cleared = new Set(); // secrets the seller asked to clear

// The helper token: from the URL's #fragment, else from /api/join (loopback only, like this page).
async function findToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  const response = await fetch("/api/join");
  if (!response.ok) return "";
  const info = await response.json();
  return new URLSearchParams(new URL(info.panel_url).hash.slice(1)).get("token") || "";
}

// A translation, or "" when the catalogs have none (optional hints).
function maybe(key) {
  const text = t(key);
  return text === key ? "" : text;
}

function input(name) {
  return document.querySelector(`[data-field="${name}"]`);
}

function fieldRow(name) {
  const info = fields[name];
  const id = `f-${name}`;
  const label = h("label", { for: id }, t(`setup.field.${name}`));
  const hint = maybe(`setup.hint.${name}`);
  const notes = [
    hint ? h("span", { class: "hint" }, hint) : null,
    info.locked ? h("span", { class: "locked" }, t("setup.locked", { env: info.env })) : null,
    h("span", { class: "field-error", id: `error-${name}` }),
  ];
  if (info.kind === "bool") {
    const box = h("input", {
      type: "checkbox", id, dataset: { field: name }, checked: info.value, disabled: info.locked,
    });
    return h("div", { class: "field toggle", id: `row-${name}` }, box, label, ...notes);
  }
  if (info.kind === "number") {
    const box = h("input", {
      type: "number", id, min: 0, max: 100, step: 5, inputmode: "numeric",
      dataset: { field: name }, value: Math.round(info.value * 100), disabled: info.locked,
    });
    return h("div", { class: "field", id: `row-${name}` }, label, h("div", { class: "row" }, box, h("span", {}, "%")), ...notes);
  }
  const secret = info.kind === "secret";
  const box = h("input", {
    type: secret ? "password" : "text",
    id,
    autocomplete: secret ? "new-password" : "off",
    spellcheck: "false",
    maxlength: info.max_length,
    dataset: { field: name },
    value: secret ? "" : info.value,
    placeholder: secret ? (info.value ? t("setup.secret_saved", { mask: info.value }) : t("setup.secret_empty")) : "",
    disabled: info.locked,
  });
  const row = [box];
  if (secret && info.value && !info.locked) {
    row.push(h("button", {
      type: "button", class: "clear", dataset: { clear: name },
      onclick: () => {
        cleared.add(name);
        box.value = "";
        box.placeholder = t("setup.secret_cleared");
      },
    }, t("setup.clear")));
  }
  return h("div", { class: "field", id: `row-${name}` }, label, h("div", { class: "row" }, ...row), ...notes);
}

function section(spec) {
  const intro = maybe(`setup.intro.${spec.id}`);
  const card = h("section", { class: "card", id: `card-${spec.id}` },
    h("h2", {}, t(`setup.section.${spec.id}`)),
    intro ? h("p", { class: "intro" }, intro) : null,
    spec.fields.map(fieldRow));
  if (spec.test) {
    const result = h("p", { class: "result", id: `result-${spec.test}`, role: "status", "aria-live": "polite" });
    const button = h("button", {
      type: "button", id: `test-${spec.test}`, onclick: () => runTest(spec, result, button),
    }, t("setup.test"));
    card.append(h("div", { class: "test-row" }, button, result));
  }
  return card;
}

// The value a field's input holds, or undefined when it must not be sent.
function valueOf(name) {
  const info = fields[name];
  const box = input(name);
  if (!box || info.locked) return undefined;
  if (info.kind === "bool") return box.checked;
  if (info.kind === "number") return box.value === "" ? NaN : Number(box.value) / 100;
  if (info.kind === "secret") {
    if (box.value) return box.value;
    return cleared.has(name) ? "" : undefined;
  }
  return box.value;
}

function formValues(names) {
  const values = {};
  for (const name of names) {
    const value = valueOf(name);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

function clearErrors() {
  for (const node of document.querySelectorAll(".field.invalid")) node.classList.remove("invalid");
  for (const node of document.querySelectorAll(".field-error")) node.textContent = "";
}

// Shows a server error beside its field (or as a notice when it names none).
function showError(data) {
  const row = data.field && $(`row-${data.field}`);
  if (!row) {
    notify(t("setup.save_failed", { error: data.error || "?" }));
    return;
  }
  row.classList.add("invalid");
  $(`error-${data.field}`).textContent = data.error;
  row.scrollIntoView({ block: "center" });
  input(data.field)?.focus();
  notify(t("setup.check_field", { field: t(`setup.field.${data.field}`) }));
}

function render(view) {
  fields = view.fields;
  cleared.clear();
  $("sections").replaceChildren(...SECTIONS.map(section));
  $("problem").textContent = view.problem ? t("setup.problem", { problem: view.problem }) : "";
  $("problem").classList.toggle("hidden", !view.problem);
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  $("saved").textContent = "";
  $("save").disabled = true;
  const names = SECTIONS.flatMap((s) => s.fields);
  const reply = await api("PUT", "/api/setup", formValues(names));
  $("save").disabled = false;
  if (!reply.ok) {
    showError(reply.data);
    return;
  }
  render(reply.data);
  $("saved").textContent = t("setup.saved");
}

function describe(result) {
  const text = t(`setup.result.${result.code}`, {
    ...result.vars,
    field: result.vars.field ? t(`setup.field.${result.vars.field}`) : "",
  });
  return result.detail ? `${text}\n${result.detail}` : text;
}

// Tests what the form holds now (saved or not); secrets left empty use the saved ones.
async function runTest(spec, result, button) {
  clearErrors();
  button.disabled = true;
  result.dataset.busy = "true";
  result.dataset.ok = "";
  result.textContent = t("setup.testing");
  const reply = await api("POST", `/api/setup/test/${spec.test}`, formValues(spec.fields));
  button.disabled = false;
  result.dataset.busy = "false";
  if (!reply.ok) {
    result.dataset.ok = "false";
    result.textContent = t("setup.save_failed", { error: reply.data.error || reply.status });
    if (reply.data.field) showError(reply.data);
    return;
  }
  result.dataset.ok = String(reply.data.ok);
  result.textContent = describe(reply.data);
}

await mountLanguage();
useToken(await findToken());
const first = await api("GET", "/api/setup");
if (first.ok) {
  render(first.data);
  $("form").classList.remove("hidden");
  $("form").addEventListener("submit", save);
  document.body.dataset.ready = "true";
} else {
  $("remote").classList.remove("hidden");
  if (first.status !== 403) $("remote").textContent = first.data.error || String(first.status);
}
