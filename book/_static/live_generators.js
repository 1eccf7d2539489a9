/* Live generators: the book's trained generators, exported to ONNX (scripts/export_onnx.py), run in the
 * reader's browser by onnxruntime-web, which the book serves itself (book/_static/vendor/onnxruntime, from
 * npm). No kernel and no network: a page holds a <div class="gancourse-live" data-widget="..."> and this
 * script builds the controls, loads onnxruntime only on such pages, and draws on every change.
 *
 * Widgets:
 *   interpolation  two latent vectors of a generator, a slider t, and the straight (lerp) and great-circle
 *                  (slerp) points at t drawn side by side (chapter 3).
 *
 * For the browser test, each widget element keeps its last draw in `element.gancourse` (the latent vectors
 * and the images, as plain arrays) and sets data-state="ready" and data-draws after each draw.
 */
(function () {
  "use strict";
  const STATIC = new URL(".", document.currentScript.src).href; // .../_static/
  const ORT = STATIC + "vendor/onnxruntime/";
  let ortLoading = null;
  const sessions = {};

  function loadOrt() {
    if (!ortLoading) {
      ortLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = ORT + "ort.wasm.min.js";
        script.onload = () => {
          window.ort.env.wasm.wasmPaths = ORT;
          window.ort.env.wasm.numThreads = 1; // a static page is not cross-origin isolated: no threads
          resolve(window.ort);
        };
        script.onerror = () => reject(new Error("could not load " + script.src));
        document.head.appendChild(script);
      });
    }
    return ortLoading;
  }

  async function session(model) {
    if (!sessions[model]) {
      sessions[model] = loadOrt().then((ort) =>
        ort.InferenceSession.create(STATIC + "models/" + model + ".onnx", { executionProviders: ["wasm"] }));
    }
    return sessions[model];
  }

  // Standard normal latent vectors from a seed: mulberry32 uniforms through Box-Muller.
  function normals(seed, n) {
    let a = seed >>> 0;
    const uniform = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(uniform(), 1e-12), v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  const dot = (x, y) => x.reduce((s, xi, i) => s + xi * y[i], 0);
  const norm = (x) => Math.sqrt(dot(x, x));

  function lerp(z0, z1, t) {
    return z0.map((a, i) => (1 - t) * a + t * z1[i]);
  }

  // As gancourse.latent.slerp: the great circle, or the straight line when the two are (nearly) parallel.
  function slerp(z0, z1, t) {
    const cos = Math.min(1, Math.max(-1, dot(z0, z1) / (norm(z0) * norm(z1))));
    const omega = Math.acos(cos);
    if (omega < 1e-4) return lerp(z0, z1, t);
    const a = Math.sin((1 - t) * omega) / Math.sin(omega), b = Math.sin(t * omega) / Math.sin(omega);
    return z0.map((x, i) => a * x + b * z1[i]);
  }

  // One 28x28 image in [-1, 1] onto a canvas, grey on black as in the book's figures.
  function paint(canvas, pixels) {
    const side = 28, ctx = canvas.getContext("2d");
    const image = ctx.createImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const v = Math.round(Math.min(1, Math.max(0, (pixels[i] + 1) / 2)) * 255);
      image.data.set([v, v, v, 255], 4 * i);
    }
    const small = document.createElement("canvas");
    small.width = small.height = side;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text) node.textContent = text;
    return node;
  }

  function interpolation(root) {
    const model = root.dataset.model || "dcgan";
    const dim = Number(root.dataset.latent || 100);
    let seed = Number(root.dataset.seed || 1);
    const slider = element("input", { type: "range", min: "0", max: "1", step: "0.05", value: "0.5",
                                      "aria-label": "position t along the path" });
    const readout = element("output", {}, "t = 0.50");
    const again = element("button", { type: "button", class: "gancourse-live-button" }, "another pair");
    const canvases = {};
    const figures = element("div", { class: "gancourse-live-images" });
    for (const path of ["lerp", "slerp"]) {
      const figure = element("figure", { class: "gancourse-live-figure" });
      canvases[path] = element("canvas", { width: "140", height: "140", role: "img",
                                           "aria-label": path + " point at t, drawn by the generator" });
      figure.append(canvases[path], element("figcaption", {}, path === "lerp" ? "straight line (lerp)"
                                                                               : "great circle (slerp)"));
      figures.append(figure);
    }
    const controls = element("div", { class: "gancourse-live-controls" });
    controls.append(element("label", {}, "t "), slider, readout, again);
    const status = element("p", { class: "gancourse-live-status" }, "loading the generator in your browser ...");
    root.append(controls, figures, status);

    let pending = Promise.resolve();
    async function draw() {
      const t = Number(slider.value);
      readout.textContent = "t = " + t.toFixed(2);
      const z0 = normals(2 * seed, dim), z1 = normals(2 * seed + 1, dim);
      const points = { lerp: lerp(z0, z1, t), slerp: slerp(z0, z1, t) };
      const ort = await loadOrt();
      const net = await session(model);
      const batch = new Float32Array(2 * dim);
      batch.set(points.lerp, 0);
      batch.set(points.slerp, dim);
      const result = await net.run({ z: new ort.Tensor("float32", batch, [2, dim]) });
      const images = result.images.data;
      paint(canvases.lerp, images.subarray(0, 784));
      paint(canvases.slerp, images.subarray(784, 1568));
      root.gancourse = { model, t, seed, z0: Array.from(z0), z1: Array.from(z1),
                         lerp: Array.from(points.lerp), slerp: Array.from(points.slerp),
                         images: Array.from(images) };
      if (root.dataset.state !== "ready") {
        root.dataset.firstImageMs = String(Math.round(performance.now())); // since the page was requested
        status.textContent = "drawn in your browser by the trained DCGAN (onnxruntime-web); no kernel needed";
      }
      root.dataset.draws = String(Number(root.dataset.draws || 0) + 1);
      root.dataset.state = "ready";
    }
    function redraw() {
      pending = pending.then(draw).catch((error) => {
        status.textContent = "the live generator could not run here: " + error.message;
        console.error("gancourse live generator:", error);
      });
    }
    slider.addEventListener("input", redraw);
    again.addEventListener("click", () => { seed += 1; redraw(); });
    redraw();
  }

  const WIDGETS = { interpolation };

  function start() {
    document.querySelectorAll(".gancourse-live[data-widget]").forEach((root) => {
      const build = WIDGETS[root.dataset.widget];
      if (build) build(root);
      else console.error("gancourse live generator: no widget called " + root.dataset.widget);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
