// The exit-code table lives in code (EXIT_CODES, exitCodeForOutcome); scripts read its copies in
// docs/exit-codes.md, docs/commands.md, the CLI's --help and outcome mentions across the docs. Each copy
// is parsed here and must say exactly what the code says.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { EXIT_CODES } from "../../core/errors.js";
import { exitCodeForOutcome, UPGRADE_OUTCOMES, type UpgradeOutcome } from "../../core/types.js";
import { runCliInProcess } from "./inProcessCli.js";

const read = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
const exitCodesDoc = read("docs/exit-codes.md");
const byCode = (pairs: [string, number][]) => [...pairs].sort((a, b) => a[1] - b[1]);
const CODES = Object.values(EXIT_CODES).sort((a, b) => a - b);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sie-exit-codes-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** `[name, code]` rows of the `| code | name | … |` table. */
function tableRows(md: string): [string, number][] {
  const lines = md.split("\n");
  const header = lines.findIndex((l) => /^\|\s*code\s*\|\s*name\s*\|/.test(l));
  expect(header, "docs/exit-codes.md has a `| code | name |` table").toBeGreaterThanOrEqual(0);
  const rows: [string, number][] = [];
  for (const l of lines.slice(header + 2)) {
    if (!l.startsWith("|")) break;
    const [code = "", name = ""] = l
      .split("|")
      .slice(1, 3)
      .map((c) => c.trim());
    rows.push([name.replace(/`/g, ""), Number(code)]);
  }
  return rows;
}

/** The words from `start` to the first `end` after it, on one line. */
function passage(md: string, start: string, end: string): string {
  const i = md.indexOf(start);
  expect(i, `"${start}" is in the text`).toBeGreaterThanOrEqual(0);
  const j = md.indexOf(end, i + start.length);
  expect(j, `"${end}" follows "${start}"`).toBeGreaterThan(i);
  return md
    .slice(i + start.length, j + end.length)
    .replace(/\s+/g, " ")
    .trim();
}

/** Doc words for a code ("needs attention") as its EXIT_CODES key (needsAttention). */
const keyOf = (words: string): string => words.replace(/ (\w)/g, (_, c: string) => c.toUpperCase());

describe("exit codes: every copy says what EXIT_CODES and exitCodeForOutcome say", () => {
  it("docs/exit-codes.md's table lists exactly EXIT_CODES, code and name", () => {
    expect(byCode(tableRows(exitCodesDoc))).toEqual(byCode(Object.entries(EXIT_CODES)));
  });

  it("docs/exit-codes.md maps every upgrade outcome to its exitCodeForOutcome, once", () => {
    const text = passage(exitCodesDoc, "map to codes through `exitCodeForOutcome`", ". A fleet run");
    const mapped = new Map<string, number>();
    // "`succeeded` and `dry-run` → 0, `refused` → 4, …"
    for (const m of text.matchAll(/((?:`[a-z-]+`(?: and |, )?)+) → (\d+)/g)) {
      for (const o of (m[1] ?? "").matchAll(/`([a-z-]+)`/g)) {
        const outcome = o[1] ?? "";
        expect(mapped.has(outcome), `${outcome} is mapped once`).toBe(false);
        mapped.set(outcome, Number(m[2]));
      }
    }
    expect([...mapped.keys()].sort()).toEqual([...UPGRADE_OUTCOMES].sort());
    for (const outcome of UPGRADE_OUTCOMES) expect(mapped.get(outcome), outcome).toBe(exitCodeForOutcome(outcome));
  });

  it("docs/exit-codes.md's fleet sentence names the codes a fleet stops with by their EXIT_CODES names", () => {
    const text = passage(exitCodesDoc, "stopped at (its `stoppedAt`):", "or the error's own code");
    const named = [...text.matchAll(/(\d+) ([a-z]+(?: attention)?)/g)].map((m) => [keyOf(m[2] ?? ""), Number(m[1])] as [string, number]);
    expect(named.map(([k]) => k)).toEqual(["refused", "reverted", "needsAttention", "unverified"]);
    for (const [key, code] of named) expect(code, key).toBe(EXIT_CODES[key as keyof typeof EXIT_CODES]);
  });

  it("docs/commands.md's one-line list has every code, in order", () => {
    const text = passage(read("docs/commands.md"), "Exit codes ([exit-codes.md](exit-codes.md)):", "interrupted.");
    const codes = [...text.matchAll(/(?:^|, )(\d+) [a-z]/g)].map((m) => Number(m[1]));
    expect(codes).toEqual(CODES);
    expect(text).toMatch(new RegExp(`${EXIT_CODES.interrupted} interrupted\\.$`));
  });

  it("sie-fleet --help and upgrade --help list every code, in order", async () => {
    for (const args of [["--help"], ["upgrade", "--help"]]) {
      const r = await runCliInProcess(args, { cwd: scratch });
      expect(r.code).toBe(0);
      const block = r.stdout.slice(r.stdout.indexOf("Exit codes:"));
      expect(block.length, `${args.join(" ")} shows Exit codes:`).toBeGreaterThan(0);
      const codes = [...block.matchAll(/^ {2}(\d+) {2,}\S/gm)].map((m) => Number(m[1]));
      expect(codes, args.join(" ")).toEqual(CODES);
    }
  });

  it('outcomes mentioned with their code across the docs ("`reverted` (exit 5)", "`succeeded` = exit 0") use exitCodeForOutcome\'s', () => {
    const files = [
      "README.md",
      "automation/verify/README.md",
      ...fs.readdirSync(path.join(REPO_ROOT, "docs")).flatMap((f) => (f.endsWith(".md") ? [`docs/${f}`] : [])),
    ];
    const outcomes = UPGRADE_OUTCOMES.join("|");
    let seen = 0;
    for (const file of files) {
      for (const m of read(file).matchAll(new RegExp(`\`(${outcomes})\`(?: \\(exit |, exit | = exit )(\\d+)`, "g"))) {
        seen++;
        expect(Number(m[2]), `${file}: ${m[0]}`).toBe(exitCodeForOutcome(m[1] as UpgradeOutcome));
      }
    }
    expect(seen).toBeGreaterThan(0);
  });
});
