// The OBS box of the panel's Controls tab: connected or not, recording and for how
// long, the last file, and Start/Stop buttons for a helper. The state comes from
// GET /api/obs on every (re)connect and from {"type": "obs"} pushes on the panel
// socket; the duration ticks here between pushes. Text goes through h(), never innerHTML.
import { $, act, api, h, t } from "./common.js";

let state = null;
let receivedAt = 0;

// A button's reply can be older than a push that reached the page first: keep the
// newer state. A fresh load (first view, or after a reconnect, when the server may
// have restarted and counts from 0 again) is taken as it is.
function show(next, fresh = false) {
  if (!fresh && state && (next.version ?? 0) < (state.version ?? 0)) return;
  state = next;
  receivedAt = Date.now();
  render();
}

async function load() {
  const reply = await api("GET", "/api/obs");
  if (reply.ok) show(reply.data, true);
}

async function press(action) {
  if (action === "stop" && !confirm(t("obs.confirm_stop"))) return;
  const reply = await act("POST", "/api/obs/record", { action });
  if (reply.ok) show(reply.data);
}

export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  return `${Math.floor(total / 3600)}:${two(Math.floor(total / 60) % 60)}:${two(total % 60)}`;
}

function duration() {
  return (state.duration || 0) + (Date.now() - receivedAt) / 1000;
}

function render() {
  const box = $("obs");
  if (!box || !state) return;
  if (!state.enabled) {
    box.replaceChildren(h("p", { class: "why" }, t("obs.off")));
    return;
  }
  const recording = state.connected && state.recording;
  box.replaceChildren(
    h(
      "article",
      { class: `item obs ${state.connected ? "status-live" : "status-backoff"}`, dataset: { recording: recording ? "yes" : "no" } },
      h("div", { class: "who" }, state.connected ? t("obs.connected") : t("obs.disconnected")),
      h("div", { class: "obs-record", id: "obs-record" }, recording ? t("obs.recording", { duration: clock(duration()) }) : t("obs.not_recording")),
      state.path ? h("div", { class: "why" }, t("obs.last_file", { path: state.path })) : null,
      state.error ? h("div", { class: "why error" }, t("obs.error", { error: state.error })) : null,
      h(
        "div",
        { class: "actions" },
        // One button, the one that makes sense now (a disabled twin reads as a choice).
        recording
          ? h("button", { type: "button", id: "obs-stop", onclick: () => press("stop") }, t("obs.stop"))
          : h("button", { type: "button", id: "obs-start", class: "primary", disabled: !state.connected, onclick: () => press("start") }, t("obs.start")),
      ),
    ),
  );
}

function tick() {
  const line = $("obs-record");
  if (line && state && state.connected && state.recording) {
    line.textContent = t("obs.recording", { duration: clock(duration()) });
  }
}

// panel.js builds the live store after its top-level await: wait for it (20 s at
// most: a page that never gets one, say without a token, stops looking).
async function livePanel() {
  for (let tries = 0; tries < 400 && !window.chotdonPanel; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return window.chotdonPanel ? window.chotdonPanel.live : null;
}

const live = await livePanel();
if (live) {
  live.on("snapshot", load);
  live.on("obs", (message) => show(message.state));
  window.chotdonPanel.obs = { get state() { return state; }, load };
  await load();
  setInterval(tick, 1000);
}
