// The official CometD JavaScript client as a GWS desktop uses it: signs in with HTTP Basic (the
// credentials in the URL), subscribes to /v2/me/**, and reports on stdout, one JSON object per line,
// every notification it receives (its referenceId and ext.smsdesk.position) and every handshake.
// It keeps running until stdin closes.
//   node gws_client.mjs <url with user:password@> <long-polling|websocket> <ack: true|false>
import {adapt} from "cometd-nodejs-client";
import {CometD} from "cometd";
import {AckExtension} from "cometd/AckExtension.js";
import * as readline from "node:readline";

const [url, transport, ackArg] = process.argv.slice(2);
const report = (event) => process.stdout.write(JSON.stringify(event) + "\n");

adapt();
const cometd = new CometD();
if (ackArg === "true") {
    cometd.registerExtension("ack", new AckExtension());
}
for (const other of ["long-polling", "websocket", "callback-polling"]) {
    if (other !== transport) {
        cometd.unregisterTransport(other);
    }
}
cometd.configure({url: url, logLevel: process.env.COMETD_LOG || "warn", maxBackoff: 500});

cometd.addListener("/meta/handshake", (m) => {
    if (m.successful) report({event: "handshake", clientId: m.clientId});
});
cometd.addListener("/meta/connect", (m) => {
    if (!m.successful) report({event: "connect-failed", error: m.error || null});
});

cometd.handshake((reply) => {
    if (!reply.successful) {
        report({event: "handshake-failed", reply});
        process.exit(2);
    }
    cometd.subscribe("/v2/me/**", (message) => {
        const data = message.data || {};
        const position = message.ext && message.ext.smsdesk ? message.ext.smsdesk.position : null;
        report({event: "message", referenceId: data.referenceId ?? null, position});
    }, (sub) => report({event: sub.successful ? "subscribed" : "subscribe-failed", transport: cometd.getTransport().type}));
});

readline.createInterface({input: process.stdin}).on("close", () => cometd.disconnect(() => process.exit(0)));
