// A dataset's page: recipe and meta, a scatter plot of up to 50,000 rows, class counts,
// downloads.
import { downloadLink, getBytes, getJSON } from "./api.js";
import { readSplit } from "./arrow.js";
import { colorOf, drawScatter } from "./plot.js";

const MAX_POINTS = 50_000;
// Wide data (MNIST: 784 features) would make 50,000 rows a download of 150 MB: fewer rows then.
const MAX_PLOT_BYTES = 16 << 20;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function metaList(meta) {
  const keys = ["dataset_id", "generator", "generator_version", "n_samples", "n_train", "n_test",
    "n_features", "n_classes", "backend", "created_at", "expires_at", "last_accessed_at",
    "access_count", "checksum", "dataset_name", "dataset_version", "description", "created_by",
    "parent_dataset_id"];
  const dl = el("dl", { className: "meta", id: "meta" });
  for (const k of keys) {
    const v = meta[k];
    dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "—" : String(v)));
  }
  dl.append(el("dt", {}, "tags"), el("dd", {}, meta.tags.join(", ") || "—"));
  return dl;
}

function columnSelect(id, n, chosen) {
  const s = el("select", { id });
  for (let i = 0; i < n; i++) s.append(el("option", { value: String(i), selected: i === chosen }, `feature ${i}`));
  return s;
}

export async function renderDataset(view, id) {
  const base = `/v1/datasets/${encodeURIComponent(id)}`;
  const meta = await getJSON(base);
  const recipe = { generator: meta.generator, version: meta.generator_version, params: meta.params };

  const counts = el("table", { id: "class-counts" },
    el("thead", {}, el("tr", {}, el("th", {}, "class"), el("th", {}, "rows"))));
  const tbody = el("tbody");
  for (const [label, n] of Object.entries(meta.class_distribution)) {
    tbody.append(el("tr", {}, el("td", {}, el("span", { className: "swatch" }), label),
      el("td", { className: "num" }, n.toLocaleString("en"))));
    // Colour set through the CSSOM (allowed by the policy), not an inline style attribute.
    tbody.lastChild.querySelector(".swatch").style.backgroundColor = colorOf(Number(label));
  }
  counts.append(tbody);

  const downloads = el("div", { className: "downloads", id: "downloads" });
  const file = (ext, split) => `${id}${split ? `-${split}` : ""}.${ext}`;
  downloads.append(
    el("div", {}, el("strong", {}, "NPZ: "),
      downloadLink(`${base}/artifact?format=npz`, file("npz"), "all six arrays"),
      ...["full", "train", "test"].map((s) => downloadLink(`${base}/artifact?format=npz&split=${s}`, file("npz", s), s))),
    el("div", {}, el("strong", {}, "Arrow: "),
      ...["full", "train", "test"].map((s) => downloadLink(`${base}/artifact?format=arrow&split=${s}`, file("arrows", s), s))),
    el("div", {}, el("strong", {}, "Image: "), downloadLink(`${base}/preview.png?width=1024&height=1024`, file("png"), "preview.png")),
  );

  const rowBytes = 4 * (meta.n_features + meta.n_classes) + 4; // X, y one-hot, label
  const maxRows = Math.max(1, Math.min(MAX_POINTS, Math.floor(MAX_PLOT_BYTES / rowBytes)));
  const canvas = el("canvas", { id: "plot", width: 560, height: 560 });
  const caption = el("p", { className: "muted", id: "plot-caption" }, "loading rows…");
  // Full is in generation order (grouped by class): past 50,000 rows its prefix could be
  // one class, so large datasets start on train, whose order is shuffled (a fair sample).
  const split = el("select", { id: "plot-split" },
    ...["full", "train", "test"].map((s) => el("option", { value: s, selected: s === (meta.n_samples > maxRows ? "train" : "full") }, s)));
  const controls = el("div", { className: "row" }, el("label", {}, "Split ", split));
  let xSel = null;
  let ySel = null;
  if (meta.n_features > 2) {
    xSel = columnSelect("plot-x", meta.n_features, 0);
    ySel = columnSelect("plot-y", meta.n_features, 1);
    controls.append(el("label", {}, "x ", xSel), el("label", {}, "y ", ySel));
  }

  let data = null;
  const redraw = () => drawScatter(canvas, data, xSel ? Number(xSel.value) : 0, ySel ? Number(ySel.value) : 1);
  const load = async () => {
    caption.textContent = "loading rows…";
    canvas.dataset.drawn = "";
    const buffer = await getBytes(`${base}/artifact?format=arrow&split=${split.value}&offset=0&limit=${maxRows}`,
      "application/vnd.apache.arrow.stream");
    data = readSplit(buffer);
    redraw();
    const total = split.value === "full" ? meta.n_samples : meta[`n_${split.value}`];
    caption.textContent = `${data.n.toLocaleString("en")} of ${total.toLocaleString("en")} rows of ${split.value}` +
      (data.n < total ? " (the first ones)" : "");
    canvas.dataset.drawn = String(data.n);
  };
  split.addEventListener("change", () => load().catch((e) => { caption.textContent = e.message; }));
  xSel?.addEventListener("change", redraw);
  ySel?.addEventListener("change", redraw);

  view.append(
    el("h1", {}, meta.dataset_name ? `${meta.dataset_name} v${meta.dataset_version}` : id),
    el("div", { className: "layout" },
      el("section", {}, controls, canvas, caption),
      el("section", {},
        el("h2", {}, "Classes"), counts,
        el("h2", {}, "Download"), downloads,
        el("h2", {}, "Recipe"), el("pre", { id: "recipe" }, JSON.stringify(recipe, null, 2)),
        el("h2", {}, "Meta"), metaList(meta))),
  );
  await load();
}
