// The agent desktop: sign-in, agent state, offers, conversations, user data and hand-over, on the
// public GWS API only (REST under /api/v2, notifications over CometD).

import {render} from "preact";
import {useEffect, useLayoutEffect, useRef, useState} from "preact/hooks";
import {ApiError, type Envelope, forgetCredentials, get, post} from "./api";
import {
    addEntries,
    type ChannelState,
    type Colleague,
    type Conversation,
    customerOf,
    type EarlierSession,
    type Entry,
    type FoundResponse,
    initialState,
    isMine,
    LIVE,
    orderedEntries,
    type Session,
    SERVER_KEYS,
    sendingBlockedReason,
    sessionIdOfPath,
    supervisionOf,
    upsertSession,
    type UserData,
    type UserDataValue,
} from "./model";
import {Notifications} from "./notifications";
import {ProviderSignIn, takeProviderError, usePasswordSignIn, useSignInOptions} from "./signin";
import {analyse, unicodeCulprits} from "./sms";
import {applyStatistics, loadBoard, SupervisionPanel, supervisionLabel, TeamBoard} from "./supervisor";

const state = initialState();
let notifications: Notifications | null = null;
let noticeIds = 0;
/** ROLE_SUPERVISOR: the team board is read (and shown when they supervise a queue). */
let supervisor = false;
/** Sessions this desktop itself completed or handed over: their end needs no notice. */
const endedHere = new Set<string>();
/** Sessions this desktop offered to another agent by Transfer: when they end here, that is why. */
const transferredHere = new Set<string>();

/** The server's time (offer deadlines are the server's), or this clock before notifications start. */
function serverNow(): number {
    return notifications?.serverNow() ?? Date.now();
}

// ---------------------------------------------------------------- rendering

let renderQueued = false;
function refresh(): void {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
        renderQueued = false;
        render(<Desktop />, document.getElementById("desktop")!);
        // The tab's title tells an agent working in another window that something waits: the offers
        // waiting for an answer first, then the unread messages.
        const waiting = offers().length;
        const unread = [...state.conversations.values()].reduce((n, c) => n + c.unread, 0);
        const counts = [
            waiting > 0 ? `${waiting} ${waiting === 1 ? "offer" : "offers"}` : "",
            unread > 0 ? `${unread} unread` : "",
        ].filter(Boolean);
        document.title = `${counts.length > 0 ? `(${counts.join(", ")}) ` : ""}smsdesk · agent desktop`;
    });
}

function notice(text: string): void {
    const id = ++noticeIds;
    state.notices.push({id, text});
    refresh();
    setTimeout(() => {
        state.notices = state.notices.filter((n) => n.id !== id);
        refresh();
    }, 12000);
}

function failure(error: unknown): void {
    notice(error instanceof Error ? error.message : String(error));
}

// ---------------------------------------------------------------- talking to the server

const sessionPath = (id: string): string => `/api/v2/me/smssessions/${id}`;

// Offering the session to another agent changes the requester's own capabilities (Transfer,
// Invite and Consult leave, CancelConsult comes) without a notification to the requester, so
// the desktop re-reads the session after these, to keep showing only what the server accepts.
const SILENT_CAPABILITY_CHANGES = new Set(["Transfer", "Invite", "Consult"]);

async function operate(sessionId: string, operationName: string, fields: Record<string, unknown> = {}): Promise<boolean> {
    try {
        await post(sessionPath(sessionId), {operationName, ...fields});
        if (SILENT_CAPABILITY_CHANGES.has(operationName)) {
            const answer = await get(sessionPath(sessionId));
            const session = answer["smssession"] as Session;
            if (LIVE.has(session.state) && state.conversations.has(session.id)) upsertSession(state, session);
            refresh();
        }
        return true;
    } catch (error) {
        failure(error);
        return false;
    }
}

function channelStateOf(channels: unknown): ChannelState {
    const list = Array.isArray(channels) ? (channels as {channel: string; userState?: {state?: string}}[]) : [];
    const sms = list.find((c) => c.channel === "smssession");
    const value = sms?.userState?.state;
    return value === "Ready" || value === "NotReady" || value === "LoggedOut" ? value : "LoggedOut";
}

async function loadMessages(conversation: Conversation): Promise<void> {
    const answer = await get(`${sessionPath(conversation.session.id)}/messages`);
    addEntries(state, conversation, answer["messages"] as Entry[], false);
    refresh();
}

/** Re-reads everything (at start, and after a notification gap): sessions, their logs, channels. */
async function resync(): Promise<void> {
    try {
        const answer = await get("/api/v2/me?subresources=*");
        const user = answer["user"] as {channels?: unknown; smssessions?: Session[]};
        state.channel = channelStateOf(user.channels);
        const sessions = user.smssessions ?? [];
        const live = new Set(sessions.map((s) => s.id));
        for (const id of [...state.conversations.keys()]) if (!live.has(id)) state.conversations.delete(id);
        for (const session of sessions) upsertSession(state, session);
        if (state.selected === null || !state.conversations.has(state.selected)) state.selected = firstChatting();
        refresh();
        await Promise.all([...state.conversations.values()].map(loadMessages));
    } catch (error) {
        failure(error);
    }
    if (supervisor) await refreshBoard();
}

async function refreshBoard(): Promise<void> {
    try {
        await loadBoard(state);
    } catch (error) {
        failure(error);
    }
    refresh();
}

function firstChatting(): string | null {
    for (const conversation of state.conversations.values()) {
        if (conversation.session.state !== "Invited") return conversation.session.id;
    }
    return null;
}

