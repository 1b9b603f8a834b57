// Peer for bench/notifications.py: faye (long-polling and websocket) at /bayeux, plus POST /op/<agent>,
// which publishes the JSON body on /agents/<agent> and answers {"statusCode":0}.
//   node faye_server.mjs <port>
import http from "node:http";
import faye from "faye";

const port = Number(process.argv[2]);
const bayeux = new faye.NodeAdapter({mount: "/bayeux", timeout: 20});
const publisher = bayeux.getClient();

const OK = JSON.stringify({statusCode: 0});
const server = http.createServer((request, response) => {
    if (request.method === "POST" && request.url.startsWith("/op/")) {
        const chunks = [];
        request.on("data", (chunk) => chunks.push(chunk));
        request.on("end", () => {
            const data = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            // The in-process client publishes straight into the engine (no network hop).
            publisher.publish("/agents/" + request.url.slice(4), data).then(() => {
                response.writeHead(200, {"Content-Type": "application/json", "Content-Length": OK.length});
                response.end(OK);
            });
        });
    } else if (request.method === "GET" && request.url === "/ready") {
        response.end("ok");
    } else {
        response.writeHead(404);
        response.end();
    }
});
bayeux.attach(server);
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1");
