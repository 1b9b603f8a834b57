// Load driver for bench/notifications.py: N Bayeux clients (the official `cometd` 9 JS client with the
// cometd-nodejs-client adapter) subscribed per agent, and an open-loop stream of HTTP operations whose
// notifications they must receive. The same code drives smsdesk and the peers, so only the server differs.
//
//   node driver.mjs <config.json>     (see bench/notifications.py, Driver, for the fields)
//
// Protocol: one JSON object per line. stdout: {"event": "ready" | "started" | "result" | "error", ...};
// stdin: {"cmd": "load", "rate": ops/s, "duration": s, "drain": s} or {"cmd": "quit"}.
import {readFileSync} from "node:fs";
import http from "node:http";
import {performance, monitorEventLoopDelay} from "node:perf_hooks";
import * as readline from "node:readline";
import {adapt} from "cometd-nodejs-client";
import {CometD} from "cometd";
import {AckExtension} from "cometd/AckExtension.js";
import faye from "faye";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const {system, transport, fanout} = config;
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");
let errorsReported = 0;
const report = (text) => {
    // A broken setup fails thousands of clients the same way: a few lines say it.
    if (errorsReported++ < 5) emit({event: "error", text});
};

// One cookie jar per client, pre-seeded with its own BAYEUX_BROWSER id: each client stands for its own
// browser or device (performance.md §6.3). With the adapter's shared jar every client after the first
// would share one "browser" and get the "multiple-clients" advice (poll every 2 s); with no jar at all
// cometd-nodejs-server cannot find the session (it looks sessions up by that cookie).
// The adapter (cometd-nodejs-client 2.0, src/XMLHttpRequest.js) asks retrieveCookies(context, uri) with
// the transport's context and then hands storeCookie(uri) the same uri object, without the context: the
// WeakMap takes a reply's cookies back to the jar of the client that sent the request, so whatever the
// server sets (smsdesk's JSESSIONID, BAYEUX_BROWSER) is sent back by that client only, as a browser does.
const jarOfRequest = new WeakMap();
adapt({
    cookies: {
        retrieveCookies: (context, uri, callback) => {
            const jar = context && context.jar;
            if (!jar) return callback(null, []);
            jarOfRequest.set(uri, jar);
            callback(null, [...jar.entries()].map(([name, value]) => `${name}=${value}`));
        },
        storeCookie: (uri, header, callback) => {
            const jar = jarOfRequest.get(uri);
            if (jar) keepCookie(jar, header);
            callback();
        },
    },
});

function keepCookie(jar, header) {
    const pair = header.split(";", 1)[0].trim();
    const equal = pair.indexOf("=");
    if (equal > 0) jar.set(pair.slice(0, equal), pair.slice(equal + 1));
}

function cookieHeader(jar) {
    return [...jar.entries()].map(([name, value]) => `${name}=${value}`).join("; ");
}

// A client that is not subscribed within this long fails the setup (the server refused or is down):
// the driver then says why and exits, instead of waiting for ever.
const SETUP_TIMEOUT_MS = config.setupTimeoutMs || 60_000;

const base = new URL(config.base);
const httpAgent = new http.Agent({keepAlive: true, maxSockets: 256});
const PAD = "x".repeat(Math.max(0, config.payloadBytes || 0));

// ---- per-round bookkeeping -------------------------------------------------------------------------
let round = null;

function newRound() {
    return {ops: new Map(), deliveries: [], duplicates: 0, outOfOrder: 0, stray: 0, errors: 0, errorSamples: [],
        replies: [], bytes: 0, messages: 0, resubscribedAt: []};
}

function seqOf(message) {
    const data = message.data;
    if (!data) return undefined;
    if (typeof data.seq === "number") return data.seq;
    // smsdesk: PropertiesUpdated carries the session's userData, where each operation wrote its seq.
    const userData = data.smssession && data.smssession.userData;
    if (data.notificationType === "PropertiesUpdated" && userData && typeof userData.seq === "number") {
        return userData.seq;
    }
    return undefined;
}

// ---- Bayeux clients ----------------------------------------------------------------------------------
const clients = [];

