// The desktop's state and how GWS notifications change it. Every change is idempotent (entries
// are keyed by their log index, sessions are replaced whole), so a notification applied twice, or
// a notification racing a re-read of the same state, leaves the same result.

export type UserDataValue = string | number | {[key: string]: UserDataValue};
export type UserData = Record<string, UserDataValue>;

export interface Participant {
    nickname: string;
    type: string;
    participantId: string;
    /** Supervisors: Monitor is "Supervisors" (seen by other supervisors only), Coach "Agents", BargeIn "All". */
    visibility: "All" | "Agents" | "Supervisors";
    uri?: string;
    path?: string;
}

export interface Session {
    id: string;
    state: string;
    capabilities: string[];
    participants: Participant[];
    userData: UserData;
    receivedDate: string;
    offerDeadline?: number;
    offerKind?: "route" | "transfer" | "invite" | "consult" | "supervise";
    offeredBy?: string;
}

export interface Delivery {
    status: "pending" | "accepted" | "delivered" | "failed" | "expired";
    encoding: string;
    segments: number;
    attempts: number;
    errorCode: string | null;
    reason: string | null;
}

export interface Entry {
    index: number;
    type: string;
    from: Participant;
    visibility: "All" | "Agents" | "Supervisors";
    timestamp: string;
    timestampSeconds: number;
    text?: string;
    url?: string;
    noticeText?: string;
    delivery?: Delivery;
    /** Extension: an automatic reply of the queue ("closed" or "waiting"), sent by the system. */
    autoReply?: string;
}

/** One earlier conversation of the customer (the customer history extension). */
export interface EarlierSession {
    id: string;
    state: string;
    receivedAt: string;
    completedAt: string | null;
    disposition: string | null;
    agents: string[];
    queue: string;
    chatType: string;
    userData: UserData;
    messages: Entry[];
}

/** A standard response found for a conversation, filled from it (or naming what it lacks). */
export interface FoundResponse {
    id: string;
    name: string;
    category: string;
    text: string;
    filledText?: string | null;
    missing?: string[];
}

/** The keys the server sets on every session: shown apart, read-only unless the agent asks. */
export const SERVER_KEYS = new Set(["CustomerNumber", "MediaType", "Origination", "RTenant", "RTargetRequested", "ServiceNumber"]);

export interface Conversation {
    session: Session;
    entries: Map<number, Entry>;
    unread: number;
    /** participantId → nickname of those typing now. */
    typing: Map<string, string>;
    draft: string;
    agentsOnly: boolean;
}

export interface Notice {
    id: number;
    text: string;
}

export interface Colleague {
    id: string;
    userName: string;
    name: string;
    uri: string;
    state: string;
}

export type ChannelState = "LoggedOut" | "Ready" | "NotReady" | "Unknown";

export type SupervisionMode = "Monitor" | "Coach" | "BargeIn";
export const SUPERVISION_MODES: SupervisionMode[] = ["Monitor", "Coach", "BargeIn"];

/** One agent's row of the team board, as the server's live statistics tell it. */
export interface AgentRow {
    id: string;
    userName: string;
    state: string;
    /** When the agent entered their state, by this browser's clock (null: never seen). */
    stateSince: number | null;
    liveSessions: number;
    handledToday: number;
}

/** One supervised queue's live numbers (the statistics extension) and when this browser got them. */
export interface QueueBoard {
    queue: string;
    receivedAt: number;
    waiting: number;
    longestWaitMs: number;
    offered: number;
    accepted: number;
    rejected: number;
    revoked: number;
    abandoned: number;
    completed: number;
    averageTimeToAcceptMs: number | null;
    averageHandleTimeMs: number | null;
    serviceLevel: number | null;
    serviceLevelThresholdMs: number;
    agents: AgentRow[];
}

export interface Monitoring {
    mode: SupervisionMode;
    scope: "AllChats" | "NextChat";
}

export interface State {
    phase: "signed-out" | "signed-in";
    signInError: string | null;
    me: {id: string; userName: string; firstName: string; lastName: string} | null;
    channel: ChannelState;
    connection: "connecting" | "connected" | "reconnecting";
    conversations: Map<string, Conversation>;
    selected: string | null;
    notices: Notice[];
    muted: boolean;
    colleagues: Colleague[];
    /** The supervised queues by name; null for a user who supervises none (no team board). */
    board: Map<string, QueueBoard> | null;
    /** agent id → this supervisor's active monitoring of them. */
    monitoring: Map<string, Monitoring>;
    view: "conversations" | "board";
}

