// The API client: the key lives in this tab's sessionStorage and goes in the Authorization header,
// never in a URL.

const STORAGE_KEY = 'pipeline.apiKey';

export const getKey = () => sessionStorage.getItem(STORAGE_KEY);
export const setKey = (key) => sessionStorage.setItem(STORAGE_KEY, key);
export const clearKey = () => sessionStorage.removeItem(STORAGE_KEY);

/** Fired on `window` when the server refuses the key: the app signs out. */
export const AUTH_LOST = 'pipeline:auth-lost';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** fetch() with the key; the raw Response (callers that stream or read blobs use it). */
export async function apiFetch(path, { method = 'GET', body, signal, key = getKey() } = {}) {
  const headers = { authorization: `Bearer ${key ?? ''}` };
  const res = await fetch(path, { method, body, signal, headers, cache: 'no-store' });
  if (res.status === 401 && key === getKey()) window.dispatchEvent(new Event(AUTH_LOST));
  return res;
}

/** An error body `{ error: { code, message } }` as an ApiError. */
export async function toApiError(res) {
  let code = 'HTTP_' + res.status;
  let message = `The server answered ${res.status}.`;
  try {
    const body = await res.json();
    if (body?.error) ({ code, message } = body.error);
  } catch {
    // Not JSON (a proxy page): keep the generic message.
  }
  return new ApiError(res.status, code, message);
}

/** JSON in, JSON out; throws ApiError on any non-2xx. */
export async function api(path, options) {
  const res = await apiFetch(path, options);
  if (!res.ok) throw await toApiError(res);
  return res.status === 204 ? null : res.json();
}

/**
 * Check a key before keeping it. There is no "who am I" route, so ask for a run that cannot
 * exist: a known key gets 404, an unknown one 401.
 */
export async function checkKey(key) {
  const res = await apiFetch('/v1/runs/sign-in-check', { key });
  if (res.status === 404) return;
  throw await toApiError(res);
}
