// Users and teams (proxy admin): list, create, edit, delete (/user/*, /team/*). A team's members are the users whose
// `teams` name it, so adding or removing a member is a /user/update of that user's teams.
import { api, ApiError } from "./api.js";
import { alertBox, h, money, table, when } from "./dom.js";
import { fieldGrid, openFormDialog, openInfoDialog, readInputs, secretNotice } from "./forms.js";

const list = (values) => (Array.isArray(values) && values.length ? values.join(", ") : "all");
const roles = ["internal_user", "internal_user_viewer", "proxy_admin", "proxy_admin_viewer"].map((r) => [r, r]);

function section(title, ...children) {
  return h("section", { "aria-labelledby": "view-title" }, h("h1", { id: "view-title", tabindex: "-1" }, title), ...children);
}

function failure(error) {
  return alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error));
}

const budget = (r) => (r.max_budget == null ? "none" : r.budget_duration ? `${money(r.max_budget)} per ${r.budget_duration}` : money(r.max_budget));
const limits = (r) => [r.rpm_limit != null ? `${r.rpm_limit} rpm` : null, r.tpm_limit != null ? `${r.tpm_limit} tpm` : null].filter(Boolean).join(", ") || "—";

function sharedSpecs(r) {
  return [
    { name: "models", label: "Models", kind: "list", value: r?.models, hint: "Comma-separated; empty means every model" },
    { name: "max_budget", label: "Max budget (USD)", kind: "number", value: r?.max_budget },
    { name: "budget_duration", label: "Budget resets every", value: r?.budget_duration, placeholder: "30d", hint: "e.g. 1d, 30d, 1mo; empty: never" },
    { name: "rpm_limit", label: "Requests per minute", kind: "integer", value: r?.rpm_limit },
    { name: "tpm_limit", label: "Tokens per minute", kind: "integer", value: r?.tpm_limit },
  ];
}

/** Runs a change, redraws the view and reports the outcome in the view's status area. */
function runner(rerender) {
  const say = (node) => document.querySelector(".status-area")?.replaceChildren(node);
  return {
    say,
    act: (run, message) => async () => {
      try {
        await run();
        await rerender();
        if (message) {
          say(alertBox(message, "success"));
        }
      } catch (error) {
        say(failure(error));
      }
    },
  };
}

function createForm(title, testId, specs, submitLabel, onCreate) {
  const { grid, inputs } = fieldGrid(specs);
  const titleId = `${testId}-title`;
  const form = h(
    "form",
    {
      className: "card create",
      "aria-labelledby": titleId,
      "data-testid": testId,
      onsubmit: async (event) => {
        event.preventDefault();
        await onCreate(readInputs(inputs, { skipEmpty: true }), () => form.reset());
      },
    },
    h("h2", { id: titleId }, title),
    grid,
    h("button", { type: "submit", className: "primary" }, submitLabel),
  );
  return form;
}

// ---- Users ---------------------------------------------------------------------------------------

