// Reads the stack's `sie-fleet:*` config through Pulumi and validates it with parseConfig.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./configKeys.js";
import { parseConfig } from "./configParse.js";
import type { FleetConfig } from "./configTypes.js";

export type * from "./configTypes.js";

/** The stack config plus the Hugging Face token, which only ever exists as a Pulumi secret. */
export type StackConfig = FleetConfig & { hfToken: pulumi.Output<string> | undefined };

/** Structured values arrive as JSON text; plain strings (e.g. platform) as themselves. */
function decode(value: string): unknown {
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * Loads and validates this stack's config. Throws one ConfigError listing every problem.
 * `hfToken` is read with getSecret so it stays a secret end to end.
 */
export function loadConfig(): StackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) raw[key] = decode(value);
  }
  const config = parseConfig(raw, { hfTokenIsSecret: true });
  const hfToken = new pulumi.Config(CONFIG_NAMESPACE).getSecret("hfToken");
  return { ...config, hfToken };
}
