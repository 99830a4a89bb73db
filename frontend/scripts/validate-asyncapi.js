/**
 * Validates an AsyncAPI document with the AsyncAPI parser (the reference implementation):
 * `node scripts/validate-asyncapi.js <file.json>` prints each problem and exits 1 if any is an
 * error. tests/test_asyncapi.py runs it on the document the server serves.
 */
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

/** The parser's diagnostics of `text`, each `{severity, message, path}`; errors first. */
export async function diagnose(text) {
  const { diagnostics } = await new Parser().parse(text);
  return diagnostics
    .map((d) => ({ severity: d.severity, message: d.message, path: d.path.join("/"), code: d.code }))
    .sort((a, b) => a.severity - b.severity);
}

/** Only the diagnostics of severity error. */
export function errorsOf(diagnostics) {
  return diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
}

async function main(file) {
  const diagnostics = await diagnose(await readFile(file, "utf8"));
  for (const d of diagnostics) {
    console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code}: ${d.message} (at ${d.path || "/"})`);
  }
  const errors = errorsOf(diagnostics);
  console.log(`${file}: ${errors.length} error(s), ${diagnostics.length - errors.length} other diagnostic(s)`);
  return errors.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv[2]);
}
