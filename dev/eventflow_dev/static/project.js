// This project's console views, added by its plugin (eventflow_dev, see
// eventflow_local/plugins.py): the fraud board, the earthquake map, the parked records. They
// read the template's API from the page, as any client does (same origin; the API token where
// a route needs one), and the console leaves out those whose routes the API lacks (NEEDS in
// eventflow_dev/__init__.py). `views` is what the console loads.
import { h, getJSON, send, tabulate, fill, failure } from "/_console/static/lib.js";

const SVG = "http://www.w3.org/2000/svg";
const enc = encodeURIComponent;

// ------------------------------------------------------------------ fraud
async function accountsBoard(el, limit = 100) {
  const body = el.querySelector(".board") || el.appendChild(h("div", { class: "board" }));
  try {
    const page = await getJSON(`/accounts?limit=${limit}`);
    fill(body, page.items.length ? tabulate([["Account"], ["Name"], ["Frauds", "num"], ["Status"]],
      page.items.map((a) => [h("span", { class: "mono", title: a.id }, limit < 100 ? `${a.id.slice(0, 10)}…` : a.id), a.name,
        h("span", { class: "fraud-count" }, String(a.fraudCount ?? 0)),
        h("span", { class: `badge status ${a.status === "blocked" ? "bad" : "ok"}`, "data-account": a.id }, a.status)]))
      : h("p", { class: "muted" }, "No accounts yet (make demo creates one)."));
  } catch (e) { failure(body, e); }
}

const fraud = {
  title: "Fraud",
  readsApi: true,
  async mount(root) {
    this.el = h("section", { class: "panel", id: "accounts" });
    root.append(h("h1", {}, "Fraud: accounts"), this.el,
      h("p", { class: "muted" }, "An account is blocked at its third fraud; this board follows the account consumer live."));
    await this.refresh();
  },
  refresh() { return accountsBoard(this.el); },
};

// ------------------------------------------------------------------ earthquakes
async function quakeState(el) {
  const body = el.querySelector(".stream") || el.appendChild(h("div", { class: "stream" }));
  try {
    const s = await getJSON("/earthquake-events");
    fill(body, h("p", {}, h("span", { class: `badge ${s.running ? "ok" : ""}`, id: "stream-state" }, s.running ? "running" : "stopped"),
      ` ${s.emitted ?? 0} emitted`, s.running ? ` at ${s.rate} events/s` : "",
      s.stopReason ? h("span", { class: "muted" }, ` (${s.stopReason})`) : ""));
  } catch (e) { failure(body, e); }
}

let outline = null;
async function worldOutline() {
  if (!outline) {
    const text = await (await fetch("/_console/static/world.svg")).text();  // the console's world outline
    outline = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  }
  return document.importNode(outline, true);
}

/** A world map in ``el`` with the latest ``limit`` events; returns a function that redraws it. */
async function quakeMap(el, limit = 100) {
  const svg = await worldOutline();
  const dots = document.createElementNS(SVG, "g");
  svg.append(dots);
  el.append(svg);
  return async () => {
    const [events, alerts] = await Promise.all([getJSON(`/earthquakes?limit=${limit}`), getJSON("/earthquakes/alerts?limit=20")]);
    const alerted = new Set(alerts.items.map((a) => a.eventId || a.id));
    dots.replaceChildren(...events.items.filter((q) => q.location).reverse().map((q) => { // newest on top
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", (q.location.longitude + 180).toFixed(2));
      c.setAttribute("cy", (90 - q.location.latitude).toFixed(2));
      c.setAttribute("r", (0.8 + 0.5 * q.magnitude).toFixed(2));
      c.setAttribute("class", alerted.has(q.id) ? "quake alert" : "quake");
      c.setAttribute("data-id", q.id);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `M${q.magnitude} ${q.regionName || q.region || ""} ${q.time || ""}`;
      c.append(title);
      return c;
    }));
    return alerts;
  };
}

