/* Live generators: the book's trained generators, exported to ONNX (scripts/export_onnx.py), run in the
 * reader's browser by onnxruntime-web, which the book serves itself (book/_static/vendor/onnxruntime, from
 * npm). No kernel and no network: a page holds a <div class="gancourse-live" data-widget="..."> and this
 * script builds the controls at once, and loads onnxruntime and the model only when the panel comes near
 * the screen (a reader who never scrolls to it downloads neither). Every change of a control redraws.
 *
 * Widgets (each sits beside the Python cell that does the same in a kernel):
 *   interpolation  chapter 3: two latent vectors of the DCGAN, a slider t, and the straight (lerp) and
 *                  great-circle (slerp) points at t side by side;
 *   arithmetic     chapter 3: the averaged boldness direction (latent.StylePool.direction) added, with a
 *                  strength of the reader's choice, to six thin or bold digits of a chosen class;
 *   conditional    chapter 4: a class picker and a latent slider, drawn by the cGAN and the ACGAN;
 *   mixing         chapter 7: StyleGAN style mixing, the crossover layer and truncation psi on sliders.
 *
 * For the browser test, each widget element keeps its last draw in `element.gancourse` (the inputs it fed
 * the model and the images, as plain arrays) and sets data-state="ready" and data-draws after each draw.
 */
