// Small helpers shared by the views (and by plugins' views, which import this file as
// /_console/static/lib.js): element building, JSON over fetch, formatting.
// state.features: which plugin features the template's API has; state.panels: the plugins'
// panels by the view they go into ("overview", "dead-letters").
export const state = { features: {}, lastEvent: null, panels: {} };

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function token() {
  return localStorage.getItem("eventflow.token") || "";
}

async function request(method, url, body, auth) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token()) headers["Authorization"] = `Bearer ${token()}`;
  const resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!resp.ok) {
    const err = new Error(`${method} ${url}: ${resp.status} ${(data && data.message) || ""}`);
    err.status = resp.status;
    throw err;
  }
  return data;
}

export const getJSON = (url) => request("GET", url);
export const send = (method, url, body) => request(method, url, body, true);

export function tabulate(headers, rows, onClick) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map(([label, cls]) => h("th", { class: cls }, label)))),
    h("tbody", {}, rows.map((cells, i) => h("tr", onClick ? { class: "clickable", onclick: () => onClick(i) } : {},
      cells.map((c, j) => h("td", { class: headers[j][1] }, c))))));
}

export function when(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour12: false });
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function outcomeBadge(inv) {
  return h("span", { class: `badge ${inv.ok ? "ok" : "bad"}` }, inv.outcome);
}

export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

export function failure(el, e) {
  fill(el, h("p", { class: "error" }, String(e.message || e)));
}

// The plugins' panels of the view `host`, each mounted in an element of its own that the host
// places among its children (display: contents, so a panel's sections lay out as the host's).
export function mountPanels(host) {
  return (state.panels[host] || []).map((view) => {
    const el = h("div", { class: "plugin-panel" });
    Promise.resolve(view.mount(el)).catch((e) => failure(el, e));
    return { view, el };
  });
}

export function refreshPanels(panels) {
  for (const { view } of panels || []) {
    if (view.refresh) Promise.resolve(view.refresh()).catch((e) => console.warn("panel refresh:", e));
  }
}
