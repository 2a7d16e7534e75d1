// The clip studio: review, trim, fix captions and re-render a live's clips.
// Everything lives on the server (/api/sessions/{id}/clips, /api/clips/{id}): this page
// only draws it and sends the helper's edits, so closing the tab loses nothing and
// renders go on without it. The token comes like the panel's: #token=… once, then localStorage.
import { $, api, h, mountLanguage, notify, t, takeToken, useToken } from "./common.js";

const POLL_MS = 1000;
const state = { session: null, clips: [], selected: null, words: [], word: null, jobs: [], poll: null };

const seconds = (value) => `${value.toFixed(1)} s`;
const clipById = (id) => state.clips.find((c) => c.id === id);

function fail(error) {
  notify(t("studio.failed", { error }));
}

function reasonText(parts) {
  const bits = [];
  if (parts.code) bits.push(t("studio.reason.on_screen", { code: parts.code }));
  if (parts.orders) bits.push(t("studio.reason.orders", { n: parts.orders, minutes: parts.minutes }));
  if (parts.price_said) bits.push(t("studio.reason.price"));
  return bits.join(", ") || t("studio.reason.talk");
}

function statusLabel(clip) {
  if (clip.status === "rendering") return t("studio.status.rendering", { percent: Math.round((clip.progress || 0) * 100) });
  if (clip.status === "failed") return t("studio.status.failed", { error: clip.error || "" });
  return t(`studio.status.${clip.status}`);
}

// -- sessions --------------------------------------------------------------------------

async function loadSessions() {
  const reply = await api("GET", "/api/studio/sessions");
  if (!reply.ok) return fail(reply.data.error || reply.status);
  const sessions = reply.data.sessions.filter((s) => s.recording || s.clips);
  const select = $("session");
  select.replaceChildren(
    ...sessions.map((s) =>
      h("option", { value: s.id }, t("studio.session", { id: s.id, title: s.title || "", clips: s.clips })),
    ),
  );
  const wanted = Number(new URLSearchParams(location.search).get("session"));
  const chosen = sessions.find((s) => s.id === wanted) || sessions[0];
  if (!chosen) {
    $("make").classList.remove("hidden");
    $("make-hint").textContent = t("studio.no_sessions");
    return;
  }
  select.value = String(chosen.id);
  await openSession(chosen.id);
}

async function openSession(id) {
  state.session = id;
  $("download").href = `/api/sessions/${id}/clips.zip?${new URLSearchParams({ token })}`;
  state.selected = null;
  $("editor").classList.add("hidden");
  await refresh();
}

async function refresh() {
  const reply = await api("GET", `/api/sessions/${state.session}/clips`);
  if (!reply.ok) return fail(reply.data.error || reply.status);
  state.clips = reply.data.clips;
  state.jobs = reply.data.jobs;
  state.workers = reply.data.render_workers; // null: this server renders itself
  const glossary = reply.data.glossary || [];
  $("glossary").classList.toggle("hidden", !glossary.length);
  $("glossary").textContent = t("studio.glossary", { words: glossary.join(", ") });
  $("make").classList.toggle("hidden", state.clips.length > 0 || state.jobs.length > 0);
  drawJobs();
  const last = reply.data.last_job;
  if (last && last.status === "failed" && state.failedShown !== last.id) {
    state.failedShown = last.id; // said once, and kept on screen until the next job
    $("make-hint").textContent = t("studio.job_failed", { error: last.error });
    notify(t("studio.job_failed", { error: last.error }));
  }
  drawList();
  if (state.selected && clipById(state.selected)) drawEditorState(clipById(state.selected));
  else if (!state.selected && state.clips.length) await select(state.clips[0].id);
  const busy = state.jobs.length > 0 || state.clips.some((c) => c.status === "rendering");
  clearTimeout(state.poll);
  if (busy) state.poll = setTimeout(refresh, POLL_MS);
  document.body.dataset.ready = "1";
}

function drawJobs() {
  const job = state.jobs[0];
  $("job").classList.toggle("hidden", !job);
  if (!job) return;
  let label = t(`studio.job.${job.kind}`, { percent: Math.round(job.progress * 100) });
  // On PostgreSQL render workers run the jobs: say so while one waits for them.
  if (job.status === "queued" && state.workers === 0) label = t("studio.job.no_worker");
  else if (job.status === "queued" && state.workers != null) label = t("studio.job.waiting");
  $("job-label").textContent = label;
  $("job-progress").value = job.progress;
}

async function makeClips() {
  const body = {};
  const recording = $("recording").value.trim();
  const start = $("recording-start").value.trim();
  const transcript = $("transcript").value.trim();
  if (recording) body.recording = recording;
  if (start) body.recording_start = start;
  if (transcript) body.transcript = transcript;
  const reply = await api("POST", `/api/sessions/${state.session}/clips`, body);
  if (!reply.ok) return fail(reply.data.error || reply.status);
  await refresh();
}

// -- the list ----------------------------------------------------------------------------

function drawList() {
  $("clips").replaceChildren(
    ...state.clips.map((clip, index) =>
      h(
        "li",
        {
          class: `clip status-${clip.status}${clip.id === state.selected ? " selected" : ""}`,
          dataset: { id: clip.id, status: clip.status },
          onclick: () => select(clip.id),
        },
        clip.thumbnail ? h("img", { src: clip.thumbnail, alt: "", class: "thumb" }) : h("div", { class: "thumb" }),
        h(
          "div",
          { class: "about" },
          h("div", { class: "title" }, `${index + 1}. ${clip.title || clip.file}`),
          h("div", { class: "reason" }, reasonText(clip.reason_parts)),
          h("div", { class: "meta" }, `${seconds(clip.end - clip.start)} · ${t("studio.score", { score: Math.round(clip.score * 100) })}`),
          h("div", { class: "status" }, statusLabel(clip)),
          clip.status === "rendering" ? h("progress", { max: 1, value: clip.progress || 0 }) : null,
        ),
      ),
    ),
  );
}