export async function usersView(session, rerender) {
  let users;
  let teams;
  try {
    [users, teams] = await Promise.all([api("GET", "/user/list?page_size=100"), api("GET", "/team/list")]);
  } catch (error) {
    return section("Users", failure(error));
  }
  users = users.users || [];
  const teamName = new Map(teams.map((t) => [t.team_id, t.team_alias || t.team_id]));
  const { say, act } = runner(rerender);
  const userSpecs = (u) => [
    { name: "user_email", label: "Email", value: u?.user_email },
    { name: "user_alias", label: "Name", value: u?.user_alias },
    { name: "user_role", label: "Role", kind: "select", value: u?.user_role ?? "internal_user", options: roles },
    { name: "teams", label: "Teams", kind: "list", value: u?.teams, hint: `Team ids, comma-separated${teams.length ? ` (${teams.map((t) => t.team_id).join(", ")})` : ""}` },
    ...sharedSpecs(u),
  ];
  const form = createForm(
    "Create a user",
    "create-user",
    [{ name: "user_id", label: "User id", hint: "Empty: one is made up" }, ...userSpecs(null), { name: "auto_create_key", label: "Also create a key for this user (shown once)", kind: "checkbox" }],
    "Create user",
    async (body, reset) => {
      try {
        const created = await api("POST", "/user/new", body);
        reset();
        await rerender();
        say(created.key ? secretNotice(`User ${created.user_id} created with a key. Copy it now: it is not shown again.`, created.key) : alertBox(`User ${created.user_id} created.`, "success"));
      } catch (error) {
        say(failure(error));
      }
    },
  );
  const rows = table(
    "Users",
    [
      { label: "User id", cell: (u) => h("code", {}, u.user_id) },
      { label: "Email", cell: (u) => u.user_email || "—" },
      { label: "Name", cell: (u) => u.user_alias || "—" },
      { label: "Role", cell: (u) => u.user_role },
      { label: "Teams", cell: (u) => (u.teams?.length ? u.teams.map((t) => teamName.get(t) || t).join(", ") : "—") },
      { label: "Models", cell: (u) => list(u.models) },
      { label: "Budget", cell: budget },
      { label: "Spend", cell: (u) => money(u.spend) },
      { label: "Limits", cell: limits },
      {
        label: "Actions",
        cell: (u) =>
          h(
            "div",
            { className: "actions" },
            h(
              "button",
              {
                type: "button",
                "aria-label": `Edit user ${u.user_id}`,
                onclick: () =>
                  openFormDialog({
                    title: `Edit user ${u.user_id}`,
                    specs: userSpecs(u),
                    submitLabel: "Save changes",
                    testId: "edit-user",
                    submit: (values) => api("POST", "/user/update", { user_id: u.user_id, ...values }),
                    done: async () => {
                      await rerender();
                      say(alertBox(`User ${u.user_id} saved.`, "success"));
                    },
                  }),
              },
              "Edit",
            ),
            h(
              "button",
              {
                type: "button",
                className: "danger",
                "aria-label": `Delete user ${u.user_id}`,
                onclick: async () => {
                  if (window.confirm(`Delete user ${u.user_id} and every key of theirs?`)) {
                    await act(() => api("POST", "/user/delete", { user_ids: [u.user_id] }), `User ${u.user_id} deleted.`)();
                  }
                },
              },
              "Delete",
            ),
          ),
      },
    ],
    users,
    { testId: "users-table", empty: "No users yet.", rowAttrs: (u) => ({ "data-id": u.user_id }) },
  );
  return section("Users", h("div", { className: "status-area", "aria-live": "polite" }), form, rows);
}

// ---- Teams ---------------------------------------------------------------------------------------

