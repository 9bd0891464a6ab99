// optimlab playground: the page asks the server (optimlab itself) for every number it draws.
"use strict";

const $ = (id) => document.getElementById(id);
const client = Math.random().toString(36).slice(2);
const PG = { meta: null, state: null, land: null, paths: null, map: null, frame: null, busy: 0, seq: {},
             shown: {}, timings: [], errors: {} };
window.playground = PG;
PG.idle = () => PG.busy === 0 && PG.meta !== null;

// ------------------------------------------------------------------ requests
async function post(url, body, kind) {
  const seq = (PG.seq[kind] = (PG.seq[kind] || 0) + 1);
  PG.busy++;
  try {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify({ ...body, client, seq }) });
    const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.blob();
    const stale = seq < (PG.shown[kind] || 0) || seq !== PG.seq[kind];
    if (!stale) PG.shown[kind] = seq;
    return { ok: r.ok, status: r.status, data, stale: stale || r.status === 409 };
  } finally {
    PG.busy--;
  }
}

function fnText() { return PG.state.formula.trim() || PG.state.function; }

function optimizerMeta(name) { return PG.meta.optimizers.find((o) => o.name === name); }

function view() {  // what a request (and the URL) needs
  const s = PG.state;
  return { function: fnText(), window: s.window, start: s.start, steps: s.steps,
           optimizers: s.optimizers.map((o) => ({ name: o.name, label: o.label, options: o.options })),
           stop: s.stop, schedule: s.schedule.kind === "none" ? null : s.schedule };
}

function saveUrl() {
  const s = PG.state;
  const keep = { ...view(), formula: s.formula, fname: s.function, surface: s.surface, map: s.map,
                 colors: s.optimizers.map((o) => o.color), visible: s.optimizers.map((o) => o.visible) };
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(keep)));
}

function loadUrl() {
  if (location.hash.length < 2) return null;
  try {
    const k = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    return { function: k.fname, formula: k.formula || "", window: k.window, start: k.start, steps: k.steps,
             surface: !!k.surface, stop: k.stop || {}, schedule: k.schedule || { kind: "none" },
             map: k.map || { opt: 0, axis: null, n: 32 },
             optimizers: k.optimizers.map((o, i) => ({ ...o, color: k.colors[i], visible: k.visible[i] }))
               .filter((o) => optimizerMeta(o.name)) };  // a name this server does not know is left out
  } catch (e) {
    return null;
  }
}

// ------------------------------------------------------------------ controls
function option(o, c) {
  if (c.name in o.options) return o.options[c.name];
  return c.default;
}

function setOption(o, name, value) {
  if (value === undefined) delete o.options[name]; else o.options[name] = value;
  changed();
}

function round(v, log) { return Number(v.toPrecision(log ? 3 : 4)); }

function numberControl(o, c, value, onValue) {
  const row = document.createElement("div");
  row.className = "ctl";
  const name = document.createElement("span");
  name.textContent = c.name;
  name.title = [c.lo !== null ? `≥ ${c.lo}` : "", c.hi !== null ? `≤ ${c.hi}` : "", `default ${c.default}`]
    .filter(Boolean).join(", ");
  const box = document.createElement("input");
  box.type = "number"; box.step = "any"; box.className = "val";
  box.value = value === null || value === undefined ? "" : value;
  box.dataset.option = c.name;
  row.append(name);
  if (c.slider) {
    const sl = document.createElement("input");
    sl.type = "range";
    const [a, b] = c.log ? c.slider.map(Math.log10) : c.slider;
    sl.min = a; sl.max = b; sl.step = (b - a) / 400;
    sl.dataset.option = c.name;
    if (typeof value === "number") sl.value = c.log ? Math.log10(value) : value;
    sl.addEventListener("input", () => {
      const v = round(c.log ? 10 ** Number(sl.value) : Number(sl.value), c.log);
      box.value = v;
      onValue(v);
    });
    row.append(sl);
  } else {
    row.append(document.createElement("span"));
  }
  box.addEventListener("change", () => onValue(box.value === "" ? undefined : Number(box.value)));
  row.append(box);
  return row;
}