// -- the editor --------------------------------------------------------------------------

async function select(id) {
  state.selected = id;
  state.word = null;
  const clip = clipById(id);
  $("editor").classList.remove("hidden");
  drawList();
  drawEditor(clip);
  const reply = await api("GET", `/api/clips/${id}/words`);
  state.words = reply.ok ? reply.data.words : [];
  drawWords(clip);
}

function drawEditor(clip) {
  $("start").value = clip.start.toFixed(2);
  $("end").value = clip.end.toFixed(2);
  $("card").checked = clip.card;
  $("style").value = clip.style;
  $("framing").value = clip.framing.mode;
  $("framing-x").value = clip.framing.x;
  $("framing-x").disabled = clip.framing.mode !== "fixed";
  drawCues(clip);
  drawEditorState(clip);
}

// What changes under the helper's hands without touching their unsaved input.
function drawEditorState(clip) {
  const player = $("player");
  if (clip.video && player.dataset.src !== clip.video) {
    player.dataset.src = clip.video;
    player.src = clip.video;
  }
  $("length").textContent = t("studio.length", { length: seconds(clip.end - clip.start) });
  $("stale").classList.toggle("hidden", !clip.stale);
  $("render").disabled = clip.status === "rendering";
  for (const key of ["approve", "reject", "later"]) {
    $(key).classList.toggle("chosen", clip.decision === { approve: "approved", reject: "rejected", later: "later" }[key]);
  }
}

function drawCues(clip) {
  $("cues").replaceChildren(
    ...clip.captions.map((cue, index) =>
      h(
        "li",
        { class: cue.edited ? "cue edited" : "cue", dataset: { index } },
        h("span", { class: "at" }, `${seconds(cue.start - clip.start)}`),
        h("textarea", { rows: 2, dataset: { start: cue.start, end: cue.end } }, cue.text),
      ),
    ),
  );
}

function drawWords(clip) {
  $("words").replaceChildren(
    ...state.words.map((word, index) =>
      h(
        "button",
        {
          type: "button",
          class: `word${word.end > clip.start && word.start < clip.end ? " inside" : ""}${index === state.word ? " picked" : ""}`,
          dataset: { index, start: word.start, end: word.end },
          onclick: () => pickWord(index),
        },
        word.word,
      ),
    ),
  );
  $("start-here").disabled = $("end-here").disabled = state.word === null;
}

function pickWord(index) {
  state.word = index;
  drawWords(clipById(state.selected));
}

function wordBound(which) {
  const word = state.words[state.word];
  if (!word) return;
  $(which).value = (which === "start" ? word.start : word.end).toFixed(2);
  $("length").textContent = t("studio.length", { length: seconds(Number($("end").value) - Number($("start").value)) });
}

function edits() {
  const cues = [...$("cues").querySelectorAll("textarea")].map((area) => ({
    start: Number(area.dataset.start),
    end: Number(area.dataset.end),
    text: area.value,
  }));
  return {
    start: Number($("start").value),
    end: Number($("end").value),
    captions: cues,
    card: $("card").checked,
    style: $("style").value,
    framing: { mode: $("framing").value, x: Number($("framing-x").value) },
  };
}

async function patch(body) {
  const reply = await api("PATCH", `/api/clips/${state.selected}`, body);
  if (!reply.ok) {
    fail(reply.data.error || reply.status);
    return null;
  }
  const index = state.clips.findIndex((c) => c.id === reply.data.id);
  state.clips[index] = reply.data;
  drawList();
  return reply.data;
}

async function save() {
  const clip = await patch(edits());
  if (!clip) return null;
  drawEditor(clip); // trims snap to word edges: show where they landed
  drawWords(clip);
  notify(t("studio.saved"));
  return clip;
}

async function rerender() {
  if (!(await save())) return;
  const reply = await api("POST", `/api/clips/${state.selected}/render`);
  if (!reply.ok) return fail(reply.data.error || reply.status);
  await refresh();
}

async function decide(status) {
  if (!state.selected) return;
  const clip = await patch({ status });
  if (!clip) return;
  drawEditorState(clip);
  const next = state.clips.findIndex((c) => c.id === clip.id) + 1;
  if (next < state.clips.length) await select(state.clips[next].id);
}

// A plain link (the zip may be large): nothing approved yet is said here, not as a JSON page.
function checkApproved(event) {
  if (!state.clips.some((c) => c.decision === "approved")) {
    event.preventDefault();
    notify(t("studio.none_approved"));
  }
}

function onKey(event) {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const action = { a: "approved", r: "rejected", l: "later" }[event.key.toLowerCase()];
  if (action) {
    event.preventDefault();
    decide(action);
  }
}

const token = takeToken();
useToken(token);
await mountLanguage();
$("session").addEventListener("change", (event) => openSession(Number(event.target.value)));
$("make-clips").addEventListener("click", makeClips);
$("download").addEventListener("click", checkApproved);
$("start-here").addEventListener("click", () => wordBound("start"));
$("end-here").addEventListener("click", () => wordBound("end"));
$("framing").addEventListener("change", () => ($("framing-x").disabled = $("framing").value !== "fixed"));
$("save").addEventListener("click", save);
$("render").addEventListener("click", rerender);
$("approve").addEventListener("click", () => decide("approved"));
$("reject").addEventListener("click", () => decide("rejected"));
$("later").addEventListener("click", () => decide("later"));
document.addEventListener("keydown", onKey);
await loadSessions();
