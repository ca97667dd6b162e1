// The control page: everything goes through the daemon's command verbs (POST /api/ask), the same ones
// hotkeys and `bgfx ctl` use; the preview and the status come over one WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
const samples = [];  // [fps_out, cores] per status, the last 5 minutes
let settings = null;
let previewUrl = null;

function say(text, ok = true) {
  $("message").textContent = text;
  $("message").className = ok ? "" : "error";
}

async function ask(command) {
  const response = await fetch("/api/ask", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({command}),
  });
  const answer = await response.json();
  say(answer.message || "", answer.ok);
  if (command !== "status") await loadSettings();
  return answer;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function control(prefix, name, spec) {
  // One parameter: a slider for ranges, a colour picker, a choice list or a checkbox; applied on release.
  const key = `${prefix}.${name}`;
  const id = key.replaceAll(".", "-");
  const apply = (value) => ask(`set ${key}=${value}`);
  let input;
  let shown = element("span", {}, spec.value === null ? "" : String(spec.value));
  if (spec.kind === "int" || spec.kind === "float") {
    const [low, high] = spec.range;
    const step = spec.kind === "int" ? 1 : (high - low) / 100;
    input = element("input", {type: "range", id, min: low, max: high, step, value: spec.value});
    input.addEventListener("input", () => { shown.textContent = input.value; });
    input.addEventListener("change", () => apply(input.value));
  } else if (spec.kind === "colour") {
    input = element("input", {type: "color", id, value: (spec.value || "#000000").toLowerCase()});
    input.addEventListener("change", () => apply(input.value.toUpperCase()));
  } else if (spec.kind === "choice") {
    input = element("select", {id}, ...spec.choices.map((choice) => element("option", {value: choice}, choice)));
    input.value = spec.value;
    input.addEventListener("change", () => apply(input.value));
  } else if (spec.kind === "bool") {
    input = element("input", {type: "checkbox", id});
    input.checked = spec.value;
    input.addEventListener("change", () => apply(input.checked ? "true" : "false"));
  } else {
    input = element("span", {id}, spec.value === null ? "–" : String(spec.value).split("/").pop());
    shown = element("span");
  }
  return element("label", {class: "param"}, name.replaceAll("_", " "), input, shown);
}

function renderEffects() {
  const list = $("effects");
  list.replaceChildren();
  const names = settings.effects.map((effect) => effect.name);
  settings.effects.forEach((effect, index) => {
    const move = (by) => {
      const order = [...names];
      order.splice(index, 1);
      order.splice(index + by, 0, effect.name);
      ask(`order ${order.join(",")}`);
    };
    const toggle = element("input", {type: "checkbox", id: `toggle-${effect.name}`});
    toggle.checked = effect.enabled;
    toggle.addEventListener("change", () => ask(`toggle ${effect.name}`));
    const head = element("div", {class: "row"},
      element("label", {}, toggle, ` ${effect.name} (${effect.type})`),
      element("button", {onclick: () => move(-1), disabled: index === 0 ? "" : null, "aria-label": `move ${effect.name} up`}, "↑"),
      element("button", {onclick: () => move(1), disabled: index === names.length - 1 ? "" : null, "aria-label": `move ${effect.name} down`}, "↓"));
    const params = Object.entries(effect.params).map(([name, spec]) => control(`effects.${effect.name}`, name, spec));
    list.append(element("li", {"data-effect": effect.name}, head, ...params));
  });
}

function renderSelect(id, options, chosen, verb) {
  const select = $(id);
  select.replaceChildren(...options.map((option) => element("option", {value: option.value}, option.label)));
  select.value = chosen;
  select.onchange = () => ask(`${verb} ${select.value}`);
}

function renderCameraControls(controls) {
  // Read-only: the camera's controls as it has them now; capture.controls in the config file sets them.
  $("camera-note").textContent = controls.note || (controls.device ? `${controls.device}: set in capture.controls` : "");
  $("camera-controls").replaceChildren(...controls.camera.map((c) => element("li", {"data-control": c.name},
    `${c.name} = ${c.value === null ? "?" : c.value}`,
    element("span", {class: "choices"}, ` (${c.choices}; default ${c.default})`),
    c.wanted === null ? "" : element("strong", {}, ` capture.controls: ${c.wanted}`),
    c.inactive ? " · set by an automatic mode" : "")));
}

