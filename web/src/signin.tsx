// What the sign-in forms of the desktop and the administration pages share: whether the server
// allows password sign-in, the "Sign in with <provider>" link (OpenID Connect, handled by the
// server at /auth/oidc/login), and the message a refused single sign-on came back with.

import {useEffect, useState} from "preact/hooks";
import {ApiError, type Envelope, signIn} from "./api";

export interface SignInOptions {
    passwordSignIn: boolean;
    provider: {name: string; signInUrl: string} | null;
}

const DEFAULT: SignInOptions = {passwordSignIn: true, provider: null};

/** The server's sign-in options (GET /api/v2/signin-options, no authentication). */
export function useSignInOptions(): SignInOptions {
    const [options, setOptions] = useState<SignInOptions>(DEFAULT);
    useEffect(() => {
        fetch("/api/v2/signin-options", {credentials: "same-origin", cache: "no-store"})
            .then((response) => (response.ok ? response.json() : DEFAULT))
            .then((body: SignInOptions) => setOptions({passwordSignIn: body.passwordSignIn !== false, provider: body.provider ?? null}))
            .catch(() => setOptions(DEFAULT));
    }, []);
    return options;
}

/** The message a refused single sign-on brought back (``?signin_error=``), read once: the address
 *  bar is cleaned so that a reload does not show it again. */
export function takeProviderError(): string | null {
    const params = new URLSearchParams(location.search);
    const message = params.get("signin_error");
    if (message !== null) history.replaceState(null, "", location.pathname);
    return message;
}

/** The provider's link; ``error`` is shown here when the page shows no password form to hold it. */
export function ProviderSignIn({options, next, error = null}: {options: SignInOptions; next: string; error?: string | null}) {
    if (options.provider === null) return null;
    const href = `${options.provider.signInUrl}?next=${encodeURIComponent(next)}`;
    return (
        <div class="provider">
            {error && (
                <p class="error" role="alert">
                    {error}
                </p>
            )}
            <a class="button" href={href}>
                Sign in with {options.provider.name}
            </a>
        </div>
    );
}

/** The user-name-and-password form's submit: signs in and hands the user to ``signedIn``, or hands
 *  the refusal, worded for the person at the keyboard, to ``failed``. ``busy`` is true meanwhile. */
export function usePasswordSignIn(
    signedIn: (me: Envelope) => Promise<void>,
    failed: (message: string) => void,
): {busy: boolean; submit: (event: Event) => void} {
    const [busy, setBusy] = useState(false);
    async function signInWith(form: HTMLFormElement): Promise<void> {
        const userName = (form.elements.namedItem("username") as HTMLInputElement).value.trim();
        const password = (form.elements.namedItem("password") as HTMLInputElement).value;
        setBusy(true);
        try {
            await signedIn(await signIn(userName, password));
        } catch (error) {
            failed(refusal(error));
        } finally {
            setBusy(false);
        }
    }
    return {
        busy,
        submit: (event: Event) => {
            event.preventDefault();
            void signInWith(event.currentTarget as HTMLFormElement);
        },
    };
}

function refusal(error: unknown): string {
    if (error instanceof ApiError && error.httpStatus === 401) {
        return error.message === "Access denied" ? "Wrong user name or password." : error.message;
    }
    return `Cannot sign in: ${error instanceof Error ? error.message : String(error)}`;
}
