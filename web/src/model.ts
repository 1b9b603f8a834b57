// The desktop's state and how GWS notifications change it. Every change is idempotent (entries
// are keyed by their log index, sessions are replaced whole), so a notification applied twice, or
// a notification racing a re-read of the same state, leaves the same result.

export type UserDataValue = string | number | {[key: string]: UserDataValue};
export type UserData = Record<string, UserDataValue>;

export interface Participant {
    nickname: string;
    type: string;
    participantId: string;
    visibility: "All" | "Agents";
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
    offerKind?: "route" | "transfer" | "invite" | "consult";
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
    visibility: "All" | "Agents";
    timestamp: string;
    timestampSeconds: number;
    text?: string;
    url?: string;
    noticeText?: string;
    delivery?: Delivery;
}

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
        // A re-read log entry has no newer delivery than a pushed update: keep the later status.
        if (previous?.delivery && entry.delivery && !live && rank(previous.delivery) > rank(entry.delivery)) {
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

/** Why the customer cannot be texted in this session, or null when they can. */
export function sendingBlockedReason(conversation: Conversation): string | null {
    const session = conversation.session;
    if (session.state !== "Chatting" || session.capabilities.includes("SendMessage")) return null;
    const consultant = session.participants.some((p) => p.path !== undefined && p.visibility === "Agents");
    const notices = orderedEntries(conversation).filter((e) => e.type === "Notice");
    const last = notices[notices.length - 1];
    if (last?.text && /opt/i.test(last.text) && !/opted back in/i.test(last.text)) return last.text;
    if (consultant && session.capabilities.includes("SendToAgents")) {
        return "You are consulting: what you write goes to the agents only.";
    }
    return "The customer cannot be texted in this session.";
}
