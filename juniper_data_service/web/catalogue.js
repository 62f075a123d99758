// The catalogue: datasets newest first, filtered by generator and tag, a page at a time.
import { getJSON, loadImage, request, showStatus } from "./api.js";

const PAGE = 20;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "never";
}

export async function renderCatalogue(view, query) {
  const generator = query.get("generator") || "";
  const tag = query.get("tag") || "";
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const go = (changes) => {
    const q = new URLSearchParams({ generator, tag, offset: String(offset), ...changes });
    for (const [k, v] of [...q]) if (!v || v === "0") q.delete(k);
    location.hash = `#/?${q}`;
  };

  const generators = await getJSON("/v1/generators");
  const genSelect = el("select", { id: "filter-generator" }, el("option", { value: "" }, "any generator"));
  for (const g of generators) genSelect.append(el("option", { value: g.name, selected: g.name === generator }, g.name));
  const tagInput = el("input", { id: "filter-tag", value: tag, placeholder: "tag" });
  const filters = el("form", { className: "filters", id: "filters" },
    el("label", {}, "Generator ", genSelect), el("label", {}, "Tag ", tagInput),
    el("button", { type: "submit" }, "Filter"));
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    go({ generator: genSelect.value, tag: tagInput.value.trim(), offset: "0" });
  });

  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (generator) params.set("generator", generator);
  if (tag) params.set("tags", tag);
  const page = await getJSON(`/v1/datasets/filter?${params}`);

  const head = el("tr", {}, ...["", "Name", "Generator", "Rows", "Tags", "Created", "Expires", ""].map((h) => el("th", {}, h)));
  const body = el("tbody");
  for (const m of page.datasets) {
    const id = m.dataset_id;
    const img = el("img", { className: "thumb", alt: "", width: 48, height: 48 });
    loadImage(img, `/v1/datasets/${encodeURIComponent(id)}/preview.png?width=96&height=96`);
    const name = m.dataset_name ? `${m.dataset_name} v${m.dataset_version}` : id;
    const del = el("button", { className: "danger", type: "button", textContent: "Delete" });
    del.dataset.id = id;
    del.addEventListener("click", async () => {
      if (!confirm(`Delete ${id}? Its recipe and cached bytes go; this cannot be undone.`)) return;
      try {
        await request(`/v1/datasets/${encodeURIComponent(id)}`, { method: "DELETE" });
        showStatus("");
        view.replaceChildren();
        await renderCatalogue(view, query);
      } catch (err) {
        showStatus(`delete failed: ${err.message}`);
      }
    });
    const row = el("tr", { className: "dataset" },
      el("td", {}, img),
      el("td", {}, el("a", { href: `#/datasets/${encodeURIComponent(id)}`, className: "dataset-link" }, name)),
      el("td", {}, m.generator), el("td", { className: "num" }, m.n_samples.toLocaleString("en")),
      el("td", {}, ...m.tags.map((t) => el("span", { className: "tag" }, t))),
      el("td", {}, when(m.created_at)), el("td", {}, when(m.expires_at)), el("td", {}, del));
    row.dataset.id = id;
    body.append(row);
  }
  const first = page.total ? offset + 1 : 0;
  const last = Math.min(offset + PAGE, page.total);
  const prev = el("button", { type: "button", id: "page-prev", disabled: offset === 0 }, "Previous");
  const next = el("button", { type: "button", id: "page-next", disabled: last >= page.total }, "Next");
  prev.addEventListener("click", () => go({ offset: String(Math.max(0, offset - PAGE)) }));
  next.addEventListener("click", () => go({ offset: String(offset + PAGE) }));
  view.append(
    el("h1", {}, "Datasets"), filters,
    page.total ? el("table", { id: "catalogue" }, el("thead", {}, head), body)
      : el("p", { className: "muted", id: "empty" }, "No datasets match. ", el("a", { href: "#/create" }, "Create one.")),
    el("div", { className: "pager" }, prev, el("span", { id: "page-info" }, `${first}–${last} of ${page.total}`), next),
  );
}
