// The GWS REST client of the desktop, behaving like a GWS browser client: the first request
// authenticates with HTTP Basic and gets the JSESSIONID cookie; later ones ride on the cookie
// and send the CSRF token the server hands out on every GET answer.
//
// The password is kept in this module's memory only (never in any storage) and only so that the
// desktop can open a new HTTP session by itself when the server has forgotten the old one
// (sessions live in server memory: a restart forgets them). After a page reload it is gone and
// the cookie alone carries on, or the agent signs in again.
//
// While the server's database fails over it answers 503 (statusCode 4, Retry-After): nothing was
// done, and the request is sent again after Retry-After, for up to a minute. Session operations
// carry an Idempotency-Key (an smsdesk extension), new per operation and kept across those repeats,
// so that one whose first attempt did commit (the server may not know: X-Smsdesk-Outcome: unknown)
// is answered with its first outcome instead of being done twice.

export interface Envelope {
    statusCode: number;
    statusMessage?: string;
    referenceId?: number;
    [key: string]: unknown;
}

export class ApiError extends Error {
    constructor(readonly httpStatus: number, readonly statusCode: number, message: string) {
        super(message);
    }
}

let credentials: {userName: string; password: string} | null = null;
let csrfToken: string | null = null;

function basic(userName: string, password: string): string {
    const bytes = new TextEncoder().encode(`${userName}:${password}`);
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return "Basic " + btoa(binary);
}

async function send(
    method: string,
    path: string,
    body: unknown,
    authorization: string | null,
    idempotencyKey: string | null = null,
): Promise<Response> {
    const headers: Record<string, string> = {"X-Requested-With": "XMLHttpRequest"};
    if (idempotencyKey !== null) headers["Idempotency-Key"] = idempotencyKey;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (authorization !== null) headers["Authorization"] = authorization;
    if (method !== "GET" && csrfToken !== null) headers["X-CSRF-TOKEN"] = csrfToken;
    const response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
    });
    const token = response.headers.get("X-CSRF-TOKEN");
    if (token) csrfToken = token;
    return response;
}

async function envelope(response: Response): Promise<Envelope> {
    let parsed: Envelope;
    try {
        parsed = (await response.json()) as Envelope;
    } catch {
        throw new ApiError(response.status, 4, `The server answered ${response.status} without a GWS envelope`);
    }
    if (!response.ok || parsed.statusCode !== 0) {
        throw new ApiError(response.status, parsed.statusCode, parsed.statusMessage ?? `HTTP ${response.status}`);
    }
    return parsed;
}

/** Opens an HTTP session with the user's password; the answer is ``GET /api/v2/me``. */
export async function signIn(userName: string, password: string): Promise<Envelope> {
    const response = await send("GET", "/api/v2/me", undefined, basic(userName, password));
    const me = await envelope(response);
    credentials = {userName, password};
    return me;
}

/** A new HTTP session (cookie and CSRF token) from the remembered password, if there is one. */
export async function renewSession(): Promise<boolean> {
    if (credentials === null) return false;
    const response = await send("GET", "/api/v2/me", undefined, basic(credentials.userName, credentials.password));
    return response.ok;
}

export function forgetCredentials(): void {
    credentials = null;
    csrfToken = null;
}

const UNAVAILABLE_RETRY_MS = 60_000;
const KEYED = /^\/api\/v2\/me\/smssessions\/[^/]+$/;

function newKey(): string {
    // getRandomValues works on plain http too (randomUUID needs a secure context).
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function request(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<Envelope> {
    const key = method === "POST" && KEYED.test(path) ? newKey() : null;
    const deadline = Date.now() + UNAVAILABLE_RETRY_MS;
    for (;;) {
        const response = await attempt(method, path, body, key);
        if (response.status !== 503 || Date.now() > deadline) return envelope(response);
        // Without a key, a request whose outcome is unknown is not repeated: the caller re-reads.
        if (key === null && response.headers.get("X-Smsdesk-Outcome") === "unknown") return envelope(response);
        const wait = Math.min(Number(response.headers.get("Retry-After")) || 1, 5) * 1000;
        await new Promise((resolve) => setTimeout(resolve, wait));
    }
}

async function attempt(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body: unknown, key: string | null): Promise<Response> {
    let response = await send(method, path, body, null, key);
    if (response.status === 401 && (await renewSession())) {
        response = await send(method, path, body, null, key);
    } else if (response.status === 403 && method !== "GET") {
        // A CSRF token the server no longer knows (a new HTTP session): read a fresh one, once.
        const copy = response.clone();
        const refused = (await copy.json().catch(() => null)) as Envelope | null;
        if (refused?.statusMessage?.includes("Csrf")) {
            await send("GET", "/api/v2/me", undefined, null);
            response = await send(method, path, body, null, key);
        }
    }
    return response;
}

export const get = (path: string): Promise<Envelope> => request("GET", path);
export const post = (path: string, body: unknown): Promise<Envelope> => request("POST", path, body);
export const put = (path: string, body: unknown): Promise<Envelope> => request("PUT", path, body);
export const del = (path: string): Promise<Envelope> => request("DELETE", path);