function applySessionChange(data: Record<string, unknown>): void {
    const session = data["smssession"] as Session | undefined;
    if (!session) return;
    const kind = data["notificationType"];
    if (kind === "Error") {
        // e.g. the agent asked for a transfer or a consultation declined or did not answer.
        notice(String(data["errorMessage"] ?? "The operation failed"));
        transferredHere.delete(session.id);
    }
    const known = state.conversations.get(session.id);
    if (!LIVE.has(session.state)) {
        if (known) {
            state.conversations.delete(session.id);
            const customer = customerOf(known.session);
            if (session.state === "Revoked" && known.session.state === "Invited") {
                const expired = known.session.offerDeadline !== undefined && serverNow() >= known.session.offerDeadline - 1000;
                notice(`The offer from ${customer} was withdrawn: ${expired ? "it was not answered in time" : "it was taken back"}.`);
            } else if (endedHere.has(session.id)) {
                // This desktop ended it: the agent knows.
            } else if (transferredHere.has(session.id)) {
                notice(`The conversation with ${customer} was transferred: the other agent has it now.`);
            } else {
                notice(`The conversation with ${customer} ended for you: the agent who owns it completed it or sent it to a queue.`);
            }
            if (state.selected === session.id) state.selected = firstChatting();
        }
        endedHere.delete(session.id);
        transferredHere.delete(session.id);
        return;
    }
    const conversation = upsertSession(state, session);
    if (!known) {
        // A new offer on a hidden tab: a system notification, with the customer's first words.
        void loadMessages(conversation)
            .then(() => {
                if (session.state === "Invited") notifySystem(conversation);
            })
            .catch(failure);
    }
    // Joining as a supervisor ends a NextChat monitoring: the board re-reads what is left.
    if (!known && supervisor && supervisionOf(session) !== null) void refreshBoard();
    if (!known && session.state === "Invited" && !state.muted) ring(); // at once; then every 3 s
    if (session.offeredBy !== undefined && !state.colleagues.some((c) => `/users/${c.id}` === session.offeredBy)) {
        void loadColleagues();
    }
    const justJoined = known?.session.state === "Invited" || (!known && supervisionOf(session) !== null);
    if (session.state === "Chatting" && justJoined && state.selected === null) {
        state.selected = session.id;
    }
}

function applyNotification(channel: string, data: Record<string, unknown>): void {
    const type = data["messageType"];
    if (channel === "/v2/me/statistics" && type === "StatisticsUpdated") {
        applyStatistics(state, data["statistics"]);
    } else if (channel === "/v2/me/channels" && type === "ChannelStateChangeMessageV2") {
        state.channel = channelStateOf(data["channels"]);
    } else if (type === "SMSsessionStateChangeMessage") {
        applySessionChange(data);
    } else if (type === "MessageLogUpdated") {
        const conversation = state.conversations.get(sessionIdOfPath(data["smssessionPath"]) ?? "");
        if (conversation) addEntries(state, conversation, data["messages"] as Entry[], true);
    } else if (type === "MessageDeliveryUpdated") {
        const conversation = state.conversations.get(sessionIdOfPath(data["smssessionPath"]) ?? "");
        for (const update of (data["messages"] as {index: number; delivery: Entry["delivery"]}[]) ?? []) {
            const entry = conversation?.entries.get(update.index);
            if (entry) entry.delivery = update.delivery;
        }
    }
    refresh();
}

async function startDesktop(me: Envelope): Promise<void> {
    const user = me["user"] as {id: string; userName: string; firstName: string; lastName: string; roles: string[]};
    if (!user.roles.includes("ROLE_AGENT")) {
        forgetCredentials();
        state.signInError = `${user.userName} is not an agent account: the desktop is for agents.`;
        refresh();
        return;
    }
    state.me = {id: user.id, userName: user.userName, firstName: user.firstName, lastName: user.lastName};
    supervisor = user.roles.includes("ROLE_SUPERVISOR");
    if (supervisor) state.view = "board"; // shown once the board is read, if they supervise a queue
    state.phase = "signed-in";
    state.signInError = null;
    refresh();
    try {
        const channels = await get("/api/v2/me/channels");
        let channel = channelStateOf(channels["channels"]);
        if (channel === "LoggedOut") {
            // Log in on the SMS channel; it starts Not Ready, so nothing is offered before the agent says so.
            await post("/api/v2/me", {operationName: "StartContactCenterSession", channels: ["smssession"]});
            channel = "NotReady";
        }
        // Known now (the state buttons wait for it); the notifications' first resync reads it again.
        state.channel = channel;
        refresh();
    } catch (error) {
        failure(error);
    }
    notifications = new Notifications({
        notification: applyNotification,
        resync: (reason) => {
            if (reason === "gap") notice("Some updates could no longer be replayed after the disconnection: the desktop re-read everything.");
            void resync();
        },
        connection: (connection) => {
            state.connection = connection;
            refresh();
        },
        sessionLost: () => void checkStillSignedIn(),
    });
    notifications.start();
}

async function checkStillSignedIn(): Promise<void> {
    try {
        await get("/api/v2/me");
    } catch (error) {
        if (error instanceof ApiError && error.httpStatus === 401) endDesktop("Your session has ended (the server restarted?): please sign in again.");
    }
}

function endDesktop(message: string | null): void {
    notifications?.stop();
    notifications = null;
    supervisor = false;
    forgetCredentials();
    const muted = state.muted;
    Object.assign(state, initialState(), {muted, signInError: message});
    refresh();
}

async function signOut(): Promise<void> {
    try {
        await post("/api/v2/me", {operationName: "EndContactCenterSession"});
    } catch (error) {
        failure(error);
    }
    endDesktop(null);
}

// ---------------------------------------------------------------- ringing

