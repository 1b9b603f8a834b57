// How a text travels as SMS: the same rules as the server (src/smsdesk/domain/sms_encoding.py),
// so the composer can show the alphabet and the segment count at every key stroke without a
// round trip. tests/browser checks this against GET /api/v2/sms/preview.

const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "\f^{}\\[~]|€";

export interface SmsShape {
    encoding: "GSM-7" | "UCS-2";
    segments: number;
    units: number;
}

export function analyse(text: string): SmsShape {
    const chars = Array.from(text); // code points, as Python iterates a str
    const gsm = chars.every((c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c));
    const encoding = gsm ? "GSM-7" : "UCS-2";
    const costs = chars.map((c) => (gsm ? (GSM7_EXTENSION.includes(c) ? 2 : 1) : c.codePointAt(0)! > 0xffff ? 2 : 1));
    const units = costs.reduce((a, b) => a + b, 0);
    const [single, part] = gsm ? [160, 153] : [70, 67];
    if (units <= single) return {encoding, segments: 1, units};
    let segments = 1;
    let used = 0;
    for (const cost of costs) {
        if (used + cost > part) {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    return {encoding, segments, units};
}

/** The first few distinct characters that force UCS-2 (a curly quote is the classic surprise). */
export function unicodeCulprits(text: string, limit = 5): string {
    const culprits = new Set<string>();
    for (const c of text) {
        if (!GSM7_BASIC.includes(c) && !GSM7_EXTENSION.includes(c)) culprits.add(c);
        if (culprits.size >= limit) break;
    }
    return [...culprits].map((c) => (c.trim() === "" ? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : c)).join(" ");
}