function control(o, c) {
  const value = option(o, c);
  if (c.kind === "number") return numberControl(o, c, value, (v) => setOption(o, c.name, v));
  if (c.kind === "tuple") {
    const wrap = document.createElement("div");
    c.items.forEach((item, i) => {
      if (item.kind !== "number") return;
      wrap.append(numberControl(o, item, value[i], (v) => {
        const t = [...option(o, c)];
        t[i] = v === undefined ? c.default[i] : v;
        setOption(o, c.name, t);
      }));
    });
    return wrap;
  }
  const row = document.createElement("div");
  row.className = "ctl";
  const name = document.createElement("span");
  name.textContent = c.name;
  let input;
  if (c.kind === "flag") {
    input = document.createElement("input");
    input.type = "checkbox"; input.checked = !!value;
    input.addEventListener("change", () => setOption(o, c.name, input.checked));
  } else if (c.kind === "choice") {
    input = document.createElement("select");
    for (const ch of c.choices) input.add(new Option(String(ch), String(ch), false, ch === value));
    input.addEventListener("change", () => setOption(o, c.name, input.value));
  } else {
    input = document.createElement("input");
    input.type = "text"; input.value = value ?? "";
    input.addEventListener("change", () => setOption(o, c.name, input.value === "" ? undefined : input.value));
  }
  input.dataset.option = c.name;
  row.append(name, input, document.createElement("span"));
  return row;
}

function primary(c) { return (c.kind === "number" && c.slider) || c.kind === "tuple"; }

function renderOptimizers() {
  const box = $("optimizers");
  box.innerHTML = "";
  PG.state.optimizers.forEach((o, i) => {
    const m = optimizerMeta(o.name);
    const card = document.createElement("div");
    card.className = "opt"; card.style.borderLeftColor = o.color; card.dataset.index = i;
    const head = document.createElement("div");
    head.className = "head";
    const label = document.createElement("input");
    label.type = "text"; label.value = o.label; label.className = "label";
    label.addEventListener("change", () => { o.label = label.value; changed(); });
    const color = document.createElement("input");
    color.type = "color"; color.value = o.color;
    color.addEventListener("input", () => { o.color = color.value; card.style.borderLeftColor = o.color; draw(); });
    const vis = document.createElement("input");
    vis.type = "checkbox"; vis.checked = o.visible; vis.title = "show"; vis.className = "visible";
    vis.addEventListener("change", () => { o.visible = vis.checked; draw(); saveUrl(); });
    const rm = document.createElement("button");
    rm.textContent = "×"; rm.title = "remove"; rm.className = "remove";
    rm.addEventListener("click", () => { PG.state.optimizers.splice(i, 1); renderOptimizers(); changed(); });
    head.append(vis, label, color, rm);
    card.append(head);
    const note = document.createElement("div");
    note.className = "note"; note.textContent = `${o.name}: ${m.class} — ${m.description}`;
    card.append(note);
    const more = document.createElement("details");
    more.append(Object.assign(document.createElement("summary"), { textContent: "all options" }));
    for (const c of m.controls) (primary(c) ? card : more).append(control(o, c));
    card.append(more);
    const err = document.createElement("div");
    err.className = "opt-error"; err.textContent = PG.errors[i] || "";
    card.append(err);
    box.append(card);
  });
  renderMapOptions();
}

function renderMapOptions() {
  const sel = $("map-opt"), s = PG.state;
  sel.innerHTML = "";
  s.optimizers.forEach((o, i) => sel.add(new Option(o.label, i, false, i === s.map.opt)));
  const o = s.optimizers[s.map.opt];
  const axes = o ? optimizerMeta(o.name).map_axes : [];
  $("map-axis").innerHTML = "";
  for (const a of axes) $("map-axis").add(new Option(a, a, false, a === s.map.axis));
  if (!axes.includes(s.map.axis)) s.map.axis = axes[0] || null;
}

function renderStops() {
  const s = PG.state, box = $("stops");
  box.innerHTML = "";
  for (const kind of PG.meta.stop_rules) {
    const l = document.createElement("label");
    const inp = Object.assign(document.createElement("input"), { type: "number", step: "any", id: `stop-${kind}` });
    inp.value = s.stop[kind] ?? "";
    inp.addEventListener("change", () => {
      if (inp.value === "") delete s.stop[kind]; else s.stop[kind] = Number(inp.value);
      changed();
    });
    l.append(kind + " ", inp);
    box.append(l);
  }
  $("schedule").value = s.schedule.kind;
  const args = $("schedule-args");
  args.innerHTML = "";
  if (s.schedule.kind === "none") return;
  for (const [k, d] of Object.entries(PG.meta.schedules[s.schedule.kind])) {
    const l = document.createElement("label");
    const inp = Object.assign(document.createElement("input"), { type: "number", step: "any" });
    inp.value = s.schedule[k] ?? d;
    inp.addEventListener("change", () => { s.schedule[k] = Number(inp.value); changed(); });
    l.append(k + " ", inp);
    args.append(l);
  }
}

