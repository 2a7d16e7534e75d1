// The browser source page: OBS / TikTok LIVE Studio shows it over the camera.
import { loadI18n } from "./common.js";
import { OverlayView } from "./overlay-view.js";
import { LiveStore } from "./stores.js";

const params = new URLSearchParams(location.search);
const key = params.get("key") || "";
const root = document.getElementById("overlay");

await loadI18n(params.get("lang") || "vi");
const live = new LiveStore(`/ws/overlay?key=${encodeURIComponent(key)}`);
const view = new OverlayView(root, {
  layout: params.get("layout") || "portrait",
  qrKey: key,
  clock: () => live.serverNow(),
});
live.onStatus((status) => {
  root.dataset.status = status;
});
live.subscribe((state) => view.render(state));
window.chotdonOverlay = { live, view };
