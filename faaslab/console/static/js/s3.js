// S3: buckets, objects by prefix, upload with progress, download, preview of text and
// images. The browser calls faaslab's S3 API itself with requests the console signs
// (s3_view.py), so listings and uploads are S3's own, streamed, of any size; downloads and
// previews are links to the console's in-process GetObject.
import { api } from "./api.js";
import { clear, field, fmtBytes, h } from "./dom.js";

const TEXT = /\.(txt|json|csv|tsv|md|log|py|js|mjs|cjs|ts|html|css|xml|ya?ml|toml|ini|sql|sh|java)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp|ico)$/i;
const PREVIEW_BYTES = 64 * 1024;

async function signed(operation, params) {
  return api("s3/sign", { method: "POST", json: { operation, params } });
}

async function s3(operation, params) {
  const { url, method, headers } = await signed(operation, params);
  return fetch(url, { method, headers });
}

async function s3xml(operation, params) {
  const resp = await s3(operation, params);
  const doc = new DOMParser().parseFromString(await resp.text(), "application/xml");
  if (!resp.ok) {
    const code = text(doc, "Code"), message = text(doc, "Message");
    throw new Error(`${code || resp.status}: ${message}`);
  }
  return doc;
}

const all = (node, tag) => Array.from(node.getElementsByTagNameNS("*", tag));
const text = (node, tag) => { const el = all(node, tag)[0]; return el ? el.textContent : ""; };

export async function mount(root, rest) {
  const [bucketName, ...prefixParts] = rest ? rest.split("/") : [];
  const { buckets } = await api("s3/buckets");
  const bucket = buckets.find((b) => b.name === bucketName) || buckets[0];
  const picker = h("ul", { class: "picker", "aria-label": "Buckets" },
    buckets.map((b) => h("li", {}, h("button", {
      type: "button", "aria-pressed": String(b === bucket), dataset: { bucket: b.name },
      onclick: () => { location.hash = `#/s3/${encodeURIComponent(b.name)}`; },
    }, b.name))));
  const newBucket = h("input", { type: "text", id: "new-bucket", pattern: "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]" });
  const bucketMessage = h("p", { role: "status" });
  const createBucket = h("form", {}, field("New bucket", newBucket), h("button", { type: "submit" }, "Create bucket"), bucketMessage);
  createBucket.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const resp = await s3("CreateBucket", { Bucket: newBucket.value });
      if (!resp.ok) {
        const doc = new DOMParser().parseFromString(await resp.text(), "application/xml");
        throw new Error(`${text(doc, "Code")}: ${text(doc, "Message")}`);
      }
      location.hash = `#/s3/${encodeURIComponent(newBucket.value)}`;
    } catch (err) { bucketMessage.className = "error"; bucketMessage.textContent = err.message; }
  });
  const detail = h("div", { class: "grid2" });
  root.append(h("h1", {}, "S3"), h("div", { class: "cols" },
    h("nav", { class: "panel", "aria-label": "Bucket list" }, picker, createBucket), detail));
  if (bucket) await browser(detail, bucket.name, prefixParts.length ? prefixParts.join("/") : "");
  return () => {};
}

