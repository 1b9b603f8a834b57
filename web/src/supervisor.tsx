// The supervisor's part of the desktop: the team board (the live statistics extension: read once
// by REST, then replaced queue by queue by each StatisticsUpdated pushed on /v2/me/statistics),
// monitoring from an agent's row (GWS Monitor / Coach / BargeIn / CancelSupervisorMonitoring on
// the agent's smssession channel), joining a session in progress (Intrude, on the sessions the
// agent is chatting in), and the mode switches of a session the supervisor is in.

import {useState} from "preact/hooks";
import {get, post} from "./api";
import {type AgentRow, type Monitoring, type QueueBoard, type Session, SUPERVISION_MODES, type State, type SupervisionMode, supervisionOf} from "./model";

interface RawAgent {
    id: string;
    userName: string;
    state: string;
    timeInStateMs: number | null;
    liveSessions: number;
    handledToday: number;
}

type RawQueue = Omit<QueueBoard, "receivedAt" | "agents"> & {agents: RawAgent[]};

interface RawMonitoring {
    agentId: string;
    mode: Monitoring["mode"];
    supervisorMonitoringMode: Monitoring["scope"];
}

function queueBoard(raw: RawQueue, now: number): QueueBoard {
    const agents: AgentRow[] = raw.agents.map((a) => ({
        id: a.id,
        userName: a.userName,
        state: a.state,
        stateSince: a.timeInStateMs === null ? null : now - a.timeInStateMs,
        liveSessions: a.liveSessions,
        handledToday: a.handledToday,
    }));
    agents.sort((a, b) => a.userName.localeCompare(b.userName));
    return {...raw, receivedAt: now, agents};
}

/** A pushed StatisticsUpdated: one queue's numbers, whole. */
export function applyStatistics(state: State, raw: unknown): void {
    const queue = queueBoard(raw as RawQueue, Date.now());
    state.board ??= new Map();
    state.board.set(queue.queue, queue);
}

/** Reads the board (none when the user supervises no queue) and the monitorings. A queue pushed
 * while the answer was on its way keeps the pushed numbers, which are at least as new. */
export async function loadBoard(state: State): Promise<void> {
    const asked = Date.now();
    const answer = await get("/api/v2/me/statistics");
    const queues = answer["statistics"] as RawQueue[];
    const now = Date.now();
    const previous = state.board;
    state.board = queues.length === 0 ? null : new Map();
    for (const raw of queues) {
        const pushed = previous?.get(raw.queue);
        state.board?.set(raw.queue, pushed !== undefined && pushed.receivedAt > asked ? pushed : queueBoard(raw, now));
    }
    state.monitoring = new Map(
        (answer["monitoring"] as RawMonitoring[]).map((m) => [m.agentId, {mode: m.mode, scope: m.supervisorMonitoringMode}]),
    );
}

const MODE_LABEL: Record<SupervisionMode, string> = {Monitor: "Monitor", Coach: "Coach", BargeIn: "Barge in"};
const MODE_DOING: Record<SupervisionMode, string> = {Monitor: "monitoring", Coach: "coaching", BargeIn: "barging in"};

/** Starts (mode) or stops (null) monitoring the agent; the desktop remembers it on success. */
async function supervise(monitoring: Map<string, Monitoring>, agentId: string, mode: SupervisionMode | null, scope: Monitoring["scope"]): Promise<void> {
    const path = `/api/v2/users/${agentId}/channels/smssession`;
    if (mode === null) {
        await post(path, {operationName: "CancelSupervisorMonitoring"});
        monitoring.delete(agentId);
    } else {
        await post(path, {operationName: mode, supervisorMonitoringMode: scope}); // GWS names them alike
        monitoring.set(agentId, {mode, scope});
    }
}

/** A session a supervised agent is chatting in (the extension listing where Intrude can join). */
export interface AgentSession {
    id: string;
    customerNumber: string;
    receivedDate: string;
}

async function agentSessions(agentId: string): Promise<AgentSession[]> {
    const answer = await get(`/api/v2/users/${agentId}/smssessions`);
    return answer["smssessions"] as AgentSession[];
}

