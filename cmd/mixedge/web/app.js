// mixedge live page: updates from /events (Server-Sent Events), pictures
// from /snapshot.jpg at most twice a second. No framework, works offline.
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token");
  const q = (params) => {
    const p = new URLSearchParams(params || {});
    if (token) p.set("token", token);
    const s = p.toString();
    return s ? "?" + s : "";
  };
  const $ = (id) => document.getElementById(id);
  const history = []; // [unix s, frames, capture, preprocess, infer]
  const keep = 300;

  function text(id, v) { $(id).textContent = v; }

  function showInfo(info) {
    text("source", info.source);
    text("meta", info.arch + " · " + info.model + " · kernels " + info.kernels + " · " + info.threads +
      " threads · input " + info.input + "×" + info.input + " · arena " + (info.arena_bytes / 1048576).toFixed(1) + " MiB · " + info.version);
    text("cropcap", "network input (" + info.input + "×" + info.input + ")");
  }

  function showTop(top) {
    const bars = $("bars");
    if (!top || top.length === 0) return;
    text("top1", top[0].label);
    text("top1score", (top[0].score * 100).toFixed(1) + " %  ·  class " + top[0].index);
    while (bars.children.length > top.length) bars.lastChild.remove();
    while (bars.children.length < top.length) {
      const li = document.createElement("li");
      const name = document.createElement("span"); name.className = "name";
      const track = document.createElement("span"); track.className = "track";
      const fill = document.createElement("span"); fill.className = "fill"; fill.style.display = "block";
      track.appendChild(fill);
      const val = document.createElement("span"); val.className = "val";
      li.append(name, track, val);
      bars.appendChild(li);
    }
    top.forEach((t, i) => {
      const li = bars.children[i];
      li.children[0].textContent = t.label;
      li.children[0].title = t.label + " (" + t.index + ")";
      li.children[1].firstChild.style.width = Math.max(0, Math.min(100, t.score * 100)).toFixed(1) + "%";
      li.children[2].textContent = (t.score * 100).toFixed(1) + "%";
    });
  }

  // Pictures: one request at a time per picture, at most once a second
  // (JPEG encoding is the page's main cost on the board).
  const pics = { crop: { el: $("crop"), busy: false, at: 0 }, source: { el: $("frame"), busy: false, at: 0 } };
  for (const [view, p] of Object.entries(pics)) {
    p.el.addEventListener("load", () => { p.busy = false; });
    p.el.addEventListener("error", () => { p.busy = false; });
    p.view = view;
  }
  function refreshPictures() {
    const now = Date.now();
    for (const p of Object.values(pics)) {
      if (p.busy || now - p.at < 1000) continue;
      p.busy = true; p.at = now;
      p.el.src = "snapshot.jpg" + q({ view: p.view, t: String(now) });
    }
  }

  function drawChart() {
    const c = $("chart");
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const colors = ["--c0", "--c1", "--c2"].map((v) => css.getPropertyValue(v).trim());
    const pad = 34;
    let maxv = 1;
    for (const p of history) maxv = Math.max(maxv, p[2], p[3], p[4]);
    maxv = Math.ceil(maxv * 1.1);
    g.strokeStyle = "#2b333c"; g.fillStyle = "#8b98a5"; g.font = "11px system-ui, sans-serif"; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = 8 + (h - 24) * i / 4;
      g.beginPath(); g.moveTo(pad, y); g.lineTo(w - 4, y); g.stroke();
      g.fillText((maxv * (4 - i) / 4).toFixed(maxv < 8 ? 1 : 0), 2, y + 4);
    }
    g.fillText("ms", 2, h - 4);
    if (history.length === 0) return;
    const t1 = history[history.length - 1][0], t0 = t1 - keep;
    const x = (t) => pad + (w - pad - 4) * (t - t0) / keep;
    const y = (v) => 8 + (h - 24) * (1 - v / maxv);
    for (let k = 0; k < 3; k++) {
      g.strokeStyle = colors[k]; g.lineWidth = 1.5; g.beginPath();
      let prev = null;
      for (const p of history) {
        if (prev !== null && p[0] - prev > 2) g.moveTo(x(p[0]), y(p[2 + k])); // a gap: no frames
        else if (prev === null) g.moveTo(x(p[0]), y(p[2 + k]));
        else g.lineTo(x(p[0]), y(p[2 + k]));
        prev = p[0];
      }
      g.stroke();
    }
    g.fillStyle = "#8b98a5";
    g.fillText("−5 min", pad, h - 4);
    g.fillText("now", w - 28, h - 4);
  }

  function showFrame(u) {
    showTop(u.top);
    text("fps", u.fps.toFixed(1));
    text("frames", u.frames);
    text("dropped", u.dropped);
    text("corrupt", u.corrupt);
    text("reconnects", u.reconnects);
    const l = u.latency_ms;
    text("lat", l.capture.toFixed(1) + " / " + l.preprocess.toFixed(1) + " / " + l.infer.toFixed(1));
    for (const p of u.history) history.push(p);
    while (history.length > 0 && history[history.length - 1][0] - history[0][0] >= keep) history.shift();
    drawChart();
    if (u.mqtt) {
      const m = u.mqtt;
      text("mqtt", "MQTT " + m.broker + ": " + (m.connected ? "connected" : "away") + " · " + m.published + " published · " +
        m.changes + " label changes · " + m.dropped + " dropped · " + m.queued + " queued");
    }
    if (u.snapshot) refreshPictures();
  }

  function connect() {
    const es = new EventSource("events" + q());
    es.addEventListener("open", () => { $("conn").className = "conn on"; text("conn", "live"); });
    es.addEventListener("error", () => { $("conn").className = "conn off"; text("conn", "reconnecting…"); });
    es.addEventListener("info", (e) => showInfo(JSON.parse(e.data)));
    es.addEventListener("frame", (e) => showFrame(JSON.parse(e.data)));
  }
  window.addEventListener("resize", drawChart);
  drawChart();
  connect();
})();
