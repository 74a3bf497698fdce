// The generic views: they work for any SAM app the harness runs. The overview and the dead
// letters view hold the panels plugins put into them (lib.js mountPanels).
import { h, getJSON, send, tabulate, when, pretty, outcomeBadge, fill, failure, mountPanels, refreshPanels } from "./lib.js";

const enc = encodeURIComponent;

function invocationRows(list) {
  return tabulate(
    [["Time"], ["Function"], ["Trigger"], ["Batch", "num"], ["Duration", "num"], ["Outcome"]],
    list.map((i) => [when(i.at), i.function, h("span", { class: "mono" }, i.trigger),
      i.batchSize ?? "-", `${Math.round(i.durationMs)} ms`, outcomeBadge(i)]),
    (n) => { location.hash = `#/invocation/${list[n].seq}`; });
}

// ------------------------------------------------------------------ overview
export const overview = {
  readsApi: true,
  async mount(root) {
    this.el = h("div", { class: "grid" });
    root.append(h("h1", {}, "Overview"), this.el);
    this.panels = mountPanels("overview");
    await this.refresh(true);
  },
  async refresh(first = false) {
    if (!first) refreshPanels(this.panels);
    let info;
    try { info = await getJSON("/_console/api/overview"); } catch (e) { return failure(this.el, e); }
    const panels = [
      h("section", { class: "panel", id: "overview-topics" }, h("h2", {}, h("a", { href: "#/topics" }, "Topics")),
        tabulate([["Topic / consumed by"], ["Messages", "num"], ["Lag", "num"]],
          info.topics.map((t) => [h("div", {}, h("a", { href: `#/topic/${enc(t.topic)}` }, t.topic),
            h("div", { class: "muted small" }, t.consumers.map((c) => c.function).join(", ") || "no event source mapping")),
          t.messages, t.lag])),
        h("h2", { style: "margin-top:1rem" }, h("a", { href: "#/tables" }, "Tables")),
        h("p", {}, info.tables.map((t) => [h("a", { href: `#/table/${enc(t.logicalId)}`, class: "badge" }, t.logicalId), " "]))),
    ];
    panels.push(...this.panels.map((p) => p.el));
    panels.push(h("section", { class: "panel wide", id: "overview-invocations" },
      h("h2", {}, h("a", { href: "#/functions" }, `Latest invocations (${info.invocationsTotal} in all)`)),
      h("p", { class: "muted" }, "Event sources and writes; reads (GET) are on Functions."),
      invocationRows(info.invocations.filter((i) => !/^api (GET|HEAD) /.test(i.trigger)).slice(0, 8))));
    fill(this.el, panels);
  },
};

// ------------------------------------------------------------------ topics
export const topics = {
  async mount(root) {
    this.el = h("div");
    root.append(h("h1", {}, "Topics"), this.el);
    await this.refresh();
  },
  async refresh() {
    let data;
    try { data = await getJSON("/_console/api/topics"); } catch (e) { return failure(this.el, e); }
    fill(this.el, data.topics.map((t) => h("section", { class: "panel" },
      h("h2", {}, h("a", { href: `#/topic/${enc(t.topic)}` }, t.topic), " ",
        h("span", { class: "badge" }, `${t.messages} messages`), " ", h("span", { class: `badge ${t.lag ? "bad" : ""}` }, `lag ${t.lag}`)),
      partitionsTable(t))));
  },
};

function partitionsTable(t) {
  const headers = [["Partition", "num"], ["Beginning", "num"], ["End offset", "num"]];
  for (const c of t.consumers) headers.push([`${c.function} committed / lag`, "num"]);
  return tabulate(headers, t.partitions.map((p) => [p.partition, p.beginning, p.end,
    ...t.consumers.map((c) => {
      const row = c.partitions.find((r) => r.partition === p.partition) || {};
      return `${row.committed ?? "-"} / ${row.lag ?? "-"}`;
    })]));
}

function valueView(v) {
  if (v.json !== undefined) return h("pre", { class: "value" }, pretty(v.json));
  if (v.text !== undefined && v.text !== null) return h("pre", { class: "value" }, v.text);
  if (v.base64) return h("pre", { class: "value" }, `base64: ${v.base64}`);
  return h("span", { class: "muted" }, "null");
}

const keyText = (k) => (k.text ?? (k.base64 ? `base64:${k.base64}` : "null"));

