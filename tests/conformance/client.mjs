// Drives the official CometD JavaScript client against a Bayeux server and reports, one JSON object
// per line on stdout, what it saw. The pytest side (test_cometd_js.py) delivers and asserts.
//   node client.mjs <url> <long-polling|websocket> <ack: true|false> <expected message count>
import {adapt} from "cometd-nodejs-client";
import {CometD} from "cometd";
import {AckExtension} from "cometd/AckExtension.js";
import {TimeSyncExtension} from "cometd/TimeSyncExtension.js";
import * as readline from "node:readline";

const [url, transport, ackArg, countArg] = process.argv.slice(2);
const ack = ackArg === "true";
const expected = Number(countArg);
const report = (event) => process.stdout.write(JSON.stringify(event) + "\n");

adapt();
const cometd = new CometD();
if (ack) {
    cometd.registerExtension("ack", new AckExtension());
}
const timesync = new TimeSyncExtension();
cometd.registerExtension("timesync", timesync);
for (const other of ["long-polling", "websocket", "callback-polling"]) {
    if (other !== transport) {
        cometd.unregisterTransport(other);
    }
}
cometd.configure({url: url, logLevel: process.env.COMETD_LOG || "warn"});

const received = [];
const connectAcks = [];
let handshakeExt = null;
// The first successful handshake and connect replies as received, so the test can show how servers
// differ in the fields the client does not act on (advice details, version fields, ext).
let handshakeReply = null;
let connectReply = null;
let finished = false;
let handshakes = 0;

cometd.addListener("/meta/handshake", (m) => {
    if (m.successful) {
        handshakeExt = m.ext || null;
        if (handshakeReply === null) handshakeReply = m;
        handshakes += 1;
        // A session the server dropped answers 402 with handshake advice: the client must come back.
        if (handshakes > 1) report({event: "rehandshake", clientId: m.clientId});
    }
});
cometd.addListener("/meta/connect", (m) => {
    if (m.successful && connectReply === null) connectReply = m;
    if (m.successful && m.ext && typeof m.ext.ack === "number") connectAcks.push(m.ext.ack);
});

function finish() {
    if (finished) return;
    finished = true;
    cometd.disconnect(() => {
        report({
            event: "done",
            transport: cometd.getTransport() ? cometd.getTransport().type : transport,
            received,
            handshakeExt,
            connectAcks,
            handshakeReply,
            connectReply,
            timesyncOffsetIsNumber: typeof timesync.getTimeOffset() === "number",
        });
        process.exit(0);
    });
}

// The test writes a line to stdin to ask for a client-side publish.
readline.createInterface({input: process.stdin}).on("line", (line) => {
    const {channel, data} = JSON.parse(line);
    cometd.publish(channel, data, (reply) => report({event: "published", successful: reply.successful, error: reply.error}));
});

cometd.handshake((reply) => {
    if (!reply.successful) {
        report({event: "handshake-failed", reply});
        process.exit(2);
    }
    cometd.subscribe("/conformance/**", (message) => {
        const copy = {channel: message.channel, data: message.data};
        if (message.ext) copy.ext = message.ext;
        received.push(copy);
        if (received.length >= expected) finish();
    }, (sub) => {
        if (sub.successful) {
            report({event: "subscribed", clientId: cometd.getClientId(), transport: cometd.getTransport().type});
        } else {
            report({event: "subscribe-failed", sub});
            process.exit(3);
        }
    });
});