// faye's websocket does not work with the cometd client's websocket transport (every subscribe answers
// 402::session_unknown), so faye is driven by its own client: the same role, another library.
function makeFayeClient(agent, index, onMessage, state) {
    const client = new faye.Client(new URL(config.bayeuxPath, base).toString(), {timeout: 30});
    // faye's node client needs HTTP for the handshake and then moves to websocket on its own.
    if (transport !== "websocket") client.disable("websocket");
    client.disable("callback-polling");
    client.disable("eventsource");
    state.handshakes = 1;
    state.cometd = {disconnect: () => client.disconnect()};
    return new Promise((resolve) => {
        client.subscribe(agent.channel, (data) => onMessage({data})).then(() => {
            state.subscribed = true;
            const used = client._dispatcher && client._dispatcher._transport;
            state.transport = used ? used.connectionType : "?";
            resolve(state);
        }, (error) => report(`faye subscribe refused: ${error && error.message}`));
    });
}

// A desktop's first request: GET /api/v2/me with Basic, which gets it its JSESSIONID cookie (smsdesk
// issues one to every Basic-authenticated request). Its CometD client then sends that cookie with
// every Bayeux request, so a balancer with cookie affinity (bench/cluster.py pg2a) keeps it on one node.
function signIn(agent, jar) {
    return new Promise((resolve, reject) => {
        const headers = {Authorization: agent.auth};
        if (jar.size) headers.Cookie = cookieHeader(jar);
        const request = http.request(
            {host: base.hostname, port: base.port, path: config.signInPath, method: "GET", agent: httpAgent, headers},
            (response) => {
                for (const header of response.headers["set-cookie"] || []) keepCookie(jar, header);
                response.resume();
                response.on("end", () => {
                    if (response.statusCode === 200 && jar.has("JSESSIONID")) resolve();
                    else reject(new Error(`GET ${config.signInPath}: HTTP ${response.statusCode}, cookies ${[...jar.keys()]}`));
                });
            },
        );
        request.setTimeout(SETUP_TIMEOUT_MS, () => request.destroy(new Error(`GET ${config.signInPath}: no answer`)));
        request.on("error", reject);
        request.end();
    });
}

function makeClient(agent, index) {
    const url = new URL(config.bayeuxPath, base);
    if (agent.user) {
        url.username = encodeURIComponent(agent.user);
        url.password = encodeURIComponent(agent.password);
    }
    const cometd = new CometD();
    const jar = new Map([["BAYEUX_BROWSER", `b${process.pid}x${index}`]]);
    const state = {agent, index, cometd, jar, seen: new Set(), last: -1, subscribed: false, handshakes: 0, position: null};
    if (config.ack) cometd.registerExtension("ack", new AckExtension());
    if (config.resume) {
        // smsdesk's replay: hand the last outbox position back on re-handshake (ext.smsdesk.resume).
        cometd.registerExtension("resume", {
            outgoing: (message) => {
                if (message.channel === "/meta/handshake" && state.position !== null) {
                    message.ext = message.ext || {};
                    message.ext.smsdesk = {resume: state.position};
                }
                return message;
            },
        });
    }
    for (const other of ["long-polling", "websocket", "callback-polling"]) {
        if (other !== transport) cometd.unregisterTransport(other);
    }
    cometd.configure({url: url.toString(), logLevel: "warn", maxNetworkDelay: 15000});
    const longPolling = cometd.findTransport("long-polling");
    if (longPolling) longPolling.context = {jar};
    const onMessage = (message) => {
        const now = performance.now();
        const seq = seqOf(message);
        if (message.ext && message.ext.smsdesk && typeof message.ext.smsdesk.position === "number") {
            state.position = message.ext.smsdesk.position;
        }
        if (seq === undefined || round === null) return;
        round.messages += 1;
        if (round.messages <= 50) round.bytes += JSON.stringify(message).length;
        const op = round.ops.get(seq);
        if (op === undefined) {
            round.stray += 1; // from an earlier round, or never sent by this driver
            return;
        }
        if (state.seen.has(seq)) {
            round.duplicates += 1;
            return;
        }
        state.seen.add(seq);
        if (seq < state.last) round.outOfOrder += 1;
        state.last = Math.max(state.last, seq);
        op.got += 1;
        op.lastAt = now;
        round.deliveries.push(now - op.sentAt);
    };
    if (config.client === "faye") return makeFayeClient(agent, index, onMessage, state);
    return new Promise((resolve, reject) => {
        let first = true;
        let lastFailure = "no reply";
        const timer = setTimeout(() => {
            first = false;
            cometd.disconnect();
            reject(new Error(`client ${index} (${agent.user || agent.channel}) not subscribed within ${SETUP_TIMEOUT_MS / 1000} s: ${lastFailure}`));
        }, SETUP_TIMEOUT_MS);
        const failed = (text) => {
            if (!first) return;
            first = false;
            clearTimeout(timer);
            reject(new Error(text));
        };
        // A refused or failed handshake is retried by the client on its own; say why meanwhile.
        cometd.addListener("/meta/unsuccessful", (message) => {
            const failure = message.failure;
            const status = failure && failure.httpCode ? `HTTP ${failure.httpCode} ` : "";
            lastFailure = `${message.channel || "?"} failed: ${status}${message.error || (failure && failure.reason) || ""}`;
        });
        // Subscribing in the handshake listener re-subscribes after a re-handshake (server restart).
        cometd.addListener("/meta/handshake", (reply) => {
            if (!reply.successful) return;
            state.handshakes += 1;
            state.subscribed = false;
            cometd.subscribe(agent.channel, onMessage, (sub) => {
                if (!sub.successful) {
                    report(`subscribe refused: ${JSON.stringify(sub)}`);
                    failed(`client ${index}: subscribe refused: ${JSON.stringify(sub).slice(0, 300)}`);
                    return;
                }
                state.subscribed = true;
                if (round !== null && state.handshakes > 1) round.resubscribedAt.push(performance.now() - round.startedAt);
                if (first) {
                    first = false;
                    clearTimeout(timer);
                    resolve(state);
                }
            });
        });
        const start = config.signInPath ? signIn(agent, jar) : Promise.resolve();
        start.then(() => cometd.handshake(), (error) => failed(`client ${index}: ${error.message}`));
    });
}

