// The administration pages: users, queues (with their opening hours and automatic replies),
// standard responses, service numbers, the contact center's data rules and the audit log, for
// ROLE_ADMIN users, on the public REST API only (docs/gws-compatibility.md, "Administration",
// "Standard responses" and "Opening hours and automatic replies").

import {render} from "preact";
import {useEffect, useLayoutEffect, useRef, useState} from "preact/hooks";
import {ApiError, type Envelope, del, forgetCredentials, get, post, put} from "./api";
import {ProviderSignIn, takeProviderError, usePasswordSignIn, useSignInOptions} from "./signin";

const ROLES: [string, string][] = [
    ["ROLE_AGENT", "Agent"],
    ["ROLE_SUPERVISOR", "Supervisor"],
    ["ROLE_ADMIN", "Administrator"],
];

interface UserRef {
    id: string;
    userName: string;
}
interface User {
    id: string;
    userName: string;
    firstName: string;
    lastName: string;
    roles: string[];
    enabled: boolean;
    passwordSignIn: boolean;
    queues: string[];
    supervisedQueues: string[];
}
interface OpeningHours {
    timezone: string;
    weekly: string;
    closedDates: string[];
    whenClosed: "queue" | "complete";
}
interface AutomaticReplies {
    closed: string | null;
    waiting: string | null;
    waitingAfterSeconds: number | null;
}
interface Queue {
    name: string;
    members: UserRef[];
    supervisors: UserRef[];
    serviceNumbers: string[];
    openingHours: OpeningHours | null;
    automaticReplies: AutomaticReplies;
    open: boolean;
    opensAt: string | null;
}
interface StandardResponse {
    id: string;
    name: string;
    category: string;
    text: string;
}
interface ServiceNumber {
    number: string;
    queue: string;
    connector: string;
}
interface AuditEntry {
    id: number;
    timestamp: string;
    timestampMs: number;
    actor: {userName: string};
    action: string;
    target: {type: string; id: string | null};
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
}
type View = "users" | "queues" | "responses" | "numbers" | "audit" | "data";

const AUDIT_PAGE = 25;

const state = {
    phase: "signed-out" as "signed-out" | "signed-in",
    me: null as User | null,
    view: "users" as View,
    users: [] as User[],
    queues: [] as Queue[],
    responses: [] as StandardResponse[],
    numbers: [] as ServiceNumber[],
    audit: [] as AuditEntry[],
    auditTotal: 0,
    auditStart: 1,
    retentionDays: null as number | null,
    status: null as string | null,
    error: null as string | null,
    signInError: takeProviderError(),
};

let rerender = (): void => {};
function refresh(): void {
    rerender();
}

function said(text: string): void {
    state.status = text;
    state.error = null;
    refresh();
}

function failed(error: unknown): void {
    state.status = null;
    state.error = error instanceof Error ? error.message : String(error);
    if (error instanceof ApiError && error.httpStatus === 401) endSession("Your session has ended: please sign in again.");
    refresh();
}

async function attempt(work: () => Promise<void>): Promise<boolean> {
    try {
        await work();
        return true;
    } catch (error) {
        failed(error);
        return false;
    }
}

async function loadUsers(): Promise<void> {
    state.users = ((await get("/api/v2/users?fields=*"))["users"] as User[]) ?? [];
}
async function loadQueues(): Promise<void> {
    state.queues = ((await get("/api/v2/queues"))["queues"] as Queue[]) ?? [];
}
async function loadResponses(): Promise<void> {
    state.responses = ((await get("/api/v2/standard-responses"))["standardResponses"] as StandardResponse[]) ?? [];
}
async function loadNumbers(): Promise<void> {
    state.numbers = ((await get("/api/v2/service-numbers"))["serviceNumbers"] as ServiceNumber[]) ?? [];
}
async function loadAudit(): Promise<void> {
    const answer = await get(`/api/v2/audit?startIndex=${state.auditStart}&count=${AUDIT_PAGE}`);
    state.audit = (answer["entries"] as AuditEntry[]) ?? [];
    state.auditTotal = (answer["total"] as number) ?? 0;
}
async function loadCenter(): Promise<void> {
    const center = (await get("/api/v2/contact-center"))["contactCenter"] as {retentionDays: number | null};
    state.retentionDays = center.retentionDays;
}

async function reload(): Promise<void> {
    await attempt(async () => {
        await Promise.all([loadUsers(), loadQueues(), loadResponses(), loadNumbers(), loadAudit(), loadCenter()]);
    });
    refresh();
}