let audio: AudioContext | null = null;
function ring(): void {
    try {
        audio ??= new AudioContext();
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        oscillator.frequency.value = 880;
        gain.gain.setValueAtTime(0.15, audio.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start();
        oscillator.stop(audio.currentTime + 0.6);
    } catch {
        // No audio device (or not allowed yet): the banner still shows the offer.
    }
}

// ---------------------------------------------------------------- system notifications

/** Whether the browser can show system notifications, and what the agent allowed. */
function notificationPermission(): NotificationPermission | "unsupported" {
    return "Notification" in window ? Notification.permission : "unsupported";
}

/** Asked from the agent's click only (browsers refuse, or nag, when a page asks on its own). */
async function askNotificationPermission(): Promise<void> {
    try {
        await Notification.requestPermission();
    } catch (error) {
        failure(error);
    }
    refresh();
}

/** An offer that arrives while the tab is hidden raises a system notification; clicking it brings
 * the desktop back. The banner, the ring and the tab's title say it too. */
function notifySystem(conversation: Conversation): void {
    if (!document.hidden || notificationPermission() !== "granted") return;
    if (state.conversations.get(conversation.session.id)?.session.state !== "Invited") return; // answered meanwhile
    try {
        const shown = new Notification(offerTitle(conversation.session, customerOf(conversation.session)), {
            body: firstCustomerText(conversation) || "Open the desktop to answer.",
            tag: `offer-${conversation.session.id}`,
        });
        shown.onclick = () => {
            window.focus();
            shown.close();
        };
    } catch {
        // Some browsers allow notifications only from a service worker: the banner and ring remain.
    }
}

const offers = (): Conversation[] => [...state.conversations.values()].filter((c) => c.session.state === "Invited");

setInterval(() => {
    if (offers().length > 0) {
        refresh(); // the countdowns
        if (!state.muted && Math.floor(Date.now() / 1000) % 3 === 0) ring();
    }
}, 1000);

setInterval(() => {
    if (state.board !== null && state.view === "board") refresh(); // times in state, longest wait
}, 1000);

// ---------------------------------------------------------------- components

function Desktop() {
    if (state.phase === "signed-out") return <SignIn />;
    const selected = state.selected ? state.conversations.get(state.selected) : undefined;
    return (
        <div class="desktop">
            <Header />
            {state.connection !== "connected" && (
                <div class="banner reconnecting" role="status">
                    {state.connection === "connecting" ? "Connecting…" : "Connection lost: reconnecting. Nothing is lost; missed updates will be applied."}
                </div>
            )}
            <div class="notices" role="status" aria-live="polite">
                {state.notices.map((n) => (
                    <p key={n.id}>{n.text}</p>
                ))}
            </div>
            <Offers />
            {state.board !== null && <Views />}
            {state.board !== null && state.view === "board" ? (
                <main class="workspace board-view">
                    <TeamBoard state={state} run={runForBoard} />
                </main>
            ) : (
                <main class="workspace">
                    <ConversationList />
                    {selected ? <ConversationView key={selected.session.id} conversation={selected} /> : <section class="empty" aria-label="Conversation">
                        <p>{state.channel === "Ready" ? "Waiting for customers' messages…" : "Choose Ready to receive conversations."}</p>
                    </section>}
                </main>
            )}
        </div>
    );
}

function runForBoard(work: () => Promise<void>): void {
    work().then(refresh, (error: unknown) => {
        failure(error);
        // Refused, perhaps because another tab or client changed the monitoring: show the server's.
        void refreshBoard();
    });
}

/** A supervisor's two views: their own conversations, and the team board. */
function Views() {
    const open = [...state.conversations.values()].filter((c) => c.session.state !== "Invited");
    const unread = open.reduce((n, c) => n + c.unread, 0);
    const show = (view: "conversations" | "board") => () => {
        state.view = view;
        refresh();
    };
    return (
        <div class="views" role="group" aria-label="View">
            <button type="button" aria-pressed={state.view === "conversations"} onClick={show("conversations")}>
                Conversations{open.length > 0 ? ` (${open.length}${unread > 0 ? `, ${unread} unread` : ""})` : ""}
            </button>
            <button type="button" aria-pressed={state.view === "board"} onClick={show("board")}>
                Team board
            </button>
        </div>
    );
}

function SignIn() {
    const options = useSignInOptions();
    const {busy, submit} = usePasswordSignIn(startDesktop, (message) => {
        state.signInError = message;
        refresh();
    });
    return (
        <main class="signin">
            <h1>smsdesk</h1>
            <form onSubmit={submit} hidden={!options.passwordSignIn}>
                <label>
                    User name
                    <input name="username" autocomplete="username" required autofocus />
                </label>
                <label>
                    Password
                    <input name="password" type="password" autocomplete="current-password" required />
                </label>
                {state.signInError && (
                    <p class="error" role="alert">
                        {state.signInError}
                    </p>
                )}
                <button type="submit" disabled={busy}>
                    Sign in
                </button>
            </form>
            <ProviderSignIn options={options} next="/desktop/" error={options.passwordSignIn ? null : state.signInError} />
        </main>
    );
}

function Header() {
    const me = state.me!;
    const setState = (operationName: string) => async () => {
        try {
            if (state.channel === "LoggedOut") {
                // Logged out elsewhere (another tab signed out): log in on the channel again first.
                await post("/api/v2/me", {operationName: "StartContactCenterSession", channels: ["smssession"]});
            }
            await post("/api/v2/me/channels/smssession", {operationName});
        } catch (error) {
            failure(error);
        }
    };
    const label = {Ready: "Ready", NotReady: "Not Ready", LoggedOut: "Logged out", Unknown: "…"}[state.channel];
    const unknown = state.channel === "Unknown";
    return (
        <header class="topbar">
            <h1>smsdesk</h1>
            <span class="who">
                {me.firstName || me.userName} {me.lastName}
            </span>
            <div class="state" role="group" aria-label="Agent state">
                <span class={`state-now ${state.channel}`}>SMS: {label}</span>
                {/* Disabled until the SMS channel's state is read: a Ready sent before the desktop's own
                    StartContactCenterSession would be refused, or undone by it. */}
                <button type="button" disabled={unknown} aria-pressed={state.channel === "Ready"} onClick={setState("Ready")}>
                    Ready
                </button>
                <button type="button" disabled={unknown} aria-pressed={state.channel === "NotReady"} onClick={setState("NotReady")}>
                    Not Ready
                </button>
            </div>
            <button
                type="button"
                aria-pressed={state.muted}
                onClick={() => {
                    state.muted = !state.muted;
                    localStorage.setItem("smsdesk.muted", String(state.muted));
                    refresh();
                }}
            >
                Mute ringing
            </button>
            {notificationPermission() === "default" && (
                // Asked only when the agent clicks: an offer on a hidden tab then shows a system notification.
                <button type="button" title="Show a system notification when an offer arrives while this tab is hidden" onClick={() => void askNotificationPermission()}>
                    Enable notifications
                </button>
            )}
            <button type="button" onClick={() => void signOut()}>
                Sign out
            </button>
        </header>
    );
}

function firstCustomerText(conversation: Conversation): string {
    const first = orderedEntries(conversation).find((e) => e.type === "Text" && e.from.type === "Customer");
    return first?.text ?? "";
}

function colleagueName(path: string | undefined): string {
    const colleague = state.colleagues.find((c) => `/users/${c.id}` === path);
    return colleague ? colleague.name : "Another agent";
}

function offerTitle(session: Session, customer: string): string {
    const by = colleagueName(session.offeredBy);
    switch (session.offerKind) {
        case "transfer":
            return `${by} transfers the conversation with ${customer} to you`;
        case "consult":
            return `${by} asks to consult you about ${customer} (the customer will not see you)`;
        case "invite":
            return `${by} invites you to the conversation with ${customer}`;
        case "supervise":
            return `You asked to join the conversation with ${customer}`;
        default:
            return `Incoming SMS from ${customer}`;
    }
}

function Offers() {
    const list = offers();
    if (list.length === 0) return null;
    return (
        <section class="offers" aria-label="Offers">
            {list.map((offer) => {
                const customer = customerOf(offer.session);
                const deadline = offer.session.offerDeadline;
                const left = deadline === undefined ? null : Math.max(0, Math.ceil((deadline - serverNow()) / 1000));
                return (
                    <div class="offer" role="alert" key={offer.session.id}>
                        <p>
                            <strong>{offerTitle(offer.session, customer)}</strong>
                            {left !== null && <span class="countdown"> · {left} s to answer</span>}
                        </p>
                        <p class="first">{firstCustomerText(offer)}</p>
                        <button
                            type="button"
                            class="primary"
                            onClick={async () => {
                                const nickname = state.me?.firstName || state.me?.userName;
                                if (await operate(offer.session.id, "Accept", {nickname})) {
                                    state.selected = offer.session.id;
                                    state.view = "conversations";
                                    focusComposerOf = offer.session.id;
                                    refresh();
                                }
                            }}
                        >
                            Accept
                        </button>
                        <button
                            type="button"
                            onClick={() => {
                                endedHere.add(offer.session.id);
                                void operate(offer.session.id, "Reject");
                            }}
                        >
                            Reject
                        </button>
                    </div>
                );
            })}
        </section>
    );
}

/** Starts a conversation (the Create extension) and opens it. */
async function startConversation(phoneNumber: string, text: string): Promise<void> {
    const answer = await post("/api/v2/me/smssessions", {operationName: "Create", phoneNumber, text});
    const id = String(answer["id"]);
    // The StatusChange may arrive before or after this answer: read the session, so it opens now.
    const read = await get(sessionPath(id));
    const conversation = upsertSession(state, read["smssession"] as Session);
    state.selected = id;
    state.view = "conversations";
    focusComposerOf = id;
    refresh();
    await loadMessages(conversation);
}

function NewConversation({onClose}: {onClose: () => void}) {
    const [number, setNumber] = useState("");
    const [text, setText] = useState("");
    const [error, setError] = useState<string | null>(null);
    const [busy, setBusy] = useState(false);
    const first = useRef<HTMLInputElement>(null);
    useLayoutEffect(() => first.current?.focus(), []); // before paint: never mid-typing
    async function submit(event: Event): Promise<void> {
        event.preventDefault();
        // People paste numbers with spaces, dashes and brackets; the API takes E.164.
        const phoneNumber = number.replace(/[\s().-]/g, "");
        if (!phoneNumber || !text.trim()) {
            setError("A phone number and a first message are both needed.");
            return;
        }
        setBusy(true);
        try {
            await startConversation(phoneNumber, text.trim());
            onClose();
        } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
        } finally {
            setBusy(false);
        }
    }
    return (
        <form class="new-conversation" aria-label="New conversation" onSubmit={submit} onKeyDown={(e) => e.key === "Escape" && onClose()}>
            <label>
                Phone number
                <input
                    ref={first}
                    type="tel"
                    autocomplete="off"
                    placeholder="+15551230000"
                    value={number}
                    onInput={(e) => {
                        setNumber((e.currentTarget as HTMLInputElement).value);
                        setError(null);
                    }}
                />
            </label>
            <label>
                First message
                <textarea
                    rows={3}
                    value={text}
                    onInput={(e) => {
                        setText((e.currentTarget as HTMLTextAreaElement).value);
                        setError(null);
                    }}
                />
            </label>
            {error && (
                <p class="error" role="alert">
                    {error}
                </p>
            )}
            <div class="buttons">
                <button type="submit" class="primary" disabled={busy}>
                    Start conversation
                </button>
                <button type="button" onClick={onClose}>
                    Cancel
                </button>
            </div>
        </form>
    );
}

