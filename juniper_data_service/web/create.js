// The create form, built from a generator's JSON schema; the API's errors are shown
// next to the fields they name.
import { ApiError, getJSON, request } from "./api.js";

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// The non-null branch of an optional field ({"anyOf": [{...}, {"type": "null"}]}).
function kindOf(prop) {
  const branches = prop.anyOf ?? [prop];
  const nullable = branches.some((b) => b.type === "null");
  const main = branches.find((b) => b.type !== "null") ?? {};
  if (prop.enum || main.enum) return { type: "enum", values: prop.enum ?? main.enum, nullable };
  if (branches.length > (nullable ? 2 : 1)) return { type: "json", nullable }; // a number or a list, say
  return { type: main.type ?? "json", nullable, main };
}

function input(name, prop) {
  const kind = kindOf(prop);
  const dflt = prop.default;
  let node;
  if (kind.type === "boolean") {
    node = el("input", { type: "checkbox", checked: Boolean(dflt) });
  } else if (kind.type === "enum") {
    node = el("select", {}, ...kind.values.map((v) => el("option", { value: v, selected: v === dflt }, String(v))));
  } else if (kind.type === "integer" || kind.type === "number") {
    node = el("input", { type: "text", inputMode: kind.type === "integer" ? "numeric" : "decimal" });
    node.placeholder = name === "seed" ? "empty: draw one" : dflt === null || dflt === undefined ? "" : String(dflt);
  } else {
    node = el("input", { type: "text", placeholder: dflt === undefined ? "" : JSON.stringify(dflt) });
  }
  node.name = name;
  node.id = `param-${name}`;
  node.dataset.kind = kind.type;
  return node;
}

// The params to send: fields left empty keep their defaults, except an empty seed,
// which asks the service to draw one (and the page then shows it).
// Integers past 2**53 would change in JSON.parse; they are refused here (in `errors`).
function collect(form, properties, errors) {
  const params = {};
  for (const name of Object.keys(properties)) {
    const node = form.elements[name];
    if (node.type === "checkbox") {
      params[name] = node.checked;
      continue;
    }
    const text = node.value.trim();
    if (text === "") {
      if (name === "seed") params.seed = null;
      continue;
    }
    if (node.dataset.kind === "integer" && /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) {
      errors[name] = `must be within ±${Number.MAX_SAFE_INTEGER} here (a browser rounds larger integers); use the API or the CLI`;
    } else if (node.dataset.kind === "enum") params[name] = text;
    else {
      try {
        params[name] = JSON.parse(text);
      } catch {
        params[name] = text; // let the API say what is wrong with it
      }
    }
  }
  return params;
}

// "invalid spiral parameters: n_spirals: must be ...; noise: ..." -> {field: message}.
function fieldErrors(detail, names) {
  const out = {};
  if (Array.isArray(detail)) {
    for (const e of detail) out[e.loc.find((part) => names.includes(part)) ?? e.loc[e.loc.length - 1]] = e.msg;
    return out;
  }
  const text = String(detail).replace(/^invalid \S+ parameters: /, "");
  const pattern = new RegExp(`(?:^|; )(${names.join("|")}): `, "g");
  const marks = [...text.matchAll(pattern)];
  marks.forEach((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].index : text.length;
    out[m[1]] = text.slice(m.index + m[0].length, end);
  });
  return out;
}

export async function renderCreate(view) {
  const generators = (await getJSON("/v1/generators")).filter((g) => g.available);
  const chooser = el("select", { id: "create-generator" }, ...generators.map((g) => el("option", { value: g.name }, g.name)));
  const form = el("form", { id: "create-form", noValidate: true });
  const result = el("div", { id: "create-result" });
  view.append(el("h1", {}, "Create a dataset"), el("div", { className: "row" }, el("label", {}, "Generator ", chooser)), form, result);

  const build = async () => {
    const name = chooser.value;
    const schema = await getJSON(`/v1/generators/${encodeURIComponent(name)}/schema`);
    const properties = schema.properties ?? {};
    const fields = {};
    form.replaceChildren();
    const row = (key, label, node, help) => {
      const error = el("span", { className: "error", id: `error-${key}` });
      const div = el("div", { className: "field" }, el("label", { htmlFor: node.id }, label), node,
        el("span", {}, el("span", { className: "help" }, help ?? ""), " ", error));
      fields[key] = div;
      form.append(div);
    };
    form.append(el("h2", {}, `${name} parameters`));
    for (const [key, prop] of Object.entries(properties)) row(key, key, input(key, prop), prop.description);
    form.append(el("h2", {}, "Dataset"));
    row("name", "name", el("input", { id: "body-name", name: "body_name" }), "groups versions of a dataset");
    row("tags", "tags", el("input", { id: "body-tags", name: "body_tags", placeholder: "a, b" }), "comma separated");
    row("ttl_seconds", "ttl_seconds", el("input", { id: "body-ttl", name: "body_ttl", placeholder: "never expires" }), "seconds to keep it");
    form.append(el("div", { className: "row" }, el("button", { type: "submit", className: "primary", id: "create-submit" }, "Create")));
    form.onsubmit = async (event) => {
      event.preventDefault();
      for (const div of Object.values(fields)) {
        div.classList.remove("invalid");
        div.querySelector(".error").textContent = "";
      }
      result.replaceChildren();
      const showErrors = (byField) => {
        const named = Object.keys(byField).filter((k) => fields[k]);
        for (const k of named) {
          fields[k].classList.add("invalid");
          fields[k].querySelector(".error").textContent = byField[k];
        }
        return named.length;
      };
      const local = {};
      const params = collect(form, properties, local);
      if (showErrors(local)) return;
      const body = { generator: name, params };
      const dsName = form.elements.body_name.value.trim();
      const tags = form.elements.body_tags.value.split(",").map((t) => t.trim()).filter(Boolean);
      const ttl = form.elements.body_ttl.value.trim();
      if (dsName) body.name = dsName;
      if (tags.length) body.tags = tags;
      if (ttl) body.ttl_seconds = Number.isNaN(Number(ttl)) ? ttl : Number(ttl);
      try {
        const created = await (await request("/v1/datasets", { method: "POST", body })).json();
        const id = created.dataset_id;
        const seedNote = params.seed === null ? ` with the seed it drew: ${created.meta.params.seed}` : "";
        result.append(el("p", { className: "notice", id: "created" }, `Created `,
          el("a", { href: `#/datasets/${encodeURIComponent(id)}`, id: "created-link" }, id), seedNote,
          ...created.warnings.map((w) => el("div", { className: "muted" }, w))));
        if (params.seed === null) result.querySelector("#created").dataset.seed = String(created.meta.params.seed);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (!showErrors(fieldErrors(err.detail, Object.keys(fields)))) result.append(el("p", { className: "notice bad", id: "create-error" }, err.message));
      }
    };
  };
  chooser.addEventListener("change", () => build());
  await build();
}
