// The supervisor's part of the desktop: the team board (the live statistics extension: read once
// by REST, then replaced queue by queue by each StatisticsUpdated pushed on /v2/me/statistics),
// monitoring from an agent's row (GWS Monitor / Coach / BargeIn / CancelSupervisorMonitoring on
// the agent's smssession channel), and the mode switches of a session the supervisor is in.

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
    return {...raw, receivedAt: now, agents};
}

/** A pushed StatisticsUpdated: one queue's numbers, whole. */
export function applyStatistics(state: State, raw: unknown): void {
    const queue = queueBoard(raw as RawQueue, Date.now());
    state.board ??= new Map();
    state.board.set(queue.queue, queue);
}

/** Reads the board and the monitorings. A queue pushed while the answer was on its way keeps the
 * pushed numbers, which are at least as new. Null when the user supervises no queue. */
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

const OPERATION: Record<SupervisionMode, string> = {Monitor: "Monitor", Coach: "Coach", BargeIn: "BargeIn"};
export const MODE_LABEL: Record<SupervisionMode, string> = {Monitor: "Monitor", Coach: "Coach", BargeIn: "Barge in"};
const MODE_DOING: Record<SupervisionMode, string> = {Monitor: "monitoring", Coach: "coaching", BargeIn: "barging in"};

/** Starts (mode) or stops (null) monitoring the agent; the desktop remembers it on success. */
export async function supervise(state: State, agentId: string, mode: SupervisionMode | null, scope: Monitoring["scope"]): Promise<void> {
    const path = `/api/v2/users/${agentId}/channels/smssession`;
    if (mode === null) {
        await post(path, {operationName: "CancelSupervisorMonitoring"});
        state.monitoring.delete(agentId);
    } else {
        await post(path, {operationName: OPERATION[mode], supervisorMonitoringMode: scope});
        state.monitoring.set(agentId, {mode, scope});
    }
}

export function duration(ms: number | null): string {
    if (ms === null) return "–";
    const seconds = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const STATE_LABEL: Record<string, string> = {Ready: "Ready", NotReady: "Not Ready", LoggedOut: "Logged out"};

type Act = (agentId: string, mode: SupervisionMode | null, scope: Monitoring["scope"]) => void;

export function TeamBoard({state, act}: {state: State; act: Act}) {
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
                <QueuePanel key={queue.queue} queue={queue} myId={state.me?.id} monitoring={state.monitoring} scope={scope} act={act} />
            ))}
        </section>
    );
}

interface QueueProps {
    queue: QueueBoard;
    myId: string | undefined;
    monitoring: Map<string, Monitoring>;
    scope: Monitoring["scope"];
    act: Act;
}

function QueuePanel({queue, myId, monitoring, scope, act}: QueueProps) {
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
                        {queue.agents.map((agent) => {
                            const current = monitoring.get(agent.id);
                            return (
                                <tr key={agent.id}>
                                    <th scope="row">{agent.userName}</th>
                                    <td class={`agent-state ${agent.state}`}>{STATE_LABEL[agent.state] ?? agent.state}</td>
                                    <td>{duration(agent.stateSince === null ? null : now - agent.stateSince)}</td>
                                    <td>{agent.liveSessions}</td>
                                    <td>{agent.handledToday}</td>
                                    <td>{current ? `${MODE_LABEL[current.mode]}${current.scope === "NextChat" ? " (next session)" : ""}` : "None"}</td>
                                    <td class="actions">
                                        {agent.id !== myId && SUPERVISION_MODES.map((mode) => (
                                            <button
                                                key={mode}
                                                type="button"
                                                aria-label={`${MODE_LABEL[mode]} ${agent.userName}`}
                                                aria-pressed={current?.mode === mode}
                                                onClick={() => act(agent.id, mode, scope)}
                                            >
                                                {MODE_LABEL[mode]}
                                            </button>
                                        ))}
                                        {current && (
                                            <button type="button" aria-label={`Stop supervising ${agent.userName}`} onClick={() => act(agent.id, null, scope)}>
                                                Stop
                                            </button>
                                        )}
                                    </td>
                                </tr>
                            );
                        })}
                    </tbody>
                </table>
            </div>
        </section>
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