function ConversationList() {
    const list = [...state.conversations.values()].filter((c) => c.session.state !== "Invited");
    const [starting, setStarting] = useState(false);
    return (
        <nav class="conversations" aria-label="Conversation list">
            <h2 id="conversations-title">Conversations</h2>
            <button type="button" class="new" aria-expanded={starting} onClick={() => setStarting(!starting)}>
                New conversation
            </button>
            {starting && <NewConversation onClose={() => setStarting(false)} />}
            <ul aria-label="Conversations">
                {list.map((c) => {
                    const selected = state.selected === c.session.id;
                    const label = c.session.state === "LeftChat" ? "wrap-up" : supervisionLabel(c.session) ?? (c.session.capabilities.includes("SendMessage") ? "chatting" : "chatting, no SMS");
                    return (
                        <li key={c.session.id} class={selected ? "selected" : ""}>
                            <button
                                type="button"
                                aria-current={selected ? "true" : undefined}
                                onClick={() => {
                                    state.selected = c.session.id;
                                    c.unread = 0;
                                    refresh();
                                }}
                            >
                                <span class="number">{customerOf(c.session)}</span>
                                <span class="status">{label}</span>
                                {c.unread > 0 && <span class="unread">{c.unread} unread</span>}
                            </button>
                        </li>
                    );
                })}
            </ul>
            {list.length === 0 && <p class="hint">No conversations yet.</p>}
        </nav>
    );
}

function time(entry: Entry): string {
    return new Date(entry.timestampSeconds).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
}

function deliveryText(entry: Entry): string | null {
    const delivery = entry.delivery;
    if (!delivery) return null;
    const label = {pending: "Pending", accepted: "Sent", delivered: "Delivered", failed: "Failed", expired: "Expired"}[delivery.status];
    const parts = delivery.segments > 1 ? ` (${delivery.segments} SMS)` : "";
    if (delivery.status === "failed" || delivery.status === "expired") {
        return `${label}: ${delivery.reason ?? "no reason given"}${delivery.errorCode ? ` (code ${delivery.errorCode})` : ""}`;
    }
    if (delivery.status === "pending" && delivery.reason) return `Pending, retrying: ${delivery.reason}`;
    return label + parts;
}

