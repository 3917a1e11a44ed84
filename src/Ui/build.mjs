// Builds the admin UI into dist/: one hashed JS bundle and one hashed CSS file under dist/assets/, and
// dist/index.html naming them. Run by `npm run build` and by the Ingress build (src/Ui/Ui.targets).
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, "dist");
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/main.js", "src/main.css"],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "esm",
  target: ["es2022"],
  outdir: "dist/assets",
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((o) => path.basename(o));
const js = outputs.find((o) => o.startsWith("main-") && o.endsWith(".js"));
const css = outputs.find((o) => o.startsWith("main-") && o.endsWith(".css"));
if (!js || !css) {
  throw new Error(`build produced no main bundle: ${outputs.join(", ")}`);
}

const template = await readFile(path.join(root, "src/index.html"), "utf8");
const html = template.replaceAll("%MAIN_JS%", `/ui/assets/${js}`).replaceAll("%MAIN_CSS%", `/ui/assets/${css}`);
await writeFile(path.join(dist, "index.html"), html);
console.log(`broker-ui: dist/index.html, dist/assets/${js}, dist/assets/${css}`);
