// The embedding map (templates/media/map.html): draws the points of `data-points` (binary: x float32 × n,
// y float32 × n, item id int32 × n, colour code uint8 × n) on a 2-D canvas by writing pixels into an ImageData,
// zooms (wheel, buttons) and pans (drag), fetches the points again for the box in view when zoomed in, shows a
// point's item on hover or click, and turns a dragged box (shift-drag, or "Select a box") into the explorer's
// `$map:box` filter ("Show in explorer"). `window.mapTimings.firstDrawn` is when the first points were drawn,
// `lastDrawn` when the last (coloured) ones were.
(function () {
  "use strict";
  window.mapTimings = {};

  document.addEventListener("htmx:afterSwap", function () {
    const status = document.getElementById("map-status");
    if (status && status.dataset.ready === "1" && !document.getElementById("map-canvas")) location.reload();
  });

  function hexToRgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"].map(hexToRgb);
  function rampColour(t) {
    const p = Math.min(0.9999, Math.max(0, t)) * (RAMP.length - 1), i = Math.floor(p), f = p - i;
    const a = RAMP[i], b = RAMP[i + 1];
    return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
  }
  // ImageData is RGBA bytes; on little-endian machines a Uint32 pixel is ABGR.
  function packed(rgb) { return (255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]; }

  function start() {
    const canvas = document.getElementById("map-canvas");
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const bounds = canvas.dataset.bounds.split(",").map(Number);
    const info = document.getElementById("map-info");
    const show = document.getElementById("map-show");
    const hover = document.getElementById("map-hover");
    const selectButton = document.getElementById("map-select");
    const kind = canvas.dataset.colour;  // "enum", "integer", "float" or ""
    const palette = canvas.dataset.palette.split(",").map(hexToRgb);

    // Colour code → packed pixel: 0 is "not set" (grey), or every point blue when nothing colours them.
    const colours = new Uint32Array(256);
    for (let c = 0; c < 256; c++) {
      if (!kind) colours[c] = packed([31, 119, 180]);
      else if (c === 0) colours[c] = packed([200, 200, 200]);
      else if (kind === "enum") colours[c] = packed(palette[(c - 1) % palette.length]);
      else colours[c] = packed(rampColour((c - 1) / 254));
    }

    const padX = (bounds[2] - bounds[0]) * 0.03, padY = (bounds[3] - bounds[1]) * 0.03;
    const whole = [bounds[0] - padX, bounds[1] - padY, bounds[2] + padX, bounds[3] + padY];
    let view = whole.slice();
    let data = null;  // {n, x, y, ids, c, box, sampled, estimate}
    let selection = null;  // [x0, y0, x1, y1] in data coordinates
    let drag = null;
    let selecting = false;
    let loading = 0;
    let pinned = false;

    function toPx(x, y) {
      return [(x - view[0]) / (view[2] - view[0]) * W, H - (y - view[1]) / (view[3] - view[1]) * H];
    }
    function toData(px, py) {
      return [view[0] + px / W * (view[2] - view[0]), view[1] + (H - py) / H * (view[3] - view[1])];
    }
    function eventPx(e) {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height];
    }

    function draw() {
      const image = ctx.createImageData(W, H);
      const pixels = new Uint32Array(image.data.buffer);
      pixels.fill(0xffffffff);
      let drawn = 0;
      if (data) {
        const sx = W / (view[2] - view[0]), sy = H / (view[3] - view[1]);
        const x = data.x, y = data.y, c = data.c, n = data.n;
        // A few points are drawn large enough to see; a crowd small enough to show its shape.
        const size = n <= 2000 ? 5 : n <= 20000 ? 3 : 2, half = size >> 1;
        for (let i = 0; i < n; i++) {
          const px = (((x[i] - view[0]) * sx) | 0) - half, py = ((H - (y[i] - view[1]) * sy) | 0) - half;
          if (px < 0 || py < 0 || px > W - size || py > H - size) continue;
          const colour = colours[c[i]];
          for (let dy = 0; dy < size; dy++) {
            const row = (py + dy) * W + px;
            for (let dx = 0; dx < size; dx++) pixels[row + dx] = colour;
          }
          drawn++;
        }
      }
      ctx.putImageData(image, 0, 0);
      if (selection) {
        const a = toPx(selection[0], selection[3]), b = toPx(selection[2], selection[1]);
        ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2; ctx.setLineDash([6, 4]);
        ctx.strokeRect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
        ctx.setLineDash([]);
      }
      canvas.dataset.drawn = String(drawn);
      return drawn;
    }

    function describe() {
      if (!data) return;
      let text = data.n.toLocaleString() + " points" + (data.sampled ? " (a sample of about " + data.estimate.toLocaleString() + ")" : "");
      if (selection) text += " · " + inSelection() + " drawn in the box";
      info.textContent = text + (loading ? " · loading…" : "");
    }

    function inSelection() {
      let count = 0;
      for (let i = 0; i < data.n; i++) {
        if (data.x[i] >= selection[0] && data.x[i] <= selection[2] && data.y[i] >= selection[1] && data.y[i] <= selection[3]) count++;
      }
      return count;
    }

    function covers(box, inner) {
      return box[0] <= inner[0] && box[1] <= inner[1] && box[2] >= inner[2] && box[3] >= inner[3];
    }
    function coversWhole(box) { return covers(box, bounds); }

    // `uncoloured`: without the colour field (reading it joins every point to its item: slower). The first load of
    // a coloured map draws the points that way first, then again coloured.
    async function load(uncoloured) {
      const box = coversWhole(view) ? null : view.slice();
      const points = uncoloured ? canvas.dataset.points.replace(/([?&])color=[^&]*/, "$1") : canvas.dataset.points;
      const url = points + (box ? "&box=" + box.join(",") : "");
      loading++;
      describe();
      try {
        const response = await fetch(url, {credentials: "same-origin"});
        if (!response.ok) { info.textContent = await response.text(); return; }
        const buffer = await response.arrayBuffer();
        const n = Number(response.headers.get("X-Map-Count"));
        data = {
          n: n, box: box, sampled: response.headers.get("X-Map-Sampled") === "1",
          estimate: Number(response.headers.get("X-Map-Estimate")),
          x: new Float32Array(buffer, 0, n), y: new Float32Array(buffer, 4 * n, n),
          ids: new Int32Array(buffer, 8 * n, n), c: new Uint8Array(buffer, 12 * n, n),
        };
        const range = response.headers.get("X-Colour-Range");
        if (range) {
          const [low, high] = range.split(",").map(Number);
          const lowEl = document.getElementById("map-ramp-low"), highEl = document.getElementById("map-ramp-high");
          if (lowEl) lowEl.textContent = String(+low.toPrecision(4));
          if (highEl) highEl.textContent = String(+high.toPrecision(4));
        }
        draw();
        if (!uncoloured) window.mapTimings.lastDrawn = performance.now();
        if (window.mapTimings.firstDrawn === undefined) {
          window.mapTimings.firstDrawn = performance.now();
          canvas.dataset.firstDrawn = String(Math.round(window.mapTimings.firstDrawn));
        }
      } finally {
        loading--;
        describe();
      }
    }

    let reloadTimer = null;
    function viewChanged() {
      draw();
      describe();
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(function () {
        // Fetch again when the points in view were a sample, or when the view leaves the box that was fetched.
        if (!data) return;
        const outside = data.box && !covers(data.box, view);
        if (data.sampled || outside) load(false);
      }, 250);
    }

    function zoom(factor, px, py) {
      const at = toData(px, py);
      view = [at[0] - (at[0] - view[0]) * factor, at[1] - (at[1] - view[1]) * factor,
              at[0] + (view[2] - at[0]) * factor, at[1] + (view[3] - at[1]) * factor];
      viewChanged();
    }

    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      const p = eventPx(e);
      zoom(e.deltaY > 0 ? 1.25 : 0.8, p[0], p[1]);
    }, {passive: false});
    document.getElementById("map-zoom-in").addEventListener("click", function () { zoom(0.5, W / 2, H / 2); });
    document.getElementById("map-zoom-out").addEventListener("click", function () { zoom(2, W / 2, H / 2); });
    document.getElementById("map-reset").addEventListener("click", function () { view = whole.slice(); viewChanged(); });
    selectButton.addEventListener("click", function () {
      selecting = !selecting;
      selectButton.setAttribute("aria-pressed", selecting ? "true" : "false");
    });

    canvas.addEventListener("pointerdown", function (e) {
      const p = eventPx(e);
      drag = {start: p, last: p, select: selecting || e.shiftKey, moved: false};
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      const p = eventPx(e);
      if (!drag) { hoverAt(p, false); return; }
      drag.moved = drag.moved || Math.abs(p[0] - drag.start[0]) + Math.abs(p[1] - drag.start[1]) > 3;
      if (drag.select) {
        const a = toData(drag.start[0], drag.start[1]), b = toData(p[0], p[1]);
        selection = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        draw();
      } else {
        const dx = (p[0] - drag.last[0]) / W * (view[2] - view[0]), dy = (p[1] - drag.last[1]) / H * (view[3] - view[1]);
        view = [view[0] - dx, view[1] + dy, view[2] - dx, view[3] + dy];
        draw();
      }
      drag.last = p;
    });
    canvas.addEventListener("pointerup", function (e) {
      if (!drag) return;
      const was = drag;
      drag = null;
      if (!was.moved) { hoverAt(eventPx(e), true); return; }
      if (was.select) selectionChanged(); else viewChanged();
    });

    function selectionChanged() {
      if (!selection) return;
      const value = canvas.dataset.field + "/" + canvas.dataset.method + "/" + selection.map(function (v) { return String(v); }).join(",");
      const base = canvas.dataset.explorer;
      show.href = base + (base.endsWith("?") ? "" : "&") + "f=" + encodeURIComponent("$map:box:" + value);
      show.hidden = false;
      describe();
    }

    // Hover / click: the nearest drawn point within 6 pixels, its item fetched once.
    const cache = new Map();
    let hoverFrame = 0;
    function hoverAt(p, pin) {
      if (pinned && !pin) return;
      cancelAnimationFrame(hoverFrame);
      hoverFrame = requestAnimationFrame(function () {
        if (!data) return;
        const sx = W / (view[2] - view[0]), sy = H / (view[3] - view[1]);
        let best = -1, bestD = 36;
        for (let i = 0; i < data.n; i++) {
          const dx = (data.x[i] - view[0]) * sx - p[0], dy = H - (data.y[i] - view[1]) * sy - p[1];
          const d = dx * dx + dy * dy;
          if (d < bestD) { bestD = d; best = i; }
        }
        pinned = pin && best >= 0;
        if (best < 0) { hover.hidden = true; return; }
        showItem(data.ids[best], p);
      });
    }

    async function showItem(id, p) {
      let item = cache.get(id);
      if (!item) {
        const response = await fetch(canvas.dataset.point + "?id=" + id, {credentials: "same-origin"});
        if (!response.ok) return;
        item = await response.json();
        cache.set(id, item);
      }
      hover.replaceChildren();
      const link = document.createElement("a");
      link.href = item.url;
      link.id = "map-hover-link";
      const img = document.createElement("img");
      img.src = item.thumb; img.alt = ""; img.width = 168; img.height = 126; img.style.objectFit = "contain";
      const title = document.createElement("div");
      title.textContent = item.title;
      link.append(img, title);
      hover.append(link);
      const r = canvas.getBoundingClientRect();
      hover.style.left = Math.min(p[0] * r.width / W + 12, r.width - 190) + "px";
      hover.style.top = Math.min(p[1] * r.height / H + 12, r.height - 170) + "px";
      hover.hidden = false;
    }

    (kind ? load(true) : Promise.resolve()).then(function () { return load(false); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
