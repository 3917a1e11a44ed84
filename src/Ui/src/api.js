// The admin UI's only way out: same-origin calls to Broker's public admin API with the session cookie.
// Changes carry the session's CSRF token (X-CSRF-Token); nothing else is ever fetched.

let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = token || "";
}

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF-Token"] = csrfToken;
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const error = json && json.error;
    const message = (error && (error.message || error)) || json?.detail || `${method} ${path} answered ${response.status}`;
    throw new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message), error?.code);
  }
  return json;
}