// The cookie jar of each agent's first desktop, by agent index (operations are sent with it).
const desktopOf = new Map();

async function connectAll() {
    const started = performance.now();
    const wanted = [];
    config.agents.forEach((agent, a) => {
        for (let k = 0; k < fanout; k += 1) wanted.push([agent, a * fanout + k]);
    });
    // A bounded number of handshakes in flight, so setup does not open thousands of sockets at once.
    const batch = 100;
    for (let i = 0; i < wanted.length; i += batch) {
        const part = await Promise.all(wanted.slice(i, i + batch).map(([agent, index]) => makeClient(agent, index)));
        clients.push(...part);
        for (const client of part) {
            if (client.jar && !desktopOf.has(client.agent.index)) desktopOf.set(client.agent.index, client.jar);
        }
        if (i % 1000 === 0 && i > 0) emit({event: "progress", connected: clients.length});
    }
    return performance.now() - started;
}

// ---- operations --------------------------------------------------------------------------------------
function sendOp(seq, agent) {
    const body = system === "smsdesk"
        ? JSON.stringify({operationName: "UpdateUserData", userData: {seq}})
        : JSON.stringify({seq, pad: PAD});
    const op = {agent: agent.index, sentAt: performance.now(), got: 0, lastAt: 0, ok: false, done: false};
    // A reply may come after its round is over (it missed the drain): it counts for that round.
    const sentIn = round;
    sentIn.ops.set(seq, op);
    const headers = {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(body)};
    if (agent.auth) headers.Authorization = agent.auth;
    // The operation comes from the agent's first desktop: its cookies go with it, and come back.
    const jar = desktopOf.get(agent.index);
    if (jar && jar.size) headers.Cookie = cookieHeader(jar);
    const request = http.request(
        {host: base.hostname, port: base.port, path: agent.opPath, method: "POST", agent: httpAgent, headers},
        (response) => {
            if (jar) for (const header of response.headers["set-cookie"] || []) keepCookie(jar, header);
            const chunks = [];
            response.on("data", (chunk) => chunks.push(chunk));
            response.on("end", () => {
                op.done = true;
                sentIn.replies.push(performance.now() - op.sentAt);
                const text = Buffer.concat(chunks).toString("utf8");
                let reply = null;
                try {
                    reply = JSON.parse(text);
                } catch {
                    reply = null;
                }
                op.ok = response.statusCode === 200 && reply !== null && reply.statusCode === 0;
                if (!op.ok) fail(sentIn, `op ${seq}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
            });
        },
    );
    request.on("error", (error) => {
        op.done = true;
        fail(sentIn, `op ${seq}: ${error.code || error.message}`);
    });
    request.end(body);
}

function fail(inRound, text) {
    inRound.errors += 1;
    if (inRound.errorSamples.length < 5) inRound.errorSamples.push(text);
}

let nextSeq = 1;

function percentile(sorted, p) {
    if (sorted.length === 0) return null;
    return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function load({rate, duration, drain}) {
    for (const c of clients) {
        c.seen = new Set();
        c.last = -1;
    }
    round = newRound();
    const lag = monitorEventLoopDelay({resolution: 10});
    lag.enable();
    const cpu0 = process.cpuUsage();
    const started = (round.startedAt = performance.now());
    emit({event: "started"});
    const total = Math.round(rate * duration);
    let sent = 0;
    // Open loop: operations go out on schedule whether or not earlier ones were answered.
    await new Promise((resolve) => {
        const timer = setInterval(() => {
            const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000));
            while (sent < due) {
                const agent = config.agents[sent % config.agents.length];
                sendOp(nextSeq, agent);
                nextSeq += 1;
                sent += 1;
            }
            if (sent >= total) {
                clearInterval(timer);
                resolve();
            }
        }, 1);
    });
    const sentFor = (performance.now() - started) / 1000;
    // Wait for replies and for every expected delivery, at most `drain` seconds.
    const deadline = performance.now() + drain * 1000;
    const complete = () => {
        for (const op of round.ops.values()) {
            if (!op.done || (op.ok && op.got < fanout)) return false;
        }
        return true;
    };
    while (!complete() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    lag.disable();
    let ok = 0;
    let lost = 0;
    let delivered = 0;
    const opLatencies = [];
    for (const op of round.ops.values()) {
        if (!op.ok) continue;
        ok += 1;
        delivered += op.got;
        lost += fanout - op.got;
        if (op.got === fanout) opLatencies.push(op.lastAt - op.sentAt);
    }
    const sorted = (xs) => Float64Array.from(xs).sort();
    const opsSorted = sorted(opLatencies);
    const delSorted = sorted(round.deliveries);
    const repSorted = sorted(round.replies);
    const result = {
        event: "result", sent, ok, delivered, lost, duplicates: round.duplicates, outOfOrder: round.outOfOrder,
        stray: round.stray, errors: round.errors, errorSamples: round.errorSamples, sentFor, elapsed,
        notifyP50: percentile(opsSorted, 50), notifyP99: percentile(opsSorted, 99), notifyMax: percentile(opsSorted, 100),
        deliveryP50: percentile(delSorted, 50), deliveryP99: percentile(delSorted, 99),
        replyP50: percentile(repSorted, 50), replyP99: percentile(repSorted, 99),
        driverCpu: (cpu.user + cpu.system) / 1e6, lagP99: lag.percentile(99) / 1e6,
        messageBytes: round.messages ? Math.round(round.bytes / Math.min(50, round.messages)) : null,
        transports: [...new Set(clients.map((c) => c.transport || (c.cometd.getTransport && c.cometd.getTransport()?.type)))],
        handshakes: clients.reduce((n, c) => n + c.handshakes, 0), clients: clients.length,
        subscribed: clients.filter((c) => c.subscribed).length,
        resubscribedLast: round.resubscribedAt.length ? Math.max(...round.resubscribedAt) : null,
        resubscribes: round.resubscribedAt.length,
    };
    round = null;
    emit(result);
}

// ---- main --------------------------------------------------------------------------------------------
process.on("uncaughtException", (error) => {
    report(String((error && error.stack) || error));
});

// Commands are read from the start, so "quit" works even while the clients are still connecting.
let busy = Promise.resolve();
readline.createInterface({input: process.stdin}).on("line", (line) => {
    const command = JSON.parse(line);
    if (command.cmd === "load") {
        busy = busy.then(() => load(command));
    } else if (command.cmd === "quit") {
        busy.then(() => {
            for (const c of clients) c.cometd.disconnect();
            setTimeout(() => process.exit(0), 300);
        });
    }
});

let connectMs;
try {
    connectMs = await connectAll();
} catch (error) {
    // The setup failed (a refused subscribe, a server that answers 500 or nothing): say why and exit,
    // so the benchmark reports it instead of waiting.
    process.stdout.write(JSON.stringify({event: "fatal", text: String(error && error.message || error)}) + "\n", () => process.exit(1));
    await new Promise(() => {});
}
emit({event: "ready", clients: clients.length, connectMs});