function renderAll() {
  const s = PG.state;
  $("function").value = s.function;
  $("formula").value = s.formula;
  $("steps").value = s.steps;
  $("start").value = s.start ? s.start.join(", ") : "";
  $("surface").checked = s.surface;
  $("map-n").value = s.map.n;
  $("map-live").checked = s.map.live !== false;
  renderOptimizers();
  renderStops();
}

// ------------------------------------------------------------------ drawing
const CONFIG = { responsive: true };
const lastStep = () => Math.max(0, ...(PG.paths ? PG.paths.traces.map((t) => t.params.length - 1) : [0]));

function pathTraces(k, surface) {
  const out = [];
  if (!PG.paths) return out;
  PG.paths.traces.forEach((t, i) => {
    const o = PG.state.optimizers[i];
    if (!o || !o.visible) return;
    const n = Math.min(k, t.params.length - 1) + 1;
    const xs = t.params.slice(0, n).map((p) => p[0]), ys = t.params.slice(0, n).map((p) => p[1]);
    const line = { color: o.color, width: 2 };
    if (surface) {
      out.push({ type: "scatter3d", mode: "lines", x: xs, y: ys, z: t.values.slice(0, n), line, name: t.label,
                 meta: "path" });
    } else {
      out.push({ type: "scatter", mode: "lines", x: xs, y: ys, name: t.label, line, meta: "path",
                 hoverinfo: "name+x+y" });
    }
  });
  return out;
}

// dark low levels, pale high ones (the pictures' YlGnBu_r), by level index in [0, 1]
const LEVEL_STOPS = [[8, 29, 88], [34, 94, 168], [29, 145, 192], [65, 182, 196], [127, 205, 187], [199, 233, 180]];
function levelColor(t) {
  const k = Math.min(Math.max(t, 0), 1) * (LEVEL_STOPS.length - 1), i = Math.min(Math.floor(k), LEVEL_STOPS.length - 2);
  const a = LEVEL_STOPS[i], b = LEVEL_STOPS[i + 1], u = k - i;
  return `rgb(${a.map((v, j) => Math.round(v + u * (b[j] - v))).join(",")})`;
}

function landscapeTraces(surface) {
  const L = PG.land;
  if (!L) return [];
  if (surface) return [{ type: "surface", x: L.x, y: L.y, z: L.f, surfacecolor: L.level, colorscale: "YlGnBu",
                         reversescale: true, showscale: false, opacity: 0.9, name: "f", hoverinfo: "x+y+z" }];
  const n = Math.max(L.levels.length - 1, 1);
  const out = L.lines.map((ln) => ({ type: "scatter", mode: "lines", x: ln.x, y: ln.y, meta: "levels",
                                     line: { color: levelColor(ln.level / n), width: 1 }, hoverinfo: "skip",
                                     showlegend: false, name: `f = ${ln.value.toPrecision(3)}` }));
  if (L.minimizers.length) {
    out.push({ type: "scatter", mode: "markers", x: L.minimizers.map((m) => m[0]), y: L.minimizers.map((m) => m[1]),
               marker: { symbol: "star", size: 14, color: "#d4a017", line: { color: "#000", width: 1 } },
               name: "minimizer", meta: "minimizer" });
  }
  const st = PG.state.start;
  if (st) out.push({ type: "scatter", mode: "markers", x: [st[0]], y: [st[1]], name: "start", meta: "start",
                     marker: { symbol: "circle-open", size: 12, color: "#000", line: { width: 2 } } });
  return out;
}

async function draw() {
  const s = PG.state, L = PG.land;
  const k = PG.frame === null ? lastStep() : PG.frame;
  const traces = [...landscapeTraces(s.surface), ...pathTraces(k, s.surface)];
  const layout = { margin: { l: 50, r: 10, t: 30, b: 40 }, showlegend: true, legend: { x: 1, xanchor: "right" },
                   title: { text: fnText(), font: { size: 13 } }, uirevision: fnText() + JSON.stringify(s.window) };
  if (L && !s.surface) {
    layout.xaxis = { range: L.window[0], title: { text: "x" } };
    layout.yaxis = { range: L.window[1], title: { text: "y" } };
  }
  await Plotly.react("landscape", traces, layout, CONFIG);
  $("scrub").max = lastStep();
  $("scrub").value = k;
  $("step-label").textContent = `step ${k}`;
}

