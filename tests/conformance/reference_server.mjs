// The reference Bayeux server, cometd-nodejs-server (long-polling only: its README says "WebSocket not
// (yet) supported"), configured like tests/bayeux/harness.py configures smsdesk, so that
// test_cometd_js.py can run the same scenarios against both.
//   node reference_server.mjs <port> <timeout ms>
// Every path is Bayeux except /_test/*, a side door for the test (JSON in, JSON out):
//   POST /_test/deliver {clientId, channel, data, ext?} -> {delivered}  (like Harness.deliver)
//   POST /_test/drop {clientId}                        -> {dropped}    (expire the session now)
//   GET  /_test/session?clientId=...                   -> {exists}
//   GET  /_test/events                                 -> [["removed", clientId, timeout], ...]
// Prints {"listening": port} on stdout once it accepts connections.
import http from "node:http";
import cometdServerModule from "cometd-nodejs-server";
import ackModule from "cometd-nodejs-server/ack-extension.js";

const [portArg, timeoutArg] = process.argv.slice(2);
const cometd = cometdServerModule.createCometDServer({
    timeout: Number(timeoutArg),
    maxInterval: 10000, // smsdesk's default max_interval_ms
    sweepPeriod: 100, // the harness sweeps every 100 ms
    logLevel: process.env.COMETD_LOG === "debug" ? "debug" : "info",
});
// The package ships the server half of the ack extension: enabled per session when the client
// handshakes with ext.ack = true, as in smsdesk.
cometd.addExtension(new ackModule.AcknowledgedMessagesExtension());
// The harness's TestPolicy: everything is allowed except publishing under /denied.
cometd.policy = {
    canPublish: (session, message, channel, callback) => callback(undefined, !channel.name.startsWith("/denied")),
};

const events = [];
cometd.addListener("sessionRemoved", (session, timeout) => events.push(["removed", session.id, timeout]));

function readJson(request) {
    return new Promise((resolve, reject) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => {
            try {
                resolve(body ? JSON.parse(body) : {});
            } catch (failure) {
                reject(failure);
            }
        });
    });
}

async function sideDoor(request, response) {
    const url = new URL(request.url, "http://localhost");
    const reply = (value) => {
        response.setHeader("Content-Type", "application/json");
        response.end(JSON.stringify(value));
    };
    if (url.pathname === "/_test/deliver") {
        const {clientId, channel, data, ext} = await readJson(request);
        const session = cometd.getServerSession(clientId);
        if (!session) return reply({delivered: false});
        const message = {channel, data};
        if (ext !== undefined) message.ext = ext;
        // session.deliver(sender, channel, data) builds {channel, data} and calls the private
        // session._deliver(sender, message); calling that directly is the only way to carry ext.
        // Unlike smsdesk's deliver, the reference queues a direct delivery whatever the session's
        // subscriptions: that difference is what "delivered" reports.
        session._deliver(null, message, (failure, delivered) => reply({delivered: !failure && delivered}));
    } else if (url.pathname === "/_test/drop") {
        const {clientId} = await readJson(request);
        const session = cometd.getServerSession(clientId);
        if (session) {
            // Exactly what the reference's own sweeper does when a session expires
            // (ServerSession._sweep): release the held /meta/connect, then remove the session.
            if (session._scheduler) session._scheduler.cancel();
            cometd._removeServerSession(session, true);
        }
        reply({dropped: Boolean(session)});
    } else if (url.pathname === "/_test/session") {
        reply({exists: Boolean(cometd.getServerSession(url.searchParams.get("clientId")))});
    } else if (url.pathname === "/_test/events") {
        reply(events);
    } else {
        response.statusCode = 404;
        response.end();
    }
}

const server = http.createServer((request, response) => {
    if (request.url.startsWith("/_test/")) {
        sideDoor(request, response).catch((failure) => {
            response.statusCode = 500;
            response.end(String(failure));
        });
    } else {
        cometd.handle(request, response);
    }
});
server.listen(Number(portArg), "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({listening: server.address().port}) + "\n");
});
// The test closes stdin (or dies): stop with it, so no server outlives the run.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
