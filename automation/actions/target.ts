// Where an action finds the project and its state, from the ActionContext the caller gives.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";
import type { StackTarget } from "../engine/stack.js";
import type { ActionContext } from "../../core/types.js";

export const PROJECT_DIR_ENV = "SIE_FLEET_PROJECT_DIR";

/** The project is $SIE_FLEET_PROJECT_DIR, else the working directory if it holds Pulumi.yaml, else this checkout. */
export function stackTarget(stack: string, ctx: Pick<ActionContext, "stateDir" | "env" | "cwd">): StackTarget {
  const env = ctx.env ?? process.env;
  const cwd = ctx.cwd ?? process.cwd();
  const projectDir = env[PROJECT_DIR_ENV] ?? (fs.existsSync(path.join(cwd, "Pulumi.yaml")) ? cwd : REPO_ROOT);
  return { stack, projectDir, stateDir: ctx.stateDir, env };
}
