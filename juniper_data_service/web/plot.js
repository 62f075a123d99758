// A scatter plot on a canvas, drawn into its pixels (no antialiasing: every dot is
// exactly its class colour). The colours are the engine's (juniper_data_core.preview).
export const CLASS_COLORS = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

export function colorOf(label) {
  const [r, g, b] = CLASS_COLORS[label % CLASS_COLORS.length];
  return `rgb(${r}, ${g}, ${b})`;
}

function scale(values, size, margin, flip) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const usable = size - 1 - 2 * margin;
  return (v) => {
    const p = Math.round(((v - lo) / span) * usable + margin);
    return flip ? size - 1 - p : p;
  };
}

// Columns x and y of `data` (from arrow.readSplit), coloured by label.
export function drawScatter(canvas, data, x, y) {
  const { width, height } = canvas;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  image.data.fill(255);
  const n = data.n;
  const col = (c) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = data.X[i * data.nFeatures + c];
    return out;
  };
  const xs = col(x);
  // One feature: the vertical axis is the class.
  const ys = data.nFeatures > 1 ? col(y) : Float32Array.from(data.labels);
  const radius = n > 5000 ? 1 : 2;
  const margin = radius + 4;
  const px = scale(xs, width, margin, false);
  const py = scale(ys, height, margin, true);
  // Rows come grouped by class; a fixed stride through them keeps one class from
  // covering the others where they overlap.
  const stride = 7919;
  for (let k = 0; k < n; k++) {
    const i = n % stride ? (k * stride) % n : k;
    const [r, g, b] = CLASS_COLORS[data.labels[i] % CLASS_COLORS.length];
    const cx = px(xs[i]);
    const cy = py(ys[i]);
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        if (dx * dx + dy * dy > radius * radius + 1) continue;
        const at = ((cy + dy) * width + (cx + dx)) * 4;
        image.data[at] = r;
        image.data[at + 1] = g;
        image.data[at + 2] = b;
      }
    }
  }
  ctx.putImageData(image, 0, 0);
}
