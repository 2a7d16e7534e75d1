// The laptop's start page: a QR code for helpers and the overlay URLs for OBS.
import { $, loadI18n, translatePage } from "./common.js";

await loadI18n();
translatePage();
const response = await fetch("/api/join");
if (response.ok) {
  const info = await response.json();
  $("qr").src = "/api/qr/join.svg";
  $("panel-url").textContent = info.panel_url;
  $("open-panel").href = info.panel_url.replace(/^http:\/\/[^/]+/, "");
  $("overlay-portrait").textContent = info.overlay_portrait;
  $("overlay-landscape").textContent = info.overlay_landscape;
  $("join").classList.remove("hidden");
} else {
  $("remote").classList.remove("hidden");
}