export async function teamsView(session, rerender) {
  let teams;
  let users;
  try {
    [teams, users] = await Promise.all([api("GET", "/team/list"), api("GET", "/user/list?page_size=100")]);
  } catch (error) {
    return section("Teams", failure(error));
  }
  users = users.users || [];
  const membersOf = (teamId) => users.filter((u) => (u.teams || []).includes(teamId));
  const { say, act } = runner(rerender);
  const teamSpecs = (t) => [{ name: "team_alias", label: "Team name", value: t?.team_alias }, ...sharedSpecs(t)];
  const form = createForm("Create a team", "create-team", [{ name: "team_id", label: "Team id", hint: "Empty: one is made up" }, ...teamSpecs(null)], "Create team", async (body, reset) => {
    try {
      const created = await api("POST", "/team/new", body);
      reset();
      await rerender();
      say(alertBox(`Team ${created.team_alias || created.team_id} created.`, "success"));
    } catch (error) {
      say(failure(error));
    }
  });

  const setTeams = (user, teamIds) => api("POST", "/user/update", { user_id: user.user_id, teams: teamIds });
  const showMembers = async (t) => {
    const name = t.team_alias || t.team_id;
    let keys = [];
    try {
      keys = (await api("GET", `/team/info?team_id=${encodeURIComponent(t.team_id)}`)).keys || [];
    } catch (error) {
      say(failure(error));
      return;
    }
    const members = membersOf(t.team_id);
    const others = users.filter((u) => !(u.teams || []).includes(t.team_id));
    const pick = h("select", { name: "member", id: "add-member" }, others.map((u) => h("option", { value: u.user_id }, u.user_alias ? `${u.user_alias} (${u.user_id})` : u.user_id)));
    const addForm = h(
      "form",
      {
        className: "inline",
        onsubmit: async (event) => {
          event.preventDefault();
          const user = others.find((u) => u.user_id === pick.value);
          if (user) {
            dialog.close();
            await act(() => setTeams(user, [...(user.teams || []), t.team_id]), `${user.user_id} added to team ${name}.`)();
          }
        },
      },
      h("div", { className: "field" }, h("label", { for: "add-member" }, "Add a member"), pick),
      h("button", { type: "submit", className: "primary", disabled: others.length === 0 }, "Add member"),
    );
    const content = h(
      "div",
      {},
      table(
        `Members of ${name}`,
        [
          { label: "User id", cell: (u) => h("code", {}, u.user_id) },
          { label: "Name", cell: (u) => u.user_alias || u.user_email || "—" },
          { label: "Spend", cell: (u) => money(u.spend) },
          {
            label: "Actions",
            cell: (u) =>
              h(
                "button",
                {
                  type: "button",
                  "aria-label": `Remove ${u.user_id} from team ${name}`,
                  onclick: async () => {
                    dialog.close();
                    await act(() => setTeams(u, (u.teams || []).filter((id) => id !== t.team_id)), `${u.user_id} removed from team ${name}.`)();
                  },
                },
                "Remove",
              ),
          },
        ],
        members,
        { testId: "team-members", empty: "No members yet." },
      ),
      addForm,
      table(
        `Keys of ${name}`,
        [
          { label: "Alias", cell: (k) => k.key_alias || "—" },
          { label: "Key", cell: (k) => h("code", {}, k.key_name) },
          { label: "Spend", cell: (k) => money(k.spend) },
          { label: "Expires", cell: (k) => (k.expires ? when(k.expires) : "never") },
        ],
        keys,
        { testId: "team-keys", empty: "No keys in this team." },
      ),
    );
    const dialog = openInfoDialog({ title: `Team ${name}`, content, testId: "team-dialog" });
  };

  const rows = table(
    "Teams",
    [
      { label: "Team", cell: (t) => t.team_alias || "—" },
      { label: "Team id", cell: (t) => h("code", {}, t.team_id) },
      { label: "Members", cell: (t) => String(membersOf(t.team_id).length) },
      { label: "Models", cell: (t) => list(t.models) },
      { label: "Budget", cell: budget },
      { label: "Spend", cell: (t) => money(t.spend) },
      { label: "Limits", cell: limits },
      { label: "Status", cell: (t) => (t.blocked ? h("span", { className: "badge bad" }, "blocked") : h("span", { className: "badge ok" }, "active")) },
      {
        label: "Actions",
        cell: (t) =>
          h(
            "div",
            { className: "actions" },
            h("button", { type: "button", "aria-label": `Members of team ${t.team_alias || t.team_id}`, onclick: () => showMembers(t) }, "Members"),
            h(
              "button",
              {
                type: "button",
                "aria-label": `Edit team ${t.team_alias || t.team_id}`,
                onclick: () =>
                  openFormDialog({
                    title: `Edit team ${t.team_alias || t.team_id}`,
                    specs: teamSpecs(t),
                    submitLabel: "Save changes",
                    testId: "edit-team",
                    submit: (values) => api("POST", "/team/update", { team_id: t.team_id, ...values }),
                    done: async (saved) => {
                      await rerender();
                      say(alertBox(`Team ${saved?.data?.team_alias || t.team_id} saved.`, "success"));
                    },
                  }),
              },
              "Edit",
            ),
            h(
              "button",
              {
                type: "button",
                className: "danger",
                "aria-label": `Delete team ${t.team_alias || t.team_id}`,
                onclick: async () => {
                  if (window.confirm(`Delete team ${t.team_alias || t.team_id} and every key of the team?`)) {
                    await act(() => api("POST", "/team/delete", { team_ids: [t.team_id] }), `Team ${t.team_alias || t.team_id} deleted.`)();
                  }
                },
              },
              "Delete",
            ),
          ),
      },
    ],
    teams,
    { testId: "teams-table", empty: "No teams yet.", rowAttrs: (t) => ({ "data-id": t.team_id }) },
  );
  return section("Teams", h("div", { className: "status-area", "aria-live": "polite" }), form, rows);
}
