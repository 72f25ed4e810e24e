// entrolab live view: polls the server's JSON and refreshes the page in place.
"use strict";
(function () {
  const body = document.body, page = body.dataset.page, poll = 1500;
  const banner = (msg) => { const b = document.getElementById("banner"); b.textContent = msg; b.hidden = !msg; };
  const num = (v) => (v === null || v === undefined) ? "–" : Number(v).toPrecision(3);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (r.status === 404) { const e = new Error(await r.text()); e.gone = true; throw e; }
    if (!r.ok) throw new Error(await r.text());
    return r.json();
  }
  function every(f) { const tick = async () => { try { await f(); } catch (e) { banner(e.gone ? "This run is gone: " + e.message : "Server unreachable: " + e.message); } setTimeout(tick, poll); }; setTimeout(tick, poll); }
  // figures: hide those without data; reload all when the version changes
  const figs = () => document.querySelectorAll("img.fig");
  figs().forEach((img) => {
    img.addEventListener("error", () => img.classList.add("nodata"));
    img.addEventListener("load", () => img.classList.remove("nodata"));
    if (img.complete && img.naturalWidth === 0) img.classList.add("nodata"); // failed before this ran
  });
  function refreshFigures(version) {
    if (version === body.dataset.version) return;
    body.dataset.version = version;
    body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
    figs().forEach((img) => { img.src = img.dataset.src + "&v=" + encodeURIComponent(version); img.dataset.v = version; });
  }
  if (page === "runs") {
    const picked = new Set();
    const button = document.getElementById("compare-picked");
    const sync = () => { button.disabled = picked.size === 0; };
    document.getElementById("runs").addEventListener("change", (e) => {
      if (!e.target.classList.contains("pick")) return;
      e.target.checked ? picked.add(e.target.value) : picked.delete(e.target.value); sync();
    });
    button.addEventListener("click", () => { location.href = "/compare?" + [...picked].map((id) => "id=" + encodeURIComponent(id)).join("&"); });
    every(async () => {
      const runs = await getJSON("/api/runs"); banner("");
      const rows = runs.map((r) => `<tr data-id="${esc(r.id)}" data-status="${esc(r.status)}"><td><input type="checkbox" class="pick" value="${esc(r.id)}"${picked.has(r.id) ? " checked" : ""}></td>` +
        `<td><a href="/run?id=${encodeURIComponent(r.id)}">${esc(r.id)}</a></td><td>${esc(r.method)}<div class="sub">${esc(r.parts)}</div></td><td>${esc(r.task)}</td><td>${esc(r.seed)}</td>` +
        `<td><span class="st st-${esc(r.status)}" title="${esc(r.status_why)}">${esc(r.status)}</span>${r.status_inferred ? ` <span class="inf" title="${esc(r.status_why)}">inferred</span>` : ""}</td><td class="num">${r.step}${r.steps ? " / " + r.steps : ""}</td>` +
        `<td class="num">${num(r.reward)}</td><td class="num">${num(r.entropy)}</td><td class="num">${num(r.accuracy)}</td></tr>`);
      document.getElementById("runs").innerHTML = rows.join("");
      const empty = document.getElementById("empty"); if (empty) empty.hidden = runs.length > 0;
      const sweeps = [...new Set(runs.map((r) => r.sweep).filter(Boolean))].sort();
      document.getElementById("sweeps").innerHTML = sweeps.map((s) => `<a class="sweep" href="/compare?sweep=${encodeURIComponent(s)}">compare sweep ${esc(s)}</a>`).join(" ");
    });
  } else if (page === "run") {
    every(async () => {
      const r = await getJSON("/api/run?id=" + encodeURIComponent(body.dataset.id)); banner("");
      const st = document.getElementById("status"); st.textContent = r.status; st.className = "st st-" + r.status; st.title = r.status_why || "";
      const inf = document.getElementById("inferred"); inf.hidden = !r.status_inferred; inf.title = r.status_why || "";
      document.getElementById("step").textContent = r.step;
      document.getElementById("reward").textContent = num(r.reward);
      document.getElementById("entropy").textContent = num(r.entropy);
      document.getElementById("accuracy").textContent = num(r.accuracy);
      refreshFigures(r.version);
    });
  } else if (page === "samples") {
    // new samples land while the run trains: redraw the page's content from
    // the same URL (the filters the address holds), keeping a step the user
    // picked but has not submitted yet
    every(async () => {
      const v = await getJSON("/api/samples?id=" + encodeURIComponent(body.dataset.id)); banner("");
      if (v.version === body.dataset.version) return;
      const t = await fetch(location.href, { cache: "no-store" });
      if (!t.ok) throw new Error(await t.text());
      const doc = new DOMParser().parseFromString(await t.text(), "text/html");
      const live = doc.getElementById("samples-live"), sel = doc.getElementById("step-filter"), cur = document.getElementById("step-filter");
      if (!live || !sel) return;
      const picked = cur.value;
      cur.innerHTML = sel.innerHTML; cur.value = picked;
      document.getElementById("samples-live").innerHTML = live.innerHTML;
      body.dataset.version = doc.body.dataset.version;
      body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
    });
  } else if (page === "compare") {
    every(async () => {
      const v = await getJSON("/api/versions?" + body.dataset.query); banner("");
      if (v.version === body.dataset.version) return;
      const t = await fetch("/compare/table?" + body.dataset.query, { cache: "no-store" });
      if (t.ok) document.getElementById("table").innerHTML = await t.text();
      refreshFigures(v.version);
    });
  }
})();
