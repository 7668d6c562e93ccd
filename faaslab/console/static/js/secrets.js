// Secrets Manager: the secrets (metadata), and a value revealed only on click.
import { api } from "./api.js";
import { fmtTime, h, pretty } from "./dom.js";

export async function mount(root) {
  const { secrets } = await api("secrets");
  const rows = secrets.map((s) => {
    const value = h("pre", { hidden: true, tabindex: 0, "aria-label": `Value of ${s.name}` });
    const button = h("button", { type: "button", "aria-expanded": "false", dataset: { reveal: s.name } }, "Reveal value");
    button.addEventListener("click", async () => {
      if (!value.hidden) {
        value.hidden = true; value.textContent = "";
        button.textContent = "Reveal value"; button.setAttribute("aria-expanded", "false");
        return;
      }
      try {
        const v = await api("secrets/reveal", { method: "POST", json: { id: s.arn } });
        value.textContent = v.binary ? "(binary secret)" : pretty(v.secret_string);
      } catch (e) { value.textContent = e.message; }
      value.hidden = false;
      button.textContent = "Hide value"; button.setAttribute("aria-expanded", "true");
    });
    return h("tr", { dataset: { secret: s.name } },
      h("td", {}, h("strong", {}, s.name), h("div", { class: "muted" }, s.description || ""), value),
      h("td", {}, s.owning_service || "—"),
      h("td", {}, fmtTime(s.last_changed)),
      h("td", {}, s.last_accessed ? new Date(s.last_accessed * 1000).toLocaleDateString() : "never"),
      h("td", {}, button));
  });
  root.append(h("h1", {}, "Secrets Manager"),
    h("section", { class: "panel", "aria-labelledby": "sec-h" }, h("h2", { id: "sec-h" }, `Secrets (${secrets.length})`),
      h("table", { "aria-label": "Secrets" }, h("thead", {}, h("tr", {}, ["Name", "Owner", "Last changed", "Last retrieved", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No secrets."))))));
  return () => {};
}
