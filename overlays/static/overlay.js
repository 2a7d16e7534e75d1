// The browser source page: OBS / TikTok LIVE Studio shows it over the camera.
import { LiveSocket, loadI18n } from "./common.js";
import { OverlayView } from "./overlay-view.js";

const params = new URLSearchParams(location.search);
const key = params.get("key") || "";
const root = document.getElementById("overlay");

await loadI18n(params.get("lang") || "vi");
const socket = new LiveSocket(`/ws/overlay?key=${encodeURIComponent(key)}`, {
  onStatus: (status) => {
    root.dataset.status = status;
  },
  onState: (state) => view.render(state),
});
const view = new OverlayView(root, {
  layout: params.get("layout") || "portrait",
  qrKey: key,
  clock: () => socket.serverNow(),
});
window.chotdonOverlay = { socket, view };
