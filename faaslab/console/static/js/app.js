// The console's shell: hash routes (#/lambda, #/rds, #/s3, #/secrets), one page mounted at
// a time, one event stream for all of them.
import { api, connect } from "./api.js";

const pages = {
  lambda: () => import("./lambda.js"),
  rds: () => import("./rds.js"),
  s3: () => import("./s3.js"),
  secrets: () => import("./secrets.js"),
};
const main = document.getElementById("main");
let unmount = null;
let first = true;

async function route() {
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || "lambda";
  const load = pages[name] || pages.lambda;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (unmount) { unmount(); unmount = null; }
  main.replaceChildren();
  main.removeAttribute("data-ready");
  const page = await load();
  const rest = location.hash.replace(/^#\/\w+\/?/, "");
  unmount = await page.mount(main, decodeURIComponent(rest));
  main.dataset.ready = name;  // (tests wait on this)
  if (first) {
    first = false;
    performance.mark("console-interactive");
  } else {
    main.focus();
  }
}

const status = document.getElementById("live-status");
connect(async (s) => {
  status.textContent = s === "live" ? "● live" : s;
  if (s === "live") return;
  try { await api("environments"); } catch (e) {
    // (a new `faaslab up` has a new token: this page's cookie no longer opens anything)
    if (e.status === 403) status.textContent = "session ended: open the console URL faaslab up printed";
  }
});
window.addEventListener("hashchange", route);
route();