/** Intrude: the server then offers the session to this supervisor, who accepts it like any offer. */
async function intrude(agentId: string, sessionId: string, mode: SupervisionMode): Promise<void> {
    await post(`/api/v2/users/${agentId}/smssessions/${sessionId}`, {operationName: "Intrude", supervisorVisibilityMode: mode});
}

function duration(ms: number | null): string {
    if (ms === null) return "–";
    const seconds = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const STATE_LABEL: Record<string, string> = {Ready: "Ready", NotReady: "Not Ready", LoggedOut: "Logged out"};

/** Runs a supervisor's request; the desktop shows its failure and re-renders. */
export type Run = (work: () => Promise<void>) => void;

export function TeamBoard({state, run}: {state: State; run: Run}) {
    const [scope, setScope] = useState<Monitoring["scope"]>("AllChats");
    const queues = [...(state.board?.values() ?? [])].sort((a, b) => a.queue.localeCompare(b.queue));
    return (
        <section class="board" aria-label="Team board">
            <div class="board-bar">
                <h2>Team board</h2>
                <label>
                    Monitoring lasts
                    <select value={scope} onChange={(e) => setScope((e.currentTarget as HTMLSelectElement).value as Monitoring["scope"])}>
                        <option value="AllChats">for every session the agent accepts, until stopped</option>
                        <option value="NextChat">for the agent's next session only</option>
                    </select>
                </label>
            </div>
            {queues.map((queue) => (
                <QueuePanel key={queue.queue} queue={queue} myId={state.me?.id} monitoring={state.monitoring} scope={scope} run={run} />
            ))}
        </section>
    );
}

interface QueueProps {
    queue: QueueBoard;
    myId: string | undefined;
    monitoring: Map<string, Monitoring>;
    scope: Monitoring["scope"];
    run: Run;
}

function QueuePanel({queue, myId, monitoring, scope, run}: QueueProps) {
    const now = Date.now();
    const longest = queue.waiting > 0 ? queue.longestWaitMs + (now - queue.receivedAt) : 0;
    const level = queue.serviceLevel === null ? "–" : `${Math.round(queue.serviceLevel * 100)} %`;
    const numbers: [string, string][] = [
        ["Waiting", String(queue.waiting)],
        ["Longest wait", duration(longest)],
        ["Offered", String(queue.offered)],
        ["Accepted", String(queue.accepted)],
        ["Rejected", String(queue.rejected)],
        ["Revoked", String(queue.revoked)],
        ["Abandoned", String(queue.abandoned)],
        ["Completed", String(queue.completed)],
        ["Average time to accept", duration(queue.averageTimeToAcceptMs)],
        ["Average handle time", duration(queue.averageHandleTimeMs)],
        [`Service level (${Math.round(queue.serviceLevelThresholdMs / 1000)} s)`, level],
    ];
    const titleId = `queue-${encodeURIComponent(queue.queue)}`; // an id has no spaces
    return (
        <section class="queue" aria-labelledby={titleId}>
            <h3 id={titleId}>Queue {queue.queue} · today</h3>
            <dl class="numbers">
                {numbers.map(([term, value]) => (
                    <div key={term} class="stat">
                        <dt>{term}</dt>
                        <dd>{value}</dd>
                    </div>
                ))}
            </dl>
            {/* Scrolls sideways on a phone rather than squeezing the numbers; its buttons take the focus. */}
            <div class="table-scroll">
                <table aria-label={`Agents of ${queue.queue}`}>
                    <thead>
                        <tr>
                            <th scope="col">Agent</th>
                            <th scope="col">State</th>
                            <th scope="col">Time in state</th>
                            <th scope="col">Live sessions</th>
                            <th scope="col">Handled today</th>
                            <th scope="col">Your supervision</th>
                            <th scope="col">
                                <span class="visually-hidden">Actions</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {queue.agents.map((agent) => (
                            <AgentRows key={agent.id} agent={agent} self={agent.id === myId} current={monitoring.get(agent.id)} now={now} act={(mode) => run(() => supervise(monitoring, agent.id, mode, scope))} run={run} />
                        ))}
                    </tbody>
                </table>
            </div>
        </section>
    );
}

interface AgentProps {
    agent: AgentRow;
    self: boolean;
    current: Monitoring | undefined;
    now: number;
    act: (mode: SupervisionMode | null) => void;
    run: Run;
}

/** An agent's row, and under it, once asked, the conversations the supervisor can join. */
function AgentRows({agent, self, current, now, act, run}: AgentProps) {
    const [joinable, setJoinable] = useState<AgentSession[] | null>(null);
    const toggle = () =>
        run(async () => {
            setJoinable(joinable === null ? await agentSessions(agent.id) : null);
        });
    const join = (sessionId: string, mode: SupervisionMode) =>
        run(async () => {
            await intrude(agent.id, sessionId, mode);
            setJoinable(null);
        });
    return (
        <>
            <tr>
                <th scope="row">{agent.userName}</th>
                <td class={`agent-state ${agent.state}`}>{STATE_LABEL[agent.state] ?? agent.state}</td>
                <td>{duration(agent.stateSince === null ? null : now - agent.stateSince)}</td>
                <td>{agent.liveSessions}</td>
                <td>{agent.handledToday}</td>
                <td>{current ? `${MODE_LABEL[current.mode]}${current.scope === "NextChat" ? " (next session)" : ""}` : "None"}</td>
                <td>
                    <div class="actions">
                        {!self &&
                            SUPERVISION_MODES.map((mode) => (
                                <button key={mode} type="button" aria-label={`${MODE_LABEL[mode]} ${agent.userName}`} aria-pressed={current?.mode === mode} onClick={() => act(mode)}>
                                    {MODE_LABEL[mode]}
                                </button>
                            ))}
                        {current && (
                            <button type="button" aria-label={`Stop supervising ${agent.userName}`} onClick={() => act(null)}>
                                Stop
                            </button>
                        )}
                        {!self && (agent.liveSessions > 0 || joinable !== null) && (
                            <button type="button" aria-label={`Join a conversation of ${agent.userName}`} aria-expanded={joinable !== null} onClick={toggle}>
                                Join…
                            </button>
                        )}
                    </div>
                </td>
            </tr>
            {joinable !== null && (
                <tr class="join">
                    <td colSpan={7}>
                        {joinable.length === 0 ? (
                            <p>{agent.userName} is in no conversation now.</p>
                        ) : (
                            <ul aria-label={`Conversations of ${agent.userName}`}>
                                {joinable.map((s) => (
                                    <li key={s.id}>
                                        <span>
                                            {s.customerNumber}, since {new Date(s.receivedDate).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})}: join as
                                        </span>
                                        {SUPERVISION_MODES.map((mode) => (
                                            <button key={mode} type="button" aria-label={`Join ${s.customerNumber} as ${MODE_LABEL[mode]}`} onClick={() => join(s.id, mode)}>
                                                {MODE_LABEL[mode]}
                                            </button>
                                        ))}
                                    </li>
                                ))}
                            </ul>
                        )}
                    </td>
                </tr>
            )}
        </>
    );
}

