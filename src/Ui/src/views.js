import { api, ApiError } from "./api.js";
import { chartFigure } from "./charts.js";
import { alertBox, exactMoney, field, h, table, when } from "./dom.js";
import { myKeyView } from "./keys.js";


function section(title, ...children) {
  return h("section", { "aria-labelledby": "view-title" }, h("h1", { id: "view-title", tabindex: "-1" }, title), ...children);
}

function failure(error) {
  return alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error));
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
  let byTeam;
  let logs;
  let aliases = new Map();
  let teamNames = new Map();
  try {
    let keyList;
    let teamList;
    [byModel, byKey, byTeam, logs, keyList, teamList] = await Promise.all([
      api("GET", "/global/spend/report?group_by=model"),
      api("GET", "/global/spend/report?group_by=api_key"),
      api("GET", "/global/spend/report?group_by=team"),
      api("GET", "/spend/logs?summarize=false"),
      api("GET", "/key/list?return_full_object=true&size=100"),
      api("GET", "/team/list").catch(() => []),
    ]);
    aliases = new Map((keyList.keys || []).map((k) => [k.token, k.key_alias || k.key_name]));
    teamNames = new Map((Array.isArray(teamList) ? teamList : []).map((t) => [t.team_id, t.team_alias || t.team_id]));
  } catch (error) {
    return section("Spend", failure(error));
  }

  const days = byModel.map((d) => [d.group_by_day.slice(0, 10), Number(d.total_spend)]);
  const models = sumBy(byModel, "models", "model");
  // spend made with the master key (or on an open gateway) has no key: the report names it "Unassigned"
  const keyName = (hash) => aliases.get(hash) || (hash === "Unassigned" ? "no key (master key)" : `${String(hash).slice(0, 10)}…`);
  const keys = sumBy(byKey, "api_keys", "api_key").map(([hash, spend]) => [keyName(hash), spend]);
  const teamName = (id) => (id === "Unassigned" ? "no team" : teamNames.get(id) || id);
  const teams = sumBy(byTeam, "teams", "team_name").map(([id, spend]) => [teamName(id), spend]);
  const total = byModel.reduce((s, d) => s + Number(d.total_spend), 0);
  const requests = byModel.reduce((s, d) => s + Number(d.request_count), 0);
  const exact = (n) => exactMoney(Number(n.toPrecision(12)));

  const recent = (logs || []).slice(0, 500);
  const keyOf = (r) => r.metadata?.user_api_key_alias || aliases.get(r.api_key) || (r.api_key ? `${r.api_key.slice(0, 10)}…` : "no key (master key)");
  const choices = (values) => [["", "all"], ...[...new Set(values)].sort().map((v) => [v, v])];
  const select = (name, options) => h("select", { name }, options.map(([value, text]) => h("option", { value }, text)));
  const modelFilter = select("model", choices(recent.map((r) => r.model_group)));
  const keyFilter = select("key", choices(recent.map(keyOf)));
  const statusFilter = select("status", choices(recent.map((r) => r.status)));
  const search = h("input", { type: "search", name: "filter", placeholder: "call id, user, team, tag" });
  const logTable = () => {
    const q = search.value.trim().toLowerCase();
    const rows = recent.filter(
      (r) =>
        (!modelFilter.value || r.model_group === modelFilter.value) &&
        (!keyFilter.value || keyOf(r) === keyFilter.value) &&
        (!statusFilter.value || r.status === statusFilter.value) &&
        (!q || [r.request_id, r.user, r.team_id, teamNames.get(r.team_id), ...(r.request_tags || [])].some((v) => String(v || "").toLowerCase().includes(q))),
    );
    return h(
      "div",
      {},
      h("p", { className: "muted", "data-testid": "spend-logs-count", "aria-live": "polite" }, `${rows.length} of ${recent.length} rows`),
      table(
        "Recent spend log rows",
        [
          { label: "Time", cell: (r) => when(r.endTime) },
          { label: "Model", cell: (r) => r.model_group },
          { label: "Key", cell: keyOf },
          { label: "Team", cell: (r) => (r.team_id ? teamNames.get(r.team_id) || r.team_id : "—") },
          { label: "Tokens", cell: (r) => r.total_tokens },
          { label: "Spend", cell: (r) => exactMoney(r.spend) },
          { label: "Status", cell: (r) => r.status },
          { label: "Call id", cell: (r) => h("a", { href: `/ui/requests?id=${encodeURIComponent(r.request_id)}`, "data-nav": "true", "aria-label": `Look up request ${r.request_id}` }, `…${r.request_id.slice(-12)}`) },
        ],
        rows,
        { testId: "spend-logs", empty: "No spend log rows match." },
      ),
    );
  };
  const logBox = h("div", {}, logTable());
  const redraw = () => logBox.replaceChildren(logTable());
  for (const control of [modelFilter, keyFilter, statusFilter]) {
    control.addEventListener("change", redraw);
  }
  search.addEventListener("input", redraw);
  const totals = (caption, label, rows, testId) =>
    table(
      caption,
      [
        { label, cell: (m) => m[0] },
        { label: "Spend", cell: (m) => exact(m[1]) },
      ],
      rows,
      { testId },
    );

  return section(
    "Spend",
    h("p", { className: "summary", "data-testid": "spend-total" }, `Last 30 days: ${exact(total)} over ${requests} requests (same figures as /global/spend/report).`),
    h(
      "div",
      { className: "charts" },
      chartFigure("chart-spend-day", "Spend per day (USD)", "bar", days.map((d) => d[0]), days.map((d) => d[1])),
      chartFigure("chart-spend-model", "Spend per model (USD)", "doughnut", models.map((m) => m[0]), models.map((m) => m[1])),
      chartFigure("chart-spend-key", "Spend per key (USD)", "bar", keys.map((k) => k[0]), keys.map((k) => k[1])),
      chartFigure("chart-spend-team", "Spend per team (USD)", "bar", teams.map((t) => t[0]), teams.map((t) => t[1])),
    ),
    h(
      "div",
      { className: "totals" },
      totals("Spend per model", "Model", models, "spend-by-model"),
      totals("Spend per key", "Key", keys, "spend-by-key"),
      totals("Spend per team", "Team", teams, "spend-by-team"),
    ),
    h("h2", {}, "Recent requests"),
    h("div", { className: "grid filters", role: "group", "aria-label": "Filter the spend log rows" }, field("Model", modelFilter), field("Key", keyFilter), field("Status", statusFilter), field("Search", search)),
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