(function () {
  "use strict";
  const STATIC = new URL(".", document.currentScript.src).href; // .../_static/
  const ORT = STATIC + "vendor/onnxruntime/";
  const SIDE = 28; // every generator draws 28 x 28 digits
  let ortLoading = null;
  const sessions = {};
  const files = {};

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

  function session(model) {
    if (!sessions[model]) {
      sessions[model] = loadOrt().then((ort) =>
        ort.InferenceSession.create(STATIC + "models/" + model + ".onnx", { executionProviders: ["wasm"] }));
    }
    return sessions[model];
  }

  // A JSON file next to the models (manifest.json, dcgan_styles.json), fetched once.
  function json(name) {
    if (!files[name]) {
      files[name] = fetch(STATIC + "models/" + name).then((response) => {
        if (!response.ok) throw new Error("could not load models/" + name + " (HTTP " + response.status + ")");
        return response.json();
      });
    }
    return files[name];
  }

  async function run(model, feeds) {
    const ort = await loadOrt();
    const net = await session(model);
    const tensors = {};
    for (const [name, [type, data, dims]] of Object.entries(feeds)) tensors[name] = new ort.Tensor(type, data, dims);
    return (await net.run(tensors)).images.data;
  }

  // Standard normal numbers from a seed: mulberry32 uniforms through Box-Muller.
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

  // Rows of equal length joined into one Float32Array (a batch for the model).
  function batch(rows) {
    const out = new Float32Array(rows.length * rows[0].length);
    rows.forEach((row, i) => out.set(row, i * row.length));
    return out;
  }

  // One 28x28 image in [-1, 1] onto a canvas, grey on black as in the book's figures.
  function paint(canvas, pixels) {
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = Math.round(Math.min(1, Math.max(0, (pixels[i] + 1) / 2)) * 255);
      image.data.set([v, v, v, 255], 4 * i);
    }
    const small = document.createElement("canvas");
    small.width = small.height = SIDE;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function slider(label, min, max, step, value, format) {
    const input = element("input", { type: "range", min: String(min), max: String(max), step: String(step),
                                     value: String(value), "aria-label": label });
    const readout = element("output", {}, format(value));
    input.addEventListener("input", () => { readout.textContent = format(Number(input.value)); });
    const wrap = element("label", { class: "gancourse-live-control" }, label + " ");
    wrap.append(input, readout);
    return { input, node: wrap };
  }

  function select(label, options, value) {
    const input = element("select", { "aria-label": label });
    for (const [key, text] of options) {
      const option = element("option", { value: String(key) }, text);
      if (String(key) === String(value)) option.selected = true;
      input.append(option);
    }
    const wrap = element("label", { class: "gancourse-live-control" }, label + " ");
    wrap.append(input);
    return { input, node: wrap };
  }

  function button(text) {
    return element("button", { type: "button", class: "gancourse-live-button" }, text);
  }

  // A titled row of canvases; returns the row's node and its canvases.
  function canvasRow(title, count, size, describe) {
    const figure = element("figure", { class: "gancourse-live-figure" });
    const strip = element("div", { class: "gancourse-live-strip",
                                   style: `grid-template-columns: repeat(${count}, minmax(0, ${size}px))` });
    const canvases = [];
    for (let i = 0; i < count; i++) {
      const canvas = element("canvas", { width: String(size), height: String(size), role: "img",
                                         "aria-label": describe(i) });
      canvases.push(canvas);
      strip.append(canvas);
    }
    figure.append(strip, element("figcaption", {}, title));
    return { node: figure, canvases };
  }

  /* The frame every widget shares: controls, figures and a status line in `root`; `draw()` (async, returns
   * the state to keep) runs once when the panel nears the screen and again after every change, one at a time. */
  function panel(root, controls, figures, draw, done, columns = figures.length) {
    const bar = element("div", { class: "gancourse-live-controls" });
    bar.append(...controls);
    const images = element("div", { class: "gancourse-live-images", "data-columns": String(columns) });
    images.append(...figures);
    const status = element("p", { class: "gancourse-live-status" },
                           "the generator loads in your browser when this panel is on screen ...");
    root.append(bar, images, status);
    let pending = Promise.resolve();
    let started = false;
    function redraw() {
      if (!started) return; // the first draw happens when the panel is seen
      pending = pending.then(async () => {
        root.gancourse = await draw();
        if (root.dataset.state !== "ready") {
          root.dataset.firstImageMs = String(Math.round(performance.now())); // since the page was requested
          status.textContent = done + " (onnxruntime-web, in your browser; no kernel needed)";
        }
        root.dataset.draws = String(Number(root.dataset.draws || 0) + 1);
        root.dataset.state = "ready";
      }).catch((error) => {
        status.textContent = "the live generator could not run here: " + error.message;
        root.dataset.state = "failed";
        console.error("gancourse live generator:", error);
      });
    }
    function start() {
      if (started) return;
      started = true;
      status.textContent = "loading the generator in your browser ...";
      redraw();
    }
    if ("IntersectionObserver" in window) {
      const watch = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) { watch.disconnect(); start(); }
      }, { rootMargin: "300px" });
      watch.observe(root);
    } else {
      start();
    }
    return redraw;
  }

  function interpolation(root) {
    const model = root.dataset.model || "dcgan";
    const dim = Number(root.dataset.latent || 100);
    let seed = Number(root.dataset.seed || 1);
    const t = slider("t", 0, 1, 0.05, 0.5, (v) => "= " + v.toFixed(2));
    const again = button("another pair");
    const rows = {
      lerp: canvasRow("straight line (lerp)", 1, 140, () => "lerp point at t, drawn by the generator"),
      slerp: canvasRow("great circle (slerp)", 1, 140, () => "slerp point at t, drawn by the generator"),
    };
    const redraw = panel(root, [t.node, again], [rows.lerp.node, rows.slerp.node], async () => {
      const position = Number(t.input.value);
      const z0 = normals(2 * seed, dim), z1 = normals(2 * seed + 1, dim);
      const points = { lerp: lerp(z0, z1, position), slerp: slerp(z0, z1, position) };
      const images = await run(model, { z: ["float32", batch([points.lerp, points.slerp]), [2, dim]] });
      paint(rows.lerp.canvases[0], images.subarray(0, SIDE * SIDE));
      paint(rows.slerp.canvases[0], images.subarray(SIDE * SIDE, 2 * SIDE * SIDE));
      return { model, t: position, seed, z0: Array.from(z0), z1: Array.from(z1), lerp: Array.from(points.lerp),
               slerp: Array.from(points.slerp), images: Array.from(images) };
    }, "drawn by the trained DCGAN");
    t.input.addEventListener("input", redraw);
    again.addEventListener("click", () => { seed += 1; redraw(); });
  }

  function arithmetic(root) {
    const digits = Array.from({ length: 10 }, (_, d) => [d, String(d)]);
    const digit = select("digit", digits, root.dataset.digit || 1);
    const start = select("start from", [["thin", "the six thinnest"], ["bold", "the six boldest"]], "thin");
    const style = select("style", [["bolder", "bolder"], ["thinner", "thinner"]], "bolder");
    const strength = slider("strength", 0, 1.5, 0.25, 0.5, (v) => "= " + v.toFixed(2));
    const before = canvasRow("the pool's digits, as drawn", 6, 56, (i) => "digit " + (i + 1) + " before");
    const after = canvasRow("the same latents plus strength x the style direction", 6, 56,
                            (i) => "digit " + (i + 1) + " after");
    const redraw = panel(root, [digit.node, start.node, style.node, strength.node], [before.node, after.node],
      async () => {
        const styles = await json("dcgan_styles.json");
        const dim = styles.latent_dim, amount = Number(strength.input.value);
        const sign = style.input.value === "bolder" ? 1 : -1;
        const group = styles.groups[start.input.value][Number(digit.input.value)];
        const shifted = group.map((z) => z.map((x, i) => x + sign * amount * styles.boldness[i]));
        const latents = [...group, ...shifted];
        const images = await run("dcgan", { z: ["float32", batch(latents), [latents.length, dim]] });
        group.forEach((_, i) => {
          paint(before.canvases[i], images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE));
          const j = i + group.length;
          paint(after.canvases[i], images.subarray(j * SIDE * SIDE, (j + 1) * SIDE * SIDE));
        });
        return { digit: Number(digit.input.value), start: start.input.value, style: style.input.value,
                 strength: amount, latents: latents.map((z) => Array.from(z)), images: Array.from(images) };
      }, "drawn by the trained DCGAN", 1);
    for (const control of [digit, start, style, strength]) control.input.addEventListener("input", redraw);
  }

  function conditional(root) {
    const dim = Number(root.dataset.latent || 100);
    const models = (root.dataset.models || "cgan acgan").split(" ");
    let seed = Number(root.dataset.seed || 1);
    const label = select("digit", Array.from({ length: 10 }, (_, d) => [d, String(d)]), root.dataset.digit || 3);
    const t = slider("z", 0, 1, 0.05, 0, (v) => "= slerp(z0, z1, " + v.toFixed(2) + ")");
    const again = button("other z0, z1");
    const rows = models.map((m) => canvasRow(m === "cgan" ? "cGAN" : "ACGAN", 1, 140,
                                             () => m + "'s digit for the chosen label and latent"));
    const redraw = panel(root, [label.node, t.node, again], rows.map((r) => r.node), async () => {
      const position = Number(t.input.value), digit = Number(label.input.value);
      const z0 = normals(2 * seed, dim), z1 = normals(2 * seed + 1, dim);
      const z = slerp(z0, z1, position);
      const state = { label: digit, t: position, seed, z: Array.from(z), images: {} };
      for (const [i, m] of models.entries()) {
        const images = await run(m, { z: ["float32", z, [1, dim]],
                                      label: ["int64", BigInt64Array.from([BigInt(digit)]), [1]] });
        paint(rows[i].canvases[0], images);
        state.images[m] = Array.from(images);
      }
      return state;
    }, "drawn by the trained cGAN and ACGAN");
    label.input.addEventListener("input", redraw);
    t.input.addEventListener("input", redraw);
    again.addEventListener("click", () => { seed += 1; redraw(); });
  }

  function mixing(root) {
    let seed = Number(root.dataset.seed || 1);
    const crossover = slider("crossover", 0, 8, 1, 4, (v) => "= " + v + " of 8 layers from A");
    const psi = slider("truncation psi", 0, 1, 0.05, 1, (v) => "= " + v.toFixed(2));
    const again = button("another pair");
    const captions = ["A: all layers w_A", "the mix", "B: all layers w_B"];
    const rows = captions.map((c) => canvasRow(c, 1, 120, () => c + ", drawn by the StyleGAN"));
    const redraw = panel(root, [crossover.node, psi.node, again], rows.map((r) => r.node), async () => {
      const manifest = (await json("manifest.json")).models.stylegan;
      const dim = manifest.latent_dim, layers = manifest.num_styles;
      const a = normals(3 * seed, dim), b = normals(3 * seed + 1, dim);
      // the same noise maps for all three images: z_a = [a, a, b] and z_b = [a, b, b] with one crossover give
      // pure A, the mix and pure B in one run
      const noiseInputs = manifest.inputs.filter((i) => i.name.startsWith("noise_"));
      const noise = {};
      let offset = 0;
      const noiseSeed = normals(3 * seed + 2, noiseInputs.reduce((s, i) => s + i.shape[2] * i.shape[3], 0));
      for (const input of noiseInputs) {
        const size = input.shape[2] * input.shape[3];
        const one = noiseSeed.slice(offset, offset + size);
        offset += size;
        noise[input.name] = ["float32", batch([one, one, one]), [3, 1, input.shape[2], input.shape[3]]];
      }
      const c = Number(crossover.input.value), p = Number(psi.input.value);
      const images = await run("stylegan", {
        z_a: ["float32", batch([a, a, b]), [3, dim]], z_b: ["float32", batch([a, b, b]), [3, dim]],
        crossover: ["int64", BigInt64Array.from([BigInt(c)]), []], psi: ["float32", Float32Array.from([p]), []],
        ...noise });
      rows.forEach((row, i) => paint(row.canvases[0], images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE)));
      return { crossover: c, psi: p, seed, layers, z_a: Array.from(a), z_b: Array.from(b),
               noise: noiseInputs.map((i) => Array.from(noise[i.name][1].subarray(0, i.shape[2] * i.shape[3]))),
               noise_shapes: noiseInputs.map((i) => [i.shape[2], i.shape[3]]), images: Array.from(images) };
    }, "drawn by the trained StyleGAN");
    crossover.input.addEventListener("input", redraw);
    psi.input.addEventListener("input", redraw);
    again.addEventListener("click", () => { seed += 1; redraw(); });
  }

  const WIDGETS = { interpolation, arithmetic, conditional, mixing };

  // The book's ipywidgets (chapters 1-3) keep their controls on a static page, but nothing redraws without a
  // kernel: say so above each one, once the widget manager has rendered it.
  function noteStaticWidgets() {
    const mark = () => document.querySelectorAll(".widget-interact:not([data-gancourse-note])").forEach((w) => {
      w.dataset.gancourseNote = "static";
      w.prepend(element("p", { class: "gancourse-static-note" },
                        "These controls need a live Python kernel (see the launch buttons at the top of the page); " +
                        "on this static page they do not redraw."));
    });
    mark();
    // only a page with embedded widget views renders any; the others need no watching
    if (!document.querySelector('script[type="application/vnd.jupyter.widget-view+json"]')) return;
    const watch = new MutationObserver(mark);
    watch.observe(document.body, { childList: true, subtree: true });
    setTimeout(() => watch.disconnect(), 30000);
  }

  function start() {
    if (!window.google || !window.google.colab) noteStaticWidgets();
    document.querySelectorAll(".gancourse-live[data-widget]").forEach((root) => {
      const build = WIDGETS[root.dataset.widget];
      if (build) build(root);
      else console.error("gancourse live generator: no widget called " + root.dataset.widget);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