async function drawCurves() {
  const P = PG.paths;
  if (!P) return;
  const fmin = P.f_min;
  const shown = P.traces.filter((t, i) => PG.state.optimizers[i] && PG.state.optimizers[i].visible);
  const color = (t) => PG.state.optimizers[P.traces.indexOf(t)].color;
  const steps = (t) => t.values.map((_, j) => j);
  const lossY = (t) => t.values.map((v) => (fmin === null ? v : Math.max(v - fmin, 1e-300)));
  const base = (title, log) => ({ margin: { l: 50, r: 10, t: 28, b: 30 }, title: { text: title, font: { size: 12 } },
                                  yaxis: { type: log ? "log" : "linear" }, showlegend: false });
  const lossLog = fmin !== null;
  const sched = PG.state.schedule.kind !== "none";
  $("lr").hidden = !sched;  // first: the three plots share the row's width
  await Plotly.react("loss", shown.map((t) => ({ x: steps(t), y: lossY(t), name: t.label, line: { color: color(t) } })),
                     base(lossLog ? "f − f*" : "f", lossLog), CONFIG);
  await Plotly.react("grad", shown.map((t) => ({ x: steps(t), y: t.grad_norms, name: t.label,
                                                 line: { color: color(t) } })), base("‖∇f‖", true), CONFIG);
  if (sched) {
    await Plotly.react("lr", shown.map((t) => ({ x: t.lrs.map((_, j) => j), y: t.lrs, name: t.label,
                                               line: { color: color(t) } })), base("learning rate", false), CONFIG);
  }
}

async function drawMap() {
  const M = PG.map;
  if (!M) return;
  await Plotly.react("map", [{ type: "heatmap", x: M.lr, y: M.y, z: M.z, colorscale: "Viridis", meta: "map",
                               colorbar: { title: { text: M.z_label } },
                               hovertemplate: "lr=%{x:.3g}<br>" + M.axis + "=%{y:.3g}<br>%{z:.3g}<extra></extra>" }],
                     { margin: { l: 60, r: 10, t: 30, b: 45 }, xaxis: { type: "log", title: { text: "lr" } },
                       yaxis: { title: { text: M.axis } },
                       title: { text: `${M.optimizer}, ${M.steps} steps: final value (blank: diverged)`,
                                font: { size: 12 } } }, CONFIG);
  if (!PG.mapWired) { $("map").on("plotly_click", mapClick); PG.mapWired = true; }
}

// ------------------------------------------------------------------ computing
function showError(data) {
  PG.errors = {};
  const m = /^optimizers\[(\d+)\]/.exec(data?.field || "");
  if (m) PG.errors[Number(m[1])] = data.error;
  document.querySelectorAll(".opt").forEach((card) => {
    card.querySelector(".opt-error").textContent = PG.errors[card.dataset.index] || "";
  });
  const box = $("error");
  box.hidden = !data || !!m || data.field === "function";
  box.textContent = data ? data.error : "";
  const fe = $("formula-error");
  fe.hidden = !(data && data.field === "function");
  fe.textContent = data && data.field === "function" ? (data.detail || data.error) : "";
}

async function refreshLandscapeNow() {
  const s = PG.state;
  const r = await post("/api/landscape", { function: fnText(), window: s.window, grid: 120 }, "landscape");
  if (r.stale) return false;
  if (!r.ok) { showError(r.data); return false; }
  PG.land = r.data;
  if (!s.window) s.window = r.data.window;
  if (!s.start) s.start = r.data.start;
  $("start").value = s.start.join(", ");
  $("latex").textContent = r.data.latex ? "f = " + r.data.latex : "";
  return true;
}

async function refreshPathsNow() {
  const t0 = performance.now();
  const r = await post("/api/paths", { ...view(), map_follows: PG.state.map.live !== false }, "paths");
  if (r.stale) return;
  if (!r.ok) { showError(r.data); return; }
  showError(null);
  PG.paths = r.data;
  PG.frame = null;
  const t1 = performance.now();
  await draw();
  const ms = performance.now() - t0;  // request sent to paths drawn
  await drawCurves();
  PG.timings.push({ kind: "paths", ms, server: r.data.compute_ms, drawing: performance.now() - t1,
                    with_curves: performance.now() - t0 });
  $("timing").textContent = `paths: ${ms.toFixed(0)} ms (computing ${r.data.compute_ms.toFixed(0)} ms)`;
  saveUrl();
  if (PG.state.map.live !== false) refreshMap();
}