async function start(me: Envelope): Promise<void> {
    const user = me["user"] as User;
    if (!user.roles.includes("ROLE_ADMIN")) {
        forgetCredentials();
        state.signInError = `${user.userName} is not an administrator: these pages are for ROLE_ADMIN users.`;
        refresh();
        return;
    }
    state.me = user;
    state.phase = "signed-in";
    state.signInError = null;
    await reload();
}

function endSession(message: string | null): void {
    forgetCredentials();
    Object.assign(state, {phase: "signed-out", me: null, status: null, error: null, signInError: message});
}

async function signOut(): Promise<void> {
    try {
        await post("/api/v2/me", {operationName: "EndContactCenterSession"});
    } catch {
        // The server is gone or the session already ended: signed out here all the same.
    }
    endSession(null);
    refresh();
}

// ---------------------------------------------------------------- pages

function Admin() {
    const [, setTick] = useState(0);
    rerender = () => setTick((n) => n + 1);
    if (state.phase === "signed-out") return <SignIn />;
    return (
        <div class="admin">
            <header class="topbar">
                <span class="who">
                    smsdesk administration · signed in as <strong>{state.me?.userName}</strong>
                </span>
                <nav aria-label="Administration">
                    {(
                        [
                            ["users", "Users"],
                            ["queues", "Queues"],
                            ["responses", "Standard responses"],
                            ["numbers", "Service numbers"],
                            ["data", "Customer data"],
                            ["audit", "Audit log"],
                        ] as [View, string][]
                    ).map(([view, label]) => (
                        <button
                            type="button"
                            aria-pressed={state.view === view}
                            onClick={() => {
                                state.view = view;
                                state.status = state.error = null;
                                void reload();
                            }}
                        >
                            {label}
                        </button>
                    ))}
                </nav>
                <button type="button" onClick={() => void signOut()}>
                    Sign out
                </button>
            </header>
            <div class="messages">
                <p role="status">{state.status ?? ""}</p>
                {state.error && (
                    <p role="alert" class="error">
                        {state.error}
                    </p>
                )}
            </div>
            <main>
                {state.view === "users" && <Users />}
                {state.view === "queues" && <Queues />}
                {state.view === "responses" && <StandardResponses />}
                {state.view === "numbers" && <Numbers />}
                {state.view === "data" && <CustomerData />}
                {state.view === "audit" && <Audit />}
            </main>
        </div>
    );
}

function SignIn() {
    const options = useSignInOptions();
    const {busy, submit} = usePasswordSignIn(start, (message) => {
        state.signInError = message;
        refresh();
    });
    return (
        <main class="signin">
            <h1>smsdesk administration</h1>
            {state.signInError && (
                <p class="error" role="alert">
                    {state.signInError}
                </p>
            )}
            {options.passwordSignIn && (
                <form onSubmit={submit}>
                    <label>
                        User name
                        <input name="username" autocomplete="username" required autofocus />
                    </label>
                    <label>
                        Password
                        <input name="password" type="password" autocomplete="current-password" required />
                    </label>
                    <button type="submit" disabled={busy}>
                        Sign in
                    </button>
                </form>
            )}
            <ProviderSignIn options={options} next="/admin/" />
        </main>
    );
}

function roleNames(roles: string[]): string {
    return ROLES.filter(([role]) => roles.includes(role))
        .map(([, label]) => label)
        .join(", ");
}