export const topic = {
  async mount(root, name) {
    this.name = name;
    this.head = h("div");
    this.list = h("div", { id: "messages" });
    root.append(h("h1", {}, "Topic ", h("span", { class: "mono" }, name)), this.head,
      h("section", { class: "panel" }, h("h2", {}, "Messages, newest first"), this.list), produceForm(name));
    await this.refresh();
  },
  async refresh() {
    try {
      const [all, data] = await Promise.all([getJSON("/_console/api/topics"),
        getJSON(`/_console/api/topics/${enc(this.name)}/messages?limit=50`)]);
      const t = all.topics.find((x) => x.topic === this.name);
      if (t) fill(this.head, h("section", { class: "panel" }, h("h2", {}, `Partitions (lag ${t.lag})`), partitionsTable(t)));
      fill(this.list, data.messages.length ? data.messages.map((m) => h("div", { class: "message", "data-key": keyText(m.key) },
        h("div", { class: "meta" }, h("span", {}, `partition ${m.partition}`), h("span", {}, `offset ${m.offset}`),
          h("span", {}, new Date(m.timestamp).toLocaleString()), h("span", {}, "key ", h("b", { class: "mono key" }, keyText(m.key))),
          m.headers.length ? h("span", {}, "headers ", h("span", { class: "mono" },
            m.headers.map((x) => `${x.name}=${x.text ?? x.base64}`).join(", "))) : null),
        valueView(m.value))) : h("p", { class: "muted" }, "No messages yet."));
    } catch (e) { failure(this.list, e); }
  },
};

function produceForm(name) {
  const key = h("input", { name: "key", placeholder: "optional" });
  const headers = h("input", { name: "headers", placeholder: '{"name": "value"} (optional)' });
  const value = h("textarea", { name: "value", placeholder: '{"hello": "world"}' });
  const out = h("p", { class: "muted" });
  const form = h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const body = { key: key.value || null, value: value.value,
        headers: headers.value ? JSON.parse(headers.value) : {} };
      const sent = await send("POST", `/_console/api/topics/${enc(name)}/messages`, body);
      fill(out, `sent to partition ${sent.partition} at offset ${sent.offset}`);
    } catch (e) { failure(out, e); }
  } }, h("label", {}, "Key"), key, h("label", {}, "Headers"), headers, h("label", {}, "Value"), value,
  h("span"), h("div", {}, h("button", { type: "submit" }, "Produce"), " ",
    h("span", { class: "muted" }, "needs the API token (Authorization: Bearer …)")));
  return h("section", { class: "panel" }, h("h2", {}, "Produce a message"), form, out);
}

// ------------------------------------------------------------------ tables
export const tables = {
  async mount(root) {
    this.el = h("div", { class: "panel" });
    root.append(h("h1", {}, "Tables"), this.el);
    await this.refresh();
  },
  async refresh() {
    let data;
    try { data = await getJSON("/_console/api/tables"); } catch (e) { return failure(this.el, e); }
    fill(this.el, tabulate([["Logical id"], ["Table"], ["Key"], ["Items", "num"]],
      data.tables.map((t) => [h("a", { href: `#/table/${enc(t.logicalId)}` }, t.logicalId), h("span", { class: "mono" }, t.name),
        (t.key || []).join(", "), t.error ? h("span", { class: "error" }, t.error) : `${t.count}${t.exact ? "" : "+"}`])));
  },
};

export const table = {
  async mount(root, name) {
    this.name = name;
    this.tokens = [null];
    this.el = h("div", { class: "panel" });
    this.detail = h("div");
    root.append(h("h1", {}, "Table ", h("span", { class: "mono" }, name)), this.el, this.detail);
    await this.refresh();
  },
  async refresh() {
    const page = this.tokens[this.tokens.length - 1];
    let data;
    try {
      data = await getJSON(`/_console/api/tables/${enc(this.name)}/items?limit=25${page ? `&next=${enc(page)}` : ""}`);
    } catch (e) { return failure(this.el, e); }
    const cols = [...data.key, ...new Set(data.items.flatMap((i) => Object.keys(i)).filter((k) => !data.key.includes(k)))].slice(0, 8);
    const cell = (v) => (v === undefined ? "" : typeof v === "object" ? JSON.stringify(v).slice(0, 80) : String(v).slice(0, 80));
    fill(this.el,
      tabulate(cols.map((c) => [c]), data.items.map((i) => cols.map((c) => cell(i[c]))), (n) => this.show(data, n)),
      h("p", {}, h("button", { class: "secondary", disabled: this.tokens.length < 2,
        onclick: () => { this.tokens.pop(); this.refresh(); } }, "Previous"), " ",
      h("button", { class: "secondary", disabled: !data.next,
        onclick: () => { this.tokens.push(data.next); this.refresh(); } }, "Next"), " ",
      h("span", { class: "muted" }, `page ${this.tokens.length}, ${data.items.length} items`)));
  },
  async show(data, n) {
    const key = Object.fromEntries(data.key.map((k) => [k, data.items[n][k]]));
    try {
      const got = await getJSON(`/_console/api/tables/${enc(this.name)}/item?key=${enc(JSON.stringify(key))}`);
      fill(this.detail, h("section", { class: "panel" }, h("h2", {}, "Item"), h("pre", { id: "item-json" }, pretty(got.item))));
    } catch (e) { failure(this.detail, e); }
  },
};