async function refreshMapNow() {
  const s = PG.state, o = s.optimizers[s.map.opt];
  if (!o || !s.map.axis) return;
  const controls = optimizerMeta(o.name).controls;
  const key = controls.some((c) => c.name === "learning_rate") ? "learning_rate" : "lr";
  const lr = o.options[key] ?? controls.find((c) => c.name === key)?.default ?? 0.01;
  const t0 = performance.now();
  const r = await post("/api/map", { function: fnText(), window: s.window, start: s.start, steps: s.steps,
                                     optimizer: { name: o.name, options: o.options }, axis: s.map.axis,
                                     lr: [lr / 100, lr * 100], y: [0, 0.99], n: [s.map.n, s.map.n] }, "map");
  if (r.stale) return;
  if (!r.ok) { $("map-timing").textContent = "map: " + r.data.error; return; }
  PG.map = r.data;
  await drawMap();
  const ms = performance.now() - t0;
  PG.timings.push({ kind: "map", ms, server: r.data.compute_ms });
  $("map-timing").textContent = `map: ${ms.toFixed(0)} ms (sweep ${(1e3 * r.data.sweep_seconds).toFixed(0)} ms)`;
}

// busy from the request until drawn: the page is idle only once what came back is on screen
function tracked(fn) {
  return async (...args) => {
    PG.busy++;
    try { return await fn(...args); } finally { PG.busy--; }
  };
}
const refreshLandscape = tracked(refreshLandscapeNow);
const refreshPaths = tracked(refreshPathsNow);
const refreshMap = tracked(refreshMapNow);

function changed() { saveUrl(); refreshPaths(); }

const functionChanged = tracked(async () => {
  PG.state.window = null; PG.state.start = null; PG.map = null;
  if (await refreshLandscape()) { await draw(); changed(); }
});

// ------------------------------------------------------------------ events
function mapClick(ev) {
  const p = ev.points && ev.points[0];
  if (!p || !PG.map) return;
  const s = PG.state, o = s.optimizers[s.map.opt];
  o.options[PG.map.lr_option] = p.x;
  if (PG.map.axis === "beta1") {
    const c = optimizerMeta(o.name).controls.find((c) => c.name === "betas");
    o.options.betas = [p.y, (o.options.betas || c.default)[1]];
  } else {
    o.options[PG.map.axis] = p.y;
  }
  renderOptimizers();
  saveUrl();
  refreshPaths();
}

function landscapeClick(ev) {
  const gd = $("landscape");
  if (PG.state.surface || !gd._fullLayout) return;
  const size = gd._fullLayout._size, rect = gd.getBoundingClientRect();
  const px = ev.clientX - rect.left - size.l, py = ev.clientY - rect.top - size.t;
  if (px < 0 || py < 0 || px > size.w || py > size.h) return;
  if (ev.target.closest && ev.target.closest(".legend, .modebar")) return;
  const x = gd._fullLayout.xaxis.p2l(px), y = gd._fullLayout.yaxis.p2l(py);
  PG.state.start = [Number(x.toPrecision(6)), Number(y.toPrecision(6))];
  $("start").value = PG.state.start.join(", ");
  draw();
  changed();
}

function applyPreset(key) {
  const p = PG.meta.presets.find((q) => q.key === key);
  if (!p) return;
  Object.assign(PG.state, { function: p.function, formula: "", window: p.window, start: p.start, steps: p.steps,
                            stop: {}, schedule: { kind: "none" }, map: { ...PG.state.map, opt: 0, axis: null } });
  PG.state.optimizers = p.optimizers.map((o) => ({ name: o.name, label: o.label, options: { ...o.options },
                                                   color: o.color, visible: true }));
  $("lesson").textContent = p.lesson;
  renderAll();
  return refreshLandscape().then((ok) => ok && changed());
}

