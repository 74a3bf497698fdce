// The messaging view (#/messaging, also #/queues): the template's SQS queues, SNS topics,
// EventBridge buses and Kinesis streams with their counts (console/messaging_view.py), and a form
// for each kind that sends through the embedded emulator (SendMessage, Publish, PutEvents,
// PutRecord; the API token is needed). The tables follow the live updates; the forms are built
// once, so that a refresh never clears what is being typed.
import { h, getJSON, send, tabulate, fill, failure } from "./lib.js";

const enc = encodeURIComponent;

// a JSON object typed in a field ("" -> undefined); a mistake is thrown with the field's name
function jsonField(input, name) {
  const text = input.value.trim();
  if (!text) return undefined;
  let value;
  try { value = JSON.parse(text); } catch (e) { throw new Error(`${name}: not JSON (${e.message})`); }
  return value;
}

// keep a select's options in step with `names`, keeping what is selected
function options(select, names) {
  const now = [...select.options].map((o) => o.value);
  if (now.join("\n") === names.join("\n")) return;
  const chosen = select.value;
  fill(select, names.map((n) => h("option", { value: n }, n)));
  if (names.includes(chosen)) select.value = chosen;
}

// a form of labelled fields whose submit runs `action(values)` and shows what it answers
function sendForm(kind, fields, buttonText, action) {
  const out = h("p", { class: "result muted", "data-result": kind });
  const inputs = {};
  const rows = fields.flatMap(([name, label, el]) => {
    inputs[name] = el;
    el.setAttribute("name", name);
    return [h("label", {}, label), el];
  });
  const form = h("form", { class: `inline send-${kind}`, onsubmit: async (event) => {
    event.preventDefault();
    fill(out, "sending…");
    out.className = "result muted";
    try {
      fill(out, await action(inputs));
      out.className = "result ok";
    } catch (e) { out.className = "result"; failure(out, e); }
  } }, rows, h("span"), h("div", {}, h("button", { type: "submit" }, buttonText), " ",
    h("span", { class: "muted small" }, "needs the API token")));
  return { form, out, inputs };
}

const input = (placeholder) => h("input", { placeholder });
const area = (placeholder) => h("textarea", { placeholder });

function queueRows(queues) {
  return tabulate(
    [["Queue"], ["Visible", "num"], ["In flight", "num"], ["Delayed", "num"], ["Dead-letter queue"], ["Read by"]],
    queues.map((q) => [h("div", { "data-queue": q.logicalId }, h("b", {}, q.logicalId), q.fifo ? [" ", h("span", { class: "badge" }, "FIFO")] : null,
      h("div", { class: "mono small muted" }, q.name),
      q.deadLetterOf.length ? h("div", { class: "small" }, `dead-letter queue of ${q.deadLetterOf.join(", ")}`) : null),
    q.visible, q.inFlight, q.delayed,
    q.deadLetterQueue ? `${q.deadLetterQueue.logicalId || q.deadLetterQueue.arn} (after ${q.deadLetterQueue.maxReceiveCount} receives, ${q.deadLetterQueue.visible ?? "?"} visible)` : "-",
    q.consumers.join(", ") || h("span", { class: "muted" }, "no event source mapping")]));
}

function topicRows(topics) {
  return tabulate([["Topic"], ["Subscriptions"], ["Delivered", "num"], ["Filtered out", "num"]],
    topics.map((t) => [h("div", { "data-topic": t.logicalId }, h("b", {}, t.logicalId), t.fifo ? [" ", h("span", { class: "badge" }, "FIFO")] : null,
      h("div", { class: "mono small muted" }, t.arn)),
    t.subscriptions.length ? h("div", {}, t.subscriptions.map((s) => h("div", { class: "subscription" },
      h("span", { class: "mono" }, `${s.protocol} → ${s.endpoint}`), s.raw ? " (raw)" : "",
      s.filterPolicy ? h("pre", { class: "small" }, `filter (${s.filterPolicyScope}): ${JSON.stringify(s.filterPolicy)}`) : null)))
      : h("span", { class: "muted" }, "none"),
    t.subscriptions.reduce((n, s) => n + (s.stats.delivered || 0), 0),
    t.subscriptions.reduce((n, s) => n + (s.stats.filtered || 0), 0)]));
}

function busRows(buses) {
  return tabulate([["Bus"], ["Rules: pattern → targets"], ["Events", "num"], ["Matched", "num"], ["Delivered", "num"]],
    buses.map((b) => [h("div", { "data-bus": b.name }, h("b", {}, b.name), h("div", { class: "mono small muted" }, b.logicalId || "")),
      b.rules.length ? h("div", {}, b.rules.map((r) => h("div", { class: "rule" },
        h("b", {}, r.logicalId), r.enabled ? "" : h("span", { class: "badge bad" }, "disabled"),
        " → ", r.targets.map((t) => `${t.kind} ${t.target}`).join(", ") || "no target",
        h("pre", { class: "small" }, JSON.stringify(r.pattern))))) : h("span", { class: "muted" }, "no rule"),
    b.stats ? b.stats.events : "-", b.stats ? b.stats.matched : "-", b.stats ? b.stats.delivered : "-"]));
}