const quakes = {
  title: "Earthquakes",
  readsApi: true,
  async mount(root) {
    this.state = h("div");
    this.map = h("div", { class: "map", id: "quake-map" });
    this.note = h("p", { class: "muted" });
    this.alerts = h("div");
    const rate = h("input", { type: "number", value: "20", min: "1", max: "500", style: "width:5rem" });
    const seconds = h("input", { type: "number", value: "30", min: "1", style: "width:5rem" });
    const law = h("select", { id: "quake-magnitudes" },
      h("option", { value: "gutenberg-richter" }, "Gutenberg-Richter"), h("option", { value: "uniform" }, "uniform 0-9"));
    const control = async (action) => {
      try {
        const body = action === "start" ? { rate: Number(rate.value), durationSeconds: Number(seconds.value), magnitudes: law.value } : {};
        const r = await send("POST", `/earthquake-events/${action}`, body);
        fill(this.note, r.message);
      } catch (e) { failure(this.note, e); }
      this.refresh();
    };
    root.append(h("h1", {}, "Earthquakes"),
      h("section", { class: "panel" }, this.state,
        h("p", {}, h("label", {}, "rate ", rate, " events/s "), h("label", {}, " for ", seconds, " s "), h("label", {}, " magnitudes ", law, " "),
          h("button", { id: "quake-start", onclick: () => control("start") }, "Start"), " ",
          h("button", { id: "quake-stop", class: "secondary", onclick: () => control("stop") }, "Stop")),
        this.note),
      h("section", { class: "panel" }, this.map,
        h("p", { class: "legend" }, "Latest 100 events; dot size = magnitude; red = alert. Map: Natural Earth 1:110m land (public domain).")),
      h("section", { class: "panel" }, h("h2", {}, "Latest alerts"), this.alerts));
    this.redraw = await quakeMap(this.map);
    await this.refresh();
  },
  async refresh() {
    quakeState(this.state);
    try {
      const alerts = await this.redraw();
      fill(this.alerts, alerts.items.length ? tabulate([["Time"], ["Magnitude", "num"], ["Severity"], ["Region"]],
        alerts.items.map((a) => [a.time || "", a.magnitude, a.severity, a.regionName || a.region]))
        : h("p", { class: "muted" }, "No alerts yet."));
    } catch (e) { failure(this.alerts, e); }
  },
};

// ------------------------------------------------------------------ dead letters (the template's)
const b64text = (b) => { try { return b ? atob(b) : ""; } catch { return b; } };

async function letters(el) {
  try {
    const page = await getJSON("/dead-letters?limit=50");
    fill(el, h("section", { class: "panel", id: "dead-letters" }, h("h2", {}, `Parked records (${page.items.length})`),
      page.items.length ? page.items.map((d) => h("div", { class: "message" },
        h("div", { class: "meta" }, h("span", {}, d.topic), h("span", {}, `partition ${d.partition} offset ${d.offset}`),
          h("span", {}, d.function), h("b", { class: "bad" }, d.reason), h("span", {}, d.failedAt),
          d.redrivenAt ? h("span", { class: "ok" }, `redriven ${d.redrivenAt} by ${d.redrivenBy}`)
            : h("button", { class: "secondary", onclick: async (ev) => {
              try { await send("POST", `/dead-letters/${enc(d.id)}/redrive`); ev.target.replaceWith("redriven"); }
              catch (e) { ev.target.replaceWith(h("span", { class: "error" }, e.message)); }
            } }, "Redrive")),
        h("div", { class: "muted" }, d.message),
        h("pre", {}, `key: ${b64text(d.key)}\nraw value (base64): ${d.value}\nas text: ${b64text(d.value)}`)))
        : h("p", { class: "muted" }, "No parked records.")));
  } catch (e) { failure(el, e); }
}

// ------------------------------------------------------------------ panels of the generic views
const overviewAccounts = {
  into: "overview",
  feature: "fraud",
  readsApi: true,
  mount(root) {
    this.el = h("section", { class: "panel", id: "overview-accounts" }, h("h2", {}, h("a", { href: "#/fraud" }, "Accounts")));
    root.append(this.el);
    return this.refresh();
  },
  refresh() { return accountsBoard(this.el, 8); },
};

const overviewQuakes = {
  into: "overview",
  feature: "quakes",
  readsApi: true,
  async mount(root) {
    const map = h("div", { class: "map" });
    this.el = h("section", { class: "panel", id: "overview-quakes" }, h("h2", {}, h("a", { href: "#/quakes" }, "Earthquake stream")), map);
    root.append(this.el);
    this.redraw = null;
    quakeState(this.el);
    this.redraw = await quakeMap(map, 50);
    await this.redraw();
  },
  async refresh() {
    quakeState(this.el);
    try {
      if (this.redraw) await this.redraw();
    } catch { /* the API is busy or gone: the next refresh tries again */ }
  },
};

const parkedRecords = {
  into: "dead-letters",
  feature: "deadLetters",
  readsApi: true,
  mount(root) {
    this.el = h("div");
    root.append(this.el);
    return this.refresh();
  },
  refresh() { return letters(this.el); },
};

export const views = { fraud, quakes, "overview-accounts": overviewAccounts, "overview-quakes": overviewQuakes, "parked-records": parkedRecords };
