// Bundles the desktop, the administration pages and the handset page into ../src/smsdesk/web/static (committed, so that the
// Python package and its wheel serve them without Node). Deterministic: same sources, same bytes,
// which is what tests/browser/test_bundle.py checks by building into another directory.
//   node build.mjs [output directory]
import {build} from "esbuild";
import {copyFileSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
process.chdir(here);
const out = process.argv[2] ?? join(here, "../src/smsdesk/web/static");
mkdirSync(out, {recursive: true});
await build({
    entryPoints: {desktop: "src/desktop.tsx", handset: "src/handset.tsx", admin: "src/admin.tsx"},
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    outdir: out,
    legalComments: "none",
    logLevel: "warning",
    jsx: "automatic",
    jsxImportSource: "preact",
});
for (const page of ["desktop.html", "handset.html", "admin.html", "style.css", "admin.css"]) {
    copyFileSync(`src/${page}`, `${out}/${page}`);
}