function EntryItem({entry, myId}: {entry: Entry; myId: string}) {
    const mine = isMine(entry, myId);
    const agentsOnly = entry.visibility === "Agents";
    let kind: string;
    let who: string;
    if (entry.autoReply !== undefined) {
        kind = "auto";
        who = entry.autoReply === "closed" ? "Automatic reply (closed)" : "Automatic reply (waiting)";
    } else if (entry.type === "Text" || entry.type === "PushUrl" || entry.type === "CustomNotice") {
        kind = entry.from.type === "Customer" ? "customer" : mine ? "mine" : "agent";
        who = entry.from.type === "Customer" ? `Customer ${entry.from.nickname}` : mine ? "You" : entry.from.nickname;
    } else {
        kind = "system";
        who = "Notice";
    }
    const body =
        entry.type === "ParticipantJoined"
            ? `${entry.from.nickname} joined${agentsOnly ? " (agents only)" : entry.visibility === "Supervisors" ? " (supervisors only)" : ""}`
            : entry.type === "ParticipantLeft"
              ? `${entry.from.nickname} left`
              : entry.type === "ParticipantRejoined"
                ? `${entry.from.nickname} rejoined`
                : entry.type === "PushUrl"
                  ? entry.url ?? entry.text ?? ""
                  : entry.text ?? entry.noticeText ?? "";
    const status = mine || entry.autoReply !== undefined ? deliveryText(entry) : null;
    return (
        <li class={`entry ${kind}${agentsOnly && kind !== "system" ? " note" : ""}`}>
            <div class="meta">
                <span class="who">{who}</span>
                {agentsOnly && kind !== "system" && <span class="badge">agents only</span>}
                <time dateTime={new Date(entry.timestampSeconds).toISOString()}>{time(entry)}</time>
            </div>
            <div class="text">{entry.type === "PushUrl" ? <a href={body} rel="noopener noreferrer" target="_blank">{body}</a> : body}</div>
            {status && <div class={`delivery ${entry.delivery?.status}`}>{status}</div>}
        </li>
    );
}

function ConversationView({conversation}: {conversation: Conversation}) {
    const session = conversation.session;
    const myId = state.me!.id;
    const entries = orderedEntries(conversation).filter((e) => e.type !== "TypingStarted" && e.type !== "TypingStopped");
    const logRef = useRef<HTMLOListElement>(null);
    useEffect(() => {
        const log = logRef.current;
        if (log) log.scrollTop = log.scrollHeight;
    }, [entries.length]);
    useEffect(() => {
        // Seen only when the page is visible; a hidden tab keeps counting.
        if (!document.hidden) conversation.unread = 0;
    });
    const typing = [...conversation.typing.values()];
    return (
        <section class="conversation" aria-label={`Conversation with ${customerOf(session)}`}>
            <div class="thread">
                <h2>
                    {customerOf(session)} <span class="state-label">{session.state === "LeftChat" ? "wrap-up: the customer can no longer be texted" : ""}</span>
                </h2>
                <div class="transcript" role="log" aria-label="Transcript">
                    <ol ref={logRef}>
                        {entries.map((entry) => (
                            <EntryItem key={entry.index} entry={entry} myId={myId} />
                        ))}
                    </ol>
                </div>
                <p class="typing" aria-live="polite">
                    {typing.length > 0 ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : ""}
                </p>
                <Composer conversation={conversation} />
            </div>
            <aside class="side">
                <SupervisionPanel session={session} switchTo={(mode) => void operate(session.id, `SwitchTo${mode}`)} />
                <CustomerHistory conversation={conversation} />
                <UserDataPanel conversation={conversation} />
                <HandOver conversation={conversation} />
            </aside>
        </section>
    );
}

let typingTimer: ReturnType<typeof setTimeout> | null = null;
let typingIn: {session: string; agents: boolean} | null = null;

function stopTyping(): void {
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = null;
    if (typingIn) {
        const {session, agents} = typingIn;
        typingIn = null;
        const conversation = state.conversations.get(session);
        const operation = agents ? "SendStopTypingToAgentsNotification" : "SendStopTypingNotification";
        if (conversation?.session.capabilities.includes(operation)) void post(sessionPath(session), {operationName: operation}).catch(() => undefined);
    }
}

function typed(conversation: Conversation, agents: boolean): void {
    const caps = conversation.session.capabilities;
    const start = agents ? "SendStartTypingToAgentsNotification" : "SendStartTypingNotification";
    if (typingIn === null && caps.includes(start)) {
        typingIn = {session: conversation.session.id, agents};
        void post(sessionPath(conversation.session.id), {operationName: start}).catch(() => undefined);
    }
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 4000);
}

/** The session whose composer takes the focus once it can send (after Accept, for keyboard users). */
let focusComposerOf: string | null = null;

function Composer({conversation}: {conversation: Conversation}) {
    const caps = conversation.session.capabilities;
    const blocked = sendingBlockedReason(conversation);
    const myPath = `/users/${state.me?.id}`;
    // A consultant's (or a coach's) messages never reach the customer, whichever operation carries them.
    const consulting = conversation.session.participants.some((p) => p.path === myPath && p.visibility === "Agents");
    const coaching = supervisionOf(conversation.session) === "Coach";
    const canCustomer = caps.includes("SendMessage") && !consulting;
    const canAgents = caps.includes("SendToAgents");
    const agentsOnly = consulting || (conversation.agentsOnly && canAgents) || (!canCustomer && canAgents);
    const canSend = agentsOnly ? canAgents || (consulting && caps.includes("SendMessage")) : canCustomer;
    const shape = analyse(conversation.draft);
    const [url, setUrl] = useState("");
    const [picking, setPicking] = useState(false);
    const box = useRef<HTMLTextAreaElement>(null);
    const closePicker = (): void => {
        setPicking(false);
        box.current?.focus();
    };
    useEffect(() => {
        if (focusComposerOf === conversation.session.id && canSend && box.current) {
            focusComposerOf = null;
            box.current.focus();
        }
    });
    async function send(): Promise<void> {
        const text = conversation.draft.trim();
        if (!text || !canSend) return;
        stopTyping();
        const operationName = agentsOnly && canAgents ? "SendToAgents" : "SendMessage";
        if (await operate(conversation.session.id, operationName, {text})) {
            conversation.draft = "";
            refresh();
        }
    }
    if (!caps.includes("SendMessage") && !canAgents && conversation.session.state !== "Chatting") return null;
    return (
        <div class="composer">
            {picking && (
                <ResponsePicker
                    conversation={conversation}
                    onClose={closePicker}
                    onPick={(text) => {
                        conversation.draft = text;
                        closePicker();
                        refresh();
                    }}
                />
            )}
            {blocked && (
                <p class="blocked" role="status">
                    {blocked}
                </p>
            )}
            <textarea
                ref={box}
                aria-label="Message"
                rows={3}
                value={conversation.draft}
                disabled={!canSend}
                placeholder={canSend ? (agentsOnly ? "A note for the agents (never sent to the customer)" : "Text the customer (Enter sends, Shift+Enter for a new line)") : ""}
                onInput={(e) => {
                    conversation.draft = (e.currentTarget as HTMLTextAreaElement).value;
                    typed(conversation, agentsOnly);
                    refresh();
                }}
                onKeyDown={(e) => {
                    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                        e.preventDefault();
                        void send();
                    } else if (e.key === "/" && conversation.draft === "" && canSend) {
                        // "/" at the start of an empty box searches the standard responses.
                        e.preventDefault();
                        setPicking(true);
                    }
                }}
            />
            <div class="composer-bar">
                <label class="check">
                    <input
                        type="checkbox"
                        checked={agentsOnly}
                        disabled={!canAgents || !canCustomer}
                        onChange={(e) => {
                            conversation.agentsOnly = (e.currentTarget as HTMLInputElement).checked;
                            refresh();
                        }}
                    />
                    Agents only
                </label>
                {!agentsOnly && shape.encoding === "UCS-2" && (
                    <span class="unicode-hint">Sent as Unicode (fewer characters per SMS) because of: {unicodeCulprits(conversation.draft)}</span>
                )}
                <button type="button" aria-expanded={picking} aria-keyshortcuts="/" disabled={!canSend} title="Or type / in an empty Message box" onClick={() => (picking ? closePicker() : setPicking(true))}>
                    Standard responses
                </button>
                <span class="counter" aria-live="off">
                    {coaching ? "You are coaching: agents only" : consulting ? "You are consulting: agents only" : agentsOnly ? "Note: not sent as SMS" : `${shape.encoding} · ${shape.segments} SMS · ${shape.units} ${shape.encoding === "GSM-7" ? "characters" : "units"}`}
                </span>
                <button type="button" class="primary" disabled={!canSend} onClick={() => void send()}>
                    Send
                </button>
            </div>
            {caps.includes("SendUrl") && (
                <form
                    class="send-url"
                    onSubmit={async (e) => {
                        e.preventDefault();
                        if (url.trim() && (await operate(conversation.session.id, "SendUrl", {url: url.trim()}))) setUrl("");
                    }}
                >
                    <input type="url" aria-label="Link to send" placeholder="https://…" value={url} onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />
                    <button type="submit">Send link</button>
                </form>
            )}
        </div>
    );
}

