// The page's router: #/ (catalogue), #/datasets/<id>, #/create; and the API key form.
import { apiKey, setApiKey, showStatus } from "./api.js";
import { renderCatalogue } from "./catalogue.js";
import { renderCreate } from "./create.js";
import { renderDataset } from "./dataset.js";

const view = document.getElementById("view");

async function route() {
  const hash = location.hash || "#/";
  view.replaceChildren();
  try {
    if (hash.startsWith("#/datasets/")) {
      await renderDataset(view, decodeURIComponent(hash.slice("#/datasets/".length)));
    } else if (hash.startsWith("#/create")) {
      await renderCreate(view);
    } else {
      await renderCatalogue(view, new URLSearchParams(hash.split("?")[1] || ""));
    }
  } catch (err) {
    const p = document.createElement("p");
    p.className = "notice bad";
    p.id = "view-error";
    p.textContent = err.status === 401 ? `${err.message}: enter the API key above.` : err.message;
    view.append(p);
  }
}

function showKeyState() {
  document.getElementById("key-state").textContent = apiKey() ? "key set for this tab" : "";
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("api-key");
  setApiKey(input.value.trim());
  input.value = "";
  showKeyState();
  showStatus("");
  route();
});
document.getElementById("key-clear").addEventListener("click", () => {
  setApiKey("");
  showKeyState();
  route();
});
window.addEventListener("hashchange", route);
showKeyState();
route();