// ------------------------------------------------------------------ functions
export const functions = {
  async mount(root) {
    this.fns = h("div", { class: "panel" });
    this.sources = h("div", { class: "panel" });
    this.list = h("div", { class: "panel", id: "invocations" });
    root.append(h("h1", {}, "Functions"), this.fns, this.sources, this.list);
    await this.refresh();
  },
  async refresh() {
    try {
      const [data, inv] = await Promise.all([getJSON("/_console/api/functions"), getJSON("/_console/api/invocations?limit=100")]);
      fill(this.fns, h("h2", {}, "Functions"), tabulate([["Function"], ["Triggers"], ["Invocations", "num"], ["Environments", "num"]],
        data.functions.map((f) => [f.function, h("div", {}, f.triggers.map((t) => h("div", { class: "mono" }, t))), f.invocations, f.workers])));
      fill(this.sources, h("h2", {}, "Event sources"), tabulate(
        [["Function"], ["Source"], ["State"], ["Batch", "num"], ["Invoked", "num"], ["Retries in flight"], ["On failure"], [""]],
        data.sources.map((s) => [s.function, h("span", { class: "mono" }, `${s.type} ${s.topics.join(", ") || s.stream || s.event}`),
          s.state, s.batchSize ?? "-", s.stats ? s.stats.records_invoked : "-",
          s.retriesInFlight.length ? h("span", { class: "warn" }, s.retriesInFlight.map((r) => `${r.records} records, attempt ${r.attempts}`).join("; ")) : "none",
          s.failureDestination || "-", s.kind === "schedule" ? fireButton(s.event) : ""])));
      fill(this.list, h("h2", {}, `Invocations (latest ${inv.invocations.length} of ${inv.total})`), invocationRows(inv.invocations));
    } catch (e) { failure(this.list, e); }
  },
};

// a schedule runs now, whatever its expression or State (needs the API token)
function fireButton(schedule) {
  const out = h("span", { class: "muted" });
  const button = h("button", { class: "secondary fire-schedule", "data-schedule": schedule, onclick: async () => {
    try {
      await send("POST", `/_console/api/schedules/${enc(schedule)}/fire`);
      fill(out, " fired");
    } catch (e) { failure(out, e); }
  } }, "Fire now");
  return h("span", {}, button, out);
}

export const invocation = {
  async mount(root, seq) {
    this.el = h("div");
    root.append(h("h1", {}, `Invocation ${seq}`), this.el);
    try {
      const i = await getJSON(`/_console/api/invocations/${enc(seq)}`);
      fill(this.el, h("section", { class: "panel" }, tabulate([["Function"], ["Trigger"], ["Batch", "num"], ["Duration", "num"], ["Outcome"], ["Request id"]],
        [[i.function, i.trigger, i.batchSize ?? "-", `${Math.round(i.durationMs)} ms`, outcomeBadge(i), h("span", { class: "mono" }, i.requestId)]])),
      h("section", { class: "panel" }, h("h2", {}, "Log lines"), h("pre", { id: "invocation-logs" }, i.logs.join("\n") || "(none)")));
    } catch (e) { failure(this.el, e); }
  },
};

// ------------------------------------------------------------------ dead letters
export const deadLetters = {
  readsApi: true,
  async mount(root) {
    this.panels = mountPanels("dead-letters");
    this.queues = h("div");
    root.append(h("h1", {}, "Dead letters"), ...this.panels.map((p) => p.el), this.queues);
    await this.refresh(true);
  },
  async refresh(first = false) {
    if (!first) refreshPanels(this.panels);
    try {
      const data = await getJSON("/_console/api/destinations");
      fill(this.queues, data.queues.length ? data.queues.map((q) => h("section", { class: "panel" },
        h("h2", {}, `Sent to OnFailure queue ${q.queue} (${q.records.length}; read the queue with receive_message)`),
        q.records.map((r) => h("pre", { class: "message" }, pretty(r)))))
        : h("section", { class: "panel muted" }, "No event source mapping has sent a record to an OnFailure queue."));
    } catch (e) { failure(this.queues, e); }
  },
};