async function loadSettings() {
  const response = await fetch("/api/settings");
  const answer = await response.json();
  if (!answer.ok) { say(answer.message, false); return; }
  settings = answer.settings;
  renderEffects();
  $("refine").replaceChildren(...Object.entries(settings.refine).map(([name, spec]) => control("refine", name, spec)));
  $("framing").replaceChildren(...Object.entries(settings.framing).map(([name, spec]) => control("framing", name, spec)));
  $("framing-now").textContent = `now: ${settings.framing_now}`;
  renderSelect("preset", settings.presets.map((name) => ({value: name, label: name})), settings.preset, "preset");
  renderCameraControls(settings.controls);
  $("pause").textContent = settings.paused ? "Resume" : "Pause";
  $("unsaved").textContent = settings.unsaved ? "unsaved changes" : "";
}

async function loadModels() {
  const answer = await (await fetch("/api/models")).json();
  const options = answer.models.map((model) => ({
    value: model.name, label: `${model.name} (${model.input}${model.present ? "" : ", missing: bgfx models pull"})`,
  }));
  renderSelect("model", options, settings ? settings.model : "", "model");
}

async function loadGallery() {
  const answer = await (await fetch("/api/backgrounds")).json();
  const replace = settings && settings.effects.find((effect) => effect.type === "replace");
  $("gallery").replaceChildren(...answer.backgrounds.map((background) => element("li", {"data-background": background.name},
    element("img", {src: `/api/backgrounds/${background.name}`, alt: background.name}),
    element("button", {
      onclick: () => ask(`set effects.${replace.name}.${background.kind}=${background.path}`),
      disabled: replace ? null : "", title: replace ? "" : "add a replace effect to the chain first",
    }, "Use"),
    element("button", {onclick: async () => {
      const response = await fetch(`/api/backgrounds/${background.name}`, {method: "DELETE"});
      say((await response.json()).message || "deleted", response.ok);
      loadGallery();
    }}, "Delete"))));
}

function drawChart() {
  const canvas = $("chart");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const span = Math.max(60, samples.length);  // a minute at first, then up to five
  const plot = (index, scale, colour) => {
    context.strokeStyle = colour;
    context.lineWidth = 2;
    context.beginPath();
    samples.forEach((sample, x) => {
      const y = canvas.height - Math.min(1, sample[index] / scale) * (canvas.height - 16) - 2;
      x === 0 ? context.moveTo(x * canvas.width / span, y) : context.lineTo(x * canvas.width / span, y);
    });
    context.stroke();
  };
  plot(0, 60, "#3a7");  // fps out, of 60
  plot(1, 2, "#c60");   // cores, of 2
  context.font = "12px system-ui";
  context.fillStyle = "#3a7";
  context.fillText("fps out (of 60)", 4, 12);
  context.fillStyle = "#c60";
  context.fillText("CPU cores (of 2)", 120, 12);
}

function showStatus(answer) {
  const status = answer.data || {};
  $("state").textContent = status.state || "?";
  $("fps").textContent = `${status.fps_in ?? "–"}/${status.fps_out ?? "–"}`;
  $("latency").textContent = `${status.e2e_ms_median ?? "–"}/${status.e2e_ms_p95 ?? "–"}`;
  $("cores").textContent = status.cpu_cores ?? "–";
  $("dropped").textContent = status.dropped ?? "–";
  samples.push([status.fps_out || 0, status.cpu_cores || 0]);
  if (samples.length > 300) samples.shift();
  drawChart();
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  socket.binaryType = "blob";
  socket.onmessage = (event) => {
    if (typeof event.data === "string") { showStatus(JSON.parse(event.data)); return; }
    const url = URL.createObjectURL(event.data);
    $("preview").src = url;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = url;
  };
  socket.onclose = () => { $("state").textContent = "disconnected"; setTimeout(connect, 2000); };
  document.querySelectorAll("input[name=view]").forEach((radio) => {
    radio.onchange = () => socket.readyState === WebSocket.OPEN && socket.send(radio.value);
  });
}

$("pause").addEventListener("click", () => ask(settings && settings.paused ? "resume" : "pause"));
$("save").addEventListener("click", () => ask("save"));
$("reframe").addEventListener("click", () => ask("reframe"));
$("toggle-framing").addEventListener("click", () => ask("toggle-framing"));
$("revert").addEventListener("click", () => ask("revert"));
$("upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  const answer = await (await fetch("/api/backgrounds", {method: "POST", body})).json();
  say(answer.ok ? `uploaded as ${answer.name}` : answer.message, answer.ok);
  loadGallery();
});

(async () => {
  await loadSettings();
  await Promise.all([loadModels(), loadGallery()]);
  connect();
})();