const MODE_EXPLAINED: Record<SupervisionMode, string> = {
    Monitor: "Monitoring: nobody in the conversation sees you.",
    Coach: "Coaching: the agents see you and what you write; the customer does not.",
    BargeIn: "Barged in: the agents and the customer see you; what you write is texted to the customer.",
};

/** A session this user is in as a supervisor: the mode, and the switches the server offers. */
export function SupervisionPanel({session, switchTo}: {session: Session; switchTo: (mode: SupervisionMode) => void}) {
    const mode = supervisionOf(session);
    if (mode === null) return null;
    return (
        <section class="panel supervision" aria-labelledby="supervision-title">
            <h2 id="supervision-title">Supervision</h2>
            <p class="supervision-mode">{MODE_EXPLAINED[mode]}</p>
            <div class="buttons" role="group" aria-label="Supervision mode">
                {SUPERVISION_MODES.map((m) => (
                    <button
                        key={m}
                        type="button"
                        aria-pressed={m === mode}
                        disabled={m !== mode && !session.capabilities.includes(`SwitchTo${m}`)}
                        onClick={() => {
                            if (m !== mode) switchTo(m);
                        }}
                    >
                        {MODE_LABEL[m]}
                    </button>
                ))}
            </div>
        </section>
    );
}

export function supervisionLabel(session: Session): string | null {
    const mode = supervisionOf(session);
    return mode === null ? null : MODE_DOING[mode];
}
