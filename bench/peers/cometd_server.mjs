// Peer for bench/notifications.py: cometd-nodejs-server (long-polling only; its README says websocket is
// not supported) plus POST /op/<agent>, which publishes the JSON body on /agents/<agent> and answers
// {"statusCode":0}: smsdesk's "REST operation -> CometD notification" shape minus persistence.
//   node cometd_server.mjs <port> [ack]
import http from "node:http";
import cometdLib from "cometd-nodejs-server";
import ackLib from "cometd-nodejs-server/ack-extension.js";

const port = Number(process.argv[2]);
const ack = process.argv[3] === "ack";
// maxSessionsPerBrowser -1: every driver client would otherwise share one "browser" and all but the
// first would get multiple-clients advice (poll every 2 s). timeout 20 s as in performance.md §6.3.
const cometd = cometdLib.createCometDServer({timeout: 20000, maxSessionsPerBrowser: -1});
if (ack) cometd.addExtension(new ackLib.AcknowledgedMessagesExtension());

const OK = JSON.stringify({statusCode: 0});
const server = http.createServer((request, response) => {
    if (request.method === "POST" && request.url.startsWith("/op/")) {
        const chunks = [];
        request.on("data", (chunk) => chunks.push(chunk));
        request.on("end", () => {
            const data = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            const name = "/agents/" + request.url.slice(4);
            const channel = cometd.getServerChannel(name) || cometd.createServerChannel(name);
            channel.publish(null, data, () => {
                response.writeHead(200, {"Content-Type": "application/json", "Content-Length": OK.length});
                response.end(OK);
            });
        });
    } else if (request.method === "GET" && request.url === "/ready") {
        response.end("ok");
    } else {
        cometd.handle(request, response);
    }
});
server.timeout = 120000;
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1");
