// Prepares wrangler.toml for `wrangler deploy --env production` in CI:
// finds (or creates) the POE_KV namespace and writes its id, and applies the
// CUSTOM_DOMAIN variable to the production route. Prints no secrets.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const TITLE = "poe-proxy-POE_KV";
const wrangler = (...args) =>
  execFileSync("npx", ["wrangler", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

function findNamespace() {
  const out = wrangler("kv", "namespace", "list");
  const list = JSON.parse(out.slice(out.indexOf("[")));
  return list.find((ns) => ns.title === TITLE);
}

let ns = findNamespace();
if (!ns) {
  console.log(`creating KV namespace ${TITLE}`);
  wrangler("kv", "namespace", "create", TITLE);
  ns = findNamespace();
}
if (!ns) throw new Error(`could not create the KV namespace ${TITLE}`);
console.log(`KV namespace ${TITLE}: ${ns.id}`);

let toml = readFileSync("wrangler.toml", "utf8");
toml = toml.replaceAll('id = "00000000000000000000000000000000"', `id = "${ns.id}"`);

const domain = (process.env.CUSTOM_DOMAIN || "").trim();
if (domain) {
  toml = toml.replace(/pattern = "[^"]*", custom_domain = true/, `pattern = "${domain}", custom_domain = true`);
  writeFileSync(".deploy-url", `https://${domain}`);
} else if (toml.includes('pattern = "api.example.com"')) {
  console.log("::warning::no CUSTOM_DOMAIN and wrangler.toml still routes api.example.com: deploying to workers.dev only");
  toml = toml.replace(/^routes = \[.*api\.example\.com.*\]\n/m, "workers_dev = true\n");
} else {
  const m = toml.match(/pattern = "([^"]*)", custom_domain = true/);
  if (m) writeFileSync(".deploy-url", `https://${m[1]}`);
}
writeFileSync("wrangler.toml", toml);