function streamRows(streams) {
  return tabulate([["Stream"], ["Shards", "num"], ["Read by (last sequence number per shard)"], ["Records invoked", "num"]],
    streams.map((s) => s.error ? [h("b", { "data-stream": s.logicalId }, s.logicalId), "-", h("span", { class: "error" }, s.error), "-"] : [
      h("div", { "data-stream": s.logicalId }, h("b", {}, s.logicalId), " ", h("span", { class: "badge" }, s.status),
        h("div", { class: "mono small muted" }, s.name)),
    s.shards.length,
    s.mappings.length ? h("div", {}, s.mappings.map((m) => h("div", {}, h("span", { class: "mono" }, `${m.function}.${m.event}`),
      ` (${m.startingPosition}, batch ${m.batchSize}) `,
      h("span", { class: "mono small muted" }, Object.entries(m.positions).map(([shard, seq]) => `${shard}: ${seq}`).join(", ") || "nothing yet"))))
      : h("span", { class: "muted" }, "no event source mapping"),
    s.mappings.reduce((n, m) => n + (m.stats.records_invoked || 0), 0)]));
}

function section(id, title) {
  const count = h("span", { class: "badge count" });
  const table = h("div");
  const el = h("section", { class: "panel", id }, h("h2", {}, title, " ", count), table);
  return { el, count, table };
}

export const messaging = {
  async mount(root) {
    this.queues = section("queues", "Queues");
    this.topics = section("sns-topics", "SNS topics");
    this.buses = section("buses", "Event buses");
    this.streams = section("streams", "Kinesis streams");
    this.forms = {
      queue: sendForm("queue", [["queue", "Queue", h("select")], ["body", "Body", area('{"hello": "queue"}')],
        ["attributes", "Attributes", input('{"name": "value"} (optional)')], ["groupId", "Group id", input("FIFO only (optional)")]],
      "Send message", async (f) => {
        const sent = await send("POST", `/_console/api/queues/${enc(f.queue.value)}/messages`,
          { body: f.body.value, attributes: jsonField(f.attributes, "attributes"), groupId: f.groupId.value || undefined });
        return `MessageId ${sent.messageId}`;
      }),
      topic: sendForm("topic", [["topic", "Topic", h("select")], ["subject", "Subject", input("optional")],
        ["message", "Message", area('{"hello": "topic"}')], ["attributes", "Attributes", input('{"kind": "urgent"} (optional)')],
        ["groupId", "Group id", input("FIFO only (default console)")], ["deduplicationId", "Dedup id", input("FIFO only (optional)")]],
      "Publish", async (f) => {
        const sent = await send("POST", `/_console/api/sns/topics/${enc(f.topic.value)}/messages`, {
          message: f.message.value, subject: f.subject.value || undefined, attributes: jsonField(f.attributes, "attributes"),
          groupId: f.groupId.value || undefined, deduplicationId: f.deduplicationId.value || undefined });
        return `MessageId ${sent.messageId}`;
      }),
      bus: sendForm("event", [["bus", "Bus", h("select")], ["source", "Source", input("shop.orders")],
        ["detailType", "Detail type", input("Order")], ["detail", "Detail", area('{"total": 120}')]],
      "Put event", async (f) => {
        const sent = await send("POST", `/_console/api/buses/${enc(f.bus.value)}/events`, {
          source: f.source.value, detailType: f.detailType.value, detail: jsonField(f.detail, "detail") ?? {} });
        return `EventId ${sent.eventId}`;
      }),
      stream: sendForm("record", [["stream", "Stream", h("select")], ["partitionKey", "Partition key", input("user-1")],
        ["data", "Data", area('{"page": "/home"}')]],
      "Put record", async (f) => {
        const sent = await send("POST", `/_console/api/streams/${enc(f.stream.value)}/records`,
          { data: f.data.value, partitionKey: f.partitionKey.value });
        return `${sent.shardId}, sequence number ${sent.sequenceNumber}`;
      }),
    };
    const place = (sec, form, title) => sec.el.append(h("h2", { class: "form-title" }, title), form.form, form.out);
    place(this.queues, this.forms.queue, "Send a message");
    place(this.topics, this.forms.topic, "Publish a message");
    place(this.buses, this.forms.bus, "Put an event");
    place(this.streams, this.forms.stream, "Put a record");
    root.append(h("h1", {}, "Messaging"), h("div", { class: "grid messaging" },
      this.queues.el, this.topics.el, this.buses.el, this.streams.el));
    await this.refresh();
  },
  async refresh() {
    const parts = [
      ["/_console/api/queues", "queues", this.queues, queueRows, this.forms.queue.inputs.queue, (q) => q.logicalId],
      ["/_console/api/sns/topics", "topics", this.topics, topicRows, this.forms.topic.inputs.topic, (t) => t.logicalId],
      ["/_console/api/buses", "buses", this.buses, busRows, this.forms.bus.inputs.bus, (b) => b.name],
      ["/_console/api/streams", "streams", this.streams, streamRows, this.forms.stream.inputs.stream, (s) => s.logicalId],
    ];
    await Promise.all(parts.map(async ([url, key, sec, rows, select, name]) => {
      try {
        const list = (await getJSON(url))[key];
        fill(sec.count, String(list.length));
        fill(sec.table, list.length ? rows(list) : h("p", { class: "muted" }, "The template declares none."));
        options(select, list.map(name));
        sec.el.classList.toggle("empty", !list.length);
      } catch (e) { failure(sec.table, e); }
    }));
  },
};