// ---------------------------------------------------------------- customer history

interface HistoryRead {
    items: EarlierSession[];
    total: number;
}

/** What was read per session, so that switching conversations does not re-read each time. */
const histories = new Map<string, HistoryRead>();

function when(iso: string): string {
    return new Date(iso).toLocaleString([], {day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"});
}

function CustomerHistory({conversation}: {conversation: Conversation}) {
    const id = conversation.session.id;
    const [read, setRead] = useState<HistoryRead | null>(histories.get(id) ?? null);
    const [error, setError] = useState<string | null>(null);
    const [open, setOpen] = useState<string | null>(null);
    useEffect(() => {
        let stale = false;
        get(`${sessionPath(id)}/history?count=20`)
            .then((answer) => {
                const fresh = {items: answer["history"] as EarlierSession[], total: Number(answer["total"] ?? 0)};
                histories.set(id, fresh);
                if (!stale) setRead(fresh);
            })
            .catch((e: unknown) => {
                if (!stale) setError(e instanceof Error ? e.message : String(e));
            });
        return () => {
            stale = true;
        };
    }, [id]);
    const customer = customerOf(conversation.session);
    return (
        <section class="panel history" aria-labelledby="history-title">
            <h2 id="history-title">Customer history</h2>
            {error ? (
                <p class="error" role="alert">
                    {error}
                </p>
            ) : read === null ? (
                <p class="hint">Reading earlier conversations…</p>
            ) : read.items.length === 0 ? (
                <p class="hint">No earlier conversations with {customer}.</p>
            ) : (
                <ul aria-label="Earlier contacts">
                    {read.items.map((item) => {
                        const expanded = open === item.id;
                        const label = `${when(item.receivedAt)} · ${item.disposition ?? "no disposition"} · ${item.agents.join(", ") || "no agent"}`;
                        return (
                            <li key={item.id}>
                                <button type="button" class="earlier" aria-expanded={expanded} aria-controls={expanded ? `earlier-${item.id}` : undefined} onClick={() => setOpen(expanded ? null : item.id)}>
                                    <span class="when">{when(item.receivedAt)}</span>
                                    <span class="outcome">{item.disposition ?? (item.state === "Completed" ? "no disposition" : item.state === "Waiting" ? "waiting" : "in progress")}</span>
                                    <span class="agents">{item.agents.join(", ") || "no agent"}</span>
                                </button>
                                {expanded && (
                                    <ol id={`earlier-${item.id}`} class="earlier-transcript" aria-label={`Transcript of ${label}`}>
                                        {item.messages
                                            .filter((e) => e.type !== "TypingStarted" && e.type !== "TypingStopped")
                                            .map((entry) => (
                                                <EntryItem key={entry.index} entry={entry} myId={state.me!.id} />
                                            ))}
                                    </ol>
                                )}
                            </li>
                        );
                    })}
                </ul>
            )}
            {read !== null && read.total > read.items.length && <p class="hint">The {read.items.length} most recent of {read.total}.</p>}
        </section>
    );
}

// ---------------------------------------------------------------- standard responses

/** The searchable list of standard responses: each filled for this conversation by the server;
 * choosing one puts its text in the Message box to edit and send. */
function ResponsePicker({conversation, onClose, onPick}: {conversation: Conversation; onClose: () => void; onPick: (text: string) => void}) {
    const [query, setQuery] = useState("");
    const [found, setFound] = useState<FoundResponse[] | null>(null);
    const [error, setError] = useState<string | null>(null);
    const search = useRef<HTMLInputElement>(null);
    const id = conversation.session.id;
    useLayoutEffect(() => search.current?.focus(), []); // before paint: never mid-typing
    useEffect(() => {
        let stale = false;
        const timer = setTimeout(() => {
            get(`/api/v2/me/standard-responses?query=${encodeURIComponent(query)}&smssessionId=${encodeURIComponent(id)}`)
                .then((answer) => {
                    if (!stale) setFound(answer["standardResponses"] as FoundResponse[]);
                })
                .catch((e: unknown) => {
                    if (!stale) setError(e instanceof Error ? e.message : String(e));
                });
        }, 120);
        return () => {
            stale = true;
            clearTimeout(timer);
        };
    }, [query, id]);
    function pick(response: FoundResponse): void {
        if (response.missing && response.missing.length > 0) {
            setError(`"${response.name}" needs ${response.missing.join(", ")}, which this conversation has no value for. Add it in User data, or choose another.`);
            return;
        }
        onPick(response.filledText ?? response.text);
    }
    return (
        <div
            class="responses"
            role="dialog"
            aria-label="Standard responses"
            onKeyDown={(e) => {
                if (e.key === "Escape") {
                    e.preventDefault();
                    onClose();
                }
            }}
        >
            <input
                ref={search}
                type="search"
                aria-label="Search standard responses"
                placeholder="Search by name, category or text (Enter takes the first)"
                value={query}
                onInput={(e) => {
                    setQuery((e.currentTarget as HTMLInputElement).value);
                    setError(null);
                }}
                onKeyDown={(e) => {
                    if (e.key === "Enter") {
                        e.preventDefault();
                        const first = found?.[0];
                        if (first) pick(first);
                    }
                }}
            />
            {error && (
                <p class="error" role="alert">
                    {error}
                </p>
            )}
            {found !== null && found.length === 0 && <p class="hint">No standard response matches.</p>}
            <ul aria-label="Matching standard responses">
                {(found ?? []).map((response) => (
                    <li key={response.id}>
                        <button type="button" onClick={() => pick(response)}>
                            <span class="name">{response.name}</span>
                            {response.category && <span class="category">{response.category}</span>}
                            <span class="preview">{response.filledText ?? response.text}</span>
                        </button>
                    </li>
                ))}
            </ul>
        </div>
    );
}

type ValueType = "string" | "number" | "object";

function typeOf(value: UserDataValue): ValueType {
    return typeof value === "number" ? "number" : typeof value === "string" ? "string" : "object";
}

function parseValue(raw: string, type: ValueType): UserDataValue {
    if (type === "number") {
        if (!/^-?\d+$/.test(raw.trim())) throw new Error("A number must be a whole number.");
        return Number(raw.trim());
    }
    if (type === "object") {
        const parsed: unknown = JSON.parse(raw);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("An object must be a JSON object.");
        return parsed as UserDataValue;
    }
    return raw;
}

function display(value: UserDataValue): string {
    return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function UserDataPanel({conversation}: {conversation: Conversation}) {
    const session = conversation.session;
    const caps = session.capabilities;
    const [editing, setEditing] = useState<string | null>(null);
    const [editServerKeys, setEditServerKeys] = useState(false);
    const [draft, setDraft] = useState({key: "", value: "", type: "string" as ValueType});
    const [error, setError] = useState<string | null>(null);
    const keys = Object.keys(session.userData).sort();
    // The server's own keys (the customer's number, the service number, the routing target...) are
    // shown apart and read-only, so that nobody deletes the customer's number by a stray click.
    const ownKeys = keys.filter((key) => !SERVER_KEYS.has(key));
    const serverKeys = keys.filter((key) => SERVER_KEYS.has(key));
    async function save(key: string, raw: string, type: ValueType): Promise<void> {
        let value: UserDataValue;
        try {
            value = parseValue(raw, type);
        } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
            return;
        }
        setError(null);
        const userData: UserData = {[key]: value};
        if (await operate(session.id, "UpdateUserData", {userData})) {
            setEditing(null);
            setDraft({key: "", value: "", type: "string"});
        }
    }
    const editable = caps.includes("UpdateUserData");
    const rows = (list: string[], changeable: boolean) =>
        list.map((key) => {
            const value = session.userData[key]!;
            return editing === key ? (
                <EditRow key={key} name={key} value={value} onSave={save} onCancel={() => setEditing(null)} />
            ) : (
                <tr key={key}>
                    <th scope="row">
                        {/* Truncated when long (never broken mid-word); the whole key on hover and focus. */}
                        <span class="key" tabIndex={0} title={key}>
                            {key}
                        </span>
                    </th>
                    <td class="value">
                        {display(value)} <span class="type">{typeOf(value)}</span>
                    </td>
                    {changeable && (
                        <td>
                            <div class="row-actions">
                                {editable && (
                                    <button type="button" aria-label={`Edit ${key}`} onClick={() => setEditing(key)}>
                                        Edit
                                    </button>
                                )}
                                {caps.includes("DeleteUserData") && (
                                    <button type="button" aria-label={`Delete ${key}`} onClick={() => void operate(session.id, "DeleteUserData", {keys: [key]})}>
                                        Delete
                                    </button>
                                )}
                            </div>
                        </td>
                    )}
                </tr>
            );
        });
    // The actions column only where there are actions (the server's keys have none until asked).
    const head = (actions: boolean) => (
        <thead>
            <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                {actions && (
                    <th scope="col" class="actions-column">
                        <span class="visually-hidden">Actions</span>
                    </th>
                )}
            </tr>
        </thead>
    );
    return (
        <section class="panel userdata" aria-labelledby="userdata-title">
            <h2 id="userdata-title">User data</h2>
            {ownKeys.length > 0 ? (
                <table aria-label="Keys of this conversation">
                    {head(true)}
                    <tbody>{rows(ownKeys, true)}</tbody>
                </table>
            ) : (
                <p class="hint">No keys added yet.</p>
            )}
            {editable && (
                <form
                    class="add-key"
                    onSubmit={(e) => {
                        e.preventDefault();
                        if (draft.key.trim()) void save(draft.key.trim(), draft.value, draft.type);
                    }}
                >
                    <input aria-label="New key" placeholder="key" value={draft.key} onInput={(e) => setDraft({...draft, key: (e.currentTarget as HTMLInputElement).value})} />
                    <input aria-label="New value" placeholder="value" value={draft.value} onInput={(e) => setDraft({...draft, value: (e.currentTarget as HTMLInputElement).value})} />
                    <select aria-label="New value type" value={draft.type} onChange={(e) => setDraft({...draft, type: (e.currentTarget as HTMLSelectElement).value as ValueType})}>
                        <option value="string">string</option>
                        <option value="number">number</option>
                        <option value="object">object</option>
                    </select>
                    <button type="submit">Add key</button>
                </form>
            )}
            {error && (
                <p class="error" role="alert">
                    {error}
                </p>
            )}
            {serverKeys.length > 0 && (
                <div class="server-keys">
                    <h3 id="server-keys-title">Set by the server</h3>
                    <table aria-labelledby="server-keys-title">
                        {head(editServerKeys)}
                        <tbody>{rows(serverKeys, editServerKeys)}</tbody>
                    </table>
                    {editable && (
                        <button type="button" class="quiet" aria-pressed={editServerKeys} onClick={() => setEditServerKeys(!editServerKeys)}>
                            Edit server-set keys
                        </button>
                    )}
                </div>
            )}
        </section>
    );
}

function EditRow({name, value, onSave, onCancel}: {name: string; value: UserDataValue; onSave: (key: string, raw: string, type: ValueType) => Promise<void>; onCancel: () => void}) {
    const [raw, setRaw] = useState(display(value));
    const [type, setType] = useState<ValueType>(typeOf(value));
    return (
        <tr>
            <th scope="row">
                <span class="key" title={name}>
                    {name}
                </span>
            </th>
            <td class="edit-value">
                <input
                    aria-label={`Value of ${name}`}
                    value={raw}
                    autofocus
                    onInput={(e) => setRaw((e.currentTarget as HTMLInputElement).value)}
                    onKeyDown={(e) => {
                        if (e.key === "Enter") void onSave(name, raw, type);
                        if (e.key === "Escape") onCancel();
                    }}
                />
                <select aria-label={`Type of ${name}`} value={type} onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value as ValueType)}>
                    <option value="string">string</option>
                    <option value="number">number</option>
                    <option value="object">object</option>
                </select>
            </td>
            <td>
                <div class="row-actions">
                    <button type="button" onClick={() => void onSave(name, raw, type)}>
                        Save
                    </button>
                    <button type="button" onClick={onCancel}>
                        Cancel
                    </button>
                </div>
            </td>
        </tr>
    );
}

