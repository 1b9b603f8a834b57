// Live notifications over CometD (the official client), made lossless with smsdesk's resume
// extension: every notification carries ext.smsdesk.position; whenever the client handshakes
// again (a network drop, a laptop sleep, a server restart) it sends the last position it saw as
// ext.smsdesk.resume, and the server replays whatever was missed before anything new. When the
// server can no longer replay (NotificationGap) the desktop re-reads its state instead.

import {AckExtension, CometD, type Message, TimeSyncExtension} from "cometd";
import {renewSession} from "./api";

export type Connection = "connecting" | "connected" | "reconnecting";

export interface NotificationSink {
    /** A notification's ``data`` with its channel, in commit order. */
    notification(channel: string, data: Record<string, unknown>): void;
    /** Subscribed again after a fresh start or a gap: the desktop must re-read its state. */
    resync(reason: string): void;
    connection(state: Connection): void;
    /** The server refuses us and there is no password in memory to open a new HTTP session. */
    sessionLost(): void;
}

interface SmsdeskExt {
    smsdesk?: {position?: number; resume?: number};
}

/** What the package's TimeSyncExtension offers beyond its (empty) type declaration. */
interface ServerClock {
    getServerTime(): number;
}

export class Notifications {
    private readonly cometd = new CometD("smsdesk");
    private readonly clock = new TimeSyncExtension();
    private position: number | null = null;
    private subscribed = false;
    private stopped = false;
    private subscribedBefore = false;

    constructor(private readonly sink: NotificationSink) {
        // Only long-polling: what GWS offers, and what works through every proxy.
        this.cometd.unregisterTransport("websocket");
        this.cometd.unregisterTransport("callback-polling");
        this.cometd.configure({url: new URL("/api/v2/notifications", location.href).href, logLevel: "warn", maxBackoff: 5000, backoffIncrement: 500});
        // Within one Bayeux session, the ack extension has the server resend what a lost
        // long-poll answer carried; across sessions, the resume token below does the same.
        this.cometd.registerExtension("ack", new AckExtension());
        // The server's clock (Bayeux timesync), so that offer countdowns do not depend on this one's.
        this.cometd.registerExtension("timesync", this.clock);
        this.cometd.registerExtension("smsdesk-resume", {
            outgoing: (message: Message): Message => {
                if (message.channel === "/meta/handshake" && this.position !== null) {
                    const ext = (message.ext ?? {}) as SmsdeskExt;
                    ext.smsdesk = {resume: this.position};
                    message.ext = ext;
                }
                return message;
            },
            incoming: (message: Message): Message => {
                const position = (message.ext as SmsdeskExt | undefined)?.smsdesk?.position;
                if (typeof position === "number") {
                    // A handshake reply only tells where a fresh client starts; a resuming one keeps its token.
                    if (message.channel !== "/meta/handshake" || this.position === null) this.position = position;
                }
                return message;
            },
        });
        this.cometd.addListener("/meta/handshake", (reply) => this.handshaken(reply));
        this.cometd.addListener("/meta/connect", (reply) => {
            if (this.stopped) return;
            if (reply.successful) {
                if (this.subscribed) this.sink.connection("connected");
            } else {
                this.sink.connection("reconnecting");
            }
        });
    }

    /** Now, in epoch milliseconds, by the server's clock as far as timesync could tell. */
    serverNow(): number {
        return (this.clock as unknown as ServerClock).getServerTime();
    }

    start(): void {
        this.sink.connection("connecting");
        this.cometd.handshake();
    }

    stop(): void {
        this.stopped = true;
        this.cometd.disconnect();
    }

    private handshaken(reply: Message): void {
        if (this.stopped) return;
        if (!reply.successful) {
            this.sink.connection("reconnecting");
            this.subscribed = false;
            // 401: the server forgot our HTTP session (it restarted); open a new one so that the
            // client's next handshake attempt (it retries by itself, with backoff) gets through.
            renewSession().then(
                (renewed) => {
                    if (!renewed) this.sink.sessionLost();
                },
                () => undefined, // the network is down: the client's next attempt will tell
            );
            return;
        }
        const resumed = this.subscribedBefore && this.position !== null;
        this.subscribedBefore = true;
        // Every handshake clears the client's subscriptions: subscribe again, once, to everything
        // of this agent, so that all notifications arrive as one commit-ordered stream.
        this.cometd.subscribe(
            "/v2/me/**",
            (message) => {
                const data = message.data as Record<string, unknown> | undefined;
                if (!data) return;
                if (data["messageType"] === "NotificationGap") {
                    this.sink.resync("gap");
                    return;
                }
                this.sink.notification(message.channel, data);
            },
            (subscribeReply) => {
                if (!subscribeReply.successful) return;
                this.subscribed = true;
                this.sink.connection("connected");
                // The very first subscription starts from nothing: read the state now that
                // nothing can be missed any more. A resumed one is brought up to date by the replay.
                if (!resumed) this.sink.resync("start");
            },
        );
    }
}