async function browser(root, bucket, prefix) {
  const rows = h("tbody", { id: "object-rows" });
  const crumbs = h("div", { class: "crumbs", "aria-label": "Prefix" });
  const status = h("p", { role: "status", class: "muted" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const preview = h("div", { class: "preview", id: "preview", "aria-live": "polite" });
  const file = h("input", { type: "file", id: "upload-file", multiple: true });
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true });
  const uploadStatus = h("p", { id: "upload-status", role: "status" });
  let token = null, count = 0;

  const go = (p) => { location.hash = `#/s3/${encodeURIComponent(bucket)}/${p}`; };
  const parts = prefix.split("/").filter(Boolean);
  crumbs.append(h("button", { type: "button", onclick: () => go("") }, bucket));
  parts.forEach((p, i) => crumbs.append("/", h("button", { type: "button", onclick: () => go(parts.slice(0, i + 1).join("/") + "/") }, p)));

  async function list(reset) {
    if (reset) { rows.replaceChildren(); count = 0; token = null; }
    const params = { Bucket: bucket, Prefix: prefix, Delimiter: "/", MaxKeys: 500 };
    if (token) params.ContinuationToken = token;
    try {
      const doc = await s3xml("ListObjectsV2", params);
      // (botocore asks for EncodingType=url: keys and prefixes come percent-encoded)
      const encoded = text(doc, "EncodingType") === "url";
      const dec = (s) => (encoded ? decodeURIComponent(s.replace(/\+/g, "%20")) : s);
      for (const cp of all(doc, "CommonPrefixes")) {
        const p = dec(text(cp, "Prefix"));
        rows.append(h("tr", { dataset: { prefix: p } }, h("td", {}, h("button", { type: "button", onclick: () => go(p) }, `${p.slice(prefix.length)}`)),
          h("td", { class: "muted" }, "folder"), h("td", {}), h("td", {})));
        count += 1;
      }
      for (const c of all(doc, "Contents")) {
        const key = dec(text(c, "Key")), size = Number(text(c, "Size"));
        rows.append(h("tr", { dataset: { key } },
          h("td", {}, key.slice(prefix.length)),
          h("td", { class: "num" }, fmtBytes(size)),
          h("td", {}, new Date(text(c, "LastModified")).toLocaleString()),
          h("td", {}, h("div", { class: "row" },
            h("a", { class: "button", href: objectUrl(bucket, key, true), download: key.split("/").pop(), "aria-label": `Download ${key}` }, "Download"),
            h("button", { type: "button", "aria-label": `Preview ${key}`, onclick: () => show(bucket, key, size, preview) }, "Preview"),
            h("button", { type: "button", "aria-label": `Versions of ${key}`, onclick: () => versions(bucket, key, preview) }, "Versions"),
            h("button", { type: "button", class: "danger", "aria-label": `Delete ${key}`, onclick: () => remove(key) }, "Delete")))));
        count += 1;
      }
      token = text(doc, "IsTruncated") === "true" ? text(doc, "NextContinuationToken") : null;
      more.hidden = !token;
      status.textContent = `${count} item${count === 1 ? "" : "s"}${token ? " (more below)" : ""}`;
    } catch (e) { status.className = "error"; status.textContent = e.message; }
  }
  async function remove(key) {
    if (!confirm(`Delete ${key}?`)) return;
    const resp = await s3("DeleteObject", { Bucket: bucket, Key: key });
    if (!resp.ok) { status.className = "error"; status.textContent = `Delete failed: HTTP ${resp.status}`; return; }
    await list(true);
  }
  more.addEventListener("click", () => list(false));

  async function upload() {
    const files = Array.from(file.files);
    if (!files.length) { uploadStatus.textContent = "Choose a file first."; return; }
    progress.hidden = false;
    for (const f of files) {
      const key = prefix + f.name;
      try {
        await put(await signed("PutObject", { Bucket: bucket, Key: key }), f, (done) => { progress.value = done; uploadStatus.textContent = `Uploading ${key}: ${done.toFixed(0)}%`; });
        uploadStatus.className = "s-ok";
        uploadStatus.textContent = `Uploaded ${key} (${fmtBytes(f.size)}).`;
      } catch (e) {
        uploadStatus.className = "error";
        uploadStatus.textContent = `Upload of ${key} failed: ${e.message}`;
        return;
      }
    }
    file.value = "";
    await list(true);
  }
  root.append(
    h("section", { class: "panel", "aria-labelledby": "obj-h" },
      h("h2", { id: "obj-h" }, `Objects in ${bucket}`), crumbs,
      h("table", { "aria-label": `Objects in ${bucket}` }, h("thead", {}, h("tr", {}, ["Name", "Size", "Last modified", "Actions"].map((c) => h("th", { scope: "col" }, c)))), rows),
      status, more),
    h("section", { class: "panel", "aria-labelledby": "up-h" },
      h("h2", { id: "up-h" }, "Upload"), field(`Files (to ${prefix || "the bucket's root"})`, file),
      h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "upload", onclick: upload }, "Upload"), progress),
      uploadStatus,
      h("h2", {}, "Preview"), preview));
  await list(true);
}

function put({ url, method, headers }, body, onProgress) {  // XHR: fetch has no upload progress
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(100); resolve(); return; }
      const doc = new DOMParser().parseFromString(xhr.responseText, "application/xml");
      reject(new Error(`${text(doc, "Code") || xhr.status}: ${text(doc, "Message")}`));
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

function objectUrl(bucket, key, download = false, version = null) {
  const q = new URLSearchParams({ bucket, key });
  if (version) q.set("version", version);
  if (download) q.set("download", "1");
  return `api/s3/object?${q}`;
}

async function versions(bucket, key, root) {  // ListObjectVersions, this key's entries
  clear(root, h("p", {}, `Versions of ${key}…`));
  try {
    const doc = await s3xml("ListObjectVersions", { Bucket: bucket, Prefix: key });
    const encoded = text(doc, "EncodingType") === "url";
    const dec = (s) => (encoded ? decodeURIComponent(s.replace(/\+/g, "%20")) : s);
    const entries = [...all(doc, "Version"), ...all(doc, "DeleteMarker")]
      .filter((v) => dec(text(v, "Key")) === key)
      .sort((a, b) => text(b, "LastModified").localeCompare(text(a, "LastModified")));
    clear(root, h("p", {}, `Versions of ${key}: ${entries.length}`),
      h("table", { id: "versions", "aria-label": `Versions of ${key}` }, h("thead", {}, h("tr", {}, ["Version", "Latest", "Modified", "Size", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, entries.map((v) => {
          const id = text(v, "VersionId"), marker = v.localName === "DeleteMarker";
          return h("tr", {}, h("td", {}, id), h("td", {}, text(v, "IsLatest") === "true" ? "latest" : ""),
            h("td", {}, new Date(text(v, "LastModified")).toLocaleString()),
            h("td", { class: "num" }, marker ? "delete marker" : fmtBytes(Number(text(v, "Size")))),
            h("td", {}, marker ? "" : h("a", { class: "button", href: objectUrl(bucket, key, true, id), download: key.split("/").pop() }, "Download")));
        }))));
  } catch (e) { clear(root, h("p", { class: "error" }, e.message)); }
}

async function show(bucket, key, size, root) {
  const url = objectUrl(bucket, key);
  if (IMAGE.test(key)) {
    clear(root, h("p", {}, key), h("img", { src: url, alt: `Preview of ${key}` }));
    return;
  }
  if (TEXT.test(key) || size <= PREVIEW_BYTES) {
    const resp = await fetch(url, { headers: { Range: `bytes=0-${PREVIEW_BYTES - 1}` } });
    const body = await resp.text();
    clear(root, h("p", {}, key, size > PREVIEW_BYTES ? ` (first ${fmtBytes(PREVIEW_BYTES)})` : ""),
      h("pre", { id: "preview-text", tabindex: 0 }, body));
    return;
  }
  clear(root, h("p", { class: "muted" }, `${key}: no preview for this type; download it instead.`));
}