let playing = null;
function togglePlay() {
  if (playing) { clearInterval(playing); playing = null; $("play").textContent = "play"; return; }
  const end = lastStep();
  if (PG.frame === null || PG.frame >= end) PG.frame = 0;
  $("play").textContent = "pause";
  playing = setInterval(() => {
    PG.frame = Math.min(PG.frame + Math.max(1, Math.round(end / 150)), end);
    draw();
    if (PG.frame >= end) togglePlay();
  }, 40);
}

async function download(kind) {
  const r = await post(`/api/export/${kind}`, view(), `export-${kind}`);
  if (!r.ok) { showError(r.data); return; }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(r.data instanceof Blob ? r.data : new Blob([JSON.stringify(r.data)]));
  a.download = `optimlab-play.${kind}`;
  a.click();
}

async function showCode() {
  const r = await post("/api/code", view(), "code");
  const out = $("code-out");
  out.hidden = false;
  out.textContent = r.ok ? `# Python\n${r.data.python}\n# command line${r.data.cli_note ? " (" + r.data.cli_note + ")" : ""}\n` +
    (r.data.cli || "") : r.data.error;
  PG.code = r.data;
}

function wire() {
  const s = () => PG.state;
  $("function").addEventListener("change", (e) => { s().function = e.target.value; s().formula = "";
                                                     $("formula").value = ""; functionChanged(); });
  $("formula").addEventListener("change", (e) => { s().formula = e.target.value; functionChanged(); });
  $("steps").addEventListener("change", (e) => { s().steps = Number(e.target.value); changed(); });
  $("start").addEventListener("change", (e) => {
    s().start = e.target.value.split(",").map(Number); draw(); changed();
  });
  $("surface").addEventListener("change", (e) => { s().surface = e.target.checked; saveUrl(); draw(); });
  $("add").addEventListener("click", () => {
    const m = optimizerMeta($("add-name").value);
    s().optimizers.push({ name: m.name, label: m.name, options: {}, color: m.color, visible: true });
    renderOptimizers();
    changed();
  });
  $("preset").addEventListener("change", (e) => applyPreset(e.target.value));
  $("schedule").addEventListener("change", (e) => { s().schedule = { kind: e.target.value }; renderStops(); changed(); });
  $("scrub").addEventListener("input", (e) => { PG.frame = Number(e.target.value); draw(); });
  $("play").addEventListener("click", togglePlay);
  $("map-opt").addEventListener("change", (e) => { s().map.opt = Number(e.target.value); s().map.axis = null;
                                                    renderMapOptions(); saveUrl(); refreshMap(); });
  $("map-axis").addEventListener("change", (e) => { s().map.axis = e.target.value; saveUrl(); refreshMap(); });
  $("map-n").addEventListener("change", (e) => { s().map.n = Number(e.target.value); saveUrl(); refreshMap(); });
  $("map-go").addEventListener("click", refreshMap);
  $("map-live").addEventListener("change", (e) => { s().map.live = e.target.checked; saveUrl();
                                                     if (e.target.checked) refreshMap(); });
  $("landscape").addEventListener("click", landscapeClick);
  $("png").addEventListener("click", () => Plotly.downloadImage("landscape", { format: "png", filename: "optimlab-play" }));
  for (const k of ["gif", "json", "npz"]) $(k).addEventListener("click", () => download(k));
  $("code").addEventListener("click", showCode);
}

async function init() {
  PG.busy++;
  try {
    PG.meta = await (await fetch("/api/meta")).json();
    for (const f of PG.meta.functions) $("function").add(new Option(f.name, f.name));
    for (const o of PG.meta.optimizers) $("add-name").add(new Option(`${o.name} (${o.class})`, o.name));
    for (const p of PG.meta.presets) $("preset").add(new Option(p.title, p.key));
    for (const k of Object.keys(PG.meta.schedules)) $("schedule").add(new Option(k, k));
    const adam = optimizerMeta("adam"), mom = optimizerMeta("momentum");
    PG.state = loadUrl() || { function: "beale", formula: "", window: null, start: null, steps: 300, surface: false,
      stop: {}, schedule: { kind: "none" }, map: { opt: 0, axis: null, n: 32 },
      optimizers: [{ name: "adam", label: "Adam", options: { lr: 0.1 }, color: adam.color, visible: true },
                   { name: "momentum", label: "Momentum", options: { lr: 0.001 }, color: mom.color, visible: true }] };
    wire();
    renderAll();
    $("map-opt").value = PG.state.map.opt;
    if (await refreshLandscape()) { await draw(); await refreshPaths(); }
  } finally {
    PG.busy--;
  }
}

init();
