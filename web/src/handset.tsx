// The customer's phone, played by the SMS simulator: text the service number, read the replies.
// It uses the simulator's JSON routes (POST /simulator/sms, GET /simulator/sms?number=N); what the
// handset sent is remembered in this page, since the server keeps only what handsets receive.

import {render} from "preact";
import {useEffect, useRef, useState} from "preact/hooks";

interface Bubble {
    id: string;
    text: string;
    at: number;
    direction: "in" | "out";
}

interface Received {
    id: string;
    from: string;
    text: string;
    receivedMs: number;
}

const params = new URLSearchParams(location.search);
const DEMO_SERVICE_NUMBER = "+15550100";
const SUGGESTED = ["+15551230000", "+15551230001", "+15551230002"];

function sentKey(number: string): string {
    return `smsdesk.handset.sent.${number}`;
}

function loadSent(number: string): Bubble[] {
    try {
        return JSON.parse(sessionStorage.getItem(sentKey(number)) ?? "[]") as Bubble[];
    } catch {
        return [];
    }
}

function Handset() {
    const [number, setNumber] = useState(params.get("number") ?? SUGGESTED[0]!);
    const [service, setService] = useState(params.get("to") ?? DEMO_SERVICE_NUMBER);
    const [draft, setDraft] = useState("");
    const [received, setReceived] = useState<Received[]>([]);
    const [sent, setSent] = useState<Bubble[]>(() => loadSent(number));
    const [error, setError] = useState<string | null>(null);
    const logRef = useRef<HTMLOListElement>(null);

    useEffect(() => {
        setSent(loadSent(number));
        let stopped = false;
        async function poll(): Promise<void> {
            try {
                const response = await fetch(`/simulator/sms?number=${encodeURIComponent(number)}`, {cache: "no-store"});
                const body = (await response.json()) as {messages?: Received[]};
                if (!stopped && body.messages) setReceived(body.messages);
            } catch {
                // The server is restarting: the next poll catches up.
            }
            if (!stopped) setTimeout(() => void poll(), 700);
        }
        void poll();
        return () => {
            stopped = true;
        };
    }, [number]);

    const bubbles: Bubble[] = [
        ...sent,
        ...received.map((m) => ({id: m.id, text: m.text, at: m.receivedMs, direction: "in" as const})),
    ].sort((a, b) => a.at - b.at);

    useEffect(() => {
        const log = logRef.current;
        if (log) log.scrollTop = log.scrollHeight;
    }, [bubbles.length]);

    async function send(): Promise<void> {
        const text = draft.trim();
        if (!text) return;
        // When it left the phone: an automatic reply can reach the phone before this request returns.
        const at = Date.now();
        const response = await fetch("/simulator/sms", {
            method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({from: number, to: service, text}),
        });
        const body = (await response.json().catch(() => ({}))) as {statusCode?: number; statusMessage?: string};
        if (body.statusCode !== 0) {
            setError(body.statusMessage ?? `Not sent (HTTP ${response.status})`);
            return;
        }
        setError(null);
        const next = [...sent, {id: `sent-${at}`, text, at, direction: "out" as const}];
        sessionStorage.setItem(sentKey(number), JSON.stringify(next));
        setSent(next);
        setDraft("");
    }

    return (
        <main class="handset">
            <h1>Customer's phone</h1>
            <div class="numbers">
                <label>
                    Phone number
                    <input value={number} inputMode="tel" onChange={(e) => setNumber((e.currentTarget as HTMLInputElement).value.trim())} />
                </label>
                <label>
                    Pick a number
                    <select value={SUGGESTED.includes(number) ? number : ""} onChange={(e) => setNumber((e.currentTarget as HTMLSelectElement).value || number)}>
                        <option value="">…</option>
                        {SUGGESTED.map((n) => (
                            <option key={n} value={n}>
                                {n}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    Service number
                    <input value={service} inputMode="tel" onChange={(e) => setService((e.currentTarget as HTMLInputElement).value.trim())} />
                </label>
            </div>
            <div class="screen" role="log" aria-label="Messages">
                <ol ref={logRef}>
                    {bubbles.map((b) => (
                        <li key={b.id} class={`bubble ${b.direction}`}>
                            <span class="visually-hidden">{b.direction === "in" ? "Received: " : "Sent: "}</span>
                            {b.text}
                        </li>
                    ))}
                </ol>
            </div>
            {error && (
                <p class="error" role="alert">
                    {error}
                </p>
            )}
            <form
                class="compose"
                onSubmit={(e) => {
                    e.preventDefault();
                    void send();
                }}
            >
                <label class="visually-hidden" for="handset-message">
                    Message
                </label>
                <textarea
                    id="handset-message"
                    rows={2}
                    value={draft}
                    onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)}
                    onKeyDown={(e) => {
                        if (e.key === "Enter" && !e.shiftKey) {
                            e.preventDefault();
                            void send();
                        }
                    }}
                />
                <button type="submit">Send</button>
            </form>
        </main>
    );
}

render(<Handset />, document.getElementById("handset")!);
