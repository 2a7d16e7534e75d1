// The laptop's start page: a QR code for helpers and the overlay URLs for OBS.
import { loadI18n, translatePage } from "./common.js";

await loadI18n();
translatePage();
const response = await fetch("/api/join");
if (response.ok) {
  const info = await response.json();
  document.getElementById("qr").src = "/api/qr/join.svg";
  document.getElementById("panel-url").textContent = info.panel_url;
  document.getElementById("open-panel").href = info.panel_url.replace(/^http:\/\/[^/]+/, "");
  document.getElementById("overlay-portrait").textContent = info.overlay_portrait;
  document.getElementById("overlay-landscape").textContent = info.overlay_landscape;
  document.getElementById("join").classList.remove("hidden");
} else {
  document.getElementById("remote").classList.remove("hidden");
}
