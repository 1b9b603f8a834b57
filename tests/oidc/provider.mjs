// An OpenID Connect provider on loopback for smsdesk's single sign-on tests: npm's oidc-provider
// (OpenID-certified), with its development login form (any user name signs in as itself; the
// password is ignored) and consent granted to the test client, so a test can drive the whole
// authorization code flow with PKCE.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI[,REDIRECT_URI...]
//
// Prints "listening <issuer>" once it serves. POST /test/mode {"mode": ...} makes the token
// endpoint hand out a bad ID token for the refusal tests: "forged" (signed with another key),
// "wrong-audience" (issued for another client), "expired" (exp an hour ago), or "normal".
import http from "node:http";
import Provider from "oidc-provider";
import {SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair} from "jose";

const [port, clientId, clientSecret, redirects] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const {privateKey} = await generateKeyPair("RS256", {extractable: true});
const jwk = {...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig"};
const attacker = (await generateKeyPair("RS256", {extractable: true})).privateKey;

const provider = new Provider(issuer, {
    clients: [
        {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: redirects.split(","),
            grant_types: ["authorization_code"],
            response_types: ["code"],
            token_endpoint_auth_method: "client_secret_basic",
        },
    ],
    jwks: {keys: [jwk]},
    claims: {openid: ["sub"], profile: ["preferred_username", "name"]},
    async findAccount(ctx, id) {
        return {accountId: id, claims: async () => ({sub: id, preferred_username: id, name: id})};
    },
    features: {devInteractions: {enabled: true}},
    pkce: {required: () => true},
    cookies: {keys: ["smsdesk-test-provider-cookie-key"]},
    // First-party client: consent is granted without a screen.
    async loadExistingGrant(ctx) {
        const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId});
        grant.addOIDCScope("openid profile");
        await grant.save();
        return grant;
    },
});

let mode = "normal";

async function tampered(idToken) {
    const claims = decodeJwt(idToken);
    const header = decodeProtectedHeader(idToken);
    let key = privateKey;
    if (mode === "forged") key = attacker;
    if (mode === "wrong-audience") claims.aud = "another-application";
    if (mode === "expired") {
        const now = Math.floor(Date.now() / 1000);
        claims.iat = now - 7200;
        claims.exp = now - 3600;
    }
    return new SignJWT(claims).setProtectedHeader({alg: header.alg, kid: header.kid, typ: header.typ}).sign(key);
}

provider.use(async (ctx, next) => {
    if (ctx.path === "/test/mode" && ctx.method === "POST") {
        const chunks = [];
        for await (const chunk of ctx.req) chunks.push(chunk);
        mode = JSON.parse(Buffer.concat(chunks).toString()).mode;
        ctx.body = {mode};
        return;
    }
    await next();
    if (ctx.path === "/token" && mode !== "normal" && ctx.body && typeof ctx.body === "object" && ctx.body.id_token) {
        ctx.body = {...ctx.body, id_token: await tampered(ctx.body.id_token)};
    }
});

const server = http.createServer(provider.callback());
server.listen(Number(port), "127.0.0.1", () => console.log(`listening ${issuer}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
