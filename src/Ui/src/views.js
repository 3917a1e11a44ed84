import { api, ApiError } from "./api.js";
import { chartFigure } from "./charts.js";
import { alertBox, exactMoney, field, h, money, table, when } from "./dom.js";

const list = (values) => (Array.isArray(values) && values.length ? values.join(", ") : "all");
const numberOrUndefined = (value) => (value === "" ? undefined : Number(value));

function section(title, ...children) {
  return h("section", { "aria-labelledby": "view-title" }, h("h1", { id: "view-title", tabindex: "-1" }, title), ...children);
}

function failure(error) {
  return alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error));
}

// ---- Keys ----------------------------------------------------------------------------------------

export async function keysView(session, rerender) {
  if (session.role !== "admin") {
    return myKeyView(session);
  }
  const status = h("div", { className: "status-area", "aria-live": "polite" });
  const say = (node) => status.replaceChildren(node);

  const alias = h("input", { name: "key_alias", autocomplete: "off" });
  const models = h("input", { name: "models", autocomplete: "off", placeholder: "gpt-4o, claude" });
  const budget = h("input", { name: "max_budget", type: "number", min: "0", step: "any", inputmode: "decimal" });
  const rpm = h("input", { name: "rpm_limit", type: "number", min: "0", step: "1" });
  const tpm = h("input", { name: "tpm_limit", type: "number", min: "0", step: "1" });
  const duration = h("input", { name: "duration", autocomplete: "off", placeholder: "30d" });
  const form = h(
    "form",
    {
      className: "card create",
      "aria-labelledby": "create-title",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {
          key_alias: alias.value.trim() || undefined,
          models: models.value.split(",").map((m) => m.trim()).filter(Boolean),
          max_budget: numberOrUndefined(budget.value),
          rpm_limit: numberOrUndefined(rpm.value),
          tpm_limit: numberOrUndefined(tpm.value),
          duration: duration.value.trim() || undefined,
        };
        try {
          const created = await api("POST", "/key/generate", body);
          form.reset();
          await rerender();
          const secret = h("code", { "data-testid": "new-key-secret" }, created.key);
          const copy = h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(created.key) }, "Copy");
          document.querySelector(".status-area")?.replaceChildren(
            h(
              "div",
              { className: "alert success", role: "status" },
              h("p", {}, `Key ${created.key_alias || ""} created. Copy it now: it is not shown again.`),
              h("p", { className: "secret" }, secret, " ", copy),
            ),
          );
        } catch (error) {
          say(failure(error));
        }
      },
    },
    h("h2", { id: "create-title" }, "Create a key"),
    h(
      "div",
      { className: "grid" },
      field("Alias", alias),
      field("Models", models, "Comma-separated; empty means every model"),
      field("Max budget (USD)", budget),
      field("Requests per minute", rpm),
      field("Tokens per minute", tpm),
      field("Expires after", duration, "e.g. 30d, 12h; empty means never"),
    ),
    h("button", { type: "submit", className: "primary" }, "Create key"),
  );

  let keys = [];
  try {
    const page = await api("GET", "/key/list?return_full_object=true&size=100");
    keys = page.keys || [];
  } catch (error) {
    return section("Keys", failure(error));
  }

  const act = (label, run) => async () => {
    try {
      await run();
      await rerender();
    } catch (error) {
      say(failure(error));
    }
  };
  const rows = table(
    "Virtual keys",
    [
      { label: "Alias", cell: (k) => k.key_alias || "—" },
      { label: "Key", cell: (k) => h("code", {}, k.key_name || (k.token || "").slice(0, 10)) },
      { label: "Models", cell: (k) => list(k.models) },
      { label: "Budget", cell: (k) => (k.max_budget == null ? "none" : money(k.max_budget)) },
      { label: "Spend", cell: (k) => money(k.spend) },
      { label: "Limits", cell: (k) => [k.rpm_limit != null ? `${k.rpm_limit} rpm` : null, k.tpm_limit != null ? `${k.tpm_limit} tpm` : null].filter(Boolean).join(", ") || "—" },
      { label: "Expires", cell: (k) => (k.expires ? when(k.expires) : "never") },
      { label: "Status", cell: (k) => (k.blocked ? h("span", { className: "badge bad" }, "blocked") : h("span", { className: "badge ok" }, "active")) },
      {
        label: "Actions",
        cell: (k) =>
          h(
            "div",
            { className: "actions" },
            h(
              "button",
              {
                type: "button",
                "aria-label": `${k.blocked ? "Unblock" : "Block"} key ${k.key_alias || k.token}`,
                onclick: act("block", () => api("POST", k.blocked ? "/key/unblock" : "/key/block", { key: k.token })),
              },
              k.blocked ? "Unblock" : "Block",
            ),
            h(
              "button",
              {
                type: "button",
                className: "danger",
                "aria-label": `Delete key ${k.key_alias || k.token}`,
                onclick: async () => {
                  if (window.confirm(`Delete key ${k.key_alias || k.key_name || ""}? Requests with it stop at once.`)) {
                    await act("delete", () => api("POST", "/key/delete", { keys: [k.token] }))();
                  }
                },
              },
              "Delete",
            ),
          ),
      },
    ],
    keys,
    { testId: "keys-table", empty: "No keys yet.", rowAttrs: (k) => ({ "data-alias": k.key_alias || "" }) },
  );
  return section("Keys", status, form, rows);
}

