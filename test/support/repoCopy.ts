// A scratch checkout for tests that run commands as a user would from a clone: every top-level
// entry of the repository linked, except the stack files (copied, so Pulumi may write into them)
// and sie-fleet's state (each copy has its own).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";

const NOT_LINKED = new Set([".git", ".sie-fleet", "stacks"]);

export function repoCopy(prefix = "sie-fleet-clone-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const entry of fs.readdirSync(REPO_ROOT)) {
    if (NOT_LINKED.has(entry)) continue;
    fs.symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  fs.cpSync(path.join(REPO_ROOT, "stacks"), path.join(dir, "stacks"), { recursive: true });
  return dir;
}

/** The fenced shell block between `<!-- name:begin … -->` and `<!-- name:end -->` in README.md. */
export function readmeBlock(name: string): string {
  const text = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const m = new RegExp(`<!-- ${name}:begin[^>]*-->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(text);
  if (!m) throw new Error(`README.md has no \`${name}\` block`);
  return m[1]!;
}