export const LIVE = new Set(["Invited", "Chatting", "LeftChat"]);

export function initialState(): State {
    return {
        phase: "signed-out",
        signInError: null,
        me: null,
        channel: "Unknown",
        connection: "connecting",
        conversations: new Map(),
        selected: null,
        notices: [],
        muted: localStorage.getItem("smsdesk.muted") === "true",
        colleagues: [],
        board: null,
        monitoring: new Map(),
        view: "conversations",
    };
}

export function sessionIdOfPath(path: unknown): string | null {
    if (typeof path !== "string") return null;
    const id = path.split("/").pop();
    return id ? id : null;
}

export function customerOf(session: Session): string {
    const customer = session.participants.find((p) => p.type === "Customer");
    if (customer) return customer.nickname;
    const number = session.userData["CustomerNumber"];
    return typeof number === "string" ? number : "unknown number";
}

export function isMine(entry: Entry, myId: string | undefined): boolean {
    return myId !== undefined && entry.from.path === `/users/${myId}`;
}

/** Adds or replaces a session; returns the conversation (created when new). */
export function upsertSession(state: State, session: Session): Conversation {
    let conversation = state.conversations.get(session.id);
    if (conversation === undefined) {
        conversation = {session, entries: new Map(), unread: 0, typing: new Map(), draft: "", agentsOnly: false};
        state.conversations.set(session.id, conversation);
    } else {
        conversation.session = session;
    }
    return conversation;
}

export function addEntries(state: State, conversation: Conversation, entries: Entry[], live: boolean): void {
    const myId = state.me?.id;
    for (const entry of entries) {
        const known = conversation.entries.has(entry.index);
        const previous = conversation.entries.get(entry.index);
        // A re-read log entry has no newer delivery than a pushed update: keep the later status. The
        // history pushed on Accept carries no delivery at all: keep what the log's read said.
        if (previous?.delivery && entry.delivery && !live && rank(previous.delivery) > rank(entry.delivery)) {
            entry.delivery = previous.delivery;
        } else if (previous?.delivery && !entry.delivery) {
            entry.delivery = previous.delivery;
        }
        conversation.entries.set(entry.index, entry);
        if (known || isMine(entry, myId)) continue;
        if (entry.type === "TypingStarted") conversation.typing.set(entry.from.participantId, entry.from.nickname);
        if (entry.type === "TypingStopped" || entry.type === "Text" || entry.type === "ParticipantLeft") {
            conversation.typing.delete(entry.from.participantId);
        }
        const counts = entry.type === "Text" || entry.type === "PushUrl" || entry.type === "CustomNotice";
        if (live && counts && (state.selected !== conversation.session.id || document.hidden)) conversation.unread += 1;
    }
}

const ORDER = ["pending", "accepted", "delivered", "failed", "expired"];
function rank(delivery: Delivery): number {
    return ORDER.indexOf(delivery.status);
}

export function orderedEntries(conversation: Conversation): Entry[] {
    return [...conversation.entries.values()].sort((a, b) => a.index - b.index);
}

/** The mode this user supervises the session in, or null when they take part as an agent. The
 * server offers a supervisor the switches to the two other modes, so the missing one is theirs. */
export function supervisionOf(session: Session): SupervisionMode | null {
    const switches = SUPERVISION_MODES.filter((mode) => session.capabilities.includes(`SwitchTo${mode}`));
    return switches.length === 2 ? SUPERVISION_MODES.find((mode) => !switches.includes(mode))! : null;
}

/** Why the customer cannot be texted in this session, or null when they can. */
export function sendingBlockedReason(conversation: Conversation): string | null {
    const session = conversation.session;
    if (session.state !== "Chatting" || session.capabilities.includes("SendMessage")) return null;
    if (supervisionOf(session) === "Monitor") return "You are monitoring: nobody in the conversation sees you, and you cannot write.";
    const consultant = session.participants.some((p) => p.path !== undefined && p.visibility === "Agents");
    const notices = orderedEntries(conversation).filter((e) => e.type === "Notice");
    const last = notices[notices.length - 1];
    if (last?.text && /opt/i.test(last.text) && !/opted back in/i.test(last.text)) return last.text;
    if (consultant && session.capabilities.includes("SendToAgents")) {
        return "You are consulting: what you write goes to the agents only.";
    }
    return "The customer cannot be texted in this session.";
}
