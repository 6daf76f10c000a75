// The page's own behaviour; htmx does the rest. Everything here keeps a
// bounded amount of state, so a page left on a projector for a day stays
// as small as when it opened.
(function () {
  "use strict";
  const keepActivities = 200;      // list items kept
  const chartSeconds = 15 * 60;    // the charts' window
  const markedKinds = new Set(["scaled", "autoscaling", "replacing", "fault", "refresh", "rollout"]);
  const body = document.body;
  const fleets = document.getElementById("fleets");
  const activities = document.getElementById("activities");
  const conn = document.getElementById("conn");
  let rewinding = false;

  // The connection: shown, and resumable after the newest event seen
  // even if the EventSource is made anew (htmx does after a close).
  body.addEventListener("htmx:sseOpen", () => { conn.dataset.state = "live"; conn.textContent = "live"; });
  body.addEventListener("htmx:sseError", () => { conn.dataset.state = "reconnecting"; conn.textContent = "reconnecting…"; });
  activities.addEventListener("htmx:sseMessage", (e) => {
    if (e.detail.lastEventId) {
      body.setAttribute("sse-connect", "/events?after=" + encodeURIComponent(e.detail.lastEventId));
    }
    while (activities.children.length > keepActivities) activities.lastElementChild.remove();
    const li = activities.firstElementChild;
    if (li && markedKinds.has(li.dataset.kind)) charts.mark(li.dataset.key, Number(li.dataset.t), li.dataset.kind, li.textContent);
  });

  // Rewind: while the slider is back, the recorded state replaces the
  // live one; at 0 the live state returns.
  const rewind = document.getElementById("rewind");
  const rewindAt = document.getElementById("rewind-at");
  let rewindTimer = 0;
  fleets.addEventListener("htmx:sseBeforeMessage", (e) => { if (rewinding) e.preventDefault(); });
  rewind.addEventListener("input", () => {
    clearTimeout(rewindTimer);
    rewindTimer = setTimeout(showRewind, 120);
  });
  function showRewind() {
    const back = -Number(rewind.value);
    rewinding = back > 0;
    body.classList.toggle("rewinding", rewinding);
    const at = Date.now() - back * 1000;
    fetch("/fleets?at=" + at, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) return;
      const when = r.headers.get("X-Recorded-At");
      rewindAt.textContent = rewinding ? "−" + back + " s" + (when ? " (" + new Date(when).toLocaleTimeString() + ")" : "") : "live";
      return r.text().then((html) => { htmx.swap(fleets, html, { swapStyle: "innerHTML" }); afterFleets(); });
    });
  }

  // The tiles and their buttons: one listener for all, not one per
  // element, so a swap of a hundred tiles costs the page little.
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const post = (path, values) => htmx.ajax("POST", path, { target: "#flash", values, headers: { "X-CSRF-Token": csrf } });
  fleets.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const group = e.target.closest(".group");
    const tile = e.target.closest(".tile[data-id]");
    if (button && button.dataset.desired && group) {
      post("/scale", { fleet: group.dataset.fleet, service: group.dataset.service, desired: button.dataset.desired });
    } else if (button && button.dataset.fault && tile) {
      post("/fault", { instance: tile.dataset.id, action: button.dataset.fault, seconds: button.dataset.seconds || "" });
    } else if (tile && !rewinding) {
      htmx.ajax("GET", "/instances/" + encodeURIComponent(tile.dataset.id), { target: "#detail" });
    }
  });

  // The instance panel closes.
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-close]")) document.getElementById("detail").replaceChildren();
  });

  // The load form names the services the page shows.
  const loadForm = document.getElementById("load-form");
  function syncLoadForm() {
    if (!loadForm) return;
    const sel = loadForm.elements.key;
    const keep = sel.value;
    const keys = [...fleets.querySelectorAll(".group[data-key]")].filter((g) => g.querySelector(".addr")).map((g) => g.dataset.key);
    if (keys.join() !== [...sel.options].map((o) => o.value).join()) {
      sel.replaceChildren(...keys.map((k) => new Option(k, k, false, k === keep)));
    }
    const [fleet, ...service] = (sel.value || "").split("/");
    loadForm.elements.fleet.value = fleet;
    loadForm.elements.service.value = service.join("/");
  }
  if (loadForm) {
    const rate = document.getElementById("load-rate");
    const out = document.getElementById("load-rate-out");
    rate.addEventListener("input", () => { out.textContent = rate.value; });
    loadForm.elements.key.addEventListener("change", syncLoadForm);
  }

  // Charts: one pair per service, loaded once, then a point a second
  // from the stream, trimmed to the window.
  const charts = (function () {
    const box = document.getElementById("charts");
    const byKey = new Map();
    const colors = ["#8a8f98", "#2e9d5b", "#d08a1a", "#3a78c2", "#b0439a", "#b0439a", "#7a5cc2", "#7a5cc2"];
    function markersHook(c) {
      return (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of c.markers) {
          const x = u.valToPos(m.t, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = m.kind === "fault" ? "#d33" : "#555";
          ctx.setLineDash([3, 3]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      };
    }
    function make(k, data) {
      const el = document.createElement("div");
      el.className = "chart";
      el.dataset.key = data.key;
      const title = document.createElement("h3");
      title.textContent = data.key;
      el.append(title);
      box.append(el);
      const c = { el, cols: data.columns, data: data.data, markers: data.markers, plots: [] };
      const width = Math.max(300, Math.min(box.clientWidth - 20, 640));
      const counts = [0, 1, 2, 3];
      const load = [0, 4, ...data.columns.slice(4).map((_, i) => i + 5)];
      for (const [name, cols] of [["instances", counts], ["load", load]]) {
        const opts = {
          width, height: 160, legend: { live: false },
          scales: { x: { time: true } },
          axes: [{}, { label: name, size: 50 }],
          series: [{}].concat(cols.slice(1).map((i) => ({
            label: data.columns[i - 1], stroke: colors[(i - 1) % colors.length], width: 2,
            dash: data.columns[i - 1].endsWith(" target") ? [6, 4] : undefined,
          }))),
          hooks: { draw: [markersHook(c)] },
        };
        const u = new uPlot(opts, cols.map((i) => c.data[i]), el);
        c.plots.push({ u, cols });
      }
      byKey.set(k, c);
      shown(c);
    }
    // shown says on the chart the most desired it draws, for a reader
    // that cannot see the canvas (a test).
    function shown(c) {
      c.el.dataset.desiredMax = c.data[1].reduce((m, v) => (v == null ? m : Math.max(m, v)), 0);
    }
    function sync() {
      const keys = new Set([...fleets.querySelectorAll(".group[data-key]")].map((g) => g.dataset.key + "|" + g.dataset.policies));
      for (const [k, c] of byKey) {
        if (c && !keys.has(k)) { c.plots.forEach((p) => p.u.destroy()); c.el.remove(); byKey.delete(k); }
      }
      for (const k of keys) {
        if (byKey.has(k) || byKey.has(k + "…")) continue;
        byKey.set(k + "…", null); // loading
        const [key] = k.split("|");
        const [fleet, ...service] = key.split("/");
        fetch("/charts?fleet=" + encodeURIComponent(fleet) + "&service=" + encodeURIComponent(service.join("/")), { credentials: "same-origin" })
          .then((r) => (r.ok ? r.json() : null))
          .then((d) => { byKey.delete(k + "…"); if (d) make(k, d); });
      }
    }
    function add(p) {
      const from = p.t - chartSeconds;
      for (const [k, c] of byKey) {
        if (!c) continue;
        const row = p.s[k.split("|")[0]];
        if (!row) continue;
        // One point a second, as the history has: a change within the
        // second replaces that second's point.
        const last = c.data[0].length - 1;
        if (last >= 0 && Math.floor(c.data[0][last]) === Math.floor(p.t)) {
          c.data[0][last] = p.t;
          row.forEach((v, i) => { if (c.data[i + 1]) c.data[i + 1][last] = v; });
        } else {
          c.data[0].push(p.t);
          row.forEach((v, i) => { if (c.data[i + 1]) c.data[i + 1].push(v); });
        }
        let drop = 0;
        while (drop < c.data[0].length && c.data[0][drop] < from) drop++;
        if (drop) c.data.forEach((col) => col.splice(0, drop));
        c.markers = c.markers.filter((m) => m.t >= from);
        for (const { u, cols } of c.plots) u.setData(cols.map((i) => c.data[i]));
        shown(c);
      }
    }
    function mark(key, t, kind, text) {
      for (const [k, c] of byKey) {
        if (c && k.split("|")[0] === key) c.markers.push({ t, kind, text });
      }
    }
    return { sync, add, mark };
  })();
  document.getElementById("points").addEventListener("htmx:sseMessage", (e) => {
    if (!rewinding) charts.add(JSON.parse(e.detail.data));
  });

  // After each state the stream swaps in.
  const afterFleets = () => { syncLoadForm(); charts.sync(); };
  fleets.addEventListener("htmx:sseMessage", afterFleets);
  syncLoadForm();
  charts.sync();
})();
