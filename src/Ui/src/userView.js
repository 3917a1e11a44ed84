// What a user signed in by SSO (not the admin) sees as "My keys": their own user, spend and budget, and their keys,
// from /user/info (the admin API answers a user only about themselves).
import { api } from "./api.js";
import { h, money, table, when } from "./dom.js";

export async function myKeysView(session) {
  const info = await api("GET", "/user/info");
  const user = info.user_info || {};
  const keys = info.keys || [];
  return h(
    "section",
    { "aria-labelledby": "my-keys-title" },
    h("h1", { id: "my-keys-title", tabindex: "-1" }, "My keys"),
    h(
      "dl",
      { className: "facts card", "data-testid": "my-user" },
      h("dt", {}, "User"),
      h("dd", {}, session.user_email || info.user_id),
      h("dt", {}, "Role"),
      h("dd", {}, user.user_role || "internal_user"),
      h("dt", {}, "Spend"),
      h("dd", {}, money(user.spend)),
      h("dt", {}, "Budget"),
      h("dd", {}, user.max_budget == null ? "none" : money(user.max_budget)),
    ),
    table(
      "Your keys",
      [
        { label: "Alias", cell: (k) => k.key_alias || "—" },
        { label: "Key", cell: (k) => k.key_name || "" },
        { label: "Models", cell: (k) => (k.models && k.models.length ? k.models.join(", ") : "all") },
        { label: "Spend", cell: (k) => money(k.spend) },
        { label: "Budget", cell: (k) => (k.max_budget == null ? "none" : money(k.max_budget)) },
        { label: "Expires", cell: (k) => when(k.expires) },
        { label: "Status", cell: (k) => (k.blocked ? "blocked" : "active") },
      ],
      keys,
      { testId: "my-keys", empty: "You have no keys yet: ask an admin for one." },
    ),
  );
}