async function myKeyView(session) {
  try {
    const info = (await api("GET", "/key/info")).info;
    return section(
      "My key",
      h(
        "dl",
        { className: "card facts", "data-testid": "my-key" },
        h("dt", {}, "Alias"), h("dd", {}, info.key_alias || "—"),
        h("dt", {}, "Key"), h("dd", {}, session.key_hint || info.key_name || "—"),
        h("dt", {}, "Models"), h("dd", {}, list(info.models)),
        h("dt", {}, "Spend"), h("dd", {}, money(info.spend)),
        h("dt", {}, "Budget"), h("dd", {}, info.max_budget == null ? "none" : money(info.max_budget)),
        h("dt", {}, "Expires"), h("dd", {}, info.expires ? when(info.expires) : "never"),
        h("dt", {}, "Status"), h("dd", {}, info.blocked ? "blocked" : "active"),
      ),
    );
  } catch (error) {
    return section("My key", failure(error));
  }
}

// ---- Spend ---------------------------------------------------------------------------------------

function sumBy(days, listName, nameField) {
  const totals = new Map();
  for (const day of days) {
    for (const entry of day[listName] || []) {
      totals.set(entry[nameField], (totals.get(entry[nameField]) || 0) + Number(entry.total_spend || 0));
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

export async function spendView(session) {
  if (session.role !== "admin") {
    return myKeyView(session);
  }
  let byModel;
  let byKey;
  let logs;
  let aliases = new Map();
  try {
    [byModel, byKey, logs] = await Promise.all([
      api("GET", "/global/spend/report?group_by=model"),
      api("GET", "/global/spend/report?group_by=api_key"),
      api("GET", "/spend/logs?summarize=false"),
    ]);
    const keys = await api("GET", "/key/list?return_full_object=true&size=100");
    aliases = new Map((keys.keys || []).map((k) => [k.token, k.key_alias || k.key_name]));
  } catch (error) {
    return section("Spend", failure(error));
  }

  const days = byModel.map((d) => [d.group_by_day.slice(0, 10), Number(d.total_spend)]);
  const models = sumBy(byModel, "models", "model");
  // spend made with the master key (or on an open gateway) has no key: the report names it "Unassigned"
  const keyName = (hash) => aliases.get(hash) || (hash === "Unassigned" ? "no key (master key)" : `${String(hash).slice(0, 10)}…`);
  const keys = sumBy(byKey, "api_keys", "api_key").map(([hash, spend]) => [keyName(hash), spend]);
  const total = byModel.reduce((s, d) => s + Number(d.total_spend), 0);
  const requests = byModel.reduce((s, d) => s + Number(d.request_count), 0);

  const filter = h("input", { type: "search", name: "filter", placeholder: "model, key alias, status" });
  const recent = (logs || []).slice(0, 200);
  const logTable = () =>
    table(
      "Recent spend log rows",
      [
        { label: "Time", cell: (r) => when(r.endTime) },
        { label: "Model", cell: (r) => r.model_group },
        { label: "Key", cell: (r) => r.metadata?.user_api_key_alias || (r.api_key ? `${r.api_key.slice(0, 10)}…` : "—") },
        { label: "Tokens", cell: (r) => r.total_tokens },
        { label: "Spend", cell: (r) => exactMoney(r.spend) },
        { label: "Status", cell: (r) => r.status },
        { label: "Call id", cell: (r) => h("a", { href: `/ui/requests?id=${encodeURIComponent(r.request_id)}`, "data-nav": "true", "aria-label": `Look up request ${r.request_id}` }, `…${r.request_id.slice(-12)}`) },
      ],
      recent.filter((r) => {
        const q = filter.value.trim().toLowerCase();
        return !q || [r.model_group, r.metadata?.user_api_key_alias, r.status, r.request_id].some((v) => String(v || "").toLowerCase().includes(q));
      }),
      { testId: "spend-logs", empty: "No spend recorded in this range." },
    );
  const logBox = h("div", {}, logTable());
  filter.addEventListener("input", () => logBox.replaceChildren(logTable()));

  return section(
    "Spend",
    h(
      "p",
      { className: "summary", "data-testid": "spend-total" },
      `Last 30 days: ${exactMoney(Number(total.toPrecision(12)))} over ${requests} requests (same figures as /global/spend/report).`,
    ),
    h(
      "div",
      { className: "charts" },
      chartFigure("chart-spend-day", "Spend per day (USD)", "bar", days.map((d) => d[0]), days.map((d) => d[1])),
      chartFigure("chart-spend-model", "Spend per model (USD)", "doughnut", models.map((m) => m[0]), models.map((m) => m[1])),
      chartFigure("chart-spend-key", "Spend per key (USD)", "bar", keys.map((k) => k[0]), keys.map((k) => k[1])),
    ),
    table(
      "Spend per model",
      [
        { label: "Model", cell: (m) => m[0] },
        { label: "Spend", cell: (m) => exactMoney(Number(m[1].toPrecision(12))) },
      ],
      models,
      { testId: "spend-by-model" },
    ),
    h("h2", {}, "Recent requests"),
    field("Filter rows", filter),
    logBox,
  );
}

// ---- Queues --------------------------------------------------------------------------------------

export async function queuesView(session, rerender, onCleanup) {
  const stamp = h("p", { className: "muted", "data-testid": "queues-updated" });
  const box = h("div", {});
  const render = async () => {
    try {
      const answer = await api("GET", "/queues");
      box.replaceChildren(
        table(
          `Queues (${answer.transport})`,
          [
            { label: "Model group", cell: (q) => q.model_group },
            { label: "Waiting", cell: (q) => h("span", { "data-testid": `depth-${q.model_group}` }, q.messages_ready ?? "—") },
            { label: "In flight", cell: (q) => q.messages_unacknowledged ?? "—" },
            { label: "Consumers", cell: (q) => q.consumers ?? "—" },
            { label: "Oldest (s)", cell: (q) => (q.oldest_message_age_seconds == null ? "—" : Number(q.oldest_message_age_seconds).toFixed(1)) },
            { label: "Per worker", cell: (q) => q.concurrency_per_worker },
          ],
          answer.queues || [],
          { testId: "queues-table", empty: "No model groups." },
        ),
      );
      stamp.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshes every 2 s.`;
    } catch (error) {
      box.replaceChildren(failure(error));
    }
  };
  await render();
  const timer = setInterval(render, 2000);
  onCleanup(() => clearInterval(timer));
  return section("Queues", stamp, box);
}

// ---- Models --------------------------------------------------------------------------------------

export async function modelsView(session) {
  try {
    if (session.role === "admin") {
      const answer = await api("GET", "/model/list");
      return section(
        "Models",
        table(
          "Deployments (secrets redacted)",
          [
            { label: "Model group", cell: (m) => m.model_name },
            { label: "Deployment", cell: (m) => m.model_info?.id },
            { label: "Provider model", cell: (m) => m.litellm_params?.model },
            { label: "API base", cell: (m) => m.litellm_params?.api_base || "—" },
            { label: "Limits", cell: (m) => [m.litellm_params?.rpm && `${m.litellm_params.rpm} rpm`, m.litellm_params?.tpm && `${m.litellm_params.tpm} tpm`].filter(Boolean).join(", ") || "—" },
            { label: "Queue", cell: (m) => m.model_info?.queue },
          ],
          answer.data || [],
          { testId: "models-table" },
        ),
      );
    }
    const answer = await api("GET", "/v1/models");
    return section("Models", table("Models this key may use", [{ label: "Model", cell: (m) => m.id }], answer.data || [], { testId: "models-table" }));
  } catch (error) {
    return section("Models", failure(error));
  }
}

// ---- Batches -------------------------------------------------------------------------------------

export async function batchesView() {
  try {
    const answer = await api("GET", "/v1/batches?limit=100");
    const fileLink = (id) => (id ? h("a", { href: `/v1/files/${encodeURIComponent(id)}/content`, download: `${id}.jsonl` }, id) : "—");
    return section(
      "Batches",
      table(
        "Batches",
        [
          { label: "Batch", cell: (b) => h("code", {}, b.id) },
          { label: "Status", cell: (b) => b.status },
          {
            label: "Progress",
            cell: (b) => {
              const c = b.request_counts || {};
              return h("span", {}, h("progress", { max: c.total || 1, value: (c.completed || 0) + (c.failed || 0), "aria-label": `Batch ${b.id} progress` }), ` ${c.completed || 0}/${c.total || 0} (${c.failed || 0} failed)`);
            },
          },
          { label: "Created", cell: (b) => when(b.created_at ? new Date(b.created_at * 1000).toISOString() : null) },
          { label: "Output", cell: (b) => fileLink(b.output_file_id) },
          { label: "Errors", cell: (b) => fileLink(b.error_file_id) },
        ],
        answer.data || [],
        { testId: "batches-table", empty: "No batches." },
      ),
    );
  } catch (error) {
    return section("Batches", failure(error));
  }
}

// ---- Request lookup ------------------------------------------------------------------------------

export async function requestsView(session, rerender) {
  const input = h("input", { name: "call_id", autocomplete: "off", required: true, value: new URLSearchParams(location.search).get("id") || "" });
  const result = h("div", { "aria-live": "polite" });
  const lookUp = async () => {
    const id = input.value.trim();
    if (!id) {
      return;
    }
    try {
      const found = await api("GET", `/request/${encodeURIComponent(id)}`);
      result.replaceChildren(
        h("p", { "data-testid": "request-status" }, `Request ${found.request_id}: ${found.status} (model group ${found.model_group})`),
        table(
          "Attempts",
          [
            { label: "#", cell: (a) => a.attempt },
            { label: "Model group", cell: (a) => a.model_group },
            { label: "Deployment", cell: (a) => a.deployment_id },
            { label: "Status", cell: (a) => `${a.status} (${a.status_code})` },
            { label: "Error", cell: (a) => a.error_class || "—" },
            { label: "Started", cell: (a) => when(a.started_at) },
            { label: "Latency (ms)", cell: (a) => a.latency_ms },
          ],
          found.attempts || [],
          { testId: "attempts-table" },
        ),
      );
    } catch (error) {
      result.replaceChildren(failure(error));
    }
  };
  const form = h(
    "form",
    {
      className: "card inline",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        history.replaceState(null, "", `/ui/requests?id=${encodeURIComponent(input.value.trim())}`);
        lookUp();
      },
    },
    field("Call id (x-litellm-call-id)", input),
    h("button", { type: "submit", className: "primary" }, "Look up"),
  );
  if (input.value) {
    await lookUp();
  }
  return section("Request lookup", form, result);
}
