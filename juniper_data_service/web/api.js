// Talking to the service: the API key (kept in this tab's sessionStorage, sent as
// X-API-Key), JSON requests with the API's error detail, and downloads.
const KEY = "juniper-data-api-key";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey();
  if (key) h["X-API-Key"] = key;
  return h;
}

export async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
  const init = { method, headers: headers({ Accept: accept }) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export async function getBytes(path, accept = "*/*") {
  return (await request(path, { accept })).arrayBuffer();
}

// A link's own navigation streams a download to disk, but cannot send X-API-Key.
// With a key set, the link fetches the file with the header and saves it from a blob
// URL instead (held in memory: fine for the sizes a browser page deals with).
export async function saveWithKey(link) {
  const response = await request(link.href, { accept: "*/*" });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = link.dataset.filename || "download";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function downloadLink(href, filename, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.dataset.filename = filename;
  a.setAttribute("download", filename);
  a.addEventListener("click", (event) => {
    if (!apiKey()) return;
    event.preventDefault();
    saveWithKey(a).catch((err) => showStatus(`download failed: ${err.message}`));
  });
  return a;
}

// An <img> of a route: a plain src without a key; with one, fetched with the header
// and shown from a blob URL.
export function loadImage(img, path) {
  if (!apiKey()) {
    img.src = path;
    return;
  }
  request(path, { accept: "image/png" })
    .then((r) => r.blob())
    .then((blob) => {
      img.src = URL.createObjectURL(blob);
      img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
    })
    .catch(() => img.remove());
}

export function showStatus(text) {
  const status = document.getElementById("status");
  status.textContent = text;
  if (text) setTimeout(() => { if (status.textContent === text) status.textContent = ""; }, 8000);
}
