// The console's shell: hash routing, the token field, live updates by server-sent events, and
// the plugins' views (eventflow_local/plugins.py). Views (views.js, a plugin's module) are
// { mount(root, arg), refresh() }; a view's refresh runs when the server says something
// changed, at most once per REFRESH_MS.
import { overview, topics, topic, tables, table, functions, invocation, deadLetters } from "./views.js";
import { messaging } from "./messaging.js";
import { state, getJSON, h } from "./lib.js";

const REFRESH_MS = 700;
const views = {
  "": overview, topics, topic, tables, table, functions, invocation, messaging,
  queues: messaging, "dead-letters": deadLetters,
};
let current = null;
let timer = null;
let pending = false;

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const view = views[name] || overview;
  for (const a of document.querySelectorAll("#nav a[data-view]")) {
    const target = a.dataset.view === "overview" ? "" : a.dataset.view;
    a.classList.toggle("active", target === name || (name === "topic" && target === "topics")
      || (name === "table" && target === "tables") || (name === "invocation" && target === "functions")
      || (name === "queues" && target === "messaging"));
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  current = view;
  Promise.resolve(view.mount(main, rest.map(decodeURIComponent).join("/"))).catch((e) => {
    main.append(Object.assign(document.createElement("p"), { className: "error", textContent: String(e) }));
  });
}

function refreshSoon() {
  if (timer) { pending = true; return; }
  const run = () => {
    pending = false;
    if (current && current.refresh) Promise.resolve(current.refresh()).catch(() => {});
    timer = setTimeout(() => { timer = null; if (pending) refreshSoon(); }, REFRESH_MS);
  };
  run();
}

function live() {
  const badge = document.getElementById("live");
  const source = new EventSource("/_console/events");
  source.addEventListener("open", () => { badge.textContent = "live"; badge.classList.add("on"); });
  source.addEventListener("error", () => { badge.textContent = "reconnecting"; badge.classList.remove("on"); });
  for (const name of ["invocation", "offsets", "reload"]) {
    source.addEventListener(name, (event) => {
      const data = JSON.parse(event.data || "null");
      // a view that reads the template's API causes GET invocations itself: those change
      // nothing, and refreshing on them would loop
      if (name === "invocation" && current && current.readsApi && /^api (GET|HEAD) /.test(data.trigger)) return;
      state.lastEvent = { name, data };
      refreshSoon();
    });
  }
}

// A plugin's module exports `views`: by key, a page (#/key, a nav link when it has a `title`)
// or, with `into`, a panel of a generic view. A view whose `feature` (default: its key) the
// template's API lacks is left out; a generic view is never replaced.
async function loadPlugins(plugins) {
  const swagger = document.getElementById("nav-swagger");
  for (const plugin of plugins || []) {
    for (const href of plugin.styles) document.head.append(h("link", { rel: "stylesheet", href }));
    let module;
    try { module = await import(plugin.module); } catch (e) {
      console.error(`plugin ${plugin.name}: its views did not load: ${e}`);
      continue;
    }
    for (const [name, view] of Object.entries(module.views || {})) {
      if (state.features[view.feature ?? name] === false) continue;
      if (view.into) {
        (state.panels[view.into] ||= []).push(view);
      } else if (!(name in views)) {
        views[name] = view;
        if (view.title) swagger.before(h("a", { href: `#/${name}`, "data-view": name }, view.title));
      }
    }
  }
}

async function start() {
  const token = document.getElementById("token");
  token.value = localStorage.getItem("eventflow.token") || "";
  token.addEventListener("input", () => localStorage.setItem("eventflow.token", token.value));
  try {
    const info = await getJSON("/_console/api/overview");
    state.features = info.features;
    await loadPlugins(info.plugins);
  } catch (e) { /* the overview view says what went wrong */ }
  window.addEventListener("hashchange", route);
  route();
  live();
}

start();