function Users() {
    const [editing, setEditing] = useState<User | "new" | null>(null);
    if (editing !== null) return <UserForm user={editing === "new" ? null : editing} done={() => setEditing(null)} />;
    return (
        <section aria-labelledby="users-title">
            <div class="heading">
                <h1 id="users-title">Users</h1>
                <button type="button" class="primary" onClick={() => setEditing("new")}>
                    Add user
                </button>
            </div>
            <table>
                <HeadWithActions columns={["User name", "Name", "Roles", "Queues", "Status"]} />
                <tbody>
                    {state.users.map((user) => (
                        <tr key={user.id}>
                            <th scope="row">{user.userName}</th>
                            <td>
                                {user.firstName} {user.lastName}
                            </td>
                            <td>{roleNames(user.roles)}</td>
                            <td>{user.queues.join(", ")}</td>
                            <td>{user.enabled ? "Enabled" : "Disabled"}</td>
                            <td>
                                <button type="button" onClick={() => setEditing(user)} aria-label={`Edit ${user.userName}`}>
                                    Edit
                                </button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
        </section>
    );
}

function Checks({legend, options, chosen, name}: {legend: string; options: [string, string][]; chosen: string[]; name: string}) {
    return (
        <fieldset>
            <legend>{legend}</legend>
            {options.length === 0 && <p class="hint">None yet.</p>}
            {options.map(([value, label]) => (
                <label class="check">
                    <input type="checkbox" name={name} value={value} defaultChecked={chosen.includes(value)} />
                    {label}
                </label>
            ))}
        </fieldset>
    );
}

function checked(form: HTMLFormElement, name: string): string[] {
    return Array.from(form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)).map((input) => input.value);
}

function field(form: HTMLFormElement, name: string): string {
    return (form.elements.namedItem(name) as HTMLInputElement).value;
}

function flag(form: HTMLFormElement, name: string): boolean {
    return (form.elements.namedItem(name) as HTMLInputElement).checked;
}

function UserForm({user, done}: {user: User | null; done: () => void}) {
    const queueNames: [string, string][] = state.queues.map((q) => [q.name, q.name]);
    async function submit(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const password = field(form, "password");
        const body: Record<string, unknown> = {
            firstName: field(form, "firstName"),
            lastName: field(form, "lastName"),
            roles: checked(form, "roles"),
            queues: checked(form, "queues"),
            supervisedQueues: checked(form, "supervisedQueues"),
            enabled: flag(form, "enabled"),
            passwordSignIn: flag(form, "passwordSignIn"),
        };
        const ok = await attempt(async () => {
            if (user === null) {
                await post("/api/v2/users", {...body, userName: field(form, "userName"), password});
            } else {
                if (password) body["password"] = password;
                await put(`/api/v2/users/${user.id}`, body);
            }
        });
        if (ok) {
            said(user === null ? `User ${field(form, "userName")} added.` : `User ${user.userName} saved.`);
            done();
            await reload();
        }
    }
    async function remove(): Promise<void> {
        if (user === null) return;
        if (await attempt(() => del(`/api/v2/users/${user.id}`).then(() => undefined))) {
            said(`User ${user.userName} deleted.`);
            done();
            await reload();
        }
    }
    const title = user === null ? "Add a user" : `Edit ${user.userName}`;
    return (
        <section aria-labelledby="user-form-title">
            <h1 id="user-form-title">{title}</h1>
            <form class="editor" onSubmit={submit}>
                {user === null && (
                    <label>
                        User name
                        <input name="userName" autocomplete="off" required autofocus />
                    </label>
                )}
                <label>
                    First name
                    <input name="firstName" autocomplete="off" defaultValue={user?.firstName ?? ""} />
                </label>
                <label>
                    Last name
                    <input name="lastName" autocomplete="off" defaultValue={user?.lastName ?? ""} />
                </label>
                <label>
                    {user === null ? "Password" : "New password (leave empty to keep the current one)"}
                    <input name="password" type="password" autocomplete="new-password" required={user === null} />
                </label>
                <Checks legend="Roles" name="roles" options={ROLES} chosen={user?.roles ?? ["ROLE_AGENT"]} />
                <Checks legend="Queues served" name="queues" options={queueNames} chosen={user?.queues ?? []} />
                <Checks legend="Queues supervised" name="supervisedQueues" options={queueNames} chosen={user?.supervisedQueues ?? []} />
                <fieldset>
                    <legend>Access</legend>
                    <label class="check">
                        <input type="checkbox" name="enabled" defaultChecked={user?.enabled ?? true} />
                        Enabled (a disabled user is signed out everywhere)
                    </label>
                    <label class="check">
                        <input type="checkbox" name="passwordSignIn" defaultChecked={user?.passwordSignIn ?? true} />
                        May sign in with a password
                    </label>
                </fieldset>
                <EditorActions
                    submit={user === null ? "Add user" : "Save"}
                    done={done}
                    removal={
                        user === null
                            ? null
                            : {
                                  label: "Delete user",
                                  name: user.userName,
                                  question: `Delete ${user.userName} for good? Their conversations go back to their queues.`,
                                  remove,
                              }
                    }
                />
            </form>
        </section>
    );
}

interface Removal {
    label: string;
    name: string;
    question: string;
    remove: () => Promise<void>;
}

/** An editor's buttons: submit, Cancel and, for something that exists, Delete behind an in-page
 *  confirmation ("Delete NAME" / "Keep NAME"). */
function EditorActions({submit, done, removal}: {submit: string; done: () => void; removal: Removal | null}) {
    const [confirming, setConfirming] = useState(false);
    return (
        <>
            <div class="actions">
                <button type="submit" class="primary">
                    {submit}
                </button>
                <button type="button" onClick={done}>
                    Cancel
                </button>
                {removal !== null && !confirming && (
                    <button type="button" class="danger" onClick={() => setConfirming(true)}>
                        {removal.label}
                    </button>
                )}
            </div>
            {removal !== null && confirming && (
                <div class="confirm" role="group" aria-label="Confirm deletion">
                    <p>{removal.question}</p>
                    <button type="button" class="danger" onClick={() => void removal.remove()}>
                        Delete {removal.name}
                    </button>
                    <button type="button" onClick={() => setConfirming(false)}>
                        Keep {removal.name}
                    </button>
                </div>
            )}
        </>
    );
}

/** A table's head: its columns, then one for the row's buttons (named for screen readers only). */
function HeadWithActions({columns}: {columns: string[]}) {
    return (
        <thead>
            <tr>
                {columns.map((column) => (
                    <th scope="col" key={column}>
                        {column}
                    </th>
                ))}
                <th scope="col">
                    <span class="visually-hidden">Actions</span>
                </th>
            </tr>
        </thead>
    );
}

function hoursSummary(queue: Queue): string {
    const hours = queue.openingHours;
    if (hours === null) return "Always open";
    return `${hours.weekly} (${hours.timezone}) · ${queue.open ? "open now" : "closed now"}`;
}

function Queues() {
    // By name: after a save the view re-reads the queues and the editor shows what was stored.
    const [editing, setEditing] = useState<string | null>(null);
    const current = editing === null ? undefined : state.queues.find((q) => q.name === editing);
    if (current !== undefined) return <QueueForm queue={current} done={() => setEditing(null)} />;
    async function add(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const name = field(form, "queueName");
        if (await attempt(() => post("/api/v2/queues", {name}).then(() => undefined))) {
            said(`Queue ${name} added.`);
            form.reset();
            await reload();
        }
    }
    return (
        <section aria-labelledby="queues-title">
            <h1 id="queues-title">Queues</h1>
            <table>
                <HeadWithActions columns={["Queue", "Members", "Supervisors", "Service numbers", "Opening hours"]} />
                <tbody>
                    {state.queues.map((queue) => (
                        <tr key={queue.name}>
                            <th scope="row">{queue.name}</th>
                            <td>{queue.members.map((m) => m.userName).join(", ")}</td>
                            <td>{queue.supervisors.map((m) => m.userName).join(", ")}</td>
                            <td>{queue.serviceNumbers.join(", ")}</td>
                            <td>{hoursSummary(queue)}</td>
                            <td>
                                <button type="button" aria-label={`Edit queue ${queue.name}`} onClick={() => setEditing(queue.name)}>
                                    Edit
                                </button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            <form class="inline" onSubmit={(e) => void add(e)}>
                <label>
                    New queue
                    <input name="queueName" required autocomplete="off" />
                </label>
                <button type="submit">Add queue</button>
            </form>
        </section>
    );
}

function QueueForm({queue, done}: {queue: Queue; done: () => void}) {
    const agents: [string, string][] = state.users.filter((u) => u.roles.includes("ROLE_AGENT") || u.roles.includes("ROLE_SUPERVISOR")).map((u) => [u.id, u.userName]);
    const supervisors: [string, string][] = state.users.filter((u) => u.roles.includes("ROLE_SUPERVISOR")).map((u) => [u.id, u.userName]);
    async function submit(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const body = {members: checked(form, "members"), supervisors: checked(form, "supervisors")};
        if (await attempt(() => put(`/api/v2/queues/${encodeURIComponent(queue.name)}`, body).then(() => undefined))) {
            said(`Queue ${queue.name} saved.`);
            done();
            await reload();
        }
    }
    async function remove(): Promise<void> {
        if (await attempt(() => del(`/api/v2/queues/${encodeURIComponent(queue.name)}`).then(() => undefined))) {
            said(`Queue ${queue.name} deleted.`);
            done();
            await reload();
        }
    }
    return (
        <section aria-labelledby="queue-form-title">
            <h1 id="queue-form-title">Edit queue {queue.name}</h1>
            <form class="editor" onSubmit={submit}>
                <h2>Members and supervisors</h2>
                <Checks legend="Members" name="members" options={agents} chosen={queue.members.map((m) => m.id)} />
                <Checks legend="Supervisors" name="supervisors" options={supervisors} chosen={queue.supervisors.map((m) => m.id)} />
                <div class="actions">
                    <button type="submit" class="primary">
                        Save
                    </button>
                    <button type="button" onClick={done}>
                        Cancel
                    </button>
                    <button type="button" class="danger" onClick={() => void remove()}>
                        Delete queue
                    </button>
                </div>
            </form>
            {/* Keyed by what is stored: a save or "Always open" shows the server's values, a refusal keeps what was typed. */}
            <HoursForm key={JSON.stringify(queue.openingHours)} queue={queue} />
            <RepliesForm key={JSON.stringify(queue.automaticReplies)} queue={queue} />
        </section>
    );
}

let zoneNames: string[] | null = null;

/** The IANA zones the browser knows, as suggestions (the server decides what it accepts). */
function timeZones(): string[] {
    if (zoneNames === null) {
        let names: string[] = [];
        try {
            names = Intl.supportedValuesOf("timeZone");
        } catch {
            // An older browser: the field takes any name all the same.
        }
        zoneNames = names.includes("UTC") ? names : ["UTC", ...names];
    }
    return zoneNames;
}

function browserZone(): string {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Lines (or ``;``-separated parts) of a text area, trimmed, without the empty ones. */
function parts(text: string, separator: RegExp): string[] {
    return text
        .split(separator)
        .map((part) => part.trim())
        .filter((part) => part !== "");
}

function hoursNow(queue: Queue): string {
    if (queue.openingHours === null) return "Always open: this queue has no opening hours.";
    if (queue.open) return "Open now.";
    if (queue.opensAt === null) return "Closed now, with no opening ahead.";
    return `Closed now; opens ${new Date(queue.opensAt).toLocaleString()}.`;
}

function HoursForm({queue}: {queue: Queue}) {
    const hours = queue.openingHours;
    const path = `/api/v2/queues/${encodeURIComponent(queue.name)}/opening-hours`;
    async function save(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const body = {
            timezone: field(form, "timezone").trim(),
            weekly: parts(field(form, "weekly"), /[;\n]/).join("; "),
            closedDates: parts(field(form, "closedDates"), /[\s,;]+/),
            whenClosed: checked(form, "whenClosed")[0] ?? "queue",
        };
        if (await attempt(() => put(path, body).then(() => undefined))) {
            said(`Opening hours of ${queue.name} saved.`);
            await reload();
        }
    }
    async function alwaysOpen(): Promise<void> {
        if (await attempt(() => del(path).then(() => undefined))) {
            said(`Queue ${queue.name} is always open.`);
            await reload();
        }
    }
    const whenClosed = hours?.whenClosed ?? "queue";
    return (
        <form class="editor" aria-labelledby="hours-title" onSubmit={(e) => void save(e)}>
            <h2 id="hours-title">Opening hours</h2>
            <p class="hint">{hoursNow(queue)}</p>
            <label>
                Time zone
                <input
                    name="timezone"
                    list="time-zones"
                    required
                    autocomplete="off"
                    spellcheck={false}
                    aria-describedby="timezone-hint"
                    defaultValue={hours?.timezone ?? browserZone()}
                />
            </label>
            <datalist id="time-zones">
                {timeZones().map((name) => (
                    <option value={name} />
                ))}
            </datalist>
            <p class="hint" id="timezone-hint">
                An IANA name, such as Europe/Paris or America/New_York: the hours follow its clock, daylight saving included.
            </p>
            <label>
                Weekly hours
                <textarea name="weekly" rows={3} required spellcheck={false} aria-describedby="weekly-hint" defaultValue={parts(hours?.weekly ?? "", /;/).join("\n")} />
            </label>
            <p class="hint" id="weekly-hint">
                One clause per line: days, then times. Days mon to sun, a range (mon-fri), a list (mon,wed) or daily; several times separated by commas
                (09:00-12:00, 13:00-17:00); a range that ends before it starts runs past midnight (fri 22:00-02:00).
            </p>
            <label>
                Closed dates
                <textarea name="closedDates" rows={3} spellcheck={false} aria-describedby="closed-dates-hint" defaultValue={(hours?.closedDates ?? []).join("\n")} />
            </label>
            <p class="hint" id="closed-dates-hint">
                One date per line, YYYY-MM-DD (2026-12-25): closed that whole day in the queue's time zone.
            </p>
            <fieldset>
                <legend>While closed</legend>
                <label class="check">
                    <input type="radio" name="whenClosed" value="queue" defaultChecked={whenClosed === "queue"} />
                    New conversations wait and are offered when the queue opens
                </label>
                <label class="check">
                    <input type="radio" name="whenClosed" value="complete" defaultChecked={whenClosed === "complete"} />
                    New conversations end after the closed reply
                </label>
            </fieldset>
            <div class="actions">
                <button type="submit" class="primary">
                    Save opening hours
                </button>
                <button type="button" disabled={hours === null} onClick={() => void alwaysOpen()}>
                    Always open
                </button>
            </div>
        </form>
    );
}

const CLOSED_PLACEHOLDERS = ["{{queue.opensAt}}", "{{queue.position}}", "{{queue.name}}", "{{customer.phoneNumber}}"];
const WAITING_PLACEHOLDERS = ["{{queue.position}}", "{{queue.name}}", "{{customer.phoneNumber}}"];

function RepliesForm({queue}: {queue: Queue}) {
    const replies = queue.automaticReplies;
    async function save(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const text = (name: string): string | null => (field(form, name).trim() === "" ? null : field(form, name));
        const seconds = field(form, "waitingAfterSeconds").trim();
        const body = {closed: text("closed"), waiting: text("waiting"), waitingAfterSeconds: seconds === "" ? null : Number(seconds)};
        if (await attempt(() => put(`/api/v2/queues/${encodeURIComponent(queue.name)}/automatic-replies`, body).then(() => undefined))) {
            said(`Automatic replies of ${queue.name} saved.`);
            await reload();
        }
    }
    return (
        <form class="editor" aria-labelledby="replies-title" onSubmit={(e) => void save(e)}>
            <h2 id="replies-title">Automatic replies</h2>
            <p class="hint">Each is sent at most once per conversation; an empty one is not sent.</p>
            <label>
                Closed reply
                <textarea name="closed" rows={3} aria-describedby="closed-reply-hint" defaultValue={replies.closed ?? ""} />
            </label>
            <p class="hint" id="closed-reply-hint">
                To a customer who texts while the queue is closed. Placeholders: {CLOSED_PLACEHOLDERS.join(", ")}.
            </p>
            <label>
                Waiting reply
                <textarea name="waiting" rows={3} aria-describedby="waiting-reply-hint" defaultValue={replies.waiting ?? ""} />
            </label>
            <p class="hint" id="waiting-reply-hint">
                To a customer who has waited for an agent while the queue was open. Placeholders: {WAITING_PLACEHOLDERS.join(", ")}.
            </p>
            <label>
                Send the waiting reply after (seconds)
                <input name="waitingAfterSeconds" type="number" min="1" max="604800" step="1" defaultValue={replies.waitingAfterSeconds === null ? "" : String(replies.waitingAfterSeconds)} />
            </label>
            <div class="actions">
                <button type="submit" class="primary">
                    Save automatic replies
                </button>
            </div>
        </form>
    );
}

function excerpt(text: string, length = 80): string {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

function StandardResponses() {
    const [editing, setEditing] = useState<StandardResponse | "new" | null>(null);
    if (editing !== null) return <ResponseForm response={editing === "new" ? null : editing} done={() => setEditing(null)} />;
    return (
        <section aria-labelledby="responses-title">
            <div class="heading">
                <h1 id="responses-title">Standard responses</h1>
                <button type="button" class="primary" onClick={() => setEditing("new")}>
                    Add standard response
                </button>
            </div>
            <p class="hint">Texts agents insert in a conversation (with / in the composer), their placeholders filled for the customer.</p>
            <table>
                <HeadWithActions columns={["Name", "Category", "Text"]} />
                <tbody>
                    {state.responses.map((response) => (
                        <tr key={response.id}>
                            <th scope="row">{response.name}</th>
                            <td>{response.category}</td>
                            <td>{excerpt(response.text)}</td>
                            <td>
                                <button type="button" aria-label={`Edit standard response ${response.name}`} onClick={() => setEditing(response)}>
                                    Edit
                                </button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {state.responses.length === 0 && <p class="hint">None yet.</p>}
        </section>
    );
}

const RESPONSE_PLACEHOLDERS = [
    "{{customer.phoneNumber}}",
    "{{agent.firstName}}",
    "{{agent.lastName}}",
    "{{agent.nickname}}",
    "{{agent.userName}}",
    "{{userData.KEY}}",
];

function ResponseForm({response, done}: {response: StandardResponse | null; done: () => void}) {
    const name = useRef<HTMLInputElement>(null);
    // Before the browser paints (a layout effect): typing that starts as soon as the form shows
    // must not have its focus moved here halfway. The button that opened the form is gone.
    useLayoutEffect(() => name.current?.focus(), []);
    const categories = [...new Set(state.responses.map((r) => r.category).filter((c) => c !== ""))];
    async function submit(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const body = {name: field(form, "name"), category: field(form, "category"), text: field(form, "text")};
        const ok = await attempt(async () => {
            if (response === null) await post("/api/v2/standard-responses", body);
            else await put(`/api/v2/standard-responses/${encodeURIComponent(response.id)}`, body);
        });
        if (ok) {
            said(`Standard response ${body.name.trim()} ${response === null ? "added" : "saved"}.`);
            done();
            await reload();
        }
    }
    async function remove(): Promise<void> {
        if (response === null) return;
        if (await attempt(() => del(`/api/v2/standard-responses/${encodeURIComponent(response.id)}`).then(() => undefined))) {
            said(`Standard response ${response.name} deleted.`);
            done();
            await reload();
        }
    }
    const title = response === null ? "Add a standard response" : `Edit standard response ${response.name}`;
    return (
        <section aria-labelledby="response-form-title">
            <h1 id="response-form-title">{title}</h1>
            <form class="editor" onSubmit={submit}>
                <label>
                    Name
                    <input ref={name} name="name" autocomplete="off" required defaultValue={response?.name ?? ""} />
                </label>
                <label>
                    Category
                    <input name="category" list="response-categories" autocomplete="off" defaultValue={response?.category ?? ""} />
                </label>
                <datalist id="response-categories">
                    {categories.map((category) => (
                        <option value={category} />
                    ))}
                </datalist>
                <label>
                    Text
                    <textarea name="text" rows={5} required aria-describedby="response-text-hint" defaultValue={response?.text ?? ""} />
                </label>
                <p class="hint" id="response-text-hint">
                    Placeholders, filled when an agent inserts it: {RESPONSE_PLACEHOLDERS.join(", ")}. They are checked when saved.
                </p>
                <EditorActions
                    submit={response === null ? "Add standard response" : "Save"}
                    done={done}
                    removal={
                        response === null
                            ? null
                            : {
                                  label: "Delete standard response",
                                  name: response.name,
                                  question: `Delete the standard response ${response.name}? Agents no longer find it.`,
                                  remove,
                              }
                    }
                />
            </form>
        </section>
    );
}

function QueueSelect({name, label, value}: {name: string; label: string; value?: string}) {
    return (
        <label>
            {label}
            <select name={name} value={value} required>
                {state.queues.map((q) => (
                    <option value={q.name}>{q.name}</option>
                ))}
            </select>
        </label>
    );
}

function Numbers() {
    async function add(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const body = {number: field(form, "number"), queue: field(form, "queue"), connector: field(form, "connector")};
        if (await attempt(() => post("/api/v2/service-numbers", body).then(() => undefined))) {
            said(`Service number ${body.number} added.`);
            form.reset();
            await reload();
        }
    }
    async function move(number: ServiceNumber, event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const queue = field(form, "queue");
        if (await attempt(() => put(`/api/v2/service-numbers/${encodeURIComponent(number.number)}`, {queue}).then(() => undefined))) {
            said(`${number.number} now routes to ${queue}.`);
            await reload();
        }
    }
    async function remove(number: ServiceNumber): Promise<void> {
        if (await attempt(() => del(`/api/v2/service-numbers/${encodeURIComponent(number.number)}`).then(() => undefined))) {
            said(`Service number ${number.number} removed.`);
            await reload();
        }
    }
    return (
        <section aria-labelledby="numbers-title">
            <h1 id="numbers-title">Service numbers</h1>
            <table>
                <HeadWithActions columns={["Number", "Connector", "Queue"]} />
                <tbody>
                    {state.numbers.map((number) => (
                        <tr key={number.number}>
                            <th scope="row">{number.number}</th>
                            <td>{number.connector}</td>
                            <td>
                                <form class="inline" onSubmit={(e) => void move(number, e)}>
                                    <QueueSelect name="queue" label={`Queue of ${number.number}`} value={number.queue} />
                                    <button type="submit">Route</button>
                                </form>
                            </td>
                            <td>
                                <button type="button" class="danger" aria-label={`Remove ${number.number}`} onClick={() => void remove(number)}>
                                    Remove
                                </button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            <form class="inline" onSubmit={(e) => void add(e)}>
                <label>
                    New number
                    <input name="number" required autocomplete="off" placeholder="+15550100" />
                </label>
                <QueueSelect name="queue" label="Queue" />
                <label>
                    Connector
                    <input name="connector" required autocomplete="off" defaultValue="simulator" />
                </label>
                <button type="submit">Add number</button>
            </form>
        </section>
    );
}

function CustomerData() {
    const [erasing, setErasing] = useState<string | null>(null);
    async function retention(event: Event): Promise<void> {
        event.preventDefault();
        const form = event.currentTarget as HTMLFormElement;
        const forever = flag(form, "forever");
        const days = forever ? null : Number(field(form, "days"));
        if (await attempt(() => put("/api/v2/contact-center", {retentionDays: days}).then(() => undefined))) {
            said(days === null ? "Finished conversations are kept for ever." : `Finished conversations are kept ${days} days.`);
            await reload();
        }
    }
    async function erase(number: string): Promise<void> {
        let answer: Envelope | null = null;
        if (await attempt(async () => void (answer = await del(`/api/v2/customers/${encodeURIComponent(number)}`)))) {
            const erased = (answer as Envelope | null)?.["erased"] as {sessions: number; messages: number} | undefined;
            said(`Erased ${erased?.sessions ?? 0} conversation(s) and ${erased?.messages ?? 0} message(s) of ${number}.`);
            setErasing(null);
            await reload();
        }
    }
    return (
        <section aria-labelledby="data-title">
            <h1 id="data-title">Customer data</h1>
            <form class="editor" onSubmit={(e) => void retention(e)}>
                <h2>Retention</h2>
                <label>
                    Keep finished conversations (days)
                    <input name="days" type="number" min="1" max="36500" defaultValue={String(state.retentionDays ?? 365)} />
                </label>
                <label class="check">
                    <input type="checkbox" name="forever" defaultChecked={state.retentionDays === null} />
                    Keep them for ever
                </label>
                <div class="actions">
                    <button type="submit">Save retention</button>
                </div>
            </form>
            <form
                class="editor"
                onSubmit={(e) => {
                    e.preventDefault();
                    setErasing(field(e.currentTarget as HTMLFormElement, "customer"));
                }}
            >
                <h2>Erase a customer</h2>
                <p class="hint">
                    Every conversation, message and user data of the number is deleted. An opt-out (STOP) is kept, unreadable as the number.
                </p>
                <label>
                    Customer phone number
                    <input name="customer" required autocomplete="off" placeholder="+15551230000" />
                </label>
                <div class="actions">
                    <button type="submit" class="danger">
                        Erase customer data
                    </button>
                </div>
            </form>
            {erasing !== null && (
                <div class="confirm" role="group" aria-label="Confirm erasure">
                    <p>Erase everything about {erasing}? This cannot be undone.</p>
                    <button type="button" class="danger" onClick={() => void erase(erasing)}>
                        Erase {erasing}
                    </button>
                    <button type="button" onClick={() => setErasing(null)}>
                        Cancel
                    </button>
                </div>
            )}
        </section>
    );
}

function change(entry: AuditEntry): string {
    const parts: string[] = [];
    const before = entry.before ?? {};
    const after = entry.after ?? {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (key === "passwordChanged") {
            parts.push("password changed");
            continue;
        }
        const was = JSON.stringify(before[key]);
        const now = JSON.stringify(after[key]);
        if (was !== now) parts.push(entry.before === null ? `${key}: ${now}` : entry.after === null ? `${key} was ${was}` : `${key}: ${was} → ${now}`);
    }
    return parts.join("; ");
}

/** What a change was made to: a user by name (the id for one deleted before names were logged). */
function targetName(entry: AuditEntry): string {
    const named = (entry.after?.["userName"] ?? entry.before?.["userName"]) as string | undefined;
    if (entry.target.type === "user") return named ?? entry.target.id ?? "user";
    return entry.target.id ?? entry.target.type;
}

function Audit() {
    const last = Math.min(state.auditStart + state.audit.length - 1, state.auditTotal);
    async function page(start: number): Promise<void> {
        state.auditStart = Math.max(1, start);
        await attempt(loadAudit);
        refresh();
    }
    return (
        <section aria-labelledby="audit-title">
            <h1 id="audit-title">Audit log</h1>
            <p class="hint">
                {state.auditTotal === 0 ? "No changes yet." : `Changes ${state.auditStart}–${last} of ${state.auditTotal}, newest first.`}
            </p>
            <table>
                <thead>
                    <tr>
                        <th scope="col">When</th>
                        <th scope="col">Who</th>
                        <th scope="col">What</th>
                        <th scope="col">Target</th>
                        <th scope="col">Change</th>
                    </tr>
                </thead>
                <tbody>
                    {state.audit.map((entry) => (
                        <tr key={entry.id}>
                            <td>{new Date(entry.timestampMs).toLocaleString()}</td>
                            <td>{entry.actor.userName}</td>
                            <th scope="row">{entry.action}</th>
                            <td>{targetName(entry)}</td>
                            <td class="change">{change(entry)}</td>
                        </tr>
                    ))}
                </tbody>
            </table>
            <div class="actions">
                <button type="button" disabled={state.auditStart <= 1} onClick={() => void page(state.auditStart - AUDIT_PAGE)}>
                    Newer
                </button>
                <button type="button" disabled={last >= state.auditTotal} onClick={() => void page(state.auditStart + AUDIT_PAGE)}>
                    Older
                </button>
            </div>
        </section>
    );
}

// ---------------------------------------------------------------- start

async function boot(): Promise<void> {
    // A reload, or back from the identity provider: the HttpOnly cookie may hold a session.
    try {
        await start(await get("/api/v2/me"));
    } catch {
        refresh();
    }
}

render(<Admin />, document.getElementById("admin")!);
void boot();