async function loadColleagues(): Promise<void> {
    try {
        const answer = await get("/api/v2/users?subresources=channels");
        const users = answer["users"] as {id: string; userName: string; firstName: string; lastName: string; uri: string; channels?: unknown}[];
        state.colleagues = users
            .filter((u) => u.id !== state.me?.id)
            .map((u) => ({id: u.id, userName: u.userName, name: `${u.firstName} ${u.lastName}`.trim() || u.userName, uri: u.uri, state: channelStateOf(u.channels)}));
        refresh();
    } catch (error) {
        failure(error);
    }
}

const DISPOSITIONS = ["Resolved", "Follow-up needed", "Escalated", "Wrong number", "Spam"];

function HandOver({conversation}: {conversation: Conversation}) {
    const session = conversation.session;
    const caps = session.capabilities;
    const [target, setTarget] = useState("");
    const [disposition, setDisposition] = useState(DISPOSITIONS[0]!);
    useEffect(() => {
        void loadColleagues();
    }, [session.id]);
    const queue = typeof session.userData["RTargetRequested"] === "string" ? (session.userData["RTargetRequested"] as string) : "";
    const chosen = target || (state.colleagues.find((c) => c.state === "Ready")?.uri ?? state.colleagues[0]?.uri ?? "");
    const toQueue = chosen.startsWith("queue:");
    const targetFields = (): Record<string, string> => (toQueue ? {queueName: chosen.slice(6)} : {targetUri: chosen});
    const act = (operationName: string, fields: Record<string, unknown> = {}, ends = false) => async () => {
        if (ends) endedHere.add(session.id);
        if (operationName === "Transfer") transferredHere.add(session.id);
        if (!(await operate(session.id, operationName, fields))) {
            endedHere.delete(session.id);
            transferredHere.delete(session.id);
        }
    };
    const stateLabel = {Ready: "Ready", NotReady: "Not Ready", LoggedOut: "logged out", Unknown: "?"};
    const handOver = caps.includes("Transfer") || caps.includes("Consult") || caps.includes("Invite");
    return (
        <section class="panel handover" aria-labelledby="handover-title">
            <h2 id="handover-title">Hand-over and closing</h2>
            {handOver && (
                <div class="target">
                    <label>
                        To
                        <select value={chosen} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)} onFocus={() => void loadColleagues()}>
                            <optgroup label="Agents">
                                {state.colleagues.map((c) => (
                                    <option key={c.id} value={c.uri}>
                                        {c.name} ({c.userName}) · {stateLabel[c.state as keyof typeof stateLabel] ?? c.state}
                                    </option>
                                ))}
                            </optgroup>
                            {queue && (
                                <optgroup label="Queues">
                                    <option value={`queue:${queue}`}>Queue {queue}</option>
                                </optgroup>
                            )}
                        </select>
                    </label>
                </div>
            )}
            <div class="buttons">
                {caps.includes("Transfer") && (
                    <button type="button" disabled={!chosen} onClick={act("Transfer", targetFields(), toQueue)}>
                        Transfer
                    </button>
                )}
                {caps.includes("Consult") && (
                    <button type="button" disabled={!chosen || toQueue} title={toQueue ? "Consult an agent, not a queue" : undefined} onClick={act("Consult", targetFields())}>
                        Consult
                    </button>
                )}
                {caps.includes("Invite") && (
                    <button type="button" disabled={!chosen || toQueue} title={toQueue ? "Invite an agent, not a queue" : undefined} onClick={act("Invite", targetFields())}>
                        Invite
                    </button>
                )}
                {caps.includes("CancelConsult") && (
                    <button type="button" onClick={act("CancelConsult")}>
                        Cancel consult
                    </button>
                )}
                {caps.includes("Leave") && (
                    <button type="button" onClick={act("Leave", {}, session.participants.filter((p) => p.type === "Agent").length > 1)}>
                        Leave
                    </button>
                )}
            </div>
            {caps.includes("SetDisposition") && (
                <div class="disposition">
                    <label>
                        Disposition
                        <select value={disposition} onChange={(e) => setDisposition((e.currentTarget as HTMLSelectElement).value)}>
                            {DISPOSITIONS.map((d) => (
                                <option key={d} value={d}>
                                    {d}
                                </option>
                            ))}
                        </select>
                    </label>
                    <button type="button" onClick={act("SetDisposition", {disposition})}>
                        Set disposition
                    </button>
                </div>
            )}
            {caps.includes("Complete") && (
                <div class="buttons">
                    <button type="button" class="primary" onClick={act("Complete", {}, true)}>
                        Complete
                    </button>
                </div>
            )}
        </section>
    );
}

// ---------------------------------------------------------------- start

async function boot(): Promise<void> {
    // A page reload: the HttpOnly cookie may still hold a session; if so, carry on without a password.
    // Back from the identity provider: its session cookie, or why the sign-in was refused.
    state.signInError = takeProviderError();
    try {
        const me = await get("/api/v2/me");
        await startDesktop(me);
    } catch {
        refresh();
    }
}

document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.selected) {
        const conversation = state.conversations.get(state.selected);
        if (conversation) conversation.unread = 0;
        refresh();
    }
});

void boot();
